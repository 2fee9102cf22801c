//! GitHub Actions output for a finished run (`mcp-auth-conformance github --report DIR/report.json`): one
//! workflow-command annotation per finding, and the report's Markdown for the job's step summary.
//!
//! What is printed is the report's own text, which the run already redacted and bounded (runner::conclude),
//! plus the catalog's remediation for the check's row; never an exchange, a header or a body. Every text is
//! escaped by GitHub's workflow-command rules (`%`, CR and LF in the message; also `:` and `,` in properties), so
//! a target cannot end an annotation and start a command of its own (`::add-mask::`, `::stop-commands::`), and
//! each is cut to a bound.

use std::fmt::Write as _;

use mcp_auth_reports::{CheckResult, Report, Verdict};

use crate::catalog::Catalog;

/// How much of an annotation's title and message is kept (bytes, before escaping).
pub const TITLE_CAP: usize = 200;
pub const MESSAGE_CAP: usize = 2_000;
/// GitHub refuses a step summary over 1 MiB; the report's Markdown is cut before that, with a note.
pub const SUMMARY_CAP: usize = 1_000_000;

/// A workflow command's message: `%`, CR and LF escaped.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as [`escape_data`], and `:` and `,` too.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `s` cut to at most `cap` bytes on a character boundary, marked when cut.
fn bounded(s: &str, cap: usize) -> String {
    if s.len() <= cap {
        return s.to_owned();
    }
    let mut end = cap;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [cut; the report has the rest]", &s[..end])
}

/// The annotation lines of a report: `::error` for each unexpected FAIL or ERROR, `::warning` for each WARN,
/// `::notice` for a failure the baseline expects, and `::error` for each stale baseline entry. `remediation`
/// gives the fix for a check id (the catalog's, see [`annotations`]).
pub fn annotations_with(
    report: &Report,
    remediation: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let strict = report.run.strict;
    let mut lines = Vec::new();
    for c in &report.checks {
        let command = match (c.verdict, &c.expected_failure) {
            (Verdict::Fail | Verdict::Warn | Verdict::Error | Verdict::HarnessError, Some(_))
                if c.is_failure(strict) =>
            {
                "notice"
            }
            (Verdict::Fail | Verdict::Error | Verdict::HarnessError, _) => "error",
            (Verdict::Warn, _) => "warning",
            _ => continue,
        };
        lines.push(annotation(command, c, remediation(&c.id)));
    }
    for id in &report.summary.stale_baseline {
        let title = bounded(&format!("{id}: stale baseline entry"), TITLE_CAP);
        let message = "The baseline expects this check to fail, but it did not: remove the entry (the run fails until then).";
        lines.push(format!(
            "::error title={}::{}",
            escape_property(&title),
            escape_data(message)
        ));
    }
    lines
}

/// [`annotations_with`] the catalog's remediation of each check's row.
pub fn annotations(report: &Report) -> Vec<String> {
    let catalog = Catalog::all();
    annotations_with(report, |id| {
        let row = id.split('.').next().unwrap_or(id);
        catalog.row(row).map(|r| r.remediation.clone())
    })
}

fn annotation(command: &str, c: &CheckResult, fix: Option<String>) -> String {
    let title = bounded(&format!("{} {}: {}", c.id, c.verdict, c.title), TITLE_CAP);
    let mut message = String::new();
    let observed = if c.actual.is_empty() {
        &c.message
    } else {
        &c.actual
    };
    if !c.expected.is_empty() {
        let _ = writeln!(message, "Expected: {}", c.expected);
    }
    if !observed.is_empty() {
        let _ = writeln!(message, "Observed: {observed}");
    }
    if let Some(reason) = &c.expected_failure {
        let _ = writeln!(message, "Baselined: {reason}");
    }
    if let Some(fix) = fix.filter(|f| !f.is_empty()) {
        let _ = writeln!(message, "Fix: {fix}");
    }
    let message = bounded(message.trim_end(), MESSAGE_CAP);
    format!(
        "::{command} title={}::{}",
        escape_property(&title),
        escape_data(&message)
    )
}

