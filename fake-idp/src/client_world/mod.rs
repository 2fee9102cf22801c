//! The world an MCP **client** meets (`docs/design/client-role.md` §2): a protected MCP server with its
//! PRM (and an optional decoy), one or more scriptable authorization servers, and the CIMD
//! documents they resolve, each origin on its own ephemeral 127.0.0.1 listener.
//!
//! Every request to any listener is logged, in one global order, before it is answered
//! ([`ClientWorld::log`], [`ClientWorld::wait_for`]), with its wire facts (connection, accept
//! and write-completion ticks: [`Wire`], [`sent_after_reading`]). The world knows nothing of
//! checks: it records what a client did and answers like a strict server would.

mod authz;
mod config;
mod dpop;
mod log;
mod machine;
mod mcp;
mod tokens;
mod wire;

use crate::world::Listeners;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;

pub use config::{
    AsConfig, BadCertificate, IssMode, McpConfig, MetadataLocation, PreRegistered, PrmConfig,
    PrmLocation, StateMode, WorldConfig,
};
pub use log::{
    sent_after_reading, LoggedRequest, Origin, RequestKind, TlsRefusal, Wire, ENTRY_TEXT_CAP,
    LOG_BYTES_LIMIT, LOG_LIMIT, REFUSAL_LIMIT,
};
pub use machine::{
    audience_names, unverified_claims, EcKey, IdpConfig, MachineConfig, CLIENT_ASSERTION_TYPE,
    ID_JAG_TOKEN_TYPE, ID_JAG_TYP, ID_TOKEN_TOKEN_TYPE, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT,
};

use crate::clock::SystemClock;
use crate::keys::SigningKey;
use crate::server::RegisteredClient;
use crate::token::Minter;
use log::{Answer, Log};
use tokens::TokenStore;
use wire::{ConnMeta, TrackedBody, TrackedListener, WireClock};

/// Request bodies larger than this are refused with 413 (and logged).
const MAX_BODY: usize = 1024 * 1024;

/// Why a world could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// A loopback listener could not be bound.
    #[error("cannot bind a loopback listener: {0}")]
    Bind(std::io::Error),
    /// The configuration is inconsistent (e.g. an index out of range).
    #[error("invalid world configuration: {0}")]
    Config(String),
}

/// A running client-role world. Listeners stop on [`ClientWorld::shutdown`] or drop.
#[derive(Debug)]
pub struct ClientWorld {
    shared: Arc<Shared>,
    listeners: Listeners,
}

/// State shared by every listener of one world.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: WorldConfig,
    /// `http://127.0.0.1:<port>` of the MCP origin.
    pub(crate) mcp_origin: String,
    /// `http://127.0.0.1:<port>` of each AS.
    pub(crate) as_origins: Vec<String>,
    pub(crate) log: Arc<Log>,
    /// The clock of accepts and completed writes, shared by every listener.
    pub(crate) clock: Arc<WireClock>,
    /// Per AS: seeded randomness, the clock, and the JWKS key.
    pub(crate) minters: Vec<Minter>,
    /// Seeded randomness of the MCP origin (session ids).
    pub(crate) mcp_minter: Minter,
    /// The CIMD documents by URL.
    pub(crate) cimd: HashMap<String, String>,
    state: Mutex<WorldState>,
}

/// Everything that changes while the world runs.
#[derive(Debug)]
pub(crate) struct WorldState {
    pub(crate) tokens: TokenStore,
    /// Per AS: clients by id (pre-registered and DCR).
    pub(crate) clients: Vec<HashMap<String, KnownClient>>,
    /// Per AS: `/authorize` requests with a valid client and redirect URI.
    pub(crate) authorizations: Vec<usize>,
    /// Successful tools/call responses.
    pub(crate) successful_requests: usize,
    /// Whether the MCP server has migrated to `migrate_to`.
    pub(crate) migrated: bool,
    /// Per AS: the `jti`s of the JWTs it accepted (client assertions, jwt-bearer grants).
    pub(crate) seen_jtis: Vec<std::collections::HashSet<String>>,
}

