//! Running the client role: one fake world and one client process per selected scenario (several at once),
//! the scenarios' records gathered as they finish, then judged.

use std::path::PathBuf;
use std::time::Duration;

use fake_idp::client_world::{ClientWorld, PreRegistered};
use futures::stream::{self, StreamExt};
use mcp_auth_reports::{Report, Role, TargetInfo, TargetKind};
use mcp_auth_targets::client::ClientDefect;
use serde_json::Value;

use super::checks;
use super::exchanges::to_exchanges;
use super::obs::{self, ClientObservations, DocumentSource, ScenarioObs};
use super::scenarios::{self, Registration, ScenarioDef, PRE_CLIENT_ID, PRE_CLIENT_SECRET};
use super::spawn::{self, Invocation};
use crate::check::ObsError;
use crate::evidence::EvidenceLog;
use crate::runner::{self, Baseline, Live, Selection};

/// The CIMD URL handed to clients (a reserved test host the fake AS resolves internally).
pub const CLIENT_METADATA_URL: &str = "https://client.conformance.test/mcp-client/metadata.json";
/// The URL the official suite's CIMD clients hard-code; served too, so those clients run unchanged.
pub const OFFICIAL_CLIENT_METADATA_URL: &str =
    "https://conformance-test.local/client-metadata.json";
/// Redirect URIs every pre-registered client and the suite's stand-in document list.
pub const LOOPBACK_REDIRECTS: [&str; 3] = [
    "http://127.0.0.1/callback",
    "http://[::1]/callback",
    "http://localhost/callback",
];

/// Who the client under test is.
#[derive(Debug, Clone)]
pub enum ClientTarget {
    /// The bundled reference client (`<suite> reference-client`), optionally with one defect.
    Bundled(Option<ClientDefect>),
    /// A command; the server URL is appended as the last argument.
    Command(String),
}

/// Everything a client-role run needs.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub target: ClientTarget,
    /// The suite binary: runs the bundled client and serves as the `BROWSER` opener.
    pub suite_exe: PathBuf,
    /// Which scenarios run (`--scenario GLOB`).
    pub scenarios: Selection,
    pub selection: Selection,
    pub baseline: Baseline,
    pub strict: bool,
    /// Per-scenario deadline for the client process.
    pub deadline: Duration,
    /// The client's own CIMD document (JSON with `{client_metadata_url}` placeholders), if supplied.
    pub client_metadata: Option<String>,
    pub seed: u64,
    pub parallel: usize,
    /// The persona every world's AS plays (`--as-persona`): its access tokens are the persona's JWTs.
    pub as_persona: fake_idp::Persona,
}

impl ClientOptions {
    pub fn bundled(defect: Option<ClientDefect>, suite_exe: PathBuf) -> Self {
        ClientOptions {
            target: ClientTarget::Bundled(defect),
            suite_exe,
            scenarios: Selection::all(),
            selection: Selection::all(),
            baseline: Baseline::default(),
            strict: false,
            deadline: Duration::from_secs(20),
            client_metadata: None,
            seed: 0x5eed,
            parallel: default_parallelism(),
            as_persona: fake_idp::Persona::Generic,
        }
    }

    pub fn command(&self) -> String {
        let exe = shell_quote(&self.suite_exe.display().to_string());
        match &self.target {
            ClientTarget::Bundled(None) => format!("{exe} reference-client"),
            ClientTarget::Bundled(Some(d)) => {
                format!("{exe} reference-client --defect {}", d.name())
            }
            ClientTarget::Command(c) => c.clone(),
        }
    }

    /// The client's CIMD document for a URL, and where it came from.
    fn document(&self, url: &str) -> (Value, DocumentSource) {
        match (&self.target, &self.client_metadata) {
            (_, Some(text)) => {
                let filled = text.replace("{client_metadata_url}", url);
                match serde_json::from_str(&filled) {
                    Ok(v) => (v, DocumentSource::Client),
                    Err(_) => (Value::String(filled), DocumentSource::Client),
                }
            }
            (ClientTarget::Bundled(d), None) => (
                mcp_auth_targets::client::client_metadata_document(url, *d),
                DocumentSource::Client,
            ),
            (ClientTarget::Command(_), None) => (
                serde_json::json!({
                    "client_id": url,
                    "client_name": "client under test (document supplied by mcp-auth-conformance)",
                    "redirect_uris": LOOPBACK_REDIRECTS,
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "none",
                }),
                DocumentSource::SuiteDefault,
            ),
        }
    }
}

