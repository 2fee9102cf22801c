//! The **upstream identity provider**: a separate OpenID Connect provider with a Google-shaped persona, the
//! party a brokering authorization server federates its logins to (issue 15).
//!
//! Its issuer is `http(s)://accounts.idp.conformance.test:<port>` (the reserved test domain, resolved to
//! 127.0.0.1 by every fake party and by the suite). It serves
//!
//! - `GET /.well-known/openid-configuration` (OIDC Discovery);
//! - `GET /authorize` (response_type `code`, PKCE S256 optional, `state` and `nonce` carried): an HTML login
//!   form (`username`, `password`, button `login`; the users of `fixtures/users.toml`), no session, so every
//!   authorization shows it; `POST /login` answers `303` to the relying party's `redirect_uri` with the code;
//! - `POST /token` (client_secret_basic or client_secret_post; authorization_code): an opaque access token and an
//!   RS256 ID token with `iss aud azp sub email email_verified hd nonce iat exp`;
//! - `GET /jwks`, `GET|POST /userinfo`.
//!
//! One relying-party client is registered: [`IDP_CLIENT_ID`] / [`IDP_CLIENT_SECRET`], any redirect URI (the
//! relying party's callback is not known in advance; this is a test IdP on loopback).
//!
//! The suite also plays a **hostile** IdP with it: [`RunningIdp::set_answer`] makes the next logins answer with
//! one [`IdpAnswer`] (an unsigned ID token, a wrong `iss`, a forged `state`, …). Everything it did is in
//! [`RunningIdp::seen`], so the suite can tell a refusal by the relying party from a hop that never happened.

pub(crate) mod id_token;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use id_token::{id_token, IdTokenInput};

use crate::clock::{Clock, SystemClock};
use crate::keys::SigningKey;
use crate::server::{basic_credentials, bearer_token, parse_form};
use crate::token::Minter;
use crate::users::Users;
use crate::world::{FakeIdpError, Listeners, DEFAULT_SEED};

/// The IdP's host name (under the reserved test domain; resolved to 127.0.0.1).
pub const IDP_HOST: &str = "accounts.idp.conformance.test";
/// The relying-party client id an AS federating to the IdP is configured with.
pub const IDP_CLIENT_ID: &str = "conformance-as.apps.idp.conformance.test";
/// That client's secret (test-only; registered as a secret of every run, so reports never show it).
pub const IDP_CLIENT_SECRET: &str = "test-only-idp-client-secret-7c1e";
/// Where `mcp-auth-conformance authz --upstream-idp` serves the IdP by default.
pub const DEFAULT_UPSTREAM_IDP_ADDR: &str = "127.0.0.1:8543";
/// The `hd` (hosted domain) claim: the users' e-mail domain.
pub const HOSTED_DOMAIN: &str = "conformance.test";
/// The scope granted when the request names none.
const DEFAULT_SCOPE: &str = "openid email profile";
/// How long ID tokens live.
const ID_TOKEN_LIFETIME_SECS: i64 = 3600;

mcp_auth_defects::variants! {
    /// How the IdP answers the next logins: honestly, or with one hostile twist the relying party must refuse.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum IdpAnswer {
        Honest = "an honest login",
        Unsigned = "an unsigned ID token (`alg: none`)",
        UnknownKey = "an ID token signed by a key that is not in the IdP's JWKS",
        WrongIssuer = "an ID token whose `iss` is another issuer",
        WrongAudience = "an ID token whose `aud` is another client",
        MissingNonce = "an ID token without `nonce`",
        ReplayedNonce = "an ID token carrying the nonce of another login",
        Expired = "an expired ID token",
        ForgedState = "a callback whose `state` is not the one the relying party sent",
        MissingState = "a callback without `state`",
        UnverifiedEmail = "an ID token with an existing user's `email` but `email_verified: false` (another `sub`)",
        ReusableCode = "an honest login whose code the token endpoint redeems more than once (lenient, not hostile: only the relying party's own state check stops a replayed callback, AS-PRX-05.replayed)",
    }
}

impl IdpAnswer {
    /// Whether the twist is in the ID token (delivered at `/token`), not in the redirect back.
    pub fn in_id_token(self) -> bool {
        !matches!(
            self,
            IdpAnswer::Honest
                | IdpAnswer::ForgedState
                | IdpAnswer::MissingState
                | IdpAnswer::ReusableCode
        )
    }

