//! Federation probes (AS-FED-*, issue 15): the AS brokers its login to an upstream IdP, and the suite plays that
//! IdP. One honest federated login first (it must yield tokens, and proves the hop works), then one login per
//! hostile [`IdpAnswer`]: each with a fresh user agent, so that the AS has no session and must go to the IdP.
//!
//! The probes run one at a time, after every other scenario: the IdP's answer is global while a probe runs.

use std::collections::BTreeMap;

use fake_idp::idp::{IdpAnswer, IdpSeen, RunningIdp};

use super::Ctx;
use crate::authz::agent::Authorized;
use crate::authz::oauth::{self, TokenResult};
use crate::authz::obs::FlowObs;
use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::{HttpFailure, Request};

/// The flag that starts the suite's IdP for an AS given by `--issuer` (named by the SKIP reason).
pub const UPSTREAM_IDP_FLAG: &str = "--upstream-idp";

/// One login through the hostile IdP.
#[derive(Debug, Clone)]
pub struct FedProbe {
    /// The authorization walk of the MCP client (the suite), through the AS and the IdP.
    pub authorized: Authorized,
    /// What the IdP saw and did during this probe.
    pub seen: Vec<IdpSeen>,
    /// `--proxy`: what came of redeeming the code and using the token at the resource (None when no code
    /// reached the client, or when logins are judged at the code).
    pub used: Option<ResourceUse>,
}

/// A code redeemed at the AS and its access token used at the resource (the proxy's MCP endpoint).
#[derive(Debug, Clone)]
pub enum ResourceUse {
    /// The redemption gave no access token: its answer.
    NoToken(TokenResult),
    /// The token was used: the redemption's exchange, the MCP request's exchange and its answer's status
    /// (or why none came).
    Used {
        token_exchange: String,
        exchange: String,
        status: Result<u16, HttpFailure>,
    },
}

impl ResourceUse {
    /// The exchanges to cite.
    pub fn exchanges(&self) -> Vec<String> {
        match self {
            ResourceUse::NoToken(t) => vec![t.exchange.clone()],
            ResourceUse::Used {
                token_exchange,
                exchange,
                ..
            } => vec![token_exchange.clone(), exchange.clone()],
        }
    }
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
    /// `--proxy`: the honest login's token used at the resource (it must work, or a refusal after a hostile
    /// login proves nothing). None: logins are judged at the code.
    pub honest_used: Option<ResourceUse>,
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
    let honest_seen = idp.seen_since(mark);
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
    let honest_used = match (&honest.token, ctx.judge_at_resource) {
        (Some(t), true) => Some(use_token(ctx, &sc, t.clone()).await),
        _ => None,
    };
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
        honest_used,
    })
}

/// Whether the IdP saw an authorization request.
pub fn hopped(seen: &[IdpSeen]) -> bool {
    seen.iter().any(|s| matches!(s, IdpSeen::Authorize { .. }))
}

async fn probe(ctx: &Ctx, idp: &RunningIdp, sc: &Scenario, answer: IdpAnswer) -> FedProbe {
    idp.set_answer(answer);
    let mark = idp.seen().len();
    let pkce = ctx.rand.pkce();
    let state = ctx.rand.token(16);
    let params = oauth::code_request(&ctx.client_a, &pkce, &state, &ctx.resource, &ctx.scope);
    let authorized = ctx.walk(sc, &params).await;
    let seen = idp.seen_since(mark);
    let code = authorized.code().map(str::to_owned);
    let used = match code {
        Some(code) if ctx.judge_at_resource => {
            let client = &ctx.client_a;
            let t = ctx
                .redeem(sc, client, &code, &pkce.verifier, &client.redirect_uri)
                .await;
            Some(use_token(ctx, sc, t).await)
        }
        _ => None,
    };
    register_secrets(ctx, idp);
    FedProbe {
        authorized,
        seen,
        used,
    }
}

/// Uses the access token of a redemption at the resource: an MCP `initialize` POST with the bearer token (any
/// 2xx: accepted; 401/403: refused).
async fn use_token(ctx: &Ctx, sc: &Scenario, t: TokenResult) -> ResourceUse {
    let Some(token) = t.access_token().map(str::to_owned) else {
        return ResourceUse::NoToken(t);
    };
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": crate::spec::SpecVersion::default().as_str(),
            "capabilities": {},
            "clientInfo": {"name": "mcp-auth-conformance", "version": env!("CARGO_PKG_VERSION")},
        },
    });
    let req = Request::post_json(&ctx.resource, &body).bearer(&token);
    let r = ctx
        .http
        .send(
            sc,
            "use the token at the resource (the proxy's MCP endpoint)",
            req,
        )
        .await;
    ResourceUse::Used {
        token_exchange: t.exchange,
        exchange: r.id,
        status: r.result.map(|resp| resp.status),
    }
}

/// The IdP's tokens never appear whole in the evidence (they reach the suite only through an AS that leaks them).
fn register_secrets(ctx: &Ctx, idp: &RunningIdp) {
    for token in idp.issued_tokens() {
        ctx.http.register_secret(&token);
    }
}
