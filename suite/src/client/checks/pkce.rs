//! PKCE: CL-PKCE-*.

use std::collections::BTreeMap;

use fake_idp::client_world::{LoggedRequest, RequestKind};
use mcp_auth_reports::Level::Must;

use super::{meta, ClientCheck, Every, Refusal};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::client::obs::{
    is_metadata_fetch, location_param, param, ClientObservations, ScenarioObs,
};
use crate::client::scenarios::{
    BASIC_CIMD, PKCE_METHODS_MISSING, PKCE_METHODS_MISSING_OIDC, PKCE_PLAIN_ONLY,
};
use crate::wire::s256;

/// Every PKCE check, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        Box::new(CL_PKCE_02),
        Box::new(CL_PKCE_03),
        Box::new(CL_PKCE_04),
        Box::new(CL_PKCE_05),
        Box::new(CL_PKCE_06),
        Box::new(CL_PKCE_07),
        Box::new(CL_PKCE_08),
        Box::new(CL_PKCE_09_PLAIN_ONLY),
        Box::new(CL_PKCE_09_NO_DOWNGRADE),
    ]
}

/// CL-PKCE-02: no authorization when RFC 8414 metadata lacks code_challenge_methods_supported.
const CL_PKCE_02: Refusal = Refusal {
    meta: meta("CL-PKCE-02", "No authorization when RFC 8414 metadata lacks code_challenge_methods_supported", Must, &["MCP §11.4"],
        text!(PKCE_METHODS_MISSING, ": after fetching the RFC 8414 metadata (issuer /tenant1, path-inserted), no authorization or token request.")),
    scenario: PKCE_METHODS_MISSING,
    decision: "fetching metadata without code_challenge_methods_supported",
    reached: is_metadata_fetch,
    forbidden_what: "authorization or token request",
    forbidden: |r| matches!(r.kind, RequestKind::Authorize | RequestKind::Token { .. }),
};

/// CL-PKCE-03: no authorization when OpenID metadata lacks code_challenge_methods_supported.
const CL_PKCE_03: Refusal = Refusal {
    meta: meta(
        "CL-PKCE-03",
        "No authorization when OpenID metadata lacks code_challenge_methods_supported",
        Must,
        &["MCP §11.4"],
        text!(
            PKCE_METHODS_MISSING_OIDC,
            ": the same with an OpenID configuration (at the root)."
        ),
    ),
    scenario: PKCE_METHODS_MISSING_OIDC,
    decision: "fetching the OpenID configuration without code_challenge_methods_supported",
    reached: is_metadata_fetch,
    forbidden_what: "authorization or token request",
    forbidden: |r| matches!(r.kind, RequestKind::Authorize | RequestKind::Token { .. }),
};

/// CL-PKCE-04: every authorization request carries code_challenge.
const CL_PKCE_04: Every = Every {
    meta: meta(
        "CL-PKCE-04",
        "Every authorization request carries code_challenge",
        Must,
        &["MCP §11.4", "OAuth 2.1 §4.1.1", "OAuth 2.1 §7.5.2"],
        "Every authorization request in every scenario has a non-empty code_challenge.",
    ),
    what: "authorization request",
    expected: "code_challenge present",
    select: |_, r| is_authorize(r),
    problem: |_, r| {
        param(r, "code_challenge")
            .is_none_or(str::is_empty)
            .then(|| "no code_challenge".into())
    },
};

/// CL-PKCE-05: the S256 method is used.
const CL_PKCE_05: Every = Every {
    meta: meta(
        "CL-PKCE-05",
        "The S256 method is used",
        Must,
        &["MCP §11.4", "OAuth 2.1 §4.1.1", "RFC 7636 §4.2"],
        "Every authorization request has code_challenge_method=S256 (absent means plain).",
    ),
    what: "authorization request",
    expected: "code_challenge_method=S256",
    select: |_, r| is_authorize(r),
    problem: |_, r| match param(r, "code_challenge_method") {
        Some("S256") => None,
        Some(other) => Some(format!("method {other}")),
        None => Some("no method (plain)".into()),
    },
};

