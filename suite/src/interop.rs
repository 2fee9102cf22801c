//! Interop with real products: their expected verdicts are data (`fixtures/interop/<target>.toml`, in the suite's
//! one expectation model, [`crate::expect`]: only the checks that do not PASS, each with the reason a reviewer can
//! confirm from the evidence), compared run after run; and a matrix generated from the committed reports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use mcp_auth_reports::{Level, Report, Verdict};
use serde::Deserialize;

use crate::expect::{toml_string, Difference, Entry, ExpectError, Expectation, RawEntries};

/// The expected verdicts of one interop target.
#[derive(Debug, Clone, PartialEq)]
pub struct InteropExpectation {
    /// Short name, also the report folder under `interop-reports/`.
    pub target: String,
    /// `server`, `client` or `authz`.
    pub role: String,
    /// The product and pinned version(s), e.g. `mcp==2.3.0`.
    pub product: String,
    /// How it was configured (e.g. "as documented", "hardened").
    pub configuration: String,
    /// Every check that does not PASS, with its reason; every other check must PASS.
    pub expect: Expectation,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterop {
    target: String,
    role: String,
    product: String,
    configuration: String,
    #[serde(default)]
    expect: RawEntries,
}

/// The header of an interop expectation file.
pub const HEADER: &str = "# Expected verdicts of one interop target (mcp-auth-conformance interop compare).
# Sparse: every check not listed under [expect] must PASS; each listed one carries the reason a reviewer can
# confirm from the evidence. A listed check the report lacks is a stale entry (an error).
";

impl InteropExpectation {
    pub fn parse(text: &str) -> Result<InteropExpectation, ExpectError> {
        let raw: RawInterop = toml::from_str(text)?;
        let expect =
            Expectation::resolve_sparse(raw.expect).map_err(|source| ExpectError::Entry {
                context: format!("target {}", raw.target),
                source,
            })?;
        Ok(InteropExpectation {
            target: raw.target,
            role: raw.role,
            product: raw.product,
            configuration: raw.configuration,
            expect,
        })
    }

    /// The file's text (as `interop draft` writes it).
    pub fn to_toml(&self) -> String {
        let mut out = String::from(HEADER);
        let _ = write!(
            out,
            "\ntarget = {}\nrole = {}\nproduct = {}\nconfiguration = {}\n\n[expect]\n",
            toml_string(&self.target),
            toml_string(&self.role),
            toml_string(&self.product),
            toml_string(&self.configuration)
        );
        self.expect.write_toml(&mut out, None);
        out
    }
}

/// What a comparison found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Comparison {
    pub differences: Vec<Difference>,
}

impl Comparison {
    pub fn ok(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compares a report with its expectation: every listed check must have its listed verdict, every other check
/// must PASS, and every listed check must be in the report.
pub fn compare(report: &Report, expected: &InteropExpectation) -> Comparison {
    Comparison {
        differences: expected.expect.compare(&report.checks),
    }
}

/// The observed verdicts as an expectation (for a first draft; every reason, taken from the report, still has to
/// be reviewed).
pub fn draft(
    report: &Report,
    target: &str,
    product: &str,
    configuration: &str,
) -> InteropExpectation {
    let entries = report
        .checks
        .iter()
        .filter(|c| c.verdict != Verdict::Pass)
        .map(|c| {
            let reason = [&c.message, &c.actual]
                .into_iter()
                .map(|s| s.trim())
                .find(|s| !s.is_empty())
                .map_or_else(
                    || format!("{} (write the reason)", c.verdict),
                    str::to_owned,
                );
            (
                c.id.clone(),
                Entry {
                    verdict: c.verdict,
                    reason,
                },
            )
        })
        .collect();
    InteropExpectation {
        target: target.to_owned(),
        role: report.run.role.to_string(),
        product: product.to_owned(),
        configuration: configuration.to_owned(),
        expect: Expectation { entries },
    }
}

pub fn load_expectation(path: &Path) -> Result<InteropExpectation, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    InteropExpectation::parse(&text).map_err(|e| format!("invalid {}: {e}", path.display()))
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

/// One of N slices of the interop products (`run.sh --shard I/N`, 1-based), for spreading them over CI runners.
/// Product k of the list (0-based, in the list's order) belongs to shard `k mod N + 1`: deterministic, and every
/// product is in exactly one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}`: expected I/N with 1 <= I <= N, e.g. 1/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// This shard's products, in the list's order.
    pub fn select<'a>(&self, products: &'a [String]) -> Vec<&'a str> {
        products
            .iter()
            .enumerate()
            .filter(|(k, _)| k % self.count == self.index - 1)
            .map(|(_, p)| p.as_str())
            .collect()
    }
}

