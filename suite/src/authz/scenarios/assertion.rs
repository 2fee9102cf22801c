//! The authorization server's duties for JWT assertions (`--extension wif`, `enterprise-managed`,
//! `client-credentials`): the suite plays the workload identity issuer, the enterprise IdP and a
//! `private_key_jwt` client ([`crate::authz::trust`]), presents one valid assertion, then one assertion per rule
//! the AS must enforce, and records every answer.

use std::collections::BTreeMap;

use fake_idp::assertion::{unsigned, CLIENT_ASSERTION_TYPE, ID_JAG_TYP, JWT_BEARER_GRANT};
use serde_json::{json, Value};

use super::{not_applicable, Ctx, OTHER_RESOURCE};
use crate::authz::oauth::{self, Client, TokenResult};
use crate::authz::trust::*;
use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::Request;
use crate::spec::{Extension, Extensions};

/// An `aud` that names another authorization server.
pub const OTHER_AS: &str = "https://other-as.conformance.test";
/// A client id that is not the authenticating client (client-assertion `iss`/`sub`).
pub const OTHER_CLIENT: &str = "conformance-other-client";

mcp_auth_defects::variants! {
    /// The workload JWTs every AS must refuse (AS-WIF-02..08).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum WifCase {
        WrongAudience = "a workload JWT whose aud is another authorization server",
        Expired = "an expired workload JWT",
        Replayed = "the valid workload JWT presented a second time (same jti)",
        UntrustedKey = "a workload JWT signed by a key the workload issuer does not publish",
        MissingExp = "a workload JWT without exp",
        MissingJti = "a workload JWT without jti",
        AlgNone = "an unsigned workload JWT (alg none)",
    }
}

mcp_auth_defects::variants! {
    /// The ID-JAGs every AS must refuse (AS-JAG-02..08).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum JagCase {
        WrongAudience = "an ID-JAG whose aud is another authorization server",
        Expired = "an expired ID-JAG",
        Replayed = "the valid ID-JAG presented a second time (same jti)",
        UntrustedSigner = "an ID-JAG signed by a key the enterprise IdP does not publish",
        WrongTyp = "an ID-JAG with typ JWT instead of oauth-id-jag+jwt",
        OtherClient = "an ID-JAG issued for another client_id than the client presenting it",
        OtherResource = "an ID-JAG for another resource than the token request names",
    }
}

mcp_auth_defects::variants! {
    /// The `private_key_jwt` client assertions every AS must refuse (AS-CC-02..06).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum CcCase {
        WrongAudience = "a client assertion whose aud is another authorization server",
        Expired = "an expired client assertion",
        Replayed = "the valid client assertion presented a second time (same jti)",
        UntrustedKey = "a client assertion signed by a key the client did not register",
        MismatchedSubject = "a client assertion whose iss and sub name another client",
    }
}

/// One grant's probes: the valid assertion first, then each hostile one.
#[derive(Debug, Clone)]
pub struct GrantProbes<C> {
    pub valid: TokenResult,
    pub cases: BTreeMap<C, TokenResult>,
}

/// What the assertion probes observed, per extension.
#[derive(Debug, Clone)]
pub struct AssertionObs {
    pub wif: Result<GrantProbes<WifCase>, ObsError>,
    pub jag: Result<GrantProbes<JagCase>, ObsError>,
    pub cc: Result<GrantProbes<CcCase>, ObsError>,
}

impl AssertionObs {
    /// Every part missing for `why`.
    pub fn missing(why: &ObsError) -> Self {
        AssertionObs {
            wif: Err(why.clone()),
            jag: Err(why.clone()),
            cc: Err(why.clone()),
        }
    }
}

/// Runs the probes of each opted-in extension.
pub async fn assertion_probes(
    ctx: &Ctx,
    parties: &Parties,
    opts: &AssertionOptions,
    extensions: &Extensions,
) -> AssertionObs {
    let not_selected = |e: &str| not_applicable(&format!("--extension {e} was not given"));
    let wif = async {
        if !extensions.contains(Extension::Wif) {
            return Err(not_selected("wif"));
        }
        wif_probes(ctx, parties, opts).await
    };
    let jag = async {
        if !extensions.contains(Extension::EnterpriseManaged) {
            return Err(not_selected("enterprise-managed"));
        }
        jag_probes(ctx, parties, opts).await
    };
    let cc = async {
        if !extensions.contains(Extension::ClientCredentials) {
            return Err(not_selected("client-credentials"));
        }
        cc_probes(ctx, parties, opts).await
    };
    let (wif, jag, cc) = tokio::join!(wif, jag, cc);
    AssertionObs { wif, jag, cc }
}

