//! The authorization server's duties for JWT assertions, scored only with `--extension`: workload JWTs with
//! the jwt-bearer grant (AS-WIF-*, `wif`), ID-JAGs (AS-JAG-*, `enterprise-managed`) and `private_key_jwt` client
//! assertions (AS-CC-*, `client-credentials`). Each family has one check that the valid assertion yields a token
//! for the requested resource (the precondition of its refusals) and one check per assertion the AS must refuse.

use mcp_auth_reports::Level::{Must, Should};

use super::{meta, token_refused, AuthzCheck};
use crate::authz::oauth::{jwt_parts, TokenResult};
use crate::authz::obs::AuthzObservations;
use crate::authz::scenarios::{CcCase, GrantProbes, JagCase, WifCase, OTHER_RESOURCE};
use crate::check::{CheckMeta, Evaluation, FnCheck, ObsError};

type Probes<C> = Result<GrantProbes<C>, ObsError>;

/// The assertion checks, in report order.
pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_WIF_01),
        Box::new(AS_WIF_02),
        Box::new(AS_WIF_03),
        Box::new(AS_WIF_04),
        Box::new(AS_WIF_05),
        Box::new(AS_WIF_06),
        Box::new(AS_WIF_07),
        Box::new(AS_WIF_08),
        Box::new(AS_JAG_01),
        Box::new(AS_JAG_02),
        Box::new(AS_JAG_03),
        Box::new(AS_JAG_04),
        Box::new(AS_JAG_05),
        Box::new(AS_JAG_06),
        Box::new(AS_JAG_07),
        Box::new(AS_JAG_08),
        Box::new(AS_CC_01),
        Box::new(AS_CC_02),
        Box::new(AS_CC_03),
        Box::new(AS_CC_04),
        Box::new(AS_CC_05),
        Box::new(AS_CC_06),
    ]
}

/// The `aud` values of a JWT access token; `None` when the token is not a JWT.
fn audiences(t: &TokenResult) -> Option<Vec<String>> {
    let (_, claims) = jwt_parts(t.access_token()?)?;
    Some(match claims.get("aud") {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    })
}

/// ERROR unless the valid assertion got a token: an AS that refuses everything proves nothing by refusing an
/// attack (and a refused valid assertion more likely means the AS does not trust the suite's keys yet).
fn valid_precondition(valid: &TokenResult, what: &str) -> Option<Evaluation> {
    if let Some(e) = valid.unanswered(&format!("the request with {what}")) {
        return Some(e);
    }
    (!valid.ok()).then(|| {
        Evaluation::error(format!(
            "{what} was refused ({}), so a refusal proves nothing; does the AS trust the suite's keys (--print-assertion-trust)?",
            valid.describe()
        ))
        .with_evidence([valid.exchange.clone()])
    })
}

/// The valid assertion yields a token whose `aud` is the requested resource.
fn valid_token<C>(m: &CheckMeta, probes: &Probes<C>, resource: &str, what: &str) -> Evaluation {
    let p = crate::need!(probes, what);
    if let Some(e) = valid_precondition(&p.valid, what) {
        return e;
    }
    let expected = format!("{what} → an access token with aud {resource} (the requested resource)");
    let e = match audiences(&p.valid) {
        None => Evaluation::skip("the access token is opaque: its audience cannot be read from it"),
        Some(aud) if aud.iter().any(|a| a == resource) => {
            Evaluation::pass(expected, format!("aud {aud:?}"))
        }
        Some(aud) => Evaluation::violated(
            m.level,
            expected,
            format!("the token's aud is {aud:?}, not the requested resource"),
        ),
    };
    e.with_evidence([p.valid.exchange.clone()])
}

/// The hostile assertion `case` is refused with one of `errors`.
fn refused<C: Ord + Copy>(
    m: &CheckMeta,
    probes: &Probes<C>,
    valid: &str,
    case: C,
    what: &str,
    errors: &[&str],
) -> Evaluation {
    let p = crate::need!(probes, valid);
    if let Some(e) = valid_precondition(&p.valid, valid) {
        return e;
    }
    match p.cases.get(&case) {
        Some(t) => token_refused(m, t, what, errors),
        None => Evaluation::harness_error(format!("the probe with {what} did not run")),
    }
}

