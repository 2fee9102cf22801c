//! `GET /authorize`: validates the request, then either auto-approves the user with an
//! immediate 302 or (target mode, form login) hands over to the login and consent pages.

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use url::Url;

use super::cimd::is_cimd_client_id;
use super::clients::redirect_matches;
use super::target::{AsDefect, LoginUi};
use super::tokens::PkceMethod;
use super::{login, parse_form, scope_tokens, AsState, CodeGrant, RegisteredClient};
use super::{CODE_LIFETIME_SECS, OIDC_SCOPES};

/// The parameters `/authorize` understands (target defect `reject-unknown-params` refuses
/// anything else; otherwise unknown parameters are ignored).
const KNOWN_PARAMS: [&str; 19] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "nonce",
    "login_hint",
    "prompt",
    "response_mode",
    "max_age",
    "ui_locales",
    "display",
    "claims",
    "id_token_hint",
    "acr_values",
    "audience",
];

/// A validated authorization request, waiting for (or past) login and consent.
#[derive(Debug, Clone)]
pub(super) struct AuthzRequest {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) state: Option<String>,
    /// `response_type=token` (only with the target defect `allow-implicit`).
    pub(super) implicit: bool,
    pub(super) code_challenge: Option<String>,
    pub(super) pkce_method: PkceMethod,
    pub(super) resource: Option<String>,
    pub(super) scope: Option<String>,
    pub(super) nonce: Option<String>,
    pub(super) login_hint: Option<String>,
    /// Every redirect URI of the client is on loopback (the consent page warns).
    pub(super) loopback_only: bool,
}

/// An error shown to the user agent (never a redirect): the client or redirect URI is bad.
pub(super) fn error_page(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// A redirect (`status`) to `redirect_uri` with `params` and, when given, `iss` appended to
/// its query.
fn redirect(
    redirect_uri: &str,
    params: &[(&str, &str)],
    iss: Option<&str>,
    status: StatusCode,
) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page("invalid_request", "redirect_uri is not a URL");
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(iss) = iss {
            query.append_pair("iss", iss);
        }
    }
    (
        status,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// An error authorization response (RFC 6749 §4.1.2.1) redirected to a validated URI, with
/// `state` and `iss` (unless the target defect `no-iss-in-error`).
pub(super) fn error_redirect(
    state: &AsState,
    redirect_uri: &str,
    state_param: Option<&str>,
    error: &str,
    description: &str,
    status: StatusCode,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = state_param {
        params.push(("state", s));
    }
    let iss = (!state.defect(AsDefect::NoIssInError) && !state.defect(AsDefect::NoIss))
        .then(|| state.as_identifier());
    redirect(redirect_uri, &params, iss, status)
}

pub(super) async fn authorize(
    State(state): State<AsState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    state.events().record_authorize_request();
    let mut q = parse_form(query.unwrap_or_default().as_bytes());
    if state.is_target() {
        // OAuth 2.1 §3.1: parameters sent without a value are treated as omitted.
        q.retain(|_, v| !v.is_empty());
    }
    let request = match validate(&state, &q).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    match state.login_ui() {
        Some(LoginUi::Form) => login::begin(&state, &headers, request).await,
        None | Some(LoginUi::Auto) => {
            let user = request
                .login_hint
                .clone()
                .unwrap_or_else(|| state.inner.default_user.clone());
            if state.inner.users.get(&user).is_none() {
                return error_redirect(
                    &state,
                    &request.redirect_uri,
                    request.state.as_deref(),
                    "access_denied",
                    "unknown user",
                    StatusCode::FOUND,
                );
            }
            approve(&state, &request, &user, StatusCode::FOUND)
        }
    }
}

/// Finds the client: registered, or resolved by CIMD (the fake world's or the target's policy).
async fn resolve_client(
    state: &AsState,
    client_id: &str,
    redirect_uri: Option<&str>,
) -> Result<(RegisteredClient, bool), Response> {
    if let Some(client) = state.client(client_id) {
        return Ok((client, false));
    }
    let refused = |e: &dyn std::fmt::Display| {
        tracing::info!(client_id, error = %e, "CIMD client refused");
        error_page("invalid_client", &e.to_string())
    };
    if state.is_target() {
        if state.defect(AsDefect::NoCimd) || Url::parse(client_id).is_err() {
            return Err(error_page("invalid_client", "unknown client_id"));
        }
        return match state.resolve_cimd_target(client_id, redirect_uri).await {
            Ok(client) => Ok((client, true)),
            Err(e) => Err(refused(&e)),
        };
    }
    if is_cimd_client_id(client_id) {
        return match state.resolve_cimd(client_id).await {
            Ok(client) => Ok((client, true)),
            Err(e) => Err(refused(&e)),
        };
    }
    Err(error_page("invalid_client", "unknown client_id"))
}

impl AsState {
    /// Whether `requested` may be redirected to for `client` (exact matching, loopback port
    /// flexibility; the redirect defects loosen it).
    fn redirect_allowed(&self, client: &RegisteredClient, requested: &str, cimd: bool) -> bool {
        if cimd && self.defect(AsDefect::SkipCimdRedirectCheck) {
            return true;
        }
        let loose = |registered: &str| {
            if self.defect(AsDefect::PrefixRedirectMatch)
                || self.defect(AsDefect::PrxRedirectPrefixMatch)
            {
                return requested.starts_with(registered);
            }
            if self.defect(AsDefect::CaseInsensitiveRedirectMatch) {
                let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
                return norm(registered) == norm(requested);
            }
            if self.defect(AsDefect::RedirectHostNotChecked) {
                return match (Url::parse(registered), Url::parse(requested)) {
                    (Ok(reg), Ok(req)) => reg.scheme() == req.scheme() && reg.path() == req.path(),
                    _ => false,
                };
            }
            false
        };
        client
            .redirect_uris
            .iter()
            .any(|registered| redirect_matches(registered, requested) || loose(registered))
    }
}

fn is_loopback_redirect(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    })
}

