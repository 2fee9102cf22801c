//! Refusal means a refusal was observed: against targets that never answer (a dead port, a listener that hangs,
//! a listener that drops every connection) and clients that never get through an authorization, no must-refuse
//! check passes and no transport failure is scored as a violation. Each is `ERROR`, with the reason.

use std::time::Duration;

use mcp_auth_conformance::authz::login::{LoginMode, LoginScript};
use mcp_auth_conformance::authz::run::REFERENCE_LOGIN;
use mcp_auth_conformance::authz::{AuthzOptions, AuthzTarget};
use mcp_auth_conformance::client::{self, ClientOptions, ClientTarget};
use mcp_auth_conformance::http::Limits;
use mcp_auth_conformance::server::target::TargetSpec;
use mcp_auth_conformance::server::{self, ServerOptions};
use mcp_auth_reports::{Report, Verdict};
use mcp_auth_targets::ValidationMode;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// How a target fails to answer.
#[derive(Debug, Clone, Copy)]
enum Silence {
    /// Connection refused: the port was bound, then the listener dropped.
    Dead,
    /// Accepts connections and never answers.
    Hanging,
    /// Accepts, reads the request, closes the connection.
    Dropping,
}

const SILENCES: [Silence; 3] = [Silence::Dead, Silence::Hanging, Silence::Dropping];

/// A listener on 127.0.0.1 that gives no HTTP answer; stopped when dropped.
struct SilentTarget {
    url: String,
    task: Option<JoinHandle<()>>,
}

impl Drop for SilentTarget {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

async fn silent(kind: Silence) -> SilentTarget {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = match kind {
        Silence::Dead => {
            drop(listener);
            None
        }
        Silence::Hanging => Some(tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        })),
        Silence::Dropping => Some(tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
            }
        })),
    };
    SilentTarget { url, task }
}

fn short_limits() -> Limits {
    Limits {
        timeout: Duration::from_millis(250),
        body_cap: 64 * 1024,
        record_cap: 1024,
    }
}

fn with(report: &Report, verdict: Verdict, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.verdict == verdict && !allowed(&c.id))
        .map(|c| format!("{} {}: {} {}", c.id, c.verdict, c.actual, c.message))
        .collect()
}

/// An issuer whose metadata is served (so every probe runs), with every endpoint on `endpoints`.
async fn issuer_with_endpoints_at(endpoints: &str) -> MockServer {
    let stub = MockServer::start().await;
    let issuer = stub.uri();
    let metadata = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{endpoints}/authorize"),
        "token_endpoint": format!("{endpoints}/token"),
        "registration_endpoint": format!("{endpoints}/register"),
        "revocation_endpoint": format!("{endpoints}/revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    });
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata))
        .mount(&stub)
        .await;
    stub
}

#[tokio::test]
async fn an_authorization_server_that_never_answers_at_its_endpoints_gets_no_pass_and_no_fail() {
    for kind in SILENCES {
        let target = silent(kind).await;
        let issuer = issuer_with_endpoints_at(&target.url).await;
        let mut opts = AuthzOptions::bundled(None);
        opts.target = AuthzTarget::Issuer(issuer.uri());
        opts.limits = short_limits();
        let report = mcp_auth_conformance::authz::run(&opts).await;
        // The metadata checks judge the document that was served; everything else needed an endpoint.
        let metadata = |id: &str| id.starts_with("AS-META");
        assert_eq!(
            with(&report, Verdict::Pass, metadata),
            Vec::<String>::new(),
            "{kind:?}"
        );
        assert_eq!(
            with(&report, Verdict::Fail, metadata),
            Vec::<String>::new(),
            "{kind:?}"
        );
        for id in [
            "AS-CIMD-11",
            "AS-CIMD-12",
            "AS-CIMD-17",
            "AS-DCR-01",
            "AS-DCR-02",
            "AS-TK-09",
        ] {
            let c = report.check(id).unwrap();
            assert_eq!(c.verdict, Verdict::Error, "{kind:?} {id}: {}", c.message);
        }
    }
}

/// What is decided at the token endpoint of an AS that authorizes but never answers there.
fn decided_at_the_token_endpoint(id: &str) -> bool {
    ["AS-TK-", "AS-RT-", "AS-TX-", "AS-CIMD-11", "AS-CIMD-12"]
        .iter()
        .any(|p| id.starts_with(p))
}

