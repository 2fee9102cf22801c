//! The 401 challenge: RS-WWW-*.

use mcp_auth_reports::Level::{Must, Should};

use super::{meta, ServerCheck};
use crate::check::{fn_check as check, CheckMeta, Evaluation, ObsError};
use crate::server::ctx::Probe;
use crate::server::obs::{PrmSource, ServerObservations};
use crate::wire::www_authenticate::{error_value_is_legal, scope_value_is_legal};

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        check(
            meta("RS-WWW-01.post", "initialize without credentials gets 401", Must, &["MCP §10", "OAuth 2.1 §5.3.1"],
                "POST initialize with no Authorization header → 401."),
            |m, o| {
                let p = crate::need!(&o.unauthenticated, "initialize without credentials");
                status_401(m, p, "POST initialize without credentials")
            },
        ),
        check(
            meta("RS-WWW-01.get", "GET (SSE stream) with a session id but no token gets 401", Must,
                &["MCP §10", "OAuth 2.1 §5.3.1", "MCP §9.1"],
                "GET the MCP endpoint with a valid Mcp-Session-Id and no token → 401."),
            |m, o| {
                let s = crate::need!(&o.session, "a session to reuse");
                status_401(m, &s.unauth_get, "GET with the session id and no token")
            },
        ),
        check(
            meta("RS-WWW-01.delete", "DELETE with a session id but no token gets 401", Must,
                &["MCP §10", "OAuth 2.1 §5.3.1", "MCP §9.1"],
                "DELETE the MCP endpoint with a valid Mcp-Session-Id and no token → 401 (the session survives)."),
            |m, o| {
                let s = crate::need!(&o.session, "a session to reuse");
                status_401(m, &s.unauth_delete, "DELETE with the session id and no token")
            },
        ),
        check(
            meta("RS-WWW-02", "The 401 carries a Bearer challenge with parameters", Must, &["OAuth 2.1 §5.3.1", "RFC 6750 §3"],
                "The unauthenticated 401 has WWW-Authenticate with scheme Bearer and at least one auth-param (RFC 9110 §11.6.1 syntax)."),
            www02,
        ),
        check(
            meta("RS-WWW-03", "Without well-known PRM, the 401 names a resource_metadata URL that resolves", Must,
                &["MCP §4.2", "RFC 9728 §5.1"],
                "If neither well-known location serves PRM, the 401 must carry resource_metadata; when present, that URL must yield a PRM document."),
            www03,
        ),
        check(
            meta("RS-WWW-04", "The 401 challenge names the scopes needed", Should, &["MCP §4.2", "RFC 6750 §3"],
                "The unauthenticated 401 Bearer challenge carries `scope`; absent → WARN."),
            |m, o| {
                let p = crate::need!(&o.unauthenticated, "initialize without credentials");
                let Some(c) = p.bearer() else {
                    return Evaluation::error("no Bearer challenge to inspect (see RS-WWW-02)").with_evidence([p.exchange.clone()]);
                };
                let e = match c.param("scope") {
                    Some(s) => Evaluation::pass("a scope parameter", format!("scope=\"{s}\"")),
                    None => Evaluation::violated(m.level, "a scope parameter", format!("no scope: {}", p.www.join(" | "))),
                };
                e.with_evidence([p.exchange.clone()])
            },
        ),
        check(
            meta("RS-WWW-05", "No error code when the request carried no credentials", Should,
                &["OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
                "The 401 for a request without Authorization carries no `error` parameter; present → WARN."),
            |m, o| {
                let p = crate::need!(&o.unauthenticated, "initialize without credentials");
                let Some(c) = p.bearer() else {
                    return Evaluation::error("no Bearer challenge to inspect (see RS-WWW-02)").with_evidence([p.exchange.clone()]);
                };
                let e = match c.param("error") {
                    None => Evaluation::pass("no error parameter", p.www.join(" | ")),
                    Some(err) => Evaluation::violated(m.level, "no error parameter", format!("error=\"{err}\"")),
                };
                e.with_evidence([p.exchange.clone()])
            },
        ),
        check(
            meta("RS-WWW-06", "Challenge parameters appear once, with legal characters", Must, &["OAuth 2.1 §5.3.1", "RFC 6750 §3"],
                "In every Bearer challenge the suite received, realm/scope/error/error_description/error_uri appear at most once and values use the allowed character sets."),
            www06,
        ),
    ]
}

fn status_401(m: &CheckMeta, p: &Probe, what: &str) -> Evaluation {
    let actual = format!("{what} → HTTP {}; {}", p.status, p.describe());
    let e = if p.status == 401 {
        Evaluation::pass("HTTP 401", actual)
    } else {
        Evaluation::violated(m.level, "HTTP 401", actual)
    };
    e.with_evidence([p.exchange.clone()])
}

