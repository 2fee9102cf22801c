//! The token-endpoint probes: code redemption attacks (wrong client, verifier, redirect URI, resource) and
//! code replay.

use std::collections::BTreeMap;

use super::{not_applicable, Ctx};
use crate::authz::oauth::{self, Client, ClientAuth, TokenResult};
use crate::authz::obs::*;
use crate::check::ObsError;
use crate::evidence::Scenario;

/// The token-endpoint probes: stolen codes, binding, replay, client authentication.
pub async fn token_probes(ctx: &Ctx) -> TokenParts {
    let sc = Scenario::new("token");
    let a = &ctx.client_a;
    let mut attacks = BTreeMap::new();
    for attack in CodeAttack::ALL {
        attacks.insert(attack, code_attack(ctx, &sc, attack).await);
    }
    let replay_obs = replay(ctx, &sc, false).await;
    let bad_replay = replay(ctx, &sc, true).await;
    let bad_basic = {
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", "conformance-not-a-code".to_owned()),
            ("redirect_uri", a.redirect_uri.clone()),
        ];
        let basic = Some((a.id.clone(), "conformance-wrong-secret".to_owned()));
        Ok(oauth::token_request(
            &ctx.http,
            &sc,
            "token request with wrong Basic credentials",
            &ctx.endpoints.token,
            a,
            form,
            basic,
        )
        .await)
    };
    let confidential_without_auth = match &ctx.confidential {
        None => Err(not_applicable(
            "no confidential client: no --client-secret, and DCR is absent or answered a request for \
             client_secret_basic without a client_secret (a public client)",
        )),
        Some(c) => match ctx.flow(&sc, c, &ctx.scope, &[], false).await {
            Err(e) => Err(e),
            Ok(flow) => {
                let public = Client {
                    secret: None,
                    auth: ClientAuth::None,
                    ..c.clone()
                };
                let code = flow.code().unwrap_or_default().to_owned();
                Ok(ctx
                    .redeem(&sc, &public, &code, &flow.pkce.verifier, &c.redirect_uri)
                    .await)
            }
        },
    };
    TokenParts {
        attacks,
        replay: replay_obs,
        bad_replay,
        bad_basic,
        confidential_without_auth,
    }
}

pub struct TokenParts {
    pub attacks: BTreeMap<CodeAttack, Result<AttackObs, ObsError>>,
    pub replay: Result<ReplayObs, ObsError>,
    pub bad_replay: Result<ReplayObs, ObsError>,
    pub bad_basic: Result<TokenResult, ObsError>,
    pub confidential_without_auth: Result<TokenResult, ObsError>,
}

async fn code_attack(ctx: &Ctx, sc: &Scenario, attack: CodeAttack) -> Result<AttackObs, ObsError> {
    let a = &ctx.client_a;
    if attack == CodeAttack::OtherClient && ctx.client_b.is_none() {
        return Err(not_applicable(
            "only one client is available (pre-registered, no CIMD or DCR for a second)",
        ));
    }
    let flow = ctx.flow(sc, a, &ctx.scope, &[], false).await?;
    let code = flow.code().unwrap_or_default().to_owned();
    let attempt = match attack {
        CodeAttack::MissingVerifier => ctx.redeem(sc, a, &code, "", &a.redirect_uri).await,
        CodeAttack::WrongVerifier => {
            ctx.redeem(sc, a, &code, &ctx.rand.token(32), &a.redirect_uri)
                .await
        }
        CodeAttack::OtherFlowVerifier => {
            let other = ctx.rand.pkce();
            ctx.redeem(sc, a, &code, &other.verifier, &a.redirect_uri)
                .await
        }
        CodeAttack::ChallengeAsVerifier => {
            ctx.redeem(sc, a, &code, &flow.pkce.challenge, &a.redirect_uri)
                .await
        }
        CodeAttack::OtherClient => {
            let b = ctx.client_b.as_ref().expect("checked above");
            ctx.redeem(sc, b, &code, &flow.pkce.verifier, &b.redirect_uri)
                .await
        }
        CodeAttack::OtherRedirectUri => {
            ctx.redeem(
                sc,
                a,
                &code,
                &flow.pkce.verifier,
                &format!("{}/other", a.redirect_uri),
            )
            .await
        }
    };
    Ok(AttackObs { flow, attempt })
}

async fn replay(ctx: &Ctx, sc: &Scenario, wrong_verifier: bool) -> Result<ReplayObs, ObsError> {
    let a = &ctx.client_a;
    let flow = ctx.flow(sc, a, &ctx.scope, &[], true).await?;
    let code = flow.code().unwrap_or_default().to_owned();
    let verifier = if wrong_verifier {
        ctx.rand.token(32)
    } else {
        flow.pkce.verifier.clone()
    };
    let replay = ctx.redeem(sc, a, &code, &verifier, &a.redirect_uri).await;
    let rt = flow
        .token
        .as_ref()
        .and_then(|t| t.refresh_token())
        .map(str::to_owned);
    let refresh_after = match rt {
        Some(rt) => Some(
            ctx.refresh(sc, a, &rt, &[("resource", ctx.resource.clone())])
                .await,
        ),
        None => None,
    };
    Ok(ReplayObs {
        flow,
        replay,
        refresh_after,
    })
}
