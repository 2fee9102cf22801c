//! The MCP side: JSON-RPC over Streamable HTTP (MCP 2025-11-25 transports). Every POST carries
//! `Authorization: Bearer` once the client holds a token, plus `Mcp-Session-Id` and
//! `MCP-Protocol-Version` after `initialize`; replies may be JSON or an SSE stream.
//!
//! From 2026-07-28 MCP is stateless (SEP-2575): no `initialize`; every request carries
//! `params._meta` (`io.modelcontextprotocol/protocolVersion`, `…/clientCapabilities`,
//! `…/clientInfo`) and the headers `MCP-Protocol-Version`, `Mcp-Method` and, for `tools/call`,
//! `Mcp-Name` ([`Modern`]).

use reqwest::Method;
use serde_json::{json, Value};
use url::Url;

use super::dpop::Dpop;
use super::error::ClientError;
use super::http::{Http, Response};
use super::token::Token;

/// The session state `initialize` establishes.
#[derive(Debug, Clone, Default)]
pub(crate) struct McpSession {
    pub session_id: Option<String>,
    pub protocol_version: Option<String>,
}

/// The first stateless revision.
pub(crate) const STATELESS_VERSION: &str = "2026-07-28";

/// Whether MCP at `version` is stateless (revision names are dates, so they order as strings).
pub(crate) fn is_stateless(version: &str) -> bool {
    version >= STATELESS_VERSION
}

/// The per-request protocol fields of a stateless request: the revision it declares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Modern<'v> {
    pub version: &'v str,
}

impl Modern<'_> {
    /// `body` with `params._meta` carrying the protocol version, capabilities and client info.
    fn body(&self, body: &Value) -> Value {
        let mut body = body.clone();
        if let Some(object) = body.as_object_mut() {
            let params = object.entry("params").or_insert_with(|| json!({}));
            if let Some(params) = params.as_object_mut() {
                params.insert(
                    "_meta".into(),
                    json!({
                        "io.modelcontextprotocol/protocolVersion": self.version,
                        "io.modelcontextprotocol/clientCapabilities": {},
                        "io.modelcontextprotocol/clientInfo": client_info(),
                    }),
                );
            }
        }
        body
    }

    /// The standard headers of `message`.
    fn headers(&self, message: &Message) -> Vec<(&'static str, String)> {
        let mut headers = vec![
            ("MCP-Protocol-Version", self.version.to_owned()),
            ("Mcp-Method", header_value(message.method)),
        ];
        let name = match message.method {
            "tools/call" | "prompts/get" => message.body["params"]["name"].as_str(),
            "resources/read" => message.body["params"]["uri"].as_str(),
            _ => None,
        };
        if let Some(name) = name {
            headers.push(("Mcp-Name", header_value(name)));
        }
        headers
    }
}

/// The client's `clientInfo`.
pub(crate) fn client_info() -> Value {
    json!({"name": "mcp-auth-conformance-reference-client", "version": env!("CARGO_PKG_VERSION")})
}

/// A header value: plain when it is visible ASCII without surrounding spaces, else the
/// `=?base64?…?=` sentinel form (streamable-http "Value Encoding").
fn header_value(value: &str) -> String {
    use base64::Engine as _;
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && value.trim() == value
        && !(value.starts_with("=?base64?") && value.ends_with("?="));
    if plain {
        value.to_owned()
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        format!("=?base64?{encoded}?=")
    }
}

/// A JSON-RPC message to send.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub method: &'static str,
    pub id: Option<u64>,
    pub body: Value,
}

impl Message {
    pub fn request(id: u64, method: &'static str, params: Value) -> Self {
        Self {
            method,
            id: Some(id),
            body: json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        }
    }

    pub fn notification(method: &'static str) -> Self {
        Self {
            method,
            id: None,
            body: json!({"jsonrpc": "2.0", "method": method}),
        }
    }
}