/// Validates an authorization request. `Err` is the response to send: an error page while the
/// client or redirect URI is not established, an error redirect afterwards.
async fn validate(state: &AsState, q: &HashMap<String, String>) -> Result<AuthzRequest, Response> {
    let Some(client_id) = q.get("client_id") else {
        return Err(error_page("invalid_request", "client_id is required"));
    };
    let requested_redirect = q.get("redirect_uri").map(String::as_str);
    let (client, cimd) = match resolve_client(state, client_id, requested_redirect).await {
        Ok(found) => found,
        Err(page) => {
            // Target defect: an unknown client still gets an error redirect to whatever it named.
            return Err(match requested_redirect {
                Some(uri)
                    if state.defect(AsDefect::RedirectOnInvalidRedirectUri)
                        && Url::parse(uri).is_ok() =>
                {
                    error_redirect(
                        state,
                        uri,
                        q.get("state").map(String::as_str),
                        "invalid_client",
                        "unknown client",
                        StatusCode::FOUND,
                    )
                }
                _ => page,
            });
        }
    };
    let Some(redirect_uri) = requested_redirect else {
        return Err(error_page("invalid_request", "redirect_uri is required"));
    };
    let state_param = q.get("state").map(String::as_str);
    if !state.redirect_allowed(&client, redirect_uri, cimd) {
        if state.defect(AsDefect::RedirectOnInvalidRedirectUri) && Url::parse(redirect_uri).is_ok()
        {
            return Err(error_redirect(
                state,
                redirect_uri,
                state_param,
                "invalid_request",
                "redirect_uri is not registered for this client",
                StatusCode::FOUND,
            ));
        }
        return Err(error_page(
            "invalid_request",
            "redirect_uri is not registered for this client",
        ));
    }
    let fail = |error: &str, description: &str| {
        error_redirect(
            state,
            redirect_uri,
            state_param,
            error,
            description,
            StatusCode::FOUND,
        )
    };
    if state.defect(AsDefect::RejectUnknownParams) {
        if let Some(unknown) = q.keys().find(|k| !KNOWN_PARAMS.contains(&k.as_str())) {
            return Err(fail(
                "invalid_request",
                &format!("unknown parameter `{unknown}`"),
            ));
        }
    }
    let implicit = match q.get("response_type").map(String::as_str) {
        Some("code") => false,
        Some("token") if state.defect(AsDefect::AllowImplicit) => true,
        None if state.is_target() => {
            return Err(fail("invalid_request", "response_type is required"))
        }
        _ => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    };
    let (code_challenge, pkce_method) = if implicit {
        (None, PkceMethod::S256)
    } else {
        pkce(state, q).map_err(|(e, d)| fail(e, d))?
    };
    let resource = q.get("resource").cloned();
    if let Some(resource) = &resource {
        let ok = Url::parse(resource).is_ok_and(|u| u.fragment().is_none());
        if !ok && !state.defect(AsDefect::AcceptInvalidResource) {
            return Err(fail(
                "invalid_target",
                "resource must be an absolute URI without fragment",
            ));
        }
    }
    Ok(AuthzRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: state_param.map(str::to_owned),
        implicit,
        code_challenge,
        pkce_method,
        resource,
        scope: q
            .get("scope")
            .map(|s| scope_tokens(s).collect::<Vec<_>>().join(" ")),
        nonce: q.get("nonce").cloned(),
        login_hint: q.get("login_hint").cloned(),
        loopback_only: client.redirect_uris.iter().all(|u| is_loopback_redirect(u)),
    })
}

