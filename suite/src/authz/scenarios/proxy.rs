//! OAuth-proxy probes (AS-PRX-*, issue 15): the AS is an MCP proxy with one static client at the upstream IdP
//! (the suite's IdP plays that third-party AS). The confused-deputy risk: any MCP client the proxy registers
//! rides on that one upstream client, so the proxy must ask its own, per-client consent before the upstream hop,
//! bind the consent to the browser, and keep the upstream `state` for after consent.
//!
//! Most probes walk a fresh user agent until the proxy's consent page and stop there without approving
//! ([`UserAgent::authorize_until_consent`]); what the IdP saw meanwhile ([`IdpSeen`]) tells whether the proxy went
//! upstream before consent. The probes run one at a time after the federation probes: the IdP's answer is global
//! and the IdP's log is read between marks. Judged always on the bundled reference (a proxy when it federates),
//! for an `--issuer` AS only with [`PROXY_FLAG`].

use fake_idp::idp::{IdpAnswer, IdpSeen, RunningIdp};
use url::Url;

use super::federation::hopped;
use super::{dcr, Ctx};
use crate::authz::agent::consent::ConsentPage;
use crate::authz::agent::{Authorized, PendingConsent, UserAgent};
use crate::authz::login::LoginMode;
use crate::authz::oauth::{self, Client, ClientAuth};
use crate::check::ObsError;
use crate::evidence::Scenario;

/// The flag that declares an `--issuer` AS an OAuth proxy (named by the SKIP reason).
pub const PROXY_FLAG: &str = "--proxy";

/// One walk stopped at the proxy's consent page (never approved), and what the IdP saw meanwhile.
#[derive(Debug, Clone)]
pub struct Unapproved {
    pub authorized: Authorized,
    pub seen: Vec<IdpSeen>,
}

impl Unapproved {
    /// Whether the IdP saw an authorization request during the walk.
    pub fn idp_hop(&self) -> bool {
        hopped(&self.seen)
    }

    /// The consent page the walk stopped at (on `origin`, not approved).
    pub fn consent_on(&self, origin: &str) -> Option<&ConsentPage> {
        self.authorized.consent.iter().find(|c| {
            c.approval.is_none() && Url::parse(&c.url).is_ok_and(|u| same_origin(&u, origin))
        })
    }
}

/// AS-PRX-02.csrf: the attacker's consent page, and another browser submitting its form.
#[derive(Debug, Clone)]
pub struct CsrfProbe {
    /// The attacker's walk to the consent page (not approved).
    pub attacker: Unapproved,
    /// The victim's submission of the attacker's form and its walk on; `None` when the attacker had no form.
    pub victim: Option<Unapproved>,
}

/// AS-PRX-05.replayed: a completed login, then its IdP→proxy callback URL requested again.
#[derive(Debug, Clone)]
pub struct ReplayProbe {
    /// The login (the IdP lenient: its code redeemable twice).
    pub first: Authorized,
    /// Whether the callback URL (the first proxy URL after the IdP's pages) was found in the walk.
    pub callback_found: bool,
    /// The replay, by the same user agent; `None` when there was nothing to replay.
    pub replay: Option<Authorized>,
    /// What the IdP saw during the replay.
    pub seen: Vec<IdpSeen>,
}

/// AS-PRX-05.before-consent: where the upstream `state` of an honest login first appeared.
#[derive(Debug, Clone)]
pub struct BeforeConsentProbe {
    /// The honest walk until the consent page.
    pub honest: Unapproved,
    /// Its approval and the rest of the login.
    pub approved: Option<Authorized>,
    /// Whether the IdP saw an authorization request carrying a `state` after the approval.
    pub upstream_state_seen: bool,
    /// Where that state was visible before the approval (`the hidden field "x"`, `the query parameter "y"`);
    /// `None`: nowhere (it first appeared at the approval).
    pub exposed_as: Option<String>,
    /// The attack, run only when the state was visible before consent.
    pub attack: Option<StateAttack>,
}

