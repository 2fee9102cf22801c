//! Client-credentials tokens (extension client-credentials, SEP-1046): tokens with no user, whose `sub` is the
//! client itself. A valid one must be served like any token; one for another audience refused; one without the
//! write scope refused a write (RS-CC-*). Runs only with `--extension client-credentials`.

use fake_idp::{Audience, TokenSpec};

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::server::ctx::{Auth, Ctx, OTHER_RESOURCE};
use crate::server::obs::MachineObs;

/// The client id of the suite's machine client (its tokens' `sub` and `client_id`).
pub const MACHINE_CLIENT: &str = "conformance-machine-client";

/// A client-credentials token: `sub` = `client_id` = the machine client, no roles, `scope` as given.
pub fn machine_spec(audience: Audience, scope: &str) -> TokenSpec {
    TokenSpec {
        sub: MACHINE_CLIENT.into(),
        roles: Vec::new(),
        permissions: scope.split_whitespace().map(str::to_owned).collect(),
        audience,
        scope: Some(scope.to_owned()),
        client_id: MACHINE_CLIENT.into(),
        lifetime_secs: 3600,
    }
}

/// The three machine-token probes.
pub async fn machine_tokens(ctx: &Ctx<'_>) -> Result<MachineObs, ObsError> {
    let sc = Scenario::new("machine-tokens");
    let read = ctx.profile.scopes.read.clone();
    let mint = |audience: Audience, scope: &str| {
        let t = ctx.idp.minter().mint(&machine_spec(audience, scope));
        ctx.http.register_secret(&t);
        t
    };
    let reader = mint(Audience::One(ctx.audience()), &read);
    let valid = ctx
        .initialize(
            &sc,
            "a client-credentials token for this server (read scope)",
            &Auth::Bearer(reader.clone()),
        )
        .await?;
    let other = mint(
        Audience::One(OTHER_RESOURCE.into()),
        &ctx.profile.full_scope(),
    );
    let other_audience = ctx
        .initialize(
            &sc,
            "a client-credentials token for another MCP server",
            &Auth::Bearer(other),
        )
        .await?;
    let write = if valid.served() {
        let session = ctx.open_session(&sc, &reader).await?;
        let marker = ctx.marker("machine-write");
        Some(
            ctx.call_tool(
                &sc,
                "write tool with a client-credentials token holding only the read scope",
                &Auth::Bearer(reader),
                &session,
                &ctx.profile.tools.write.name.clone(),
                &ctx.profile.write_arguments(&marker),
            )
            .await?,
        )
    } else {
        None
    };
    Ok(MachineObs {
        valid,
        other_audience,
        write,
    })
}
