//! The reference AS under `--tls-profile strict`: one behaviour per test.

use std::time::Duration;

use fake_idp::tls::TestPki;
use fake_idp::{AsDefect, AsTarget, AsTargetConfig};
use serde_json::Value;

fn client(pki: &TestPki) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem().as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn metadata(pki: &TestPki, defect: Option<AsDefect>) -> (String, Value) {
    let target = AsTarget::start(AsTargetConfig {
        defect,
        tls: Some(pki.leaf(&["as.conformance.test"]).unwrap()),
        ..AsTargetConfig::default()
    })
    .await
    .unwrap();
    let issuer = target.issuer();
    let doc = client(pki)
        .get(format!("{issuer}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    target.shutdown().await;
    (issuer, doc)
}

fn endpoints(doc: &Value) -> Vec<(String, String)> {
    doc.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.ends_with("_endpoint") || *k == "jwks_uri")
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn with_a_certificate_the_reference_as_is_served_and_advertised_over_https_only() {
    let pki = TestPki::generate().unwrap();
    let (issuer, doc) = metadata(&pki, None).await;
    assert!(issuer.starts_with("https://127.0.0.1:"), "{issuer}");
    assert_eq!(doc["issuer"], issuer.as_str());
    for (k, v) in endpoints(&doc) {
        assert!(v.starts_with("https://"), "{k} = {v}");
    }
}

#[tokio::test]
async fn the_plain_http_token_endpoint_defect_advertises_and_serves_token_over_http() {
    let pki = TestPki::generate().unwrap();
    let (_, doc) = metadata(&pki, Some(AsDefect::PlainHttpTokenEndpoint)).await;
    let token = doc["token_endpoint"].as_str().unwrap();
    assert!(token.starts_with("http://127.0.0.1:"), "{token}");
    for (k, v) in endpoints(&doc)
        .into_iter()
        .filter(|(k, _)| k != "token_endpoint")
    {
        assert!(v.starts_with("https://"), "{k} = {v}");
    }
}

/// Serves a valid client metadata document for `https://client.conformance.test:<port>/c.json` over TLS with
/// `cert`, counting the requests that reach it (a refused handshake reaches nothing).
async fn tls_document_host(
    cert: &fake_idp::tls::ServerCert,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client_id = format!(
        "https://client.conformance.test:{}/c.json",
        listener.local_addr().unwrap().port()
    );
    let hits = Arc::new(AtomicUsize::new(0));
    let doc = serde_json::json!({
        "client_id": client_id,
        "redirect_uris": ["http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none",
    });
    let counted = hits.clone();
    let router = axum::Router::new().route(
        "/c.json",
        axum::routing::get(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    let listener = fake_idp::tls::AnyListener::new(listener, Some(cert.acceptor().unwrap()));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (client_id, hits)
}

/// `GET /authorize` for the CIMD client `client_id`: the status (302 with a code when the document was
/// fetched and valid; auto-approved login).
async fn authorize_cimd(pki: &TestPki, issuer: &str, client_id: &str) -> reqwest::StatusCode {
    use base64::Engine;
    use sha2::Digest;
    let verifier = "a-verifier-of-at-least-forty-three-characters-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem().as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("{issuer}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", "http://127.0.0.1/callback"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn with_a_cimd_ca_the_reference_as_fetches_client_metadata_over_https() {
    let pki = TestPki::generate().unwrap();
    let (client_id, hits) =
        tls_document_host(&pki.leaf(&["client.conformance.test"]).unwrap()).await;
    let target = AsTarget::start(AsTargetConfig {
        login: fake_idp::LoginUi::Auto,
        tls: Some(pki.leaf(&["as.conformance.test"]).unwrap()),
        cimd_ca: Some(pki.ca_pem().to_owned()),
        ..AsTargetConfig::default()
    })
    .await
    .unwrap();
    let status = authorize_cimd(&pki, &target.issuer(), &client_id).await;
    assert_eq!(status, reqwest::StatusCode::FOUND);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    target.shutdown().await;
}

#[tokio::test]
async fn without_a_cimd_ca_the_reference_as_fetches_over_plain_http_which_a_tls_host_refuses() {
    let pki = TestPki::generate().unwrap();
    let (client_id, hits) =
        tls_document_host(&pki.leaf(&["client.conformance.test"]).unwrap()).await;
    let target = AsTarget::start(AsTargetConfig {
        login: fake_idp::LoginUi::Auto,
        tls: Some(pki.leaf(&["as.conformance.test"]).unwrap()),
        ..AsTargetConfig::default()
    })
    .await
    .unwrap();
    let status = authorize_cimd(&pki, &target.issuer(), &client_id).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    target.shutdown().await;
}
