//! DPoP at the authorization server (RFC 9449, SEP-1932; `--extension dpop`): a valid proof binds the access
//! token (AS-DPOP-01); a defective proof is refused with `invalid_dpop_proof` (AS-DPOP-02..08); a public
//! client's refresh token is bound to its key (AS-DPOP-09); a demanded nonce is enforced (AS-DPOP-10).

use mcp_auth_reports::Level::{Must, Should};

use super::{meta, token_refused, AuthzCheck};
use crate::authz::oauth::jwt_parts;
use crate::authz::obs::AuthzObservations;
use crate::authz::scenarios::{DpopObs, ProofProbe};
use crate::check::{CheckMeta, Evaluation, FnCheck};

/// The DPoP checks, in report order.
pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_DPOP_01),
        Box::new(AS_DPOP_02),
        Box::new(AS_DPOP_03),
        Box::new(AS_DPOP_04),
        Box::new(AS_DPOP_05),
        Box::new(AS_DPOP_06),
        Box::new(AS_DPOP_07),
        Box::new(AS_DPOP_08),
        Box::new(AS_DPOP_09),
        Box::new(AS_DPOP_10),
    ]
}

/// AS-DPOP-01: a valid proof gets a DPoP-bound token.
const AS_DPOP_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-DPOP-01", "A token request with a valid DPoP proof gets a DPoP-bound token", Must,
        &["RFC 9449 §5", "RFC 9449 §6.1", "SEP-1932"],
        "A code redeemed with a valid proof → token_type DPoP and, for a JWT access token, cnf.jkt = the proof key's thumbprint."),
    eval: as_dpop_01,
};
fn as_dpop_01(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let d = crate::need!(&o.dpop, "the DPoP probes");
    let t = &d.valid;
    let expected = format!("token_type DPoP, cnf.jkt {}", d.jkt);
    let token_type = t.member("token_type").unwrap_or("(none)");
    let jkt = t.access_token().and_then(jwt_parts).map(|(_, c)| {
        c.pointer("/cnf/jkt")
            .and_then(|j| j.as_str())
            .map(str::to_owned)
    });
    let e = match jkt {
        _ if !token_type.eq_ignore_ascii_case("DPoP") => {
            Evaluation::violated(m.level, expected, format!("token_type {token_type}"))
        }
        None => Evaluation::pass(expected, "token_type DPoP").with_message(
            "the access token is not a JWT: its cnf.jkt is not observable without introspection",
        ),
        Some(Some(j)) if j == d.jkt => {
            Evaluation::pass(expected, format!("token_type DPoP, cnf.jkt {j}"))
        }
        Some(other) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "token_type DPoP, cnf.jkt {}",
                other.as_deref().unwrap_or("absent")
            ),
        ),
    };
    e.with_evidence([t.exchange.clone()])
}

/// A probe's refusal (`invalid_dpop_proof`); ERROR when the probes did not run, SKIP when they could not. A
/// refusal with another error code counts only while the grant demonstrably lived on (the honest refresh after
/// the probes got tokens): otherwise the refusal may be the dead grant's, not the proof's.
fn refused(m: &CheckMeta, o: &AuthzObservations, probe: ProofProbe, errors: &[&str]) -> Evaluation {
    let d = crate::need!(&o.dpop, "the DPoP probes");
    let probes = crate::need!(&d.probes, "the DPoP refresh probes");
    let Some(t) = probes.get(&probe) else {
        return Evaluation::error(format!("the probe '{}' was not sent", probe.describe()));
    };
    let e = token_refused(m, t, probe.describe(), errors);
    let other_code = !t.ok() && !t.oauth_error().is_some_and(|c| errors.contains(&c));
    let grant_lived = probes.get(&ProofProbe::Honest).is_some_and(|h| h.ok());
    if e.verdict == mcp_auth_reports::Verdict::Pass && other_code && !grant_lived {
        return Evaluation::error(format!(
            "refused with {} rather than {}, and the honest refresh after the probes got no tokens: the refusal \
             cannot be told from a dead grant's",
            t.describe(),
            errors.join(" or ")
        ))
        .with_evidence([t.exchange.clone()]);
    }
    e
}