/// A client an AS knows, with how it authenticates at the token endpoint.
#[derive(Debug, Clone)]
pub(crate) struct KnownClient {
    pub(crate) registered: RegisteredClient,
    pub(crate) auth_method: String,
    /// Pre-registered without redirect URIs: any http loopback redirect URI is accepted.
    pub(crate) any_loopback_redirect: bool,
}

impl KnownClient {
    pub(crate) fn allows_redirect(&self, requested: &str) -> bool {
        if self.any_loopback_redirect {
            return url::Url::parse(requested).is_ok_and(|u| {
                u.scheme() == "http"
                    && u.fragment().is_none()
                    && match u.host() {
                        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                        Some(url::Host::Domain(d)) => d == "localhost",
                        None => false,
                    }
            });
        }
        self.registered.allows_redirect(requested)
    }
}

impl Shared {
    pub(crate) fn state(&self) -> MutexGuard<'_, WorldState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn mcp_url(&self) -> String {
        format!("{}{}", self.mcp_origin, self.config.mcp.path)
    }

    pub(crate) fn issuer(&self, i: usize) -> String {
        format!(
            "{}{}",
            self.as_origins[i], self.config.auth_servers[i].issuer_path
        )
    }

    pub(crate) fn prm_url(&self, location: &PrmLocation) -> String {
        format!(
            "{}{}",
            self.mcp_origin,
            location.path(&self.config.mcp.path)
        )
    }

    pub(crate) fn now(&self) -> i64 {
        self.mcp_minter.now()
    }
}

/// One received request (body already read, capped).
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) form: Vec<(String, String)>,
}

impl Incoming {
    /// The first value of a query parameter.
    pub(crate) fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the body is declared `application/x-www-form-urlencoded`.
    pub(crate) fn is_form(&self) -> bool {
        is_form_content_type(&self.headers)
    }

    fn entry(&self, origin: Origin, wire: Option<log::Wire>) -> LoggedRequest {
        LoggedRequest {
            query: self.query.clone(),
            headers: crate::header_pairs(&self.headers),
            body: String::from_utf8_lossy(&self.body).into_owned(),
            form: self.form.clone(),
            wire,
            ..LoggedRequest::new(origin, &self.method, &self.path, RequestKind::Other)
        }
    }
}

fn is_form_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// An answer, kept as plain data so it can be logged and then sent.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub(crate) fn json(status: u16, value: &Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: value.to_string(),
        }
    }

    /// An RFC 6749 §5.2 error body with `Cache-Control: no-store`.
    pub(crate) fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
        Reply::json(
            status,
            &serde_json::json!({"error": error, "error_description": description}),
        )
        .no_store()
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub(crate) fn no_store(self) -> Reply {
        self.header("cache-control", "no-store")
            .header("pragma", "no-cache")
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.body).into_response();
        let headers = response.headers_mut();
        headers.remove(header::CONTENT_TYPE);
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.append(name, value);
            }
        }
        response
    }
}

#[derive(Clone)]
struct Listener {
    shared: Arc<Shared>,
    origin: Origin,
}

