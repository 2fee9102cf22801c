//! Consent pages: an authorization server's (or an OAuth proxy's) own page asking the user to approve a client,
//! recognised generically, recorded for the checks, and approved.
//!
//! A page is a consent page when it holds a `<form>` that submits to the page's own origin, has no
//! password-like field (that is a login form) and has an approve-like submit button (its name or value is
//! `approve`, `allow`, `accept`, `authorize`/`authorise`, `consent`, `grant` or `yes`, case-insensitive).
//! FastMCP's `OAuthProxy` page, for instance: `<form id="consentForm">` with a hidden `csrf_token` and two
//! submits named `action`, valued `approve` and `deny`, plus a `MCP_CONSENT_STATE_*` cookie.
//!
//! What is recorded ([`ConsentPage`]) is what the future AS-PRX checks judge: the page's status, its framing
//! headers (`X-Frame-Options`, CSP `frame-ancestors`), its `Set-Cookie` lines with the values replaced by their
//! length, whether the page names the client id, the redirect URI and each requested scope, and the answer to
//! the approval. Everything the target controls is cut to [`TEXT_CAP`] bytes; no cookie value or hidden field
//! value is kept (hidden values are registered as secrets so the evidence hides them too).

use url::Url;

use super::super::login::{parse_forms, FilledForm, FormMethod, HtmlForm, SubmitButton};
use crate::http::Response;

/// The longest text kept from one header, attribute or name the target sent.
pub const TEXT_CAP: usize = 256;

/// Submit names or values that mean "approve" (compared case-insensitively, trimmed).
const APPROVE_WORDS: [&str; 8] = [
    "approve",
    "allow",
    "accept",
    "authorize",
    "authorise",
    "consent",
    "grant",
    "yes",
];

/// One consent page the agent met during a walk, and what came of approving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentPage {
    /// The page's URL (cut).
    pub url: String,
    pub status: u16,
    /// The exchange that returned the page.
    pub exchange: String,
    /// The `X-Frame-Options` header, as sent (cut); `None` when absent.
    pub x_frame_options: Option<String>,
    /// The `frame-ancestors` directive of the `Content-Security-Policy` header(s) (cut); `None` when absent.
    pub frame_ancestors: Option<String>,
    /// The page's `Set-Cookie` lines, values redacted.
    pub set_cookies: Vec<SetCookieSeen>,
    /// The form: its `id` (cut), the submit used and the names of its hidden fields (not their values).
    pub form_id: Option<String>,
    pub submit: String,
    pub hidden_fields: Vec<String>,
    /// Whether the page text names the authorization request's `client_id` (`None`: the request had none).
    pub names_client_id: Option<bool>,
    /// Whether the page text names its `redirect_uri` (`None`: the request had none).
    pub names_redirect_uri: Option<bool>,
    /// Each requested scope and whether the page names it.
    pub names_scopes: Vec<(String, bool)>,
    /// The answer to the approval, once submitted.
    pub approval: Option<ConsentApproval>,
}

/// The answer to the approval of a consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentApproval {
    pub status: u16,
    pub exchange: String,
    /// Its `Location`, resolved (cut); `None` when it is not a redirect.
    pub location: Option<String>,
    pub set_cookies: Vec<SetCookieSeen>,
}

/// One `Set-Cookie` line, without its value: the name, the value's length and the attributes as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookieSeen {
    /// The cookie name (cut).
    pub name: String,
    pub value_len: usize,
    pub secure: bool,
    pub http_only: bool,
    /// `SameSite`, as written (cut).
    pub same_site: Option<String>,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub max_age: Option<String>,
    pub has_expires: bool,
}

impl SetCookieSeen {
    /// Reads one `Set-Cookie` line (RFC 6265 §5.2); `None` when it has no `name=`.
    pub fn parse(line: &str) -> Option<SetCookieSeen> {
        let mut parts = line.split(';');
        let (name, value) = parts.next()?.split_once('=')?;
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let mut seen = SetCookieSeen {
            name: cut(name),
            value_len: value.trim().trim_matches('"').len(),
            secure: false,
            http_only: false,
            same_site: None,
            path: None,
            domain: None,
            max_age: None,
            has_expires: false,
        };
        for attr in parts {
            let (key, val) = match attr.split_once('=') {
                Some((k, v)) => (k.trim(), v.trim()),
                None => (attr.trim(), ""),
            };
            match key.to_ascii_lowercase().as_str() {
                "secure" => seen.secure = true,
                "httponly" => seen.http_only = true,
                "samesite" => seen.same_site = Some(cut(val)),
                "path" => seen.path = Some(cut(val)),
                "domain" => seen.domain = Some(cut(val)),
                "max-age" => seen.max_age = Some(cut(val)),
                "expires" => seen.has_expires = true,
                _ => {}
            }
        }
        Some(seen)
    }

