//! Authorization-server scenarios: the suite as client drives the target once per stimulus and records what
//! happened. Judging is the checks' job.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::authz::agent::{AuthorizeOutcome, Authorized, CallbackListener, UserAgent};
use crate::authz::cimd_host::{CimdHost, HostedDoc};
use crate::authz::login::LoginMode;
use crate::authz::oauth::{self, Client, ClientAuth, Endpoints, Randomness, TokenResult};
use crate::authz::obs::*;
use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::{Http, Request};

/// The resource the suite asks tokens for (an MCP server URL).
pub const RESOURCE: &str = "https://mcp.conformance.test/mcp";
/// Another resource, never granted (AS-RT-05).
pub const OTHER_RESOURCE: &str = "https://other.conformance.test/mcp";

/// What every scenario needs.
pub struct Ctx {
    pub http: Http,
    pub login: LoginMode,
    pub login_kind: LoginKind,
    pub endpoints: Endpoints,
    pub rand: Randomness,
    pub scope: String,
    pub callback: Arc<CallbackListener>,
    pub client_a: Client,
    pub client_b: Option<Client>,
    pub confidential: Option<Client>,
    pub cimd: Option<Arc<CimdHost>>,
    pub probe: Option<Arc<CimdHost>>,
}

impl Ctx {
    /// A fresh user agent (empty cookie jar) that stops at redirects to `callback`.
    pub fn agent(&self, callback: &str) -> UserAgent {
        UserAgent::new(self.http.clone(), self.login.clone(), callback.to_owned())
            .with_callback_listener(self.callback.clone())
    }

    /// Runs an authorization walk for `params`; the walk stops at a redirect to the request's own redirect_uri.
    pub async fn walk(&self, sc: &Scenario, params: &[(&str, String)]) -> Authorized {
        let url = oauth::authorize_url(&self.endpoints.authorization, params);
        let callback = params
            .iter()
            .find(|(k, _)| *k == "redirect_uri")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| self.callback.redirect_uri());
        self.agent(&callback).authorize(sc, &url).await
    }

    /// A complete authorization-code flow, optionally redeeming the code.
    pub async fn flow(
        &self,
        sc: &Scenario,
        client: &Client,
        scope: &str,
        extra: &[(&str, String)],
        redeem: bool,
    ) -> Result<FlowObs, ObsError> {
        let pkce = self.rand.pkce();
        let state = self.rand.token(16);
        let mut params = oauth::code_request(client, &pkce, &state, RESOURCE, scope);
        params.extend(extra.iter().cloned());
        let authorized = self.walk(sc, &params).await;
        let mut flow = FlowObs {
            client: client.clone(),
            pkce,
            state,
            scope: scope.to_owned(),
            authorized,
            token: None,
        };
        let Some(code) = flow.code().map(str::to_owned) else {
            return Err(ObsError::target_because(
                format!(
                    "the authorization did not yield a code: {}",
                    describe(&flow.authorized.outcome)
                ),
                flow.authorized
                    .exchanges
                    .iter()
                    .rev()
                    .take(2)
                    .cloned()
                    .collect::<Vec<_>>(),
                flow.authorized.outcome.cause(),
            ));
        };
        if redeem {
            let t = self
                .redeem(sc, client, &code, &flow.pkce.verifier, &client.redirect_uri)
                .await;
            if !t.ok() {
                return Err(ObsError::target_because(
                    format!("a valid code redemption failed: {}", t.describe()),
                    [t.exchange.clone()],
                    t.cause(),
                ));
            }
            flow.token = Some(t);
        }
        Ok(flow)
    }

    /// An authorization walk as a public client with this id (the CIMD probes).
    pub async fn walk_as(&self, sc: &Scenario, id: &str, redirect: &str) -> Authorized {
        let client = Client {
            id: id.to_owned(),
            secret: None,
            redirect_uri: redirect.to_owned(),
            auth: ClientAuth::None,
            kind: "cimd",
        };
        let pkce = self.rand.pkce();
        let params =
            oauth::code_request(&client, &pkce, &self.rand.token(16), RESOURCE, &self.scope);
        self.walk(sc, &params).await
    }

    /// Redeems a code.
    pub async fn redeem(
        &self,
        sc: &Scenario,
        client: &Client,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> TokenResult {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("resource", RESOURCE.to_owned()),
        ];
        if !verifier.is_empty() {
            form.push(("code_verifier", verifier.to_owned()));
        }
        oauth::token_request(
            &self.http,
            sc,
            "redeem the code",
            &self.endpoints.token,
            client,
            form,
            None,
        )
        .await
    }

    /// Refreshes a grant.
    pub async fn refresh(
        &self,
        sc: &Scenario,
        client: &Client,
        rt: &str,
        extra: &[(&str, String)],
    ) -> TokenResult {
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", rt.to_owned()),
        ];
        form.extend(extra.iter().cloned());
        oauth::token_request(
            &self.http,
            sc,
            "refresh",
            &self.endpoints.token,
            client,
            form,
            None,
        )
        .await
    }
}

