//! The fake world as one value: builder, listeners, and the handles the suite uses.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::attacker;
use crate::clock::{Clock, SystemClock};
use crate::danger::Forge;
use crate::events::Events;
use crate::keys::SigningKey;
use crate::persona::Persona;
use crate::server::{self, AsConfig, AsError, AsState, RegisteredClient};
use crate::server::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET};
use crate::token::Minter;
use crate::users::Users;

/// The seed used when the builder is given none (recorded, so runs are reproducible).
pub const DEFAULT_SEED: u64 = 0x5EED_2025_1125;

/// Why the fake world could not start.
#[derive(Debug, thiserror::Error)]
pub enum FakeIdpError {
    /// A listener could not be bound (e.g. the port is taken).
    #[error("cannot bind listener: {0}")]
    Bind(std::io::Error),
    /// The fake world binds loopback addresses only.
    #[error("refusing to bind non-loopback address {0}: the fake world is loopback only")]
    NotLoopback(SocketAddr),
    /// The authorization server could not be configured.
    #[error(transparent)]
    Config(#[from] AsError),
    /// The TLS configuration (`--tls-profile strict`) could not be built.
    #[error("TLS configuration failed: {0}")]
    Tls(String),
    /// The upstream IdP the reference AS federates to could not be reached or read.
    #[error("the upstream IdP: {0}")]
    Upstream(String),
}

/// Configures and starts a [`FakeIdp`].
#[derive(Debug)]
pub struct FakeIdpBuilder {
    addr: SocketAddr,
    clock: Arc<dyn Clock>,
    users: Users,
    seed: u64,
    default_user: String,
    default_audience: Option<String>,
    signing_key: SigningKey,
    clients: Vec<RegisteredClient>,
    persona: Persona,
    tls: Option<crate::tls::ServerCert>,
}

/// A running fake world: the authorization server (with the CIMD host under `/cimd/`) on one
/// listener and the attacker host on another. Tasks stop on [`FakeIdp::shutdown`] or drop.
#[derive(Debug)]
pub struct FakeIdp {
    addr: SocketAddr,
    attacker_addr: SocketAddr,
    seed: u64,
    state: AsState,
    events: Events,
    listeners: Listeners,
}

impl FakeIdp {
    /// A builder with the defaults: `127.0.0.1:0`, system clock, fixture users, alice.
    pub fn builder() -> FakeIdpBuilder {
        FakeIdpBuilder {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            clock: Arc::new(SystemClock),
            users: Users::fixture(),
            seed: DEFAULT_SEED,
            default_user: "alice".to_owned(),
            default_audience: None,
            signing_key: SigningKey::as_signing_key(),
            clients: Vec::new(),
            persona: Persona::Generic,
            tls: None,
        }
    }
}

impl FakeIdpBuilder {
    /// Serve the authorization server over https with `cert` (`--tls-profile strict`): its root and issuer are
    /// then `https://127.0.0.1:<port>`. The attacker host stays plain http.
    pub fn tls(mut self, cert: crate::tls::ServerCert) -> Self {
        self.tls = Some(cert);
        self
    }

    /// Where the authorization server listens (loopback only; default ephemeral).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The clock every timestamp comes from.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The users of the IdP.
    pub fn users(mut self, users: Users) -> Self {
        self.users = users;
        self
    }

    /// The RNG seed (codes, refresh tokens, `jti`s, forged randomness).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Who `/authorize` auto-approves (default `alice`); `login_hint` overrides per request.
    pub fn default_user(mut self, name: &str) -> Self {
        name.clone_into(&mut self.default_user);
        self
    }

    /// `aud` of tokens whose authorization request named no `resource` (default: no `aud`).
    pub fn default_audience(mut self, audience: impl Into<String>) -> Self {
        self.default_audience = Some(audience.into());
        self
    }

    /// Sign with another key, e.g. [`SigningKey::attacker_key`] for a second, untrusted AS.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = key;
        self
    }

    /// The product the AS plays (default [`Persona::Generic`]): its issuer form, JWKS and metadata paths, and
    /// the claim shape of every token it mints or forges.
    pub fn persona(mut self, persona: Persona) -> Self {
        self.persona = persona;
        self
    }

