//! PKCE: CL-PKCE-*.

use std::collections::BTreeMap;

use fake_idp::client_world::{LoggedRequest, RequestKind};
use mcp_auth_reports::Level::Must;

use super::{check, every, meta, refusal, ClientCheck};
use crate::check::{CheckMeta, Evaluation};
use crate::client::obs::{
    is_metadata_fetch, location_param, param, ClientObservations, ScenarioObs,
};
use crate::client::scenarios::{
    BASIC_CIMD, PKCE_METHODS_MISSING, PKCE_METHODS_MISSING_OIDC, PKCE_PLAIN_ONLY,
};
use crate::scenario_or_return;
use crate::wire::s256;

fn is_authorize(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Authorize)
}

pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        check(
            meta("CL-PKCE-02", "No authorization when RFC 8414 metadata lacks code_challenge_methods_supported", Must, &["MCP §11.4"],
                "auth/pkce-methods-missing: after fetching the RFC 8414 metadata (issuer /tenant1, path-inserted), no authorization or token request."),
            |m, o| {
                let s = scenario_or_return!(o, PKCE_METHODS_MISSING);
                refusal(m, o, s, "fetching metadata without code_challenge_methods_supported", is_metadata_fetch,
                    "authorization or token request", |r| matches!(r.kind, RequestKind::Authorize | RequestKind::Token { .. }))
            },
        ),
        check(
            meta("CL-PKCE-03", "No authorization when OpenID metadata lacks code_challenge_methods_supported", Must, &["MCP §11.4"],
                "auth/pkce-methods-missing-oidc: the same with an OpenID configuration (at the root)."),
            |m, o| {
                let s = scenario_or_return!(o, PKCE_METHODS_MISSING_OIDC);
                refusal(m, o, s, "fetching the OpenID configuration without code_challenge_methods_supported", is_metadata_fetch,
                    "authorization or token request", |r| matches!(r.kind, RequestKind::Authorize | RequestKind::Token { .. }))
            },
        ),
        check(
            meta("CL-PKCE-04", "Every authorization request carries code_challenge", Must, &["MCP §11.4", "OAuth 2.1 §4.1.1", "OAuth 2.1 §7.5.2"],
                "Every authorization request in every scenario has a non-empty code_challenge."),
            |m, o| every(m, o, "authorization request", "code_challenge present", |_, r| is_authorize(r),
                |_, r| param(r, "code_challenge").is_none_or(str::is_empty).then(|| "no code_challenge".into())),
        ),
        check(
            meta("CL-PKCE-05", "The S256 method is used", Must, &["MCP §11.4", "OAuth 2.1 §4.1.1", "RFC 7636 §4.2"],
                "Every authorization request has code_challenge_method=S256 (absent means plain)."),
            |m, o| every(m, o, "authorization request", "code_challenge_method=S256", |_, r| is_authorize(r),
                |_, r| match param(r, "code_challenge_method") {
                    Some("S256") => None,
                    Some(other) => Some(format!("method {other}")),
                    None => Some("no method (plain)".into()),
                }),
        ),
        check(
            meta("CL-PKCE-06", "The token request's verifier matches the challenge", Must, &["OAuth 2.1 §4.1.3", "RFC 7636 §4.5"],
                "Every code redemption sends code_verifier with BASE64URL(SHA256(verifier)) equal to the challenge of the authorization request that produced the code."),
            |m, o| {
                every(m, o, "code redemption", "S256(code_verifier) == code_challenge", |_, r| is_code_redemption(r),
                    verifier_problem)
            },
        ),
        check(
            meta("CL-PKCE-07", "The verifier is 43–128 unreserved characters", Must, &["OAuth 2.1 §4.1.1", "RFC 7636 §4.1"],
                "Every code_verifier is 43 to 128 characters from [A-Za-z0-9-._~]."),
            |m, o| every(m, o, "code redemption", "43–128 characters of [A-Za-z0-9-._~]", |_, r| is_code_redemption(r),
                |_, r| {
                    let v = param(r, "code_verifier").unwrap_or("");
                    let ok = (43..=128).contains(&v.len())
                        && v.bytes().all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c));
                    (!ok).then(|| format!("verifier of {} characters", v.len()))
                }),
        ),
        check(
            meta("CL-PKCE-08", "Each authorization request has a fresh challenge", Must, &["OAuth 2.1 §7.5.2"],
                "Across all scenarios (several flows, step-up re-authorizations, retries after an error) no code_challenge repeats."),
            pkce08,
        ),
        check(
            meta("CL-PKCE-09.plain-only", "plain is never used, even when it is the only method advertised", Must, &["RFC 7636 §7.2", "OAuth 2.1 §4.1.1"],
                "auth/pkce-plain-only: code_challenge_methods_supported is [\"plain\"] → the client refuses or uses S256; a plain (or method-less) authorization request fails."),
            |m, o| {
                let s = scenario_or_return!(o, PKCE_PLAIN_ONLY);
                refusal(m, o, s, "fetching metadata that advertises only plain", is_metadata_fetch,
                    "authorization request with plain", |r| is_authorize(r) && param(r, "code_challenge_method") != Some("S256"))
            },
        ),
        check(
            meta("CL-PKCE-09.no-downgrade", "No downgrade to plain after an S256 request fails", Must, &["RFC 7636 §7.2", "OAuth 2.1 §4.1.1"],
                "auth/basic-cimd: the first authorization request is answered error=invalid_request → no later request uses plain."),
            |m, o| {
                let s = scenario_or_return!(o, BASIC_CIMD);
                refusal(m, o, s, "an authorization error", |r| is_authorize(r) && location_param(r, "error").is_some(),
                    "authorization request without S256", |r| is_authorize(r) && param(r, "code_challenge_method") != Some("S256"))
            },
        ),
    ]
}

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

fn verifier_problem(s: &ScenarioObs, r: &LoggedRequest) -> Option<String> {
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

fn pkce08(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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
