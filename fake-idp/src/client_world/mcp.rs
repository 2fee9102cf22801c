//! The MCP origin: the protected MCP endpoint (just enough Streamable HTTP), its PRM documents,
//! the traps at unserved well-known locations, and the optional decoy AS metadata.

use serde_json::{json, Value};

use super::log::RequestKind;
use super::{Incoming, Reply, Shared, WorldState};
use crate::server::bearer_token;

const PRM_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
const RFC8414_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
const OIDC_WELL_KNOWN: &str = "/.well-known/openid-configuration";
const DECOY_AUTHORIZE: &str = "/decoy/authorize";
/// The unknown member / parameter added when `unknown_members` is on.
pub(crate) const UNKNOWN_MEMBER: &str = "x_conformance_unknown";
/// The MCP protocol revision the server speaks when the client names none.
const PROTOCOL_VERSION: &str = "2025-11-25";
/// The stateless revision (SEP-2575): a request declaring it in `params._meta` is served without a
/// session. The world is dual-era and lenient: it answers a request of either shape and leaves the
/// judging of the shape to the checks, which read it from the log (headers and body).
const STATELESS_VERSION: &str = "2026-07-28";
/// Every revision the world speaks (`supportedVersions` of `server/discover`).
const SUPPORTED_VERSIONS: &[&str] = &[STATELESS_VERSION, "2025-11-25", "2025-06-18", "2025-03-26"];

/// Whether `path` is an AS metadata well-known probe (any of the five forms).
pub(crate) fn is_as_metadata_probe(path: &str) -> bool {
    path.starts_with(RFC8414_WELL_KNOWN)
        || path.starts_with(OIDC_WELL_KNOWN)
        || path.ends_with(RFC8414_WELL_KNOWN)
        || path.ends_with(OIDC_WELL_KNOWN)
}

/// Whether `path` is a PRM well-known probe.
pub(crate) fn is_prm_probe(path: &str) -> bool {
    path.starts_with(PRM_WELL_KNOWN) || path.ends_with(PRM_WELL_KNOWN)
}

pub(crate) fn handle(shared: &Shared, req: &Incoming) -> (Reply, RequestKind) {
    let mcp = &shared.config.mcp;
    if req.path == mcp.path {
        return endpoint(shared, req);
    }
    let served = mcp
        .prm
        .locations
        .iter()
        .find(|l| l.path(&mcp.path) == req.path);
    if let Some(location) = served {
        let reply = if req.method == "GET" {
            Reply::json(200, &prm_document(shared, &shared.state()))
        } else {
            Reply::empty(405).header("allow", "GET")
        };
        return (reply, RequestKind::Prm(location.clone()));
    }
    if is_prm_probe(&req.path) {
        return (not_found(), RequestKind::PrmTrap);
    }
    if is_as_metadata_probe(&req.path) {
        if !mcp.decoy_as_metadata {
            return (not_found(), RequestKind::AsMetadataTrap);
        }
        let oidc = req.path.contains(OIDC_WELL_KNOWN);
        return (
            Reply::json(200, &decoy_document(shared, oidc)),
            RequestKind::DecoyAsMetadata,
        );
    }
    if mcp.decoy_as_metadata && req.path == DECOY_AUTHORIZE {
        return (
            Reply::oauth_error(
                400,
                "invalid_request",
                "this is not an authorization server",
            ),
            RequestKind::DecoyAuthorize,
        );
    }
    (not_found(), RequestKind::Other)
}

fn not_found() -> Reply {
    Reply::json(404, &json!({"error": "not_found"}))
}

/// The PRM document as it is now (after a migration it lists `migrate_to`).
fn prm_document(shared: &Shared, state: &WorldState) -> Value {
    let prm = &shared.config.mcp.prm;
    let servers: Vec<String> = listed_servers(shared, state)
        .into_iter()
        .map(|i| shared.issuer(i))
        .collect();
    let mut doc = json!({
        "resource": prm.resource_override.clone().unwrap_or_else(|| shared.mcp_url()),
        "authorization_servers": servers,
        "bearer_methods_supported": ["header"],
    });
    if let Some(scopes) = &prm.scopes_supported {
        doc["scopes_supported"] = json!(scopes);
    }
    if shared.config.mcp.unknown_members {
        doc[UNKNOWN_MEMBER] = json!({"nested": ["ignore", "me"], "n": 1});
    }
    doc
}

