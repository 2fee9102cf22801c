//! DPoP in the client world (RFC 9449): the token endpoint of an AS with `dpop` binds tokens to the key of a valid
//! proof (and demands its nonce with `dpop_nonce`); the MCP server with `dpop` serves a bound token only with the
//! `DPoP` scheme and a valid proof by that key (and demands its nonce with `dpop_nonce`). Proofs are checked by
//! [`crate::dpop::verify`]; the world only answers, the suite judges the proofs again from the log.

use axum::http::{header, HeaderMap};

use super::Reply;
use crate::dpop::{self, request_proof as proof, unix_now, Expect, Leniency, ProofError};

/// The header that carries a server nonce (proofs are read by [`dpop::request_proof`]).
const DPOP_NONCE: &str = "dpop-nonce";

/// The AS's nonce: fixed per world (the world needs no unpredictability; a test can name it).
pub(crate) fn as_nonce(seed: u64) -> String {
    format!("as-nonce-{seed:x}")
}

/// The MCP server's nonce.
pub(crate) fn rs_nonce(seed: u64) -> String {
    format!("rs-nonce-{seed:x}")
}

/// A token request at an AS with DPoP: `Ok(Some(jkt))` binds the token to the proof's key, `Ok(None)` issues a
/// Bearer token (no proof sent), `Err` is the refusal (400 `invalid_dpop_proof` or `use_dpop_nonce`).
pub(crate) fn token_request(
    headers: &HeaderMap,
    token_endpoint: &str,
    nonce: Option<&str>,
) -> Result<Option<String>, Reply> {
    let invalid = |e: ProofError| Reply::oauth_error(400, "invalid_dpop_proof", &e.to_string());
    let Some(proof) = proof(headers).map_err(invalid)? else {
        return Ok(None);
    };
    let expect = Expect {
        htm: "POST",
        htu: token_endpoint,
        now: unix_now(),
        nonce,
        ..Expect::default()
    };
    match dpop::verify(proof, &expect, Leniency::default()) {
        Ok(v) => Ok(Some(v.jkt)),
        Err(ProofError::Nonce) => Err(Reply::oauth_error(
            400,
            "use_dpop_nonce",
            "Authorization server requires nonce in DPoP proof",
        )
        .header(DPOP_NONCE, nonce.unwrap_or_default())),
        Err(e) => Err(invalid(e)),
    }
}

/// The access token and whether it came with the `DPoP` scheme (`Bearer` or `DPoP`, any case).
pub(crate) fn presented_token(headers: &HeaderMap) -> Option<(String, bool)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    let dpop = scheme.eq_ignore_ascii_case("dpop");
    (dpop || scheme.eq_ignore_ascii_case("bearer")).then(|| (rest.trim().to_owned(), dpop))
}

/// Whether a request whose token is otherwise valid passes the DPoP rules of an MCP server with `dpop`: a bound
/// token needs the `DPoP` scheme and a valid proof by its key (with the nonce when one is demanded).
pub(crate) fn resource_request(
    method: &str,
    headers: &HeaderMap,
    mcp_url: &str,
    token: &str,
    dpop_scheme: bool,
    jkt: Option<&str>,
    nonce: Option<&str>,
) -> Result<(), Reply> {
    let challenge = |error: &str| format!("DPoP error=\"{error}\", algs=\"ES256 RS256\"");
    let refuse = |error: &str, description: &str| {
        Reply::json(
            401,
            &serde_json::json!({"error": error, "error_description": description}),
        )
        .header("www-authenticate", challenge(error))
    };
    let Some(jkt) = jkt else {
        // An unbound token is a Bearer token; with the DPoP scheme it cannot be bound to the proof.
        return if dpop_scheme {
            Err(refuse(
                "invalid_token",
                "the access token is not DPoP-bound",
            ))
        } else {
            Ok(())
        };
    };
    if !dpop_scheme {
        return Err(refuse(
            "invalid_token",
            "a DPoP-bound token needs the DPoP scheme",
        ));
    }
    let proof = match proof(headers) {
        Ok(Some(p)) => p,
        Ok(None) => return Err(refuse("invalid_dpop_proof", "DPoP proof header is missing")),
        Err(e) => return Err(refuse("invalid_dpop_proof", &e.to_string())),
    };
    let expect = Expect {
        htm: method,
        htu: mcp_url,
        now: unix_now(),
        access_token: Some(token),
        nonce,
        jkt: Some(jkt),
    };
    match dpop::verify(proof, &expect, Leniency::default()) {
        Ok(_) => Ok(()),
        Err(ProofError::Nonce) => Err(refuse(
            "use_dpop_nonce",
            "Resource server requires nonce in DPoP proof",
        )
        .header(DPOP_NONCE, nonce.unwrap_or_default())),
        Err(e) => Err(refuse("invalid_dpop_proof", &e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpop::{DpopKey, ProofRequest};
    use axum::http::HeaderValue;

    const TOKEN_URL: &str = "http://127.0.0.1:1/token";

    fn with_proof(proof: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("dpop", HeaderValue::from_str(proof).unwrap());
        h
    }

    fn token_proof(key: &DpopKey, nonce: Option<&str>) -> String {
        key.proof(&ProofRequest {
            htm: "POST",
            htu: TOKEN_URL,
            iat: unix_now(),
            nonce,
            ..ProofRequest::default()
        })
    }

    #[test]
    fn a_token_request_with_a_valid_proof_binds_the_token_to_its_key() {
        let key = DpopKey::generate();
        let jkt = token_request(&with_proof(&token_proof(&key, None)), TOKEN_URL, None).unwrap();
        assert_eq!(jkt, Some(key.thumbprint()));
    }

    #[test]
    fn a_token_request_without_the_demanded_nonce_gets_use_dpop_nonce_and_the_nonce() {
        let key = DpopKey::generate();
        let reply = token_request(&with_proof(&token_proof(&key, None)), TOKEN_URL, Some("n1"))
            .unwrap_err();
        assert_eq!(reply.status, 400);
        assert!(reply
            .headers
            .contains(&("dpop-nonce".to_owned(), "n1".to_owned())));
        assert!(token_request(
            &with_proof(&token_proof(&key, Some("n1"))),
            TOKEN_URL,
            Some("n1")
        )
        .is_ok());
    }

    #[test]
    fn a_bound_token_as_bearer_is_refused_at_the_resource() {
        let reply = resource_request(
            "POST",
            &HeaderMap::new(),
            "http://x/mcp",
            "t",
            false,
            Some("jkt"),
            None,
        )
        .unwrap_err();
        assert_eq!(reply.status, 401);
    }

    #[test]
    fn a_bound_token_with_a_valid_proof_is_served_at_the_resource() {
        let key = DpopKey::generate();
        let proof = key.proof(&ProofRequest {
            htm: "POST",
            htu: "http://x/mcp",
            iat: unix_now(),
            access_token: Some("t"),
            nonce: None,
        });
        let jkt = key.thumbprint();
        assert!(resource_request(
            "POST",
            &with_proof(&proof),
            "http://x/mcp",
            "t",
            true,
            Some(&jkt),
            None
        )
        .is_ok());
    }
}
