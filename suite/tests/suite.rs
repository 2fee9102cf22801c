//! The suite, end to end: the reference passes, defects are caught, hostile targets give ERROR (never a hang
//! or a panic), and the CLI keeps its contract.

use std::process::Command;
use std::time::{Duration, Instant};

use fake_idp::AsDefect;
use mcp_auth_conformance::authz::{AuthzOptions, AuthzTarget};
use mcp_auth_conformance::client::{self, ClientOptions, ClientTarget};
use mcp_auth_conformance::expected::Expected;
use mcp_auth_conformance::http::Limits;
use mcp_auth_conformance::runner::{exit, exit_code};
use mcp_auth_conformance::selftest;
use mcp_auth_conformance::server::target::TargetSpec;
use mcp_auth_conformance::server::{self, ServerOptions};
use mcp_auth_reports::{Report, Verdict};
use mcp_auth_targets::client::ClientDefect;
use mcp_auth_targets::{ServerDefect, ValidationMode};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn verdict(report: &Report, id: &str) -> Verdict {
    report
        .check(id)
        .unwrap_or_else(|| panic!("{id} missing"))
        .verdict
}

fn unexpected(report: &Report) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| !matches!(c.verdict, Verdict::Pass | Verdict::Skip | Verdict::Info))
        .map(|c| format!("{} {}: {} {}", c.id, c.verdict, c.actual, c.message))
        .collect()
}

/// Options for a hostile stub at `url`, with a short budget and an ephemeral fake AS.
/// Options against a stub that answers at once: the timeout is the default one, so a busy machine cannot turn
/// a slow answer into a different verdict (only the hanging-target test shortens it).
fn against(url: String) -> ServerOptions {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
    opts.target = TargetSpec::Url(url);
    opts.as_addr = "127.0.0.1:0".parse().unwrap();
    opts.upstream_addr = "127.0.0.1:0".parse().unwrap();
    opts.limits = Limits {
        body_cap: 64 * 1024,
        record_cap: 1024,
        ..Limits::default()
    };
    opts
}

#[tokio::test]
async fn the_reference_server_passes_every_check_in_jwt_mode() {
    let report = server::run(&ServerOptions::bundled(None, ValidationMode::Jwt)).await;
    assert!(
        report.checks.len() >= 45,
        "only {} checks",
        report.checks.len()
    );
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(exit_code(&report), exit::OK);
    assert!(report
        .run
        .notes
        .iter()
        .any(|n| n.contains("token validation: jwt (observed)")));
}

#[tokio::test]
async fn the_reference_server_passes_every_check_in_introspection_mode() {
    let report = server::run(&ServerOptions::bundled(None, ValidationMode::Introspection)).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(verdict(&report, "RS-TOK-02.revoked"), Verdict::Pass);
    assert!(report
        .run
        .notes
        .iter()
        .any(|n| n.contains("token validation: introspection (observed)")));
}

/// Under 2025-03-26 the reference is its own authorization server at its origin; the self-test covers JWT
/// validation, this the other mode.
#[tokio::test]
async fn the_reference_server_passes_every_check_at_2025_03_26_in_introspection_mode() {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Introspection);
    opts.selection = opts
        .selection
        .with_spec(mcp_auth_conformance::spec::SpecVersion::V2025_03_26);
    let report = server::run(&opts).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(verdict(&report, "RS-BC-01"), Verdict::Pass);
    assert_eq!(verdict(&report, "RS-BC-02"), Verdict::Pass);
    assert!(report.check("RS-PRM-02").is_none());
}

/// The bundled reference with the fake AS playing Scalekit (the story's AS): the default profile plus
/// `[as] persona = "scalekit"`, as fixtures/profiles/todo-scalekit.toml has it.
fn under_scalekit(defect: Option<ServerDefect>) -> ServerOptions {
    let mut opts = ServerOptions::bundled(defect, ValidationMode::Jwt);
    opts.profile.auth_server = mcp_auth_conformance::profile::AsTable {
        persona: mcp_auth_conformance::profile::PersonaName::Scalekit,
        resource_id: Some("res_conformance_todo".into()),
        ..Default::default()
    };
    opts
}

#[tokio::test]
async fn the_reference_server_passes_every_check_under_the_scalekit_persona() {
    let report = server::run(&under_scalekit(None)).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    // The opaque resource id has no scheme or host to spell in upper case.
    assert_eq!(verdict(&report, "RS-AUD-03"), Verdict::Skip);
    assert_eq!(verdict(&report, "RS-OBO-01"), Verdict::Pass);
    assert!(report
        .run
        .notes
        .iter()
        .any(|n| n.contains("(scalekit persona, AS identifier ")
            && n.contains("/resources/res_conformance_todo")));
}