    /// Whether the IdP's JWT access token carries the twist too (not the nonce twists: it has no nonce).
    pub fn in_access_token(self) -> bool {
        self.in_id_token() && !matches!(self, IdpAnswer::MissingNonce | IdpAnswer::ReplayedNonce)
    }

    /// Whether the answer is a twist the relying party must refuse (an AS-FED probe); `Honest` and the lenient
    /// `ReusableCode` are not.
    pub fn is_hostile(self) -> bool {
        !matches!(self, IdpAnswer::Honest | IdpAnswer::ReusableCode)
    }
}

/// What the IdP saw and did (in order), for the suite to tell "refused" from "never reached".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdpSeen {
    /// `GET /authorize` from the relying party's user agent.
    Authorize {
        client_id: String,
        nonce: Option<String>,
        state_sent: bool,
        pkce: bool,
        /// The `state` the relying party sent (a secret of the run: the suite registers it before any report).
        state: Option<String>,
        /// The `redirect_uri` the relying party sent (its callback at the IdP).
        redirect_uri: Option<String>,
    },
    /// A login redirected back to the relying party with a code, answering `answer`.
    Redirected { answer: IdpAnswer },
    /// `POST /token` redeemed a code (client authenticated); the tokens went out with `answer`.
    Token { answer: IdpAnswer },
    /// `/token` refused (bad client, code or verifier).
    TokenRefused { reason: String },
    /// `/userinfo` answered.
    Userinfo,
}

/// How to start the IdP.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// Loopback address (default `127.0.0.1:0`).
    pub bind: SocketAddr,
    /// Serve https with this certificate (for `accounts.idp.conformance.test`).
    pub tls: Option<crate::tls::ServerCert>,
    /// RNG seed (codes, tokens).
    pub seed: u64,
}

impl Default for IdpConfig {
    fn default() -> Self {
        IdpConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: None,
            seed: DEFAULT_SEED ^ 0x1D9,
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    /// The requested scope, granted as asked.
    scope: Option<String>,
}

#[derive(Debug, Clone)]
struct Grant {
    pending: Pending,
    user: String,
    answer: IdpAnswer,
    /// The nonce of the login before this one (what [`IdpAnswer::ReplayedNonce`] puts in the ID token).
    previous_nonce: Option<String>,
}

#[derive(Debug, Default)]
struct IdpStore {
    answer: Option<IdpAnswer>,
    pending: HashMap<String, Pending>,
    codes: HashMap<String, Grant>,
    access_tokens: HashMap<String, (String, IdpAnswer)>,
    last_nonce: Option<String>,
    seen: Vec<IdpSeen>,
    /// Every token value the IdP issued (access and ID tokens).
    issued: Vec<String>,
}

#[derive(Debug)]
struct IdpInner {
    issuer: String,
    minter: Minter,
    users: Users,
    store: Mutex<IdpStore>,
}

/// Shared state of the IdP (cheap to clone).
#[derive(Debug, Clone)]
struct IdpState {
    inner: Arc<IdpInner>,
}

impl IdpState {
    fn store(&self) -> MutexGuard<'_, IdpStore> {
        self.inner.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn answer(&self) -> IdpAnswer {
        self.store().answer.unwrap_or(IdpAnswer::Honest)
    }
}

/// The issuer of an IdP listening on `port`: `http(s)://accounts.idp.conformance.test:<port>`.
pub fn issuer_for(port: u16, https: bool) -> String {
    let scheme = if https { "https" } else { "http" };
    format!("{scheme}://{IDP_HOST}:{port}")
}

/// The IdP.
#[derive(Debug)]
pub struct Idp;

impl Idp {
    /// Binds the listener and serves the IdP (issuer `http(s)://accounts.idp.conformance.test:<port>`).
    pub async fn start(config: IdpConfig) -> Result<RunningIdp, FakeIdpError> {
        let (listener, addr, acceptor) =
            crate::world::bind_loopback(config.bind, config.tls.as_ref()).await?;
        let issuer = issuer_for(addr.port(), acceptor.is_some());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let state = IdpState {
            inner: Arc::new(IdpInner {
                minter: Minter::new(
                    issuer.clone(),
                    SigningKey::idp_signing_key(),
                    clock,
                    config.seed,
                ),
                issuer: issuer.clone(),
                users: Users::fixture(),
                store: Mutex::new(IdpStore::default()),
            }),
        };
        let mut listeners = Listeners::default();
        listeners.spawn_any(
            crate::tls::AnyListener::new(listener, acceptor),
            router(state.clone()),
        );
        tracing::info!(%addr, %issuer, "upstream IdP started");
        Ok(RunningIdp {
            issuer,
            addr,
            state,
            listeners,
        })
    }
}

/// A running IdP. Stops on [`RunningIdp::shutdown`] or drop.
#[derive(Debug)]
pub struct RunningIdp {
    issuer: String,
    addr: SocketAddr,
    state: IdpState,
    listeners: Listeners,
}

impl RunningIdp {
    /// `http(s)://accounts.idp.conformance.test:<port>`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The loopback address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The relying-party client an AS federating to this IdP must be configured with.
    pub fn client(&self) -> (&'static str, &'static str) {
        (IDP_CLIENT_ID, IDP_CLIENT_SECRET)
    }

