//! Stateless MCP (revision 2026-07-28, SEP-2575): no `initialize`; every request carries its protocol
//! version and client capabilities in `params._meta` (basic §`_meta`, "Per-request protocol fields") and the
//! standard headers `MCP-Protocol-Version`, `Mcp-Method` and, for `tools/call` / `prompts/get` /
//! `resources/read`, `Mcp-Name` (streamable-http §"Request Metadata"). Used by the server role to speak to a
//! target, and by the client checks to judge what a client sent.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// `_meta` key of the request's protocol version (required).
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key of the client's capabilities (required).
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key of the client's name and version (SHOULD).
pub const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";

/// The `clientInfo` the suite declares unless a scenario names another client.
pub fn suite_client_info() -> Value {
    json!({"name": "mcp-auth-conformance", "version": env!("CARGO_PKG_VERSION")})
}

/// `server/discover` (server/discover §"Request"): the stateless request that replaces `initialize` as the
/// suite's lightest authenticated request.
pub fn discover(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "server/discover", "params": {}})
}

/// Adds the per-request `_meta` to a JSON-RPC request: `version`, empty client capabilities and `client_info`.
/// Keys the body already has in `params._meta` are kept (a scenario may name its own client).
pub fn with_meta(mut body: Value, version: &str, client_info: &Value) -> Value {
    let Some(object) = body.as_object_mut() else {
        return body;
    };
    let params = object
        .entry("params")
        .or_insert_with(|| Value::Object(Map::new()));
    if !params.is_object() {
        return body;
    }
    let meta = params
        .as_object_mut()
        .map(|p| p.entry("_meta").or_insert_with(|| json!({})));
    if let Some(Value::Object(meta)) = meta {
        meta.entry(META_PROTOCOL_VERSION)
            .or_insert_with(|| json!(version));
        meta.entry(META_CLIENT_CAPABILITIES)
            .or_insert_with(|| json!({}));
        meta.entry(META_CLIENT_INFO)
            .or_insert_with(|| client_info.clone());
    }
    body
}

/// The source of `Mcp-Name` for a method, if it has one.
fn name_field(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// A header value: as is when it is plain visible ASCII without surrounding blanks and not the sentinel itself,
/// else `=?base64?…?=` (streamable-http §"Value Encoding").
pub fn header_value(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && value.trim() == value
        && !(value.starts_with("=?base64?") && value.ends_with("?="));
    if plain {
        value.to_owned()
    } else {
        format!("=?base64?{}?=", STANDARD.encode(value))
    }
}

/// The standard headers of a stateless request body.
pub fn headers(body: &Value, version: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![("mcp-protocol-version", version.to_owned())];
    let Some(method) = body.get("method").and_then(Value::as_str) else {
        return out;
    };
    out.push(("mcp-method", header_value(method)));
    let name = name_field(method)
        .and_then(|f| body.get("params")?.get(f)?.as_str())
        .map(header_value);
    if let Some(name) = name {
        out.push(("mcp-name", name));
    }
    out
}

/// What is wrong with one stateless request a client sent (`headers`: lowercase names), judged against the
/// revision `version`; `None` when it carries everything the revision requires of every request.
pub fn request_problem(
    headers: &[(String, String)],
    body: &Value,
    version: &str,
) -> Option<String> {
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
    };
    let sent = body.get("method").and_then(Value::as_str)?;
    let method = crate::redact::cut(sent, 64).0;
    let meta = body
        .get("params")
        .and_then(|p| p.get("_meta"))
        .and_then(Value::as_object);
    let Some(meta) = meta else {
        return Some(format!("{method} without params._meta"));
    };
    let declared = meta.get(META_PROTOCOL_VERSION).and_then(Value::as_str);
    if declared != Some(version) {
        return Some(format!(
            "{method}: _meta protocolVersion is {}, not {version}",
            declared.map_or("absent".to_owned(), |d| format!(
                "`{}`",
                crate::redact::cut(d, 40).0
            ))
        ));
    }
    if !meta.contains_key(META_CLIENT_CAPABILITIES) {
        return Some(format!("{method}: _meta lacks clientCapabilities"));
    }
    if header("mcp-protocol-version") != Some(version) {
        return Some(format!(
            "{method}: MCP-Protocol-Version header is not {version}"
        ));
    }
    if header("mcp-method") != Some(sent) {
        return Some(format!("{method}: Mcp-Method header missing or different"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "2026-07-28";

    fn owned(h: Vec<(&'static str, String)>) -> Vec<(String, String)> {
        h.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    #[test]
    fn meta_is_added_and_a_scenarios_own_client_info_is_kept() {
        let mut body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        body["params"] = json!({"_meta": {META_CLIENT_INFO: {"name": "probe-7"}}});
        let b = with_meta(body, V, &suite_client_info());
        assert_eq!(b["params"]["_meta"][META_PROTOCOL_VERSION], V);
        assert_eq!(b["params"]["_meta"][META_CLIENT_CAPABILITIES], json!({}));
        assert_eq!(b["params"]["_meta"][META_CLIENT_INFO]["name"], "probe-7");
    }

    #[test]
    fn a_tool_call_gets_mcp_name_and_an_unsafe_name_is_base64() {
        let call = json!({"method": "tools/call", "params": {"name": "list_todos"}});
        assert_eq!(
            headers(&call, V),
            vec![
                ("mcp-protocol-version", V.to_owned()),
                ("mcp-method", "tools/call".to_owned()),
                ("mcp-name", "list_todos".to_owned())
            ]
        );
        assert_eq!(
            header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
        assert_eq!(header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
    }

    #[test]
    fn a_complete_request_has_no_problem() {
        let body = with_meta(discover(1), V, &suite_client_info());
        assert_eq!(request_problem(&owned(headers(&body, V)), &body, V), None);
    }

    #[test]
    fn a_request_without_meta_or_with_another_version_has_a_problem() {
        let bare = discover(1);
        let h = owned(headers(&bare, V));
        assert!(request_problem(&h, &bare, V)
            .unwrap()
            .contains("without params._meta"));
        let old = with_meta(discover(2), "2025-11-25", &suite_client_info());
        assert!(request_problem(&h, &old, V).unwrap().contains("2025-11-25"));
    }

    #[test]
    fn a_missing_mcp_method_header_is_a_problem() {
        let body = with_meta(discover(1), V, &suite_client_info());
        let h = owned(vec![("mcp-protocol-version", V.to_owned())]);
        assert!(request_problem(&h, &body, V)
            .unwrap()
            .contains("Mcp-Method"));
    }
}
