//! The 2025-03-26 shape, where the MCP server is its own authorization server (RS-BC-*): metadata at the root of
//! its origin (RS-BC-01) or else the default endpoints there (RS-BC-02). The catalog dates both rows
//! `introduced = "2025-03-26", removed = "2025-06-18"`: they are scored only under `--spec-version 2025-03-26`.

use mcp_auth_reports::Level::{Must, Should};
use serde_json::Value;

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::server::obs::{PrmDoc, ServerObservations};

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![Box::new(RS_BC_01), Box::new(RS_BC_02)]
}

const PROBES: &str = "the 2025-03-26 authorization server probes";

/// A value the target chose, bounded and quoted (control characters escaped) for the report.
fn shown(v: &str) -> String {
    format!("{:?}", fake_idp::cut_text(v, 120))
}

/// RS-BC-01: RFC 8414 metadata at the origin root, `issuer` the origin.
const RS_BC_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-BC-01",
        "Authorization server metadata at the origin root (2025-03-26)",
        Should,
        &[
            "MCP 2025-03-26: Server Metadata Discovery",
            "MCP 2025-03-26: Authorization Base URL",
            "RFC 8414 §3",
        ],
        "GET `<MCP origin>/.well-known/oauth-authorization-server` (the MCP path discarded) → 200 JSON object whose `issuer` is the origin (a trailing `/` allowed) and which names `authorization_endpoint` and `token_endpoint`; anything else → WARN (a 404 leaves the server owing RS-BC-02).",
    ),
    eval: rs_bc_01,
};

fn rs_bc_01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let b = crate::need!(&o.march, PROBES);
    let md = &b.metadata;
    let expected = format!(
        "200 JSON metadata at {}{} with issuer {} naming authorization_endpoint and token_endpoint",
        b.origin,
        crate::server::scenarios::march::METADATA_PATH,
        b.origin
    );
    let e = match (md.status, &md.body) {
        (404, _) => Evaluation::violated(
            m.level,
            expected,
            "HTTP 404: no metadata at the origin root (the default endpoints of RS-BC-02 are then owed)",
        ),
        (200, Ok(obj)) => {
            let mut problems = Vec::new();
            match obj.get("issuer").and_then(Value::as_str) {
                Some(i) if i.strip_suffix('/').unwrap_or(i) == b.origin => {}
                Some(i) => problems.push(format!("issuer {} is not the origin", shown(i))),
                None => problems.push("no issuer".to_owned()),
            }
            for k in ["authorization_endpoint", "token_endpoint"] {
                if obj.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                    problems.push(format!("no {k}"));
                }
            }
            if problems.is_empty() {
                Evaluation::pass(
                    expected,
                    format!("issuer {}; authorization and token endpoints named", b.origin),
                )
            } else {
                Evaluation::violated(m.level, expected, problems.join("; "))
            }
        }
        // The reason quotes the body: bounded like every other target text.
        (200, Err(why)) => Evaluation::violated(m.level, expected, fake_idp::cut_text(why, 200)),
        (status, _) => Evaluation::violated(m.level, expected, format!("HTTP {status}")),
    };
    e.with_evidence([md.exchange.clone()])
}

/// RS-BC-02: without metadata, `/authorize` and `/token` at the origin root answer as OAuth endpoints.
const RS_BC_02: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-BC-02",
        "Default /authorize and /token at the origin root without metadata (2025-03-26)",
        Must,
        &["MCP 2025-03-26: Fallbacks for Servers without Metadata Discovery"],
        "GET `<origin>/authorize` without parameters → a page, a redirect or HTTP 400 (not 404, 405, 401 or 5xx); POST an empty form to `<origin>/token` → 400 or 401 with a JSON `error` (RFC 6749 §5.2). PASS when both answer so; when one does not: FAIL if the origin root has no usable metadata (RS-BC-01), else SKIP (the default endpoints are owed only without metadata).",
    ),
    eval: rs_bc_02,
};

