//! Running a client under test: the official contract (server URL as the last argv, scenario and context in
//! the environment), its own process group, a deadline, and the whole group killed at the end.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

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
    /// The last few KiB of stdout and stderr, for the report.
    pub output_tail: String,
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
}

const TAIL: usize = 4096;

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
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return ClientRun {
                exit: ClientExit::SpawnFailed(e.to_string()),
                duration: started.elapsed(),
                output_tail: String::new(),
            }
        }
    };
    let pgid = child.id().map(|p| p as i32);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let read_out = async {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut buf).await;
        }
        buf
    };
    let read_err = async {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut buf).await;
        }
        buf
    };
    let waited = async {
        let (status, out, err) = tokio::join!(child.wait(), read_out, read_err);
        (status, out, err)
    };
    let (exit, out, err) = match tokio::time::timeout(inv.deadline, waited).await {
        Ok((status, out, err)) => {
            let exit = match status {
                Ok(s) => ClientExit::Exited(s.code()),
                Err(e) => ClientExit::SpawnFailed(e.to_string()),
            };
            (exit, out, err)
        }
        Err(_) => (ClientExit::TimedOut(inv.deadline), Vec::new(), Vec::new()),
    };
    if let Some(pgid) = pgid {
        // The client may have left children behind (a browser opener, a helper): stop the whole group.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let mut output_tail = tail(&out);
    let err_tail = tail(&err);
    if !err_tail.is_empty() {
        if !output_tail.is_empty() {
            output_tail.push('\n');
        }
        output_tail.push_str(&err_tail);
    }
    ClientRun {
        exit,
        duration: started.elapsed(),
        output_tail,
    }
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let t = text.trim();
    if t.len() <= TAIL {
        return t.to_owned();
    }
    let mut start = t.len() - TAIL;
    while !t.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &t[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
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
    async fn a_crashing_client_reports_its_code() {
        let r = run(&inv("sh -c 'exit 3' #", Duration::from_secs(5))).await;
        assert_eq!(r.exit, ClientExit::Exited(Some(3)));
    }
}
