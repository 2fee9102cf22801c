//! The suite's user agent: opens an authorization URL and walks the authorization server's redirects, login
//! and consent pages (per the [`LoginMode`]) until a redirect leaves the server: to the client's callback or
//! anywhere else. Neither is followed; what the server sent is the observation.
//!
//! A consent page (a form on the server's own origin with an approve-like submit, [`consent`]) is recorded in
//! [`Authorized::consent`] whoever handles it, and approved when no login script step applies to it (in auto
//! mode too): an OAuth proxy answers `/authorize` with its own consent page before redirecting upstream.
//!
//! Every request goes through the suite's [`Http`] (recorded as evidence, secrets redacted, no redirect
//! followed by the client itself). The agent keeps cookies between walks, as a browser would, so a session
//! cookie set by one login skips the login page on the next authorization.

mod callback;
pub mod consent;
mod cookies;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mcp_auth_reports::{Exchange, HttpRequest, HttpResponse};
use url::Url;

pub use callback::CallbackListener;
pub use cookies::{Cookie, CookieJar};

use super::login::{FilledForm, FormMethod, LoginMode, LoginScript};
use crate::evidence::Scenario;
use crate::http::{Http, Request};

/// Requests in one walk before the agent gives up (a redirect or login loop).
pub const MAX_HOPS: usize = 20;

/// What one authorization walk saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorized {
    pub outcome: AuthorizeOutcome,
    /// Every exchange of the walk, in order.
    pub exchanges: Vec<String>,
    /// Status and exchange id of each form submission's response (AS-AZ-10 judges the status).
    pub form_posts: Vec<(u16, String)>,
    /// Every consent page met ([`consent`]), in order, with the answer to its approval.
    pub consent: Vec<consent::ConsentPage>,
}

impl Authorized {
    /// The code, when the walk ended at the client's callback with one.
    pub fn code(&self) -> Option<&str> {
        match &self.outcome {
            AuthorizeOutcome::Callback { params, .. } => params
                .iter()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    /// The last `n` exchanges of the walk, newest first (the evidence of how it ended).
    pub fn last_exchanges(&self, n: usize) -> Vec<String> {
        self.exchanges.iter().rev().take(n).cloned().collect()
    }
}

/// How a walk ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// A redirect whose Location starts with the callback prefix: its query and fragment parameters
    /// (duplicates kept, in order). `location` is the Location resolved against the URL that answered.
    /// In manual mode the redirect happened in the browser: `status` is 0 (not observed) and `exchange` names
    /// the listener's record of the browser's request.
    Callback {
        location: String,
        params: Vec<(String, String)>,
        fragment: Vec<(String, String)>,
        status: u16,
        exchange: String,
    },
    /// A redirect to anywhere else off the authorization server's origin (e.g. an attacker URI); not followed.
    Elsewhere {
        location: String,
        status: u16,
        exchange: String,
    },
    /// The walk ended on a page (an error page, or a page the mode or script could not handle).
    Page {
        status: u16,
        body: String,
        exchange: String,
    },
    /// A request of the walk got no HTTP answer (timeout, reset, refused connection) or the suite declined to
    /// send it: never a refusal by the AS.
    NoAnswer {
        failure: crate::http::HttpFailure,
        exchange: String,
    },
    /// The suite could not complete the walk (script mismatch, loop, manual timeout).
    Failed {
        reason: String,
        exchange: Option<String>,
    },
}

impl AuthorizeOutcome {
    /// Why the walk yielded no code, typed: no answer, or the status and the OAuth `error` of the redirect.
    pub fn cause(&self) -> crate::check::Cause {
        use crate::check::Cause;
        match self {
            AuthorizeOutcome::Callback { params, status, .. } => Cause::Refused {
                status: *status,
                error: params
                    .iter()
                    .find(|(k, _)| k == "error")
                    .map(|(_, v)| v.clone()),
            },
            AuthorizeOutcome::Elsewhere { status, .. } | AuthorizeOutcome::Page { status, .. } => {
                Cause::Refused {
                    status: *status,
                    error: None,
                }
            }
            AuthorizeOutcome::NoAnswer { failure, .. } => Cause::NoAnswer(failure.clone()),
            AuthorizeOutcome::Failed { .. } => Cause::Unspecified,
        }
    }
}

/// Shows the authorization URL to the person in manual mode.
pub type Prompt = Arc<dyn Fn(&str) + Send + Sync>;

/// The user agent. One per run (or per user): it keeps its cookies across walks.
pub struct UserAgent {
    http: Http,
    mode: LoginMode,
    callback_prefix: String,
    jar: CookieJar,
    listener: Option<Arc<CallbackListener>>,
    prompt: Prompt,
    /// Origins besides the AS's the walk follows (the upstream IdP's login pages, issue 15).
    login_origins: Vec<url::Origin>,
    /// Every URL this agent requested, in order (they may hold codes and states: kept in memory for the
    /// probes that replay or read them, never written to evidence as such).
    visited: std::sync::Mutex<Vec<Url>>,
}

/// A consent page a walk stopped at ([`UserAgent::authorize_until_consent`]), not approved: what approving it
/// would submit. Its hidden values are secrets of the run; `Debug` shows their names only.
#[derive(Clone)]
pub struct PendingConsent {
    /// The page's URL.
    pub page_url: Url,
    /// The authorization URL the walk started from.
    pub authorize: Url,
    /// The page as recorded.
    pub page: consent::ConsentPage,
    /// The approving submission (the form's fields, hidden ones included, and the approve button).
    pub form: FilledForm,
    /// The form's hidden fields, name and value.
    pub hidden: Vec<(String, String)>,
}

impl std::fmt::Debug for PendingConsent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConsent")
            .field("page_url", &self.page_url.path())
            .field(
                "hidden",
                &self.hidden.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgent")
            .field("mode", &self.mode)
            .field("callback_prefix", &self.callback_prefix)
            .field("cookies", &self.jar.cookies().len())
            .finish_non_exhaustive()
    }
}

