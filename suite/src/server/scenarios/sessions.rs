//! Sessions are never authentication (RS-TOK-07/08/09, RS-WWW-01 for GET and DELETE).

use fake_idp::danger::TokenMutation;

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::Request;
use crate::server::ctx::{probe_of, Auth, Ctx};
use crate::server::obs::SessionObs;

/// How many sessions RS-TOK-09 collects.
pub const SESSION_SAMPLE: usize = 20;

/// Sessions exist only where MCP has an `initialize` handshake (not from 2026-07-28).
fn stateful(ctx: &Ctx<'_>) -> Result<(), ObsError> {
    if ctx.spec.is_stateless() {
        return Err(ObsError::NotApplicable(format!(
            "MCP {} is stateless: no initialize, no Mcp-Session-Id, so there is no session to misuse",
            ctx.spec
        )));
    }
    Ok(())
}

/// Opens a session as the full user, then tries to use it without a valid token of that user.
pub async fn hijack(ctx: &Ctx<'_>) -> Result<SessionObs, ObsError> {
    stateful(ctx)?;
    let sc = Scenario::new("session-hijack");
    let full = ctx.full_user().to_owned();
    let token = ctx.token(&full)?;
    let session = ctx.open_session(&sc, &token).await?;
    if session.is_empty() {
        return Err(ObsError::NotApplicable(
            "the server is stateless (no Mcp-Session-Id was issued), so there is no session to misuse".into(),
        ));
    }
    let read = ctx.profile.tools.read.clone();
    let no_token = ctx
        .call_tool(
            &sc,
            "read tool with the session id and no token",
            &Auth::None,
            &session,
            &read.name,
            &read.arguments,
        )
        .await?;
    let expired = ctx.forged(&full, &TokenMutation::Expired)?;
    let expired_token = ctx
        .call_tool(
            &sc,
            "read tool with the session id and the same user's expired token",
            &Auth::Bearer(expired),
            &session,
            &read.name,
            &read.arguments,
        )
        .await?;
    let other = ctx.token(ctx.read_only_user())?;
    let other_user = ctx
        .call_tool(
            &sc,
            "read tool with the session id and another user's valid token",
            &Auth::Bearer(other),
            &session,
            &read.name,
            &read.arguments,
        )
        .await?;
    let get = Request::get(&ctx.target)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session.clone());
    let unauth_get = probe_of(
        ctx.send(
            &sc,
            "GET (SSE stream) with the session id and no token",
            get,
            &Auth::None,
        )
        .await,
    )?;
    let delete = Request::method(reqwest::Method::DELETE, &ctx.target)
        .header("mcp-session-id", session.clone());
    let unauth_delete = probe_of(
        ctx.send(
            &sc,
            "DELETE with the session id and no token",
            delete,
            &Auth::None,
        )
        .await,
    )?;
    Ok(SessionObs {
        no_token,
        expired_token,
        other_user,
        unauth_get,
        unauth_delete,
    })
}

/// Collects session ids from independent `initialize` calls.
pub async fn session_ids(ctx: &Ctx<'_>) -> Result<Vec<(String, String)>, ObsError> {
    stateful(ctx)?;
    let scenario = Scenario::new("session-ids");
    let sc = &scenario;
    let token = ctx.token(ctx.full_user())?;
    let auth = &Auth::Bearer(token);
    let calls = (0..SESSION_SAMPLE).map(|_| async move {
        ctx.initialize(sc, "initialize to sample a session id", auth)
            .await
    });
    let mut out = Vec::new();
    for p in futures::future::join_all(calls).await {
        let p = p?;
        match (p.served(), &p.session_id) {
            (true, Some(id)) => out.push((id.clone(), p.exchange)),
            (true, None) => {
                return Err(ObsError::NotApplicable(
                    "the server is stateless (initialize returned no Mcp-Session-Id)".into(),
                ))
            }
            (false, _) => {
                return Err(ObsError::target(
                    format!("a valid token was refused at initialize: {}", p.describe()),
                    [p.exchange],
                ))
            }
        }
    }
    Ok(out)
}