/// CL-PKCE-06: the token request's verifier matches the challenge.
const CL_PKCE_06: Every = Every {
    meta: meta("CL-PKCE-06", "The token request's verifier matches the challenge", Must, &["OAuth 2.1 §4.1.3", "RFC 7636 §4.5"],
        "Every code redemption sends code_verifier with BASE64URL(SHA256(verifier)) equal to the challenge of the authorization request that produced the code."),
    what: "code redemption",
    expected: "S256(code_verifier) == code_challenge",
    select: |_, r| is_code_redemption(r),
    problem: cl_pkce_06,
};
fn cl_pkce_06(s: &ScenarioObs, r: &LoggedRequest) -> Option<String> {
    let Some(verifier) = param(r, "code_verifier") else {
        return Some("no code_verifier".into());
    };
    let code = param(r, "code").unwrap_or("");
    match challenge_for(s, code) {
        None => Some("redeems a code no authorization response issued".into()),
        Some(challenge) if s256(verifier) == challenge => None,
        Some(_) => Some("S256(code_verifier) does not match the code_challenge".into()),
    }
}

/// CL-PKCE-07: the verifier is 43–128 unreserved characters.
const CL_PKCE_07: Every = Every {
    meta: meta(
        "CL-PKCE-07",
        "The verifier is 43–128 unreserved characters",
        Must,
        &["OAuth 2.1 §4.1.1", "RFC 7636 §4.1"],
        "Every code_verifier is 43 to 128 characters from [A-Za-z0-9-._~].",
    ),
    what: "code redemption",
    expected: "43–128 characters of [A-Za-z0-9-._~]",
    select: |_, r| is_code_redemption(r),
    problem: |_, r| {
        let v = param(r, "code_verifier").unwrap_or("");
        let ok = (43..=128).contains(&v.len())
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c));
        (!ok).then(|| format!("verifier of {} characters", v.len()))
    },
};

/// CL-PKCE-08: each authorization request has a fresh challenge.
const CL_PKCE_08: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-PKCE-08", "Each authorization request has a fresh challenge", Must, &["OAuth 2.1 §7.5.2"],
        "Across all scenarios (several flows, step-up re-authorizations, retries after an error) no code_challenge repeats."),
    eval: cl_pkce_08,
};
fn cl_pkce_08(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut repeats = Vec::new();
    let mut total = 0;
    for s in o.runs() {
        for r in s.log.iter().filter(|r| is_authorize(r)) {
            let Some(c) = param(r, "code_challenge") else {
                continue;
            };
            total += 1;
            if let Some(first) = seen.insert(c.to_owned(), s.id(r)) {
                repeats.push((first, s.id(r)));
            }
        }
    }
    let expected = "every code_challenge distinct";
    if total < 2 && !o.selected_all {
        return Evaluation::skip(
            "fewer than two authorization requests with a challenge in the scenarios selected by --scenario",
        );
    }
    if total < 2 {
        return super::on_every_scenario(
            Evaluation::error(
                "fewer than two authorization requests with a challenge were observed",
            ),
            o,
        );
    }
    if repeats.is_empty() && o.unfinished() {
        return crate::check::ObsError::Interrupted.to_evaluation(&format!(
            "{total} authorization requests with distinct challenges so far"
        ));
    }
    if repeats.is_empty() {
        Evaluation::pass(
            expected,
            format!("{total} authorization requests, {total} distinct challenges"),
        )
    } else {
        let (a, b) = &repeats[0];
        Evaluation::violated(
            m.level,
            expected,
            format!("{} repeated challenge(s), e.g. {a} and {b}", repeats.len()),
        )
        .with_evidence([a.clone(), b.clone()])
    }
}

/// CL-PKCE-09.plain-only: plain is never used, even when it is the only method advertised.
const CL_PKCE_09_PLAIN_ONLY: Refusal = Refusal {
    meta: meta("CL-PKCE-09.plain-only", "plain is never used, even when it is the only method advertised", Must, &["RFC 7636 §7.2", "OAuth 2.1 §4.1.1"],
        text!(PKCE_PLAIN_ONLY, ": code_challenge_methods_supported is [\"plain\"] → the client refuses or uses S256; a plain (or method-less) authorization request fails.")),
    scenario: PKCE_PLAIN_ONLY,
    decision: "fetching metadata that advertises only plain",
    reached: is_metadata_fetch,
    forbidden_what: "authorization request with plain",
    forbidden: |r| is_authorize(r) && param(r, "code_challenge_method") != Some("S256"),
};

