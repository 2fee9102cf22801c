//! The client-role world over real TLS on loopback (`--tls-profile strict`): one behaviour per test.

use std::sync::Arc;
use std::time::Duration;

use fake_idp::tls::TestPki;
use fake_idp::{BadCertificate, ClientWorld, Origin, WorldConfig, WorldError};
use reqwest::{Client, StatusCode};

fn tls_world(pki: &Arc<TestPki>, bad: Option<(Origin, BadCertificate)>) -> WorldConfig {
    WorldConfig {
        tls: Some(pki.clone()),
        bad_certificate: bad,
        ..WorldConfig::default()
    }
}

/// A client that trusts the run's test CA and nothing else.
fn checking_client(pki: &TestPki) -> Client {
    Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem().as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_tls_world_serves_every_origin_over_https_to_a_client_trusting_the_test_ca() {
    let pki = Arc::new(TestPki::generate().unwrap());
    let world = ClientWorld::start(tls_world(&pki, None)).await.unwrap();
    assert!(world.mcp_url().starts_with("https://127.0.0.1:"));
    assert!(world.issuer(0).starts_with("https://127.0.0.1:"));
    let c = checking_client(&pki);
    let r = c.post(world.mcp_url()).body("{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let metadata = format!("{}/.well-known/oauth-authorization-server", world.issuer(0));
    let doc: serde_json::Value = c.get(metadata).send().await.unwrap().json().await.unwrap();
    assert!(doc["token_endpoint"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    assert!(world.tls_refusals().is_empty());
    world.shutdown().await;
}

#[tokio::test]
async fn an_untrusted_as_certificate_is_refused_and_the_refusal_is_recorded_with_no_request() {
    let pki = Arc::new(TestPki::generate().unwrap());
    let bad = Some((Origin::As(0), BadCertificate::Untrusted));
    let world = ClientWorld::start(tls_world(&pki, bad)).await.unwrap();
    let c = checking_client(&pki);
    // The MCP origin is honest…
    let r = c.post(world.mcp_url()).body("{}").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // …the AS is not: the handshake fails and nothing reaches its handlers.
    let metadata = format!("{}/.well-known/oauth-authorization-server", world.issuer(0));
    assert!(c.get(metadata).send().await.is_err());
    assert!(
        world
            .wait_for_tls_refusal(Origin::As(0), Duration::from_secs(5))
            .await
    );
    assert!(world.log().iter().all(|e| e.origin == Origin::Mcp));
    world.shutdown().await;
}

#[tokio::test]
async fn a_wrong_host_mcp_certificate_is_refused_by_a_client_checking_host_names() {
    let pki = Arc::new(TestPki::generate().unwrap());
    let bad = Some((Origin::Mcp, BadCertificate::WrongHost));
    let world = ClientWorld::start(tls_world(&pki, bad)).await.unwrap();
    assert!(checking_client(&pki)
        .post(world.mcp_url())
        .body("{}")
        .send()
        .await
        .is_err());
    assert!(
        world
            .wait_for_tls_refusal(Origin::Mcp, Duration::from_secs(5))
            .await
    );
    assert!(world.log().is_empty());
    world.shutdown().await;
}

#[tokio::test]
async fn a_client_accepting_any_certificate_reaches_the_bad_origin_and_is_logged() {
    let pki = Arc::new(TestPki::generate().unwrap());
    let bad = Some((Origin::Mcp, BadCertificate::Untrusted));
    let world = ClientWorld::start(tls_world(&pki, bad)).await.unwrap();
    let careless = Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let r = careless
        .post(world.mcp_url())
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(world.log().len(), 1);
    assert!(world.tls_refusals().is_empty());
    world.shutdown().await;
}

#[tokio::test]
async fn a_bad_certificate_without_tls_is_a_configuration_error() {
    let config = WorldConfig {
        bad_certificate: Some((Origin::Mcp, BadCertificate::WrongHost)),
        ..WorldConfig::default()
    };
    assert!(matches!(
        ClientWorld::start(config).await,
        Err(WorldError::Config(_))
    ));
}
