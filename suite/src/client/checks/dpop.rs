//! DPoP in the client (`--extension dpop`, SEP-1932 / RFC 9449): CL-DPOP-*, judged from what the client sent in the
//! worlds `auth/dpop` (no nonces) and `auth/dpop-nonce` (the AS and the MCP server demand one). Every proof in the
//! log is verified again here with [`fake_idp::dpop::verify`]; what the world answered is only context. A world
//! in which the client never reached the decision (no code redeemed, no authenticated request, no nonce
//! challenge) is ERROR, never PASS.

use fake_idp::client_world::{LoggedRequest, Origin, RequestKind};
use fake_idp::dpop::{self, Expect, Leniency};
use mcp_auth_reports::Level::Must;
use std::collections::BTreeSet;

use super::{meta, scenario, ClientCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::client::obs::{ClientObservations, ScenarioObs};
use crate::client::scenarios::{DPOP, DPOP_NONCE};

pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        Box::new(CL_DPOP_01),
        Box::new(CL_DPOP_02),
        Box::new(CL_DPOP_03),
        Box::new(CL_DPOP_04),
        Box::new(CL_DPOP_05),
    ]
}

/// Proofs are judged at the time they were made: the suite checks `iat` is present, not how old it is now.
const JUDGE: Leniency = Leniency {
    iat: true,
    signature: false,
    method: false,
    uri: false,
    ath: false,
    key_binding: false,
    algorithm: false,
    private_key: false,
};

/// The DPoP worlds that ran, or the evaluation when one failed or none ran.
fn worlds<'a>(
    o: &'a ClientObservations,
    names: &[&'static str],
) -> Result<Vec<&'a ScenarioObs>, Evaluation> {
    let mut ran = Vec::new();
    let mut first_missing = None;
    for name in names {
        match o.scenario(name) {
            Ok(s) => ran.push(s),
            Err(crate::check::ObsError::NotApplicable(_)) => {
                first_missing.get_or_insert_with(|| scenario(o, name).err());
            }
            Err(_) => {
                return Err(scenario(o, name)
                    .err()
                    .unwrap_or_else(|| Evaluation::error(*name)))
            }
        }
    }
    if ran.is_empty() {
        return Err(first_missing
            .flatten()
            .unwrap_or_else(|| Evaluation::error("no DPoP world ran")));
    }
    Ok(ran)
}

fn token_requests(s: &ScenarioObs) -> impl Iterator<Item = &LoggedRequest> {
    s.log
        .iter()
        .filter(|r| matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == "authorization_code"))
}

/// MCP requests that presented a token.
fn authenticated(s: &ScenarioObs) -> impl Iterator<Item = (&LoggedRequest, &str)> {
    s.log.iter().filter_map(|r| match &r.kind {
        RequestKind::Mcp { token: Some(t), .. } if r.method == "POST" => Some((r, t.as_str())),
        _ => None,
    })
}

/// The URL a request was sent to (its listener's origin and its path).
fn url_of(s: &ScenarioObs, r: &LoggedRequest) -> Option<String> {
    let base = match r.origin {
        Origin::Mcp => url::Url::parse(&s.mcp_url).ok()?,
        Origin::As(i) => url::Url::parse(s.issuers.get(i)?).ok()?,
    };
    Some(format!("{}{}", base.origin().ascii_serialization(), r.path))
}

/// The single proof a request carried, or why there is none to judge.
fn the_proof(r: &LoggedRequest) -> Result<&str, &'static str> {
    let mut proofs = r.headers.iter().filter(|(n, _)| n == "dpop");
    match (proofs.next(), proofs.next()) {
        (Some((_, p)), None) => Ok(p),
        (None, _) => Err("no DPoP header"),
        (Some(_), Some(_)) => Err("more than one DPoP header"),
    }
}

/// CL-DPOP-01: the token request carries a valid proof.
const CL_DPOP_01: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-DPOP-01", "The token request carries a valid DPoP proof", Must,
        &["RFC 9449 §5", "RFC 9449 §4.2", "SEP-1932"],
        "auth/dpop and auth/dpop-nonce: every authorization_code token request carries exactly one DPoP proof that verifies (typ dpop+jwt, asymmetric alg, public jwk, htm POST, htu the token endpoint, iat, jti)."),
    eval: cl_dpop_01,
};

