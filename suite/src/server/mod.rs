//! The server role: the suite plays the IdP, the authorization server and the MCP client against an MCP
//! server, and judges its authorization.

pub mod checks;
pub mod ctx;
pub mod obs;
pub mod scenarios;
pub mod target;

use std::net::SocketAddr;

use fake_idp::{FakeIdp, UpstreamApi};
use mcp_auth_reports::{Report, Role, TargetInfo, Verdict};
use mcp_auth_targets::ValidationMode;

use crate::evidence::EvidenceLog;
use crate::http::{is_loopback_host, Http, Limits};
use crate::profile::Profile;
use crate::runner::{self, Baseline, Selection};
use ctx::Ctx;
use target::{RunningTarget, TargetSpec};

/// The fixed address of the fake AS that external servers are configured to trust.
pub const DEFAULT_AS_ADDR: &str = "127.0.0.1:9400";
/// The fixed address of the fake upstream API that external servers are configured to call.
pub const DEFAULT_UPSTREAM_ADDR: &str = "127.0.0.1:9401";

/// Everything a server-role run needs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub target: TargetSpec,
    pub profile: Profile,
    /// Where the profile came from, for the report.
    pub profile_label: String,
    pub selection: Selection,
    pub baseline: Baseline,
    pub strict: bool,
    /// Where the fake AS listens when the target is an already-running server.
    pub as_addr: SocketAddr,
    /// Where the fake upstream API listens when the target is an already-running server.
    pub upstream_addr: SocketAddr,
    pub seed: u64,
    pub limits: Limits,
}

impl ServerOptions {
    /// Options for the bundled reference, everything else default.
    pub fn bundled(defect: Option<mcp_auth_targets::Defect>, mode: ValidationMode) -> Self {
        ServerOptions {
            target: TargetSpec::Bundled { defect, mode },
            profile: Profile::default_profile(),
            profile_label: "todo (built in)".into(),
            selection: Selection::all(),
            baseline: Baseline::default(),
            strict: false,
            as_addr: DEFAULT_AS_ADDR.parse().expect("valid default address"),
            upstream_addr: DEFAULT_UPSTREAM_ADDR
                .parse()
                .expect("valid default address"),
            seed: 0x5eed,
            limits: Limits::default(),
        }
    }
}

/// Runs the server role and returns the report. Never fails: a target or suite problem becomes verdicts.
pub async fn run(opts: &ServerOptions) -> Report {
    run_logged(opts, &EvidenceLog::new()).await
}

/// [`run`], also returning the raw evidence log the report was sealed from (for tests that prove the report
/// holds no secret the run saw).
pub async fn run_with_evidence(opts: &ServerOptions) -> (Report, EvidenceLog) {
    let log = EvidenceLog::new();
    let report = run_logged(opts, &log).await;
    (report, log)
}

/// [`run`], recording every exchange in `log` as it happens (an interrupted run's report keeps them).
pub async fn run_logged(opts: &ServerOptions, log: &EvidenceLog) -> Report {
    let timer = runner::RunTimer::start();
    let mut target_info = TargetInfo::new(opts.target.kind());
    if let TargetSpec::Bundled { defect, mode } = &opts.target {
        target_info.defect = defect.map(|d| d.name().to_owned());
        target_info.command = Some(format!("reference To-Do server ({mode} mode)"));
    }
    if let TargetSpec::Command(c) = &opts.target {
        target_info.command = Some(c.clone());
    }
    let mut run = runner::run_info(
        Role::Server,
        target_info,
        &opts.profile_label,
        opts.strict,
        opts.seed,
    );
    let observed = observe(opts, log, &mut run).await;
    runner::conclude(
        run,
        timer,
        &checks::registry(),
        observed,
        &opts.selection,
        &opts.baseline,
        log,
        Vec::new(),
    )
}

async fn observe(
    opts: &ServerOptions,
    log: &EvidenceLog,
    run: &mut mcp_auth_reports::RunInfo,
) -> Result<obs::ServerObservations, (Verdict, String)> {
    let bind: SocketAddr = match opts.target {
        TargetSpec::Url(_) => opts.as_addr,
        _ => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let idp = FakeIdp::builder()
        .bind(bind)
        .seed(opts.seed)
        .start()
        .await
        .map_err(|e| {
            (
                Verdict::HarnessError,
                format!("the fake authorization server could not start on {bind}: {e}"),
            )
        })?;
    run.notes
        .push(format!("fake authorization server: {}", idp.issuer()));
    let upstream_bind = match opts.target {
        TargetSpec::Url(_) => opts.upstream_addr,
        _ => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let upstream = match UpstreamApi::start(idp.issuer(), idp.public_jwks(), upstream_bind).await {
        Ok(u) => u,
        Err(e) => {
            idp.shutdown().await;
            return Err((
                Verdict::HarnessError,
                format!("the fake upstream API could not start on {upstream_bind}: {e}"),
            ));
        }
    };
    run.notes
        .push(format!("fake upstream API: {}", upstream.resource()));
    let mut target = match RunningTarget::start(&opts.target, &idp, &upstream.resource()).await {
        Ok(t) => t,
        Err(e) => {
            upstream.shutdown().await;
            idp.shutdown().await;
            return Err((
                Verdict::Error,
                format!("the target could not be started: {e}"),
            ));
        }
    };
    let (actor, _) = idp.introspection_client();
    idp.register_actor_resource(&actor, &target.url);
    run.target.url = Some(target.url.clone());
    let host = url::Url::parse(&target.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    run.tls_profile = if target.url.starts_with("https://") {
        "https".into()
    } else if is_loopback_host(&host) {
        "local".into()
    } else {
        "insecure".into()
    };
    let http = match Http::new(opts.limits, log.clone(), vec![host]) {
        Ok(h) => h,
        Err(e) => {
            target.stop().await;
            upstream.shutdown().await;
            idp.shutdown().await;
            return Err((
                Verdict::HarnessError,
                format!("the HTTP client could not be built: {e}"),
            ));
        }
    };
    let mut ctx = Ctx::new(
        http,
        &idp,
        opts.profile.clone(),
        target.url.clone(),
        opts.seed,
    );
    ctx.upstream = Some(&upstream);
    let obs = scenarios::observe(&ctx).await;
    match &obs.mode {
        Ok(m) => run.notes.push(format!(
            "token validation: {} ({})",
            m.as_str(),
            match opts.profile.validation {
                crate::profile::Validation::Auto => "observed",
                _ => "from the profile",
            }
        )),
        Err(e) => run
            .notes
            .push(format!("token validation mode unknown: {e}")),
    }
    if let Some(note) = target.exit_note() {
        run.notes.push(note);
    }
    drop(ctx);
    target.stop().await;
    upstream.shutdown().await;
    idp.shutdown().await;
    Ok(obs)
}
