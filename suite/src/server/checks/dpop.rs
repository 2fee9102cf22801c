//! DPoP at the MCP server (`--extension dpop`): RS-DPOP-*. A DPoP-bound token (`cnf.jkt`) is served with a valid
//! proof (RS-DPOP-01) and refused in every other form (RS-DPOP-02..05). A refusal proves something only when the
//! honest request was served: otherwise the refusal checks are ERROR, never PASS.

use mcp_auth_reports::Level::Must;

use super::{meta, ServerCheck};
use crate::check::{Check, CheckMeta, Evaluation, FnCheck};
use crate::server::obs::{DpopStimulus, ServerObservations};

const SCHEME: &[&str] = &["RFC 9449 §7.1", "SEP-1932"];
const CHECKING: &[&str] = &["RFC 9449 §4.3", "RFC 9449 §7.1", "SEP-1932"];

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        Box::new(RS_DPOP_01),
        Box::new(RS_DPOP_02),
        Box::new(RS_DPOP_03),
        Box::new(RS_DPOP_04_SIGNATURE),
        Box::new(RS_DPOP_04_ATH),
        Box::new(RS_DPOP_04_HTM),
        Box::new(RS_DPOP_04_HTU),
        Box::new(RS_DPOP_04_KEY),
        Box::new(RS_DPOP_04_STALE),
        Box::new(RS_DPOP_05),
    ]
}

/// RS-DPOP-01: a DPoP-bound token with `Authorization: DPoP` and a valid proof is served.
const RS_DPOP_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-DPOP-01", "A DPoP-bound token with a valid proof is served", Must, SCHEME,
        "A token bound to a fresh P-256 key (cnf.jkt), sent at initialize with `Authorization: DPoP` and a valid ES256 proof (htm, htu, iat, jti, ath) → served."),
    eval: rs_dpop_01,
};

fn rs_dpop_01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let dpop = crate::need!(&o.dpop, "the DPoP probes");
    let honest = crate::need!(
        dpop.probe(DpopStimulus::Honest),
        DpopStimulus::Honest.describe()
    );
    let expected = "served";
    let actual = format!(
        "{} → {}",
        DpopStimulus::Honest.describe(),
        honest.describe()
    );
    let e = if honest.served() {
        Evaluation::pass(expected, actual)
    } else {
        Evaluation::violated(m.level, expected, actual)
            .with_message("the server refused a DPoP-bound token presented with a valid proof")
            .with_offending([honest.exchange.clone()])
    };
    e.with_evidence([honest.exchange.clone()])
}

/// A check that one DPoP presentation is refused.
pub struct RefusesDpop {
    pub meta: CheckMeta,
    pub stimulus: DpopStimulus,
}

impl Check<ServerObservations> for RefusesDpop {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ServerObservations) -> Evaluation {
        let dpop = crate::need!(&o.dpop, "the DPoP probes");
        let honest = crate::need!(
            dpop.probe(DpopStimulus::Honest),
            DpopStimulus::Honest.describe()
        );
        if !honest.served() {
            return Evaluation::error(format!(
                "the honest DPoP request was refused ({}), so refusing this one proves nothing (see RS-DPOP-01)",
                honest.describe()
            ))
            .with_evidence([honest.exchange.clone()]);
        }
        let p = crate::need!(dpop.probe(self.stimulus), self.stimulus.describe());
        let expected = "refused (401; no data served)";
        let actual = format!("{} → {}", self.stimulus.describe(), p.describe());
        let e = if !p.served() && p.status >= 400 {
            Evaluation::pass(expected, actual)
        } else {
            Evaluation::violated(self.meta.level, expected, actual)
                .with_message("the server served the request")
                .with_offending([p.exchange.clone()])
        };
        e.with_evidence([honest.exchange.clone(), p.exchange.clone()])
    }
}

const RS_DPOP_02: RefusesDpop = RefusesDpop {
    meta: meta(
        "RS-DPOP-02",
        "A DPoP-bound token presented as a Bearer token is refused",
        Must,
        &["RFC 9449 §7.2", "SEP-1932"],
        "The bound token with `Authorization: Bearer` and no proof (a downgrade) → refused.",
    ),
    stimulus: DpopStimulus::AsBearer,
};

const RS_DPOP_03: RefusesDpop = RefusesDpop {
    meta: meta(
        "RS-DPOP-03",
        "A DPoP request without a proof is refused",
        Must,
        CHECKING,
        "The bound token with `Authorization: DPoP` and no `DPoP` header → refused.",
    ),
    stimulus: DpopStimulus::NoProof,
};

const RS_DPOP_04_SIGNATURE: RefusesDpop = RefusesDpop {
    meta: meta(
        "RS-DPOP-04.signature",
        "A DPoP proof that is not signed by the key in its header is refused",
        Must,
        CHECKING,
        "A proof whose header carries the bound key but which another key signed → refused.",
    ),
    stimulus: DpopStimulus::BadSignature,
};