/// Where each expected product's report is, across the report directories of several runners (each
/// `<dir>/<target>/report.json`): `found` lists, per directory, the targets it holds a report for.
/// Every expected target must be in exactly one directory, and every report must have an expectation; else the
/// problems, one line each.
pub fn locate<'a>(
    expected: &[String],
    found: &'a [(std::path::PathBuf, Vec<String>)],
) -> Result<BTreeMap<String, &'a Path>, Vec<String>> {
    let mut problems = Vec::new();
    let mut located = BTreeMap::new();
    for target in expected {
        let dirs: Vec<&Path> = found
            .iter()
            .filter(|(_, targets)| targets.contains(target))
            .map(|(dir, _)| dir.as_path())
            .collect();
        match dirs.as_slice() {
            [] => problems.push(format!(
                "{target}: missing (no {target}/report.json in {})",
                found
                    .iter()
                    .map(|(d, _)| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            [one] => {
                located.insert(target.clone(), *one);
            }
            several => problems.push(format!(
                "{target}: duplicated (a report in {})",
                several
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" and ")
            )),
        }
    }
    for (dir, targets) in found {
        for t in targets.iter().filter(|t| !expected.contains(t)) {
            problems.push(format!(
                "{t}: a report in {} but no expectation for it",
                dir.display()
            ));
        }
    }
    if problems.is_empty() {
        Ok(located)
    } else {
        Err(problems)
    }
}

/// The link from a file in directory `from` to `to` (both absolute), `/`-separated, for the matrix's cells.
pub fn relative_link(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_owned(), from.len() - common);
    let downs = to[common..]
        .iter()
        .map(|c| c.as_os_str().to_string_lossy().into_owned());
    let parts: Vec<String> = ups.chain(downs).collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
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
    fn a_draft_lists_only_the_non_pass_checks_and_matches_its_report() {
        let r = report();
        let d = draft(&r, "t", "p", "c");
        assert!(compare(&r, &d).ok());
        assert_eq!(d.expect.len(), 1);
        assert_eq!(d.expect.get("RS-AUD-01.missing").unwrap().reason, "served");
    }

    #[test]
    fn a_draft_reads_back_from_its_text() {
        let d = draft(&report(), "t", "p", "c");
        assert_eq!(InteropExpectation::parse(&d.to_toml()).unwrap(), d);
    }

    #[test]
    fn a_changed_verdict_is_reported() {
        let r = report();
        let mut d = draft(&r, "t", "p", "c");
        d.expect.entries.clear();
        let c = compare(&r, &d);
        assert_eq!(c.differences.len(), 1);
        assert!(c.differences[0]
            .to_string()
            .starts_with("RS-AUD-01.missing: FAIL but not listed"));
    }

    #[test]
    fn the_committed_expectations_load_and_are_sparse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/interop");
        let mut n = 0;
        for f in std::fs::read_dir(dir).unwrap() {
            let path = f.unwrap().path();
            assert_eq!(
                path.extension().and_then(|x| x.to_str()),
                Some("toml"),
                "{}",
                path.display()
            );
            let e = load_expectation(&path).unwrap();
            assert!(
                path.ends_with(format!("{}.toml", e.target)),
                "{}",
                path.display()
            );
            n += 1;
        }
        assert!(n >= 10, "{n} interop expectations");
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_shard_is_read_as_index_slash_count_from_one() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", "1/3/5"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_shards_cover_every_product_exactly_once() {
        let products: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
        for count in 1..=12 {
            let mut seen: Vec<&str> = (1..=count)
                .flat_map(|index| Shard { index, count }.select(&products))
                .collect();
            seen.sort_unstable();
            let mut all: Vec<&str> = products.iter().map(String::as_str).collect();
            all.sort_unstable();
            assert_eq!(seen, all, "{count} shards");
        }
    }

    #[test]
    fn a_shard_takes_every_nth_product_in_list_order() {
        let products = names(&["a", "b", "c", "d", "e"]);
        assert_eq!(
            Shard { index: 1, count: 2 }.select(&products),
            ["a", "c", "e"]
        );
        assert_eq!(Shard { index: 2, count: 2 }.select(&products), ["b", "d"]);
    }

    #[test]
    fn reports_from_several_runners_are_located_one_per_product() {
        let found = [
            ("r1".into(), names(&["a", "c"])),
            ("r2".into(), names(&["b"])),
        ];
        let located = locate(&names(&["a", "b", "c"]), &found).unwrap();
        assert_eq!(located["b"], Path::new("r2"));
        assert_eq!(located["c"], Path::new("r1"));
    }

    #[test]
    fn a_product_no_runner_reported_fails_the_merge() {
        let found = [("r1".into(), names(&["a"])), ("r2".into(), names(&[]))];
        let problems = locate(&names(&["a", "b"]), &found).unwrap_err();
        assert_eq!(problems, ["b: missing (no b/report.json in r1, r2)"]);
    }

    #[test]
    fn a_product_reported_by_two_runners_fails_the_merge() {
        let found = [("r1".into(), names(&["a"])), ("r2".into(), names(&["a"]))];
        let problems = locate(&names(&["a"]), &found).unwrap_err();
        assert_eq!(problems, ["a: duplicated (a report in r1 and r2)"]);
    }

    #[test]
    fn a_report_without_an_expectation_fails_the_merge() {
        let found = [("r1".into(), names(&["a", "z"]))];
        let problems = locate(&names(&["a"]), &found).unwrap_err();
        assert_eq!(problems, ["z: a report in r1 but no expectation for it"]);
    }

    #[test]
    fn a_matrix_beside_its_reports_links_them_by_name_and_elsewhere_by_a_relative_path() {
        let link = |from: &str, to: &str| relative_link(Path::new(from), Path::new(to));
        assert_eq!(
            link("/w/interop-reports", "/w/interop-reports/ts-sdk-client"),
            "ts-sdk-client"
        );
        assert_eq!(
            link("/w/merged", "/w/shard-1/ts-sdk-client"),
            "../shard-1/ts-sdk-client"
        );
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
