//! Role-independent run plumbing: selecting checks, judging observations, baselines, run info, exit codes.

use std::path::Path;
use std::time::Instant;

use mcp_auth_reports::{CheckResult, Report, Role, RunInfo, TargetInfo, TargetRun, Verdict};
use serde::Deserialize;

use crate::check::{Check, CheckMeta, Evaluation};
use crate::evidence::EvidenceLog;
use crate::redact;
use crate::spec::{Extensions, SpecVersion, TlsProfile};

mod official;
pub use official::CHECK_MAP as OFFICIAL_CHECK_MAP;

/// Named exit codes (README.md "Reports and exit codes").
pub mod exit {
    /// No unexpected FAIL or ERROR.
    pub const OK: i32 = 0;
    /// Unexpected failures, or a stale baseline entry.
    pub const FAILURES: i32 = 1;
    /// Usage or harness error.
    pub const USAGE_OR_HARNESS: i32 = 2;
    /// Interrupted by SIGINT (128 + 2); the report holds what was known.
    pub const SIGINT: i32 = 130;
    /// Interrupted by SIGTERM (128 + 15).
    pub const SIGTERM: i32 = 143;
}

/// Which checks a run evaluates: those matching `--only GLOB[,GLOB…]` whose catalog row applies at the run's revision
/// (`--spec-version`) and, for an extension's row, whose extension the run opts into (`--extension`).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Any of these matches (empty: every check).
    globs: Vec<glob::Pattern>,
    spec: SpecVersion,
    extensions: Extensions,
    tls: TlsProfile,
}

impl Selection {
    /// Every check of the default revision, no extension.
    pub fn all() -> Self {
        Self::default()
    }

    /// The checks matching `patterns`: one glob, or several separated by commas (any of them matches).
    pub fn only(patterns: &str) -> Result<Self, glob::PatternError> {
        Ok(Selection {
            globs: patterns
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(glob::Pattern::new)
                .collect::<Result<_, _>>()?,
            ..Selection::default()
        })
    }

    /// The same selection at revision `spec`.
    pub fn with_spec(mut self, spec: SpecVersion) -> Self {
        self.spec = spec;
        self
    }

    /// The same selection with exactly `extensions` opted in.
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// The same selection under the TLS profile `tls` (`--tls-profile`).
    pub fn with_tls(mut self, tls: TlsProfile) -> Self {
        self.tls = tls;
        self
    }

    /// How the fakes are served and what the https rules expect.
    pub fn tls(&self) -> TlsProfile {
        self.tls
    }

    /// The revision the run is scored against.
    pub fn spec(&self) -> SpecVersion {
        self.spec
    }

    /// The extensions the run opts into.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Whether the check `id` is evaluated: the glob matches it and its catalog row applies.
    pub fn includes(&self, id: &str) -> bool {
        self.matches(id)
            && crate::catalog::applies(id, self.spec, &self.extensions)
            && crate::catalog::applies_under(id, self.tls)
    }

    /// Whether the glob alone matches `name` (a check id or a world name).
    pub fn matches(&self, name: &str) -> bool {
        self.globs.is_empty() || self.globs.iter().any(|g| g.matches(name))
    }
}

/// Known non-conformance: the checks expected to fail, each with the reason it is real.
///
/// Two formats (docs/ci.md "Baselines"): ours, TOML (`[[expected]] id = "…" reason = "…"`, where `id` is a check id
/// or a glob over ids), and the official MCP conformance suite's expected-failures YAML (`client:` / `server:`
/// lists of `scenario` or `scenario:check` entries), read when the file ends in `.yaml` or `.yml`.
///
/// An exact id marks that check. A glob or an official scenario is a *group* entry, with the official suite's
/// meaning: it expects at least one of its checks to fail and marks the failing ones; when none of them fails
/// and one passes, it is stale and marks the passing ones (so the run fails and names them).
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Check ids and globs over ids (ours, and the official `scenario:check` entries mapped to our ids).
    pub expected: Vec<BaselineEntry>,
    /// Official whole-scenario entries (client role): the checks judged from a world exercising the scenario.
    pub scenarios: Vec<ScenarioEntry>,
    /// Entries of an official file that have no counterpart here (they change nothing; the CLI prints them).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineEntry {
    pub id: String,
    pub reason: String,
}

/// An official scenario (or one official check of it) expected to fail, with the client-role worlds that
/// exercise it.
#[derive(Debug, Clone)]
pub struct ScenarioEntry {
    pub scenario: String,
    pub worlds: Vec<&'static str>,
    /// `scenario:check`: our counterparts of the official check; `None`: every check judged from the worlds.
    pub checks: Option<Vec<&'static str>>,
    pub reason: String,
}

impl ScenarioEntry {
    /// Whether the check was judged from one of the entry's worlds: a scenario its verdict names, or the world
    /// of an exchange it cites (client-role evidence ids are `<world>#<seq>`).
    fn matches(&self, r: &CheckResult) -> bool {
        let evidence_worlds = r
            .evidence
            .iter()
            .filter_map(|e| e.split_once('#').map(|(world, _)| world));
        let mut worlds = r
            .scenarios
            .iter()
            .map(String::as_str)
            .chain(evidence_worlds);
        worlds.any(|w| self.worlds.contains(&w))
            && self
                .checks
                .as_ref()
                .is_none_or(|ids| ids.contains(&r.id.as_str()))
    }
}

/// Our TOML format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlBaseline {
    #[serde(default)]
    expected: Vec<BaselineEntry>,
}

