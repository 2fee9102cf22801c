//! The report model: one canonical, schema-versioned record of a conformance run.
//!
//! Everything a reader needs is here; renderers (`crate::render`) are pure functions of a [`Report`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped whenever a field changes meaning or disappears. Adding optional fields does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// The MCP specification revision the suite scores against.
pub const SPEC_REVISION: &str = "2025-11-25";

/// The role the target plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An MCP server acting as an OAuth protected resource.
    Server,
    /// An MCP client acting as an OAuth public client.
    Client,
    /// An authorization server used with MCP.
    Authz,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Server, Role::Client, Role::Authz];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
            Role::Authz => "authz",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}` (expected server, client or authz)"))
    }
}

/// The BCP 14 strength of the requirement a check scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// MUST / MUST NOT (and derived MUST*): a violation is `FAIL`.
    Must,
    /// SHOULD / SHOULD NOT: a violation is `WARN` (`FAIL` under `--strict`).
    Should,
    /// MAY or informative guidance: a violation is `INFO`.
    May,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }

    /// The verdict a violation of a requirement at this level earns.
    pub fn violation(self) -> Verdict {
        match self {
            Level::Must => Verdict::Fail,
            Level::Should => Verdict::Warn,
            Level::May => Verdict::Info,
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    /// The target met the requirement.
    Pass,
    /// A MUST was violated.
    Fail,
    /// A SHOULD was violated.
    Warn,
    /// Informational; never fails a run.
    Info,
    /// Not applicable to this target, with the reason in the message.
    Skip,
    /// The target could not be evaluated (timeout, unreachable, prerequisite failed). Counts against the target.
    Error,
    /// A bug in the suite; never blamed on the target.
    HarnessError,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Warn,
        Verdict::Info,
        Verdict::Skip,
        Verdict::Error,
        Verdict::HarnessError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Warn => "WARN",
            Verdict::Info => "INFO",
            Verdict::Skip => "SKIP",
            Verdict::Error => "ERROR",
            Verdict::HarnessError => "HARNESS_ERROR",
        }
    }

    /// Whether this verdict fails a run (before baselines are applied).
    pub fn is_failure(self, strict: bool) -> bool {
        match self {
            Verdict::Fail | Verdict::Error | Verdict::HarnessError => true,
            Verdict::Warn => strict,
            Verdict::Pass | Verdict::Info | Verdict::Skip => false,
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Verdict {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Verdict::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown verdict `{s}`"))
    }
}

/// The canonical record of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    pub schema_version: u32,
    pub run: RunInfo,
    pub summary: Summary,
    pub checks: Vec<CheckResult>,
    /// Every HTTP exchange the checks cite, stored once and referenced by id.
    pub exchanges: Vec<Exchange>,
}

impl Report {
    /// Builds a report and computes its summary from the checks.
    pub fn new(run: RunInfo, checks: Vec<CheckResult>, exchanges: Vec<Exchange>) -> Self {
        let summary = Summary::of(&checks, run.strict);
        Report {
            schema_version: SCHEMA_VERSION,
            run,
            summary,
            checks,
            exchanges,
        }
    }

    /// Looks up a check result by id.
    pub fn check(&self, id: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Looks up an exchange by id.
    pub fn exchange(&self, id: &str) -> Option<&Exchange> {
        self.exchanges.iter().find(|e| e.id == id)
    }
}

/// What was run, against what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunInfo {
    pub suite_version: String,
    pub spec_revision: String,
    pub role: Role,
    pub target: TargetInfo,
    /// The target profile's name (and file, when one was given).
    pub profile: String,
    /// `local` when every target URL is loopback http (https not verifiable), `https` otherwise.
    pub tls_profile: String,
    /// `--strict`: SHOULD violations fail the run.
    pub strict: bool,
    /// RFC 3339 timestamps.
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// The seed every random value of the run came from.
    pub seed: u64,
    /// Facts the run observed that readers need (e.g. "token validation: jwt (observed)").
    pub notes: Vec<String>,
}

impl RunInfo {
    #[allow(clippy::too_many_arguments)]
    pub fn new(role: Role, target: TargetInfo, profile: impl Into<String>) -> Self {
        RunInfo {
            suite_version: String::new(),
            spec_revision: SPEC_REVISION.to_owned(),
            role,
            target,
            profile: profile.into(),
            tls_profile: "local".to_owned(),
            strict: false,
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            seed: 0,
            notes: Vec::new(),
        }
    }
}

/// The target under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TargetInfo {
    /// `bundled`, `url` or `command`.
    pub kind: String,
    /// The URL the suite addressed (MCP endpoint, issuer, or the fake server handed to a client).
    pub url: Option<String>,
    /// The command line, for spawned targets.
    pub command: Option<String>,
    /// The defect applied to a bundled reference target, if any.
    pub defect: Option<String>,
}

impl TargetInfo {
    pub fn new(kind: impl Into<String>) -> Self {
        TargetInfo {
            kind: kind.into(),
            url: None,
            command: None,
            defect: None,
        }
    }
}

/// Counts by level × verdict, and the run's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    pub total: usize,
    pub by_verdict: BTreeMap<Verdict, usize>,
    pub by_level: BTreeMap<Level, BTreeMap<Verdict, usize>>,
    /// Failing verdicts not covered by an expected-failures baseline entry.
    pub unexpected_failures: usize,
    /// Baseline entries whose check did not fail (the baseline is stale).
    pub stale_baseline: Vec<String>,
    /// `passed` or `failed`.
    pub outcome: Outcome,
}

/// The run's overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
}

impl Summary {
    /// Computes the summary. A run where no check applied (everything skipped, or no checks) fails.
    pub fn of(checks: &[CheckResult], strict: bool) -> Self {
        let mut by_verdict = BTreeMap::new();
        let mut by_level: BTreeMap<Level, BTreeMap<Verdict, usize>> = BTreeMap::new();
        let mut unexpected = 0;
        let mut stale = Vec::new();
        for c in checks {
            *by_verdict.entry(c.verdict).or_insert(0) += 1;
            *by_level
                .entry(c.level)
                .or_default()
                .entry(c.verdict)
                .or_insert(0) += 1;
            let failing = c.verdict.is_failure(strict);
            match (&c.expected_failure, failing) {
                (None, true) => unexpected += 1,
                (Some(_), false) => stale.push(c.id.clone()),
                _ => {}
            }
        }
        let applied = checks.iter().any(|c| c.verdict != Verdict::Skip);
        let outcome = if unexpected == 0 && stale.is_empty() && applied {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        Summary {
            total: checks.len(),
            by_verdict,
            by_level,
            unexpected_failures: unexpected,
            stale_baseline: stale,
            outcome,
        }
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.by_verdict.get(&verdict).copied().unwrap_or(0)
    }
}

/// The verdict of one check with its proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CheckResult {
    /// Catalog ID plus a variant slug where one row has several stimuli, e.g. `RS-JWT-03.none`.
    pub id: String,
    pub title: String,
    pub role: Role,
    pub level: Level,
    pub verdict: Verdict,
    pub spec_refs: Vec<String>,
    pub expected: String,
    pub actual: String,
    pub message: String,
    /// Ids of the exchanges that prove the verdict.
    pub evidence: Vec<String>,
    pub duration_ms: u64,
    /// The reason from the expected-failures baseline, when this check is listed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
}

impl CheckResult {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        role: Role,
        level: Level,
        verdict: Verdict,
        spec_refs: Vec<String>,
    ) -> Self {
        CheckResult {
            id: id.into(),
            title: title.into(),
            role,
            level,
            verdict,
            spec_refs,
            expected: String::new(),
            actual: String::new(),
            message: String::new(),
            evidence: Vec::new(),
            duration_ms: 0,
            expected_failure: None,
        }
    }
}

/// One HTTP request and its response (or the error that stopped it). Secrets are already redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Exchange {
    /// Stable within a run: `<scenario>#<n>`.
    pub id: String,
    /// What the exchange was for, in a few words.
    pub purpose: String,
    pub request: HttpRequest,
    pub response: Option<HttpResponse>,
    /// Transport error, timeout or body-cap violation, when there is no complete response.
    pub error: Option<String>,
    pub duration_ms: u64,
    /// Tokens that appeared in the exchange, redacted and (for JWTs) decoded.
    pub tokens: Vec<TokenEvidence>,
}

/// A recorded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl HttpRequest {
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        HttpRequest {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// A recorded response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8), cut at the recording cap.
    pub body: Option<String>,
    /// True when the body was longer than the recording cap.
    pub body_truncated: bool,
}

impl HttpResponse {
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: None,
            body_truncated: false,
        }
    }
}

/// A token as evidence: never the value itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenEvidence {
    /// `prefix…suffix` of the value.
    pub redacted: String,
    pub length: usize,
    /// Lowercase hex SHA-256 of the full value, so two reports can prove the same token appeared.
    pub sha256: String,
    /// Decoded JOSE header, when the token is a JWT.
    pub jwt_header: Option<serde_json::Value>,
    /// Decoded claims, when the token is a JWT.
    pub jwt_claims: Option<serde_json::Value>,
}

impl TokenEvidence {
    pub fn new(redacted: String, length: usize, sha256: String) -> Self {
        TokenEvidence {
            redacted,
            length,
            sha256,
            jwt_header: None,
            jwt_claims: None,
        }
    }
}
