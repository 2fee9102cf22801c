//! The fake world over real loopback HTTP: one behaviour per test.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fake_idp::danger::{HmacKeyForm, TokenMutation};
use fake_idp::{
    Audience, FakeIdp, FakeIdpError, FixedClock, RegisteredClient, SigningKey, TokenSpec, Users,
};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{json, Value};
use url::Url;

mod common;
use common::{challenge, http};

const RESOURCE: &str = "http://127.0.0.1:3000/mcp";
const REDIRECT: &str = "http://127.0.0.1:45678/callback";
const PUBLIC_CLIENT: &str = "conformance-client";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn world() -> FakeIdp {
    FakeIdp::builder().seed(1).start().await.unwrap()
}

/// Calls `/authorize` with a valid PKCE request plus `extra` overrides (empty value = drop).
async fn authorize(world: &FakeIdp, extra: &[(&str, &str)]) -> reqwest::Response {
    let challenge = challenge(VERIFIER);
    let mut params: HashMap<&str, &str> = HashMap::from([
        ("response_type", "code"),
        ("client_id", PUBLIC_CLIENT),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("resource", RESOURCE),
        ("scope", "todo:read todo:write"),
        ("state", "xyz"),
    ]);
    for (k, v) in extra {
        params.insert(k, v);
    }
    params.retain(|_, v| !v.is_empty());
    http()
        .get(world.authorization_endpoint())
        .query(&params)
        .send()
        .await
        .unwrap()
}

fn location_params(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()["location"].to_str().unwrap();
    Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn code_for(world: &FakeIdp, extra: &[(&str, &str)]) -> String {
    location_params(&authorize(world, extra).await)["code"].clone()
}

async fn post_token(world: &FakeIdp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = http()
        .post(world.token_endpoint())
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    if status != StatusCode::OK {
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    (status, response.json().await.unwrap())
}

async fn exchange(world: &FakeIdp, code: &str, verifier: &str) -> (StatusCode, Value) {
    post_token(
        world,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", PUBLIC_CLIENT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

async fn refresh(world: &FakeIdp, token: &str) -> (StatusCode, Value) {
    post_token(
        world,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", PUBLIC_CLIENT),
        ],
    )
    .await
}

async fn introspect(world: &FakeIdp, token: &str) -> Value {
    let (id, secret) = world.introspection_client();
    let response = http()
        .post(world.introspection_url())
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn alice_spec() -> TokenSpec {
    TokenSpec::for_user(Users::fixture().get("alice").unwrap(), RESOURCE, "client-1")
}

#[tokio::test]
async fn metadata_document_advertises_every_endpoint_and_s256() {
    let world = world().await;
    let response = http()
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            world.issuer()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["issuer"], world.issuer());
    assert_eq!(doc["jwks_uri"], world.jwks_uri());
    assert_eq!(doc["introspection_endpoint"], world.introspection_url());
    assert_eq!(doc["revocation_endpoint"], world.revocation_url());
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["client_id_metadata_document_supported"], true);
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
}

#[tokio::test]
async fn openid_configuration_adds_oidc_members() {
    let world = world().await;
    let doc: Value = http()
        .get(format!(
            "{}/.well-known/openid-configuration",
            world.issuer()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
}

#[tokio::test]
async fn minted_token_verifies_against_the_served_jwks_with_every_claim() {
    let world = world().await;
    let token = world.minter().mint(&alice_spec());
    let jwks: jsonwebtoken::jwk::JwkSet = http()
        .get(world.jwks_uri())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[RESOURCE]);
    validation.set_issuer(&[world.issuer()]);
    let claims = decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims;
    for name in [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "scope",
        "roles",
        "permissions",
    ] {
        assert!(claims.get(name).is_some(), "missing claim {name}");
    }
    assert_eq!(claims["scope"], "todo:read todo:write");
    assert_eq!(claims["roles"], json!(["full_access"]));
}

#[tokio::test]
async fn authorization_code_flow_with_pkce_issues_an_audience_bound_token() {
    let world = world().await;
    let params = location_params(&authorize(&world, &[]).await);
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], world.issuer());
    let (status, body) = exchange(&world, &params["code"], VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].is_string());
    let claims = introspect(&world, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["active"], true);
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], PUBLIC_CLIENT);
    assert_eq!(claims["scope"], "todo:read todo:write");
    assert_eq!(world.events().token_requests(), 1);
}

