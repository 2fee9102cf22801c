//! Running a client under test: the official contract (server URL as the last argv, scenario and context in
//! the environment), its own process group, a deadline, and the whole group killed at the end.

use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

use crate::output::{Capture, Stream};
use crate::process::ProcessGroup;

/// How the client process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientExit {
    /// It exited on its own with this code (None: killed by a signal).
    Exited(Option<i32>),
    /// It was still running at the deadline and was killed.
    TimedOut(Duration),
    /// It could not be started.
    SpawnFailed(String),
}

impl ClientExit {
    pub fn describe(&self) -> String {
        match self {
            ClientExit::Exited(Some(c)) => format!("exited with code {c}"),
            ClientExit::Exited(None) => "killed by a signal".into(),
            ClientExit::TimedOut(d) => format!("still running after {d:?}; killed"),
            ClientExit::SpawnFailed(e) => format!("could not be started: {e}"),
        }
    }

    pub fn success(&self) -> bool {
        *self == ClientExit::Exited(Some(0))
    }
}

/// What a client run produced.
#[derive(Debug, Clone)]
pub struct ClientRun {
    pub exit: ClientExit,
    pub duration: Duration,
    /// The end of stdout and stderr, interleaved line by line in arrival order, at most
    /// [`crate::output::CAPTURE_LIMIT`] bytes; also what arrived before a deadline. Raw: neither redacted nor
    /// escaped (the report's copy is [`crate::client::obs::ScenarioObs::target_run`]).
    pub output_tail: String,
    /// Whether earlier output was dropped to keep within the bound.
    pub output_truncated: bool,
}

/// Everything the contract hands a client.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub command: String,
    pub server_url: String,
    /// `MCP_CONFORMANCE_SCENARIO`: always an official scenario name.
    pub scenario: String,
    /// `MCP_CONFORMANCE_SUITE_SCENARIO`: the suite's own world name.
    pub suite_scenario: String,
    pub context: serde_json::Value,
    pub protocol_version: String,
    /// `BROWSER`: a command that opens a URL headlessly.
    pub browser: String,
    pub deadline: Duration,
    /// Under `--tls-profile strict`: the test CA's file for each of `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`,
    /// `NODE_EXTRA_CA_CERTS` (crate::tls::CA_ENV); empty otherwise.
    pub ca_env: Vec<(&'static str, std::path::PathBuf)>,
}

/// Runs the client to completion or to its deadline.
pub async fn run(inv: &Invocation) -> ClientRun {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("exec {} \"$@\"", inv.command))
        .arg("sh")
        .arg(&inv.server_url)
        .env("MCP_CONFORMANCE_SCENARIO", &inv.scenario)
        .env("MCP_CONFORMANCE_SUITE_SCENARIO", &inv.suite_scenario)
        .env("MCP_CONFORMANCE_CONTEXT", inv.context.to_string())
        .env("MCP_CONFORMANCE_PROTOCOL_VERSION", &inv.protocol_version)
        .env("BROWSER", &inv.browser)
        .envs(inv.ca_env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut group = match ProcessGroup::spawn(&mut cmd) {
        Ok(c) => c,
        Err(e) => {
            return ClientRun {
                exit: ClientExit::SpawnFailed(e.to_string()),
                duration: started.elapsed(),
                output_tail: String::new(),
                output_truncated: false,
            }
        }
    };
    let child = group.child();
    // Bounded while it runs (a client may print without end), and shared, so the output that arrived before a
    // deadline is kept.
    let capture = Mutex::new(Capture::new());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let waited = async {
        let (status, (), ()) = tokio::join!(
            child.wait(),
            read_into(stdout, Stream::Stdout, &capture),
            read_into(stderr, Stream::Stderr, &capture)
        );
        status
    };
    let exit = match tokio::time::timeout(inv.deadline, waited).await {
        Ok(Ok(s)) => ClientExit::Exited(s.code()),
        Ok(Err(e)) => ClientExit::SpawnFailed(e.to_string()),
        Err(_) => ClientExit::TimedOut(inv.deadline),
    };
    // The client may have left children behind (a browser opener, a helper): stop the whole group.
    group.stop().await;
    let (output_tail, output_truncated) = capture
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .finish();
    ClientRun {
        exit,
        duration: started.elapsed(),
        output_tail,
        output_truncated,
    }
}