macro_rules! refusal {
    ($name:ident, $id:literal, $level:expr, $title:literal, $refs:expr, $summary:literal,
     $field:ident, $valid:literal, $case:expr, $errors:expr) => {
        #[doc = concat!($id, ": ", $title)]
        const $name: FnCheck<AuthzObservations> = FnCheck {
            meta: meta($id, $title, $level, $refs, $summary),
            eval: |m, o| {
                refused(
                    m,
                    &o.assertion.$field,
                    $valid,
                    $case,
                    $case.describe(),
                    $errors,
                )
            },
        };
    };
}

const WIF_VALID: &str = "a valid workload JWT";
const JAG_VALID: &str = "a valid ID-JAG";
const CC_VALID: &str = "a valid private_key_jwt client assertion";
const GRANT: &[&str] = &["invalid_grant"];
const CLIENT: &[&str] = &["invalid_client"];

/// AS-WIF-01: a valid workload JWT gets a token for the requested resource.
const AS_WIF_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-WIF-01", "A valid workload JWT gets an access token for the requested resource", Must,
        &["SEP-1933", "RFC 7523 §2.1", "RFC 8707 §2.2"],
        "The jwt-bearer grant with a workload JWT the AS trusts → 200 with an access token whose aud is the resource asked for."),
    eval: |m, o| valid_token(m, &o.assertion.wif, &o.resource, WIF_VALID),
};
refusal!(
    AS_WIF_02,
    "AS-WIF-02",
    Must,
    "A workload JWT for another audience is refused",
    &["RFC 7523 §3"],
    "A workload JWT whose aud is another authorization server → 400 invalid_grant, no token.",
    wif,
    "a valid workload JWT",
    WifCase::WrongAudience,
    GRANT
);
refusal!(
    AS_WIF_03,
    "AS-WIF-03",
    Must,
    "An expired workload JWT is refused",
    &["RFC 7523 §3"],
    "A workload JWT whose exp is past → 400 invalid_grant, no token.",
    wif,
    "a valid workload JWT",
    WifCase::Expired,
    GRANT
);
refusal!(AS_WIF_04, "AS-WIF-04", Should, "A replayed workload JWT is refused", &["RFC 7523 §3", "SEP-1933"],
    "The valid workload JWT presented again (same jti) → 400 invalid_grant, no token; accepted → WARN.",
    wif, "a valid workload JWT", WifCase::Replayed, GRANT);
refusal!(AS_WIF_05, "AS-WIF-05", Must, "A workload JWT signed by an untrusted key is refused", &["RFC 7523 §3"],
    "A workload JWT with the trusted issuer's iss and kid but signed by another key → 400 invalid_grant, no token.",
    wif, "a valid workload JWT", WifCase::UntrustedKey, GRANT);
refusal!(
    AS_WIF_06,
    "AS-WIF-06",
    Must,
    "A workload JWT without exp is refused",
    &["RFC 7523 §3"],
    "A workload JWT without exp → 400 invalid_grant, no token.",
    wif,
    "a valid workload JWT",
    WifCase::MissingExp,
    GRANT
);
refusal!(AS_WIF_07, "AS-WIF-07", Should, "A workload JWT without jti is refused", &["RFC 7523 §3", "SEP-1933"],
    "A workload JWT without jti (so its replay cannot be detected) → 400 invalid_grant, no token; accepted → WARN.",
    wif, "a valid workload JWT", WifCase::MissingJti, GRANT);
refusal!(
    AS_WIF_08,
    "AS-WIF-08",
    Must,
    "An unsigned (alg none) workload JWT is refused",
    &["RFC 7523 §3", "RFC 8725 §3.1"],
    "A workload JWT with alg none and no signature → 400 invalid_grant, no token.",
    wif,
    "a valid workload JWT",
    WifCase::AlgNone,
    GRANT
);

