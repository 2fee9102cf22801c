//! On-behalf-of calls to the upstream API (docs/obo.md §3): an RFC 8693 token exchange of the
//! caller's token at the authorization server's token endpoint (actor = the introspection client,
//! `client_secret_basic`), then the upstream request with the exchanged token only.
//!
//! Every failure becomes a message for an `isError` tool result; nothing here panics.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::http::FetchError;
use super::{AppState, ServerDefect, SCOPE_READ, SCOPE_WRITE};

const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// An upstream operation offered as a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `GET {upstream}/digest`, needs `todo:read` upstream.
    Digest,
    /// `POST {upstream}/send`, needs `todo:write` upstream.
    Send,
}

impl Operation {
    /// The scope the exchange asks for.
    fn exchange_scope(self, state: &AppState) -> String {
        match self {
            Operation::Digest if state.settings.has(ServerDefect::ExchangeExcessScope) => {
                format!("{SCOPE_READ} {SCOPE_WRITE}")
            }
            Operation::Digest => SCOPE_READ.to_owned(),
            Operation::Send => SCOPE_WRITE.to_owned(),
        }
    }
}

/// Runs `operation` for the caller whose bearer token is `caller_token`. `Ok` is the upstream's
/// body; `Err` a message for a tool error result.
pub(crate) async fn call(
    state: &AppState,
    caller_token: Option<&str>,
    operation: Operation,
    arguments: &Value,
) -> Result<String, String> {
    let s = &state.settings;
    let upstream = s
        .upstream
        .as_deref()
        .ok_or_else(|| "no upstream API is configured".to_owned())?;
    let token = if s.has(ServerDefect::PassthroughUserToken) {
        caller_token
            .ok_or_else(|| "no caller token to pass on".to_owned())?
            .to_owned()
    } else if s.has(ServerDefect::UpstreamWithServerCredentials) {
        server_token(state, upstream).await?
    } else {
        let subject = caller_token.ok_or_else(|| "no caller token to exchange".to_owned())?;
        exchange(state, subject, upstream, &operation.exchange_scope(state)).await?
    };
    let result = match operation {
        Operation::Digest => {
            state
                .http
                .get_bearer(&format!("{upstream}/digest"), &token)
                .await
        }
        Operation::Send => {
            let body = json!({
                "to": arguments.get("to").cloned().unwrap_or(Value::Null),
                "body": arguments.get("body").cloned().unwrap_or(Value::Null),
            });
            state
                .http
                .post_json_bearer(&format!("{upstream}/send"), &token, &body)
                .await
        }
    };
    let (status, body) = result.map_err(|e| format!("upstream request failed: {e}"))?;
    let text = String::from_utf8_lossy(&body).into_owned();
    if status.is_success() {
        Ok(text)
    } else {
        Err(format!("upstream answered {status}: {text}"))
    }
}

/// RFC 8693 token exchange: the caller's token for one with `audience` = the upstream.
async fn exchange(
    state: &AppState,
    subject_token: &str,
    upstream: &str,
    scope: &str,
) -> Result<String, String> {
    let s = &state.settings;
    let audience = if s.has(ServerDefect::ExchangeWrongAudience) {
        s.resource.as_str()
    } else {
        upstream
    };
    token_request(
        state,
        &[
            ("grant_type", GRANT_TOKEN_EXCHANGE),
            ("subject_token", subject_token),
            ("subject_token_type", TOKEN_TYPE_ACCESS_TOKEN),
            ("audience", audience),
            ("scope", scope),
        ],
        "token exchange",
    )
    .await
}

/// [`ServerDefect::UpstreamWithServerCredentials`]: the server's own broad token.
async fn server_token(state: &AppState, upstream: &str) -> Result<String, String> {
    let scope = format!("{SCOPE_READ} {SCOPE_WRITE}");
    token_request(
        state,
        &[
            ("grant_type", "client_credentials"),
            ("scope", &scope),
            ("resource", upstream),
        ],
        "client_credentials grant",
    )
    .await
}

/// POSTs `form` to the token endpoint with the server's client credentials and returns
/// `access_token`, or a message naming the OAuth error.
async fn token_request(
    state: &AppState,
    form: &[(&str, &str)],
    what: &str,
) -> Result<String, String> {
    let s = &state.settings;
    let client = s
        .introspection
        .as_ref()
        .ok_or_else(|| format!("{what} failed: {}", FetchError::NoClientCredentials))?;
    let (status, body) = state
        .http
        .post_form_basic_any(
            &s.token_endpoint,
            form,
            &client.client_id,
            &client.client_secret,
        )
        .await
        .map_err(|e| format!("{what} failed: {e}"))?;
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if status != StatusCode::OK {
        let error = field("error").unwrap_or_else(|| "unknown_error".to_owned());
        let description = field("error_description")
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        return Err(format!("{what} refused ({status}): {error}{description}"));
    }
    field("access_token")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("{what} failed: the response carries no access_token"))
}
