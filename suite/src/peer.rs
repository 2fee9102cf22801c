//! MCPJam as a peer judge (`interop peer-judge`): MCPJam's own OAuth conformance test (`@mcpjam/sdk`'s
//! `OAuthConformanceTest`, driven by `targets/interop/mcpjam/judge.mjs`) run against the suite's reference To-Do
//! server and reference AS, clean and with each server and AS defect. Beside it, what the suite catches of the same
//! defect (the killing flips of the self-test's expectation data, `fixtures/expected/<role>.toml`, which the
//! self-test proves). The observed MCPJam outcomes are compared with a reviewed expectation
//! (`fixtures/peer/mcpjam.toml`: per defect, what MCPJam does and why) like `interop compare` does, and rendered as
//! the interop matrix's "Peer agreement (MCPJam)" section.
//!
//! Why the orchestration is here and not in `run.sh`: the reference AS and the reference server start in-process
//! (a pair per defect, on ephemeral loopback ports, no process per target), the defect lists come from the enums and
//! the detection from the expectation data (nothing kept by hand), and one long-lived judge process serves every
//! run over stdin/stdout (one Node start, not one per defect), with a deadline per run.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_idp::server::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET};
use fake_idp::{AsDefect, AsTarget, AsTargetConfig, LoginUi};
use futures::stream::{self, StreamExt};
use mcp_auth_reports::render::{escape_controls, markdown_inline, markdown_text};
use mcp_auth_reports::{Role, Verdict};
use mcp_auth_targets::{
    IntrospectionClient, ServerDefect, TodoServer, TodoServerConfig, ValidationMode,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::expected::Expected;
use crate::process::ProcessGroup;

/// The peer results' folder in an interop report directory (not a product: it holds no `report.json`).
pub const PEER_DIR: &str = "mcpjam-peer";
/// The peer results in [`PEER_DIR`].
pub const RESULTS_FILE: &str = "peer.json";
/// The reviewed expectation.
pub const DEFAULT_EXPECTED: &str = "fixtures/peer/mcpjam.toml";
/// The registration strategies of MCPJam's test.
pub const STRATEGIES: &[&str] = &["dcr", "cimd", "preregistered"];
/// A judge's text (an error message, a refused host) is kept to this many bytes.
const TEXT_CAP: usize = 600;
/// One line of the judge's output is read up to this many bytes; a longer one is an error for its run.
const LINE_CAP: usize = 1 << 20;
/// The end of the judge's stderr kept for an error message.
const STDERR_TAIL: usize = 4096;

/// What MCPJam is pointed at: the compliant pair, or the pair with one defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Reference,
    Server(ServerDefect),
    Authz(AsDefect),
}

impl Subject {
    /// The reference, every server defect, every AS defect, in the enums' order; only the defects visible at the
    /// default revision without extensions, which is what the judge speaks (a defect the self-test runs only at
    /// another revision or with an extension, `selftest::defect_modes`, has nothing to show it).
    pub fn all() -> Vec<Subject> {
        std::iter::once(Subject::Reference)
            .chain(ServerDefect::ALL.iter().map(|d| Subject::Server(*d)))
            .chain(AsDefect::ALL.iter().map(|d| Subject::Authz(*d)))
            .filter(Subject::visible_at_default)
            .collect()
    }

    /// Whether the self-test runs this defect in a default-revision mode without extensions.
    fn visible_at_default(&self) -> bool {
        use crate::selftest::{defect_modes, RunMode};
        let (role, name) = match self {
            Subject::Reference => return true,
            Subject::Server(d) => (Role::Server, d.name()),
            Subject::Authz(d) => (Role::Authz, d.name()),
        };
        defect_modes(role, name)
            .iter()
            .any(|m| matches!(m, RunMode::Jwt | RunMode::Introspection | RunMode::Default))
    }

    /// `reference`, `server/<defect>` or `authz/<defect>`.
    pub fn key(&self) -> String {
        match self.defect() {
            None => "reference".to_owned(),
            Some(d) => format!("{}/{d}", self.role()),
        }
    }

    /// `reference`, `server` or `authz`.
    pub fn role(&self) -> &'static str {
        match self {
            Subject::Reference => "reference",
            Subject::Server(_) => "server",
            Subject::Authz(_) => "authz",
        }
    }

    pub fn defect(&self) -> Option<&'static str> {
        match self {
            Subject::Reference => None,
            Subject::Server(d) => Some(d.name()),
            Subject::Authz(d) => Some(d.name()),
        }
    }

    pub fn description(&self) -> &'static str {
        match self {
            Subject::Reference => "the compliant reference server and reference AS",
            Subject::Server(d) => d.description(),
            Subject::Authz(d) => d.description(),
        }
    }

    /// How the reference server validates tokens in this run: JWT, unless the defect exists only with
    /// introspection.
    pub fn server_mode(&self) -> ValidationMode {
        match self {
            Subject::Server(d) if !d.modes().contains(&ValidationMode::Jwt) => {
                ValidationMode::Introspection
            }
            _ => ValidationMode::Jwt,
        }
    }

    /// MCPJam's registration strategies for this run: all three where the AS is in question (the reference and
    /// every AS defect); for a server defect DCR only, since how the client registers at the AS has no bearing on
    /// a hole in the resource server (and it keeps the run within its time budget).
    pub fn strategies(&self) -> &'static [&'static str] {
        match self {
            Subject::Server(_) => &STRATEGIES[..1],
            _ => STRATEGIES,
        }
    }

    /// The self-test's mode name of this run, keying `fixtures/expected/<role>.toml`.
    fn expected_mode(&self) -> &'static str {
        let (role, own) = match self {
            Subject::Reference => return "default",
            Subject::Server(_) => (
                Role::Server,
                crate::selftest::RunMode::from(self.server_mode()),
            ),
            Subject::Authz(_) => (Role::Authz, crate::selftest::RunMode::Default),
        };
        // A defect visible only at another revision or with an extension is recorded under that mode
        // (selftest::DEFECT_MODES).
        let modes = self
            .defect()
            .map(|d| crate::selftest::defect_modes(role, d))
            .unwrap_or_default();
        if modes.is_empty() || modes.contains(&own) {
            own.as_str()
        } else {
            modes[0].as_str()
        }
    }

    /// The checks of the suite this defect fails (FAIL, or the violation verdict of the check's level), from the
    /// self-test's expectation data, which `self-test` proves run after run. Empty for the reference.
    pub fn caught_by_us(&self) -> Vec<String> {
        let role = match self {
            Subject::Reference => return Vec::new(),
            Subject::Server(_) => Role::Server,
            Subject::Authz(_) => Role::Authz,
        };
        let Ok(expected) = Expected::for_role(role) else {
            return Vec::new();
        };
        let Some(d) = self
            .defect()
            .and_then(|name| expected.defect(name, self.expected_mode()))
        else {
            return Vec::new();
        };
        let levels: HashMap<&str, mcp_auth_reports::Level> = crate::registry::metas(Some(role))
            .into_iter()
            .map(|m| (m.id, m.level))
            .collect();
        d.flips
            .entries
            .iter()
            .filter(|(id, e)| {
                e.verdict == Verdict::Fail
                    || levels
                        .get(id.as_str())
                        .is_some_and(|l| e.verdict == l.violation())
            })
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The subject named by [`Subject::key`].
    pub fn parse(key: &str) -> Option<Subject> {
        match key.split_once('/') {
            None if key == "reference" => Some(Subject::Reference),
            Some(("server", d)) => d.parse().ok().map(Subject::Server),
            Some(("authz", d)) => d.parse().ok().map(Subject::Authz),
            _ => None,
        }
    }
}

