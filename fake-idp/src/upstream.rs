//! The fake **upstream API** an MCP server calls on the user's behalf (docs/design/obo.md §2): a
//! strict resource server on its own loopback listener that records every request before
//! answering it, so the suite can prove what reached it (whose token, which audience, which
//! scope, which actor).
//!
//! - `GET /api/digest` needs scope `todo:read` → 200 JSON;
//! - `POST /api/send` (JSON `{to, body}`) needs `todo:write` → 201 JSON.
//!
//! A bearer token is accepted only when it is an RS256 JWT signed by a key of the AS JWKS,
//! `iss` is exactly the issuer, it is unexpired (no leeway) and its `aud` contains
//! [`UpstreamApi::resource`]; else 401. A valid token without the scope → 403.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::events::wait_for_change;
use crate::jws;
use crate::world::{FakeIdpError, Listeners};

/// The scope `GET /api/digest` needs.
pub const READ_SCOPE: &str = "todo:read";
/// The scope `POST /api/send` needs.
pub const WRITE_SCOPE: &str = "todo:write";

/// One request the upstream received, recorded before it was answered.
#[derive(Clone, PartialEq)]
pub struct UpstreamRequest {
    /// Position in [`UpstreamApi::requests`] (0-based).
    pub seq: usize,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, e.g. `/api/digest`.
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// Every header, in order (values decoded lossily as UTF-8).
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// What the upstream answered (0 while the request is being answered).
    pub status: u16,
    /// The bearer token presented in `Authorization`, if any.
    pub token: Option<String>,
    /// The token's claims, decoded without verification, when it is a JWT.
    pub claims: Option<Value>,
}

impl UpstreamRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Tokens never appear whole in logs: `Debug` redacts the token and `Authorization`.
impl std::fmt::Debug for UpstreamRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<(&str, String)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let v = if n.eq_ignore_ascii_case("authorization") {
                    jws::redact(v)
                } else {
                    v.clone()
                };
                (n.as_str(), v)
            })
            .collect();
        f.debug_struct("UpstreamRequest")
            .field("seq", &self.seq)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &headers)
            .field("body", &self.body)
            .field("status", &self.status)
            .field("token", &self.token.as_deref().map(jws::redact))
            .field("claims", &self.claims)
            .finish()
    }
}

/// A running fake upstream API. Stops on [`UpstreamApi::shutdown`] or drop.
#[derive(Debug)]
pub struct UpstreamApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    listeners: Listeners,
}

struct Shared {
    issuer: String,
    resource: String,
    /// `(kid, key)` of each usable RSA key of the AS JWKS.
    keys: Vec<(Option<String>, DecodingKey)>,
    requests: Mutex<Vec<UpstreamRequest>>,
    changed: watch::Sender<u64>,
    /// A request arrived after [`REQUEST_LIMIT`] and went unrecorded.
    overflowed: std::sync::atomic::AtomicBool,
}

/// How many requests the upstream records. A server that makes more is flooding it: the upstream answers 503
/// without recording, and the on-behalf-of observations are an ERROR.
pub const REQUEST_LIMIT: usize = 1_000;

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn requests(&self) -> MutexGuard<'_, Vec<UpstreamRequest>> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The usable RS256 keys of a JWKS (others are skipped with a warning).
fn decoding_keys(jwks: &Value) -> Vec<(Option<String>, DecodingKey)> {
    let set: JwkSet = match serde_json::from_value(jwks.clone()) {
        Ok(set) => set,
        Err(e) => {
            tracing::warn!(error = %e, "upstream: unusable JWKS, no token will be accepted");
            return Vec::new();
        }
    };
    set.keys
        .iter()
        .filter_map(|jwk| match DecodingKey::from_jwk(jwk) {
            Ok(key) => Some((jwk.common.key_id.clone(), key)),
            Err(e) => {
                tracing::warn!(error = %e, "upstream: skipping a JWK");
                None
            }
        })
        .collect()
}

impl UpstreamApi {
    /// Binds `bind` (loopback only; port 0 for an ephemeral one) and serves the upstream,
    /// trusting the keys of `jwks` (the AS public JWKS) for tokens issued by `issuer`.
    pub async fn start(
        issuer: String,
        jwks: Value,
        bind: SocketAddr,
    ) -> Result<UpstreamApi, FakeIdpError> {
        Self::start_with_tls(issuer, jwks, bind, None).await
    }

