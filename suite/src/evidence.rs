//! Evidence: every HTTP exchange recorded once, secrets redacted, JWTs decoded.
//!
//! Token values never reach a report. Each token is shown as `prefix…suffix` with its length and SHA-256, so a
//! reader can prove that the same token appeared in two places without seeing it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mcp_auth_reports::{Exchange, TokenEvidence};
use sha2::{Digest, Sha256};

/// All exchanges of a run, shared by every scenario.
#[derive(Debug, Clone, Default)]
pub struct EvidenceLog {
    inner: Arc<Mutex<Vec<Exchange>>>,
}

impl EvidenceLog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&self, exchange: Exchange) {
        self.lock().push(exchange);
    }

    /// The exchanges recorded so far, sorted by id for a stable report.
    pub fn snapshot(&self) -> Vec<Exchange> {
        let mut all = self.lock().clone();
        all.sort_by_key(|e| natural_key(&e.id));
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Exchange>> {
        // A poisoned log still holds valid exchanges: keep going rather than lose the evidence.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Sorts `name#10` after `name#9`.
fn natural_key(id: &str) -> (String, usize) {
    match id.rsplit_once('#') {
        Some((name, n)) => (name.to_owned(), n.parse().unwrap_or(usize::MAX)),
        None => (id.to_owned(), 0),
    }
}

/// Names exchanges of one scenario: `<scenario>#<n>`, numbered in the order requests are issued.
#[derive(Debug)]
pub struct Scenario {
    name: &'static str,
    next: AtomicUsize,
}

impl Scenario {
    pub fn new(name: &'static str) -> Self {
        Scenario {
            name,
            next: AtomicUsize::new(1),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The id of the next exchange; assigned synchronously, so concurrent requests polled in order get
    /// deterministic ids.
    pub fn next_id(&self) -> String {
        format!(
            "{}#{}",
            self.name,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

/// Shows a secret without revealing it.
pub fn redact(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 16 {
        return format!("[redacted {} chars]", chars.len());
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{head}…{tail}")
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Evidence for one token: redacted, hashed, and decoded when it is a JWT.
pub fn token_evidence(token: &str) -> TokenEvidence {
    let mut ev = TokenEvidence::new(redact(token), token.len(), sha256_hex(token));
    if let Some((header, claims)) = decode_jwt(token) {
        ev.jwt_header = Some(header);
        ev.jwt_claims = Some(claims);
    }
    ev
}

/// Decodes the header and claims of a compact JWS without verifying anything.
pub fn decode_jwt(token: &str) -> Option<(serde_json::Value, serde_json::Value)> {
    let mut parts = token.split('.');
    let header = parts.next()?;
    let payload = parts.next()?;
    parts.next()?;
    // Exactly three segments: five is a JWE, four or more is not a compact JWS at all.
    if parts.next().is_some() {
        return None;
    }
    let decode = |s: &str| -> Option<serde_json::Value> {
        let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    Some((decode(header)?, decode(payload)?))
}

/// Replaces every occurrence of every secret in `text`.
pub fn redact_all(text: &str, secrets: &BTreeSet<String>) -> String {
    let mut out = text.to_owned();
    // Longest first, so a secret that contains another is replaced whole.
    let mut ordered: Vec<&String> = secrets.iter().filter(|s| s.len() >= 4).collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in ordered {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), &redact(s));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_a_prefix_and_suffix_only() {
        let r = redact("eyJhbGciOiJSUzI1NiJ9.payload.signature-bytes");
        assert_eq!(r, "eyJhbGci…-bytes");
    }

    #[test]
    fn short_secrets_are_hidden_entirely() {
        assert_eq!(redact("abc"), "[redacted 3 chars]");
    }

    #[test]
    fn token_evidence_decodes_a_jwt_and_hashes_the_value() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice"}"#);
        let token = format!("{header}.{claims}.");
        let ev = token_evidence(&token);
        assert_eq!(ev.jwt_header.unwrap()["alg"], "none");
        assert_eq!(ev.jwt_claims.unwrap()["sub"], "alice");
        assert_eq!(ev.sha256, sha256_hex(&token));
        assert_eq!(ev.length, token.len());
    }

    #[test]
    fn a_token_with_more_than_three_segments_is_not_decoded() {
        // Found by fuzz_jwt_hostile_tokens_never_panic_and_evidence_never_reveals_a_long_token.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let claims = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice"}"#);
        assert!(decode_jwt(&format!("{header}.{claims}.")).is_some());
        assert_eq!(decode_jwt(&format!("{header}.{claims}..")), None);
        assert_eq!(
            decode_jwt(&format!("{header}.{claims}.sig.extra.more")),
            None
        );
    }

    #[test]
    fn redact_all_replaces_every_occurrence() {
        let secrets: BTreeSet<String> = ["s3cr3t-token-value-123".to_owned()].into();
        let out = redact_all(
            "Bearer s3cr3t-token-value-123 and s3cr3t-token-value-123",
            &secrets,
        );
        assert!(!out.contains("s3cr3t-token-value-123"));
        assert_eq!(out.matches('…').count(), 2);
    }

    #[test]
    fn snapshot_orders_ids_naturally() {
        let log = EvidenceLog::new();
        for id in ["a#10", "a#9", "a#1"] {
            log.push(Exchange::new(
                id,
                "",
                mcp_auth_reports::HttpRequest::new("GET", "http://127.0.0.1/"),
            ));
        }
        let ids: Vec<String> = log.snapshot().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, vec!["a#1", "a#9", "a#10"]);
    }
}
