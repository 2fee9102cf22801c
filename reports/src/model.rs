//! The report model: one canonical, schema-versioned record of a conformance run.
//!
//! Everything a reader needs is here; renderers (`crate::render`) are pure functions of a [`Report`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped whenever a field changes meaning or disappears. Adding optional fields does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// The MCP specification revision the suite scores against.
pub const SPEC_REVISION: &str = "2025-11-25";

mcp_auth_defects::variants! {
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
}

impl Role {
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

mcp_auth_defects::variants! {
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
}

impl Level {
    /// The BCP 14 keyword.
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

mcp_auth_defects::variants! {
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
}

impl Verdict {
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
    /// Each run of a target the suite spawned per scenario (the client role: one per scenario), with how it
    /// ended and the end of what it printed. Empty (and absent from the JSON) for roles that spawn nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_runs: Vec<TargetRun>,
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
            target_runs: Vec::new(),
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

    /// Looks up the target run of a scenario.
    pub fn target_run(&self, scenario: &str) -> Option<&TargetRun> {
        self.target_runs.iter().find(|r| r.scenario == scenario)
    }
}

/// What was run, against what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunInfo {
    pub suite_version: String,
    pub spec_revision: String,
    /// The optional extensions the run opted into (`--extension`), by name; empty when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    pub role: Role,
    pub target: TargetInfo,
    /// The target profile's name (and file, when one was given).
    pub profile: String,
    /// How the target was reached: over https, over loopback http, or over plain http to another host.
    pub tls_profile: TlsProfile,
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
    /// Run info with the current spec revision, `local` TLS profile and everything else empty or zero.
    pub fn new(role: Role, target: TargetInfo, profile: impl Into<String>) -> Self {
        RunInfo {
            suite_version: String::new(),
            spec_revision: SPEC_REVISION.to_owned(),
            extensions: Vec::new(),
            role,
            target,
            profile: profile.into(),
            tls_profile: TlsProfile::Local,
            strict: false,
            started_at: String::new(),
            finished_at: String::new(),
            duration_ms: 0,
            seed: 0,
            notes: Vec::new(),
        }
    }
}

/// How the suite reached the target, serialized as `https`, `local` or `insecure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsProfile {
    /// The target's URL is https.
    Https,
    /// Plain http to a loopback host (127.0.0.0/8, `[::1]`, `localhost`), which the local-testing rule allows;
    /// the https requirements cannot be verified.
    Local,
    /// Plain http to a host that is not loopback: the target is reachable without TLS.
    Insecure,
}

impl TlsProfile {
    /// `https`, `local` or `insecure`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsProfile::Https => "https",
            TlsProfile::Local => "local",
            TlsProfile::Insecure => "insecure",
        }
    }
}

impl std::fmt::Display for TlsProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of target the suite ran against, serialized as `bundled`, `url` or `command`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A reference target bundled with the suite (optionally with one defect).
    Bundled,
    /// An already-running target the suite reached at a URL.
    Url,
    /// A target the suite spawned from a command line.
    Command,
}

