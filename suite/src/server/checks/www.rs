//! The 401 challenge: RS-WWW-*.

use mcp_auth_reports::Level::{Must, Should};

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck, ObsError};
use crate::server::ctx::Probe;
use crate::server::obs::{PrmSource, ServerObservations};
use crate::wire::www_authenticate::{error_value_is_legal, scope_value_is_legal};

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        Box::new(RS_WWW_01_POST),
        Box::new(RS_WWW_08_GET),
        Box::new(RS_WWW_08_DELETE),
        Box::new(RS_WWW_02),
        Box::new(RS_WWW_03),
        Box::new(RS_WWW_04),
        Box::new(RS_WWW_05),
        Box::new(RS_WWW_06),
    ]
}

/// RS-WWW-01.post: initialize without credentials gets 401.
const RS_WWW_01_POST: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-WWW-01.post",
        "initialize without credentials gets 401",
        Must,
        &["MCP §10", "OAuth 2.1 §5.3.1"],
        "POST initialize with no Authorization header → 401.",
    ),
    eval: |m, o| {
        let p = crate::need!(&o.unauthenticated, "initialize without credentials");
        status_401(m, p, "POST initialize without credentials")
    },
};

/// RS-WWW-08.get: GET (SSE stream) with a session id but no token gets 401.
const RS_WWW_08_GET: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-WWW-08.get",
        "GET (SSE stream) with a session id but no token gets 401",
        Must,
        &["MCP §10", "OAuth 2.1 §5.3.1", "MCP §9.1"],
        "GET the MCP endpoint with a valid Mcp-Session-Id and no token → 401.",
    ),
    eval: |m, o| {
        let s = crate::need!(&o.session, "a session to reuse");
        status_401(m, &s.unauth_get, "GET with the session id and no token")
    },
};

/// RS-WWW-08.delete: DELETE with a session id but no token gets 401.
const RS_WWW_08_DELETE: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-WWW-08.delete", "DELETE with a session id but no token gets 401", Must,
        &["MCP §10", "OAuth 2.1 §5.3.1", "MCP §9.1"],
        "DELETE the MCP endpoint with a valid Mcp-Session-Id and no token → 401 (the session survives)."),
    eval: |m, o| {
                let s = crate::need!(&o.session, "a session to reuse");
                status_401(m, &s.unauth_delete, "DELETE with the session id and no token")
            },
};

/// RS-WWW-02: The 401 carries a Bearer challenge with parameters.
const RS_WWW_02: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-WWW-02", "The 401 carries a Bearer challenge with parameters", Must, &["OAuth 2.1 §5.3.1", "RFC 6750 §3"],
        "The unauthenticated 401 has WWW-Authenticate with scheme Bearer and at least one auth-param (RFC 9110 §11.6.1 syntax)."),
    eval: rs_www_02,
};

fn rs_www_02(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let p = crate::need!(&o.unauthenticated, "initialize without credentials");
    let expected = "WWW-Authenticate: Bearer <auth-param>[, …]";
    if p.status != 401 {
        return Evaluation::error(format!(
            "no 401 to inspect (HTTP {}; see RS-WWW-01.post)",
            p.status
        ))
        .with_evidence([p.exchange.clone()])
        .after(&["RS-WWW-01.post"]);
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

/// RS-WWW-03: Without well-known PRM, the 401 names a resource_metadata URL that resolves.
const RS_WWW_03: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-WWW-03", "Without well-known PRM, the 401 names a resource_metadata URL that resolves", Must,
        &["MCP §4.2", "RFC 9728 §5.1"],
        "If neither well-known location serves PRM, the 401 must carry resource_metadata; when present, that URL must yield a PRM document."),
    eval: rs_www_03,
};

fn rs_www_03(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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

/// RS-WWW-04: The 401 challenge names the scopes needed.
const RS_WWW_04: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-WWW-04",
        "The 401 challenge names the scopes needed",
        Should,
        &["MCP §4.2", "RFC 6750 §3"],
        "The unauthenticated 401 Bearer challenge carries `scope`; absent → WARN.",
    ),
    eval: |m, o| {
        let p = crate::need!(&o.unauthenticated, "initialize without credentials");
        let Some(c) = p.bearer() else {
            return Evaluation::error("no Bearer challenge to inspect (see RS-WWW-02)")
                .with_evidence([p.exchange.clone()])
                .after(&["RS-WWW-02"]);
        };
        let e = match c.param("scope") {
            Some(s) => Evaluation::pass("a scope parameter", format!("scope=\"{s}\"")),
            None => Evaluation::violated(
                m.level,
                "a scope parameter",
                format!("no scope: {}", p.www.join(" | ")),
            ),
        };
        e.with_evidence([p.exchange.clone()])
    },
};

