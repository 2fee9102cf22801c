//! Scopes and side effects: a read-only user's write, a write with an invalid token, an evil Origin
//! (RS-SCOPE-*, RS-TOK-10, RS-TRN-01).

use fake_idp::danger::TokenMutation;

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::server::ctx::{Auth, Ctx, Probe};
use crate::server::obs::{ControlWrite, ScopeObs, WriteProbe};

/// How many times the read-only user tries the write (RS-SCOPE-05 compares the challenges).
pub const SCOPE_ATTEMPTS: usize = 3;

/// The Origin header of a cross-site page (RS-TRN-01).
pub const EVIL_ORIGIN: &str = "https://evil.example";

/// The read-only user reads (allowed) and writes (forbidden) three times; the full user reads back.
pub async fn insufficient_scope(ctx: &Ctx<'_>) -> Result<ScopeObs, ObsError> {
    let sc = Scenario::new("insufficient-scope");
    let token = ctx.token(ctx.read_only_user())?;
    let auth = Auth::Bearer(token.clone());
    let session = ctx.open_session(&sc, &token).await?;
    let read = ctx.profile.tools.read.clone();
    let reduced_read = ctx
        .call_tool(
            &sc,
            "read tool with the read-only user's token",
            &auth,
            &session,
            &read.name,
            &read.arguments,
        )
        .await?;
    let write = ctx.profile.tools.write.name.clone();
    let mut attempts = Vec::new();
    let mut markers = Vec::new();
    for _ in 0..SCOPE_ATTEMPTS {
        let marker = ctx.marker("read-only-write");
        let args = ctx.profile.write_arguments(&marker);
        attempts.push(
            ctx.call_tool(
                &sc,
                "write tool with the read-only user's token",
                &auth,
                &session,
                &write,
                &args,
            )
            .await?,
        );
        markers.push(marker);
    }
    // A write answered as a success may still have been refused in the result's text: only the read-back can
    // tell, and only if a write that must land does show up in it.
    let control = if attempts.iter().any(Probe::served) {
        Some(control_write(ctx, &sc).await)
    } else {
        None
    };
    let read_back = ctx.read_back(&sc).await;
    Ok(ScopeObs {
        attempts,
        markers,
        read_back,
        reduced_read,
        control,
    })
}

/// The full-access user's write with a fresh title, in a session of its own.
async fn control_write(ctx: &Ctx<'_>, sc: &Scenario) -> ControlWrite {
    let marker = ctx.marker("full-access-write");
    let probe = async {
        let token = ctx.token(ctx.full_user())?;
        let session = ctx.open_session(sc, &token).await?;
        let write = ctx.profile.tools.write.name.clone();
        ctx.call_tool(
            sc,
            "write tool with the full-access user's token (control for the read-back)",
            &Auth::Bearer(token),
            &session,
            &write,
            &ctx.profile.write_arguments(&marker),
        )
        .await
    }
    .await;
    ControlWrite { probe, marker }
}

/// The write tool called in a valid session with a token that is not a token at all.
pub async fn write_with_invalid_token(ctx: &Ctx<'_>) -> Result<WriteProbe, ObsError> {
    let sc = Scenario::new("write-before-auth");
    let full = ctx.full_user().to_owned();
    let token = ctx.token(&full)?;
    let session = ctx.open_session(&sc, &token).await?;
    let invalid = ctx.forged(&full, &TokenMutation::RandomString)?;
    let marker = ctx.marker("invalid-token-write");
    let args = ctx.profile.write_arguments(&marker);
    let write = ctx.profile.tools.write.name.clone();
    let attempt = ctx
        .call_tool(
            &sc,
            "write tool with an invalid token",
            &Auth::Bearer(invalid),
            &session,
            &write,
            &args,
        )
        .await?;
    let read_back = ctx.read_back(&sc).await;
    Ok(WriteProbe {
        attempt,
        marker,
        read_back,
    })
}

/// A valid token from a page on another origin.
pub async fn evil_origin(ctx: &Ctx<'_>) -> Result<Probe, ObsError> {
    let sc = Scenario::new("origin");
    let token = ctx.token(ctx.full_user())?;
    ctx.rpc(
        &sc,
        "initialize with a valid token and Origin: https://evil.example",
        ctx.probe_body(),
        &Auth::Bearer(token),
        None,
        &[("origin", EVIL_ORIGIN)],
    )
    .await
}
