//! Running the server role: start the fake AS and upstream API (on fixed addresses when the target is an
//! already-running server, which must be configured to trust them), start or reach the target, run the
//! scenarios, judge.

use std::net::SocketAddr;

use fake_idp::{FakeIdp, UpstreamApi};
use mcp_auth_reports::{Report, Role, TargetInfo, Verdict};
use mcp_auth_targets::ValidationMode;

use super::checks;
use super::ctx::Ctx;
use super::obs::ServerObservations;
use super::scenarios;
use super::target::{RunningTarget, TargetSpec};
use crate::evidence::EvidenceLog;
use crate::http::{tls_profile, Http, Limits};
use crate::profile::Profile;
use crate::runner::{self, Baseline, Live, Selection};
use crate::tls::RunTls;

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
    /// `--url` targets: how long to wait for the server to answer, after the fake AS and upstream API are up and
    /// before the first scenario (`--wait-for-target`); `None` starts at once.
    pub wait_for_target: Option<std::time::Duration>,
    /// The run's test PKI under `--tls-profile strict` (made by the CLI for `--ca-out`); when the selection is
    /// strict and this is None, the run makes its own.
    pub tls: Option<std::sync::Arc<RunTls>>,
}

impl ServerOptions {
    /// Options for the bundled reference, everything else default.
    pub fn bundled(defect: Option<mcp_auth_targets::ServerDefect>, mode: ValidationMode) -> Self {
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
            wait_for_target: None,
            tls: None,
        }
    }
}

/// Runs the server role and returns the report. Never fails: a target or suite problem becomes verdicts.
pub async fn run(opts: &ServerOptions) -> Report {
    run_live(opts, &Live::start()).await
}

/// [`run`], also returning the raw evidence log the report was sealed from (for tests that prove the report
/// holds no secret the run saw).
pub async fn run_with_evidence(opts: &ServerOptions) -> (Report, EvidenceLog) {
    let live = Live::start();
    let report = run_live(opts, &live).await;
    (report, live.log)
}

/// [`run`], recording every exchange and every finished scenario in `live` as it happens, so that a run
/// stopped by a signal can still be reported ([`interrupted`]).
pub async fn run_live(opts: &ServerOptions, live: &Live<ServerObservations>) -> Report {
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
pub fn interrupted(opts: &ServerOptions, live: &Live<ServerObservations>, reason: &str) -> Report {
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

fn run_info(opts: &ServerOptions) -> mcp_auth_reports::RunInfo {
    let mut target_info = TargetInfo::new(opts.target.kind());
    match &opts.target {
        TargetSpec::Bundled { defect, mode } => {
            target_info.defect = defect.map(|d| d.name().to_owned());
            target_info.command = Some(format!("reference To-Do server ({mode} mode)"));
        }
        TargetSpec::Command(c) => target_info.command = Some(c.clone()),
        TargetSpec::Url(u) => target_info.url = Some(u.clone()),
    }
    runner::run_info(
        Role::Server,
        target_info,
        &opts.profile_label,
        opts.strict,
        opts.seed,
    )
}

async fn observe(
    opts: &ServerOptions,
    live: &Live<ServerObservations>,
    run: &mut mcp_auth_reports::RunInfo,
) -> Result<ServerObservations, (Verdict, String)> {
    let log = &live.log;
    let bind: SocketAddr = match opts.target {
        TargetSpec::Url(_) => opts.as_addr,
        _ => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let made = match (&opts.tls, opts.selection.tls()) {
        (Some(_), _) => None,
        (None, profile) => RunTls::for_profile(profile).map_err(|e| (Verdict::HarnessError, e))?,
    };
    let tls = opts.tls.as_deref().or(made.as_ref());
    let leaf = |names: &[&str]| -> Result<Option<fake_idp::tls::ServerCert>, (Verdict, String)> {
        tls.map(|t| t.pki.leaf(names))
            .transpose()
            .map_err(|e| (Verdict::HarnessError, format!("the test PKI: {e}")))
    };
    let mut builder = FakeIdp::builder()
        .bind(bind)
        .seed(opts.seed)
        .persona(opts.profile.persona());
    if let Some(cert) = leaf(&["as.conformance.test"])? {
        builder = builder.tls(cert);
    }
    let upstream_cert = leaf(&["upstream.conformance.test"])?;
    let idp = builder.start().await.map_err(|e| {
        (
            Verdict::HarnessError,
            format!("the fake authorization server could not start on {bind}: {e}"),
        )
    })?;
    run.notes.push(match idp.persona() {
        fake_idp::Persona::Generic => format!("fake authorization server: {}", idp.issuer()),
        persona => format!(
            "fake authorization server: {} ({} persona, AS identifier {}, tokens with iss {})",
            idp.root(),
            persona.name(),
            idp.as_identifier(),
            idp.issuer()
        ),
    });
    let upstream_bind = match opts.target {
        TargetSpec::Url(_) => opts.upstream_addr,
        _ => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let upstream = match UpstreamApi::start_with_tls(
        idp.issuer(),
        idp.public_jwks(),
        upstream_bind,
        upstream_cert,
    )
    .await
    {
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
    let started = RunningTarget::start(
        &opts.target,
        &idp,
        &upstream.resource(),
        &opts.profile.scopes,
        tls,
        opts.selection.spec(),
    )
    .await;
    let started = match (started, &opts.target, opts.wait_for_target) {
        (Ok(t), TargetSpec::Url(url), Some(limit)) => super::target::wait_until_answers(url, limit)
            .await
            .map(|()| t),
        (started, _, _) => started,
    };
    let mut target = match started {
        Ok(t) => t,
        Err(e) => {
            upstream.shutdown().await;
            idp.shutdown().await;
            let what = match opts.target {
                TargetSpec::Url(_) => "reached",
                _ => "started",
            };
            return Err((
                Verdict::Error,
                format!("the target could not be {what}: {e}"),
            ));
        }
    };
    let (actor, _) = idp.introspection_client();
    idp.register_actor_resource(&actor, &target.url);
    // A persona's tokens name its own audience (e.g. Scalekit's resource id): the server exchanges those.
    idp.register_actor_resource(&actor, &idp.persona().audience_for(&target.url));
    run.target.url = Some(target.url.clone());
    let host = url::Url::parse(&target.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    run.tls_profile = tls_profile(&target.url, &host);
    let http = match Http::trusting(
        opts.limits,
        log.clone(),
        vec![host],
        tls.map(|t| t.pki.ca_pem()),
    ) {
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
    ctx.extensions = opts.selection.extensions().clone();
    ctx.spec = opts.selection.spec();
    scenarios::observe(&ctx, &live.progress).await;
    let mut mode_note = String::new();
    live.progress.update(|obs| {
        mode_note = match &obs.mode {
            Ok(m) => format!(
                "token validation: {} ({})",
                m.as_str(),
                match opts.profile.validation {
                    crate::profile::Validation::Auto => "observed",
                    _ => "from the profile",
                }
            ),
            Err(e) => format!("token validation mode unknown: {e}"),
        }
    });
    run.notes.push(mode_note);
    if let Some(note) = target.exit_note() {
        run.notes.push(note);
    }
    drop(ctx);
    target.stop().await;
    upstream.shutdown().await;
    idp.shutdown().await;
    // Taken only now: a signal during the teardown still finds the record.
    live.progress.take().ok_or_else(|| {
        (
            Verdict::HarnessError,
            "the scenarios' record went missing".to_owned(),
        )
    })
}
