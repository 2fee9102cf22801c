//! Evidence: every HTTP exchange recorded once, secrets redacted, JWTs decoded.
//!
//! Token values never reach a report: [`EvidenceLog::sealed`] redacts every exchange by structure
//! ([`crate::redact`]), showing each secret as its length and a SHA-256 prefix, so a reader can prove that the
//! same token appeared in two places without seeing it.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mcp_auth_reports::{Exchange, TokenEvidence};
use sha2::{Digest, Sha256};

/// All exchanges of a run, shared by every scenario, as they happened (raw: checks may read them); with the
/// secrets the suite registered. A report stores only [`EvidenceLog::sealed`].
#[derive(Debug, Clone, Default)]
pub struct EvidenceLog {
    inner: Arc<Mutex<LogInner>>,
}

#[derive(Debug)]
struct LogInner {
    exchanges: Vec<Exchange>,
    secrets: BTreeSet<String>,
    record_cap: usize,
}

impl Default for LogInner {
    fn default() -> Self {
        LogInner {
            exchanges: Vec::new(),
            secrets: BTreeSet::new(),
            record_cap: RECORD_CAP,
        }
    }
}

/// How much of a body a report keeps by default, in bytes.
pub const RECORD_CAP: usize = 8 * 1024;

impl EvidenceLog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an exchange as it happened: the report's copy is redacted by [`EvidenceLog::sealed`].
    pub fn push(&self, exchange: Exchange) {
        self.lock().exchanges.push(exchange);
    }

    /// Registers a secret the suite knows (a minted token, a password): the report hides it wherever it
    /// appears, also where no structural rule would find it.
    pub fn register_secret(&self, secret: &str) {
        self.lock().secrets.insert(secret.to_owned());
    }

    /// The secrets registered so far.
    pub fn secrets(&self) -> BTreeSet<String> {
        self.lock().secrets.clone()
    }

    /// How much of each body the report keeps.
    pub fn set_record_cap(&self, cap: usize) {
        self.lock().record_cap = cap;
    }

    /// The exchanges recorded so far, raw, sorted by id.
    pub fn snapshot(&self) -> Vec<Exchange> {
        let mut all = self.lock().exchanges.clone();
        all.sort_by_key(|e| natural_key(&e.id));
        all
    }

    /// The exchanges as a report stores them: redacted ([`crate::redact::seal`]) and cut, sorted by id; with
    /// every secret known (registered or found in any exchange).
    pub fn sealed(&self) -> (Vec<Exchange>, BTreeSet<String>) {
        let (secrets, cap) = {
            let inner = self.lock();
            (inner.secrets.clone(), inner.record_cap)
        };
        crate::redact::seal(&self.snapshot(), &secrets, cap)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
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

/// Shows a secret without revealing it: its length and, when long, a SHA-256 prefix ([`crate::redact::mask`]).
pub fn redact(value: &str) -> String {
    crate::redact::mask(value)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Evidence for one token: masked, hashed, and decoded when it is a JWT.
pub fn token_evidence(token: &str) -> TokenEvidence {
    crate::redact::token_evidence(token)
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

/// Replaces every occurrence of every secret in `text` (the known-value net, [`crate::redact::redact_known`]).
pub fn redact_all(text: &str, secrets: &BTreeSet<String>) -> String {
    crate::redact::redact_known(text, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_the_length_and_a_hash_prefix_only() {
        let r = redact("opaque-refresh-token-value-0123456789");
        assert_eq!(
            r,
            format!(
                "[redacted 37 chars sha256:{}]",
                &sha256_hex("opaque-refresh-token-value-0123456789")[..12]
            )
        );
    }

    #[test]
    fn short_secrets_show_neither_prefix_nor_suffix() {
        assert_eq!(redact("abc123"), "[redacted 6 chars]");
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
        assert_eq!(out.matches("[redacted ").count(), 2);
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