/// AS-JAG-01: a valid ID-JAG gets a token for its resource.
const AS_JAG_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-JAG-01", "A valid ID-JAG gets an access token for the requested resource", Must,
        &["SEP-990", "RFC 7523 §2.1", "RFC 8707 §2.2"],
        "The jwt-bearer grant with an ID-JAG the enterprise IdP signed, presented by the client it names → 200 with an access token whose aud is the resource."),
    eval: |m, o| valid_token(m, &o.assertion.jag, &o.resource, JAG_VALID),
};
refusal!(
    AS_JAG_02,
    "AS-JAG-02",
    Must,
    "An ID-JAG for another audience is refused",
    &["SEP-990", "RFC 7523 §3"],
    "An ID-JAG whose aud is another authorization server → 400 invalid_grant, no token.",
    jag,
    "a valid ID-JAG",
    JagCase::WrongAudience,
    GRANT
);
refusal!(
    AS_JAG_03,
    "AS-JAG-03",
    Must,
    "An expired ID-JAG is refused",
    &["SEP-990", "RFC 7523 §3"],
    "An ID-JAG whose exp is past → 400 invalid_grant, no token.",
    jag,
    "a valid ID-JAG",
    JagCase::Expired,
    GRANT
);
refusal!(
    AS_JAG_04,
    "AS-JAG-04",
    Should,
    "A replayed ID-JAG is refused",
    &["SEP-990", "RFC 7523 §3"],
    "The valid ID-JAG presented again (same jti) → 400 invalid_grant, no token; accepted → WARN.",
    jag,
    "a valid ID-JAG",
    JagCase::Replayed,
    GRANT
);
refusal!(
    AS_JAG_05,
    "AS-JAG-05",
    Must,
    "An ID-JAG signed by an untrusted key is refused",
    &["SEP-990", "RFC 7523 §3"],
    "An ID-JAG with the IdP's iss and kid but signed by another key → 400 invalid_grant, no token.",
    jag,
    "a valid ID-JAG",
    JagCase::UntrustedSigner,
    GRANT
);
refusal!(AS_JAG_06, "AS-JAG-06", Must, "An ID-JAG without typ oauth-id-jag+jwt is refused", &["SEP-990"],
    "An ID-JAG whose typ header is JWT → 400 invalid_grant, no token (an ID token or another JWT of the IdP is no grant).",
    jag, "a valid ID-JAG", JagCase::WrongTyp, GRANT);
refusal!(AS_JAG_07, "AS-JAG-07", Must, "An ID-JAG issued for another client is refused", &["SEP-990"],
    "An ID-JAG whose client_id is not the authenticated client → 400 invalid_grant (or invalid_client), no token.",
    jag, "a valid ID-JAG", JagCase::OtherClient, &["invalid_grant", "invalid_client"]);

/// AS-JAG-08: an ID-JAG for one resource never yields a token for another.
const AS_JAG_08: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-JAG-08", "An ID-JAG for one resource never yields a token for another", Must,
        &["SEP-990", "RFC 8707 §2.2"],
        "An ID-JAG granting resource B presented with resource=A → refused (invalid_target or invalid_grant), or a token whose aud is B; a token for A → FAIL."),
    eval: as_jag_08,
};
fn as_jag_08(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let p = crate::need!(&o.assertion.jag, JAG_VALID);
    if let Some(e) = valid_precondition(&p.valid, JAG_VALID) {
        return e;
    }
    let Some(t) = p.cases.get(&JagCase::OtherResource) else {
        return Evaluation::harness_error("the other-resource probe did not run");
    };
    if !t.ok() {
        return token_refused(
            m,
            t,
            JagCase::OtherResource.describe(),
            &["invalid_target", "invalid_grant"],
        );
    }
    let expected = format!(
        "{} (resource={}, the ID-JAG grants {OTHER_RESOURCE}) → refused, or a token for {OTHER_RESOURCE}",
        JagCase::OtherResource.describe(),
        o.resource
    );
    let e = match audiences(t) {
        None => Evaluation::skip(
            "a token was issued and it is opaque: whether it is for the ID-JAG's resource cannot be read",
        ),
        Some(aud) if aud.contains(&o.resource) => Evaluation::violated(
            m.level,
            expected,
            format!("a token with aud {aud:?}: the resource the ID-JAG does not grant"),
        ),
        Some(aud) => Evaluation::pass(expected, format!("a token with aud {aud:?}")),
    };
    e.with_evidence([t.exchange.clone()])
}

