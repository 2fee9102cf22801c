//! The issuer's JWKS: fetched from `jwks_uri`, cached, refetched once (rate limited) on an
//! unknown `kid`. Parsed with the server's own serde types.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::todo_server::http::{FetchError, Http};

/// How long a fetched JWKS is used before it is fetched again.
const MAX_AGE: Duration = Duration::from_secs(300);
/// Minimum interval between refetches triggered by unknown `kid`s.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// One RSA key of the JWKS.
#[derive(Debug, Clone)]
pub(crate) struct RsaJwk {
    pub(crate) kid: Option<String>,
    /// Base64url modulus.
    pub(crate) n: String,
    /// Base64url exponent.
    pub(crate) e: String,
    /// The JWK object exactly as fetched.
    pub(crate) raw: Value,
}

#[derive(Deserialize)]
struct JwkSetDoc {
    keys: Vec<Value>,
}

#[derive(Deserialize)]
struct RsaJwkDoc {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    n: String,
    e: String,
}

/// Parses a JWK Set document, keeping the RSA signing keys and ignoring the rest.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<Vec<RsaJwk>, FetchError> {
    let doc: JwkSetDoc = serde_json::from_slice(body)?;
    Ok(doc.keys.into_iter().filter_map(parse_rsa_jwk).collect())
}

/// Parses one JWK object if it is an RSA signing key.
pub(crate) fn parse_rsa_jwk(raw: Value) -> Option<RsaJwk> {
    let doc = RsaJwkDoc::deserialize(&raw).ok()?;
    if doc.kty != "RSA" || doc.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    Some(RsaJwk {
        kid: doc.kid,
        n: doc.n,
        e: doc.e,
        raw,
    })
}

#[derive(Debug, Default)]
struct CacheState {
    keys: Vec<RsaJwk>,
    fetched_at: Option<Instant>,
    last_refetch: Option<Instant>,
}

/// Cached JWKS of the trusted issuer.
#[derive(Debug)]
pub(crate) struct JwksCache {
    uri: String,
    http: Http,
    state: Mutex<CacheState>,
}

impl JwksCache {
    pub(crate) fn new(uri: String, http: Http) -> JwksCache {
        JwksCache {
            uri,
            http,
            state: Mutex::new(CacheState::default()),
        }
    }

    /// The key with this `kid`, refetching once if it is unknown. `Ok(None)`: not in the JWKS.
    pub(crate) async fn key(&self, kid: &str) -> Result<Option<RsaJwk>, FetchError> {
        let mut state = self.state.lock().await;
        self.ensure_fresh(&mut state).await?;
        if let Some(key) = find(&state.keys, kid) {
            return Ok(Some(key));
        }
        let now = Instant::now();
        if state
            .last_refetch
            .is_none_or(|t| now.duration_since(t) >= REFETCH_INTERVAL)
        {
            state.last_refetch = Some(now);
            self.refresh(&mut state).await?;
        }
        Ok(find(&state.keys, kid))
    }

    /// Every RSA key currently in the JWKS.
    pub(crate) async fn all(&self) -> Result<Vec<RsaJwk>, FetchError> {
        let mut state = self.state.lock().await;
        self.ensure_fresh(&mut state).await?;
        Ok(state.keys.clone())
    }

    async fn ensure_fresh(&self, state: &mut CacheState) -> Result<(), FetchError> {
        match state.fetched_at {
            Some(t) if t.elapsed() < MAX_AGE => Ok(()),
            Some(_) => {
                // Stale but usable: keep the old keys if the refresh fails.
                if let Err(err) = self.refresh(state).await {
                    tracing::warn!(%err, "JWKS refresh failed; keeping cached keys");
                }
                Ok(())
            }
            None => self.refresh(state).await,
        }
    }

    async fn refresh(&self, state: &mut CacheState) -> Result<(), FetchError> {
        let body = self.http.get(&self.uri).await?;
        state.keys = parse_jwks(&body)?;
        state.fetched_at = Some(Instant::now());
        Ok(())
    }
}

fn find(keys: &[RsaJwk], kid: &str) -> Option<RsaJwk> {
    keys.iter().find(|k| k.kid.as_deref() == Some(kid)).cloned()
}
