//! The `/mcp` endpoint: origin check, authentication of every request, sessions, then JSON-RPC.
//!
//! Order of processing: (1) `Origin` validation (DNS-rebinding protection, MCP transports
//! "Security Warning") rejects a foreign origin with 403 before anything else, the token is not
//! even looked at; (2) authentication of every method; (3) body cap (1 MiB, 413); (4) session;
//! (5) JSON-RPC. Defects that act before authentication read the body first.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::auth::{
    enforce_dpop, extract_token, MalformedAuthorization, Presented, Principal, ValidationFailure,
};
use super::challenge::{self, Unauthorized};
use super::http::FetchError;
use super::mcp::{self, RpcMessage};
use super::sessions::Session;
use super::stateless;
use super::{AppState, ServerDefect, Settings};

/// Largest request body accepted.
pub(crate) const BODY_LIMIT: usize = 1024 * 1024;
/// The session header of the Streamable HTTP transport.
pub(crate) const SESSION_HEADER: &str = "mcp-session-id";

/// Why authentication failed.
#[derive(Debug)]
pub(crate) enum Rejection {
    Malformed(MalformedAuthorization),
    Unauthorized(Unauthorized),
    Unavailable(FetchError),
}

impl Rejection {
    pub(crate) fn into_response(self, state: &AppState) -> Response {
        match self {
            Rejection::Malformed(err) => challenge::malformed(err),
            Rejection::Unauthorized(why) => challenge::unauthorized(state, &why),
            Rejection::Unavailable(err) => challenge::unavailable(&err),
        }
    }
}

/// Authenticates a request from its `Authorization` header.
pub(crate) async fn authenticate(state: &AppState, parts: &Parts) -> Result<Principal, Rejection> {
    authenticate_with_token(state, parts)
        .await
        .map(|(principal, _)| principal)
}

/// [`authenticate`], also returning the validated bearer token (the subject of token exchanges).
async fn authenticate_with_token(
    state: &AppState,
    parts: &Parts,
) -> Result<(Principal, String), Rejection> {
    let presented = extract_token(&parts.headers, parts.uri.query(), &state.settings)
        .map_err(Rejection::Malformed)?;
    let (token, dpop_scheme) = match presented {
        Presented::Token(token) => (token, false),
        Presented::Dpop(token) => (token, true),
        Presented::Nothing => return Err(Rejection::Unauthorized(Unauthorized::NoToken)),
    };
    let principal = state
        .validator
        .validate(&token, &state.settings)
        .await
        .map_err(|failure| match failure {
            ValidationFailure::Invalid(err) => Rejection::Unauthorized(Unauthorized::Invalid(err)),
            ValidationFailure::Unavailable(err) => Rejection::Unavailable(err),
        })?;
    enforce_dpop(state, parts, &token, dpop_scheme, &principal)
        .map_err(|err| Rejection::Unauthorized(Unauthorized::Invalid(err)))?;
    Ok((principal, token))
}

/// Every method on `/mcp`.
pub(crate) async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let s = &state.settings;
    if !s.has(ServerDefect::SkipOriginCheck) && !origin_allowed(&parts.headers, s) {
        return challenge::plain_error(StatusCode::FORBIDDEN, "forbidden", "Origin is not allowed");
    }

    let mut body = Some(body);
    let mut early_bytes = None;
    let body_first = [
        ServerDefect::WriteBeforeAuth,
        ServerDefect::SessionAsAuth,
        ServerDefect::AllowAnonymousInitialize,
        ServerDefect::StatelessAuthOnDiscoverOnly,
        ServerDefect::StatelessSessionAsAuth,
    ];
    if parts.method == Method::POST && body_first.iter().any(|&d| s.has(d)) {
        match read_body(&parts.headers, body.take()).await {
            Ok(bytes) => early_bytes = Some(bytes),
            Err(err) => return err.into_response(),
        }
    }
    let early_message = early_bytes
        .as_deref()
        .and_then(|b| RpcMessage::parse(b).ok());
    let pre_executed = match &early_message {
        Some(m) if s.has(ServerDefect::WriteBeforeAuth) && m.is_write_call() => {
            Some(mcp::run_named_tool(&state, &m.params))
        }
        _ => None,
    };

    let (principal, caller_token) = match authenticate_with_token(&state, &parts).await {
        Ok((principal, token)) => (principal, Some(token)),
        Err(rejection) => {
            let fallback =
                defect_fallback(&state, &parts.headers, &rejection, early_message.as_ref())
                    .or_else(|| {
                        stateless_fallback(
                            &state,
                            &parts.headers,
                            &rejection,
                            early_message.as_ref(),
                        )
                    });
            match fallback {
                Some(principal) => (principal, None),
                None => return rejection.into_response(&state),
            }
        }
    };

    match parts.method {
        Method::POST => {
            let bytes = match early_bytes {
                Some(bytes) => bytes,
                None => match read_body(&parts.headers, body.take()).await {
                    Ok(bytes) => bytes,
                    Err(err) => return err.into_response(),
                },
            };
            post(
                &state,
                &principal,
                caller_token.as_deref(),
                &parts.headers,
                &bytes,
                pre_executed,
            )
            .await
        }
        Method::DELETE => match session_for(&state, &parts.headers, &principal) {
            Ok(id) => {
                state.sessions.remove(&id);
                StatusCode::NO_CONTENT.into_response()
            }
            Err(err) => err.into_response(),
        },
        // GET would open an SSE stream; this server offers none.
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("POST, DELETE"))],
        )
            .into_response(),
    }
}

