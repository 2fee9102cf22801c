//! Proving the suite right: the compliant reference passes, every check is killed by some defect, and no
//! defect changes a verdict the expectation data does not list.

use std::collections::BTreeMap;
use std::path::PathBuf;

use futures::stream::{self, StreamExt};
use mcp_auth_reports::{Level, Report, Role, Verdict};
use mcp_auth_targets::client::ClientDefect;
use mcp_auth_targets::{ServerDefect, ValidationMode};
use serde::Serialize;

use crate::client::{self, ClientOptions};
use crate::expect::{Entry, Expectation};
use crate::expected::{DefectExpectation, Expected};
use crate::runner::Selection;
use crate::server::{self, ServerOptions};
use crate::spec::{Extensions, SpecVersion, TlsProfile};

/// How many server runs go at once.
const PARALLEL_RUNS: usize = 4;
/// How many client runs go at once (each runs several client processes itself).
const PARALLEL_CLIENT_RUNS: usize = 2;
/// The per-request timeout of self-test runs. The references run in-process and never hang (no defect is a
/// hang), so a timeout here can only mean a starved machine: the generous budget keeps the matrix's verdicts
/// independent of load (at load 9-17 on 2 cores, runs with the default 5 s saw "no response within 5s").
const SELF_TEST_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One run of the self-test: the reference (no defect) or one defect, in one mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunKey {
    /// The defect's kebab-case name.
    pub defect: Option<String>,
    /// The server's validation mode, or `default` for roles with one mode.
    pub mode: RunMode,
}

impl RunKey {
    pub fn label(&self) -> String {
        match &self.defect {
            None => format!("reference@{}", self.mode),
            Some(d) => format!("{d}@{}", self.mode),
        }
    }
}

/// The configuration a self-test run uses: the server's validation mode, the one configuration of the client and
/// authz references, the default revision with every extension on, or another revision. Its name keys the tables
/// of `fixtures/expected/<role>.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunMode {
    Jwt,
    Introspection,
    /// The single configuration of roles whose reference has one (the default revision, no extension).
    Default,
    /// The default revision with every extension opted in (`--extension all`).
    Extensions,
    /// Another revision (`--spec-version`), no extension.
    Spec(SpecVersion),
    /// The default revision under `--tls-profile strict`: every fake party over https with the run's test CA.
    TlsStrict,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Jwt => "jwt",
            RunMode::Introspection => "introspection",
            RunMode::Default => "default",
            RunMode::Extensions => "extensions",
            RunMode::Spec(v) => v.as_str(),
            RunMode::TlsStrict => "tls-strict",
        }
    }

    /// What the run is scored against in this mode.
    pub fn selection(self) -> Selection {
        match self {
            RunMode::Jwt | RunMode::Introspection | RunMode::Default => Selection::all(),
            RunMode::Extensions => Selection::all().with_extensions(Extensions::all()),
            RunMode::Spec(v) => Selection::all().with_spec(v),
            RunMode::TlsStrict => Selection::all().with_tls(TlsProfile::Strict),
        }
    }

    /// The server's validation mode in this run mode (JWT unless the mode is introspection).
    fn validation(self) -> ValidationMode {
        match self {
            RunMode::Introspection => ValidationMode::Introspection,
            _ => ValidationMode::Jwt,
        }
    }

    /// The modes the reference of `role` runs in: its configurations, every extension, every other revision.
    pub fn reference_modes(role: Role) -> Vec<RunMode> {
        let mut modes = match role {
            Role::Server => vec![RunMode::Jwt, RunMode::Introspection],
            Role::Client | Role::Authz => vec![RunMode::Default],
        };
        modes.push(RunMode::Extensions);
        modes.extend(
            SpecVersion::ALL
                .into_iter()
                .filter(|v| *v != SpecVersion::default())
                .map(RunMode::Spec),
        );
        modes.push(RunMode::TlsStrict);
        modes
    }
}