/// Another browser brings an attacker's pre-consent value to the IdP as `state`.
#[derive(Debug, Clone)]
pub struct StateAttack {
    /// The attacker's walk to the consent page of its own client (not approved).
    pub attacker: Unapproved,
    /// Whether the attacker found the value where the honest state had been visible.
    pub value_found: bool,
    /// The victim's walk: straight to the IdP (upstream client id, callback, that state), login, back to the proxy.
    pub victim: Option<Authorized>,
    /// What the IdP saw during the victim's walk.
    pub seen: Vec<IdpSeen>,
}

/// One changed redirect URI (AS-PRX-04).
#[derive(Debug, Clone)]
pub struct RedirectChange {
    /// What was changed (`same host, other path`, `other host`).
    pub label: &'static str,
    pub redirect_uri: String,
    pub walk: Unapproved,
}

/// Everything the proxy probes saw.
#[derive(Debug, Clone)]
pub struct ProxyObs {
    /// The proxy's origin (its authorization endpoint's).
    pub origin: String,
    /// AS-PRX-01.new-client: a freshly registered client, a fresh user agent, until the consent page.
    pub new_client: Result<Unapproved, ObsError>,
    /// The honest login (client A) the per-client user agent approved and completed.
    pub first: Authorized,
    /// AS-PRX-01.per-client: the same user agent, another new client, until the consent page.
    pub per_client: Result<Unapproved, ObsError>,
    /// AS-PRX-02.csrf.
    pub csrf: Result<CsrfProbe, ObsError>,
    /// AS-PRX-04.
    pub redirects: Result<Vec<RedirectChange>, ObsError>,
    /// AS-PRX-05.replayed.
    pub replayed: Result<ReplayProbe, ObsError>,
    /// AS-PRX-05.before-consent.
    pub before_consent: Result<BeforeConsentProbe, ObsError>,
}

/// Runs the proxy probes (`judged`: the bundled reference, or `--proxy`), or says why they cannot run.
pub async fn proxy_probes(ctx: &Ctx, judged: bool) -> Result<ProxyObs, ObsError> {
    if !judged {
        return Err(ObsError::NotApplicable(format!(
            "the AS is not declared an OAuth proxy: run with {PROXY_FLAG} (an MCP proxy with a static client at \
             the upstream IdP; with --issuer, also {})",
            super::UPSTREAM_IDP_FLAG
        )));
    }
    let Some(idp) = ctx.idp.as_deref() else {
        return Err(ObsError::NotApplicable(format!(
            "no upstream IdP: {PROXY_FLAG} needs {} [ADDR] and the proxy configured with the suite's IdP as its \
             upstream (docs/guide/federation.md)",
            super::UPSTREAM_IDP_FLAG
        )));
    };
    if matches!(ctx.login, LoginMode::Manual { .. }) {
        return Err(ObsError::NotApplicable(
            "--login manual: the proxy probes stop walks at the consent page and replay requests, which needs \
             --login auto or a --login form script"
                .into(),
        ));
    }
    let sc = Scenario::new("proxy");
    idp.set_answer(IdpAnswer::Honest);
    let origin = Url::parse(&ctx.endpoints.authorization)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();

    // The honest login first: one user agent approves client A and completes; it stays for AS-PRX-01.per-client.
    let keeper = ctx.agent(&ctx.client_a.redirect_uri);
    let mark = idp.seen().len();
    let (first, _) = approve_flow(ctx, &keeper, &sc, &ctx.client_a).await;
    let first_seen = idp.seen_since(mark);
    if first.code().is_none() {
        let hint = if hopped(&first_seen) {
            ""
        } else {
            "; the proxy never sent the user to the suite's IdP (is the suite's IdP its upstream?)"
        };
        return Err(ObsError::target_because(
            format!(
                "an honest login through the proxy and the suite's IdP yielded no code: {}{hint}",
                super::describe(&first.outcome)
            ),
            first.last_exchanges(2),
            first.outcome.cause(),
        ));
    }

    let new_client = match fresh_client(ctx, &sc).await {
        Ok(client) => {
            let agent = ctx.agent(&client.redirect_uri);
            Ok(until_consent(ctx, idp, &agent, &sc, &client).await.0)
        }
        Err(e) => Err(e),
    };
    let per_client = match fresh_client(ctx, &sc).await {
        Ok(client) => Ok(until_consent(ctx, idp, &keeper, &sc, &client).await.0),
        Err(e) => Err(e),
    };
    let csrf = match fresh_client(ctx, &sc).await {
        Ok(client) => Ok(csrf_probe(ctx, idp, &sc, &client).await),
        Err(e) => Err(e),
    };
    let redirects = Ok(redirect_changes(ctx, idp, &sc).await);
    let replayed = Ok(replay_probe(ctx, idp, &sc).await);
    idp.set_answer(IdpAnswer::Honest);
    let before_consent = before_consent_probe(ctx, idp, &sc).await;
    register_states(ctx, idp);
    Ok(ProxyObs {
        origin,
        new_client,
        first,
        per_client,
        csrf,
        redirects,
        replayed,
        before_consent,
    })
}