impl UserAgent {
    /// A fresh agent (empty cookie jar). The script's password-like values are registered as secrets with
    /// `http`, so the evidence of the form posts never shows them.
    pub fn new(http: Http, mode: LoginMode, callback_prefix: String) -> UserAgent {
        if let LoginMode::Form(script) = &mode {
            for secret in script.secret_values() {
                http.register_secret(secret);
            }
        }
        UserAgent {
            http,
            mode,
            callback_prefix,
            jar: CookieJar::new(),
            listener: None,
            login_origins: Vec::new(),
            visited: std::sync::Mutex::new(Vec::new()),
            prompt: Arc::new(|url| {
                eprintln!("Open this URL in a browser and complete the login:\n  {url}");
            }),
        }
    }

    /// The listener manual mode waits on (its `redirect_uri()` is the one in the authorization URL).
    pub fn with_callback_listener(mut self, listener: Arc<CallbackListener>) -> UserAgent {
        self.listener = Some(listener);
        self
    }

    /// Also follows redirects to `origin` (an upstream IdP the AS federates its login to) and applies the
    /// login script to its pages.
    pub fn with_login_origin(mut self, origin: url::Origin) -> UserAgent {
        self.login_origins.push(origin);
        self
    }

    /// Replaces how manual mode shows the URL (default: a line on stderr).
    pub fn with_prompt(mut self, prompt: impl Fn(&str) + Send + Sync + 'static) -> UserAgent {
        self.prompt = Arc::new(prompt);
        self
    }

    pub fn mode(&self) -> &LoginMode {
        &self.mode
    }

    pub fn cookies(&self) -> &CookieJar {
        &self.jar
    }

    /// Opens the authorization URL and follows same-origin redirects and the login/consent pages (per the
    /// mode) until a redirect leaves the AS: to the callback prefix (not followed) or elsewhere (not followed).
    pub async fn authorize(&self, sc: &Scenario, url: &str) -> Authorized {
        match &self.mode {
            LoginMode::Auto => self.walk(sc, url, None).await,
            LoginMode::Form(script) => self.walk(sc, url, Some(script)).await,
            LoginMode::Manual { timeout } => self.manual(sc, url, *timeout).await,
        }
    }

