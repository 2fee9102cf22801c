//! What a run prints on the terminal: one line per check (stdout), the remediation under each FAIL/WARN, cascades
//! grouped (a failed prerequisite lists the checks it blocked, a blocked check names its prerequisite), the
//! summary by level × verdict, and, on a TTY, a live status line on stderr while the run goes.
//!
//! Colour only when asked (`--color always`) or when stdout is a terminal and `NO_COLOR` is unset or empty
//! (<https://no-color.org>); off a terminal the output is plain lines, the same on every run, for CI logs. Every
//! text a target influenced is escaped ([`terminal_line`], [`crate::output::terminal_tail`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anstyle::{AnsiColor, Style};
use mcp_auth_reports::render::escape_controls;
use mcp_auth_reports::{CheckResult, Level, Report, Verdict};

use crate::catalog::Catalog;
use crate::output::terminal_tail;
use crate::runner::StatusSnapshot;

/// `--color`: when the check lines are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is unset or empty (and `TERM` is not `dumb`).
    #[default]
    Auto,
    /// Always, even into a pipe or with `NO_COLOR` set (an explicit option wins).
    Always,
    /// Never.
    Never,
}

/// Whether to colour: `--color`, then `NO_COLOR` (any non-empty value disables), then whether stdout is a
/// terminal that is not `dumb`.
pub fn use_color(
    choice: ColorChoice,
    stdout_is_terminal: bool,
    no_color: Option<&str>,
    term: Option<&str>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            stdout_is_terminal && no_color.is_none_or(str::is_empty) && term != Some("dumb")
        }
    }
}

/// How the run's result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    /// ANSI colours on the verdicts and the outcome.
    pub color: bool,
    /// `--quiet`: only FAIL, WARN and ERROR lines (and HARNESS_ERROR, and a stale baseline entry), then the
    /// summary; no remediation text, no client output, no notes.
    pub quiet: bool,
}

