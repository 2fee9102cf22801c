//! Pure renderers: `fn(&Report, &mut dyn Write) -> Result<(), RenderError>`.
//!
//! Every renderer is a deterministic function of the [`Report`]: the same report always renders to the same
//! bytes (no clock, no environment), so golden tests can pin them. Text from the report is treated as hostile:
//! expected/actual/message and exchanges carry what the target sent, so the Markdown renderer escapes
//! Markdown and inline HTML, and the HTML renderer escapes every piece of report text.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use crate::model::{
    CheckResult, Exchange, Level, Report, Role, SdkNote, TargetInfo, TargetRun, Verdict,
};
use crate::spec::spec_url;

/// A renderer could not write its output.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error("writing the report failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("serialising the report failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("serialising the JUnit report failed: {0}")]
    Junit(#[from] quick_junit::SerializeError),
    /// Creating the output directory or one of its files failed.
    #[error("writing {path} failed: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A renderer, as [`write_all`] lists them.
pub type Renderer = fn(&Report, &mut dyn Write) -> Result<(), RenderError>;

/// The files [`write_all`] writes, with the renderer of each, in writing order.
pub const FILES: [(&str, Renderer); 4] = [
    ("report.json", json),
    ("report.md", markdown),
    ("junit.xml", junit),
    ("report.html", html),
];

/// Creates `dir` (and its parents) and writes `report.json`, `report.md`, `junit.xml` and `report.html` into
/// it, returning their paths in that order.
///
/// Every renderer runs before the first file is written, so a rendering error leaves no partial set behind.
pub fn write_all(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, RenderError> {
    let mut rendered = Vec::with_capacity(FILES.len());
    for (name, render) in FILES {
        let mut buf = Vec::new();
        render(report, &mut buf)?;
        rendered.push((dir.join(name), buf));
    }
    std::fs::create_dir_all(dir).map_err(|source| RenderError::File {
        path: dir.to_owned(),
        source,
    })?;
    let mut paths = Vec::with_capacity(rendered.len());
    for (path, buf) in rendered {
        std::fs::write(&path, buf).map_err(|source| RenderError::File {
            path: path.clone(),
            source,
        })?;
        paths.push(path);
    }
    Ok(paths)
}

/// The canonical JSON form (pretty-printed, stable field order).
pub fn json(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    out.write_all(b"\n")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Shared helpers

/// The order findings are listed in: failures first, then warnings, then what could not be judged.
const FINDING_ORDER: [Verdict; 4] = [
    Verdict::Fail,
    Verdict::Warn,
    Verdict::Error,
    Verdict::HarnessError,
];

/// Whether a check is a finding (FAIL, WARN, ERROR or HARNESS_ERROR).
fn is_finding(c: &CheckResult) -> bool {
    FINDING_ORDER.contains(&c.verdict)
}

/// The checks worth a reader's attention: FAIL, then WARN, then ERROR and HARNESS_ERROR; within each verdict
/// by level (MUST first), then in report order.
fn findings(report: &Report) -> Vec<&CheckResult> {
    let mut found: Vec<&CheckResult> = report.checks.iter().filter(|c| is_finding(c)).collect();
    found.sort_by_key(|c| {
        let rank = FINDING_ORDER.iter().position(|v| *v == c.verdict);
        (rank, c.level)
    });
    found
}

/// Whether a check's remediation is shown: under the verdicts that ask for a change (FAIL and WARN).
fn wants_fix(c: &CheckResult) -> bool {
    matches!(c.verdict, Verdict::Fail | Verdict::Warn)
}

/// Splits text at backticks into (plain, code) runs, the way titles and remediations write code
/// (`` `resource` ``); None when the backticks do not pair up, so the text is shown as it is.
fn code_runs(text: &str) -> Option<Vec<(bool, &str)>> {
    if text.matches('`').count() % 2 != 0 {
        return None;
    }
    Some(
        text.split('`')
            .enumerate()
            .filter(|(_, run)| !run.is_empty())
            .map(|(i, run)| (i % 2 == 1, run))
            .collect(),
    )
}

/// The JWT claims that hold NumericDate values (RFC 7519 §2), shown with their UTC date.
const TIME_CLAIMS: [&str; 4] = ["exp", "iat", "nbf", "auth_time"];

/// `2025-01-01 00:00:00 UTC` for a NumericDate (seconds since the epoch); None when out of range.
pub fn utc_date(seconds: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(seconds).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// The time claims of a decoded JWT with their dates, in claim order: `(name, seconds, date)`.
fn claim_dates(claims: &serde_json::Value) -> Vec<(&'static str, i64, String)> {
    TIME_CLAIMS
        .into_iter()
        .filter_map(|name| {
            let seconds = claims.get(name)?.as_i64()?;
            Some((name, seconds, utc_date(seconds)?))
        })
        .collect()
}

/// `250 ms`, `1.250 s`.
fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{:03} s", ms / 1000, ms % 1000)
    }
}

/// What the target is, in one line: `bundled http://127.0.0.1:4100/mcp (defect: no-audience-check)`.
fn target_label(t: &TargetInfo) -> String {
    let mut s = t.kind.as_str().to_owned();
    if let Some(place) = t.command.as_ref().or(t.url.as_ref()) {
        s.push(' ');
        s.push_str(place);
    }
    if let Some(defect) = &t.defect {
        s.push_str(&format!(" (defect: {defect})"));
    }
    s
}

/// `FAIL`, or `FAIL (baseline)` when the failure is expected, or `PASS (stale baseline)`. Suite-made text
/// only: safe to embed unescaped.
fn verdict_label(c: &CheckResult, strict: bool) -> String {
    if c.expected_failure.is_none() {
        c.verdict.to_string()
    } else if c.is_failure(strict) {
        format!("{} (baseline)", c.verdict)
    } else {
        format!("{} (stale baseline)", c.verdict)
    }
}

/// Target text made visible: every control character (C0 but tab, DEL, C1) and every Unicode character that
/// moves text around (bidi embeddings, overrides and isolates, line and paragraph separators, BOM) becomes an
/// escape (`\r`, `\x1b`, `\u{202e}`), so the text cannot move the cursor, recolour a terminal, reorder what a
/// reader sees or start a line of its own. Newlines are kept when `keep_newlines` is set (and become `\n`
/// otherwise). Nothing else changes: the result still needs the escaping of wherever it is written.
pub fn escape_controls(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' if keep_newlines => out.push('\n'),
            '\t' => out.push('\t'),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() || moves_text(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Format characters that reorder or break text without being control characters.
fn moves_text(c: char) -> bool {
    matches!(
        c,
        '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

/// The heading of the target-output section: what the role spawns.
fn target_output_title(role: Role) -> &'static str {
    match role {
        Role::Client => "Client output",
        Role::Server | Role::Authz => "Target output",
    }
}

/// `exited with code 1 · 1.234 s`, suite-made apart from the exit description.
fn run_label(r: &TargetRun) -> String {
    format!("{} · {}", r.exit, fmt_ms(r.duration_ms))
}

/// What the target-output section shows, in one sentence.
fn output_note(role: Role) -> String {
    let who = match role {
        Role::Client => "client",
        Role::Server | Role::Authz => "target",
    };
    format!(
        "The end of what the {who} printed in each scenario: stdout and stderr interleaved line by line in \
         arrival order, at most 16 KiB, secrets seen in the exchanges redacted, control characters escaped."
    )
}

/// One summary line for the run's outcome.
fn outcome_line(report: &Report) -> String {
    let s = &report.summary;
    let mut line = format!(
        "{}: {} checks, {} unexpected failure{}",
        s.outcome.as_str().to_uppercase(),
        s.total,
        s.unexpected_failures,
        if s.unexpected_failures == 1 { "" } else { "s" },
    );
    if !s.stale_baseline.is_empty() {
        line.push_str(&format!(
            ", {} stale baseline entr{}",
            s.stale_baseline.len(),
            if s.stale_baseline.len() == 1 {
                "y"
            } else {
                "ies"
            }
        ));
    }
    if s.total == 0 || s.count(Verdict::Skip) == s.total {
        line.push_str(", no check applied");
    }
    line
}

// ---------------------------------------------------------------------------------------------------------
// Markdown

/// Markdown text, escaped for use anywhere in a line, including a table cell: Markdown punctuation that could
/// form links, images, emphasis or code is backslash-escaped, `|` too, `<`/`>`/`&` become entities (no inline
/// HTML), and line breaks become `<br>`.
struct Md<'a>(&'a str);

impl fmt::Display for Md<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars().peekable();
        let mut prev = None;
        while let Some(c) = chars.next() {
            match c {
                // GFM never reads an intraword `_` as emphasis; leave `invalid_token` readable.
                '_' if prev.is_some_and(char::is_alphanumeric)
                    && chars.peek().is_some_and(|n| n.is_alphanumeric()) =>
                {
                    f.write_str("_")?
                }
                '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '!' | '#' | '~' => write!(f, "\\{c}")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '&' => f.write_str("&amp;")?,
                '\r' => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    f.write_str("<br>")?
                }
                '\n' => f.write_str("<br>")?,
                c => write!(f, "{c}")?,
            }
            prev = Some(c);
        }
        Ok(())
    }
}

/// [`Md`] for other Markdown writers (the interop matrix): `s` escaped for use anywhere in a line, a table cell
/// included. Control characters are not escaped here; pass target text through [`escape_controls`] first.
pub fn markdown_text(s: &str) -> String {
    Md(s).to_string()
}

/// [`MdInline`] for other Markdown writers: suite-made text (a reviewed reason) whose `` `code` `` runs become code
/// spans, everything else escaped as [`markdown_text`] does.
pub fn markdown_inline(s: &str) -> String {
    MdInline(s).to_string()
}

/// A code span for identifiers made of safe characters; anything else falls back to escaped text.
struct MdCode<'a>(&'a str);

