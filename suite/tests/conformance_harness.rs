//! The `conformance` test binary driven the way nextest drives it: a list phase, then one process per test, all
//! with one invocation id. The target is the reference server spawned by command, wrapped so that every start of
//! it is counted in a file: the role must run once per invocation, whatever the number of processes.
//!
//! The binary is the newest `conformance-*` next to this one (`cargo test -p mcp-auth-conformance` builds both).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn conformance_binary() -> PathBuf {
    let me = std::env::current_exe().expect("this test binary");
    let deps = me.parent().expect("deps dir");
    let newest = std::fs::read_dir(deps)
        .expect("read deps dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("conformance-") && !n.contains('.'))
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    newest.expect("the conformance test binary (cargo test -p mcp-auth-conformance --test conformance --no-run)")
}

/// An invocation against the reference server, counting its starts in `<dir>/starts`.
struct Invocation {
    dir: PathBuf,
    run_id: String,
}

impl Invocation {
    fn new(name: &str) -> Invocation {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("conformance-harness")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Invocation {
            run_id: format!("{name}-{}", std::process::id()),
            dir,
        }
    }

    fn command(&self, run_id: &str, args: &[&str]) -> Command {
        let suite = env!("CARGO_BIN_EXE_mcp-auth-conformance");
        let target = format!(
            "echo started >> '{}'; exec '{suite}' reference-server --env-contract",
            self.dir.join("starts").display()
        );
        let mut cmd = Command::new(conformance_binary());
        cmd.args(args)
            .env_remove("NEXTEST_RUN_ID")
            .env_remove("MCP_TARGET_URL")
            .env_remove("MCP_TARGET_CLIENT_COMMAND")
            .env_remove("MCP_TARGET_ISSUER")
            .env_remove("MCP_CONFORMANCE_REPORT_DIR")
            .env("MCP_TARGET_SERVER_COMMAND", target)
            .env("MCP_CONFORMANCE_RUN_ID", run_id);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(&self.run_id, args).output().unwrap()
    }

    fn starts(&self) -> usize {
        std::fs::read_to_string(self.dir.join("starts"))
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_plain_list_names_only_the_targeted_roles_checks_and_runs_nothing() {
    let inv = Invocation::new("plain-list");
    let out = inv.run(&["--list", "--format", "terse"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = text(&out.stdout);
    assert!(list.contains("RS-PRM-01: test"), "{list}");
    assert!(
        !list.contains("CL-") && !list.contains("AS-"),
        "only server checks: {list}"
    );
    assert_eq!(inv.starts(), 0, "a plain --list starts no target");
}

#[test]
fn the_processes_of_one_invocation_share_one_run_of_the_role() {
    let inv = Invocation::new("shared");
    // nextest's list phase: the ignored tests are the checks that are not passes (RS-TLS-01 is INFO on loopback).
    let ignored = inv.run(&["--list", "--format", "terse", "--ignored"]);
    assert!(ignored.status.success(), "{}", text(&ignored.stderr));
    assert!(
        text(&ignored.stdout).contains("RS-TLS-01: test"),
        "{}",
        text(&ignored.stdout)
    );
    assert!(!text(&ignored.stdout).contains("RS-PRM-01: test"));
    // Its run phase: one process per test, at once.
    let children: Vec<_> = ["[MUST] RS-PRM-01", "[MUST] RS-AUD-02", "[MUST] RS-WWW-02"]
        .into_iter()
        .map(|id| {
            inv.command(&inv.run_id, &["--exact", id, "--nocapture"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).contains("1 passed"),
            "{}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stderr).contains("the server role's run read from"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(inv.starts(), 1, "the target was started once");
}

#[test]
fn processes_starting_together_wait_for_the_one_that_runs_the_role() {
    let inv = Invocation::new("together");
    let children: Vec<_> = ["[MUST] RS-PRM-01", "[MUST] RS-AUD-02", "[MUST] RS-WWW-02"]
        .into_iter()
        .map(|id| {
            inv.command(&inv.run_id, &["--exact", id])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ran = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        ran += usize::from(text(&out.stderr).contains("conformance: ran the server role"));
    }
    assert_eq!(ran, 1, "one process ran the role");
    assert_eq!(inv.starts(), 1, "the target was started once");
}

#[test]
fn another_invocation_runs_the_role_anew() {
    let inv = Invocation::new("anew");
    for (i, run_id) in ["first", "second"].into_iter().enumerate() {
        let run_id = format!("{}-{run_id}", inv.run_id);
        let out = inv
            .command(&run_id, &["--exact", "[MUST] RS-PRM-01"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("conformance: ran the server role"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(inv.starts(), i + 1);
    }
}

#[test]
fn a_skip_or_info_check_is_an_ignored_test_with_its_reason() {
    let inv = Invocation::new("ignored");
    let out = inv.run(&["RS-TLS-01"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("0 passed; 0 failed; 1 ignored"), "{stdout}");
    assert!(
        stdout.contains("ignored RS-TLS-01 (server): INFO: local profile"),
        "{stdout}"
    );
}