/// One line describing how a walk ended.
pub fn describe(o: &AuthorizeOutcome) -> String {
    match o {
        AuthorizeOutcome::Callback {
            location, status, ..
        } => format!("HTTP {status} redirect to the callback {location}"),
        AuthorizeOutcome::Elsewhere {
            location, status, ..
        } => format!("HTTP {status} redirect to {location}"),
        AuthorizeOutcome::Page { status, .. } => format!("a page (HTTP {status})"),
        AuthorizeOutcome::NoAnswer { failure, .. } => format!("no HTTP answer: {failure}"),
        AuthorizeOutcome::Failed { reason, .. } => format!("the walk failed: {reason}"),
    }
}

/// Fetches the metadata at the MCP §4.3 locations for the issuer.
pub async fn metadata(http: &Http, issuer: &str) -> MetadataObs {
    let sc = Scenario::new("metadata");
    let (origin, path) = match url::Url::parse(issuer) {
        Ok(u) => (
            u.origin().ascii_serialization(),
            u.path().trim_end_matches('/').to_owned(),
        ),
        Err(_) => (issuer.to_owned(), String::new()),
    };
    let mut urls = vec![(
        "rfc8414",
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
    )];
    urls.push((
        "openid",
        format!("{origin}/.well-known/openid-configuration{path}"),
    ));
    if !path.is_empty() {
        urls.push((
            "openid",
            format!("{origin}{path}/.well-known/openid-configuration"),
        ));
    }
    let mut fetches = Vec::new();
    for (kind, url) in urls {
        let rec = http
            .send(
                &sc,
                &format!("fetch {kind} metadata"),
                Request::get(&url).header("accept", "application/json"),
            )
            .await;
        let (status, content_type, body) = match rec.result {
            Ok(r) => {
                let body = metadata_body(&r.body);
                (r.status, r.header("content-type").map(str::to_owned), body)
            }
            Err(e) => (0, None, Err(e.to_string())),
        };
        fetches.push(MetadataFetch {
            kind,
            url,
            exchange: rec.id,
            status,
            content_type,
            body,
        });
    }
    MetadataObs {
        issuer: issuer.to_owned(),
        fetches,
    }
}

