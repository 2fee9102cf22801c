//! Reaching the server under test: the bundled reference (in-process), a running server (`--url`), or a
//! command the suite spawns with the env contract and stops (whole process group) at the end.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use fake_idp::FakeIdp;
use mcp_auth_reports::TargetKind;

use super::trust::Trust;
use crate::process::ProcessGroup;
use crate::profile::Scopes;
use mcp_auth_targets::{
    DelegatedAs, IntrospectionClient, RunningTodoServer, ServerDefect, TodoServer,
    TodoServerConfig, ValidationMode,
};

/// How the target is reached.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// The bundled reference To-Do server, optionally with one defect.
    Bundled {
        defect: Option<ServerDefect>,
        mode: ValidationMode,
    },
    /// A server already running, trusting the fake AS at its fixed address.
    Url(String),
    /// A command to spawn with the env contract (`sh -c CMD`).
    Command(String),
}

impl TargetSpec {
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetSpec::Bundled { .. } => TargetKind::Bundled,
            TargetSpec::Url(_) => TargetKind::Url,
            TargetSpec::Command(_) => TargetKind::Command,
        }
    }
}

/// Why the target could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot bind a loopback port for the target: {0}")]
    Bind(std::io::Error),
    #[error("cannot spawn `{command}`: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("`{command}` exited before it answered on {url} ({status})")]
    Exited {
        command: String,
        url: String,
        status: String,
    },
    #[error("`{command}` did not answer on {url} within {timeout:?}")]
    NotReady {
        command: String,
        url: String,
        timeout: Duration,
    },
    #[error("invalid target URL `{0}`: {1}")]
    BadUrl(String, String),
    #[error("{url} did not answer within {waited:?} (--wait-for-target); last attempt: {last}")]
    NoAnswer {
        url: String,
        waited: Duration,
        last: String,
    },
}

/// A started target. Dropping it stops a spawned process group.
pub struct RunningTarget {
    /// The MCP endpoint URL (also the resource the server must answer as).
    pub url: String,
    inner: Inner,
}

enum Inner {
    Bundled(RunningTodoServer),
    External,
    Process(ChildGroup),
}

impl RunningTarget {
    pub async fn start(
        spec: &TargetSpec,
        idp: &FakeIdp,
        upstream: &str,
        scopes: &Scopes,
        tls: Option<&crate::tls::RunTls>,
        revision: crate::spec::SpecVersion,
    ) -> Result<RunningTarget, TargetError> {
        match spec {
            TargetSpec::Bundled { defect, mode } => {
                let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                    .await
                    .map_err(TargetError::Bind)?;
                let port = listener.local_addr().map_err(TargetError::Bind)?.port();
                let mut config = TodoServerConfig::new(idp.issuer(), idp.jwks_uri());
                config.mode = *mode;
                if let Some(t) = tls {
                    // Strict TLS: the reference serves https with a leaf of the test CA and trusts that CA.
                    config.tls = Some(
                        t.pki
                            .leaf(&["todo.conformance.test"])
                            .map_err(|e| TargetError::Bind(std::io::Error::other(e)))?,
                    );
                    config.trust_ca_pem = Some(t.pki.ca_pem().to_owned());
                }
                let scheme = if tls.is_some() { "https" } else { "http" };
                // The AS persona's shape (profile `[as]`): its endpoints are under the root, the PRM names its
                // AS identifier and its tokens its audience.
                config.token_endpoint = Some(idp.token_endpoint());
                config.authorization_server = Some(idp.as_identifier());
                let resource = format!("{scheme}://127.0.0.1:{port}/mcp");
                config.audience =
                    Some(idp.persona().audience_for(&resource)).filter(|aud| *aud != resource);
                let (client_id, client_secret) = idp.introspection_client();
                config.introspection = Some(IntrospectionClient {
                    url: idp.introspection_url(),
                    client_id,
                    client_secret,
                });
                config.defect = *defect;
                if revision == crate::spec::SpecVersion::V2025_03_26 {
                    // 2025-03-26: the server is its own AS at its origin, delegating to the fake AS.
                    config.own_authorization_server = Some(DelegatedAs {
                        authorization_endpoint: idp.authorization_endpoint(),
                        registration_endpoint: idp.registration_endpoint(),
                    });
                }
                config.upstream_url = Some(upstream.to_owned());
                if *defect == Some(ServerDefect::PlainHttpPublicHost) {
                    config.public_base =
                        Some(format!("http://todo.{}:{port}", crate::http::TEST_DOMAIN));
                }
                let server = TodoServer::start(config, listener)
                    .await
                    .map_err(TargetError::Bind)?;
                Ok(RunningTarget {
                    url: server.url(),
                    inner: Inner::Bundled(server),
                })
            }
            TargetSpec::Url(url) => {
                let parsed = url::Url::parse(url)
                    .map_err(|e| TargetError::BadUrl(url.clone(), e.to_string()))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                    return Err(TargetError::BadUrl(
                        url.clone(),
                        "expected an http(s) URL with a host".into(),
                    ));
                }
                Ok(RunningTarget {
                    url: url.clone(),
                    inner: Inner::External,
                })
            }
            TargetSpec::Command(command) => {
                let (group, url) = ChildGroup::spawn(command, idp, upstream, scopes, tls).await?;
                Ok(RunningTarget {
                    url,
                    inner: Inner::Process(group),
                })
            }
        }
    }

    /// A one-line note for the report when a spawned target died during the run.
    pub fn exit_note(&mut self) -> Option<String> {
        match &mut self.inner {
            Inner::Process(g) => g
                .exited()
                .map(|s| format!("the target process exited during the run ({s})")),
            _ => None,
        }
    }

    pub async fn stop(self) {
        match self.inner {
            Inner::Bundled(server) => server.shutdown().await,
            Inner::External => {}
            Inner::Process(mut group) => group.kill().await,
        }
    }
}

