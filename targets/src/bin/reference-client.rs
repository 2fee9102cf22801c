//! `reference-client`: the exemplary MCP client, run by the suite as
//! `sh -c 'exec reference-client [--defect NAME] "$@"' sh <MCP_URL>`.
//!
//! The MCP server URL is the last argument. Environment: `MCP_CONFORMANCE_SCENARIO`,
//! `MCP_CONFORMANCE_CONTEXT`, `MCP_CONFORMANCE_PROTOCOL_VERSION`; `REFERENCE_CLIENT_DEFECT` (or
//! `--defect NAME`) turns off one protection. Exit codes: 0 done, 1 refused or failed (reason on
//! one stderr line), 2 usage error.

use std::env;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use mcp_auth_targets::client::{run, ClientDefect, ClientEnv};

/// Exit code when the client refused or failed.
const EXIT_REFUSED: u8 = 1;
/// Exit code for bad arguments or environment.
const EXIT_USAGE: u8 = 2;
/// Whole-run deadline, under the suite's 20 s.
const DEADLINE: Duration = Duration::from_secs(18);

struct Args {
    url: String,
    defect: Option<ClientDefect>,
}

fn usage() -> String {
    let names: Vec<&str> = ClientDefect::ALL.iter().map(|d| d.name()).collect();
    format!(
        "usage: reference-client [--defect NAME] <MCP_URL>\nenv: MCP_CONFORMANCE_SCENARIO, MCP_CONFORMANCE_CONTEXT, MCP_CONFORMANCE_PROTOCOL_VERSION, REFERENCE_CLIENT_DEFECT\ndefects: {}",
        names.join(", ")
    )
}

fn parse_args() -> Result<Option<Args>> {
    let mut url = None;
    let mut defect = env::var("REFERENCE_CLIENT_DEFECT")
        .ok()
        .filter(|s| !s.is_empty());
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--defect" => defect = Some(args.next().context("--defect needs a value")?),
            a if a.starts_with("--defect=") => defect = Some(a["--defect=".len()..].to_owned()),
            a if a.starts_with('-') => bail!("unknown argument `{a}`"),
            _ => url = Some(arg),
        }
    }
    let url = url.context("missing the MCP server URL (last argument)")?;
    let defect = defect.map(|d| d.parse::<ClientDefect>()).transpose()?;
    Ok(Some(Args { url, defect }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("reference-client: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let client_env = match ClientEnv::from_vars(|name| env::var(name).ok()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("reference-client: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match tokio::time::timeout(DEADLINE, run(&args.url, &client_env, args.defect)).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("reference-client: {}", e.to_string().replace('\n', " "));
            ExitCode::from(EXIT_REFUSED)
        }
        Err(_) => {
            eprintln!("reference-client: gave up after {} s", DEADLINE.as_secs());
            ExitCode::from(EXIT_REFUSED)
        }
    }
}
