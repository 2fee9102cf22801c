//! Client credentials at the authorization server (SEP-1046, RFC 6749 §4.4; `--extension client-credentials`):
//! when the AS advertises the grant and the run has a confidential client, one valid request for the resource,
//! then the same grant as a public client, with a wrong Basic secret, and asking for a scope no client has.

use super::{advertises_grant, not_applicable, Ctx};
use crate::authz::oauth::{self, Client, ClientAuth, TokenResult};
use crate::check::ObsError;
use crate::evidence::Scenario;

/// A scope no authorization server grants a conformance client (RFC 6749 §3.3).
pub const ESCALATED_SCOPE: &str = "conformance:escalated";

/// What the client-credentials probes saw.
#[derive(Debug, Clone)]
pub struct MachineObs {
    /// The confidential client's valid request (`scope` the run's scope, `resource` the run's resource).
    pub valid: TokenResult,
    /// The same request as a public client (client_id only, no authentication).
    pub public: TokenResult,
    /// The confidential client with a wrong secret, by Basic; `None` when the client authenticates otherwise.
    pub bad_basic: Option<TokenResult>,
    /// The confidential client asking for the run's scope plus [`ESCALATED_SCOPE`].
    pub escalated: TokenResult,
}

/// The client-credentials probes (`--extension client-credentials`).
pub async fn machine_probes(ctx: &Ctx) -> Result<MachineObs, ObsError> {
    if !advertises_grant(ctx, "client_credentials") {
        return Err(not_applicable(
            "the AS does not advertise the client_credentials grant",
        ));
    }
    let Some(conf) = &ctx.confidential else {
        return Err(not_applicable(
            "no confidential client (register one by DCR, or give --client-id and --client-secret)",
        ));
    };
    let sc = Scenario::new("client-credentials");
    let request = |client: Client, scope: String, purpose: &'static str| {
        let sc = &sc;
        async move {
            let form = vec![
                ("grant_type", "client_credentials".to_owned()),
                ("scope", scope),
                ("resource", ctx.resource.clone()),
            ];
            oauth::token_request(
                &ctx.http,
                sc,
                purpose,
                &ctx.endpoints.token,
                &client,
                form,
                None,
            )
            .await
        }
    };
    let valid = request(
        conf.clone(),
        ctx.scope.clone(),
        "client_credentials as the confidential client",
    )
    .await;
    let public = Client {
        secret: None,
        auth: ClientAuth::None,
        ..ctx.client_a.clone()
    };
    let public = request(
        public,
        ctx.scope.clone(),
        "client_credentials as a public client",
    )
    .await;
    let bad_basic = match conf.auth {
        ClientAuth::Basic => {
            let wrong = Client {
                secret: Some(format!("{}-wrong", ctx.rand.token(8))),
                ..conf.clone()
            };
            Some(
                request(
                    wrong,
                    ctx.scope.clone(),
                    "client_credentials with a wrong Basic secret",
                )
                .await,
            )
        }
        _ => None,
    };
    let escalated = request(
        conf.clone(),
        format!("{} {ESCALATED_SCOPE}", ctx.scope),
        "client_credentials asking for a scope beyond the client's",
    )
    .await;
    Ok(MachineObs {
        valid,
        public,
        bad_basic,
        escalated,
    })
}