/// Every request: read (capped), log, answer (synchronously), record the answer, send it (an
/// HTTP/1.x body tells its connection when it has ended, so the write completion is stamped).
async fn serve(State(listener): State<Listener>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let conn = parts
        .extensions
        .get::<ConnectInfo<ConnMeta>>()
        .map(|ConnectInfo(ConnMeta(conn))| conn.clone());
    let http_version = format!("{:?}", parts.version);
    let wire = conn.as_ref().map(|c| log::Wire {
        connection: c.id,
        accepted_at: c.accepted_at,
        http_version: http_version.clone(),
        response_written_at: None,
    });
    let read = axum::body::to_bytes(body, MAX_BODY).await;
    let readable = read.is_ok();
    let body = read.unwrap_or_default();
    let form = if is_form_content_type(&parts.headers) {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let incoming = Incoming {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        headers: parts.headers,
        body,
        form,
    };
    let shared = &listener.shared;
    // A request to the MCP origin that an AS living there owns is that AS's (the 2025-03-26 shape).
    let origin = match listener.origin {
        Origin::Mcp => colocated_as(&shared.config, &incoming.path).map_or(Origin::Mcp, Origin::As),
        other => other,
    };
    let Some(seq) = shared.log.begin(incoming.entry(origin, wire)) else {
        return Reply::json(
            503,
            &serde_json::json!({"error": "the world's request log is full"}),
        )
        .into_response();
    };
    let (reply, kind) = if readable {
        match origin {
            Origin::Mcp => mcp::handle(shared, &incoming),
            Origin::As(i) => authz::handle(shared, i, &incoming),
        }
    } else {
        (
            Reply::json(
                413,
                &serde_json::json!({"error": "request body unreadable or larger than 1 MiB"}),
            ),
            RequestKind::Other,
        )
    };
    shared.log.finish(
        seq,
        Answer {
            status: reply.status,
            headers: reply.headers.clone(),
            body: reply.body.clone(),
            kind,
        },
    );
    let response = reply.into_response();
    match conn {
        Some(conn) if http_version.starts_with("HTTP/1.") => {
            response.map(|body| TrackedBody::wrap(body, conn, seq))
        }
        _ => response,
    }
}

/// The AS on the MCP origin that owns `path` there: every AS metadata probe, and its endpoints.
fn colocated_as(config: &WorldConfig, path: &str) -> Option<usize> {
    let i = config.auth_servers.iter().position(|a| a.on_mcp_origin)?;
    let prefix = config.auth_servers[i].endpoint_prefix.as_str();
    let endpoint = path
        .strip_prefix(prefix)
        .is_some_and(|e| ["/authorize", "/token", "/register", "/jwks"].contains(&e));
    (endpoint || mcp::is_as_metadata_probe(path)).then_some(i)
}

fn check_config(config: &WorldConfig) -> Result<(), WorldError> {
    let bad = |why: String| Err(WorldError::Config(why));
    let n = config.auth_servers.len();
    if n == 0 {
        return bad("at least one authorization server is needed".to_owned());
    }
    match config.bad_certificate {
        Some(_) if config.tls.is_none() => {
            return bad(
                "bad_certificate needs tls (a certificate is only presented over https)".to_owned(),
            )
        }
        Some((Origin::As(i), _)) if i >= config.auth_servers.len() => {
            return bad(format!(
                "bad_certificate names AS {i}, only {} exist",
                config.auth_servers.len()
            ))
        }
        _ => {}
    }
    if !config.mcp.path.starts_with('/') {
        return bad(format!("MCP path `{}` must start with /", config.mcp.path));
    }
    if let Some(i) = config
        .mcp
        .prm
        .authorization_servers
        .iter()
        .find(|&&i| i >= n)
    {
        return bad(format!(
            "prm.authorization_servers names AS {i}, only {n} exist"
        ));
    }
    match (config.mcp.migrate_after_requests, config.mcp.migrate_to) {
        (_, Some(i)) if i >= n => return bad(format!("migrate_to names AS {i}, only {n} exist")),
        (Some(_), None) => return bad("migrate_after_requests needs migrate_to".to_owned()),
        _ => {}
    }
    let custom_paths = config
        .mcp
        .prm
        .locations
        .iter()
        .chain(config.mcp.prm.header.iter());
    for location in custom_paths {
        if let PrmLocation::Custom(path) = location {
            if !path.starts_with('/') {
                return bad(format!("custom PRM path `{path}` must start with /"));
            }
        }
    }
    if config
        .auth_servers
        .iter()
        .filter(|a| a.on_mcp_origin)
        .count()
        > 1
    {
        return bad("at most one authorization server may live on the MCP origin".to_owned());
    }
    for (i, as_config) in config.auth_servers.iter().enumerate() {
        if as_config.on_mcp_origin
            && (!as_config.issuer_path.is_empty() || config.mcp.decoy_as_metadata)
        {
            return bad(format!(
                "AS {i} lives on the MCP origin: its issuer is that origin (no issuer_path) and no decoy metadata can share it"
            ));
        }
        let prefix = &as_config.endpoint_prefix;
        if !prefix.is_empty() && (!prefix.starts_with('/') || prefix.ends_with('/')) {
            return bad(format!(
                "AS {i}: endpoint_prefix `{prefix}` must be empty or start with / and not end with /"
            ));
        }
        let p = &as_config.issuer_path;
        if !p.is_empty() && (!p.starts_with('/') || p.ends_with('/')) {
            return bad(format!(
                "AS {i}: issuer_path `{p}` must be empty or start with / and not end with /"
            ));
        }
    }
    Ok(())
}

async fn bind(scheme: &str) -> Result<(TcpListener, String), WorldError> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(WorldError::Bind)?;
    let addr = listener.local_addr().map_err(WorldError::Bind)?;
    Ok((listener, format!("{scheme}://{addr}")))
}

