//! Sessions and transport: RS-TOK-07/08/09, RS-TRN-01.

use std::collections::BTreeSet;

use mcp_auth_reports::Level::{Must, Should};

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::server::ctx::Probe;
use crate::server::obs::ServerObservations;

/// Apparent entropy below this many bits is reported (catalog/server.toml RS-TOK-09: ~122 bits, a UUIDv4).
pub const MIN_SESSION_BITS: f64 = 122.0;

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        Box::new(RS_TOK_07_NO_TOKEN),
        Box::new(RS_TOK_07_EXPIRED_TOKEN),
        Box::new(RS_TOK_08),
        Box::new(RS_TOK_09),
        Box::new(RS_TRN_01),
    ]
}

/// RS-TOK-07.no-token: A session id without a token is not authentication.
const RS_TOK_07_NO_TOKEN: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-TOK-07.no-token", "A session id without a token is not authentication", Must, &["SBP §2.3.4", "MCP §9.1"],
        "Open a session with a valid token, then call the read tool with that Mcp-Session-Id and no token → 401."),
    eval: |m, o| {
                let s = crate::need!(&o.session, "a session opened with a valid token");
                refused_401(m, &s.no_token, "session id, no token")
            },
};

/// RS-TOK-07.expired-token: A session id does not rescue an expired token.
const RS_TOK_07_EXPIRED_TOKEN: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-TOK-07.expired-token",
        "A session id does not rescue an expired token",
        Must,
        &["SBP §2.3.4", "MCP §9.1"],
        "The same session with the same user's expired token → 401.",
    ),
    eval: |m, o| {
        let s = crate::need!(&o.session, "a session opened with a valid token");
        refused_401(m, &s.expired_token, "session id, expired token")
    },
};

/// RS-TOK-08: Sessions are bound to the user who opened them.
const RS_TOK_08: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-TOK-08", "Sessions are bound to the user who opened them", Should, &["SBP §2.3.4"],
        "The full user's session used with the read-only user's valid token → refused (4xx); served → WARN."),
    eval: rs_tok_08,
};

fn rs_tok_08(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let s = crate::need!(&o.session, "a session opened with a valid token");
    let p = &s.other_user;
    let expected = "refused (4xx): the session belongs to another user";
    let e = if (400..500).contains(&p.status) && !p.served() {
        Evaluation::pass(expected, p.describe())
    } else {
        Evaluation::violated(m.level, expected, p.describe())
            .with_message("another user's token was served on the full user's session")
    };
    e.with_evidence([p.exchange.clone()])
}

/// RS-TOK-09: Session ids are unique, unpredictable and high-entropy.
const RS_TOK_09: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-TOK-09", "Session ids are unique, unpredictable and high-entropy", Must, &["SBP §2.3.4", "MCP Transports: session management"],
        "20 sessions: duplicates or sequential ids FAIL; under ~122 bits of apparent entropy WARN (a heuristic)."),
    eval: rs_tok_09,
};

fn rs_tok_09(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let ids = crate::need!(&o.session_ids, "sampling session ids");
    let evidence: Vec<String> = ids.iter().map(|(_, e)| e.clone()).take(3).collect();
    let values: Vec<&str> = ids.iter().map(|(v, _)| v.as_str()).collect();
    let unique: BTreeSet<&str> = values.iter().copied().collect();
    let expected = format!(
        "{} unique, non-sequential ids with ≥ {MIN_SESSION_BITS} bits of apparent entropy",
        values.len()
    );
    if unique.len() != values.len() {
        return Evaluation::violated(
            m.level,
            expected,
            format!(
                "{} duplicates among {} ids",
                values.len() - unique.len(),
                values.len()
            ),
        )
        .with_evidence(evidence);
    }
    if sequential(&values) {
        return Evaluation::violated(
            m.level,
            expected,
            format!("sequential ids, e.g. {:?}", &values[..values.len().min(3)]),
        )
        .with_evidence(evidence);
    }
    let bits = apparent_entropy_bits(&values);
    let actual = format!(
        "{} unique ids, about {bits:.0} bits of apparent entropy each",
        values.len()
    );
    if bits < MIN_SESSION_BITS {
        return Evaluation::violated(Should, expected, actual)
            .with_message("heuristic: the ids look short or low-entropy")
            .with_evidence(evidence);
    }
    Evaluation::pass(expected, actual).with_evidence(evidence)
}

