//! Target mode with an upstream IdP: the reference AS is an **OAuth proxy** with one static client at the IdP
//! (the confused-deputy setting of the MCP Security Best Practices §2.1.5; the AS-PRX checks).
//!
//! `/authorize` (a valid request) parks the request and answers with the proxy's own consent page, unless this
//! browser already approved this client (the remembered-consent cookie, [`CONSENT_COOKIE`]). The page names the
//! client id, the redirect URI and each requested scope, forbids framing (`X-Frame-Options: DENY`, CSP
//! `frame-ancestors 'none'`), and carries a CSRF token bound to a cookie set with the page ([`CSRF_COOKIE`]).
//! `POST /consent` with `approve`, the token and its cookie remembers the client in the consent cookie and only
//! then creates the upstream login (`federation.rs`: random `state`, binding cookie) and redirects to the IdP.
//!
//! Under https every cookie is `__Host-` prefixed, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`; on plain
//! http the prefix and `Secure` are left out (browsers refuse them there). The consent records are server-side:
//! the cookie value is a random id. Each protection is turned off by one `prx-*` [`AsDefect`].

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::authorize::{approve, error_page, error_redirect, AuthzRequest};
use super::federation::{self, lock, ConsentCsrf, Federation};
use super::target::AsDefect;
use super::AsState;

/// The cookie binding a consent page's CSRF token to the browser.
pub(super) const CSRF_COOKIE: &str = "fake_idp_csrf";
/// The remembered-consent cookie: names a server-side set of the client ids this browser approved.
pub(super) const CONSENT_COOKIE: &str = "fake_idp_consent";

