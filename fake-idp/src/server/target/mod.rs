//! **Target mode**: the fake authorization server as the suite's reference AS under test.
//!
//! Compliant by default (an exemplary OAuth 2.1 AS for MCP: RFC 8414 and OpenID metadata,
//! exact redirect matching, PKCE S256 only, RFC 9207 `iss`, code replay revocation, refresh
//! rotation with replay detection, CIMD with an SSRF-safe fetch policy, DCR), with one
//! [`AsDefect`] per protection to prove that each check of the suite can fail.
//!
//! CIMD policy: `https://*.conformance.test[:port]/path` is fetched from
//! `http://127.0.0.1[:port]/path` (the test allow-list); every other host, IP literal and
//! scheme is refused without a request; 5 s timeout, 5 KiB cap; documents are cached per
//! `Cache-Control` (`max-age`; `no-store` or no header → a fetch per flow), failures never.

pub(crate) mod cimd;
mod defect;

use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use super::assertion::AssertionTrust;
pub use defect::{AsDefect, UnknownAsDefect};

use super::{AsConfig, AsState, TargetMode};
use crate::clock::SystemClock;
use crate::events::Events;
use crate::keys::SigningKey;
use crate::users::Users;
use crate::world::{FakeIdpError, Listeners, DEFAULT_SEED};

/// How the reference AS authenticates the user at `/authorize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginUi {
    /// Immediate approval: `/authorize` answers 302 with the code (user `alice`, or
    /// `login_hint`).
    Auto,
    /// An HTML login form (`username`, `password`, button `login`) answered with `303` to a
    /// consent page (buttons `approve` / `deny`) answered with `303` to the redirect URI. A
    /// session cookie skips the login page next time, never the consent.
    Form,
}

impl LoginUi {
    /// `auto` or `form`.
    pub fn name(self) -> &'static str {
        match self {
            LoginUi::Auto => "auto",
            LoginUi::Form => "form",
        }
    }
}

impl std::fmt::Display for LoginUi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A login UI name other than `auto` or `form`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown login UI `{0}`; expected `auto` or `form`")]
pub struct UnknownLoginUi(pub String);

impl FromStr for LoginUi {
    type Err = UnknownLoginUi;

    fn from_str(s: &str) -> Result<LoginUi, UnknownLoginUi> {
        match s {
            "auto" => Ok(LoginUi::Auto),
            "form" => Ok(LoginUi::Form),
            other => Err(UnknownLoginUi(other.to_owned())),
        }
    }
}

/// How to start the reference AS.
#[derive(Debug, Clone)]
pub struct AsTargetConfig {
    /// The one protection to turn off; `None` is the compliant target.
    pub defect: Option<AsDefect>,
    /// Auto-approval or the HTML login form (default: form, as the suite runs it).
    pub login: LoginUi,
    /// RNG seed (codes, tokens, session ids).
    pub seed: u64,
    /// Loopback address to listen on (default `127.0.0.1:0`).
    pub bind: SocketAddr,
    /// A path the AS accepts requests at and never answers (default none): a hostile target for the suite's
    /// own tests, e.g. an AS whose `/authorize` works and whose `/token` hangs.
    pub stall_path: Option<String>,
    /// Serve https with this certificate (`--tls-profile strict`): the issuer is then `https://127.0.0.1:<port>`.
    pub tls: Option<crate::tls::ServerCert>,
    /// Fetch CIMD documents over https, trusting this CA certificate (PEM): `--tls-profile strict`, where the
    /// suite's CIMD host serves https with the run's test CA. None: plain http on loopback.
    pub cimd_ca: Option<String>,
    /// The issuers and clients the JWT-assertion grants trust (`--extension` wif, enterprise-managed,
    /// client-credentials); empty: none of these grants is served or advertised.
    pub assertion_trust: AssertionTrust,
    /// Form login federates to this OpenID provider instead of the AS's own password form (default none).
    pub upstream_idp: Option<super::federation::UpstreamIdp>,
}