/// The ASes the PRM lists now.
pub(crate) fn listed_servers(shared: &Shared, state: &WorldState) -> Vec<usize> {
    match (state.migrated, shared.config.mcp.migrate_to) {
        (true, Some(to)) => vec![to],
        _ => shared.config.mcp.prm.authorization_servers.clone(),
    }
}

fn decoy_document(shared: &Shared, oidc: bool) -> Value {
    let origin = &shared.mcp_origin;
    let mut doc = json!({
        "issuer": origin,
        "authorization_endpoint": format!("{origin}{DECOY_AUTHORIZE}"),
        "token_endpoint": format!("{origin}/decoy/token"),
        "registration_endpoint": format!("{origin}/decoy/register"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
    });
    if oidc {
        doc["jwks_uri"] = json!(format!("{origin}/decoy/jwks"));
        doc["subject_types_supported"] = json!(["public"]);
        doc["id_token_signing_alg_values_supported"] = json!(["RS256"]);
    }
    doc
}

/// The PRM URL challenges name: the header location, else the first served location.
fn challenge_prm_url(shared: &Shared) -> Option<String> {
    let prm = &shared.config.mcp.prm;
    prm.header
        .as_ref()
        .or(prm.locations.first())
        .map(|l| shared.prm_url(l))
}

/// `Bearer k="v", ...` (bare `Bearer` without parameters).
fn bearer(params: &[(&str, String)]) -> String {
    let rendered: Vec<String> = params.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    if rendered.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {}", rendered.join(", "))
    }
}

/// The `WWW-Authenticate` lines of a 401.
fn challenge_lines(shared: &Shared, invalid_token: bool) -> Vec<String> {
    let mcp = &shared.config.mcp;
    if !mcp.challenge_lines.is_empty() {
        let prm_url = challenge_prm_url(shared).unwrap_or_default();
        let scope = mcp.challenge_scope.clone().unwrap_or_default();
        return mcp
            .challenge_lines
            .iter()
            .map(|l| l.replace("{prm_url}", &prm_url).replace("{scope}", &scope))
            .collect();
    }
    let mut params = Vec::new();
    if invalid_token {
        params.push(("error", "invalid_token".to_owned()));
    }
    if let Some(location) = &mcp.prm.header {
        params.push(("resource_metadata", shared.prm_url(location)));
    }
    if let Some(scope) = &mcp.challenge_scope {
        params.push(("scope", scope.clone()));
    }
    if mcp.unknown_members {
        params.push((UNKNOWN_MEMBER, "ignore-me".to_owned()));
    }
    vec![bearer(&params)]
}

fn unauthorized(shared: &Shared, invalid_token: bool) -> Reply {
    let (error, description) = if invalid_token {
        ("invalid_token", "the access token is not valid here")
    } else {
        ("unauthorized", "authorization required")
    };
    let mut reply = Reply::json(
        401,
        &json!({"error": error, "error_description": description}),
    );
    for line in challenge_lines(shared, invalid_token) {
        reply = reply.header("www-authenticate", line);
    }
    reply
}

fn forbidden(shared: &Shared, id: &Value) -> Reply {
    let mcp = &shared.config.mcp;
    let mut params = vec![("error", "insufficient_scope".to_owned())];
    if let Some(scope) = mcp.step_up_scope.as_ref().or(mcp.operation_scope.as_ref()) {
        params.push(("scope", scope.clone()));
    }
    if let Some(location) = &mcp.prm.header {
        params.push(("resource_metadata", shared.prm_url(location)));
    }
    if mcp.unknown_members {
        params.push((UNKNOWN_MEMBER, "ignore-me".to_owned()));
    }
    Reply::json(
        403,
        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32003, "message": "insufficient_scope"}}),
    )
    .header("www-authenticate", bearer(&params))
}

/// Whether `token` (None: none presented) is accepted now; `Err(true)` for a presented but
/// refused token, `Err(false)` for none.
fn check_token(
    shared: &Shared,
    state: &mut WorldState,
    token: Option<&str>,
    in_query: bool,
) -> Result<(), bool> {
    let token = token.ok_or(false)?;
    let listed = listed_servers(shared, state);
    let now = shared.now();
    let mcp_url = shared.mcp_url();
    let expire_after = shared.config.mcp.expire_token_after;
    let tokens = &mut state.tokens;
    let Some(at) = tokens.access.get(token) else {
        return Err(true);
    };
    let revoked = tokens.family_revoked(at.as_index, &at.family);
    let at = tokens.access.get_mut(token).ok_or(true)?;
    if expire_after.is_some_and(|n| at.uses >= n) {
        at.expired_by_use = true;
    }
    // An AS living on the MCP origin is the server itself (2025-03-26, before RFC 8707): its tokens need
    // not name the resource.
    let own_as = shared.config.auth_servers[at.as_index].on_mcp_origin;
    let for_this_server = match at.resource.as_deref() {
        Some(resource) => resource == mcp_url,
        None => own_as,
    };
    let ok = !in_query
        && listed.contains(&at.as_index)
        && now < at.expires_at
        && !revoked
        && !at.expired_by_use
        && for_this_server;
    if ok {
        Ok(())
    } else {
        Err(true)
    }
}