fn same_origin(url: &Url, origin: &str) -> bool {
    url.origin().ascii_serialization() == origin
}

/// The upstream states the IdP saw are secrets of the run: never whole in a report.
fn register_states(ctx: &Ctx, idp: &RunningIdp) {
    for seen in idp.seen() {
        if let IdpSeen::Authorize {
            state: Some(state), ..
        } = seen
        {
            ctx.http.register_secret(&state);
        }
    }
}

/// A client no user agent has approved yet: a fresh dynamic registration, else the suite's second client.
async fn fresh_client(ctx: &Ctx, sc: &Scenario) -> Result<Client, ObsError> {
    let redirect = ctx.callback.redirect_uri();
    if let Some(endpoint) = &ctx.endpoints.registration {
        return dcr(&ctx.http, sc, endpoint, &redirect, ClientAuth::None).await;
    }
    ctx.client_b.clone().ok_or_else(|| {
        ObsError::NotApplicable(
            "no second client: the proxy offers neither dynamic registration nor CIMD".into(),
        )
    })
}

/// The authorization URL of a valid request of `client` (to `redirect_uri`).
fn authorize_url(ctx: &Ctx, client: &Client, redirect_uri: &str) -> String {
    let pkce = ctx.rand.pkce();
    let mut params = oauth::code_request(
        client,
        &pkce,
        &ctx.rand.token(16),
        &ctx.resource,
        &ctx.scope,
    );
    for (k, v) in params.iter_mut() {
        if *k == "redirect_uri" {
            *v = redirect_uri.to_owned();
        }
    }
    oauth::authorize_url(&ctx.endpoints.authorization, &params)
}

/// `agent` walks a valid request of `client` until the consent page (not approved).
async fn until_consent(
    ctx: &Ctx,
    idp: &RunningIdp,
    agent: &UserAgent,
    sc: &Scenario,
    client: &Client,
) -> (Unapproved, Option<PendingConsent>) {
    let mark = idp.seen().len();
    let url = authorize_url(ctx, client, &client.redirect_uri);
    let (authorized, pending) = agent.authorize_until_consent(sc, &url).await;
    (
        Unapproved {
            authorized,
            seen: idp.seen_since(mark),
        },
        pending,
    )
}

/// `agent` walks a valid request of `client`, approves the consent page and walks on to the callback. The
/// record of both walks, merged; and the pending approval it submitted.
async fn approve_flow(
    ctx: &Ctx,
    agent: &UserAgent,
    sc: &Scenario,
    client: &Client,
) -> (Authorized, Option<PendingConsent>) {
    let url = authorize_url(ctx, client, &client.redirect_uri);
    let (before, pending) = agent.authorize_until_consent(sc, &url).await;
    let Some(p) = pending else {
        return (before, None);
    };
    let after = agent.submit_consent(sc, &p).await;
    (merge(before, after), Some(p))
}

/// One record of a walk stopped at the consent page and its continuation.
fn merge(before: Authorized, after: Authorized) -> Authorized {
    let mut exchanges = before.exchanges;
    exchanges.extend(after.exchanges);
    let mut form_posts = before.form_posts;
    form_posts.extend(after.form_posts);
    // The continuation's record starts with the approved page: it replaces the unapproved copy.
    let mut consent = before.consent;
    consent.pop();
    consent.extend(after.consent);
    Authorized {
        outcome: after.outcome,
        exchanges,
        form_posts,
        consent,
    }
}