/// How `/authorize` answered a request without parameters, or why that is no authorization endpoint's answer.
fn authorize_answer(a: &PrmDoc) -> Result<String, String> {
    match a.status {
        200..=299 => Ok(format!("HTTP {} (a page)", a.status)),
        300..=399 => Ok(format!("HTTP {} (a redirect)", a.status)),
        400 => Ok(match error_code(a) {
            Some(e) => format!("HTTP 400 error={}", shown(e)),
            None => "HTTP 400".to_owned(),
        }),
        404 | 405 => Err(format!("/authorize: HTTP {} (not served)", a.status)),
        s => Err(format!(
            "/authorize: HTTP {s}, not an authorization endpoint's answer"
        )),
    }
}

/// How `/token` answered an empty form, or why that is no OAuth error response.
fn token_answer(t: &PrmDoc) -> Result<String, String> {
    match (t.status, error_code(t)) {
        (400 | 401, Some(e)) => Ok(format!("HTTP {} error={}", t.status, shown(e))),
        (404 | 405, _) => Err(format!("/token: HTTP {} (not served)", t.status)),
        (s, _) => Err(format!(
            "/token: HTTP {s} without a JSON `error`, not an OAuth error response"
        )),
    }
}

fn error_code(d: &PrmDoc) -> Option<&str> {
    d.body.as_ref().ok()?.get("error")?.as_str()
}

