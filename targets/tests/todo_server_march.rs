//! The reference To-Do server in the MCP 2025-03-26 shape (`own_authorization_server`): its own authorization
//! server at its origin (RFC 8414 metadata at the root, `/authorize`, `/token`, `/register` delegating to another
//! authorization server), no protected resource metadata, and the three 2025-03-26 defects opening their holes.

use std::future::IntoFuture as _;

use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use mcp_auth_targets::{
    DelegatedAs, RunningTodoServer, ServerDefect, TodoServer, TodoServerConfig,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A delegate authorization server whose `/token` and `/register` answer 400 with what they received, and one
/// To-Do server delegating to it.
struct Harness {
    delegate: String,
    server: RunningTodoServer,
    http: reqwest::Client,
}

async fn echo(headers: HeaderMap, body: String) -> (StatusCode, Json<Value>) {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    (
        StatusCode::BAD_REQUEST,
        Json(json!({
            "error": "unsupported_grant_type",
            "seen": { "content_type": h("content-type"), "authorization": h("authorization"), "body": body },
        })),
    )
}

impl Harness {
    async fn start(defect: Option<ServerDefect>) -> Harness {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let delegate = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new()
            .route("/token", post(echo))
            .route("/register", post(echo));
        tokio::spawn(axum::serve(listener, router).into_future());
        let mut config = TodoServerConfig::new(delegate.clone(), format!("{delegate}/jwks"));
        config.own_authorization_server = Some(DelegatedAs {
            authorization_endpoint: format!("{delegate}/authorize"),
            registration_endpoint: format!("{delegate}/register"),
        });
        config.defect = defect;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = TodoServer::start(config, listener).await.unwrap();
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Harness {
            delegate,
            server,
            http,
        }
    }

    fn origin(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.origin()))
            .send()
            .await
            .unwrap()
    }

    async fn post_form(&self, path: &str, body: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.origin()))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", "Basic Y2xpZW50OnNlY3JldA==")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }
}

const METADATA: &str = "/.well-known/oauth-authorization-server";

#[tokio::test]
async fn the_metadata_at_the_origin_root_names_the_origin_as_issuer_and_root_endpoints() {
    let h = Harness::start(None).await;
    let r = h.get(METADATA).await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    let origin = h.origin();
    assert_eq!(doc["issuer"], json!(origin));
    assert_eq!(
        doc["authorization_endpoint"],
        json!(format!("{origin}/authorize"))
    );
    assert_eq!(doc["token_endpoint"], json!(format!("{origin}/token")));
    assert_eq!(
        doc["registration_endpoint"],
        json!(format!("{origin}/register"))
    );
}

#[tokio::test]
async fn no_protected_resource_metadata_is_served_and_the_401_names_none() {
    let h = Harness::start(None).await;
    assert_eq!(
        h.get("/.well-known/oauth-protected-resource/mcp")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let r = h
        .http
        .post(h.server.url())
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let www = r.headers()["www-authenticate"].to_str().unwrap();
    assert!(www.starts_with("Bearer"), "{www}");
    assert!(!www.contains("resource_metadata"), "{www}");
}

#[tokio::test]
async fn authorize_without_a_client_is_refused_with_an_oauth_error() {
    let h = Harness::start(None).await;
    let r = h.get("/authorize").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn authorize_with_a_client_redirects_to_the_delegate_with_the_same_query() {
    let h = Harness::start(None).await;
    let query = "response_type=code&client_id=c1&state=s%20t";
    let r = h.get(&format!("/authorize?{query}")).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{}/authorize?{query}", h.delegate)
    );
}

#[tokio::test]
async fn token_forwards_the_request_and_answers_with_the_delegates_answer() {
    let h = Harness::start(None).await;
    let r = h.post_form("/token", "grant_type=nope").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    assert_eq!(
        body["seen"],
        json!({
            "content_type": "application/x-www-form-urlencoded",
            "authorization": "Basic Y2xpZW50OnNlY3JldA==",
            "body": "grant_type=nope",
        })
    );
}

#[tokio::test]
async fn register_forwards_to_the_delegated_registration_endpoint() {
    let h = Harness::start(None).await;
    let r = h.post_form("/register", "{}").await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["seen"]["body"], "{}");
}

#[tokio::test]
async fn metadata_at_mcp_path_moves_the_metadata_off_the_root() {
    let h = Harness::start(Some(ServerDefect::MarchMetadataAtMcpPath)).await;
    assert_eq!(h.get(METADATA).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        h.get(&format!("{METADATA}/mcp")).await.status(),
        StatusCode::OK
    );
    assert_eq!(h.get("/authorize").await.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn issuer_with_path_names_the_mcp_url_as_issuer() {
    let h = Harness::start(Some(ServerDefect::MarchIssuerWithPath)).await;
    let doc: Value = h.get(METADATA).await.json().await.unwrap();
    assert_eq!(doc["issuer"], json!(h.server.url()));
}

#[tokio::test]
async fn no_default_endpoints_serves_neither_metadata_nor_endpoints() {
    let h = Harness::start(Some(ServerDefect::MarchNoDefaultEndpoints)).await;
    assert_eq!(h.get(METADATA).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(h.get("/authorize").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        h.post_form("/token", "").await.status(),
        StatusCode::NOT_FOUND
    );
}
