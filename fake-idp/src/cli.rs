//! The `fake-idp` command: run the fake world on a fixed loopback address for a server under test, or the
//! reference authorization server (`--target`). The binary is installed with the suite (`suite/src/bin/fake-idp.rs`
//! calls [`main`]), so `cargo install --path suite` and `cargo build --release` give both.

use std::net::SocketAddr;
use std::process::ExitCode;

use crate::{AsDefect, AsTarget, AsTargetConfig, FakeIdp, FakeIdpError, LoginUi, DEFAULT_SEED};
use anyhow::Context as _;
use clap::Parser;

/// Runs the fake IdP / authorization server of mcp-auth-conformance until Ctrl-C.
#[derive(Debug, Parser)]
#[command(name = "fake-idp", version, about)]
struct Args {
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1:9400")]
    addr: SocketAddr,
    /// User that /authorize auto-approves (`login_hint` overrides).
    #[arg(long, default_value = "alice")]
    user: String,
    /// RNG seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Run the reference authorization server under test (target mode) instead of the fake
    /// world; prints its issuer.
    #[arg(long)]
    target: bool,
    /// Target mode: the one protection to turn off (kebab-case `AsDefect` name).
    #[arg(long, requires = "target")]
    defect: Option<AsDefect>,
    /// Target mode: `auto` (immediate 302) or `form` (HTML login and consent).
    #[arg(long, requires = "target", default_value = "form")]
    login: LoginUi,
    /// Target mode: trust the suite's JWT-assertion parties (its workload issuer, enterprise IdP and the
    /// private_key_jwt client `conformance-assertion-client`, with their fixed test-only keys) and serve the
    /// jwt-bearer grant and private_key_jwt.
    #[arg(long, requires = "target")]
    trust_suite_assertions: bool,
    /// Target mode, form login: federate the login to this OpenID provider (its issuer), as the client
    /// `conformance-as.apps.idp.conformance.test` with the suite IdP's test secret: the IdP that
    /// `mcp-auth-conformance authz --upstream-idp` serves, e.g. http://accounts.idp.conformance.test:8543.
    #[arg(long, requires = "target", value_name = "ISSUER")]
    upstream_idp: Option<String>,
}

/// Exit code when the world could not start.
const EXIT_FAILURE: u8 = 1;

/// Sends `tracing` events to stderr, filtered by the environment variable `var`: `target=level` directives and a
/// default level, comma-separated (`debug`, `fake_idp=trace,warn`); errors only when unset. (`Targets`, not
/// `EnvFilter`: no regex engine in the build.) Shared by the `fake-idp` and `mcp-auth-conformance` commands.
pub fn init_logging(var: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let errors_only =
        || tracing_subscriber::filter::Targets::new().with_default(tracing::Level::ERROR);
    let filter = match std::env::var(var) {
        Ok(v) => v.parse().unwrap_or_else(|e| {
            eprintln!("warning: ignoring {var}={v:?}: {e}");
            errors_only()
        }),
        Err(_) => errors_only(),
    };
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .init();
}

/// The command's entry point: parses the arguments, runs until Ctrl-C, and returns the exit code.
pub fn main() -> ExitCode {
    init_logging("RUST_LOG");
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn port_taken(e: FakeIdpError, addr: SocketAddr) -> anyhow::Error {
    match e {
        FakeIdpError::Bind(io) if io.kind() == std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "port taken: {addr} is already in use (another fake-idp running?); pass --addr 127.0.0.1:<port>"
        ),
        other => anyhow::Error::new(other),
    }
}

async fn run_target(args: Args) -> anyhow::Result<()> {
    let target = AsTarget::start(AsTargetConfig {
        defect: args.defect,
        login: args.login,
        seed: args.seed,
        bind: args.addr,
        assertion_trust: if args.trust_suite_assertions {
            crate::AssertionTrust::suite_parties(crate::assertion::SUITE_ASSERTION_CLIENT)
        } else {
            crate::AssertionTrust::default()
        },
        upstream_idp: args.upstream_idp.map(|issuer| crate::UpstreamIdp {
            issuer,
            client_id: crate::idp::IDP_CLIENT_ID.to_owned(),
            client_secret: crate::idp::IDP_CLIENT_SECRET.to_owned(),
            ca_pem: None,
        }),
        ..AsTargetConfig::default()
    })
    .await
    .map_err(|e| port_taken(e, args.addr))
    .with_context(|| format!("cannot start the reference AS on {}", args.addr))?;
    println!("{}", target.issuer());
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    target.shutdown().await;
    Ok(())
}

async fn run(args: Args) -> anyhow::Result<()> {
    if args.target {
        return run_target(args).await;
    }
    let world = FakeIdp::builder()
        .bind(args.addr)
        .default_user(&args.user)
        .seed(args.seed)
        .start()
        .await
        .map_err(|e| port_taken(e, args.addr))
        .with_context(|| format!("cannot start the fake world on {}", args.addr))?;
    let (client_id, client_secret) = world.introspection_client();
    println!("issuer:               {}", world.issuer());
    println!("jwks_uri:             {}", world.jwks_uri());
    println!("introspection_url:    {}", world.introspection_url());
    println!("introspection client: {client_id}");
    println!("introspection secret: {client_secret}");
    println!("default user:         {}", args.user);
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    world.shutdown().await;
    Ok(())
}
