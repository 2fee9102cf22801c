//! Authorization-server scenarios: the suite as client drives the target once per stimulus and records what
//! happened. Judging is the checks' job.

mod assertion;
mod authorize;
mod cimd;
mod dcr;
mod dpop;
mod exchange;
mod federation;
mod machine;
mod metadata;
mod proxy;
mod refresh;
mod token;

use std::sync::Arc;

pub use assertion::{
    assertion_probes, AssertionObs, CcCase, GrantProbes, JagCase, WifCase, OTHER_AS, OTHER_CLIENT,
};
pub use authorize::{authorization_probes, AuthzParts};
pub use cimd::{cimd_probes, cimd_unadvertised, honest_document, HTTP_REDIRECT};
pub use dcr::{dcr, dcr_probes};
pub use dpop::{dpop_probes, DpopObs, ProofProbe};
pub use exchange::{exchange_probes, TOKEN_EXCHANGE, UPSTREAM};
pub use federation::{
    federation_probes, hopped, FedProbe, FederationObs, ResourceUse, UPSTREAM_IDP_FLAG,
};
pub use machine::{machine_probes, MachineObs, ESCALATED_SCOPE};
pub use metadata::{metadata, metadata_body};
pub use proxy::{
    proxy_probes, BeforeConsentProbe, CsrfProbe, ProxyObs, RedirectChange, ReplayProbe,
    StateAttack, Unapproved, PROXY_FLAG,
};
pub use refresh::refresh_probes;
pub use token::{token_probes, TokenParts};

use crate::authz::agent::{AuthorizeOutcome, Authorized, CallbackListener, UserAgent};
use crate::authz::cimd_host::CimdHost;
use crate::authz::login::LoginMode;
use crate::authz::oauth::{self, Client, ClientAuth, Endpoints, Randomness, TokenResult};
use crate::authz::obs::*;
use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::Http;

/// The resource the suite asks tokens for by default (an MCP server URL; `authz --resource` names another).
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
    /// The resource every token request names ([`RESOURCE`] unless `--resource`).
    pub resource: String,
    /// `--proxy`: the AS is an OAuth proxy that is also the MCP server at [`Ctx::resource`], and checks the
    /// upstream's tokens when its own are used there; federated logins are judged by using their tokens.
    pub judge_at_resource: bool,
    pub callback: Arc<CallbackListener>,
    pub client_a: Client,
    pub client_b: Option<Client>,
    pub confidential: Option<Client>,
    pub cimd: Option<Arc<CimdHost>>,
    pub probe: Option<Arc<CimdHost>>,
    /// The suite's upstream IdP, when the AS federates its login to it (issue 15).
    pub idp: Option<Arc<fake_idp::idp::RunningIdp>>,
}

impl Ctx {
    /// A fresh user agent (empty cookie jar) that stops at redirects to `callback`.
    pub fn agent(&self, callback: &str) -> UserAgent {
        let agent = UserAgent::new(self.http.clone(), self.login.clone(), callback.to_owned())
            .with_callback_listener(self.callback.clone());
        match self.idp.as_deref().map(|i| url::Url::parse(i.issuer())) {
            Some(Ok(issuer)) => agent.with_login_origin(issuer.origin()),
            _ => agent,
        }
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
        let mut params = oauth::code_request(client, &pkce, &state, &self.resource, scope);
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
                flow.authorized.last_exchanges(2),
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
        let params = oauth::code_request(
            &client,
            &pkce,
            &self.rand.token(16),
            &self.resource,
            &self.scope,
        );
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
            ("resource", self.resource.clone()),
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

/// Whether the AS metadata lists `grant` in `grant_types_supported`.
fn advertises_grant(ctx: &Ctx, grant: &str) -> bool {
    ctx.endpoints
        .metadata
        .get("grant_types_supported")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|a| a.iter().any(|g| g == grant))
}

fn not_applicable(why: &str) -> ObsError {
    ObsError::NotApplicable(why.to_owned())
}
