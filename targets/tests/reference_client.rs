//! End-to-end tests of the reference MCP client against a small in-test fake: one axum listener
//! on 127.0.0.1:0 playing the MCP server (at `/mcp`), its PRM host and one authorization server
//! (issuer = the listener's origin). Every request is recorded before it is answered.

use std::collections::HashMap;
use std::future::IntoFuture as _;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mcp_auth_targets::client::{self, ClientContext, ClientDefect, ClientEnv, ClientError};
use rstest::rstest;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

// ----- the fake --------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StateMode {
    Echo,
    Altered,
}

#[derive(Debug, Clone)]
struct FakeConfig {
    /// `resource_metadata` in the 401 challenge (path-inserted PRM URL).
    header: bool,
    /// `scope` in the 401 challenge.
    challenge_scope: Option<&'static str>,
    prm_path: bool,
    prm_root: bool,
    prm_resource: Option<&'static str>,
    scopes_supported: Option<Vec<&'static str>>,
    /// Serve RFC 8414 metadata at the root well-known URL.
    rfc8414: bool,
    /// Serve OIDC metadata at the root well-known URL.
    oidc: bool,
    /// Merged into the metadata (null removes).
    metadata_patch: Value,
    state: StateMode,
    /// tools/call needs this scope; else 403 with `step_up_scope`.
    tools_call_scope: Option<&'static str>,
    step_up_scope: &'static str,
    /// An access token is rejected (401 invalid_token) after this many uses.
    expire_after: Option<usize>,
    /// After this many successful MCP requests the PRM lists AS2 (issuer `<base>/as2`) and AS1
    /// tokens are rejected.
    migrate_after: Option<usize>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            header: true,
            challenge_scope: None,
            prm_path: true,
            prm_root: false,
            prm_resource: None,
            scopes_supported: Some(vec!["todo:read", "todo:write"]),
            rfc8414: true,
            oidc: false,
            metadata_patch: json!({}),
            state: StateMode::Echo,
            tools_call_scope: None,
            step_up_scope: "todo:read todo:write",
            expire_after: None,
            migrate_after: None,
        }
    }
}

#[derive(Debug, Clone)]
struct Logged {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    authorization: Option<String>,
}