macro_rules! proof_check {
    ($name:ident, $id:literal, $title:literal, $level:expr, $refs:expr, $summary:literal, $probe:expr) => {
        const $name: FnCheck<AuthzObservations> = FnCheck {
            meta: meta($id, $title, $level, $refs, $summary),
            eval: |m, o| refused(m, o, $probe, &["invalid_dpop_proof"]),
        };
    };
}

proof_check!(AS_DPOP_02, "AS-DPOP-02", "A DPoP proof with a bad signature is refused", Must,
    &["RFC 9449 §4.3", "SEP-1932"],
    "A refresh whose proof is signed by another key than its jwk → 400 invalid_dpop_proof, no tokens.",
    ProofProbe::BadSignature);
proof_check!(
    AS_DPOP_03,
    "AS-DPOP-03",
    "A DPoP proof for another HTTP method is refused",
    Must,
    &["RFC 9449 §4.3"],
    "A refresh whose proof says htm GET → 400 invalid_dpop_proof, no tokens.",
    ProofProbe::WrongHtm
);
proof_check!(
    AS_DPOP_04,
    "AS-DPOP-04",
    "A DPoP proof for another URI is refused",
    Must,
    &["RFC 9449 §4.3"],
    "A refresh whose proof's htu is not the token endpoint → 400 invalid_dpop_proof, no tokens.",
    ProofProbe::WrongHtu
);
proof_check!(
    AS_DPOP_05,
    "AS-DPOP-05",
    "A stale DPoP proof is refused",
    Must,
    &["RFC 9449 §4.3", "RFC 9449 §11.1"],
    "A refresh whose proof's iat is an hour old → 400 invalid_dpop_proof, no tokens.",
    ProofProbe::StaleIat
);
proof_check!(AS_DPOP_06, "AS-DPOP-06", "A replayed DPoP proof is refused", Should,
    &["RFC 9449 §11.1", "RFC 9449 §4.3"],
    "The proof of the code redemption sent again (same jti) with a refresh → 400 invalid_dpop_proof; accepted → WARN.",
    ProofProbe::Replay);
proof_check!(
    AS_DPOP_07,
    "AS-DPOP-07",
    "A DPoP proof carrying a private key is refused",
    Must,
    &["RFC 9449 §4.3", "RFC 9449 §4.2"],
    "A refresh whose proof's jwk carries the private member d → 400 invalid_dpop_proof, no tokens.",
    ProofProbe::PrivateKey
);

/// AS-DPOP-08: `alg: none` and symmetric proofs are refused (two probes).
const AS_DPOP_08: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-DPOP-08", "A DPoP proof with alg none or a symmetric algorithm is refused", Must,
        &["RFC 9449 §4.3", "RFC 9449 §4.2"],
        "A refresh whose proof has alg none, and one with alg HS256 → each 400 invalid_dpop_proof, no tokens."),
    eval: |m, o| {
        let none = refused(m, o, ProofProbe::AlgNone, &["invalid_dpop_proof"]);
        if none.verdict != mcp_auth_reports::Verdict::Pass {
            return none;
        }
        let hs = refused(m, o, ProofProbe::Hs256, &["invalid_dpop_proof"]);
        if hs.verdict != mcp_auth_reports::Verdict::Pass {
            return hs;
        }
        let mut evidence = none.evidence.clone();
        evidence.extend(hs.evidence.clone());
        Evaluation::pass(
            "alg none and alg HS256 proofs → 400 invalid_dpop_proof, no tokens",
            format!("alg none: {}; HS256: {}", none.actual, hs.actual),
        )
        .with_evidence(evidence)
    },
};