/// POSTs `message` to the MCP endpoint (with the stateless fields when `modern` is given).
#[expect(
    clippy::too_many_arguments,
    reason = "the DPoP proof and the stateless shape each add one; a request struct is a follow-up"
)]
pub(crate) async fn post(
    http: &Http,
    mcp_url: &str,
    session: &McpSession,
    message: &Message,
    token: Option<&Token>,
    token_in_query: bool,
    dpop: Option<&Dpop>,
    modern: Option<Modern<'_>>,
) -> Result<Response, ClientError> {
    let mut url = mcp_url.to_owned();
    if let (Some(token), true) = (token, token_in_query) {
        let mut u = Url::parse(mcp_url)
            .map_err(|e| ClientError::Usage(format!("the MCP server URL is not a URL: {e}")))?;
        u.query_pairs_mut()
            .append_pair("access_token", token.expose());
        url = u.to_string();
    }
    let mut request = http
        .request(Method::POST, &url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        );
    match (token, dpop) {
        // A DPoP-bound token: the DPoP scheme and a fresh proof for this request (RFC 9449 §7.1).
        (Some(token), Some(dpop)) => {
            request = request
                .header(
                    reqwest::header::AUTHORIZATION,
                    format!("{} {}", dpop.scheme(), token.expose()),
                )
                .header("DPoP", dpop.resource_proof(mcp_url, token.expose()));
        }
        (Some(token), None) => {
            request = request.header(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", token.expose()),
            );
        }
        (None, _) => {}
    }
    if let Some(id) = &session.session_id {
        request = request.header("Mcp-Session-Id", id);
    }
    if let Some(version) = &session.protocol_version {
        request = request.header("MCP-Protocol-Version", version);
    }
    let body = match modern {
        Some(modern) => {
            for (name, value) in modern.headers(message) {
                request = request.header(name, value);
            }
            modern.body(&message.body)
        }
        None => message.body.clone(),
    };
    let id = message.id;
    let done = move |headers: &reqwest::header::HeaderMap, body: &[u8]| {
        let sse = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/event-stream"));
        sse && id.is_some_and(|id| {
            sse_data(&String::from_utf8_lossy(body))
                .iter()
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .any(|v| is_reply_to(&v, id))
        })
    };
    http.send_until("MCP request", mcp_url, request.body(body.to_string()), done)
        .await
}

/// Is `v` the JSON-RPC response (result or error) to request `id`?
fn is_reply_to(v: &Value, id: u64) -> bool {
    v.get("id").and_then(Value::as_u64) == Some(id)
        && (v.get("result").is_some() || v.get("error").is_some())
}

/// The JSON-RPC response to request `id` in a 2xx reply (JSON or SSE); errors become `Err`.
pub(crate) fn read_reply(
    response: &Response,
    message: &Message,
) -> Result<Option<Value>, ClientError> {
    let Some(id) = message.id else {
        return Ok(None);
    };
    let content_type = response
        .header("content-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let candidates: Vec<Value> = if content_type.starts_with("text/event-stream") {
        sse_data(&response.text())
            .iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect()
    } else {
        match serde_json::from_slice::<Value>(&response.body) {
            Ok(Value::Array(batch)) => batch,
            Ok(v) => vec![v],
            Err(e) => {
                return Err(ClientError::Mcp(format!(
                    "{} reply is not JSON: {e}",
                    message.method
                )))
            }
        }
    };
    let reply = candidates
        .into_iter()
        .find(|v| is_reply_to(v, id))
        .ok_or_else(|| ClientError::Mcp(format!("no JSON-RPC response to {}", message.method)))?;
    if let Some(error) = reply.get("error") {
        return Err(ClientError::Mcp(format!(
            "{} failed: {error}",
            message.method
        )));
    }
    Ok(reply.get("result").cloned())
}

/// The `data` payloads of an SSE stream, one per event.
fn sse_data(stream: &str) -> Vec<String> {
    let mut events = Vec::new();
    let mut data: Vec<&str> = Vec::new();
    for line in stream.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !data.is_empty() {
                events.push(data.join("\n"));
                data.clear();
            }
        } else if let Some(rest) = line.strip_prefix("data:") {
            data.push(rest.strip_prefix(' ').unwrap_or(rest));
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stateless_tool_call_gets_meta_and_the_standard_headers() {
        let call = Message::request(
            3,
            "tools/call",
            json!({"name": "list_todos", "arguments": {}}),
        );
        let modern = Modern {
            version: STATELESS_VERSION,
        };
        let body = modern.body(&call.body);
        let meta = &body["params"]["_meta"];
        assert_eq!(
            meta["io.modelcontextprotocol/protocolVersion"],
            STATELESS_VERSION
        );
        assert_eq!(
            meta["io.modelcontextprotocol/clientCapabilities"],
            json!({})
        );
        assert_eq!(body["params"]["name"], "list_todos");
        let headers = modern.headers(&call);
        assert!(headers.contains(&("Mcp-Method", "tools/call".to_owned())));
        assert!(headers.contains(&("Mcp-Name", "list_todos".to_owned())));
        assert!(headers.contains(&("MCP-Protocol-Version", STATELESS_VERSION.to_owned())));
    }

    #[test]
    fn only_2026_07_28_and_later_are_stateless() {
        assert!(is_stateless("2026-07-28"));
        assert!(!is_stateless("2025-11-25"));
        assert!(!is_stateless("2025-03-26"));
    }

    #[test]
    fn a_name_that_is_not_header_safe_is_base64_encoded() {
        assert_eq!(header_value("list_todos"), "list_todos");
        assert_eq!(
            header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
    }

    #[test]
    fn sse_events_are_split_and_joined() {
        let s = "event: message\ndata: {\"a\":\ndata: 1}\n\n: comment\ndata:{\"b\":2}\n";
        assert_eq!(sse_data(s), ["{\"a\":\n1}", "{\"b\":2}"]);
    }
}
