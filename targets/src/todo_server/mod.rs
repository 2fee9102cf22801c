//! The reference To-Do MCP server: an exemplary resource server per MCP Authorization
//! 2025-11-25 (Streamable HTTP at `/mcp`), with a [`ServerDefect`] switch that turns off exactly one
//! protection.
//!
//! One module per concern: [`config`](TodoServerConfig), `auth` (bearer extraction, JWT and
//! introspection validation), `prm` and `challenge` (discovery and `WWW-Authenticate`),
//! `endpoint` (the `/mcp` pipeline), `mcp` (JSON-RPC and tools), `sessions`, `todos`, `defects`, and `march`
//! (the MCP 2025-03-26 shape, where the server is its own authorization server at its origin).

mod auth;
mod challenge;
mod config;
mod defects;
mod endpoint;
mod env;
mod http;
mod march;
mod mcp;
mod prm;
mod sessions;
mod stateless;
mod todos;
mod upstream;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::{any, get};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    DelegatedAs, IntrospectionClient, TodoServerConfig, UnknownValidationMode, ValidationMode,
};
pub use defects::{ServerDefect, UnknownServerDefect};
pub use env::{config_from_env, EnvError};

/// Scope needed by `list_todos` (and, at the MCP layer, `email_digest` and `send_email`).
pub const SCOPE_READ: &str = "todo:read";
/// Scope needed by `create_todo` and `delete_todo`.
pub const SCOPE_WRITE: &str = "todo:write";
/// Path of the MCP endpoint.
pub const MCP_PATH: &str = "/mcp";
/// Path of the protected resource metadata (RFC 9728 §3.1, path-inserted).
pub const PRM_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// The configuration resolved against the bound address.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) issuer: String,
    /// What the PRM lists in `authorization_servers`.
    pub(crate) authorization_server: String,
    /// The `aud` value tokens must name (the resource unless configured otherwise).
    pub(crate) audience: String,
    pub(crate) jwks_uri: String,
    pub(crate) mode: ValidationMode,
    pub(crate) introspection: Option<IntrospectionClient>,
    /// `scheme://host:port` without a trailing slash.
    pub(crate) public_base: String,
    /// The resource identifier: `public_base + "/mcp"`.
    pub(crate) resource: String,
    pub(crate) prm_url: String,
    /// The origin of `public_base` (the only allowed `Origin`).
    pub(crate) origin: url::Origin,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) defect: Option<ServerDefect>,
    /// The upstream API resource, without a trailing slash.
    pub(crate) upstream: Option<String>,
    /// The token endpoint for the exchange.
    pub(crate) token_endpoint: String,
    /// The 2025-03-26 shape: the server is its own authorization server at its origin, no PRM.
    pub(crate) own_as: Option<DelegatedAs>,
}

impl Settings {
    pub(crate) fn new(config: TodoServerConfig, local_addr: SocketAddr) -> Settings {
        let token_endpoint = config.token_endpoint();
        let public_base = config
            .public_base
            .map(|b| b.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| {
                let scheme = if config.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://127.0.0.1:{}", local_addr.port())
            });
        // An unparsable base yields an opaque origin, which no `Origin` header equals.
        let origin = url::Url::parse(&public_base)
            .map_or_else(|_| url::Origin::new_opaque(), |u| u.origin());
        let resource = format!("{public_base}{MCP_PATH}");
        Settings {
            authorization_server: config
                .authorization_server
                .unwrap_or_else(|| config.issuer.clone()),
            audience: config.audience.unwrap_or_else(|| resource.clone()),
            issuer: config.issuer,
            jwks_uri: config.jwks_uri,
            mode: config.mode,
            introspection: config.introspection,
            resource,
            prm_url: format!("{public_base}{PRM_PATH}"),
            public_base,
            origin,
            scopes_supported: config.scopes_supported,
            defect: config.defect,
            upstream: config
                .upstream_url
                .map(|u| u.trim_end_matches('/').to_owned()),
            token_endpoint,
            own_as: config.own_authorization_server,
        }
    }

    pub(crate) fn has(&self, defect: ServerDefect) -> bool {
        self.defect == Some(defect)
    }

    /// Whether the server publishes protected resource metadata (and names it in its challenges): not in the
    /// 2025-03-26 shape, which predates it, nor with [`ServerDefect::NoResourceMetadata`].
    pub(crate) fn publishes_prm(&self) -> bool {
        self.own_as.is_none() && !self.has(ServerDefect::NoResourceMetadata)
    }
}

/// Shared state of one server.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) settings: Settings,
    pub(crate) validator: auth::Validator,
    pub(crate) sessions: sessions::SessionStore,
    pub(crate) todos: todos::TodoList,
    /// Outbound client for the token endpoint and the upstream API.
    pub(crate) http: http::Http,
    challenges: AtomicUsize,
    /// The `jti`s of the DPoP proofs already accepted (RFC 9449 §11.1).
    pub(crate) dpop_replay: fake_idp::dpop::ReplayCache,
}

impl AppState {
    /// Counts 403 scope challenges (for [`ServerDefect::InconsistentScopeChallenge`]).
    pub(crate) fn next_challenge(&self) -> usize {
        self.challenges.fetch_add(1, Ordering::Relaxed)
    }
}

/// The reference To-Do MCP server.
#[derive(Debug)]
pub struct TodoServer;

impl TodoServer {
    /// Serves on `listener` (bound by the caller, e.g. to `127.0.0.1:0`) until shut down.
    pub async fn start(
        mut config: TodoServerConfig,
        listener: TcpListener,
    ) -> std::io::Result<RunningTodoServer> {
        if config.defect == Some(ServerDefect::PlainHttpUnderTls) {
            config.tls = None;
        }
        let addr = listener.local_addr()?;
        let acceptor = match &config.tls {
            Some(cert) => Some(cert.acceptor().map_err(std::io::Error::other)?),
            None => None,
        };
        let listener = fake_idp::tls::AnyListener::new(listener, acceptor);
        let (router, url) = build(config, addr);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(err) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%err, "todo-server stopped");
            }
        });
        Ok(RunningTodoServer {
            addr,
            url,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The router, testable without a socket; `local_addr` supplies the default public base.
    pub fn router(config: TodoServerConfig, local_addr: SocketAddr) -> Router {
        build(config, local_addr).0
    }
}

/// The router and the resource URL it answers as.
fn build(config: TodoServerConfig, local_addr: SocketAddr) -> (Router, String) {
    let http = http::Http::new(config.trust_ca_pem.as_deref());
    let settings = Settings::new(config, local_addr);
    let validator = auth::Validator::new(&settings, http.clone());
    let resource = settings.resource.clone();
    let state = Arc::new(AppState {
        settings,
        validator,
        sessions: sessions::SessionStore::default(),
        todos: todos::TodoList::default(),
        http,
        challenges: AtomicUsize::new(0),
        dpop_replay: fake_idp::dpop::ReplayCache::default(),
    });
    let router = Router::new().route(MCP_PATH, any(endpoint::handle));
    let router = if state.settings.own_as.is_some() {
        march::routes(router, &state.settings)
    } else {
        router.route(PRM_PATH, get(prm::handle))
    };
    let router = router.with_state(state);
    (router, resource)
}

/// A server running on a socket. Dropping it aborts the server.
#[derive(Debug)]
pub struct RunningTodoServer {
    addr: SocketAddr,
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningTodoServer {
    /// The resource URL (`…/mcp`).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets in-flight requests finish (at most 5 s), then stops.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for RunningTodoServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