/// Reads one pipe to its end into the capture.
async fn read_into(pipe: Option<impl AsyncRead + Unpin>, stream: Stream, capture: &Mutex<Capture>) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => capture
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(stream, &buf[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::witness::Witness;

    fn inv(command: &str, deadline: Duration) -> Invocation {
        Invocation {
            command: command.into(),
            server_url: "http://127.0.0.1:1/mcp".into(),
            scenario: "auth/metadata-default".into(),
            suite_scenario: "auth/token-refresh".into(),
            context: serde_json::json!({"name": "auth/metadata-default"}),
            protocol_version: "2025-11-25".into(),
            browser: "true".into(),
            deadline,
            ca_env: Vec::new(),
        }
    }

    #[tokio::test]
    async fn the_test_ca_file_is_named_by_all_three_ca_variables() {
        let mut i = inv(
            "printf '%s %s %s' \"$SSL_CERT_FILE\" \"$REQUESTS_CA_BUNDLE\" \"$NODE_EXTRA_CA_CERTS\" #",
            Duration::from_secs(5),
        );
        i.ca_env = crate::tls::CA_ENV
            .iter()
            .map(|v| (*v, std::path::PathBuf::from("/tmp/ca.pem")))
            .collect();
        let r = run(&i).await;
        assert_eq!(r.output_tail, "/tmp/ca.pem /tmp/ca.pem /tmp/ca.pem");
    }

    #[tokio::test]
    async fn the_server_url_is_the_last_argument_and_the_scenario_is_in_the_env() {
        let r = run(&inv(
            "printf '%s %s' \"$MCP_CONFORMANCE_SCENARIO\"",
            Duration::from_secs(5),
        ))
        .await;
        assert_eq!(r.exit, ClientExit::Exited(Some(0)));
        assert_eq!(
            r.output_tail,
            "auth/metadata-default http://127.0.0.1:1/mcp"
        );
    }

    #[tokio::test]
    async fn the_suite_world_name_travels_beside_the_official_one() {
        let r = run(&inv(
            "printf '%s %s' \"$MCP_CONFORMANCE_SCENARIO\" \"$MCP_CONFORMANCE_SUITE_SCENARIO\" #",
            Duration::from_secs(5),
        ))
        .await;
        assert_eq!(r.output_tail, "auth/metadata-default auth/token-refresh");
    }

    #[tokio::test]
    async fn a_hanging_client_is_killed_at_the_deadline() {
        let r = run(&inv("sleep 30 #", Duration::from_millis(300))).await;
        assert!(matches!(r.exit, ClientExit::TimedOut(_)));
        assert!(r.duration < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn the_output_before_the_deadline_is_kept_with_stderr_interleaved() {
        let r = run(&inv(
            "sh -c 'echo starting; echo Unknown scenario >&2; sleep 30' #",
            Duration::from_secs(2),
        ))
        .await;
        assert!(matches!(r.exit, ClientExit::TimedOut(_)));
        // Two pipes have no order between them: both lines are kept, whole, one per line.
        let mut lines: Vec<&str> = r.output_tail.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, ["Unknown scenario", "starting"]);
        assert!(!r.output_truncated);
    }

    #[tokio::test]
    async fn endless_output_is_bounded() {
        let r = run(&inv(
            "sh -c 'yes 0123456789abcdef | head -c 1000000; echo; echo the end' #",
            Duration::from_secs(10),
        ))
        .await;
        assert_eq!(r.exit, ClientExit::Exited(Some(0)));
        assert!(r.output_truncated);
        assert!(r.output_tail.len() <= crate::output::CAPTURE_LIMIT);
        assert!(
            r.output_tail.ends_with("the end"),
            "{}",
            &r.output_tail[r.output_tail.len() - 40..]
        );
    }

    #[tokio::test]
    async fn a_crashing_client_reports_its_code() {
        let r = run(&inv("sh -c 'exit 3' #", Duration::from_secs(5))).await;
        assert_eq!(r.exit, ClientExit::Exited(Some(3)));
    }

    /// A client that ignores SIGTERM and leaves a grandchild ignoring it too (a script file, run as
    /// `sh FILE SERVER_URL`).
    fn stubborn(name: &str, tail: &str) -> (String, Witness) {
        let dir = std::env::temp_dir().join(format!("mcp-client-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = Witness::new(&dir);
        let script = dir.join("client.sh");
        std::fs::write(&script, w.stubborn_script(tail)).unwrap();
        (format!("sh '{}'", script.display()), w)
    }

    #[tokio::test]
    async fn a_client_ignoring_sigterm_is_gone_with_its_grandchild_after_its_deadline() {
        let (command, w) = stubborn("deadline", "wait");
        let r = run(&inv(&command, Duration::from_millis(500))).await;
        assert!(matches!(r.exit, ClientExit::TimedOut(_)));
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn a_client_that_exits_leaves_no_grandchild_behind() {
        let (command, w) = stubborn("exited", "exit 0");
        let r = run(&inv(&command, Duration::from_secs(5))).await;
        assert_eq!(r.exit, ClientExit::Exited(Some(0)));
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }
}
