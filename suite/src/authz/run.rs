//! Running the authz role: start (or reach) the target AS, discover it, register clients, run the probes
//! concurrently, judge.

use std::sync::Arc;

use fake_idp::idp::{Idp, IdpConfig, RunningIdp, IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_HOST};
use fake_idp::{AsDefect, AsTarget, AsTargetConfig, LoginUi, UpstreamIdp};
use mcp_auth_reports::{Report, Role, TargetInfo, TargetKind, Verdict};

use crate::authz::agent::CallbackListener;
use crate::authz::checks;
use crate::authz::cimd_host::{CimdHost, HostedDoc};
use crate::authz::login::{LoginMode, LoginScript};
use crate::authz::oauth::{Client, ClientAuth, Endpoints, Randomness};
use crate::authz::obs::{AuthzObservations, LoginKind};
use crate::authz::scenarios::{self, Ctx};
use crate::authz::trust::{
    assertion_extensions, AssertionOptions, Parties, BUNDLED_ASSERTION_CLIENT,
};
use crate::authz::upstream_idp::UpstreamIdpSettings;
use crate::check::ObsError;
use crate::evidence::{EvidenceLog, Scenario};
use crate::http::{tls_profile, Http, Limits};
use crate::runner::{self, Baseline, Live, Selection};
use crate::server::target::{reserve_port, ChildGroup, TargetError, READY_TIMEOUT};
use crate::spec::Extension;
use crate::tls::RunTls;

/// The login script of the bundled reference AS (form login).
pub const REFERENCE_LOGIN: &str = include_str!("../../../fixtures/login/reference-as.toml");

/// The authorization server under test.
#[derive(Debug, Clone)]
pub enum AuthzTarget {
    /// The bundled reference AS (fake-idp in target mode, form login), optionally with one defect.
    Bundled(Option<AsDefect>),
    /// A running AS at this issuer.
    Issuer(String),
    /// A command (`sh -c CMD`) that serves an AS on `127.0.0.1:$PORT`, spawned with the env contract of
    /// [`command_env`], federating to the suite's IdP. Its issuer is `issuer` with `{port}` replaced by the port
    /// (default [`COMMAND_ISSUER`]).
    Command {
        command: String,
        issuer: Option<String>,
    },
}

/// The env contract of an `authz --command` target, besides `PORT` and (under `--tls-profile strict`) the test
/// CA and the target's certificate (`SSL_CERT_FILE`, `MCP_CONFORMANCE_TLS_CERT_FILE`, …): the issuer it must
/// answer as, and the suite's upstream IdP it federates its login to (the values of `--print-idp-env`).
pub fn command_env(issuer: &str, idp: &UpstreamIdpSettings) -> Vec<(&'static str, String)> {
    vec![
        ("MCP_CONFORMANCE_ISSUER", issuer.to_owned()),
        ("MCP_CONFORMANCE_IDP_ISSUER", idp.issuer.clone()),
        ("MCP_CONFORMANCE_IDP_CLIENT_ID", IDP_CLIENT_ID.to_owned()),
        (
            "MCP_CONFORMANCE_IDP_CLIENT_SECRET",
            IDP_CLIENT_SECRET.to_owned(),
        ),
        ("MCP_CONFORMANCE_IDP_ADDR", idp.addr.to_string()),
    ]
}

/// A client registered out of band.
#[derive(Debug, Clone)]
pub struct PreRegisteredClient {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uri: String,
}