/// AS-CC-01: a valid private_key_jwt client assertion authenticates client credentials.
const AS_CC_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-CC-01", "A valid private_key_jwt client gets a client-credentials token for the requested resource", Must,
        &["SEP-1046", "RFC 7523 §2.2", "RFC 8707 §2.2"],
        "client_credentials with a client assertion signed by the client's registered key → 200 with an access token whose aud is the resource."),
    eval: |m, o| valid_token(m, &o.assertion.cc, &o.resource, CC_VALID),
};
refusal!(AS_CC_02, "AS-CC-02", Must, "A client assertion for another audience is refused", &["SEP-1046", "RFC 7523 §3"],
    "A client assertion whose aud is another authorization server → 401/400 invalid_client, no token.",
    cc, "a valid private_key_jwt client assertion", CcCase::WrongAudience, CLIENT);
refusal!(
    AS_CC_03,
    "AS-CC-03",
    Must,
    "An expired client assertion is refused",
    &["SEP-1046", "RFC 7523 §3"],
    "A client assertion whose exp is past → invalid_client, no token.",
    cc,
    "a valid private_key_jwt client assertion",
    CcCase::Expired,
    CLIENT
);
refusal!(AS_CC_04, "AS-CC-04", Should, "A replayed client assertion is refused", &["SEP-1046", "RFC 7523 §3"],
    "The valid client assertion presented again (same jti) → invalid_client, no token; accepted → WARN.",
    cc, "a valid private_key_jwt client assertion", CcCase::Replayed, CLIENT);
refusal!(
    AS_CC_05,
    "AS-CC-05",
    Must,
    "A client assertion signed by an unregistered key is refused",
    &["SEP-1046", "RFC 7523 §3"],
    "A client assertion signed by a key the client did not register → invalid_client, no token.",
    cc,
    "a valid private_key_jwt client assertion",
    CcCase::UntrustedKey,
    CLIENT
);
refusal!(AS_CC_06, "AS-CC-06", Must, "A client assertion whose iss and sub are not the client is refused", &["SEP-1046", "RFC 7523 §3"],
    "A client assertion whose iss and sub name another client than client_id → invalid_client, no token.",
    cc, "a valid private_key_jwt client assertion", CcCase::MismatchedSubject, CLIENT);

