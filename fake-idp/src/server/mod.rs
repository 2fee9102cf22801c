//! The fake authorization server: state, stores and the router (a plain function).

pub(crate) mod assertion;
mod authorize;
pub(crate) mod cimd;
pub(crate) mod clients;
mod dpop;
pub(crate) mod exchange;
pub(crate) mod federation;
mod login;
mod metadata;
mod proxy;
pub(crate) mod register;
pub mod target;
pub(crate) mod tokens;
mod validate;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use clients::{
    RegisteredClient, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, PUBLIC_CLIENT_ID,
};
pub use metadata::metadata_document;

use self::target::{AsDefect, LoginUi};
use crate::clock::Clock;
use crate::events::Events;
use crate::keys::SigningKey;
use crate::persona::Persona;
use crate::token::Minter;
use crate::users::Users;

/// Scopes every client may be granted on top of the user's permissions.
pub(crate) const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// How long an authorization code lives.
pub(crate) const CODE_LIFETIME_SECS: i64 = 60;
/// How long issued access tokens live.
const ACCESS_TOKEN_LIFETIME_SECS: i64 = 3600;
/// Outbound (CIMD) request timeout.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Outbound (CIMD) response body cap.
pub(crate) const FETCH_BODY_CAP: usize = 64 * 1024;

/// Everything the authorization server needs to know to start.
#[derive(Debug, Clone)]
pub struct AsConfig {
    /// `http://127.0.0.1:<port>`, no trailing slash; also the base of the CIMD host.
    pub issuer: String,
    /// The users of the IdP.
    pub users: Users,
    /// Who `/authorize` approves when no `login_hint` names someone.
    pub default_user: String,
    /// `aud` of tokens whose authorization request named no `resource`; `None` omits `aud`.
    pub default_audience: Option<String>,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// The RNG seed (codes, refresh tokens, jti).
    pub seed: u64,
    /// The key tokens are signed with.
    pub signing_key: SigningKey,
    /// Where events are recorded.
    pub events: Events,
    /// The product the AS plays (issuer form, JWKS and metadata paths, claim shape).
    pub persona: Persona,
}

/// Shared state of the authorization server (cheap to clone).
#[derive(Clone, Debug)]
pub struct AsState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    issuer: String,
    /// The persona's AS identifier (metadata `issuer`, RFC 9207 `iss`).
    as_identifier: String,
    minter: Minter,
    users: Users,
    default_user: String,
    default_audience: Option<String>,
    events: Events,
    http: reqwest::Client,
    store: Mutex<Store>,
    /// `Some` in target mode (the reference AS under test), with its defect and login UI.
    target: Option<TargetMode>,
    /// The `plain-http-token-endpoint` defect: the plain-http origin advertised as the token endpoint's.
    plain_http_token_origin: std::sync::OnceLock<String>,
    /// Target mode: what the JWT-assertion grants trust (unset: none is served).
    assertion_trust: std::sync::OnceLock<assertion::AssertionTrust>,
    /// Target mode with an upstream IdP: logins federate to it (`federation.rs`).
    federation: std::sync::OnceLock<federation::Federation>,
    /// Target mode: DPoP at the token endpoint (nonce, replay cache).
    dpop: dpop::AsDpop,
}

/// How the reference AS behaves in target mode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TargetMode {
    pub(crate) defect: Option<AsDefect>,
    pub(crate) login: LoginUi,
    /// Fetch CIMD documents over https (`--tls-profile strict`), trusting the CA given to
    /// [`AsState::new_target`]; false: plain http on loopback.
    pub(crate) cimd_https: bool,
}

#[derive(Debug, Default)]
struct Store {
    clients: HashMap<String, RegisteredClient>,
    codes: HashMap<String, CodeGrant>,
    refresh: HashMap<String, RefreshGrant>,
    revoked_families: HashSet<String>,
    revoked: HashSet<String>,
    cimd: HashMap<String, Value>,
    /// Target mode: codes already redeemed, with what they issued (replay revocation).
    used_codes: HashMap<String, UsedCode>,
    /// Target mode: authorization requests waiting for login and consent, by request id.
    pending: HashMap<String, authorize::AuthzRequest>,
    /// Target mode: login sessions (cookie value → user name).
    sessions: HashMap<String, String>,
    /// Target mode: cached CIMD results by client_id.
    cimd_cache: HashMap<String, target::cimd::CachedCimd>,
    /// Target mode: CIMD clients resolved at `/authorize`, for client authentication.
    cimd_clients: HashMap<String, RegisteredClient>,
    /// Token exchange: the resources each actor (confidential client) serves.
    actor_resources: HashMap<String, BTreeSet<String>>,
    /// Target mode: the `jti` of every JWT assertion accepted (replay detection).
    assertion_jtis: HashSet<String>,
}

/// A redeemed authorization code and what it issued.
#[derive(Debug, Clone)]
struct UsedCode {
    grant: CodeGrant,
    /// `jti` of each access token issued from the code.
    jtis: Vec<String>,
    /// Refresh token families started by the code.
    families: Vec<String>,
}

