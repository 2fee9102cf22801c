//! Wiring a running server: `server --url` prints what the server must trust before the run (and, with
//! `--print-trust-env`, as shell exports), `--wait-for-target` waits for it boundedly, and the `fake-idp` command is
//! a binary of this package (installed with it).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_auth_reports::Verdict;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-wiring-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_dead_url_with_wait_for_target_prints_the_settings_then_gives_up_with_only_errors() {
    let dir = scratch("dead");
    let (as_port, upstream_port, target_port) = (free_port(), free_port(), free_port());
    let url = format!("http://127.0.0.1:{target_port}/mcp");
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(["server", "--url", &url, "--wait-for-target=1"])
        .args(["--as-addr", &format!("127.0.0.1:{as_port}")])
        .args(["--upstream-addr", &format!("127.0.0.1:{upstream_port}")])
        .arg("--report-dir")
        .arg(dir.join("report"))
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    assert!(started.elapsed() < Duration::from_secs(60));
    let settings = stdout.split("\n\n").next().unwrap();
    for line in [
        format!("issuer (iss)               http://127.0.0.1:{as_port}"),
        format!("JWKS (RS256 keys)          http://127.0.0.1:{as_port}/jwks"),
        "introspection client       todo-server / todo-server-test-secret".to_owned(),
        format!("resource (aud)             {url}"),
        format!("upstream API (OBO)         http://127.0.0.1:{upstream_port}/api"),
        format!("Waiting up to 1 s for {url} to answer"),
    ] {
        assert!(settings.contains(&line), "`{line}` not in: {settings}");
    }
    let gave_up = format!("{url} did not answer within 1s (--wait-for-target)");
    assert!(
        stdout.contains(&format!("note: the target could not be reached: {gave_up}")),
        "{stdout}"
    );
    let report = mcp_auth_reports::read_json(dir.join("report/report.json")).unwrap();
    assert!(!report.checks.is_empty());
    for c in &report.checks {
        assert_eq!(c.verdict, Verdict::Error, "{} {}", c.id, c.message);
        assert!(c.message.contains(&gave_up), "{}: {}", c.id, c.message);
    }
}

#[test]
fn print_trust_env_prints_the_env_contract_as_exports_and_runs_nothing() {
    let dir = scratch("env");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args([
            "server",
            "--url",
            "http://127.0.0.1:8080/mcp",
            "--print-trust-env",
        ])
        .args([
            "--as-addr",
            "127.0.0.1:9400",
            "--upstream-addr",
            "127.0.0.1:9401",
        ])
        .arg("--report-dir")
        .arg(dir.join("report"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.lines().all(|l| l.starts_with("export ")), "{stdout}");
    for line in [
        "export MCP_CONFORMANCE_ISSUER='http://127.0.0.1:9400'",
        "export MCP_CONFORMANCE_RESOURCE='http://127.0.0.1:8080/mcp'",
        "export MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET='todo-server-test-secret'",
        "export PORT='8080'",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "`{line}` not in: {stdout}"
        );
    }
    assert!(!dir.join("report").exists(), "a run started");
}

#[test]
fn the_fake_idp_command_is_a_binary_of_the_suite_package_and_serves_the_fake_as() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-idp"))
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(30));
    let jwks = rx.recv_timeout(Duration::from_secs(5));
    child.kill().unwrap();
    child.wait().unwrap();
    let first = first.expect("fake-idp printed nothing");
    let issuer = first
        .strip_prefix("issuer:")
        .map(str::trim)
        .unwrap_or_else(|| panic!("not the issuer line: {first}"));
    assert!(issuer.starts_with("http://127.0.0.1:"), "{first}");
    assert_eq!(
        jwks.expect("no jwks_uri line"),
        format!("jwks_uri:             {issuer}/jwks")
    );
}

#[tokio::test]
async fn cert_out_writes_a_certificate_of_the_runs_ca_that_serves_https_and_a_key_only_its_owner_reads(
) {
    let dir = scratch("cert-out");
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args([
            "authz",
            "--tls-profile",
            "strict",
            "--only",
            "AS-TLS-01",
            "--quiet",
        ])
        .args([
            "--ca-out",
            "ca.pem",
            "--cert-out",
            "cert.pem",
            "--key-out",
            "key.pem",
        ])
        .args(["--report-dir", "report"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let (ca, cert, key) = (read("ca.pem"), read("cert.pem"), read("key.pem"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(!read("report/report.json").contains(&key_body[..40]));

    // A server presenting the written certificate is trusted by a client that trusts only the written CA.
    let served = fake_idp::tls::ServerCert::from_pem(&cert, &key).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls = fake_idp::tls::TlsListener::observed(listener, served.acceptor().unwrap(), None);
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move { axum::serve(tls, app).await });
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let body = client
        .get(format!("https://localhost:{port}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "hello");
}