#[tokio::test]
async fn the_reference_server_passes_every_check_under_the_auth0_persona() {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
    opts.profile.auth_server = mcp_auth_conformance::profile::AsTable {
        persona: mcp_auth_conformance::profile::PersonaName::Auth0,
        audience: Some("https://api.todo.conformance.test".into()),
        ..Default::default()
    };
    let report = server::run(&opts).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(verdict(&report, "RS-AUD-03"), Verdict::Pass);
}

#[tokio::test]
async fn the_reference_server_passes_every_check_under_the_keycloak_persona_by_introspection() {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Introspection);
    opts.profile.auth_server = mcp_auth_conformance::profile::AsTable {
        persona: mcp_auth_conformance::profile::PersonaName::Keycloak,
        realm: Some("story".into()),
        ..Default::default()
    };
    let report = server::run(&opts).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(verdict(&report, "RS-TOK-02.revoked"), Verdict::Pass);
}

#[tokio::test]
async fn under_the_scalekit_persona_skipping_the_audience_check_still_fails_rs_aud_01() {
    let report = server::run(&under_scalekit(Some(ServerDefect::SkipAudienceCheck))).await;
    assert_eq!(verdict(&report, "RS-AUD-01.other-resource"), Verdict::Fail);
    assert_eq!(verdict(&report, "RS-AUD-01.missing"), Verdict::Fail);
}

#[tokio::test]
async fn skipping_the_audience_check_fails_rs_aud_01() {
    let report = server::run(&ServerOptions::bundled(
        Some(ServerDefect::SkipAudienceCheck),
        ValidationMode::Jwt,
    ))
    .await;
    assert_eq!(verdict(&report, "RS-AUD-01.other-resource"), Verdict::Fail);
    assert_eq!(exit_code(&report), exit::FAILURES);
}

#[tokio::test]
async fn accepting_alg_none_fails_all_three_spellings() {
    let report = server::run(&ServerOptions::bundled(
        Some(ServerDefect::AcceptAlgNone),
        ValidationMode::Jwt,
    ))
    .await;
    for id in [
        "RS-JWT-03.none-lowercase",
        "RS-JWT-03.none-titlecase",
        "RS-JWT-03.none-uppercase",
    ] {
        assert_eq!(verdict(&report, id), Verdict::Fail, "{id}");
    }
}

#[tokio::test]
async fn evidence_redacts_tokens_but_keeps_their_hash() {
    let report = server::run(&ServerOptions::bundled(None, ValidationMode::Jwt)).await;
    let json = serde_json::to_string(&report).unwrap();
    assert!(!has_long_jwt(&json), "a whole JWT leaked into the report");
    let tokens: Vec<_> = report.exchanges.iter().flat_map(|e| &e.tokens).collect();
    assert!(!tokens.is_empty());
    for t in tokens {
        assert_eq!(t.sha256.len(), 64);
        assert!(t.redacted.starts_with("[redacted "), "{}", t.redacted);
        assert!(t.redacted.contains(&t.sha256[..12]), "{}", t.redacted);
    }
}

fn has_long_jwt(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'))
        .any(|w| w.starts_with("eyJ") && w.matches('.').count() == 2 && w.len() > 100)
}

#[tokio::test]
async fn a_hanging_target_gives_errors_within_the_budget() {
    let stub = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&stub)
        .await;
    let started = Instant::now();
    let mut opts = against(format!("{}/mcp", stub.uri()));
    opts.limits.timeout = Duration::from_millis(300);
    let report = server::run(&opts).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(verdict(&report, "RS-WWW-01.post") == Verdict::Error);
    assert!(report
        .checks
        .iter()
        .all(|c| c.verdict != Verdict::Pass || c.id == "RS-TLS-01"));
    assert!(report
        .checks
        .iter()
        .all(|c| c.verdict != Verdict::HarnessError));
    assert_eq!(exit_code(&report), exit::FAILURES);
}

