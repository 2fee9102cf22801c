//! The reference To-Do server under `--tls-profile strict`: one behaviour per test.

use std::time::Duration;

use fake_idp::tls::TestPki;
use mcp_auth_targets::{ServerDefect, TodoServer, TodoServerConfig};

async fn start(pki: &TestPki, defect: Option<ServerDefect>) -> mcp_auth_targets::RunningTodoServer {
    let mut config = TodoServerConfig::new("https://127.0.0.1:1", "https://127.0.0.1:1/jwks");
    config.tls = Some(pki.leaf(&["todo.conformance.test"]).unwrap());
    config.defect = defect;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    TodoServer::start(config, listener).await.unwrap()
}

fn client(pki: &TestPki) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn given_a_certificate_the_server_answers_as_an_https_resource_over_tls() {
    let pki = TestPki::generate().unwrap();
    let server = start(&pki, None).await;
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    let r = client(&pki)
        .post(server.url())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    server.shutdown().await;
}

#[tokio::test]
async fn the_plain_http_under_tls_defect_ignores_the_certificate() {
    let pki = TestPki::generate().unwrap();
    let server = start(&pki, Some(ServerDefect::PlainHttpUnderTls)).await;
    assert!(
        server.url().starts_with("http://127.0.0.1:"),
        "{}",
        server.url()
    );
    let r = reqwest::Client::new()
        .post(server.url())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    server.shutdown().await;
}
