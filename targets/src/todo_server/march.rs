//! The MCP 2025-03-26 shape (`--spec-version 2025-03-26`): the server is its own authorization server at its
//! origin. It serves RFC 8414 metadata at the origin root (`issuer` the origin, the MCP path discarded: MCP
//! 2025-03-26 "Authorization Base URL") and the default endpoints `/authorize`, `/token` and `/register` there,
//! delegating to the configured authorization server (MCP 2025-03-26 "Third-Party Authorization Flow"):
//! `/authorize` redirects to it, `/token` and `/register` forward to it. It publishes no protected resource
//! metadata, which 2025-03-26 does not know.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;

use super::challenge::{plain_error, unavailable};
use super::{AppState, ServerDefect, Settings, MCP_PATH};

/// RFC 8414 §3: the well-known suffix, inserted before the (here discarded) path of the issuer.
pub(crate) const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The authorization server's routes at the origin, as the configured defect leaves them.
pub(crate) fn routes(router: Router<Arc<AppState>>, s: &Settings) -> Router<Arc<AppState>> {
    if s.has(ServerDefect::MarchNoDefaultEndpoints) {
        return router;
    }
    let metadata_path = if s.has(ServerDefect::MarchMetadataAtMcpPath) {
        format!("{METADATA_PATH}{MCP_PATH}")
    } else {
        METADATA_PATH.to_owned()
    };
    router
        .route(&metadata_path, get(metadata))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/register", post(register))
}

/// `GET /.well-known/oauth-authorization-server`: the server's own metadata, its endpoints at its origin.
async fn metadata(State(state): State<Arc<AppState>>) -> Response {
    let s = &state.settings;
    let base = &s.public_base;
    let issuer = if s.has(ServerDefect::MarchIssuerWithPath) {
        &s.resource
    } else {
        base
    };
    axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "registration_endpoint": format!("{base}/register"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "scopes_supported": s.scopes_supported,
    }))
    .into_response()
}

/// `GET /authorize`: a request naming its client and response type goes on to the delegated authorization
/// server's login with its query unchanged; any other is refused here. RFC 6749 §4.1.2.1: without a valid client
/// (and so no redirect URI to trust) the error is shown to the user agent, not redirected.
async fn authorize(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let Some(delegate) = &state.settings.own_as else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let query = query.unwrap_or_default();
    let named = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == name && !v.is_empty())
    };
    if !named("client_id") || !named("response_type") {
        return plain_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and response_type are required",
        );
    }
    match HeaderValue::from_str(&format!("{}?{query}", delegate.authorization_endpoint)) {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err(_) => plain_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the query cannot be carried over",
        ),
    }
}

/// `POST /token`: forwarded to the delegated token endpoint.
async fn token(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let url = state.settings.token_endpoint.clone();
    forward(&state, &url, &headers, body).await
}

/// `POST /register`: forwarded to the delegated registration endpoint.
async fn register(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(url) = state
        .settings
        .own_as
        .as_ref()
        .map(|d| d.registration_endpoint.clone())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    forward(&state, &url, &headers, body).await
}

/// Forwards a POST with its content type and client authentication; answers with the delegate's status, content
/// type and body (`Cache-Control: no-store`, RFC 6749 §5.1), or 503 when the delegate cannot be reached.
async fn forward(state: &AppState, url: &str, headers: &HeaderMap, body: Bytes) -> Response {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let answer = state
        .http
        .forward_post(
            url,
            header(header::CONTENT_TYPE),
            header(header::AUTHORIZATION),
            body.to_vec(),
        )
        .await;
    match answer {
        Ok((status, content_type, body)) => {
            let mut response = (status, body).into_response();
            let h = response.headers_mut();
            if let Some(ct) = content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
                h.insert(header::CONTENT_TYPE, ct);
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(err) => unavailable(&err),
    }
}
