//! MCP over JSON-RPC 2.0 (Streamable HTTP, JSON responses only): `initialize`, `ping`,
//! `tools/list`, `tools/call` with the three to-do tools, plus `email_digest` and `send_email`
//! (on-behalf-of calls to the upstream API, see `upstream`) when an upstream is configured.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::auth::Principal;
use super::upstream::{self, Operation};
use super::{challenge, AppState, ServerDefect, SCOPE_READ, SCOPE_WRITE};

/// The protocol revision this server implements.
pub(crate) const PROTOCOL_VERSION: &str = "2025-11-25";
const SUPPORTED_VERSIONS: &[&str] = &[PROTOCOL_VERSION, "2025-06-18", "2025-03-26"];

/// One JSON-RPC message from the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcMessage {
    /// Absent for notifications and responses.
    pub(crate) id: Option<Value>,
    /// Absent for responses.
    pub(crate) method: Option<String>,
    pub(crate) params: Value,
}

impl RpcMessage {
    /// Parses a request body.
    pub(crate) fn parse(body: &[u8]) -> Result<RpcMessage, RpcParseError> {
        let value: Value = serde_json::from_slice(body).map_err(|_| RpcParseError::NotJson)?;
        let Value::Object(mut object) = value else {
            return Err(RpcParseError::NotRequest);
        };
        let method = match object.remove("method") {
            None => None,
            Some(Value::String(m)) => Some(m),
            Some(_) => return Err(RpcParseError::NotRequest),
        };
        Ok(RpcMessage {
            id: object
                .remove("id")
                .filter(|id| !id.is_null() || method.is_some()),
            method,
            params: object.remove("params").unwrap_or(Value::Null),
        })
    }

    pub(crate) fn is_initialize(&self) -> bool {
        self.method.as_deref() == Some("initialize")
    }

    /// `tools/call` of a tool that changes the list.
    pub(crate) fn is_write_call(&self) -> bool {
        self.method.as_deref() == Some("tools/call")
            && matches!(
                self.params.get("name").and_then(Value::as_str),
                Some("create_todo" | "delete_todo")
            )
    }
}

/// A body that is not a JSON-RPC message (batches are not part of 2025-11-25).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RpcParseError {
    NotJson,
    NotRequest,
}

impl IntoResponse for RpcParseError {
    fn into_response(self) -> Response {
        match self {
            RpcParseError::NotJson => {
                rpc_error_response(StatusCode::BAD_REQUEST, Value::Null, -32700, "parse error")
            }
            RpcParseError::NotRequest => rpc_error_response(
                StatusCode::BAD_REQUEST,
                Value::Null,
                -32600,
                "invalid request",
            ),
        }
    }
}

fn rpc_error_response(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }),
        ),
    )
        .into_response()
}

fn rpc_result(id: Value, result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })),
    )
        .into_response()
}

/// The `initialize` result.
pub(crate) fn initialize_result(message: &RpcMessage) -> Value {
    let requested = message
        .params
        .get("protocolVersion")
        .and_then(Value::as_str);
    let version = requested
        .filter(|v| SUPPORTED_VERSIONS.contains(v))
        .unwrap_or(PROTOCOL_VERSION);
    json!({
        "protocolVersion": version,
        "capabilities": { "tools": {} },
        "serverInfo": { "name": "todo-server", "version": env!("CARGO_PKG_VERSION") },
    })
}

/// Answers an `initialize` request.
pub(crate) fn initialize(message: &RpcMessage) -> Response {
    rpc_result(
        message.id.clone().unwrap_or(Value::Null),
        initialize_result(message),
    )
}