impl Logged {
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn f(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

struct CodeGrant {
    challenge: Option<String>,
    method: Option<String>,
    scope: Option<String>,
    issuer: String,
}

#[derive(Default)]
struct World {
    log: Vec<Logged>,
    codes: HashMap<String, CodeGrant>,
    /// access token → (scope, uses)
    tokens: HashMap<String, (Option<String>, usize, String)>,
    /// live refresh token → scope (rotation: a used one is removed)
    refresh: HashMap<String, (Option<String>, String)>,
    successes: usize,
    migrated: bool,
    counter: usize,
}

#[derive(Clone)]
struct Fake {
    base: String,
    cfg: Arc<FakeConfig>,
    world: Arc<Mutex<World>>,
}

impl Fake {
    async fn start(cfg: FakeConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fake = Fake {
            base,
            cfg: Arc::new(cfg),
            world: Arc::default(),
        };
        let app = Router::new().fallback(handle).with_state(fake.clone());
        tokio::spawn(axum::serve(listener, app).into_future());
        fake
    }

    fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    fn log(&self) -> Vec<Logged> {
        self.world.lock().unwrap().log.clone()
    }

    fn paths(&self) -> Vec<String> {
        self.log().into_iter().map(|l| l.path).collect()
    }

    fn requests_to(&self, path: &str) -> Vec<Logged> {
        self.log().into_iter().filter(|l| l.path == path).collect()
    }

    fn next(&self, prefix: &str) -> String {
        let mut w = self.world.lock().unwrap();
        w.counter += 1;
        format!("{prefix}-{}", w.counter)
    }

    fn current_issuer(&self) -> String {
        if self.world.lock().unwrap().migrated {
            format!("{}/as2", self.base)
        } else {
            self.base.clone()
        }
    }

    fn metadata(&self, prefix: &str) -> Value {
        let b = &format!("{}{prefix}", self.base);
        let mut doc = json!({
            "issuer": b,
            "authorization_endpoint": format!("{b}/authorize"),
            "token_endpoint": format!("{b}/token"),
            "registration_endpoint": format!("{b}/register"),
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": true,
            "x_unknown": {"nested": true},
        });
        for (k, v) in self.cfg.metadata_patch.as_object().unwrap() {
            if v.is_null() {
                doc.as_object_mut().unwrap().remove(k);
            } else {
                doc[k] = v.clone();
            }
        }
        doc
    }

    fn challenge_401(&self, error: Option<&str>) -> String {
        let mut parts = Vec::new();
        if let Some(e) = error {
            parts.push(format!("error=\"{e}\""));
        }
        if self.cfg.header {
            parts.push(format!(
                "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
                self.base
            ));
        }
        if let (Some(s), None) = (self.cfg.challenge_scope, error) {
            parts.push(format!("scope=\"{s}\""));
        }
        // A DPoP challenge first, lowercase bearer: the client must still find its way.
        format!("DPoP algs=\"ES256\", bearer {}", parts.join(", "))
    }
}

fn pairs(s: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn handle(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    let entry = Logged {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: pairs(uri.query().unwrap_or("")),
        form: pairs(&body),
        authorization: headers
            .get("authorization")
            .map(|v| v.to_str().unwrap_or("").to_owned()),
    };
    fake.world.lock().unwrap().log.push(entry.clone());
    let cfg = fake.cfg.clone();
    let prm = || {
        let mut doc = json!({
            "resource": cfg.prm_resource.map(str::to_owned).unwrap_or_else(|| fake.mcp_url()),
            "authorization_servers": [fake.current_issuer()],
            "x_unknown": 1,
        });
        if let Some(s) = &cfg.scopes_supported {
            doc["scopes_supported"] = json!(s);
        }
        json_response(StatusCode::OK, doc)
    };
    let not_found = || StatusCode::NOT_FOUND.into_response();
    let (prefix, path) = match uri.path().strip_prefix("/as2/") {
        Some(rest) => ("/as2", format!("/{rest}")),
        None => ("", uri.path().to_owned()),
    };
    match (method.as_str(), path.as_str()) {
        ("GET", "/.well-known/oauth-authorization-server/as2") => {
            json_response(StatusCode::OK, fake.metadata("/as2"))
        }
        ("GET", "/.well-known/oauth-protected-resource/mcp") if cfg.prm_path => prm(),
        ("GET", "/.well-known/oauth-protected-resource") if cfg.prm_root => prm(),
        ("GET", "/.well-known/oauth-authorization-server") if cfg.rfc8414 => {
            json_response(StatusCode::OK, fake.metadata(""))
        }
        ("GET", "/.well-known/openid-configuration") if cfg.oidc => {
            json_response(StatusCode::OK, fake.metadata(""))
        }
        ("POST", "/register") => {
            let id = fake.next("dcr-client");
            json_response(
                StatusCode::CREATED,
                json!({"client_id": id, "token_endpoint_auth_method": "none"}),
            )
        }
        ("GET", "/authorize") => authorize(&fake, &entry, prefix),
        ("POST", "/token") => token(&fake, &entry),
        ("POST", "/mcp") => mcp(&fake, &entry, &body),
        _ => not_found(),
    }
}

fn authorize(fake: &Fake, req: &Logged, prefix: &str) -> Response {
    let issuer = format!("{}{prefix}", fake.base);
    let code = fake.next("code");
    fake.world.lock().unwrap().codes.insert(
        code.clone(),
        CodeGrant {
            challenge: req.q("code_challenge").map(str::to_owned),
            method: req.q("code_challenge_method").map(str::to_owned),
            scope: req.q("scope").map(str::to_owned),
            issuer: issuer.clone(),
        },
    );
    let state = match fake.cfg.state {
        StateMode::Echo => req.q("state").unwrap_or("").to_owned(),
        StateMode::Altered => "tampered".to_owned(),
    };
    let location = format!(
        "{}?{}",
        req.q("redirect_uri").unwrap_or(""),
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", &state)
            .append_pair("iss", &issuer)
            .finish()
    );
    (StatusCode::FOUND, [("location", location)]).into_response()
}

fn issue(fake: &Fake, scope: Option<String>, issuer: String) -> Response {
    let access = format!("{}-{}", fake.next("at"), "x".repeat(2000));
    let refresh = fake.next("rt");
    let mut w = fake.world.lock().unwrap();
    w.tokens
        .insert(access.clone(), (scope.clone(), 0, issuer.clone()));
    w.refresh.insert(refresh.clone(), (scope.clone(), issuer));
    let mut body = json!({"access_token": access, "token_type": "Bearer", "expires_in": 60,
                          "refresh_token": refresh, "x_extra": [1, 2]});
    if let Some(s) = scope {
        body["scope"] = json!(s);
    }
    json_response(StatusCode::OK, body)
}

fn token(fake: &Fake, req: &Logged) -> Response {
    let bad = |e: &str| json_response(StatusCode::BAD_REQUEST, json!({"error": e}));
    match req.f("grant_type") {
        Some("authorization_code") => {
            let Some(grant) = req
                .f("code")
                .and_then(|c| fake.world.lock().unwrap().codes.remove(c))
            else {
                return bad("invalid_grant");
            };
            if let Some(challenge) = &grant.challenge {
                let verifier = req.f("code_verifier").unwrap_or("");
                let computed = match grant.method.as_deref() {
                    Some("S256") => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
                    _ => verifier.to_owned(),
                };
                if &computed != challenge {
                    return bad("invalid_grant");
                }
            }
            issue(fake, grant.scope, grant.issuer)
        }
        Some("refresh_token") => {
            let rt = req.f("refresh_token").unwrap_or("");
            let Some((scope, issuer)) = fake.world.lock().unwrap().refresh.remove(rt) else {
                return bad("invalid_grant");
            };
            issue(fake, scope, issuer)
        }
        _ => bad("unsupported_grant_type"),
    }
}

fn mcp(fake: &Fake, req: &Logged, body: &str) -> Response {
    let message: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let rpc_method = message["method"].as_str().unwrap_or("");
    let token = req
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned);
    let unauthorized = |error: Option<&str>| {
        (
            StatusCode::UNAUTHORIZED,
            [("www-authenticate", fake.challenge_401(error))],
        )
            .into_response()
    };
    let Some(token) = token else {
        return unauthorized(None);
    };
    let scope = {
        let mut w = fake.world.lock().unwrap();
        let current = if w.migrated {
            format!("{}/as2", fake.base)
        } else {
            fake.base.clone()
        };
        let Some((scope, uses, issuer)) = w.tokens.get_mut(&token) else {
            drop(w);
            return unauthorized(Some("invalid_token"));
        };
        if fake.cfg.expire_after.is_some_and(|n| *uses >= n) || *issuer != current {
            drop(w);
            return unauthorized(Some("invalid_token"));
        }
        *uses += 1;
        scope.clone()
    };
    if let (Some(needed), "tools/call") = (fake.cfg.tools_call_scope, rpc_method) {
        if !scope.unwrap_or_default().split(' ').any(|s| s == needed) {
            let challenge = format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
                fake.cfg.step_up_scope, fake.base
            );
            return (StatusCode::FORBIDDEN, [("www-authenticate", challenge)]).into_response();
        }
    }
    {
        let mut w = fake.world.lock().unwrap();
        w.successes += 1;
        if fake.cfg.migrate_after == Some(w.successes) {
            w.migrated = true;
        }
    }
    if message.get("id").is_none() {
        return StatusCode::ACCEPTED.into_response();
    }
    let result = match rpc_method {
        "initialize" => {
            json!({"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "fake", "version": "0"}})
        }
        "tools/list" => {
            json!({"tools": [{"name": "list_todos", "inputSchema": {"type": "object"}}]})
        }
        _ => json!({"content": [{"type": "text", "text": "[]"}]}),
    };
    let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
    if rpc_method == "tools/list" {
        // Exercise the SSE reply path.
        let sse = format!("event: message\ndata: {reply}\n\n");
        return (
            StatusCode::OK,
            [
                ("content-type", "text/event-stream"),
                ("mcp-session-id", "s-1"),
            ],
            sse,
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [
            ("content-type", "application/json"),
            ("mcp-session-id", "s-1"),
        ],
        reply.to_string(),
    )
        .into_response()
}

// ----- helpers ---------------------------------------------------------------------------

async fn run_with(
    cfg: FakeConfig,
    defect: Option<ClientDefect>,
) -> (Fake, Result<(), ClientError>) {
    let fake = Fake::start(cfg).await;
    let result = client::run(&fake.mcp_url(), &ClientEnv::default(), defect).await;
    (fake, result)
}

fn is_metadata_path(p: &str) -> bool {
    p.contains("oauth-authorization-server") || p.contains("openid-configuration")
}

// ----- compliant behaviour ---------------------------------------------------------------

#[tokio::test]
async fn happy_path_completes_with_pkce_resource_and_bearer_everywhere() {
    let (fake, result) = run_with(FakeConfig::default(), None).await;
    result.unwrap();
    let auth = &fake.requests_to("/authorize")[0];
    assert_eq!(auth.q("code_challenge_method"), Some("S256"));
    assert_eq!(auth.q("resource"), Some(fake.mcp_url().as_str()));
    assert_eq!(auth.q("scope"), Some("todo:read todo:write"));
    assert!(auth
        .q("redirect_uri")
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    let token = &fake.requests_to("/token")[0];
    assert_eq!(token.f("resource"), Some(fake.mcp_url().as_str()));
    assert_eq!(token.f("client_id"), Some("dcr-client-1"));
    assert_eq!(token.f("code_verifier").unwrap().len(), 43);
    let mcp = fake.requests_to("/mcp");
    let methods_after_auth: Vec<_> = mcp.iter().skip(1).collect();
    assert_eq!(
        methods_after_auth.len(),
        4,
        "initialize, initialized, tools/list, tools/call"
    );
    assert!(methods_after_auth.iter().all(|l| l
        .authorization
        .as_deref()
        .is_some_and(|a| a.starts_with("Bearer "))));
    assert!(mcp.iter().all(|l| l.query.is_empty()));
    assert!(fake
        .paths()
        .iter()
        .all(|p| p != "/.well-known/oauth-protected-resource"));
}

#[tokio::test]
async fn discovery_probes_path_then_root_prm_and_rfc8414_then_oidc() {
    let cfg = FakeConfig {
        header: false,
        prm_path: false,
        prm_root: true,
        prm_resource: None,
        rfc8414: false,
        oidc: true,
        ..FakeConfig::default()
    };
    let (fake, result) = run_with(cfg, None).await;
    result.unwrap();
    let discovery: Vec<String> = fake
        .paths()
        .into_iter()
        .filter(|p| p.starts_with("/.well-known/"))
        .collect();
    assert_eq!(
        discovery,
        [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
        ]
    );
}

#[tokio::test]
async fn prm_resource_mismatch_is_refused_before_any_as_request() {
    let cfg = FakeConfig {
        prm_resource: Some("https://evil.example/mcp"),
        ..FakeConfig::default()
    };
    let (fake, result) = run_with(cfg, None).await;
    assert!(
        matches!(result, Err(ClientError::ResourceMismatch { .. })),
        "{result:?}"
    );
    let paths = fake.paths();
    assert!(paths.contains(&"/.well-known/oauth-protected-resource/mcp".to_owned()));
    assert!(!paths
        .iter()
        .any(|p| is_metadata_path(p) || p == "/authorize" || p == "/register"));
}

#[tokio::test]
async fn missing_code_challenge_methods_is_refused_before_authorization() {
    let cfg = FakeConfig {
        metadata_patch: json!({"code_challenge_methods_supported": null}),
        ..FakeConfig::default()
    };
    let (fake, result) = run_with(cfg, None).await;
    assert!(matches!(result, Err(ClientError::Pkce(_))), "{result:?}");
    assert!(fake.paths().iter().any(|p| is_metadata_path(p)));
    assert!(fake.requests_to("/authorize").is_empty());
}

#[tokio::test]
async fn plain_only_metadata_is_refused() {
    let cfg = FakeConfig {
        metadata_patch: json!({"code_challenge_methods_supported": ["plain"]}),
        ..FakeConfig::default()
    };
    let (fake, result) = run_with(cfg, None).await;
    assert!(matches!(result, Err(ClientError::Pkce(_))), "{result:?}");
    assert!(fake.requests_to("/authorize").is_empty());
}

#[tokio::test]
async fn issuer_mismatch_is_refused() {
    let cfg = FakeConfig {
        metadata_patch: json!({"issuer": "https://evil.example"}),
        ..FakeConfig::default()
    };
    let (fake, result) = run_with(cfg, None).await;
    assert!(
        matches!(result, Err(ClientError::IssuerMismatch { .. })),
        "{result:?}"
    );
    assert!(fake.requests_to("/authorize").is_empty());
}

#[tokio::test]
async fn tampered_state_is_refused_without_token_request() {
    let cfg = FakeConfig {
        state: StateMode::Altered,
        ..FakeConfig::default()
    };
    let (fake, result) = run_with(cfg, None).await;
    assert!(
        matches!(result, Err(ClientError::Authorization(_))),
        "{result:?}"
    );
    assert_eq!(fake.requests_to("/authorize").len(), 1);
    assert!(fake.requests_to("/token").is_empty());
}

fn step_up_config() -> FakeConfig {
    FakeConfig {
        challenge_scope: Some("todo:read"),
        tools_call_scope: Some("todo:write"),
        ..FakeConfig::default()
    }
}

#[tokio::test]
async fn challenge_scope_first_then_step_up_with_the_union() {
    let (fake, result) = run_with(step_up_config(), None).await;
    result.unwrap();
    let auths = fake.requests_to("/authorize");
    assert_eq!(auths.len(), 2);
    assert_eq!(auths[0].q("scope"), Some("todo:read"));
    assert_eq!(auths[1].q("scope"), Some("todo:read todo:write"));
    assert_ne!(auths[0].q("code_challenge"), auths[1].q("code_challenge"));
    let calls: Vec<_> = fake.requests_to("/mcp");
    assert_eq!(
        calls.len(),
        6,
        "1 unauthorized + init, initialized, list, call (403), call retry"
    );
}

#[tokio::test]
async fn step_up_stops_after_three_authorizations() {
    let cfg = FakeConfig {
        tools_call_scope: Some("todo:admin"),
        step_up_scope: "todo:read",
        ..FakeConfig::default()
    };
    let (fake, result) = run_with(cfg, None).await;
    assert!(
        matches!(result, Err(ClientError::RetryLimit { .. })),
        "{result:?}"
    );
    assert_eq!(fake.requests_to("/authorize").len(), 3);
}

#[tokio::test]
async fn refresh_always_uses_the_rotated_refresh_token() {
    let cfg = FakeConfig {
        expire_after: Some(1),
        ..FakeConfig::default()
    };
    let (fake, result) = run_with(cfg, None).await;
    result.unwrap();
    let refreshes: Vec<Logged> = fake
        .requests_to("/token")
        .into_iter()
        .filter(|l| l.f("grant_type") == Some("refresh_token"))
        .collect();
    assert_eq!(refreshes.len(), 3);
    let used: Vec<&str> = refreshes
        .iter()
        .map(|l| l.f("refresh_token").unwrap())
        .collect();
    assert_eq!(
        used,
        ["rt-4", "rt-6", "rt-8"],
        "each refresh uses the previous response's RT"
    );
    for r in &refreshes {
        assert_eq!(r.f("resource"), Some(fake.mcp_url().as_str()));
        assert_eq!(r.f("scope"), None);
        assert!(r.f("client_id").is_some());
    }
    assert_eq!(fake.requests_to("/authorize").len(), 1);
}

// ----- defects open their hole (and the compliant client keeps it shut) ------------------

type Probe = fn(&Fake) -> bool;

fn first_auth(f: &Fake) -> Logged {
    f.requests_to("/authorize").remove(0)
}

#[rstest]
#[case::no_pkce(ClientDefect::NoPkce, FakeConfig::default, (|f| first_auth(f).q("code_challenge").is_none()) as Probe)]
#[case::plain_pkce(ClientDefect::PlainPkce, FakeConfig::default, (|f| first_auth(f).q("code_challenge_method") == Some("plain")) as Probe)]
#[case::short_verifier(ClientDefect::ShortVerifier, FakeConfig::default, (|f| f.requests_to("/token")[0].f("code_verifier").unwrap().len() < 43) as Probe)]
#[case::static_challenge(ClientDefect::StaticPkceChallenge, step_up_config, (|f| { let a = f.requests_to("/authorize"); a.len() == 2 && a[0].q("code_challenge") == a[1].q("code_challenge") }) as Probe)]
#[case::root_first(ClientDefect::RootFirstDiscovery, || FakeConfig { header: false, prm_root: true, ..FakeConfig::default() }, (|f| f.paths().iter().any(|p| p == "/.well-known/oauth-protected-resource")) as Probe)]
#[case::ignore_header(ClientDefect::IgnoreHeaderResourceMetadata, || FakeConfig { prm_path: false, ..FakeConfig::default() }, (|f| f.paths().iter().any(|p| p == "/.well-known/oauth-protected-resource")) as Probe)]
#[case::oidc_first(ClientDefect::OidcFirst, FakeConfig::default, (|f| f.paths().iter().any(|p| p == "/.well-known/openid-configuration")) as Probe)]
#[case::metadata_via_post(ClientDefect::MetadataViaPost, FakeConfig::default, (|f| f.log().iter().any(|l| l.method == "POST" && is_metadata_path(&l.path))) as Probe)]
#[case::ignore_prm_mismatch(ClientDefect::IgnorePrmResourceMismatch, || FakeConfig { prm_resource: Some("https://evil.example/mcp"), ..FakeConfig::default() }, (|f| !f.requests_to("/authorize").is_empty()) as Probe)]
#[case::ignore_issuer_mismatch(ClientDefect::IgnoreIssuerMismatch, || FakeConfig { metadata_patch: json!({"issuer": "https://evil.example"}), ..FakeConfig::default() }, (|f| !f.requests_to("/authorize").is_empty()) as Probe)]
#[case::proceed_without_pkce_metadata(ClientDefect::ProceedWithoutPkceMetadata, || FakeConfig { metadata_patch: json!({"code_challenge_methods_supported": null}), ..FakeConfig::default() }, (|f| !f.requests_to("/authorize").is_empty()) as Probe)]
#[case::use_plain_when_only_plain(ClientDefect::UsePlainWhenOnlyPlain, || FakeConfig { metadata_patch: json!({"code_challenge_methods_supported": ["plain"]}), ..FakeConfig::default() }, (|f| f.requests_to("/authorize").iter().any(|a| a.q("code_challenge_method") == Some("plain"))) as Probe)]
#[case::no_resource(ClientDefect::NoResource, FakeConfig::default, (|f| first_auth(f).q("resource").is_none()) as Probe)]
#[case::resource_origin_only(ClientDefect::ResourceOriginOnly, FakeConfig::default, (|f| first_auth(f).q("resource") == Some(f.base.as_str())) as Probe)]
#[case::ignore_challenge_scope(ClientDefect::IgnoreChallengeScope, step_up_config, (|f| first_auth(f).q("scope") == Some("todo:read todo:write")) as Probe)]
#[case::send_scope_when_undefined(ClientDefect::SendScopeWhenUndefined, || FakeConfig { scopes_supported: None, ..FakeConfig::default() }, (|f| first_auth(f).q("scope").is_some()) as Probe)]
#[case::no_step_up(ClientDefect::NoStepUp, step_up_config, (|f| f.requests_to("/authorize").len() == 1) as Probe)]
#[case::token_in_query(ClientDefect::TokenInQuery, FakeConfig::default, (|f| f.requests_to("/mcp").iter().any(|l| l.q("access_token").is_some())) as Probe)]
#[case::token_only_on_first(ClientDefect::TokenOnlyOnFirstRequest, FakeConfig::default, (|f| f.requests_to("/mcp").iter().skip(1).any(|l| l.authorization.is_none())) as Probe)]
#[case::no_state_check(ClientDefect::NoStateCheck, || FakeConfig { state: StateMode::Altered, ..FakeConfig::default() }, (|f| !f.requests_to("/token").is_empty()) as Probe)]
#[case::reuse_old_rt(ClientDefect::ReuseOldRefreshToken, || FakeConfig { expire_after: Some(1), ..FakeConfig::default() }, (|f| { let r: Vec<_> = f.requests_to("/token").into_iter().filter_map(|l| l.f("refresh_token").map(str::to_owned)).collect(); r.len() >= 2 && r[0] == r[1] }) as Probe)]
#[case::refresh_scope_escalation(ClientDefect::RefreshScopeEscalation, || FakeConfig { expire_after: Some(1), ..FakeConfig::default() }, (|f| f.requests_to("/token").iter().any(|l| l.f("grant_type") == Some("refresh_token") && l.f("scope").is_some_and(|s| s.contains("todo:admin")))) as Probe)]
#[case::json_token_request(ClientDefect::JsonTokenRequest, FakeConfig::default, (|f| f.requests_to("/token")[0].f("grant_type").is_none()) as Probe)]
#[case::localhost_redirect(ClientDefect::LocalhostRedirect, FakeConfig::default, (|f| first_auth(f).q("redirect_uri").unwrap().starts_with("http://localhost:")) as Probe)]
#[case::no_client_id(ClientDefect::NoClientIdInTokenRequest, FakeConfig::default, (|f| f.requests_to("/token")[0].f("client_id").is_none()) as Probe)]
#[case::no_dcr(ClientDefect::NoDcr, FakeConfig::default, (|f| f.requests_to("/register").is_empty()) as Probe)]
#[tokio::test]
async fn defect_opens_exactly_its_hole(
    #[case] defect: ClientDefect,
    #[case] config: fn() -> FakeConfig,
    #[case] hole_open: Probe,
) {
    let (compliant, _) = run_with(config(), None).await;
    assert!(
        !hole_open(&compliant),
        "the compliant client already shows the hole of {defect}"
    );
    let (broken, _) = run_with(config(), Some(defect)).await;
    assert!(
        hole_open(&broken),
        "{defect} did not open its hole: {:?}",
        broken.paths()
    );
}

#[tokio::test]
async fn pre_registered_credentials_use_basic_and_skip_registration() {
    let fake = Fake::start(FakeConfig {
        metadata_patch: json!({"token_endpoint_auth_methods_supported": ["client_secret_basic"]}),
        ..FakeConfig::default()
    })
    .await;
    let env = ClientEnv {
        context: ClientContext {
            name: "auth/pre-registration".into(),
            client_id: Some("pre id".into()),
            client_secret: Some(client::ClientSecret::new("s:ecret")),
            ..ClientContext::default()
        },
        ..ClientEnv::default()
    };
    client::run(&fake.mcp_url(), &env, None).await.unwrap();
    assert!(fake.requests_to("/register").is_empty());
    let token = &fake.requests_to("/token")[0];
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("pre+id:s%3Aecret")
    );
    assert_eq!(token.authorization.as_deref(), Some(expected.as_str()));
    assert_eq!(token.f("client_secret"), None);
}

#[tokio::test]
async fn cimd_url_is_the_client_id_when_supported() {
    let fake = Fake::start(FakeConfig {
        metadata_patch: json!({"client_id_metadata_document_supported": true}),
        ..FakeConfig::default()
    })
    .await;
    let url = "https://client.conformance.test/client.json";
    let env = ClientEnv {
        context: ClientContext {
            name: "auth/basic-cimd".into(),
            client_metadata_url: Some(url.into()),
            ..ClientContext::default()
        },
        ..ClientEnv::default()
    };
    client::run(&fake.mcp_url(), &env, None).await.unwrap();
    assert!(fake.requests_to("/register").is_empty());
    assert_eq!(first_auth(&fake).q("client_id"), Some(url));
}

#[tokio::test]
async fn binary_exits_zero_on_success_and_one_on_refusal() {
    let ok = Fake::start(FakeConfig::default()).await;
    let bad = Fake::start(FakeConfig {
        state: StateMode::Altered,
        ..FakeConfig::default()
    })
    .await;
    let exe = env!("CARGO_BIN_EXE_reference-client");
    let out = tokio::process::Command::new(exe)
        .arg(ok.mcp_url())
        .output()
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tokio::process::Command::new(exe)
        .arg(bad.mcp_url())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = tokio::process::Command::new(exe)
        .args(["--defect", "nope", "http://x/mcp"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

// ----- authorization-server migration ----------------------------------------------------

fn migration_config() -> FakeConfig {
    FakeConfig {
        migrate_after: Some(3),
        ..FakeConfig::default()
    }
}

/// MCP requests that carried an AS1 token after the client fetched the PRM listing AS2.
fn as1_tokens_after_learning(fake: &Fake) -> usize {
    let log = fake.log();
    let Some(first_as2) = log.iter().position(|l| l.path.contains("as2")) else {
        return 0;
    };
    // The client learned of AS2 from the last PRM fetch before it first contacted AS2.
    let learned = log[..first_as2]
        .iter()
        .rposition(|l| l.path.starts_with("/.well-known/oauth-protected-resource"))
        .unwrap_or(first_as2);
    let as1_tokens: Vec<String> = {
        let w = fake.world.lock().unwrap();
        w.tokens
            .iter()
            .filter(|(_, (_, _, iss))| *iss == fake.base)
            .map(|(t, _)| format!("Bearer {t}"))
            .collect()
    };
    log[learned..]
        .iter()
        .filter(|l| {
            l.path == "/mcp"
                && l.authorization
                    .as_ref()
                    .is_some_and(|a| as1_tokens.contains(a))
        })
        .count()
}

#[tokio::test]
async fn migration_rediscovers_and_never_resends_the_old_token() {
    let (fake, result) = run_with(migration_config(), None).await;
    result.unwrap();
    let paths = fake.paths();
    assert!(paths.contains(&"/.well-known/oauth-authorization-server/as2".to_owned()));
    assert_eq!(fake.requests_to("/as2/authorize").len(), 1);
    assert_eq!(
        fake.requests_to("/as2/register").len(),
        1,
        "a new registration at AS2"
    );
    assert_eq!(as1_tokens_after_learning(&fake), 0);
}

#[tokio::test]
async fn migration_defects_leak_or_ignore() {
    let (fake, _) = run_with(
        migration_config(),
        Some(ClientDefect::SendTokenToOtherServer),
    )
    .await;
    assert!(as1_tokens_after_learning(&fake) > 0);
    let (fake, result) = run_with(migration_config(), Some(ClientDefect::IgnoreMigration)).await;
    assert!(result.is_err());
    assert!(fake.requests_to("/as2/authorize").is_empty());
}

/// The client_id AS1's registration endpoint issued.
fn as1_client_id(fake: &Fake) -> String {
    let first_authorize = fake.requests_to("/authorize");
    first_authorize[0].q("client_id").unwrap().to_owned()
}

#[tokio::test]
async fn migration_registers_anew_at_the_new_as() {
    let (fake, result) = run_with(migration_config(), None).await;
    result.unwrap();
    let as1_client = as1_client_id(&fake);
    let at_as2 = fake.requests_to("/as2/authorize");
    assert_ne!(at_as2[0].q("client_id"), Some(as1_client.as_str()));
    assert!(fake
        .requests_to("/as2/token")
        .iter()
        .all(|t| t.f("client_id") != Some(as1_client.as_str())));
}

#[tokio::test]
async fn reuse_client_across_as_presents_the_old_client_id_to_the_new_as() {
    let (fake, _) = run_with(migration_config(), Some(ClientDefect::ReuseClientAcrossAs)).await;
    assert!(fake.requests_to("/as2/register").is_empty());
    let as1_client = as1_client_id(&fake);
    let at_as2 = fake.requests_to("/as2/authorize");
    assert_eq!(at_as2[0].q("client_id"), Some(as1_client.as_str()));
}
