//! Scopes and side effects: RS-SCOPE-*, RS-TOK-10.

use std::collections::BTreeSet;

use mcp_auth_reports::Level::{May, Must, Should};

use super::{meta, ServerCheck};
use crate::check::{fn_check as check, CheckMeta, Evaluation};
use crate::server::ctx::Probe;
use crate::server::obs::{ScopeObs, ServerObservations};
use crate::wire::mcp::RpcOutcome;

const SCOPE_REFS: &[&str] = &["MCP §10.1.1", "RFC 6750 §3.1", "OAuth 2.1 §5.3.2"];

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        check(
            meta("RS-SCOPE-01", "A read-only token cannot perform a write", Must, &["OAuth 2.1 §5", "OAuth 2.1 §5.2", "MCP §10"],
                "The read-only user calls the write tool three times → never served, and a later read with a full-access token shows none of the writes."),
            scope01,
        ),
        check(
            meta("RS-SCOPE-02", "Insufficient scope is HTTP 403 with error=\"insufficient_scope\"", Should, SCOPE_REFS,
                "The read-only write → 403 with WWW-Authenticate: Bearer error=\"insufficient_scope\" PASS; any other refusal (401, a tool error in a 200) WARN."),
            scope02,
        ),
        check(
            meta("RS-SCOPE-03", "The 403 scope lists the scopes the request needs", Should, &["MCP §10.1.1"],
                "The insufficient_scope challenge's scope contains the write scope (WARN if not); also listing the already-granted read scope is recommended (INFO if not)."),
            scope03,
        ),
        check(
            meta("RS-SCOPE-04", "The 403 challenge includes resource_metadata", Should, &["MCP §10.1.1"],
                "The insufficient_scope challenge carries resource_metadata."),
            scope04,
        ),
        check(
            meta("RS-SCOPE-05", "Scope challenges are consistent", Should, &["MCP §4.2", "MCP §10.1.1"],
                "Three identical forbidden writes → the three insufficient_scope challenges name the same scope set."),
            scope05,
        ),
        check(
            meta("RS-SCOPE-06", "A reduced-scope token works for what it covers", May, &["SBP §2.5.3"],
                "The read-only user's token (read scope only) calls the read tool → served; refusal is INFO (informative guidance)."),
            scope06,
        ),
        check(
            meta("RS-TOK-10", "A request that fails authorization has no side effect", Must, &["MCP §11.8"],
                "The write tool with an invalid token in a valid session → refused (401), and a later read with a valid token shows no write."),
            tok10,
        ),
    ]
}

/// The forbidden attempts, after checking the precondition that the read-only user could open a session.
fn attempts(o: &ServerObservations) -> Result<&ScopeObs, Evaluation> {
    o.scope
        .as_ref()
        .map_err(|e| e.to_evaluation("the read-only user's session"))
}

/// The insufficient-scope challenge of an attempt, if it sent one.
fn insufficient(p: &Probe) -> Option<&crate::wire::www_authenticate::Challenge> {
    p.bearer()
        .filter(|c| c.param("error") == Some("insufficient_scope"))
}

fn scope01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = match attempts(o) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let (text, read_ex) = match &s.read_back {
        Ok(r) => r,
        Err(e) => return e.to_evaluation("reading back with a full-access token"),
    };
    let served: Vec<&Probe> = s.attempts.iter().filter(|a| a.served()).collect();
    let visible: Vec<&String> = s
        .markers
        .iter()
        .filter(|mk| text.contains(mk.as_str()))
        .collect();
    let mut ev: Vec<String> = s.attempts.iter().map(|a| a.exchange.clone()).collect();
    ev.push(read_ex.clone());
    let expected = "every write refused; none visible in a later read";
    let actual = format!(
        "{}; {} of {} written titles visible in the read-back",
        s.attempts
            .iter()
            .map(Probe::describe)
            .collect::<Vec<_>>()
            .join(" / "),
        visible.len(),
        s.markers.len()
    );
    let e = if served.is_empty() && visible.is_empty() {
        Evaluation::pass(expected, actual)
    } else {
        Evaluation::violated(m.level, expected, actual)
    };
    e.with_evidence(ev)
}

/// The write attempts, when every one was refused: what the refusal-shape checks judge.
fn refused_attempts(o: &ServerObservations) -> Result<&ScopeObs, Evaluation> {
    let s = attempts(o)?;
    refused_precondition(s).map_or(Ok(s), Err)
}

