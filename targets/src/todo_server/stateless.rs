//! Stateless MCP (revision 2026-07-28, SEP-2575): no `initialize`, no session. A request is
//! *modern* when its `params._meta` declares `io.modelcontextprotocol/protocolVersion` or its
//! `MCP-Protocol-Version` header names a modern revision; it is then served on its own, after the
//! same authentication as any other request (a dual-era server: an `initialize` still opens a
//! legacy session, versioning §"Backward Compatibility").
//!
//! Validation of a modern request, in order (streamable-http §"Server Validation", basic §`_meta`,
//! versioning §"Protocol Version Negotiation"): the `MCP-Protocol-Version` header is present (else
//! 400, -32020), `_meta` carries `protocolVersion` and `clientCapabilities` (else 400, -32602), the
//! header equals `_meta`'s version (else 400, -32020), the version is one this server speaks (else
//! 400, -32022 with `{supported, requested}`), `Mcp-Method` equals `method` and, for `tools/call`,
//! `Mcp-Name` equals `params.name` (else 400, -32020).
//! Results carry `resultType: "complete"` and the server's identity in `_meta`; cacheable results
//! (`server/discover`, `tools/list`) carry `ttlMs` and `cacheScope`. An unknown method is 404, -32601.
//! `Mcp-Session-Id` is ignored and none is minted (streamable-http §"Earlier Streamable HTTP Revisions").

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{json, Value};

use super::auth::Principal;
use super::endpoint::SESSION_HEADER;
use super::mcp::{self, RpcMessage};
use super::sessions::Session;
use super::{AppState, ServerDefect};

/// The stateless revision.
pub(crate) const MODERN_VERSION: &str = "2026-07-28";
/// Every revision this server speaks (`supported` of -32022 and `supportedVersions`).
const SUPPORTED: &[&str] = &[MODERN_VERSION, "2025-11-25", "2025-06-18", "2025-03-26"];
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// The HeaderMismatch error (missing or mismatched standard header).
const HEADER_MISMATCH: i64 = -32020;
/// UnsupportedProtocolVersionError.
const UNSUPPORTED_VERSION: i64 = -32022;
/// How long clients may cache `server/discover` and `tools/list` (the tool list changes only with
/// the configuration).
const TTL_MS: u64 = 60_000;

/// Whether `message` is a modern (stateless) request: its `_meta` declares a protocol version, or
/// (for anything but `initialize`) the `MCP-Protocol-Version` header names the modern revision.
pub(crate) fn is_modern(headers: &HeaderMap, message: &RpcMessage) -> bool {
    if message.is_initialize() {
        return false;
    }
    declared_version(message).is_some()
        || header(headers, "mcp-protocol-version") == Some(MODERN_VERSION)
}

fn meta(message: &RpcMessage) -> Option<&serde_json::Map<String, Value>> {
    message.params.get("_meta")?.as_object()
}

fn declared_version(message: &RpcMessage) -> Option<&Value> {
    meta(message)?.get(META_VERSION)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A header value with the `=?base64?…?=` sentinel decoded (streamable-http §"Value Encoding").
fn decoded(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
        None => Some(value.to_owned()),
    }
}

/// Why a modern request is refused before it is dispatched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invalid {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl Invalid {
    fn new(code: i64, message: impl Into<String>) -> Invalid {
        Invalid {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn into_response(self, id: Value) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(data) = self.data {
            error["data"] = data;
        }
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "jsonrpc": "2.0", "id": id, "error": error })),
        )
            .into_response()
    }
}

/// Validates the per-request metadata and the standard headers of a modern request.
pub(crate) fn validate(headers: &HeaderMap, message: &RpcMessage) -> Result<(), Invalid> {
    let Some(header_version) = header(headers, "mcp-protocol-version") else {
        return Err(Invalid::new(
            HEADER_MISMATCH,
            "missing MCP-Protocol-Version header",
        ));
    };
    let meta = meta(message);
    let missing: Vec<&str> = [META_VERSION, META_CAPABILITIES]
        .into_iter()
        .filter(|k| meta.and_then(|m| m.get(*k)).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(Invalid::new(
            -32602,
            format!("Invalid params: missing _meta keys: {}", missing.join(", ")),
        ));
    }
    let declared = declared_version(message).and_then(Value::as_str);
    if declared != Some(header_version) {
        return Err(Invalid::new(
            HEADER_MISMATCH,
            "MCP-Protocol-Version header does not match _meta protocolVersion",
        ));
    }
    if header_version != MODERN_VERSION {
        let mut invalid = Invalid::new(UNSUPPORTED_VERSION, "Unsupported protocol version");
        invalid.data = Some(json!({ "supported": SUPPORTED, "requested": header_version }));
        return Err(invalid);
    }
    let method = message.method.as_deref().unwrap_or_default();
    if header(headers, "mcp-method") != Some(method) {
        return Err(Invalid::new(
            HEADER_MISMATCH,
            "Mcp-Method header missing or does not match the body's method",
        ));
    }
    let name_field = match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    };
    if let Some(field) = name_field {
        let body = message.params.get(field).and_then(Value::as_str);
        let sent = header(headers, "mcp-name").and_then(decoded);
        if body.is_none() || sent.as_deref() != body {
            return Err(Invalid::new(
                HEADER_MISMATCH,
                format!("Mcp-Name header missing or does not match params.{field}"),
            ));
        }
    }
    Ok(())
}

