//! The JWT-assertion grants of the reference AS (target mode, with `--extension` trust passed in-process):
//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3; SEP-1046), the `jwt-bearer` grant with a
//! workload JWT (RFC 7523 §2.1; WIF, SEP-1933) and with an ID-JAG (SEP-990). Verification is the shared
//! [`crate::assertion::check`]; each assertion defect waives exactly one of its rules.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::clients::ClientAuth;
use super::target::AsDefect;
use super::{oauth_error, AsState};
use crate::assertion::{
    check, unverified_claims, EcKey, Expect, Fault, CLIENT_ASSERTION_TYPE, ID_JAG_TYP,
    JWT_BEARER_GRANT,
};

type Form = HashMap<String, String>;

/// What the reference AS trusts for the JWT-assertion grants. Empty (the default): none of them is served or
/// advertised.
#[derive(Debug, Clone, Default)]
pub struct AssertionTrust {
    /// Workload JWTs (WIF): the workload identity issuer's `iss` and key.
    pub workload: Option<(String, EcKey)>,
    /// ID-JAGs: the enterprise IdP's `iss` and key.
    pub enterprise_idp: Option<(String, EcKey)>,
    /// `private_key_jwt` clients: `client_id` and the key their assertions are signed with.
    pub clients: Vec<(String, EcKey)>,
}

impl AssertionTrust {
    /// Trust in the suite's parties with their fixed test-only keys (what `fake-idp --target
    /// --trust-suite-assertions` and the suite's bundled runs configure).
    pub fn suite_parties(client_id: &str) -> Self {
        use crate::assertion::{Party, SUITE_ENTERPRISE_IDP, SUITE_WORKLOAD_ISSUER};
        AssertionTrust {
            workload: Some((
                SUITE_WORKLOAD_ISSUER.to_owned(),
                EcKey::fixed(Party::Workload),
            )),
            enterprise_idp: Some((
                SUITE_ENTERPRISE_IDP.to_owned(),
                EcKey::fixed(Party::EnterpriseIdp),
            )),
            clients: vec![(client_id.to_owned(), EcKey::fixed(Party::Client))],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.workload.is_none() && self.enterprise_idp.is_none() && self.clients.is_empty()
    }

    /// What the metadata adds: (grant types, token endpoint auth methods).
    pub(super) fn advertised(&self) -> (Vec<&'static str>, Vec<&'static str>) {
        let grants = if self.workload.is_some() || self.enterprise_idp.is_some() {
            vec![JWT_BEARER_GRANT]
        } else {
            Vec::new()
        };
        let methods = if self.clients.is_empty() {
            Vec::new()
        } else {
            vec!["private_key_jwt"]
        };
        (grants, methods)
    }
}

/// The grant an assertion is presented in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Workload,
    IdJag,
    ClientAssertion,
}

/// The defect that waives `fault` for assertions of `kind`.
fn waiver(kind: Kind, fault: Fault) -> Option<AsDefect> {
    use AsDefect as D;
    use Fault as F;
    Some(match (kind, fault) {
        (Kind::Workload, F::Audience) => D::WifAcceptWrongAudience,
        (Kind::Workload, F::Expired) => D::WifAcceptExpired,
        (Kind::Workload, F::Replayed) => D::WifAcceptReplayedJti,
        (Kind::Workload, F::Untrusted) => D::WifAcceptUntrustedKey,
        (Kind::Workload, F::NoExp) => D::WifAcceptMissingExp,
        (Kind::Workload, F::NoJti) => D::WifAcceptMissingJti,
        (Kind::Workload, F::AlgNone) => D::WifAcceptAlgNone,
        (Kind::IdJag, F::Audience) => D::JagAcceptWrongAudience,
        (Kind::IdJag, F::Expired) => D::JagAcceptExpired,
        (Kind::IdJag, F::Replayed) => D::JagAcceptReplayedJti,
        (Kind::IdJag, F::Untrusted) => D::JagAcceptUntrustedSigner,
        (Kind::IdJag, F::Typ) => D::JagAcceptWrongTyp,
        (Kind::IdJag, F::ClientId) => D::JagAcceptOtherClient,
        (Kind::ClientAssertion, F::Audience) => D::CcAcceptWrongAudience,
        (Kind::ClientAssertion, F::Expired) => D::CcAcceptExpiredAssertion,
        (Kind::ClientAssertion, F::Replayed) => D::CcAcceptReplayedJti,
        (Kind::ClientAssertion, F::Untrusted) => D::CcAcceptUntrustedKey,
        (Kind::ClientAssertion, F::Subject) => D::CcAcceptMismatchedSubject,
        _ => return None,
    })
}

impl AsState {
    /// What the AS trusts for assertions (empty unless the suite configured it).
    pub(crate) fn assertion_trust(&self) -> &AssertionTrust {
        static EMPTY: std::sync::OnceLock<AssertionTrust> = std::sync::OnceLock::new();
        self.inner
            .assertion_trust
            .get()
            .unwrap_or_else(|| EMPTY.get_or_init(AssertionTrust::default))
    }

    pub(crate) fn set_assertion_trust(&self, trust: AssertionTrust) {
        let _ = self.inner.assertion_trust.set(trust);
    }