/// AS-PRX-02.csrf: the attacker's browser opens the consent page; a fresh browser submits its form.
async fn csrf_probe(ctx: &Ctx, idp: &RunningIdp, sc: &Scenario, client: &Client) -> CsrfProbe {
    let attacker_agent = ctx.agent(&client.redirect_uri);
    let (attacker, pending) = until_consent(ctx, idp, &attacker_agent, sc, client).await;
    let victim = match pending {
        Some(p) => {
            let victim_agent = ctx.agent(&client.redirect_uri);
            let mark = idp.seen().len();
            let authorized = victim_agent.submit_consent(sc, &p).await;
            Some(Unapproved {
                authorized,
                seen: idp.seen_since(mark),
            })
        }
        None => None,
    };
    CsrfProbe { attacker, victim }
}

/// AS-PRX-04: client A's valid request with its redirect URI changed (same host, another path; another host).
async fn redirect_changes(ctx: &Ctx, idp: &RunningIdp, sc: &Scenario) -> Vec<RedirectChange> {
    let registered = ctx.client_a.redirect_uri.clone();
    let mut changes = Vec::new();
    if let Ok(url) = Url::parse(&registered) {
        let mut path = url.clone();
        path.set_path(&format!("{}/prx-changed", url.path().trim_end_matches('/')));
        changes.push(("same host, another path", path.to_string()));
        let mut host = url.clone();
        if host.set_host(Some("prx-attacker.conformance.test")).is_ok() {
            changes.push(("another host", host.to_string()));
        }
    }
    let mut out = Vec::new();
    for (label, uri) in changes {
        let agent = ctx.agent(&uri);
        let mark = idp.seen().len();
        let (authorized, _) = agent
            .authorize_until_consent(sc, &authorize_url(ctx, &ctx.client_a, &uri))
            .await;
        out.push(RedirectChange {
            label,
            redirect_uri: uri,
            walk: Unapproved {
                authorized,
                seen: idp.seen_since(mark),
            },
        });
    }
    out
}

/// AS-PRX-05.replayed: a login with the IdP lenient (its code redeemable twice), then the same browser requests
/// the IdP→proxy callback URL again.
async fn replay_probe(ctx: &Ctx, idp: &RunningIdp, sc: &Scenario) -> ReplayProbe {
    idp.set_answer(IdpAnswer::ReusableCode);
    let agent = ctx.agent(&ctx.client_a.redirect_uri);
    let (first, _) = approve_flow(ctx, &agent, sc, &ctx.client_a).await;
    let idp_origin = Url::parse(idp.issuer()).map(|u| u.origin()).ok();
    let proxy_origin = Url::parse(&ctx.endpoints.authorization)
        .map(|u| u.origin())
        .ok();
    let visited = agent.visited();
    let callback = visited
        .iter()
        .skip_while(|u| Some(u.origin()) != idp_origin)
        .find(|u| Some(u.origin()) == proxy_origin)
        .cloned();
    let mark = idp.seen().len();
    let replay = match (&callback, first.code().is_some()) {
        (Some(url), true) => Some(agent.authorize(sc, url.as_str()).await),
        _ => None,
    };
    let seen = idp.seen_since(mark);
    idp.set_answer(IdpAnswer::Honest);
    ReplayProbe {
        first,
        callback_found: callback.is_some(),
        replay,
        seen,
    }
}

/// Where `value` was visible before the approval: a hidden field of the consent form or a query parameter of a
/// URL the browser was sent to.
fn exposed_as(value: &str, pending: &PendingConsent, visited: &[Url]) -> Option<Exposure> {
    if let Some((name, _)) = pending.hidden.iter().find(|(_, v)| v == value) {
        return Some(Exposure::Hidden(name.clone()));
    }
    visited.iter().find_map(|u| {
        u.query_pairs()
            .find(|(_, v)| v == value)
            .map(|(k, _)| Exposure::Query(k.into_owned()))
    })
}

/// Where a pre-consent value sits.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Exposure {
    Hidden(String),
    Query(String),
}

impl Exposure {
    fn describe(&self) -> String {
        match self {
            Exposure::Hidden(n) => format!("the consent form's hidden field {n:?}"),
            Exposure::Query(n) => {
                format!("the query parameter {n:?} of a URL walked before consent")
            }
        }
    }

