//! Server-role scenarios: each drives the target once and records what it saw. They run concurrently
//! after a baseline (a valid token opening a session), which also tells how the server validates tokens.

pub mod discovery;
pub mod scope;
pub mod sessions;
pub mod tokens;
pub mod upstream;

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::profile::Validation;
use crate::server::ctx::Ctx;
use crate::server::obs::{Mode, ServerObservations};

/// Runs every scenario and returns the observations.
pub async fn observe(ctx: &Ctx<'_>) -> ServerObservations {
    let (baseline, mode) = baseline(ctx).await;
    let unauth_and_discovery = async {
        let unauth = discovery::unauthenticated(ctx).await;
        let found = discovery::discover(ctx, &unauth).await;
        (unauth, found)
    };
    let probes_then_quiet = async {
        let probes = tokens::probe_all(ctx).await;
        // A server could fetch a jku/x5u URL after answering: give it a budget to show itself.
        ctx.events
            .wait_for_attacker_fetch(tokens::KEY_FETCH_BUDGET)
            .await;
        probes
    };
    let (
        (unauthenticated, discovery),
        probes,
        session,
        session_ids,
        scope,
        write_before_auth,
        origin,
        upstream,
    ) = tokio::join!(
        unauth_and_discovery,
        probes_then_quiet,
        sessions::hijack(ctx),
        sessions::session_ids(ctx),
        scope::insufficient_scope(ctx),
        scope::write_with_invalid_token(ctx),
        scope::evil_origin(ctx),
        upstream::upstream(ctx),
    );
    ServerObservations {
        target: ctx.target.clone(),
        profile: ctx.profile.clone(),
        mode,
        baseline,
        unauthenticated,
        discovery,
        probes,
        attacker_fetches: ctx.events.attacker_fetches(),
        jku_url: ctx.idp.attacker_jku_url(),
        x5u_url: ctx.idp.attacker_x5u_url(),
        session,
        session_ids,
        scope,
        write_before_auth,
        origin,
        upstream,
    }
}

/// A valid token opens a session; the introspection counter tells whether the server asked the AS.
async fn baseline(ctx: &Ctx<'_>) -> (Result<String, ObsError>, Result<Mode, ObsError>) {
    let sc = Scenario::new("baseline");
    let before = ctx.events.introspection_count();
    let session = match ctx.token(ctx.full_user()) {
        Ok(t) => ctx.open_session(&sc, &t).await,
        Err(e) => Err(e),
    };
    let introspected = ctx.events.introspection_count() > before;
    let mode = match (ctx.profile.validation, &session) {
        (Validation::Jwt, _) => Ok(Mode::Jwt),
        (Validation::Introspection, _) => Ok(Mode::Introspection),
        (Validation::Auto, Ok(_)) if introspected => Ok(Mode::Introspection),
        (Validation::Auto, Ok(_)) => Ok(Mode::Jwt),
        (Validation::Auto, Err(e)) => Err(e.clone()),
    };
    (session, mode)
}