/// The modes a defect of `role` runs in, beyond its default: a defect whose protection exists only with an
/// extension or at another revision is visible only there. One line per such defect.
const DEFECT_MODES: &[(Role, &str, &[RunMode])] = &[
    // DPoP (--extension dpop): the server's DPoP protections.
    (Role::Server, "dpop-scheme-unrecognised", EXT),
    (Role::Server, "accept-bound-token-as-bearer", EXT),
    (Role::Server, "dpop-proof-optional", EXT),
    (Role::Server, "dpop-skip-proof-signature", EXT),
    (Role::Server, "dpop-skip-ath", EXT),
    (Role::Server, "dpop-skip-htm", EXT),
    (Role::Server, "dpop-skip-htu", EXT),
    (Role::Server, "dpop-skip-key-binding", EXT),
    (Role::Server, "dpop-skip-iat", EXT),
    (Role::Server, "dpop-allow-replay", EXT),
    // DPoP (--extension dpop): the client's DPoP behaviour, shown in the worlds auth/dpop and auth/dpop-nonce.
    (Role::Client, "dpop-no-token-proof", EXT),
    (Role::Client, "dpop-bearer-scheme", EXT),
    (Role::Client, "dpop-reuse-proof", EXT),
    (Role::Client, "dpop-ignore-as-nonce", EXT),
    (Role::Client, "dpop-ignore-rs-nonce", EXT),
    (
        Role::Server,
        "stateless-auth-on-discover-only",
        &[RunMode::Spec(SpecVersion::V2026_07_28)],
    ),
    (
        Role::Server,
        "stateless-session-as-auth",
        &[RunMode::Spec(SpecVersion::V2026_07_28)],
    ),
    (
        Role::Client,
        "stateless-meta-on-first-request-only",
        &[RunMode::Spec(SpecVersion::V2026_07_28)],
    ),
    (
        Role::Client,
        "initialize-when-stateless",
        &[RunMode::Spec(SpecVersion::V2026_07_28)],
    ),
    // The token on every request matters most when no session remembers anything (CL-TOK-01 at 2026-07-28).
    (
        Role::Client,
        "token-only-on-first-request",
        &[RunMode::Default, RunMode::Spec(SpecVersion::V2026_07_28)],
    ),
    // MCP 2026-07-28 client duties (SEP-2468, SEP-837, SEP-2207, SEP-2350, SEP-2352): their worlds or rows exist
    // only at that revision.
    (Role::Client, "require-iss", REV_2026),
    (Role::Client, "no-application-type", REV_2026),
    (Role::Client, "no-refresh-grant-type", REV_2026),
    (Role::Client, "offline-access-always", REV_2026),
    (Role::Client, "no-scope-union", REV_2026),
    (Role::Client, "no-reregister-on-as-change", REV_2026),
    (Role::Server, "offline-access-in-prm", REV_2026),
    (Role::Server, "offline-access-in-challenge", REV_2026),
    (Role::Authz, "no-iss", REV_2026),
    // Extensions (wif, enterprise-managed, client-credentials): the reference AS's duties for JWT assertions.
    (Role::Authz, "assertion-token-ignores-resource", EXT),
    (Role::Authz, "wif-accept-wrong-audience", EXT),
    (Role::Authz, "wif-accept-expired", EXT),
    (Role::Authz, "wif-accept-replayed-jti", EXT),
    (Role::Authz, "wif-accept-untrusted-key", EXT),
    (Role::Authz, "wif-accept-missing-exp", EXT),
    (Role::Authz, "wif-accept-missing-jti", EXT),
    (Role::Authz, "wif-accept-alg-none", EXT),
    (Role::Authz, "jag-accept-wrong-audience", EXT),
    (Role::Authz, "jag-accept-expired", EXT),
    (Role::Authz, "jag-accept-replayed-jti", EXT),
    (Role::Authz, "jag-accept-untrusted-signer", EXT),
    (Role::Authz, "jag-accept-wrong-typ", EXT),
    (Role::Authz, "jag-accept-other-client", EXT),
    (Role::Authz, "jag-ignore-resource-mismatch", EXT),
    (Role::Authz, "cc-accept-wrong-audience", EXT),
    (Role::Authz, "cc-accept-expired-assertion", EXT),
    (Role::Authz, "cc-accept-replayed-jti", EXT),
    (Role::Authz, "cc-accept-untrusted-key", EXT),
    (Role::Authz, "cc-accept-mismatched-subject", EXT),
    // DPoP and client credentials at the authorization server (--extension dpop, client-credentials).
    (Role::Authz, "dpop-unbound-token", EXT),
    (Role::Authz, "dpop-skip-signature", EXT),
    (Role::Authz, "dpop-skip-htm", EXT),
    (Role::Authz, "dpop-skip-htu", EXT),
    (Role::Authz, "dpop-skip-iat", EXT),
    (Role::Authz, "dpop-allow-replay", EXT),
    (Role::Authz, "dpop-accept-private-key", EXT),
    (Role::Authz, "dpop-accept-weak-alg", EXT),
    (Role::Authz, "dpop-refresh-not-bound", EXT),
    (Role::Authz, "dpop-nonce-unchecked", EXT),
    (Role::Authz, "cc-public-client", EXT),
    (Role::Authz, "cc-any-scope", EXT),
    (Role::Authz, "cc-ignore-resource", EXT),
    (Role::Authz, "cc-refresh-token", EXT),
    // Extensions (client-credentials, enterprise-managed, wif): client defects of the machine grants.
    (
        Role::Client,
        "wrong-token-auth-method",
        &[RunMode::Default, RunMode::Extensions],
    ),
    (
        Role::Client,
        "cc-authorization-code",
        &[RunMode::Extensions],
    ),
    (
        Role::Client,
        "cc-wrong-assertion-type",
        &[RunMode::Extensions],
    ),
    (
        Role::Client,
        "cc-assertion-wrong-key",
        &[RunMode::Extensions],
    ),
    (
        Role::Client,
        "cc-assertion-iss-not-client",
        &[RunMode::Extensions],
    ),
    (
        Role::Client,
        "cc-assertion-aud-token-endpoint",
        &[RunMode::Extensions],
    ),
    (Role::Client, "cc-static-jti", &[RunMode::Extensions]),
    (
        Role::Client,
        "ema-id-token-as-assertion",
        &[RunMode::Extensions],
    ),
    (
        Role::Client,
        "ema-exchange-audience-resource",
        &[RunMode::Extensions],
    ),
    (Role::Client, "wif-uses-expired-jwt", &[RunMode::Extensions]),
    (
        Role::Client,
        "wif-retry-after-refusal",
        &[RunMode::Extensions],
    ),
    (
        Role::Client,
        "wif-fallback-to-authorization-code",
        &[RunMode::Extensions],
    ),
    (
        Role::Server,
        "machine-token-skips-audience",
        &[RunMode::Extensions],
    ),
    (
        Role::Server,
        "machine-token-all-scopes",
        &[RunMode::Extensions],
    ),
    // Certificates exist only under strict TLS.
    (
        Role::Client,
        "accept-any-certificate",
        &[RunMode::TlsStrict],
    ),
    (
        Role::Authz,
        "plain-http-token-endpoint",
        &[RunMode::TlsStrict],
    ),
    (Role::Server, "plain-http-under-tls", &[RunMode::TlsStrict]),
    // The proxy's consent cookies are judged only over https (AS-PRX-03).
    (
        Role::Authz,
        "prx-consent-cookie-weak",
        &[RunMode::TlsStrict],
    ),
    // The 2025-06-18 MUST that every 401 names resource_metadata (RS-WWW-07), besides its 2025-11-25 flips.
    (
        Role::Server,
        "no-resource-metadata",
        &[RunMode::Jwt, RunMode::Spec(SpecVersion::V2025_06_18)],
    ),
    // The 2025-03-26 discovery of the reference client: only its 2025-03-26 worlds reach it.
    (
        Role::Client,
        "march-default-paths-only",
        &[RunMode::Spec(SpecVersion::V2025_03_26)],
    ),
    (
        Role::Client,
        "no-march-default-endpoints",
        &[RunMode::Spec(SpecVersion::V2025_03_26)],
    ),
    // The reference server's 2025-03-26 shape (its own authorization server at its origin): only that revision.
    (Role::Server, "march-metadata-at-mcp-path", REV_2025_03),
    (Role::Server, "march-issuer-with-path", REV_2025_03),
    (Role::Server, "march-no-default-endpoints", REV_2025_03),
];