/// What MCPJam concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every flow of MCPJam's test passed: it did not notice the defect.
    Pass,
    /// At least one flow failed: MCPJam caught the defect (or failed the reference).
    Fail,
    /// No verdict: the judge crashed, broke its protocol or ran out of time (never a pass).
    Error,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        })
    }
}

/// MCPJam's result for one subject, bounded and redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub outcome: Outcome,
    /// Each failed flow as `<strategy>:<first failed step>`, in the order the flows ran.
    #[serde(default)]
    pub failed: Vec<String>,
    /// The first failure's message (or the error), redacted, at most 600 bytes.
    #[serde(default)]
    pub message: String,
    pub duration_ms: u64,
    /// Hosts off loopback that MCPJam tried to reach and the judge refused.
    #[serde(default)]
    pub off_loopback: Vec<String>,
}

impl Observed {
    fn error(message: impl Into<String>, duration_ms: u64) -> Observed {
        Observed {
            outcome: Outcome::Error,
            failed: Vec::new(),
            message: bounded(&message.into()),
            duration_ms,
            off_loopback: Vec::new(),
        }
    }
}

/// One run: a subject and what each side made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerRun {
    /// [`Subject::key`].
    pub subject: String,
    pub description: String,
    /// The reference server's validation mode in this run.
    pub mode: String,
    pub strategies: Vec<String>,
    /// The suite's checks that this defect fails ([`Subject::caught_by_us`]).
    pub caught_by_us: Vec<String>,
    pub mcpjam: Observed,
}

/// The peer results file (`<report dir>/mcpjam-peer/peer.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerResults {
    pub schema_version: u32,
    /// The judge, as it names itself (`@mcpjam/sdk 1.14.0 OAuthConformanceTest`).
    pub judge: String,
    pub duration_ms: u64,
    /// Runs at once.
    pub jobs: usize,
    pub runs: Vec<PeerRun>,
}

/// Counts for the summary line and the closing note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub defects: usize,
    pub caught_by_us: usize,
    pub caught_by_mcpjam: usize,
    /// Caught by both.
    pub agreement: usize,
    /// Caught by MCPJam and by none of our checks (a finding against the suite).
    pub mcpjam_only: usize,
    /// Runs without a verdict.
    pub errors: usize,
}

impl PeerResults {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for r in self.runs.iter().filter(|r| r.subject != "reference") {
            let us = !r.caught_by_us.is_empty();
            let them = r.mcpjam.outcome == Outcome::Fail;
            c.defects += 1;
            c.caught_by_us += usize::from(us);
            c.caught_by_mcpjam += usize::from(them);
            c.agreement += usize::from(us && them);
            c.mcpjam_only += usize::from(them && !us);
            c.errors += usize::from(r.mcpjam.outcome == Outcome::Error);
        }
        c
    }

    pub fn reference(&self) -> Option<&PeerRun> {
        self.runs.iter().find(|r| r.subject == "reference")
    }
}

// ---- the reviewed expectation --------------------------------------------------------------------------------------

/// What MCPJam must do with one subject, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// `Pass` (MCPJam does not notice) or `Fail` (it does).
    pub outcome: Outcome,
    /// For `Fail`: every failing flow as `<strategy>:<first failed step>`.
    pub at: Vec<String>,
    /// Why, from MCPJam's source or the defect (never empty).
    pub reason: String,
}

/// `fixtures/peer/mcpjam.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerExpectation {
    pub judge: String,
    pub configuration: String,
    /// By [`Subject::key`].
    pub entries: BTreeMap<String, Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    judge: String,
    configuration: String,
    reference: RawExpect,
    #[serde(default)]
    server: BTreeMap<String, RawExpect>,
    #[serde(default)]
    authz: BTreeMap<String, RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    mcpjam: Outcome,
    #[serde(default)]
    at: Vec<String>,
    reason: String,
}

impl PeerExpectation {
    pub fn parse(text: &str) -> Result<PeerExpectation, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = BTreeMap::new();
        let all = std::iter::once(("reference".to_owned(), raw.reference))
            .chain(
                raw.server
                    .into_iter()
                    .map(|(d, e)| (format!("server/{d}"), e)),
            )
            .chain(
                raw.authz
                    .into_iter()
                    .map(|(d, e)| (format!("authz/{d}"), e)),
            );
        for (key, e) in all {
            if Subject::parse(&key).is_none() {
                return Err(format!("{key}: no such defect (a stale entry)"));
            }
            if e.reason.trim().is_empty() {
                return Err(format!("{key}: no reason (every entry says why)"));
            }
            match e.mcpjam {
                Outcome::Error => {
                    return Err(format!(
                        "{key}: `error` is never expected (MCPJam must reach a verdict)"
                    ))
                }
                Outcome::Fail if e.at.is_empty() => {
                    return Err(format!(
                        "{key}: `fail` needs `at`, the failing flows as \"<strategy>:<step>\""
                    ))
                }
                Outcome::Pass if !e.at.is_empty() => {
                    return Err(format!("{key}: `at` is only for `fail`"))
                }
                _ => {}
            }
            entries.insert(
                key,
                Expect {
                    outcome: e.mcpjam,
                    at: e.at,
                    reason: e.reason.trim().to_owned(),
                },
            );
        }
        Ok(PeerExpectation {
            judge: raw.judge,
            configuration: raw.configuration,
            entries,
        })
    }

    pub fn load(path: &std::path::Path) -> Result<PeerExpectation, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("invalid {}: {e}", path.display()))
    }
}

