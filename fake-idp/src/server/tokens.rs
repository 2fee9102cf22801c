//! `POST /token`: authorization_code (+PKCE S256), refresh_token (rotation, family revocation
//! on replay) and client_credentials.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::clients::{AuthFailure, ClientAuth};
use super::{
    no_store, oauth_error, parse_form, scope_tokens, AsState, RefreshGrant,
    ACCESS_TOKEN_LIFETIME_SECS, OIDC_SCOPES,
};
use crate::jws::{b64, redact};
use crate::token::{Audience, TokenSpec};
use crate::users::User;

type Form = HashMap<String, String>;

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

pub(super) async fn token(
    State(state): State<AsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.events().record_token_request();
    let form = parse_form(&body);
    let client = match state.authenticate_client(&headers, &form) {
        Ok(c) => c,
        Err(AuthFailure::Missing) => {
            return invalid_request("client_id or client authentication is required")
        }
        Err(AuthFailure::Invalid(why)) => {
            let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fake-idp\""),
            );
            return r;
        }
    };
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => authorization_code(&state, &client, &form),
        Some("refresh_token") => refresh_token(&state, &client, &form),
        Some("client_credentials") => client_credentials(&state, &client, &form),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type",
        ),
        None => invalid_request("grant_type is required"),
    }
}

/// PKCE S256 (RFC 7636 §4.6), with the verifier syntax of §4.1.
pub(crate) fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    let syntax = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    syntax && b64(&Sha256::digest(verifier.as_bytes())) == challenge
}

/// requested ∩ user permissions ∪ OIDC scopes; no request grants all the user's permissions.
fn granted_scope(requested: Option<&str>, user: &User) -> String {
    match requested {
        None => user.permissions.join(" "),
        Some(requested) => scope_tokens(requested)
            .filter(|s| user.permissions.iter().any(|p| p == s) || OIDC_SCOPES.contains(s))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn authorization_code(state: &AsState, client: &ClientAuth, form: &Form) -> Response {
    let Some(code) = form.get("code") else {
        return invalid_request("code is required");
    };
    // Single use: the code is gone whatever happens next.
    let Some(grant) = state.store().codes.remove(code) else {
        tracing::info!(code = %redact(code), "unknown or used authorization code");
        return invalid_grant("authorization code is invalid, expired or already used");
    };
    if grant.expires_at <= state.minter().now() {
        return invalid_grant("authorization code expired");
    }
    if grant.client_id != client.client_id() {
        return invalid_grant("authorization code was issued to another client");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return invalid_grant("redirect_uri does not match the authorization request");
    }
    let Some(verifier) = form.get("code_verifier") else {
        return invalid_grant("code_verifier is required");
    };
    if !pkce_ok(verifier, &grant.code_challenge) {
        return invalid_grant("PKCE verification failed");
    }
    if let Some(resource) = form.get("resource") {
        if grant.resource.as_ref() != Some(resource) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "resource differs from the authorization request",
            );
        }
    }
    let Some(user) = state.inner.users.get(&grant.user).cloned() else {
        return invalid_grant("user no longer exists");
    };
    let scope = granted_scope(grant.scope.as_deref(), &user);
    let family = state.minter().random_token(16);
    issue(
        state,
        &user,
        client.client_id(),
        grant.resource,
        scope,
        family,
        grant.nonce.as_deref(),
    )
}

fn refresh_token(state: &AsState, client: &ClientAuth, form: &Form) -> Response {
    let Some(presented) = form.get("refresh_token") else {
        return invalid_request("refresh_token is required");
    };
    let grant = {
        let mut store = state.store();
        let Some(grant) = store.refresh.get_mut(presented) else {
            return invalid_grant("unknown refresh token");
        };
        if grant.client_id != client.client_id() {
            return invalid_grant("refresh token was issued to another client");
        }
        if grant.used {
            let family = grant.family.clone();
            tracing::warn!(token = %redact(presented), "refresh token replay: revoking family");
            store.revoked_families.insert(family);
            return invalid_grant("refresh token already used; token family revoked");
        }
        grant.used = true;
        let grant = grant.clone();
        if store.revoked_families.contains(&grant.family) {
            return invalid_grant("refresh token revoked");
        }
        grant
    };
    if let Some(resource) = form.get("resource") {
        if grant.resource.as_ref() != Some(resource) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "resource differs from the original grant",
            );
        }
    }
    let scope = match form.get("scope") {
        None => grant.scope.clone(),
        Some(requested) => {
            let original: Vec<&str> = scope_tokens(&grant.scope).collect();
            if scope_tokens(requested).any(|s| !original.contains(&s)) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "scope exceeds the original grant",
                );
            }
            scope_tokens(requested).collect::<Vec<_>>().join(" ")
        }
    };
    let Some(user) = state.inner.users.get(&grant.user).cloned() else {
        return invalid_grant("user no longer exists");
    };
    issue(
        state,
        &user,
        &grant.client_id,
        grant.resource,
        scope,
        grant.family,
        None,
    )
}