fn cl_dpop_01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let runs = match worlds(o, &[DPOP, DPOP_NONCE]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut evidence = Vec::new();
    let mut bad = Vec::new();
    for s in &runs {
        let requests: Vec<_> = token_requests(s).collect();
        if requests.is_empty() {
            return Evaluation::error(format!(
                "{}: the client never redeemed an authorization code; {}",
                s.def.name,
                s.progress()
            ))
            .with_scenario(s.def.name);
        }
        for r in requests {
            evidence.push(s.id(r));
            let htu = url_of(s, r).unwrap_or_default();
            let verdict = the_proof(r).map_err(str::to_owned).and_then(|p| {
                dpop::verify(
                    p,
                    &Expect {
                        htm: "POST",
                        htu: &htu,
                        ..Expect::default()
                    },
                    JUDGE,
                )
                .map_err(|e| e.to_string())
            });
            if let Err(why) = verdict {
                bad.push((s.id(r), why));
            }
        }
    }
    let expected = "a valid DPoP proof with every authorization_code token request";
    let e = if bad.is_empty() {
        Evaluation::pass(
            expected,
            format!(
                "{} token request(s), each with a valid proof",
                evidence.len()
            ),
        )
    } else {
        let text: Vec<String> = bad.iter().map(|(id, why)| format!("{id}: {why}")).collect();
        Evaluation::violated(m.level, expected, text.join("; "))
            .with_offending(bad.iter().map(|(id, _)| id.clone()))
    };
    runs.iter().fold(e.with_evidence(evidence), |e, s| {
        e.with_scenario(s.def.name)
    })
}

/// CL-DPOP-02: the token is presented with the DPoP scheme.
const CL_DPOP_02: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-DPOP-02", "The access token is presented with the DPoP authorization scheme", Must,
        &["RFC 9449 §7.1", "SEP-1932"],
        "auth/dpop and auth/dpop-nonce: every MCP request that carries the access token uses `Authorization: DPoP`, never Bearer or the query."),
    eval: cl_dpop_02,
};

fn cl_dpop_02(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let runs = match worlds(o, &[DPOP, DPOP_NONCE]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut evidence = Vec::new();
    let mut bad = Vec::new();
    for s in &runs {
        let requests: Vec<_> = authenticated(s).collect();
        if requests.is_empty() {
            return Evaluation::error(format!(
                "{}: the client never presented an access token to the MCP server; {}",
                s.def.name,
                s.progress()
            ))
            .with_scenario(s.def.name);
        }
        for (r, _) in requests {
            evidence.push(s.id(r));
            // Only the scheme's kind is reported: a malformed header's first word could be the token itself.
            let scheme = r
                .header("authorization")
                .and_then(|v| v.split_whitespace().next());
            let kind = match scheme {
                Some(s) if s.eq_ignore_ascii_case("dpop") => continue,
                Some(s) if s.eq_ignore_ascii_case("bearer") => "Bearer",
                Some(_) => "another scheme",
                None => "the access_token query parameter",
            };
            bad.push((s.id(r), kind.to_owned()));
        }
    }
    let expected = "`Authorization: DPoP <token>` on every authenticated MCP request";
    let e = if bad.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} request(s), all with the DPoP scheme", evidence.len()),
        )
    } else {
        let text: Vec<String> = bad
            .iter()
            .map(|(id, s)| format!("{id}: scheme {s}"))
            .collect();
        Evaluation::violated(m.level, expected, text.join("; "))
            .with_offending(bad.iter().map(|(id, _)| id.clone()))
    };
    runs.iter().fold(e.with_evidence(evidence), |e, s| {
        e.with_scenario(s.def.name)
    })
}

/// CL-DPOP-03: every MCP request carries a fresh, valid proof.
const CL_DPOP_03: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-DPOP-03", "Every MCP request carries a fresh, valid DPoP proof", Must,
        &["RFC 9449 §4.2", "RFC 9449 §4.3", "RFC 9449 §7.1", "SEP-1932"],
        "auth/dpop and auth/dpop-nonce: every authenticated MCP request carries exactly one proof that verifies for that request (htm, htu the MCP endpoint, ath of the token) with a jti no other request used."),
    eval: cl_dpop_03,
};

fn cl_dpop_03(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let runs = match worlds(o, &[DPOP, DPOP_NONCE]) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let mut evidence = Vec::new();
    let mut bad = Vec::new();
    for s in &runs {
        let requests: Vec<_> = authenticated(s).collect();
        if requests.is_empty() {
            return Evaluation::error(format!(
                "{}: the client never presented an access token to the MCP server; {}",
                s.def.name,
                s.progress()
            ))
            .with_scenario(s.def.name);
        }
        let mut jtis = BTreeSet::new();
        for (r, token) in requests {
            evidence.push(s.id(r));
            let htu = url_of(s, r).unwrap_or_default();
            let expect = Expect {
                htm: &r.method,
                htu: &htu,
                access_token: Some(token),
                ..Expect::default()
            };
            match the_proof(r)
                .map_err(str::to_owned)
                .and_then(|p| dpop::verify(p, &expect, JUDGE).map_err(|e| e.to_string()))
            {
                Ok(v) if !jtis.insert(v.jti.clone()) => bad.push((
                    s.id(r),
                    "the jti of an earlier request (a reused proof)".to_owned(),
                )),
                Ok(_) => {}
                Err(why) => bad.push((s.id(r), why)),
            }
        }
    }
    let expected = "a fresh (unused jti), valid DPoP proof with every authenticated MCP request";
    let e = if bad.is_empty() {
        Evaluation::pass(
            expected,
            format!(
                "{} request(s), each with its own valid proof",
                evidence.len()
            ),
        )
    } else {
        let text: Vec<String> = bad.iter().map(|(id, why)| format!("{id}: {why}")).collect();
        Evaluation::violated(m.level, expected, text.join("; "))
            .with_offending(bad.iter().map(|(id, _)| id.clone()))
    };
    runs.iter().fold(e.with_evidence(evidence), |e, s| {
        e.with_scenario(s.def.name)
    })
}

