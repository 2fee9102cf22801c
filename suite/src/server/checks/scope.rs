//! Scopes and side effects: RS-SCOPE-*, RS-TOK-10.

use std::collections::BTreeSet;

use mcp_auth_reports::Level::{May, Must, Should};

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::server::ctx::Probe;
use crate::server::obs::{ScopeObs, ServerObservations};
use crate::wire::mcp::RpcOutcome;

const SCOPE_REFS: &[&str] = &["MCP §10.1.1", "RFC 6750 §3.1", "OAuth 2.1 §5.3.2"];

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        Box::new(RS_SCOPE_01),
        Box::new(RS_SCOPE_02),
        Box::new(RS_SCOPE_03),
        Box::new(RS_SCOPE_04),
        Box::new(RS_SCOPE_05),
        Box::new(RS_SCOPE_06),
        Box::new(RS_TOK_10),
    ]
}

/// RS-SCOPE-01: A read-only token cannot perform a write.
const RS_SCOPE_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-SCOPE-01", "A read-only token cannot perform a write", Must, &["OAuth 2.1 §5", "OAuth 2.1 §5.2", "MCP §10"],
        "The read-only user calls the write tool three times → never served, and a later read with a full-access token shows none of the writes. A call answered as a success (2xx, isError not set) counts as refused only when the read-back shows none of the writes but does show a control write by the full-access user (else ERROR)."),
    eval: rs_scope_01,
};

fn rs_scope_01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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
    if !visible.is_empty() {
        return Evaluation::violated(m.level, expected, actual).with_evidence(ev);
    }
    if served.is_empty() {
        return Evaluation::pass(expected, actual).with_evidence(ev);
    }
    match refused_in_text(s) {
        Ok(control) => {
            ev.insert(ev.len() - 1, control.to_owned());
            Evaluation::pass(expected, actual).with_message(
                "refused in the text of a successful tool result: none of the read-only user's writes landed, \
                 while the full-access user's control write did (see RS-SCOPE-02)",
            )
        }
        Err(why) => Evaluation::error(format!(
            "the write tool answered the read-only user with a success result and none of the writes is \
             visible, but {why}: whether they were refused cannot be observed"
        )),
    }
    .with_evidence(ev)
}

/// When the read-only user's writes were answered as successes (2xx, `isError` not set) but none landed, the
/// control write's exchange: the read-back shows none of them while it shows the full-access user's write, so a
/// write would have been visible. Else why that cannot be told.
pub(super) fn refused_in_text(s: &ScopeObs) -> Result<&str, &'static str> {
    let text = match &s.read_back {
        Ok((text, _)) => text,
        Err(_) => return Err("the read-back failed"),
    };
    if write_landed(s) {
        return Err("a write is visible in the read-back");
    }
    let Some(control) = &s.control else {
        return Err("no control write was made");
    };
    match &control.probe {
        Ok(p) if p.served() && text.contains(control.marker.as_str()) => Ok(&p.exchange),
        Ok(p) if p.served() => {
            Err("the full-access user's control write is not visible in the read-back either")
        }
        Ok(_) => Err("the full-access user's control write was refused"),
        Err(_) => Err("the full-access user's control write got no answer"),
    }
}

/// RS-SCOPE-02: Insufficient scope is HTTP 403 with error="insufficient_scope\.
const RS_SCOPE_02: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-SCOPE-02", "Insufficient scope is HTTP 403 with error=\"insufficient_scope\"", Should, SCOPE_REFS,
        "The read-only write → 403 with WWW-Authenticate: Bearer error=\"insufficient_scope\" PASS; any other refusal (401, a tool error in a 200) WARN."),
    eval: rs_scope_02,
};

fn rs_scope_02(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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
            RpcOutcome::Served(_) => {
                "refused only in the text of a successful tool result (2xx, isError not set), not with HTTP 403: \
                 on the wire the write succeeded; the read-back shows it did not land (catalog/README.md §4.3)"
            }
            _ => "refused, but not with 403 insufficient_scope",
        };
        Evaluation::violated(m.level, expected, actual).with_message(why)
    };
    e.with_evidence([first.exchange.clone()])
}

