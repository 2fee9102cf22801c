//! Just enough MCP (JSON-RPC over Streamable HTTP) to drive a server: request bodies, and reading a
//! response that arrives either as `application/json` or as a `text/event-stream`.

use serde_json::{json, Value};

use crate::http::Response;

/// The protocol revision the suite speaks.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

pub fn initialize(id: u64) -> Value {
    json!({
        "jsonrpc": "2.0", "id": id, "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-auth-conformance", "version": env!("CARGO_PKG_VERSION")}
        }
    })
}

pub fn initialized() -> Value {
    json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
}

pub fn tools_list(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}})
}

pub fn tools_call(id: u64, name: &str, arguments: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": name, "arguments": arguments}})
}

/// What a JSON-RPC exchange amounted to.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcOutcome {
    /// HTTP 2xx with a JSON-RPC `result` (for tools: `isError` not true).
    Served(Value),
    /// HTTP 2xx with a tool result whose `isError` is true.
    ToolError(Value),
    /// HTTP 2xx with a JSON-RPC `error`.
    RpcError(Value),
    /// HTTP 2xx but no JSON-RPC message could be read.
    Unreadable(String),
    /// A non-2xx status.
    Refused(u16),
}

impl RpcOutcome {
    pub fn served(&self) -> bool {
        matches!(self, RpcOutcome::Served(_))
    }

    pub fn describe(&self) -> String {
        match self {
            RpcOutcome::Served(_) => "served (2xx with a result)".into(),
            RpcOutcome::ToolError(_) => "2xx with a tool error result (isError: true)".into(),
            RpcOutcome::RpcError(e) => format!("2xx with a JSON-RPC error {e}"),
            RpcOutcome::Unreadable(why) => format!("2xx but unreadable: {why}"),
            RpcOutcome::Refused(s) => format!("HTTP {s}"),
        }
    }
}

/// Reads the JSON-RPC response out of an HTTP response.
pub fn outcome(resp: &Response) -> RpcOutcome {
    if !resp.is_success() {
        return RpcOutcome::Refused(resp.status);
    }
    let message = match message(resp) {
        Ok(m) => m,
        Err(why) => return RpcOutcome::Unreadable(why),
    };
    if let Some(err) = message.get("error") {
        return RpcOutcome::RpcError(err.clone());
    }
    match message.get("result") {
        Some(r) if r.get("isError") == Some(&Value::Bool(true)) => RpcOutcome::ToolError(r.clone()),
        Some(r) => RpcOutcome::Served(r.clone()),
        None => RpcOutcome::Unreadable("no result or error member".into()),
    }
}

/// The first JSON-RPC response message in the body (JSON, or the first SSE `data:` event carrying one).
pub fn message(resp: &Response) -> Result<Value, String> {
    let ct = resp
        .header("content-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let text = resp.text();
    if ct.starts_with("text/event-stream") {
        let mut data = String::new();
        // SSE lines end in CRLF, LF or a lone CR (WHATWG HTML §9.2.5).
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        for line in text.split('\n').chain(std::iter::once("")) {
            if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
                data.push('\n');
            } else if line.is_empty() && !data.is_empty() {
                if let Ok(v) = serde_json::from_str::<Value>(&data) {
                    if v.get("result").is_some() || v.get("error").is_some() {
                        return Ok(v);
                    }
                }
                data.clear();
            }
        }
        return Err("no JSON-RPC response in the event stream".into());
    }
    serde_json::from_str(&text).map_err(|e| format!("body is not JSON: {e}"))
}

/// The concatenated text content of a tool result.
pub fn tool_text(result: &Value) -> String {
    result
        .get("content")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_else(|| result.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, ct: &str, body: &str) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), ct.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn an_event_stream_with_lone_cr_line_endings_is_read() {
        // Found by fuzz_sse_the_response_event_is_found_among_hostile_events_with_any_line_ending.
        let r = resp(
            200,
            "text/event-stream",
            "event: message\rdata: {\"jsonrpc\":\"2.0\",\"id\":1,\rdata: \"result\":{}}\r\r",
        );
        assert_eq!(message(&r).unwrap()["result"], serde_json::json!({}));
    }

    #[test]
    fn json_result_is_served() {
        let r = resp(
            200,
            "application/json",
            r#"{"jsonrpc":"2.0","id":1,"result":{"x":1}}"#,
        );
        assert!(outcome(&r).served());
    }

    #[test]
    fn sse_result_is_served() {
        let r = resp(
            200,
            "text/event-stream",
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n",
        );
        assert!(outcome(&r).served());
    }

    #[test]
    fn tool_error_is_not_served() {
        let r = resp(
            200,
            "application/json",
            r#"{"jsonrpc":"2.0","id":1,"result":{"isError":true,"content":[]}}"#,
        );
        assert!(matches!(outcome(&r), RpcOutcome::ToolError(_)));
    }

    #[test]
    fn non_2xx_is_refused() {
        assert_eq!(
            outcome(&resp(401, "application/json", "{}")),
            RpcOutcome::Refused(401)
        );
    }

    #[test]
    fn tool_text_joins_text_items() {
        let v = json!({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]});
        assert_eq!(tool_text(&v), "a\nb");
    }
}