    /// Verifies `jwt` as an assertion of `kind`, waiving what the target's defect waives.
    fn verify_assertion(
        &self,
        kind: Kind,
        key: &EcKey,
        jwt: &str,
        expect: Expect<'_>,
    ) -> Result<Value, Fault> {
        let mut store = self.store();
        check(key, jwt, &expect, &mut store.assertion_jtis, |f| {
            waiver(kind, f).is_some_and(|d| self.defect(d))
        })
    }

    fn expect(&self) -> Expect<'_> {
        Expect {
            audience: self.as_identifier(),
            typ: None,
            subject: None,
            client_id: None,
            now: self.minter().now(),
        }
    }
}

/// `private_key_jwt` client authentication when the form carries a client assertion (`None` otherwise): the
/// client's id, or why it is refused.
pub(super) fn client_assertion(
    state: &AsState,
    form: &Form,
) -> Option<Result<String, &'static str>> {
    let assertion_type = form.get("client_assertion_type")?;
    if assertion_type != CLIENT_ASSERTION_TYPE {
        return Some(Err(
            "client_assertion_type must be the RFC 7523 JWT-bearer type",
        ));
    }
    let Some(assertion) = form.get("client_assertion") else {
        return Some(Err("client_assertion is required"));
    };
    // The client is named by `client_id`, else by the assertion's `sub` (RFC 7523 §3).
    let claimed = form.get("client_id").cloned().or_else(|| {
        unverified_claims(assertion)?
            .get("sub")?
            .as_str()
            .map(str::to_owned)
    });
    let Some(client_id) = claimed else {
        return Some(Err("the client assertion names no client"));
    };
    let trust = state.assertion_trust();
    let Some((_, key)) = trust.clients.iter().find(|(id, _)| *id == client_id) else {
        return Some(Err("unknown client"));
    };
    let expect = Expect {
        subject: Some(&client_id),
        ..state.expect()
    };
    Some(
        state
            .verify_assertion(Kind::ClientAssertion, key, assertion, expect)
            .map(|_| client_id.clone())
            .map_err(Fault::describe),
    )
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// `POST /token` with `grant_type=…:jwt-bearer`: an ID-JAG (its `iss` is the trusted enterprise IdP; the client
/// authenticates) or a workload JWT (its `iss` is the trusted workload issuer; no client authentication).
pub(super) fn jwt_bearer(state: &AsState, headers: &HeaderMap, form: &Form) -> Response {
    let trust = state.assertion_trust();
    if trust.workload.is_none() && trust.enterprise_idp.is_none() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type",
        );
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "assertion is required",
        );
    };
    let iss = unverified_claims(assertion)
        .and_then(|c| c.get("iss").and_then(Value::as_str).map(str::to_owned));
    let ignore_resource = state.defect(AsDefect::AssertionTokenIgnoresResource);
    let requested = form.get("resource").map(String::as_str);
    let scope = form.get("scope").cloned();
    if let Some((_, key)) = trust
        .enterprise_idp
        .as_ref()
        .filter(|(i, _)| iss.as_deref() == Some(i))
    {
        let client = match state.authenticate_client(headers, form) {
            Ok(ClientAuth::Confidential(id)) => id,
            _ => {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "an ID-JAG is presented by an authenticated client",
                )
            }
        };
        let expect = Expect {
            typ: Some(ID_JAG_TYP),
            client_id: Some(&client),
            ..state.expect()
        };
        let claims = match state.verify_assertion(Kind::IdJag, key, assertion, expect) {
            Ok(c) => c,
            Err(f) => return invalid_grant(f.describe()),
        };
        let granted = claims.get("resource").and_then(Value::as_str);
        let resource = match (granted, requested) {
            (Some(g), Some(r)) if g != r => {
                if !state.defect(AsDefect::JagIgnoreResourceMismatch) {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_target",
                        "the resource differs from the ID-JAG's",
                    );
                }
                Some(r)
            }
            (Some(g), _) => Some(g),
            (None, r) => r,
        };
        let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("user");
        return super::tokens::machine_token(
            state,
            sub,
            &client,
            resource.filter(|_| !ignore_resource),
            scope,
        );
    }
    let Some((issuer, key)) = &trust.workload else {
        return invalid_grant("the assertion's issuer is not trusted");
    };
    if iss.as_deref() != Some(issuer.as_str()) && !state.defect(AsDefect::WifAcceptUntrustedKey) {
        return invalid_grant("the assertion's issuer is not trusted");
    }
    let claims = match state.verify_assertion(Kind::Workload, key, assertion, state.expect()) {
        Ok(c) => c,
        Err(f) => return invalid_grant(f.describe()),
    };
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or("workload");
    let client = form.get("client_id").map_or(sub, String::as_str);
    super::tokens::machine_token(
        state,
        sub,
        client,
        requested.filter(|_| !ignore_resource),
        scope,
    )
}

/// The metadata members the trust adds (target mode).
pub(super) fn advertise(state: &AsState, doc: &mut serde_json::Map<String, Value>) {
    let (grants, methods) = state.assertion_trust().advertised();
    for (member, add) in [
        ("grant_types_supported", grants),
        ("token_endpoint_auth_methods_supported", methods),
    ] {
        if let Some(Value::Array(a)) = doc.get_mut(member) {
            a.extend(add.into_iter().map(|v| json!(v)));
        }
    }
}