/// The MCP endpoint: POST JSON-RPC, GET 405, DELETE 200; a valid token is needed for POST and
/// DELETE.
fn endpoint(shared: &Shared, req: &Incoming) -> (Reply, RequestKind) {
    let rpc: Option<Value> = (req.method == "POST")
        .then(|| serde_json::from_slice(&req.body).ok())
        .flatten();
    let rpc_method = rpc
        .as_ref()
        .and_then(|v| v.get("method"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let dpop_world = shared.config.mcp.dpop;
    let presented = if dpop_world {
        super::dpop::presented_token(&req.headers)
    } else {
        bearer_token(&req.headers).map(|t| (t, false))
    };
    let (token, in_query, dpop_scheme) = match presented {
        Some((t, dpop)) => (Some(t), false, dpop),
        None => (
            req.query_param("access_token").map(str::to_owned),
            true,
            false,
        ),
    };
    let mut state = shared.state();
    let token_issuer = token.as_deref().and_then(|t| state.tokens.issuer_of(t));
    let verdict = check_token(shared, &mut state, token.as_deref(), in_query);
    let dpop_refusal = match (&verdict, token.as_deref()) {
        (Ok(()), Some(t)) if dpop_world && req.method != "GET" => {
            let jkt = state.tokens.access.get(t).and_then(|at| at.jkt.clone());
            let nonce = shared
                .config
                .mcp
                .dpop_nonce
                .then(|| super::dpop::rs_nonce(shared.config.seed));
            super::dpop::resource_request(
                &req.method,
                &req.headers,
                &shared.mcp_url(),
                t,
                dpop_scheme,
                jkt.as_deref(),
                nonce.as_deref(),
            )
            .err()
        }
        _ => None,
    };
    let kind = RequestKind::Mcp {
        method: rpc_method,
        token: token.clone(),
        token_issuer,
        token_valid: verdict.is_ok() && dpop_refusal.is_none(),
    };
    let reply = match (req.method.as_str(), verdict) {
        ("GET", _) => Reply::empty(405).header("allow", "POST, DELETE"),
        ("POST" | "DELETE", Ok(())) if dpop_refusal.is_some() => {
            dpop_refusal.unwrap_or_else(|| Reply::empty(401))
        }
        ("POST" | "DELETE", Err(invalid_token)) => unauthorized(shared, invalid_token),
        ("DELETE", Ok(())) => Reply::empty(200),
        ("POST", Ok(())) => json_rpc(shared, &mut state, rpc.as_ref(), token.as_deref()),
        _ => Reply::empty(405).header("allow", "POST, DELETE"),
    };
    if (200..300).contains(&reply.status) {
        if let Some(at) = token
            .as_deref()
            .and_then(|t| state.tokens.access.get_mut(t))
        {
            at.uses += 1;
            state.successful_requests += 1;
            if shared
                .config
                .mcp
                .migrate_after_requests
                .is_some_and(|n| state.successful_requests >= n)
            {
                state.migrated = true;
            }
        }
    }
    (reply, kind)
}

fn rpc_result(id: &Value, result: Value) -> Reply {
    Reply::json(200, &json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn rpc_error(status: u16, id: &Value, code: i64, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    )
}

fn tools() -> Value {
    json!({"tools": [
        {
            "name": "list_todos",
            "description": "List the to-do items.",
            "inputSchema": {"type": "object", "properties": {}},
        },
        {
            "name": "create_todo",
            "description": "Create a to-do item.",
            "inputSchema": {
                "type": "object",
                "properties": {"title": {"type": "string"}},
                "required": ["title"],
            },
        },
    ]})
}

/// One authenticated JSON-RPC message.
fn json_rpc(
    shared: &Shared,
    state: &mut WorldState,
    rpc: Option<&Value>,
    token: Option<&str>,
) -> Reply {
    let Some(message) = rpc else {
        return rpc_error(400, &Value::Null, -32700, "Parse error");
    };
    let Some(object) = message.as_object() else {
        return rpc_error(
            400,
            &Value::Null,
            -32600,
            "Invalid Request: expected one JSON-RPC object",
        );
    };
    let (Some(id), Some(method)) = (
        object.get("id"),
        object.get("method").and_then(Value::as_str),
    ) else {
        // A notification or a response: accepted, nothing to answer.
        return Reply::empty(202);
    };
    if method != "initialize" {
        let mcp = &shared.config.mcp;
        let lacks_scope = mcp.operation_scope.as_deref().is_some_and(|needed| {
            !token
                .and_then(|t| state.tokens.access.get(t))
                .is_some_and(|at| at.has_scope(needed))
        });
        if mcp.always_forbid_operations || lacks_scope {
            return forbidden(shared, id);
        }
    }
    let modern = method != "initialize"
        && object
            .get("params")
            .and_then(|p| p.get("_meta"))
            .and_then(|m| m.get("io.modelcontextprotocol/protocolVersion"))
            .is_some();
    match method {
        "server/discover" => rpc_result(
            id,
            stamped(
                method,
                json!({
                    "supportedVersions": SUPPORTED_VERSIONS,
                    "capabilities": {"tools": {"listChanged": false}},
                }),
            ),
        ),
        "initialize" => {
            let version = object
                .get("params")
                .and_then(|p| p.get("protocolVersion"))
                .and_then(Value::as_str)
                .unwrap_or(PROTOCOL_VERSION);
            let session = shared.mcp_minter.random_token(16);
            rpc_result(
                id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {"listChanged": false}},
                    "serverInfo": {"name": "fake-idp client world", "version": env!("CARGO_PKG_VERSION")},
                }),
            )
            .header("mcp-session-id", session)
        }
        "ping" => rpc_result(id, stamp_if(modern, method, json!({}))),
        "tools/list" => rpc_result(id, stamp_if(modern, method, tools())),
        "tools/call" => {
            let tool = object
                .get("params")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            let result = json!({
                "content": [{"type": "text", "text": format!("{tool}: ok (no to-dos yet)")}],
                "isError": false,
            });
            rpc_result(id, stamp_if(modern, method, result))
        }
        _ if modern => rpc_error(404, id, -32601, "Method not found"),
        _ => rpc_error(200, id, -32601, "Method not found"),
    }
}

