//! Requirements of one older revision only, kept apart from the areas that hold today's rows: RS-WWW-07 (the
//! 2025-06-18 `resource_metadata` MUST). The catalog's `revisions` decide when each is scored (the selection
//! drops a row outside its revisions), so these evaluators judge the observations alone.

use mcp_auth_reports::Level::Must;

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::server::obs::ServerObservations;

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![Box::new(RS_WWW_07)]
}

/// RS-WWW-07: Under 2025-06-18 the 401 always names the PRM URL.
const RS_WWW_07: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-WWW-07",
        "The 401 challenge carries resource_metadata (2025-06-18)",
        Must,
        &["MCP 2025-06-18: Authorization Server Location", "RFC 9728 §5.1"],
        "The unauthenticated 401 Bearer challenge carries `resource_metadata`, whatever the well-known locations serve: 2025-06-18 makes the header the discovery mechanism (from 2025-11-25 it is one option of RS-PRM-02).",
    ),
    eval: rs_www_07,
};

fn rs_www_07(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let p = crate::need!(&o.unauthenticated, "initialize without credentials");
    if p.status != 401 {
        return Evaluation::error(format!(
            "no 401 to inspect (HTTP {}; see RS-WWW-01.post)",
            p.status
        ))
        .with_evidence([p.exchange.clone()])
        .after(&["RS-WWW-01.post"]);
    }
    let Some(c) = p.bearer() else {
        return Evaluation::error("no Bearer challenge to inspect (see RS-WWW-02)")
            .with_evidence([p.exchange.clone()])
            .after(&["RS-WWW-02"]);
    };
    let expected = "resource_metadata=\"<PRM URL>\" in the 401 challenge";
    let e = match c.param("resource_metadata").map(str::trim) {
        Some(url) if !url.is_empty() => {
            Evaluation::pass(expected, format!("resource_metadata=\"{url}\""))
        }
        Some(_) => Evaluation::violated(m.level, expected, "resource_metadata is empty"),
        None => Evaluation::violated(
            m.level,
            expected,
            format!("no resource_metadata: {}", p.www.join(" | ")),
        ),
    };
    e.with_evidence([p.exchange.clone()])
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::check::{Check, ObsError};
    use crate::server::ctx::Probe;
    use crate::server::testing::{compliant, refused, served};

    fn unauthenticated(p: Probe) -> ServerObservations {
        let mut o = compliant();
        o.unauthenticated = Ok(p);
        o
    }

    #[test]
    fn rs_www_07_passes_on_the_compliant_record() {
        let e = RS_WWW_07.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}", e.actual);
        assert!(!e.evidence.is_empty());
    }

    #[test]
    fn rs_www_07_fails_when_the_challenge_has_no_resource_metadata() {
        let p = refused("unauth#1", 401, &["Bearer scope=\"todo.read\""]);
        let e = RS_WWW_07.evaluate(&unauthenticated(p));
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "no resource_metadata: Bearer scope=\"todo.read\"");
    }

    #[test]
    fn rs_www_07_fails_when_resource_metadata_is_empty() {
        let p = refused("unauth#1", 401, &["Bearer resource_metadata=\"\""]);
        let e = RS_WWW_07.evaluate(&unauthenticated(p));
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "resource_metadata is empty");
    }

    #[test]
    fn rs_www_07_errors_when_the_unauthenticated_probe_is_missing() {
        let mut o = compliant();
        o.unauthenticated = Err(ObsError::Interrupted);
        let e = RS_WWW_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.starts_with("initialize without credentials"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_www_07_errors_when_there_is_no_401() {
        let e = RS_WWW_07.evaluate(&unauthenticated(served("unauth#1")));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("see RS-WWW-01.post"), "{}", e.message);
    }

    #[test]
    fn rs_www_07_errors_without_a_bearer_challenge() {
        let e = RS_WWW_07.evaluate(&unauthenticated(refused("unauth#1", 401, &[])));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("see RS-WWW-02"), "{}", e.message);
    }
}