    /// The value at this place in another walk.
    fn find(&self, pending: Option<&PendingConsent>, visited: &[Url]) -> Option<String> {
        match self {
            Exposure::Hidden(name) => pending?
                .hidden
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
            Exposure::Query(name) => visited.iter().rev().find_map(|u| {
                u.query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            }),
        }
    }
}

/// AS-PRX-05.before-consent.
async fn before_consent_probe(
    ctx: &Ctx,
    idp: &RunningIdp,
    sc: &Scenario,
) -> Result<BeforeConsentProbe, ObsError> {
    let agent = ctx.agent(&ctx.client_a.redirect_uri);
    let (honest, pending) = until_consent(ctx, idp, &agent, sc, &ctx.client_a).await;
    let before: Vec<Url> = agent.visited();
    let Some(pending) = pending else {
        return Ok(BeforeConsentProbe {
            honest,
            approved: None,
            upstream_state_seen: false,
            exposed_as: None,
            attack: None,
        });
    };
    let mark = idp.seen().len();
    let approved = agent.submit_consent(sc, &pending).await;
    let seen = idp.seen_since(mark);
    let upstream = seen.iter().find_map(|s| match s {
        IdpSeen::Authorize {
            state: Some(state),
            client_id,
            redirect_uri,
            ..
        } => Some((state.clone(), client_id.clone(), redirect_uri.clone())),
        _ => None,
    });
    let idp_authorize = agent
        .visited()
        .into_iter()
        .find(|u| Url::parse(idp.issuer()).is_ok_and(|i| i.origin() == u.origin()));
    register_states(ctx, idp);
    let Some((state, client_id, redirect_uri)) = upstream else {
        return Ok(BeforeConsentProbe {
            honest,
            approved: Some(approved),
            upstream_state_seen: false,
            exposed_as: None,
            attack: None,
        });
    };
    let exposure = exposed_as(&state, &pending, &before);
    let attack = match (&exposure, idp_authorize) {
        (Some(place), Some(endpoint)) => Some(
            state_attack(
                ctx,
                idp,
                sc,
                place,
                &endpoint,
                &client_id,
                redirect_uri.as_deref(),
            )
            .await?,
        ),
        _ => None,
    };
    Ok(BeforeConsentProbe {
        honest,
        approved: Some(approved),
        upstream_state_seen: true,
        exposed_as: exposure.map(|e| e.describe()),
        attack,
    })
}

/// The attacker opens its own client's consent page and reads the value; a fresh victim browser goes to the
/// IdP with the proxy's upstream client id and callback and that value as `state`, logs in, and follows the
/// IdP's redirect back to the proxy with its own cookies only.
async fn state_attack(
    ctx: &Ctx,
    idp: &RunningIdp,
    sc: &Scenario,
    place: &Exposure,
    idp_authorize: &Url,
    upstream_client: &str,
    upstream_redirect: Option<&str>,
) -> Result<StateAttack, ObsError> {
    let client = fresh_client(ctx, sc).await?;
    let attacker_agent = ctx.agent(&client.redirect_uri);
    let (attacker, pending) = until_consent(ctx, idp, &attacker_agent, sc, &client).await;
    let value = place.find(pending.as_ref(), &attacker_agent.visited());
    let (Some(value), Some(redirect)) = (value, upstream_redirect) else {
        return Ok(StateAttack {
            attacker,
            value_found: false,
            victim: None,
            seen: Vec::new(),
        });
    };
    ctx.http.register_secret(&value);
    let mut url = idp_authorize.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.query_pairs_mut()
        .append_pair("client_id", upstream_client)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("redirect_uri", redirect)
        .append_pair("state", &value);
    let mut victim_agent = ctx.agent(&client.redirect_uri);
    if let Ok(proxy) = Url::parse(&ctx.endpoints.authorization) {
        victim_agent = victim_agent.with_login_origin(proxy.origin());
    }
    let mark = idp.seen().len();
    let victim = victim_agent.authorize(sc, url.as_str()).await;
    Ok(StateAttack {
        attacker,
        value_found: true,
        victim: Some(victim),
        seen: idp.seen_since(mark),
    })
}