/// RS-TRN-01: A request from a foreign Origin gets 403.
const RS_TRN_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-TRN-01",
        "A request from a foreign Origin gets 403",
        Must,
        &["MCP Transports: security warning"],
        "initialize with a valid token and Origin: https://evil.example → 403.",
    ),
    eval: |m, o| {
        let p = crate::need!(&o.origin, "the cross-origin request");
        let actual = p.describe();
        let e = if p.status == 403 {
            Evaluation::pass("HTTP 403", actual)
        } else {
            Evaluation::violated(m.level, "HTTP 403", actual)
        };
        e.with_evidence([p.exchange.clone()])
    },
};

fn refused_401(m: &CheckMeta, p: &Probe, what: &str) -> Evaluation {
    let actual = format!("{what} → {}", p.describe());
    let e = if p.status == 401 && !p.served() {
        Evaluation::pass("HTTP 401", actual)
    } else {
        Evaluation::violated(m.level, "HTTP 401", actual)
    };
    e.with_evidence([p.exchange.clone()])
}

/// Ids that differ only in a trailing number that counts up are sequential.
pub fn sequential(ids: &[&str]) -> bool {
    let split = |s: &str| -> Option<(String, u128)> {
        let digits = s.chars().rev().take_while(char::is_ascii_digit).count();
        if digits == 0 || digits > 30 {
            return None;
        }
        let (prefix, num) = s.split_at(s.len() - digits);
        Some((prefix.to_owned(), num.parse().ok()?))
    };
    let parts: Option<Vec<(String, u128)>> = ids.iter().map(|s| split(s)).collect();
    let Some(mut parts) = parts else { return false };
    if parts.len() < 2 || parts.iter().any(|(p, _)| *p != parts[0].0) {
        return false;
    }
    parts.sort_by_key(|(_, n)| *n);
    let span = parts.last().map(|p| p.1).unwrap_or(0) - parts[0].1;
    span < (ids.len() as u128) * 16
}