/// Everything an authz run needs.
#[derive(Debug, Clone)]
pub struct AuthzOptions {
    pub target: AuthzTarget,
    /// None: auto for `--issuer`, the reference script for the bundled target.
    pub login: Option<LoginMode>,
    pub client: Option<PreRegisteredClient>,
    /// The scope requested in flows.
    pub scope: String,
    /// The resource every token request names (`--resource`; default [`scenarios::RESOURCE`]). An OAuth proxy
    /// that is also the MCP server grants its own URL only.
    pub resource: String,
    /// Register the flow clients by DCR even when the AS advertises CIMD (`--registration dcr`): for an AS that
    /// cannot fetch the suite's documents (one that refuses loopback addresses, for instance).
    pub prefer_dcr: bool,
    pub selection: Selection,
    pub baseline: Baseline,
    pub strict: bool,
    pub seed: u64,
    pub limits: Limits,
    /// The run's test PKI under `--tls-profile strict` (made by the CLI for `--ca-out`); when the selection is
    /// strict and this is None, the run makes its own.
    pub tls: Option<Arc<RunTls>>,
    /// `--issuer` targets: how long to wait for the issuer to answer before the first request
    /// (`--wait-for-target`, e.g. an AS started with the `--cert-out` files); `None` starts at once.
    pub wait_for_target: Option<std::time::Duration>,
    /// What a real AS was configured to trust for the JWT-assertion extensions (ignored for the bundled AS,
    /// which trusts the suite's parties in-process).
    pub assertion: AssertionOptions,
    /// With an `--issuer` target: serve the suite's upstream IdP here for the AS to federate to
    /// (`--upstream-idp`). The bundled AS always federates to an IdP on an ephemeral port.
    pub upstream_idp: Option<std::net::SocketAddr>,
    /// With an `--issuer` or `--command` target: the AS is an MCP proxy with a static client at the upstream IdP
    /// (`--proxy`): the AS-PRX checks are judged, and with a `resource` of its own its federated logins are judged
    /// by using their tokens there. The bundled AS is always a proxy (it federates), judged at the code.
    pub proxy: bool,
}

impl AuthzOptions {
    pub fn bundled(defect: Option<AsDefect>) -> Self {
        AuthzOptions {
            target: AuthzTarget::Bundled(defect),
            login: None,
            client: None,
            scope: "todo:read".into(),
            resource: scenarios::RESOURCE.to_owned(),
            prefer_dcr: false,
            selection: Selection::all(),
            baseline: Baseline::default(),
            strict: false,
            seed: 0x5eed,
            limits: Limits::default(),
            tls: None,
            wait_for_target: None,
            assertion: AssertionOptions::default(),
            upstream_idp: None,
            proxy: false,
        }
    }
}

/// Runs the authz role. Never fails: problems become verdicts.
pub async fn run(opts: &AuthzOptions) -> Report {
    run_live(opts, &Live::start()).await
}

/// [`run`], also returning the raw evidence log the report was sealed from (for tests that prove the report
/// holds no secret the run saw).
pub async fn run_with_evidence(opts: &AuthzOptions) -> (Report, EvidenceLog) {
    let live = Live::start();
    let report = run_live(opts, &live).await;
    (report, live.log)
}

/// [`run`], recording every exchange and every finished scenario in `live` as it happens, so that a run
/// stopped by a signal can still be reported ([`interrupted`]).
pub async fn run_live(opts: &AuthzOptions, live: &Live<AuthzObservations>) -> Report {
    let mut run = run_info(opts);
    let observed = observe(opts, live, &mut run).await.map(|mut o| {
        o.tls = opts.selection.tls();
        o
    });
    runner::conclude(
        run,
        live.timer.clone(),
        &checks::registry(),
        observed,
        &opts.selection,
        &opts.baseline,
        &live.log,
        Vec::new(),
    )
}

/// The report of a run stopped by a signal: the checks judged on the scenarios that had finished.
pub fn interrupted(opts: &AuthzOptions, live: &Live<AuthzObservations>, reason: &str) -> Report {
    runner::interrupted(
        run_info(opts),
        live.timer.clone(),
        &checks::registry(),
        live.progress.take().map(|mut o| {
            o.tls = opts.selection.tls();
            o
        }),
        &opts.selection,
        &opts.baseline,
        reason,
        &live.log,
        Vec::new(),
    )
}

fn run_info(opts: &AuthzOptions) -> mcp_auth_reports::RunInfo {
    let mut target = TargetInfo::new(match opts.target {
        AuthzTarget::Bundled(_) => TargetKind::Bundled,
        AuthzTarget::Issuer(_) => TargetKind::Url,
        AuthzTarget::Command { .. } => TargetKind::Command,
    });
    match &opts.target {
        AuthzTarget::Bundled(Some(d)) => target.defect = Some(d.name().to_owned()),
        AuthzTarget::Bundled(None) => {}
        AuthzTarget::Issuer(i) => target.url = Some(i.clone()),
        AuthzTarget::Command { command, .. } => target.command = Some(command.clone()),
    }
    runner::run_info(
        Role::Authz,
        target,
        "authorization server (docs/design/authz-role.md)",
        opts.strict,
        opts.seed,
    )
}

