//! RFC 9728 protected resource metadata, served at the path-inserted well-known URL.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::{endpoint, AppState, ServerDefect};

/// `GET /.well-known/oauth-protected-resource/mcp`.
pub(crate) async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let s = &state.settings;
    if s.has(ServerDefect::NoResourceMetadata) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if s.has(ServerDefect::PrmRequiresAuth) {
        let (parts, _) = request.into_parts();
        if let Err(rejection) = endpoint::authenticate(&state, &parts).await {
            return rejection.into_response(&state);
        }
    }
    let body = serde_json::to_string(&document(&state)).unwrap_or_default();
    let content_type = if s.has(ServerDefect::PrmWrongContentType) {
        "text/plain"
    } else {
        "application/json"
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The metadata document, shaped by the configured defect.
fn document(state: &AppState) -> Value {
    let s = &state.settings;
    let resource = if s.has(ServerDefect::PrmWrongResource) {
        s.public_base.clone()
    } else if s.has(ServerDefect::PrmResourceFragment) {
        format!("{}#mcp", s.resource)
    } else if s.has(ServerDefect::PrmResourceTrailingSlash) {
        format!("{}/", s.resource)
    } else {
        s.resource.clone()
    };
    let mut doc = Map::new();
    doc.insert("resource".into(), json!(resource));
    if !s.has(ServerDefect::PrmNoAuthorizationServers) {
        doc.insert(
            "authorization_servers".into(),
            json!([s.authorization_server]),
        );
    }
    if !s.has(ServerDefect::PrmNoScopesSupported) && !s.scopes_supported.is_empty() {
        let mut scopes = s.scopes_supported.clone();
        if s.has(ServerDefect::OfflineAccessInPrm) {
            scopes.push("offline_access".into());
        }
        doc.insert("scopes_supported".into(), json!(scopes));
    }
    let bearer_methods = if s.has(ServerDefect::PrmBadBearerMethod) {
        json!(["header", "cookie"])
    } else if s.has(ServerDefect::PrmAdvertisesQuery) {
        json!(["header", "query"])
    } else {
        json!(["header"])
    };
    doc.insert("bearer_methods_supported".into(), bearer_methods);
    doc.insert("resource_name".into(), json!("To-Do MCP server"));
    if s.has(ServerDefect::PrmEmptyMembers) {
        doc.insert("resource_signing_alg_values_supported".into(), json!([]));
        doc.insert("resource_documentation".into(), Value::Null);
    }
    Value::Object(doc)
}