/// Bits per id estimated from the alphabet seen across the sample and the mean id length.
pub fn apparent_entropy_bits(ids: &[&str]) -> f64 {
    let alphabet: BTreeSet<char> = ids.iter().flat_map(|s| s.chars()).collect();
    if alphabet.len() < 2 || ids.is_empty() {
        return 0.0;
    }
    // Snap the observed alphabet up to the common encodings it is drawn from.
    let size = match alphabet.len() {
        n if n <= 16 => 16.0,
        n if n <= 36 => 36.0,
        n if n <= 64 => 64.0,
        n => n as f64,
    };
    let distinct_positions: f64 = {
        let len = ids.iter().map(|s| s.chars().count()).min().unwrap_or(0);
        // Positions that never vary across the sample (UUID dashes, version nibbles, prefixes) carry nothing.
        (0..len)
            .filter(|&i| {
                let col: BTreeSet<char> = ids.iter().filter_map(|s| s.chars().nth(i)).collect();
                col.len() > 1
            })
            .count() as f64
    };
    distinct_positions * f64::log2(size)
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::check::{Check, ObsError};
    use crate::server::testing::{compliant, refused, refused_by_target, served};

    #[rstest::rstest]
    #[case::tok_07_no_token(RS_TOK_07_NO_TOKEN)]
    #[case::tok_07_expired_token(RS_TOK_07_EXPIRED_TOKEN)]
    #[case::tok_08(RS_TOK_08)]
    #[case::tok_09(RS_TOK_09)]
    #[case::trn_01(RS_TRN_01)]
    fn passes_on_the_compliant_record(#[case] c: FnCheck<ServerObservations>) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}: {}", c.meta.id, e.actual);
        assert!(!e.evidence.is_empty(), "{}", c.meta.id);
    }

    #[rstest::rstest]
    #[case::tok_07_no_token(RS_TOK_07_NO_TOKEN)]
    #[case::tok_07_expired_token(RS_TOK_07_EXPIRED_TOKEN)]
    #[case::tok_08(RS_TOK_08)]
    fn errors_without_a_session(#[case] c: FnCheck<ServerObservations>) {
        let mut o = compliant();
        o.session = Err(refused_by_target(401));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(
            e.message
                .starts_with("a session opened with a valid token: HTTP 401"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_tok_07_no_token_fails_when_the_session_id_alone_is_served() {
        let o = compliant().edit_session(|s| s.no_token = served("session#no-token"));
        let e = RS_TOK_07_NO_TOKEN.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.starts_with("session id, no token → served"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_tok_07_expired_token_fails_on_a_non_401_refusal() {
        let o =
            compliant().edit_session(|s| s.expired_token = refused("session#expired", 403, &[]));
        let e = RS_TOK_07_EXPIRED_TOKEN.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.starts_with("session id, expired token → HTTP 403"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_tok_08_warns_when_another_user_rides_the_session() {
        let o = compliant().edit_session(|s| s.other_user = served("session#other-user"));
        let e = RS_TOK_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(
            e.message,
            "another user's token was served on the full user's session"
        );
    }

    fn with_ids(ids: &[&str]) -> ServerObservations {
        let mut o = compliant();
        o.session_ids = Ok(ids
            .iter()
            .enumerate()
            .map(|(i, v)| ((*v).to_owned(), format!("session-ids#{i}")))
            .collect());
        o
    }

    #[test]
    fn rs_tok_09_fails_on_duplicate_ids() {
        let e = RS_TOK_09.evaluate(&with_ids(&["9f86d081884c7d65", "9f86d081884c7d65"]));
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "1 duplicates among 2 ids");
    }

    #[test]
    fn rs_tok_09_fails_on_sequential_ids() {
        let e = RS_TOK_09.evaluate(&with_ids(&["session-1", "session-2", "session-3"]));
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.starts_with("sequential ids"), "{}", e.actual);
    }

    #[test]
    fn rs_tok_09_warns_on_short_ids() {
        let e = RS_TOK_09.evaluate(&with_ids(&["ab12", "cd34", "ef56"]));
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.message, "heuristic: the ids look short or low-entropy");
    }

    #[test]
    fn rs_tok_09_errors_without_a_sample() {
        let mut o = compliant();
        o.session_ids = Err(ObsError::Interrupted);
        let e = RS_TOK_09.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.starts_with("sampling session ids"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_trn_01_fails_when_a_foreign_origin_is_served() {
        let mut o = compliant();
        o.origin = Ok(served("origin#1"));
        let e = RS_TRN_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.starts_with("served"), "{}", e.actual);
    }

    #[test]
    fn rs_trn_01_errors_without_the_cross_origin_request() {
        let mut o = compliant();
        o.origin = Err(ObsError::Interrupted);
        let e = RS_TRN_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.starts_with("the cross-origin request"),
            "{}",
            e.message
        );
    }

    #[test]
    fn counting_ids_are_sequential() {
        assert!(sequential(&["session-1", "session-2", "session-3"]));
        assert!(!sequential(&["a8f3", "77c1", "0b2e"]));
    }

    #[test]
    fn random_hex_ids_have_about_128_bits() {
        let ids = [
            "9f86d081884c7d659a2feaa0c55ad015",
            "a3b5c7d9e1f30517293b4d5f6a7c8e90",
            "0123456789abcdeffedcba9876543210",
            "5e884898da28047151d0e56f8dc62927",
        ];
        let bits = apparent_entropy_bits(&ids);
        assert!(bits >= 120.0, "{bits}");
    }

    #[test]
    fn short_ids_are_low_entropy() {
        assert!(apparent_entropy_bits(&["ab12", "cd34", "ef56"]) < 32.0);
    }
}