/// The report's Markdown for `$GITHUB_STEP_SUMMARY`, cut below GitHub's limit with a note when longer.
pub fn step_summary(report: &Report) -> Result<String, mcp_auth_reports::render::RenderError> {
    let mut md = Vec::new();
    mcp_auth_reports::render::markdown(report, &mut md)?;
    let md = String::from_utf8_lossy(&md).into_owned();
    if md.len() <= SUMMARY_CAP {
        return Ok(md);
    }
    let mut end = SUMMARY_CAP;
    while !md.is_char_boundary(end) {
        end -= 1;
    }
    Ok(format!(
        "{}\n\n*The summary was cut at {SUMMARY_CAP} bytes (GitHub's limit is 1 MiB); report.md in the uploaded reports has it all.*\n",
        &md[..end]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_auth_reports::{Level, Role, RunInfo, TargetInfo, TargetKind};

    fn check(id: &str, verdict: Verdict, actual: &str) -> CheckResult {
        let mut c = CheckResult::new(
            id,
            "A title",
            Role::Server,
            Level::Must,
            verdict,
            Vec::new(),
        );
        c.expected = "401".into();
        c.actual = actual.into();
        c
    }

    fn report(checks: Vec<CheckResult>) -> Report {
        let run = RunInfo::new(Role::Server, TargetInfo::new(TargetKind::Url), "todo");
        Report::new(run, checks, Vec::new())
    }

    fn no_fix(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn data_escapes_percent_cr_and_lf() {
        assert_eq!(escape_data("100% a\r\nb"), "100%25 a%0D%0Ab");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn escaping_percent_first_keeps_an_escape_sequence_in_the_text_literal() {
        // A target writing `%0A` must not get a line break.
        assert_eq!(escape_data("%0A::add-mask::x"), "%250A::add-mask::x");
    }

    #[test]
    fn a_fail_is_an_error_with_the_check_as_title_and_actual_and_fix_as_message() {
        let r = report(vec![check("RS-AUD-01.missing", Verdict::Fail, "200 OK")]);
        let lines = annotations_with(&r, |id| Some(format!("fix {id}")));
        assert_eq!(
            lines,
            ["::error title=RS-AUD-01.missing FAIL%3A A title::Expected: 401%0AObserved: 200 OK%0AFix: fix RS-AUD-01.missing"]
        );
    }

    #[test]
    fn a_warn_is_a_warning_and_a_pass_nothing() {
        let r = report(vec![
            check("RS-A", Verdict::Warn, "w"),
            check("RS-B", Verdict::Pass, "p"),
            check("RS-C", Verdict::Skip, "s"),
        ]);
        let lines = annotations_with(&r, no_fix);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("::warning title=RS-A WARN"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn a_baselined_failure_is_a_notice_with_its_reason() {
        let mut c = check("RS-A", Verdict::Fail, "x");
        c.expected_failure = Some("known: vendor bug".into());
        let lines = annotations_with(&report(vec![c]), no_fix);
        assert!(lines[0].starts_with("::notice "), "{}", lines[0]);
        assert!(
            lines[0].contains("Baselined: known: vendor bug"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn a_stale_baseline_entry_is_an_error_naming_the_check() {
        let mut c = check("RS-A", Verdict::Pass, "ok");
        c.expected_failure = Some("known".into());
        let lines = annotations_with(&report(vec![c]), no_fix);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("::error title=RS-A%3A stale baseline entry::"),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn a_target_cannot_break_out_of_its_annotation() {
        let hostile = "x\n::add-mask::y\r\n::stop-commands::z,a:b";
        let mut c = check("RS-A", Verdict::Fail, hostile);
        c.title = hostile.into();
        let lines = annotations_with(&report(vec![c]), no_fix);
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert!(!line.contains(['\n', '\r']), "{line}");
        // Only our own `::error title=` and the one `::` that ends the properties introduce commands.
        let (props, message) = line
            .split_once("::")
            .map(|(_, rest)| rest.split_once("::").unwrap())
            .unwrap();
        assert!(
            props.starts_with("error title=RS-A FAIL%3A x%0A%3A%3Aadd-mask%3A%3Ay"),
            "{props}"
        );
        assert!(
            message.contains("Observed: x%0A::add-mask::y%0D%0A::stop-commands::z,a:b"),
            "{message}"
        );
    }

    #[test]
    fn titles_and_messages_are_bounded() {
        let mut c = check("RS-A", Verdict::Fail, &"é".repeat(10_000));
        c.title = "t".repeat(10_000);
        let line = &annotations_with(&report(vec![c]), no_fix)[0];
        let (title, message) = line["::error title=".len()..].split_once("::").unwrap();
        assert!(title.len() < TITLE_CAP + 64, "{}", title.len());
        assert!(message.len() < MESSAGE_CAP + 64, "{}", message.len());
        assert!(message.ends_with("[cut; the report has the rest]"));
    }

    #[test]
    fn annotations_quote_no_evidence_from_the_exchanges() {
        let mut request =
            mcp_auth_reports::HttpRequest::new("POST", "http://127.0.0.1:1/mcp?token=in-the-url");
        request.headers = vec![("authorization".into(), "Bearer in-a-header".into())];
        request.body = Some("in-a-body".into());
        let exchange = mcp_auth_reports::Exchange::new("x#0", "probe", request);
        let mut c = check("RS-A", Verdict::Fail, "refused");
        c.evidence = vec!["x#0".into()];
        let run = RunInfo::new(Role::Server, TargetInfo::new(TargetKind::Url), "todo");
        let r = Report::new(run, vec![c], vec![exchange]);
        let out = annotations_with(&r, no_fix).join("\n");
        for secret in ["in-the-url", "in-a-header", "in-a-body"] {
            assert!(!out.contains(secret), "{secret} printed: {out}");
        }
    }

    #[test]
    fn every_catalog_row_of_a_check_gives_its_fix() {
        let r = report(vec![check("RS-AUD-01.missing", Verdict::Fail, "x")]);
        let line = &annotations(&r)[0];
        let fix = &Catalog::all().row("RS-AUD-01").unwrap().remediation;
        assert!(
            line.contains(&escape_data(&format!("Fix: {fix}"))),
            "{line}"
        );
    }

    #[test]
    fn the_step_summary_is_the_reports_markdown() {
        let r = report(vec![check("RS-A", Verdict::Fail, "x")]);
        let mut md = Vec::new();
        mcp_auth_reports::render::markdown(&r, &mut md).unwrap();
        assert_eq!(step_summary(&r).unwrap().as_bytes(), &md[..]);
    }

    #[test]
    fn a_step_summary_over_the_limit_is_cut_with_a_note() {
        let checks = (0..3_000)
            .map(|i| check(&format!("RS-{i}"), Verdict::Fail, &"y".repeat(1_000)))
            .collect();
        let s = step_summary(&report(checks)).unwrap();
        assert!(s.len() < SUMMARY_CAP + 300, "{}", s.len());
        assert!(s.contains("The summary was cut"));
    }
}