/// An AS metadata body as a JSON object, or why it is not one.
pub(crate) fn metadata_body(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("the body is JSON but not an object".to_owned()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

/// Registers a client by DCR.
pub async fn dcr(
    http: &Http,
    sc: &Scenario,
    endpoint: &str,
    redirect: &str,
    auth: ClientAuth,
) -> Result<Client, ObsError> {
    let method = match auth {
        ClientAuth::None => "none",
        ClientAuth::Basic => "client_secret_basic",
        ClientAuth::Post => "client_secret_post",
    };
    let body = json!({
        "redirect_uris": [redirect],
        "client_name": "mcp-auth-conformance",
        "token_endpoint_auth_method": method,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    });
    let rec = http
        .send(
            sc,
            "register a client (RFC 7591)",
            Request::post_json(endpoint, &body),
        )
        .await;
    let resp = rec
        .result
        .map_err(|e| ObsError::target(e.to_string(), [rec.id.clone()]))?;
    let v: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let id = v.get("client_id").and_then(Value::as_str).ok_or_else(|| {
        ObsError::target(
            format!(
                "registration answered HTTP {} without a client_id",
                resp.status
            ),
            [rec.id.clone()],
        )
    })?;
    let secret = v
        .get("client_secret")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(s) = &secret {
        http.register_secret(s);
    }
    Ok(Client {
        id: id.to_owned(),
        secret,
        redirect_uri: redirect.to_owned(),
        auth,
        kind: "dcr",
    })
}

/// The honest CIMD document for a client id.
pub fn honest_document(client_id: &str, redirect: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "mcp-auth-conformance",
        "redirect_uris": [redirect],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

fn not_applicable(why: &str) -> ObsError {
    ObsError::NotApplicable(why.to_owned())
}

/// The authorization-endpoint probes.
pub async fn authorization_probes(ctx: &Ctx) -> AuthzParts {
    let sc = Scenario::new("authorize");
    let a = &ctx.client_a;
    let scope = ctx.scope.clone();
    let happy = ctx.flow(&sc, a, &scope, &[], true).await;
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
    let base =
        |pkce: &oauth::Pkce| oauth::code_request(a, pkce, &ctx.rand.token(16), RESOURCE, &scope);
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
        set(&mut p, "resource", format!("{RESOURCE}#fragment"));
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
            "no confidential client could be registered (no DCR and no --client-secret)",
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
            ctx.refresh(sc, a, &rt, &[("resource", RESOURCE.to_owned())])
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
        let resource = [("resource", RESOURCE.to_owned())];
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
    for attack in [
        RefreshAttack::OtherClient,
        RefreshAttack::ScopeEscalation,
        RefreshAttack::OtherResource,
    ] {
        let r = async {
            if attack == RefreshAttack::OtherClient && ctx.client_b.is_none() {
                return Err(not_applicable("only one client is available"));
            }
            let flow = ctx.flow(&sc, a, &ctx.scope, &[], true).await?;
            let rt = first_rt(&flow)?;
            Ok(match attack {
                RefreshAttack::OtherClient => {
                    let b = ctx.client_b.as_ref().expect("checked above");
                    ctx.refresh(&sc, b, &rt, &[("resource", RESOURCE.to_owned())])
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

/// The CIMD probes (only when the AS advertises CIMD and the suite hosts documents).
pub async fn cimd_probes(ctx: &Ctx) -> Result<CimdObs, ObsError> {
    if !ctx.endpoints.cimd_supported {
        return Err(not_applicable(
            "the AS does not advertise client_id_metadata_document_supported",
        ));
    }
    let (Some(host), Some(probe)) = (&ctx.cimd, &ctx.probe) else {
        return Err(ObsError::Harness("the CIMD host is not running".into()));
    };
    let sc = Scenario::new("cimd");
    let redirect = ctx.callback.redirect_uri();
    let mut cases = BTreeMap::new();
    for case in [
        CimdCase::Honest,
        CimdCase::IdTrailingSlash,
        CimdCase::IdOtherPath,
        CimdCase::IdUppercaseHost,
        CimdCase::IdOtherHost,
        CimdCase::UnlistedRedirect,
        CimdCase::InvalidJson,
        CimdCase::TopLevelArray,
        CimdCase::MissingRedirectUris,
        CimdCase::MissingClientId,
        CimdCase::FetchFails,
        CimdCase::SharedSecret,
        CimdCase::Oversized,
    ] {
        let path = format!("case-{case:?}.json").to_lowercase();
        let id = host.client_id(&path);
        let honest = honest_document(&id, &redirect);
        let with_id = |v: String| {
            let mut d = honest.clone();
            d["client_id"] = Value::String(v);
            HostedDoc::json(&d)
        };
        let doc = match case {
            CimdCase::Honest | CimdCase::UnlistedRedirect => HostedDoc::json(&honest),
            CimdCase::IdTrailingSlash => with_id(format!("{id}/")),
            CimdCase::IdOtherPath => with_id(host.client_id("another-client.json")),
            CimdCase::IdUppercaseHost => {
                with_id(id.replace("client.conformance.test", "CLIENT.conformance.test"))
            }
            CimdCase::IdOtherHost => {
                with_id(id.replace("client.conformance.test", "other.conformance.test"))
            }
            CimdCase::InvalidJson => {
                HostedDoc::raw(200, "application/json", b"{\"client_id\": ".to_vec())
            }
            CimdCase::TopLevelArray => HostedDoc::json(&json!([honest])),
            CimdCase::MissingRedirectUris => {
                let mut d = honest.clone();
                d.as_object_mut().map(|o| o.remove("redirect_uris"));
                HostedDoc::json(&d)
            }
            CimdCase::MissingClientId => {
                let mut d = honest.clone();
                d.as_object_mut().map(|o| o.remove("client_id"));
                HostedDoc::json(&d)
            }
            CimdCase::FetchFails => HostedDoc::raw(404, "text/plain", b"not here".to_vec()),
            CimdCase::SharedSecret => {
                let mut d = honest.clone();
                d["token_endpoint_auth_method"] = json!("client_secret_basic");
                d["client_secret"] = json!("conformance-document-secret");
                HostedDoc::json(&d)
            }
            CimdCase::Oversized => {
                let mut d = honest.clone();
                d["padding"] = json!("x".repeat(1024 * 1024));
                HostedDoc::json(&d)
            }
        };
        host.put(&path, doc);
        let client = Client {
            id: id.clone(),
            secret: None,
            redirect_uri: if case == CimdCase::UnlistedRedirect {
                format!("{redirect}/unlisted")
            } else {
                redirect.clone()
            },
            auth: ClientAuth::None,
            kind: "cimd",
        };
        let pkce = ctx.rand.pkce();
        let params = oauth::code_request(&client, &pkce, &ctx.rand.token(16), RESOURCE, &ctx.scope);
        let authorized = ctx.walk(&sc, &params).await;
        let mut attempt = CimdAttempt {
            client_id: id.clone(),
            authorized,
            hits: host.hits(&path),
            token: None,
        };
        if case == CimdCase::SharedSecret {
            if let Some(code) = attempt.code().map(str::to_owned) {
                let confidential = Client {
                    secret: Some("conformance-document-secret".into()),
                    auth: ClientAuth::Basic,
                    ..client.clone()
                };
                attempt.token = Some(
                    ctx.redeem(
                        &sc,
                        &confidential,
                        &code,
                        &pkce.verifier,
                        &client.redirect_uri,
                    )
                    .await,
                );
            }
        }
        cases.insert(case, attempt);
    }
    let responsive_after_oversized = {
        let url = ctx.endpoints.metadata_url.clone();
        let rec = ctx
            .http
            .send(
                &sc,
                "metadata GET after the oversized document",
                Request::get(&url),
            )
            .await;
        rec.result.ok().map(|r| (r.status, rec.id.clone()))
    };
    // Caching: two flows with max-age=600.
    let cache_fetches = {
        let path = "cached.json";
        let id = host.client_id(path);
        host.put(
            path,
            HostedDoc::json(&honest_document(&id, &redirect))
                .with_header("cache-control", "max-age=600"),
        );
        let mut ex = Vec::new();
        for _ in 0..2 {
            let w = ctx.walk_as(&sc, &id, &redirect).await;
            ex.extend(w.exchanges.first().cloned());
        }
        Some((host.hits(path), ex))
    };
    // Errors are not cached: first fetch 500, then a valid document.
    let error_then_valid = {
        let path = "flaky.json";
        let id = host.client_id(path);
        host.put_sequence(
            path,
            vec![
                HostedDoc::raw(500, "text/plain", b"temporarily broken".to_vec()),
                HostedDoc::json(&honest_document(&id, &redirect)),
            ],
        );
        let mut attempts = Vec::new();
        for _ in 0..2 {
            let w = ctx.walk_as(&sc, &id, &redirect).await;
            attempts.push(CimdAttempt {
                client_id: id.clone(),
                authorized: w,
                hits: host.hits(path),
                token: None,
            });
        }
        let second = attempts.pop();
        let first = attempts.pop();
        first.zip(second)
    };
    let mut ssrf = Vec::new();
    for (i, base) in [
        format!("https://127.0.0.1:{}", probe.port()),
        format!("https://localhost:{}", probe.port()),
    ]
    .iter()
    .enumerate()
    {
        let path = format!("ssrf-{i}.json");
        let id = format!("{base}/{path}");
        probe.put(&path, HostedDoc::json(&honest_document(&id, &redirect)));
        let w = ctx.walk_as(&sc, &id, &redirect).await;
        ssrf.push((id, w, probe.hits(&path)));
    }
    let mut schemes = Vec::new();
    let http_path = "plain-http.json";
    let http_id = host.client_id(http_path).replacen("https://", "http://", 1);
    host.put(
        http_path,
        HostedDoc::json(&honest_document(&http_id, &redirect)),
    );
    for (id, path) in [
        (http_id.clone(), Some(http_path)),
        ("file:///etc/passwd".to_owned(), None),
        ("data:application/json,{}".to_owned(), None),
    ] {
        let w = ctx.walk_as(&sc, &id, &redirect).await;
        schemes.push((id, w, path.map(|p| host.hits(p)).unwrap_or(0)));
    }
    let mut malformed = Vec::new();
    let port = host.port();
    for (id, path) in [
        (
            format!("https://client.conformance.test:{port}/fragment.json#frag"),
            "fragment.json",
        ),
        (
            format!("https://user:pass@client.conformance.test:{port}/userinfo.json"),
            "userinfo.json",
        ),
        (
            format!("https://client.conformance.test:{port}/dots/../dotted.json"),
            "dotted.json",
        ),
        (format!("https://client.conformance.test:{port}"), ""),
    ] {
        host.put(path, HostedDoc::json(&honest_document(&id, &redirect)));
        let w = ctx.walk_as(&sc, &id, &redirect).await;
        malformed.push((id, w, host.hits(path)));
    }
    Ok(CimdObs {
        cases,
        cache_fetches,
        error_then_valid,
        ssrf,
        schemes,
        malformed,
        responsive_after_oversized,
    })
}

/// DCR probes (only when a registration endpoint is advertised).
pub async fn dcr_probes(ctx: &Ctx) -> Result<DcrObs, ObsError> {
    let Some(endpoint) = ctx.endpoints.registration.clone() else {
        return Err(not_applicable("the AS advertises no registration_endpoint"));
    };
    let sc = Scenario::new("dcr");
    let post = |body: Value| {
        let endpoint = endpoint.clone();
        let sc = &sc;
        async move {
            let rec = ctx
                .http
                .send(
                    sc,
                    "register a client (RFC 7591)",
                    Request::post_json(&endpoint, &body),
                )
                .await;
            match rec.result {
                Ok(r) => (
                    Ok(r.status),
                    serde_json::from_slice::<Value>(&r.body).ok(),
                    rec.id,
                ),
                Err(f) => (Err(f), None, rec.id),
            }
        }
    };
    let public = post(json!({
        "redirect_uris": [ctx.callback.redirect_uri()],
        "client_name": "mcp-auth-conformance",
        "token_endpoint_auth_method": "none",
    }))
    .await;
    let mut bad = Vec::new();
    for uri in ["javascript:alert(1)", "http://evil.example/cb"] {
        let (s, v, id) = post(json!({"redirect_uris": [uri], "client_name": "hostile", "token_endpoint_auth_method": "none"})).await;
        bad.push((uri.to_owned(), s, v, id));
    }
    Ok(DcrObs { public, bad })
}

/// One honest CIMD flow at an AS that does not advertise CIMD: does it work anyway (AS-META-06)?
pub async fn cimd_unadvertised(ctx: &Ctx) -> Result<CimdAttempt, ObsError> {
    if ctx.endpoints.cimd_supported {
        return Err(not_applicable("the AS advertises CIMD"));
    }
    let Some(host) = &ctx.cimd else {
        return Err(ObsError::Harness("the CIMD host is not running".into()));
    };
    let sc = Scenario::new("cimd-unadvertised");
    let redirect = ctx.callback.redirect_uri();
    let path = "unadvertised.json";
    let id = host.client_id(path);
    host.put(path, HostedDoc::json(&honest_document(&id, &redirect)));
    let w = ctx.walk_as(&sc, &id, &redirect).await;
    Ok(CimdAttempt {
        client_id: id,
        authorized: w,
        hits: host.hits(path),
        token: None,
    })
}

/// The token-exchange grant (RFC 8693).
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The upstream audience the suite asks exchanged tokens for.
pub const UPSTREAM: &str = "https://upstream.conformance.test/api";

/// Token-exchange probes, when the AS advertises the grant and a confidential client (the actor) exists.
pub async fn exchange_probes(ctx: &Ctx) -> Result<ExchangeObs, ObsError> {
    let advertised = ctx
        .endpoints
        .metadata
        .get("grant_types_supported")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|g| g == TOKEN_EXCHANGE));
    if !advertised {
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
    // The actor serves RESOURCE: it redeemed a code for it.
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