/// RS-SCOPE-03: The 403 scope lists the scopes the request needs.
const RS_SCOPE_03: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-SCOPE-03", "The 403 scope lists the scopes the request needs", Should, &["MCP §10.1.1"],
        "The insufficient_scope challenge's scope contains the write scope (WARN if not); also listing the already-granted read scope is recommended (INFO if not)."),
    eval: rs_scope_03,
};

fn rs_scope_03(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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

/// RS-SCOPE-04: The 403 challenge includes resource_metadata.
const RS_SCOPE_04: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-SCOPE-04",
        "The 403 challenge includes resource_metadata",
        Should,
        &["MCP §10.1.1"],
        "The insufficient_scope challenge carries resource_metadata.",
    ),
    eval: rs_scope_04,
};

fn rs_scope_04(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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

/// RS-SCOPE-05: Scope challenges are consistent.
const RS_SCOPE_05: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-SCOPE-05", "Scope challenges are consistent", Should, &["MCP §4.2", "MCP §10.1.1"],
        "Three identical forbidden writes → the three insufficient_scope challenges name the same scope set."),
    eval: rs_scope_05,
};

fn rs_scope_05(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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

/// RS-SCOPE-06: A reduced-scope token works for what it covers.
const RS_SCOPE_06: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-SCOPE-06", "A reduced-scope token works for what it covers", May, &["SBP §2.5.3"],
        "The read-only user's token (read scope only) calls the read tool → served; refusal is INFO (informative guidance)."),
    eval: rs_scope_06,
};

fn rs_scope_06(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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

/// RS-TOK-10: A request that fails authorization has no side effect.
const RS_TOK_10: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-TOK-10", "A request that fails authorization has no side effect", Must, &["MCP §11.8"],
        "The write tool with an invalid token in a valid session → refused (401), and a later read with a valid token shows no write."),
    eval: rs_tok_10,
};