/// Every difference between the observed outcomes and the expectation, one line each. `complete`: the results
/// cover every subject, so an entry for a subject that was not run is stale.
pub fn compare(results: &PeerResults, expected: &PeerExpectation, complete: bool) -> Vec<String> {
    let mut out = Vec::new();
    if results.judge != expected.judge {
        out.push(format!(
            "the judge is {}, but the expectation was reviewed for {}",
            results.judge, expected.judge
        ));
    }
    for r in &results.runs {
        if !r.mcpjam.off_loopback.is_empty() {
            out.push(format!(
                "{}: MCPJam tried to reach hosts off loopback (refused by the judge): {}",
                r.subject,
                r.mcpjam.off_loopback.join(", ")
            ));
        }
        let seen = describe(&r.mcpjam);
        match expected.entries.get(&r.subject) {
            None => out.push(format!(
                "{}: MCPJam {seen}, but the expectation does not list it (add it with the reason)",
                r.subject
            )),
            Some(e) if e.outcome != r.mcpjam.outcome || e.at != r.mcpjam.failed => {
                out.push(format!(
                    "{}: MCPJam {seen}, expected {} ({})",
                    r.subject,
                    describe_expected(e),
                    e.reason
                ));
            }
            Some(_) => {}
        }
    }
    if complete {
        for key in expected.entries.keys() {
            if !results.runs.iter().any(|r| &r.subject == key) {
                out.push(format!(
                    "{key}: listed in the expectation but not run (a stale entry)"
                ));
            }
        }
    }
    out
}

fn describe(o: &Observed) -> String {
    match o.outcome {
        Outcome::Pass => "passed".to_owned(),
        Outcome::Fail => format!("failed at {}", o.failed.join(", ")),
        Outcome::Error => format!("gave no verdict: {}", o.message),
    }
}

fn describe_expected(e: &Expect) -> String {
    match e.outcome {
        Outcome::Fail => format!("fail at {}", e.at.join(", ")),
        other => other.to_string(),
    }
}

// ---- the judge's output --------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct JudgeLine {
    #[serde(default)]
    flows: Vec<JudgeFlow>,
    #[serde(default)]
    off_loopback: Vec<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    duration_ms: Option<u64>,
}

#[derive(Deserialize)]
struct JudgeFlow {
    strategy: String,
    passed: bool,
    #[serde(default)]
    crashed: bool,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    steps: Vec<JudgeStep>,
}

#[derive(Deserialize)]
struct JudgeStep {
    step: String,
    status: String,
    #[serde(default)]
    error: Option<String>,
}

/// Redacted (JWTs and secret parameters, [`crate::redact::redact_text`], a second net behind the judge's own) and
/// cut. Control characters stay: they are escaped where the text is printed.
fn bounded(text: &str) -> String {
    let mut found = crate::redact::Found::default();
    crate::redact::redact_text(&crate::redact::cut(text, 4 * TEXT_CAP).0, &mut found)
        .chars()
        .scan(0usize, |n, c| {
            *n += c.len_utf8();
            (*n <= TEXT_CAP).then_some(c)
        })
        .collect()
}

/// Reads one result line of the judge into an observation: a pass needs every requested strategy to have run
/// and passed; a crashed flow, a missing flow or a judge error is an error, never a pass.
fn observe(line: &JudgeLine, strategies: &[&str], duration_ms: u64) -> Observed {
    if let Some(e) = &line.error {
        return Observed::error(e.as_str(), duration_ms);
    }
    let ran: Vec<&str> = line.flows.iter().map(|f| f.strategy.as_str()).collect();
    if ran != strategies {
        return Observed::error(
            format!(
                "the judge ran the strategies [{}], not [{}]",
                ran.join(", "),
                strategies.join(", ")
            ),
            duration_ms,
        );
    }
    if let Some(f) = line.flows.iter().find(|f| f.crashed) {
        return Observed::error(
            format!(
                "MCPJam's test threw ({}): {}",
                f.strategy,
                f.summary.as_deref().unwrap_or("")
            ),
            duration_ms,
        );
    }
    let mut failed = Vec::new();
    let mut message = String::new();
    for f in line.flows.iter().filter(|f| !f.passed) {
        let first = f.steps.iter().find(|s| s.status == "failed");
        failed.push(format!(
            "{}:{}",
            f.strategy,
            first.map_or("?", |s| s.step.as_str())
        ));
        if message.is_empty() {
            message = first
                .and_then(|s| s.error.clone())
                .or_else(|| f.summary.clone())
                .unwrap_or_default();
        }
    }
    Observed {
        outcome: if failed.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail
        },
        failed: failed.iter().map(|s| bounded(s)).collect(),
        message: bounded(&message),
        duration_ms: line.duration_ms.unwrap_or(duration_ms),
        off_loopback: line
            .off_loopback
            .iter()
            .take(20)
            .map(|h| bounded(h))
            .collect(),
    }
}

/// Lines of at most `cap` bytes from `r`; a longer line is returned cut, flagged `true`.
struct Lines<R> {
    r: R,
    buf: Vec<u8>,
    eof: bool,
    cap: usize,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    fn new(r: R, cap: usize) -> Self {
        Lines {
            r,
            buf: Vec::new(),
            eof: false,
            cap,
        }
    }

    fn capped(&self, mut line: Vec<u8>, cut: bool) -> (String, bool) {
        let over = line.len() > self.cap;
        line.truncate(self.cap);
        (String::from_utf8_lossy(&line).into_owned(), cut || over)
    }