    /// Every URL this agent requested so far, in order.
    pub fn visited(&self) -> Vec<Url> {
        self.visited
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Like [`UserAgent::authorize`], but the walk stops at the first consent page without approving it (the
    /// outcome is that page); the pending approval is returned for [`UserAgent::submit_consent`] (by this agent
    /// or another one). Redirects before it are followed as usual, the upstream IdP's too. Manual mode cannot
    /// stop anywhere: the walk fails.
    pub async fn authorize_until_consent(
        &self,
        sc: &Scenario,
        url: &str,
    ) -> (Authorized, Option<PendingConsent>) {
        let script = match &self.mode {
            LoginMode::Auto => None,
            LoginMode::Form(script) => Some(script),
            LoginMode::Manual { .. } => {
                return (
                    Walk::default().failed(
                        "manual login: the suite cannot stop a walk at the consent page".into(),
                        None,
                    ),
                    None,
                )
            }
        };
        let start = match Url::parse(url) {
            Ok(url) => url,
            Err(e) => {
                return (
                    Walk::default().failed(format!("invalid authorization URL {url:?}: {e}"), None),
                    None,
                )
            }
        };
        let hop = Hop::get(
            start.clone(),
            "authorize: open the authorization URL".to_owned(),
        );
        let mut pending = None;
        let walk = self
            .run(sc, Walk::default(), hop, &start, script, Some(&mut pending))
            .await;
        (walk, pending)
    }

    /// Submits a pending consent approval with this agent's cookies and walks on (login pages, the upstream
    /// IdP) until a redirect leaves the authorization server. The page is in the record, with the answer.
    pub async fn submit_consent(&self, sc: &Scenario, pending: &PendingConsent) -> Authorized {
        let script = match &self.mode {
            LoginMode::Form(script) => Some(script),
            _ => None,
        };
        let walk = Walk {
            consent: vec![pending.page.clone()],
            ..Walk::default()
        };
        let hop = match Hop::submit(
            &pending.page_url,
            &pending.form,
            "authorize: approve the consent page".to_owned(),
        ) {
            Ok(hop) => Hop {
                approves: Some(0),
                ..hop
            },
            Err(reason) => return walk.failed(reason, None),
        };
        self.run(sc, walk, hop, &pending.authorize, script, None)
            .await
    }

    async fn walk(&self, sc: &Scenario, url: &str, script: Option<&LoginScript>) -> Authorized {
        let walk = Walk::default();
        let hop = match Url::parse(url) {
            Ok(url) => Hop::get(url, "authorize: open the authorization URL".to_owned()),
            Err(e) => return walk.failed(format!("invalid authorization URL {url:?}: {e}"), None),
        };
        let start = hop.url.clone();
        self.run(sc, walk, hop, &start, script, None).await
    }

    /// Walks from `hop` (the authorization URL `start` began the walk). With `stop`, the walk ends at the first
    /// consent page, its approval left in `stop`.
    async fn run(
        &self,
        sc: &Scenario,
        mut walk: Walk,
        mut hop: Hop,
        start: &Url,
        script: Option<&LoginScript>,
        mut stop: Option<&mut Option<PendingConsent>>,
    ) -> Authorized {
        let origin = hop.url.origin();
        let start = start.clone();
        for _ in 0..MAX_HOPS {
            let mut req = Request::method(hop.method.clone(), hop.url.as_str());
            if let Some(cookies) = self.jar.cookie_header(&hop.url, SystemTime::now()) {
                req = req.header("cookie", cookies);
            }
            if let Some(body) = hop.body.take() {
                req = req.header("content-type", "application/x-www-form-urlencoded");
                req.body = Some(body);
            }
            self.visited
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(hop.url.clone());
            let recorded = self.http.send(sc, &hop.purpose, req).await;
            let id = recorded.id;
            walk.exchanges.push(id.clone());
            let resp = match recorded.result {
                Ok(resp) => resp,
                Err(failure) => {
                    return walk.end(AuthorizeOutcome::NoAnswer {
                        failure,
                        exchange: id,
                    })
                }
            };
            for line in resp.header_all("set-cookie") {
                self.jar.store(&hop.url, line, SystemTime::now());
            }
            if hop.form_submission {
                walk.form_posts.push((resp.status, id.clone()));
            }
            if let Some(page) = hop.approves.and_then(|i| walk.consent.get_mut(i)) {
                page.approval = Some(consent::approval(&hop.url, &resp, &id));
            }
            let status = resp.status;

            if (300..400).contains(&status) {
                let Some(raw) = resp.header("location") else {
                    return walk.end(AuthorizeOutcome::Page {
                        status,
                        body: resp.text(),
                        exchange: id,
                    });
                };
                let target = match hop.url.join(raw.trim()) {
                    Ok(t) => t,
                    Err(e) => {
                        return walk.failed(format!("unusable Location {raw:?}: {e}"), Some(id))
                    }
                };
                if self.is_callback(raw, &target) {
                    return walk.end(callback(&target, status, id));
                }
                if target.origin() != origin && !self.login_origins.contains(&target.origin()) {
                    return walk.end(AuthorizeOutcome::Elsewhere {
                        location: target.into(),
                        status,
                        exchange: id,
                    });
                }
                // 301/302/303 become a GET; so does a 307/308 answering a form post: the agent never
                // re-posts credentials (the form post's status is in `form_posts` for the checks to judge).
                hop = Hop::get(target, format!("authorize: follow the {status} redirect"));
                continue;
            }

            let page = resp.text();
            let consent_page = (200..300)
                .contains(&status)
                .then(|| consent::recognise(&hop.url, &resp, &page, &start, &id))
                .flatten();
            let approves = consent_page.as_ref().map(|c| {
                for value in &c.hidden_values {
                    self.http.register_secret(value);
                }
                walk.consent.push(c.page.clone());
                walk.consent.len() - 1
            });
            if let (Some(out), Some(c)) = (stop.as_deref_mut(), &consent_page) {
                *out = Some(PendingConsent {
                    page_url: hop.url.clone(),
                    authorize: start.clone(),
                    page: c.page.clone(),
                    form: c.approve.clone(),
                    hidden: c.hidden.clone(),
                });
                return walk.end(AuthorizeOutcome::Page {
                    status,
                    body: page,
                    exchange: id,
                });
            }
            let step = script
                .filter(|_| (200..300).contains(&status))
                .and_then(|s| s.step_for(&page));
            let next = match (step, consent_page) {
                (Some((number, step)), _) => step
                    .fill(&page)
                    .map_err(|e| e.to_string())
                    .and_then(|filled| {
                        Hop::submit(
                            &hop.url,
                            &filled,
                            format!("authorize: submit the form of login step {number}"),
                        )
                    })
                    .map_err(|e| format!("login step {number}: {e}")),
                // No script step for it: a recognised consent page is approved.
                (None, Some(c)) => Hop::submit(
                    &hop.url,
                    &c.approve,
                    "authorize: approve the consent page".to_owned(),
                ),
                (None, None) => {
                    return walk.end(AuthorizeOutcome::Page {
                        status,
                        body: page,
                        exchange: id,
                    })
                }
            };
            match next {
                Ok(next) => {
                    hop = Hop { approves, ..next };
                    continue;
                }
                Err(reason) => return walk.failed(reason, Some(id)),
            }
        }
        let last = walk.exchanges.last().cloned();
        walk.failed(
            format!("the walk did not leave the authorization server within {MAX_HOPS} requests"),
            last,
        )
    }

    fn is_callback(&self, raw: &str, resolved: &Url) -> bool {
        let prefix = self.callback_prefix.as_str();
        !prefix.is_empty()
            && (raw.trim().starts_with(prefix) || resolved.as_str().starts_with(prefix))
    }

    async fn manual(&self, sc: &Scenario, url: &str, timeout: Duration) -> Authorized {
        let walk = Walk::default();
        let Some(listener) = &self.listener else {
            return walk.failed(
                "manual login needs a callback listener (UserAgent::with_callback_listener)".into(),
                None,
            );
        };
        let state = Url::parse(url).ok().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        });
        (self.prompt)(url);
        let Some(received) = listener.take(state.as_deref(), timeout).await else {
            return walk.failed(
                format!(
                    "no authorization callback reached {} within {timeout:?}",
                    listener.redirect_uri()
                ),
                None,
            );
        };
        let location = format!("http://{}{}", listener.addr, received.path_and_query);
        let id = sc.next_id();
        let mut exchange = Exchange::new(
            id.clone(),
            "manual login: the browser's redirect reached the callback listener",
            HttpRequest::new(received.method.as_str(), location.as_str()),
        );
        exchange.response = Some(HttpResponse::new(200));
        self.http.log().push(exchange);
        let mut walk = walk;
        walk.exchanges.push(id.clone());
        walk.end(AuthorizeOutcome::Callback {
            location,
            params: received.params,
            fragment: Vec::new(),
            status: 0,
            exchange: id,
        })
    }
}

