//! Authorization per request in stateless MCP (2026-07-28): RS-SL-*.

use mcp_auth_reports::Level::Must;

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::server::ctx::Probe;
use crate::server::obs::ServerObservations;

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![Box::new(RS_SL_01), Box::new(RS_SL_02)]
}

/// Why a token-less request's answer is not the 401 challenge, if it is not.
fn not_a_challenge(p: &Probe) -> Option<String> {
    if p.served() {
        return Some(format!("served: {}", p.describe()));
    }
    if p.status != 401 {
        return Some(format!(
            "HTTP {} instead of 401: {}",
            p.status,
            p.describe()
        ));
    }
    p.bearer()
        .is_none()
        .then(|| format!("401 without a Bearer challenge: {}", p.describe()))
}

/// RS-SL-01: a stateless request without a token meets the 401 challenge, whatever comes first.
const RS_SL_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-SL-01",
        "A stateless request without a token gets 401 with a Bearer challenge",
        Must,
        &["SEP-2575 (Security Implications)", "MCP §9.1 (\"every HTTP request\")", "MCP §10"],
        "2026-07-28: tools/list and the read tool, each without a token as the first request of a client the server never saw (no initialize exists to authenticate) → 401 with WWW-Authenticate: Bearer, nothing served.",
    ),
    eval: rs_sl_01,
};

fn rs_sl_01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = crate::need!(&o.stateless, "stateless requests without a token");
    let expected = "HTTP 401 with a Bearer challenge for each";
    let evidence: Vec<String> = s
        .first_contact
        .iter()
        .map(|(_, p)| p.exchange.clone())
        .collect();
    if s.first_contact.is_empty() {
        return Evaluation::error("no stateless request without a token was sent");
    }
    let problems: Vec<String> = s
        .first_contact
        .iter()
        .filter_map(|(what, p)| not_a_challenge(p).map(|why| format!("{what} → {why}")))
        .collect();
    let e = if problems.is_empty() {
        let sent: Vec<&str> = s.first_contact.iter().map(|(w, _)| w.as_str()).collect();
        Evaluation::pass(
            expected,
            format!("{} → 401 with a Bearer challenge", sent.join(", ")),
        )
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence(evidence)
}

/// RS-SL-02: a token accepted on one request does not authorize the next request without it.
const RS_SL_02: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-SL-02",
        "A token accepted on one stateless request does not authorize a later request without it",
        Must,
        &["SEP-2575 (Security Implications)", "MCP §9.1 (\"every HTTP request\")"],
        "2026-07-28: the read tool with a valid token (served), then the same request from the same client (same clientInfo, any Mcp-Session-Id echoed) without a token → 401, nothing served.",
    ),
    eval: rs_sl_02,
};

fn rs_sl_02(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = crate::need!(&o.stateless, "stateless requests");
    let c = crate::need!(&s.carry_over, "the read tool with a valid token");
    let expected = "HTTP 401: no authorization carried over from the earlier request";
    let evidence = [
        c.with_token.exchange.clone(),
        c.without_token.exchange.clone(),
    ];
    let p = &c.without_token;
    let e = if p.served() {
        Evaluation::violated(
            m.level,
            expected,
            format!("the token-less repeat was served: {}", p.describe()),
        )
    } else if p.status != 401 {
        Evaluation::violated(
            m.level,
            expected,
            format!(
                "the token-less repeat got HTTP {} instead of 401: {}",
                p.status,
                p.describe()
            ),
        )
    } else {
        Evaluation::pass(
            expected,
            format!("with the token served; without it → {}", p.describe()),
        )
    };
    e.with_evidence(evidence)
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::check::{Check, ObsError};
    use crate::server::testing::{compliant, refused, served};

    #[test]
    fn rs_sl_01_passes_when_every_first_contact_meets_the_challenge() {
        assert_eq!(RS_SL_01.evaluate(&compliant()).verdict, Verdict::Pass);
    }

    #[test]
    fn rs_sl_01_fails_when_a_first_request_without_a_token_is_served() {
        let mut o = compliant();
        if let Ok(s) = &mut o.stateless {
            s.first_contact[0].1 = served("stateless#list");
        }
        let e = RS_SL_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("tools/list → served"), "{}", e.actual);
    }

    #[test]
    fn rs_sl_01_fails_on_a_401_without_a_bearer_challenge() {
        let mut o = compliant();
        if let Ok(s) = &mut o.stateless {
            s.first_contact[1].1 = refused("stateless#call", 401, &[]);
        }
        assert_eq!(RS_SL_01.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn rs_sl_01_is_an_error_when_the_target_did_not_answer() {
        let mut o = compliant();
        o.stateless = Err(ObsError::target(
            "connection refused",
            ["stateless#1".to_owned()],
        ));
        assert_eq!(RS_SL_01.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn rs_sl_02_passes_when_the_token_less_repeat_gets_401() {
        assert_eq!(RS_SL_02.evaluate(&compliant()).verdict, Verdict::Pass);
    }

    #[test]
    fn rs_sl_02_fails_when_the_token_less_repeat_is_served() {
        let mut o = compliant();
        if let Ok(s) = &mut o.stateless {
            if let Ok(c) = &mut s.carry_over {
                c.without_token = served("stateless#without-token");
            }
        }
        assert_eq!(RS_SL_02.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn rs_sl_02_is_an_error_when_the_valid_token_was_not_served() {
        let mut o = compliant();
        if let Ok(s) = &mut o.stateless {
            s.carry_over = Err(ObsError::target(
                "the read tool with a valid token was not served: HTTP 401",
                ["stateless#with-token".to_owned()],
            ));
        }
        assert_eq!(RS_SL_02.evaluate(&o).verdict, Verdict::Error);
    }
}