/// What an authorization code was issued for.
#[derive(Debug, Clone)]
struct CodeGrant {
    client_id: String,
    redirect_uri: String,
    resource: Option<String>,
    scope: Option<String>,
    user: String,
    /// `None` only when PKCE was skipped (target defect `pkce-optional`).
    code_challenge: Option<String>,
    pkce_method: tokens::PkceMethod,
    nonce: Option<String>,
    expires_at: i64,
}

/// A refresh token and the grant it continues.
#[derive(Debug, Clone)]
struct RefreshGrant {
    family: String,
    client_id: String,
    user: String,
    resource: Option<String>,
    scope: String,
    used: bool,
    /// The DPoP key (thumbprint) the grant is bound to (target mode, RFC 9449 §5).
    jkt: Option<String>,
}

/// Why the authorization server could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AsError {
    /// The default user is not among the users.
    #[error("default user `{0}` is not a user of the fake IdP")]
    UnknownUser(String),
    /// The outbound HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

impl AsState {
    /// Builds the state, with the introspection client `todo-server` and the public
    /// `conformance-client` pre-registered.
    pub fn new(config: AsConfig) -> Result<AsState, AsError> {
        AsState::build(config, None, None)
    }

    /// Builds the state of the reference AS in target mode; its outbound fetches (CIMD documents) also trust
    /// the CA certificate `trust_pem` (the run's test CA under `--tls-profile strict`).
    pub(crate) fn new_target(
        config: AsConfig,
        target: TargetMode,
        trust_pem: Option<&str>,
    ) -> Result<AsState, AsError> {
        AsState::build(config, Some(target), trust_pem)
    }