/// RS-WWW-05: No error code when the request carried no credentials.
const RS_WWW_05: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-WWW-05",
        "No error code when the request carried no credentials",
        Should,
        &["OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
        "The 401 for a request without Authorization carries no `error` parameter; present → WARN.",
    ),
    eval: |m, o| {
        let p = crate::need!(&o.unauthenticated, "initialize without credentials");
        let Some(c) = p.bearer() else {
            return Evaluation::error("no Bearer challenge to inspect (see RS-WWW-02)")
                .with_evidence([p.exchange.clone()])
                .after(&["RS-WWW-02"]);
        };
        let e = match c.param("error") {
            None => Evaluation::pass("no error parameter", p.www.join(" | ")),
            Some(err) => {
                Evaluation::violated(m.level, "no error parameter", format!("error=\"{err}\""))
            }
        };
        e.with_evidence([p.exchange.clone()])
    },
};

/// RS-WWW-06: Challenge parameters appear once, with legal characters.
const RS_WWW_06: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-WWW-06", "Challenge parameters appear once, with legal characters", Must, &["OAuth 2.1 §5.3.1", "RFC 6750 §3"],
        "In every Bearer challenge the suite received, realm/scope/error/error_description/error_uri appear at most once and values use the allowed character sets."),
    eval: rs_www_06,
};