/// The next request of a walk.
struct Hop {
    url: Url,
    method: reqwest::Method,
    body: Option<String>,
    purpose: String,
    form_submission: bool,
    /// This request approves the consent page of this index in [`Walk::consent`].
    approves: Option<usize>,
}

impl Hop {
    fn get(url: Url, purpose: String) -> Hop {
        Hop {
            url,
            method: reqwest::Method::GET,
            body: None,
            purpose,
            form_submission: false,
            approves: None,
        }
    }

    /// The submission of `filled` (its action resolved against `page`).
    fn submit(page: &Url, filled: &FilledForm, purpose: String) -> Result<Hop, String> {
        let mut target = page
            .join(&filled.action)
            .map_err(|e| format!("form action {:?}: {e}", filled.action))?;
        target.set_fragment(None);
        Ok(match filled.method {
            FormMethod::Get => {
                target.set_query(Some(&filled.encoded()));
                Hop {
                    form_submission: true,
                    ..Hop::get(target, purpose)
                }
            }
            FormMethod::Post => Hop {
                url: target,
                method: FormMethod::Post.http(),
                body: Some(filled.encoded()),
                purpose,
                form_submission: true,
                approves: None,
            },
        })
    }
}

#[derive(Default)]
struct Walk {
    exchanges: Vec<String>,
    form_posts: Vec<(u16, String)>,
    consent: Vec<consent::ConsentPage>,
}