/// A baseline file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid baseline {path}: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    /// The YAML parser's message names the line and column.
    #[error("invalid expected-failures file {path}: {source}")]
    Yaml {
        path: String,
        source: serde_norway::Error,
    },
    #[error("invalid expected-failures file {path}: {message}")]
    Official { path: String, message: String },
    #[error("baseline {path}: entry `{id}` has an empty reason; every expected failure needs one")]
    NoReason { path: String, id: String },
}

impl Baseline {
    /// Reads a baseline for one role: the official YAML when the file ends in `.yaml`/`.yml`, else our TOML.
    pub fn load(path: &Path, role: Role) -> Result<Baseline, BaselineError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: p.clone(),
            source,
        })?;
        let official = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
        if official {
            return official::parse(&text, role).map_err(|e| match e {
                official::Error::Yaml(source) => BaselineError::Yaml { path: p, source },
                official::Error::Entry(message) => BaselineError::Official { path: p, message },
            });
        }
        let b: TomlBaseline = toml::from_str(&text).map_err(|source| BaselineError::Parse {
            path: p.clone(),
            source,
        })?;
        if let Some(e) = b.expected.iter().find(|e| e.reason.trim().is_empty()) {
            return Err(BaselineError::NoReason {
                path: p,
                id: e.id.clone(),
            });
        }
        Ok(Baseline {
            expected: b.expected,
            ..Baseline::default()
        })
    }

    /// Every entry must name a check of the role: an id, or a glob matching at least one id.
    pub fn validate(&self, known: &[&str]) -> Result<(), String> {
        for e in &self.expected {
            if is_glob(&e.id) {
                if glob::Pattern::new(&e.id).is_err() {
                    return Err(format!("entry `{}` is not a valid glob", e.id));
                }
                if !known.iter().any(|k| e.matches(k)) {
                    return Err(format!("entry `{}` matches no check of the role", e.id));
                }
            } else if !known.contains(&e.id.as_str()) {
                return Err(format!(
                    "entry `{}` names no check of the role (see `mcp-auth-conformance list --role …`)",
                    e.id
                ));
            }
        }
        Ok(())
    }

    /// Marks the results the baseline expects to fail (`expected_failure` = the entry's reason). Exact ids
    /// first; then each group entry (glob, official scenario), in file order, over the results no earlier entry
    /// marked: its failing matches; when none fails, its passing ones (a stale entry), unless one still WARNs.
    pub fn apply(&self, results: &mut [CheckResult], strict: bool) {
        for r in results.iter_mut() {
            r.expected_failure = self
                .expected
                .iter()
                .find(|e| !is_glob(&e.id) && e.id == r.id)
                .map(|e| e.reason.clone());
        }
        let globs = self
            .expected
            .iter()
            .filter(|e| is_glob(&e.id))
            .filter_map(|e| {
                let glob = glob::Pattern::new(&e.id).ok()?;
                let m: Box<dyn Fn(&CheckResult) -> bool> = Box::new(move |r| glob.matches(&r.id));
                Some((m, e.reason.as_str()))
            });
        let scenarios = self.scenarios.iter().map(|s| {
            let m: Box<dyn Fn(&CheckResult) -> bool> = Box::new(move |r| s.matches(r));
            (m, s.reason.as_str())
        });
        for (matches, reason) in globs.chain(scenarios) {
            let hits: Vec<usize> = (0..results.len())
                .filter(|&i| results[i].expected_failure.is_none() && matches(&results[i]))
                .collect();
            let failing: Vec<usize> = hits
                .iter()
                .copied()
                .filter(|&i| results[i].is_failure(strict))
                .collect();
            // Only a demonstrated pass makes the entry stale (as in the official suite): a WARN that does not
            // fail the run still shows the violation, and a SKIP or an absent check shows nothing.
            let marked = if !failing.is_empty() {
                failing
            } else if hits.iter().any(|&i| results[i].verdict == Verdict::Warn) {
                Vec::new()
            } else {
                hits.into_iter()
                    .filter(|&i| results[i].verdict == Verdict::Pass)
                    .collect()
            };
            for i in marked {
                results[i].expected_failure = Some(reason.to_owned());
            }
        }
    }
}

impl BaselineEntry {
    fn matches(&self, id: &str) -> bool {
        if is_glob(&self.id) {
            glob::Pattern::new(&self.id).is_ok_and(|g| g.matches(id))
        } else {
            self.id == id
        }
    }
}

/// `*`, `?` and `[…]` (the `glob` crate's syntax; check ids never contain them). `{a,b}` is not a glob here: such
/// an entry names no check and is refused.
fn is_glob(id: &str) -> bool {
    id.contains(['*', '?', '['])
}

/// Turns a check's evaluation into a report row: the verdict with its proof and the catalog row's remediation
/// and SDK notes. `duration_ms` is the judging time; [`conclude`] adds the time of what the verdict depends on
/// ([`dependency_ms`]) and applies the baseline.
pub fn result_of(meta: &CheckMeta, e: Evaluation, duration_ms: u64) -> CheckResult {
    let mut r = CheckResult::new(
        meta.id,
        meta.title,
        meta.role,
        meta.level,
        e.verdict,
        meta.spec_refs.iter().map(|s| (*s).to_owned()).collect(),
    );
    r.offending = e.offending().to_vec();
    r.expected = e.expected;
    r.actual = e.actual;
    r.message = e.message;
    r.evidence = e.evidence;
    r.scenarios = e.relations.map(|x| x.scenarios).unwrap_or_default();
    if let Some(row) = crate::catalog::Catalog::all().row(meta.row()) {
        r.remediation = Some(row.remediation.clone());
    }
    r.sdk_notes = crate::catalog::SdkNotes::all().for_row(meta.row());
    r.duration_ms = duration_ms;
    r
}