fn rs_bc_02(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let b = crate::need!(&o.march, PROBES);
    let expected = "/authorize and /token at the origin root answer as OAuth endpoints";
    let evidence = [
        b.metadata.exchange.clone(),
        b.authorize.exchange.clone(),
        b.token.exchange.clone(),
    ];
    let e = match (authorize_answer(&b.authorize), token_answer(&b.token)) {
        (Ok(a), Ok(t)) => Evaluation::pass(expected, format!("/authorize: {a}; /token: {t}")),
        (a, t) if b.usable_metadata() => Evaluation::skip(format!(
            "the origin root publishes authorization server metadata (RS-BC-01), and the default endpoints are owed only without it ({})",
            [a.err(), t.err()].into_iter().flatten().collect::<Vec<_>>().join("; ")
        )),
        (a, t) => Evaluation::violated(
            m.level,
            expected,
            [a.err(), t.err()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    e.with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::*;
    use crate::check::{Check, ObsError};
    use crate::server::obs::MarchObs;
    use crate::server::testing::{compliant, march, origin_answer, ORIGIN};

    fn with(f: impl FnOnce(&mut MarchObs)) -> ServerObservations {
        let mut b = march();
        f(&mut b);
        let mut o = compliant();
        o.march = Ok(b);
        o
    }

    fn no_metadata(b: &mut MarchObs) {
        b.metadata = origin_answer("march#metadata", 404, json!("Not Found"));
    }

    fn metadata(doc: Value) -> impl FnOnce(&mut MarchObs) {
        move |b| b.metadata = origin_answer("march#metadata", 200, doc)
    }

    #[test]
    fn rs_bc_01_passes_on_metadata_at_the_root_naming_the_origin() {
        let e = RS_BC_01.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}", e.actual);
        assert_eq!(e.evidence, ["march#metadata"]);
    }

    #[test]
    fn rs_bc_01_passes_on_an_issuer_with_a_trailing_slash() {
        let o = with(metadata(json!({
            "issuer": format!("{ORIGIN}/"),
            "authorization_endpoint": "https://as.example/authorize",
            "token_endpoint": "https://as.example/token",
        })));
        assert_eq!(RS_BC_01.evaluate(&o).verdict, Verdict::Pass);
    }

    #[test]
    fn rs_bc_01_warns_when_the_root_has_no_metadata() {
        let e = RS_BC_01.evaluate(&with(no_metadata));
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.starts_with("HTTP 404"), "{}", e.actual);
    }

    #[test]
    fn rs_bc_01_warns_when_the_issuer_keeps_the_mcp_path() {
        let o = with(metadata(json!({
            "issuer": format!("{ORIGIN}/mcp"),
            "authorization_endpoint": format!("{ORIGIN}/authorize"),
            "token_endpoint": format!("{ORIGIN}/token"),
        })));
        let e = RS_BC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(
            e.actual,
            "issuer \"http://127.0.0.1:3000/mcp\" is not the origin"
        );
    }

    #[test]
    fn rs_bc_01_warns_when_the_metadata_names_no_token_endpoint() {
        let o = with(metadata(json!({
            "issuer": ORIGIN,
            "authorization_endpoint": format!("{ORIGIN}/authorize"),
        })));
        let e = RS_BC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "no token_endpoint");
    }

    #[test]
    fn rs_bc_01_bounds_a_long_issuer_in_the_report() {
        let o = with(metadata(json!({
            "issuer": "x".repeat(10_000),
            "authorization_endpoint": "a",
            "token_endpoint": "t",
        })));
        let e = RS_BC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.len() < 200, "{}", e.actual.len());
    }

    #[test]
    fn rs_bc_01_warns_on_a_json_body_that_is_no_object_and_bounds_it() {
        let o = with(|b| {
            b.metadata = origin_answer("march#metadata", 200, Value::Array(vec![json!("x"); 5000]))
        });
        let e = RS_BC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.len() < 260, "{}", e.actual.len());
    }

    #[test]
    fn rs_bc_01_errors_when_the_origin_did_not_answer() {
        let mut o = compliant();
        o.march = Err(ObsError::target(
            "fetching the metadata: connection refused",
            [],
        ));
        let e = RS_BC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
    }

    #[test]
    fn rs_bc_01_skips_at_another_revision() {
        let mut o = compliant();
        o.march = Err(ObsError::NotApplicable("this run is at 2025-11-25".into()));
        assert_eq!(RS_BC_01.evaluate(&o).verdict, Verdict::Skip);
    }

    #[test]
    fn rs_bc_02_passes_when_both_default_endpoints_answer_as_oauth_endpoints() {
        let e = RS_BC_02.evaluate(&with(no_metadata));
        assert_eq!(e.verdict, Verdict::Pass, "{}", e.actual);
        assert_eq!(
            e.actual,
            "/authorize: HTTP 400 error=\"invalid_request\"; /token: HTTP 400 error=\"invalid_request\""
        );
    }

    #[test]
    fn rs_bc_02_passes_on_a_login_page_or_redirect_at_authorize() {
        for status in [200, 302] {
            let o = with(|b| {
                no_metadata(b);
                b.authorize = origin_answer("march#authorize", status, json!("<html>"));
            });
            assert_eq!(RS_BC_02.evaluate(&o).verdict, Verdict::Pass, "{status}");
        }
    }

    #[test]
    fn rs_bc_02_fails_without_metadata_when_token_is_not_served() {
        let o = with(|b| {
            no_metadata(b);
            b.token = origin_answer("march#token", 404, json!("Not Found"));
        });
        let e = RS_BC_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "/token: HTTP 404 (not served)");
    }

    #[test]
    fn rs_bc_02_fails_without_metadata_when_authorize_is_not_served() {
        let o = with(|b| {
            no_metadata(b);
            b.authorize = origin_answer("march#authorize", 404, json!("Not Found"));
        });
        let e = RS_BC_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "/authorize: HTTP 404 (not served)");
    }

    #[test]
    fn rs_bc_02_fails_when_token_answers_without_an_oauth_error() {
        let o = with(|b| {
            no_metadata(b);
            b.token = origin_answer("march#token", 401, json!("Unauthorized"));
        });
        let e = RS_BC_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("without a JSON `error`"), "{}", e.actual);
    }

    #[test]
    fn rs_bc_02_skips_when_usable_metadata_makes_the_default_endpoints_optional() {
        let o = with(|b| {
            b.authorize = origin_answer("march#authorize", 404, json!("Not Found"));
            b.token = origin_answer("march#token", 404, json!("Not Found"));
        });
        let e = RS_BC_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("RS-BC-01"), "{}", e.message);
    }

    #[test]
    fn rs_bc_02_errors_when_the_origin_did_not_answer() {
        let mut o = compliant();
        o.march = Err(ObsError::target("fetching /token: timed out", []));
        assert_eq!(RS_BC_02.evaluate(&o).verdict, Verdict::Error);
    }
}