/// Principals that only a defect grants after authentication failed.
fn defect_fallback(
    state: &AppState,
    headers: &HeaderMap,
    rejection: &Rejection,
    message: Option<&RpcMessage>,
) -> Option<Principal> {
    let s = &state.settings;
    let Rejection::Unauthorized(why) = rejection else {
        return None;
    };
    let initialize = message.is_some_and(RpcMessage::is_initialize);
    if s.has(ServerDefect::SessionAsAuth) && !initialize {
        let id = headers.get(SESSION_HEADER)?.to_str().ok()?;
        let session = state.sessions.get(id)?;
        return Some(Principal {
            sub: session.owner,
            scopes: session.scopes,
            cnf_jkt: None,
        });
    }
    if s.has(ServerDefect::AllowAnonymousInitialize) && initialize && *why == Unauthorized::NoToken
    {
        return Some(Principal::new(None, None));
    }
    None
}

/// Principals that only a stateless defect grants to a modern request without a token.
fn stateless_fallback(
    state: &AppState,
    headers: &HeaderMap,
    rejection: &Rejection,
    message: Option<&RpcMessage>,
) -> Option<Principal> {
    let message = message.filter(|m| stateless::is_modern(headers, m))?;
    if !matches!(rejection, Rejection::Unauthorized(Unauthorized::NoToken)) {
        return None;
    }
    let discover = message.method.as_deref() == Some("server/discover");
    if state
        .settings
        .has(ServerDefect::StatelessAuthOnDiscoverOnly)
        && !discover
    {
        return Some(Principal::new(None, None));
    }
    stateless::carried_over(state, headers)
}

async fn post(
    state: &AppState,
    principal: &Principal,
    caller_token: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    pre_executed: Option<Value>,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return challenge::plain_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "Content-Type must be application/json",
        );
    }
    let message = match RpcMessage::parse(body) {
        Ok(message) => message,
        Err(err) => return err.into_response(),
    };
    if stateless::is_modern(headers, &message) {
        return stateless::serve(
            state,
            principal,
            caller_token,
            headers,
            message,
            pre_executed,
        )
        .await;
    }
    if message.is_initialize() {
        let session = Session {
            owner: principal.sub.clone(),
            scopes: principal.scopes.clone(),
        };
        let id = state.sessions.create(
            session,
            state.settings.has(ServerDefect::SequentialSessionIds),
        );
        let mut response = mcp::initialize(&message);
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(SESSION_HEADER, value);
        }
        return response;
    }
    if let Err(err) = session_for(state, headers, principal) {
        return err.into_response();
    }
    mcp::dispatch(state, principal, caller_token, message, pre_executed).await
}

/// Why a request cannot use the session it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionError {
    /// No `Mcp-Session-Id`: 400.
    Missing,
    /// Not a live session: 404.
    Unknown,
    /// The session belongs to another user: 403, no data.
    OtherUser,
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        match self {
            SessionError::Missing => challenge::plain_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Mcp-Session-Id is required",
            ),
            SessionError::Unknown => {
                challenge::plain_error(StatusCode::NOT_FOUND, "not_found", "unknown session")
            }
            SessionError::OtherUser => challenge::plain_error(
                StatusCode::FORBIDDEN,
                "forbidden",
                "session belongs to another user",
            ),
        }
    }
}

/// The session named by the request, if it exists and belongs to this user.
fn session_for(
    state: &AppState,
    headers: &HeaderMap,
    principal: &Principal,
) -> Result<String, SessionError> {
    let id = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(SessionError::Missing)?;
    let session = state.sessions.get(id).ok_or(SessionError::Unknown)?;
    if !state.settings.has(ServerDefect::SessionNotBoundToUser) && session.owner != principal.sub {
        return Err(SessionError::OtherUser);
    }
    Ok(id.to_owned())
}

/// No `Origin`, or the server's own origin.
fn origin_allowed(headers: &HeaderMap, settings: &Settings) -> bool {
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let Some(origin) = origins.next() else {
        return true;
    };
    if origins.next().is_some() {
        return false;
    }
    let parsed = origin.to_str().ok().and_then(|o| url::Url::parse(o).ok());
    parsed.is_some_and(|url| url.origin().is_tuple() && url.origin() == settings.origin)
}

/// The request body exceeds [`BODY_LIMIT`]: 413.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BodyTooLarge;

impl IntoResponse for BodyTooLarge {
    fn into_response(self) -> Response {
        challenge::plain_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "request body exceeds 1 MiB",
        )
    }
}

async fn read_body(headers: &HeaderMap, body: Option<Body>) -> Result<Bytes, BodyTooLarge> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > BODY_LIMIT as u64) {
        return Err(BodyTooLarge);
    }
    axum::body::to_bytes(body.unwrap_or_default(), BODY_LIMIT)
        .await
        .map_err(|_| BodyTooLarge)
}
