//! No secret in any report, by structure: every role's bundled reference run, and a hostile authorization server
//! that hides marker secrets in odd places, leave no secret the run saw whole in any rendered report file
//! (`report.json`, `report.md`, `junit.xml`, `report.html`).
//!
//! The secrets to look for are harvested from the raw evidence (what the wire carried, before the report was
//! sealed) by this file's own rules, plus the secrets the suite registered (minted tokens, passwords) and the
//! hostile server's markers.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mcp_auth_conformance::authz::{self, AuthzOptions, AuthzTarget};
use mcp_auth_conformance::client::{self, ClientOptions};
use mcp_auth_conformance::evidence::EvidenceLog;
use mcp_auth_conformance::http::Limits;
use mcp_auth_conformance::server::{self, ServerOptions};
use mcp_auth_reports::{render, Exchange, Report};
use mcp_auth_targets::ValidationMode;
use serde_json::{json, Value};

/// Names whose values are secrets, as this test's specification (independent of the suite's own list).
const SECRET_NAMES: [&str; 13] = [
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "client_secret",
    "client_assertion",
    "subject_token",
    "actor_token",
    "token",
    "registration_access_token",
    "device_code",
    "password",
];

/// Shorter values are not searched for: they could occur by chance in any text.
const MIN_LEN: usize = 8;

fn suite_exe() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
}

/// Every rendered report file, by name.
fn rendered(report: &Report) -> Vec<(&'static str, String)> {
    render::FILES
        .iter()
        .map(|(name, render)| {
            let mut buf = Vec::new();
            render(report, &mut buf).expect("renders");
            (*name, String::from_utf8(buf).expect("utf-8"))
        })
        .collect()
}

/// Every secret value the raw evidence carries, by this test's rules, plus the secrets the suite registered.
fn secrets_seen(log: &EvidenceLog) -> BTreeSet<String> {
    let mut out = log.secrets();
    for e in log.snapshot() {
        harvest_exchange(&e, &mut out);
    }
    out.retain(|s| s.len() >= MIN_LEN);
    out
}

fn harvest_exchange(e: &Exchange, out: &mut BTreeSet<String>) {
    let mut texts = vec![e.request.url.clone()];
    let mut headers = e.request.headers.clone();
    texts.extend(e.request.body.clone());
    if let Some(r) = &e.response {
        headers.extend(r.headers.clone());
        texts.extend(r.body.clone());
    }
    for (name, value) in &headers {
        match name.to_ascii_lowercase().as_str() {
            "authorization" | "proxy-authorization" | "dpop" => {
                let cred = value.split_once(' ').map_or(value.as_str(), |(_, c)| c);
                out.extend(cred.split_whitespace().map(str::to_owned));
            }
            "cookie" | "set-cookie" => {
                let pairs: Vec<&str> = if name.eq_ignore_ascii_case("cookie") {
                    value.split(';').collect()
                } else {
                    value.split(';').take(1).collect()
                };
                for p in pairs {
                    if let Some((_, v)) = p.split_once('=') {
                        out.insert(v.trim().to_owned());
                    }
                }
            }
            _ => texts.push(value.clone()),
        }
    }
    for t in &texts {
        harvest_text(t, out);
    }
}

fn harvest_text(text: &str, out: &mut BTreeSet<String>) {
    // JWT-shaped words anywhere.
    for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))) {
        if w.starts_with("eyJ") && w.split('.').count() == 3 {
            out.insert(w.to_owned());
            let sig = w.rsplit('.').next().unwrap_or_default();
            out.insert(sig.to_owned());
        }
    }
    // Form, query and fragment parameters.
    for part in text.split(['?', '#', '&', '\n']) {
        if let Some((k, v)) = part.split_once('=') {
            if SECRET_NAMES.contains(&k.trim()) {
                for (_, value) in url::form_urlencoded::parse(format!("x={v}").as_bytes()) {
                    out.insert(value.into_owned());
                }
            }
        }
    }
    // JSON members at any depth.
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        harvest_json(&v, false, out);
    }
}