/// What a role's observations add to its evaluations so that a cascade can be traced to its root (see
/// [`blocked_by`]).
pub trait Cascades {
    /// For an `ERROR` evaluation: the exchanges at which the target stopped, in the scenarios the evaluation
    /// depends on, after the other side refused them (what the check needed would have come later).
    fn stopped_at(&self, _e: &Evaluation) -> Vec<String> {
        Vec::new()
    }
}

/// Evaluates every selected check over the observations, and records for each `ERROR` which failed checks
/// blocked it ([`blocked_by`]). The baseline is applied by [`conclude`].
pub fn judge<O: Cascades>(
    checks: &[Box<dyn Check<O>>],
    obs: &O,
    selection: &Selection,
) -> Vec<CheckResult> {
    let evaluated: Vec<(&CheckMeta, Evaluation, u64)> = checks
        .iter()
        .filter(|c| selection.includes(c.meta().id))
        .map(|c| {
            let started = Instant::now();
            let mut e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.evaluate(obs)))
                .unwrap_or_else(|_| {
                    Evaluation::harness_error("the check panicked while evaluating")
                });
            if e.verdict == Verdict::Error {
                let stopped = obs.stopped_at(&e);
                if !stopped.is_empty() {
                    e.relations_mut().stopped_at = stopped;
                }
            }
            (c.meta(), e, started.elapsed().as_millis() as u64)
        })
        .collect();
    let blocked = blocked_by(
        &evaluated
            .iter()
            .map(|(m, e, _)| (m.id, e))
            .collect::<Vec<_>>(),
    );
    evaluated
        .into_iter()
        .zip(blocked)
        .map(|((meta, e, ms), blocked_by)| {
            let mut r = result_of(meta, e, ms);
            r.blocked_by = blocked_by;
            at_level(
                &mut r,
                crate::catalog::check_level_at(meta, selection.spec()),
            );
            r
        })
        .collect()
}

/// Scores a result at `level` (the check's level at the run's revision, when its row's level moved across
/// revisions): a violation at the check's own level becomes the violation of `level` (a MUST's FAIL is a WARN
/// where the revision says SHOULD, and the other way round); every other verdict stays.
///
/// A MAY check keeps its level: its INFO does not tell a violation from a note, so it cannot be rescored.
pub fn at_level(r: &mut CheckResult, level: mcp_auth_reports::Level) {
    if r.level == level || r.level == mcp_auth_reports::Level::May {
        return;
    }
    if r.verdict == r.level.violation() {
        r.verdict = level.violation();
    }
    r.level = level;
}

/// For each evaluation (in order): the checks of the same run that blocked it. Only an `ERROR` is blocked, and
/// only by another check that
/// - FAILed or ERRORed and is one it declared as its prerequisite ([`crate::check::Relations::after`]: the observation it
///   needed comes from the step that check judges), or
/// - FAILed on an exchange at which the target then stopped after it was refused
///   ([`crate::check::Relations::stopped_at`], [`crate::check::Relations::violations`], else its evidence): the violation is why the target never got further.
pub fn blocked_by(evaluated: &[(&str, &Evaluation)]) -> Vec<Vec<String>> {
    evaluated
        .iter()
        .map(|(id, e)| {
            if e.verdict != Verdict::Error {
                return Vec::new();
            }
            evaluated
                .iter()
                .filter(|(other, x)| {
                    if other == id {
                        return false;
                    }
                    let (need, found) = (e.relations(), x.relations());
                    let declared = matches!(x.verdict, Verdict::Fail | Verdict::Error)
                        && need.after.contains(other);
                    let culprits: &[String] = if found.violations.is_empty() {
                        &x.evidence
                    } else {
                        &found.violations
                    };
                    let stopped = x.verdict == Verdict::Fail
                        && need.stopped_at.iter().any(|s| culprits.contains(s));
                    declared || stopped
                })
                .map(|(other, _)| (*other).to_owned())
                .collect()
        })
        .collect()
}

/// Every selected check with the same verdict and reason: used when the run could not start.
pub fn all_with<O>(
    checks: &[Box<dyn Check<O>>],
    selection: &Selection,
    verdict: Verdict,
    reason: &str,
) -> Vec<CheckResult> {
    checks
        .iter()
        .filter(|c| selection.includes(c.meta().id))
        .map(|c| {
            let e = match verdict {
                Verdict::HarnessError => Evaluation::harness_error(reason),
                _ => Evaluation::error(reason),
            };
            result_of(c.meta(), e, 0)
        })
        .collect()
}

/// When a run started, for its run info.
#[derive(Debug, Clone)]
pub struct RunTimer {
    started_at: String,
    started: Instant,
}

impl RunTimer {
    pub fn start() -> Self {
        RunTimer {
            started_at: now_rfc3339(),
            started: Instant::now(),
        }
    }
}