/// The TLS acceptor of `origin` under `config.tls`: its honest leaf, or the bad certificate the config names.
fn acceptor(
    config: &WorldConfig,
    origin: Origin,
) -> Result<Option<tokio_rustls::TlsAcceptor>, WorldError> {
    let Some(pki) = &config.tls else {
        return Ok(None);
    };
    let tls_error = |e: crate::tls::TlsError| WorldError::Config(e.to_string());
    let cert = match config.bad_certificate {
        Some((o, BadCertificate::WrongHost)) if o == origin => pki.wrong_host_leaf(),
        Some((o, BadCertificate::Untrusted)) if o == origin => pki.untrusted_leaf(),
        _ => pki.leaf(&[]),
    }
    .map_err(tls_error)?;
    cert.acceptor().map(Some).map_err(tls_error)
}

fn known_clients(config: &WorldConfig) -> HashMap<String, KnownClient> {
    config
        .pre_registered
        .iter()
        .map(|p| {
            let registered = match &p.client_secret {
                Some(secret) => {
                    RegisteredClient::confidential(&p.client_id, secret, p.redirect_uris.clone())
                }
                None => RegisteredClient::public(&p.client_id, p.redirect_uris.clone()),
            };
            let client = KnownClient {
                registered,
                auth_method: p.auth_method.clone(),
                any_loopback_redirect: p.redirect_uris.is_empty(),
            };
            (p.client_id.clone(), client)
        })
        .collect()
}

impl ClientWorld {
    /// Binds one 127.0.0.1 listener per origin (MCP, then each AS), then spawns the servers.
    pub async fn start(config: WorldConfig) -> Result<ClientWorld, WorldError> {
        check_config(&config)?;
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let (mcp_listener, mcp_origin) = bind(scheme).await?;
        let mut as_listeners = Vec::new();
        let mut as_origins = Vec::new();
        for (i, as_config) in config.auth_servers.iter().enumerate() {
            if as_config.on_mcp_origin {
                as_origins.push(mcp_origin.clone());
                continue;
            }
            let (listener, origin) = bind(scheme).await?;
            as_listeners.push((i, listener));
            as_origins.push(origin);
        }
        let key = SigningKey::as_signing_key();
        let clock = Arc::new(SystemClock);
        let minters = as_origins
            .iter()
            .enumerate()
            .map(|(i, origin)| {
                let seed = config.seed.wrapping_add(1 + i as u64);
                Minter::new(origin.clone(), key.clone(), clock.clone(), seed)
            })
            .collect();
        let mcp_minter = Minter::new(mcp_origin.clone(), key, clock, config.seed);
        let n = config.auth_servers.len();
        let state = WorldState {
            tokens: TokenStore::default(),
            clients: vec![known_clients(&config); n],
            authorizations: vec![0; n],
            successful_requests: 0,
            migrated: false,
            seen_jtis: vec![Default::default(); n],
        };
        let shared = Arc::new(Shared {
            cimd: config.cimd_documents.iter().cloned().collect(),
            config,
            mcp_origin,
            as_origins,
            log: Arc::new(Log::default()),
            clock: Arc::new(WireClock::default()),
            minters,
            mcp_minter,
            state: Mutex::new(state),
        });
        let listeners = std::iter::once((mcp_listener, Origin::Mcp))
            .chain(as_listeners.into_iter().map(|(i, l)| (l, Origin::As(i))));
        let mut running = Listeners::default();
        for (listener, origin) in listeners {
            let tls = acceptor(&shared.config, origin)?;
            let router = Router::new().fallback(serve).with_state(Listener {
                shared: shared.clone(),
                origin,
            });
            let tracked = TrackedListener::new(
                listener,
                shared.clock.clone(),
                shared.log.clone(),
                origin,
                tls,
            );
            running.spawn_with(move |stopped| async move {
                axum::serve(
                    tracked,
                    router.into_make_service_with_connect_info::<ConnMeta>(),
                )
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
            });
        }
        tracing::info!(mcp = %shared.mcp_url(), seed = shared.config.seed, "client world started");
        Ok(ClientWorld {
            shared,
            listeners: running,
        })
    }