/// How often `--wait-for-target` asks a running target, and how long one attempt may take.
const WAIT_INTERVAL: Duration = Duration::from_millis(250);
const WAIT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// `--wait-for-target`: waits until `url` gives an HTTP answer (any status; a 401 is an answer), asking every
/// [`WAIT_INTERVAL`] with each attempt bounded, for at most `limit` in all. Readiness is an event observable only
/// by asking. Nothing is recorded (no exchange of the run yet) and no body is read; redirects are not followed.
/// `ca_pem`: the run's test CA under `--tls-profile strict`, trusted besides the built-in roots (a target serving
/// the certificate of `--cert-out`).
pub async fn wait_until_answers(
    url: &str,
    limit: Duration,
    ca_pem: Option<&str>,
) -> Result<(), TargetError> {
    let no_answer = |last: String| TargetError::NoAnswer {
        url: url.to_owned(),
        waited: limit,
        last,
    };
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(pem) = ca_pem {
        let ca = reqwest::Certificate::from_pem(pem.as_bytes())
            .map_err(|e| no_answer(format!("the test CA could not be read: {e}")))?;
        builder = builder.add_root_certificate(ca);
    }
    let client = builder
        .build()
        .map_err(|e| no_answer(format!("the HTTP client could not be built: {e}")))?;
    let deadline = tokio::time::Instant::now() + limit;
    let mut tick = tokio::time::interval(WAIT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = "no attempt made".to_owned();
    loop {
        tick.tick().await;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Err(no_answer(last));
        }
        match client
            .get(url)
            .timeout(left.min(WAIT_ATTEMPT_TIMEOUT))
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => last = root_cause(&e),
        }
    }
}

/// The innermost cause of an error ("Connection refused (os error 111)"), or the error itself.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if std::ptr::eq(cause, e) || e.to_string().contains("timed out") {
        return e.to_string();
    }
    cause.to_string()
}

/// A spawned command in its own process group ([`ProcessGroup`]: stopped, or killed when dropped). The server
/// role spawns `--command` MCP servers with it, the authz role `--command` authorization servers.
pub(crate) struct ChildGroup(ProcessGroup);

/// An ephemeral loopback port for a spawned target: bound, then released for the child to bind.
pub(crate) fn reserve_port() -> Result<u16, TargetError> {
    let l = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(TargetError::Bind)?;
    Ok(l.local_addr().map_err(TargetError::Bind)?.port())
}

/// How long a spawned target may take to accept its first connection.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(30);

