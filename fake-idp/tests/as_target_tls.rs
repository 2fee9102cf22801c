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