impl fmt::Display for MdCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let safe = !self.0.is_empty()
            && self
                .0
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._#:/=?@+,".contains(c));
        if safe {
            write!(f, "`{}`", self.0)
        } else {
            Md(self.0).fmt(f)
        }
    }
}

/// Suite-made text with `` `code` `` runs (titles, remediations): the runs become code spans where they are safe,
/// everything else is escaped.
struct MdInline<'a>(&'a str);

impl fmt::Display for MdInline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(runs) = code_runs(self.0) else {
            return Md(self.0).fmt(f);
        };
        for (code, run) in runs {
            if code && !run.contains(['|', '\n', '\r']) {
                // A fence longer than any backtick run inside: there is none, so one backtick does.
                write!(f, "`{run}`")?;
            } else if code {
                write!(
                    f,
                    "`{}`",
                    run.replace('|', "\\|").replace(['\n', '\r'], " ")
                )?;
            } else {
                Md(run).fmt(f)?;
            }
        }
        Ok(())
    }
}

/// A spec reference as a Markdown link to its section, or escaped text when it has no URL.
struct MdSpec<'a>(&'a str);

impl fmt::Display for MdSpec<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match spec_url(self.0) {
            Some(url) => write!(f, "[{}](<{url}>)", Md(self.0)),
            None => Md(self.0).fmt(f),
        }
    }
}

/// An SDK note as a Markdown list item's text: product, hint and where it was verified.
fn md_sdk_note(n: &SdkNote) -> String {
    let mut s = format!("*{}:* {}", Md(&n.sdk), MdInline(&n.note));
    if let Some(src) = &n.source {
        if src.starts_with("https://") && !src.contains(['<', '>', ' ']) {
            s.push_str(&format!(" ([source](<{src}>))"));
        } else {
            s.push_str(&format!(" (source: {})", Md(src)));
        }
    }
    s
}