fn advertises(ctx: &Ctx, member: &str, value: &str) -> bool {
    ctx.endpoints
        .metadata
        .get(member)
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == value))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The claims of a fresh assertion: `aud` = the AS issuer, valid for 5 minutes, a random `jti`.
fn fresh(ctx: &Ctx, iss: &str, sub: &str) -> Value {
    let now = now();
    json!({
        "iss": iss,
        "sub": sub,
        "aud": ctx.endpoints.issuer,
        "iat": now,
        "exp": now + 300,
        "jti": ctx.rand.token(16),
    })
}

/// Variations of valid claims: each a copy with one member set (or removed, for `Value::Null`).
fn with(claims: &Value, changes: &[(&str, Value)], ctx: &Ctx) -> Value {
    let mut c = claims.clone();
    c["jti"] = json!(ctx.rand.token(16));
    for (k, v) in changes {
        match (c.as_object_mut(), v) {
            (Some(map), Value::Null) => {
                map.remove(*k);
            }
            _ => c[*k] = v.clone(),
        }
    }
    c
}

fn expired() -> [(&'static str, Value); 2] {
    let now = now();
    [("iat", json!(now - 900)), ("exp", json!(now - 600))]
}

/// POSTs a token request with these parameters and, when given, Basic authentication of `basic`.
async fn post(
    ctx: &Ctx,
    sc: &Scenario,
    purpose: &str,
    form: Vec<(&str, String)>,
    basic: Option<&Client>,
) -> TokenResult {
    match basic {
        Some(client) => {
            oauth::token_request(
                &ctx.http,
                sc,
                purpose,
                &ctx.endpoints.token,
                client,
                form,
                None,
            )
            .await
        }
        None => {
            let mut req = Request::method(reqwest::Method::POST, &ctx.endpoints.token)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json");
            for (k, v) in &form {
                if crate::redact::is_secret_name(k) {
                    ctx.http.register_secret(v);
                }
            }
            req.body = Some(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish(),
            );
            let rec = ctx.http.send(sc, purpose, req).await;
            oauth::token_result(rec.id, rec.result, &ctx.http)
        }
    }
}

fn bearer_form(ctx: &Ctx, assertion: String, resource: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", JWT_BEARER_GRANT.to_owned()),
        ("assertion", assertion),
        ("resource", resource.to_owned()),
        ("scope", ctx.scope.clone()),
    ]
}

/// WIF (RFC 7523 §2.1, SEP-1933): workload JWTs with the jwt-bearer grant, no client authentication.
async fn wif_probes(
    ctx: &Ctx,
    p: &Parties,
    opts: &AssertionOptions,
) -> Result<GrantProbes<WifCase>, ObsError> {
    if !opts.trusts_workload {
        return Err(not_applicable(
            "the AS was not configured to trust the suite's workload issuer: configure it (--print-assertion-trust) and give --trusts-workload-issuer",
        ));
    }
    if !advertises(ctx, "grant_types_supported", JWT_BEARER_GRANT) {
        return Err(not_applicable(
            "the AS does not advertise the jwt-bearer grant (RFC 7523) in grant_types_supported",
        ));
    }
    let sc = Scenario::new("wif");
    let sign = |c: &Value| p.workload.sign_with_kid("JWT", Some(WORKLOAD_KID), c);
    let base = fresh(ctx, WORKLOAD_ISSUER, WORKLOAD_SUBJECT);
    let valid_jwt = sign(&base);
    let send = |jwt: String, purpose: &'static str| {
        let sc = &sc;
        async move { post(ctx, sc, purpose, bearer_form(ctx, jwt, &ctx.resource), None).await }
    };
    let valid = send(valid_jwt.clone(), "a valid workload JWT").await;
    let mut cases = BTreeMap::new();
    for case in WifCase::ALL.iter().copied() {
        let jwt = match case {
            WifCase::Replayed => valid_jwt.clone(),
            WifCase::WrongAudience => sign(&with(&base, &[("aud", json!(OTHER_AS))], ctx)),
            WifCase::Expired => sign(&with(&base, &expired(), ctx)),
            WifCase::UntrustedKey => {
                p.untrusted
                    .sign_with_kid("JWT", Some(WORKLOAD_KID), &with(&base, &[], ctx))
            }
            WifCase::MissingExp => sign(&with(&base, &[("exp", Value::Null)], ctx)),
            WifCase::MissingJti => {
                let mut c = with(&base, &[], ctx);
                if let Some(m) = c.as_object_mut() {
                    m.remove("jti");
                }
                sign(&c)
            }
            WifCase::AlgNone => unsigned("JWT", &with(&base, &[], ctx)),
        };
        cases.insert(case, send(jwt, case.describe()).await);
    }
    Ok(GrantProbes { valid, cases })
}