/// The name of cookie `base`: `__Host-` prefixed under https when `prefixed`.
pub(super) fn cookie_name(state: &AsState, base: &str, prefixed: bool) -> String {
    if prefixed && https(state) {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

fn https(state: &AsState) -> bool {
    state.issuer().starts_with("https://")
}

/// A `Set-Cookie` line: `Path=/`, `SameSite=Lax`, `HttpOnly` when asked, `Secure` and `__Host-` under https.
pub(super) fn set_cookie(
    state: &AsState,
    base: &str,
    value: &str,
    http_only: bool,
    prefixed: bool,
) -> String {
    let mut line = format!(
        "{}={value}; Path=/; SameSite=Lax",
        cookie_name(state, base, prefixed)
    );
    if http_only {
        line.push_str("; HttpOnly");
    }
    if https(state) {
        line.push_str("; Secure");
    }
    line
}

/// Whether this browser's consent cookie approved `client_id` (`prx-consent-not-per-client`: any approval).
fn remembered(state: &AsState, fed: &Federation, headers: &HeaderMap, client_id: &str) -> bool {
    let weak = state.defect(AsDefect::PrxConsentCookieWeak);
    let name = cookie_name(state, CONSENT_COOKIE, !weak);
    let consents = lock(&fed.consents);
    let found = super::cookies(headers, &name)
        .filter_map(|id| consents.get(id))
        .any(|clients| {
            clients.contains(client_id)
                || (state.defect(AsDefect::PrxConsentNotPerClient) && !clients.is_empty())
        });
    found
}

/// After `/authorize` parked `request` under `request_id`: the consent page, or (consent remembered for this
/// client) the upstream redirect.
pub(super) async fn begin(
    state: &AsState,
    fed: &Federation,
    headers: &HeaderMap,
    request_id: &str,
    request: &AuthzRequest,
) -> Response {
    if state.defect(AsDefect::PrxStateBeforeConsent) {
        federation::open_before_consent(state, fed, request_id);
    }
    if state.defect(AsDefect::PrxNoConsent) || remembered(state, fed, headers, &request.client_id) {
        return federation::redirect_to_idp(state, fed, request_id, Vec::new(), StatusCode::FOUND)
            .await;
    }
    consent_page(state, fed, request_id, request)
}

/// The proxy's consent page for the parked request, with a fresh CSRF token and its cookie.
pub(super) fn consent_page(
    state: &AsState,
    fed: &Federation,
    request_id: &str,
    request: &AuthzRequest,
) -> Response {
    let csrf = ConsentCsrf {
        token: state.minter().random_token(24),
        cookie: state.minter().random_token(24),
    };
    lock(&fed.csrf).insert(request_id.to_owned(), csrf.clone());
    let scopes: String = request
        .scope
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", super::login::escape(s)))
        .collect();
    let redirect = if state.defect(AsDefect::PrxConsentAnonymous) {
        String::new()
    } else {
        format!(
            "<p>After your approval you will be sent back to <b>{}</b>.</p>\n",
            super::login::escape(&request.redirect_uri)
        )
    };
    let body = format!(
        "<p>The application <b>{client}</b> asks for access to your account through this server, which signs you \
         in with your identity provider.</p>\n\
         <p>Requested scopes:</p>\n<ul>{scopes}</ul>\n{redirect}\
         <form id=\"consent\" method=\"post\" action=\"/consent\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{id}\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{token}\">\n\
         <button type=\"submit\" name=\"approve\" value=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"deny\" value=\"deny\">Deny</button>\n\
         </form>",
        client = super::login::escape(&request.client_id),
        id = super::login::escape(request_id),
        token = super::login::escape(&csrf.token),
    );
    // The AS's page: no-store, and no framing unless `prx-consent-frameable`.
    let mut response = super::login::page("Authorize access", &body);
    let headers = response.headers_mut();
    if state.defect(AsDefect::PrxConsentFrameable) {
        headers.remove(header::X_FRAME_OPTIONS);
        headers.remove(header::CONTENT_SECURITY_POLICY);
    }
    if let Ok(v) = HeaderValue::from_str(&set_cookie(state, CSRF_COOKIE, &csrf.cookie, true, true))
    {
        headers.append(header::SET_COOKIE, v);
    }
    response
}

fn forbidden(why: &str) -> Response {
    tracing::info!(why, "consent refused");
    (
        StatusCode::FORBIDDEN,
        [(header::CACHE_CONTROL, "no-store")],
        Html(format!("<p>{}</p>", super::login::escape(why))),
    )
        .into_response()
}

/// `POST /consent` of the proxy: the CSRF token and its cookie, then `approve` → remember the client and go
/// upstream, `deny` → `access_denied`. Without either button the page is shown again.
pub(super) async fn consent_post(
    state: &AsState,
    fed: &Federation,
    headers: &HeaderMap,
    form: &std::collections::HashMap<String, String>,
) -> Response {
    let request_id = form.get("request").cloned().unwrap_or_default();
    let Some(request) = state.store().pending.get(&request_id).cloned() else {
        return error_page(
            "invalid_request",
            "unknown or expired authorization request",
        );
    };
    let approved = form.contains_key("approve");
    if !approved && !form.contains_key("deny") {
        return consent_page(state, fed, &request_id, &request);
    }
    let Some(csrf) = lock(&fed.csrf).get(&request_id).cloned() else {
        return forbidden("no consent page was shown for this request");
    };
    let token_ok = form.get("csrf_token") == Some(&csrf.token);
    let cookie_ok = state.defect(AsDefect::PrxConsentNoCsrf)
        || super::cookies(headers, &cookie_name(state, CSRF_COOKIE, true))
            .any(|c| c == csrf.cookie);
    if !token_ok || !cookie_ok {
        return forbidden("the consent form's CSRF token is not this browser's");
    }
    lock(&fed.csrf).remove(&request_id);
    if !approved {
        state.store().pending.remove(&request_id);
        return error_redirect(
            state,
            &request.redirect_uri,
            request.state.as_deref(),
            "access_denied",
            "the user denied the request",
            StatusCode::SEE_OTHER,
        );
    }
    let status = if state.defect(AsDefect::LoginRedirect307) {
        StatusCode::TEMPORARY_REDIRECT
    } else {
        StatusCode::SEE_OTHER
    };
    if state.defect(AsDefect::CodeWithoutLogin) {
        state.store().pending.remove(&request_id);
        return approve(state, &request, &state.inner.default_user, status);
    }
    let weak = state.defect(AsDefect::PrxConsentCookieWeak);
    let name = cookie_name(state, CONSENT_COOKIE, !weak);
    let record = {
        let mut consents = lock(&fed.consents);
        let existing = super::cookies(headers, &name)
            .find(|id| consents.contains_key(*id))
            .map(str::to_owned);
        let id = existing.unwrap_or_else(|| state.minter().random_token(24));
        consents
            .entry(id.clone())
            .or_default()
            .insert(request.client_id.clone());
        id
    };
    let remember = set_cookie(state, CONSENT_COOKIE, &record, !weak, !weak);
    federation::redirect_to_idp(state, fed, &request_id, vec![remember], status).await
}