    /// The next line (without its newline) and whether it was cut; `None` at the end.
    async fn next(&mut self) -> Option<(String, bool)> {
        let mut cut = false;
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let rest = self.buf.split_off(pos + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                line.pop();
                return Some(self.capped(line, cut));
            }
            if self.eof {
                if self.buf.is_empty() {
                    return None;
                }
                let line = std::mem::take(&mut self.buf);
                return Some(self.capped(line, cut));
            }
            if self.buf.len() > self.cap {
                // Keep the start, drop the rest of this line as it comes.
                self.buf.truncate(self.cap);
                cut = true;
                let mut skip = [0u8; 8192];
                loop {
                    match self.r.read(&mut skip).await {
                        Ok(0) | Err(_) => {
                            self.eof = true;
                            break;
                        }
                        Ok(n) => {
                            if let Some(pos) = skip[..n].iter().position(|b| *b == b'\n') {
                                let line = std::mem::take(&mut self.buf);
                                self.buf.extend_from_slice(&skip[pos + 1..n]);
                                return Some((String::from_utf8_lossy(&line).into_owned(), true));
                            }
                        }
                    }
                }
                continue;
            }
            let mut chunk = [0u8; 8192];
            match self.r.read(&mut chunk).await {
                Ok(0) | Err(_) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

// ---- the run -------------------------------------------------------------------------------------------------------

/// How to run the peer judge.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// The judge command (run with `sh -c`; `--serve` and options are appended), e.g.
    /// `node targets/interop/mcpjam/judge.mjs`.
    pub judge: String,
    pub subjects: Vec<Subject>,
    /// Runs at once.
    pub jobs: usize,
    /// A run without a verdict by then is an error.
    pub deadline: Duration,
    /// MCPJam's per-request timeout.
    pub step_timeout: Duration,
}

/// The judge process was not usable at all.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("cannot start the judge `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// The runs waiting for their result line, by id; `None` once the judge's output has ended (no run can be
/// answered any more, also one asked after that).
type Waiters = Arc<Mutex<Option<HashMap<String, tokio::sync::oneshot::Sender<(String, bool)>>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running judge: one process, jobs in on stdin, results out on stdout, matched by id.
struct Judge {
    group: ProcessGroup,
    stdin: tokio::sync::Mutex<Option<tokio::process::ChildStdin>>,
    waiters: Waiters,
    /// Turns `true` when the judge's output has ended.
    gone: tokio::sync::watch::Receiver<bool>,
    stderr: Arc<Mutex<Vec<u8>>>,
    name: Arc<Mutex<Option<String>>>,
}

impl Judge {
    fn start(opts: &PeerOptions) -> Result<Judge, PeerError> {
        // The options follow the command as arguments (`"$@"`), so the command may be any shell text.
        let script = format!("{} \"$@\"", opts.judge);
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg("sh")
            .arg("--serve")
            .arg("--timeout-ms")
            .arg(opts.step_timeout.as_millis().to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut group = ProcessGroup::spawn(&mut cmd).map_err(|source| PeerError::Spawn {
            command: opts.judge.clone(),
            source,
        })?;
        let child = group.child();
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let waiters: Waiters = Arc::new(Mutex::new(Some(HashMap::new())));
        let (gone_tx, gone) = tokio::sync::watch::channel(false);
        let name: Arc<Mutex<Option<String>>> = Arc::default();
        let stderr_tail: Arc<Mutex<Vec<u8>>> = Arc::default();
        let (stderr_done, stderr_closed) = tokio::sync::oneshot::channel::<()>();
        if let Some(mut err) = stderr {
            let tail = stderr_tail.clone();
            tokio::spawn(async move {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = err.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    let mut t = lock(&tail);
                    t.extend_from_slice(&chunk[..n]);
                    let excess = t.len().saturating_sub(STDERR_TAIL);
                    t.drain(..excess);
                }
                let _ = stderr_done.send(());
            });
        }
        if let Some(stdout) = stdout {
            let (waiters, name) = (waiters.clone(), name.clone());
            tokio::spawn(async move {
                let mut lines = Lines::new(stdout, LINE_CAP);
                while let Some((line, cut)) = lines.next().await {
                    #[derive(Deserialize)]
                    struct Id {
                        id: Option<String>,
                        judge: Option<String>,
                    }
                    let parsed: Option<Id> = serde_json::from_str(&line).ok();
                    let id = parsed.as_ref().and_then(|p| p.id.clone());
                    if let Some(j) = parsed.and_then(|p| p.judge) {
                        lock(&name).get_or_insert(bounded(&j));
                    }
                    let tx = id.and_then(|id| lock(&waiters).as_mut().and_then(|w| w.remove(&id)));
                    if let Some(tx) = tx {
                        let _ = tx.send((line, cut));
                    }
                }
                // The judge is gone: once its last words are in (its stderr closed, or a moment passed), every
                // run still waiting gets no answer.
                let _ = tokio::time::timeout(Duration::from_secs(2), stderr_closed).await;
                lock(&waiters).take();
                let _ = gone_tx.send(true);
            });
        }
        Ok(Judge {
            group,
            stdin: tokio::sync::Mutex::new(stdin),
            waiters,
            gone,
            stderr: stderr_tail,
            name,
        })
    }

    /// Sends one job and waits for its result line (or the deadline, or the judge's end).
    async fn ask(
        &self,
        id: &str,
        server_url: &str,
        strategies: &[&str],
        deadline: Duration,
    ) -> Result<(String, bool), String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        match lock(&self.waiters).as_mut() {
            Some(w) => {
                w.insert(id.to_owned(), tx);
            }
            None => drop(tx),
        }
        let job = serde_json::json!({"id": id, "serverUrl": server_url, "strategies": strategies});
        {
            let mut stdin = self.stdin.lock().await;
            let Some(w) = stdin.as_mut() else {
                return Err("the judge's input is closed".into());
            };
            // A judge that is gone cannot take the job: its end (and last words) then answer below.
            if w.write_all(format!("{job}\n").as_bytes()).await.is_ok() {
                let _ = w.flush().await;
            }
        }
        match tokio::time::timeout(deadline, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(format!(
                "the judge exited without answering{}",
                self.stderr_note()
            )),
            Err(_) => {
                if let Some(w) = lock(&self.waiters).as_mut() {
                    w.remove(id);
                }
                Err(format!(
                    "no verdict from the judge within {} s",
                    deadline.as_secs()
                ))
            }
        }
    }

    fn stderr_note(&self) -> String {
        let tail = String::from_utf8_lossy(&lock(&self.stderr)).into_owned();
        let last: Vec<&str> = tail.lines().rev().take(3).collect();
        if last.is_empty() {
            String::new()
        } else {
            let lines: Vec<&str> = last.into_iter().rev().collect();
            format!(" (its stderr ends: {})", lines.join(" / "))
        }
    }

    /// Closes its input (it exits once its runs are done), gives it the grace, and stops its group.
    async fn stop(mut self) {
        self.stdin.lock().await.take();
        // At the end of its input the judge finishes its runs and closes its output: up to 5 s for that.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.gone.wait_for(|g| *g)).await;
        self.group.stop().await;
    }
}

/// The compliant or defective pair, on ephemeral loopback ports, for as long as it lives.
struct Pair {
    server: mcp_auth_targets::RunningTodoServer,
    authz: fake_idp::RunningAsTarget,
}

impl Pair {
    async fn start(subject: Subject) -> std::io::Result<Pair> {
        let authz = AsTarget::start(AsTargetConfig {
            defect: match subject {
                Subject::Authz(d) => Some(d),
                _ => None,
            },
            login: LoginUi::Auto,
            ..AsTargetConfig::default()
        })
        .await
        .map_err(std::io::Error::other)?;
        let issuer = authz.issuer();
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = listener.local_addr()?.port();
        let mut config = TodoServerConfig::new(issuer.clone(), format!("{issuer}/jwks"));
        config.mode = subject.server_mode();
        config.introspection = Some(IntrospectionClient {
            url: format!("{issuer}/introspect"),
            client_id: INTROSPECTION_CLIENT_ID.to_owned(),
            client_secret: INTROSPECTION_CLIENT_SECRET.to_owned(),
        });
        if let Subject::Server(d) = subject {
            config.defect = Some(d);
            // As the suite runs this defect: the server answers as a plain-http public host (the judge reaches
            // *.conformance.test hosts on 127.0.0.1).
            if d == ServerDefect::PlainHttpPublicHost {
                config.public_base =
                    Some(format!("http://todo.{}:{port}", crate::http::TEST_DOMAIN));
            }
        }
        let server = TodoServer::start(config, listener).await?;
        Ok(Pair { server, authz })
    }