impl ChildGroup {
    async fn spawn(
        command: &str,
        idp: &FakeIdp,
        upstream: &str,
        scopes: &Scopes,
        tls: Option<&crate::tls::RunTls>,
    ) -> Result<(ChildGroup, String), TargetError> {
        let port = reserve_port()?;
        // Strict TLS: the fake AS and the upstream are https with the test CA; the target is told to trust it,
        // and serves https itself with the leaf of the same CA it is handed (MCP_CONFORMANCE_TLS_CERT_FILE/_KEY_FILE).
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{port}/mcp");
        let mut env = Trust::of(idp, upstream, &url, scopes).env();
        if let Some(t) = tls {
            env.extend(
                t.target_env()
                    .into_iter()
                    .map(|(k, v)| (k, v.display().to_string())),
            );
        }
        let group = Self::spawn_ready(command, &env, port, &url, READY_TIMEOUT).await?;
        Ok((group, url))
    }

    /// Starts `sh -c COMMAND` with `env` and `PORT`, and waits until the port accepts a connection. On every
    /// path that does not return the group (exited, not ready), the whole group is stopped first. `url` is what
    /// the target will be addressed as (named in the errors).
    pub(crate) async fn spawn_ready(
        command: &str,
        env: &[(&str, String)],
        port: u16,
        url: &str,
        timeout: Duration,
    ) -> Result<ChildGroup, TargetError> {
        let url = url.to_owned();
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let mut group =
            ChildGroup(
                ProcessGroup::spawn(&mut cmd).map_err(|source| TargetError::Spawn {
                    command: command.to_owned(),
                    source,
                })?,
            );
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = tokio::time::Instant::now() + timeout;
        // Readiness is an event we can only observe by asking: the first accepted connection.
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            if let Some(status) = group.exited() {
                // The leader is gone, but what it started may live on in the group.
                group.0.stop().await;
                return Err(TargetError::Exited {
                    command: command.to_owned(),
                    url,
                    status,
                });
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(group);
            }
            if tokio::time::Instant::now() >= deadline {
                group.0.stop().await;
                return Err(TargetError::NotReady {
                    command: command.to_owned(),
                    url,
                    timeout,
                });
            }
        }
    }

    /// How the leader exited, if it has.
    pub(crate) fn exited(&mut self) -> Option<String> {
        self.0.exited().map(|s| s.to_string())
    }

    /// Stops the whole group (SIGTERM, then SIGKILL).
    pub(crate) async fn kill(&mut self) {
        self.0.stop().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::witness::Witness;

    fn witness(name: &str) -> Witness {
        let dir = std::env::temp_dir().join(format!("mcp-target-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Witness::new(&dir)
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[tokio::test]
    async fn waiting_for_a_target_ends_at_its_first_http_answer_whatever_the_status() {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::UNAUTHORIZED });
        tokio::spawn(async move { axum::serve(listener, app).await });
        wait_until_answers(&url, Duration::from_secs(10), None)
            .await
            .expect("a 401 is an answer");
    }

    #[tokio::test]
    async fn waiting_for_a_dead_target_gives_up_at_the_deadline_naming_the_last_failure() {
        let url = format!("http://127.0.0.1:{}/mcp", free_port());
        let started = std::time::Instant::now();
        let e = wait_until_answers(&url, Duration::from_millis(600), None)
            .await
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(600));
        assert!(matches!(&e, TargetError::NoAnswer { url: u, .. } if *u == url));
        assert!(e.to_string().contains("refused"), "{e}");
    }

    #[tokio::test]
    async fn a_ready_target_ignoring_sigterm_is_gone_with_its_grandchild_after_stop() {
        // The port answers at once: the test listens on it in the target's place.
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let w = witness("ready");
        let script = w.stubborn_script("wait");
        let mut group =
            ChildGroup::spawn_ready(&script, &[], port, "http://127.0.0.1/mcp", READY_TIMEOUT)
                .await
                .expect("ready");
        w.reported();
        group.kill().await;
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn a_target_that_never_answers_is_gone_with_its_grandchild_after_the_ready_timeout() {
        let w = witness("not-ready");
        let script = w.stubborn_script("wait");
        let r = ChildGroup::spawn_ready(
            &script,
            &[],
            free_port(),
            "http://127.0.0.1/mcp",
            Duration::from_millis(300),
        )
        .await;
        assert!(matches!(r, Err(TargetError::NotReady { .. })));
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn a_target_that_exits_before_answering_leaves_no_grandchild() {
        let w = witness("exited");
        let script = w.stubborn_script("exit 3");
        let r = ChildGroup::spawn_ready(
            &script,
            &[],
            free_port(),
            "http://127.0.0.1/mcp",
            READY_TIMEOUT,
        )
        .await;
        assert!(
            matches!(r, Err(TargetError::Exited { .. })),
            "{:?}",
            r.err()
        );
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }
}
