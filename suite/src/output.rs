//! What a spawned target prints: captured with a bound while it runs, redacted and cut to the report's cap
//! ([`TargetRun::OUTPUT_CAP`], the end kept), and escaped wherever it is shown. All of it is target-controlled
//! text: it may be huge, carry terminal escapes or forged verdict lines, and repeat the tokens the target got.

use std::collections::{BTreeSet, VecDeque};

use mcp_auth_reports::render::escape_controls;
use mcp_auth_reports::TargetRun;

use crate::evidence;

/// Raw bytes kept while a target runs. Larger than the report's cap, so that redaction (which shortens a
/// 4 KiB token to a few characters) still leaves a full cap of text to keep.
pub const CAPTURE_LIMIT: usize = 4 * TargetRun::OUTPUT_CAP;

/// A line longer than this is taken in pieces, so an endless line cannot grow a buffer without bound.
const LINE_LIMIT: usize = TargetRun::OUTPUT_CAP;

/// Where a chunk of output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 0,
    Stderr = 1,
}

/// The end of a target's stdout and stderr, interleaved line by line in arrival order (a line is appended
/// when it is complete, so the two streams never mix within a line; lines written to the two streams at
/// almost the same moment may swap), at most [`CAPTURE_LIMIT`] bytes.
#[derive(Debug, Default)]
pub struct Capture {
    tail: VecDeque<u8>,
    pending: [Vec<u8>; 2],
    dropped: bool,
}

impl Capture {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a chunk read from one stream.
    pub fn push(&mut self, stream: Stream, bytes: &[u8]) {
        let i = stream as usize;
        let mut rest = bytes;
        while let Some(n) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(n + 1);
            self.pending[i].extend_from_slice(line);
            let done = std::mem::take(&mut self.pending[i]);
            self.append(&done);
            rest = after;
        }
        self.pending[i].extend_from_slice(rest);
        if self.pending[i].len() > LINE_LIMIT {
            let long = std::mem::take(&mut self.pending[i]);
            self.append(&long);
        }
    }

    fn append(&mut self, bytes: &[u8]) {
        self.tail.extend(bytes);
        if self.tail.len() > CAPTURE_LIMIT {
            let excess = self.tail.len() - CAPTURE_LIMIT;
            self.tail.drain(..excess);
            // Never start inside a UTF-8 sequence.
            while self.tail.front().is_some_and(|b| b & 0xC0 == 0x80) {
                self.tail.pop_front();
            }
            self.dropped = true;
        }
    }

    /// Everything captured, unfinished last lines included, as text (lossy UTF-8, CRLF as LF, surrounding
    /// blank lines trimmed), and whether earlier output was dropped. Raw: not redacted, not escaped.
    pub fn finish(mut self) -> (String, bool) {
        for i in 0..2 {
            let mut p = std::mem::take(&mut self.pending[i]);
            if !p.is_empty() {
                p.push(b'\n');
                self.append(&p);
            }
        }
        let bytes: Vec<u8> = self.tail.into_iter().collect();
        let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
        let text = text.trim_start_matches('\n').trim_end();
        (text.to_owned(), self.dropped)
    }
}

/// The output as a report stores it: secrets redacted (also a secret's end left at the start when earlier
/// output was dropped, and URL- or JSON-encoded forms), then cut to [`TargetRun::OUTPUT_CAP`] keeping the end,
/// on a char boundary. Returns the text and whether anything before it is missing.
pub fn for_report(raw: &str, dropped: bool, secrets: &BTreeSet<String>) -> (String, bool) {
    let secrets = with_encodings(secrets);
    let text = if dropped {
        strip_secret_end(raw, &secrets)
    } else {
        raw.to_owned()
    };
    let redacted = evidence::redact_all(&text, &secrets);
    let (end, cut) = keep_end(&redacted, TargetRun::OUTPUT_CAP);
    (end.to_owned(), dropped || cut)
}

/// Each secret, and its URL-encoded and JSON-escaped forms where they differ.
fn with_encodings(secrets: &BTreeSet<String>) -> BTreeSet<String> {
    let mut all = secrets.clone();
    for s in secrets {
        all.insert(url::form_urlencoded::byte_serialize(s.as_bytes()).collect());
        if let Ok(json) = serde_json::to_string(s) {
            all.insert(json.trim_matches('"').to_owned());
        }
    }
    all
}