/// Answers every message but `initialize`, within an established session.
///
/// `pre_executed` is the result of a write tool already run by [`ServerDefect::WriteBeforeAuth`];
/// `caller_token` is the bearer token the request was authenticated with (the subject of token
/// exchanges), if any.
pub(crate) async fn dispatch(
    state: &AppState,
    principal: &Principal,
    caller_token: Option<&str>,
    message: RpcMessage,
    pre_executed: Option<Value>,
) -> Response {
    let (Some(id), Some(method)) = (message.id.clone(), message.method.as_deref()) else {
        // Notifications and client responses are accepted without a body.
        return StatusCode::ACCEPTED.into_response();
    };
    match method {
        "ping" => rpc_result(id, json!({})),
        "tools/list" => rpc_result(id, json!({ "tools": tool_definitions(state) })),
        "tools/call" => {
            call(
                state,
                principal,
                caller_token,
                id,
                &message.params,
                pre_executed,
            )
            .await
        }
        _ => rpc_error_response(StatusCode::OK, id, -32601, "method not found"),
    }
}

/// A tool of this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    ListTodos,
    CreateTodo,
    DeleteTodo,
    EmailDigest,
    SendEmail,
}

impl Tool {
    /// The tool called `name`; the upstream tools exist only when an upstream is configured.
    fn from_name(name: &str, state: &AppState) -> Option<Tool> {
        let upstream = state.settings.upstream.is_some();
        match name {
            "list_todos" => Some(Tool::ListTodos),
            "create_todo" => Some(Tool::CreateTodo),
            "delete_todo" => Some(Tool::DeleteTodo),
            "email_digest" if upstream => Some(Tool::EmailDigest),
            "send_email" if upstream => Some(Tool::SendEmail),
            _ => None,
        }
    }

    fn required_scopes(self, state: &AppState) -> &'static [&'static str] {
        if state.settings.has(ServerDefect::RequireAllScopes) {
            return &[SCOPE_READ, SCOPE_WRITE];
        }
        match self {
            // The upstream decides whether the user may send: the MCP layer only needs read.
            Tool::ListTodos | Tool::EmailDigest | Tool::SendEmail => &[SCOPE_READ],
            Tool::CreateTodo | Tool::DeleteTodo => &[SCOPE_WRITE],
        }
    }
}

fn tool_definitions(state: &AppState) -> Value {
    let mut tools = json!([
        {
            "name": "list_todos",
            "description": "List the shared to-do items. Requires scope todo:read.",
            "inputSchema": { "type": "object", "properties": {} },
        },
        {
            "name": "create_todo",
            "description": "Create a to-do item. Requires scope todo:write.",
            "inputSchema": {
                "type": "object",
                "properties": { "title": { "type": "string" } },
                "required": ["title"],
            },
        },
        {
            "name": "delete_todo",
            "description": "Delete a to-do item by id. Requires scope todo:write.",
            "inputSchema": {
                "type": "object",
                "properties": { "id": { "type": "string" } },
                "required": ["id"],
            },
        },
    ]);
    if state.settings.upstream.is_some() {
        if let Value::Array(list) = &mut tools {
            list.push(json!({
                "name": "email_digest",
                "description": "Fetch the user's e-mail digest from the upstream API on the user's behalf. Requires scope todo:read.",
                "inputSchema": { "type": "object", "properties": {} },
            }));
            list.push(json!({
                "name": "send_email",
                "description": "Send an e-mail through the upstream API on the user's behalf. Requires scope todo:read; the upstream requires todo:write.",
                "inputSchema": {
                    "type": "object",
                    "properties": { "to": { "type": "string" }, "body": { "type": "string" } },
                    "required": ["to", "body"],
                },
            }));
        }
    }
    tools
}

fn tool_result(text: String, is_error: bool) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "isError": is_error })
}