/// `result` with the members 2026-07-28 asks of a result (`stamped`) when the request was stateless.
fn stamp_if(modern: bool, method: &str, result: Value) -> Value {
    if modern {
        stamped(method, result)
    } else {
        result
    }
}

/// `result` with `resultType`, the server's identity in `_meta`, and the caching hints of the
/// cacheable operations (`server/discover`, `tools/list`).
fn stamped(method: &str, mut result: Value) -> Value {
    result["resultType"] = json!("complete");
    result["_meta"] = json!({"io.modelcontextprotocol/serverInfo": {
        "name": "fake-idp client world", "version": env!("CARGO_PKG_VERSION")
    }});
    if matches!(method, "server/discover" | "tools/list") {
        result["ttlMs"] = json!(0);
        result["cacheScope"] = json!("private");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::super::config::PrmLocation;
    use super::*;

    #[test]
    fn prm_locations_follow_rfc9728() {
        assert_eq!(
            PrmLocation::PathInserted.path("/mcp"),
            "/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            PrmLocation::PathInserted.path("/"),
            "/.well-known/oauth-protected-resource"
        );
        assert_eq!(PrmLocation::Root.path("/mcp"), PRM_WELL_KNOWN);
    }

    #[test]
    fn a_stateless_result_is_stamped_and_a_legacy_one_is_not() {
        let r = stamp_if(true, "tools/list", tools());
        assert_eq!(r["resultType"], "complete");
        assert_eq!(r["cacheScope"], "private");
        let call = stamp_if(true, "tools/call", json!({"content": []}));
        assert!(call.get("ttlMs").is_none());
        assert!(stamp_if(false, "tools/list", tools())
            .get("resultType")
            .is_none());
    }

    #[test]
    fn bare_bearer_has_no_parameters() {
        assert_eq!(bearer(&[]), "Bearer");
        assert_eq!(
            bearer(&[("scope", "a b".to_owned())]),
            "Bearer scope=\"a b\""
        );
    }

    #[test]
    fn metadata_probes_are_recognised_in_every_form() {
        assert!(is_as_metadata_probe(
            "/.well-known/oauth-authorization-server/t"
        ));
        assert!(is_as_metadata_probe("/t/.well-known/openid-configuration"));
        assert!(!is_as_metadata_probe("/mcp"));
    }
}