/// Client launches are mostly CPU (an interpreter starting) with some waiting on the world: twice the CPUs keeps
/// the machine busy without queueing launches behind each other's deadlines.
fn default_parallelism() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get() * 2)
        .max(2)
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs the client role and returns the report. Never fails: problems become verdicts.
pub async fn run(opts: &ClientOptions) -> Report {
    run_live(opts, &Live::start()).await
}

/// [`run`], also returning the raw evidence log the report was sealed from (for tests that prove the report
/// holds no secret the run saw).
pub async fn run_with_evidence(opts: &ClientOptions) -> (Report, EvidenceLog) {
    let live = Live::start();
    let report = run_live(opts, &live).await;
    (report, live.log)
}

/// [`run`], recording every finished scenario in `live` as it happens, so that a run stopped by a signal can
/// still be reported ([`interrupted`]).
pub async fn run_live(opts: &ClientOptions, live: &Live<ClientObservations>) -> Report {
    let (applicable, left_out): (Vec<ScenarioDef>, Vec<ScenarioDef>) = scenarios::all()
        .into_iter()
        .partition(|d| d.applies(&opts.selection));
    let out_of_scope = left_out
        .iter()
        .map(|d| (d.name, d.scope_note(&opts.selection)))
        .collect();
    let every = applicable.len();
    let defs: Vec<ScenarioDef> = applicable
        .into_iter()
        .filter(|d| d.selected_by(&opts.scenarios))
        .collect();
    live.progress.set(ClientObservations {
        scenarios: defs
            .iter()
            .map(|d| (d.name, Err(ObsError::Interrupted)))
            .collect(),
        selected_all: defs.len() == every,
        out_of_scope,
    });
    live.progress.status().plan(defs.len());
    stream::iter(defs)
        .map(|def| async move {
            let r = live.progress.step(def.name, run_scenario(opts, def)).await;
            live.progress.update(|o| {
                o.scenarios.insert(def.name, r);
            });
        })
        .buffer_unordered(opts.parallel.max(1))
        .collect::<Vec<()>>()
        .await;
    match live.progress.take() {
        Some(obs) => report(opts, live, obs, None),
        None => runner::conclude(
            run_info(opts),
            live.timer.clone(),
            &checks::registry(),
            Err((
                mcp_auth_reports::Verdict::HarnessError,
                "the scenarios' record went missing".to_owned(),
            )),
            &opts.selection,
            &opts.baseline,
            &live.log,
            Vec::new(),
        ),
    }
}

/// The report of a run stopped by a signal: the checks judged on the scenarios whose client had finished.
pub fn interrupted(opts: &ClientOptions, live: &Live<ClientObservations>, reason: &str) -> Report {
    match live.progress.take() {
        Some(obs) => report(opts, live, obs, Some(reason)),
        None => runner::interrupted(
            run_info(opts),
            live.timer.clone(),
            &checks::registry(),
            None,
            &opts.selection,
            &opts.baseline,
            reason,
            &live.log,
            Vec::new(),
        ),
    }
}

fn run_info(opts: &ClientOptions) -> mcp_auth_reports::RunInfo {
    let mut target = TargetInfo::new(match opts.target {
        ClientTarget::Bundled(_) => TargetKind::Bundled,
        ClientTarget::Command(_) => TargetKind::Command,
    });
    target.command = Some(opts.command());
    if let ClientTarget::Bundled(Some(d)) = &opts.target {
        target.defect = Some(d.name().to_owned());
    }
    runner::run_info(
        Role::Client,
        target,
        "client scenarios (docs/design/client-role.md)",
        opts.strict,
        opts.seed,
    )
}