async fn call(
    state: &AppState,
    principal: &Principal,
    caller_token: Option<&str>,
    id: Value,
    params: &Value,
    pre_executed: Option<Value>,
) -> Response {
    let Some(tool) = params
        .get("name")
        .and_then(Value::as_str)
        .and_then(|name| Tool::from_name(name, state))
    else {
        return rpc_error_response(StatusCode::OK, id, -32602, "unknown tool");
    };
    let required = tool.required_scopes(state);
    let missing = required.iter().any(|s| !principal.has_scope(s));
    if missing && !state.settings.has(ServerDefect::SkipScopeCheck) {
        if state.settings.has(ServerDefect::ScopeErrorAsToolResult) {
            return rpc_result(id, tool_result("insufficient scope".to_owned(), true));
        }
        if state.settings.has(ServerDefect::ScopeErrorAsSuccessResult) {
            let text = format!(
                "Insufficient permissions: `{}` scope required.",
                required.join(" ")
            );
            return rpc_result(id, tool_result(text, false));
        }
        return challenge::insufficient_scope(state, &challenge_scope(state, principal, required));
    }
    let result = match (pre_executed, tool) {
        (Some(result), _) => result,
        (None, Tool::EmailDigest) => {
            run_upstream(state, caller_token, Operation::Digest, &Value::Null).await
        }
        (None, Tool::SendEmail) => {
            let arguments = params.get("arguments").unwrap_or(&Value::Null);
            let valid = ["to", "body"]
                .iter()
                .all(|k| arguments.get(k).is_some_and(Value::is_string));
            if valid {
                run_upstream(state, caller_token, Operation::Send, arguments).await
            } else {
                Value::Null
            }
        }
        (None, tool) => run_tool(state, tool, params),
    };
    match result {
        Value::Null => rpc_error_response(StatusCode::OK, id, -32602, "invalid arguments"),
        result => rpc_result(id, result),
    }
}

/// Runs an upstream tool: the upstream's body, or its failure as a tool error.
async fn run_upstream(
    state: &AppState,
    caller_token: Option<&str>,
    operation: Operation,
    arguments: &Value,
) -> Value {
    match upstream::call(state, caller_token, operation, arguments).await {
        Ok(text) => tool_result(text, false),
        Err(message) => tool_result(message, true),
    }
}

/// The scopes a 403 lists: what the request needs plus the granted scopes the server knows,
/// in `scopes_supported` order (MCP §10.1.1).
fn challenge_scope(state: &AppState, principal: &Principal, required: &[&str]) -> String {
    let wanted = |s: &str| required.contains(&s) || principal.has_scope(s);
    let mut scopes: Vec<&str> = state
        .settings
        .scopes_supported
        .iter()
        .map(String::as_str)
        .filter(|s| wanted(s))
        .collect();
    for s in required {
        if !scopes.contains(s) {
            scopes.push(s);
        }
    }
    scopes.join(" ")
}

/// Runs a tool by name (used directly by [`ServerDefect::WriteBeforeAuth`]). `Value::Null` means the
/// arguments are invalid.
pub(crate) fn run_named_tool(state: &AppState, params: &Value) -> Value {
    match params
        .get("name")
        .and_then(Value::as_str)
        .and_then(|name| Tool::from_name(name, state))
    {
        // The upstream tools are never run before authentication.
        Some(Tool::EmailDigest | Tool::SendEmail) | None => Value::Null,
        Some(tool) => run_tool(state, tool, params),
    }
}

fn run_tool(state: &AppState, tool: Tool, params: &Value) -> Value {
    let arguments = params.get("arguments").unwrap_or(&Value::Null);
    match tool {
        Tool::ListTodos => {
            let text = serde_json::to_string(&state.todos.list()).unwrap_or_default();
            tool_result(text, false)
        }
        Tool::CreateTodo => match arguments.get("title").and_then(Value::as_str) {
            Some(title) => {
                let todo = state.todos.create(title.to_owned());
                tool_result(serde_json::to_string(&todo).unwrap_or_default(), false)
            }
            None => Value::Null,
        },
        Tool::DeleteTodo => {
            let id = match arguments.get("id") {
                Some(Value::String(id)) => id.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Value::Null,
            };
            match state.todos.delete(&id) {
                Some(todo) => tool_result(serde_json::to_string(&todo).unwrap_or_default(), false),
                None => tool_result(format!("no to-do with id {id}"), true),
            }
        }
        // Run asynchronously by `call`.
        Tool::EmailDigest | Tool::SendEmail => Value::Null,
    }
}
