//! Target mode, form login (`LoginUi::Form`): the HTML login page, the session cookie and the
//! consent page. `/authorize` parks the validated request under a random id; the login form
//! (`username`, `password`, button `login`) answers `303` to the consent page, whose form
//! (buttons `approve` / `deny`) answers `303` to the redirect URI.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use url::Url;

use super::authorize::{approve, error_page, error_redirect, AuthzRequest};
use super::target::AsDefect;
use super::{parse_form, AsState};

/// The session cookie's name.
pub(super) const SESSION_COOKIE: &str = "fake_idp_session";

/// Escapes text for HTML content and attribute values.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body>\n<h1>{title}</h1>\n{body}\n</body></html>\n"
    );
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
        ],
        Html(html),
    )
        .into_response()
}

/// The login page for a parked request.
fn login_form(request_id: &str, error: Option<&str>) -> Response {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\">{}</p>\n", escape(e))
    });
    let body = format!(
        "{error}<form id=\"login\" method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{id}\">\n\
         <label>Username <input type=\"text\" name=\"username\" value=\"\"></label>\n\
         <label>Password <input type=\"password\" name=\"password\" value=\"\"></label>\n\
         <button type=\"submit\" name=\"login\" value=\"login\">Sign in</button>\n\
         </form>",
        id = escape(request_id),
    );
    page("Sign in", &body)
}

/// The host of a URL, or the whole value when it is not one (a plain client_id).
fn host_of(value: &str) -> String {
    Url::parse(value)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| value.to_owned())
}

/// The consent page: names the client (and its host) and the redirect URI's host.
fn consent_form(request_id: &str, request: &AuthzRequest, user: &str) -> Response {
    let warning = if request.loopback_only {
        "<p class=\"warning\">Warning: this application only redirects to your own computer \
         (localhost). Make sure you started it yourself.</p>\n"
    } else {
        ""
    };
    let scope = request.scope.as_deref().unwrap_or("(default)");
    let body = format!(
        "<p>Signed in as <b>{user}</b>.</p>\n\
         <p>The application <b>{client}</b> (from <b>{client_host}</b>) asks for access \
         (scope: {scope}).</p>\n\
         <p>You will be sent back to <b>{redirect_host}</b> ({redirect}).</p>\n{warning}\
         <form id=\"consent\" method=\"post\" action=\"/consent\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{id}\">\n\
         <button type=\"submit\" name=\"approve\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"deny\" value=\"deny\">Deny</button>\n\
         </form>",
        user = escape(user),
        client = escape(&request.client_id),
        client_host = escape(&host_of(&request.client_id)),
        scope = escape(scope),
        redirect_host = escape(&host_of(&request.redirect_uri)),
        redirect = escape(&request.redirect_uri),
        id = escape(request_id),
    );
    page("Authorize access", &body)
}

impl AsState {
    /// The user of the session named by the request's cookie.
    fn session_user(&self, headers: &HeaderMap) -> Option<String> {
        let store = self.store();
        super::cookies(headers, SESSION_COOKIE).find_map(|value| store.sessions.get(value).cloned())
    }

    fn pending(&self, request_id: &str) -> Option<AuthzRequest> {
        self.store().pending.get(request_id).cloned()
    }

    /// Who consents without a session: nobody, unless the defect `code-without-login`.
    fn consenting_user(&self, headers: &HeaderMap) -> Option<String> {
        self.session_user(headers).or_else(|| {
            self.defect(AsDefect::CodeWithoutLogin)
                .then(|| self.inner.default_user.clone())
        })
    }
}

/// Parks a validated request and shows the login page (or, with a session, the consent page).
pub(super) async fn begin(state: &AsState, headers: &HeaderMap, request: AuthzRequest) -> Response {
    let request_id = state.minter().random_token(16);
    state
        .store()
        .pending
        .insert(request_id.clone(), request.clone());
    if let Some(fed) = state.federation() {
        // An OAuth proxy: its own consent page first, the upstream IdP after approval (`proxy.rs`).
        return super::proxy::begin(state, fed, headers, &request_id, &request).await;
    }
    match state.consenting_user(headers) {
        Some(user) => consent_form(&request_id, &request, &user),
        None => login_form(&request_id, None),
    }
}

fn unknown_request() -> Response {
    error_page(
        "invalid_request",
        "unknown or expired authorization request",
    )
}

/// `GET /login?request=…`.
pub(super) async fn login_page(
    State(state): State<AsState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let request_id = q.get("request").cloned().unwrap_or_default();
    if state.pending(&request_id).is_none() {
        return unknown_request();
    }
    login_form(&request_id, None)
}

/// `POST /login`: checks the password; `303` to the consent page with a session cookie.
pub(super) async fn login(State(state): State<AsState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let request_id = form.get("request").cloned().unwrap_or_default();
    if state.pending(&request_id).is_none() {
        return unknown_request();
    }
    let username = form.get("username").map(String::as_str).unwrap_or_default();
    let password = form.get("password").map(String::as_str).unwrap_or_default();
    if !state.inner.users.check_password(username, password) {
        tracing::info!(username, "login failed");
        return login_form(&request_id, Some("Wrong username or password."));
    }
    let session = state.minter().random_token(24);
    state
        .store()
        .sessions
        .insert(session.clone(), username.to_owned());
    let status = if state.defect(AsDefect::LoginRedirect307) {
        StatusCode::TEMPORARY_REDIRECT
    } else {
        StatusCode::SEE_OTHER
    };
    let location = format!(
        "/consent?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("request", &request_id)
            .finish()
    );
    (
        status,
        [
            (header::LOCATION, location),
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// `GET /consent?request=…`: the consent page (the login page without a session).
pub(super) async fn consent_page(
    State(state): State<AsState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let request_id = q.get("request").cloned().unwrap_or_default();
    let Some(request) = state.pending(&request_id) else {
        return unknown_request();
    };
    if let Some(fed) = state.federation() {
        return super::proxy::consent_page(&state, fed, &request_id, &request);
    }
    match state.consenting_user(&headers) {
        Some(user) => consent_form(&request_id, &request, &user),
        None => login_form(&request_id, None),
    }
}

/// `POST /consent`: `approve` → `303` with the code, `deny` → `303` with `access_denied`.
/// Without either button (e.g. a login POST re-sent by a 307) the consent page is shown.
pub(super) async fn consent(
    State(state): State<AsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = parse_form(&body);
    if let Some(fed) = state.federation() {
        return super::proxy::consent_post(&state, fed, &headers, &form).await;
    }
    let request_id = form.get("request").cloned().unwrap_or_default();
    let Some(request) = state.pending(&request_id) else {
        return unknown_request();
    };
    let Some(user) = state.consenting_user(&headers) else {
        return login_form(&request_id, None);
    };
    let approved = form.contains_key("approve");
    if !approved && !form.contains_key("deny") {
        return consent_form(&request_id, &request, &user);
    }
    state.store().pending.remove(&request_id);
    if approved {
        approve(&state, &request, &user, StatusCode::SEE_OTHER)
    } else {
        error_redirect(
            &state,
            &request.redirect_uri,
            request.state.as_deref(),
            "access_denied",
            "the user denied the request",
            StatusCode::SEE_OTHER,
        )
    }
}
