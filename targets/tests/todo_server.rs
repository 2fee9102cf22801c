//! End-to-end tests of the reference To-Do server over loopback HTTP.
//!
//! The tests play the authorization server themselves: a small axum router serves the JWKS of
//! the committed test-only key and an introspection endpoint whose answers each test registers.

use std::collections::HashMap;
use std::future::IntoFuture as _;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth_targets::{
    IntrospectionClient, RunningTodoServer, ServerDefect, TodoServer, TodoServerConfig,
    ValidationMode,
};
use reqwest::header::{HeaderMap, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rstest::rstest;
use serde_json::{json, Value};

const AS_KEY_PEM: &str = include_str!("../../fixtures/keys/test-only-as-signing-key.pem");
const AS_PUBLIC_PEM: &str = include_str!("../../fixtures/keys/test-only-as-signing-key.pub.pem");
const ATTACKER_KEY_PEM: &str = include_str!("../../fixtures/keys/test-only-attacker-key.pem");
const KID: &str = "test-as-key";

type Introspections = Arc<Mutex<HashMap<String, Value>>>;

fn jwk_of(pem: &str, kid: &str) -> Value {
    let public = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .unwrap()
        .to_public_key();
    json!({
        "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    })
}

/// The authorization server side played by the tests: `/jwks` and `/introspect`.
fn issuer_router(introspections: Introspections) -> Router {
    let jwks = json!({ "keys": [jwk_of(AS_KEY_PEM, KID)] });
    Router::new()
        .route("/jwks", get(move || async move { Json(jwks) }))
        .route(
            "/introspect",
            post(|State(map): State<Introspections>, Form(form): Form<HashMap<String, String>>| async move {
                let token = form.get("token").cloned().unwrap_or_default();
                Json(map.lock().unwrap().get(&token).cloned().unwrap_or(json!({ "active": false })))
            }),
        )
        .with_state(introspections)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

/// One issuer plus one To-Do server, and a client that never follows redirects.
struct Harness {
    issuer: String,
    server: RunningTodoServer,
    introspections: Introspections,
    http: reqwest::Client,
}

impl Harness {
    async fn start(mode: ValidationMode, defect: Option<ServerDefect>) -> Harness {
        Harness::start_with(mode, defect, |_, _| Router::new()).await
    }

    /// Like [`Harness::start`]; `extend` adjusts the server configuration and returns extra
    /// routes for the issuer (it gets the issuer URL).
    async fn start_with(
        mode: ValidationMode,
        defect: Option<ServerDefect>,
        extend: impl FnOnce(&str, &mut TodoServerConfig) -> Router,
    ) -> Harness {
        let introspections = Introspections::default();
        let idp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", idp.local_addr().unwrap());
        let mut config = TodoServerConfig::new(issuer.clone(), format!("{issuer}/jwks"));
        config.mode = mode;
        config.defect = defect;
        config.introspection = Some(IntrospectionClient {
            url: format!("{issuer}/introspect"),
            client_id: "todo-server".into(),
            client_secret: "test-only-secret".into(),
        });
        let extra = extend(&issuer, &mut config);
        tokio::spawn(
            axum::serve(idp, issuer_router(introspections.clone()).merge(extra)).into_future(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = TodoServer::start(config, listener).await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Harness {
            issuer,
            server,
            introspections,
            http,
        }
    }

    async fn jwt(defect: Option<ServerDefect>) -> Harness {
        Harness::start(ValidationMode::Jwt, defect).await
    }

    fn resource(&self) -> String {
        self.server.url()
    }

    fn base(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Standard claims for `sub` with `scope`.
    fn claims(&self, sub: &str, scope: &str) -> Value {
        let t = now();
        json!({
            "iss": self.issuer, "sub": sub, "aud": self.resource(), "exp": t + 300, "iat": t, "nbf": t,
            "jti": format!("{sub}-{t}"), "client_id": "test-client", "scope": scope,
        })
    }

    fn alice(&self) -> String {
        rs256(&self.claims("alice", "todo:read todo:write"))
    }

    fn bob(&self) -> String {
        rs256(&self.claims("bob", "todo:read"))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        session: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.resource());
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(session) = session {
            request = request.header("Mcp-Session-Id", session);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request
            .header("Accept", "application/json, text/event-stream")
            .send()
            .await
            .unwrap()
    }

    async fn post(
        &self,
        token: Option<&str>,
        session: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        self.send(reqwest::Method::POST, token, session, Some(body))
            .await
    }

    async fn initialize_response(&self, token: Option<&str>) -> reqwest::Response {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "test", "version": "0" } } });
        self.post(token, None, &body).await
    }

    async fn initialize(&self, token: &str) -> String {
        let response = self.initialize_response(Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    async fn call(
        &self,
        token: Option<&str>,
        session: &str,
        tool: &str,
        arguments: Value,
    ) -> reqwest::Response {
        let body = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": { "name": tool, "arguments": arguments } });
        self.post(token, Some(session), &body).await
    }

    /// bob (`todo:read` only) calls `create_todo {"title": "x"}` in `session`.
    async fn bob_creates(&self, session: &str) -> reqwest::Response {
        self.call(
            Some(&self.bob()),
            session,
            "create_todo",
            json!({ "title": "x" }),
        )
        .await
    }

    /// Titles on the shared list, read with a fresh session of alice.
    async fn titles(&self) -> Vec<String> {
        let alice = self.alice();
        let session = self.initialize(&alice).await;
        let response = self
            .call(Some(&alice), &session, "list_todos", json!({}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let text = body["result"]["content"][0]["text"].as_str().unwrap();
        let items: Vec<Value> = serde_json::from_str(text).unwrap();
        items
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Whether `token` is served: a full initialize + list_todos succeeds.
    async fn serves(&self, token: &str) -> bool {
        let response = self.initialize_response(Some(token)).await;
        let Some(session) = response
            .headers()
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_owned())
        else {
            return false;
        };
        self.call(Some(token), &session, "list_todos", json!({}))
            .await
            .status()
            == StatusCode::OK
    }

    async fn prm(&self) -> reqwest::Response {
        self.http
            .get(format!(
                "{}/.well-known/oauth-protected-resource/mcp",
                self.base()
            ))
            .send()
            .await
            .unwrap()
    }
}

fn sign_with(header: Header, claims: &Value, pem: &str) -> String {
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn at_header(kid: &str) -> Header {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(kid.into());
    header
}

fn rs256(claims: &Value) -> String {
    sign_with(at_header(KID), claims, AS_KEY_PEM)
}

fn unsigned(alg: &str, claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(&json!({ "alg": alg, "typ": "at+jwt", "kid": KID })),
        b64(claims)
    )
}

fn hs256_with_public_pem(claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(&json!({ "alg": "HS256", "typ": "at+jwt", "kid": KID })),
        b64(claims)
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(AS_PUBLIC_PEM.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Auth-params of a `Bearer` challenge, in order (values unquoted; enough for our own output).
fn challenge_params(headers: &HeaderMap) -> Vec<(String, String)> {
    let value = headers
        .get(WWW_AUTHENTICATE)
        .expect("WWW-Authenticate")
        .to_str()
        .unwrap();
    let rest = value.strip_prefix("Bearer").expect("Bearer scheme").trim();
    rest.split("\", ")
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// ---- compliant behaviour -------------------------------------------------------------------

#[tokio::test]
async fn valid_token_lists_todos() {
    let h = Harness::jwt(None).await;
    let alice = h.alice();
    let session = h.initialize(&alice).await;
    assert_eq!(
        h.call(
            Some(&alice),
            &session,
            "create_todo",
            json!({ "title": "milk" })
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(h.titles().await, ["milk"]);
}

#[tokio::test]
async fn no_token_gets_401_with_resource_metadata_and_scope_and_no_error() {
    let h = Harness::jwt(None).await;
    let response = h.initialize_response(None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let params = challenge_params(response.headers());
    let prm_url = format!("{}/.well-known/oauth-protected-resource/mcp", h.base());
    assert_eq!(param(&params, "resource_metadata"), Some(prm_url.as_str()));
    assert_eq!(param(&params, "scope"), Some("todo:read todo:write"));
    assert_eq!(param(&params, "error"), None);
}

#[tokio::test]
async fn wrong_audience_gets_401_invalid_token() {
    let h = Harness::jwt(None).await;
    let mut claims = h.claims("alice", "todo:read todo:write");
    claims["aud"] = json!("http://127.0.0.1:1/other");
    let response = h.initialize_response(Some(&rs256(&claims))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        param(&challenge_params(response.headers()), "error"),
        Some("invalid_token")
    );
}

#[tokio::test]
async fn uppercase_scheme_and_host_audience_is_accepted() {
    let h = Harness::jwt(None).await;
    let mut claims = h.claims("alice", "todo:read todo:write");
    claims["aud"] = json!([h.resource().replace("http://", "HTTP://")]);
    assert!(h.serves(&rs256(&claims)).await);
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let h = Harness::jwt(None).await;
    let claims = h.claims("alice", "todo:read todo:write");
    for alg in ["none", "None", "NONE"] {
        assert_eq!(
            h.initialize_response(Some(&unsigned(alg, &claims)))
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn query_token_is_ignored() {
    let h = Harness::jwt(None).await;
    let url = format!("{}?access_token={}", h.resource(), h.alice());
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} });
    let response = h.http.post(url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(param(&challenge_params(response.headers()), "error"), None);
}

#[tokio::test]
async fn read_only_scope_gets_403_insufficient_scope_and_nothing_is_created() {
    let h = Harness::jwt(None).await;
    let bob = h.bob();
    let session = h.initialize(&bob).await;
    let response = h
        .call(
            Some(&bob),
            &session,
            "create_todo",
            json!({ "title": "evil" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let params = challenge_params(response.headers());
    assert_eq!(param(&params, "error"), Some("insufficient_scope"));
    assert_eq!(param(&params, "scope"), Some("todo:read todo:write"));
    assert!(param(&params, "resource_metadata").is_some());
    assert!(h.titles().await.is_empty());
}

#[tokio::test]
async fn session_id_without_token_gets_401() {
    let h = Harness::jwt(None).await;
    let session = h.initialize(&h.alice()).await;
    assert_eq!(
        h.call(None, &session, "list_todos", json!({}))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        assert_eq!(
            h.send(method, None, Some(&session), None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
}

#[tokio::test]
async fn another_users_token_on_a_session_gets_403() {
    let h = Harness::jwt(None).await;
    let session = h.initialize(&h.alice()).await;
    assert_eq!(
        h.call(Some(&h.bob()), &session, "list_todos", json!({}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn prm_is_served_without_auth_at_the_path_inserted_url_only() {
    let h = Harness::jwt(None).await;
    let response = h.prm().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(
        doc,
        json!({
            "resource": h.resource(), "authorization_servers": [h.issuer], "scopes_supported": ["todo:read", "todo:write"],
            "bearer_methods_supported": ["header"], "resource_name": "To-Do MCP server",
        })
    );
    let root = h
        .http
        .get(format!("{}/.well-known/oauth-protected-resource", h.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn foreign_origin_gets_403() {
    let h = Harness::jwt(None).await;
    let response = h
        .http
        .post(h.resource())
        .header("Origin", "https://evil.example")
        .bearer_auth(h.alice())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn own_origin_is_allowed() {
    let h = Harness::jwt(None).await;
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} });
    let response = h
        .http
        .post(h.resource())
        .header("Origin", h.base())
        .bearer_auth(h.alice())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[rstest]
#[case::empty_token("Bearer ")]
#[case::two_words("Bearer a b")]
#[tokio::test]
async fn malformed_authorization_gets_400_invalid_request(#[case] authorization: &str) {
    let h = Harness::jwt(None).await;
    let response = h
        .http
        .post(h.resource())
        .header(AUTHORIZATION, authorization)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        param(&challenge_params(response.headers()), "error"),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn two_authorization_headers_get_400() {
    let h = Harness::jwt(None).await;
    let alice = format!("Bearer {}", h.alice());
    let response = h
        .http
        .post(h.resource())
        .header(AUTHORIZATION, &alice)
        .header(AUTHORIZATION, &alice)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn lowercase_and_uppercase_bearer_schemes_are_accepted() {
    let h = Harness::jwt(None).await;
    for scheme in ["bearer", "BEARER"] {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} });
        let response = h
            .http
            .post(h.resource())
            .header(AUTHORIZATION, format!("{scheme} {}", h.alice()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
}

#[tokio::test]
async fn expired_token_is_rejected() {
    let h = Harness::jwt(None).await;
    let mut claims = h.claims("alice", "todo:read todo:write");
    claims["exp"] = json!(now() - 600);
    assert!(!h.serves(&rs256(&claims)).await);
}

#[tokio::test]
async fn get_is_405_and_delete_ends_the_session() {
    let h = Harness::jwt(None).await;
    let alice = h.alice();
    let session = h.initialize(&alice).await;
    assert_eq!(
        h.send(reqwest::Method::GET, Some(&alice), Some(&session), None)
            .await
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        h.send(reqwest::Method::DELETE, Some(&alice), Some(&session), None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call(Some(&alice), &session, "list_todos", json!({}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn body_over_one_mib_gets_413() {
    let h = Harness::jwt(None).await;
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024 + 1));
    let response = h
        .http
        .post(h.resource())
        .bearer_auth(h.alice())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn unknown_method_is_a_json_rpc_error() {
    let h = Harness::jwt(None).await;
    let alice = h.alice();
    let session = h.initialize(&alice).await;
    let body: Value = h
        .post(
            Some(&alice),
            Some(&session),
            &json!({ "jsonrpc": "2.0", "id": 3, "method": "nope" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"]["code"], -32601);
}

#[tokio::test]
async fn introspection_accepts_an_active_token() {
    let h = Harness::start(ValidationMode::Introspection, None).await;
    let response = json!({ "active": true, "iss": h.issuer, "sub": "alice", "aud": h.resource(), "exp": now() + 300, "scope": "todo:read" });
    h.introspections
        .lock()
        .unwrap()
        .insert("opaque-alice".into(), response);
    assert!(h.serves("opaque-alice").await);
}

#[tokio::test]
async fn introspection_refuses_an_inactive_token() {
    let h = Harness::start(ValidationMode::Introspection, None).await;
    let response = h.initialize_response(Some("opaque-revoked")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        param(&challenge_params(response.headers()), "error"),
        Some("invalid_token")
    );
}

#[tokio::test]
async fn introspection_with_ignore_active_defect_serves_an_inactive_token() {
    let h = Harness::start(
        ValidationMode::Introspection,
        Some(ServerDefect::IgnoreIntrospectionActive),
    )
    .await;
    assert!(h.serves("opaque-revoked").await);
}

// ---- defects: each opens its hole, and the compliant server keeps it closed ----------------

/// Whether the protection `defect` turns off is observably missing on `h` (end-to-end probes for the defects
/// listed in the table below).
async fn hole_is_open(h: &Harness, defect: ServerDefect) -> bool {
    let good = h.claims("alice", "todo:read todo:write");
    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        claims
    };
    match defect {
        ServerDefect::SkipAudienceCheck => {
            h.serves(&rs256(&with("aud", json!("http://127.0.0.1:1/other"))))
                .await
        }
        ServerDefect::SkipIssuerCheck => {
            h.serves(&rs256(&with("iss", json!("https://evil.example"))))
                .await
        }
        ServerDefect::SkipSignatureCheck => {
            h.serves(&sign_with(at_header(KID), &good, ATTACKER_KEY_PEM))
                .await
        }
        ServerDefect::AcceptAlgNone => h.serves(&unsigned("none", &good)).await,
        ServerDefect::AcceptHs256WithPublicKey => h.serves(&hs256_with_public_pem(&good)).await,
        ServerDefect::AcceptUnknownKid => {
            h.serves(&sign_with(at_header("nobody"), &good, ATTACKER_KEY_PEM))
                .await
        }
        ServerDefect::TrustHeaderKeys => {
            let mut header = at_header("attacker");
            header.jwk =
                Some(serde_json::from_value(jwk_of(ATTACKER_KEY_PEM, "attacker")).unwrap());
            h.serves(&sign_with(header, &good, ATTACKER_KEY_PEM)).await
        }
        ServerDefect::SkipExpiryCheck => h.serves(&rs256(&with("exp", json!(now() - 600)))).await,
        ServerDefect::SkipNbfCheck => h.serves(&rs256(&with("nbf", json!(now() + 600)))).await,
        ServerDefect::SkipTypCheck => {
            let mut header = at_header(KID);
            header.typ = Some("JWT".into());
            h.serves(&sign_with(header, &good, AS_KEY_PEM)).await
        }
        ServerDefect::AcceptQueryToken => {
            let url = format!("{}?access_token={}", h.resource(), h.alice());
            let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} });
            h.http.post(url).json(&body).send().await.unwrap().status() == StatusCode::OK
        }
        ServerDefect::CaseSensitiveBearer => {
            let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} });
            let auth = format!("bearer {}", h.alice());
            h.http
                .post(h.resource())
                .header(AUTHORIZATION, auth)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                != StatusCode::OK
        }
        ServerDefect::LenientAuthorizationHeader => {
            let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} });
            let auth = format!("Bearer {} extra", h.alice());
            h.http
                .post(h.resource())
                .header(AUTHORIZATION, auth)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                == StatusCode::OK
        }
        ServerDefect::SessionAsAuth => {
            let session = h.initialize(&h.alice()).await;
            h.call(None, &session, "list_todos", json!({}))
                .await
                .status()
                == StatusCode::OK
        }
        ServerDefect::SessionNotBoundToUser => {
            let session = h.initialize(&h.alice()).await;
            h.call(Some(&h.bob()), &session, "list_todos", json!({}))
                .await
                .status()
                == StatusCode::OK
        }
        ServerDefect::SequentialSessionIds => h.initialize(&h.alice()).await == "session-1",
        ServerDefect::WriteBeforeAuth => {
            let session = h.initialize(&h.alice()).await;
            h.call(
                Some("garbage"),
                &session,
                "create_todo",
                json!({ "title": "sneaky" }),
            )
            .await;
            h.titles().await == ["sneaky"]
        }
        ServerDefect::AcceptMalformedToken => h.serves("not-a-jwt").await,
        ServerDefect::SkipScopeCheck => {
            let session = h.initialize(&h.bob()).await;
            h.bob_creates(&session).await;
            h.titles().await == ["x"]
        }
        ServerDefect::ScopeErrorAsToolResult => {
            let session = h.initialize(&h.bob()).await;
            h.bob_creates(&session).await.status() == StatusCode::OK
        }
        ServerDefect::ScopeErrorAsSuccessResult => {
            let session = h.initialize(&h.bob()).await;
            let response = h.bob_creates(&session).await;
            let ok = response.status() == StatusCode::OK;
            let body: Value = response.json().await.unwrap();
            ok && body["result"]["isError"] != json!(true) && h.titles().await.is_empty()
        }
        ServerDefect::RequireAllScopes => !h.serves(&h.bob()).await,
        ServerDefect::InconsistentScopeChallenge => {
            let session = h.initialize(&h.bob()).await;
            let mut scopes = Vec::new();
            for _ in 0..2 {
                let response = h.bob_creates(&session).await;
                scopes
                    .push(param(&challenge_params(response.headers()), "scope").map(str::to_owned));
            }
            scopes[0] != scopes[1]
        }
        ServerDefect::InsufficientScopeWithoutScope
        | ServerDefect::InsufficientScopeWithoutResourceMetadata => {
            let session = h.initialize(&h.bob()).await;
            let response = h.bob_creates(&session).await;
            let params = challenge_params(response.headers());
            let name = if defect == ServerDefect::InsufficientScopeWithoutScope {
                "scope"
            } else {
                "resource_metadata"
            };
            param(&params, name).is_none()
        }
        ServerDefect::ChallengeWithoutScope
        | ServerDefect::ErrorOnAnonymous
        | ServerDefect::DuplicateChallengeParams
        | ServerDefect::BareBearerChallenge => {
            let params = challenge_params(h.initialize_response(None).await.headers());
            match defect {
                ServerDefect::ChallengeWithoutScope => param(&params, "scope").is_none(),
                ServerDefect::ErrorOnAnonymous => param(&params, "error").is_some(),
                ServerDefect::DuplicateChallengeParams => {
                    params.iter().filter(|(k, _)| k == "scope").count() > 1
                }
                _ => params.is_empty(),
            }
        }
        ServerDefect::InvalidTokenWithoutError => {
            let params = challenge_params(h.initialize_response(Some("garbage")).await.headers());
            param(&params, "error").is_none()
        }
        ServerDefect::NoResourceMetadata => {
            let params = challenge_params(h.initialize_response(None).await.headers());
            param(&params, "resource_metadata").is_none()
                && h.prm().await.status() == StatusCode::NOT_FOUND
        }
        ServerDefect::OfflineAccessInChallenge => {
            let params = challenge_params(h.initialize_response(None).await.headers());
            param(&params, "scope").is_some_and(|s| s.contains("offline_access"))
        }
        ServerDefect::AllowAnonymousInitialize => {
            h.initialize_response(None).await.status() == StatusCode::OK
        }
        ServerDefect::PrmRequiresAuth => h.prm().await.status() == StatusCode::UNAUTHORIZED,
        ServerDefect::PrmWrongContentType => {
            h.prm().await.headers()["content-type"] != "application/json"
        }
        ServerDefect::PrmWrongResource
        | ServerDefect::PrmNoAuthorizationServers
        | ServerDefect::PrmResourceFragment
        | ServerDefect::PrmEmptyMembers
        | ServerDefect::PrmNoScopesSupported
        | ServerDefect::OfflineAccessInPrm
        | ServerDefect::PrmBadBearerMethod
        | ServerDefect::PrmAdvertisesQuery
        | ServerDefect::PrmResourceTrailingSlash => {
            let doc: Value = h.prm().await.json().await.unwrap();
            match defect {
                ServerDefect::PrmWrongResource => doc["resource"] == json!(h.base()),
                ServerDefect::PrmNoAuthorizationServers => {
                    doc.get("authorization_servers").is_none()
                }
                ServerDefect::PrmResourceFragment => {
                    doc["resource"].as_str().unwrap().contains('#')
                }
                ServerDefect::PrmEmptyMembers => doc.get("resource_documentation").is_some(),
                ServerDefect::PrmNoScopesSupported => doc.get("scopes_supported").is_none(),
                ServerDefect::OfflineAccessInPrm => doc["scopes_supported"]
                    .to_string()
                    .contains("offline_access"),
                ServerDefect::PrmBadBearerMethod => doc["bearer_methods_supported"]
                    .to_string()
                    .contains("cookie"),
                ServerDefect::PrmAdvertisesQuery => doc["bearer_methods_supported"]
                    .to_string()
                    .contains("query"),
                _ => doc["resource"].as_str().unwrap().ends_with('/'),
            }
        }
        ServerDefect::SkipOriginCheck => {
            let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {} });
            let request = h
                .http
                .post(h.resource())
                .header("Origin", "https://evil.example")
                .bearer_auth(h.alice());
            request.json(&body).send().await.unwrap().status() == StatusCode::OK
        }
        ServerDefect::StrictCaseAudience => {
            !h.serves(&rs256(&with(
                "aud",
                json!(h.resource().replace("http://", "HTTP://")),
            )))
            .await
        }
        ServerDefect::IgnoreIntrospectionActive | ServerDefect::PlainHttpPublicHost => {
            unreachable!("covered elsewhere")
        }
        ServerDefect::PassthroughUserToken
        | ServerDefect::UpstreamWithServerCredentials
        | ServerDefect::ExchangeExcessScope
        | ServerDefect::ExchangeWrongAudience => unreachable!("covered by the on-behalf-of tests"),
        // A defect without a probe here is proved by the unit test beside its effect and by the self-test
        // (the reference passes the check it kills, the defect flips it); it is not listed below.
        other => panic!("no end-to-end probe for {other}"),
    }
}

#[rstest]
#[case::skip_audience_check(ServerDefect::SkipAudienceCheck)]
#[case::skip_issuer_check(ServerDefect::SkipIssuerCheck)]
#[case::skip_signature_check(ServerDefect::SkipSignatureCheck)]
#[case::accept_alg_none(ServerDefect::AcceptAlgNone)]
#[case::accept_hs256_with_public_key(ServerDefect::AcceptHs256WithPublicKey)]
#[case::accept_unknown_kid(ServerDefect::AcceptUnknownKid)]
#[case::trust_header_keys(ServerDefect::TrustHeaderKeys)]
#[case::skip_expiry_check(ServerDefect::SkipExpiryCheck)]
#[case::skip_nbf_check(ServerDefect::SkipNbfCheck)]
#[case::skip_typ_check(ServerDefect::SkipTypCheck)]
#[case::accept_query_token(ServerDefect::AcceptQueryToken)]
#[case::case_sensitive_bearer(ServerDefect::CaseSensitiveBearer)]
#[case::lenient_authorization_header(ServerDefect::LenientAuthorizationHeader)]
#[case::session_as_auth(ServerDefect::SessionAsAuth)]
#[case::session_not_bound_to_user(ServerDefect::SessionNotBoundToUser)]
#[case::sequential_session_ids(ServerDefect::SequentialSessionIds)]
#[case::write_before_auth(ServerDefect::WriteBeforeAuth)]
#[case::accept_malformed_token(ServerDefect::AcceptMalformedToken)]
#[case::invalid_token_without_error(ServerDefect::InvalidTokenWithoutError)]
#[case::skip_scope_check(ServerDefect::SkipScopeCheck)]
#[case::scope_error_as_tool_result(ServerDefect::ScopeErrorAsToolResult)]
#[case::scope_error_as_success_result(ServerDefect::ScopeErrorAsSuccessResult)]
#[case::insufficient_scope_without_scope(ServerDefect::InsufficientScopeWithoutScope)]
#[case::insufficient_scope_without_resource_metadata(
    ServerDefect::InsufficientScopeWithoutResourceMetadata
)]
#[case::inconsistent_scope_challenge(ServerDefect::InconsistentScopeChallenge)]
#[case::require_all_scopes(ServerDefect::RequireAllScopes)]
#[case::challenge_without_scope(ServerDefect::ChallengeWithoutScope)]
#[case::error_on_anonymous(ServerDefect::ErrorOnAnonymous)]
#[case::duplicate_challenge_params(ServerDefect::DuplicateChallengeParams)]
#[case::bare_bearer_challenge(ServerDefect::BareBearerChallenge)]
#[case::no_resource_metadata(ServerDefect::NoResourceMetadata)]
#[case::allow_anonymous_initialize(ServerDefect::AllowAnonymousInitialize)]
#[case::prm_wrong_resource(ServerDefect::PrmWrongResource)]
#[case::prm_no_authorization_servers(ServerDefect::PrmNoAuthorizationServers)]
#[case::prm_resource_fragment(ServerDefect::PrmResourceFragment)]
#[case::prm_empty_members(ServerDefect::PrmEmptyMembers)]
#[case::prm_no_scopes_supported(ServerDefect::PrmNoScopesSupported)]
#[case::offline_access_in_prm(ServerDefect::OfflineAccessInPrm)]
#[case::offline_access_in_challenge(ServerDefect::OfflineAccessInChallenge)]
#[case::prm_requires_auth(ServerDefect::PrmRequiresAuth)]
#[case::prm_bad_bearer_method(ServerDefect::PrmBadBearerMethod)]
#[case::prm_advertises_query(ServerDefect::PrmAdvertisesQuery)]
#[case::prm_resource_trailing_slash(ServerDefect::PrmResourceTrailingSlash)]
#[case::prm_wrong_content_type(ServerDefect::PrmWrongContentType)]
#[case::skip_origin_check(ServerDefect::SkipOriginCheck)]
#[case::strict_case_audience(ServerDefect::StrictCaseAudience)]
#[tokio::test]
async fn defect_opens_its_hole_which_the_compliant_server_keeps_closed(
    #[case] defect: ServerDefect,
) {
    let compliant = Harness::jwt(None).await;
    assert!(
        !hole_is_open(&compliant, defect).await,
        "compliant server shows the hole of {defect}"
    );
    let defective = Harness::jwt(Some(defect)).await;
    assert!(
        hole_is_open(&defective, defect).await,
        "{defect} does not open its hole"
    );
}

#[rstest]
#[case::skip_audience_check(ServerDefect::SkipAudienceCheck)]
#[case::accept_alg_none(ServerDefect::AcceptAlgNone)]
#[case::accept_hs256_with_public_key(ServerDefect::AcceptHs256WithPublicKey)]
#[case::trust_header_keys(ServerDefect::TrustHeaderKeys)]
#[case::write_before_auth(ServerDefect::WriteBeforeAuth)]
#[case::session_as_auth(ServerDefect::SessionAsAuth)]
#[tokio::test]
async fn defect_leaves_the_other_token_checks_in_place(#[case] defect: ServerDefect) {
    let defective = Harness::jwt(Some(defect)).await;
    // The other holes stay closed (a sample: the cheap token-level ones).
    for other in [
        ServerDefect::SkipExpiryCheck,
        ServerDefect::SkipIssuerCheck,
        ServerDefect::AcceptUnknownKid,
        ServerDefect::SkipTypCheck,
    ] {
        assert!(
            !hole_is_open(&defective, other).await,
            "{defect} also opens {other}"
        );
    }
}

// ---- on-behalf-of: token exchange and the upstream API (docs/obo.md §3) ----------------------

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// A secret that needs form-urlencoding before Basic encoding (RFC 6749 §2.3.1).
const EXCHANGE_SECRET: &str = "test only:secret+&";

/// What the in-test upstream saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    token: Option<String>,
    claims: Option<Value>,
    body: String,
    status: u16,
}

/// Recorders shared by the in-test token endpoint and upstream.
#[derive(Debug, Clone, Default)]
struct Obo {
    issuer: Arc<Mutex<String>>,
    upstream: Arc<Mutex<String>>,
    token_requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Obo {
    fn upstream(&self) -> String {
        self.upstream.lock().unwrap().clone()
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.token_requests.lock().unwrap().clone()
    }
}

fn oauth_error(status: StatusCode, error: &str) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "error": error })))
}

/// Verifies an RS256 token of the test AS; `audience` is checked when given.
fn verify(token: &str, issuer: &str, audience: Option<&str>) -> Option<Value> {
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.set_issuer(&[issuer]);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(AS_PUBLIC_PEM.as_bytes()).unwrap();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// A minimal token endpoint: token exchange and client_credentials for `todo-server`.
async fn token_endpoint(
    State(obo): State<Obo>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    obo.token_requests.lock().unwrap().push(form.clone());
    let issuer = obo.issuer.lock().unwrap().clone();
    if basic_credentials(&headers) != Some(("todo-server".into(), EXCHANGE_SECRET.into())) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let t = now();
    let field = |k: &str| form.get(k).map(String::as_str);
    let (sub, aud, scope, act) = match field("grant_type") {
        Some(TOKEN_EXCHANGE) => {
            if field("subject_token_type") != Some(ACCESS_TOKEN_TYPE) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            }
            let Some(subject) = verify(field("subject_token").unwrap_or(""), &issuer, None) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let held: Vec<&str> = subject["scope"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            let granted: Vec<&str> = match field("scope") {
                Some(requested) => requested
                    .split_whitespace()
                    .filter(|s| held.contains(s))
                    .collect(),
                None => held.clone(),
            };
            if granted.is_empty() {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
            }
            (
                subject["sub"].clone(),
                json!(field("audience").or(field("resource"))),
                granted.join(" "),
                Some(json!({ "sub": "todo-server" })),
            )
        }
        Some("client_credentials") => (
            json!("todo-server"),
            json!(field("resource")),
            field("scope").unwrap_or("").to_owned(),
            None,
        ),
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    let mut claims = json!({
        "iss": issuer, "sub": sub, "aud": aud, "exp": t + 300, "iat": t,
        "jti": format!("x-{}", obo.token_requests.lock().unwrap().len()),
        "client_id": "todo-server", "scope": scope,
    });
    if let Some(act) = act {
        claims["act"] = act;
    }
    (
        StatusCode::OK,
        Json(json!({
            "access_token": rs256(&claims), "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer", "expires_in": 300, "scope": scope,
        })),
    )
}

/// A strict upstream: `GET /api/digest` (todo:read), `POST /api/send` (todo:write); records
/// every request before answering it.
async fn upstream_endpoint(
    State(obo): State<Obo>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let issuer = obo.issuer.lock().unwrap().clone();
    let upstream = obo.upstream();
    let claims = token.as_deref().and_then(|t| verify(t, &issuer, None));
    let accepted = token
        .as_deref()
        .and_then(|t| verify(t, &issuer, Some(&upstream)));
    let needed = if uri.path().ends_with("/send") {
        "todo:write"
    } else {
        "todo:read"
    };
    let (status, answer) = match accepted {
        None => (
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid_token" }),
        ),
        Some(c)
            if !c["scope"]
                .as_str()
                .unwrap_or("")
                .split(' ')
                .any(|s| s == needed) =>
        {
            (
                StatusCode::FORBIDDEN,
                json!({ "error": "insufficient_scope" }),
            )
        }
        Some(c) if needed == "todo:write" => {
            (StatusCode::CREATED, json!({ "sent": true, "by": c["sub"] }))
        }
        Some(c) => (
            StatusCode::OK,
            json!({ "digest": ["3 unread"], "for": c["sub"] }),
        ),
    };
    obo.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: uri.path().to_owned(),
        token,
        claims,
        body,
        status: status.as_u16(),
    });
    (status, Json(answer))
}

impl Harness {
    /// A JWT-mode server with an upstream; the issuer also serves `/token`.
    async fn obo(defect: Option<ServerDefect>) -> (Harness, Obo) {
        let obo = Obo::default();
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *obo.upstream.lock().unwrap() = format!("http://{}/api", api.local_addr().unwrap());
        let upstream_router = Router::new()
            .route("/api/digest", get(upstream_endpoint))
            .route("/api/send", post(upstream_endpoint))
            .with_state(obo.clone());
        tokio::spawn(axum::serve(api, upstream_router).into_future());
        let o = obo.clone();
        let h = Harness::start_with(ValidationMode::Jwt, defect, move |issuer, config| {
            *o.issuer.lock().unwrap() = issuer.to_owned();
            config.upstream_url = Some(o.upstream());
            if let Some(client) = &mut config.introspection {
                client.client_secret = EXCHANGE_SECRET.into();
            }
            Router::new()
                .route("/token", post(token_endpoint))
                .with_state(o)
        })
        .await;
        (h, obo)
    }

    /// Calls `tool` as `token` in a fresh session; the JSON-RPC `result`.
    async fn tool(&self, token: &str, tool: &str, arguments: Value) -> Value {
        let session = self.initialize(token).await;
        let response = self.call(Some(token), &session, tool, arguments).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["result"].clone()
    }
}

fn result_text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap_or_default()
}

fn email() -> Value {
    json!({ "to": "carol@example.test", "body": "hi" })
}

#[tokio::test]
async fn tools_list_offers_the_upstream_tools_only_with_an_upstream() {
    let list = json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/list" });
    let names = |body: Value| -> Vec<String> {
        body["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (h, _) = Harness::obo(None).await;
    let alice = h.alice();
    let session = h.initialize(&alice).await;
    let body = h
        .post(Some(&alice), Some(&session), &list)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        names(body),
        [
            "list_todos",
            "create_todo",
            "delete_todo",
            "email_digest",
            "send_email"
        ]
    );

    let plain = Harness::jwt(None).await;
    let alice = plain.alice();
    let session = plain.initialize(&alice).await;
    let body: Value = plain
        .post(Some(&alice), Some(&session), &list)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(body), ["list_todos", "create_todo", "delete_todo"]);
    let unknown = plain
        .call(Some(&alice), &session, "email_digest", json!({}))
        .await;
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32602);
}

#[tokio::test]
async fn email_digest_exchanges_the_token_and_calls_upstream_with_the_exchanged_one() {
    let (h, obo) = Harness::obo(None).await;
    let bob = h.bob();
    let result = h.tool(&bob, "email_digest", json!({})).await;
    assert_eq!(result["isError"], false, "{result}");
    let upstream_json: Value = serde_json::from_str(result_text(&result)).unwrap();
    assert_eq!(upstream_json["for"], "bob");

    let exchanges = obo.token_requests();
    assert_eq!(exchanges.len(), 1);
    let x = &exchanges[0];
    assert_eq!(x["grant_type"], TOKEN_EXCHANGE);
    assert_eq!(x["subject_token"], bob);
    assert_eq!(x["subject_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(x["audience"], obo.upstream());
    assert_eq!(x["scope"], "todo:read");

    let seen = obo.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.status),
        ("GET", "/api/digest", 200)
    );
    assert_ne!(
        s.token.as_deref(),
        Some(bob.as_str()),
        "the caller's token reached upstream"
    );
    let claims = s.claims.as_ref().unwrap();
    assert_eq!(claims["aud"], obo.upstream());
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["act"]["sub"], "todo-server");
    assert_eq!(claims["scope"], "todo:read");
}

#[tokio::test]
async fn send_email_for_a_read_only_user_is_a_tool_error_and_upstream_sees_nothing() {
    let (h, obo) = Harness::obo(None).await;
    let result = h.tool(&h.bob(), "send_email", email()).await;
    assert_eq!(result["isError"], true, "{result}");
    assert!(result_text(&result).contains("invalid_scope"), "{result}");
    assert_eq!(obo.token_requests()[0]["scope"], "todo:write");
    assert!(
        obo.seen().is_empty(),
        "upstream was called: {:?}",
        obo.seen()
    );
}

#[tokio::test]
async fn send_email_for_a_writer_posts_with_a_write_token_and_bad_arguments_are_refused() {
    let (h, obo) = Harness::obo(None).await;
    let alice = h.alice();
    let result = h.tool(&alice, "send_email", email()).await;
    assert_eq!(result["isError"], false, "{result}");
    let seen = obo.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (
            seen[0].method.as_str(),
            seen[0].path.as_str(),
            seen[0].status
        ),
        ("POST", "/api/send", 201)
    );
    assert_eq!(
        serde_json::from_str::<Value>(&seen[0].body).unwrap(),
        email()
    );
    assert_eq!(seen[0].claims.as_ref().unwrap()["scope"], "todo:write");

    let session = h.initialize(&alice).await;
    let response = h
        .call(Some(&alice), &session, "send_email", json!({ "to": "x" }))
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32602);
    assert_eq!(obo.seen().len(), 1);
}

#[tokio::test]
async fn an_upstream_refusal_is_a_tool_error() {
    let (h, obo) = Harness::obo(None).await;
    // The upstream now expects another audience, so it answers the exchanged token 401.
    *obo.upstream.lock().unwrap() = "http://127.0.0.1:1/other".into();
    let result = h.tool(&h.alice(), "email_digest", json!({})).await;
    assert_eq!(result["isError"], true, "{result}");
    assert!(result_text(&result).contains("401"), "{result}");
    assert_eq!(obo.seen().len(), 1);
}

/// Whether the on-behalf-of protection `defect` turns off is observably missing on `h`.
async fn obo_hole_is_open(h: &Harness, obo: &Obo, defect: ServerDefect) -> bool {
    let (alice, bob) = (h.alice(), h.bob());
    h.tool(&alice, "email_digest", json!({})).await;
    h.tool(&bob, "send_email", email()).await;
    let seen = obo.seen();
    match defect {
        ServerDefect::PassthroughUserToken => seen
            .iter()
            .any(|s| s.token.as_deref() == Some(&alice) || s.token.as_deref() == Some(&bob)),
        // A read-only user's write is accepted upstream.
        ServerDefect::UpstreamWithServerCredentials => seen
            .iter()
            .any(|s| s.path == "/api/send" && s.status == 201),
        ServerDefect::ExchangeExcessScope => seen.iter().any(|s| {
            s.path == "/api/digest"
                && s.claims
                    .as_ref()
                    .is_some_and(|c| c["scope"].as_str().unwrap_or("").contains("todo:write"))
        }),
        ServerDefect::ExchangeWrongAudience => seen.iter().any(|s| {
            s.claims
                .as_ref()
                .is_some_and(|c| c["aud"] != obo.upstream())
        }),
        other => unreachable!("not an on-behalf-of defect: {other}"),
    }
}

#[rstest]
#[case::passthrough_user_token(ServerDefect::PassthroughUserToken)]
#[case::upstream_with_server_credentials(ServerDefect::UpstreamWithServerCredentials)]
#[case::exchange_excess_scope(ServerDefect::ExchangeExcessScope)]
#[case::exchange_wrong_audience(ServerDefect::ExchangeWrongAudience)]
#[tokio::test]
async fn obo_defect_opens_its_hole_which_the_compliant_server_keeps_closed(
    #[case] defect: ServerDefect,
) {
    let (compliant, obo) = Harness::obo(None).await;
    assert!(
        !obo_hole_is_open(&compliant, &obo, defect).await,
        "compliant server shows the hole of {defect}"
    );
    let (defective, obo) = Harness::obo(Some(defect)).await;
    assert!(
        obo_hole_is_open(&defective, &obo, defect).await,
        "{defect} does not open its hole"
    );
}