/// Answers one authenticated modern request.
pub(crate) async fn serve(
    state: &AppState,
    principal: &Principal,
    caller_token: Option<&str>,
    headers: &HeaderMap,
    message: RpcMessage,
    pre_executed: Option<Value>,
) -> Response {
    let id = message.id.clone().unwrap_or(Value::Null);
    if let Err(invalid) = validate(headers, &message) {
        return invalid.into_response(id);
    }
    let Some(method) = message.method.clone().filter(|_| message.id.is_some()) else {
        // No client notification is defined over stateless Streamable HTTP; accept and ignore.
        return StatusCode::ACCEPTED.into_response();
    };
    let mut response = match method.as_str() {
        "server/discover" => stamped(&method, id, discover_result()),
        "tools/list" | "tools/call" | "ping" => {
            let response = mcp::dispatch(state, principal, caller_token, message, pre_executed).await;
            restamp(&method, response).await
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32601, "message": "Method not found" } })),
        )
            .into_response(),
    };
    if caller_token.is_some() && state.settings.has(ServerDefect::StatelessSessionAsAuth) {
        mint_session(state, principal, &mut response);
    }
    response
}

fn server_info() -> Value {
    json!({ "name": "todo-server", "version": env!("CARGO_PKG_VERSION") })
}

/// The `server/discover` result (server/discover §"Response").
fn discover_result() -> Value {
    json!({
        "supportedVersions": SUPPORTED,
        "capabilities": { "tools": {} },
    })
}

/// Adds the members 2026-07-28 asks of a result: `resultType`, the server's identity in `_meta`,
/// and the caching hints of cacheable operations.
pub(crate) fn stamp(method: &str, result: &mut Value) {
    let Value::Object(object) = result else {
        return;
    };
    object
        .entry("resultType")
        .or_insert_with(|| json!("complete"));
    let meta = object.entry("_meta").or_insert_with(|| json!({}));
    if let Value::Object(meta) = meta {
        meta.entry(META_SERVER_INFO).or_insert_with(server_info);
    }
    if matches!(method, "server/discover" | "tools/list") {
        object.entry("ttlMs").or_insert_with(|| json!(TTL_MS));
        object
            .entry("cacheScope")
            .or_insert_with(|| json!("private"));
    }
}

fn stamped(method: &str, id: Value, mut result: Value) -> Response {
    stamp(method, &mut result);
    (
        StatusCode::OK,
        axum::Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })),
    )
        .into_response()
}

/// Stamps the `result` of a JSON response from [`mcp::dispatch`]; anything else passes unchanged
/// (a challenge, an error).
async fn restamp(method: &str, response: Response) -> Response {
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::endpoint::BODY_LIMIT * 4).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut message: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, axum::body::Body::from(bytes)),
    };
    if let Some(result) = message.get_mut("result") {
        stamp(method, result);
    }
    let mut rebuilt = axum::Json(message).into_response();
    *rebuilt.status_mut() = parts.status;
    rebuilt
}

/// Under [`ServerDefect::StatelessSessionAsAuth`]: the user of the session a token-less modern request
/// names (a session the defect minted on an earlier authorized request).
pub(crate) fn carried_over(state: &AppState, headers: &HeaderMap) -> Option<Principal> {
    if !state.settings.has(ServerDefect::StatelessSessionAsAuth) {
        return None;
    }
    let session = state.sessions.get(header(headers, SESSION_HEADER)?)?;
    Some(Principal {
        sub: session.owner,
        scopes: session.scopes,
        cnf_jkt: None,
    })
}