/// Judges the scenarios' record: their requests become the report's exchanges, their secrets are registered
/// for redaction, and each client run is kept with its output.
fn report(
    opts: &ClientOptions,
    live: &Live<ClientObservations>,
    obs: ClientObservations,
    interrupted: Option<&str>,
) -> Report {
    let mut run = run_info(opts);
    for s in obs.runs() {
        for e in to_exchanges(s) {
            live.log.push(e);
        }
        for secret in s.secrets() {
            live.log.register_secret(&secret);
        }
    }
    run.notes.push(format!(
        "{} scenarios run; client deadline {:?} each",
        obs.scenarios
            .values()
            .filter(|r| !r.as_ref().is_err_and(ObsError::is_interrupted))
            .count(),
        opts.deadline
    ));
    if opts.as_persona != fake_idp::Persona::Generic {
        run.notes.push(format!(
            "authorization servers play the {} persona: access tokens are its JWTs",
            opts.as_persona.name()
        ));
    }
    if matches!(opts.target, ClientTarget::Command(_)) && opts.client_metadata.is_none() {
        run.notes.push("no --client-metadata given: CIMD scenarios host a stand-in document, so the document-content checks are skipped".into());
    }
    // Each client run with its output (redacted, capped), whatever the checks make of it.
    let target_runs = obs.runs().map(ScenarioObs::target_run).collect();
    let registry = checks::registry();
    match interrupted {
        None => runner::conclude(
            run,
            live.timer.clone(),
            &registry,
            Ok(obs),
            &opts.selection,
            &opts.baseline,
            &live.log,
            target_runs,
        ),
        Some(reason) => runner::interrupted(
            run,
            live.timer.clone(),
            &registry,
            Some(obs),
            &opts.selection,
            &opts.baseline,
            reason,
            &live.log,
            target_runs,
        ),
    }
}

async fn run_scenario(opts: &ClientOptions, def: ScenarioDef) -> Result<ScenarioObs, ObsError> {
    let mut config = (def.world)();
    config.seed = opts.seed;
    for auth_server in &mut config.auth_servers {
        auth_server.persona = opts.as_persona.clone();
    }
    let mut documents = Vec::new();
    match def.registration {
        Registration::Any => {}
        Registration::Cimd => {
            // The client may use the URL the context names or the one official clients hard-code: both are
            // hosted, and the checks judge the document at whichever URL the client actually used.
            for url in [CLIENT_METADATA_URL, OFFICIAL_CLIENT_METADATA_URL] {
                let (doc, source) = opts.document(url);
                config.cimd_any_loopback_redirect |= source == DocumentSource::SuiteDefault;
                config.cimd_documents.push((url.to_owned(), body_of(&doc)));
                documents.push(obs::HostedDocument {
                    url: url.to_owned(),
                    document: doc,
                    source,
                });
            }
        }
        // The contract never tells a pre-registered client a redirect URI, so any loopback one is accepted.
        Registration::Pre(method) => config.pre_registered.push(PreRegistered {
            client_id: PRE_CLIENT_ID.to_owned(),
            client_secret: Some(PRE_CLIENT_SECRET.to_owned()),
            redirect_uris: Vec::new(),
            auth_method: method.to_owned(),
        }),
    }
    let world = ClientWorld::start(config).await.map_err(|e| {
        ObsError::Harness(format!(
            "the fake world for {} could not start: {e}",
            def.name
        ))
    })?;
    let inv = Invocation {
        command: opts.command(),
        server_url: world.mcp_url(),
        scenario: def.official.to_owned(),
        suite_scenario: def.name.to_owned(),
        context: scenarios::context(&def, CLIENT_METADATA_URL),
        protocol_version: opts.selection.spec().as_str().to_owned(),
        browser: format!(
            "{} open-url",
            shell_quote(&opts.suite_exe.display().to_string())
        ),
        deadline: opts.deadline,
    };
    let run = spawn::run(&inv).await;
    let issuers = (0..(def.world)().auth_servers.len())
        .map(|i| world.issuer(i))
        .collect();
    let obs = ScenarioObs {
        def,
        mcp_url: world.mcp_url(),
        issuers,
        log: world.log(),
        run,
        documents,
    };
    let flooded = world.log_overflowed();
    world.shutdown().await;
    if flooded {
        return Err(ObsError::target(
            format!(
                "the client flooded {}: more than {} requests or {} MiB of them; the world stopped recording, so nothing it did can be judged",
                def.name,
                fake_idp::client_world::LOG_LIMIT,
                fake_idp::client_world::LOG_BYTES_LIMIT / (1024 * 1024)
            ),
            [],
        ));
    }
    if let spawn::ClientExit::SpawnFailed(e) = &obs.run.exit {
        return Err(ObsError::target(
            format!("the client could not be started: {e}"),
            [],
        ));
    }
    Ok(obs)
}

fn body_of(doc: &Value) -> String {
    match doc {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}
