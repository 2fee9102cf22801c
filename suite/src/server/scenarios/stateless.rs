//! Authorization per request in stateless MCP (2026-07-28, RS-SL-*): with no `initialize` and no session, the
//! first request a client ever sends must meet the 401 challenge, and a token accepted on one request must not
//! authorize the next one that lacks it.

use serde_json::{json, Value};

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::server::ctx::{Auth, Ctx};
use crate::server::obs::{CarryOver, StatelessObs};
use crate::wire::mcp;
use crate::wire::stateless::META_CLIENT_INFO;

/// A request body whose `_meta` names the client `name` (so that no other scenario's request shares its
/// `clientInfo`: a first contact stays a first contact even for a server that keys anything on it).
fn as_client(mut body: Value, name: &str) -> Value {
    body["params"]["_meta"] =
        json!({META_CLIENT_INFO: {"name": name, "version": env!("CARGO_PKG_VERSION")}});
    body
}

/// At a stateless revision: `tools/list` and the read tool without a token, each the first request of a client
/// never seen before; then the read tool with a valid token and the same request again without it, as one client.
pub async fn stateless(ctx: &Ctx<'_>) -> Result<StatelessObs, ObsError> {
    if !ctx.spec.is_stateless() {
        return Err(ObsError::NotApplicable(format!(
            "MCP is stateless only from 2026-07-28; this run is at {}",
            ctx.spec
        )));
    }
    let sc = Scenario::new("stateless");
    let read = ctx.profile.tools.read.clone();
    let mut first_contact = Vec::new();
    let list = as_client(mcp::tools_list(1), &ctx.marker("first-contact"));
    let p = ctx
        .rpc(
            &sc,
            "tools/list without a token, the first request of a new client",
            list,
            &Auth::None,
            None,
            &[],
        )
        .await?;
    first_contact.push(("tools/list".to_owned(), p));
    let call = as_client(
        mcp::tools_call(2, &read.name, &read.arguments),
        &ctx.marker("first-contact"),
    );
    let p = ctx
        .rpc(
            &sc,
            "read tool without a token, the first request of a new client",
            call,
            &Auth::None,
            None,
            &[],
        )
        .await?;
    first_contact.push((format!("tools/call {}", read.name), p));
    let carry_over = carry_over(ctx, &sc).await;
    Ok(StatelessObs {
        first_contact,
        carry_over,
    })
}

/// The read tool with a valid token, then the same request without one (echoing an `Mcp-Session-Id` should
/// the server have minted one, although 2026-07-28 has none).
async fn carry_over(ctx: &Ctx<'_>, sc: &Scenario) -> Result<CarryOver, ObsError> {
    let client = ctx.marker("carry-over");
    let read = ctx.profile.tools.read.clone();
    let token = ctx.token(ctx.full_user())?;
    let body = |id| as_client(mcp::tools_call(id, &read.name, &read.arguments), &client);
    let with_token = ctx
        .rpc(
            sc,
            "read tool with a valid token",
            body(3),
            &Auth::Bearer(token),
            None,
            &[],
        )
        .await?;
    if !with_token.served() {
        return Err(ObsError::target(
            format!(
                "the read tool with a valid token was not served: {}",
                with_token.describe()
            ),
            [with_token.exchange],
        ));
    }
    let session = with_token.session_id.clone().unwrap_or_default();
    let extra: Vec<(&str, &str)> = if session.is_empty() {
        Vec::new()
    } else {
        vec![("mcp-session-id", session.as_str())]
    };
    let without_token = ctx
        .rpc(
            sc,
            "the same request from the same client without a token",
            body(4),
            &Auth::None,
            None,
            &extra,
        )
        .await?;
    Ok(CarryOver {
        with_token,
        without_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenarios_client_info_replaces_nothing_else() {
        let b = as_client(mcp::tools_list(1), "probe-1");
        assert_eq!(b["params"]["_meta"][META_CLIENT_INFO]["name"], "probe-1");
        assert_eq!(b["method"], "tools/list");
    }
}