    /// Makes the following logins answer with `answer` (until the next call).
    pub fn set_answer(&self, answer: IdpAnswer) {
        self.state.store().answer = Some(answer);
    }

    /// Everything the IdP saw and did, in order.
    pub fn seen(&self) -> Vec<IdpSeen> {
        self.state.store().seen.clone()
    }

    /// What the IdP saw after the first `mark` entries (a mark is an earlier `seen().len()`).
    pub fn seen_since(&self, mark: usize) -> Vec<IdpSeen> {
        self.state
            .store()
            .seen
            .get(mark..)
            .unwrap_or_default()
            .to_vec()
    }

    /// Every token value (access and ID tokens) the IdP issued.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.store().issued.clone()
    }

    /// Stops the listener.
    pub async fn shutdown(mut self) {
        self.listeners.stop().await;
    }
}

fn router(state: IdpState) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/authorize", get(authorize))
        .route("/login", post(login))
        .route("/token", post(token))
        .route("/jwks", get(jwks))
        .route("/userinfo", get(userinfo).post(userinfo))
        .with_state(state)
}

async fn discovery(State(state): State<IdpState>) -> Response {
    let issuer = &state.inner.issuer;
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": ["aud", "email", "email_verified", "exp", "hd", "iat", "iss", "name", "nonce", "sub"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

async fn jwks(State(state): State<IdpState>) -> Response {
    Json(json!({ "keys": [state.inner.minter.key().public_jwk()] })).into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Html(format!("<p>{message}</p>"))).into_response()
}

/// `GET /authorize`: validates the client and shows the login form.
async fn authorize(
    State(state): State<IdpState>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    let nonce = q.get("nonce").cloned();
    state.store().seen.push(IdpSeen::Authorize {
        client_id: client_id.clone(),
        nonce: nonce.clone(),
        state_sent: q.contains_key("state"),
        pkce: q.contains_key("code_challenge"),
        state: q.get("state").cloned(),
        redirect_uri: q.get("redirect_uri").cloned(),
    });
    if client_id != IDP_CLIENT_ID {
        return bad_request("unknown client_id");
    }
    if q.get("response_type").map(String::as_str) != Some("code") {
        return bad_request("response_type must be code");
    }
    let Some(redirect_uri) = q.get("redirect_uri").filter(|r| url::Url::parse(r).is_ok()) else {
        return bad_request("redirect_uri is required");
    };
    if q.get("code_challenge_method").is_some_and(|m| m != "S256") {
        return bad_request("only S256 PKCE");
    }
    let id = state.inner.minter.random_token(16);
    state.store().pending.insert(
        id.clone(),
        Pending {
            redirect_uri: redirect_uri.clone(),
            state: q.get("state").cloned(),
            nonce,
            code_challenge: q.get("code_challenge").cloned(),
            scope: q.get("scope").cloned(),
        },
    );
    let body = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Sign in with IdP</title></head>\n<body>\n\
         <h1>Sign in with your IdP account</h1>\n\
         <form id=\"idp-login\" method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{id}\">\n\
         <label>Username <input type=\"text\" name=\"username\" value=\"\"></label>\n\
         <label>Password <input type=\"password\" name=\"password\" value=\"\"></label>\n\
         <button type=\"submit\" name=\"login\" value=\"login\">Sign in</button>\n\
         </form>\n</body></html>\n"
    );
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        Html(body),
    )
        .into_response()
}

