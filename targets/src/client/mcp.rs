//! The MCP side: JSON-RPC over Streamable HTTP (MCP 2025-11-25 transports). Every POST carries
//! `Authorization: Bearer` once the client holds a token, plus `Mcp-Session-Id` and
//! `MCP-Protocol-Version` after `initialize`; replies may be JSON or an SSE stream.

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

/// POSTs `message` to the MCP endpoint.
pub(crate) async fn post(
    http: &Http,
    mcp_url: &str,
    session: &McpSession,
    message: &Message,
    token: Option<&Token>,
    token_in_query: bool,
    dpop: Option<&Dpop>,
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
    http.send_until(
        "MCP request",
        mcp_url,
        request.body(message.body.to_string()),
        done,
    )
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
    fn sse_events_are_split_and_joined() {
        let s = "event: message\ndata: {\"a\":\ndata: 1}\n\n: comment\ndata:{\"b\":2}\n";
        assert_eq!(sse_data(s), ["{\"a\":\n1}", "{\"b\":2}"]);
    }
}
