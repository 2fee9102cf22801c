//! Interop with real products: their verdicts are data (`fixtures/interop/<target>.json`, every non-PASS with the
//! reason a reviewer can confirm from the evidence), compared run after run; and a matrix generated from the
//! committed reports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use mcp_auth_reports::{Level, Report, Verdict};
use serde::{Deserialize, Serialize};

/// The expected verdicts of one interop target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InteropExpectation {
    /// Short name, also the report folder under `reports/published/`.
    pub target: String,
    /// `server`, `client` or `authz`.
    pub role: String,
    /// The product and pinned version(s), e.g. `mcp==2.3.0`.
    pub product: String,
    /// How it was configured (e.g. "as documented", "hardened").
    pub configuration: String,
    /// Check id → expected verdict (and the reason, for every non-PASS).
    pub verdicts: BTreeMap<String, ExpectedVerdict>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExpectedVerdict {
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// An upstream issue that tracks it, when one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_issue: Option<String>,
}

/// What a comparison found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Comparison {
    pub differences: Vec<String>,
    /// Non-PASS expectations without a reason (the file itself is incomplete).
    pub unexplained: Vec<String>,
}

impl Comparison {
    pub fn ok(&self) -> bool {
        self.differences.is_empty() && self.unexplained.is_empty()
    }
}

/// Compares a report with its expectation: every check must have exactly the expected verdict.
pub fn compare(report: &Report, expected: &InteropExpectation) -> Comparison {
    let mut c = Comparison::default();
    for check in &report.checks {
        match expected.verdicts.get(&check.id) {
            None => c.differences.push(format!(
                "{}: {} but not in the expectation file",
                check.id, check.verdict
            )),
            Some(e) if e.verdict != check.verdict => c.differences.push(format!(
                "{}: {} (expected {}) — {} {}",
                check.id, check.verdict, e.verdict, check.actual, check.message
            )),
            Some(_) => {}
        }
    }
    for (id, e) in &expected.verdicts {
        if report.check(id).is_none() {
            c.differences.push(format!(
                "{id}: expected {} but the report has no such check",
                e.verdict
            ));
        }
        if e.verdict != Verdict::Pass && e.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            c.unexplained
                .push(format!("{id}: {} without a reason", e.verdict));
        }
    }
    c
}

/// The observed verdicts as an expectation (for a first draft; every non-PASS reason still has to be written).
pub fn draft(
    report: &Report,
    target: &str,
    product: &str,
    configuration: &str,
) -> InteropExpectation {
    InteropExpectation {
        target: target.to_owned(),
        role: report.run.role.to_string(),
        product: product.to_owned(),
        configuration: configuration.to_owned(),
        verdicts: report
            .checks
            .iter()
            .map(|c| {
                let reason = (c.verdict != Verdict::Pass).then(|| {
                    if c.message.is_empty() {
                        c.actual.clone()
                    } else {
                        c.message.clone()
                    }
                });
                (
                    c.id.clone(),
                    ExpectedVerdict {
                        verdict: c.verdict,
                        reason,
                        upstream_issue: None,
                    },
                )
            })
            .collect(),
    }
}

pub fn load_expectation(path: &Path) -> Result<InteropExpectation, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("invalid {}: {e}", path.display()))
}

/// One column of the matrix.
pub struct Column {
    pub target: String,
    pub product: String,
    pub configuration: String,
    /// The report's folder, relative to the matrix file (for links).
    pub link: String,
    pub report: Report,
}

fn cell(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅ PASS",
        Verdict::Fail => "❌ FAIL",
        Verdict::Warn => "⚠️ WARN",
        Verdict::Info => "ℹ️ INFO",
        Verdict::Skip => "➖ SKIP",
        Verdict::Error => "💥 ERROR",
        Verdict::HarnessError => "🐞 HARNESS",
    }
}