fn harvest_json(v: &Value, secret: bool, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if secret => {
            out.insert(s.clone());
        }
        Value::String(s) => harvest_text(s, out),
        Value::Array(a) => a.iter().for_each(|i| harvest_json(i, secret, out)),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, i)| harvest_json(i, secret || SECRET_NAMES.contains(&k.as_str()), out)),
        _ => {}
    }
}

/// Every (file, secret) where a secret appears whole, the secret shown by its length and start only.
fn leaks(report: &Report, secrets: &BTreeSet<String>) -> Vec<(String, String)> {
    let files = rendered(report);
    let mut found = Vec::new();
    for s in secrets {
        for (name, text) in &files {
            if text.contains(s.as_str()) {
                let shown = format!(
                    "{}… ({} chars)",
                    s.chars().take(4).collect::<String>(),
                    s.len()
                );
                found.push((name.to_string(), shown));
            }
        }
    }
    found
}

fn assert_no_leak(role: &str, report: &Report, secrets: &BTreeSet<String>) {
    assert!(
        secrets.len() >= 5,
        "{role}: the scan found only {} secrets to look for",
        secrets.len()
    );
    let leaked = leaks(report, secrets);
    let distinct: BTreeSet<&String> = leaked.iter().map(|(_, s)| s).collect();
    eprintln!(
        "{role}: {} secrets scanned, {} appear whole ({} places)",
        secrets.len(),
        distinct.len(),
        leaked.len()
    );
    assert!(
        leaked.is_empty(),
        "{role}: {} of {} secrets appear whole in the report:\n{}",
        distinct.len(),
        secrets.len(),
        leaked
            .iter()
            .map(|(file, s)| format!("{file}: {s}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn the_server_roles_report_holds_no_secret_the_run_saw() {
    let (report, log) =
        server::run_with_evidence(&ServerOptions::bundled(None, ValidationMode::Jwt)).await;
    assert_no_leak("server", &report, &secrets_seen(&log));
}

#[tokio::test]
async fn the_client_roles_report_holds_no_secret_the_run_saw() {
    let (report, log) = client::run_with_evidence(&ClientOptions::bundled(None, suite_exe())).await;
    assert_no_leak("client", &report, &secrets_seen(&log));
}

#[tokio::test]
async fn the_authz_roles_report_holds_no_secret_the_run_saw() {
    let (report, log) = authz::run_with_evidence(&AuthzOptions::bundled(None)).await;
    let secrets = secrets_seen(&log);
    assert!(
        secrets.iter().any(|s| s.starts_with("eyJ")),
        "the reference AS issues JWTs"
    );
    assert_no_leak("authz", &report, &secrets);
}

// ---- a hostile authorization server -------------------------------------------------------------------------

/// A JWT whose signature is a marker too.
fn marker_jwt(name: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"at+jwt"}"#);
    let c = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"{name}","aud":"x"}}"#));
    format!("{h}.{c}.hostileSignature{name}0123456789abcdef")
}

/// Every marker the hostile server hands out, and where.
fn markers() -> Vec<(&'static str, String)> {
    vec![
        (
            "client_secret from DCR",
            "hostile-client-secret-51f0a2".into(),
        ),
        (
            "registration_access_token from DCR",
            "hostile-rat-9c2e7d41".into(),
        ),
        ("code in the Location query", "hostile-code-4b8e2a7c".into()),
        (
            "access_token in the Location fragment",
            "hostile-fragment-token-e3d9".into(),
        ),
        ("Set-Cookie value", "hostile-session-cookie-77aa01".into()),
        ("access token (JWT)", marker_jwt("AT")),
        (
            "signature of the access token",
            "hostileSignatureAT0123456789abcdef".into(),
        ),
        ("refresh_token", "hostile-refresh-token-0d5c8b".into()),
        ("a JWT inside a JSON array", marker_jwt("ARR")),
        (
            "refresh_token in an error body",
            "hostile-error-refresh-6e1f3a".into(),
        ),
        ("id_token nested in an object", marker_jwt("ID")),
    ]
}

fn marker(what: &str) -> String {
    markers()
        .into_iter()
        .find(|(w, _)| *w == what)
        .map(|(_, m)| m)
        .unwrap()
}

#[derive(Clone)]
struct Hostile {
    issuer: String,
}

