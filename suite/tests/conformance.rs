//! Every check as one `cargo test` test (libtest-mimic).
//!
//! **Which role.** A target variable selects its role, and only that role's checks are tests:
//! `MCP_TARGET_URL=http://127.0.0.1:PORT/mcp` (a running server, which must trust the fake AS at
//! `MCP_CONFORMANCE_AS_ADDR`, default 127.0.0.1:9400) or `MCP_TARGET_SERVER_COMMAND="…"` (a server spawned with
//! the env contract) → the server checks; `MCP_TARGET_CLIENT_COMMAND="…"` (server URL appended) → the client
//! checks; `MCP_TARGET_ISSUER=https://…` (login: auto, or the script in `MCP_CONFORMANCE_LOGIN_SCRIPT`) → the AS
//! checks. Several variables: their roles. None: every role against the bundled references. Filter by check id
//! as usual: `cargo test --test conformance RS-AUD`.
//!
//! **Verdicts.** FAIL, ERROR and HARNESS_ERROR fail the test; WARN fails only with `MCP_CONFORMANCE_STRICT=1`;
//! PASS passes. SKIP and INFO are not passes of the target: their tests are *ignored*, and their reasons are
//! printed after the summary. To know which tests are ignored the harness needs the verdicts when it builds the
//! test list, so it runs each role that has a selected test once, up front. A plain `--list` runs nothing (every
//! check is listed as a test); `--list --ignored` (what nextest asks for) runs the roles to name the ignored ones.
//!
//! **One run per invocation, also under nextest.** nextest runs one process per test. When the invocation has
//! an id (`NEXTEST_RUN_ID`, which nextest sets for its list and run phases since 0.9.138, or
//! `MCP_CONFORMANCE_RUN_ID` for another process-per-test runner), a role's report is shared through a file under
//! `target/tmp/conformance-runs/`, named by a hash of the role, that id, this test binary (path, size, mtime)
//! and every `MCP_TARGET_*`/`MCP_CONFORMANCE_*` variable (target, seed, profile, strictness…). The first process
//! that needs the role takes an exclusive lock on the file's `.lock`, runs the role and writes the report; the
//! others wait on the lock and read it. Another invocation has another id, so it never reuses a report; files
//! older than a day are deleted. Without an id (plain `cargo test`: one process) nothing is written.
//!
//! `MCP_CONFORMANCE_REPORT_DIR=DIR` also writes the reports (one folder per role; written by the process that
//! ran the role); `MCP_CONFORMANCE_PROFILE=FILE` picks a server profile; `MCP_CONFORMANCE_SEED=N` the seed.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use mcp_auth_conformance::authz::login::{LoginMode, LoginScript};
use mcp_auth_conformance::authz::{self, AuthzOptions, AuthzTarget};
use mcp_auth_conformance::client::{self, ClientOptions, ClientTarget};
use mcp_auth_conformance::registry;
use mcp_auth_conformance::runner::Selection;
use mcp_auth_conformance::server::target::TargetSpec;
use mcp_auth_conformance::server::{self, ServerOptions};
use mcp_auth_conformance::terminal::terminal_line;
use mcp_auth_reports::{CheckResult, Report, Role, Verdict};
use mcp_auth_targets::ValidationMode;
use sha2::{Digest, Sha256};

/// Each role's one run in this process: made up front (or by the first of its tests), the others read it.
static SERVER_REPORT: OnceLock<Result<Report, String>> = OnceLock::new();
static CLIENT_REPORT: OnceLock<Result<Report, String>> = OnceLock::new();
static AUTHZ_REPORT: OnceLock<Result<Report, String>> = OnceLock::new();

/// A variable's value, when set and not empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn strict() -> bool {
    var("MCP_CONFORMANCE_STRICT").is_some_and(|v| v == "1")
}

fn seed() -> Result<Option<u64>, String> {
    var("MCP_CONFORMANCE_SEED")
        .map(|s| {
            s.parse()
                .map_err(|e| format!("MCP_CONFORMANCE_SEED `{s}`: {e}"))
        })
        .transpose()
}

/// The roles under test: those whose target variable is set, or every role (the bundled references) when none is.
fn roles_under_test() -> Vec<Role> {
    let server = var("MCP_TARGET_URL").is_some() || var("MCP_TARGET_SERVER_COMMAND").is_some();
    let client = var("MCP_TARGET_CLIENT_COMMAND").is_some();
    let authz = var("MCP_TARGET_ISSUER").is_some();
    if !(server || client || authz) {
        return Role::ALL.to_vec();
    }
    Role::ALL
        .into_iter()
        .filter(|r| match r {
            Role::Server => server,
            Role::Client => client,
            Role::Authz => authz,
        })
        .collect()
}