impl Walk {
    fn end(self, outcome: AuthorizeOutcome) -> Authorized {
        Authorized {
            outcome,
            exchanges: self.exchanges,
            form_posts: self.form_posts,
            consent: self.consent,
        }
    }

    fn failed(self, reason: String, exchange: Option<String>) -> Authorized {
        self.end(AuthorizeOutcome::Failed { reason, exchange })
    }
}

fn callback(target: &Url, status: u16, exchange: String) -> AuthorizeOutcome {
    let pairs = |s: Option<&str>| -> Vec<(String, String)> {
        url::form_urlencoded::parse(s.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    AuthorizeOutcome::Callback {
        location: target.as_str().to_owned(),
        params: pairs(target.query()),
        fragment: pairs(target.fragment()),
        status,
        exchange,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::http::{header, HeaderMap, StatusCode};
    use axum::response::{Html, IntoResponse, Redirect};
    use axum::routing::get;
    use axum::{Form, Router};
    use tokio::net::TcpListener;
    use tokio::task::JoinHandle;

    use super::*;
    use crate::evidence::EvidenceLog;
    use crate::http::Limits;

    const CALLBACK: &str = "http://127.0.0.1:9/callback";

    /// A test authorization server on `127.0.0.1:0`; stops when dropped.
    struct TestAs {
        base: String,
        task: JoinHandle<()>,
    }

    impl Drop for TestAs {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    async fn serve(app: Router) -> TestAs {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestAs { base, task }
    }

    fn http() -> Http {
        Http::new(Limits::default(), EvidenceLog::new(), vec![]).unwrap()
    }

    fn agent(mode: LoginMode) -> UserAgent {
        UserAgent::new(http(), mode, CALLBACK.to_owned())
    }

    fn form_mode(toml_text: &str) -> LoginMode {
        LoginMode::Form(LoginScript::from_toml_str(toml_text).unwrap())
    }

    const SCRIPT: &str = r#"
        [[step]]
        when = 'name="password"'
        fields = { username = "alice", password = "alice-password" }
        submit = "login"
        [[step]]
        when = 'name="approve"'
        submit = "approve"
    "#;

    const LOGIN_PAGE: &str = r#"<html><body><form method="post" action="/login">
        <input type="hidden" name="csrf" value="t-1"><input name="username"><input type="password" name="password">
        <button type="submit" name="login" value="go">Sign in</button></form></body></html>"#;

    const CONSENT_PAGE: &str = r#"<html><body><form method="post">
        <button name="approve" value="yes">Approve</button><button name="deny" value="yes">Deny</button>
        </form></body></html>"#;

    fn has_session(headers: &HeaderMap) -> bool {
        headers.get("cookie").and_then(|v| v.to_str().ok()) == Some("sid=s-123")
    }

    fn good_login(form: &HashMap<String, String>) -> bool {
        let f = |k: &str| form.get(k).map(String::as_str);
        f("csrf") == Some("t-1")
            && f("username") == Some("alice")
            && f("password") == Some("alice-password")
            && f("login") == Some("go")
    }

    /// Login (sets `sid`) → 303 → consent (needs `sid`) → 303 → callback.
    fn login_and_consent() -> Router {
        Router::new()
            .route("/authorize", get(|| async { Html(LOGIN_PAGE) }))
            .route(
                "/login",
                axum::routing::post(|Form(form): Form<HashMap<String, String>>| async move {
                    if !good_login(&form) {
                        return Html("bad credentials").into_response();
                    }
                    (
                        [(
                            header::SET_COOKIE,
                            "sid=s-123; Path=/; HttpOnly; Secure; SameSite=Lax",
                        )],
                        Redirect::to("/consent"),
                    )
                        .into_response()
                }),
            )
            .route(
                "/consent",
                get(|headers: HeaderMap| async move {
                    if has_session(&headers) {
                        Html(CONSENT_PAGE).into_response()
                    } else {
                        (StatusCode::UNAUTHORIZED, "no session").into_response()
                    }
                })
                .post(
                    |headers: HeaderMap, Form(form): Form<HashMap<String, String>>| async move {
                        if has_session(&headers) && form.contains_key("approve") {
                            Redirect::to(&format!("{CALLBACK}?code=c-1&state=s-1")).into_response()
                        } else {
                            (StatusCode::FORBIDDEN, "denied").into_response()
                        }
                    },
                ),
            )
    }

    fn redirect_to(location: &'static str) -> Router {
        Router::new().route(
            "/authorize",
            get(move || async move { Redirect::to(location) }),
        )
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn form_login_carries_the_session_cookie_to_consent_and_ends_at_the_callback() {
        let target = serve(login_and_consent()).await;
        let sc = Scenario::new("walk");
        let result = agent(form_mode(SCRIPT))
            .authorize(&sc, &format!("{}/authorize?state=s-1", target.base))
            .await;
        match &result.outcome {
            AuthorizeOutcome::Callback {
                params,
                fragment,
                status,
                exchange,
                ..
            } => {
                assert_eq!(params, &pairs(&[("code", "c-1"), ("state", "s-1")]));
                assert!(fragment.is_empty());
                assert_eq!(*status, 303);
                assert_eq!(exchange, "walk#4");
            }
            other => panic!("expected the callback, got {other:?}"),
        }
        assert_eq!(
            result.exchanges,
            vec!["walk#1", "walk#2", "walk#3", "walk#4"]
        );
        assert_eq!(
            result.form_posts,
            vec![(303, "walk#2".to_owned()), (303, "walk#4".to_owned())]
        );
    }

    #[tokio::test]
    async fn form_passwords_are_redacted_in_the_evidence() {
        let target = serve(login_and_consent()).await;
        let sc = Scenario::new("redact");
        let agent = agent(form_mode(SCRIPT));
        agent
            .authorize(&sc, &format!("{}/authorize", target.base))
            .await;
        let login_post = agent
            .http
            .log()
            .sealed()
            .0
            .into_iter()
            .find(|e| e.id == "redact#2")
            .unwrap();
        let body = login_post.request.body.unwrap();
        assert!(body.contains("username=alice"), "{body}");
        assert!(!body.contains("alice-password"), "{body}");
    }

    #[tokio::test]
    async fn auto_mode_stops_at_a_direct_redirect_to_the_callback() {
        let target = serve(redirect_to("http://127.0.0.1:9/callback?code=c-2&iss=x")).await;
        let result = agent(LoginMode::Auto)
            .authorize(
                &Scenario::new("auto"),
                &format!("{}/authorize", target.base),
            )
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Callback { params, status: 303, .. }
                if params == &pairs(&[("code", "c-2"), ("iss", "x")])),
            "{result:?}"
        );
        assert_eq!(result.exchanges.len(), 1);
        assert!(result.form_posts.is_empty());
    }

    #[tokio::test]
    async fn callback_fragment_parameters_are_parsed_in_order_with_duplicates() {
        let target = serve(redirect_to(
            "http://127.0.0.1:9/callback#access_token=a&scope=x&scope=y",
        ))
        .await;
        let result = agent(LoginMode::Auto)
            .authorize(
                &Scenario::new("frag"),
                &format!("{}/authorize", target.base),
            )
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Callback { params, fragment, .. }
                if params.is_empty()
                    && fragment == &pairs(&[("access_token", "a"), ("scope", "x"), ("scope", "y")])),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn an_off_origin_redirect_ends_the_walk_as_elsewhere() {
        let target = serve(redirect_to("https://attacker.example/cb?code=c-3")).await;
        let result = agent(LoginMode::Auto)
            .authorize(&Scenario::new("off"), &format!("{}/authorize", target.base))
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Elsewhere { location, status: 303, exchange }
                if location == "https://attacker.example/cb?code=c-3" && exchange == "off#1"),
            "{result:?}"
        );
        assert_eq!(result.exchanges.len(), 1);
    }

    #[tokio::test]
    async fn a_redirect_to_a_login_origin_is_followed_to_the_callback() {
        let idp = serve(redirect_to("http://127.0.0.1:9/callback?code=c-4")).await;
        let location: &'static str = Box::leak(format!("{}/authorize", idp.base).into_boxed_str());
        let target = serve(redirect_to(location)).await;
        let idp_origin = Url::parse(&idp.base).unwrap().origin();
        let result = agent(LoginMode::Auto)
            .with_login_origin(idp_origin)
            .authorize(&Scenario::new("fed"), &format!("{}/authorize", target.base))
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Callback { params, .. }
                if params == &pairs(&[("code", "c-4")])),
            "{result:?}"
        );
        assert_eq!(result.exchanges.len(), 2);
    }

    #[tokio::test]
    async fn a_page_no_step_applies_to_ends_the_walk_as_page() {
        let app = Router::new().route(
            "/authorize",
            get(|| async { (StatusCode::BAD_REQUEST, Html("<p>invalid_request</p>")) }),
        );
        let target = serve(app).await;
        let result = agent(form_mode(SCRIPT))
            .authorize(
                &Scenario::new("page"),
                &format!("{}/authorize", target.base),
            )
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Page { status: 400, body, .. }
                if body.contains("invalid_request")),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn auto_mode_ends_on_a_login_page() {
        let target = serve(login_and_consent()).await;
        let result = agent(LoginMode::Auto)
            .authorize(
                &Scenario::new("auto-page"),
                &format!("{}/authorize", target.base),
            )
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Page { status: 200, .. }),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_307_answering_a_form_post_is_recorded_and_followed_with_a_get() {
        let app = Router::new()
            .route("/authorize", get(|| async { Html(LOGIN_PAGE) }))
            .route(
                "/login",
                axum::routing::post(|| async { Redirect::temporary("/consent") }),
            )
            // GET only: a re-posted form would get 405 and end the walk on a page.
            .route(
                "/consent",
                get(|| async { Redirect::to(&format!("{CALLBACK}?code=c-4")) }),
            );
        let target = serve(app).await;
        let result = agent(form_mode(SCRIPT))
            .authorize(
                &Scenario::new("t307"),
                &format!("{}/authorize", target.base),
            )
            .await;
        assert_eq!(result.form_posts, vec![(307, "t307#2".to_owned())]);
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Callback { exchange, .. } if exchange == "t307#3"),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_redirect_loop_fails_after_the_hop_limit() {
        let target = serve(redirect_to("/authorize")).await;
        let result = agent(LoginMode::Auto)
            .authorize(
                &Scenario::new("loop"),
                &format!("{}/authorize", target.base),
            )
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Failed { exchange: Some(id), .. } if id == "loop#20"),
            "{result:?}"
        );
        assert_eq!(result.exchanges.len(), MAX_HOPS);
    }

    #[tokio::test]
    async fn a_step_whose_form_is_missing_fails_with_the_step_number() {
        let app = Router::new().route(
            "/authorize",
            get(|| async { Html(r#"<p>name="password" but no form</p>"#) }),
        );
        let target = serve(app).await;
        let result = agent(form_mode(SCRIPT))
            .authorize(
                &Scenario::new("noform"),
                &format!("{}/authorize", target.base),
            )
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Failed { reason, .. } if reason.starts_with("login step 1")),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn manual_mode_returns_the_parameters_the_callback_listener_receives() {
        let listener = Arc::new(CallbackListener::start().await.unwrap());
        let client = http();
        let agent = UserAgent::new(
            client.clone(),
            LoginMode::Manual {
                timeout: Duration::from_secs(10),
            },
            listener.redirect_uri(),
        )
        .with_callback_listener(listener.clone())
        .with_prompt(|_| {});
        let sc = Scenario::new("manual");
        let browser = Scenario::new("browser");
        let redirect = format!("{}?code=c-5&state=s-5", listener.redirect_uri());
        let (result, landed) = tokio::join!(
            agent.authorize(&sc, "http://127.0.0.1:1/authorize?state=s-5"),
            client.send(
                &browser,
                "the browser follows the redirect",
                Request::get(redirect.clone())
            ),
        );
        assert_eq!(landed.result.unwrap().status, 200);
        match result.outcome {
            AuthorizeOutcome::Callback {
                location,
                params,
                exchange,
                ..
            } => {
                assert_eq!(location, redirect);
                assert_eq!(params, pairs(&[("code", "c-5"), ("state", "s-5")]));
                assert_eq!(exchange, "manual#1");
            }
            other => panic!("expected the callback, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn manual_mode_skips_a_callback_carrying_another_state() {
        let listener = Arc::new(CallbackListener::start().await.unwrap());
        let client = http();
        let browser = Scenario::new("browser");
        let stale = format!("{}?code=old&state=other", listener.redirect_uri());
        client.send(&browser, "stale", Request::get(stale)).await;
        let agent = UserAgent::new(
            client.clone(),
            LoginMode::Manual {
                timeout: Duration::from_secs(10),
            },
            listener.redirect_uri(),
        )
        .with_callback_listener(listener.clone())
        .with_prompt(|_| {});
        let fresh = format!("{}?code=new&state=mine", listener.redirect_uri());
        let sc = Scenario::new("manual");
        let (result, _) = tokio::join!(
            agent.authorize(&sc, "http://127.0.0.1:1/a?state=mine"),
            client.send(&browser, "fresh", Request::get(fresh)),
        );
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Callback { params, .. }
                if params == &pairs(&[("code", "new"), ("state", "mine")])),
            "{result:?}"
        );
        // The stale one is still queued for whoever wants it.
        assert_eq!(
            listener.wait(Duration::ZERO).await,
            Some(pairs(&[("code", "old"), ("state", "other")]))
        );
    }

    /// A proxy-shaped consent flow (FastMCP's): /authorize 302s to its own /consent page, which sets a CSRF
    /// cookie and holds the token in a hidden field; approving needs both.
    fn proxy_consent() -> Router {
        const PAGE: &str = r#"<html><body><p>Client ID: c-1</p><form id="consentForm" method="POST" action="">
            <input type="hidden" name="txn_id" value="txn-9"><input type="hidden" name="csrf_token" value="csrf-tok-77">
            <button type="submit" name="action" value="approve">Allow</button>
            <button type="submit" name="action" value="deny">Deny</button></form></body></html>"#;
        Router::new()
            .route(
                "/authorize",
                get(|| async { Redirect::to("/consent?txn_id=txn-9") }),
            )
            .route(
                "/consent",
                get(|| async {
                    (
                        [
                            (header::X_FRAME_OPTIONS, "DENY"),
                            (
                                header::SET_COOKIE,
                                "__Host-CONSENT_STATE=cookie-secret-55; HttpOnly; Path=/; SameSite=lax; Secure",
                            ),
                        ],
                        Html(PAGE),
                    )
                })
                .post(
                    |headers: HeaderMap, Form(form): Form<HashMap<String, String>>| async move {
                        let f = |k: &str| form.get(k).map(String::as_str);
                        let cookie = headers.get("cookie").and_then(|v| v.to_str().ok());
                        if f("csrf_token") == Some("csrf-tok-77")
                            && f("action") == Some("approve")
                            && cookie == Some("__Host-CONSENT_STATE=cookie-secret-55")
                        {
                            Redirect::to(&format!("{CALLBACK}?code=c-9&state=s-1")).into_response()
                        } else {
                            (StatusCode::FORBIDDEN, "mismatch").into_response()
                        }
                    },
                ),
            )
    }

    #[tokio::test]
    async fn auto_mode_approves_a_consent_page_with_its_csrf_token_and_cookie_and_follows_on() {
        let target = serve(proxy_consent()).await;
        let result = agent(LoginMode::Auto)
            .authorize(
                &Scenario::new("prx"),
                &format!("{}/authorize?client_id=c-1&scope=todo%3Aread", target.base),
            )
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Callback { params, .. }
                if params.contains(&("code".to_owned(), "c-9".to_owned()))),
            "{result:?}"
        );
        assert_eq!(result.form_posts, vec![(303, "prx#3".to_owned())]);
    }

    #[tokio::test]
    async fn the_consent_page_and_its_approval_are_in_the_walk_record() {
        let target = serve(proxy_consent()).await;
        let result = agent(LoginMode::Auto)
            .authorize(
                &Scenario::new("prx"),
                &format!("{}/authorize?client_id=c-1&scope=todo%3Aread", target.base),
            )
            .await;
        let [page] = result.consent.as_slice() else {
            panic!("one consent page: {result:?}");
        };
        assert_eq!((page.status, page.exchange.as_str()), (200, "prx#2"));
        assert_eq!(page.x_frame_options.as_deref(), Some("DENY"));
        assert_eq!(page.set_cookies[0].name, "__Host-CONSENT_STATE");
        assert_eq!(page.names_client_id, Some(true));
        assert_eq!(page.names_scopes, vec![("todo:read".to_owned(), false)]);
        let approval = page.approval.as_ref().expect("approved");
        assert_eq!(
            (approval.status, approval.exchange.as_str()),
            (303, "prx#3")
        );
        assert!(approval
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with(CALLBACK)));
    }

    #[tokio::test]
    async fn the_consent_csrf_token_is_hidden_in_the_evidence() {
        let target = serve(proxy_consent()).await;
        let agent = agent(LoginMode::Auto);
        agent
            .authorize(&Scenario::new("prx"), &format!("{}/authorize", target.base))
            .await;
        let sealed = format!("{:?}", agent.http.log().sealed().0);
        assert!(sealed.contains("csrf_token"), "the post is recorded");
        assert!(!sealed.contains("csrf-tok-77"), "{sealed}");
    }

    #[tokio::test]
    async fn a_script_step_for_the_consent_page_wins_and_its_approval_is_still_recorded() {
        let target = serve(login_and_consent()).await;
        let result = agent(form_mode(SCRIPT))
            .authorize(&Scenario::new("ref"), &format!("{}/authorize", target.base))
            .await;
        assert!(
            matches!(&result.outcome, AuthorizeOutcome::Callback { .. }),
            "{result:?}"
        );
        let [page] = result.consent.as_slice() else {
            panic!("one consent page: {result:?}");
        };
        assert_eq!(page.submit, "approve");
        assert_eq!(page.approval.as_ref().map(|a| a.status), Some(303));
    }
}