/// `POST /login`: checks the password; `303` to the relying party with the code (and the twist of the answer).
async fn login(State(state): State<IdpState>, body: Bytes) -> Response {
    let form = parse_form(&body);
    let request = form.get("request").cloned().unwrap_or_default();
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").map(String::as_str).unwrap_or_default();
    if !state.inner.users.check_password(&username, password) {
        return bad_request("wrong username or password");
    }
    let answer = state.answer();
    let code = state.inner.minter.random_token(24);
    let mut store = state.store();
    let Some(pending) = store.pending.remove(&request) else {
        return bad_request("unknown or expired request");
    };
    let previous_nonce = std::mem::replace(&mut store.last_nonce, pending.nonce.clone());
    let returned_state = match answer {
        IdpAnswer::ForgedState => Some(state.inner.minter.random_token(16)),
        IdpAnswer::MissingState => None,
        _ => pending.state.clone(),
    };
    let mut location = match url::Url::parse(&pending.redirect_uri) {
        Ok(u) => u,
        Err(_) => return bad_request("redirect_uri"),
    };
    {
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(s) = &returned_state {
            pairs.append_pair("state", s);
        }
        pairs.append_pair("iss", &state.inner.issuer);
    }
    store.codes.insert(
        code,
        Grant {
            pending,
            user: username,
            answer,
            previous_nonce,
        },
    );
    store.seen.push(IdpSeen::Redirected { answer });
    drop(store);
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

fn token_error(state: &IdpState, status: StatusCode, error: &str, reason: &str) -> Response {
    state.store().seen.push(IdpSeen::TokenRefused {
        reason: reason.to_owned(),
    });
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"error": error, "error_description": reason})),
    )
        .into_response()
}

/// `POST /token`: the authorization_code grant for the registered relying party.
async fn token(State(state): State<IdpState>, headers: HeaderMap, body: Bytes) -> Response {
    let form = parse_form(&body);
    let (id, secret) = basic_credentials(&headers)
        .or_else(|| {
            Some((
                form.get("client_id")?.clone(),
                form.get("client_secret")?.clone(),
            ))
        })
        .unwrap_or_default();
    if id != IDP_CLIENT_ID || secret != IDP_CLIENT_SECRET {
        return token_error(
            &state,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_error(
            &state,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "authorization_code only",
        );
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let found = {
        let mut store = state.store();
        match store.codes.get(&code).map(|g| g.answer) {
            // Lenient: the code stays redeemable (AS-PRX-05.replayed tests the relying party's own state check).
            Some(IdpAnswer::ReusableCode) => store.codes.get(&code).cloned(),
            _ => store.codes.remove(&code),
        }
    };
    let Some(grant) = found else {
        return token_error(
            &state,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown or used code",
        );
    };
    if form.get("redirect_uri") != Some(&grant.pending.redirect_uri) {
        return token_error(
            &state,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri mismatch",
        );
    }
    if let Some(challenge) = &grant.pending.code_challenge {
        let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
        if !crate::server::tokens::pkce_ok(verifier, challenge) {
            return token_error(
                &state,
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "PKCE verification failed",
            );
        }
    }
    let Some(user) = state.inner.users.get(&grant.user).cloned() else {
        return token_error(
            &state,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown user",
        );
    };
    let minter = &state.inner.minter;
    let scope = grant
        .pending
        .scope
        .clone()
        .unwrap_or_else(|| DEFAULT_SCOPE.to_owned());
    let other_nonce = grant
        .previous_nonce
        .clone()
        .filter(|n| Some(n) != grant.pending.nonce.as_ref())
        .unwrap_or_else(|| minter.random_token(16));
    let input = IdTokenInput {
        issuer: &state.inner.issuer,
        client_id: IDP_CLIENT_ID,
        user: &user,
        nonce: grant.pending.nonce.as_deref(),
        other_nonce: &other_nonce,
        now: minter.now(),
        lifetime: ID_TOKEN_LIFETIME_SECS,
        key: minter.key(),
        answer: grant.answer,
    };
    let id_token = id_token(&input);
    let access_token = id_token::access_token(&input, &scope, &minter.random_token(16));
    {
        let mut store = state.store();
        store
            .access_tokens
            .insert(access_token.clone(), (user.name.clone(), grant.answer));
        store.issued.push(access_token.clone());
        store.issued.push(id_token.clone());
        store.seen.push(IdpSeen::Token {
            answer: grant.answer,
        });
    }
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_LIFETIME_SECS,
            "scope": scope,
            "id_token": id_token,
        })),
    )
        .into_response()
}