fn www02(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let p = crate::need!(&o.unauthenticated, "initialize without credentials");
    let expected = "WWW-Authenticate: Bearer <auth-param>[, …]";
    if p.status != 401 {
        return Evaluation::error(format!(
            "no 401 to inspect (HTTP {}; see RS-WWW-01.post)",
            p.status
        ))
        .with_evidence([p.exchange.clone()]);
    }
    let e = match &p.challenges {
        _ if p.www.is_empty() => {
            Evaluation::violated(m.level, expected, "no WWW-Authenticate header")
        }
        Err(err) => {
            Evaluation::violated(m.level, expected, format!("{}: {err}", p.www.join(" | ")))
        }
        Ok(cs) => match cs.iter().find(|c| c.is_bearer()) {
            None => Evaluation::violated(
                m.level,
                expected,
                format!("no Bearer challenge: {}", p.www.join(" | ")),
            ),
            Some(c) if c.params.is_empty() => Evaluation::violated(
                m.level,
                expected,
                format!(
                    "a bare Bearer challenge without parameters: {}",
                    p.www.join(" | ")
                ),
            ),
            Some(_) => Evaluation::pass(expected, p.www.join(" | ")),
        },
    };
    e.with_evidence([p.exchange.clone()])
}

fn www03(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let p = crate::need!(&o.unauthenticated, "initialize without credentials");
    let well_known_ok = disc
        .documents()
        .any(|(f, _, _)| matches!(f.source, PrmSource::PathInserted | PrmSource::Root));
    let header = disc.get(PrmSource::Header);
    let expected =
        "resource_metadata present whenever no well-known PRM is served, and resolving to a PRM";
    let mut evidence = vec![p.exchange.clone()];
    let e = match header {
        Some(f) => match &f.doc {
            Ok(doc) if doc.object().is_some() => {
                evidence.push(doc.exchange.clone());
                Evaluation::pass(
                    expected,
                    format!("resource_metadata=\"{}\" resolves to a PRM document", f.url),
                )
            }
            Ok(doc) => {
                evidence.push(doc.exchange.clone());
                Evaluation::violated(
                    m.level,
                    expected,
                    format!(
                        "resource_metadata=\"{}\" answered HTTP {} without a PRM object",
                        f.url, doc.status
                    ),
                )
            }
            Err(err) => Evaluation::violated(
                m.level,
                expected,
                format!(
                    "resource_metadata=\"{}\" could not be fetched: {err}",
                    f.url
                ),
            ),
        },
        None if well_known_ok => Evaluation::pass(
            expected,
            "no resource_metadata, but PRM is served at a well-known location",
        ),
        None => Evaluation::violated(
            m.level,
            expected,
            "no resource_metadata and no PRM at either well-known location",
        ),
    };
    e.with_evidence(evidence)
}

fn www06(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let mut judged = Vec::new();
    let mut problems = Vec::new();
    let mut consider = |p: &Probe| {
        let Ok(cs) = &p.challenges else { return };
        for c in cs.iter().filter(|c| c.is_bearer()) {
            judged.push(p.exchange.clone());
            for name in ["realm", "scope", "error", "error_description", "error_uri"] {
                if c.count(name) > 1 {
                    problems.push((
                        p.exchange.clone(),
                        format!("`{name}` appears {} times", c.count(name)),
                    ));
                }
            }
            if let Some(s) = c.param("scope") {
                if !scope_value_is_legal(s) {
                    problems.push((
                        p.exchange.clone(),
                        format!("scope=\"{s}\" has illegal characters or spacing"),
                    ));
                }
            }
            for name in ["error", "error_description"] {
                if let Some(v) = c.param(name) {
                    if !error_value_is_legal(v) {
                        problems.push((
                            p.exchange.clone(),
                            format!("{name} has characters outside %x20-21 / %x23-5B / %x5D-7E"),
                        ));
                    }
                }
            }
        }
    };
    if let Ok(p) = &o.unauthenticated {
        consider(p);
    }
    for p in o.probes.values().flatten() {
        consider(p);
    }
    if let Ok(s) = &o.scope {
        for p in &s.attempts {
            consider(p);
        }
    }
    let expected =
        "each of realm, scope, error, error_description, error_uri at most once; legal characters";
    // Every challenge must conform: a pass over the scenarios that finished before an interrupt is no pass.
    let unfinished = [o.unauthenticated.as_ref().err(), o.scope.as_ref().err()]
        .into_iter()
        .flatten()
        .chain(o.probes.values().filter_map(|p| p.as_ref().err()))
        .any(ObsError::is_interrupted);
    if problems.is_empty() && unfinished {
        return ObsError::Interrupted.to_evaluation(&format!(
            "{} Bearer challenge(s) conform so far",
            judged.len()
        ));
    }
    if judged.is_empty() {
        return Evaluation::error("no Bearer challenge was received, so none could be judged");
    }
    if problems.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} Bearer challenges judged, none malformed", judged.len()),
        )
        .with_evidence(judged.into_iter().take(3))
    } else {
        let actual = problems
            .iter()
            .map(|(_, p)| p.clone())
            .collect::<Vec<_>>()
            .join("; ");
        Evaluation::violated(m.level, expected, actual)
            .with_evidence(problems.into_iter().map(|(e, _)| e).take(5))
    }
}