/// The nonce a `use_dpop_nonce` answer named, and whether a later request of the same kind carried it in its proof
/// and succeeded.
fn nonce_retry(
    s: &ScenarioObs,
    of_kind: impl Fn(&LoggedRequest) -> bool,
    succeeded: impl Fn(&LoggedRequest) -> bool,
) -> Option<(&LoggedRequest, String, Option<&LoggedRequest>)> {
    let requests: Vec<&LoggedRequest> = s.log.iter().filter(|r| of_kind(r)).collect();
    let (at, challenge) = requests.iter().enumerate().find(|(_, r)| {
        r.status >= 400
            && r.response_header("dpop-nonce").is_some()
            && r.response_body.contains("use_dpop_nonce")
            || r.status == 401
                && r.response_header("dpop-nonce").is_some()
                && r.response_header("www-authenticate")
                    .is_some_and(|w| w.contains("use_dpop_nonce"))
    })?;
    let nonce = challenge.response_header("dpop-nonce")?.to_owned();
    let retry = requests[at + 1..].iter().copied().find(|r| {
        succeeded(r)
            && the_proof(r)
                .ok()
                .and_then(dpop::summary)
                .is_some_and(|p| p.nonce.as_deref() == Some(nonce.as_str()))
    });
    Some((challenge, nonce, retry))
}

fn nonce_check(
    m: &CheckMeta,
    o: &ClientObservations,
    server: &str,
    of_kind: impl Fn(&LoggedRequest) -> bool,
    succeeded: impl Fn(&LoggedRequest) -> bool,
) -> Evaluation {
    let s = crate::scenario_or_return!(o, DPOP_NONCE);
    let Some((challenge, _nonce, retry)) = nonce_retry(s, of_kind, succeeded) else {
        return Evaluation::error(format!(
            "{DPOP_NONCE}: the {server} never answered use_dpop_nonce (the client sent it no request with a proof it \
             could challenge); {}",
            s.progress()
        ))
        .with_scenario(DPOP_NONCE);
    };
    let expected = format!("after the {server}'s use_dpop_nonce, a retry whose proof carries its nonce, answered with success");
    let e = match retry {
        Some(r) => Evaluation::pass(
            expected,
            format!(
                "{} challenged; {} retried with the nonce and succeeded",
                s.id(challenge),
                s.id(r)
            ),
        )
        .with_evidence([s.id(challenge), s.id(r)]),
        None => Evaluation::violated(
            m.level,
            expected,
            format!(
                "{} answered use_dpop_nonce; no later request carried the nonce and succeeded; {}",
                s.id(challenge),
                s.progress()
            ),
        )
        .with_evidence([s.id(challenge)])
        .with_offending([s.id(challenge)]),
    };
    e.with_scenario(DPOP_NONCE)
}

/// CL-DPOP-04: the client retries the token request with the AS's nonce.
const CL_DPOP_04: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-DPOP-04", "The client retries the token request with the authorization server's DPoP nonce", Must,
        &["RFC 9449 §8", "SEP-1932"],
        "auth/dpop-nonce: the AS answers the first proof with 400 use_dpop_nonce and a DPoP-Nonce header → a later token request carries a proof with that nonce and gets its token."),
    eval: |m, o| {
        nonce_check(m, o, "authorization server",
            |r| matches!(r.kind, RequestKind::Token { .. }),
            |r| r.status == 200)
    },
};

/// CL-DPOP-05: the client retries the MCP request with the MCP server's nonce.
const CL_DPOP_05: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-DPOP-05", "The client retries the MCP request with the MCP server's DPoP nonce", Must,
        &["RFC 9449 §9", "SEP-1932"],
        "auth/dpop-nonce: the MCP server answers the first proof with 401 `DPoP error=\"use_dpop_nonce\"` and a DPoP-Nonce header → a later MCP request carries a proof with that nonce and is served."),
    eval: |m, o| {
        nonce_check(m, o, "MCP server",
            |r| matches!(r.kind, RequestKind::Mcp { token: Some(_), .. }),
            |r| (200..300).contains(&r.status))
    },
};