const RS_DPOP_04_ATH: RefusesDpop = RefusesDpop {
    meta: meta(
        "RS-DPOP-04.ath",
        "A DPoP proof whose ath is not the hash of the presented token is refused",
        Must,
        CHECKING,
        "A proof by the bound key whose ath hashes another token → refused.",
    ),
    stimulus: DpopStimulus::WrongAth,
};

const RS_DPOP_04_HTM: RefusesDpop = RefusesDpop {
    meta: meta(
        "RS-DPOP-04.htm",
        "A DPoP proof made for another HTTP method is refused",
        Must,
        CHECKING,
        "A proof with htm GET sent with a POST → refused.",
    ),
    stimulus: DpopStimulus::WrongHtm,
};

const RS_DPOP_04_HTU: RefusesDpop = RefusesDpop {
    meta: meta(
        "RS-DPOP-04.htu",
        "A DPoP proof made for another URI is refused",
        Must,
        CHECKING,
        "A proof whose htu is `<endpoint>/other` sent to the MCP endpoint → refused.",
    ),
    stimulus: DpopStimulus::WrongHtu,
};

const RS_DPOP_04_KEY: RefusesDpop = RefusesDpop {
    meta: meta(
        "RS-DPOP-04.key",
        "A DPoP proof by a key other than the token's cnf.jkt is refused",
        Must,
        CHECKING,
        "A well-formed proof by a fresh key that is not the one the token is bound to → refused.",
    ),
    stimulus: DpopStimulus::OtherKey,
};

const RS_DPOP_04_STALE: RefusesDpop = RefusesDpop {
    meta: meta("RS-DPOP-04.stale", "A DPoP proof whose iat is an hour old is refused", Must, CHECKING,
        "A proof whose iat is 3600 s in the past (outside any reasonable acceptance window) → refused."),
    stimulus: DpopStimulus::StaleIat,
};

const RS_DPOP_05: RefusesDpop = RefusesDpop {
    meta: meta(
        "RS-DPOP-05",
        "A replayed DPoP proof is refused",
        Must,
        &["RFC 9449 §11.1", "RFC 9449 §4.3", "SEP-1932"],
        "The honest request's proof (same jti) sent again with a second request → refused.",
    ),
    stimulus: DpopStimulus::Replay,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::ObsError;
    use crate::server::testing::{compliant, served};
    use mcp_auth_reports::Verdict;

    fn serving(s: DpopStimulus) -> ServerObservations {
        let mut o = compliant();
        if let Ok(d) = &mut o.dpop {
            d.probes.insert(s, Ok(served(&format!("dpop#{s:?}"))));
        }
        o
    }

    fn refusal_checks() -> Vec<(RefusesDpop, DpopStimulus)> {
        [
            RS_DPOP_02,
            RS_DPOP_03,
            RS_DPOP_04_SIGNATURE,
            RS_DPOP_04_ATH,
            RS_DPOP_04_HTM,
            RS_DPOP_04_HTU,
            RS_DPOP_04_KEY,
            RS_DPOP_04_STALE,
            RS_DPOP_05,
        ]
        .into_iter()
        .map(|c| {
            let s = c.stimulus;
            (c, s)
        })
        .collect()
    }

    #[test]
    fn an_honest_dpop_request_served_passes() {
        assert_eq!(RS_DPOP_01.evaluate(&compliant()).verdict, Verdict::Pass);
    }

    #[test]
    fn an_honest_dpop_request_refused_fails() {
        let mut o = compliant();
        if let Ok(d) = &mut o.dpop {
            d.probes.insert(
                DpopStimulus::Honest,
                Ok(crate::server::testing::invalid_token("dpop#honest")),
            );
        }
        assert_eq!(RS_DPOP_01.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn every_refused_stimulus_passes_and_every_served_one_fails() {
        for (check, s) in refusal_checks() {
            assert_eq!(check.evaluate(&compliant()).verdict, Verdict::Pass, "{s:?}");
            assert_eq!(check.evaluate(&serving(s)).verdict, Verdict::Fail, "{s:?}");
        }
    }

    #[test]
    fn a_refusal_is_an_error_when_the_honest_request_was_refused_too() {
        let mut o = compliant();
        if let Ok(d) = &mut o.dpop {
            d.probes.insert(
                DpopStimulus::Honest,
                Ok(crate::server::testing::invalid_token("dpop#honest")),
            );
        }
        for (check, s) in refusal_checks() {
            assert_eq!(check.evaluate(&o).verdict, Verdict::Error, "{s:?}");
        }
    }

    #[test]
    fn a_dead_target_is_an_error_for_every_dpop_check() {
        let mut o = compliant();
        o.dpop = Err(ObsError::target(
            "connection refused",
            ["dpop#1".to_owned()],
        ));
        for c in checks() {
            assert_eq!(c.evaluate(&o).verdict, Verdict::Error, "{}", c.meta().id);
        }
    }

    #[test]
    fn every_dpop_stimulus_is_judged_by_some_check() {
        let src = include_str!("dpop.rs");
        for s in DpopStimulus::ALL {
            assert!(
                src.contains(&format!("DpopStimulus::{s:?}")),
                "{s:?} is probed but never judged"
            );
        }
    }
}