#[tokio::test]
async fn an_authorization_server_that_authorizes_but_hangs_at_its_token_endpoint_gets_no_token_verdict(
) {
    let target = fake_idp::AsTarget::start(fake_idp::AsTargetConfig {
        stall_path: Some("/token".into()),
        ..fake_idp::AsTargetConfig::default()
    })
    .await
    .unwrap();
    let mut opts = AuthzOptions::bundled(None);
    opts.target = AuthzTarget::Issuer(target.issuer());
    opts.login = Some(LoginMode::Form(
        LoginScript::from_toml_str(REFERENCE_LOGIN).unwrap(),
    ));
    opts.limits = short_limits();
    let report = mcp_auth_conformance::authz::run(&opts).await;
    // The authorization endpoint answered, and what it decided is judged.
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.id.starts_with("AS-AZ") && c.verdict == Verdict::Pass),
        "no authorization check was judged"
    );
    let token_verdicts: Vec<String> = report
        .checks
        .iter()
        .filter(|c| {
            decided_at_the_token_endpoint(&c.id)
                && c.verdict != Verdict::Error
                && c.verdict != Verdict::Skip
        })
        .map(|c| format!("{} {}: {} {}", c.id, c.verdict, c.actual, c.message))
        .collect();
    assert_eq!(token_verdicts, Vec::<String>::new());
    assert_eq!(
        with(&report, Verdict::Fail, |_| false),
        Vec::<String>::new()
    );
    target.shutdown().await;
}

#[tokio::test]
async fn a_server_that_never_answers_gets_no_pass_and_no_fail() {
    for kind in SILENCES {
        let target = silent(kind).await;
        let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
        opts.target = TargetSpec::Url(format!("{}/mcp", target.url));
        opts.as_addr = "127.0.0.1:0".parse().unwrap();
        opts.upstream_addr = "127.0.0.1:0".parse().unwrap();
        opts.limits = short_limits();
        let report = server::run(&opts).await;
        // RS-TLS-01 judges the URL the suite was given, not an answer.
        let tls = |id: &str| id == "RS-TLS-01";
        assert_eq!(
            with(&report, Verdict::Pass, tls),
            Vec::<String>::new(),
            "{kind:?}"
        );
        assert_eq!(
            with(&report, Verdict::Fail, tls),
            Vec::<String>::new(),
            "{kind:?}"
        );
    }
}

/// The must-refuse checks of the client role (built on `checks::refusal`).
const CLIENT_REFUSALS: [&str; 10] = [
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

fn client_opts(command: String) -> ClientOptions {
    let mut opts = ClientOptions::bundled(
        None,
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_mcp-auth-conformance")),
    );
    opts.target = ClientTarget::Command(command);
    opts.deadline = Duration::from_secs(10);
    opts
}

#[tokio::test]
async fn a_client_that_never_completes_an_authorization_gets_error_on_every_refusal_check() {
    let discovery_only = format!(
        "python3 {}/tests/clients/discovery_only.py",
        env!("CARGO_MANIFEST_DIR")
    );
    for command in [
        "exit 1 #".to_owned(),
        "sleep 60 #".to_owned(),
        discovery_only,
    ] {
        let mut opts = client_opts(command.clone());
        if command.starts_with("sleep") {
            opts.deadline = Duration::from_millis(500);
        }
        let report = client::run(&opts).await;
        for id in CLIENT_REFUSALS {
            let c = report.check(id).unwrap();
            assert_eq!(c.verdict, Verdict::Error, "{command}: {id}: {}", c.message);
        }
    }
}

#[tokio::test]
async fn a_client_that_stops_after_discovery_is_told_it_never_completed_the_baseline() {
    let report = client::run(&client_opts(format!(
        "python3 {}/tests/clients/discovery_only.py",
        env!("CARGO_MANIFEST_DIR")
    )))
    .await;
    // It fetched what it must reject in these worlds, so only the baseline rule keeps them from passing.
    for id in [
        "CL-PRM-05",
        "CL-ASM-04",
        "CL-PKCE-02",
        "CL-PKCE-03",
        "CL-PKCE-09.plain-only",
    ] {
        let c = report.check(id).unwrap();
        assert_eq!(c.verdict, Verdict::Error, "{id}: {}", c.message);
        assert!(
            c.message
                .contains("never completed the baseline world auth/metadata-default"),
            "{id}: {}",
            c.message
        );
        assert!(
            c.scenarios.iter().any(|s| s == "auth/metadata-default"),
            "{id}"
        );
    }
}