/// `GET|POST /userinfo`: the claims of the access token's user.
async fn userinfo(State(state): State<IdpState>, headers: HeaderMap) -> Response {
    let found = bearer_token(&headers).and_then(|t| state.store().access_tokens.get(&t).cloned());
    let Some((name, answer)) = found else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
        )
            .into_response();
    };
    let Some(user) = state.inner.users.get(&name) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    state.store().seen.push(IdpSeen::Userinfo);
    let claims: Value = id_token::identity_claims(user, answer);
    Json(claims).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap()
    }

    fn base(idp: &RunningIdp) -> String {
        format!("http://{}", idp.addr())
    }

    /// Logs `alice` in and returns the redirect back to the relying party.
    async fn login_redirect(idp: &RunningIdp, http: &reqwest::Client, nonce: &str) -> url::Url {
        let page = http
            .get(format!("{}/authorize", base(idp)))
            .query(&[
                ("client_id", IDP_CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", "http://127.0.0.1:9/callback"),
                ("state", "st-1"),
                ("nonce", nonce),
                ("scope", "openid email"),
            ])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let request = page
            .split("name=\"request\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap()
            .to_owned();
        let resp = http
            .post(format!("{}/login", base(idp)))
            .form(&[
                ("request", request.as_str()),
                ("username", "alice"),
                ("password", "alice-password"),
                ("login", "login"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
        url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap()
    }

    fn param(url: &url::Url, name: &str) -> Option<String> {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    async fn redeem(idp: &RunningIdp, http: &reqwest::Client, code: &str) -> Value {
        http.post(format!("{}/token", base(idp)))
            .basic_auth(IDP_CLIENT_ID, Some(IDP_CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", "http://127.0.0.1:9/callback"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn an_honest_login_yields_an_id_token_for_alice_with_the_nonce() {
        let idp = Idp::start(IdpConfig::default()).await.unwrap();
        let http = client().await;
        let back = login_redirect(&idp, &http, "n-1").await;
        assert_eq!(param(&back, "state").as_deref(), Some("st-1"));
        let body = redeem(&idp, &http, &param(&back, "code").unwrap()).await;
        let decoded = crate::jws::decode(body["id_token"].as_str().unwrap()).unwrap();
        assert_eq!(decoded.claims["email"], "alice@conformance.test");
        assert_eq!(decoded.claims["nonce"], "n-1");
        assert_eq!(decoded.claims["iss"], idp.issuer());
        assert_eq!(decoded.claims["aud"], IDP_CLIENT_ID);
        assert!(SigningKey::idp_signing_key()
            .verify_rs256(decoded.signing_input.as_bytes(), &decoded.signature));
        assert_eq!(idp.issued_tokens().len(), 2);
        idp.shutdown().await;
    }

    #[tokio::test]
    async fn a_forged_state_answer_returns_another_state() {
        let idp = Idp::start(IdpConfig::default()).await.unwrap();
        idp.set_answer(IdpAnswer::ForgedState);
        let back = login_redirect(&idp, &client().await, "n-1").await;
        let state = param(&back, "state").unwrap();
        assert_ne!(state, "st-1");
        assert!(idp.seen().contains(&IdpSeen::Redirected {
            answer: IdpAnswer::ForgedState
        }));
        idp.shutdown().await;
    }

    #[tokio::test]
    async fn a_missing_state_answer_returns_no_state() {
        let idp = Idp::start(IdpConfig::default()).await.unwrap();
        idp.set_answer(IdpAnswer::MissingState);
        let back = login_redirect(&idp, &client().await, "n-1").await;
        assert_eq!(param(&back, "state"), None);
        idp.shutdown().await;
    }

    #[tokio::test]
    async fn a_replayed_nonce_answer_carries_the_previous_logins_nonce() {
        let idp = Idp::start(IdpConfig::default()).await.unwrap();
        let http = client().await;
        login_redirect(&idp, &http, "first").await;
        idp.set_answer(IdpAnswer::ReplayedNonce);
        let back = login_redirect(&idp, &http, "second").await;
        let body = redeem(&idp, &http, &param(&back, "code").unwrap()).await;
        let decoded = crate::jws::decode(body["id_token"].as_str().unwrap()).unwrap();
        assert_eq!(decoded.claims["nonce"], "first");
        idp.shutdown().await;
    }

    #[tokio::test]
    async fn the_token_endpoint_refuses_a_wrong_client_secret() {
        let idp = Idp::start(IdpConfig::default()).await.unwrap();
        let http = client().await;
        let back = login_redirect(&idp, &http, "n").await;
        let resp = http
            .post(format!("{}/token", base(&idp)))
            .basic_auth(IDP_CLIENT_ID, Some("wrong"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", param(&back, "code").unwrap().as_str()),
                ("redirect_uri", "http://127.0.0.1:9/callback"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
        assert!(idp.issued_tokens().is_empty());
        idp.shutdown().await;
    }
}
