//! Server-role scenarios: each drives the target once and records what it saw. They run concurrently
//! after a baseline (a valid token opening a session), which also tells how the server validates tokens.

pub mod discovery;
pub mod dpop;
pub mod machine;
pub mod march;
pub mod scope;
pub mod sessions;
pub mod stateless;
pub mod tokens;
pub mod upstream;

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::profile::Validation;
use crate::runner::Progress;
use crate::server::ctx::Ctx;
use crate::server::obs::{Mode, ServerObservations};
use crate::spec::Extension;

/// How many scenarios [`observe`] runs (for the terminal's status line): the baseline, then nine at once.
const SCENARIOS: usize = 10;

/// Runs every scenario, recording the observations in `progress`. Each scenario writes its part into `progress` as it
/// finishes, so a run stopped by a signal can judge what was complete (the rest stays
/// [`ObsError::Interrupted`]).
pub async fn observe(ctx: &Ctx<'_>, progress: &Progress<ServerObservations>) {
    let with_dpop = ctx.extensions.contains(Extension::Dpop);
    let with_machine = ctx.extensions.contains(Extension::ClientCredentials);
    let with_march = ctx.spec == crate::spec::SpecVersion::V2025_03_26;
    progress.status().plan(
        SCENARIOS + usize::from(with_dpop) + usize::from(with_machine) + usize::from(with_march),
    );
    let (baseline, mode) = progress.step("baseline session", baseline(ctx)).await;
    progress.set(ServerObservations::pending(
        ctx.target.clone(),
        ctx.profile.clone(),
        mode,
        baseline,
        ctx.idp.attacker_jku_url(),
        ctx.idp.attacker_x5u_url(),
    ));
    let unauth_and_discovery = progress.step("PRM discovery", async {
        let unauth = discovery::unauthenticated(ctx).await;
        let found = discovery::discover(ctx, &unauth).await;
        progress.update(|o| {
            o.unauthenticated = unauth;
            o.discovery = Ok(found);
        });
    });
    let probes_then_quiet = progress.step("token probes", async {
        let probes = tokens::probe_all(ctx).await;
        // A server could fetch a jku/x5u URL after answering: give it a budget to show itself.
        ctx.events
            .wait_for_attacker_fetch(tokens::KEY_FETCH_BUDGET)
            .await;
        let fetches = ctx.events.attacker_fetches();
        progress.update(|o| {
            o.probes = probes;
            o.attacker_fetches = fetches;
        });
    });
    tokio::join!(
        unauth_and_discovery,
        probes_then_quiet,
        progress.step("session hijack", async {
            let r = sessions::hijack(ctx).await;
            progress.update(|o| o.session = r);
        }),
        progress.step("session ids", async {
            let r = sessions::session_ids(ctx).await;
            progress.update(|o| o.session_ids = r);
        }),
        progress.step("insufficient scope", async {
            let r = scope::insufficient_scope(ctx).await;
            progress.update(|o| o.scope = r);
        }),
        progress.step("write with an invalid token", async {
            let r = scope::write_with_invalid_token(ctx).await;
            progress.update(|o| o.write_before_auth = r);
        }),
        progress.step("cross-origin request", async {
            let r = scope::evil_origin(ctx).await;
            progress.update(|o| o.origin = r);
        }),
        progress.step("upstream calls", async {
            let r = upstream::upstream(ctx).await;
            progress.update(|o| o.upstream = r);
        }),
        async {
            if with_dpop {
                progress
                    .step("DPoP-bound token", async {
                        let r = dpop::probe_all(ctx).await;
                        progress.update(|o| o.dpop = r);
                    })
                    .await;
            } else {
                progress.update(|o| {
                    o.dpop = Err(ObsError::Harness(
                        "the dpop extension was not opted in (--extension dpop)".into(),
                    ))
                });
            }
        },
        progress.step("stateless requests", async {
            let r = stateless::stateless(ctx).await;
            progress.update(|o| o.stateless = r);
        }),
        async {
            // Not applicable (no request) at any other revision.
            let r = if with_march {
                progress
                    .step("2025-03-26 authorization server", march::march(ctx))
                    .await
            } else {
                march::march(ctx).await
            };
            progress.update(|o| o.march = r);
        },
        async {
            if ctx.extensions.contains(Extension::ClientCredentials) {
                let r = progress
                    .step("client-credentials tokens", machine::machine_tokens(ctx))
                    .await;
                progress.update(|o| o.machine = r);
            } else {
                progress.update(|o| {
                    o.machine = Err(ObsError::NotApplicable(
                        "client-credentials tokens are probed with --extension client-credentials"
                            .into(),
                    ))
                });
            }
        },
    );
    // As before the record was shared: a fetch seen while the other scenarios finished still counts.
    let fetches = ctx.events.attacker_fetches();
    progress.update(|o| o.attacker_fetches = fetches);
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
