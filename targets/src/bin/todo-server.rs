//! `todo-server`: the reference To-Do MCP server, configured by the suite's server-target env
//! contract.
//!
//! Environment: `MCP_CONFORMANCE_ISSUER`, `MCP_CONFORMANCE_JWKS_URI` (required);
//! `MCP_CONFORMANCE_INTROSPECTION_URL` (+ `_CLIENT_ID`, `_CLIENT_SECRET`) selects introspection
//! mode unless `TODO_SERVER_MODE=jwt`; `TODO_SERVER_MODE=jwt|introspection` overrides;
//! `MCP_CONFORMANCE_RESOURCE` is the canonical URL to answer as (its path must be `/mcp`);
//! `PORT` (or `--port N`) binds `127.0.0.1:PORT`; `TODO_SERVER_DEFECT` (or `--defect NAME`)
//! turns off one protection. `MCP_CONFORMANCE_UPSTREAM_URL` (the upstream API resource) adds the
//! `email_digest` and `send_email` tools, which exchange the caller's token (RFC 8693) at
//! `MCP_CONFORMANCE_TOKEN_ENDPOINT` (default: issuer + `/token`) authenticated with the
//! `MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID` / `_SECRET` credentials (also read in JWT mode). Under
//! `--tls-profile strict`: `SSL_CERT_FILE` (the CA to trust) and `MCP_CONFORMANCE_TLS_CERT_FILE` /
//! `_KEY_FILE` (serve https with that certificate).

use std::env;

use anyhow::{bail, Context as _, Result};
use mcp_auth_targets::{config_from_env, TodoServer, TodoServerConfig};

/// `--port N` / `--defect NAME` (also `--port=N`).
fn flags() -> Result<(Option<String>, Option<String>)> {
    let (mut port, mut defect) = (None, None);
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        let slot = match name.as_str() {
            "--port" => &mut port,
            "--defect" => &mut defect,
            "-h" | "--help" => {
                eprintln!("usage: todo-server [--port N] [--defect NAME]\nenv: MCP_CONFORMANCE_ISSUER, MCP_CONFORMANCE_JWKS_URI, MCP_CONFORMANCE_INTROSPECTION_URL, MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID, MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET, MCP_CONFORMANCE_RESOURCE, MCP_CONFORMANCE_UPSTREAM_URL, MCP_CONFORMANCE_TOKEN_ENDPOINT, MCP_CONFORMANCE_TLS_CERT_FILE, MCP_CONFORMANCE_TLS_KEY_FILE, SSL_CERT_FILE, PORT, TODO_SERVER_MODE, TODO_SERVER_DEFECT");
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` (expected --port N or --defect NAME)"),
        };
        let value = match inline {
            Some(v) => v,
            None => args
                .next()
                .with_context(|| format!("{name} needs a value"))?,
        };
        *slot = Some(value);
    }
    Ok((port, defect))
}

fn config() -> Result<(TodoServerConfig, u16)> {
    let (port, defect) = flags()?;
    Ok(config_from_env(|name| env::var(name).ok(), port, defect)?)
}

/// Exit code for a bad configuration or a failed start.
const EXIT_USAGE: i32 = 2;

/// Log filter from `RUST_LOG`: `target=level` directives and a default level, comma-separated (`debug`,
/// `fake_idp=trace,warn`); errors only when unset. (`Targets`, not `EnvFilter`: no regex engine in the build.)
fn log_filter() -> tracing_subscriber::filter::Targets {
    let errors_only =
        || tracing_subscriber::filter::Targets::new().with_default(tracing::Level::ERROR);
    match std::env::var("RUST_LOG") {
        Ok(v) => v.parse().unwrap_or_else(|e| {
            eprintln!("warning: ignoring RUST_LOG={v:?}: {e}");
            errors_only()
        }),
        Err(_) => errors_only(),
    }
}

#[tokio::main]
async fn main() {
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .with(log_filter())
            .init();
    }
    if let Err(err) = run().await {
        eprintln!("todo-server: error: {err:#}");
        std::process::exit(EXIT_USAGE);
    }
}

async fn run() -> Result<()> {
    let (config, port) = config()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot bind 127.0.0.1:{port}"))?;
    let server = TodoServer::start(config, listener)
        .await
        .context("cannot start the server")?;
    eprintln!("todo-server listening on {}", server.url());
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    server.shutdown().await;
    Ok(())
}