#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::authz::scenarios::AssertionObs;
    use crate::authz::testing::{access_claims, jwt, refusal, token_answer};

    /// A token response with a JWT access token whose claims are `claims`.
    pub fn token_with(exchange: &str, claims: serde_json::Value) -> TokenResult {
        token_answer(
            exchange,
            200,
            json!({"access_token": jwt(json!({"alg": "RS256", "typ": "at+jwt"}), claims), "token_type": "Bearer"}),
        )
    }

    fn probes<C: Ord + Copy>(all: &[C], name: &str, error: &str) -> GrantProbes<C> {
        GrantProbes {
            valid: token_with(&format!("{name}#valid"), access_claims()),
            cases: all
                .iter()
                .enumerate()
                .map(|(i, c)| (*c, refusal(&format!("{name}#{i}"), 400, error)))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// What a compliant AS answers: tokens for the resource, every hostile assertion refused.
    pub fn compliant() -> AssertionObs {
        AssertionObs {
            wif: Ok(probes(&WifCase::ALL, "wif", "invalid_grant")),
            jag: Ok(probes(&JagCase::ALL, "jag", "invalid_grant")),
            cc: Ok(probes(&CcCase::ALL, "cc", "invalid_client")),
        }
    }
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::testing::token_with;
    use super::*;
    use crate::authz::testing::{access_claims, compliant, unanswered_token};
    use crate::check::Check;

    fn wif(o: &mut AuthzObservations) -> &mut GrantProbes<WifCase> {
        o.assertion.wif.as_mut().expect("the record has WIF probes")
    }

    fn jag(o: &mut AuthzObservations) -> &mut GrantProbes<JagCase> {
        o.assertion
            .jag
            .as_mut()
            .expect("the record has ID-JAG probes")
    }

    fn cc(o: &mut AuthzObservations) -> &mut GrantProbes<CcCase> {
        o.assertion.cc.as_mut().expect("the record has CC probes")
    }

    fn other_aud() -> serde_json::Value {
        let mut c = access_claims();
        c["aud"] = json!("https://as.conformance.test");
        c
    }

    #[test]
    fn every_assertion_check_passes_on_the_compliant_record() {
        let o = compliant();
        for c in checks() {
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Pass, "{}: {e:?}", c.meta().id);
        }
    }

    #[test]
    fn a_workload_token_for_another_audience_fails_as_wif_01() {
        let mut o = compliant();
        wif(&mut o).valid = token_with("wif#valid", other_aud());
        let e = AS_WIF_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert_eq!(e.evidence, vec!["wif#valid"]);
    }

    #[test]
    fn an_opaque_token_skips_the_audience_check_with_a_reason() {
        let mut o = compliant();
        cc(&mut o).valid = crate::authz::testing::token_answer(
            "cc#valid",
            200,
            json!({"access_token": "opaque-value", "token_type": "Bearer"}),
        );
        let e = AS_CC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip, "{e:?}");
        assert!(e.message.contains("opaque"), "{}", e.message);
    }

    #[test]
    fn an_accepted_wrong_audience_workload_jwt_fails_as_wif_02() {
        let mut o = compliant();
        wif(&mut o).cases.insert(
            WifCase::WrongAudience,
            token_with("wif#aud", access_claims()),
        );
        assert_eq!(AS_WIF_02.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn an_accepted_replay_warns_because_replay_protection_is_a_should() {
        let mut o = compliant();
        wif(&mut o)
            .cases
            .insert(WifCase::Replayed, token_with("wif#replay", access_claims()));
        assert_eq!(AS_WIF_04.evaluate(&o).verdict, Verdict::Warn);
    }

    #[test]
    fn an_accepted_alg_none_workload_jwt_fails_as_wif_08() {
        let mut o = compliant();
        wif(&mut o)
            .cases
            .insert(WifCase::AlgNone, token_with("wif#none", access_claims()));
        assert_eq!(AS_WIF_08.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn an_id_jag_for_another_client_accepted_fails_as_jag_07() {
        let mut o = compliant();
        jag(&mut o).cases.insert(
            JagCase::OtherClient,
            token_with("jag#client", access_claims()),
        );
        assert_eq!(AS_JAG_07.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn a_token_for_the_requested_resource_from_an_id_jag_for_another_fails_as_jag_08() {
        let mut o = compliant();
        jag(&mut o).cases.insert(
            JagCase::OtherResource,
            token_with("jag#res", access_claims()),
        );
        let e = AS_JAG_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
    }

    #[test]
    fn a_token_for_the_id_jags_own_resource_passes_as_jag_08() {
        let mut o = compliant();
        let mut claims = access_claims();
        claims["aud"] = json!(OTHER_RESOURCE);
        jag(&mut o)
            .cases
            .insert(JagCase::OtherResource, token_with("jag#res", claims));
        assert_eq!(AS_JAG_08.evaluate(&o).verdict, Verdict::Pass);
    }

    #[test]
    fn a_client_assertion_with_another_subject_accepted_fails_as_cc_06() {
        let mut o = compliant();
        cc(&mut o).cases.insert(
            CcCase::MismatchedSubject,
            token_with("cc#sub", access_claims()),
        );
        assert_eq!(AS_CC_06.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn a_refused_valid_assertion_makes_every_refusal_of_its_family_error_not_pass() {
        let mut o = compliant();
        jag(&mut o).valid = crate::authz::testing::refusal("jag#valid", 400, "invalid_grant");
        for c in [&AS_JAG_01, &AS_JAG_02, &AS_JAG_05, &AS_JAG_08] {
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}: {e:?}", c.meta.id);
            assert!(
                e.message.contains("--print-assertion-trust"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn a_dead_target_is_error_never_a_refusal() {
        let mut o = compliant();
        cc(&mut o)
            .cases
            .insert(CcCase::Expired, unanswered_token("cc#dead"));
        assert_eq!(AS_CC_03.evaluate(&o).verdict, Verdict::Error);
        cc(&mut o).valid = unanswered_token("cc#valid");
        assert_eq!(AS_CC_02.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn a_family_the_target_does_not_offer_skips_with_the_reason() {
        let mut o = compliant();
        o.assertion.cc = Err(ObsError::NotApplicable(
            "no private_key_jwt client: give --assertion-client-id".into(),
        ));
        let e = AS_CC_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("--assertion-client-id"), "{}", e.message);
    }
}