/// The PKCE parameters (S256 only, unless a PKCE defect loosens it).
fn pkce(
    state: &AsState,
    q: &HashMap<String, String>,
) -> Result<(Option<String>, PkceMethod), (&'static str, &'static str)> {
    let Some(challenge) = q.get("code_challenge") else {
        if state.defect(AsDefect::PkceOptional) {
            return Ok((None, PkceMethod::S256));
        }
        return Err(("invalid_request", "code_challenge is required (PKCE)"));
    };
    let method = match q.get("code_challenge_method").map(String::as_str) {
        Some("S256") => PkceMethod::S256,
        Some("plain") if state.defect(AsDefect::AcceptPlainPkce) => PkceMethod::Plain,
        _ if state.defect(AsDefect::AcceptUnknownPkceMethod) => PkceMethod::S256,
        _ => return Err(("invalid_request", "code_challenge_method must be S256")),
    };
    let well_formed = match method {
        PkceMethod::S256 => {
            challenge.len() == 43 || state.defect(AsDefect::AcceptUnknownPkceMethod)
        }
        PkceMethod::Plain => (43..=128).contains(&challenge.len()),
    };
    if !well_formed {
        return Err((
            "invalid_request",
            "code_challenge must be a base64url SHA-256",
        ));
    }
    Ok((Some(challenge.clone()), method))
}

/// The successful authorization response for `user`: a code (query) or, with the target
/// defect `allow-implicit`, an access token (fragment).
pub(super) fn approve(
    state: &AsState,
    request: &AuthzRequest,
    user: &str,
    status: StatusCode,
) -> Response {
    let issuer = state.as_identifier().to_owned();
    if request.implicit {
        return implicit_response(state, request, user, status);
    }
    let random = state.minter().random_token(32);
    let code = match &request.code_challenge {
        Some(challenge) if state.defect(AsDefect::ChallengeInCode) => {
            format!("{challenge}.{random}")
        }
        _ => random,
    };
    let grant = CodeGrant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        resource: request.resource.clone(),
        scope: request.scope.clone(),
        user: user.to_owned(),
        code_challenge: request.code_challenge.clone(),
        pkce_method: request.pkce_method,
        nonce: request.nonce.clone(),
        expires_at: state.minter().now() + CODE_LIFETIME_SECS,
    };
    state.store().codes.insert(code.clone(), grant);
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = request
        .state
        .as_ref()
        .filter(|_| !state.defect(AsDefect::DropState))
    {
        params.push(("state", s));
    }
    let iss = (!state.defect(AsDefect::NoIss)).then_some(issuer.as_str());
    redirect(&request.redirect_uri, &params, iss, status)
}

/// `response_type=token` (target defect `allow-implicit`): the token in the fragment.
fn implicit_response(
    state: &AsState,
    request: &AuthzRequest,
    user: &str,
    status: StatusCode,
) -> Response {
    let Some(user) = state.inner.users.get(user).cloned() else {
        return error_page("access_denied", "unknown user");
    };
    let scope = request.scope.as_deref().map_or_else(
        || user.permissions.join(" "),
        |s| {
            scope_tokens(s)
                .filter(|t| user.permissions.iter().any(|p| p == t) || OIDC_SCOPES.contains(t))
                .collect::<Vec<_>>()
                .join(" ")
        },
    );
    let (token, _jti, lifetime) =
        state.mint_access_token(&user, &request.client_id, request.resource.clone(), &scope);
    let Ok(mut url) = Url::parse(&request.redirect_uri) else {
        return error_page("invalid_request", "redirect_uri is not a URL");
    };
    let mut fragment = url::form_urlencoded::Serializer::new(String::new());
    fragment
        .append_pair("access_token", &token)
        .append_pair("token_type", "Bearer")
        .append_pair("expires_in", &lifetime.to_string())
        .append_pair("scope", &scope);
    if let Some(s) = &request.state {
        fragment.append_pair("state", s);
    }
    fragment.append_pair("iss", state.as_identifier());
    url.set_fragment(Some(&fragment.finish()));
    (status, [(header::LOCATION, url.to_string())]).into_response()
}

/// `OPTIONS /authorize` (only routed with the target defect `cors-on-authorize`).
pub(super) async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, OPTIONS"),
        )],
    )
        .into_response()
}

/// Adds `Access-Control-Allow-Origin: *` (target defect `cors-on-authorize`).
pub(super) async fn allow_any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