/// When the capture started mid-secret, the text starts with the secret's end: hide it.
fn strip_secret_end(text: &str, secrets: &BTreeSet<String>) -> String {
    let mut longest = 0;
    for s in secrets {
        for (i, _) in s.char_indices().skip(1) {
            let end = &s[i..];
            if end.len() < 4 || end.len() <= longest {
                break;
            }
            if text.starts_with(end) {
                longest = end.len();
                break;
            }
        }
    }
    if longest == 0 {
        text.to_owned()
    } else {
        format!("[redacted {longest} bytes]{}", &text[longest..])
    }
}

/// The last `cap` bytes of `text` or fewer (cut on a char boundary), and whether anything was cut.
pub fn keep_end(text: &str, cap: usize) -> (&str, bool) {
    if text.len() <= cap {
        return (text, false);
    }
    let mut start = text.len() - cap;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    (&text[start..], true)
}

/// The last non-blank line, control characters escaped, at most `max_chars` characters (then `…`).
pub fn last_line(text: &str, max_chars: usize) -> Option<String> {
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(shorten(&escape_controls(line.trim(), false), max_chars))
}

fn shorten(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// A terminal line's worth of output.
const TERMINAL_LINE_CHARS: usize = 300;

/// The marker in front of every line a target printed, so none of it starts a line of its own: not a forged
/// `PASS …` verdict, not a `::error::` workflow command.
pub const MARKER: &str = "│ ";

/// A target run's output for the terminal: a header, then its last `max_lines` non-blank lines, each behind
/// `indent` and [`MARKER`] with control characters escaped and long lines shortened.
pub fn terminal_tail(run: &TargetRun, indent: &str, max_lines: usize) -> Vec<String> {
    let lines: Vec<&str> = run.output.lines().collect();
    let shown = lines.len().min(max_lines);
    let what = if lines.is_empty() {
        "no output".to_owned()
    } else if shown == lines.len() && !run.output_truncated {
        format!("its output ({shown} line{}):", plural(shown))
    } else {
        format!("the last {shown} line{} of its output:", plural(shown))
    };
    let mut out = vec![format!(
        "{indent}{} ({}, {} ms): {what}",
        escape_controls(&run.scenario, false),
        escape_controls(&run.exit, false),
        run.duration_ms
    )];
    out.extend(lines[lines.len() - shown..].iter().map(|l| {
        format!(
            "{indent}{MARKER}{}",
            shorten(&escape_controls(l, false), TERMINAL_LINE_CHARS)
        )
    }));
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(chunks: &[(Stream, &str)]) -> (String, bool) {
        let mut c = Capture::new();
        for (s, t) in chunks {
            c.push(*s, t.as_bytes());
        }
        c.finish()
    }

    #[test]
    fn streams_interleave_by_whole_lines() {
        let (text, dropped) = capture(&[
            (Stream::Stdout, "connecting"),
            (Stream::Stderr, "Unknown scenario\n"),
            (Stream::Stdout, " to the server\r\n"),
            (Stream::Stderr, "exiting"),
        ]);
        assert_eq!(text, "Unknown scenario\nconnecting to the server\nexiting");
        assert!(!dropped);
    }

    #[test]
    fn the_capture_is_bounded_and_keeps_the_end() {
        let mut c = Capture::new();
        let line = format!("{}\n", "é".repeat(100));
        for _ in 0..2000 {
            c.push(Stream::Stdout, line.as_bytes());
        }
        c.push(Stream::Stderr, "the end\n".as_bytes());
        let (text, dropped) = c.finish();
        assert!(dropped);
        assert!(text.len() <= CAPTURE_LIMIT);
        assert!(text.ends_with("the end"));
        assert!(!text.contains('\u{fffd}'), "cut inside a UTF-8 sequence");
    }

    #[test]
    fn an_endless_line_is_bounded() {
        let mut c = Capture::new();
        let chunk = "x".repeat(8192);
        for _ in 0..100 {
            c.push(Stream::Stdout, chunk.as_bytes());
        }
        assert!(c.pending[0].len() <= LINE_LIMIT + chunk.len());
        let (text, dropped) = c.finish();
        assert!(dropped && text.len() <= CAPTURE_LIMIT);
    }

    #[test]
    fn a_tail_over_16_kib_keeps_the_end_cut_on_a_char_boundary() {
        // 3-byte characters: 16 KiB is not a multiple of 3, so the cut lands inside one and must move.
        let text = format!("{}THE END", "€".repeat(10_000));
        let (kept, truncated) = for_report(&text, false, &BTreeSet::new());
        assert!(truncated);
        assert!(kept.len() <= TargetRun::OUTPUT_CAP);
        assert!(kept.len() > TargetRun::OUTPUT_CAP - 4);
        assert!(kept.ends_with("THE END"));
        assert!(kept.starts_with('€'));
        let (short, truncated) = for_report("short", false, &BTreeSet::new());
        assert_eq!((short.as_str(), truncated), ("short", false));
        assert!(for_report("short", true, &BTreeSet::new()).1);
    }

    #[test]
    fn a_secret_seen_in_the_log_does_not_appear_whole_in_the_stored_tail() {
        let token = "tok-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e";
        let code = "code/with+special=chars";
        let secrets: BTreeSet<String> = [token.to_owned(), code.to_owned()].into();
        let raw = format!(
            "got access token {token}\nredirect: http://127.0.0.1/cb?code={}&state=x\n{{\"code\":{}}}",
            url::form_urlencoded::byte_serialize(code.as_bytes()).collect::<String>(),
            serde_json::to_string(code).unwrap(),
        );
        let (kept, _) = for_report(&raw, false, &secrets);
        assert!(!kept.contains(token), "{kept}");
        assert!(!kept.contains("code%2Fwith%2Bspecial%3Dchars"), "{kept}");
        assert!(!kept.contains(code), "{kept}");
        assert!(
            kept.contains(&format!(
                "got access token {}",
                crate::evidence::redact(token)
            )),
            "{kept}"
        );
        assert!(
            !kept.contains("tok-7f3a"),
            "no prefix of the secret: {kept}"
        );
    }

    #[test]
    fn the_end_of_a_secret_left_by_the_capture_bound_is_hidden() {
        let token = "tok-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e";
        let secrets: BTreeSet<String> = [token.to_owned()].into();
        let raw = format!("{}\nnext line", &token[10..]);
        let (kept, truncated) = for_report(&raw, true, &secrets);
        assert!(truncated);
        assert!(!kept.contains(&token[10..]), "{kept}");
        assert!(kept.ends_with("\nnext line"));
        // Without a dropped start, text that merely looks like a secret's end is left alone.
        assert_eq!(for_report(&raw, false, &secrets).0, raw);
    }

    #[test]
    fn the_last_line_is_escaped_and_shortened() {
        assert_eq!(
            last_line("first\nError: Unknown scenario\x1b[0m\r\n\n  \n", 200).as_deref(),
            Some(r"Error: Unknown scenario\x1b[0m")
        );
        assert_eq!(last_line(" \n", 200), None);
        assert_eq!(
            last_line(&"a".repeat(300), 200).unwrap().chars().count(),
            201
        );
    }

    #[test]
    fn terminal_lines_escape_control_characters_and_never_start_at_column_0() {
        let mut run = TargetRun::new("auth/metadata-default", "exited with code 1");
        run.duration_ms = 35;
        run.output = "ok\n\x1b[2J\x1b[32mPASS  CL-PKCE-01\rPASS  CL-PKCE-02\n::error::forged\nabc\u{202e}fed\nlast"
            .to_owned();
        let lines = terminal_tail(&run, "      ", 3);
        assert_eq!(
            lines,
            [
                "      auth/metadata-default (exited with code 1, 35 ms): the last 3 lines of its output:",
                "      │ ::error::forged",
                r"      │ abc\u{202e}fed",
                "      │ last",
            ]
        );
        let all = terminal_tail(&run, "  ", 10);
        assert_eq!(
            all[2],
            r"  │ \x1b[2J\x1b[32mPASS  CL-PKCE-01\rPASS  CL-PKCE-02"
        );
        for l in &all[1..] {
            assert!(l.starts_with("  │ "), "{l}");
            assert!(!l.chars().any(|c| c.is_control()), "{l:?}");
        }
        run.output.clear();
        assert_eq!(
            terminal_tail(&run, "", 10),
            ["auth/metadata-default (exited with code 1, 35 ms): no output"]
        );
    }
}