#[tokio::test]
async fn a_target_answering_garbage_gives_no_pass_and_no_panic() {
    let stub = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(vec![0xff, 0xfe, 0x00, b'{'], "application/json"),
        )
        .mount(&stub)
        .await;
    let report = server::run(&against(format!("{}/mcp", stub.uri()))).await;
    assert_eq!(verdict(&report, "RS-WWW-01.post"), Verdict::Fail);
    assert!(report
        .checks
        .iter()
        .all(|c| c.verdict != Verdict::HarnessError));
    assert_eq!(exit_code(&report), exit::FAILURES);
}

#[tokio::test]
async fn a_huge_body_is_cut_at_the_cap() {
    let stub = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401).set_body_raw(vec![b'x'; 4 * 1024 * 1024], "text/plain"),
        )
        .mount(&stub)
        .await;
    let mut opts = against(format!("{}/mcp", stub.uri()));
    opts.limits.timeout = Duration::from_secs(10);
    let report = server::run(&opts).await;
    assert_eq!(verdict(&report, "RS-WWW-01.post"), Verdict::Error);
    let c = report.check("RS-WWW-01.post").unwrap();
    assert!(c.message.contains("cap"), "{}", c.message);
}

#[tokio::test]
async fn a_command_that_exits_at_once_gives_errors_not_passes() {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
    opts.target = TargetSpec::Command("exit 1".into());
    let report = server::run(&opts).await;
    assert!(
        report.checks.iter().all(|c| c.verdict == Verdict::Error),
        "{:?}",
        unexpected(&report)
    );
    assert!(report
        .run
        .notes
        .iter()
        .any(|n| n.contains("exited before it answered")));
    assert_eq!(exit_code(&report), exit::FAILURES);
}

#[tokio::test]
async fn the_reference_server_passes_through_the_command_env_contract() {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
    opts.target = TargetSpec::Command(format!(
        "exec '{}' reference-server --env-contract",
        env!("CARGO_BIN_EXE_mcp-auth-conformance")
    ));
    let report = server::run(&opts).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(report.run.target.kind.as_str(), "command");
}