fn client_credentials(state: &AsState, client: &ClientAuth, form: &Form) -> Response {
    let ClientAuth::Confidential(client_id) = client else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "client_credentials requires a confidential client",
        );
    };
    let audience = form
        .get("resource")
        .cloned()
        .or_else(|| state.inner.default_audience.clone());
    let spec = TokenSpec {
        sub: client_id.clone(),
        roles: Vec::new(),
        permissions: Vec::new(),
        audience: audience.map_or(Audience::Absent, Audience::One),
        scope: form.get("scope").cloned(),
        client_id: client_id.clone(),
        lifetime_secs: ACCESS_TOKEN_LIFETIME_SECS,
    };
    let access_token = state.minter().mint(&spec);
    let mut body = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
    });
    if let Some(scope) = spec.scope {
        body["scope"] = json!(scope);
    }
    token_response(body)
}

fn token_response(body: Value) -> Response {
    let mut response = (StatusCode::OK, Json(body)).into_response();
    no_store(response.headers_mut());
    response
}

/// Mints the access token (and refresh token, and ID token for `openid`) of a user grant.
fn issue(
    state: &AsState,
    user: &User,
    client_id: &str,
    resource: Option<String>,
    scope: String,
    family: String,
    nonce: Option<&str>,
) -> Response {
    let audience = resource
        .clone()
        .or_else(|| state.inner.default_audience.clone());
    let spec = TokenSpec {
        sub: user.sub.clone(),
        roles: vec![user.role.clone()],
        permissions: user.permissions.clone(),
        audience: audience.map_or(Audience::Absent, Audience::One),
        scope: Some(scope.clone()),
        client_id: client_id.to_owned(),
        lifetime_secs: ACCESS_TOKEN_LIFETIME_SECS,
    };
    let minter = state.minter();
    let access_token = minter.mint(&spec);
    let refresh_token = minter.random_token(32);
    state.store().refresh.insert(
        refresh_token.clone(),
        RefreshGrant {
            family,
            client_id: client_id.to_owned(),
            user: user.name.clone(),
            resource,
            scope: scope.clone(),
            used: false,
        },
    );
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
        "scope": scope,
        "refresh_token": refresh_token,
    });
    if scope_tokens(&scope).any(|s| s == "openid") {
        body["id_token"] = json!(minter.mint_id_token(&user.sub, client_id, nonce));
    }
    token_response(body)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::users::Users;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[rstest]
    #[case::rfc7636_appendix_b(VERIFIER, true)]
    #[case::wrong_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", false)]
    #[case::challenge_as_verifier(CHALLENGE, false)]
    #[case::too_short("abc", false)]
    fn pkce_s256_verification(#[case] verifier: &str, #[case] ok: bool) {
        assert_eq!(pkce_ok(verifier, CHALLENGE), ok);
    }

    #[rstest]
    #[case::none_requested_grants_permissions("bob", None, "todo:read")]
    #[case::write_dropped_for_bob("bob", Some("todo:read todo:write"), "todo:read")]
    #[case::oidc_kept("alice", Some("openid todo:write admin"), "openid todo:write")]
    fn scope_is_requested_intersect_permissions(
        #[case] user: &str,
        #[case] requested: Option<&str>,
        #[case] expected: &str,
    ) {
        let users = Users::fixture();
        assert_eq!(granted_scope(requested, users.get(user).unwrap()), expected);
    }
}