/// CL-PKCE-09.no-downgrade: no downgrade to plain after an S256 request fails.
const CL_PKCE_09_NO_DOWNGRADE: Refusal = Refusal {
    meta: meta("CL-PKCE-09.no-downgrade", "No downgrade to plain after an S256 request fails", Must, &["RFC 7636 §7.2", "OAuth 2.1 §4.1.1"],
        text!(BASIC_CIMD, ": the first authorization request is answered error=invalid_request → no later request uses plain.")),
    scenario: BASIC_CIMD,
    decision: "an authorization error",
    reached: |r| is_authorize(r) && location_param(r, "error").is_some(),
    forbidden_what: "authorization request without S256",
    forbidden: |r| is_authorize(r) && param(r, "code_challenge_method") != Some("S256"),
};

fn is_code_redemption(r: &LoggedRequest) -> bool {
    matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == "authorization_code")
}

/// The challenge of the authorization request whose response carried `code`.
fn challenge_for<'a>(s: &'a ScenarioObs, code: &str) -> Option<&'a str> {
    s.log
        .iter()
        .filter(|r| is_authorize(r))
        .find(|r| location_param(r, "code").as_deref() == Some(code))
        .and_then(|r| param(r, "code_challenge"))
}

fn is_authorize(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Authorize)
}

#[cfg(test)]
mod tests {
    use fake_idp::client_world::Origin;
    use mcp_auth_reports::Verdict;
    use rstest::rstest;

    use super::*;
    use crate::check::Check;
    use crate::client::obs::testing::{
        all_requests, append, compliant, drop_param, first, set_param, stop_before, world,
    };
    use crate::client::scenarios::{METADATA_DEFAULT, SCOPE_STEP_UP};