/// Judges the observations (or marks every selected check with the reason they are missing), stamps the
/// run's times and builds the report.
///
/// The one place every exchange of every role passes before a report stores it: the log is sealed here
/// ([`EvidenceLog::sealed`]: redaction by structure, then every known secret wherever it appears), and the
/// checks' texts, the run notes and the target runs' output get the same known-value net. The checks judged the raw observations.
#[allow(clippy::too_many_arguments)]
pub fn conclude<O: Cascades>(
    mut run: RunInfo,
    timer: RunTimer,
    checks: &[Box<dyn Check<O>>],
    observed: Result<O, (Verdict, String)>,
    selection: &Selection,
    baseline: &Baseline,
    log: &EvidenceLog,
    mut target_runs: Vec<TargetRun>,
) -> Report {
    let mut results = match observed {
        Ok(obs) => judge(checks, &obs, selection),
        Err((verdict, reason)) => {
            run.notes.push(reason.clone());
            all_with(checks, selection, verdict, &reason)
        }
    };
    baseline.apply(&mut results, run.strict);
    run.spec_revision = selection.spec().as_str().to_owned();
    run.extensions = selection.extensions().names();
    run.started_at = timer.started_at;
    run.finished_at = now_rfc3339();
    run.duration_ms = timer.started.elapsed().as_millis() as u64;
    let (exchanges, secrets) = log.sealed();
    // One net for every text of the report: its masks (a hash and a JWT decode per secret) are computed once.
    let net = redact::Net::new(&secrets);
    for r in &mut results {
        for text in [&mut r.expected, &mut r.actual, &mut r.message] {
            *text = net.apply(text);
        }
    }
    for note in &mut run.notes {
        *note = net.apply(note);
    }
    for t in &mut target_runs {
        t.output = net.apply(&t.output);
    }
    let mut exchanges = exchanges;
    let durations: std::collections::HashMap<&str, u64> = exchanges
        .iter()
        .map(|e| (e.id.as_str(), e.duration_ms))
        .collect();
    for r in &mut results {
        r.duration_ms += dependency_ms(r, &durations, &target_runs);
    }
    bound(&mut results, &mut exchanges);
    let mut report = Report::new(run, results, exchanges);
    report.target_runs = target_runs;
    report
}

/// How long what a verdict depends on took, in ms: the longest target run among its scenarios (the client role:
/// each scenario is one run of the client; a check's scenarios are the ones it names and those of the exchanges it
/// cites, whose ids are `<scenario>#<n>`), plus the measured round trips of the exchanges it cites. Judging itself
/// takes microseconds; without this every check would report 0 ms.
pub fn dependency_ms(
    r: &CheckResult,
    exchanges: &std::collections::HashMap<&str, u64>,
    target_runs: &[TargetRun],
) -> u64 {
    let cited_scenarios = r
        .evidence
        .iter()
        .filter_map(|id| id.rsplit_once('#').map(|(scenario, _)| scenario));
    let runs = r
        .scenarios
        .iter()
        .map(String::as_str)
        .chain(cited_scenarios)
        .filter_map(|name| target_runs.iter().find(|t| t.scenario == name))
        .map(|t| t.duration_ms)
        .max()
        .unwrap_or(0);
    let cited: u64 = r
        .evidence
        .iter()
        .filter_map(|id| exchanges.get(id.as_str()))
        .sum();
    runs + cited
}

/// What a report keeps of a target-controlled string: check texts, header values, bodies.
pub const TEXT_CAP: usize = 4 * 1024;
pub const HEADER_CAP: usize = 4 * 1024;
pub const BODY_CAP: usize = 8 * 1024;
/// How many exchanges a report keeps (every check's evidence first, then in order).
pub const EXCHANGE_LIMIT: usize = 1_000;

/// Bounds everything a target controls before it becomes a report, whatever each role recorded: a target that
/// sends a 300 KB header or floods the world must not decide the report's size.
fn bound(results: &mut [CheckResult], exchanges: &mut Vec<mcp_auth_reports::Exchange>) {
    let cut = |s: &mut String, cap: usize| {
        if s.len() > cap {
            *s = fake_idp::cut_text(s, cap);
        }
    };
    for r in results.iter_mut() {
        cut(&mut r.expected, TEXT_CAP);
        cut(&mut r.actual, TEXT_CAP);
        cut(&mut r.message, TEXT_CAP);
        r.evidence.truncate(50);
    }
    if exchanges.len() > EXCHANGE_LIMIT {
        let cited: std::collections::BTreeSet<&str> = results
            .iter()
            .flat_map(|r| r.evidence.iter().map(String::as_str))
            .collect();
        let mut kept = 0;
        exchanges.retain(|e| {
            let keep = cited.contains(e.id.as_str()) || kept < EXCHANGE_LIMIT;
            kept += usize::from(keep);
            keep
        });
    }
    for e in exchanges.iter_mut() {
        cut(&mut e.request.url, HEADER_CAP);
        for (_, v) in &mut e.request.headers {
            cut(v, HEADER_CAP);
        }
        if let Some(b) = &mut e.request.body {
            cut(b, BODY_CAP);
        }
        if let Some(resp) = &mut e.response {
            for (_, v) in &mut resp.headers {
                cut(v, HEADER_CAP);
            }
            if let Some(b) = &mut resp.body {
                if b.len() > BODY_CAP {
                    resp.body_truncated = true;
                }
                cut(b, BODY_CAP);
            }
        }
        if let Some(err) = &mut e.error {
            cut(err, TEXT_CAP);
        }
    }
}

/// A role's observations while its scenarios run, shared with the signal handler: each scenario writes its
/// part as it finishes, so a run stopped by SIGINT/SIGTERM judges what was complete. Parts not yet written hold
/// [`crate::check::ObsError::Interrupted`].
#[derive(Debug)]
pub struct Progress<O> {
    record: std::sync::Arc<std::sync::Mutex<Option<O>>>,
    status: Status,
}

impl<O> Clone for Progress<O> {
    fn clone(&self) -> Self {
        Progress {
            record: self.record.clone(),
            status: self.status.clone(),
        }
    }
}