/// Markdown summary that fits a GitHub CI step summary.
///
/// Title with role and target, a run info line, the level × verdict table, the findings (FAIL, ERROR,
/// HARNESS_ERROR, then WARN) with expected/actual/message/evidence, then a compact table of every check.
pub fn markdown(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    let run = &report.run;
    let strict = run.strict;
    writeln!(
        out,
        "# MCP authorization conformance: {} — {}",
        run.role,
        Md(&target_label(&run.target))
    )?;
    writeln!(out)?;
    writeln!(out, "**{}**", Md(&outcome_line(report)))?;
    writeln!(out)?;
    writeln!(
        out,
        "Suite {} · spec {} · profile {} · TLS {} · {} · strict: {} · seed {} · started {}",
        Md(&run.suite_version),
        Md(&spec_label(run)),
        Md(&run.profile),
        Md(run.tls_profile.as_str()),
        fmt_ms(run.duration_ms),
        if strict { "yes" } else { "no" },
        run.seed,
        Md(&run.started_at),
    )?;
    if !run.notes.is_empty() {
        writeln!(out)?;
        for note in &run.notes {
            writeln!(out, "- {}", Md(note))?;
        }
    }

    // Summary: level × verdict.
    writeln!(out)?;
    writeln!(out, "## Summary")?;
    writeln!(out)?;
    write!(out, "| Level |")?;
    for v in Verdict::ALL {
        write!(out, " {v} |")?;
    }
    writeln!(out, " Total |")?;
    write!(out, "|---|")?;
    for _ in Verdict::ALL {
        write!(out, "--:|")?;
    }
    writeln!(out, "--:|")?;
    for level in Level::ALL {
        write!(out, "| {level} |")?;
        let mut total = 0;
        for v in Verdict::ALL {
            let n = report.summary.count_at(level, v);
            total += n;
            write!(out, " {n} |")?;
        }
        writeln!(out, " {total} |")?;
    }
    write!(out, "| **Total** |")?;
    for v in Verdict::ALL {
        write!(out, " **{}** |", report.summary.count(v))?;
    }
    writeln!(out, " **{}** |", report.summary.total)?;

    if !report.summary.stale_baseline.is_empty() {
        writeln!(out)?;
        writeln!(out, "## Stale baseline entries")?;
        writeln!(out)?;
        writeln!(
            out,
            "These checks are listed as expected failures but did not fail; remove them from the baseline."
        )?;
        writeln!(out)?;
        for id in &report.summary.stale_baseline {
            writeln!(out, "- {}", MdCode(id))?;
        }
    }

    // Findings.
    writeln!(out)?;
    writeln!(out, "## Findings")?;
    let mut any = false;
    for c in findings(report) {
        any = true;
        writeln!(out)?;
        writeln!(
            out,
            "### {} {}: {}",
            verdict_label(c, strict),
            MdCode(&c.id),
            MdInline(&c.title)
        )?;
        writeln!(out)?;
        writeln!(out, "- **Level:** {}", c.level)?;
        if !c.spec_refs.is_empty() {
            let refs: Vec<_> = c.spec_refs.iter().map(|r| MdSpec(r).to_string()).collect();
            writeln!(out, "- **Spec:** {}", refs.join(", "))?;
        }
        if !c.expected.is_empty() {
            writeln!(out, "- **Expected:** {}", Md(&c.expected))?;
        }
        if !c.actual.is_empty() {
            writeln!(out, "- **Actual:** {}", Md(&c.actual))?;
        }
        if !c.message.is_empty() {
            writeln!(out, "- **Message:** {}", Md(&c.message))?;
        }
        if wants_fix(c) {
            if let Some(fix) = &c.remediation {
                writeln!(out, "- **How to fix:** {}", MdInline(fix))?;
            }
            if !c.sdk_notes.is_empty() {
                writeln!(out, "- **SDK notes:**")?;
                for n in &c.sdk_notes {
                    writeln!(out, "  - {}", md_sdk_note(n))?;
                }
            }
        }
        if let Some(reason) = &c.expected_failure {
            writeln!(out, "- **Expected failure (baseline):** {}", Md(reason))?;
        }
        if !c.evidence.is_empty() {
            let ids = |offending: bool| -> Vec<String> {
                c.evidence
                    .iter()
                    .filter(|e| c.is_offending(e) == offending)
                    .map(|e| MdCode(e).to_string())
                    .collect()
            };
            if c.offending.is_empty() {
                writeln!(out, "- **Evidence:** {}", ids(false).join(", "))?;
            } else {
                writeln!(out, "- **Evidence:** ⚠ offending: {}", ids(true).join(", "))?;
                let context = ids(false);
                if !context.is_empty() {
                    writeln!(
                        out,
                        "- **Context (behaved correctly or set the scene):** {}",
                        context.join(", ")
                    )?;
                }
            }
        }
        if !c.scenarios.is_empty() {
            let names: Vec<_> = c.scenarios.iter().map(|n| MdCode(n).to_string()).collect();
            writeln!(
                out,
                "- **Scenarios:** {} (see {})",
                names.join(", "),
                target_output_title(run.role)
            )?;
        }
    }
    if !any {
        writeln!(out)?;
        writeln!(out, "No failing checks and no warnings.")?;
    }

    // Every check.
    writeln!(out)?;
    writeln!(out, "## All checks")?;
    writeln!(out)?;
    writeln!(out, "| ID | Level | Verdict | Title |")?;
    writeln!(out, "|---|---|---|---|")?;
    for c in &report.checks {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            MdCode(&c.id),
            c.level,
            verdict_label(c, strict),
            MdInline(&c.title)
        )?;
    }

    if !report.target_runs.is_empty() {
        writeln!(out)?;
        writeln!(out, "## {}", target_output_title(run.role))?;
        writeln!(out)?;
        writeln!(out, "{}", Md(&output_note(run.role)))?;
        for r in &report.target_runs {
            markdown_target_run(r, out)?;
        }
    }
    Ok(())
}