/// AS-DPOP-09: a public client's refresh token is bound to the DPoP key.
const AS_DPOP_09: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-DPOP-09", "A public client's DPoP-bound refresh token needs a proof by the same key", Must,
        &["RFC 9449 §5"],
        "A public client's refresh token issued under DPoP, refreshed with a valid proof by another key → refused (invalid_dpop_proof or invalid_grant)."),
    eval: |m, o| {
        let d: &DpopObs = crate::need!(&o.dpop, "the DPoP probes");
        if !d.public_client {
            return Evaluation::skip("the run's client is confidential; RFC 9449 §5 binds public clients' refresh tokens");
        }
        refused(m, o, ProofProbe::OtherKey, &["invalid_dpop_proof", "invalid_grant"])
    },
};

/// AS-DPOP-10: a demanded nonce is enforced.
const AS_DPOP_10: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-DPOP-10", "A DPoP nonce the AS demands is enforced", Must,
        &["RFC 9449 §8"],
        "When the AS answers a proof without nonce with use_dpop_nonce and a DPoP-Nonce: a later proof without the nonce, and one with a nonce it never issued → refused; one with its nonce → tokens."),
    eval: as_dpop_10,
};
fn as_dpop_10(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let d = crate::need!(&o.dpop, "the DPoP probes");
    let Some(nonce) = d.demanded_nonce() else {
        return Evaluation::skip(
            "the AS demanded no DPoP nonce (no use_dpop_nonce with a DPoP-Nonce header)",
        );
    };
    let probes = crate::need!(&d.probes, "the DPoP refresh probes");
    let expected = "without the nonce or with an unissued one → refused (use_dpop_nonce); with the nonce → tokens";
    let mut evidence: Vec<String> = d.nonce_demand.iter().map(|t| t.exchange.clone()).collect();
    for probe in [ProofProbe::NoNonce, ProofProbe::WrongNonce] {
        let e = match probes.get(&probe) {
            Some(t) => token_refused(
                m,
                t,
                probe.describe(),
                &["use_dpop_nonce", "invalid_dpop_proof"],
            ),
            None => Evaluation::error(format!("the probe '{}' was not sent", probe.describe())),
        };
        if e.verdict != mcp_auth_reports::Verdict::Pass {
            return e;
        }
        evidence.extend(e.evidence);
    }
    let Some(honest) = probes.get(&ProofProbe::Honest) else {
        return Evaluation::error("the honest refresh was not sent");
    };
    if let Some(e) = honest.unanswered("the honest refresh") {
        return e;
    }
    evidence.push(honest.exchange.clone());
    if honest.ok() {
        Evaluation::pass(
            expected,
            format!(
                "a nonce ({} chars) demanded and enforced; the proof with it got tokens",
                nonce.len()
            ),
        )
        .with_evidence(evidence)
    } else {
        Evaluation::error(format!(
            "a refresh with an honest proof carrying the AS's nonce failed ({}), so the refusals prove nothing",
            honest.describe()
        ))
        .with_evidence(evidence)
    }
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::authz::testing::{compliant, dpop_mut, no_answer, tokens};
    use crate::check::{Check, ObsError};

    #[test]
    fn every_dpop_check_passes_on_the_compliant_record() {
        let o = compliant();
        for c in checks() {
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Pass, "{}: {e:?}", c.meta().id);
        }
    }

    #[test]
    fn a_bearer_token_for_a_valid_proof_fails_the_binding_check() {
        let mut o = compliant();
        dpop_mut(&mut o).valid = tokens("dpop#valid", "rt-1");
        let e = AS_DPOP_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert_eq!(e.actual, "token_type Bearer");
    }

    #[test]
    fn a_dpop_token_bound_to_another_key_fails() {
        let mut o = compliant();
        dpop_mut(&mut o).jkt = "another-thumbprint".into();
        assert_eq!(AS_DPOP_01.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn an_accepted_forged_proof_fails_its_check_and_only_its_check() {
        let mut o = compliant();
        dpop_mut(&mut o)
            .probes
            .as_mut()
            .unwrap()
            .insert(ProofProbe::WrongHtu, tokens("dpop#htu", "rt-9"));
        for c in checks() {
            let want = if c.meta().id == "AS-DPOP-04" {
                Verdict::Fail
            } else {
                Verdict::Pass
            };
            assert_eq!(c.evaluate(&o).verdict, want, "{}", c.meta().id);
        }
    }

    #[test]
    fn an_accepted_replay_warns() {
        let mut o = compliant();
        dpop_mut(&mut o)
            .probes
            .as_mut()
            .unwrap()
            .insert(ProofProbe::Replay, tokens("dpop#replay", "rt-9"));
        assert_eq!(AS_DPOP_06.evaluate(&o).verdict, Verdict::Warn);
    }

    #[test]
    fn an_accepted_hs256_proof_fails_even_when_alg_none_is_refused() {
        let mut o = compliant();
        dpop_mut(&mut o)
            .probes
            .as_mut()
            .unwrap()
            .insert(ProofProbe::Hs256, tokens("dpop#hs256", "rt-9"));
        assert_eq!(AS_DPOP_08.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn the_refresh_binding_is_skipped_for_a_confidential_client() {
        let mut o = compliant();
        dpop_mut(&mut o).public_client = false;
        assert_eq!(AS_DPOP_09.evaluate(&o).verdict, Verdict::Skip);
    }

    #[test]
    fn a_nonce_never_demanded_is_skipped_with_the_reason() {
        let mut o = compliant();
        dpop_mut(&mut o).nonce_demand = None;
        let e = AS_DPOP_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(
            e.message.contains("demanded no DPoP nonce"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_unissued_nonce_accepted_fails_the_nonce_check() {
        let mut o = compliant();
        dpop_mut(&mut o)
            .probes
            .as_mut()
            .unwrap()
            .insert(ProofProbe::WrongNonce, tokens("dpop#nonce", "rt-9"));
        assert_eq!(AS_DPOP_10.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn an_as_without_dpop_metadata_skips_every_dpop_check() {
        let mut o = compliant();
        o.dpop = Err(ObsError::NotApplicable(
            "the AS metadata does not advertise dpop_signing_alg_values_supported".into(),
        ));
        for c in checks() {
            assert_eq!(c.evaluate(&o).verdict, Verdict::Skip, "{}", c.meta().id);
        }
    }

    #[test]
    fn a_dead_target_is_error_for_every_dpop_check() {
        let mut o = compliant();
        o.dpop = Err(no_answer("connection refused"));
        for c in checks() {
            assert_eq!(c.evaluate(&o).verdict, Verdict::Error, "{}", c.meta().id);
        }
    }

    #[test]
    fn a_refusal_with_another_code_after_the_grant_died_is_error() {
        let mut o = compliant();
        let probes = dpop_mut(&mut o).probes.as_mut().unwrap();
        probes.insert(
            ProofProbe::WrongHtm,
            crate::authz::testing::refusal("dpop#htm", 400, "invalid_grant"),
        );
        probes.insert(
            ProofProbe::Honest,
            crate::authz::testing::refusal("dpop#honest", 400, "invalid_grant"),
        );
        let e = AS_DPOP_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(e.message.contains("dead grant"), "{}", e.message);
    }

    #[test]
    fn a_refusal_with_another_code_while_the_grant_lives_passes() {
        let mut o = compliant();
        dpop_mut(&mut o).probes.as_mut().unwrap().insert(
            ProofProbe::WrongHtm,
            crate::authz::testing::refusal("dpop#htm", 400, "invalid_request"),
        );
        assert_eq!(AS_DPOP_03.evaluate(&o).verdict, Verdict::Pass);
    }

    #[test]
    fn a_probe_without_an_answer_is_error_not_a_refusal() {
        let mut o = compliant();
        dpop_mut(&mut o).probes.as_mut().unwrap().insert(
            ProofProbe::StaleIat,
            crate::authz::testing::unanswered_token("dpop#stale"),
        );
        assert_eq!(AS_DPOP_05.evaluate(&o).verdict, Verdict::Error);
    }
}
