//! Operator input is checked before anything starts: a wrong option is one line on stderr naming the option
//! and the problem, exit 2, and no report.

use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-input-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the suite with `args` (and a report directory in `dir`), asserts exit 2, one line on stderr that
/// contains every one of `expected`, and no report; returns the line.
fn refused(name: &str, args: &[&str], expected: &[&str]) -> String {
    let dir = scratch(name);
    let report_dir = dir.join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(args)
        .arg("--report-dir")
        .arg(&report_dir)
        .current_dir(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    for e in expected {
        assert!(stderr.contains(e), "`{e}` not in: {stderr}");
    }
    assert!(
        !report_dir.join("report.json").exists(),
        "a report was written"
    );
    assert!(
        out.stdout.is_empty(),
        "the run started: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

#[test]
fn server_url_that_is_not_a_url_is_refused() {
    refused(
        "url-notaurl",
        &["server", "--url", "notaurl"],
        &["--url `notaurl`", "not an absolute"],
    );
}

#[test]
fn server_url_with_another_scheme_is_refused() {
    refused(
        "url-ftp",
        &["server", "--url", "ftp://127.0.0.1/mcp"],
        &["--url", "scheme must be http or https"],
    );
}

#[test]
fn server_url_without_a_scheme_is_refused() {
    refused(
        "url-noscheme",
        &["server", "--url", "127.0.0.1:8080/mcp"],
        &["--url `127.0.0.1:8080/mcp`"],
    );
}

#[test]
fn authz_issuer_that_is_not_a_url_is_refused() {
    refused(
        "issuer",
        &["authz", "--issuer", "notaurl"],
        &["--issuer `notaurl`", "not an absolute"],
    );
}

#[test]
fn an_empty_server_command_is_refused() {
    refused(
        "server-command",
        &["server", "--command", "  "],
        &["--command", "empty"],
    );
}

#[test]
fn an_empty_client_command_is_refused() {
    refused(
        "client-command",
        &["client", "--command", ""],
        &["--command", "empty"],
    );
}

#[test]
fn a_missing_profile_is_refused_and_its_cause_printed_once() {
    let line = refused(
        "profile-missing",
        &["server", "--profile", "nope.toml"],
        &["--profile", "nope.toml"],
    );
    assert_eq!(line.matches("No such file").count(), 1, "{line}");
}

#[test]
fn a_profile_that_does_not_parse_is_refused() {
    let dir = scratch("profile-bad-file");
    let p = dir.join("bad.toml");
    std::fs::write(&p, "this is not toml = = =\n").unwrap();
    refused(
        "profile-bad",
        &["server", "--profile", p.to_str().unwrap()],
        &["--profile", "invalid profile"],
    );
}

#[test]
fn a_baseline_that_does_not_parse_is_refused() {
    let dir = scratch("baseline-bad-file");
    let p = dir.join("b.toml");
    std::fs::write(&p, "[[expected]]\nid = 3\n").unwrap();
    refused(
        "baseline-bad",
        &["server", "--baseline", p.to_str().unwrap()],
        &["--baseline", "invalid baseline"],
    );
}

#[test]
fn a_baseline_naming_an_unknown_check_is_refused() {
    let dir = scratch("baseline-unknown-file");
    let p = dir.join("b.toml");
    std::fs::write(&p, "[[expected]]\nid = \"RS-NOPE-01\"\nreason = \"r\"\n").unwrap();
    refused(
        "baseline-unknown",
        &["server", "--baseline", p.to_str().unwrap()],
        &["--baseline", "`RS-NOPE-01` names no check"],
    );
}

#[test]
fn a_baseline_glob_matching_no_check_is_refused() {
    let dir = scratch("baseline-glob-file");
    let p = dir.join("b.toml");
    std::fs::write(&p, "[[expected]]\nid = \"RS-NOPE-*\"\nreason = \"r\"\n").unwrap();
    refused(
        "baseline-glob",
        &["authz", "--baseline", p.to_str().unwrap()],
        &["--baseline", "`RS-NOPE-*` matches no check"],
    );
}

#[test]
fn a_baseline_naming_a_check_of_another_role_is_refused() {
    let dir = scratch("baseline-other-role-file");
    let p = dir.join("b.toml");
    std::fs::write(&p, "[[expected]]\nid = \"CL-PKCE-04\"\nreason = \"r\"\n").unwrap();
    refused(
        "baseline-other-role",
        &["server", "--baseline", p.to_str().unwrap()],
        &["--baseline", "`CL-PKCE-04` names no check of the role"],
    );
}

#[test]
fn an_expected_failures_yaml_that_does_not_parse_is_refused_naming_file_and_line() {
    let dir = scratch("expected-failures-bad-file");
    let p = dir.join("expected-failures.yml");
    std::fs::write(&p, "client:\n  - auth/basic-dcr\n  - [unclosed\n").unwrap();
    refused(
        "expected-failures-bad",
        &["client", "--expected-failures", p.to_str().unwrap()],
        &["expected-failures.yml", "line 4"],
    );
}

#[test]
fn an_expected_failures_entry_naming_no_scenario_is_refused() {
    let dir = scratch("expected-failures-unknown-file");
    let p = dir.join("expected-failures.yaml");
    std::fs::write(&p, "client:\n  - auth/metadata-defualt\n").unwrap();
    refused(
        "expected-failures-unknown",
        &["client", "--expected-failures", p.to_str().unwrap()],
        &["`auth/metadata-defualt` is neither an official authorization scenario"],
    );
}

#[test]
fn unreadable_client_metadata_is_refused() {
    refused(
        "client-metadata",
        &["client", "--client-metadata", "missing.json"],
        &["--client-metadata missing.json"],
    );
}

#[test]
fn a_report_dir_that_cannot_be_created_is_refused() {
    let dir = scratch("report-dir");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_a_file = file.join("report");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(["server", "--report-dir", under_a_file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--report-dir") && stderr.contains("cannot create"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "the run started");
}

#[test]
fn authz_command_issuer_without_the_port_placeholder_is_refused() {
    refused(
        "authz-command-issuer",
        &[
            "authz",
            "--command",
            "true",
            "--issuer",
            "https://127.0.0.1:9/",
        ],
        &["--issuer", "{port}"],
    );
}

#[test]
fn authz_proxy_on_the_bundled_as_is_refused() {
    refused(
        "authz-proxy-bundled",
        &["authz", "--proxy"],
        &["--proxy", "--issuer or --command"],
    );
}

#[test]
fn authz_upstream_idp_on_the_bundled_as_is_refused() {
    refused(
        "authz-idp-bundled",
        &["authz", "--upstream-idp"],
        &["--upstream-idp", "--issuer or --command"],
    );
}

#[test]
fn authz_resource_that_is_not_a_url_is_refused() {
    refused(
        "authz-resource",
        &["authz", "--resource", "mcp"],
        &["--resource", "not an absolute"],
    );
}

#[test]
fn authz_issuer_with_the_port_placeholder_but_no_command_is_refused() {
    refused(
        "authz-issuer-port",
        &["authz", "--issuer", "https://127.0.0.1:{port}/"],
        &["--issuer", "needs --command"],
    );
}