/// Enterprise-managed authorization (SEP-990): ID-JAGs with the jwt-bearer grant, presented by the run's
/// confidential client.
async fn jag_probes(
    ctx: &Ctx,
    p: &Parties,
    opts: &AssertionOptions,
) -> Result<GrantProbes<JagCase>, ObsError> {
    if !opts.trusts_idp {
        return Err(not_applicable(
            "the AS was not configured to trust the suite's enterprise IdP: configure it (--print-assertion-trust) and give --trusts-enterprise-idp",
        ));
    }
    if !advertises(ctx, "grant_types_supported", JWT_BEARER_GRANT) {
        return Err(not_applicable(
            "the AS does not advertise the jwt-bearer grant (RFC 7523) in grant_types_supported",
        ));
    }
    // The presenting client authenticates with its secret, else as the private_key_jwt client.
    let presenter = match (&ctx.confidential, &opts.client_id) {
        (Some(client), _) => Presenter::Secret(client),
        (None, Some(id)) => Presenter::Assertion(id),
        (None, None) => {
            return Err(not_applicable(
                "no confidential client presents the ID-JAGs: give --client-id and --client-secret, or --assertion-client-id, or let the AS register one (DCR)",
            ))
        }
    };
    let presenter_id = match presenter {
        Presenter::Secret(c) => c.id.clone(),
        Presenter::Assertion(id) => id.clone(),
    };
    let sc = Scenario::new("enterprise-managed");
    let sign = |typ: &str, c: &Value| p.idp.sign_with_kid(typ, Some(IDP_KID), c);
    let mut base = fresh(ctx, ENTERPRISE_IDP_ISSUER, ENTERPRISE_USER);
    base["client_id"] = json!(presenter_id);
    base["resource"] = json!(ctx.resource);
    base["scope"] = json!(ctx.scope);
    let valid_jag = sign(ID_JAG_TYP, &base);
    let send = |jag: String, purpose: &'static str| {
        let sc = &sc;
        async move {
            let mut form = bearer_form(ctx, jag, &ctx.resource);
            match presenter {
                Presenter::Secret(client) => post(ctx, sc, purpose, form, Some(client)).await,
                Presenter::Assertion(id) => {
                    form.extend(assertion_auth(id, client_assertion(ctx, p, id)));
                    post(ctx, sc, purpose, form, None).await
                }
            }
        }
    };
    let valid = send(valid_jag.clone(), "a valid ID-JAG").await;
    let mut cases = BTreeMap::new();
    for case in JagCase::ALL.iter().copied() {
        let jag = match case {
            JagCase::Replayed => valid_jag.clone(),
            JagCase::WrongAudience => {
                sign(ID_JAG_TYP, &with(&base, &[("aud", json!(OTHER_AS))], ctx))
            }
            JagCase::Expired => sign(ID_JAG_TYP, &with(&base, &expired(), ctx)),
            JagCase::UntrustedSigner => {
                p.untrusted
                    .sign_with_kid(ID_JAG_TYP, Some(IDP_KID), &with(&base, &[], ctx))
            }
            JagCase::WrongTyp => sign("JWT", &with(&base, &[], ctx)),
            JagCase::OtherClient => sign(
                ID_JAG_TYP,
                &with(&base, &[("client_id", json!(ctx.client_a.id))], ctx),
            ),
            // The ID-JAG grants OTHER_RESOURCE; the token request asks for RESOURCE.
            JagCase::OtherResource => sign(
                ID_JAG_TYP,
                &with(&base, &[("resource", json!(OTHER_RESOURCE))], ctx),
            ),
        };
        cases.insert(case, send(jag, case.describe()).await);
    }
    Ok(GrantProbes { valid, cases })
}

