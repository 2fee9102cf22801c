//! Golden renderings of a small fixed report, the JSON round trip, `write_all` and `read_json`.

use std::path::PathBuf;

use mcp_auth_reports::render::{self, RenderError};
use mcp_auth_reports::{
    parse_json, read_json, write_all, CheckResult, Exchange, HttpRequest, HttpResponse, Level,
    Outcome, ReadError, Report, Role, RunInfo, SdkNote, TargetInfo, TargetKind, TargetRun,
    TokenEvidence, Verdict,
};
use serde_json::json;

/// Hostile text a target might send back; no renderer may pass it through raw.
const HOSTILE: &str = "<script>alert('x')</script> | \"quoted\" [link](https://evil.example)";

fn check(id: &str, title: &str, level: Level, verdict: Verdict) -> CheckResult {
    let mut c = CheckResult::new(
        id,
        title,
        Role::Server,
        level,
        verdict,
        vec!["MCP §9.2".to_owned(), "RFC 9068 §4".to_owned()],
    );
    c.duration_ms = 12;
    c.remediation = Some(format!("Fix {id} by changing the `server` configuration."));
    c
}

/// A small fixed report: every verdict once, a baselined failure, two exchanges with a decoded token.
fn fixture(strict: bool) -> Report {
    let mut target = TargetInfo::new(TargetKind::Bundled);
    target.url = Some("http://127.0.0.1:4100/mcp".to_owned());
    target.defect = Some("accept-alg-none".to_owned());
    let mut run = RunInfo::new(Role::Server, target, "todo");
    run.suite_version = "0.1.0".to_owned();
    run.strict = strict;
    run.started_at = "2025-01-01T00:00:00Z".to_owned();
    run.finished_at = "2025-01-01T00:00:01.5Z".to_owned();
    run.duration_ms = 1500;
    run.seed = 42;
    run.notes = vec!["token validation: jwt (observed)".to_owned()];

    let mut pass = check(
        "RS-PRM-01",
        "Serves protected resource metadata",
        Level::Must,
        Verdict::Pass,
    );
    pass.expected = "200 with JSON metadata".to_owned();
    pass.actual = "200 with JSON metadata".to_owned();
    pass.evidence = vec!["prm#1".to_owned()];

    let mut fail = check(
        "RS-JWT-03.none",
        "Rejects `alg` none tokens",
        Level::Must,
        Verdict::Fail,
    );
    fail.remediation = Some("Refuse a JWT whose `alg` is `none`, in any case.".to_owned());
    fail.sdk_notes = vec![SdkNote::new(
        "Example SDK 1.0",
        "Pass `algorithms=[\"RS256\"]` to the verifier.",
        Some("https://example.test/sdk/1.0".to_owned()),
    )];
    fail.offending = vec!["jwt#1".to_owned()];
    fail.expected = "401 with WWW-Authenticate: Bearer error=\"invalid_token\"".to_owned();
    fail.actual = format!("200 with body {HOSTILE}");
    fail.message = "the server accepted an unsigned token\nsecond line".to_owned();
    fail.evidence = vec!["jwt#1".to_owned(), "jwt#9".to_owned()];

    let mut warn = check(
        "RS-WWW-02",
        "Names resource_metadata in the challenge",
        Level::Should,
        Verdict::Warn,
    );
    warn.expected = "resource_metadata parameter".to_owned();
    warn.actual = "absent".to_owned();
    warn.message = "clients must fall back to the well-known URI".to_owned();

    let mut info = check(
        "RS-PRM-05",
        "Lists scopes_supported",
        Level::May,
        Verdict::Info,
    );
    info.expected = "scopes_supported".to_owned();
    info.actual = "absent".to_owned();
    info.message = "scopes_supported is optional".to_owned();

    let mut skip = check(
        "RS-DPOP-01",
        "Binds DPoP tokens",
        Level::Must,
        Verdict::Skip,
    );
    skip.message = "target does not advertise DPoP".to_owned();

    let mut error = check(
        "RS-JWT-05",
        "Rejects expired tokens",
        Level::Must,
        Verdict::Error,
    );
    error.expected = "401".to_owned();
    error.actual = "timeout after 5000 ms".to_owned();
    error.message = "the target did not answer".to_owned();

    let mut harness = check(
        "RS-AUD-01",
        "Rejects tokens for another audience",
        Level::Must,
        Verdict::HarnessError,
    );
    harness.message = "token forge: key not loaded".to_owned();

    let mut baselined = check(
        "RS-WWW-01",
        "Answers 401 with a Bearer challenge",
        Level::Must,
        Verdict::Fail,
    );
    baselined.expected = "WWW-Authenticate: Bearer".to_owned();
    baselined.actual = "no WWW-Authenticate header".to_owned();
    baselined.message = "challenge missing".to_owned();
    baselined.expected_failure = Some("upstream issue #12".to_owned());

    let mut prm_req = HttpRequest::new(
        "GET",
        "http://127.0.0.1:4100/.well-known/oauth-protected-resource",
    );
    prm_req.headers = vec![("accept".to_owned(), "application/json".to_owned())];
    let mut prm = Exchange::new("prm#1", "fetch protected resource metadata", prm_req);
    let mut prm_resp = HttpResponse::new(200);
    prm_resp.headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    prm_resp.body = Some(r#"{"resource":"http://127.0.0.1:4100/mcp"}"#.to_owned());
    prm.response = Some(prm_resp);
    prm.duration_ms = 3;

    let mut jwt_req = HttpRequest::new("POST", "http://127.0.0.1:4100/mcp");
    jwt_req.headers = vec![
        (
            "authorization".to_owned(),
            "Bearer eyJh…[redacted]".to_owned(),
        ),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    jwt_req.body = Some(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_owned());
    let mut jwt = Exchange::new("jwt#1", "call with an alg=none token", jwt_req);
    let mut jwt_resp = HttpResponse::new(200);
    jwt_resp.body = Some(HOSTILE.to_owned());
    jwt_resp.body_truncated = true;
    jwt.response = Some(jwt_resp);
    jwt.duration_ms = 7;
    let mut token = TokenEvidence::new("eyJh…Q.".to_owned(), 143, "ab".repeat(32));
    token.jwt_header = Some(json!({"alg": "none", "typ": "JWT"}));
    token.jwt_claims = Some(json!({
        "aud": "http://127.0.0.1:4100/mcp",
        "exp": 1735693200,
        "iat": 1735689600,
        "iss": "http://127.0.0.1:4200",
        "nbf": "not a number",
        "sub": "</pre><script>steal()</script>",
    }));
    jwt.tokens = vec![token];

    Report::new(
        run,
        vec![pass, fail, warn, info, skip, error, harness, baselined],
        vec![prm, jwt],
    )
}

/// Output a hostile client prints: terminal escapes, a carriage return forging a verdict line, a workflow
/// command, a Markdown fence, HTML that would close the `<pre>`, a bidi override.
const HOSTILE_OUTPUT: &str = "connecting to http://127.0.0.1:4300/mcp\n\x1b[2J\x1b[32mPASS  CL-PKCE-01\x1b[0m\rforged\n::error::forged workflow command\n```\n````\n</pre><script>alert(1)</script>\nabc\u{202e}fed\nError: Unknown scenario auth/metadata-default\n    at main (client.js:12:5)";

/// A small client-role report: one scenario the client completed (exit 0, with output), one it failed (exit 1,
/// hostile output), one where it hung (killed, output cut), one with no output; checks citing them.
fn client_fixture() -> Report {
    let mut target = TargetInfo::new(TargetKind::Command);
    target.command = Some("node client.js".to_owned());
    let mut run = RunInfo::new(
        Role::Client,
        target,
        "client scenarios (docs/client-role.md)",
    );
    run.suite_version = "0.1.0".to_owned();
    run.started_at = "2025-01-01T00:00:00Z".to_owned();
    run.finished_at = "2025-01-01T00:00:03Z".to_owned();
    run.duration_ms = 3000;
    run.seed = 7;

    let client_check = |id: &str, title: &str, verdict: Verdict| {
        let mut c = CheckResult::new(
            id,
            title,
            Role::Client,
            Level::Must,
            verdict,
            vec!["MCP 2025-11-25 §Authorization".to_owned()],
        );
        c.duration_ms = 1;
        c
    };
    let mut pass = client_check("CL-PKCE-01", "Uses PKCE S256", Verdict::Pass);
    pass.expected = "code_challenge_method=S256".to_owned();
    pass.actual = "S256".to_owned();
    let mut error = client_check(
        "CL-PRM-01",
        "Finds PRM from the WWW-Authenticate header",
        Verdict::Error,
    );
    error.message = "auth/metadata-default: the client did not complete its task; the client exited with code 1 after 0 request(s); last output: \"Error: Unknown scenario auth/metadata-default\"".to_owned();
    error.scenarios = vec!["auth/metadata-default".to_owned()];
    let mut hung = client_check("CL-TOK-02", "Refreshes expired tokens", Verdict::Error);
    hung.message = "auth/token-refresh: the client did not complete its task".to_owned();
    hung.scenarios = vec!["auth/token-refresh".to_owned(), "auth/not-run".to_owned()];

    let mut ok = TargetRun::new("auth/basic-cimd", "exited with code 0");
    ok.exit_code = Some(0);
    ok.duration_ms = 412;
    ok.output = "connected; 1 tool\nlist_todos: []".to_owned();
    let mut failed = TargetRun::new("auth/metadata-default", "exited with code 1");
    failed.exit_code = Some(1);
    failed.duration_ms = 35;
    failed.output = HOSTILE_OUTPUT.to_owned();
    let mut killed = TargetRun::new("auth/token-refresh", "still running after 20s; killed");
    killed.duration_ms = 20_004;
    killed.output = "refreshing with eyJhbGci…-bytes\nwaiting".to_owned();
    killed.output_truncated = true;
    let mut silent = TargetRun::new("auth/unknown-members", "exited with code 0");
    silent.exit_code = Some(0);
    silent.duration_ms = 250;

    let mut report = Report::new(run, vec![pass, error, hung], Vec::new());
    report.target_runs = vec![ok, failed, killed, silent];
    report
}

fn render(
    f: fn(&Report, &mut dyn std::io::Write) -> Result<(), RenderError>,
    report: &Report,
) -> String {
    let mut buf = Vec::new();
    f(report, &mut buf).expect("rendering to memory succeeds");
    String::from_utf8(buf).expect("renderers write UTF-8")
}

#[test]
fn fixture_summary() {
    let s = fixture(false).summary;
    // FAIL, ERROR, HARNESS_ERROR; the baselined FAIL is expected; WARN does not count without --strict.
    assert_eq!(s.unexpected_failures, 3);
    assert!(s.stale_baseline.is_empty());
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!(s.count(Verdict::Fail), 2);
    assert_eq!(fixture(true).summary.unexpected_failures, 4);
}

#[test]
fn markdown_golden() {
    insta::assert_snapshot!(render(render::markdown, &fixture(false)));
}

#[test]
fn junit_golden() {
    insta::assert_snapshot!(render(render::junit, &fixture(false)));
}

#[test]
fn html_golden() {
    insta::assert_snapshot!(render(render::html, &fixture(false)));
}

#[test]
fn markdown_client_golden() {
    insta::assert_snapshot!(render(render::markdown, &client_fixture()));
}

#[test]
fn html_client_golden() {
    insta::assert_snapshot!(render(render::html, &client_fixture()));
}

#[test]
fn junit_client_golden() {
    insta::assert_snapshot!(render(render::junit, &client_fixture()));
}

/// Markdown with its fenced code blocks removed (a fence closes only with at least as many backticks).
fn outside_fences(md: &str) -> String {
    let mut out = String::new();
    let mut open: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match open {
            None if ticks >= 3 => open = Some(ticks),
            None => {
                out.push_str(line);
                out.push('\n');
            }
            Some(n) if ticks >= n && line.trim_start_matches('`').is_empty() => open = None,
            Some(_) => {}
        }
    }
    out
}

#[test]
fn client_output_is_escaped_everywhere() {
    let report = client_fixture();
    let md = render(render::markdown, &report);
    for (name, text) in [
        ("html", render(render::html, &report)),
        ("markdown", md.clone()),
        ("junit", render(render::junit, &report)),
    ] {
        for raw in ['\x1b', '\r', '\u{202e}'] {
            assert!(!text.contains(raw), "{name} contains a raw {raw:?}");
        }
    }
    assert_eq!(
        render(render::html, &report).matches("<script").count(),
        1,
        "only the page's own script"
    );
    // In Markdown the output is literal text inside a fence; outside the fences nothing of it is raw.
    assert!(md.contains("</pre><script>alert(1)</script>"));
    let prose = outside_fences(&md);
    assert!(!prose.contains("<script>"), "{prose}");
    assert!(!prose.contains("::error::"), "{prose}");
    // The output holds a run of four backticks: its fence is five long, so no output line can close it.
    assert!(md.contains("\n`````text\n"), "{md}");
    assert!(md.contains("\n::error::forged workflow command\n"), "{md}");
}

#[test]
fn html_client_output_is_open_unless_the_client_exited_0() {
    let html = render(render::html, &client_fixture());
    for (scenario, open) in [
        ("auth/basic-cimd", false),
        ("auth/metadata-default", true),
        ("auth/token-refresh", true),
        ("auth/unknown-members", false),
    ] {
        let tag = format!(
            "<details class=\"target-run\" id=\"run-{scenario}\"{}>",
            if open { " open" } else { "" }
        );
        assert!(html.contains(&tag), "{tag} in {html}");
    }
    assert!(html.contains("<a href=\"#run-auth/metadata-default\">"));
    assert!(!html.contains("href=\"#run-auth/not-run\""));
}

#[test]
fn reports_without_target_runs_omit_and_still_read_them() {
    // A report written before target runs and check scenarios existed has neither member.
    let text = render(render::json, &fixture(false));
    assert!(!text.contains("target_runs"), "{text}");
    assert!(!text.contains("\"scenarios\""), "{text}");
    let back = parse_json(&text).expect("a report without target runs parses");
    assert!(back.target_runs.is_empty());
    assert!(back.checks.iter().all(|c| c.scenarios.is_empty()));
}

#[test]
fn client_reports_round_trip_with_target_runs() {
    let report = client_fixture();
    let text = render(render::json, &report);
    assert!(text.contains("\"target_runs\""), "{text}");
    assert!(text.contains("\"scenarios\""), "{text}");
    assert_eq!(parse_json(&text).expect("own JSON parses"), report);
    assert_eq!(
        report
            .target_run("auth/metadata-default")
            .map(TargetRun::succeeded),
        Some(false)
    );
}

#[test]
fn junit_strict_warn_is_a_failure() {
    let lenient = render(render::junit, &fixture(false));
    let strict = render(render::junit, &fixture(true));
    assert!(!lenient.contains(r#"type="WARN""#), "{lenient}");
    assert!(
        strict.contains(
            r#"<failure message="clients must fall back to the well-known URI" type="WARN">"#
        ),
        "{strict}"
    );
}

#[test]
fn junit_stale_baseline_is_a_failure() {
    let mut pass = check(
        "RS-PRM-02",
        "Metadata names the resource",
        Level::Must,
        Verdict::Pass,
    );
    pass.expected_failure = Some("fixed upstream".to_owned());
    let report = Report::new(fixture(false).run, vec![pass], Vec::new());
    assert_eq!(report.summary.stale_baseline, ["RS-PRM-02"]);
    let xml = render(render::junit, &report);
    assert!(xml.contains(r#"type="STALE_BASELINE""#), "{xml}");
    let md = render(render::markdown, &report);
    assert!(md.contains("## Stale baseline entries"), "{md}");
}

#[test]
fn hostile_text_is_never_rendered_raw() {
    let report = fixture(false);
    for (name, text) in [
        ("html", render(render::html, &report)),
        ("markdown", render(render::markdown, &report)),
        ("junit", render(render::junit, &report)),
    ] {
        // The page's own script is the one `<script>` the HTML may hold, in its head.
        let own = usize::from(name == "html");
        assert_eq!(
            text.matches("<script").count(),
            own,
            "{name} contains a raw <script>"
        );
        assert!(
            !text.contains("<script>alert") && !text.contains("<script>steal"),
            "{name}"
        );
        assert!(
            !text.contains("</pre><script>"),
            "{name} lets a claim close its <pre>"
        );
    }
}

#[test]
fn html_needs_no_external_assets() {
    let html = render(render::html, &fixture(false));
    for needle in [
        "<link",
        "<script src",
        "src=",
        "@import",
        "url(",
        "http-equiv",
        "fetch(",
    ] {
        assert!(!html.contains(needle), "html contains {needle}");
    }
    let head = &html[..html.find("</head>").expect("a head")];
    assert_eq!(html.matches("<script").count(), 1);
    assert!(
        head.contains("<script>"),
        "the one inline script is in the head"
    );
}

#[test]
fn renderers_are_deterministic() {
    let report = fixture(false);
    for f in [render::json, render::markdown, render::junit, render::html] {
        assert_eq!(render(f, &report), render(f, &report.clone()));
        let client = client_fixture();
        assert_eq!(render(f, &client), render(f, &client.clone()));
    }
}

#[test]
fn json_round_trips() {
    for strict in [false, true] {
        let report = fixture(strict);
        let text = render(render::json, &report);
        let back = parse_json(&text).expect("own JSON parses");
        assert_eq!(back, report);
        assert_eq!(render(render::json, &back), text);
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("mcp-auth-reports")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn write_all_writes_four_files_and_reads_back() {
    let dir = scratch_dir("write-all").join("nested");
    let report = fixture(false);
    let paths = write_all(&report, &dir).expect("write_all succeeds");
    let names: Vec<_> = paths
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["report.json", "report.md", "junit.xml", "report.html"]
    );
    assert_eq!(
        read_json(&paths[0]).expect("report.json reads back"),
        report
    );
    assert_eq!(
        std::fs::read_to_string(&paths[1]).unwrap(),
        render(render::markdown, &report)
    );
}

#[test]
fn read_json_refuses_newer_schema() {
    let mut value: serde_json::Value =
        serde_json::from_str(&render(render::json, &fixture(false))).unwrap();
    value["schema_version"] = json!(99);
    value["checks"] = json!("changed shape");
    let err = parse_json(&value.to_string()).unwrap_err();
    assert!(
        matches!(err, ReadError::UnsupportedSchema { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn read_json_names_the_path() {
    let dir = scratch_dir("read-errors");
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.json");
    let err = read_json(&missing).unwrap_err();
    assert!(
        matches!(&err, ReadError::Io { path, .. } if path == &missing),
        "{err}"
    );

    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 1}").unwrap();
    let err = read_json(&bad).unwrap_err();
    assert!(
        matches!(&err, ReadError::Json { path, .. } if path == &bad),
        "{err}"
    );
    assert!(err.to_string().contains("bad.json"), "{err}");
}

/// The position of `needle` in `haystack`, failing the test when it is absent.
fn at(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not found"))
}

#[test]
fn findings_are_ordered_fail_then_warn_then_error_and_must_first_within_a_verdict() {
    let mut report = fixture(false);
    let mut should_fail = report.checks[1].clone();
    should_fail.id = "RS-SHOULD-01".to_owned();
    should_fail.level = Level::Should;
    report.checks.insert(0, should_fail);
    let md = render(render::markdown, &report);
    let findings = &md[at(&md, "## Findings")..at(&md, "## All checks")];
    let order = [
        "FAIL `RS-JWT-03.none`",
        "FAIL (baseline) `RS-WWW-01`",
        "FAIL `RS-SHOULD-01`",
        "WARN `RS-WWW-02`",
        "ERROR `RS-JWT-05`",
        "HARNESS_ERROR `RS-AUD-01`",
    ];
    let positions: Vec<usize> = order.iter().map(|h| at(findings, h)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

#[test]
fn html_opens_on_the_findings_with_each_finding_expanded_above_the_passes() {
    let html = render(render::html, &fixture(false));
    assert!(html.contains(r#"id="f-problems" data-match="tr.problem" data-count="5" checked>"#));
    assert!(!html.contains(r#"id="f-all" data-match="tr" data-count="8" checked"#));
    let first_fail = at(&html, r#"id="check-RS-JWT-03.none""#);
    let pass = at(&html, r#"id="check-RS-PRM-01""#);
    assert!(first_fail < pass, "the FAIL row comes before the PASS row");
    let fail_row = &html[first_fail..pass];
    assert!(fail_row.contains("<details open>"), "{fail_row}");
    let pass_row = &html[pass..];
    assert!(
        pass_row.contains("<details><summary>"),
        "passes stay collapsed"
    );
}

#[test]
fn html_without_findings_opens_on_all() {
    let mut report = fixture(false);
    report.checks.retain(|c| c.verdict == Verdict::Pass);
    let report = Report::new(
        report.run.clone(),
        report.checks.clone(),
        report.exchanges.clone(),
    );
    let html = render(render::html, &report);
    assert!(html.contains(r#"id="f-all" data-match="tr" data-count="1" checked>"#));
    assert!(!html.contains(r#"id="f-problems""#));
}

#[test]
fn spec_refs_are_links_to_their_sections() {
    let report = fixture(false);
    let url = "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#token-handling";
    let md = render(render::markdown, &report);
    assert!(md.contains(&format!("[MCP §9.2](<{url}>)")), "markdown");
    let html = render(render::html, &report);
    assert!(
        html.contains(&format!(r#"<a href="{url}">MCP §9.2</a>"#)),
        "html"
    );
    let junit = render(render::junit, &report);
    assert!(
        junit.contains(&format!("spec: MCP §9.2 &lt;{url}&gt;")),
        "junit"
    );
}

#[test]
fn remediation_and_sdk_notes_show_under_fail_and_warn_only() {
    let report = fixture(false);
    let md = render(render::markdown, &report);
    assert!(md.contains("- **How to fix:** Refuse a JWT whose `alg` is `none`, in any case."));
    assert!(md.contains("  - *Example SDK 1.0:* Pass `algorithms=[\"RS256\"]` to the verifier. ([source](<https://example.test/sdk/1.0>))"));
    assert!(
        md.contains("- **How to fix:** Fix RS-WWW-02 by"),
        "the WARN's fix"
    );
    for hidden in [
        "Fix RS-PRM-01",
        "Fix RS-JWT-05",
        "Fix RS-PRM-05",
        "Fix RS-DPOP-01",
    ] {
        assert!(
            !md.contains(hidden),
            "{hidden}: PASS, ERROR, INFO and SKIP need no fix"
        );
    }
    let html = render(render::html, &report);
    assert!(html.contains("<p><b>How to fix:</b> Refuse a JWT whose <code>alg</code> is <code>none</code>, in any case.</p>"));
    assert!(html.contains(r#"<li><b>Example SDK 1.0</b>: Pass <code>algorithms=[&quot;RS256&quot;]</code> to the verifier. (<a href="https://example.test/sdk/1.0">source</a>)</li>"#));
    assert!(!html.contains("Fix RS-PRM-01"));
}

#[test]
fn title_backticks_become_code() {
    let report = fixture(false);
    let html = render(render::html, &report);
    assert!(html.contains("<summary>Rejects <code>alg</code> none tokens</summary>"));
    let md = render(render::markdown, &report);
    assert!(md.contains("### FAIL `RS-JWT-03.none`: Rejects `alg` none tokens"));
}

#[test]
fn jwt_time_claims_show_their_utc_date_beside_the_number() {
    let html = render(render::html, &fixture(false));
    assert!(
        html.contains(
            r#"&quot;exp&quot;: 1735693200,  <span class="date">2025-01-01 01:00:00 UTC</span>"#
        ),
        "exp"
    );
    assert!(
        html.contains(
            r#"&quot;iat&quot;: 1735689600,  <span class="date">2025-01-01 00:00:00 UTC</span>"#
        ),
        "iat"
    );
    assert!(
        html.contains("&quot;nbf&quot;: &quot;not a number&quot;,\n"),
        "a non-numeric nbf gets no date"
    );
}

#[test]
fn the_offending_exchange_is_marked_and_the_rest_is_context() {
    let report = fixture(false);
    let html = render(render::html, &report);
    let row = &html[at(&html, r#"id="check-RS-JWT-03.none""#)..];
    let row = &row[..at(row, "</tr>")];
    assert!(
        row.contains(r#"<details class="exchange offending" open>"#),
        "{row}"
    );
    assert!(
        row.contains(r#"<summary><span class="mark offending">offending</span><code>jwt#1</code>"#)
    );
    let md = render(render::markdown, &report);
    assert!(md.contains("- **Evidence:** ⚠ offending: `jwt#1`"));
    assert!(md.contains("- **Context (behaved correctly or set the scene):** `jwt#9`"));
    let junit = render(render::junit, &report);
    assert!(junit.contains("jwt#1 (offending): POST"));
}

#[test]
fn html_records_script_errors_and_has_the_selftest_hook() {
    let html = render(render::html, &fixture(false));
    assert!(html.contains(r#"<div id="script-errors" data-count="0" hidden></div>"#));
    assert!(html.contains(r#"<pre id="selftest" hidden></pre>"#));
    assert!(html.contains("location.hash==='#selftest'"));
}