    async fn stop(self) {
        self.server.shutdown().await;
        self.authz.shutdown().await;
    }
}

async fn run_one(judge: &Judge, subject: Subject, opts: &PeerOptions) -> PeerRun {
    let started = Instant::now();
    let strategies = subject.strategies();
    let mcpjam = match Pair::start(subject).await {
        Err(e) => Observed::error(format!("cannot start the reference pair: {e}"), 0),
        Ok(pair) => {
            let answer = judge
                .ask(
                    &subject.key(),
                    &pair.server.url(),
                    strategies,
                    opts.deadline,
                )
                .await;
            pair.stop().await;
            let ms = started.elapsed().as_millis() as u64;
            match answer {
                Err(e) => Observed::error(e, ms),
                Ok((_, true)) => Observed::error("the judge's result line is too long", ms),
                Ok((line, false)) => match serde_json::from_str::<JudgeLine>(&line) {
                    Ok(l) => observe(&l, strategies, ms),
                    Err(e) => {
                        Observed::error(format!("the judge's result is not its JSON: {e}"), ms)
                    }
                },
            }
        }
    };
    PeerRun {
        subject: subject.key(),
        description: subject.description().to_owned(),
        mode: subject.server_mode().name().to_owned(),
        strategies: strategies.iter().map(|s| (*s).to_owned()).collect(),
        caught_by_us: subject.caught_by_us(),
        mcpjam,
    }
}

/// Runs MCPJam against every subject, `jobs` at once; `done` is told of each run as it finishes.
pub async fn run(opts: &PeerOptions, done: impl Fn(&PeerRun)) -> Result<PeerResults, PeerError> {
    let started = Instant::now();
    let judge = Judge::start(opts)?;
    let mut runs: Vec<(usize, PeerRun)> = stream::iter(opts.subjects.iter().copied().enumerate())
        .map(|(i, s)| {
            let judge = &judge;
            async move { (i, run_one(judge, s, opts).await) }
        })
        .buffer_unordered(opts.jobs.max(1))
        .inspect(|(_, r)| done(r))
        .collect()
        .await;
    runs.sort_by_key(|(i, _)| *i);
    let name = lock(&judge.name).clone();
    judge.stop().await;
    Ok(PeerResults {
        schema_version: 1,
        judge: name.unwrap_or_else(|| "MCPJam (the judge never named itself)".to_owned()),
        duration_ms: started.elapsed().as_millis() as u64,
        jobs: opts.jobs.max(1),
        runs: runs.into_iter().map(|(_, r)| r).collect(),
    })
}

// ---- rendering -----------------------------------------------------------------------------------------------------

/// Text from the judge, for Markdown: controls escaped, then Markdown-escaped.
fn md(text: &str) -> String {
    markdown_text(&escape_controls(text, false))
}

/// The summary line.
pub fn summary_line(results: &PeerResults) -> String {
    let c = results.counts();
    let reference = match results.reference().map(|r| &r.mcpjam) {
        Some(o) => match o.outcome {
            Outcome::Pass => "MCPJam passes the compliant reference".to_owned(),
            Outcome::Fail => format!(
                "MCPJam FAILS the compliant reference ({})",
                o.failed.join(", ")
            ),
            Outcome::Error => "MCPJam gave no verdict on the compliant reference".to_owned(),
        },
        None => "the compliant reference was not run".to_owned(),
    };
    format!(
        "{} defects: caught by us {}, by MCPJam {} (both {}, MCPJam alone {}){}; {reference}; {:.1} s, {} at once",
        c.defects,
        c.caught_by_us,
        c.caught_by_mcpjam,
        c.agreement,
        c.mcpjam_only,
        if c.errors > 0 {
            format!(", {} without a verdict", c.errors)
        } else {
            String::new()
        },
        results.duration_ms as f64 / 1000.0,
        results.jobs
    )
}

/// The interop matrix's "Peer agreement (MCPJam)" section.
pub fn markdown_section(results: &PeerResults, expected: &PeerExpectation) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "\n## Peer agreement (MCPJam)\n");
    let _ = writeln!(
        out,
        "MCPJam's own OAuth conformance test, {} ({}), run by `mcp-auth-conformance interop peer-judge` against the \
         suite's reference To-Do server and reference AS: clean, then once per server defect and once per AS defect. \
         *Caught by us*: the suite's checks the defect fails (the self-test's `fixtures/expected/<role>.toml`, \
         proven by `self-test`). *Caught by MCPJam*: MCPJam's test failed (each failing flow as strategy: first \
         failed step). *Why*: the reviewed reason of `fixtures/peer/mcpjam.toml`, which each run is compared \
         with.\n",
        md(&results.judge),
        md(&expected.configuration)
    );
    let _ = writeln!(out, "{}.\n", md(&summary_line(results)));
    let _ = writeln!(
        out,
        "| subject | what it breaks | caught by us | caught by MCPJam | why |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for r in &results.runs {
        let subject = match Subject::parse(&r.subject) {
            Some(Subject::Reference) | None => md(&r.subject),
            Some(s) => format!("{} `{}`", s.role(), s.defect().unwrap_or_default()),
        };
        let us = match r.caught_by_us.as_slice() {
            [] if r.subject == "reference" => "—".to_owned(),
            [] => "➖ no".to_owned(),
            ids => {
                let shown: Vec<&str> = ids.iter().take(3).map(String::as_str).collect();
                format!(
                    "✅ {}: {}{}",
                    ids.len(),
                    md(&shown.join(", ")),
                    if ids.len() > 3 { ", …" } else { "" }
                )
            }
        };
        let them = match r.mcpjam.outcome {
            Outcome::Pass if r.subject == "reference" => "✅ passes".to_owned(),
            Outcome::Pass => "➖ no".to_owned(),
            Outcome::Fail => format!("✅ {}", md(&r.mcpjam.failed.join(", "))),
            Outcome::Error => format!("💥 no verdict: {}", md(&r.mcpjam.message)),
        };
        // The descriptions and reasons are the project's own text, with `code` runs.
        let why = expected.entries.get(&r.subject).map_or_else(
            || "(not in the expectation)".to_owned(),
            |e| markdown_inline(&escape_controls(&e.reason, false)),
        );
        let _ = writeln!(
            out,
            "| {subject} | {} | {us} | {them} | {why} |",
            markdown_inline(&escape_controls(&r.description, false))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(subject: &str, us: &[&str], outcome: Outcome, failed: &[&str]) -> PeerRun {
        PeerRun {
            subject: subject.to_owned(),
            description: "d".into(),
            mode: "jwt".into(),
            strategies: vec!["dcr".into()],
            caught_by_us: us.iter().map(|s| (*s).to_owned()).collect(),
            mcpjam: Observed {
                outcome,
                failed: failed.iter().map(|s| (*s).to_owned()).collect(),
                message: String::new(),
                duration_ms: 1,
                off_loopback: Vec::new(),
            },
        }
    }

    fn results(runs: Vec<PeerRun>) -> PeerResults {
        PeerResults {
            schema_version: 1,
            judge: "@mcpjam/sdk 1.14.0 OAuthConformanceTest".into(),
            duration_ms: 1500,
            jobs: 4,
            runs,
        }
    }

    /// The runs `EXPECTED` describes: the reference passes, MCPJam catches one defect and misses the other.
    fn as_expected() -> PeerResults {
        results(vec![
            run("reference", &[], Outcome::Pass, &[]),
            run(
                "server/accept-malformed-token",
                &["RS-TOK-03"],
                Outcome::Fail,
                &["dcr:oauth_invalid_token"],
            ),
            run(
                "server/skip-audience-check",
                &["RS-AUD-02"],
                Outcome::Pass,
                &[],
            ),
        ])
    }

    const EXPECTED: &str = r#"
judge = "@mcpjam/sdk 1.14.0 OAuthConformanceTest"
configuration = "headless"

[reference]
mcpjam = "pass"
reason = "compliant"

[server.accept-malformed-token]
mcpjam = "fail"
at = ["dcr:oauth_invalid_token"]
reason = "MCPJam sends `Bearer invalid-access-token`"

[server.skip-audience-check]
mcpjam = "pass"
reason = "MCPJam forges no token"
"#;

    fn expected() -> PeerExpectation {
        PeerExpectation::parse(EXPECTED).unwrap()
    }

    #[test]
    fn every_defect_of_both_reference_targets_is_a_subject_once() {
        let all = Subject::all();
        let elsewhere = [
            "stateless-auth-on-discover-only",
            "stateless-session-as-auth",
            "plain-http-under-tls",
            "plain-http-token-endpoint",
            // The proxy's consent cookies are judged only under strict TLS (AS-PRX-03).
            "prx-consent-cookie-weak",
            // DPoP (--extension dpop): MCPJam sends no proof, the self-test shows these in the extensions mode.
            "dpop-scheme-unrecognised",
            "accept-bound-token-as-bearer",
            "dpop-proof-optional",
            "dpop-skip-proof-signature",
            "dpop-skip-ath",
            "dpop-skip-htm",
            "dpop-skip-htu",
            "dpop-skip-key-binding",
            "dpop-skip-iat",
            "dpop-allow-replay",
            // The 2026-07-28 duties (selftest::DEFECT_MODES, REV_2026).
            "offline-access-in-prm",
            "offline-access-in-challenge",
            "no-iss",
            // Client-credentials tokens (--extension client-credentials): MCPJam has no machine grant.
            "machine-token-skips-audience",
            "machine-token-all-scopes",
            // The AS's JWT-assertion duties (--extension wif, enterprise-managed, client-credentials).
            "assertion-token-ignores-resource",
            "wif-accept-wrong-audience",
            "wif-accept-expired",
            "wif-accept-replayed-jti",
            "wif-accept-untrusted-key",
            "wif-accept-missing-exp",
            "wif-accept-missing-jti",
            "wif-accept-alg-none",
            "jag-accept-wrong-audience",
            "jag-accept-expired",
            "jag-accept-replayed-jti",
            "jag-accept-untrusted-signer",
            "jag-accept-wrong-typ",
            "jag-accept-other-client",
            "jag-ignore-resource-mismatch",
            "cc-accept-wrong-audience",
            "cc-accept-expired-assertion",
            "cc-accept-replayed-jti",
            "cc-accept-untrusted-key",
            "cc-accept-mismatched-subject",
            // DPoP and client credentials at the AS (--extension): the self-test shows them in the extensions mode.
            // Four names are also server defects': each name stands once per defect.
            "dpop-unbound-token",
            "dpop-skip-signature",
            "dpop-skip-htm",
            "dpop-skip-htu",
            "dpop-skip-iat",
            "dpop-allow-replay",
            "dpop-accept-private-key",
            "dpop-accept-weak-alg",
            "dpop-refresh-not-bound",
            "dpop-nonce-unchecked",
            "cc-public-client",
            "cc-any-scope",
            "cc-ignore-resource",
            "cc-refresh-token",
            // The 2025-03-26 shape of the reference server (selftest::DEFECT_MODES, 2025-03-26 only).
            "march-metadata-at-mcp-path",
            "march-issuer-with-path",
            "march-no-default-endpoints",
        ];
        assert_eq!(
            all.len(),
            1 + ServerDefect::ALL.len() + AsDefect::ALL.len() - elsewhere.len()
        );
        assert!(all
            .iter()
            .all(|s| !s.defect().is_some_and(|d| elsewhere.contains(&d))));
        let keys: std::collections::BTreeSet<String> = all.iter().map(Subject::key).collect();
        assert_eq!(keys.len(), all.len());
        for s in &all {
            assert_eq!(Subject::parse(&s.key()), Some(*s));
        }
    }

    #[test]
    fn an_introspection_only_server_defect_runs_the_server_in_introspection_mode() {
        let s = Subject::Server(ServerDefect::IgnoreIntrospectionActive);
        assert_eq!(s.server_mode(), ValidationMode::Introspection);
        assert_eq!(
            Subject::Server(ServerDefect::SkipAudienceCheck).server_mode(),
            ValidationMode::Jwt
        );
    }

    #[test]
    fn every_defect_is_caught_by_at_least_one_of_our_checks_per_the_self_test_data() {
        for s in Subject::all()
            .into_iter()
            .filter(|s| *s != Subject::Reference)
        {
            assert!(
                !s.caught_by_us().is_empty(),
                "{} caught by none of our checks",
                s.key()
            );
        }
    }

    #[test]
    fn caught_by_us_lists_the_checks_a_defect_fails() {
        let ids = Subject::Server(ServerDefect::SkipAudienceCheck).caught_by_us();
        assert!(ids.contains(&"RS-AUD-01.missing".to_owned()), "{ids:?}");
        assert!(Subject::Reference.caught_by_us().is_empty());
    }

    #[test]
    fn the_committed_peer_expectation_lists_every_subject_with_a_reason() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(DEFAULT_EXPECTED);
        let e = PeerExpectation::load(&path).unwrap();
        for s in Subject::all() {
            assert!(
                e.entries.contains_key(&s.key()),
                "{} is not in {DEFAULT_EXPECTED}",
                s.key()
            );
        }
        assert_eq!(e.entries["reference"].outcome, Outcome::Pass);
    }

    #[test]
    fn an_entry_for_no_defect_is_refused_as_stale() {
        let text = EXPECTED.replace("skip-audience-check", "no-such-defect");
        let err = PeerExpectation::parse(&text).unwrap_err();
        assert!(
            err.contains("server/no-such-defect: no such defect"),
            "{err}"
        );
    }

    #[test]
    fn a_fail_entry_without_the_failing_flows_is_refused() {
        let text = EXPECTED.replace("at = [\"dcr:oauth_invalid_token\"]\n", "");
        let err = PeerExpectation::parse(&text).unwrap_err();
        assert!(err.contains("needs `at`"), "{err}");
    }

    #[test]
    fn an_entry_without_a_reason_is_refused() {
        let text = EXPECTED.replace("reason = \"MCPJam forges no token\"", "reason = \" \"");
        assert!(PeerExpectation::parse(&text)
            .unwrap_err()
            .contains("no reason"));
    }

    #[test]
    fn observed_outcomes_equal_to_the_expectation_compare_clean() {
        let r = as_expected();
        assert_eq!(compare(&r, &expected(), true), Vec::<String>::new());
    }

    #[test]
    fn a_defect_mcpjam_stops_catching_is_a_difference() {
        let r = results(vec![run(
            "server/accept-malformed-token",
            &["X"],
            Outcome::Pass,
            &[],
        )]);
        let d = compare(&r, &expected(), false);
        assert_eq!(d.len(), 1);
        assert!(d[0].starts_with("server/accept-malformed-token: MCPJam passed, expected fail at dcr:oauth_invalid_token"), "{d:?}");
    }

    #[test]
    fn a_catch_at_another_step_is_a_difference() {
        let r = results(vec![run(
            "server/accept-malformed-token",
            &["X"],
            Outcome::Fail,
            &["dcr:authenticated_mcp_request"],
        )]);
        assert_eq!(compare(&r, &expected(), false).len(), 1);
    }

    #[test]
    fn a_run_without_a_verdict_never_matches_an_expectation() {
        let mut r = run("reference", &[], Outcome::Error, &[]);
        r.mcpjam.message = "no verdict from the judge within 60 s".into();
        let d = compare(&results(vec![r]), &expected(), false);
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("gave no verdict"), "{d:?}");
    }

    #[test]
    fn a_request_off_loopback_is_a_difference_even_when_the_outcome_matches() {
        let mut r = run("reference", &[], Outcome::Pass, &[]);
        r.mcpjam.off_loopback = vec!["us.i.posthog.com".into()];
        let d = compare(&results(vec![r]), &expected(), false);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].contains("off loopback (refused by the judge): us.i.posthog.com"),
            "{d:?}"
        );
    }

    #[test]
    fn another_judge_version_is_a_difference() {
        let mut r = results(vec![run("reference", &[], Outcome::Pass, &[])]);
        r.judge = "@mcpjam/sdk 1.15.0 OAuthConformanceTest".into();
        let d = compare(&r, &expected(), false);
        assert_eq!(
            d,
            ["the judge is @mcpjam/sdk 1.15.0 OAuthConformanceTest, but the expectation was reviewed for @mcpjam/sdk 1.14.0 OAuthConformanceTest"]
        );
    }

    #[test]
    fn a_subject_the_expectation_lacks_is_a_difference() {
        let r = results(vec![run(
            "authz/drop-state",
            &["X"],
            Outcome::Fail,
            &["dcr:received_authorization_code"],
        )]);
        let d = compare(&r, &expected(), false);
        assert!(d[0].contains("does not list it"), "{d:?}");
    }

    #[test]
    fn an_expected_subject_a_complete_run_lacks_is_stale() {
        let r = results(vec![run("reference", &[], Outcome::Pass, &[])]);
        assert_eq!(compare(&r, &expected(), false), Vec::<String>::new());
        assert_eq!(compare(&r, &expected(), true).len(), 2);
    }

    fn line(json: serde_json::Value) -> JudgeLine {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_judge_line_with_every_flow_passed_is_a_pass() {
        let l = line(
            serde_json::json!({"id": "reference", "passed": true, "flows": [
            {"strategy": "dcr", "passed": true, "steps": [{"step": "complete", "status": "passed"}]}]}),
        );
        assert_eq!(observe(&l, &["dcr"], 5).outcome, Outcome::Pass);
    }

    #[test]
    fn a_failed_flow_is_a_catch_at_its_first_failed_step() {
        let l = line(serde_json::json!({"id": "x", "passed": false, "flows": [
            {"strategy": "dcr", "passed": true, "steps": []},
            {"strategy": "cimd", "passed": false, "steps": [
                {"step": "received_authorization_server_metadata", "status": "failed", "error": "no CIMD"},
                {"step": "complete", "status": "failed"}]}]}));
        let o = observe(&l, &["dcr", "cimd"], 5);
        assert_eq!(o.outcome, Outcome::Fail);
        assert_eq!(o.failed, ["cimd:received_authorization_server_metadata"]);
        assert_eq!(o.message, "no CIMD");
    }

    #[test]
    fn a_judge_line_missing_a_requested_strategy_is_an_error_not_a_pass() {
        let l = line(serde_json::json!({"id": "x", "passed": true, "flows": [
            {"strategy": "dcr", "passed": true, "steps": []}]}));
        assert_eq!(observe(&l, &["dcr", "cimd"], 5).outcome, Outcome::Error);
    }

    #[test]
    fn a_crashed_flow_is_an_error_not_a_catch() {
        let l = line(serde_json::json!({"id": "x", "passed": false, "flows": [
            {"strategy": "dcr", "passed": false, "crashed": true, "summary": "TypeError", "steps": []}]}));
        assert_eq!(observe(&l, &["dcr"], 5).outcome, Outcome::Error);
    }

    #[test]
    fn a_jwt_in_a_judge_message_is_masked_and_the_message_is_bounded() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVz";
        let l = line(
            serde_json::json!({"id": "x", "flows": [{"strategy": "dcr", "passed": false, "steps": [
            {"step": "token_request", "status": "failed",
             "error": format!("token {jwt} refused {}", "x".repeat(5000))}]}]}),
        );
        let o = observe(&l, &["dcr"], 5);
        assert!(!o.message.contains(jwt), "{}", o.message);
        assert!(o.message.contains("[redacted JWT"), "{}", o.message);
        assert!(o.message.len() <= TEXT_CAP, "{}", o.message.len());
    }

    #[test]
    fn the_markdown_section_escapes_what_the_judge_said() {
        let mut r = run(
            "server/accept-malformed-token",
            &["RS-TOK-03"],
            Outcome::Fail,
            &["dcr:oauth_invalid_token"],
        );
        r.mcpjam.outcome = Outcome::Error;
        r.mcpjam.message = "| forged | cell <script>\n# heading".into();
        let md = markdown_section(&results(vec![r]), &expected());
        assert!(
            md.contains(r"\| forged \| cell &lt;script&gt;\\n\# heading"),
            "{md}"
        );
        assert!(!md.contains("<script>"), "{md}");
    }

    #[test]
    fn the_markdown_section_has_one_row_per_subject_with_both_sides() {
        let r = as_expected();
        let md = markdown_section(&r, &expected());
        assert!(md.contains("## Peer agreement (MCPJam)"));
        assert!(md.contains("| server `accept-malformed-token` | d | ✅ 1: RS-TOK-03 | ✅ dcr:oauth_invalid_token | MCPJam sends `Bearer invalid-access-token` |"), "{md}");
        assert!(md.contains("| server `skip-audience-check` | d | ✅ 1: RS-AUD-02 | ➖ no | MCPJam forges no token |"), "{md}");
        assert!(
            md.contains("2 defects: caught by us 2, by MCPJam 1 (both 1, MCPJam alone 0)"),
            "{md}"
        );
    }

    #[test]
    fn counts_separate_agreement_from_a_catch_by_mcpjam_alone() {
        let r = results(vec![
            run("reference", &[], Outcome::Pass, &[]),
            run("server/a", &["X"], Outcome::Fail, &["dcr:s"]),
            run("server/b", &[], Outcome::Fail, &["dcr:s"]),
            run("authz/c", &["Y"], Outcome::Pass, &[]),
            run("authz/d", &["Y"], Outcome::Error, &[]),
        ]);
        let c = r.counts();
        assert_eq!(
            c,
            Counts {
                defects: 4,
                caught_by_us: 3,
                caught_by_mcpjam: 2,
                agreement: 1,
                mcpjam_only: 1,
                errors: 1
            }
        );
    }

    #[tokio::test]
    async fn a_long_line_is_cut_and_the_next_line_still_read() {
        let data = format!("{}\nnext\n", "a".repeat(100));
        let mut lines = Lines::new(data.as_bytes(), 10);
        let (first, cut) = lines.next().await.unwrap();
        assert!(cut);
        assert!(first.len() <= 10);
        assert_eq!(lines.next().await.unwrap(), ("next".to_owned(), false));
        assert_eq!(lines.next().await, None);
    }

    fn opts(judge: &str, deadline: Duration) -> PeerOptions {
        PeerOptions {
            judge: judge.to_owned(),
            subjects: vec![Subject::Reference],
            jobs: 1,
            deadline,
            step_timeout: Duration::from_secs(1),
        }
    }

    #[tokio::test]
    async fn a_judge_that_never_answers_is_an_error_after_the_deadline_never_a_pass() {
        // Reads its jobs and says nothing (`cat` to /dev/null), until its input closes.
        let r = super::run(
            &opts("cat >/dev/null; :", Duration::from_millis(300)),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(r.runs[0].mcpjam.outcome, Outcome::Error);
        assert!(
            r.runs[0]
                .mcpjam
                .message
                .contains("no verdict from the judge within"),
            "{:?}",
            r.runs[0].mcpjam
        );
    }

    #[tokio::test]
    async fn a_judge_that_exits_is_an_error_naming_its_last_words() {
        let r = super::run(
            &opts(
                "echo 'cannot load the SDK' >&2; exit 1; :",
                Duration::from_secs(20),
            ),
            |_| {},
        )
        .await
        .unwrap();
        let o = &r.runs[0].mcpjam;
        assert_eq!(o.outcome, Outcome::Error);
        assert!(o.message.contains("exited without answering"), "{o:?}");
        assert!(o.message.contains("cannot load the SDK"), "{o:?}");
    }

    #[tokio::test]
    async fn a_run_asked_of_a_judge_already_gone_is_an_error_at_once() {
        let o = opts(
            "echo 'cannot load the SDK' >&2; exit 1; :",
            Duration::from_secs(60),
        );
        let judge = Judge::start(&o).unwrap();
        let mut gone = judge.gone.clone();
        gone.wait_for(|g| *g).await.unwrap();
        let started = Instant::now();
        let answer = judge
            .ask("reference", "http://127.0.0.1:1/mcp", &["dcr"], o.deadline)
            .await;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "waited for the deadline"
        );
        let err = answer.unwrap_err();
        assert!(err.contains("exited without answering"), "{err}");
        assert!(err.contains("cannot load the SDK"), "{err}");
        judge.stop().await;
    }

    #[tokio::test]
    async fn a_judge_answer_reaches_the_run_that_asked_for_it() {
        // A stand-in judge: answers every job with a pass for the dcr flow, echoing the job's id.
        let judge = r#"while IFS= read -r job; do id=$(printf '%s' "$job" | sed 's/.*"id":"\([^"]*\)".*/\1/'); printf '{"id":"%s","judge":"stand-in","flows":[{"strategy":"dcr","passed":true,"steps":[]},{"strategy":"cimd","passed":true,"steps":[]},{"strategy":"preregistered","passed":true,"steps":[]}]}\n' "$id"; done; :"#;
        let r = super::run(&opts(judge, Duration::from_secs(20)), |_| {})
            .await
            .unwrap();
        assert_eq!(
            r.runs[0].mcpjam.outcome,
            Outcome::Pass,
            "{:?}",
            r.runs[0].mcpjam
        );
        assert_eq!(r.judge, "stand-in");
    }
}