impl<O> Default for Progress<O> {
    fn default() -> Self {
        Progress {
            record: Default::default(),
            status: Status::default(),
        }
    }
}

impl<O> Progress<O> {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<O>> {
        // A panic while holding the lock leaves a record as complete as it was: keep using it.
        self.record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Which scenarios are planned, running and finished, for the terminal's live status line.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Runs one scenario, marking it running in [`Progress::status`] until it ends.
    pub async fn step<T>(&self, name: &str, work: impl std::future::Future<Output = T>) -> T {
        self.status.started(name);
        let out = work.await;
        self.status.finished(name);
        out
    }

    /// The record once the run's preconditions are known (every later part pending).
    pub fn set(&self, obs: O) {
        *self.lock() = Some(obs);
    }

    /// Writes a finished scenario's part (nothing when no record was set yet).
    pub fn update(&self, write: impl FnOnce(&mut O)) {
        if let Some(o) = self.lock().as_mut() {
            write(o);
        }
    }

    /// The record, leaving none behind.
    pub fn take(&self) -> Option<O> {
        self.lock().take()
    }
}

/// How far a run is: how many scenarios it plans, which are running, how many finished. Written by the roles
/// as their scenarios start and end, read by the terminal's status line; nothing judges it.
#[derive(Debug, Clone, Default)]
pub struct Status(std::sync::Arc<std::sync::Mutex<StatusSnapshot>>);

/// A copy of [`Status`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusSnapshot {
    /// Scenarios the run will go through (0 until the role knows).
    pub planned: usize,
    pub finished: usize,
    /// The scenarios running now, in the order they started.
    pub running: Vec<String>,
}

impl Status {
    fn lock(&self) -> std::sync::MutexGuard<'_, StatusSnapshot> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The number of scenarios the run goes through.
    pub fn plan(&self, scenarios: usize) {
        self.lock().planned = scenarios;
    }

    pub fn started(&self, name: &str) {
        self.lock().running.push(name.to_owned());
    }

    pub fn finished(&self, name: &str) {
        let mut s = self.lock();
        if let Some(i) = s.running.iter().position(|r| r == name) {
            s.running.remove(i);
        }
        s.finished += 1;
    }

    pub fn snapshot(&self) -> StatusSnapshot {
        self.lock().clone()
    }
}

/// What a running role shares with the signal handler: when it started, the exchanges recorded so far and the
/// observations so far. The role's `run_live` fills it; its `interrupted` turns it into a report.
#[derive(Debug)]
pub struct Live<O> {
    pub timer: RunTimer,
    pub log: EvidenceLog,
    pub progress: Progress<O>,
}

impl<O> Live<O> {
    pub fn start() -> Self {
        Live {
            timer: RunTimer::start(),
            log: EvidenceLog::new(),
            progress: Progress::new(),
        }
    }
}

/// The report of a run stopped by a signal (`reason`, e.g. "interrupted by SIGINT"): the checks are judged on the
/// record so far, where every part a scenario had not finished is ERROR (not observed); with no record yet
/// (the run's preconditions were not established), every selected check is ERROR with the reason.
#[allow(clippy::too_many_arguments)]
pub fn interrupted<O: Cascades>(
    mut run: RunInfo,
    timer: RunTimer,
    checks: &[Box<dyn Check<O>>],
    partial: Option<O>,
    selection: &Selection,
    baseline: &Baseline,
    reason: &str,
    log: &EvidenceLog,
    target_runs: Vec<TargetRun>,
) -> Report {
    let observed = match partial {
        Some(obs) => {
            run.notes.push(format!(
                "{reason}: the run was stopped and its targets killed; checks are judged on the scenarios that had finished, the others are ERROR (not observed); the exchanges made until then are kept"
            ));
            Ok(obs)
        }
        None => {
            run.notes.push(format!(
                "{reason}: the run was stopped and its targets killed before its preconditions were established; the exchanges made until then are kept"
            ));
            Err((Verdict::Error, reason.to_owned()))
        }
    };
    conclude(
        run,
        timer,
        checks,
        observed,
        selection,
        baseline,
        log,
        target_runs,
    )
}

/// RFC 3339 UTC timestamp.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Fills the common run info.
pub fn run_info(role: Role, target: TargetInfo, profile: &str, strict: bool, seed: u64) -> RunInfo {
    let mut run = RunInfo::new(role, target, profile);
    run.suite_version = env!("CARGO_PKG_VERSION").to_owned();
    run.strict = strict;
    run.seed = seed;
    run
}