#[tokio::test]
async fn under_strict_tls_a_command_target_serves_https_with_the_certificate_it_is_handed() {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
    opts.target = TargetSpec::Command(format!(
        "exec '{}' reference-server --env-contract",
        env!("CARGO_BIN_EXE_mcp-auth-conformance")
    ));
    opts.selection = mcp_auth_conformance::runner::Selection::all()
        .with_tls(mcp_auth_conformance::spec::TlsProfile::Strict);
    let report = server::run(&opts).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(verdict(&report, "RS-TLS-01"), Verdict::Pass);
    let url = report.run.target.url.clone().unwrap_or_default();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_test_kills_every_check_and_matches_the_expected_verdicts() {
    let runs = selftest::run_server().await;
    let result = selftest::evaluate(
        mcp_auth_reports::Role::Server,
        &runs,
        &Expected::server().unwrap(),
    );
    assert_eq!(result.reference_failures, Vec::<String>::new());
    assert_eq!(result.mismatches, Vec::<String>::new());
    assert_eq!(result.unkilled, Vec::<String>::new());
    assert_eq!(result.inert_defects, Vec::<String>::new());
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(args)
        .output()
        .expect("run the CLI")
}

#[test]
fn the_terminal_marks_baselined_failures_and_names_stale_entries() {
    let dir = std::env::temp_dir().join(format!("mcp-conf-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let baseline = dir.join("baseline.toml");
    std::fs::write(
        &baseline,
        "[[expected]]\nid = \"RS-AUD-01.*\"\nreason = \"audience check pending\"\n\n[[expected]]\nid = \"RS-PRM-07\"\nreason = \"fixed since\"\n",
    )
    .unwrap();
    let out = cli(&[
        "server",
        "--defect",
        "skip-audience-check",
        "--baseline",
        baseline.to_str().unwrap(),
        "--report-dir",
        dir.join("report").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = |id: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("RS-AUD-01.missing").ends_with("[baselined: audience check pending]"),
        "{stdout}"
    );
    assert!(!line("RS-AUD-02").contains("baselined"), "{stdout}");
    assert!(
        line("RS-PRM-07").contains("[STALE baseline entry"),
        "{stdout}"
    );
    assert!(
        stdout.contains("baseline: stale entry for RS-PRM-07"),
        "{stdout}"
    );
}

#[test]
fn a_reader_that_goes_away_ends_list_quietly() {
    use std::io::Read;
    // 130 KB of JSON: more than a pipe holds, so the writer is still writing when the reader closes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(["list", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn list_json_names_every_server_check_with_level_and_refs() {
    let out = cli(&["list", "--role", "server", "--json"]);
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows.len() >= 45);
    assert!(
        rows.iter()
            .all(|r| r["role"] == "server"
                && r["spec_refs"].as_array().is_some_and(|a| !a.is_empty()))
    );
}

#[test]
fn list_json_carries_each_checks_catalog_row() {
    let out = cli(&["list", "--json"]);
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rows
        .iter()
        .all(|r| r["row_text"].as_str().is_some_and(|t| !t.is_empty())
            && r["remediation"].as_str().is_some_and(|t| !t.is_empty())));
    let aud = rows
        .iter()
        .find(|r| r["id"] == "RS-AUD-01.missing")
        .expect("RS-AUD-01.missing listed");
    assert_eq!(aud["row"], "RS-AUD-01");
}

#[test]
fn explain_takes_a_row_id_or_a_check_id_in_any_case() {
    let out = cli(&["explain", "rs-aud-01"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("RS-AUD-01 — "), "{text}");
    assert!(text.contains("https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#token-handling"), "{text}");
    assert!(text.contains("RS-AUD-01.missing"), "{text}");
    assert!(text.contains("fix:"), "{text}");

    let out = cli(&["explain", "RS-AUD-01.MISSING"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("RS-AUD-01.missing — "), "{text}");
    assert!(
        text.contains("catalog:  RS-AUD-01 (catalog/server.toml)"),
        "{text}"
    );

    let out = cli(&["explain", "CL-MIX-01"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("not automated: "), "{text}");
}

#[test]
fn explain_an_unknown_check_is_a_usage_error() {
    let out = cli(&["explain", "RS-NOPE-99"]);
    assert_eq!(out.status.code(), Some(exit::USAGE_OR_HARNESS));
}

#[test]
fn an_unknown_defect_is_a_usage_error() {
    let out = cli(&["server", "--defect", "no-such-defect"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_server_command_writes_all_reports_and_exits_1_on_a_defect() {
    let dir = std::env::temp_dir().join(format!("mcp-conf-cli-{}", std::process::id()));
    let out = cli(&[
        "server",
        "--defect",
        "skip-audience-check",
        "--report-dir",
        dir.to_str().unwrap(),
        "--only",
        "RS-AUD*",
    ]);
    assert_eq!(
        out.status.code(),
        Some(exit::FAILURES),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["report.json", "report.md", "junit.xml", "report.html"] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let report = mcp_auth_reports::read_json(dir.join("report.json")).unwrap();
    assert!(report.checks.iter().all(|c| c.id.starts_with("RS-AUD")));
    assert_eq!(verdict(&report, "RS-AUD-01.other-resource"), Verdict::Fail);
}

fn suite_exe() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
}

#[tokio::test]
async fn the_reference_client_passes_every_client_check() {
    let report = client::run(&ClientOptions::bundled(None, suite_exe())).await;
    assert!(
        report.checks.len() >= 40,
        "only {} client checks",
        report.checks.len()
    );
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(exit_code(&report), exit::OK);
}

#[tokio::test]
async fn the_reference_client_passes_every_client_check_when_the_authorization_servers_play_scalekit(
) {
    let mut opts = ClientOptions::bundled(None, suite_exe());
    opts.as_persona = mcp_auth_conformance::profile::PersonaName::Scalekit.with_defaults();
    let report = client::run(&opts).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert!(report
        .run
        .notes
        .iter()
        .any(|n| n.contains("play the scalekit persona")));
}

#[tokio::test]
async fn a_client_that_exits_at_once_gets_error_on_every_refusal_check() {
    let mut opts = ClientOptions::bundled(None, suite_exe());
    opts.target = ClientTarget::Command("exit 1 #".into());
    let report = client::run(&opts).await;
    let refusals = [
        "CL-PRM-05",
        "CL-ASM-04",
        "CL-PKCE-02",
        "CL-PKCE-03",
        "CL-PKCE-09.plain-only",
        "CL-PKCE-09.no-downgrade",
        "CL-RED-03",
        "CL-MIX-02",
        "CL-MIX-03",
        "CL-TOK-03",
    ];
    for id in refusals {
        let c = report.check(id).unwrap();
        assert_eq!(c.verdict, Verdict::Error, "{id}: {}", c.message);
        assert!(
            c.message.contains("exited with code 1"),
            "{id}: {}",
            c.message
        );
    }
    assert!(report.checks.iter().all(|c| c.verdict != Verdict::Pass));
    assert_eq!(exit_code(&report), exit::FAILURES);
}

#[tokio::test]
async fn a_failing_clients_own_words_reach_the_report_redacted_and_tied_to_its_errors() {
    let mut opts = ClientOptions::bundled(None, suite_exe());
    // The client prints the context it was given (with the pre-registered secret), then gives up.
    opts.target = ClientTarget::Command(
        "sh -c 'echo \"$MCP_CONFORMANCE_CONTEXT\"; echo Unknown scenario >&2; exit 1' #".into(),
    );
    opts.scenarios =
        mcp_auth_conformance::runner::Selection::only("auth/pre-registration").unwrap();
    let report = client::run(&opts).await;
    let [run] = report.target_runs.as_slice() else {
        panic!("one target run expected: {:?}", report.target_runs);
    };
    assert_eq!(run.scenario, "auth/pre-registration");
    assert_eq!(run.exit, "exited with code 1");
    assert_eq!(run.exit_code, Some(1));
    assert!(run.output.ends_with("\nUnknown scenario"), "{}", run.output);
    assert!(run.output.contains("conformance-preregistered-client"));
    assert!(
        !run.output
            .contains(mcp_auth_conformance::client::scenarios::PRE_CLIENT_SECRET),
        "{}",
        run.output
    );
    let errors: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.verdict == Verdict::Error)
        .collect();
    assert!(!errors.is_empty());
    for c in errors {
        assert_eq!(c.scenarios, ["auth/pre-registration"], "{}", c.id);
    }
    let tke = report.check("CL-TKE-03.basic").unwrap();
    assert_eq!(tke.verdict, Verdict::Error, "{}", tke.message);
    assert!(
        tke.message
            .contains("its last output line: \"Unknown scenario\""),
        "{}",
        tke.message
    );
}

#[test]
fn the_client_command_prints_the_clients_output_under_an_error_escaped() {
    let dir = std::env::temp_dir().join(format!("mcp-conf-cli-client-{}", std::process::id()));
    let out = cli(&[
        "client",
        "--command",
        r#"sh -c 'printf "\033[31mPASS  CL-FAKE\r::error::forged\n"; echo Unknown scenario >&2; exit 1' #"#,
        "--scenario",
        "auth/metadata-default",
        "--report-dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(exit::FAILURES));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("\n      │ Unknown scenario\n"), "{stdout}");
    assert!(
        stdout.contains(r"      │ \x1b[31mPASS  CL-FAKE\r::error::forged"),
        "{stdout}"
    );
    assert!(!stdout.contains(['\x1b', '\r']), "{stdout}");
    for line in stdout.lines() {
        assert!(
            !line.starts_with("PASS  CL-FAKE") && !line.trim_start().starts_with("::error::"),
            "{line}"
        );
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("## Client output"), "{md}");
    assert!(md.contains("Unknown scenario"), "{md}");
}

#[tokio::test]
async fn a_hanging_client_is_stopped_at_its_deadline() {
    let mut opts = ClientOptions::bundled(None, suite_exe());
    opts.target = ClientTarget::Command("sleep 60 #".into());
    opts.scenarios =
        mcp_auth_conformance::runner::Selection::only("auth/resource-mismatch").unwrap();
    opts.deadline = Duration::from_millis(500);
    let started = Instant::now();
    let report = client::run(&opts).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let c = report.check("CL-PRM-05").unwrap();
    assert_eq!(c.verdict, Verdict::Error);
    assert!(c.message.contains("still running"), "{}", c.message);
}

#[tokio::test]
async fn a_client_that_skips_pkce_metadata_checks_fails_the_refusal() {
    let report = client::run(&ClientOptions::bundled(
        Some(ClientDefect::ProceedWithoutPkceMetadata),
        suite_exe(),
    ))
    .await;
    assert_eq!(verdict(&report, "CL-PKCE-02"), Verdict::Fail);
    assert_eq!(verdict(&report, "CL-PKCE-03"), Verdict::Fail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_self_test_kills_every_check_and_matches_the_expected_verdicts() {
    let runs = selftest::run_client(suite_exe()).await;
    let result = selftest::evaluate(
        mcp_auth_reports::Role::Client,
        &runs,
        &Expected::client().unwrap(),
    );
    assert_eq!(result.reference_failures, Vec::<String>::new());
    assert_eq!(result.mismatches, Vec::<String>::new());
    assert_eq!(result.unkilled, Vec::<String>::new());
    assert_eq!(result.inert_defects, Vec::<String>::new());
}

#[tokio::test]
async fn the_reference_authorization_server_passes_every_check_through_its_login_form() {
    let report = mcp_auth_conformance::authz::run(&AuthzOptions::bundled(None)).await;
    assert!(
        report.checks.len() >= 40,
        "only {} AS checks",
        report.checks.len()
    );
    assert_eq!(unexpected(&report), Vec::<String>::new());
    // The login form was really walked: the credential POST was answered 303.
    assert_eq!(verdict(&report, "AS-AZ-10"), Verdict::Pass);
    assert!(report.run.notes.iter().any(|n| n.contains("login: Form")));
    assert_eq!(exit_code(&report), exit::OK);
}

#[tokio::test]
async fn an_authorization_server_accepting_a_missing_verifier_fails_the_stolen_code_check() {
    let opts = AuthzOptions::bundled(Some(AsDefect::AcceptMissingVerifier));
    let report = mcp_auth_conformance::authz::run(&opts).await;
    assert_eq!(verdict(&report, "AS-TK-05"), Verdict::Fail);
    assert_eq!(exit_code(&report), exit::FAILURES);
}

/// The bundled reference AS spawned as an `authz --command` target, federating to the suite's IdP through the
/// env contract.
fn reference_as_command() -> AuthzOptions {
    let mut opts = AuthzOptions::bundled(None);
    opts.target = AuthzTarget::Command {
        command: format!(
            "exec '{}' --target --addr 127.0.0.1:$PORT --upstream-idp \"$MCP_CONFORMANCE_IDP_ISSUER\"",
            env!("CARGO_BIN_EXE_fake-idp")
        ),
        issuer: None,
    };
    opts.login = Some(mcp_auth_conformance::authz::login::LoginMode::Form(
        mcp_auth_conformance::authz::login::LoginScript::from_toml_str(
            mcp_auth_conformance::authz::run::REFERENCE_LOGIN,
        )
        .unwrap(),
    ));
    opts
}

#[tokio::test]
async fn the_reference_authorization_server_passes_through_the_command_env_contract_while_federating(
) {
    let report = mcp_auth_conformance::authz::run(&reference_as_command()).await;
    assert_eq!(unexpected(&report), Vec::<String>::new());
    assert_eq!(report.run.target.kind.as_str(), "command");
    // The spawned AS federated its login to the suite's IdP (the AS-FED probes saw the hop).
    assert_eq!(verdict(&report, "AS-FED-06.forged"), Verdict::Pass);
    assert_eq!(exit_code(&report), exit::OK);
}

#[tokio::test]
async fn a_command_authorization_server_that_exits_at_once_gives_errors_not_passes() {
    let mut opts = reference_as_command();
    opts.target = AuthzTarget::Command {
        command: "exit 3".into(),
        issuer: None,
    };
    let report = mcp_auth_conformance::authz::run(&opts).await;
    assert!(report.checks.iter().all(|c| c.verdict == Verdict::Error));
    assert!(report
        .check("AS-META-01")
        .unwrap()
        .message
        .contains("exited before it answered"));
    assert_eq!(exit_code(&report), exit::FAILURES);
}

#[tokio::test]
async fn an_unreachable_issuer_gives_errors_not_passes() {
    let mut opts = AuthzOptions::bundled(None);
    opts.target = AuthzTarget::Issuer("http://127.0.0.1:9/".into());
    opts.limits.timeout = Duration::from_millis(500);
    let report = mcp_auth_conformance::authz::run(&opts).await;
    assert!(report
        .checks
        .iter()
        .all(|c| c.verdict != Verdict::Pass && c.verdict != Verdict::Fail));
    assert!(report
        .check("AS-META-01")
        .unwrap()
        .message
        .contains("could not be reached"));
    assert_eq!(exit_code(&report), exit::FAILURES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authz_self_test_kills_every_check_and_matches_the_expected_verdicts() {
    let runs = selftest::run_authz().await;
    let result = selftest::evaluate(
        mcp_auth_reports::Role::Authz,
        &runs,
        &Expected::for_role(mcp_auth_reports::Role::Authz).unwrap(),
    );
    assert_eq!(result.reference_failures, Vec::<String>::new());
    assert_eq!(result.mismatches, Vec::<String>::new());
    assert_eq!(result.unkilled, Vec::<String>::new());
    assert_eq!(result.inert_defects, Vec::<String>::new());
}
