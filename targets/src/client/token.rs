//! The token endpoint (OAuth 2.1 §3.2, §4.1.3, §4.3): authorization-code redemption and refresh,
//! form-encoded POST with the client's authentication method. Unknown response members are
//! ignored and tokens may have any length.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::Method;
use serde_json::Value;

use super::defects::{ClientDefect, DefectExt as _};
use super::dpop::{Dpop, Party};
use super::error::ClientError;
use super::http::Http;
use super::registration::{ClientAuth, ClientRegistration};

/// A bearer or refresh token; prints as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The token itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A successful token response (RFC 6749 §5.1); other members are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// `access_token`.
    pub access_token: Token,
    /// `refresh_token`.
    pub refresh_token: Option<Token>,
    /// `scope` (granted scope, when the AS says).
    pub scope: Option<String>,
    /// `token_type` (`DPoP` for a DPoP-bound token, RFC 9449 §5).
    pub token_type: Option<String>,
}

/// Members a token response may carry that `strict-token-response` tolerates.
const KNOWN_MEMBERS: &[&str] = &[
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "scope",
];

impl TokenResponse {
    /// Parses a 200 body leniently (only `access_token` is required).
    pub fn parse(body: &[u8], defect: Option<ClientDefect>) -> Result<Self, ClientError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ClientError::Token(format!("the token response is not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| ClientError::Token("the token response is not a JSON object".into()))?;
        let text = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let access_token = text("access_token")
            .ok_or_else(|| ClientError::Token("the token response has no access_token".into()))?;
        if defect.is(ClientDefect::StrictTokenResponse) {
            if let Some(unknown) = object.keys().find(|k| !KNOWN_MEMBERS.contains(&k.as_str())) {
                return Err(ClientError::Token(format!(
                    "unexpected token response member `{unknown}`"
                )));
            }
            if access_token.len() > 1024 {
                return Err(ClientError::Token("access token longer than 1 KiB".into()));
            }
        }
        Ok(Self {
            access_token: Token(access_token),
            refresh_token: text("refresh_token").map(Token),
            scope: text("scope"),
            token_type: text("token_type"),
        })
    }
}

/// What the token endpoint said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenOutcome {
    /// 200 with a usable token.
    Issued(TokenResponse),
    /// An error response (RFC 6749 §5.2).
    Refused { status: u16, error: Option<String> },
}

/// `Authorization: Basic` value for client_secret_basic (RFC 6749 §2.3.1: form-encode first).
pub fn basic_credentials(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret)))
    )
}

/// POSTs one grant. `params` holds the grant's own parameters; client authentication is added
/// here (`client_id` in the body for public clients when `send_client_id`).
pub(crate) async fn token_request(
    http: &Http,
    endpoint: &str,
    mut params: Vec<(&'static str, String)>,
    registration: &ClientRegistration,
    send_client_id: bool,
    defect: Option<ClientDefect>,
    dpop: Option<&Dpop>,
) -> Result<TokenOutcome, ClientError> {
    let mut request = http
        .request(Method::POST, endpoint)
        .header(reqwest::header::ACCEPT, "application/json");
    match (registration.auth, &registration.secret) {
        (ClientAuth::Basic, Some(secret)) => {
            request = request.header(
                reqwest::header::AUTHORIZATION,
                basic_credentials(&registration.client_id, secret.expose()),
            );
        }
        (ClientAuth::Post, Some(secret)) => {
            params.push(("client_id", registration.client_id.clone()));
            params.push(("client_secret", secret.expose().to_owned()));
        }
        _ => {
            if send_client_id {
                params.push(("client_id", registration.client_id.clone()));
            }
        }
    }
    request = if defect.is(ClientDefect::JsonTokenRequest) {
        let body: serde_json::Map<String, Value> = params
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect();
        request.json(&body)
    } else {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        request
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
    };
    let mut response = None;
    for _ in 0..2 {
        let mut attempt = request
            .try_clone()
            .ok_or_else(|| ClientError::Token("the token request cannot be repeated".into()))?;
        if let Some(proof) = dpop.and_then(|d| d.token_proof(endpoint)) {
            attempt = attempt.header("DPoP", proof);
        }
        let answer = http.send("token request", endpoint, attempt).await?;
        // RFC 9449 §8: a use_dpop_nonce answer names the nonce to put in the next proof.
        let challenged = answer.status == 400
            && answer
                .json::<Value>()
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .as_deref()
                == Some("use_dpop_nonce");
        let retry = match (dpop, answer.header("dpop-nonce")) {
            (Some(d), Some(nonce)) => {
                d.set_nonce(Party::As, &nonce);
                challenged && d.honours_nonce(Party::As)
            }
            _ => false,
        };
        response = Some(answer);
        if !retry {
            break;
        }
    }
    let response = response.ok_or_else(|| ClientError::Token("no token response".into()))?;
    if response.status == 200 {
        return Ok(TokenOutcome::Issued(TokenResponse::parse(
            &response.body,
            defect,
        )?));
    }
    let error = response
        .json::<Value>()
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned));
    Ok(TokenOutcome::Refused {
        status: response.status,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_parse_ignores_unknown_members_and_long_tokens() {
        let long = "a".repeat(4096);
        let body = format!(
            r#"{{"access_token":"{long}","token_type":"Bearer","x_extra":{{"a":1}},"refresh_token":"r"}}"#
        );
        let t = TokenResponse::parse(body.as_bytes(), None).unwrap();
        assert_eq!(t.access_token.expose().len(), 4096);
        assert_eq!(t.refresh_token, Some(Token::new("r")));
        assert!(
            TokenResponse::parse(body.as_bytes(), Some(ClientDefect::StrictTokenResponse)).is_err()
        );
        assert!(TokenResponse::parse(br#"{"token_type":"Bearer"}"#, None).is_err());
    }

    #[test]
    fn basic_credentials_form_encode_first() {
        // "a b:c" / "p@ss" → "a+b%3Ac:p%40ss"
        assert_eq!(
            basic_credentials("a b:c", "p@ss"),
            format!("Basic {}", STANDARD.encode("a+b%3Ac:p%40ss"))
        );
    }
}