fn server_options() -> Result<ServerOptions, String> {
    let mut opts = ServerOptions::bundled(None, ValidationMode::Jwt);
    if let Some(url) = var("MCP_TARGET_URL") {
        opts.target = TargetSpec::Url(url);
    } else if let Some(cmd) = var("MCP_TARGET_SERVER_COMMAND") {
        opts.target = TargetSpec::Command(cmd);
    }
    if let Some(addr) = var("MCP_CONFORMANCE_AS_ADDR") {
        opts.as_addr = addr
            .parse()
            .map_err(|e| format!("MCP_CONFORMANCE_AS_ADDR `{addr}`: {e}"))?;
    }
    if let Some(addr) = var("MCP_CONFORMANCE_UPSTREAM_ADDR") {
        opts.upstream_addr = addr
            .parse()
            .map_err(|e| format!("MCP_CONFORMANCE_UPSTREAM_ADDR `{addr}`: {e}"))?;
    }
    if let Some(p) = var("MCP_CONFORMANCE_PROFILE") {
        opts.profile =
            mcp_auth_conformance::profile::Profile::load(p.as_ref()).map_err(|e| e.to_string())?;
        opts.profile_label = p;
    }
    opts.seed = seed()?.unwrap_or(opts.seed);
    opts.strict = strict();
    Ok(opts)
}

fn client_options() -> Result<ClientOptions, String> {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_mcp-auth-conformance"));
    let mut opts = ClientOptions::bundled(None, exe);
    if let Some(cmd) = var("MCP_TARGET_CLIENT_COMMAND") {
        opts.target = ClientTarget::Command(cmd);
    }
    opts.seed = seed()?.unwrap_or(opts.seed);
    opts.strict = strict();
    Ok(opts)
}

fn authz_options() -> Result<AuthzOptions, String> {
    let mut opts = AuthzOptions::bundled(None);
    if let Some(issuer) = var("MCP_TARGET_ISSUER") {
        opts.target = AuthzTarget::Issuer(issuer);
        opts.login = Some(match var("MCP_CONFORMANCE_LOGIN_SCRIPT") {
            Some(file) => {
                LoginMode::Form(LoginScript::load(file.as_ref()).map_err(|e| e.to_string())?)
            }
            None => LoginMode::Auto,
        });
    }
    opts.seed = seed()?.unwrap_or(opts.seed);
    opts.strict = strict();
    Ok(opts)
}

/// Runs one role here and now (and writes its reports when asked to).
fn run_role(role: Role) -> Result<Report, String> {
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let report = match role {
        Role::Server => runtime.block_on(server::run(&server_options()?)),
        Role::Client => runtime.block_on(client::run(&client_options()?)),
        Role::Authz => runtime.block_on(authz::run(&authz_options()?)),
    };
    if let Some(dir) = var("MCP_CONFORMANCE_REPORT_DIR") {
        let dir = Path::new(&dir).join(role.as_str());
        mcp_auth_reports::render::write_all(&report, &dir).map_err(|e| e.to_string())?;
    }
    eprintln!(
        "conformance: ran the {role} role in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(report)
}

/// The id shared by every process of one invocation, when the runner gives one.
fn invocation_id() -> Option<String> {
    var("NEXTEST_RUN_ID").or_else(|| var("MCP_CONFORMANCE_RUN_ID"))
}

/// Where a role's shared report lives: a name that differs for another role, invocation, build of this binary
/// or setting.
fn shared_path(role: Role, invocation: &str) -> Result<PathBuf, String> {
    let mut key = Sha256::new();
    let mut field = |s: &str| {
        key.update(s.len().to_le_bytes());
        key.update(s.as_bytes());
    };
    field("conformance-runs v1");
    field(role.as_str());
    field(invocation);
    let exe = std::env::current_exe().map_err(|e| format!("this test binary: {e}"))?;
    let meta = std::fs::metadata(&exe).map_err(|e| format!("{}: {e}", exe.display()))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default();
    field(&format!(
        "{} {} {}",
        exe.display(),
        meta.len(),
        mtime.as_nanos()
    ));
    let mut settings: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            (k.starts_with("MCP_TARGET_") || k.starts_with("MCP_CONFORMANCE_"))
                && k != "MCP_CONFORMANCE_RUN_ID"
        })
        .collect();
    settings.sort();
    for (k, v) in settings {
        field(&k);
        field(&v);
    }
    let hash: String = key.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(shared_dir().join(format!("{}-{hash}.json", role.as_str())))
}

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-runs")
}

