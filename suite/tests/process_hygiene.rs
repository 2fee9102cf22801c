//! What the suite spawns dies with its whole process group, also when the suite itself is interrupted:
//! SIGINT or SIGTERM to the suite stops the target, writes the report so far (the scenarios that finished are
//! judged, every other check ERROR "interrupted" or "not observed") and exits 130 or 143.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use mcp_auth_conformance::process::witness::Witness;
use mcp_auth_conformance::server::target::TargetSpec;
use mcp_auth_conformance::server::{self, ServerOptions};
use mcp_auth_reports::Verdict;
use mcp_auth_targets::ValidationMode;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-hygiene-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_command_target_that_exits_before_it_is_ready_leaves_no_process_behind() {
    let w = Witness::new(&scratch("not-ready"));
    let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
    opts.target = TargetSpec::Command(w.stubborn_script("exit 3"));
    let report = server::run(&opts).await;
    assert!(report.checks.iter().all(|c| c.verdict == Verdict::Error));
    assert!(w.all_gone_within(Duration::from_secs(5)));
}

/// Starts the suite on a target that becomes ready (the test answers its port, never its requests), sends
/// `signal` once the suite has connected, and returns the exit code, the report, and whether every process of
/// the target's group (leader and grandchild, both ignoring SIGTERM) is gone.
fn interrupt_a_run(name: &str, signal: Signal) -> (Option<i32>, String, bool) {
    let dir = scratch(name);
    let w = Witness::new(&dir);
    let report_dir = dir.join("report");
    let mut suite = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .arg("server")
        .arg("--command")
        .arg(w.stubborn_script("wait"))
        .arg("--report-dir")
        .arg(&report_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let port = w.reported()[2] as u16;
    // The target is up; answer its port in its place: the suite's readiness connection is the event.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (_held, _) = listener.accept().unwrap();
    kill(Pid::from_raw(suite.id() as i32), signal).unwrap();
    let status = suite.wait().unwrap();
    let report = std::fs::read_to_string(report_dir.join("report.json"))
        .unwrap_or_else(|e| panic!("no report.json ({e})"));
    (
        status.code(),
        report,
        w.all_gone_within(Duration::from_secs(5)),
    )
}

#[test]
fn sigint_stops_the_target_writes_an_interrupted_report_and_exits_130() {
    let (code, report, gone) = interrupt_a_run("sigint", Signal::SIGINT);
    assert_eq!(code, Some(130));
    assert!(report.contains("interrupted by SIGINT"), "{report}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    assert!(checks.iter().all(|c| c["verdict"] == "ERROR"));
    assert!(gone, "a process of the target's group is left");
}

#[test]
fn sigterm_stops_the_target_writes_an_interrupted_report_and_exits_143() {
    let (code, report, gone) = interrupt_a_run("sigterm", Signal::SIGTERM);
    assert_eq!(code, Some(143));
    assert!(report.contains("interrupted by SIGTERM"), "{report}");
    assert!(gone, "a process of the target's group is left");
}

/// A client that completes every scenario but the last and hangs there; with one scenario at a time, the last one
/// starting is the event that every other has finished. Interrupted then, the report judges the finished
/// scenarios and leaves what needed the last one ERROR (not observed), never PASS.
#[test]
fn an_interrupted_client_run_judges_the_scenarios_that_finished() {
    let dir = scratch("partial");
    // The last world of a default run (older revisions' and extensions' worlds come later and do not run).
    let default_run = mcp_auth_conformance::runner::Selection::all();
    let last = mcp_auth_conformance::client::scenarios::all()
        .into_iter()
        .rfind(|w| w.applies(&default_run))
        .unwrap()
        .name;
    let started = dir.join("last-started");
    assert!(Command::new("mkfifo")
        .arg(&started)
        .status()
        .unwrap()
        .success());
    let client = dir.join("client.sh");
    std::fs::write(
        &client,
        format!(
            "#!/bin/sh\nif [ \"$MCP_CONFORMANCE_SUITE_SCENARIO\" = '{last}' ]; then echo started > '{}'; exec sleep 600; fi\nexec '{}' reference-client \"$@\"\n",
            started.display(),
            env!("CARGO_BIN_EXE_mcp-auth-conformance")
        ),
    )
    .unwrap();
    let report_dir = dir.join("report");
    let mut suite = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(["client", "--jobs", "1", "--command"])
        .arg(format!("sh {}", client.display()))
        .arg("--report-dir")
        .arg(&report_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let fifo = started.clone();
    std::thread::spawn(move || {
        // Opening the FIFO for reading returns once the last scenario's client opened it for writing.
        let _ = tx.send(std::fs::read_to_string(fifo));
    });
    let event = rx.recv_timeout(Duration::from_secs(180));
    kill(Pid::from_raw(suite.id() as i32), Signal::SIGINT).unwrap();
    let status = suite.wait().unwrap();
    assert!(
        event.is_ok(),
        "the last scenario never started (exit {status:?})"
    );
    assert_eq!(status.code(), Some(130));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report_dir.join("report.json")).unwrap())
            .unwrap();
    let checks = report["checks"].as_array().unwrap();
    let with = |verdict: &str| checks.iter().filter(|c| c["verdict"] == verdict).count();
    assert!(
        with("PASS") >= 20,
        "finished scenarios are judged: {report}"
    );
    let not_observed: Vec<&str> = checks
        .iter()
        .filter(|c| {
            c["verdict"] == "ERROR"
                && c["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("the run was interrupted before this scenario finished")
        })
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    // CL-RED-03 needs the last scenario; CL-PKCE-04 must hold in every scenario, so a pass over the others is none.
    for id in ["CL-RED-03", "CL-PKCE-04"] {
        assert!(not_observed.contains(&id), "{id} in {not_observed:?}");
    }
    assert!(report["run"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().starts_with("interrupted by SIGINT")));
}