/// The interop matrix as Markdown: per role, targets × checks grouped by catalog area, rows with a MUST failure first.
pub fn matrix(columns: &[Column]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Interop matrix\n");
    let _ = writeln!(
        out,
        "Generated by `mcp-auth-conformance interop matrix` from the committed reports; do not edit by hand. Each cell \
         links to the check in that target's `report.html`, where the exchanges that prove the verdict are shown.\n"
    );
    let _ = writeln!(
        out,
        "| target | role | product | configuration | PASS | FAIL | WARN | other |"
    );
    let _ = writeln!(out, "|---|---|---|---|--:|--:|--:|--:|");
    for c in columns {
        let s = &c.report.summary;
        let other =
            s.total - s.count(Verdict::Pass) - s.count(Verdict::Fail) - s.count(Verdict::Warn);
        let _ = writeln!(
            out,
            "| [{}]({}/report.md) | {} | {} | {} | {} | {} | {} | {} |",
            c.target,
            c.link,
            c.report.run.role,
            c.product,
            c.configuration,
            s.count(Verdict::Pass),
            s.count(Verdict::Fail),
            s.count(Verdict::Warn),
            other
        );
    }
    for role in ["server", "client", "authz"] {
        let cols: Vec<&Column> = columns
            .iter()
            .filter(|c| c.report.run.role.as_str() == role)
            .collect();
        if cols.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## Role: {role}\n");
        // Every check id of the role, with its level, area and whether any target fails it as a MUST.
        let mut rows: BTreeMap<String, (Level, bool)> = BTreeMap::new();
        for c in &cols {
            for ch in &c.report.checks {
                let e = rows.entry(ch.id.clone()).or_insert((ch.level, false));
                e.1 |= ch.verdict == Verdict::Fail;
            }
        }
        let mut ordered: Vec<(&String, &(Level, bool))> = rows.iter().collect();
        ordered.sort_by_key(|(id, (_, failing))| (!*failing, area(id).to_owned(), (*id).clone()));
        let header: Vec<String> = cols.iter().map(|c| c.target.clone()).collect();
        let _ = writeln!(out, "| area | check | level | {} |", header.join(" | "));
        let _ = writeln!(out, "|---|---|---|{}", "---|".repeat(cols.len()));
        let mut failing_section = true;
        for (id, (level, failing)) in ordered {
            if failing_section && !failing {
                failing_section = false;
            }
            let cells: Vec<String> = cols
                .iter()
                .map(|c| match c.report.check(id) {
                    Some(r) => {
                        format!("[{}]({}/report.html#check-{})", cell(r.verdict), c.link, id)
                    }
                    None => "—".to_owned(),
                })
                .collect();
            let mark = if *failing { "**" } else { "" };
            let _ = writeln!(
                out,
                "| {} | {mark}{id}{mark} | {level} | {} |",
                area(id),
                cells.join(" | ")
            );
        }
    }
    out
}

fn area(id: &str) -> &str {
    let mut dashes = id.match_indices('-');
    match (dashes.next(), dashes.next()) {
        (Some(_), Some((i, _))) => &id[..i],
        _ => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        serde_json::from_value(serde_json::json!({
            "schema_version": 1,
            "run": {"suite_version": "0", "spec_revision": "2025-11-25", "role": "server",
                    "target": {"kind": "command", "url": null, "command": null, "defect": null},
                    "profile": "p", "tls_profile": "local", "strict": false, "started_at": "", "finished_at": "",
                    "duration_ms": 0, "seed": 0, "notes": []},
            "summary": {"total": 2, "by_verdict": {}, "by_level": {}, "unexpected_failures": 0, "stale_baseline": [], "outcome": "failed"},
            "checks": [
                {"id": "RS-AUD-01.missing", "title": "t", "role": "server", "level": "MUST", "verdict": "FAIL",
                 "spec_refs": [], "expected": "", "actual": "served", "message": "", "evidence": [], "duration_ms": 0},
                {"id": "RS-PRM-01", "title": "t", "role": "server", "level": "MUST", "verdict": "PASS",
                 "spec_refs": [], "expected": "", "actual": "", "message": "", "evidence": [], "duration_ms": 0}
            ],
            "exchanges": []
        }))
        .unwrap()
    }

    #[test]
    fn a_draft_matches_its_report_and_explains_every_non_pass() {
        let r = report();
        let d = draft(&r, "t", "p", "c");
        let c = compare(&r, &d);
        assert!(c.ok(), "{c:?}");
        assert_eq!(
            d.verdicts["RS-AUD-01.missing"].reason.as_deref(),
            Some("served")
        );
    }

    #[test]
    fn a_changed_verdict_and_a_missing_reason_are_reported() {
        let r = report();
        let mut d = draft(&r, "t", "p", "c");
        d.verdicts.get_mut("RS-PRM-01").unwrap().verdict = Verdict::Fail;
        d.verdicts.get_mut("RS-AUD-01.missing").unwrap().reason = None;
        let c = compare(&r, &d);
        assert_eq!(c.differences.len(), 1);
        assert_eq!(c.unexplained.len(), 2);
    }

    #[test]
    fn the_matrix_puts_must_failures_first_and_links_evidence() {
        let cols = [Column {
            target: "t".into(),
            product: "p".into(),
            configuration: "c".into(),
            link: "t".into(),
            report: report(),
        }];
        let m = matrix(&cols);
        let fail = m.find("RS-AUD-01.missing").unwrap();
        let pass = m.find("| RS-PRM | RS-PRM-01").unwrap();
        assert!(fail < pass);
        assert!(m.contains("(t/report.html#check-RS-AUD-01.missing)"));
    }
}