    /// [`UpstreamApi::start`], over https with `tls` when given (`--tls-profile strict`).
    pub async fn start_with_tls(
        issuer: String,
        jwks: Value,
        bind: SocketAddr,
        tls: Option<crate::tls::ServerCert>,
    ) -> Result<UpstreamApi, FakeIdpError> {
        if !bind.ip().is_loopback() {
            return Err(FakeIdpError::NotLoopback(bind));
        }
        let listener = TcpListener::bind(bind).await.map_err(FakeIdpError::Bind)?;
        let addr = listener.local_addr().map_err(FakeIdpError::Bind)?;
        let acceptor = match &tls {
            Some(cert) => Some(
                cert.acceptor()
                    .map_err(|e| FakeIdpError::Tls(e.to_string()))?,
            ),
            None => None,
        };
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared {
            resource: format!("{scheme}://{addr}/api"),
            issuer,
            keys: decoding_keys(&jwks),
            requests: Mutex::new(Vec::new()),
            changed: watch::Sender::new(0),
            overflowed: std::sync::atomic::AtomicBool::new(false),
        });
        let router = Router::new().fallback(handle).with_state(shared.clone());
        let mut listeners = Listeners::default();
        listeners.spawn_any(crate::tls::AnyListener::new(listener, acceptor), router);
        tracing::info!(%addr, "fake upstream API started");
        Ok(UpstreamApi {
            addr,
            shared,
            listeners,
        })
    }

    /// `http://127.0.0.1:<port>/api`: the audience its tokens must carry.
    pub fn resource(&self) -> String {
        self.shared.resource.clone()
    }

    /// The listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the server made more than [`REQUEST_LIMIT`] requests, so that some went unrecorded.
    pub fn overflowed(&self) -> bool {
        self.shared
            .overflowed
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<UpstreamRequest> {
        self.shared.requests().clone()
    }

    /// Waits until at least `n` requests have been answered, at most `timeout`; true when
    /// they were. Wakes on every request, never polls on a timer.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        wait_for_change(&self.shared.changed, timeout, || {
            let requests = self.shared.requests();
            requests.len() >= n && requests.iter().take(n).all(|r| r.status != 0)
        })
        .await
    }

    /// Stops the listener and waits (briefly) for its task.
    pub async fn shutdown(mut self) {
        self.listeners.stop().await;
    }
}

/// The bearer token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = bearer(&headers);
    let seq = {
        let mut requests = shared.requests();
        if requests.len() >= REQUEST_LIMIT {
            shared
                .overflowed
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        let seq = requests.len();
        requests.push(UpstreamRequest {
            seq,
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            headers: crate::header_pairs(&headers)
                .into_iter()
                .map(|(n, v)| (n, crate::cut_text(&v, crate::RECORD_CAP)))
                .collect(),
            body: crate::cut_text(&String::from_utf8_lossy(&body), crate::RECORD_CAP),
            status: 0,
            claims: token
                .as_deref()
                .and_then(jws::decode)
                .map(|d| Value::Object(d.claims)),
            token: token.clone(),
        });
        seq
    };
    shared.changed.send_modify(|n| *n += 1);
    let response = answer(&shared, &method, uri.path(), token.as_deref(), &body);
    if let Some(request) = shared.requests().get_mut(seq) {
        request.status = response.status().as_u16();
    }
    shared.changed.send_modify(|n| *n += 1);
    response
}

fn answer(
    shared: &Shared,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Response {
    let needed = match path {
        "/api/digest" if method == Method::GET => READ_SCOPE,
        "/api/send" if method == Method::POST => WRITE_SCOPE,
        "/api/digest" | "/api/send" => return StatusCode::METHOD_NOT_ALLOWED.into_response(),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Some(token) = token else {
        return unauthorized("Bearer realm=\"upstream\"".to_owned());
    };
    let claims = match validate(shared, token) {
        Ok(claims) => claims,
        Err(why) => {
            tracing::info!(token = %jws::redact(token), %why, "upstream: token refused");
            return unauthorized(format!(
                "Bearer realm=\"upstream\", error=\"invalid_token\", error_description=\"{why}\""
            ));
        }
    };
    let has_scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .is_some_and(|s| s.split(' ').any(|t| t == needed));
    if !has_scope {
        let challenge =
            format!("Bearer realm=\"upstream\", error=\"insufficient_scope\", scope=\"{needed}\"");
        return (
            StatusCode::FORBIDDEN,
            [(header::WWW_AUTHENTICATE, challenge)],
            Json(json!({"error": "insufficient_scope", "scope": needed})),
        )
            .into_response();
    }
    let sub = claims.get("sub").cloned().unwrap_or(Value::Null);
    if needed == READ_SCOPE {
        return Json(json!({
            "sub": sub,
            "digest": ["Buy milk", "Call the bank"],
        }))
        .into_response();
    }
    let Ok(message) = serde_json::from_slice::<Value>(body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "body must be JSON {to, body}"})),
        )
            .into_response();
    };
    let (Some(to), Some(text)) = (
        message.get("to").and_then(Value::as_str),
        message.get("body").and_then(Value::as_str),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "`to` and `body` are required strings"})),
        )
            .into_response();
    };
    (
        StatusCode::CREATED,
        Json(json!({"sent": true, "from": sub, "to": to, "length": text.len()})),
    )
        .into_response()
}

fn unauthorized(challenge: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
    )
        .into_response()
}

/// RS256 with a key of the JWKS (by `kid` when the header names one), `iss` exact, `exp`
/// (and `nbf`) without leeway, `aud` containing the resource.
fn validate(shared: &Shared, token: &str) -> Result<serde_json::Map<String, Value>, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("not a JWT: {e}"))?;
    if header.alg != Algorithm::RS256 {
        return Err(format!("alg {:?} is not RS256", header.alg));
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.set_issuer(&[shared.issuer.as_str()]);
    validation.set_audience(&[shared.resource.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let candidates = shared
        .keys
        .iter()
        .filter(|(kid, _)| header.kid.is_none() || kid.is_none() || *kid == header.kid);
    let mut last = "no key of the JWKS matches the token's kid".to_owned();
    for (_, key) in candidates {
        match jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}
