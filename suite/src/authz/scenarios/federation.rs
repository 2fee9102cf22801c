//! Federation probes (AS-FED-*, issue 15): the AS brokers its login to an upstream IdP, and the suite plays that
//! IdP. One honest federated login first (it must yield tokens, and proves the hop works), then one login per
//! hostile [`IdpAnswer`]: each with a fresh user agent, so that the AS has no session and must go to the IdP.
//!
//! The probes run one at a time, after every other scenario: the IdP's answer is global while a probe runs.

use std::collections::BTreeMap;

use fake_idp::idp::{IdpAnswer, IdpSeen, RunningIdp};

use super::{Ctx, RESOURCE};
use crate::authz::agent::Authorized;
use crate::authz::oauth;
use crate::authz::obs::FlowObs;
use crate::check::ObsError;
use crate::evidence::Scenario;

/// The flag that starts the suite's IdP for an AS given by `--issuer` (named by the SKIP reason).
pub const UPSTREAM_IDP_FLAG: &str = "--upstream-idp";

/// One login through the hostile IdP.
#[derive(Debug, Clone)]
pub struct FedProbe {
    /// The authorization walk of the MCP client (the suite), through the AS and the IdP.
    pub authorized: Authorized,
    /// What the IdP saw and did during this probe.
    pub seen: Vec<IdpSeen>,
}

impl FedProbe {
    /// Whether the IdP delivered this probe's twist: the redirect back for a state twist, the token response for
    /// an ID-token twist.
    pub fn delivered(&self, answer: IdpAnswer) -> bool {
        self.seen.iter().any(|s| match s {
            IdpSeen::Token { answer: a } => answer.in_id_token() && *a == answer,
            IdpSeen::Redirected { answer: a } => !answer.in_id_token() && *a == answer,
            _ => false,
        })
    }
}

/// Everything the federation probes saw.
#[derive(Debug, Clone)]
pub struct FederationObs {
    /// The honest federated login, its code redeemed at the AS.
    pub honest: FlowObs,
    /// What the IdP saw during the honest login.
    pub honest_seen: Vec<IdpSeen>,
    /// Every token the IdP issued during the honest login (access and ID tokens; registered as secrets).
    pub idp_tokens: Vec<String>,
    /// One login per hostile answer.
    pub probes: BTreeMap<IdpAnswer, FedProbe>,
}

/// Runs the federation probes, or says why they cannot run.
pub async fn federation_probes(ctx: &Ctx) -> Result<FederationObs, ObsError> {
    let Some(idp) = ctx.idp.as_deref() else {
        return Err(ObsError::NotApplicable(format!(
            "no upstream IdP: run with {UPSTREAM_IDP_FLAG} [ADDR] and configure the AS to federate its login to \
             the suite's IdP (docs/guide/federation.md)"
        )));
    };
    let sc = Scenario::new("federation");
    idp.set_answer(IdpAnswer::Honest);
    let mark = idp.seen().len();
    let issued_before = idp.issued_tokens().len();
    let honest = ctx.flow(&sc, &ctx.client_a, &ctx.scope, &[], true).await;
    let honest_seen = idp.seen()[mark..].to_vec();
    let idp_tokens: Vec<String> = idp.issued_tokens()[issued_before..].to_vec();
    register_secrets(ctx, idp);
    let honest = honest.map_err(|e| match e {
        ObsError::Target { reason, evidence, cause, after } if !hopped(&honest_seen) => ObsError::Target {
            reason: format!("{reason}; the AS never sent the user to the suite's IdP (is it configured to federate to it?)"),
            evidence,
            cause,
            after,
        },
        other => other,
    })?;
    let mut probes = BTreeMap::new();
    for &answer in IdpAnswer::ALL.iter().filter(|a| a.is_hostile()) {
        probes.insert(answer, probe(ctx, idp, &sc, answer).await);
    }
    idp.set_answer(IdpAnswer::Honest);
    register_secrets(ctx, idp);
    Ok(FederationObs {
        honest,
        honest_seen,
        idp_tokens,
        probes,
    })
}

/// Whether the IdP saw an authorization request.
fn hopped(seen: &[IdpSeen]) -> bool {
    seen.iter().any(|s| matches!(s, IdpSeen::Authorize { .. }))
}

async fn probe(ctx: &Ctx, idp: &RunningIdp, sc: &Scenario, answer: IdpAnswer) -> FedProbe {
    idp.set_answer(answer);
    let mark = idp.seen().len();
    let pkce = ctx.rand.pkce();
    let state = ctx.rand.token(16);
    let params = oauth::code_request(&ctx.client_a, &pkce, &state, RESOURCE, &ctx.scope);
    let authorized = ctx.walk(sc, &params).await;
    FedProbe {
        authorized,
        seen: idp.seen()[mark..].to_vec(),
    }
}

/// The IdP's tokens never appear whole in the evidence (they reach the suite only through an AS that leaks them).
fn register_secrets(ctx: &Ctx, idp: &RunningIdp) {
    for token in idp.issued_tokens() {
        ctx.http.register_secret(&token);
    }
}