fn rs_tok_10(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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

/// Whether the read-back shows one of the read-only user's writes.
pub(super) fn write_landed(s: &ScopeObs) -> bool {
    s.read_back
        .as_ref()
        .is_ok_and(|(text, _)| s.markers.iter().any(|mk| text.contains(mk.as_str())))
}

/// The write attempts, when every one was refused (a success result counts when the read-back shows it did not
/// land, see [`refused_in_text`]): what the refusal-shape checks judge.
fn refused_attempts(o: &ServerObservations) -> Result<&ScopeObs, Evaluation> {
    let s = attempts(o)?;
    refused_precondition(s).map_or(Ok(s), Err)
}

fn refused_precondition(s: &ScopeObs) -> Option<Evaluation> {
    if refused_in_text(s).is_ok() {
        return None;
    }
    s.attempts.iter().find(|a| a.served()).map(|a| {
        Evaluation::error(
            "the forbidden write was served, so there is no refusal to judge (see RS-SCOPE-01)",
        )
        .with_evidence([a.exchange.clone()])
        .after(&["RS-SCOPE-01"])
    })
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::check::{Check, ObsError};
    use crate::server::testing::{
        compliant, invalid_token, refused, refused_by_target, refused_in_text, served, tool_error,
    };

    const CHECKS: [FnCheck<ServerObservations>; 7] = [
        RS_SCOPE_01,
        RS_SCOPE_02,
        RS_SCOPE_03,
        RS_SCOPE_04,
        RS_SCOPE_05,
        RS_SCOPE_06,
        RS_TOK_10,
    ];

    #[test]
    fn every_check_passes_on_the_compliant_record() {
        for c in CHECKS {
            let e = c.evaluate(&compliant());
            assert_eq!(e.verdict, Verdict::Pass, "{}: {}", c.meta.id, e.actual);
            assert!(!e.evidence.is_empty(), "{}", c.meta.id);
        }
    }

    #[rstest::rstest]
    #[case::scope_01(RS_SCOPE_01)]
    #[case::scope_02(RS_SCOPE_02)]
    #[case::scope_03(RS_SCOPE_03)]
    #[case::scope_04(RS_SCOPE_04)]
    #[case::scope_05(RS_SCOPE_05)]
    #[case::scope_06(RS_SCOPE_06)]
    fn errors_when_the_read_only_user_had_no_session(#[case] c: FnCheck<ServerObservations>) {
        let mut o = compliant();
        o.scope = Err(refused_by_target(401));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(
            e.message
                .starts_with("the read-only user's session: HTTP 401"),
            "{}",
            e.message
        );
    }

    #[rstest::rstest]
    #[case::scope_02(RS_SCOPE_02)]
    #[case::scope_03(RS_SCOPE_03)]
    #[case::scope_04(RS_SCOPE_04)]
    #[case::scope_05(RS_SCOPE_05)]
    fn a_refusal_check_errors_when_the_write_was_served(#[case] c: FnCheck<ServerObservations>) {
        let o = compliant().edit_scope(|s| s.attempts[1] = served("scope#write-2"));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(e.message.contains("see RS-SCOPE-01"), "{}", e.message);
        assert_eq!(e.evidence, ["scope#write-2"]);
    }

    #[test]
    fn rs_scope_01_fails_when_a_served_write_shows_up_in_the_read_back() {
        let o = compliant().edit_scope(|s| {
            s.attempts[2] = served("scope#write-3");
            s.read_back = Ok((s.markers[2].clone(), "scope#read-back".into()));
        });
        let e = RS_SCOPE_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("served (2xx with a result)"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_scope_01_fails_when_a_refused_write_shows_up_in_the_read_back() {
        let o = compliant().edit_scope(|s| {
            s.read_back = Ok((
                format!("[{{\"title\":\"{}\"}}]", s.markers[0]),
                "scope#read-back".into(),
            ));
        });
        let e = RS_SCOPE_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual
                .ends_with("1 of 3 written titles visible in the read-back"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_scope_01_passes_a_success_result_that_did_not_land_while_the_control_write_did() {
        let e = RS_SCOPE_01.evaluate(&refused_in_text(true, Ok(served("scope#control"))));
        assert_eq!(e.verdict, Verdict::Pass, "{}", e.message);
        assert!(
            e.message
                .contains("refused in the text of a successful tool result"),
            "{}",
            e.message
        );
        assert_eq!(
            e.evidence,
            [
                "scope#write-1",
                "scope#write-2",
                "scope#write-3",
                "scope#control",
                "scope#read-back"
            ]
        );
    }

    #[test]
    fn rs_scope_01_errors_on_a_success_result_when_the_control_write_is_not_visible() {
        let e = RS_SCOPE_01.evaluate(&refused_in_text(false, Ok(served("scope#control"))));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains(
                "the full-access user's control write is not visible in the read-back either"
            ),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_scope_01_errors_on_a_success_result_when_the_control_write_was_refused() {
        let e = RS_SCOPE_01.evaluate(&refused_in_text(true, Ok(tool_error("scope#control"))));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("control write was refused"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_scope_01_errors_on_a_success_result_without_a_control_write() {
        let o = compliant().edit_scope(|s| s.attempts[0] = served("scope#write-1"));
        let e = RS_SCOPE_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("no control write was made"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_scope_01_fails_a_success_result_that_landed_even_when_the_control_write_did() {
        let o = refused_in_text(true, Ok(served("scope#control"))).edit_scope(|s| {
            let (text, _) = s.read_back.as_mut().unwrap();
            text.push_str(&s.markers[1].clone());
        });
        let e = RS_SCOPE_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
    }

    #[rstest::rstest]
    #[case::scope_02(RS_SCOPE_02)]
    #[case::scope_03(RS_SCOPE_03)]
    #[case::scope_04(RS_SCOPE_04)]
    fn a_refusal_check_warns_on_a_success_result_that_did_not_land(
        #[case] c: FnCheck<ServerObservations>,
    ) {
        let e = c.evaluate(&refused_in_text(true, Ok(served("scope#control"))));
        assert_eq!(e.verdict, Verdict::Warn, "{}: {}", c.meta.id, e.message);
    }

    #[test]
    fn rs_scope_02_says_a_success_result_refused_in_its_text_is_a_success_on_the_wire() {
        let e = RS_SCOPE_02.evaluate(&refused_in_text(true, Ok(served("scope#control"))));
        assert!(
            e.message.contains("on the wire the write succeeded"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_refusal_check_errors_on_a_success_result_when_the_control_write_is_not_visible() {
        let e = RS_SCOPE_02.evaluate(&refused_in_text(false, Ok(served("scope#control"))));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("see RS-SCOPE-01"), "{}", e.message);
    }

    #[test]
    fn rs_scope_01_errors_when_the_read_back_failed() {
        let o = compliant().edit_scope(|s| s.read_back = Err(ObsError::Interrupted));
        let e = RS_SCOPE_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .starts_with("reading back with a full-access token"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_scope_02_warns_on_a_401() {
        let o = compliant().edit_scope(|s| s.attempts[0] = invalid_token("scope#write-1"));
        let e = RS_SCOPE_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.message, "refused, but not with 403 insufficient_scope");
    }

    #[test]
    fn rs_scope_02_warns_on_a_tool_error_in_a_200() {
        let o = compliant().edit_scope(|s| s.attempts[0] = tool_error("scope#write-1"));
        let e = RS_SCOPE_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(
            e.message.contains("JSON-RPC body of a 2xx"),
            "{}",
            e.message
        );
    }

    fn challenged(scope: &str) -> ServerObservations {
        let www = format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\"");
        compliant().edit_scope(|s| {
            for (i, a) in s.attempts.iter_mut().enumerate() {
                *a = refused(&format!("scope#write-{}", i + 1), 403, &[&www]);
            }
        })
    }

    #[test]
    fn rs_scope_03_warns_when_the_write_scope_is_not_named() {
        let e = RS_SCOPE_03.evaluate(&challenged("todo:read"));
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.contains("scope=\"todo:read\""), "{}", e.actual);
    }

    #[test]
    fn rs_scope_03_is_info_when_the_granted_scope_is_not_repeated() {
        let e = RS_SCOPE_03.evaluate(&challenged("todo:write"));
        assert_eq!(e.verdict, Verdict::Info);
        assert_eq!(e.actual, "scope lacks the already-granted `todo:read`");
    }

    #[test]
    fn rs_scope_04_warns_without_resource_metadata() {
        let e = RS_SCOPE_04.evaluate(&challenged("todo:read todo:write"));
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.contains("insufficient_scope"), "{}", e.actual);
    }

    #[test]
    fn rs_scope_05_warns_when_identical_refusals_name_different_scopes() {
        let o = compliant().edit_scope(|s| {
            s.attempts[2] = refused(
                "scope#write-3",
                403,
                &["Bearer error=\"insufficient_scope\", scope=\"todo:admin\""],
            );
        });
        let e = RS_SCOPE_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.ends_with(", {todo:admin}"), "{}", e.actual);
    }

    #[test]
    fn rs_scope_06_is_info_when_the_reduced_token_is_refused() {
        let o =
            compliant().edit_scope(|s| s.reduced_read = refused("scope#reduced-read", 403, &[]));
        let e = RS_SCOPE_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Info);
        assert!(e.actual.starts_with("HTTP 403"), "{}", e.actual);
    }

    #[test]
    fn rs_tok_10_fails_when_the_unauthorized_write_took_effect() {
        let mut o = compliant();
        if let Ok(w) = &mut o.write_before_auth {
            w.read_back = Ok((w.marker.clone(), "write#read-back".into()));
        }
        let e = RS_TOK_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual
                .ends_with("the written title is visible in the read-back"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_tok_10_fails_when_the_write_was_served() {
        let mut o = compliant();
        if let Ok(w) = &mut o.write_before_auth {
            w.attempt = served("write#attempt");
        }
        let e = RS_TOK_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.starts_with("served"), "{}", e.actual);
    }

    #[test]
    fn rs_tok_10_errors_without_a_session() {
        let mut o = compliant();
        o.write_before_auth = Err(refused_by_target(401));
        let e = RS_TOK_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.starts_with("a session for the write attempt"),
            "{}",
            e.message
        );
    }
}