async fn observe(
    opts: &AuthzOptions,
    live: &Live<AuthzObservations>,
    run: &mut mcp_auth_reports::RunInfo,
) -> Result<AuthzObservations, (Verdict, String)> {
    let (log, progress) = (&live.log, &live.progress);
    let harness =
        |what: &str, e: &dyn std::fmt::Display| (Verdict::HarnessError, format!("{what}: {e}"));
    let made = match (&opts.tls, opts.selection.tls()) {
        (Some(_), _) => None,
        (None, profile) => RunTls::for_profile(profile).map_err(|e| harness("the test PKI", &e))?,
    };
    let tls = opts.tls.as_deref().or(made.as_ref());
    let parties = Parties::fixed();
    let ephemeral = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let idp_bind = match &opts.target {
        AuthzTarget::Bundled(_) => Some(ephemeral),
        AuthzTarget::Issuer(_) => opts.upstream_idp,
        AuthzTarget::Command { .. } => Some(opts.upstream_idp.unwrap_or(ephemeral)),
    };
    let idp = match idp_bind {
        Some(bind) => {
            Some(Arc::new(start_idp(bind, tls, opts.seed).await.map_err(
                |e| harness("the upstream IdP could not start", &e),
            )?))
        }
        None => None,
    };
    // An `--command` target's process group: killed when this function returns, whichever way.
    let mut spawned: Option<ChildGroup> = None;
    let (issuer, bundled) = match &opts.target {
        AuthzTarget::Bundled(defect) => {
            let cert = match tls {
                Some(t) => Some(
                    t.pki
                        .leaf(&["as.conformance.test"])
                        .map_err(|e| harness("the reference AS certificate", &e))?,
                ),
                None => None,
            };
            let config = AsTargetConfig {
                defect: *defect,
                login: LoginUi::Form,
                seed: opts.seed,
                tls: cert,
                cimd_ca: tls.map(|t| t.pki.ca_pem().to_owned()),
                // The suite's assertion parties, trusted in-process (only when an extension asks for them).
                assertion_trust: if assertion_extensions(opts.selection.extensions()) {
                    fake_idp::AssertionTrust::suite_parties(BUNDLED_ASSERTION_CLIENT)
                } else {
                    fake_idp::AssertionTrust::default()
                },
                upstream_idp: idp.as_deref().map(|i| UpstreamIdp {
                    issuer: i.issuer().to_owned(),
                    client_id: IDP_CLIENT_ID.to_owned(),
                    client_secret: IDP_CLIENT_SECRET.to_owned(),
                    ca_pem: tls.map(|t| t.pki.ca_pem().to_owned()),
                }),
                ..AsTargetConfig::default()
            };
            let t = AsTarget::start(config)
                .await
                .map_err(|e| harness("the reference AS could not start", &e))?;
            (t.issuer(), Some(t))
        }
        AuthzTarget::Issuer(i) => (i.clone(), None),
        AuthzTarget::Command { command, issuer } => {
            let template = issuer.as_deref().unwrap_or(match tls {
                Some(_) => COMMAND_ISSUER_HTTPS,
                None => COMMAND_ISSUER,
            });
            let (group, issuer) = spawn_command(command, template, idp.as_deref(), tls)
                .await
                .map_err(|e| {
                    (
                        Verdict::Error,
                        format!("the target could not be started: {e}"),
                    )
                })?;
            spawned = Some(group);
            (issuer, None)
        }
    };
    run.target.url = Some(issuer.clone());
    // The trust of the JWT-assertion extensions: in-process for the bundled AS; for a real AS, the JWKS served at
    // the fixed trust address, when the vendor said the AS was configured with them.
    let wants_assertions = assertion_extensions(opts.selection.extensions());
    let (trust, trust_host) = match &bundled {
        Some(_) => (AssertionOptions::bundled(), None),
        None => {
            let trust = opts.assertion.clone();
            let configured = trust.client_id.is_some() || trust.trusts_workload || trust.trusts_idp;
            let host = if wants_assertions && configured {
                let host = parties.serve(trust.trust_addr).await.map_err(|e| {
                    harness(
                        &format!(
                            "the JWKS of the suite's assertion parties could not be served at {} (--trust-addr)",
                            trust.trust_addr
                        ),
                        &e,
                    )
                })?;
                run.notes.push(format!(
                    "assertion trust: JWKS served at http://{}",
                    trust.trust_addr
                ));
                Some(host)
            } else {
                None
            };
            (trust, host)
        }
    };
    let (login, login_kind) = match (&opts.login, &bundled) {
        (Some(m), _) => (m.clone(), kind_of(m)),
        (None, Some(_)) => {
            let script = LoginScript::from_toml_str(REFERENCE_LOGIN)
                .map_err(|e| harness("the reference login script", &e))?;
            (LoginMode::Form(script), LoginKind::Form)
        }
        (None, None) => (LoginMode::Auto, LoginKind::Auto),
    };
    run.notes.push(format!("login: {login_kind:?}"));
    if let Some(i) = &idp {
        run.notes.push(format!(
            "upstream IdP: {} (client {IDP_CLIENT_ID})",
            i.issuer()
        ));
    }
    let host = url::Url::parse(&issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    run.tls_profile = tls_profile(&issuer, &host);
    let http = Http::trusting(
        opts.limits,
        log.clone(),
        vec![host],
        tls.map(|t| t.pki.ca_pem()),
    )
    .map_err(|e| harness("the HTTP client", &e))?;
    http.register_secret(IDP_CLIENT_SECRET);
    let callback = Arc::new(
        CallbackListener::start()
            .await
            .map_err(|e| harness("the callback listener", &e))?,
    );
    // Under strict TLS the CIMD host and the SSRF probe serve https with a leaf of the run's CA, so that a
    // fetch (honest or not) is an https request the host logs.
    let host_cert = match tls {
        Some(t) => Some(
            t.pki
                .leaf(&[crate::authz::cimd_host::CLIENT_HOST])
                .map_err(|e| harness("the CIMD host certificate", &e))?,
        ),
        None => None,
    };
    let cimd = Arc::new(
        CimdHost::start_with(host_cert.as_ref())
            .await
            .map_err(|e| harness("the CIMD host", &e))?,
    );
    let probe = Arc::new(
        CimdHost::start_with(host_cert.as_ref())
            .await
            .map_err(|e| harness("the SSRF probe listener", &e))?,
    );
    let rand = Randomness::new(opts.seed);

    if let (None, Some(limit)) = (&bundled, opts.wait_for_target) {
        crate::server::target::wait_until_answers(&issuer, limit, tls.map(|t| t.pki.ca_pem()))
            .await
            .map_err(|e| {
                (
                    Verdict::Error,
                    format!("the target could not be reached: {e}"),
                )
            })?;
    }
    let ext = opts.selection.extensions();
    progress.status().plan(
        12 + usize::from(ext.contains(Extension::Dpop))
            + usize::from(ext.contains(Extension::ClientCredentials)),
    );
    let metadata = progress
        .step("metadata discovery", scenarios::metadata(&http, &issuer))
        .await;
    let endpoints = match metadata.documents().next() {
        Some((f, doc)) => Endpoints::from_metadata(&issuer, &f.url, doc)
            .map_err(|e| ObsError::target(e, [f.exchange.clone()]).after(&["AS-META-04"])),
        None => Err(ObsError::target(
            "no AS metadata document was found at the MCP §4.3 locations",
            metadata
                .fetches
                .iter()
                .map(|f| f.exchange.clone())
                .collect::<Vec<_>>(),
        )
        .after(&["AS-META-01"])),
    };
    let resource = resolve_resource(&opts.resource, &issuer);
    let mut obs = AuthzObservations::unreached(login_kind, Ok(metadata), endpoints.clone());
    obs.resource = resource.clone();
    let Ok(endpoints) = endpoints else {
        stop(bundled).await;
        return Ok(obs);
    };
    // From here an interrupt judges the discovery and leaves every unfinished part ERROR (not observed).
    progress.set(AuthzObservations::failed(
        obs.login,
        obs.metadata.clone(),
        obs.endpoints.clone(),
        &ObsError::Interrupted,
    ));
    progress.update(|o| o.resource = resource.clone());
    let clients = progress
        .step(
            "client registration",
            register(opts, &http, &endpoints, &callback, &cimd),
        )
        .await;
    let (client_a, client_b, confidential) = match clients {
        Ok(c) => c,
        Err(e) => {
            stop(bundled).await;
            progress.take();
            let mut failed = AuthzObservations::failed(obs.login, obs.metadata, obs.endpoints, &e);
            failed.resource = obs.resource;
            return Ok(failed);
        }
    };
    run.notes
        .push(format!("client: {} ({})", client_a.id, client_a.kind));
    if resource != scenarios::RESOURCE {
        run.notes.push(format!("resource: {resource}"));
    }
    let ctx = Ctx {
        http,
        login,
        login_kind,
        endpoints,
        rand,
        scope: opts.scope.clone(),
        resource,
        // A declared proxy whose resource is its own MCP endpoint (not the suite's default): its federated
        // logins are judged by using their tokens there.
        judge_at_resource: opts.proxy && bundled.is_none() && opts.resource != scenarios::RESOURCE,
        callback,
        client_a,
        client_b,
        confidential,
        cimd: Some(cimd.clone()),
        probe: Some(probe.clone()),
        idp,
    };
    tokio::join!(
        progress.step("authorization probes", async {
            let a = scenarios::authorization_probes(&ctx).await;
            progress.update(|o| {
                o.happy = a.happy;
                o.unknown_params = a.unknown_params;
                o.narrowed_scope = a.narrowed_scope;
                o.redirect_variants = a.redirect_variants;
                o.unknown_client = a.unknown_client;
                o.no_challenge = a.no_challenge;
                o.plain = a.plain;
                o.s512 = a.s512;
                o.implicit = a.implicit;
                o.invalid_resource = a.invalid_resource;
                o.fresh_agent = a.fresh_agent;
                o.cors = a.cors;
            });
        }),
        progress.step("token probes", async {
            let t = scenarios::token_probes(&ctx).await;
            progress.update(|o| {
                o.attacks = t.attacks;
                o.replay = t.replay;
                o.bad_replay = t.bad_replay;
                o.bad_basic = t.bad_basic;
                o.confidential_without_auth = t.confidential_without_auth;
            });
        }),
        progress.step("refresh probes", async {
            let (rotation, refresh_attacks) = scenarios::refresh_probes(&ctx).await;
            progress.update(|o| {
                o.rotation = rotation;
                o.refresh_attacks = refresh_attacks;
            });
        }),
        progress.step("CIMD probes", async {
            let c = scenarios::cimd_probes(&ctx).await;
            progress.update(|o| o.cimd = c);
        }),
        progress.step("DCR probes", async {
            let d = scenarios::dcr_probes(&ctx).await;
            progress.update(|o| o.dcr = d);
        }),
    );
    let unadvertised = progress
        .step("CIMD unadvertised", scenarios::cimd_unadvertised(&ctx))
        .await;
    progress.update(|o| o.cimd_unadvertised = unadvertised);
    let exchange = progress
        .step("token exchange probes", scenarios::exchange_probes(&ctx))
        .await;
    progress.update(|o| o.exchange = exchange);
    let assertion = progress
        .step(
            "JWT assertion probes",
            scenarios::assertion_probes(&ctx, &parties, &trust, opts.selection.extensions()),
        )
        .await;
    progress.update(|o| o.assertion = assertion);
    drop(trust_host);
    let extensions = opts.selection.extensions();
    let dpop = match extensions.contains(Extension::Dpop) {
        true => {
            progress
                .step("DPoP probes", scenarios::dpop_probes(&ctx))
                .await
        }
        false => Err(ObsError::NotApplicable(
            "--extension dpop was not given".into(),
        )),
    };
    progress.update(|o| o.dpop = dpop);
    let machine = match extensions.contains(Extension::ClientCredentials) {
        true => {
            progress
                .step("client credentials probes", scenarios::machine_probes(&ctx))
                .await
        }
        false => Err(ObsError::NotApplicable(
            "--extension client-credentials was not given".into(),
        )),
    };
    progress.update(|o| o.machine = machine);
    // Last and alone: the IdP's hostile answer is global while a federation probe runs.
    let federation = progress
        .step("federation probes", scenarios::federation_probes(&ctx))
        .await;
    progress.update(|o| o.federation = federation);
    // After the federation probes, alone too: they read the IdP's log between marks and set its answer.
    let judged = bundled.is_some() || opts.proxy;
    let proxy = progress
        .step("proxy probes", scenarios::proxy_probes(&ctx, judged))
        .await;
    progress.update(|o| o.proxy = proxy);
    drop(ctx);
    stop(bundled).await;
    if let Some(mut group) = spawned {
        if let Some(status) = group.exited() {
            run.notes.push(format!(
                "the target process exited during the run ({status})"
            ));
        }
        group.kill().await;
    }
    progress.take().ok_or_else(|| {
        (
            Verdict::HarnessError,
            "the scenarios' record went missing".to_owned(),
        )
    })
}

/// The confidential client a DCR request for `client_secret_basic` gave: none when it failed, or when the AS
/// answered without a `client_secret` (it may register every client as public, RFC 7591 §3.2.1), so that no
/// check judges a public client as a confidential one.
fn confidential(registered: Result<Client, ObsError>) -> Option<Client> {
    registered.ok().filter(|c| c.secret.is_some())
}

/// The resource of `--resource`, with `{issuer}` replaced by the AS's issuer (without a trailing `/`): an
/// `--command` target's port is chosen at run time.
pub fn resolve_resource(resource: &str, issuer: &str) -> String {
    resource.replace(ISSUER_PLACEHOLDER, issuer.trim_end_matches('/'))
}

/// The issuer of an `--command` AS unless `--issuer` names another (`{port}`: the port it binds).
pub const COMMAND_ISSUER: &str = "http://127.0.0.1:{port}";
/// [`COMMAND_ISSUER`] under `--tls-profile strict`.
pub const COMMAND_ISSUER_HTTPS: &str = "https://127.0.0.1:{port}";
/// What `--issuer` may contain with `--command` to stand for the port the AS binds.
pub const PORT_PLACEHOLDER: &str = "{port}";

/// What `--resource` may contain to stand for the issuer.
pub const ISSUER_PLACEHOLDER: &str = "{issuer}";

/// Spawns an `--command` AS on a free loopback port with the env contract ([`command_env`]); its issuer once it
/// accepts connections.
async fn spawn_command(
    command: &str,
    issuer: &str,
    idp: Option<&RunningIdp>,
    tls: Option<&RunTls>,
) -> Result<(ChildGroup, String), TargetError> {
    let port = reserve_port()?;
    let issuer = issuer.replace(PORT_PLACEHOLDER, &port.to_string());
    let mut env = Vec::new();
    if let Some(idp) = idp {
        let settings = UpstreamIdpSettings {
            addr: idp.addr(),
            issuer: idp.issuer().to_owned(),
        };
        env.extend(command_env(&issuer, &settings));
    }
    if let Some(t) = tls {
        env.extend(
            t.target_env()
                .into_iter()
                .map(|(k, v)| (k, v.display().to_string())),
        );
    }
    let group = ChildGroup::spawn_ready(command, &env, port, &issuer, READY_TIMEOUT).await?;
    Ok((group, issuer))
}

/// Starts the suite's upstream IdP (https from the run's CA under the strict TLS profile).
async fn start_idp(
    bind: std::net::SocketAddr,
    tls: Option<&RunTls>,
    seed: u64,
) -> Result<RunningIdp, String> {
    let cert = match tls {
        Some(t) => Some(t.pki.leaf(&[IDP_HOST]).map_err(|e| e.to_string())?),
        None => None,
    };
    Idp::start(IdpConfig {
        bind,
        tls: cert,
        seed: seed ^ 0x1D9,
    })
    .await
    .map_err(|e| e.to_string())
}

async fn stop(bundled: Option<fake_idp::RunningAsTarget>) {
    if let Some(t) = bundled {
        t.shutdown().await;
    }
}

fn kind_of(m: &LoginMode) -> LoginKind {
    match m {
        LoginMode::Auto => LoginKind::Auto,
        LoginMode::Form(_) => LoginKind::Form,
        LoginMode::Manual { .. } => LoginKind::Manual,
    }
}

type Clients = (Client, Option<Client>, Option<Client>);

/// Registers the suite's clients: pre-registered first, else CIMD (two documents), else DCR; a confidential
/// client by DCR when possible.
async fn register(
    opts: &AuthzOptions,
    http: &Http,
    ep: &Endpoints,
    callback: &CallbackListener,
    cimd: &CimdHost,
) -> Result<Clients, ObsError> {
    let sc = Scenario::new("register");
    let redirect = callback.redirect_uri();
    let confidential = match &ep.registration {
        Some(r) => confidential(scenarios::dcr(http, &sc, r, &redirect, ClientAuth::Basic).await),
        None => None,
    };
    let cimd_client = |path: &str| {
        let id = cimd.client_id(path);
        cimd.put(
            path,
            HostedDoc::json(&scenarios::honest_document(&id, &redirect)),
        );
        Client {
            id,
            secret: None,
            redirect_uri: redirect.clone(),
            auth: ClientAuth::None,
            kind: "cimd",
        }
    };
    let second = |ep: &Endpoints| ep.cimd_supported || ep.registration.is_some();
    if let Some(p) = &opts.client {
        if let Some(s) = &p.client_secret {
            http.register_secret(s);
        }
        let a = Client {
            id: p.client_id.clone(),
            secret: p.client_secret.clone(),
            redirect_uri: p.redirect_uri.clone(),
            auth: if p.client_secret.is_some() {
                ClientAuth::Basic
            } else {
                ClientAuth::None
            },
            kind: "pre-registered",
        };
        let b = if ep.cimd_supported && !(opts.prefer_dcr && ep.registration.is_some()) {
            Some(cimd_client("client-b.json"))
        } else if second(ep) {
            match &ep.registration {
                Some(r) => scenarios::dcr(http, &sc, r, &redirect, ClientAuth::None)
                    .await
                    .ok(),
                None => None,
            }
        } else {
            None
        };
        let conf = if a.secret.is_some() {
            Some(a.clone())
        } else {
            confidential
        };
        return Ok((a, b, conf));
    }
    if ep.cimd_supported && !(opts.prefer_dcr && ep.registration.is_some()) {
        return Ok((
            cimd_client("client-a.json"),
            Some(cimd_client("client-b.json")),
            confidential,
        ));
    }
    if let Some(r) = &ep.registration {
        let a = scenarios::dcr(http, &sc, r, &redirect, ClientAuth::None).await?;
        let b = scenarios::dcr(http, &sc, r, &redirect, ClientAuth::None)
            .await
            .ok();
        return Ok((a, b, confidential));
    }
    Err(ObsError::target(
        "no way to register a client: the AS supports neither CIMD nor DCR; give --client-id (and --redirect-uri)",
        [],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_answered_without_a_secret_gives_no_confidential_client() {
        let client = |secret: Option<&str>| Client {
            id: "c".into(),
            secret: secret.map(str::to_owned),
            redirect_uri: "http://127.0.0.1:1/callback".into(),
            auth: ClientAuth::Basic,
            kind: "dcr",
        };
        assert!(confidential(Ok(client(None))).is_none());
        assert!(confidential(Ok(client(Some("s")))).is_some());
        assert!(confidential(Err(ObsError::NotApplicable("no DCR".into()))).is_none());
    }

    #[test]
    fn the_issuer_placeholder_of_resource_becomes_the_issuer_without_its_trailing_slash() {
        assert_eq!(
            resolve_resource("{issuer}/mcp", "https://127.0.0.1:4431/"),
            "https://127.0.0.1:4431/mcp"
        );
    }

    #[test]
    fn a_resource_without_the_placeholder_is_kept_as_given() {
        assert_eq!(
            resolve_resource(scenarios::RESOURCE, "https://127.0.0.1:4431"),
            scenarios::RESOURCE
        );
    }

    #[test]
    fn the_command_env_names_the_issuer_and_the_upstream_idp() {
        let idp = UpstreamIdpSettings::at("127.0.0.1:8543".parse().unwrap(), true);
        let env = command_env("https://127.0.0.1:4431", &idp);
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.as_str());
        assert_eq!(
            get("MCP_CONFORMANCE_ISSUER"),
            Some("https://127.0.0.1:4431")
        );
        assert_eq!(
            get("MCP_CONFORMANCE_IDP_ISSUER"),
            Some("https://accounts.idp.conformance.test:8543")
        );
        assert_eq!(get("MCP_CONFORMANCE_IDP_CLIENT_ID"), Some(IDP_CLIENT_ID));
        assert_eq!(get("MCP_CONFORMANCE_IDP_ADDR"), Some("127.0.0.1:8543"));
    }
}
