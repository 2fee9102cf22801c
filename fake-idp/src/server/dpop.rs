//! DPoP at the reference AS's token endpoint (RFC 9449 §5, §8, §11.1), in target mode only: the metadata
//! advertises `dpop_signing_alg_values_supported`, a token request with a proof must carry the AS's nonce
//! (`use_dpop_nonce` otherwise), a valid proof binds the access token (`token_type: DPoP`, `cnf.jkt`) and a public
//! client's refresh token to the proof's key, and each proof `jti` is accepted once. Proofs are checked by
//! [`crate::dpop::verify`]; each `dpop-*` [`AsDefect`] turns one of these checks off.

use axum::http::HeaderMap;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;

use super::target::AsDefect;
use super::{oauth_error, AsState};
use crate::dpop::{self, Expect, Leniency, ProofError, ReplayCache};

const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The AS's DPoP state: its current nonce and the `jti`s it has accepted.
#[derive(Debug)]
pub(crate) struct AsDpop {
    nonce: String,
    replay: ReplayCache,
}

impl Default for AsDpop {
    fn default() -> AsDpop {
        AsDpop {
            nonce: dpop::new_nonce(),
            replay: ReplayCache::default(),
        }
    }
}

/// What a token request's proof decided: `Ok(None)` no proof (a Bearer token), `Ok(Some(jkt))` a valid proof by
/// the key with thumbprint `jkt`, `Err` why it is refused (answered by [`refusal`]).
pub(super) fn token_proof(
    state: &AsState,
    headers: &HeaderMap,
) -> Result<Option<String>, ProofError> {
    if !state.is_target() {
        return Ok(None);
    }
    let proof = match dpop::request_proof(headers) {
        Ok(None) => return Ok(None),
        Ok(Some(p)) => p,
        Err(e) => return Err(e),
    };
    let own = &state.inner.dpop;
    let htu = format!(
        "{}/token",
        state.plain_http_token_origin().unwrap_or(state.issuer())
    );
    let unchecked_nonce = state.defect(AsDefect::DpopNonceUnchecked);
    let expect = Expect {
        htm: "POST",
        htu: &htu,
        now: dpop::unix_now(),
        nonce: (!unchecked_nonce).then_some(own.nonce.as_str()),
        ..Expect::default()
    };
    let lenient = Leniency {
        signature: state.defect(AsDefect::DpopSkipSignature),
        method: state.defect(AsDefect::DpopSkipHtm),
        uri: state.defect(AsDefect::DpopSkipHtu),
        iat: state.defect(AsDefect::DpopSkipIat),
        algorithm: state.defect(AsDefect::DpopAcceptWeakAlg),
        private_key: state.defect(AsDefect::DpopAcceptPrivateKey),
        ..Leniency::default()
    };
    let verified = match dpop::verify(proof, &expect, lenient) {
        Ok(v) if unchecked_nonce && v.nonce.is_none() => return Err(ProofError::Nonce),
        Ok(v) => v,
        Err(e) => return Err(e),
    };
    if !state.defect(AsDefect::DpopAllowReplay) && !own.replay.first_use(&verified.jti) {
        return Err(ProofError::Replay);
    }
    Ok(Some(verified.jkt))
}

/// The answer to a refused proof: `use_dpop_nonce` with the nonce for a missing or stale nonce (RFC 9449 §8),
/// else 400 `invalid_dpop_proof`.
pub(super) fn refusal(state: &AsState, e: &ProofError) -> Response {
    match e {
        ProofError::Nonce => use_nonce(state),
        e => invalid_proof(e),
    }
}

/// 400 `invalid_dpop_proof` (RFC 9449 §5).
pub(super) fn invalid_proof(e: &ProofError) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_dpop_proof",
        &e.to_string(),
    )
}

/// 400 `use_dpop_nonce` with the current nonce (RFC 9449 §8).
fn use_nonce(state: &AsState) -> Response {
    let mut r = oauth_error(
        StatusCode::BAD_REQUEST,
        "use_dpop_nonce",
        "Authorization server requires nonce in DPoP proof",
    );
    with_nonce(state, &mut r);
    r
}

/// Adds the AS's current nonce to a response to a request that carried a proof.
pub(super) fn with_nonce(state: &AsState, r: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&state.inner.dpop.nonce) {
        r.headers_mut().insert(DPOP_NONCE, v);
    }
}

/// Whether a public client's refresh request satisfies its refresh token's binding (RFC 9449 §5): a bound token
/// needs a proof by the bound key.
pub(super) fn refresh_binding_ok(
    state: &AsState,
    public: bool,
    bound: Option<&str>,
    proof_jkt: Option<&str>,
) -> bool {
    match bound {
        Some(b) if public => proof_jkt == Some(b) || state.defect(AsDefect::DpopRefreshNotBound),
        _ => true,
    }
}
