//! Hostile targets against the command line: what a target sends never reaches the terminal as a line of its own
//! (no forged verdict line, no CI workflow command), and what it floods is bounded.

use std::process::Command;

use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FORGED: &str = "x\n\rPASS  RS-FAKE-01 forged\n::error::pwned\u{1b}[31m";

/// Runs the suite binary's server role against `url` and returns its stdout.
fn run_server_role(url: &str, report_dir: &std::path::Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(["server", "--url", url, "--as-addr", "127.0.0.1:0"])
        .args(["--upstream-addr", "127.0.0.1:0", "--report-dir"])
        .arg(report_dir)
        .output()
        .expect("the suite runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_cannot_forge_a_line_on_the_terminal() {
    let stub = MockServer::start().await;
    let prm = format!("{}/.well-known/oauth-protected-resource/mcp", stub.uri());
    // Its metadata names a resource and an AS made of forged lines; the checks quote both.
    Mock::given(path("/.well-known/oauth-protected-resource/mcp"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "resource": FORGED,
            "authorization_servers": [FORGED],
        })))
        .mount(&stub)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            format!("Bearer resource_metadata=\"{prm}\"").as_str(),
        ))
        .mount(&stub)
        .await;
    let dir = tempdir("forge");
    let url = format!("{}/mcp", stub.uri());
    let stdout = tokio::task::spawn_blocking(move || run_server_role(&url, &dir))
        .await
        .unwrap();
    assert!(
        stdout.contains("RS-FAKE-01 forged"),
        "the forged text is not quoted at all, so this test proves nothing:\n{stdout}"
    );
    for line in stdout.lines() {
        assert!(!line.starts_with("PASS  RS-FAKE"), "forged line: {line}");
        assert!(!line.starts_with("::error::"), "workflow command: {line}");
        assert!(!line.contains('\u{1b}'), "raw escape: {line:?}");
        assert!(!line.contains('\r'), "raw carriage return: {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_challenge_does_not_decide_the_report_size() {
    let stub = MockServer::start().await;
    let huge = format!(
        "Bearer realm=\"{}\", resource_metadata=\"http://127.0.0.1:1/prm\"",
        "x".repeat(300 * 1024)
    );
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", huge.as_str()))
        .mount(&stub)
        .await;
    let dir = tempdir("huge");
    let url = format!("{}/mcp", stub.uri());
    let report_dir = dir.clone();
    let stdout = tokio::task::spawn_blocking(move || run_server_role(&url, &report_dir))
        .await
        .unwrap();
    assert!(
        stdout.len() < 200 * 1024,
        "{} bytes of terminal output",
        stdout.len()
    );
    let total: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    // 80 checks quoting a 300 KB header made 137 MB of reports before the caps.
    assert!(total < 20 * 1024 * 1024, "{total} bytes of reports");
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mcp-auth-hostile-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
