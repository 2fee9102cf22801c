//! The 2025-03-26 shape of the client-role world: the authorization server on the MCP origin, found through
//! metadata at the origin's root or at the default endpoints. One behaviour per test.

use fake_idp::{
    AsConfig, ClientWorld, McpConfig, MetadataLocation, Origin, PrmConfig, RequestKind,
    WorldConfig, WorldError,
};
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use url::Url;

mod common;
use common::{challenge, http};

const REDIRECT: &str = "http://127.0.0.1:45678/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// No PRM anywhere and no `resource_metadata`; the AS on the MCP origin, its metadata at `metadata_at`.
fn march(prefix: &str, metadata_at: Vec<MetadataLocation>) -> WorldConfig {
    WorldConfig {
        mcp: McpConfig {
            prm: PrmConfig {
                locations: Vec::new(),
                header: None,
                ..PrmConfig::default()
            },
            ..McpConfig::default()
        },
        auth_servers: vec![AsConfig {
            on_mcp_origin: true,
            endpoint_prefix: prefix.to_owned(),
            metadata_at,
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    }
}

fn origin(world: &ClientWorld) -> String {
    world.origin_of(Origin::Mcp)
}

async fn initialize(world: &ClientWorld, token: Option<&str>) -> Response {
    let mut request = http()
        .post(world.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// DCR, authorization (PKCE S256) and code redemption at `base` (the endpoints' common prefix); the access token.
async fn flow(base: &str) -> String {
    let registered: Value = http()
        .post(format!("{base}/register"))
        .json(&json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "client_name": "t"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let mut authorize = Url::parse(&format!("{base}/authorize")).unwrap();
    authorize.query_pairs_mut().extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge(VERIFIER).as_str()),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
    ]);
    let redirect = http().get(authorize.as_str()).send().await.unwrap();
    assert_eq!(redirect.status(), StatusCode::FOUND);
    let location = Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let token: Value = http()
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", client_id.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned()
}

fn kinds_of(world: &ClientWorld, origin: Origin) -> Vec<(String, RequestKind)> {
    world
        .log()
        .into_iter()
        .filter(|r| r.origin == origin)
        .map(|r| (r.path, r.kind))
        .collect()
}

#[tokio::test]
async fn an_as_on_the_mcp_origin_serves_root_metadata_naming_its_prefixed_endpoints() {
    let world = ClientWorld::start(march("/oauth", vec![MetadataLocation::Rfc8414Root]))
        .await
        .unwrap();
    let origin = origin(&world);
    assert_eq!(world.issuer(0), origin);
    let metadata: Value = http()
        .get(format!("{origin}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["issuer"], json!(origin));
    assert_eq!(
        metadata["authorization_endpoint"],
        json!(format!("{origin}/oauth/authorize"))
    );
    assert_eq!(
        metadata["token_endpoint"],
        json!(format!("{origin}/oauth/token"))
    );
    assert_eq!(
        metadata["registration_endpoint"],
        json!(format!("{origin}/oauth/register"))
    );
    world.shutdown().await;
}

#[tokio::test]
async fn a_flow_through_the_advertised_endpoints_reaches_the_mcp_server() {
    let world = ClientWorld::start(march("/oauth", vec![MetadataLocation::Rfc8414Root]))
        .await
        .unwrap();
    let unauthenticated = initialize(&world, None).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauthenticated.headers()["www-authenticate"], "Bearer");
    let token = flow(&format!("{}/oauth", origin(&world))).await;
    assert_eq!(
        initialize(&world, Some(&token)).await.status(),
        StatusCode::OK
    );
    let as_requests = kinds_of(&world, Origin::As(0));
    let paths: Vec<&str> = as_requests.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["/oauth/register", "/oauth/authorize", "/oauth/token"]
    );
    world.shutdown().await;
}

#[tokio::test]
async fn the_default_paths_are_not_served_when_the_endpoints_are_prefixed() {
    let world = ClientWorld::start(march("/oauth", vec![MetadataLocation::Rfc8414Root]))
        .await
        .unwrap();
    let response = http()
        .post(format!("{}/register", origin(&world)))
        .json(&json!({"redirect_uris": [REDIRECT]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        kinds_of(&world, Origin::Mcp),
        [("/register".to_owned(), RequestKind::Other)]
    );
    world.shutdown().await;
}

#[tokio::test]
async fn without_metadata_the_default_endpoints_complete_the_flow_and_the_probe_is_a_logged_404() {
    let world = ClientWorld::start(march("", Vec::new())).await.unwrap();
    let origin = origin(&world);
    let probe = http()
        .get(format!("{origin}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), StatusCode::NOT_FOUND);
    let token = flow(&origin).await;
    assert_eq!(
        initialize(&world, Some(&token)).await.status(),
        StatusCode::OK
    );
    let as_requests = kinds_of(&world, Origin::As(0));
    assert_eq!(as_requests[0].1, RequestKind::AsMetadataTrap);
    let paths: Vec<&str> = as_requests[1..].iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["/register", "/authorize", "/token"]);
    world.shutdown().await;
}

#[tokio::test]
async fn two_authorization_servers_on_the_mcp_origin_are_refused() {
    let mut config = march("", Vec::new());
    config.auth_servers.push(config.auth_servers[0].clone());
    let err = ClientWorld::start(config).await.unwrap_err();
    assert!(matches!(err, WorldError::Config(_)), "{err}");
}

#[tokio::test]
async fn an_as_on_the_mcp_origin_with_an_issuer_path_is_refused() {
    let mut config = march("", Vec::new());
    config.auth_servers[0].issuer_path = "/tenant1".to_owned();
    let err = ClientWorld::start(config).await.unwrap_err();
    assert!(matches!(err, WorldError::Config(_)), "{err}");
}