    #[rstest]
    #[case::cl_pkce_02(&CL_PKCE_02, "fetching metadata without code_challenge_methods_supported at #3")]
    #[case::cl_pkce_03(&CL_PKCE_03, "fetching the OpenID configuration without code_challenge_methods_supported at #3")]
    #[case::cl_pkce_04(&CL_PKCE_04, "authorization request(s) judged, all conform")]
    #[case::cl_pkce_05(&CL_PKCE_05, "authorization request(s) judged, all conform")]
    #[case::cl_pkce_06(&CL_PKCE_06, "code redemption(s) judged, all conform")]
    #[case::cl_pkce_07(&CL_PKCE_07, "code redemption(s) judged, all conform")]
    #[case::cl_pkce_08(&CL_PKCE_08, "distinct challenges")]
    #[case::cl_pkce_09_plain_only(&CL_PKCE_09_PLAIN_ONLY, "fetching metadata that advertises only plain at #4")]
    #[case::cl_pkce_09_no_downgrade(&CL_PKCE_09_NO_DOWNGRADE, "an authorization error at #3")]
    fn passes_on_the_compliant_record(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] actual: &str,
    ) {
        let e = check.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    #[rstest]
    #[case::cl_pkce_02(&CL_PKCE_02, PKCE_METHODS_MISSING)]
    #[case::cl_pkce_03(&CL_PKCE_03, PKCE_METHODS_MISSING_OIDC)]
    fn fails_when_the_client_authorizes_without_advertised_pkce_support(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
    ) {
        let mut o = compliant();
        append(
            world(&mut o, name),
            Origin::As(0),
            "GET",
            "/authorize",
            RequestKind::Authorize,
        );
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("then GET /authorize authorization or token request"),
            "{}",
            e.actual
        );
    }

    #[rstest]
    #[case::cl_pkce_02(&CL_PKCE_02, PKCE_METHODS_MISSING)]
    #[case::cl_pkce_03(&CL_PKCE_03, PKCE_METHODS_MISSING_OIDC)]
    #[case::cl_pkce_09_plain_only(&CL_PKCE_09_PLAIN_ONLY, PKCE_PLAIN_ONLY)]
    fn is_error_when_the_client_never_fetched_the_metadata(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
    ) {
        let mut o = compliant();
        stop_before(&mut o, name, |r| {
            matches!(r.kind, RequestKind::AsMetadata(_))
        });
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("never reached the decision point"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_pkce_04_fails_when_an_authorization_request_has_no_code_challenge() {
        let mut o = compliant();
        drop_param(first(&mut o, SCOPE_STEP_UP, is_authorize), "code_challenge");
        let e = CL_PKCE_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains(&format!("{SCOPE_STEP_UP}#"))
                && e.actual.contains("no code_challenge"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_pkce_04_is_error_when_no_authorization_request_was_made() {
        let mut o = compliant();
        for r in all_requests(&mut o, is_authorize) {
            r.kind = RequestKind::Other;
        }
        let e = CL_PKCE_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("no authorization request was observed"),
            "{}",
            e.message
        );
    }

    #[rstest]
    #[case::plain(Some("plain"), "method plain")]
    #[case::absent(None, "no method (plain)")]
    fn cl_pkce_05_fails_without_s256(#[case] method: Option<&str>, #[case] actual: &str) {
        let mut o = compliant();
        let r = first(&mut o, METADATA_DEFAULT, is_authorize);
        match method {
            Some(m) => set_param(r, "code_challenge_method", m),
            None => drop_param(r, "code_challenge_method"),
        }
        let e = CL_PKCE_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    #[rstest]
    #[case::wrong_verifier(Some("code_verifier"), "does not match the code_challenge")]
    #[case::no_verifier(None, "no code_verifier")]
    #[case::unknown_code(Some("code"), "redeems a code no authorization response issued")]
    fn cl_pkce_06_fails_when_the_verifier_does_not_prove_the_challenge(
        #[case] change: Option<&str>,
        #[case] actual: &str,
    ) {
        let mut o = compliant();
        let r = first(&mut o, METADATA_DEFAULT, is_code_redemption);
        match change {
            Some(p) => set_param(r, p, "another-value-0123456789abcdefghijklmnopqrstuvwxyz"),
            None => drop_param(r, "code_verifier"),
        }
        let e = CL_PKCE_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    #[test]
    fn cl_pkce_06_is_error_when_no_code_was_redeemed() {
        let mut o = compliant();
        for r in all_requests(&mut o, is_code_redemption) {
            r.kind = RequestKind::Other;
        }
        assert_eq!(CL_PKCE_06.evaluate(&o).verdict, Verdict::Error);
    }

    #[rstest]
    #[case::too_short("abc12", "verifier of 5 characters")]
    #[case::reserved_characters(
        "verifier+with/reserved=characters-0123456789abcdef",
        "verifier of 50 characters"
    )]
    fn cl_pkce_07_fails_on_a_malformed_verifier(#[case] verifier: &str, #[case] actual: &str) {
        let mut o = compliant();
        set_param(
            first(&mut o, METADATA_DEFAULT, is_code_redemption),
            "code_verifier",
            verifier,
        );
        let e = CL_PKCE_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    #[test]
    fn cl_pkce_08_fails_when_a_challenge_repeats() {
        let mut o = compliant();
        let challenge = param(
            first(&mut o, METADATA_DEFAULT, is_authorize),
            "code_challenge",
        )
        .expect("a challenge")
        .to_owned();
        set_param(
            first(&mut o, SCOPE_STEP_UP, is_authorize),
            "code_challenge",
            &challenge,
        );
        let e = CL_PKCE_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.starts_with("1 repeated challenge(s)"),
            "{}",
            e.actual
        );
        assert_eq!(e.evidence.len(), 2, "{:?}", e.evidence);
    }

    #[test]
    fn cl_pkce_08_is_error_with_fewer_than_two_challenges() {
        let mut o = compliant();
        for r in all_requests(&mut o, is_authorize) {
            drop_param(r, "code_challenge");
        }
        let e = CL_PKCE_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(e.message.contains("fewer than two"), "{}", e.message);
    }

    #[test]
    fn cl_pkce_09_plain_only_fails_when_the_client_uses_plain() {
        let mut o = compliant();
        let r = append(
            world(&mut o, PKCE_PLAIN_ONLY),
            Origin::As(0),
            "GET",
            "/authorize",
            RequestKind::Authorize,
        );
        set_param(r, "code_challenge_method", "plain");
        let e = CL_PKCE_09_PLAIN_ONLY.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("authorization request with plain (#5)"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_pkce_09_no_downgrade_fails_when_the_retry_uses_plain() {
        let mut o = compliant();
        let retry = world(&mut o, BASIC_CIMD)
            .log
            .iter_mut()
            .filter(|r| is_authorize(r))
            .nth(1)
            .expect("a retry");
        set_param(retry, "code_challenge_method", "plain");
        let e = CL_PKCE_09_NO_DOWNGRADE.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("authorization request without S256"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_pkce_09_no_downgrade_is_error_when_no_authorization_was_refused() {
        let mut o = compliant();
        first(&mut o, BASIC_CIMD, is_authorize)
            .response_headers
            .clear();
        let e = CL_PKCE_09_NO_DOWNGRADE.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("(an authorization error)"),
            "{}",
            e.message
        );
    }
}