    /// Pre-registers one more client.
    pub fn client(mut self, client: RegisteredClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Binds both listeners, then spawns the servers.
    pub async fn start(self) -> Result<FakeIdp, FakeIdpError> {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        if !self.addr.ip().is_loopback() {
            return Err(FakeIdpError::NotLoopback(self.addr));
        }
        let listener = TcpListener::bind(self.addr)
            .await
            .map_err(FakeIdpError::Bind)?;
        let attacker_listener = TcpListener::bind(loopback)
            .await
            .map_err(FakeIdpError::Bind)?;
        let addr = listener.local_addr().map_err(FakeIdpError::Bind)?;
        let attacker_addr = attacker_listener.local_addr().map_err(FakeIdpError::Bind)?;
        let events = Events::default();
        let acceptor = match &self.tls {
            Some(cert) => Some(
                cert.acceptor()
                    .map_err(|e| FakeIdpError::Tls(e.to_string()))?,
            ),
            None => None,
        };
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let state = AsState::new(AsConfig {
            issuer: format!("{scheme}://{addr}"),
            users: self.users,
            default_user: self.default_user,
            default_audience: self.default_audience,
            clock: self.clock,
            seed: self.seed,
            signing_key: self.signing_key,
            events: events.clone(),
            persona: self.persona,
        })?;
        for client in self.clients {
            state.register_client(client);
        }
        let mut listeners = Listeners::default();
        listeners.spawn_any(
            crate::tls::AnyListener::new(listener, acceptor),
            server::router(state.clone()),
        );
        listeners.spawn(attacker_listener, attacker::router(events.clone()));
        tracing::info!(%addr, %attacker_addr, seed = self.seed, "fake world started");
        Ok(FakeIdp {
            addr,
            attacker_addr,
            seed: self.seed,
            state,
            events,
            listeners,
        })
    }
}

/// Binds a loopback listener (any other address is refused) and, with `tls`, the acceptor that serves it over
/// https: what every fake party and target starts from.
pub(crate) async fn bind_loopback(
    bind: SocketAddr,
    tls: Option<&crate::tls::ServerCert>,
) -> Result<(TcpListener, SocketAddr, Option<tokio_rustls::TlsAcceptor>), FakeIdpError> {
    if !bind.ip().is_loopback() {
        return Err(FakeIdpError::NotLoopback(bind));
    }
    let listener = TcpListener::bind(bind).await.map_err(FakeIdpError::Bind)?;
    let addr = listener.local_addr().map_err(FakeIdpError::Bind)?;
    let acceptor = match tls {
        Some(cert) => Some(
            cert.acceptor()
                .map_err(|e| FakeIdpError::Tls(e.to_string()))?,
        ),
        None => None,
    };
    Ok((listener, addr, acceptor))
}

/// The listeners of one piece of the fake world: stopped gracefully by [`Listeners::stop`], aborted on drop.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    stops: Vec<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Listeners {
    /// Serves `router` on an already bound listener.
    pub(crate) fn spawn(&mut self, listener: TcpListener, router: axum::Router) {
        self.spawn_with(move |stopped| async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
    }

    /// Serves `router` on a listener that may be plain or TLS ([`crate::tls::AnyListener`]).
    pub(crate) fn spawn_any(&mut self, listener: crate::tls::AnyListener, router: axum::Router) {
        self.spawn_with(move |stopped| async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
    }

    /// Runs a server future built by `serve`, which must stop when the receiver it is given
    /// resolves (graceful shutdown).
    pub(crate) fn spawn_with<F, Fut>(&mut self, serve: F)
    where
        F: FnOnce(oneshot::Receiver<()>) -> Fut,
        Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        self.stops.push(stop);
        let serving = serve(stopped);
        self.tasks.push(tokio::spawn(async move {
            if let Err(e) = serving.await {
                tracing::error!(error = %e, "fake world listener failed");
            }
        }));
    }

    /// Asks every listener to stop and waits (at most 2 s each) for its task.
    pub(crate) async fn stop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        for task in self.tasks.drain(..) {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl FakeIdp {
    /// The `iss` of every token the AS mints: `http://127.0.0.1:<port>` for the generic persona, else the
    /// persona's form ([`Persona::token_issuer`]).
    pub fn issuer(&self) -> String {
        self.state.minter().issuer().to_owned()
    }

    /// `http://127.0.0.1:<port>`, no trailing slash: the base of every endpoint.
    pub fn root(&self) -> String {
        self.state.issuer().to_owned()
    }

    /// The AS identifier a protected resource lists in `authorization_servers` ([`Persona::as_identifier`]).
    pub fn as_identifier(&self) -> String {
        self.state.as_identifier().to_owned()
    }

    /// The persona the AS plays.
    pub fn persona(&self) -> &Persona {
        self.state.persona()
    }

    /// The authorization server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The seed in use (record it in reports).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The RFC 8414 metadata URL of the AS identifier (the well-known segment inserted before its path):
    /// `root + "/.well-known/oauth-authorization-server"` for the generic persona.
    pub fn metadata_url(&self) -> String {
        let root = self.root();
        let id = self.as_identifier();
        let path = id
            .strip_prefix(&root)
            .unwrap_or_default()
            .trim_end_matches('/');
        format!("{root}/.well-known/oauth-authorization-server{path}")
    }

    /// The persona's JWKS URL (`root + "/jwks"` for the generic persona; `/jwks` is served for every persona).
    pub fn jwks_uri(&self) -> String {
        format!("{}{}", self.root(), self.persona().jwks_path())
    }

    /// `root + "/token"`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.root())
    }

    /// `root + "/authorize"`.
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/authorize", self.root())
    }

    /// `root + "/introspect"`.
    pub fn introspection_url(&self) -> String {
        format!("{}/introspect", self.root())
    }

    /// `root + "/revoke"`.
    pub fn revocation_url(&self) -> String {
        format!("{}/revoke", self.root())
    }

    /// `root + "/register"`.
    pub fn registration_endpoint(&self) -> String {
        format!("{}/register", self.root())
    }

    /// The confidential client the resource server introspects with: `(id, secret)`.
    pub fn introspection_client(&self) -> (String, String) {
        (
            INTROSPECTION_CLIENT_ID.to_owned(),
            INTROSPECTION_CLIENT_SECRET.to_owned(),
        )
    }

    /// The honest minter (this issuer, this key, this clock).
    pub fn minter(&self) -> Minter {
        self.state.minter().clone()
    }

    /// The adversarial forge over this world's minter.
    pub fn forge(&self) -> Forge {
        Forge::new(self.minter())
    }

    /// The attacker JWKS URL (for `jku`).
    pub fn attacker_jku_url(&self) -> String {
        format!("http://{}{}", self.attacker_addr, attacker::JWKS_PATH)
    }

    /// The attacker certificate URL (for `x5u`).
    pub fn attacker_x5u_url(&self) -> String {
        format!("http://{}{}", self.attacker_addr, attacker::CERT_PATH)
    }

    /// What the fake world saw.
    pub fn events(&self) -> Events {
        self.events.clone()
    }

    /// Revokes a token (by `jti` when it is a JWT, a refresh token's family, else by value).
    pub fn revoke(&self, token: &str) {
        self.state.revoke(token);
    }

    /// Publishes a CIMD document, served at `issuer/cimd/<path>` and reachable as
    /// `https://client.conformance.test/<path>`.
    pub fn cimd_put(&self, path: &str, document: Value) {
        self.state.cimd_put(path, document);
    }

    /// The `https://client.conformance.test/<path>` client_id of a CIMD document.
    pub fn cimd_client_id(&self, path: &str) -> String {
        format!(
            "https://client.conformance.test/{}",
            path.trim_start_matches('/')
        )
    }

    /// Registers (or replaces) a client while running.
    pub fn register_client(&self, client: RegisteredClient) {
        self.state.register_client(client);
    }

    /// Declares that the confidential client `client_id` serves `resource`: it may then
    /// exchange (RFC 8693) access tokens whose `aud` contains `resource` (e.g. the target's MCP
    /// URL for `todo-server`).
    pub fn register_actor_resource(&self, client_id: &str, resource: &str) {
        self.state.register_actor_resource(client_id, resource);
    }

    /// The public JWKS of the authorization server, as served at [`FakeIdp::jwks_uri`].
    pub fn public_jwks(&self) -> Value {
        self.state.public_jwks()
    }

    /// Stops both listeners and waits (briefly) for their tasks.
    pub async fn shutdown(mut self) {
        self.listeners.stop().await;
    }
}