impl TargetKind {
    /// `bundled`, `url` or `command`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Bundled => "bundled",
            TargetKind::Url => "url",
            TargetKind::Command => "command",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The target under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TargetInfo {
    pub kind: TargetKind,
    /// The URL the suite addressed (MCP endpoint, issuer, or the fake server handed to a client).
    pub url: Option<String>,
    /// The command line, for spawned targets.
    pub command: Option<String>,
    /// The defect applied to a bundled reference target, if any.
    pub defect: Option<String>,
}

impl TargetInfo {
    pub fn new(kind: TargetKind) -> Self {
        TargetInfo {
            kind,
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
    /// No unexpected failure, no stale baseline entry, and at least one check applied.
    Passed,
    /// Anything else.
    Failed,
}

impl Outcome {
    /// `passed` or `failed`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Summary {
    /// How many checks at `level` earned `verdict`.
    pub fn count_at(&self, level: Level, verdict: Verdict) -> usize {
        self.by_level
            .get(&level)
            .and_then(|m| m.get(&verdict))
            .copied()
            .unwrap_or(0)
    }

    /// Whether the run passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// Computes the summary. A run where no check applied (everything skipped, or no checks) fails.
    pub fn of(checks: &[CheckResult], strict: bool) -> Self {
        let mut by_verdict = BTreeMap::new();
        let mut by_level: BTreeMap<Level, BTreeMap<Verdict, usize>> = BTreeMap::new();
        let mut unexpected = 0;
        let mut stale = Vec::new();
        for c in checks {
            if c.is_unexpected_failure(strict) {
                unexpected += 1;
            } else if c.is_stale_baseline(strict) {
                stale.push(c.id.clone());
            }
            *by_verdict.entry(c.verdict).or_insert(0) += 1;
            *by_level
                .entry(c.level)
                .or_default()
                .entry(c.verdict)
                .or_insert(0) += 1;
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

    /// How many checks earned `verdict`.
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
    /// What to change when the check does not pass (the catalog row's remediation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// Product-specific hints for the check's catalog row, where the interop matrix showed a product failing it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdk_notes: Vec<SdkNote>,
    /// Ids of the exchanges that prove the verdict.
    pub evidence: Vec<String>,
    /// The evidence exchanges that show the violation itself (a subset of `evidence`); the others are context,
    /// such as a correctly refused request cited beside the one that was served. Empty when the check does not
    /// single any out (and always for a check that passed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offending: Vec<String>,
    /// The scenarios the verdict depends on (client role), naming their [`Report::target_runs`] entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<String>,
    pub duration_ms: u64,
    /// The reason from the expected-failures baseline, when this check is listed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failure: Option<String>,
    /// For an `ERROR`: the checks of this same run whose failure (`FAIL` or `ERROR`) is why this one could not be
    /// judged, e.g. `RS-PRM-01` when no PRM document was obtained; the root cause of a cascade. Filled from what
    /// the run observed, never from message text; empty when nothing failed first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
}

impl CheckResult {
    /// A result with empty expected/actual/message, no evidence and no baseline entry.
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
            remediation: None,
            sdk_notes: Vec::new(),
            evidence: Vec::new(),
            offending: Vec::new(),
            scenarios: Vec::new(),
            duration_ms: 0,
            expected_failure: None,
            blocked_by: Vec::new(),
        }
    }

    /// The catalog area: the id up to its second `-` (`RS-JWT-03.none` → `RS-JWT`), or up to its first `-`
    /// when there is only one (`CL-01` → `CL`), or the whole id.
    pub fn area(&self) -> &str {
        let mut dashes = self.id.match_indices('-').map(|(i, _)| i);
        match (dashes.next(), dashes.next()) {
            (_, Some(second)) => &self.id[..second],
            (Some(first), None) => &self.id[..first],
            (None, None) => &self.id,
        }
    }

    /// Whether this result fails a run before the baseline is applied (see [`Verdict::is_failure`]).
    pub fn is_failure(&self, strict: bool) -> bool {
        self.verdict.is_failure(strict)
    }

    /// Whether this result fails the run: failing and not covered by an expected-failures baseline entry.
    pub fn is_unexpected_failure(&self, strict: bool) -> bool {
        self.is_failure(strict) && self.expected_failure.is_none()
    }

    /// Whether an evidence exchange is the one showing the violation (see [`CheckResult::offending`]).
    pub fn is_offending(&self, exchange: &str) -> bool {
        self.offending.iter().any(|o| o == exchange)
    }

    /// Whether this result is listed in the baseline but did not fail (the entry is stale).
    pub fn is_stale_baseline(&self, strict: bool) -> bool {
        !self.is_failure(strict) && self.expected_failure.is_some()
    }
}

/// A product-specific hint for fixing a check's catalog row: how one SDK or product is configured to meet it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SdkNote {
    /// The product, e.g. `Python mcp SDK`.
    pub sdk: String,
    /// What to configure or change in that product.
    pub note: String,
    /// Where the hint can be checked: the product source or documentation it was verified against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl SdkNote {
    pub fn new(sdk: impl Into<String>, note: impl Into<String>, source: Option<String>) -> Self {
        SdkNote {
            sdk: sdk.into(),
            note: note.into(),
            source,
        }
    }
}

/// One run of a spawned target: the client under test in one scenario.
///
/// `output` is what the target printed, so it is hostile: it is bounded, secrets the suite saw in the
/// scenario's exchanges are redacted before it is stored, and every renderer escapes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TargetRun {
    /// The scenario the target ran, e.g. `auth/metadata-default`.
    pub scenario: String,
    /// How the process ended, in words: `exited with code 1`, `still running after 20s; killed`.
    pub exit: String,
    /// The exit code when the process exited on its own; `null` when it was killed or never started.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// The end of its stdout and stderr, interleaved line by line in arrival order: at most
    /// [`TargetRun::OUTPUT_CAP`] bytes, secrets redacted, otherwise raw (control characters included).
    pub output: String,
    /// True when earlier output was cut off to keep within the cap.
    pub output_truncated: bool,
}

impl TargetRun {
    /// The most output a run keeps, in bytes (the end of the output is kept).
    pub const OUTPUT_CAP: usize = 16 * 1024;

    /// A run with no exit code, duration or output yet.
    pub fn new(scenario: impl Into<String>, exit: impl Into<String>) -> Self {
        TargetRun {
            scenario: scenario.into(),
            exit: exit.into(),
            exit_code: None,
            duration_ms: 0,
            output: String::new(),
            output_truncated: false,
        }
    }

    /// Whether the process exited on its own with code 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
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
    /// The secrets of at least 32 characters found in the exchange (tokens, codes, client secrets): masked,
    /// hashed and, for JWTs, decoded.
    pub tokens: Vec<TokenEvidence>,
}

impl Exchange {
    /// An exchange without response, error, tokens or duration yet.
    pub fn new(id: impl Into<String>, purpose: impl Into<String>, request: HttpRequest) -> Self {
        Exchange {
            id: id.into(),
            purpose: purpose.into(),
            request,
            response: None,
            error: None,
            duration_ms: 0,
            tokens: Vec::new(),
        }
    }
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
    /// The mask shown for the value: its length and a SHA-256 prefix, nothing of the value itself.
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

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    /// A check `id` at `level` with `verdict`, listed in the baseline when `baseline` is true.
    fn check(id: &str, level: Level, verdict: Verdict, baseline: bool) -> CheckResult {
        let mut c = CheckResult::new(id, "t", Role::Server, level, verdict, Vec::new());
        c.expected_failure = baseline.then(|| "known".to_owned());
        c
    }

