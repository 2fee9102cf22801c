//! DPoP at the resource server (RFC 9449 §7): a token bound to a key (`cnf.jkt`) is served only with the `DPoP`
//! scheme and a valid, fresh proof by that key; proof checking itself is [`fake_idp::dpop::verify`].

use axum::http::request::Parts;
use fake_idp::dpop::{self, Expect, Leniency, ProofError};

use super::{Principal, TokenError};
use crate::todo_server::{AppState, ServerDefect, Settings};

/// The name of the proof header.
const DPOP_HEADER: &str = "dpop";

/// Checks the DPoP side of a request whose token validated: `dpop_scheme` is whether it came as
/// `Authorization: DPoP`. A Bearer request passes unless its token is bound.
pub(crate) fn enforce(
    state: &AppState,
    parts: &Parts,
    token: &str,
    dpop_scheme: bool,
    principal: &Principal,
) -> Result<(), TokenError> {
    let s = &state.settings;
    if !dpop_scheme {
        if principal.cnf_jkt.is_some() && !s.has(ServerDefect::AcceptBoundTokenAsBearer) {
            return Err(TokenError::BoundAsBearer);
        }
        return Ok(());
    }
    let mut proofs = parts.headers.get_all(DPOP_HEADER).iter();
    let proof = match (proofs.next(), proofs.next()) {
        (Some(p), None) => p
            .to_str()
            .map_err(|_| TokenError::Dpop(ProofError::Malformed))?,
        (None, _) if s.has(ServerDefect::DpopProofOptional) => return Ok(()),
        _ => return Err(TokenError::Dpop(ProofError::Missing)),
    };
    let htu = format!("{}{}", s.public_base, parts.uri.path());
    let expect = Expect {
        htm: parts.method.as_str(),
        htu: &htu,
        now: now(),
        access_token: Some(token),
        nonce: None,
        // An unbound token has no key to match: a DPoP request with it cannot be bound, so it is refused.
        jkt: Some(principal.cnf_jkt.as_deref().unwrap_or("")),
    };
    let verified = dpop::verify(proof, &expect, leniency(s)).map_err(TokenError::Dpop)?;
    if !s.has(ServerDefect::DpopAllowReplay) && !state.dpop_replay.first_use(&verified.jti) {
        return Err(TokenError::Dpop(ProofError::Replay));
    }
    Ok(())
}

/// The proof checks a defect turns off (none for the compliant server).
fn leniency(s: &Settings) -> Leniency {
    Leniency {
        signature: s.has(ServerDefect::DpopSkipProofSignature),
        method: s.has(ServerDefect::DpopSkipHtm),
        uri: s.has(ServerDefect::DpopSkipHtu),
        iat: s.has(ServerDefect::DpopSkipIat),
        ath: s.has(ServerDefect::DpopSkipAth),
        key_binding: s.has(ServerDefect::DpopSkipKeyBinding),
        ..Leniency::default()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compliant_server_checks_every_part_of_a_proof_and_each_defect_skips_one() {
        let settings = |defect| {
            let config = crate::todo_server::TodoServerConfig::new(
                "http://127.0.0.1:1",
                "http://127.0.0.1:1/jwks",
            );
            let mut s = Settings::new(config, "127.0.0.1:2".parse().unwrap());
            s.defect = defect;
            s
        };
        let d = |defect| leniency(&settings(Some(defect)));
        assert_eq!(leniency(&settings(None)), Leniency::default());
        assert!(d(ServerDefect::DpopSkipProofSignature).signature);
        assert!(d(ServerDefect::DpopSkipHtm).method);
        assert!(d(ServerDefect::DpopSkipHtu).uri);
        assert!(d(ServerDefect::DpopSkipIat).iat);
        assert!(d(ServerDefect::DpopSkipAth).ath);
        assert!(d(ServerDefect::DpopSkipKeyBinding).key_binding);
        assert_eq!(d(ServerDefect::DpopAllowReplay), Leniency::default());
    }
}
