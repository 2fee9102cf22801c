//! AS personas over real loopback HTTP: where each persona serves its metadata and keys, and what its issued
//! tokens say.

use fake_idp::{FakeIdp, Persona, ScalekitIssuer};
use reqwest::StatusCode;
use serde_json::Value;

mod common;
use common::http;

async fn world(persona: Persona) -> FakeIdp {
    FakeIdp::builder()
        .seed(1)
        .persona(persona)
        .start()
        .await
        .unwrap()
}

async fn get_json(url: &str) -> Value {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    response.json().await.unwrap()
}

fn scalekit() -> Persona {
    Persona::Scalekit {
        resource_id: "res_todo".into(),
        issuer_form: ScalekitIssuer::Environment,
    }
}

/// Keycloak with realm `story` and no audience mapper.
fn keycloak() -> Persona {
    Persona::Keycloak {
        realm: "story".into(),
        audience: None,
    }
}

#[tokio::test]
async fn scalekit_serves_resource_scoped_metadata_whose_issuer_is_the_resource_as() {
    let w = world(scalekit()).await;
    let root = w.root();
    let doc = get_json(&format!(
        "{root}/.well-known/oauth-authorization-server/resources/res_todo"
    ))
    .await;
    assert_eq!(doc["issuer"], format!("{root}/resources/res_todo"));
    assert_eq!(doc["jwks_uri"], format!("{root}/keys"));
    assert_eq!(doc["token_endpoint"], format!("{root}/token"));
    assert_eq!(
        w.metadata_url(),
        format!("{root}/.well-known/oauth-authorization-server/resources/res_todo")
    );
    w.shutdown().await;
}

#[tokio::test]
async fn scalekit_serves_its_keys_at_keys_and_still_at_jwks() {
    let w = world(scalekit()).await;
    let keys = get_json(&w.jwks_uri()).await;
    assert!(w.jwks_uri().ends_with("/keys"));
    assert_eq!(keys, w.public_jwks());
    assert_eq!(get_json(&format!("{}/jwks", w.root())).await, keys);
    w.shutdown().await;
}

#[tokio::test]
async fn auth0_discovery_names_the_slash_terminated_issuer() {
    let w = world(Persona::Auth0 { audience: None }).await;
    let root = w.root();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = get_json(&format!("{root}{path}")).await;
        assert_eq!(doc["issuer"], format!("{root}/"), "{path}");
        assert_eq!(
            doc["jwks_uri"],
            format!("{root}/.well-known/jwks.json"),
            "{path}"
        );
    }
    assert_eq!(w.issuer(), format!("{root}/"));
    w.shutdown().await;
}

#[tokio::test]
async fn keycloak_serves_realm_discovery_and_the_path_inserted_rfc_8414_form() {
    let w = world(keycloak()).await;
    let root = w.root();
    let realm = format!("{root}/realms/story");
    for path in [
        "/realms/story/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/realms/story",
    ] {
        let doc = get_json(&format!("{root}{path}")).await;
        assert_eq!(doc["issuer"], realm, "{path}");
        assert_eq!(
            doc["jwks_uri"],
            format!("{realm}/protocol/openid-connect/certs"),
            "{path}"
        );
    }
    assert_eq!(get_json(&w.jwks_uri()).await, w.public_jwks());
    w.shutdown().await;
}

#[tokio::test]
async fn a_scalekit_client_credentials_token_names_the_resource_id_whatever_resource_was_asked() {
    let w = world(scalekit()).await;
    let (id, secret) = w.introspection_client();
    let response = http()
        .post(w.token_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", "http://127.0.0.1:8080/mcp"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], serde_json::json!(["res_todo"]));
    assert_eq!(claims["iss"], w.root());
    w.shutdown().await;
}

#[tokio::test]
async fn a_keycloak_exchanged_token_carries_exactly_the_granted_scope() {
    // Keycloak's scope form adds `openid` to user tokens; a token exchange grants what the actor asked for.
    let w = world(keycloak()).await;
    let mcp = "http://127.0.0.1:3000/mcp";
    let (actor, secret) = w.introspection_client();
    w.register_actor_resource(&actor, mcp);
    let alice = fake_idp::Users::fixture();
    let subject = w.minter().mint(&fake_idp::TokenSpec::for_user(
        alice.get("alice").unwrap(),
        mcp,
        "conformance-client",
    ));
    let response = http()
        .post(w.token_endpoint())
        .basic_auth(actor, Some(secret))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", subject.as_str()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:access_token",
            ),
            ("audience", "https://upstream.conformance.test/api"),
            ("scope", "todo:read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let claims = payload(body["access_token"].as_str().unwrap());
    assert_eq!(claims["scope"], "todo:read");
    assert_eq!(claims["iss"], format!("{}/realms/story", w.root()));
    w.shutdown().await;
}

fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}
