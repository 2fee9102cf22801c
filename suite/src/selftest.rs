//! Proving the suite right: the compliant reference passes, every check is killed by some defect, and no
//! defect changes a verdict the expectation data does not list.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use mcp_auth_reports::{Level, Report, Verdict};
use mcp_auth_targets::{Defect, ValidationMode};
use serde::Serialize;

use crate::expected::{DefectExpectation, Expected};
use crate::server::{self, ServerOptions};

/// How many runs go at once.
const PARALLEL_RUNS: usize = 4;

/// One run of the self-test: the reference (no defect) or one defect, in one validation mode.
#[derive(Debug, Clone)]
pub struct RunKey {
    pub defect: Option<Defect>,
    pub mode: ValidationMode,
}

impl RunKey {
    pub fn label(&self) -> String {
        match self.defect {
            None => format!("reference@{}", self.mode),
            Some(d) => format!("{}@{}", d.name(), self.mode),
        }
    }
}

/// The self-test's machine-readable result.
#[derive(Debug, Clone, Serialize)]
pub struct SelfTest {
    pub role: &'static str,
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

/// Every run the server self-test makes.
pub fn server_runs() -> Vec<RunKey> {
    let mut runs = vec![
        RunKey {
            defect: None,
            mode: ValidationMode::Jwt,
        },
        RunKey {
            defect: None,
            mode: ValidationMode::Introspection,
        },
    ];
    for &d in Defect::ALL {
        for &mode in d.modes() {
            runs.push(RunKey {
                defect: Some(d),
                mode,
            });
        }
    }
    runs
}

/// Runs the reference and every defect; returns the reports keyed by run.
pub async fn run_all(keys: Vec<RunKey>) -> Vec<(RunKey, Report)> {
    stream::iter(keys)
        .map(|key| async move {
            let report = server::run(&ServerOptions::bundled(key.defect, key.mode)).await;
            (key, report)
        })
        .buffered(PARALLEL_RUNS)
        .collect()
        .await
}

/// Whether a verdict is the violation a check exists to catch.
fn kills(level: Level, v: Verdict) -> bool {
    v == Verdict::Fail || v == level.violation()
}

/// Compares the runs with the expectation data.
pub fn evaluate(runs: &[(RunKey, Report)], expected: &Expected) -> SelfTest {
    let mut killed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut levels: BTreeMap<String, Level> = BTreeMap::new();
    let mut reference_failures = Vec::new();
    let mut mismatches = Vec::new();
    let mut inert = Vec::new();
    for (key, report) in runs {
        let mode = key.mode.to_string();
        let mut changed = false;
        for c in &report.checks {
            killed.entry(c.id.clone()).or_default();
            levels.insert(c.id.clone(), c.level);
            let reference = expected.reference_verdict(&mode, &c.id);
            match key.defect {
                None => {
                    if c.verdict != reference
                        || c.verdict.is_failure(false)
                        || c.verdict == Verdict::Warn
                    {
                        reference_failures.push(format!(
                            "{} {}: {} (expected {reference}) — {} {}",
                            key.label(),
                            c.id,
                            c.verdict,
                            c.actual,
                            c.message
                        ));
                    }
                }
                Some(d) => {
                    let want = expected.defect_verdict(d.name(), &mode, &c.id);
                    if c.verdict != want {
                        mismatches.push(format!(
                            "{} {}: {} (expected {want}) — {} {}",
                            key.label(),
                            c.id,
                            c.verdict,
                            c.actual,
                            c.message
                        ));
                    }
                    if c.verdict != reference {
                        changed = true;
                    }
                    if kills(c.level, c.verdict) && c.verdict != reference {
                        killed.entry(c.id.clone()).or_default().push(key.label());
                    }
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
        role: "server",
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

/// Writes the observed verdicts as expectation data, keeping existing notes. For reviewing by hand.
pub fn bless(runs: &[(RunKey, Report)], previous: &Expected) -> Expected {
    let mut out = Expected::default();
    let mut reference: BTreeMap<String, BTreeMap<String, Verdict>> = BTreeMap::new();
    for (key, report) in runs.iter().filter(|(k, _)| k.defect.is_none()) {
        let m = reference.entry(key.mode.to_string()).or_default();
        for c in &report.checks {
            m.insert(c.id.clone(), c.verdict);
            if c.verdict != Verdict::Pass {
                out.reference
                    .entry(key.mode.to_string())
                    .or_default()
                    .insert(c.id.clone(), c.verdict.to_string());
            }
        }
    }
    for (key, report) in runs.iter().filter(|(k, _)| k.defect.is_some()) {
        let mode = key.mode.to_string();
        let d = key.defect.expect("filtered");
        let verdicts = report
            .checks
            .iter()
            .filter(|c| reference.get(&mode).and_then(|m| m.get(&c.id)) != Some(&c.verdict))
            .map(|c| (c.id.clone(), c.verdict.to_string()))
            .collect();
        let note = previous
            .defect(d.name(), &mode)
            .map(|p| p.note.clone())
            .unwrap_or_else(|| d.description().to_owned());
        out.defects.push(DefectExpectation {
            name: d.name().to_owned(),
            mode,
            note,
            verdicts,
        });
    }
    out
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
    fn every_defect_has_a_run_in_each_of_its_modes() {
        let runs = server_runs();
        for d in Defect::ALL {
            for m in d.modes() {
                assert!(runs.iter().any(|r| r.defect == Some(*d) && r.mode == *m));
            }
        }
    }
}
