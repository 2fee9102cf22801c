//! Compact JWS assembled and taken apart by hand (shared by the minter, the forge and the
//! authorization server's own validation).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::keys::SigningKey;

/// base64url (no padding) of the JSON serialisation of `value`.
pub(crate) fn segment(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// base64url (no padding) of raw bytes.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `header.payload.signature`, RS256-signed with `key`.
pub(crate) fn sign_compact(header: &Value, payload: &Value, key: &SigningKey) -> String {
    let input = format!("{}.{}", segment(header), segment(payload));
    let sig = key.sign_rs256(input.as_bytes());
    format!("{input}.{}", b64(&sig))
}

/// A compact JWS split into its decoded parts, signature not checked.
#[derive(Debug, Clone)]
pub(crate) struct Decoded {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub signature: Vec<u8>,
    pub signing_input: String,
}

/// Splits and decodes a compact JWS; `None` when it is not one.
pub(crate) fn decode(token: &str) -> Option<Decoded> {
    let mut parts = token.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
    let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
    Some(Decoded {
        header,
        claims,
        signature,
        signing_input: format!("{h}.{p}"),
    })
}

/// A short, non-secret rendering of a token for logs: prefix, length and nothing more.
pub(crate) fn redact(token: &str) -> String {
    let prefix: String = token.chars().take(8).collect();
    format!("{prefix}…[{} chars]", token.len())
}