fn refused_precondition(s: &ScopeObs) -> Option<Evaluation> {
    s.attempts.iter().find(|a| a.served()).map(|a| {
        Evaluation::error(
            "the forbidden write was served, so there is no refusal to judge (see RS-SCOPE-01)",
        )
        .with_evidence([a.exchange.clone()])
    })
}

fn scope02(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = match refused_attempts(o) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let first = &s.attempts[0];
    let expected = "HTTP 403 with WWW-Authenticate: Bearer error=\"insufficient_scope\"";
    let actual = first.describe();
    let e = if first.status == 403 && insufficient(first).is_some() {
        Evaluation::pass(expected, actual)
    } else {
        let why = match &first.outcome {
            RpcOutcome::ToolError(_) | RpcOutcome::RpcError(_) => {
                "refused in the JSON-RPC body of a 2xx, not with HTTP 403 (catalog/README.md §4.3)"
            }
            _ => "refused, but not with 403 insufficient_scope",
        };
        Evaluation::violated(m.level, expected, actual).with_message(why)
    };
    e.with_evidence([first.exchange.clone()])
}

fn scope03(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = match refused_attempts(o) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let write = &o.profile.scopes.write;
    let read = &o.profile.scopes.read;
    let expected = format!("scope contains `{write}` (and, recommended, `{read}`)");
    let mut missing_write = Vec::new();
    let mut missing_read = Vec::new();
    for a in &s.attempts {
        let scopes = insufficient(a).and_then(|c| c.scopes()).unwrap_or_default();
        if !scopes.contains(write) {
            missing_write.push(a);
        } else if !scopes.contains(read) {
            missing_read.push(a);
        }
    }
    let ev = s.attempts.iter().map(|a| a.exchange.clone());
    if !missing_write.is_empty() {
        let actual = missing_write
            .iter()
            .map(|a| a.describe())
            .collect::<Vec<_>>()
            .join(" / ");
        return Evaluation::violated(m.level, expected, actual).with_evidence(ev);
    }
    if !missing_read.is_empty() {
        return Evaluation::info(
            expected,
            format!("scope lacks the already-granted `{read}`"),
        )
        .with_message("MCP §10.1.1 recommends listing granted and new scopes together")
        .with_evidence(ev);
    }
    Evaluation::pass(expected, s.attempts[0].describe()).with_evidence(ev)
}

fn scope04(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = match refused_attempts(o) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let first = &s.attempts[0];
    let expected = "the insufficient_scope challenge carries resource_metadata";
    let e = match insufficient(first).and_then(|c| c.param("resource_metadata")) {
        Some(url) => Evaluation::pass(expected, format!("resource_metadata=\"{url}\"")),
        None => Evaluation::violated(m.level, expected, first.describe()),
    };
    e.with_evidence([first.exchange.clone()])
}

fn scope05(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = match refused_attempts(o) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let sets: Vec<BTreeSet<String>> = s
        .attempts
        .iter()
        .map(|a| insufficient(a).and_then(|c| c.scopes()).unwrap_or_default())
        .collect();
    let expected = "the same scope set on every identical refusal";
    let actual = sets
        .iter()
        .map(|set| format!("{{{}}}", set.iter().cloned().collect::<Vec<_>>().join(" ")))
        .collect::<Vec<_>>()
        .join(", ");
    let e = if sets.windows(2).all(|w| w[0] == w[1]) {
        Evaluation::pass(expected, actual)
    } else {
        Evaluation::violated(m.level, expected, actual)
    };
    e.with_evidence(s.attempts.iter().map(|a| a.exchange.clone()))
}

fn scope06(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = match attempts(o) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let p = &s.reduced_read;
    let expected = "the read tool is served for a token holding only the read scope";
    let e = if p.served() {
        Evaluation::pass(expected, p.describe())
    } else {
        Evaluation::violated(m.level, expected, p.describe())
    };
    e.with_evidence([p.exchange.clone()])
}

fn tok10(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let w = crate::need!(&o.write_before_auth, "a session for the write attempt");
    let (text, read_ex) = match &w.read_back {
        Ok(r) => r,
        Err(e) => return e.to_evaluation("reading back with a valid token"),
    };
    let visible = text.contains(&w.marker);
    let expected = "refused (401) and no write visible afterwards";
    let actual = format!(
        "{}; the written title is {} in the read-back",
        w.attempt.describe(),
        if visible { "visible" } else { "absent" }
    );
    let e = if !w.attempt.served() && w.attempt.status >= 400 && !visible {
        Evaluation::pass(expected, actual)
    } else {
        Evaluation::violated(m.level, expected, actual)
    };
    e.with_evidence([w.attempt.exchange.clone(), read_ex.clone()])
}
