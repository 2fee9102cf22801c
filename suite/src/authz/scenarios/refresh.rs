//! The refresh-token probes: rotation, and refreshes by the wrong client or for another resource.

use std::collections::BTreeMap;

use super::{not_applicable, Ctx, OTHER_RESOURCE};
use crate::authz::oauth::TokenResult;
use crate::authz::obs::*;
use crate::check::ObsError;
use crate::evidence::Scenario;

/// The refresh-token probes.
pub async fn refresh_probes(
    ctx: &Ctx,
) -> (
    Result<RotationObs, ObsError>,
    BTreeMap<RefreshAttack, Result<TokenResult, ObsError>>,
) {
    let sc = Scenario::new("refresh");
    let a = &ctx.client_a;
    let first_rt = |flow: &FlowObs| -> Result<String, ObsError> {
        let t = flow.token.as_ref().expect("redeemed flows carry a token");
        t.refresh_token()
            .map(str::to_owned)
            .ok_or_else(|| not_applicable("the AS issues no refresh tokens to this client"))
    };
    let rotation = async {
        let flow = ctx.flow(&sc, a, &ctx.scope, &[], true).await?;
        let rt1 = first_rt(&flow)?;
        let resource = [("resource", ctx.resource.clone())];
        let first_refresh = ctx.refresh(&sc, a, &rt1, &resource).await;
        let (replay_old, use_new_after_replay) =
            match first_refresh.refresh_token().map(str::to_owned) {
                Some(rt2) if rt2 != rt1 => {
                    let replay = ctx.refresh(&sc, a, &rt1, &resource).await;
                    let next = ctx.refresh(&sc, a, &rt2, &resource).await;
                    (Some(replay), Some(next))
                }
                _ => (None, None),
            };
        Ok(RotationObs {
            flow,
            first_refresh,
            replay_old,
            use_new_after_replay,
        })
    }
    .await;
    let mut attacks = BTreeMap::new();
    for attack in RefreshAttack::ALL {
        let r = async {
            if attack == RefreshAttack::OtherClient && ctx.client_b.is_none() {
                return Err(not_applicable("only one client is available"));
            }
            let flow = ctx.flow(&sc, a, &ctx.scope, &[], true).await?;
            let rt = first_rt(&flow)?;
            Ok(match attack {
                RefreshAttack::OtherClient => {
                    let b = ctx.client_b.as_ref().expect("checked above");
                    ctx.refresh(&sc, b, &rt, &[("resource", ctx.resource.clone())])
                        .await
                }
                RefreshAttack::ScopeEscalation => {
                    ctx.refresh(
                        &sc,
                        a,
                        &rt,
                        &[(
                            "scope",
                            format!("{} todo:write conformance:escalated", ctx.scope),
                        )],
                    )
                    .await
                }
                RefreshAttack::OtherResource => {
                    ctx.refresh(&sc, a, &rt, &[("resource", OTHER_RESOURCE.to_owned())])
                        .await
                }
            })
        }
        .await;
        attacks.insert(attack, r);
    }
    (rotation, attacks)
}