impl Default for AsTargetConfig {
    fn default() -> Self {
        AsTargetConfig {
            defect: None,
            login: LoginUi::Form,
            seed: DEFAULT_SEED,
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            stall_path: None,
            tls: None,
            cimd_ca: None,
            assertion_trust: AssertionTrust::default(),
            upstream_idp: None,
        }
    }
}

/// Holds every request to the stalled path forever (until the connection or the server goes).
async fn stall(
    axum::extract::State(path): axum::extract::State<Arc<str>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if request.uri().path() == &*path {
        std::future::pending::<()>().await;
    }
    next.run(request).await
}

/// The reference authorization server in target mode.
#[derive(Debug)]
pub struct AsTarget;

impl AsTarget {
    /// Binds the listener, then serves the reference AS (issuer `http://127.0.0.1:<port>`, or https with
    /// `config.tls`).
    pub async fn start(config: AsTargetConfig) -> Result<RunningAsTarget, FakeIdpError> {
        let (listener, addr, acceptor) =
            crate::world::bind_loopback(config.bind, config.tls.as_ref()).await?;
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let issuer = format!("{scheme}://{addr}");
        let events = Events::default();
        let state = AsState::new_target(
            AsConfig {
                issuer: issuer.clone(),
                users: Users::fixture(),
                default_user: "alice".to_owned(),
                // Tokens requested without `resource` are for the AS's own default audience.
                default_audience: Some(issuer),
                clock: Arc::new(SystemClock),
                seed: config.seed,
                signing_key: SigningKey::as_signing_key(),
                events: events.clone(),
                persona: crate::persona::Persona::Generic,
            },
            TargetMode {
                defect: config.defect,
                login: config.login,
                cimd_https: config.cimd_ca.is_some(),
            },
            config.cimd_ca.as_deref(),
        )?;
        if !config.assertion_trust.is_empty() {
            state.set_assertion_trust(config.assertion_trust.clone());
        }
        if let Some(upstream) = config.upstream_idp {
            let federation =
                super::federation::Federation::new(upstream).map_err(FakeIdpError::Upstream)?;
            state.set_federation(federation);
        }
        let mut listeners = Listeners::default();
        let router = match config.stall_path {
            Some(path) => super::router(state.clone()).layer(axum::middleware::from_fn_with_state(
                Arc::<str>::from(path),
                stall,
            )),
            None => super::router(state.clone()),
        };
        if config.defect == Some(AsDefect::PlainHttpTokenEndpoint) {
            let plain = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .await
                .map_err(FakeIdpError::Bind)?;
            let origin = format!("http://{}", plain.local_addr().map_err(FakeIdpError::Bind)?);
            state.set_plain_http_token_origin(origin);
            listeners.spawn(plain, router.clone());
        }
        listeners.spawn_any(crate::tls::AnyListener::new(listener, acceptor), router);
        tracing::info!(%addr, defect = ?config.defect, login = %config.login, "reference AS started");
        Ok(RunningAsTarget {
            state,
            events,
            listeners,
        })
    }
}

/// A running reference AS. Stops on [`RunningAsTarget::shutdown`] or drop.
#[derive(Debug)]
pub struct RunningAsTarget {
    state: AsState,
    events: Events,
    listeners: Listeners,
}

impl RunningAsTarget {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub fn issuer(&self) -> String {
        self.state.issuer().to_owned()
    }

    /// What the AS saw (authorize and token requests, CIMD fetches).
    pub fn events(&self) -> Events {
        self.events.clone()
    }

    /// Declares that the confidential client `client_id` serves `resource` for token exchange
    /// (on top of the resources of the codes it redeemed).
    pub fn register_actor_resource(&self, client_id: &str, resource: &str) {
        self.state.register_actor_resource(client_id, resource);
    }

    /// The public JWKS of the reference AS, as served at `/jwks`.
    pub fn public_jwks(&self) -> serde_json::Value {
        self.state.public_jwks()
    }

    /// Stops the listener and waits (briefly) for its task.
    pub async fn shutdown(mut self) {
        self.listeners.stop().await;
    }
}