    /// `http://127.0.0.1:<p>/mcp`: the URL handed to the client.
    pub fn mcp_url(&self) -> String {
        self.shared.mcp_url()
    }

    /// The issuer of AS `i` (origin + `issuer_path`). Panics if `i` is out of range.
    pub fn issuer(&self, i: usize) -> String {
        self.shared.issuer(i)
    }

    /// `http://127.0.0.1:<port>` of an origin. Panics if an AS index is out of range.
    pub fn origin_of(&self, o: Origin) -> String {
        match o {
            Origin::Mcp => self.shared.mcp_origin.clone(),
            Origin::As(i) => self.shared.as_origins[i].clone(),
        }
    }

    /// The URL of a PRM location on the MCP origin (served or not).
    pub fn prm_url(&self, location: &PrmLocation) -> String {
        self.shared.prm_url(location)
    }

    /// The URL of a metadata location of AS `i` (served or not). Panics if `i` is out of range.
    pub fn metadata_url(&self, i: usize, location: MetadataLocation) -> String {
        format!(
            "{}{}",
            self.shared.as_origins[i],
            location.path(&self.shared.config.auth_servers[i].issuer_path)
        )
    }

    /// The configuration the world runs.
    pub fn config(&self) -> &WorldConfig {
        &self.shared.config
    }

    /// Whether the client made more than [`LOG_LIMIT`] requests (or [`LOG_BYTES_LIMIT`] bytes of them),
    /// so that some went unrecorded.
    pub fn log_overflowed(&self) -> bool {
        self.shared.log.overflowed()
    }

    /// Every request so far, in arrival order (handler order: see [`sent_after_reading`] for
    /// what the client provably sent after what).
    pub fn log(&self) -> Vec<LoggedRequest> {
        self.shared.log.snapshot()
    }

    /// Waits until `pred` holds over the log, at most `timeout`; true when it held. Re-evaluated
    /// whenever a request arrives or is answered (event-driven, no polling).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&[LoggedRequest]) -> bool,
    ) -> bool {
        self.shared.log.wait_for(timeout, pred).await
    }

    /// Every TLS handshake a listener saw fail, in order (empty without TLS).
    pub fn tls_refusals(&self) -> Vec<TlsRefusal> {
        self.shared.log.refusals()
    }

    /// Waits (event-driven) until a TLS handshake on `origin` has failed, at most `timeout`; true when one has.
    pub async fn wait_for_tls_refusal(&self, origin: Origin, timeout: Duration) -> bool {
        self.shared.log.wait_for_refusal(origin, timeout).await
    }

    /// Stops every listener and waits (at most 2 s) for their tasks.
    pub async fn shutdown(mut self) {
        self.listeners.stop().await;
    }
}