#[tokio::test]
async fn login_hint_selects_bob_whose_scope_is_read_only() {
    let world = world().await;
    let code = code_for(&world, &[("login_hint", "bob")]).await;
    let (_, body) = exchange(&world, &code, VERIFIER).await;
    assert_eq!(body["scope"], "todo:read");
    let claims = introspect(&world, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["roles"], json!(["read_only"]));
}

#[tokio::test]
async fn openid_scope_adds_an_id_token_typed_jwt_for_the_client() {
    let world = world().await;
    let code = code_for(&world, &[("scope", "openid todo:read")]).await;
    let (_, body) = exchange(&world, &code, VERIFIER).await;
    let id_token = body["id_token"].as_str().unwrap();
    assert_eq!(decode_header(id_token).unwrap().typ.as_deref(), Some("JWT"));
    assert_eq!(introspect(&world, id_token).await, json!({"active": false}));
}

#[rstest]
#[case::missing_verifier("")]
#[case::wrong_verifier("wrong-verifier-wrong-verifier-wrong-verifier-0")]
#[tokio::test]
async fn bad_code_verifier_is_invalid_grant(#[case] verifier: &str) {
    let world = world().await;
    let code = code_for(&world, &[]).await;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", PUBLIC_CLIENT),
    ];
    if !verifier.is_empty() {
        form.push(("code_verifier", verifier));
    }
    let (status, body) = post_token(&world, &form).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn authorization_code_replay_is_refused() {
    let world = world().await;
    let code = code_for(&world, &[]).await;
    assert_eq!(exchange(&world, &code, VERIFIER).await.0, StatusCode::OK);
    let (status, body) = exchange(&world, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[rstest]
#[case::plain_method(&[("code_challenge_method", "plain")], "invalid_request")]
#[case::no_challenge(&[("code_challenge", ""), ("code_challenge_method", "")], "invalid_request")]
#[case::token_response_type(&[("response_type", "token")], "unsupported_response_type")]
#[tokio::test]
async fn invalid_authorization_request_redirects_with_error(
    #[case] extra: &[(&str, &str)],
    #[case] error: &str,
) {
    let world = world().await;
    let params = location_params(&authorize(&world, extra).await);
    assert_eq!(params["error"], error);
    assert_eq!(params["state"], "xyz");
    assert!(!params.contains_key("code"));
}

#[rstest]
#[case::unregistered_redirect(&[("redirect_uri", "https://evil.example/cb")])]
#[case::unknown_client(&[("client_id", "nobody")])]
#[tokio::test]
async fn bad_client_or_redirect_is_a_400_page_not_a_redirect(#[case] extra: &[(&str, &str)]) {
    let world = world().await;
    let response = authorize(&world, extra).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stops_working() {
    let world = world().await;
    let code = code_for(&world, &[]).await;
    let (_, first) = exchange(&world, &code, VERIFIER).await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (status, second) = refresh(&world, rt1).await;
    assert_eq!(status, StatusCode::OK);
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    let claims = introspect(&world, second["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(refresh(&world, rt1).await.1["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_token_replay_revokes_the_whole_family() {
    let world = world().await;
    let code = code_for(&world, &[]).await;
    let (_, first) = exchange(&world, &code, VERIFIER).await;
    let rt1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (_, second) = refresh(&world, &rt1).await;
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_eq!(refresh(&world, &rt1).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = refresh(&world, rt2).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn introspection_reports_a_foreign_audience_without_judging_it() {
    let world = world().await;
    let token = world.forge().forge(
        &alice_spec(),
        &TokenMutation::Audience(Audience::One("https://other.example/mcp".into())),
    );
    let claims = introspect(&world, &token).await;
    assert_eq!(claims["active"], true);
    assert_eq!(claims["aud"], "https://other.example/mcp");
    assert_eq!(claims["token_type"], "Bearer");
    assert_eq!(world.events().introspection_count(), 1);
}

#[rstest]
#[case::expired(TokenMutation::Expired)]
#[case::not_yet_valid(TokenMutation::NotYetValid)]
#[case::no_exp(TokenMutation::NoExp)]
#[case::attacker_issuer(TokenMutation::Issuer("https://attacker.example".into()))]
#[case::bit_flip(TokenMutation::SignatureBitFlip)]
#[case::tampered(TokenMutation::TamperedPayload { claims_patch: json!({"sub": "bob"}) })]
#[case::alg_none(TokenMutation::AlgNone("none".into()))]
#[case::hs256_pem(TokenMutation::Hs256WithPublicKey(HmacKeyForm::Pem))]
#[case::attacker_key_real_kid(TokenMutation::AttackerKeyRealKid)]
#[case::unknown_kid(TokenMutation::UnknownKid)]
#[case::embedded_jwk(TokenMutation::EmbeddedJwk)]
#[case::id_token_typ(TokenMutation::Typ(Some("JWT".into())))]
#[case::random(TokenMutation::RandomString)]
#[case::truncated(TokenMutation::Truncated)]
#[case::garbled(TokenMutation::Garbled)]
#[tokio::test]
async fn introspection_of_a_forged_token_is_inactive(#[case] mutation: TokenMutation) {
    let world = world().await;
    let token = world.forge().forge(&alice_spec(), &mutation);
    assert_eq!(introspect(&world, &token).await, json!({"active": false}));
}

#[tokio::test]
async fn introspection_uses_the_injected_clock() {
    let world = FakeIdp::builder()
        .clock(Arc::new(FixedClock(1_000_000)))
        .start()
        .await
        .unwrap();
    let mut spec = alice_spec();
    spec.lifetime_secs = 10;
    let token = world.minter().mint(&spec);
    assert_eq!(introspect(&world, &token).await["exp"], 1_000_010);
}

#[tokio::test]
async fn revoked_token_introspects_inactive() {
    let world = world().await;
    let token = world.minter().mint(&alice_spec());
    assert_eq!(introspect(&world, &token).await["active"], true);
    world.revoke(&token);
    assert_eq!(introspect(&world, &token).await, json!({"active": false}));
}

#[tokio::test]
async fn revocation_endpoint_revokes_an_access_token() {
    let world = world().await;
    let token = world.minter().mint(&alice_spec());
    let response = http()
        .post(world.revocation_url())
        .form(&[("token", token.as_str()), ("client_id", PUBLIC_CLIENT)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(introspect(&world, &token).await["active"], false);
}

#[rstest]
#[case::no_credentials(None)]
#[case::wrong_secret(Some(("todo-server", "wrong")))]
#[case::public_client(Some(("conformance-client", "")))]
#[tokio::test]
async fn introspection_requires_confidential_client_auth(#[case] creds: Option<(&str, &str)>) {
    let world = world().await;
    let token = world.minter().mint(&alice_spec());
    let mut request = http()
        .post(world.introspection_url())
        .form(&[("token", token.as_str())]);
    if let Some((id, secret)) = creds {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(world.events().introspection_count(), 1);
}

#[tokio::test]
async fn client_credentials_grant_serves_the_introspection_client() {
    let world = world().await;
    let (id, secret) = world.introspection_client();
    let body: Value = http()
        .post(world.token_endpoint())
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("resource", RESOURCE)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = introspect(&world, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sub"], "todo-server");
    assert_eq!(claims["aud"], RESOURCE);
}

#[tokio::test]
async fn userinfo_names_the_token_subject() {
    let world = world().await;
    let token = world.minter().mint(&alice_spec());
    let body: Value = http()
        .get(format!("{}/userinfo", world.issuer()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"sub": "alice", "name": "alice"}));
}

fn cimd_doc(client_id: &str) -> Value {
    json!({"client_id": client_id, "client_name": "Agent", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"})
}

#[tokio::test]
async fn cimd_document_is_fetched_and_the_flow_completes() {
    let world = world().await;
    let client_id = world.cimd_client_id("agent.json");
    world.cimd_put("agent.json", cimd_doc(&client_id));
    let params = location_params(&authorize(&world, &[("client_id", &client_id)]).await);
    assert_eq!(
        world.events().cimd_fetches(),
        std::slice::from_ref(&client_id)
    );
    let (status, body) = post_token(
        &world,
        &[
            ("grant_type", "authorization_code"),
            ("code", &params["code"]),
            ("redirect_uri", REDIRECT),
            ("client_id", &client_id),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = introspect(&world, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["client_id"], client_id);
}

#[tokio::test]
async fn cimd_client_id_mismatch_is_refused() {
    let world = world().await;
    let client_id = world.cimd_client_id("agent.json");
    world.cimd_put(
        "agent.json",
        cimd_doc("https://client.conformance.test/other.json"),
    );
    let response = authorize(&world, &[("client_id", &client_id)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("does not equal"));
}

#[tokio::test]
async fn cimd_on_a_foreign_host_is_refused_without_fetching() {
    let world = world().await;
    let response = authorize(&world, &[("client_id", "https://evil.example/agent.json")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("refusing to fetch"));
    assert!(world.events().cimd_fetches().is_empty());
}

#[tokio::test]
async fn dynamic_registration_yields_a_usable_public_client() {
    let world = world().await;
    let response = http()
        .post(world.registration_endpoint())
        .json(&json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert!(body.get("client_secret").is_none());
    let client_id = body["client_id"].as_str().unwrap();
    let response = authorize(&world, &[("client_id", client_id)]).await;
    assert!(location_params(&response).contains_key("code"));
}

#[tokio::test]
async fn dynamic_registration_refuses_remote_http_redirects() {
    let world = world().await;
    let response = http()
        .post(world.registration_endpoint())
        .json(&json!({"redirect_uris": ["http://app.example/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_redirect_uri");
}

#[tokio::test]
async fn attacker_listener_serves_and_records_jku_and_x5u_fetches() {
    let world = world().await;
    let events = world.events();
    assert!(!events.wait_for_attacker_fetch(Duration::ZERO).await);
    let jwks: Value = http()
        .get(world.attacker_jku_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks, fake_idp::danger::attacker_jwks());
    let cert = http().get(world.attacker_x5u_url()).send().await.unwrap();
    assert_eq!(
        cert.headers()["content-type"],
        "application/pem-certificate-chain"
    );
    assert!(cert.text().await.unwrap().contains("BEGIN CERTIFICATE"));
    assert!(events.wait_for_attacker_fetch(Duration::from_secs(5)).await);
    assert_eq!(events.attacker_fetches(), ["/jwks.json", "/attacker.pem"]);
}

#[tokio::test]
async fn a_second_world_with_the_attacker_key_serves_its_own_jwks() {
    let rogue = FakeIdp::builder()
        .signing_key(SigningKey::attacker_key())
        .start()
        .await
        .unwrap();
    let jwks: Value = http()
        .get(rogue.jwks_uri())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "attacker-key-1");
}

#[tokio::test]
async fn binding_a_taken_port_is_a_bind_error() {
    let first = world().await;
    let second = FakeIdp::builder().bind(first.addr()).start().await;
    assert!(matches!(second, Err(FakeIdpError::Bind(_))));
    first.shutdown().await;
}

#[tokio::test]
async fn non_loopback_address_is_refused() {
    let result = FakeIdp::builder()
        .bind("0.0.0.0:0".parse().unwrap())
        .start()
        .await;
    assert!(matches!(result, Err(FakeIdpError::NotLoopback(_))));
}

#[tokio::test]
async fn extra_preregistered_client_can_authorize() {
    let world = FakeIdp::builder()
        .client(RegisteredClient::public(
            "extra",
            vec!["https://app.example/cb".into()],
        ))
        .start()
        .await
        .unwrap();
    let response = authorize(
        &world,
        &[
            ("client_id", "extra"),
            ("redirect_uri", "https://app.example/cb"),
        ],
    )
    .await;
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with("https://app.example/cb?code="));
}

#[tokio::test]
async fn shutdown_stops_the_listener() {
    let world = world().await;
    let url = world.jwks_uri();
    world.shutdown().await;
    assert!(http().get(url).send().await.is_err());
}