fn rs_www_06(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
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

fn status_401(m: &CheckMeta, p: &Probe, what: &str) -> Evaluation {
    let actual = format!("{what} → HTTP {}; {}", p.status, p.describe());
    let e = if p.status == 401 {
        Evaluation::pass("HTTP 401", actual)
    } else {
        Evaluation::violated(m.level, "HTTP 401", actual)
    };
    e.with_evidence([p.exchange.clone()])
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::check::Check;
    use crate::server::obs::Stimulus;
    use crate::server::testing::{compliant, refused, served};

    fn unauthenticated(p: Probe) -> ServerObservations {
        let mut o = compliant();
        o.unauthenticated = Ok(p);
        o
    }

    #[rstest::rstest]
    #[case::www_01_post(RS_WWW_01_POST)]
    #[case::www_08_get(RS_WWW_08_GET)]
    #[case::www_08_delete(RS_WWW_08_DELETE)]
    #[case::www_02(RS_WWW_02)]
    #[case::www_03(RS_WWW_03)]
    #[case::www_04(RS_WWW_04)]
    #[case::www_05(RS_WWW_05)]
    #[case::www_06(RS_WWW_06)]
    fn passes_on_the_compliant_record(#[case] c: FnCheck<ServerObservations>) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}: {}", c.meta.id, e.actual);
        assert!(!e.evidence.is_empty(), "{}", c.meta.id);
    }

    #[rstest::rstest]
    #[case::www_01_post(RS_WWW_01_POST, "initialize without credentials")]
    #[case::www_02(RS_WWW_02, "initialize without credentials")]
    #[case::www_03(RS_WWW_03, "PRM discovery")]
    #[case::www_04(RS_WWW_04, "initialize without credentials")]
    #[case::www_05(RS_WWW_05, "initialize without credentials")]
    fn errors_when_the_unauthenticated_probe_is_missing(
        #[case] c: FnCheck<ServerObservations>,
        #[case] what: &str,
    ) {
        let mut o = compliant();
        o.unauthenticated = Err(ObsError::Interrupted);
        o.discovery = Err(ObsError::Interrupted);
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(e.message.starts_with(what), "{}: {}", c.meta.id, e.message);
    }

    #[test]
    fn rs_www_01_post_fails_when_initialize_is_served_without_credentials() {
        let e = RS_WWW_01_POST.evaluate(&unauthenticated(served("unauth#1")));
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual
                .starts_with("POST initialize without credentials → HTTP 200"),
            "{}",
            e.actual
        );
    }

    #[rstest::rstest]
    #[case::get(RS_WWW_08_GET, "GET with the session id and no token → HTTP 200")]
    #[case::delete(RS_WWW_08_DELETE, "DELETE with the session id and no token → HTTP 200")]
    fn rs_www_01_fails_when_a_session_request_without_token_is_served(
        #[case] c: FnCheck<ServerObservations>,
        #[case] actual: &str,
    ) {
        let o = compliant().edit_session(|s| {
            s.unauth_get = served("session#get");
            s.unauth_delete = served("session#delete");
        });
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.starts_with(actual), "{}", e.actual);
    }

    #[rstest::rstest]
    #[case::get(RS_WWW_08_GET)]
    #[case::delete(RS_WWW_08_DELETE)]
    fn rs_www_01_errors_without_a_session(#[case] c: FnCheck<ServerObservations>) {
        let mut o = compliant();
        o.session = Err(crate::server::testing::refused_by_target(401));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.starts_with("a session to reuse: HTTP 401"),
            "{}",
            e.message
        );
    }

    #[rstest::rstest]
    #[case::no_header(&[], "no WWW-Authenticate header")]
    #[case::other_scheme(&["Basic realm=\"x\""], "no Bearer challenge")]
    #[case::bare(&["Bearer"], "a bare Bearer challenge without parameters")]
    #[case::unparsable(&["Bearer realm=\"x"], "malformed WWW-Authenticate")]
    fn rs_www_02_fails_without_a_bearer_challenge_with_parameters(
        #[case] www: &[&str],
        #[case] actual: &str,
    ) {
        let e = RS_WWW_02.evaluate(&unauthenticated(refused("unauth#1", 401, www)));
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    #[test]
    fn rs_www_02_errors_when_there_is_no_401() {
        let e = RS_WWW_02.evaluate(&unauthenticated(served("unauth#1")));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("no 401 to inspect (HTTP 200"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_www_03_fails_without_resource_metadata_or_well_known_prm() {
        let o = compliant()
            .without_fetch(PrmSource::Header)
            .without_fetch(PrmSource::PathInserted)
            .without_fetch(PrmSource::Root);
        let e = RS_WWW_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(
            e.actual,
            "no resource_metadata and no PRM at either well-known location"
        );
    }

    #[test]
    fn rs_www_03_fails_when_resource_metadata_does_not_resolve() {
        let o = compliant().edit_fetch(PrmSource::Header, |f| {
            if let Ok(d) = &mut f.doc {
                d.status = 404;
            }
        });
        let e = RS_WWW_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("answered HTTP 404 without a PRM object"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_www_03_passes_on_well_known_prm_alone() {
        let e = RS_WWW_03.evaluate(&compliant().without_fetch(PrmSource::Header));
        assert_eq!(e.verdict, Verdict::Pass);
        assert!(
            e.actual.contains("served at a well-known location"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_www_04_warns_without_scope() {
        let p = refused(
            "unauth#1",
            401,
            &["Bearer resource_metadata=\"http://x/prm\""],
        );
        let e = RS_WWW_04.evaluate(&unauthenticated(p));
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.starts_with("no scope: Bearer"), "{}", e.actual);
    }

    #[rstest::rstest]
    #[case::www_04(RS_WWW_04)]
    #[case::www_05(RS_WWW_05)]
    fn errors_without_a_bearer_challenge(#[case] c: FnCheck<ServerObservations>) {
        let e = c.evaluate(&unauthenticated(refused("unauth#1", 401, &[])));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("see RS-WWW-02"), "{}", e.message);
    }

    #[test]
    fn rs_www_05_warns_on_an_error_code_without_credentials() {
        let p = refused(
            "unauth#1",
            401,
            &["Bearer error=\"invalid_token\", scope=\"a\""],
        );
        let e = RS_WWW_05.evaluate(&unauthenticated(p));
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "error=\"invalid_token\"");
    }

    #[test]
    fn rs_www_06_fails_on_a_duplicated_parameter() {
        let o = compliant().answering(
            Stimulus::Expired,
            401,
            &["Bearer error=\"invalid_token\", error=\"invalid_token\""],
        );
        let e = RS_WWW_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "`error` appears 2 times");
        assert_eq!(e.evidence, ["token-probe#Expired"]);
    }

    #[test]
    fn rs_www_06_fails_on_an_illegal_scope_value() {
        let p = refused("unauth#1", 401, &["Bearer scope=\"a  b\""]);
        let e = RS_WWW_06.evaluate(&unauthenticated(p));
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("illegal characters or spacing"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_www_06_errors_when_the_run_was_interrupted() {
        let o = compliant().missing_probe(Stimulus::Garbled, ObsError::Interrupted);
        let e = RS_WWW_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("conform so far"), "{}", e.message);
    }

    #[test]
    fn rs_www_06_errors_without_any_bearer_challenge() {
        let mut o = compliant();
        o.unauthenticated = Ok(refused("unauth#1", 401, &[]));
        for p in o.probes.values_mut() {
            *p = Ok(served("x"));
        }
        o.scope = Err(crate::server::testing::refused_by_target(401));
        let e = RS_WWW_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("no Bearer challenge was received"),
            "{}",
            e.message
        );
    }
}
