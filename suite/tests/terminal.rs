//! The binary's terminal output off a TTY (a pipe, as in CI): plain lines, no escape sequences, no redraws;
//! `--color always` and `--quiet` as documented; a cascade pointed at its root cause.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `client --defect no-pkce` (fast: the reference client, 16 worlds) with stdout and stderr piped.
fn run(name: &str, extra: &[&str]) -> (Output, PathBuf) {
    let dir = std::env::temp_dir().join(format!("mcp-terminal-{}-{name}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(["client", "--defect", "no-pkce", "--report-dir"])
        .arg(&dir)
        .args(extra)
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color")
        .output()
        .expect("the suite binary runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, dir)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn the_output_off_a_terminal_is_plain_lines_without_escape_sequences_or_redraws() {
    let (out, dir) = run("plain", &[]);
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(!bytes.contains(&0x1b), "{stream} has an ESC byte");
        assert!(!bytes.contains(&b'\r'), "{stream} has a carriage return");
    }
    let stdout = text(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("PASS  CL-PRM-01 ")),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l.starts_with("level ")), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn color_always_colours_the_verdicts_even_into_a_pipe() {
    let (out, dir) = run("always", &["--color", "always"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\x1b[1m\x1b[31mFAIL \x1b[0m CL-PKCE-04"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn quiet_prints_only_the_failing_checks_and_the_summary() {
    let (out, dir) = run("quiet", &["--quiet"]);
    let stdout = text(&out.stdout);
    for line in stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
    {
        let known = [
            "FAIL ",
            "ERROR",
            "level",
            "MUST",
            "SHOULD",
            "MAY",
            "cascades:",
            "reports in",
        ];
        // The summary line: "<N> checks (…)", whatever the number of checks.
        let summary = line
            .split_once(" checks (")
            .is_some_and(|(n, _)| n.parse::<usize>().is_ok());
        assert!(
            summary || known.iter().any(|k| line.starts_with(k)),
            "unexpected line in quiet mode: {line}"
        );
    }
    assert!(
        stdout.lines().any(|l| l.starts_with("FAIL  CL-PKCE-04")),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_client_without_pkce_has_every_error_pointed_at_the_missing_code_challenge() {
    let (out, dir) = run("cascade", &[]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let checks = report["checks"].as_array().unwrap();
    let errors: Vec<&serde_json::Value> =
        checks.iter().filter(|c| c["verdict"] == "ERROR").collect();
    assert!(errors.len() > 20, "{} ERRORs", errors.len());
    for e in &errors {
        let by: Vec<&str> = e["blocked_by"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no blocked_by", e["id"]))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(by.contains(&"CL-PKCE-04"), "{}: {by:?}", e["id"]);
    }
    // No check that was judged names a prerequisite.
    assert!(checks
        .iter()
        .filter(|c| c["verdict"] != "ERROR")
        .all(|c| c.get("blocked_by").is_none()));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "      blocks {} checks that could not be judged without it:",
            errors.len()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("code_challenge is required (PKCE)"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_reader_that_goes_away_ends_the_printing_not_the_run() {
    use std::process::Stdio;
    let dir = std::env::temp_dir().join(format!("mcp-terminal-{}-closed", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(["client", "--defect", "no-pkce", "--report-dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader closes its end before the first line (as `| head -0` does).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the verdict's exit code: {stderr}"
    );
    assert!(dir.join("report.json").exists(), "no report written");
    let _ = std::fs::remove_dir_all(&dir);
}