/// One target run: a `<details>` (open unless the target exited 0) around a fenced block that no line of the
/// output can close (the fence is longer than any backtick run in it).
fn markdown_target_run(r: &TargetRun, out: &mut dyn Write) -> Result<(), RenderError> {
    writeln!(out)?;
    writeln!(
        out,
        "<details{}><summary>{} — {}</summary>",
        if r.succeeded() { "" } else { " open" },
        H(&r.scenario),
        H(&run_label(r))
    )?;
    writeln!(out)?;
    if r.output.is_empty() {
        writeln!(out, "No output.")?;
    } else {
        if r.output_truncated {
            writeln!(out, "Earlier output was cut.")?;
            writeln!(out)?;
        }
        let text = escape_controls(&r.output, true);
        let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
        let fence = "`".repeat((longest + 1).max(3));
        writeln!(out, "{fence}text")?;
        writeln!(out, "{}", text.trim_end_matches('\n'))?;
        writeln!(out, "{fence}")?;
    }
    writeln!(out)?;
    writeln!(out, "</details>")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// JUnit

/// The plain-text body of a JUnit element: verdict, expected, actual, message, spec and evidence.
fn junit_details(report: &Report, c: &CheckResult) -> String {
    let mut s = format!("verdict: {} ({})\n", c.verdict, c.level);
    if !c.expected.is_empty() {
        s.push_str(&format!("expected: {}\n", c.expected));
    }
    if !c.actual.is_empty() {
        s.push_str(&format!("actual: {}\n", c.actual));
    }
    if !c.message.is_empty() {
        s.push_str(&format!("message: {}\n", c.message));
    }
    if let Some(reason) = &c.expected_failure {
        s.push_str(&format!("expected failure (baseline): {reason}\n"));
    }
    if wants_fix(c) {
        if let Some(fix) = &c.remediation {
            s.push_str(&format!("fix: {fix}\n"));
        }
        for n in &c.sdk_notes {
            s.push_str(&format!("fix ({}): {}\n", n.sdk, n.note));
        }
    }
    for r in &c.spec_refs {
        match spec_url(r) {
            Some(url) => s.push_str(&format!("spec: {r} <{url}>\n")),
            None => s.push_str(&format!("spec: {r}\n")),
        }
    }
    if !c.scenarios.is_empty() {
        s.push_str(&format!("scenarios: {}\n", c.scenarios.join(", ")));
    }
    if !c.evidence.is_empty() {
        s.push_str("evidence:\n");
        for id in &c.evidence {
            let mark = if c.is_offending(id) {
                " (offending)"
            } else {
                ""
            };
            s.push_str(&format!("  {id}{mark}: "));
            match report.exchange(id) {
                Some(e) => {
                    s.push_str(&format!("{} {}", e.request.method, e.request.url));
                    match (&e.response, &e.error) {
                        (Some(r), _) => s.push_str(&format!(" -> {}", r.status)),
                        (None, Some(err)) => s.push_str(&format!(" -> error: {err}")),
                        (None, None) => s.push_str(" -> no response"),
                    }
                }
                None => s.push_str("(not recorded)"),
            }
            s.push('\n');
        }
    }
    s
}

/// The test case status of one check, with the system-out it carries (for WARN and INFO).
fn junit_status(report: &Report, c: &CheckResult) -> (TestCaseStatus, Option<String>) {
    let strict = report.run.strict;
    let details = junit_details(report, c);
    // An attribute value: one line (XML would fold the newlines into spaces anyway).
    let message = if c.message.is_empty() {
        &c.actual
    } else {
        &c.message
    }
    .lines()
    .collect::<Vec<_>>()
    .join(" ");
    let non_success = |kind| {
        let mut st = TestCaseStatus::non_success(kind);
        st.set_message(message.as_str())
            .set_type(c.verdict.as_str())
            .set_description(details.as_str());
        st
    };
    if let Some(reason) = &c.expected_failure {
        if c.is_failure(strict) {
            let mut st = TestCaseStatus::skipped();
            st.set_message(format!("expected failure (baseline): {reason}"))
                .set_type(c.verdict.as_str())
                .set_description(details.as_str());
            return (st, None);
        }
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
        st.set_message(format!(
            "stale baseline entry: listed as an expected failure ({reason}) but the verdict is {}",
            c.verdict
        ))
        .set_type("STALE_BASELINE")
        .set_description(details.as_str());
        return (st, None);
    }
    match c.verdict {
        Verdict::Pass => (TestCaseStatus::success(), None),
        Verdict::Info => (TestCaseStatus::success(), Some(format!("INFO\n{details}"))),
        Verdict::Warn if strict => (non_success(NonSuccessKind::Failure), None),
        Verdict::Warn => (TestCaseStatus::success(), Some(format!("WARN\n{details}"))),
        Verdict::Fail => (non_success(NonSuccessKind::Failure), None),
        Verdict::Error | Verdict::HarnessError => (non_success(NonSuccessKind::Error), None),
        Verdict::Skip => {
            let mut st = TestCaseStatus::skipped();
            st.set_message(message).set_type(c.verdict.as_str());
            (st, None)
        }
    }
}

/// JUnit XML: one `testsuite` per role (`mcp-auth-conformance.<role>`), one `testcase` per check.
///
/// Test case name = check id, classname = catalog area ([`CheckResult::area`]), time = the check's duration.
/// FAIL → `failure`; ERROR and HARNESS_ERROR → `error`; WARN passes with a `system-out` note (a `failure`
/// under `--strict`); INFO passes with a `system-out` note; SKIP → `skipped` with the reason. A failure covered
/// by the baseline is `skipped` with the baseline reason; a stale baseline entry is a `failure`, matching the
/// exit code.
pub fn junit(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    let run = &report.run;
    let mut by_role: BTreeMap<Role, Vec<&CheckResult>> = BTreeMap::new();
    by_role.entry(run.role).or_default();
    for c in &report.checks {
        by_role.entry(c.role).or_default().push(c);
    }

    let mut junit = quick_junit::Report::new("mcp-auth-conformance");
    junit.set_time(Duration::from_millis(run.duration_ms));
    for (role, checks) in by_role {
        let mut suite = TestSuite::new(format!("mcp-auth-conformance.{role}"));
        suite.add_properties([
            ("suite-version", run.suite_version.as_str()),
            ("spec-revision", run.spec_revision.as_str()),
            ("target", target_label(&run.target).as_str()),
            ("profile", run.profile.as_str()),
            ("tls-profile", run.tls_profile.as_str()),
            ("strict", if run.strict { "true" } else { "false" }),
            ("seed", run.seed.to_string().as_str()),
            ("started-at", run.started_at.as_str()),
        ]);
        if !run.extensions.is_empty() {
            suite.add_property(("extensions", run.extensions.join(",").as_str()));
        }
        suite.set_time(Duration::from_millis(
            checks.iter().map(|c| c.duration_ms).sum(),
        ));
        for c in checks {
            let (status, system_out) = junit_status(report, c);
            let mut case = TestCase::new(c.id.as_str(), status);
            case.set_classname(c.area())
                .set_time(Duration::from_millis(c.duration_ms));
            if let Some(text) = system_out {
                case.set_system_out(text);
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.serialize(&mut *out)?;
    out.write_all(b"\n")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// HTML

/// HTML-escaped text, safe in element content and in quoted attribute values.
struct H<'a>(&'a str);

impl fmt::Display for H<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut last = 0;
        for (i, c) in s.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => continue,
            };
            f.write_str(&s[last..i])?;
            f.write_str(rep)?;
            last = i + c.len_utf8();
        }
        f.write_str(&s[last..])
    }
}

/// Suite-made text with `` `code` `` runs (titles, remediations), escaped, the runs as `<code>`.
struct HInline<'a>(&'a str);

impl fmt::Display for HInline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(runs) = code_runs(self.0) else {
            return H(self.0).fmt(f);
        };
        for (code, run) in runs {
            if code {
                write!(f, "<code>{}</code>", H(run))?;
            } else {
                H(run).fmt(f)?;
            }
        }
        Ok(())
    }
}

/// Escapes `s` for HTML element content and quoted attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn escape_html(s: &str) -> String {
    H(s).to_string()
}

