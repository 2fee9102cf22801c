//! RFC 7591 dynamic client registration (minimal).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::clients::acceptable_redirect_uri;
use super::target::AsDefect;
use super::{no_store, oauth_error, AsState, RegisteredClient};

/// A registration request that passed the checks every registration endpoint makes.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    /// The client metadata as sent.
    pub(crate) meta: Map<String, Value>,
    /// Its `redirect_uris`: non-empty, each https or loopback http.
    pub(crate) redirect_uris: Vec<String>,
}

impl Registration {
    /// The RFC 7591 §3.2.1 answer: the metadata as sent, with what the AS assigned (`client_id`, issue time,
    /// auth method, a secret for confidential clients) and the grant and response types it defaults.
    pub(crate) fn answer(
        &self,
        client_id: &str,
        issued_at: i64,
        method: &str,
        secret: Option<&str>,
    ) -> Map<String, Value> {
        let mut answer = self.meta.clone();
        answer.insert("client_id".into(), json!(client_id));
        answer.insert("client_id_issued_at".into(), json!(issued_at));
        answer.insert("redirect_uris".into(), json!(self.redirect_uris));
        answer.insert("token_endpoint_auth_method".into(), json!(method));
        answer
            .entry("grant_types")
            .or_insert(json!(["authorization_code", "refresh_token"]));
        answer.entry("response_types").or_insert(json!(["code"]));
        if let Some(secret) = secret {
            answer.insert("client_secret".into(), json!(secret));
            answer.insert("client_secret_expires_at".into(), json!(0));
        }
        answer
    }
}

/// The string members of client metadata's `redirect_uris` (empty when absent or not an array).
pub(crate) fn redirect_uris_of(meta: &Map<String, Value>) -> Vec<String> {
    meta.get("redirect_uris")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Why a registration request was refused: `(error, error_description)` per RFC 7591 §3.2.2.
pub(crate) type RegistrationError = (&'static str, String);

/// Parses an RFC 7591 registration body: a JSON object with acceptable `redirect_uris`.
pub(crate) fn parse_registration(body: &[u8]) -> Result<Registration, RegistrationError> {
    parse_registration_with(body, true)
}

/// [`parse_registration`], optionally without the redirect URI policy (target defect
/// `dcr-accept-any-redirect`).
fn parse_registration_with(
    body: &[u8],
    check_redirects: bool,
) -> Result<Registration, RegistrationError> {
    let Ok(Value::Object(meta)) = serde_json::from_slice::<Value>(body) else {
        return Err((
            "invalid_client_metadata",
            "body must be a JSON object".to_owned(),
        ));
    };
    let redirect_uris = redirect_uris_of(&meta);
    if redirect_uris.is_empty() {
        return Err((
            "invalid_redirect_uri",
            "redirect_uris is required".to_owned(),
        ));
    }
    if let Some(bad) = redirect_uris
        .iter()
        .find(|u| check_redirects && !acceptable_redirect_uri(u))
    {
        return Err((
            "invalid_redirect_uri",
            format!("redirect URI `{bad}` must be https or loopback http"),
        ));
    }
    Ok(Registration {
        meta,
        redirect_uris,
    })
}

pub(super) async fn register(State(state): State<AsState>, body: Bytes) -> Response {
    let registration =
        match parse_registration_with(&body, !state.defect(AsDefect::DcrAcceptAnyRedirect)) {
            Ok(r) => r,
            Err((error, description)) => {
                return oauth_error(StatusCode::BAD_REQUEST, error, &description)
            }
        };
    let method = registration
        .meta
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .unwrap_or("client_secret_basic")
        .to_owned();
    if !["none", "client_secret_basic", "client_secret_post"].contains(&method.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_metadata",
            "unsupported token_endpoint_auth_method",
        );
    }
    let minter = state.minter();
    let client_id = format!("dcr-{}", minter.random_token(12));
    let secret = (method != "none").then(|| minter.random_token(24));
    let redirect_uris = registration.redirect_uris.clone();
    let client = match &secret {
        Some(s) => RegisteredClient::confidential(&client_id, s, redirect_uris),
        None => RegisteredClient::public(&client_id, redirect_uris),
    };
    state.register_client(client);
    let answer = registration.answer(&client_id, minter.now(), &method, secret.as_deref());
    let status = if state.defect(AsDefect::DcrStatus200) {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(Value::Object(answer))).into_response();
    no_store(response.headers_mut());
    response
}