/// Every extension opted in: where an extension's defects show.
const EXT: &[RunMode] = &[RunMode::Extensions];
/// The 2026-07-28 revision alone.
const REV_2026: &[RunMode] = &[RunMode::Spec(SpecVersion::V2026_07_28)];
/// The 2025-03-26 revision alone.
const REV_2025_03: &[RunMode] = &[RunMode::Spec(SpecVersion::V2025_03_26)];

/// The modes the defect `name` of `role` runs in.
pub fn defect_modes(role: Role, name: &str) -> Vec<RunMode> {
    if let Some((_, _, modes)) = DEFECT_MODES
        .iter()
        .find(|(r, n, _)| *r == role && *n == name)
    {
        return modes.to_vec();
    }
    match role {
        Role::Server => name
            .parse::<ServerDefect>()
            .map(|d| d.modes().iter().map(|&m| m.into()).collect())
            .unwrap_or_default(),
        Role::Client | Role::Authz => vec![RunMode::Default],
    }
}

impl std::fmt::Display for RunMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ValidationMode> for RunMode {
    fn from(m: ValidationMode) -> Self {
        match m {
            ValidationMode::Jwt => RunMode::Jwt,
            ValidationMode::Introspection => RunMode::Introspection,
        }
    }
}

/// The self-test's machine-readable result.
#[derive(Debug, Clone, Serialize)]
pub struct SelfTest {
    pub role: Role,
    pub checks: Vec<Killed>,
    /// Reference verdicts that fail (or differ from the expected reference verdict).
    pub reference_failures: Vec<String>,
    /// Checks no defect kills.
    pub unkilled: Vec<String>,
    /// Defect runs whose verdicts differ from the expectation data.
    pub mismatches: Vec<String>,
    /// Defects that change nothing at all (they prove nothing).
    pub inert_defects: Vec<String>,
    pub runs: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Killed {
    pub id: String,
    pub killed_by: Vec<String>,
}

impl SelfTest {
    pub fn ok(&self) -> bool {
        self.reference_failures.is_empty()
            && self.unkilled.is_empty()
            && self.mismatches.is_empty()
            && self.inert_defects.is_empty()
    }
}

/// Every run the self-test of `role` makes: the reference in each of its modes, each defect in each of its.
pub fn runs(role: Role) -> Vec<RunKey> {
    let defects: Vec<&str> = match role {
        Role::Server => ServerDefect::ALL.iter().map(|d| d.name()).collect(),
        Role::Client => ClientDefect::ALL.iter().map(|d| d.name()).collect(),
        Role::Authz => fake_idp::AsDefect::ALL.iter().map(|d| d.name()).collect(),
    };
    let mut runs: Vec<RunKey> = RunMode::reference_modes(role)
        .into_iter()
        .map(|mode| RunKey { defect: None, mode })
        .collect();
    for d in defects {
        for mode in defect_modes(role, d) {
            runs.push(RunKey {
                defect: Some(d.to_owned()),
                mode,
            });
        }
    }
    runs
}

/// Runs the server reference and every server defect; returns the reports keyed by run.
pub async fn run_server() -> Vec<(RunKey, Report)> {
    stream::iter(runs(Role::Server))
        .map(|key| async move {
            let defect = key.defect.as_deref().map(|d| {
                d.parse::<ServerDefect>()
                    .expect("a self-test run names a known defect")
            });
            let mut opts = ServerOptions::bundled(defect, key.mode.validation());
            opts.selection = key.mode.selection();
            opts.limits.timeout = SELF_TEST_REQUEST_TIMEOUT;
            let report = server::run(&opts).await;
            (key, report)
        })
        .buffered(PARALLEL_RUNS)
        .collect()
        .await
}

/// Runs the reference client and every client defect (`suite_exe` hosts the bundled client).
pub async fn run_client(suite_exe: PathBuf) -> Vec<(RunKey, Report)> {
    stream::iter(runs(Role::Client))
        .map(|key| {
            let exe = suite_exe.clone();
            async move {
                let defect = key.defect.as_deref().map(|d| {
                    d.parse::<ClientDefect>()
                        .expect("a self-test run names a known defect")
                });
                let mut opts = ClientOptions::bundled(defect, exe);
                opts.selection = key.mode.selection();
                let report = client::run(&opts).await;
                (key, report)
            }
        })
        .buffered(PARALLEL_CLIENT_RUNS)
        .collect()
        .await
}

/// Runs the reference AS and every AS defect.
pub async fn run_authz() -> Vec<(RunKey, Report)> {
    stream::iter(runs(Role::Authz))
        .map(|key| async move {
            let defect = key.defect.as_deref().map(|d| {
                d.parse::<fake_idp::AsDefect>()
                    .expect("a self-test run names a known defect")
            });
            let mut opts = crate::authz::AuthzOptions::bundled(defect);
            opts.selection = key.mode.selection();
            opts.limits.timeout = SELF_TEST_REQUEST_TIMEOUT;
            let report = crate::authz::run(&opts).await;
            (key, report)
        })
        .buffered(PARALLEL_RUNS)
        .collect()
        .await
}

/// Runs the self-test of a role.
pub async fn run_role(role: Role, suite_exe: PathBuf) -> Result<Vec<(RunKey, Report)>, String> {
    match role {
        Role::Server => Ok(run_server().await),
        Role::Client => Ok(run_client(suite_exe).await),
        Role::Authz => Ok(run_authz().await),
    }
}

/// The description of a defect of a role, for blessed notes.
pub fn describe_defect(role: Role, name: &str) -> String {
    match role {
        Role::Server => name
            .parse::<ServerDefect>()
            .map(|d| d.description().to_owned())
            .unwrap_or_default(),
        Role::Client => name
            .parse::<ClientDefect>()
            .map(|d| d.description().to_owned())
            .unwrap_or_default(),
        Role::Authz => name
            .parse::<fake_idp::AsDefect>()
            .map(|d| d.description().to_owned())
            .unwrap_or_default(),
    }
}

/// Whether a verdict is the violation a check exists to catch.
fn kills(level: Level, v: Verdict) -> bool {
    v == Verdict::Fail || v == level.violation()
}

/// Compares the runs with the expectation data.
pub fn evaluate(role: Role, runs: &[(RunKey, Report)], expected: &Expected) -> SelfTest {
    let mut killed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut levels: BTreeMap<String, Level> = BTreeMap::new();
    let mut reference_failures = Vec::new();
    let mut mismatches = Vec::new();
    let mut inert = Vec::new();
    for (key, report) in runs {
        let reference = expected.reference(key.mode.as_str());
        let mut changed = false;
        match &key.defect {
            None => {
                for d in reference.compare(&report.checks) {
                    reference_failures.push(format!("{} {d}", key.label()));
                }
                // Listed or not, the reference must not fail or warn.
                for c in &report.checks {
                    if c.verdict == reference.verdict(&c.id)
                        && (c.verdict.is_failure(false) || c.verdict == Verdict::Warn)
                    {
                        reference_failures.push(format!(
                            "{} {}: {} (the reference must not fail or warn) — {} {}",
                            key.label(),
                            c.id,
                            c.verdict,
                            c.actual,
                            c.message
                        ));
                    }
                }
            }
            Some(d) => {
                let flips = expected
                    .defect(d, key.mode.as_str())
                    .map(|d| d.flips.clone())
                    .unwrap_or_default();
                for m in flips.compare_with(&report.checks, |id| reference.verdict(id)) {
                    mismatches.push(format!("{} {m}", key.label()));
                }
            }
        }
        for c in &report.checks {
            killed.entry(c.id.clone()).or_default();
            levels.insert(c.id.clone(), c.level);
            if key.defect.is_some() && c.verdict != reference.verdict(&c.id) {
                changed = true;
                if kills(c.level, c.verdict) {
                    killed.entry(c.id.clone()).or_default().push(key.label());
                }
            }
        }
        if key.defect.is_some() && !changed {
            inert.push(key.label());
        }
    }
    let unkilled = killed
        .iter()
        .filter(|(_, by)| by.is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    SelfTest {
        role,
        checks: killed
            .into_iter()
            .map(|(id, killed_by)| Killed { id, killed_by })
            .collect(),
        reference_failures,
        unkilled,
        mismatches,
        inert_defects: inert,
        runs: runs.len(),
    }
}

/// Writes the observed verdicts as expectation data, keeping existing reasons (a new reference entry takes the
/// check's message; a new defect, its description). For reviewing by hand.
pub fn bless(role: Role, runs: &[(RunKey, Report)], previous: &Expected) -> Expected {
    let mut out = Expected::default();
    let mut reference: BTreeMap<String, BTreeMap<String, Verdict>> = BTreeMap::new();
    for (key, report) in runs.iter().filter(|(k, _)| k.defect.is_none()) {
        let m = reference.entry(key.mode.as_str().to_owned()).or_default();
        let before = previous.reference(key.mode.as_str());
        let x = out
            .reference
            .entry(key.mode.as_str().to_owned())
            .or_default();
        for c in &report.checks {
            m.insert(c.id.clone(), c.verdict);
            if c.verdict != Verdict::Pass {
                let reason = before
                    .get(&c.id)
                    .map(|e| e.reason.clone())
                    .unwrap_or_else(|| first_words(c));
                x.entries.insert(
                    c.id.clone(),
                    Entry {
                        verdict: c.verdict,
                        reason,
                    },
                );
            }
        }
    }
    for (key, report) in runs.iter().filter(|(k, _)| k.defect.is_some()) {
        let mode = key.mode.as_str().to_owned();
        let d = key.defect.clone().expect("filtered");
        let before = previous.defect(&d, &mode);
        let reason = before
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| describe_defect(role, &d));
        let entries = report
            .checks
            .iter()
            .filter(|c| reference.get(&mode).and_then(|m| m.get(&c.id)) != Some(&c.verdict))
            .map(|c| {
                // A flip keeps a reason of its own; otherwise it shares the defect's.
                let reason = before
                    .and_then(|p| p.flips.get(&c.id))
                    .map_or_else(|| reason.clone(), |e| e.reason.clone());
                (
                    c.id.clone(),
                    Entry {
                        verdict: c.verdict,
                        reason,
                    },
                )
            })
            .collect();
        out.defects.push(DefectExpectation {
            name: d,
            mode,
            reason,
            flips: Expectation { entries },
        });
    }
    out
}

/// A first reason for a new reference entry: what the check reported.
fn first_words(c: &mcp_auth_reports::CheckResult) -> String {
    [&c.message, &c.actual]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .map_or_else(
            || format!("{} (write the reason)", c.verdict),
            str::to_owned,
        )
}

/// The detection matrix as text: one line per check.
pub fn matrix_text(t: &SelfTest) -> String {
    let mut s = String::new();
    for k in &t.checks {
        let by = if k.killed_by.is_empty() {
            "NOT KILLED".to_owned()
        } else {
            k.killed_by.join(", ")
        };
        s.push_str(&format!("{:<32} {by}\n", k.id));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_should_check_is_killed_by_a_warn() {
        assert!(kills(Level::Should, Verdict::Warn));
        assert!(!kills(Level::Must, Verdict::Warn));
        assert!(kills(Level::Must, Verdict::Fail));
        assert!(kills(Level::May, Verdict::Info));
        assert!(!kills(Level::Must, Verdict::Error));
    }

    #[test]
    fn every_server_defect_runs_in_each_of_its_validation_modes() {
        let runs = runs(Role::Server);
        for d in ServerDefect::ALL {
            // A defect listed in DEFECT_MODES runs in the modes listed there (an extension's, a revision's).
            let listed = DEFECT_MODES
                .iter()
                .any(|(r, n, _)| *r == Role::Server && *n == d.name());
            let modes: Vec<RunMode> = if listed {
                defect_modes(Role::Server, d.name())
            } else {
                d.modes().iter().map(|&m| m.into()).collect()
            };
            for mode in modes {
                let key = RunKey {
                    defect: Some(d.name().to_owned()),
                    mode,
                };
                assert!(runs.contains(&key), "{} has no run", key.label());
            }
        }
    }

    #[test]
    fn the_reference_runs_with_every_extension_and_at_every_other_revision() {
        for role in [Role::Server, Role::Client, Role::Authz] {
            let modes: Vec<RunMode> = runs(role)
                .into_iter()
                .filter(|k| k.defect.is_none())
                .map(|k| k.mode)
                .collect();
            assert!(modes.contains(&RunMode::Extensions), "{role}");
            for v in SpecVersion::ALL {
                if v != SpecVersion::default() {
                    assert!(modes.contains(&RunMode::Spec(v)), "{role} at {v}");
                }
            }
        }
    }

    #[test]
    fn a_mode_selects_its_revision_and_extensions() {
        let ext = RunMode::Extensions.selection();
        assert_eq!(ext.spec(), SpecVersion::default());
        assert_eq!(ext.extensions(), &Extensions::all());
        let old = RunMode::Spec(SpecVersion::V2025_03_26).selection();
        assert_eq!(old.spec(), SpecVersion::V2025_03_26);
        assert!(old.extensions().is_empty());
    }

    #[test]
    fn every_defect_mode_entry_names_a_known_defect() {
        for (role, name, _) in DEFECT_MODES {
            let known = match role {
                Role::Server => name.parse::<ServerDefect>().is_ok(),
                Role::Client => name.parse::<ClientDefect>().is_ok(),
                Role::Authz => name.parse::<fake_idp::AsDefect>().is_ok(),
            };
            assert!(known, "{role} defect {name}");
        }
    }
}