const CSS: &str = r#"
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--info:#0969da;--skip:#6e7781;--error:#8250df;--harness:#bf3989}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1200px;padding:1rem 2rem;color:#1f2328}
h1{font-size:1.5rem;margin:.2rem 0}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:.5rem;white-space:pre-wrap;overflow-wrap:anywhere;margin:.2rem 0}
.outcome{font-weight:700;font-size:1.1rem}
.outcome.passed{color:var(--pass)}.outcome.failed{color:var(--fail)}
dl.run{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.5rem 0}
dl.run dt{font-weight:600}dl.run dd{margin:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border-bottom:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
table.summary td.n,table.summary th.n{text-align:right}
.badge{display:inline-block;min-width:4.5em;text-align:center;border-radius:3px;color:#fff;font-weight:600;font-size:12px;padding:0 .3rem}
.v-PASS .badge{background:var(--pass)}.v-FAIL .badge{background:var(--fail)}.v-WARN .badge{background:var(--warn)}
.v-INFO .badge{background:var(--info)}.v-SKIP .badge{background:var(--skip)}.v-ERROR .badge{background:var(--error)}
.v-HARNESS_ERROR .badge{background:var(--harness)}
tr.v-FAIL,tr.v-ERROR,tr.v-HARNESS_ERROR{background:#ffebe9}tr.v-WARN{background:#fff8c5}
tr.baselined{opacity:.75}
details>summary{cursor:pointer}
dl.detail{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}
dl.detail dt{font-weight:600}dl.detail dd{margin:0}
.exchange{border-left:3px solid #d0d7de;padding-left:.6rem;margin:.6rem 0}
.exchange>summary{margin:.2rem 0}
.exchange .error{color:var(--fail)}
.filters{margin:.5rem 0}
.filters input{position:absolute;opacity:0}
.filters label{display:inline-block;border:1px solid #d0d7de;border-radius:12px;padding:0 .6rem;margin:0 .2rem .2rem 0;cursor:pointer}
.filters input:checked+label{background:#1f2328;color:#fff}
#f-PASS:checked~table tbody tr:not(.v-PASS),#f-FAIL:checked~table tbody tr:not(.v-FAIL),
#f-WARN:checked~table tbody tr:not(.v-WARN),#f-INFO:checked~table tbody tr:not(.v-INFO),
#f-SKIP:checked~table tbody tr:not(.v-SKIP),#f-ERROR:checked~table tbody tr:not(.v-ERROR),
#f-HARNESS_ERROR:checked~table tbody tr:not(.v-HARNESS_ERROR),
#f-problems:checked~table tbody tr:not(.problem){display:none}
.fix{background:#ddf4ff;border-left:3px solid var(--info);padding:.3rem .6rem;margin:.2rem 0}
.fix ul{margin:.2rem 0;padding-left:1.2rem}
.date{color:var(--info)}
.exchange.offending{border-left:4px solid var(--fail);background:#fff5f5}
.exchange.context{border-left-color:#8c959f}
.mark{display:inline-block;border-radius:3px;font-size:11px;font-weight:700;padding:0 .3rem;margin-right:.3rem;color:#fff;background:#8c959f}
.mark.offending{background:var(--fail)}
#script-errors{background:#ffebe9;border:1px solid var(--fail);padding:.5rem;white-space:pre-wrap}
#selftest{white-space:pre-wrap}
"#;

/// The page's only script: it records script errors into `#script-errors` (so a headless browser that dumps
/// the DOM sees them) and, when the URL fragment is `#selftest`, drives every verdict filter and writes what it
/// saw into `#selftest` (`data-result` is `pass` or `fail`). Reading the report needs no script: the filters
/// are pure CSS.
const SCRIPT: &str = r#"
(function(){
var errors=[];
function showErrors(){var el=document.getElementById('script-errors');if(!el)return;
el.textContent=errors.join('\n');el.setAttribute('data-count',String(errors.length));el.hidden=errors.length===0;}
window.addEventListener('error',function(e){errors.push('script error: '+(e.message||e.type)+(e.filename?' at '+e.filename+':'+e.lineno:''));showErrors();});
function rows(){return Array.prototype.slice.call(document.querySelectorAll('table.checks tbody tr'));}
function shown(){return rows().filter(function(r){return getComputedStyle(r).display!=='none';});}
function selftest(){
var lines=[],ok=true;
function expect(cond,what){lines.push((cond?'ok   ':'FAIL ')+what);if(!cond)ok=false;}
var first=document.querySelector('.filters input:checked');
var findings=document.querySelectorAll('table.checks tbody tr.problem');
if(findings.length>0){
expect(first&&first.id==='f-problems','the page opens on the findings filter ('+(first?first.id:'none')+')');
var closed=Array.prototype.filter.call(findings,function(r){var d=r.querySelector('details');return !d||!d.open;});
expect(closed.length===0,'every finding is expanded ('+closed.length+' collapsed)');
var top=rows()[0];
expect(top&&top.classList.contains('problem'),'the first row is a finding');}
var inputs=document.querySelectorAll('.filters input[type=radio]');
expect(inputs.length>1,inputs.length+' filters');
Array.prototype.forEach.call(inputs,function(i){
i.click();
var want=Number(i.getAttribute('data-count')),sel=i.getAttribute('data-match');
var vis=shown(),stray=vis.filter(function(r){return !r.matches(sel);});
expect(i.checked&&vis.length===want&&stray.length===0,'filter '+i.id+': '+vis.length+' rows shown, '+want+' expected, '+stray.length+' not matching '+sel);});
if(first)first.click();
expect(errors.length===0,errors.length+' script errors');
var el=document.getElementById('selftest');
el.textContent=lines.join('\n');el.setAttribute('data-result',ok?'pass':'fail');el.hidden=false;}
document.addEventListener('DOMContentLoaded',function(){showErrors();
if(location.hash==='#selftest'){try{selftest();}catch(e){var el=document.getElementById('selftest');
el.textContent='FAIL the self-test threw: '+e;el.setAttribute('data-result','fail');el.hidden=false;}}});
})();
"#;

/// One self-contained HTML file: inline CSS and one inline script ([`SCRIPT`]: error capture and the `#selftest`
/// hook), no external assets; the verdict filters are pure CSS.
///
/// A header with the run info and outcome, the level × verdict counts, and a table of checks coloured by
/// verdict that opens on the findings: FAIL (MUST first), then WARN, then ERROR, expanded, above the other
/// checks, which stay collapsed. A check expands (`<details>`) to its expected/actual/message, how to fix it
/// (the remediation and SDK notes, for FAIL and WARN), its spec references as links, and the exchanges it cites
/// (request, response, decoded token claims with their dates), the offending ones marked. All report text is
/// escaped.
pub fn html(report: &Report, out: &mut dyn Write) -> Result<(), RenderError> {
    let run = &report.run;
    let strict = run.strict;
    let target = target_label(&run.target);
    writeln!(out, "<!doctype html>")?;
    writeln!(out, "<html lang=\"en\">")?;
    writeln!(out, "<head>")?;
    writeln!(out, "<meta charset=\"utf-8\">")?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<title>MCP authorization conformance: {} · {}</title>",
        run.role,
        H(&target)
    )?;
    writeln!(out, "<style>{CSS}</style>")?;
    writeln!(out, "<script>{SCRIPT}</script>")?;
    writeln!(out, "</head>")?;
    writeln!(out, "<body>")?;
    writeln!(
        out,
        "<div id=\"script-errors\" data-count=\"0\" hidden></div>"
    )?;
    writeln!(out, "<pre id=\"selftest\" hidden></pre>")?;

    // Header.
    writeln!(out, "<header>")?;
    writeln!(
        out,
        "<h1>MCP authorization conformance: {} — {}</h1>",
        run.role,
        H(&target)
    )?;
    writeln!(
        out,
        "<p class=\"outcome {}\">{}</p>",
        report.summary.outcome,
        H(&outcome_line(report))
    )?;
    writeln!(out, "<dl class=\"run\">")?;
    let duration = fmt_ms(run.duration_ms);
    let seed = run.seed.to_string();
    let spec = spec_label(run);
    let rows: [(&str, &str); 11] = [
        ("Suite version", &run.suite_version),
        ("Spec revision", &spec),
        ("Role", run.role.as_str()),
        ("Target", &target),
        ("Profile", &run.profile),
        ("TLS profile", run.tls_profile.as_str()),
        ("Strict", if strict { "yes" } else { "no" }),
        ("Started", &run.started_at),
        ("Finished", &run.finished_at),
        ("Duration", &duration),
        ("Seed", &seed),
    ];
    for (k, v) in rows {
        writeln!(out, "<dt>{}</dt><dd>{}</dd>", H(k), H(v))?;
    }
    writeln!(out, "</dl>")?;
    if !run.notes.is_empty() {
        writeln!(out, "<ul class=\"notes\">")?;
        for note in &run.notes {
            writeln!(out, "<li>{}</li>", H(note))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</header>")?;

    // Summary counts.
    writeln!(out, "<section>")?;
    writeln!(out, "<h2>Summary</h2>")?;
    writeln!(out, "<table class=\"summary\">")?;
    write!(out, "<thead><tr><th>Level</th>")?;
    for v in Verdict::ALL {
        write!(
            out,
            "<th class=\"n v-{v}\"><span class=\"badge\">{v}</span></th>"
        )?;
    }
    writeln!(out, "<th class=\"n\">Total</th></tr></thead>")?;
    writeln!(out, "<tbody>")?;
    for level in Level::ALL {
        write!(out, "<tr><th>{level}</th>")?;
        let mut total = 0;
        for v in Verdict::ALL {
            let n = report.summary.count_at(level, v);
            total += n;
            write!(out, "<td class=\"n\">{n}</td>")?;
        }
        writeln!(out, "<td class=\"n\">{total}</td></tr>")?;
    }
    write!(out, "<tr><th>Total</th>")?;
    for v in Verdict::ALL {
        write!(
            out,
            "<td class=\"n\"><b>{}</b></td>",
            report.summary.count(v)
        )?;
    }
    writeln!(
        out,
        "<td class=\"n\"><b>{}</b></td></tr>",
        report.summary.total
    )?;
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table>")?;
    if !report.summary.stale_baseline.is_empty() {
        writeln!(
            out,
            "<p>Stale baseline entries (listed as expected failures but did not fail):</p>"
        )?;
        writeln!(out, "<ul>")?;
        for id in &report.summary.stale_baseline {
            writeln!(out, "<li><code>{}</code></li>", H(id))?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</section>")?;

    // Checks.
    writeln!(out, "<section class=\"filters\">")?;
    writeln!(out, "<h2>Checks</h2>")?;
    let problems = report.checks.iter().filter(|c| is_finding(c)).count();
    // The page opens on the findings when there are any.
    let radio = |out: &mut dyn Write, id: &str, matches: &str, n: usize, label: &str, on: bool| {
        writeln!(
            out,
            "<input type=\"radio\" name=\"f\" id=\"{id}\" data-match=\"{matches}\" data-count=\"{n}\"{}><label for=\"{id}\">{label} ({n})</label>",
            if on { " checked" } else { "" }
        )
    };
    if problems > 0 {
        radio(out, "f-problems", "tr.problem", problems, "Findings", true)?;
    }
    radio(
        out,
        "f-all",
        "tr",
        report.summary.total,
        "All",
        problems == 0,
    )?;
    for v in Verdict::ALL {
        let n = report.summary.count(v);
        if n > 0 {
            radio(
                out,
                &format!("f-{v}"),
                &format!("tr.v-{v}"),
                n,
                v.as_str(),
                false,
            )?;
        }
    }
    writeln!(out, "<table class=\"checks\">")?;
    writeln!(
        out,
        "<thead><tr><th>Verdict</th><th>ID</th><th>Level</th><th>Check</th></tr></thead>"
    )?;
    writeln!(out, "<tbody>")?;
    for c in findings(report) {
        html_check(report, c, out)?;
    }
    for c in report.checks.iter().filter(|c| !is_finding(c)) {
        html_check(report, c, out)?;
    }
    writeln!(out, "</tbody>")?;
    writeln!(out, "</table>")?;
    writeln!(out, "</section>")?;
    if !report.target_runs.is_empty() {
        writeln!(out, "<section class=\"target-runs\">")?;
        writeln!(out, "<h2>{}</h2>", target_output_title(run.role))?;
        writeln!(out, "<p>{}</p>", H(&output_note(run.role)))?;
        for r in &report.target_runs {
            html_target_run(r, out)?;
        }
        writeln!(out, "</section>")?;
    }
    writeln!(out, "</body>")?;
    writeln!(out, "</html>")?;
    Ok(())
}

/// One row of the checks table, with its expandable details (open for a finding).
fn html_check(report: &Report, c: &CheckResult, out: &mut dyn Write) -> Result<(), RenderError> {
    let strict = report.run.strict;
    let mut classes = format!("v-{}", c.verdict);
    if is_finding(c) {
        classes.push_str(" problem");
    }
    if c.expected_failure.is_some() {
        classes.push_str(" baselined");
    }
    writeln!(
        out,
        "<tr class=\"{}\" id=\"check-{}\">",
        H(&classes),
        H(&c.id)
    )?;
    writeln!(
        out,
        "<td><span class=\"badge\">{}</span></td><td><code>{}</code></td><td>{}</td>",
        H(&verdict_label(c, strict)),
        H(&c.id),
        c.level
    )?;
    writeln!(
        out,
        "<td><details{}><summary>{}</summary>",
        if is_finding(c) { " open" } else { "" },
        HInline(&c.title)
    )?;
    if wants_fix(c) && (c.remediation.is_some() || !c.sdk_notes.is_empty()) {
        writeln!(out, "<div class=\"fix\">")?;
        if let Some(fix) = &c.remediation {
            writeln!(out, "<p><b>How to fix:</b> {}</p>", HInline(fix))?;
        }
        if !c.sdk_notes.is_empty() {
            writeln!(out, "<p><b>SDK notes:</b></p><ul>")?;
            for n in &c.sdk_notes {
                write!(out, "<li><b>{}</b>: {}", H(&n.sdk), HInline(&n.note))?;
                if let Some(src) = &n.source {
                    if src.starts_with("https://") {
                        write!(out, " (<a href=\"{}\">source</a>)", H(src))?;
                    } else {
                        write!(out, " (source: {})", H(src))?;
                    }
                }
                writeln!(out, "</li>")?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(out, "</div>")?;
    }
    writeln!(out, "<dl class=\"detail\">")?;
    let pre = |label: &str, text: &str, out: &mut dyn Write| -> std::io::Result<()> {
        writeln!(out, "<dt>{}</dt><dd><pre>{}</pre></dd>", H(label), H(text))
    };
    for (label, text) in [
        ("Expected", &c.expected),
        ("Actual", &c.actual),
        ("Message", &c.message),
    ] {
        if !text.is_empty() {
            pre(label, text, out)?;
        }
    }
    if let Some(reason) = &c.expected_failure {
        writeln!(
            out,
            "<dt>Baseline</dt><dd>expected failure: {}</dd>",
            H(reason)
        )?;
    }
    if !c.spec_refs.is_empty() {
        write!(out, "<dt>Spec</dt><dd>")?;
        for (i, r) in c.spec_refs.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            match spec_url(r) {
                Some(url) => write!(out, "{sep}<a href=\"{}\">{}</a>", H(&url), H(r))?,
                None => write!(out, "{sep}{}", H(r))?,
            }
        }
        writeln!(out, "</dd>")?;
    }
    if !c.scenarios.is_empty() {
        write!(out, "<dt>Scenarios</dt><dd>")?;
        for (i, name) in c.scenarios.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            if report.target_run(name).is_some() {
                write!(
                    out,
                    "{sep}<a href=\"#run-{}\"><code>{}</code></a>",
                    H(name),
                    H(name)
                )?;
            } else {
                write!(out, "{sep}<code>{}</code>", H(name))?;
            }
        }
        writeln!(out, "</dd>")?;
    }
    writeln!(out, "<dt>Duration</dt><dd>{}</dd>", fmt_ms(c.duration_ms))?;
    writeln!(out, "</dl>")?;
    // The offending exchanges first, then the context.
    let marked = !c.offending.is_empty();
    let ordered = c
        .evidence
        .iter()
        .filter(|id| c.is_offending(id))
        .chain(c.evidence.iter().filter(|id| !c.is_offending(id)));
    for id in ordered {
        let mark = marked.then(|| c.is_offending(id));
        match report.exchange(id) {
            Some(e) => html_exchange(e, mark, out)?,
            None => writeln!(
                out,
                "<div class=\"exchange\"><p><code>{}</code>: not recorded in this report</p></div>",
                H(id)
            )?,
        }
    }
    writeln!(out, "</details></td>")?;
    writeln!(out, "</tr>")?;
    Ok(())
}

/// One target run: collapsed when the target exited 0, open otherwise; the output escaped in a `<pre>`.
fn html_target_run(r: &TargetRun, out: &mut dyn Write) -> Result<(), RenderError> {
    writeln!(
        out,
        "<details class=\"target-run\" id=\"run-{}\"{}>",
        H(&r.scenario),
        if r.succeeded() { "" } else { " open" }
    )?;
    writeln!(
        out,
        "<summary><code>{}</code> — {}</summary>",
        H(&r.scenario),
        H(&run_label(r))
    )?;
    if r.output.is_empty() {
        writeln!(out, "<p><i>No output.</i></p>")?;
    } else {
        if r.output_truncated {
            writeln!(out, "<p><i>Earlier output was cut.</i></p>")?;
        }
        writeln!(
            out,
            "<pre class=\"output\">{}</pre>",
            H(escape_controls(&r.output, true).trim_end_matches('\n'))
        )?;
    }
    writeln!(out, "</details>")?;
    Ok(())
}

/// Decoded claims, pretty-printed and escaped, with the UTC date beside each top-level NumericDate claim
/// (`"exp": 1735689600, 2025-01-01 00:00:00 UTC`).
fn claims_html(claims: &serde_json::Value) -> Result<String, RenderError> {
    let pretty = serde_json::to_string_pretty(claims)?;
    let dates = claim_dates(claims);
    let mut html = String::with_capacity(pretty.len());
    for (i, line) in pretty.lines().enumerate() {
        if i > 0 {
            html.push('\n');
        }
        html.push_str(&H(line).to_string());
        let top_level = line.strip_prefix("  \"").filter(|l| !l.starts_with(' '));
        if let Some(rest) = top_level {
            if let Some((_, seconds, date)) = dates.iter().find(|(name, seconds, _)| {
                rest.strip_prefix(name)
                    .and_then(|r| r.strip_prefix("\": "))
                    .is_some_and(|n| n.trim_end_matches(',') == seconds.to_string())
            }) {
                let _ = seconds;
                html.push_str(&format!("  <span class=\"date\">{}</span>", H(date)));
            }
        }
    }
    Ok(html)
}

/// Headers as `Name: value` lines.
fn header_lines(headers: &[(String, String)]) -> String {
    let mut s = String::new();
    for (k, v) in headers {
        s.push_str(k);
        s.push_str(": ");
        s.push_str(v);
        s.push('\n');
    }
    s
}

/// One cited exchange: request, response or error, and the tokens it carried. `mark`: whether it is the
/// offending exchange (Some(true)) or context (Some(false)), when the check singled any out.
fn html_exchange(e: &Exchange, mark: Option<bool>, out: &mut dyn Write) -> Result<(), RenderError> {
    let (class, label, open) = match mark {
        Some(true) => (
            " offending",
            "<span class=\"mark offending\">offending</span>",
            true,
        ),
        Some(false) => (" context", "<span class=\"mark\">context</span>", false),
        None => ("", "", true),
    };
    // Context exchanges start collapsed: the offending one is what the reader came for.
    let status = match (&e.response, &e.error) {
        (Some(r), _) => format!("→ HTTP {}", r.status),
        (None, Some(_)) => "→ error".to_owned(),
        (None, None) => "→ no response".to_owned(),
    };
    writeln!(
        out,
        "<details class=\"exchange{class}\"{}>",
        if open { " open" } else { "" }
    )?;
    writeln!(
        out,
        "<summary>{label}<code>{}</code> {} · {} {}</summary>",
        H(&e.id),
        H(&e.purpose),
        fmt_ms(e.duration_ms),
        status
    )?;
    let mut req = format!("{} {}\n", e.request.method, e.request.url);
    req.push_str(&header_lines(&e.request.headers));
    if let Some(body) = &e.request.body {
        req.push('\n');
        req.push_str(body);
    }
    writeln!(out, "<pre class=\"request\">{}</pre>", H(req.trim_end()))?;
    if let Some(r) = &e.response {
        let mut resp = format!("HTTP {}\n", r.status);
        resp.push_str(&header_lines(&r.headers));
        if let Some(body) = &r.body {
            resp.push('\n');
            resp.push_str(body);
        }
        writeln!(out, "<pre class=\"response\">{}</pre>", H(resp.trim_end()))?;
        if r.body_truncated {
            writeln!(out, "<p><i>Body truncated at the recording cap.</i></p>")?;
        }
    }
    if let Some(err) = &e.error {
        writeln!(out, "<p class=\"error\">Error: {}</p>", H(err))?;
    }
    if e.response.is_none() && e.error.is_none() {
        writeln!(out, "<p class=\"error\">No response recorded.</p>")?;
    }
    for t in &e.tokens {
        writeln!(
            out,
            "<p>Token <code>{}</code> · {} chars · sha256 <code>{}</code></p>",
            H(&t.redacted),
            t.length,
            H(&t.sha256)
        )?;
        if let Some(v) = &t.jwt_header {
            let pretty = serde_json::to_string_pretty(v)?;
            writeln!(
                out,
                "<p>JOSE header</p><pre class=\"claims\">{}</pre>",
                H(&pretty)
            )?;
        }
        if let Some(v) = &t.jwt_claims {
            writeln!(
                out,
                "<p>Claims</p><pre class=\"claims\">{}</pre>",
                claims_html(v)?
            )?;
        }
    }
    writeln!(out, "</details>")?;
    Ok(())
}

/// The revision a run was scored against, with the extensions it opted into: `2025-11-25` or
/// `2025-11-25 + dpop, wif`.
fn spec_label(run: &crate::model::RunInfo) -> String {
    if run.extensions.is_empty() {
        run.spec_revision.clone()
    } else {
        format!("{} + {}", run.spec_revision, run.extensions.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::script("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;")]
    #[case::double_quote(r#"" onmouseover="x"#, "&quot; onmouseover=&quot;x")]
    #[case::single_quote("it's", "it&#39;s")]
    #[case::ampersand_first("&lt;", "&amp;lt;")]
    #[case::unicode("héllo — ✓ <b>", "héllo — ✓ &lt;b&gt;")]
    #[case::plain("RS-JWT-03", "RS-JWT-03")]
    #[case::empty("", "")]
    fn html_escape(#[case] input: &str, #[case] escaped: &str) {
        assert_eq!(escape_html(input), escaped);
    }

    #[rstest]
    #[case::pipe_in_cell("a | b", r"a \| b")]
    #[case::newlines("one\ntwo\r\nthree", "one<br>two<br>three")]
    #[case::html("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;")]
    #[case::link("[click](https://evil.example)", r"\[click\](https://evil.example)")]
    #[case::image("![x](y)", r"\!\[x\](y)")]
    #[case::code_and_emphasis("`a` *b* _c_", r"\`a\` \*b\* \_c\_")]
    #[case::intraword_underscore("invalid_token", "invalid_token")]
    #[case::emphasis_underscore("_x_ a_ _b", r"\_x\_ a\_ \_b")]
    fn markdown_escape(#[case] input: &str, #[case] escaped: &str) {
        assert_eq!(Md(input).to_string(), escaped);
    }

    #[rstest]
    #[case::id("RS-JWT-03.none", "`RS-JWT-03.none`")]
    #[case::exchange_id("prm#1", "`prm#1`")]
    #[case::backtick("a`b", r"a\`b")]
    #[case::pipe("a|b", r"a\|b")]
    fn markdown_code_span(#[case] input: &str, #[case] rendered: &str) {
        assert_eq!(MdCode(input).to_string(), rendered);
    }

    #[rstest]
    #[case::plain("Unknown scenario", "Unknown scenario")]
    #[case::esc("\x1b[2J\x1b[31mred", r"\x1b[2J\x1b[31mred")]
    #[case::carriage_return("PASS  CL-X\rFAIL", r"PASS  CL-X\rFAIL")]
    #[case::newline_kept("a\nb", "a\nb")]
    #[case::tab_kept("a\tb", "a\tb")]
    #[case::nul_bell_del("\0\x07\x7f", r"\x00\x07\x7f")]
    #[case::c1_nel("a\u{85}b", r"a\u{85}b")]
    #[case::bidi_override("abc\u{202e}fed", r"abc\u{202e}fed")]
    #[case::line_separator("a\u{2028}b", r"a\u{2028}b")]
    #[case::unicode_kept("héllo — ✓", "héllo — ✓")]
    fn controls_are_escaped(#[case] input: &str, #[case] escaped: &str) {
        assert_eq!(escape_controls(input, true), escaped);
    }

    #[test]
    fn newlines_are_escaped_on_one_line() {
        assert_eq!(escape_controls("a\nb\r\n", false), r"a\nb\r\n");
    }

    #[rstest]
    #[case::millis(250, "250 ms")]
    #[case::zero(0, "0 ms")]
    #[case::seconds(1250, "1.250 s")]
    #[case::exact(3000, "3.000 s")]
    fn durations(#[case] ms: u64, #[case] text: &str) {
        assert_eq!(fmt_ms(ms), text);
    }
}