/// The process exit code a report earns.
pub fn exit_code(report: &Report) -> i32 {
    if report.summary.count(Verdict::HarnessError) > 0 {
        exit::USAGE_OR_HARNESS
    } else if report.summary.outcome == mcp_auth_reports::Outcome::Passed {
        exit::OK
    } else {
        exit::FAILURES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leveled(level: mcp_auth_reports::Level, verdict: Verdict) -> CheckResult {
        CheckResult::new("X-01", "t", Role::Server, level, verdict, Vec::new())
    }

    #[test]
    fn a_must_violation_is_a_warn_where_the_revision_says_should() {
        use mcp_auth_reports::Level;
        let mut r = leveled(Level::Must, Verdict::Fail);
        at_level(&mut r, Level::Should);
        assert_eq!((r.level, r.verdict), (Level::Should, Verdict::Warn));
    }

    #[test]
    fn a_should_violation_is_a_fail_where_the_revision_says_must() {
        use mcp_auth_reports::Level;
        let mut r = leveled(Level::Should, Verdict::Warn);
        at_level(&mut r, Level::Must);
        assert_eq!((r.level, r.verdict), (Level::Must, Verdict::Fail));
    }

    #[test]
    fn a_pass_or_an_error_keeps_its_verdict_at_another_level() {
        use mcp_auth_reports::Level;
        for v in [Verdict::Pass, Verdict::Error, Verdict::Skip] {
            let mut r = leveled(Level::Must, v);
            at_level(&mut r, Level::Should);
            assert_eq!(r.verdict, v);
        }
    }

    #[test]
    fn selection_matches_any_of_comma_separated_globs() {
        let s = Selection::only("AS-FED-*, AS-PRX-*").unwrap();
        assert!(s.includes("AS-FED-01.unsigned"));
        assert!(s.includes("AS-PRX-03"));
        assert!(!s.includes("AS-TK-01"));
    }

    #[test]
    fn selection_matches_globs_on_ids() {
        let s = Selection::only("RS-AUD*").unwrap();
        assert!(s.includes("RS-AUD-01.missing"));
        assert!(!s.includes("RS-JWT-01.attacker-issuer"));
        assert!(Selection::all().includes("anything"));
    }

    #[test]
    fn a_target_cannot_decide_the_size_of_a_report() {
        let huge = "x".repeat(300 * 1024);
        let mut check = CheckResult::new(
            "RS-WWW-02",
            "t",
            Role::Server,
            mcp_auth_reports::Level::Must,
            Verdict::Fail,
            Vec::new(),
        );
        check.actual = format!("challenge `{huge}`");
        check.evidence = (0..5_000).map(|i| format!("x#{i}")).collect();
        let mut request = mcp_auth_reports::HttpRequest::new("POST", "http://127.0.0.1:1/mcp");
        request.body = Some(huge.clone());
        let mut response = mcp_auth_reports::HttpResponse::new(401);
        response.headers = vec![("www-authenticate".into(), huge.clone())];
        response.body = Some(huge.clone());
        let mut exchange = mcp_auth_reports::Exchange::new("x#0", "flood", request);
        exchange.response = Some(response);
        let mut exchanges: Vec<_> = (0..EXCHANGE_LIMIT + 500)
            .map(|i| {
                let mut e = exchange.clone();
                e.id = format!("x#{i}");
                e
            })
            .collect();
        let mut results = vec![check];
        bound(&mut results, &mut exchanges);
        assert!(results[0].actual.len() <= TEXT_CAP + 32);
        assert!(results[0].actual.ends_with("bytes cut]"));
        assert_eq!(exchanges.len(), EXCHANGE_LIMIT);
        let r = exchanges[0].response.as_ref().unwrap();
        assert!(r.headers[0].1.len() <= HEADER_CAP + 32);
        assert!(r.body_truncated);
        assert!(exchanges[0].request.body.as_ref().unwrap().len() <= BODY_CAP + 32);
    }

    #[test]
    fn a_checks_duration_is_its_longest_scenario_run_plus_its_cited_round_trips() {
        let mut check = CheckResult::new(
            "CL-X-01",
            "t",
            Role::Client,
            mcp_auth_reports::Level::Must,
            Verdict::Pass,
            Vec::new(),
        );
        check.evidence = vec!["a#1".into(), "a#2".into(), "gone#1".into()];
        check.scenarios = vec!["auth/one".into(), "auth/two".into()];
        let exchanges = std::collections::HashMap::from([("a#1", 5), ("a#2", 7), ("other#1", 100)]);
        let run = |name: &str, ms| {
            let mut r = TargetRun::new(name, "exited with code 0");
            r.duration_ms = ms;
            r
        };
        let runs = [
            run("auth/one", 900),
            run("auth/two", 1200),
            run("auth/three", 5000),
        ];
        assert_eq!(dependency_ms(&check, &exchanges, &runs), 1200 + 5 + 7);
    }

    #[test]
    fn a_check_depends_on_the_scenario_runs_of_the_exchanges_it_cites() {
        let mut check = CheckResult::new(
            "CL-X-02",
            "t",
            Role::Client,
            mcp_auth_reports::Level::Must,
            Verdict::Pass,
            Vec::new(),
        );
        check.evidence = vec!["auth/two#3".into()];
        let mut run = TargetRun::new("auth/two", "exited with code 0");
        run.duration_ms = 1200;
        let exchanges = std::collections::HashMap::from([("auth/two#3", 0)]);
        assert_eq!(dependency_ms(&check, &exchanges, &[run]), 1200);
    }

    fn scratch_file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("baseline-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_baseline_entry_without_reason_is_refused() {
        let p = scratch_file(
            "b.toml",
            "[[expected]]\nid = \"RS-PRM-07\"\nreason = \" \"\n",
        );
        assert!(matches!(
            Baseline::load(&p, Role::Server),
            Err(BaselineError::NoReason { .. })
        ));
    }

    #[test]
    fn a_yaml_file_is_read_as_the_official_expected_failures_format() {
        let p = scratch_file("ef.yaml", "client:\n  - auth/basic-cimd\n");
        let b = Baseline::load(&p, Role::Client).unwrap();
        assert_eq!(b.scenarios.len(), 1);
        assert_eq!(b.scenarios[0].scenario, "auth/basic-cimd");
    }

    #[test]
    fn an_official_file_that_is_not_yaml_is_refused_naming_file_and_line() {
        let p = scratch_file("bad.yml", "client:\n  - auth/basic-cimd\n  - [unclosed\n");
        let e = Baseline::load(&p, Role::Client).unwrap_err().to_string();
        assert!(e.contains("bad.yml"), "{e}");
        assert!(e.contains("line 4"), "{e}");
    }

    fn baseline(ids: &[&str]) -> Baseline {
        Baseline {
            expected: ids
                .iter()
                .map(|id| BaselineEntry {
                    id: (*id).into(),
                    reason: format!("known {id}"),
                })
                .collect(),
            ..Baseline::default()
        }
    }

    const KNOWN: &[&str] = &["RS-AUD-01.missing", "RS-AUD-01.other-resource", "RS-PRM-07"];

    fn result(id: &str, verdict: Verdict, scenarios: &[&str]) -> CheckResult {
        let mut r = CheckResult::new(
            id,
            "t",
            Role::Server,
            mcp_auth_reports::Level::Must,
            verdict,
            Vec::new(),
        );
        r.scenarios = scenarios.iter().map(|s| (*s).to_owned()).collect();
        r
    }

    fn marks(results: &[CheckResult]) -> Vec<Option<&str>> {
        results
            .iter()
            .map(|r| r.expected_failure.as_deref())
            .collect()
    }

    #[test]
    fn a_baseline_entry_must_name_a_check_of_the_role() {
        assert_eq!(baseline(&["RS-PRM-07"]).validate(KNOWN), Ok(()));
        let e = baseline(&["CL-PKCE-04"]).validate(KNOWN).unwrap_err();
        assert!(e.contains("`CL-PKCE-04` names no check of the role"), "{e}");
    }

    #[test]
    fn a_baseline_glob_matching_no_check_of_the_role_is_refused() {
        assert_eq!(baseline(&["RS-AUD-01.*"]).validate(KNOWN), Ok(()));
        let e = baseline(&["RS-NOPE-*"]).validate(KNOWN).unwrap_err();
        assert!(
            e.contains("`RS-NOPE-*` matches no check of the role"),
            "{e}"
        );
    }

    #[test]
    fn an_invalid_glob_is_refused_naming_it() {
        let e = baseline(&["RS-[AUD"]).validate(KNOWN).unwrap_err();
        assert!(e.contains("`RS-[AUD` is not a valid glob"), "{e}");
    }

    #[test]
    fn an_exact_entry_marks_its_check_whatever_the_verdict() {
        let mut rs = vec![
            result("RS-PRM-07", Verdict::Fail, &[]),
            result("RS-AUD-01.missing", Verdict::Fail, &[]),
        ];
        baseline(&["RS-PRM-07"]).apply(&mut rs, false);
        assert_eq!(marks(&rs), [Some("known RS-PRM-07"), None]);
    }

    #[test]
    fn a_glob_entry_marks_the_failing_checks_it_matches_and_not_the_passing_ones() {
        let mut rs = vec![
            result("RS-AUD-01.missing", Verdict::Fail, &[]),
            result("RS-AUD-01.other-resource", Verdict::Pass, &[]),
            result("RS-PRM-07", Verdict::Fail, &[]),
        ];
        baseline(&["RS-AUD-01.*"]).apply(&mut rs, false);
        assert_eq!(marks(&rs), [Some("known RS-AUD-01.*"), None, None]);
        let s = mcp_auth_reports::Summary::of(&rs, false);
        assert_eq!(s.unexpected_failures, 1);
        assert!(s.stale_baseline.is_empty());
    }

    #[test]
    fn a_glob_entry_none_of_whose_checks_fails_is_stale_and_names_them() {
        let mut rs = vec![
            result("RS-AUD-01.missing", Verdict::Pass, &[]),
            result("RS-AUD-01.other-resource", Verdict::Pass, &[]),
        ];
        baseline(&["RS-AUD-01.*"]).apply(&mut rs, false);
        let s = mcp_auth_reports::Summary::of(&rs, false);
        assert_eq!(
            s.stale_baseline,
            ["RS-AUD-01.missing", "RS-AUD-01.other-resource"]
        );
        assert_eq!(s.outcome, mcp_auth_reports::Outcome::Failed);
    }

    #[test]
    fn an_exact_entry_keeps_its_reason_over_a_glob_matching_the_same_check() {
        let mut rs = vec![
            result("RS-AUD-01.missing", Verdict::Fail, &[]),
            result("RS-AUD-01.other-resource", Verdict::Fail, &[]),
        ];
        baseline(&["RS-AUD-01.*", "RS-AUD-01.missing"]).apply(&mut rs, false);
        assert_eq!(
            marks(&rs),
            [Some("known RS-AUD-01.missing"), Some("known RS-AUD-01.*")]
        );
    }

    #[test]
    fn a_warn_counts_as_failing_a_group_entry_only_in_strict_runs() {
        let rs = vec![
            result("RS-AUD-01.missing", Verdict::Warn, &[]),
            result("RS-AUD-01.other-resource", Verdict::Pass, &[]),
        ];
        let mut strict = rs.clone();
        baseline(&["RS-AUD-01.*"]).apply(&mut strict, true);
        assert_eq!(marks(&strict), [Some("known RS-AUD-01.*"), None]);
        let mut lenient = rs;
        baseline(&["RS-AUD-01.*"]).apply(&mut lenient, false);
        assert_eq!(marks(&lenient), [None, None], "neither excused nor stale");
    }

    #[test]
    fn a_group_entry_whose_checks_only_skip_is_not_stale() {
        let mut rs = vec![
            result("RS-AUD-01.missing", Verdict::Skip, &[]),
            result("RS-AUD-01.other-resource", Verdict::Skip, &[]),
        ];
        baseline(&["RS-AUD-01.*"]).apply(&mut rs, false);
        assert_eq!(marks(&rs), [None, None]);
    }

    fn scenario_entry(worlds: &[&'static str], checks: Option<&[&'static str]>) -> Baseline {
        Baseline {
            scenarios: vec![ScenarioEntry {
                scenario: "auth/x".into(),
                worlds: worlds.to_vec(),
                checks: checks.map(<[_]>::to_vec),
                reason: "official".into(),
            }],
            ..Baseline::default()
        }
    }

    #[test]
    fn an_official_scenario_entry_marks_the_failing_checks_judged_from_its_worlds() {
        let mut rs = vec![
            result("CL-PKCE-04", Verdict::Fail, &["auth/a"]),
            result("CL-PKCE-05", Verdict::Pass, &["auth/a"]),
            result("CL-RES-01", Verdict::Fail, &["auth/b"]),
        ];
        scenario_entry(&["auth/a"], None).apply(&mut rs, false);
        assert_eq!(marks(&rs), [Some("official"), None, None]);
    }

    #[test]
    fn an_official_scenario_entry_finds_a_checks_world_in_its_evidence_ids() {
        let mut cited = result("CL-SCP-03", Verdict::Fail, &[]);
        cited.evidence = vec!["auth/a#4".into()];
        let mut elsewhere = result("CL-SCP-04", Verdict::Fail, &[]);
        elsewhere.evidence = vec!["auth/b#1".into()];
        let mut rs = vec![cited, elsewhere];
        scenario_entry(&["auth/a"], None).apply(&mut rs, false);
        assert_eq!(marks(&rs), [Some("official"), None]);
    }

    #[test]
    fn an_official_check_entry_marks_only_its_counterparts_in_its_worlds() {
        let mut rs = vec![
            result("CL-PKCE-04", Verdict::Fail, &["auth/a"]),
            result("CL-PKCE-05", Verdict::Fail, &["auth/a"]),
            result("CL-PKCE-05", Verdict::Fail, &["auth/b"]),
        ];
        scenario_entry(&["auth/a"], Some(&["CL-PKCE-05"])).apply(&mut rs, false);
        assert_eq!(marks(&rs), [None, Some("official"), None]);
    }

    fn error_after(ids: &[&'static str]) -> Evaluation {
        Evaluation::error("needs what the prerequisite judges").after(ids)
    }

    fn blocked(evaluated: &[(&str, Evaluation)]) -> Vec<Vec<String>> {
        let refs: Vec<(&str, &Evaluation)> = evaluated.iter().map(|(id, e)| (*id, e)).collect();
        blocked_by(&refs)
    }

    #[test]
    fn an_error_is_blocked_by_the_declared_prerequisite_that_failed() {
        let b = blocked(&[
            (
                "RS-PRM-01",
                Evaluation::violated(mcp_auth_reports::Level::Must, "", ""),
            ),
            ("RS-PRM-02", Evaluation::error("no answer")),
            ("RS-PRM-03", error_after(&["RS-PRM-01", "RS-PRM-02"])),
        ]);
        assert_eq!(b[2], ["RS-PRM-01", "RS-PRM-02"]);
        assert!(b[0].is_empty() && b[1].is_empty());
    }

    #[test]
    fn a_declared_prerequisite_that_passed_or_was_skipped_blocks_nothing() {
        let b = blocked(&[
            ("RS-PRM-01", Evaluation::pass("", "")),
            ("RS-PRM-02", Evaluation::skip("not applicable")),
            ("RS-PRM-03", error_after(&["RS-PRM-01", "RS-PRM-02"])),
        ]);
        assert!(b[2].is_empty(), "{b:?}");
    }

    #[test]
    fn only_an_error_is_blocked_and_never_by_itself() {
        let fail = Evaluation::violated(mcp_auth_reports::Level::Must, "", "").after(&["A"]);
        let b = blocked(&[
            ("A", Evaluation::error("x").after(&["A"])),
            ("B", fail.after(&["A"])),
        ]);
        assert!(b[0].is_empty(), "a check named itself: {b:?}");
        assert!(
            b[1].is_empty(),
            "a FAIL was judged, so nothing blocked it: {b:?}"
        );
    }

    #[test]
    fn a_failed_check_blocks_an_error_whose_target_stopped_at_a_request_it_judged_violating() {
        let root = Evaluation::violated(mcp_auth_reports::Level::Must, "", "")
            .with_evidence(["w#1"])
            .with_violations(["w#1", "w#7"]);
        let mut stopped = Evaluation::error("the client never completed the world");
        stopped.relations_mut().stopped_at = vec!["w#7".to_owned()];
        let mut elsewhere = Evaluation::error("the client never completed another world");
        elsewhere.relations_mut().stopped_at = vec!["v#3".to_owned()];
        let b = blocked(&[
            ("ROOT", root),
            ("STOPPED", stopped),
            ("ELSEWHERE", elsewhere),
        ]);
        assert_eq!(b[1], ["ROOT"]);
        assert!(b[2].is_empty(), "{b:?}");
    }

    #[test]
    fn an_error_at_the_same_stop_does_not_block_another_error() {
        let mut first = Evaluation::error("stopped").with_evidence(["w#7"]);
        first.relations_mut().stopped_at = vec!["w#7".to_owned()];
        let second = first.clone();
        let b = blocked(&[("A", first), ("B", second)]);
        assert!(b.iter().all(Vec::is_empty), "{b:?}");
    }
}
