//! Token exchange (RFC 8693): the exchange probes, when the AS advertises the grant and a confidential client
//! (the actor) exists.

use serde_json::{json, Value};

use super::{advertises_grant, dcr, not_applicable, Ctx};
use crate::authz::oauth::{self, Client, ClientAuth};
use crate::authz::obs::*;
use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::Request;

/// The token-exchange grant (RFC 8693).
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The upstream audience the suite asks exchanged tokens for.
pub const UPSTREAM: &str = "https://upstream.conformance.test/api";

/// Token-exchange probes, when the AS advertises the grant and a confidential client (the actor) exists.
pub async fn exchange_probes(ctx: &Ctx) -> Result<ExchangeObs, ObsError> {
    if !advertises_grant(ctx, TOKEN_EXCHANGE) {
        return Err(not_applicable(
            "the AS does not advertise the token-exchange grant",
        ));
    }
    let Some(actor) = &ctx.confidential else {
        return Err(not_applicable(
            "no confidential client (the actor) could be registered",
        ));
    };
    let sc = Scenario::new("exchange");
    // The actor serves the run's resource: it redeemed a code for it.
    ctx.flow(&sc, actor, &ctx.scope, &[], true).await?;
    let subject_flow = ctx.flow(&sc, &ctx.client_a, &ctx.scope, &[], true).await?;
    let subject = subject_flow
        .token
        .as_ref()
        .and_then(|t| t.access_token())
        .unwrap_or_default()
        .to_owned();
    let subject_scope = subject_flow
        .token
        .as_ref()
        .and_then(|t| t.member("scope").map(str::to_owned))
        .unwrap_or_else(|| ctx.scope.clone());
    let exchange = |client: Client, subject: String, scope: String, purpose: &'static str| {
        let sc = &sc;
        async move {
            let form = vec![
                ("grant_type", TOKEN_EXCHANGE.to_owned()),
                ("subject_token", subject),
                ("subject_token_type", ACCESS_TOKEN_TYPE.to_owned()),
                ("audience", UPSTREAM.to_owned()),
                ("scope", scope),
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
    let valid = exchange(
        actor.clone(),
        subject.clone(),
        ctx.scope.clone(),
        "exchange the subject token as the actor",
    )
    .await;
    let public_actor = Client {
        secret: None,
        auth: ClientAuth::None,
        ..actor.clone()
    };
    let no_client_auth = exchange(
        public_actor,
        subject.clone(),
        ctx.scope.clone(),
        "exchange without client authentication",
    )
    .await;
    let forged_subject = exchange(
        actor.clone(),
        forge_payload(&subject),
        ctx.scope.clone(),
        "exchange a forged subject token",
    )
    .await;
    let revoked_subject = match ctx
        .endpoints
        .metadata
        .get("revocation_endpoint")
        .and_then(Value::as_str)
    {
        None => None,
        Some(revoke) => {
            let flow = ctx.flow(&sc, &ctx.client_a, &ctx.scope, &[], true).await?;
            let t = flow
                .token
                .as_ref()
                .and_then(|t| t.access_token())
                .unwrap_or_default()
                .to_owned();
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("token", &t)
                .append_pair("token_type_hint", "access_token")
                .append_pair("client_id", &ctx.client_a.id)
                .finish();
            let mut req = Request::method(reqwest::Method::POST, revoke)
                .header("content-type", "application/x-www-form-urlencoded");
            req.body = Some(body);
            let _ = ctx
                .http
                .send(&sc, "revoke the subject token (RFC 7009)", req)
                .await;
            Some(
                exchange(
                    actor.clone(),
                    t,
                    ctx.scope.clone(),
                    "exchange a revoked subject token",
                )
                .await,
            )
        }
    };
    let other_actor = match &ctx.endpoints.registration {
        Some(r) => match dcr(
            &ctx.http,
            &sc,
            r,
            &ctx.callback.redirect_uri(),
            ClientAuth::Basic,
        )
        .await
        {
            Ok(other) => Some(
                exchange(
                    other,
                    subject.clone(),
                    ctx.scope.clone(),
                    "exchange by an actor the subject token was not issued for",
                )
                .await,
            ),
            Err(_) => None,
        },
        None => None,
    };
    let scope_escalation = exchange(
        actor.clone(),
        subject.clone(),
        format!("{} todo:write conformance:escalated", ctx.scope),
        "exchange asking for more scope than the subject holds",
    )
    .await;
    Ok(ExchangeObs {
        subject_claims: oauth::jwt_parts(&subject).map(|(_, c)| c),
        actor_id: actor.id.clone(),
        valid,
        no_client_auth,
        forged_subject,
        revoked_subject,
        other_actor,
        scope_escalation,
        subject_scope,
    })
}

/// A token with its payload changed and its signature kept (for a JWT); otherwise the value with a byte changed.
fn forge_payload(token: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    if parts.len() == 3 {
        if let Some(mut claims) = URL_SAFE_NO_PAD
            .decode(&parts[1])
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        {
            claims["sub"] = json!("conformance-forged-subject");
            parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
            return parts.join(".");
        }
    }
    let mut forged = token.to_owned();
    let last = forged
        .pop()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .unwrap_or('A');
    forged.push(last);
    forged
}
