//! Every check as one `cargo test` test (libtest-mimic).
//!
//! `MCP_TARGET_URL=http://127.0.0.1:PORT/mcp cargo test -p mcp-auth-conformance --test conformance` runs every
//! server check against that server, which must trust the fake AS at `MCP_CONFORMANCE_AS_ADDR` (default
//! 127.0.0.1:9400). `MCP_TARGET_SERVER_COMMAND="…"` spawns a server with the env contract instead. Without
//! either, the bundled reference server is the target. `MCP_TARGET_CLIENT_COMMAND="…"` runs every client check
//! against that client command (server URL appended); without it, the bundled reference client.
//! `MCP_TARGET_ISSUER=https://…` runs every AS check against that authorization server (login: auto, or the
//! script in `MCP_CONFORMANCE_LOGIN_SCRIPT`); without it, the bundled reference AS. Each role runs once, and only
//! when one of its tests is selected. Filter by check id as usual:
//! `cargo test --test conformance RS-AUD`.
//!
//! FAIL, ERROR and HARNESS_ERROR fail the test; WARN fails only with `MCP_CONFORMANCE_STRICT=1`; SKIP and INFO
//! pass. `MCP_CONFORMANCE_REPORT_DIR=DIR` also writes the reports (one folder per role);
//! `MCP_CONFORMANCE_PROFILE=FILE` picks a server profile.

use std::sync::OnceLock;

use libtest_mimic::{Arguments, Failed, Trial};
use mcp_auth_conformance::authz::login::{LoginMode, LoginScript};
use mcp_auth_conformance::authz::{self, AuthzOptions, AuthzTarget};
use mcp_auth_conformance::client::{self, ClientOptions, ClientTarget};
use mcp_auth_conformance::registry;
use mcp_auth_conformance::server::target::TargetSpec;
use mcp_auth_conformance::server::{self, ServerOptions};
use mcp_auth_reports::{Report, Role, Verdict};
use mcp_auth_targets::ValidationMode;

/// The one run of each role, made by whichever of its tests asks first; the others wait for it.
static SERVER_REPORT: OnceLock<Result<Report, String>> = OnceLock::new();
static CLIENT_REPORT: OnceLock<Result<Report, String>> = OnceLock::new();
static AUTHZ_REPORT: OnceLock<Result<Report, String>> = OnceLock::new();

fn strict() -> bool {
    std::env::var("MCP_CONFORMANCE_STRICT").is_ok_and(|v| v == "1")
}

fn server_options() -> Result<ServerOptions, String> {
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
    if let Ok(addr) = std::env::var("MCP_CONFORMANCE_UPSTREAM_ADDR") {
        opts.upstream_addr = addr
            .parse()
            .map_err(|e| format!("MCP_CONFORMANCE_UPSTREAM_ADDR `{addr}`: {e}"))?;
    }
    if let Ok(p) = std::env::var("MCP_CONFORMANCE_PROFILE") {
        opts.profile =
            mcp_auth_conformance::profile::Profile::load(p.as_ref()).map_err(|e| e.to_string())?;
        opts.profile_label = p;
    }
    opts.strict = strict();
    Ok(opts)
}

fn client_options() -> ClientOptions {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_mcp-auth-conformance"));
    let mut opts = ClientOptions::bundled(None, exe);
    if let Ok(cmd) = std::env::var("MCP_TARGET_CLIENT_COMMAND") {
        opts.target = ClientTarget::Command(cmd);
    }
    opts.strict = strict();
    opts
}

fn authz_options() -> Result<AuthzOptions, String> {
    let mut opts = AuthzOptions::bundled(None);
    if let Ok(issuer) = std::env::var("MCP_TARGET_ISSUER") {
        opts.target = AuthzTarget::Issuer(issuer);
        opts.login = Some(match std::env::var("MCP_CONFORMANCE_LOGIN_SCRIPT") {
            Ok(file) => {
                LoginMode::Form(LoginScript::load(file.as_ref()).map_err(|e| e.to_string())?)
            }
            Err(_) => LoginMode::Auto,
        });
    }
    opts.strict = strict();
    Ok(opts)
}

fn cell(role: Role) -> &'static OnceLock<Result<Report, String>> {
    match role {
        Role::Server => &SERVER_REPORT,
        Role::Client => &CLIENT_REPORT,
        Role::Authz => &AUTHZ_REPORT,
    }
}

fn report(role: Role) -> Result<&'static Report, Failed> {
    cell(role)
        .get_or_init(|| {
            let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
            let report = match role {
                Role::Server => runtime.block_on(server::run(&server_options()?)),
                Role::Client => runtime.block_on(client::run(&client_options())),
                Role::Authz => runtime.block_on(authz::run(&authz_options()?)),
            };
            if let Ok(dir) = std::env::var("MCP_CONFORMANCE_REPORT_DIR") {
                let dir = std::path::Path::new(&dir).join(role.as_str());
                mcp_auth_reports::render::write_all(&report, &dir).map_err(|e| e.to_string())?;
            }
            Ok(report)
        })
        .as_ref()
        .map_err(|e| Failed::from(e.clone()))
}

fn verdict_of(role: Role, id: &'static str) -> Result<(), Failed> {
    let report = report(role)?;
    let Some(c) = report.check(id) else {
        return Err(format!("{id} missing from the report").into());
    };
    if c.verdict.is_failure(strict()) {
        return Err(format!(
            "{} {}\n  expected: {}\n  actual:   {}\n  message:  {}\n  evidence: {}",
            c.verdict,
            c.title,
            c.expected,
            c.actual,
            c.message,
            c.evidence.join(", ")
        )
        .into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let trials = Role::ALL
        .into_iter()
        .flat_map(|role| {
            registry::metas(Some(role))
                .into_iter()
                .map(move |m| (role, m))
        })
        .map(|(role, m)| {
            let id = m.id;
            Trial::test(id, move || verdict_of(role, id)).with_kind(m.level.as_str())
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    for role in Role::ALL {
        if let Some(Ok(r)) = cell(role).get() {
            let skipped = r
                .checks
                .iter()
                .filter(|c| c.verdict == Verdict::Skip)
                .count();
            if skipped > 0 {
                eprintln!(
                    "the {role} run had {skipped} SKIP checks (not applicable; shown as passed); \
                     set MCP_CONFORMANCE_REPORT_DIR for the reasons"
                );
            }
        }
    }
    conclusion.exit();
}
