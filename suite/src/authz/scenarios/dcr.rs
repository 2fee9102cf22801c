//! Dynamic client registration (RFC 7591): registering the suite's clients, and the registration probes.

use serde_json::{json, Value};

use super::{not_applicable, Ctx};
use crate::authz::oauth::{Client, ClientAuth};
use crate::authz::obs::*;
use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::{Http, Request};

/// Registers a client by DCR.
pub async fn dcr(
    http: &Http,
    sc: &Scenario,
    endpoint: &str,
    redirect: &str,
    auth: ClientAuth,
) -> Result<Client, ObsError> {
    let method = match auth {
        ClientAuth::None => "none",
        ClientAuth::Basic => "client_secret_basic",
        ClientAuth::Post => "client_secret_post",
    };
    let body = json!({
        "redirect_uris": [redirect],
        "client_name": "mcp-auth-conformance",
        "token_endpoint_auth_method": method,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    });
    let rec = http
        .send(
            sc,
            "register a client (RFC 7591)",
            Request::post_json(endpoint, &body),
        )
        .await;
    let resp = rec
        .result
        .map_err(|e| ObsError::target(e.to_string(), [rec.id.clone()]))?;
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let id = v.get("client_id").and_then(Value::as_str).ok_or_else(|| {
        ObsError::target(
            format!(
                "registration answered HTTP {} without a client_id",
                resp.status
            ),
            [rec.id.clone()],
        )
    })?;
    let secret = v
        .get("client_secret")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(s) = &secret {
        http.register_secret(s);
    }
    Ok(Client {
        id: id.to_owned(),
        secret,
        redirect_uri: redirect.to_owned(),
        auth,
        kind: "dcr",
    })
}

/// DCR probes (only when a registration endpoint is advertised).
pub async fn dcr_probes(ctx: &Ctx) -> Result<DcrObs, ObsError> {
    let Some(endpoint) = ctx.endpoints.registration.clone() else {
        return Err(not_applicable("the AS advertises no registration_endpoint"));
    };
    let sc = Scenario::new("dcr");
    let post = |body: Value| {
        let endpoint = endpoint.clone();
        let sc = &sc;
        async move {
            let rec = ctx
                .http
                .send(
                    sc,
                    "register a client (RFC 7591)",
                    Request::post_json(&endpoint, &body),
                )
                .await;
            match rec.result {
                Ok(r) => (
                    Ok(r.status),
                    serde_json::from_slice::<Value>(&r.body).ok(),
                    rec.id,
                ),
                Err(f) => (Err(f), None, rec.id),
            }
        }
    };
    let public = post(json!({
        "redirect_uris": [ctx.callback.redirect_uri()],
        "client_name": "mcp-auth-conformance",
        "token_endpoint_auth_method": "none",
    }))
    .await;
    let mut bad = Vec::new();
    for uri in ["javascript:alert(1)", "http://evil.example/cb"] {
        let (s, v, id) = post(json!({"redirect_uris": [uri], "client_name": "hostile", "token_endpoint_auth_method": "none"})).await;
        bad.push((uri.to_owned(), s, v, id));
    }
    Ok(DcrObs { public, bad })
}
