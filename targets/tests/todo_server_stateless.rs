//! The reference To-Do server speaking stateless MCP (revision 2026-07-28) over loopback HTTP:
//! no `initialize`, per-request `_meta` and headers, authorization on every request, and the two
//! stateless defects opening their holes.

use std::future::IntoFuture as _;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth_targets::{RunningTodoServer, ServerDefect, TodoServer, TodoServerConfig};
use reqwest::StatusCode;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

const AS_KEY_PEM: &str = include_str!("../../fixtures/keys/test-only-as-signing-key.pem");
const KID: &str = "test-as-key";
const MODERN: &str = "2026-07-28";

/// A JWKS issuer and one To-Do server.
struct Harness {
    issuer: String,
    server: RunningTodoServer,
    http: reqwest::Client,
}

impl Harness {
    async fn start(defect: Option<ServerDefect>) -> Harness {
        let public = rsa::RsaPrivateKey::from_pkcs8_pem(AS_KEY_PEM)
            .unwrap()
            .to_public_key();
        let jwks = json!({ "keys": [{
            "kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }]});
        let idp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", idp.local_addr().unwrap());
        let router = Router::new().route("/jwks", get(move || async move { Json(jwks) }));
        tokio::spawn(axum::serve(idp, router).into_future());
        let mut config = TodoServerConfig::new(issuer.clone(), format!("{issuer}/jwks"));
        config.defect = defect;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = TodoServer::start(config, listener).await.unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Harness {
            issuer,
            server,
            http,
        }
    }

    fn alice(&self) -> String {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let claims = json!({
            "iss": self.issuer, "sub": "alice", "aud": self.server.url(), "exp": t + 300, "iat": t,
            "nbf": t, "jti": format!("alice-{t}"), "client_id": "test-client", "scope": "todo:read todo:write",
        });
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(KID.into());
        let key = EncodingKey::from_rsa_pem(AS_KEY_PEM.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    /// One stateless request: `_meta` with `client` as clientInfo, the standard headers.
    async fn modern(
        &self,
        token: Option<&str>,
        client: &str,
        method: &str,
        params: Value,
    ) -> reqwest::Response {
        self.modern_with(token, client, None, method, params).await
    }

    /// [`Harness::modern`], naming `session` in `Mcp-Session-Id`.
    async fn modern_with(
        &self,
        token: Option<&str>,
        client: &str,
        session: Option<&str>,
        method: &str,
        mut params: Value,
    ) -> reqwest::Response {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": { "name": client, "version": "1" },
        });
        let mut request = self
            .http
            .post(self.server.url())
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", MODERN)
            .header("Mcp-Method", method);
        if let Some(name) = params.get("name").and_then(Value::as_str) {
            request = request.header("Mcp-Name", name);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(session) = session {
            request = request.header("Mcp-Session-Id", session);
        }
        let body = json!({ "jsonrpc": "2.0", "id": 7, "method": method, "params": params });
        request.json(&body).send().await.unwrap()
    }

    async fn list_todos(
        &self,
        token: Option<&str>,
        client: &str,
        session: Option<&str>,
    ) -> reqwest::Response {
        let params = json!({ "name": "list_todos", "arguments": {} });
        self.modern_with(token, client, session, "tools/call", params)
            .await
    }
}

#[tokio::test]
async fn a_stateless_tool_call_with_a_token_is_served_without_initialize_or_session() {
    let h = Harness::start(None).await;
    let response = h.list_todos(Some(&h.alice()), "c", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("mcp-session-id").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["resultType"], "complete");
    assert_eq!(body["result"]["isError"], false);
}

#[tokio::test]
async fn server_discover_lists_the_supported_versions_with_caching_hints() {
    let h = Harness::start(None).await;
    let response = h
        .modern(Some(&h.alice()), "c", "server/discover", json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let result = &response.json::<Value>().await.unwrap()["result"];
    assert_eq!(result["supportedVersions"][0], MODERN);
    assert_eq!(result["resultType"], "complete");
    assert!(result["ttlMs"].is_u64());
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "todo-server"
    );
}

#[tokio::test]
async fn a_stateless_request_without_a_token_gets_the_401_challenge() {
    let h = Harness::start(None).await;
    for method in ["server/discover", "tools/list"] {
        let response = h.modern(None, "c", method, json!({})).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method}");
        let www = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(www.starts_with("Bearer ") && www.contains("resource_metadata="));
    }
}

#[tokio::test]
async fn a_missing_mcp_method_header_is_a_400_header_mismatch_after_authentication() {
    let h = Harness::start(None).await;
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": { "_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {} } } });
    let request = h
        .http
        .post(h.server.url())
        .header("MCP-Protocol-Version", MODERN)
        .json(&body);
    let anonymous = request.try_clone().unwrap().send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let response = request.bearer_auth(h.alice()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32020);
}

#[tokio::test]
async fn a_token_accepted_once_does_not_authorize_a_later_request_without_it() {
    let h = Harness::start(None).await;
    let with_token = h.list_todos(Some(&h.alice()), "same", None).await;
    assert_eq!(with_token.status(), StatusCode::OK);
    assert!(with_token.headers().get("mcp-session-id").is_none());
    assert_eq!(
        h.list_todos(None, "same", Some("any")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn stateless_session_as_auth_lets_a_minted_session_id_stand_in_for_the_token() {
    let h = Harness::start(Some(ServerDefect::StatelessSessionAsAuth)).await;
    let with_token = h.list_todos(Some(&h.alice()), "c", None).await;
    assert_eq!(with_token.status(), StatusCode::OK);
    let session = with_token.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let carried = h.list_todos(None, "c", Some(&session)).await;
    assert_eq!(carried.status(), StatusCode::OK);
    let unknown = h.list_todos(None, "c", Some("not-a-session")).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stateless_auth_on_discover_only_serves_tools_list_without_a_token() {
    let h = Harness::start(Some(ServerDefect::StatelessAuthOnDiscoverOnly)).await;
    let discover = h.modern(None, "c", "server/discover", json!({})).await;
    assert_eq!(discover.status(), StatusCode::UNAUTHORIZED);
    let list = h.modern(None, "c", "tools/list", json!({})).await;
    assert_eq!(list.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_legacy_initialize_handshake_still_opens_a_session() {
    let h = Harness::start(None).await;
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "t", "version": "0" } } });
    let response = h
        .http
        .post(h.server.url())
        .bearer_auth(h.alice())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("mcp-session-id").is_some());
}