impl Options {
    /// The options for this process: `--color` and `--quiet` with the environment and stdout.
    pub fn detect(choice: ColorChoice, quiet: bool) -> Self {
        use std::io::IsTerminal as _;
        let no_color = std::env::var("NO_COLOR").ok();
        let term = std::env::var("TERM").ok();
        Options {
            color: use_color(
                choice,
                std::io::stdout().is_terminal(),
                no_color.as_deref(),
                term.as_deref(),
            ),
            quiet,
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

/// How much of a check's message the terminal shows.
const TERMINAL_DETAIL: usize = 400;

/// Where remediation text and the blocked lists wrap.
const WRAP: usize = 100;

/// The indent of everything printed under a check's line.
const INDENT: &str = "      ";

/// How many lines of a client's output are printed under an ERROR, and for how many of its scenarios.
const TAIL_LINES: usize = 10;
const TAIL_SCENARIOS: usize = 3;

/// A target-influenced text as one terminal line: control characters escaped, at most [`TERMINAL_DETAIL`] bytes.
pub fn terminal_line(text: &str) -> String {
    let line = escape_controls(text, false);
    if line.len() <= TERMINAL_DETAIL {
        return line;
    }
    let mut end = TERMINAL_DETAIL;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (the report has the rest)", &line[..end])
}

fn verdict_style(v: Verdict) -> Style {
    let c = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
    match v {
        Verdict::Pass => c(AnsiColor::Green),
        Verdict::Fail => c(AnsiColor::Red).bold(),
        Verdict::Warn => c(AnsiColor::Yellow).bold(),
        Verdict::Info => c(AnsiColor::Cyan),
        Verdict::Skip => Style::new().dimmed(),
        Verdict::Error => c(AnsiColor::Magenta).bold(),
        Verdict::HarnessError => c(AnsiColor::Red).bold().underline(),
    }
}

fn mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS ",
        Verdict::Fail => "FAIL ",
        Verdict::Warn => "WARN ",
        Verdict::Info => "INFO ",
        Verdict::Skip => "SKIP ",
        Verdict::Error => "ERROR",
        Verdict::HarnessError => "HARNESS_ERROR",
    }
}

/// `text` cut into lines of at most `width` characters at spaces (a longer word stands alone), each behind
/// `first` (the first line) or `rest`.
fn wrap(text: &str, first: &str, rest: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > width {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    if !empty {
        lines.push(line);
    }
    lines
}

/// Every line the run's result prints on stdout (before the `wrote …` lines): one per check, with what belongs
/// under it, then the summary.
pub fn render(report: &Report, catalog: &Catalog, opts: &Options) -> Vec<String> {
    let mut out = Vec::new();
    let strict = report.run.strict;
    // Which checks each failed prerequisite blocked, in report order.
    let mut blocks: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in &report.checks {
        for root in &c.blocked_by {
            blocks.entry(root.as_str()).or_default().push(&c.id);
        }
    }
    // Scenarios whose client output was already printed, and under which check.
    let mut shown: BTreeMap<&str, &str> = BTreeMap::new();
    for c in &report.checks {
        let stale = c.expected_failure.is_some() && c.is_stale_baseline(strict);
        let loud = matches!(
            c.verdict,
            Verdict::Fail | Verdict::Warn | Verdict::Error | Verdict::HarnessError
        );
        if opts.quiet && !loud && !stale {
            continue;
        }
        out.push(check_line(c, strict, opts));
        let blocked = blocks.get(c.id.as_str());
        if matches!(c.verdict, Verdict::Fail | Verdict::Warn) && !opts.quiet {
            out.extend(remediation(c, catalog, opts));
        }
        if let Some(blocked) = blocked {
            let ids: Vec<String> = blocked
                .iter()
                .map(|id| escape_controls(id, false))
                .collect();
            out.push(format!(
                "{INDENT}blocks {} check{} that could not be judged without it:",
                ids.len(),
                plural(ids.len())
            ));
            let indent = format!("{INDENT}  ");
            let lines = wrap(&ids.join(", "), &indent, &indent, WRAP);
            out.extend(
                lines
                    .into_iter()
                    .map(|l| opts.paint(Style::new().dimmed(), &l)),
            );
            if !opts.quiet {
                out.extend(cascade_output(report, blocked, &mut shown));
            }
        }
        if c.verdict == Verdict::Error && c.blocked_by.is_empty() && !opts.quiet {
            out.extend(client_output(report, c, &mut shown));
        }
    }
    out.push(String::new());
    out.extend(summary(report, opts));
    out
}

/// `MARK  ID  title — detail [baseline]`: a blocked ERROR names what blocked it instead of its message (the
/// report has the message).
fn check_line(c: &CheckResult, strict: bool, opts: &Options) -> String {
    let detail = if c.verdict == Verdict::Pass {
        String::new()
    } else if c.verdict == Verdict::Error && !c.blocked_by.is_empty() {
        let by: Vec<String> = c
            .blocked_by
            .iter()
            .map(|id| escape_controls(id, false))
            .collect();
        format!(" — blocked by {}", by.join(", "))
    } else if c.message.is_empty() {
        format!(" — {}", terminal_line(&c.actual))
    } else {
        format!(" — {}", terminal_line(&c.message))
    };
    let baselined = match &c.expected_failure {
        Some(reason) if c.is_failure(strict) => format!(" [baselined: {}]", terminal_line(reason)),
        Some(reason) if c.is_stale_baseline(strict) => format!(
            " [STALE baseline entry: expected to fail ({}), but it did not]",
            terminal_line(reason)
        ),
        _ => String::new(),
    };
    format!(
        "{} {:<30} {}{detail}{baselined}",
        opts.paint(verdict_style(c.verdict), mark(c.verdict)),
        escape_controls(&c.id, false),
        c.title
    )
}

/// Under a FAIL or WARN: how to fix it (the catalog row's remediation) and where the requirement comes from.
fn remediation(c: &CheckResult, catalog: &Catalog, opts: &Options) -> Vec<String> {
    let row = c.id.split('.').next().unwrap_or(&c.id);
    let mut lines = Vec::new();
    if let Some(r) = catalog.row(row) {
        let label = opts.paint(Style::new().bold(), "fix:");
        // The label's escapes do not count towards the width.
        let first = format!("{INDENT}fix: ");
        let wrapped = wrap(
            &escape_controls(&r.remediation, false),
            &first,
            &format!("{INDENT}     "),
            WRAP,
        );
        for (i, l) in wrapped.into_iter().enumerate() {
            lines.push(if i == 0 {
                l.replacen("fix:", &label, 1)
            } else {
                l
            });
        }
    }
    if !c.spec_refs.is_empty() {
        let refs: Vec<String> = c
            .spec_refs
            .iter()
            .map(|s| escape_controls(s, false))
            .collect();
        lines.push(opts.paint(
            Style::new().dimmed(),
            &format!(
                "{INDENT}spec: {} (mcp-auth-conformance explain {})",
                refs.join("; "),
                escape_controls(&c.id, false)
            ),
        ));
    }
    lines
}

/// Under an unexplained ERROR: the end of what the client printed in the scenarios the check depends on (each
/// scenario's once; later checks point back to it), every line indented behind a marker, escaped.
fn client_output<'a>(
    report: &'a Report,
    c: &'a CheckResult,
    shown: &mut BTreeMap<&'a str, &'a str>,
) -> Vec<String> {
    let mut out = Vec::new();
    let runs: Vec<_> = c
        .scenarios
        .iter()
        .filter_map(|name| report.target_run(name))
        .collect();
    for r in runs.iter().take(TAIL_SCENARIOS) {
        match shown.get(r.scenario.as_str()) {
            Some(first) => out.push(format!(
                "{INDENT}{}: {}; its output is shown under {first}",
                escape_controls(&r.scenario, false),
                escape_controls(&r.exit, false)
            )),
            None => {
                out.extend(terminal_tail(r, INDENT, TAIL_LINES));
                shown.insert(&r.scenario, &c.id);
            }
        }
    }
    if runs.len() > TAIL_SCENARIOS {
        out.push(format!(
            "{INDENT}… and {} more scenario(s): see \"Client output\" in report.md or report.html",
            runs.len() - TAIL_SCENARIOS
        ));
    }
    out
}

/// Under a check that blocked others (client role): what the client printed in the scenario the blocked checks
/// name most (where the cascade shows), once.
fn cascade_output<'a>(
    report: &'a Report,
    blocked: &[&'a str],
    shown: &mut BTreeMap<&'a str, &'a str>,
) -> Vec<String> {
    let mut named: Vec<(&str, usize)> = Vec::new();
    for id in blocked {
        for s in report
            .check(id)
            .map(|c| c.scenarios.as_slice())
            .unwrap_or_default()
        {
            match named.iter_mut().find(|(n, _)| n == s) {
                Some((_, k)) => *k += 1,
                None => named.push((s, 1)),
            }
        }
    }
    let most = named.iter().map(|(_, k)| *k).max().unwrap_or(0);
    let Some(run) = named
        .iter()
        .find(|(_, k)| *k == most)
        .and_then(|(s, _)| report.target_run(s))
    else {
        return Vec::new();
    };
    match shown.get(run.scenario.as_str()) {
        Some(first) => vec![format!(
            "{INDENT}{}: {}; its output is shown under {first}",
            escape_controls(&run.scenario, false),
            escape_controls(&run.exit, false)
        )],
        None => {
            shown.insert(&run.scenario, blocked[0]);
            terminal_tail(run, INDENT, TAIL_LINES)
        }
    }
}

/// The counts by level × verdict (the verdicts that occur), the totals line with the outcome, the baseline's
/// state, the root causes of cascades, and (unless quiet) the run's notes.
fn summary(report: &Report, opts: &Options) -> Vec<String> {
    let s = &report.summary;
    let mut out = Vec::new();
    let verdicts: Vec<Verdict> = Verdict::ALL
        .iter()
        .copied()
        .filter(|v| s.count(*v) > 0)
        .collect();
    let levels: Vec<Level> = Level::ALL
        .iter()
        .copied()
        .filter(|l| verdicts.iter().any(|v| s.count_at(*l, *v) > 0))
        .collect();
    if !verdicts.is_empty() {
        let width = |v: &Verdict| v.as_str().len().max(4);
        let mut head = format!("{:<8}", "level");
        for v in &verdicts {
            let _ = write!(
                head,
                "  {}",
                opts.paint(
                    verdict_style(*v),
                    &format!("{:>w$}", v.as_str(), w = width(v))
                )
            );
        }
        out.push(head);
        for l in &levels {
            let mut line = format!("{:<8}", l.as_str());
            for v in &verdicts {
                let n = s.count_at(*l, *v);
                let cell = if n == 0 {
                    "-".to_owned()
                } else {
                    n.to_string()
                };
                let _ = write!(line, "  {cell:>w$}", w = width(v));
            }
            out.push(line);
        }
    }
    let counts: Vec<String> = verdicts
        .iter()
        .map(|v| format!("{} {v}", s.count(*v)))
        .collect();
    let outcome = match s.outcome {
        mcp_auth_reports::Outcome::Passed => opts.paint(
            Style::new().fg_color(Some(AnsiColor::Green.into())).bold(),
            "conformant",
        ),
        mcp_auth_reports::Outcome::Failed => opts.paint(
            Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            "NOT conformant",
        ),
    };
    out.push(format!(
        "{} check{} ({}) against {} in {} ms: {outcome}",
        s.total,
        plural(s.total),
        counts.join(", "),
        terminal_line(
            report
                .run
                .target
                .url
                .as_deref()
                .unwrap_or(report.run.target.kind.as_str())
        ),
        report.run.duration_ms,
    ));
    let roots = root_causes(report);
    if !roots.is_empty() {
        let list: Vec<String> = roots
            .iter()
            .map(|(id, n)| format!("{} blocks {n}", escape_controls(id, false)))
            .collect();
        out.push(format!(
            "cascades: {} of the ERRORs are explained by a failed prerequisite ({}); fix those first",
            report.checks.iter().filter(|c| !c.blocked_by.is_empty()).count(),
            list.join(", ")
        ));
    }
    let baselined = report
        .checks
        .iter()
        .filter(|c| c.expected_failure.is_some() && c.is_failure(report.run.strict))
        .count();
    if baselined > 0 {
        out.push(format!(
            "baseline: {baselined} failing check{} expected (marked [baselined]); {} unexpected",
            plural(baselined),
            s.unexpected_failures
        ));
    }
    if !s.stale_baseline.is_empty() {
        out.push(format!(
            "baseline: stale entr{} for {}: the check no longer fails, so the run fails until the entry is removed",
            if s.stale_baseline.len() == 1 { "y" } else { "ies" },
            s.stale_baseline.join(", ")
        ));
    }
    if !opts.quiet {
        for n in &report.run.notes {
            out.push(format!("note: {}", terminal_line(n)));
        }
    }
    out
}

/// The checks that blocked others and are not blocked themselves (a chain's first link), with how many checks
/// each blocked, in report order.
fn root_causes(report: &Report) -> Vec<(&str, usize)> {
    report
        .checks
        .iter()
        .filter(|c| c.blocked_by.is_empty())
        .filter_map(|c| {
            let n = report
                .checks
                .iter()
                .filter(|b| b.blocked_by.contains(&c.id))
                .count();
            (n > 0).then_some((c.id.as_str(), n))
        })
        .collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The live status line (stderr, TTY only): the role, scenarios finished of planned, the checks to judge, the
/// time so far and what is running, cut to `width` characters.
pub fn status_line(
    role: &str,
    s: &StatusSnapshot,
    checks: usize,
    elapsed: Duration,
    width: usize,
) -> String {
    let done = if s.planned == 0 {
        "starting".to_owned()
    } else {
        format!("{}/{} scenarios done", s.finished, s.planned)
    };
    let mut line = format!(
        "{role}: {done} · {checks} checks to judge · {:.1} s",
        elapsed.as_secs_f64()
    );
    if !s.running.is_empty() {
        let names: Vec<String> = s
            .running
            .iter()
            .take(3)
            .map(|n| escape_controls(n, false))
            .collect();
        let _ = write!(line, " · running: {}", names.join(", "));
        if s.running.len() > 3 {
            let _ = write!(line, " +{}", s.running.len() - 3);
        }
    }
    match line.char_indices().nth(width.saturating_sub(1).max(1)) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// Redraws [`status_line`] in place on stderr while a run goes: `\r`, the line, clear to the end of the line.
/// Only on a terminal; [`Live::clear`] erases it before the result is printed.
pub struct Live {
    task: tokio::task::JoinHandle<()>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Live {
    /// Starts redrawing every 200 ms when stderr is a terminal; `None` otherwise (nothing is drawn).
    pub fn start(role: &'static str, status: crate::runner::Status, checks: usize) -> Option<Live> {
        use std::io::IsTerminal as _;
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let width = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .filter(|w| *w > 20)
            .unwrap_or(100);
        let started = std::time::Instant::now();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            use std::io::Write as _;
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                let line = status_line(role, &status.snapshot(), checks, started.elapsed(), width);
                // Checked under the stderr lock that `clear` takes too: no redraw lands after the erase.
                let mut err = std::io::stderr().lock();
                if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let _ = write!(err, "\r{line}\x1b[K");
                let _ = err.flush();
            }
        });
        Some(Live { task, stop })
    }

    /// Stops redrawing and erases the line.
    pub fn clear(self) {
        use std::io::Write as _;
        let mut err = std::io::stderr().lock();
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = write!(err, "\r\x1b[K");
        let _ = err.flush();
        drop(err);
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_auth_reports::{Role, RunInfo, TargetInfo, TargetKind};

    fn check(id: &str, level: Level, verdict: Verdict) -> CheckResult {
        let mut c = CheckResult::new(
            id,
            format!("title of {id}"),
            Role::Server,
            level,
            verdict,
            vec!["RFC 9728 §3".into()],
        );
        if verdict != Verdict::Pass {
            c.message = format!("message of {id}");
        }
        c
    }

    /// A server run: PRM discovery failed (RS-PRM-01), which blocked RS-PRM-03; a WARN; a PASS, a SKIP, and a
    /// note.
    fn report() -> Report {
        let mut blocked = check("RS-PRM-03", Level::Must, Verdict::Error);
        blocked.blocked_by = vec!["RS-PRM-01".into()];
        let checks = vec![
            check("RS-WWW-01.post", Level::Must, Verdict::Pass),
            check("RS-PRM-01", Level::Must, Verdict::Fail),
            blocked,
            check("RS-PRM-09", Level::Should, Verdict::Warn),
            check("RS-TOK-02.revoked", Level::Must, Verdict::Skip),
        ];
        let mut run = RunInfo::new(Role::Server, TargetInfo::new(TargetKind::Bundled), "todo");
        run.notes.push("token validation: jwt (observed)".into());
        Report::new(run, checks, Vec::new())
    }

    fn plain() -> Options {
        Options::default()
    }

    fn lines(opts: Options) -> Vec<String> {
        render(&report(), Catalog::all(), &opts)
    }

    fn line_of<'a>(lines: &'a [String], start: &str) -> &'a str {
        lines
            .iter()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting with {start:?} in {lines:#?}"))
    }

    #[test]
    fn plain_output_is_one_line_per_check_without_escape_sequences() {
        let out = lines(plain());
        assert!(out.iter().all(|l| !l.contains('\x1b')), "{out:#?}");
        assert_eq!(
            line_of(&out, "PASS "),
            "PASS  RS-WWW-01.post                 title of RS-WWW-01.post"
        );
        for mark in [
            "FAIL  RS-PRM-01",
            "ERROR RS-PRM-03",
            "WARN  RS-PRM-09",
            "SKIP  RS-TOK-02.revoked",
        ] {
            line_of(&out, mark);
        }
    }

    #[test]
    fn colour_paints_the_verdicts_and_the_outcome() {
        let out = lines(Options {
            color: true,
            quiet: false,
        });
        assert!(
            line_of(&out, "\x1b[1m\x1b[31mFAIL").contains("RS-PRM-01"),
            "{out:#?}"
        );
        assert!(out.iter().any(|l| l.contains("\x1b[32mPASS")), "{out:#?}");
        assert!(
            out.iter().any(|l| l.contains("NOT conformant\x1b[0m")),
            "{out:#?}"
        );
    }

    #[test]
    fn no_color_set_and_not_empty_turns_colour_off_in_auto_mode() {
        assert!(use_color(ColorChoice::Auto, true, None, Some("xterm")));
        assert!(!use_color(
            ColorChoice::Auto,
            true,
            Some("1"),
            Some("xterm")
        ));
        // https://no-color.org: only a non-empty value disables colour.
        assert!(use_color(ColorChoice::Auto, true, Some(""), Some("xterm")));
    }

    #[test]
    fn auto_colour_needs_a_terminal_that_is_not_dumb() {
        assert!(!use_color(ColorChoice::Auto, false, None, Some("xterm")));
        assert!(!use_color(ColorChoice::Auto, true, None, Some("dumb")));
    }

    #[test]
    fn an_explicit_color_option_wins_over_the_environment() {
        assert!(use_color(
            ColorChoice::Always,
            false,
            Some("1"),
            Some("dumb")
        ));
        assert!(!use_color(ColorChoice::Never, true, None, Some("xterm")));
    }

    #[test]
    fn quiet_keeps_only_fail_warn_and_error_lines_and_the_summary() {
        let out = lines(Options {
            color: false,
            quiet: true,
        });
        assert!(
            !out.iter()
                .any(|l| l.starts_with("PASS") || l.starts_with("SKIP")),
            "{out:#?}"
        );
        line_of(&out, "FAIL  RS-PRM-01");
        line_of(&out, "WARN  RS-PRM-09");
        line_of(&out, "ERROR RS-PRM-03");
        line_of(&out, "5 checks (1 PASS, 1 FAIL, 1 WARN, 1 SKIP, 1 ERROR)");
        assert!(!out.iter().any(|l| l.contains("fix:")), "{out:#?}");
        assert!(!out.iter().any(|l| l.starts_with("note:")), "{out:#?}");
    }

    #[test]
    fn a_blocked_error_names_its_prerequisite_and_the_prerequisite_lists_it() {
        let out = lines(plain());
        assert_eq!(
            line_of(&out, "ERROR RS-PRM-03"),
            "ERROR RS-PRM-03                      title of RS-PRM-03 — blocked by RS-PRM-01"
        );
        let root = out
            .iter()
            .position(|l| l.starts_with("FAIL  RS-PRM-01"))
            .unwrap();
        let under: Vec<&String> = out[root + 1..]
            .iter()
            .take_while(|l| l.starts_with(' '))
            .collect();
        let at = under
            .iter()
            .position(|l| l.trim() == "blocks 1 check that could not be judged without it:")
            .unwrap_or_else(|| panic!("{under:#?}"));
        assert_eq!(under[at + 1].trim(), "RS-PRM-03");
        line_of(
            &out,
            "cascades: 1 of the ERRORs are explained by a failed prerequisite (RS-PRM-01 blocks 1)",
        );
    }

    #[test]
    fn a_fail_or_warn_shows_the_catalog_remediation_and_its_spec_references() {
        let out = lines(plain());
        let fix = Catalog::all().row("RS-PRM-01").unwrap().remediation.clone();
        let root = out
            .iter()
            .position(|l| l.starts_with("FAIL  RS-PRM-01"))
            .unwrap();
        let under: Vec<&str> = out[root + 1..]
            .iter()
            .take_while(|l| l.starts_with(' '))
            .map(|l| l.trim())
            .collect();
        assert!(under[0].starts_with("fix: Serve an RFC 9728"), "{under:#?}");
        let text: Vec<&str> = under
            .iter()
            .take_while(|l| !l.starts_with("spec:"))
            .copied()
            .collect();
        assert_eq!(text.join(" ").trim_start_matches("fix: "), fix);
        let wrapped = &out[root + 1..root + 1 + text.len()];
        assert!(
            wrapped.iter().all(|l| l.chars().count() <= WRAP),
            "{wrapped:#?}"
        );
        assert!(
            under.contains(&"spec: RFC 9728 §3 (mcp-auth-conformance explain RS-PRM-01)"),
            "{under:#?}"
        );
        let warn = out
            .iter()
            .position(|l| l.starts_with("WARN  RS-PRM-09"))
            .unwrap();
        assert!(out[warn + 1].trim_start().starts_with("fix: "), "{out:#?}");
    }

    #[test]
    fn the_summary_counts_each_level_by_verdict() {
        let out = lines(plain());
        let head = out.iter().position(|l| l.starts_with("level")).unwrap();
        assert_eq!(
            &out[head..head + 3],
            [
                "level     PASS  FAIL  WARN  SKIP  ERROR",
                "MUST         1     1     -     1      1",
                "SHOULD       -     -     1     -      -",
            ]
        );
    }

    #[test]
    fn target_text_in_a_message_is_escaped() {
        let mut r = report();
        r.checks[1].message = "served\x1b[2J\rPASS  RS-PRM-01\n::error::forged".into();
        let out = render(&r, Catalog::all(), &plain());
        let line = line_of(&out, "FAIL  RS-PRM-01");
        assert!(
            line.ends_with(r"served\x1b[2J\rPASS  RS-PRM-01\n::error::forged"),
            "{line}"
        );
        assert!(
            out.iter().all(|l| !l.chars().any(char::is_control)),
            "{out:#?}"
        );
    }

    #[test]
    fn the_status_line_counts_scenarios_and_names_what_runs_within_the_width() {
        let s = StatusSnapshot {
            planned: 16,
            finished: 5,
            running: vec![
                "auth/a".into(),
                "auth/b".into(),
                "auth/c".into(),
                "auth/d\x1b".into(),
            ],
        };
        let line = status_line("client", &s, 62, Duration::from_millis(4100), 200);
        assert_eq!(
            line,
            "client: 5/16 scenarios done · 62 checks to judge · 4.1 s · running: auth/a, auth/b, auth/c +1"
        );
        let short = status_line("client", &s, 62, Duration::from_millis(4100), 30);
        assert_eq!(short.chars().count(), 30, "{short}");
        assert!(short.ends_with('…'));
        let first = status_line(
            "server",
            &StatusSnapshot::default(),
            81,
            Duration::ZERO,
            200,
        );
        assert_eq!(first, "server: starting · 81 checks to judge · 0.0 s");
    }
}
