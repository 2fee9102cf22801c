//! Every check as one `cargo test` test (libtest-mimic).
//!
//! `MCP_TARGET_URL=http://127.0.0.1:PORT/mcp cargo test -p mcp-auth-conformance --test conformance` runs every
//! server check against that server, which must trust the fake AS at `MCP_CONFORMANCE_AS_ADDR` (default
//! 127.0.0.1:9400). `MCP_TARGET_SERVER_COMMAND="…"` spawns a server with the env contract instead. Without
//! either, the bundled reference server is the target. `MCP_TARGET_CLIENT_COMMAND="…"` runs every client check
//! against that client command (server URL appended); without it, the bundled reference client. Each role runs
//! only when one of its tests is selected. Filter by check id as usual: `cargo test --test conformance RS-AUD`.
//!
//! The suite runs once, on the first selected test; each test then reports its check's verdict. FAIL, ERROR
//! and HARNESS_ERROR fail the test; WARN fails only with `MCP_CONFORMANCE_STRICT=1`; SKIP and INFO pass.
//! `MCP_CONFORMANCE_REPORT_DIR=DIR` also writes the reports; `MCP_CONFORMANCE_PROFILE=FILE` picks a profile.

use std::sync::OnceLock;

use libtest_mimic::{Arguments, Failed, Trial};
use mcp_auth_conformance::client::{self, ClientOptions, ClientTarget};
use mcp_auth_conformance::registry;
use mcp_auth_conformance::server::target::TargetSpec;
use mcp_auth_conformance::server::{self, ServerOptions};
use mcp_auth_reports::{Report, Role, Verdict};
use mcp_auth_targets::ValidationMode;

/// The one run of each role, made by whichever of its tests asks first; the others wait for it.
static SERVER_REPORT: OnceLock<Result<Report, String>> = OnceLock::new();
static CLIENT_REPORT: OnceLock<Result<Report, String>> = OnceLock::new();

fn options() -> Result<ServerOptions, String> {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
    if let Ok(url) = std::env::var("MCP_TARGET_URL") {
        opts.target = TargetSpec::Url(url);
    } else if let Ok(cmd) = std::env::var("MCP_TARGET_SERVER_COMMAND") {
        opts.target = TargetSpec::Command(cmd);
    }
    if let Ok(addr) = std::env::var("MCP_CONFORMANCE_AS_ADDR") {
        opts.as_addr = addr
            .parse()
            .map_err(|e| format!("MCP_CONFORMANCE_AS_ADDR `{addr}`: {e}"))?;
    }
    if let Ok(p) = std::env::var("MCP_CONFORMANCE_PROFILE") {
        opts.profile =
            mcp_auth_conformance::profile::Profile::load(p.as_ref()).map_err(|e| e.to_string())?;
        opts.profile_label = p;
    }
    opts.strict = strict();
    Ok(opts)
}

fn strict() -> bool {
    std::env::var("MCP_CONFORMANCE_STRICT").is_ok_and(|v| v == "1")
}

fn report() -> Result<&'static Report, Failed> {
    REPORT
        .get_or_init(|| {
            let opts = options()?;
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            let report = runtime.block_on(server::run(&opts));
            if let Ok(dir) = std::env::var("MCP_CONFORMANCE_REPORT_DIR") {
                mcp_auth_reports::render::write_all(&report, dir.as_ref())
                    .map_err(|e| e.to_string())?;
            }
            Ok(report)
        })
        .as_ref()
        .map_err(|e| Failed::from(e.clone()))
}

fn verdict_of(id: &'static str) -> Result<(), Failed> {
    let report = report()?;
    let Some(c) = report.check(id) else {
        return Err(format!("{id} missing from the report").into());
    };
    let detail = || {
        format!(
            "{} {}\n  expected: {}\n  actual:   {}\n  message:  {}\n  evidence: {}",
            c.verdict,
            c.title,
            c.expected,
            c.actual,
            c.message,
            c.evidence.join(", ")
        )
    };
    if c.verdict.is_failure(strict()) {
        return Err(detail().into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let trials = registry::metas(Some(Role::Server))
        .into_iter()
        .map(|m| {
            let id = m.id;
            Trial::test(id, move || verdict_of(id)).with_kind(m.level.as_str())
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if let Some(Ok(r)) = REPORT.get() {
        let skipped = r
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Skip)
            .count();
        if skipped > 0 {
            eprintln!("the run had {skipped} SKIP checks (not applicable; shown as passed); set MCP_CONFORMANCE_REPORT_DIR for the report with reasons");
        }
    }
    conclusion.exit();
}