/// Deletes the shared reports (and locks) of invocations older than a day.
fn prune_shared(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(24 * 3600));
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The role's report for this invocation: read from the shared file when another process made it, else made here
/// under the lock and shared.
fn shared_run(role: Role, invocation: &str) -> Result<Report, String> {
    let path = shared_path(role, invocation)?;
    let dir = shared_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let lock_path = path.with_extension("lock");
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("{}: {e}", lock_path.display()))?;
    // Blocks until the process running the role has written its report (the lock is released on drop, also when
    // that process dies).
    let _lock = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| format!("locking {}: {e}", lock_path.display()))?;
    if let Ok(text) = std::fs::read(&path) {
        let shared: Result<Report, String> = serde_json::from_slice(&text)
            .map_err(|e| format!("reading the shared run {}: {e}", path.display()))?;
        eprintln!(
            "conformance: the {role} role's run read from {}",
            path.display()
        );
        return shared;
    }
    prune_shared(&dir);
    let result = run_role(role);
    let text = serde_json::to_vec(&result).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("json.part");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!(
        "conformance: shared the {role} role's run with this invocation's other processes as {}",
        path.display()
    );
    result
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
        .get_or_init(|| match invocation_id() {
            Some(id) => shared_run(role, &id),
            None => run_role(role),
        })
        .as_ref()
        .map_err(|e| Failed::from(terminal_line(e)))
}

/// Not a pass of the target: not applicable (SKIP) or informational (INFO).
fn not_a_pass(verdict: Verdict) -> bool {
    matches!(verdict, Verdict::Skip | Verdict::Info)
}

fn reason(c: &CheckResult) -> String {
    let text = [&c.message, &c.actual]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("no reason given");
    format!("{}: {}", c.verdict, terminal_line(text))
}

fn verdict_of(role: Role, id: &'static str) -> Result<Completion, Failed> {
    let report = report(role)?;
    let Some(c) = report.check(id) else {
        return Err(format!("{id} missing from the report").into());
    };
    if c.verdict.is_failure(strict()) {
        return Err(format!(
            "{} {}\n  expected: {}\n  actual:   {}\n  message:  {}\n  evidence: {}",
            c.verdict,
            terminal_line(&c.title),
            terminal_line(&c.expected),
            terminal_line(&c.actual),
            terminal_line(&c.message),
            terminal_line(&c.evidence.join(", "))
        )
        .into());
    }
    if not_a_pass(c.verdict) {
        return Ok(Completion::ignored_with(reason(c)));
    }
    Ok(Completion::Completed)
}

fn main() {
    let args = Arguments::from_args();
    let checks: Vec<(Role, &'static str, &'static str)> = roles_under_test()
        .into_iter()
        .flat_map(|role| {
            registry::metas(Some(role))
                .into_iter()
                // The runs below score the default set (2025-11-25, no extension, the local TLS profile): a check
                // whose row that set does not state (another revision's, an extension's, strict TLS's) is not in
                // their reports.
                .filter(|m| Selection::all().includes(m.id))
                .map(move |m| (role, m.id, m.level.as_str()))
        })
        .collect();
    // Which checks are selected by the filters (whatever their verdict will be).
    let by_name = Arguments {
        ignored: false,
        ..args.clone()
    };
    let selected = |id: &'static str, kind: &'static str| {
        !by_name.is_filtered_out(&Trial::test(id, || Ok(())).with_kind(kind))
    };
    // The verdicts decide which tests are ignored, so the roles with a selected test run now, one after the other
    // (as they would in the tests): everything but a plain `--list`.
    let verdicts_needed = !args.list || args.ignored;
    if verdicts_needed {
        for role in Role::ALL {
            if checks
                .iter()
                .any(|&(r, id, kind)| r == role && selected(id, kind))
            {
                let _ = report(role);
            }
        }
    }
    let known = |role: Role, id: &str| {
        cell(role)
            .get()
            .and_then(|r| r.as_ref().ok())
            .and_then(|r| r.check(id))
    };
    let trials = checks
        .iter()
        .map(|&(role, id, kind)| {
            let ignored = known(role, id).is_some_and(|c| not_a_pass(c.verdict));
            Trial::ignorable_test(id, move || verdict_of(role, id))
                .with_kind(kind)
                .with_ignored_flag(ignored)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    if !args.list {
        // The reasons of the ignored tests (libtest prints none for a test ignored before it runs).
        let mut out = std::io::stdout().lock();
        for &(role, id, kind) in &checks {
            if let Some(c) = known(role, id).filter(|c| not_a_pass(c.verdict)) {
                if selected(id, kind) && !args.ignored && !args.include_ignored {
                    let _ = writeln!(out, "ignored {id} ({role}): {}", reason(c));
                }
            }
        }
    }
    conclusion.exit();
}