    fn build(
        config: AsConfig,
        target: Option<TargetMode>,
        trust_pem: Option<&str>,
    ) -> Result<AsState, AsError> {
        if config.users.get(&config.default_user).is_none() {
            return Err(AsError::UnknownUser(config.default_user));
        }
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = trust_pem {
            builder = builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?);
        }
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .no_proxy()
            .build()?;
        let minter = Minter::new(
            config.persona.token_issuer(&config.issuer),
            config.signing_key,
            config.clock,
            config.seed,
        )
        .with_persona(config.persona.clone());
        let mut store = Store::default();
        for client in clients::preregistered() {
            store.clients.insert(client.client_id.clone(), client);
        }
        Ok(AsState {
            inner: Arc::new(Inner {
                as_identifier: config.persona.as_identifier(&config.issuer),
                issuer: config.issuer,
                minter,
                users: config.users,
                default_user: config.default_user,
                default_audience: config.default_audience,
                events: config.events,
                http,
                store: Mutex::new(store),
                target,
                plain_http_token_origin: std::sync::OnceLock::new(),
                assertion_trust: std::sync::OnceLock::new(),
                federation: std::sync::OnceLock::new(),
                dpop: dpop::AsDpop::default(),
            }),
        })
    }

    /// The plain-http origin the `plain-http-token-endpoint` defect advertises `token_endpoint` on, if set.
    pub(crate) fn plain_http_token_origin(&self) -> Option<&str> {
        self.inner.plain_http_token_origin.get().map(String::as_str)
    }

    pub(crate) fn set_plain_http_token_origin(&self, origin: String) {
        let _ = self.inner.plain_http_token_origin.set(origin);
    }

    /// The upstream IdP logins federate to, if any.
    pub(crate) fn federation(&self) -> Option<&federation::Federation> {
        self.inner.federation.get()
    }

    pub(crate) fn set_federation(&self, federation: federation::Federation) {
        let _ = self.inner.federation.set(federation);
    }

    /// The target mode's defect, if any.
    pub(crate) fn target_defect(&self) -> Option<AsDefect> {
        self.inner.target.and_then(|t| t.defect)
    }

    /// The root URL (`http://127.0.0.1:<port>`): the base of every endpoint, and the issuer identifier of the
    /// generic persona.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The AS identifier of the persona: what a protected resource lists in `authorization_servers`, the
    /// `issuer` of the persona's metadata document and the RFC 9207 `iss` of authorization responses.
    pub fn as_identifier(&self) -> &str {
        &self.inner.as_identifier
    }

    /// The persona the AS plays.
    pub fn persona(&self) -> &Persona {
        self.inner.minter.persona()
    }

    /// The honest minter.
    pub fn minter(&self) -> &Minter {
        &self.inner.minter
    }

    /// The event record.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// Whether this is the reference AS in target mode.
    pub(crate) fn is_target(&self) -> bool {
        self.inner.target.is_some()
    }

    /// The login UI in target mode (`None` outside target mode: auto-approval).
    pub(crate) fn login_ui(&self) -> Option<LoginUi> {
        self.inner.target.map(|t| t.login)
    }

    /// Whether target mode runs with `defect` (never outside target mode).
    pub(crate) fn defect(&self, defect: AsDefect) -> bool {
        self.inner.target.is_some_and(|t| t.defect == Some(defect))
    }

    /// Whether the target fetches CIMD documents over https (`--tls-profile strict`).
    pub(crate) fn cimd_https(&self) -> bool {
        self.inner.target.is_some_and(|t| t.cimd_https)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.inner.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers (or replaces) a client.
    pub fn register_client(&self, client: RegisteredClient) {
        self.store()
            .clients
            .insert(client.client_id.clone(), client);
    }

    /// Publishes a CIMD document at `/cimd/<path>`.
    pub fn cimd_put(&self, path: &str, document: Value) {
        let path = path.trim_start_matches('/').to_owned();
        self.store().cimd.insert(path, document);
    }

    /// Revokes a token: a refresh token's whole family, a JWT by its `jti`, else the value.
    pub fn revoke(&self, token: &str) {
        let mut store = self.store();
        if let Some(family) = store.refresh.get(token).map(|g| g.family.clone()) {
            store.revoked_families.insert(family);
            return;
        }
        match crate::jws::decode(token).and_then(|d| {
            d.claims
                .get("jti")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }) {
            Some(jti) => store.revoked.insert(format!("jti:{jti}")),
            None => store.revoked.insert(format!("raw:{token}")),
        };
    }

    /// Declares that the confidential client `client_id` serves `resource`: it may exchange
    /// (RFC 8693) access tokens whose `aud` contains `resource`.
    pub fn register_actor_resource(&self, client_id: &str, resource: &str) {
        self.store()
            .actor_resources
            .entry(client_id.to_owned())
            .or_default()
            .insert(resource.to_owned());
    }

    /// The resources `client_id` serves as a token-exchange actor.
    pub(crate) fn actor_resources(&self, client_id: &str) -> BTreeSet<String> {
        self.store()
            .actor_resources
            .get(client_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The public JWKS (`{"keys": [..]}`) served at `/jwks`.
    pub fn public_jwks(&self) -> Value {
        json!({ "keys": [self.minter().key().public_jwk()] })
    }

    fn is_revoked(&self, token: &str, jti: Option<&str>) -> bool {
        let store = self.store();
        store.revoked.contains(&format!("raw:{token}"))
            || jti.is_some_and(|j| store.revoked.contains(&format!("jti:{j}")))
    }
}

/// The authorization server's routes (metadata, JWKS, authorize, token, introspect, revoke,
/// register, userinfo, and the CIMD host under `/cimd/`).
pub fn router(state: AsState) -> Router {
    let authorize_route = if state.defect(AsDefect::CorsOnAuthorize) {
        get(authorize::authorize)
            .options(authorize::preflight)
            .layer(axum::middleware::map_response(authorize::allow_any_origin))
    } else if state.defect(AsDefect::AuthorizePostOnly) {
        axum::routing::post(authorize::authorize)
    } else {
        get(authorize::authorize)
    };
    let mut router = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::oauth_metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(metadata::openid_configuration),
        )
        .route("/jwks", get(metadata::jwks))
        .route("/authorize", authorize_route)
        .route("/token", post(tokens::token))
        .route("/introspect", post(validate::introspect))
        .route("/revoke", post(validate::revoke))
        .route(
            "/userinfo",
            get(validate::userinfo).post(validate::userinfo),
        )
        .route("/register", post(register::register))
        .route("/cimd/{*path}", get(cimd::serve_document));
    let persona = state.persona().clone();
    let jwks_path = persona.jwks_path();
    if jwks_path != "/jwks" {
        router = router.route(&jwks_path, get(metadata::jwks));
    }
    for (path, issuer, openid) in persona.metadata_routes(state.issuer()) {
        router = router.route(
            &path,
            get(move |s: axum::extract::State<AsState>| {
                metadata::persona_metadata(s, issuer.clone(), openid)
            }),
        );
    }
    if state.login_ui() == Some(LoginUi::Form) {
        router = router
            .route("/login", get(login::login_page).post(login::login))
            .route("/consent", get(login::consent_page).post(login::consent))
            .route(federation::CALLBACK_PATH, get(federation::callback));
    }
    router.with_state(state)
}

/// An RFC 6749 §5.2 error body with `Cache-Control: no-store`.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    no_store(response.headers_mut());
    response
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Parses an `application/x-www-form-urlencoded` body (first value of each name wins).
pub(crate) fn parse_form(body: &[u8]) -> HashMap<String, String> {
    let mut form = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        form.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    form
}

/// `(client_id, client_secret)` from an `Authorization: Basic` header (RFC 6749 §2.3.1).
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// The values of every cookie named `name` in the request's `Cookie` headers, in order.
pub(crate) fn cookies<'a>(
    headers: &'a HeaderMap,
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The bearer token of an `Authorization: Bearer` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_owned())
}

/// Space-separated scope string into its tokens.
pub(crate) fn scope_tokens(scope: &str) -> impl Iterator<Item = &str> {
    scope.split(' ').filter(|s| !s.is_empty())
}
