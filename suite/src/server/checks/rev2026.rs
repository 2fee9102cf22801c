//! What MCP 2026-07-28 adds for the server (SEP-2207): `offline_access` is no resource requirement, so it appears
//! neither in the PRM `scopes_supported` (RS-SCOPE-07.prm) nor in the 401 challenge's `scope`
//! (RS-SCOPE-07.challenge).

use mcp_auth_reports::Level::Should;
use serde_json::Value;

use super::prm::each_document;
use super::{meta, ServerCheck};
use crate::check::{Evaluation, FnCheck};
use crate::server::obs::ServerObservations;

/// The 2026-07-28 server checks, in report order.
pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![Box::new(RS_SCOPE_07_PRM), Box::new(RS_SCOPE_07_CHALLENGE)]
}

const OFFLINE_ACCESS: &str = "offline_access";

/// RS-SCOPE-07.prm: no `offline_access` in PRM `scopes_supported`.
const RS_SCOPE_07_PRM: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-SCOPE-07.prm",
        "PRM scopes_supported does not list offline_access",
        Should,
        &["SEP-2207"],
        "Every PRM document obtained: `scopes_supported` (when present) does not contain offline_access; present → WARN.",
    ),
    eval: |m, o| {
        let disc = crate::need!(&o.discovery, "PRM discovery");
        each_document(
            m,
            disc,
            "no offline_access in scopes_supported",
            |_, obj| match obj.get("scopes_supported") {
                Some(Value::Array(a)) if a.iter().any(|s| s == OFFLINE_ACCESS) => {
                    vec!["scopes_supported lists offline_access".into()]
                }
                _ => vec![],
            },
        )
    },
};

/// RS-SCOPE-07.challenge: no `offline_access` in the 401 challenge's `scope`.
const RS_SCOPE_07_CHALLENGE: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-SCOPE-07.challenge",
        "The 401 challenge's scope does not name offline_access",
        Should,
        &["SEP-2207", "RFC 6750 §3"],
        "The unauthenticated 401 Bearer challenge's `scope` (when present) does not contain offline_access; present → WARN.",
    ),
    eval: |m, o| {
        let p = crate::need!(&o.unauthenticated, "initialize without credentials");
        let Some(c) = p.bearer() else {
            return Evaluation::error("no Bearer challenge to inspect (see RS-WWW-02)")
                .with_evidence([p.exchange.clone()])
                .after(&["RS-WWW-02"]);
        };
        let expected = "no offline_access in the challenge's scope";
        // The target's value, bounded and escaped for the report.
        let shown = || {
            let v = c.param("scope").unwrap_or_default();
            let cut: String = v.chars().take(120).collect();
            format!("scope={cut:?}{}", if cut.len() < v.len() { "…" } else { "" })
        };
        let e = match c.scopes() {
            Some(s) if s.contains(OFFLINE_ACCESS) => {
                Evaluation::violated(m.level, expected, shown())
            }
            Some(_) => Evaluation::pass(expected, shown()),
            None => Evaluation::pass(expected, "the challenge has no scope"),
        };
        e.with_evidence([p.exchange.clone()])
    },
};

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::*;
    use crate::check::{Check, ObsError};
    use crate::server::testing::{compliant, refused};

    #[rstest::rstest]
    #[case::prm(RS_SCOPE_07_PRM)]
    #[case::challenge(RS_SCOPE_07_CHALLENGE)]
    fn passes_on_the_compliant_record(#[case] c: FnCheck<ServerObservations>) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
    }

    #[test]
    fn offline_access_in_prm_scopes_supported_warns() {
        let o = compliant().edit_prm(|obj| {
            obj.insert(
                "scopes_supported".into(),
                json!(["todo:read", "offline_access"]),
            );
        });
        let e = RS_SCOPE_07_PRM.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(e.actual.contains("lists offline_access"), "{}", e.actual);
    }

    #[test]
    fn offline_access_in_the_401_scope_warns() {
        let mut o = compliant();
        o.unauthenticated = Ok(refused(
            "unauth#1",
            401,
            &["Bearer resource_metadata=\"http://x/prm\", scope=\"todo:read offline_access\""],
        ));
        let e = RS_SCOPE_07_CHALLENGE.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(e.actual.contains("offline_access"), "{}", e.actual);
    }

    #[rstest::rstest]
    #[case::prm(RS_SCOPE_07_PRM)]
    #[case::challenge(RS_SCOPE_07_CHALLENGE)]
    fn errors_when_the_target_did_not_answer(#[case] c: FnCheck<ServerObservations>) {
        let mut o = compliant();
        o.discovery = Err(ObsError::Interrupted);
        o.unauthenticated = Err(ObsError::Interrupted);
        assert_eq!(c.evaluate(&o).verdict, Verdict::Error);
    }
}