/// How the client presenting ID-JAGs authenticates.
#[derive(Debug, Clone, Copy)]
enum Presenter<'a> {
    /// A confidential client with a secret (registered by DCR or given with --client-id/--client-secret).
    Secret(&'a Client),
    /// The private_key_jwt client (--assertion-client-id).
    Assertion(&'a String),
}

/// A fresh, valid `private_key_jwt` client assertion of `client_id`.
fn client_assertion(ctx: &Ctx, p: &Parties, client_id: &str) -> String {
    p.client
        .sign_with_kid("JWT", Some(CLIENT_KID), &fresh(ctx, client_id, client_id))
}

/// The client-authentication parameters of a `private_key_jwt` client (RFC 7523 §2.2).
fn assertion_auth(client_id: &str, assertion: String) -> [(&'static str, String); 3] {
    [
        ("client_id", client_id.to_owned()),
        ("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()),
        ("client_assertion", assertion),
    ]
}

/// Client credentials with `private_key_jwt` (RFC 7523 §2.2/§3, SEP-1046).
async fn cc_probes(
    ctx: &Ctx,
    p: &Parties,
    opts: &AssertionOptions,
) -> Result<GrantProbes<CcCase>, ObsError> {
    let Some(client_id) = &opts.client_id else {
        return Err(not_applicable(
            "no private_key_jwt client: register one at the AS with the suite's client JWKS URI (--print-assertion-trust) and give --assertion-client-id",
        ));
    };
    if !advertises(
        ctx,
        "token_endpoint_auth_methods_supported",
        "private_key_jwt",
    ) {
        return Err(not_applicable(
            "the AS does not advertise private_key_jwt in token_endpoint_auth_methods_supported",
        ));
    }
    if !advertises(ctx, "grant_types_supported", "client_credentials") {
        return Err(not_applicable(
            "the AS does not advertise the client_credentials grant",
        ));
    }
    let sc = Scenario::new("client-credentials-jwt");
    let sign = |c: &Value| p.client.sign_with_kid("JWT", Some(CLIENT_KID), c);
    let base = fresh(ctx, client_id, client_id);
    let valid_assertion = client_assertion(ctx, p, client_id);
    let send = |assertion: String, purpose: &'static str| {
        let sc = &sc;
        async move {
            let mut form = vec![
                ("grant_type", "client_credentials".to_owned()),
                ("resource", ctx.resource.clone()),
                ("scope", ctx.scope.clone()),
            ];
            form.extend(assertion_auth(client_id, assertion));
            post(ctx, sc, purpose, form, None).await
        }
    };
    let valid = send(valid_assertion.clone(), "a valid client assertion").await;
    let mut cases = BTreeMap::new();
    for case in CcCase::ALL.iter().copied() {
        let assertion = match case {
            CcCase::Replayed => valid_assertion.clone(),
            CcCase::WrongAudience => sign(&with(&base, &[("aud", json!(OTHER_AS))], ctx)),
            CcCase::Expired => sign(&with(&base, &expired(), ctx)),
            CcCase::UntrustedKey => {
                p.untrusted
                    .sign_with_kid("JWT", Some(CLIENT_KID), &with(&base, &[], ctx))
            }
            CcCase::MismatchedSubject => sign(&with(
                &base,
                &[("iss", json!(OTHER_CLIENT)), ("sub", json!(OTHER_CLIENT))],
                ctx,
            )),
        };
        cases.insert(case, send(assertion, case.describe()).await);
    }
    Ok(GrantProbes { valid, cases })
}