/// Under [`ServerDefect::StatelessSessionAsAuth`], mints a session for an authorized modern request and names
/// it in the response (a compliant stateless server mints none).
fn mint_session(state: &AppState, principal: &Principal, response: &mut Response) {
    let session = Session {
        owner: principal.sub.clone(),
        scopes: principal.scopes.clone(),
    };
    let id = state.sessions.create(session, false);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(SESSION_HEADER, value);
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";

    fn message(method: &str, params: Value) -> RpcMessage {
        RpcMessage {
            id: Some(json!(1)),
            method: Some(method.to_owned()),
            params,
        }
    }

    fn modern_params(extra: Value) -> Value {
        let mut params = json!({ "_meta": {
            META_VERSION: MODERN_VERSION,
            META_CAPABILITIES: {},
            META_CLIENT_INFO: { "name": "test", "version": "1" },
        }});
        if let (Value::Object(p), Value::Object(e)) = (&mut params, extra) {
            p.extend(e);
        }
        params
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn call_headers(name: &str) -> HeaderMap {
        headers(&[
            ("mcp-protocol-version", MODERN_VERSION),
            ("mcp-method", "tools/call"),
            ("mcp-name", name),
        ])
    }

    #[test]
    fn a_request_declaring_the_version_in_meta_is_modern_and_initialize_never_is() {
        let m = message("tools/list", modern_params(json!({})));
        assert!(is_modern(&HeaderMap::new(), &m));
        assert!(!is_modern(
            &HeaderMap::new(),
            &message("tools/list", json!({}))
        ));
        let init = message("initialize", modern_params(json!({})));
        assert!(!is_modern(
            &headers(&[("mcp-protocol-version", MODERN_VERSION)]),
            &init
        ));
        let legacy_header = headers(&[("mcp-protocol-version", "2025-11-25")]);
        assert!(!is_modern(
            &legacy_header,
            &message("tools/list", json!({}))
        ));
    }

    #[test]
    fn a_complete_tools_call_is_valid() {
        let m = message("tools/call", modern_params(json!({ "name": "list_todos" })));
        assert_eq!(validate(&call_headers("list_todos"), &m), Ok(()));
    }

    #[test]
    fn a_missing_protocol_version_header_is_a_header_mismatch() {
        let m = message("tools/list", modern_params(json!({})));
        let e = validate(&headers(&[("mcp-method", "tools/list")]), &m).unwrap_err();
        assert_eq!(e.code, HEADER_MISMATCH);
    }

    #[test]
    fn meta_without_client_capabilities_is_invalid_params() {
        let mut params = modern_params(json!({}));
        params["_meta"]
            .as_object_mut()
            .unwrap()
            .remove(META_CAPABILITIES);
        let m = message("tools/list", params);
        let h = headers(&[
            ("mcp-protocol-version", MODERN_VERSION),
            ("mcp-method", "tools/list"),
        ]);
        assert_eq!(validate(&h, &m).unwrap_err().code, -32602);
    }

    #[test]
    fn an_unknown_version_lists_the_supported_ones() {
        let mut params = modern_params(json!({}));
        params["_meta"][META_VERSION] = json!("1900-01-01");
        let m = message("tools/list", params);
        let h = headers(&[
            ("mcp-protocol-version", "1900-01-01"),
            ("mcp-method", "tools/list"),
        ]);
        let e = validate(&h, &m).unwrap_err();
        assert_eq!(e.code, UNSUPPORTED_VERSION);
        assert_eq!(e.data.unwrap()["requested"], "1900-01-01");
    }

    #[test]
    fn mcp_name_must_match_the_tool_and_may_be_base64() {
        let m = message("tools/call", modern_params(json!({ "name": "list_todos" })));
        assert_eq!(
            validate(&call_headers("delete_todo"), &m).unwrap_err().code,
            HEADER_MISMATCH
        );
        assert_eq!(
            validate(&call_headers("=?base64?bGlzdF90b2Rvcw==?="), &m),
            Ok(())
        );
    }

    #[test]
    fn results_get_result_type_and_cacheable_ones_caching_hints() {
        let mut listed = json!({ "tools": [] });
        stamp("tools/list", &mut listed);
        assert_eq!(listed["resultType"], "complete");
        assert!(listed["ttlMs"].is_u64() && listed["cacheScope"] == "private");
        let mut called = json!({ "content": [] });
        stamp("tools/call", &mut called);
        assert_eq!(called["resultType"], "complete");
        assert!(called.get("ttlMs").is_none());
        assert_eq!(called["_meta"][META_SERVER_INFO]["name"], "todo-server");
    }
}
