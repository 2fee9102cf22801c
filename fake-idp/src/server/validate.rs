//! The AS's own view of its tokens: RFC 7662 introspection, RFC 7009 revocation, userinfo.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{basic_credentials, bearer_token, no_store, parse_form, AsState};
use crate::jws;

/// Claims copied into an active introspection answer.
const INTROSPECTED_CLAIMS: [&str; 12] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "client_id",
    "scope",
    "roles",
    "permissions",
    "jti",
    // A DPoP-bound token's binding (RFC 9449 §6.2).
    "cnf",
];

impl AsState {
    /// The claims of `token` when it is a live access token of this AS: RS256 with the AS key,
    /// `typ` at+jwt, `iss` = issuer, within `nbf`/`exp`, not revoked. The audience is NOT
    /// checked: that is the resource server's job.
    pub fn active_claims(&self, token: &str) -> Option<Map<String, Value>> {
        self.verified_claims(token, true)
    }

    /// [`AsState::active_claims`], with the `exp` check optional (target defect
    /// `exchange-accepts-expired-subject`).
    pub(crate) fn verified_claims(
        &self,
        token: &str,
        check_liveness: bool,
    ) -> Option<Map<String, Value>> {
        let decoded = jws::decode(token)?;
        let key = self.minter().key();
        let header = &decoded.header;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return None;
        }
        if header
            .get("kid")
            .is_some_and(|k| k.as_str() != Some(key.kid()))
        {
            return None;
        }
        let typ = header
            .get("typ")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
            return None;
        }
        if !key.verify_rs256(decoded.signing_input.as_bytes(), &decoded.signature) {
            return None;
        }
        let claims = decoded.claims;
        let now = self.minter().now();
        if claims.get("iss").and_then(Value::as_str) != Some(self.minter().issuer()) {
            return None;
        }
        let exp = claims.get("exp").and_then(Value::as_i64)?;
        if check_liveness && exp <= now {
            return None;
        }
        if claims
            .get("nbf")
            .is_some_and(|nbf| nbf.as_i64().is_none_or(|nbf| nbf > now))
        {
            return None;
        }
        let jti = claims.get("jti").and_then(Value::as_str);
        if check_liveness && self.is_revoked(token, jti) {
            return None;
        }
        Some(claims)
    }
}

fn json_no_store(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    no_store(response.headers_mut());
    response
}

pub(super) async fn introspect(
    State(state): State<AsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.events().record_introspection();
    let authenticated = basic_credentials(&headers).is_some_and(|(id, secret)| {
        state
            .client(&id)
            .is_some_and(|c| c.client_secret.as_deref() == Some(secret.as_str()))
    });
    if !authenticated {
        let mut r = json_no_store(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "introspection requires client_secret_basic"}),
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"fake-idp\""),
        );
        return r;
    }
    let form = parse_form(&body);
    let Some(token) = form.get("token") else {
        return json_no_store(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "error_description": "token is required"}),
        );
    };
    let Some(claims) = state.active_claims(token) else {
        tracing::debug!(token = %jws::redact(token), "introspection: inactive");
        return json_no_store(StatusCode::OK, json!({"active": false}));
    };
    let mut answer = Map::new();
    answer.insert("active".into(), json!(true));
    let token_type = if claims.contains_key("cnf") {
        "DPoP"
    } else {
        "Bearer"
    };
    answer.insert("token_type".into(), json!(token_type));
    for name in INTROSPECTED_CLAIMS {
        if let Some(v) = claims.get(name) {
            answer.insert(name.into(), v.clone());
        }
    }
    json_no_store(StatusCode::OK, Value::Object(answer))
}

pub(super) async fn revoke(State(state): State<AsState>, body: Bytes) -> Response {
    if let Some(token) = parse_form(&body).get("token") {
        state.revoke(token);
    }
    StatusCode::OK.into_response()
}

pub(super) async fn userinfo(State(state): State<AsState>, headers: HeaderMap) -> Response {
    let claims = bearer_token(&headers).and_then(|t| state.active_claims(&t));
    let Some(claims) = claims else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = state
        .inner
        .users
        .by_sub(sub)
        .map_or(sub, |u| u.name.as_str());
    json_no_store(StatusCode::OK, json!({"sub": sub, "name": name}))
}
