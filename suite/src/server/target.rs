//! Reaching the server under test: the bundled reference (in-process), a running server (`--url`), or a
//! command the suite spawns with the env contract and stops (whole process group) at the end.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::time::Duration;

use fake_idp::FakeIdp;
use mcp_auth_targets::{
    Defect, IntrospectionClient, RunningTodoServer, TodoServer, TodoServerConfig, ValidationMode,
};

/// How the target is reached.
#[derive(Debug, Clone)]
pub enum TargetSpec {
    /// The bundled reference To-Do server, optionally with one defect.
    Bundled {
        defect: Option<Defect>,
        mode: ValidationMode,
    },
    /// A server already running, trusting the fake AS at its fixed address.
    Url(String),
    /// A command to spawn with the env contract (`sh -c CMD`).
    Command(String),
}

impl TargetSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            TargetSpec::Bundled { .. } => "bundled",
            TargetSpec::Url(_) => "url",
            TargetSpec::Command(_) => "command",
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
    ) -> Result<RunningTarget, TargetError> {
        match spec {
            TargetSpec::Bundled { defect, mode } => {
                let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                    .await
                    .map_err(TargetError::Bind)?;
                let port = listener.local_addr().map_err(TargetError::Bind)?.port();
                let mut config = TodoServerConfig::new(idp.issuer(), idp.jwks_uri());
                config.mode = *mode;
                let (client_id, client_secret) = idp.introspection_client();
                config.introspection = Some(IntrospectionClient {
                    url: idp.introspection_url(),
                    client_id,
                    client_secret,
                });
                config.defect = *defect;
                config.upstream_url = Some(upstream.to_owned());
                if *defect == Some(Defect::PlainHttpPublicHost) {
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
                let (group, url) = ChildGroup::spawn(command, idp, upstream).await?;
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

/// A spawned command in its own process group.
struct ChildGroup {
    child: tokio::process::Child,
    pgid: Option<i32>,
}

const READY_TIMEOUT: Duration = Duration::from_secs(30);

impl ChildGroup {
    async fn spawn(
        command: &str,
        idp: &FakeIdp,
        upstream: &str,
    ) -> Result<(ChildGroup, String), TargetError> {
        // Reserve an ephemeral port for the target, then release it for the child to bind.
        let port = {
            let l =
                std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(TargetError::Bind)?;
            l.local_addr().map_err(TargetError::Bind)?.port()
        };
        let url = format!("http://127.0.0.1:{port}/mcp");
        let (client_id, client_secret) = idp.introspection_client();
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(command)
            .env("MCP_CONFORMANCE_ISSUER", idp.issuer())
            .env("MCP_CONFORMANCE_JWKS_URI", idp.jwks_uri())
            .env("MCP_CONFORMANCE_INTROSPECTION_URL", idp.introspection_url())
            .env("MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID", client_id)
            .env("MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET", client_secret)
            .env("MCP_CONFORMANCE_RESOURCE", &url)
            .env("MCP_CONFORMANCE_UPSTREAM_URL", upstream)
            .env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .process_group(0);
        let child = cmd.spawn().map_err(|source| TargetError::Spawn {
            command: command.to_owned(),
            source,
        })?;
        let pgid = child.id().map(|p| p as i32);
        let mut group = ChildGroup { child, pgid };
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        // Readiness is an event we can only observe by asking: the first accepted connection.
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            if let Some(status) = group.exited() {
                return Err(TargetError::Exited {
                    command: command.to_owned(),
                    url,
                    status,
                });
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok((group, url));
            }
            if tokio::time::Instant::now() >= deadline {
                group.kill().await;
                return Err(TargetError::NotReady {
                    command: command.to_owned(),
                    url,
                    timeout: READY_TIMEOUT,
                });
            }
        }
    }

    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    async fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            use nix::sys::signal::{killpg, Signal};
            use nix::unistd::Pid;
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
            let graceful = tokio::time::timeout(Duration::from_secs(3), self.child.wait()).await;
            if graceful.is_err() {
                let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
            }
        }
        let _ = self.child.kill().await;
    }
}

impl Drop for ChildGroup {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}
