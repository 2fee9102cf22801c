//! Error responses and their `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9728 §5.1,
//! MCP §10.1.1).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::{MalformedAuthorization, TokenError};
use super::http::FetchError;
use super::{AppState, ServerDefect};

/// A `Bearer` challenge: auth-params in order, rendered as `Bearer k="v", ...`.
#[derive(Debug, Default)]
struct Challenge(Vec<(&'static str, String)>);

impl Challenge {
    fn param(mut self, name: &'static str, value: impl Into<String>) -> Challenge {
        self.0.push((name, value.into()));
        self
    }

    fn render(&self) -> HeaderValue {
        let mut out = String::from("Bearer");
        for (i, (name, value)) in self.0.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            // quoted-string content limited to RFC 6750's %x20-21 / %x23-5B / %x5D-7E.
            let value: String = value
                .chars()
                .map(|c| {
                    if (' '..='~').contains(&c) && c != '"' && c != '\\' {
                        c
                    } else {
                        ' '
                    }
                })
                .collect();
            out.push_str(&format!("{name}=\"{value}\""));
        }
        HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

fn with_challenge(
    status: StatusCode,
    challenge: &Challenge,
    error: &str,
    description: &str,
) -> Response {
    let body = json!({ "error": error, "error_description": description });
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, challenge.render());
    response
}

/// Why a request is answered 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unauthorized {
    /// No credentials were presented.
    NoToken,
    /// The presented token was refused.
    Invalid(TokenError),
}

/// 401 with the challenge the configuration calls for.
pub(crate) fn unauthorized(state: &AppState, why: &Unauthorized) -> Response {
    let s = &state.settings;
    let (error, description) = match why {
        Unauthorized::NoToken => ("unauthorized", "no access token".to_owned()),
        Unauthorized::Invalid(err) => ("invalid_token", err.to_string()),
    };
    let with_error = match why {
        Unauthorized::NoToken => s.has(ServerDefect::ErrorOnAnonymous),
        Unauthorized::Invalid(_) => !s.has(ServerDefect::InvalidTokenWithoutError),
    };
    let mut challenge = Challenge::default();
    if !s.has(ServerDefect::BareBearerChallenge) {
        if with_error {
            challenge = challenge
                .param("error", "invalid_token")
                .param("error_description", description.clone());
        }
        if s.publishes_prm() {
            challenge = challenge.param("resource_metadata", s.prm_url.clone());
        }
        if !s.has(ServerDefect::ChallengeWithoutScope) {
            let mut scope = s.scopes_supported.join(" ");
            if s.has(ServerDefect::OfflineAccessInChallenge) {
                scope.push_str(" offline_access");
            }
            challenge = challenge.param("scope", scope);
            if s.has(ServerDefect::DuplicateChallengeParams) {
                challenge = challenge.param("scope", s.scopes_supported.join(" "));
            }
        }
    }
    let mut response = with_challenge(StatusCode::UNAUTHORIZED, &challenge, error, &description);
    if matches!(
        why,
        Unauthorized::Invalid(TokenError::Dpop(_) | TokenError::BoundAsBearer)
    ) {
        // RFC 9449 §7.1: the DPoP scheme's own challenge, beside the Bearer one.
        let algs = fake_idp::dpop::SUPPORTED_ALGS.join(" ");
        let error = match why {
            Unauthorized::Invalid(TokenError::Dpop(_)) => "invalid_dpop_proof",
            _ => "invalid_token",
        };
        if let Ok(v) = HeaderValue::from_str(&format!("DPoP error=\"{error}\", algs=\"{algs}\"")) {
            response.headers_mut().append(header::WWW_AUTHENTICATE, v);
        }
    }
    response
}

/// 400 `invalid_request` for a malformed Authorization header.
pub(crate) fn malformed(err: MalformedAuthorization) -> Response {
    let description = err.to_string();
    let challenge = Challenge::default()
        .param("error", "invalid_request")
        .param("error_description", description.clone());
    with_challenge(
        StatusCode::BAD_REQUEST,
        &challenge,
        "invalid_request",
        &description,
    )
}

/// 403 `insufficient_scope`; `scope` lists what this request needs plus the relevant granted scopes.
pub(crate) fn insufficient_scope(state: &AppState, scope: &str) -> Response {
    let s = &state.settings;
    let description = "the token's scope does not cover this tool";
    let mut challenge = Challenge::default().param("error", "insufficient_scope");
    if !s.has(ServerDefect::InsufficientScopeWithoutScope) {
        let scope =
            if s.has(ServerDefect::InconsistentScopeChallenge) && state.next_challenge() % 2 == 1 {
                format!("{scope} todo:admin")
            } else {
                scope.to_owned()
            };
        challenge = challenge.param("scope", scope);
    }
    if !s.has(ServerDefect::InsufficientScopeWithoutResourceMetadata) && s.publishes_prm() {
        challenge = challenge.param("resource_metadata", s.prm_url.clone());
    }
    challenge = challenge.param("error_description", description);
    with_challenge(
        StatusCode::FORBIDDEN,
        &challenge,
        "insufficient_scope",
        description,
    )
}

/// 503 when the authorization server could not be asked.
pub(crate) fn unavailable(err: &FetchError) -> Response {
    tracing::warn!(%err, "token validation unavailable");
    plain_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the authorization server could not be reached",
    )
}

/// A JSON error body without a challenge.
pub(crate) fn plain_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_renders_params_in_order_and_strips_quotes() {
        let c = Challenge::default()
            .param("error", "invalid_token")
            .param("error_description", "a \"b\\");
        assert_eq!(
            c.render(),
            "Bearer error=\"invalid_token\", error_description=\"a  b \""
        );
        assert_eq!(Challenge::default().render(), "Bearer");
    }
}
