//! `GET /authorize`: validates the request and auto-approves the user with an immediate 302.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use url::Url;

use super::cimd::is_cimd_client_id;
use super::{scope_tokens, AsState, CodeGrant, CODE_LIFETIME_SECS};

/// An error shown to the user agent (never a redirect): the client or redirect URI is bad.
fn error_page(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// A 302 to `redirect_uri` with `params` and `iss` appended to its query.
fn redirect(redirect_uri: &str, params: &[(&str, &str)], issuer: &str) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page("invalid_request", "redirect_uri is not a URL");
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        query.append_pair("iss", issuer);
    }
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

pub(super) async fn authorize(
    State(state): State<AsState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    state.events().record_authorize_request();
    let Some(client_id) = q.get("client_id") else {
        return error_page("invalid_request", "client_id is required");
    };
    let client = match state.client(client_id) {
        Some(c) => c,
        None if is_cimd_client_id(client_id) => match state.resolve_cimd(client_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(client_id, error = %e, "CIMD client refused");
                return error_page("invalid_client", &e.to_string());
            }
        },
        None => return error_page("invalid_client", "unknown client_id"),
    };
    let Some(redirect_uri) = q.get("redirect_uri") else {
        return error_page("invalid_request", "redirect_uri is required");
    };
    if !client.allows_redirect(redirect_uri) {
        return error_page(
            "invalid_request",
            "redirect_uri is not registered for this client",
        );
    }
    let issuer = state.issuer().to_owned();
    let state_param = q.get("state").map(String::as_str);
    let fail = |error: &str, description: &str| {
        let mut params = vec![("error", error), ("error_description", description)];
        if let Some(s) = state_param {
            params.push(("state", s));
        }
        redirect(redirect_uri, &params, &issuer)
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return fail(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let Some(code_challenge) = q.get("code_challenge") else {
        return fail("invalid_request", "code_challenge is required (PKCE)");
    };
    if q.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return fail("invalid_request", "code_challenge_method must be S256");
    }
    if code_challenge.len() != 43 {
        return fail(
            "invalid_request",
            "code_challenge must be a base64url SHA-256",
        );
    }
    if let Some(resource) = q.get("resource") {
        let ok = Url::parse(resource).is_ok_and(|u| u.fragment().is_none());
        if !ok {
            return fail(
                "invalid_target",
                "resource must be an absolute URI without fragment",
            );
        }
    }
    let user = q
        .get("login_hint")
        .cloned()
        .unwrap_or_else(|| state.inner.default_user.clone());
    if state.inner.users.get(&user).is_none() {
        return fail("access_denied", "unknown user");
    }
    let scope = q
        .get("scope")
        .map(|s| scope_tokens(s).collect::<Vec<_>>().join(" "));
    let code = state.minter().random_token(32);
    let grant = CodeGrant {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.clone(),
        resource: q.get("resource").cloned(),
        scope,
        user,
        code_challenge: code_challenge.clone(),
        nonce: q.get("nonce").cloned(),
        expires_at: state.minter().now() + CODE_LIFETIME_SECS,
    };
    state.store().codes.insert(code.clone(), grant);
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = state_param {
        params.push(("state", s));
    }
    redirect(redirect_uri, &params, &issuer)
}