async fn metadata(State(h): State<Hostile>) -> Json<Value> {
    Json(json!({
        "issuer": h.issuer,
        "authorization_endpoint": format!("{}/authorize", h.issuer),
        "token_endpoint": format!("{}/token", h.issuer),
        "registration_endpoint": format!("{}/register", h.issuer),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
    }))
}

async fn register(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    (
        StatusCode::CREATED,
        Json(json!({
            "client_id": "hostile-client",
            "client_secret": marker("client_secret from DCR"),
            "registration_access_token": marker("registration_access_token from DCR"),
            "redirect_uris": body.get("redirect_uris").cloned().unwrap_or(Value::Null),
        })),
    )
}

async fn authorize(Query(q): Query<Vec<(String, String)>>) -> Response {
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let location = format!(
        "{}?code={}&state={}#access_token={}",
        get("redirect_uri"),
        marker("code in the Location query"),
        get("state"),
        marker("access_token in the Location fragment"),
    );
    let mut headers = HeaderMap::new();
    headers.insert(header::LOCATION, location.parse().unwrap());
    headers.insert(
        header::SET_COOKIE,
        format!("sid={}; Path=/; HttpOnly", marker("Set-Cookie value"))
            .parse()
            .unwrap(),
    );
    (StatusCode::FOUND, headers).into_response()
}

async fn token(body: String) -> Response {
    if body.contains("grant_type=refresh_token") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": "invalid_grant",
                "error_description": format!("refresh token {} was revoked", marker("refresh_token")),
                "refresh_token": marker("refresh_token in an error body"),
            })),
        )
            .into_response();
    }
    if !body.contains("code_verifier=") {
        // A page that echoes a secret it issued elsewhere: only the known-value net can find it here.
        let page = format!(
            "<html><body><p>No verifier. Your earlier refresh token was {}.</p></body></html>",
            marker("refresh_token")
        );
        return (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/html")],
            page,
        )
            .into_response();
    }
    Json(json!({
        "access_token": marker("access token (JWT)"),
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": marker("refresh_token"),
        "extra": {
            "issued": [marker("a JWT inside a JSON array")],
            "nested": { "id_token": marker("id_token nested in an object") },
        },
    }))
    .into_response()
}

async fn start_hostile() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let issuer = format!("http://{addr}");
    let app = Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/register", post(register))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .with_state(Hostile {
            issuer: issuer.clone(),
        });
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    issuer
}

#[tokio::test]
async fn a_hostile_as_hiding_secrets_in_odd_places_leaks_none_into_the_report() {
    let issuer = start_hostile().await;
    let mut opts = AuthzOptions::bundled(None);
    opts.target = AuthzTarget::Issuer(issuer);
    opts.login = Some(mcp_auth_conformance::authz::login::LoginMode::Auto);
    opts.limits = Limits {
        timeout: Duration::from_secs(2),
        ..Limits::default()
    };
    let (report, log) = authz::run_with_evidence(&opts).await;
    let raw = serde_json::to_string(&log.snapshot()).unwrap();
    let report_json = rendered(&report).remove(0).1;
    for (what, m) in markers() {
        assert!(raw.contains(&m), "the run never received the {what}");
        assert!(!report_json.contains(&m), "the {what} reached report.json");
    }
    assert!(
        log.snapshot().iter().any(|e| e
            .response
            .as_ref()
            .and_then(|r| r.body.as_deref())
            .is_some_and(|b| b.starts_with("<html>") && b.contains(&marker("refresh_token")))),
        "the run never received the HTML page echoing the refresh token"
    );
    let mut secrets = secrets_seen(&log);
    secrets.extend(markers().into_iter().map(|(_, m)| m));
    assert_no_leak("hostile authz", &report, &secrets);
    let state = log
        .snapshot()
        .iter()
        .filter_map(|e| url::Url::parse(&e.request.url).ok())
        .filter(|u| u.path() == "/authorize")
        .find_map(|u| {
            u.query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
        })
        .expect("an authorization request with a state");
    assert!(
        report_json.contains(&format!("state={state}")),
        "state is not a secret: it stays readable"
    );
}
