//! The authorization-endpoint probes: one walk per malformed or hostile request, the login-skip and the CORS
//! probes.

use std::collections::BTreeMap;

use super::{not_applicable, Ctx};
use crate::authz::agent::{Authorized, UserAgent};
use crate::authz::login::LoginMode;
use crate::authz::oauth::{self};
use crate::authz::obs::*;
use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::Request;

/// The authorization-endpoint probes.
pub async fn authorization_probes(ctx: &Ctx) -> AuthzParts {
    let sc = Scenario::new("authorize");
    let a = &ctx.client_a;
    let scope = ctx.scope.clone();
    // AS-AZ-01 judges this flow: when it breaks, that check fails, and so could every check needing the flow.
    let happy = ctx
        .flow(&sc, a, &scope, &[], true)
        .await
        .map_err(|e| e.after(&["AS-AZ-01"]));
    let unknown_params = ctx
        .flow(
            &sc,
            a,
            &scope,
            &[
                ("conformance_unknown", "x".into()),
                ("prompt", String::new()),
            ],
            false,
        )
        .await;
    let narrowed_scope = ctx
        .flow(&sc, a, &format!("{scope} conformance:unknown"), &[], true)
        .await;
    let base = |pkce: &oauth::Pkce| {
        oauth::code_request(a, pkce, &ctx.rand.token(16), &ctx.resource, &scope)
    };
    let mut redirect_variants = BTreeMap::new();
    for v in RedirectVariant::ALL {
        let pkce = ctx.rand.pkce();
        let uri = v.apply(&a.redirect_uri);
        let mut p = base(&pkce);
        set(&mut p, "redirect_uri", uri.clone());
        redirect_variants.insert(v, Ok((uri, ctx.walk(&sc, &p).await)));
    }
    let unknown_client = {
        let pkce = ctx.rand.pkce();
        let mut p = base(&pkce);
        set(
            &mut p,
            "client_id",
            format!("conformance-unknown-{}", ctx.rand.token(6)),
        );
        Ok(ctx.walk(&sc, &p).await)
    };
    let no_challenge = {
        let pkce = ctx.rand.pkce();
        let mut p = base(&pkce);
        p.retain(|(k, _)| *k != "code_challenge" && *k != "code_challenge_method");
        Ok(ctx.walk(&sc, &p).await)
    };
    let with_method = |method: &'static str| {
        let pkce = ctx.rand.pkce();
        let mut p = base(&pkce);
        if method == "plain" {
            set(&mut p, "code_challenge", pkce.verifier.clone());
        }
        set(&mut p, "code_challenge_method", method.to_owned());
        p
    };
    let plain = Ok(ctx.walk(&sc, &with_method("plain")).await);
    let s512 = Ok(ctx.walk(&sc, &with_method("S512")).await);
    let implicit = {
        let pkce = ctx.rand.pkce();
        let mut p = base(&pkce);
        set(&mut p, "response_type", "token".into());
        Ok(ctx.walk(&sc, &p).await)
    };
    let invalid_resource = {
        let pkce = ctx.rand.pkce();
        let mut p = base(&pkce);
        set(&mut p, "resource", format!("{}#fragment", ctx.resource));
        Ok(ctx.walk(&sc, &p).await)
    };
    let fresh_agent = match &ctx.login {
        LoginMode::Form(script) => {
            // A fresh agent that approves consent but never logs in: it gets a code only if the AS skips login.
            let mut consent_only = script.clone();
            consent_only
                .steps
                .retain(|step| !step.fields.keys().any(|k| k.to_ascii_lowercase().contains("pass")));
            let pkce = ctx.rand.pkce();
            let url = oauth::authorize_url(&ctx.endpoints.authorization, &base(&pkce));
            let agent = UserAgent::new(ctx.http.clone(), LoginMode::Form(consent_only), a.redirect_uri.clone());
            Ok(agent.authorize(&sc, &url).await)
        }
        _ => Err(not_applicable("the target approves without a login page (--login auto/manual), so there is no login to skip")),
    };
    let cors = cors(ctx, &sc, &base(&ctx.rand.pkce())).await;
    AuthzParts {
        happy,
        unknown_params,
        narrowed_scope,
        redirect_variants,
        unknown_client,
        no_challenge,
        plain,
        s512,
        implicit,
        invalid_resource,
        fresh_agent,
        cors,
    }
}

/// The authorization-endpoint part of the observations.
pub struct AuthzParts {
    pub happy: Result<FlowObs, ObsError>,
    pub unknown_params: Result<FlowObs, ObsError>,
    pub narrowed_scope: Result<FlowObs, ObsError>,
    pub redirect_variants: BTreeMap<RedirectVariant, Result<(String, Authorized), ObsError>>,
    pub unknown_client: Result<Authorized, ObsError>,
    pub no_challenge: Result<Authorized, ObsError>,
    pub plain: Result<Authorized, ObsError>,
    pub s512: Result<Authorized, ObsError>,
    pub implicit: Result<Authorized, ObsError>,
    pub invalid_resource: Result<Authorized, ObsError>,
    pub fresh_agent: Result<Authorized, ObsError>,
    pub cors: Result<CorsObs, ObsError>,
}

fn set(p: &mut Vec<(&'static str, String)>, key: &'static str, value: String) {
    match p.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => p.push((key, value)),
    }
}

async fn cors(ctx: &Ctx, sc: &Scenario, params: &[(&str, String)]) -> Result<CorsObs, ObsError> {
    let url = oauth::authorize_url(&ctx.endpoints.authorization, params);
    let get = ctx
        .http
        .send(
            sc,
            "authorization request with a foreign Origin",
            Request::get(&url).header("origin", "https://evil.example"),
        )
        .await;
    let pre = Request::method(reqwest::Method::OPTIONS, &url)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET");
    let preflight = ctx
        .http
        .send(sc, "CORS preflight at the authorization endpoint", pre)
        .await;
    let acao = |r: &crate::http::Recorded| -> Result<Option<String>, ObsError> {
        match &r.result {
            Ok(resp) => Ok(resp
                .header("access-control-allow-origin")
                .map(str::to_owned)),
            Err(e) => Err(ObsError::target(e.to_string(), [r.id.clone()])),
        }
    };
    Ok(CorsObs {
        get: (acao(&get)?, get.id.clone()),
        preflight: (acao(&preflight)?, preflight.id.clone()),
    })
}