    /// `__Host-` prefixed (RFC 6265bis §4.1.3.2: then it must be Secure, have Path=/ and no Domain).
    pub fn host_prefixed(&self) -> bool {
        self.name.starts_with("__Host-")
    }
}

/// A consent page found on `page`: what was seen, and the form to submit to approve.
#[derive(Debug, Clone)]
pub struct Recognised {
    pub page: ConsentPage,
    pub approve: FilledForm,
    /// The values of the form's hidden fields (CSRF tokens): secrets of the run.
    pub hidden_values: Vec<String>,
    /// The same fields, name and value.
    pub hidden: Vec<(String, String)>,
}

/// The consent form of `page` (served at `url` with `resp`), when there is one; `authorize` is the walk's
/// authorization URL (its `client_id`, `redirect_uri` and `scope` are looked for in the page).
pub fn recognise(
    url: &Url,
    resp: &Response,
    page: &str,
    authorize: &Url,
    exchange: &str,
) -> Option<Recognised> {
    let forms = parse_forms(page);
    let (form, button) = forms
        .iter()
        .find_map(|f| consent_submit(url, f).map(|b| (f, b)))?;
    let approve = submit_with(form, button);
    let hidden: Vec<&(String, String)> = form
        .fields
        .iter()
        .filter(|(name, value)| !value.is_empty() && !is_button_value(form, name))
        .collect();
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let names = |needle: &str| page.contains(needle) || page.contains(&html_escape(needle));
    let page_seen = ConsentPage {
        url: cut(url.as_str()),
        status: resp.status,
        exchange: exchange.to_owned(),
        x_frame_options: resp.header("x-frame-options").map(cut),
        frame_ancestors: frame_ancestors(resp),
        set_cookies: set_cookies(resp),
        form_id: form.id.as_deref().map(cut),
        submit: cut(&button.name.clone().unwrap_or_else(|| button.value.clone())),
        hidden_fields: hidden.iter().map(|(n, _)| cut(n)).collect(),
        names_client_id: param("client_id").map(|c| names(&c)),
        names_redirect_uri: param("redirect_uri").map(|r| names(&r)),
        names_scopes: param("scope")
            .unwrap_or_default()
            .split_whitespace()
            .map(|s| (cut(s), names(s)))
            .collect(),
        approval: None,
    };
    Some(Recognised {
        page: page_seen,
        approve,
        hidden_values: hidden.iter().map(|(_, v)| v.clone()).collect(),
        hidden: hidden.iter().map(|(n, v)| (n.clone(), v.clone())).collect(),
    })
}

/// The approval of a submitted consent form: the answer's status, Location and cookies.
pub fn approval(base: &Url, resp: &Response, exchange: &str) -> ConsentApproval {
    ConsentApproval {
        status: resp.status,
        exchange: exchange.to_owned(),
        location: resp
            .header("location")
            .filter(|_| (300..400).contains(&resp.status))
            .map(|l| {
                base.join(l.trim())
                    .map(|u| cut(u.as_str()))
                    .unwrap_or_else(|_| cut(l))
            }),
        set_cookies: set_cookies(resp),
    }
}

/// The approve-like submit of `form`, when it is a consent form submitting to `page`'s origin.
fn consent_submit<'f>(page: &Url, form: &'f HtmlForm) -> Option<&'f SubmitButton> {
    let password_like = form.fields.iter().any(|(name, _)| {
        let n = name.to_ascii_lowercase();
        n.contains("pass") || n.contains("secret")
    });
    if password_like {
        return None;
    }
    let button = form.submits.iter().find(|b| {
        let approve_like =
            |s: &str| APPROVE_WORDS.contains(&s.trim().to_ascii_lowercase().as_str());
        b.name.as_deref().is_some_and(approve_like) || approve_like(&b.value)
    })?;
    let action = button.formaction.as_deref().unwrap_or(&form.action);
    let target = page.join(action).ok()?;
    (target.origin() == page.origin()).then_some(button)
}