    use Level::{Must, Should};
    use Verdict::{Error, Fail, HarnessError, Info, Pass, Skip, Warn};

    #[rstest]
    #[case::all_pass(&[(Must, Pass, false), (Should, Pass, false)], false, 0, &[], Outcome::Passed)]
    #[case::one_fail(&[(Must, Pass, false), (Must, Fail, false)], false, 1, &[], Outcome::Failed)]
    #[case::error_and_harness_error_count(&[(Must, Error, false), (Must, HarnessError, false), (Must, Pass, false)], false, 2, &[], Outcome::Failed)]
    #[case::baselined_fail_is_expected(&[(Must, Fail, true), (Must, Pass, false)], false, 0, &[], Outcome::Passed)]
    #[case::baselined_error_is_expected(&[(Must, Error, true), (Must, Pass, false)], false, 0, &[], Outcome::Passed)]
    #[case::stale_baseline_fails(&[(Must, Pass, true)], false, 0, &["C-0"], Outcome::Failed)]
    #[case::warn_passes_by_default(&[(Should, Warn, false), (Must, Pass, false)], false, 0, &[], Outcome::Passed)]
    #[case::strict_warn_fails(&[(Should, Warn, false), (Must, Pass, false)], true, 1, &[], Outcome::Failed)]
    #[case::strict_baselined_warn_is_expected(&[(Should, Warn, true), (Must, Pass, false)], true, 0, &[], Outcome::Passed)]
    #[case::baselined_warn_is_stale_without_strict(&[(Should, Warn, true)], false, 0, &["C-0"], Outcome::Failed)]
    #[case::info_and_skip_do_not_fail(&[(Level::May, Info, false), (Must, Skip, false), (Must, Pass, false)], false, 0, &[], Outcome::Passed)]
    #[case::info_alone_applies(&[(Level::May, Info, false)], false, 0, &[], Outcome::Passed)]
    #[case::all_skip_fails(&[(Must, Skip, false), (Should, Skip, false)], false, 0, &[], Outcome::Failed)]
    #[case::empty_run_fails(&[], false, 0, &[], Outcome::Failed)]
    fn summary_outcome(
        #[case] checks: &[(Level, Verdict, bool)],
        #[case] strict: bool,
        #[case] unexpected: usize,
        #[case] stale: &[&str],
        #[case] outcome: Outcome,
    ) {
        let checks: Vec<_> = checks
            .iter()
            .enumerate()
            .map(|(i, &(l, v, b))| check(&format!("C-{i}"), l, v, b))
            .collect();
        let s = Summary::of(&checks, strict);
        assert_eq!(s.unexpected_failures, unexpected, "unexpected failures");
        assert_eq!(s.stale_baseline, stale, "stale baseline");
        assert_eq!(s.outcome, outcome, "outcome");
        assert_eq!(s.total, checks.len());
    }

    #[test]
    fn summary_counts_by_level_and_verdict() {
        let checks = [
            check("A-1", Must, Pass, false),
            check("A-2", Must, Pass, false),
            check("A-3", Must, Fail, false),
            check("A-4", Should, Warn, false),
            check("A-5", Level::May, Info, false),
        ];
        let s = Summary::of(&checks, false);
        assert_eq!(s.count(Pass), 2);
        assert_eq!(s.count(Fail), 1);
        assert_eq!(s.count(Skip), 0);
        assert_eq!(s.count_at(Must, Pass), 2);
        assert_eq!(s.count_at(Must, Fail), 1);
        assert_eq!(s.count_at(Should, Warn), 1);
        assert_eq!(s.count_at(Should, Pass), 0);
        assert_eq!(s.count_at(Level::May, Info), 1);
        assert_eq!(s.by_verdict.values().sum::<usize>(), 5);
    }

    #[rstest]
    #[case::variant("RS-JWT-03.none", "RS-JWT")]
    #[case::plain("AS-PKCE-01", "AS-PKCE")]
    #[case::one_dash("CL-01", "CL")]
    #[case::no_dash("SMOKE", "SMOKE")]
    fn area_is_id_prefix(#[case] id: &str, #[case] area: &str) {
        assert_eq!(check(id, Must, Pass, false).area(), area);
    }

    #[rstest]
    #[case::role("server", Role::Server)]
    #[case::authz("authz", Role::Authz)]
    fn role_parses(#[case] s: &str, #[case] role: Role) {
        assert_eq!(s.parse::<Role>(), Ok(role));
        assert_eq!(role.to_string(), s);
    }

    #[test]
    fn verdict_strings_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(v.as_str().parse::<Verdict>(), Ok(v));
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
        }
    }
}