/// The form's fields plus the pressed button's `name=value` (its `formaction`/`formmethod` win).
fn submit_with(form: &HtmlForm, button: &SubmitButton) -> FilledForm {
    let mut fields = form.fields.clone();
    if let Some(name) = &button.name {
        fields.push((name.clone(), button.value.clone()));
    }
    FilledForm {
        method: button.formmethod.unwrap_or(form.method),
        action: button
            .formaction
            .clone()
            .unwrap_or_else(|| form.action.clone()),
        fields,
    }
}

/// A field that is one of the form's submit buttons (not part of `fields`, but guard anyway).
fn is_button_value(form: &HtmlForm, name: &str) -> bool {
    form.submits.iter().any(|b| b.name.as_deref() == Some(name))
}

fn set_cookies(resp: &Response) -> Vec<SetCookieSeen> {
    resp.header_all("set-cookie")
        .into_iter()
        .filter_map(SetCookieSeen::parse)
        .collect()
}

/// The `frame-ancestors` directive of the CSP header(s), without the directive name.
fn frame_ancestors(resp: &Response) -> Option<String> {
    resp.header_all("content-security-policy")
        .into_iter()
        .flat_map(|csp| csp.split(';'))
        .map(str::trim)
        .find_map(|d| {
            let (name, rest) = d.split_once(char::is_whitespace).unwrap_or((d, ""));
            name.eq_ignore_ascii_case("frame-ancestors")
                .then(|| cut(rest.trim()))
        })
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cut(s: &str) -> String {
    crate::redact::cut(s, TEXT_CAP).0
}

impl FormMethod {
    /// The HTTP method of a submission.
    pub(super) fn http(self) -> reqwest::Method {
        match self {
            FormMethod::Get => reqwest::Method::GET,
            FormMethod::Post => reqwest::Method::POST,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FastMCP 4.2.3's consent page, trimmed to what the agent reads (oauth_proxy/ui.py).
    const FASTMCP_PAGE: &str = r#"<!doctype html><html><head><title>Application Access Request</title></head><body>
        <p>walk client</p><p>Client ID: dcr-abc</p>
        <p>Credentials will be sent to: http://127.0.0.1:8765/callback?x=1&amp;y=2</p>
        <ul><li>todo:read</li></ul>
        <form id="consentForm" method="POST" action="">
          <input type="hidden" name="txn_id" value="txn-123">
          <input type="hidden" name="csrf_token" value="csrf-456">
          <button type="submit" name="action" value="approve">Allow Access</button>
          <button type="submit" name="action" value="deny">Deny</button>
        </form></body></html>"#;

    fn page_url() -> Url {
        Url::parse("https://127.0.0.1:4443/consent?txn_id=txn-123").unwrap()
    }

    fn authorize() -> Url {
        Url::parse("https://127.0.0.1:4443/authorize?client_id=dcr-abc&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback%3Fx%3D1%26y%3D2&scope=todo%3Aread+todo%3Awrite").unwrap()
    }

    fn response(status: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: Vec::new(),
        }
    }

    fn fastmcp() -> Recognised {
        let resp = response(
            200,
            &[
                ("x-frame-options", "DENY"),
                ("set-cookie", "__Host-MCP_CONSENT_STATE_d322=c2lnbmVk.payload; HttpOnly; Max-Age=900; Path=/; SameSite=lax; Secure"),
            ],
        );
        recognise(&page_url(), &resp, FASTMCP_PAGE, &authorize(), "#3").expect("a consent page")
    }

    #[test]
    fn a_form_with_an_approve_valued_submit_is_approved_with_that_button_and_its_hidden_fields() {
        let r = fastmcp();
        assert_eq!(r.approve.method, FormMethod::Post);
        assert_eq!(r.approve.action, "");
        assert_eq!(
            r.approve.encoded(),
            "txn_id=txn-123&csrf_token=csrf-456&action=approve"
        );
        assert_eq!(r.page.form_id.as_deref(), Some("consentForm"));
        assert_eq!(r.page.submit, "action");
    }

    #[test]
    fn the_framing_header_and_the_cookie_attributes_are_recorded_without_the_cookie_value() {
        let r = fastmcp();
        assert_eq!(r.page.x_frame_options.as_deref(), Some("DENY"));
        assert_eq!(r.page.frame_ancestors, None);
        let c = &r.page.set_cookies[0];
        assert_eq!(c.name, "__Host-MCP_CONSENT_STATE_d322");
        assert!(c.host_prefixed() && c.secure && c.http_only);
        assert_eq!(c.same_site.as_deref(), Some("lax"));
        assert_eq!(c.path.as_deref(), Some("/"));
        assert_eq!(c.max_age.as_deref(), Some("900"));
        assert_eq!(c.value_len, "c2lnbmVk.payload".len());
        assert!(!format!("{:?}", r.page).contains("c2lnbmVk"));
    }

    #[test]
    fn hidden_field_names_are_recorded_and_their_values_only_handed_over_as_secrets() {
        let r = fastmcp();
        assert_eq!(r.page.hidden_fields, vec!["txn_id", "csrf_token"]);
        assert_eq!(r.hidden_values, vec!["txn-123", "csrf-456"]);
        assert!(!format!("{:?}", r.page).contains("csrf-456"));
    }

    #[test]
    fn the_page_is_checked_for_the_client_id_the_html_escaped_redirect_uri_and_each_scope() {
        let r = fastmcp();
        assert_eq!(r.page.names_client_id, Some(true));
        assert_eq!(r.page.names_redirect_uri, Some(true));
        assert_eq!(
            r.page.names_scopes,
            vec![
                ("todo:read".to_owned(), true),
                ("todo:write".to_owned(), false)
            ]
        );
    }

    #[test]
    fn csp_frame_ancestors_is_read_from_the_header() {
        let resp = response(
            200,
            &[(
                "content-security-policy",
                "default-src 'self'; Frame-Ancestors 'none'",
            )],
        );
        let r = recognise(&page_url(), &resp, FASTMCP_PAGE, &authorize(), "#1").unwrap();
        assert_eq!(r.page.frame_ancestors.as_deref(), Some("'none'"));
        assert_eq!(r.page.x_frame_options, None);
    }

    #[test]
    fn a_login_form_is_not_a_consent_page_even_with_an_allow_button() {
        let page = r#"<form method="post"><input name="username"><input type="password" name="password">
            <button name="allow" value="1">Sign in and allow</button></form>"#;
        assert!(recognise(&page_url(), &response(200, &[]), page, &authorize(), "#1").is_none());
    }

    #[test]
    fn a_form_posting_to_another_origin_is_not_approved() {
        let page = r#"<form method="post" action="https://elsewhere.example/consent">
            <button name="approve">Approve</button></form>"#;
        assert!(recognise(&page_url(), &response(200, &[]), page, &authorize(), "#1").is_none());
    }

    #[test]
    fn a_page_whose_only_submit_is_deny_is_not_a_consent_page() {
        let page = r#"<form method="post"><button name="action" value="deny">Deny</button></form>"#;
        assert!(recognise(&page_url(), &response(200, &[]), page, &authorize(), "#1").is_none());
    }

    #[test]
    fn the_approval_answer_keeps_its_status_location_and_cookie_attributes() {
        let resp = response(
            302,
            &[
                ("location", "http://127.0.0.1:55331/authorize?state=T"),
                ("set-cookie", "__Host-MCP_CONSENT_BINDING_22bf=secretvalue; HttpOnly; Max-Age=900; Path=/; SameSite=lax; Secure"),
            ],
        );
        let a = approval(&page_url(), &resp, "#4");
        assert_eq!(a.status, 302);
        assert_eq!(
            a.location.as_deref(),
            Some("http://127.0.0.1:55331/authorize?state=T")
        );
        assert_eq!(a.set_cookies[0].value_len, "secretvalue".len());
        assert!(!format!("{a:?}").contains("secretvalue"));
    }

    #[test]
    fn a_very_long_cookie_name_is_cut() {
        let line = format!("{}=v; Secure", "n".repeat(10 * TEXT_CAP));
        let c = SetCookieSeen::parse(&line).unwrap();
        assert!(c.name.len() < 2 * TEXT_CAP, "{}", c.name.len());
        assert!(c.name.contains("bytes cut"), "{}", c.name);
    }
}
