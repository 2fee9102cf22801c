//! The `mcp-auth-conformance` command line. Only this file prints; exit codes: 0 conformant, 1 unexpected
//! failures, 2 usage or harness error.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use mcp_auth_conformance::catalog::{self, Catalog};
use mcp_auth_conformance::client::{ClientOptions, ClientTarget};
use mcp_auth_conformance::expected::Expected;
use mcp_auth_conformance::profile::Profile;
use mcp_auth_conformance::runner::{self, exit, Baseline, Selection};
use mcp_auth_conformance::server::target::TargetSpec;
use mcp_auth_conformance::server::trust::Trust;
use mcp_auth_conformance::server::{self, ServerOptions, DEFAULT_AS_ADDR};
use mcp_auth_conformance::spec::{Extensions, SpecVersion, TlsProfile};
use mcp_auth_conformance::terminal::{self, terminal_line, ColorChoice};
use mcp_auth_conformance::tls::RunTls;
use mcp_auth_conformance::{registry, selftest};
use mcp_auth_reports::render::escape_controls;
use mcp_auth_reports::{Report, Role};
use mcp_auth_targets::client::ClientDefect;
use mcp_auth_targets::{ServerDefect, ValidationMode};

#[derive(Parser)]
#[command(
    name = "mcp-auth-conformance",
    version,
    about = "End-to-end conformance suite for MCP Authorization (2025-11-25)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Test an MCP server's authorization (the bundled reference server when no --url/--command is given).
    Server(ServerArgs),
    /// Test an MCP client's authorization (the bundled reference client when no --command is given).
    Client(ClientArgs),
    /// Test an authorization server (the bundled reference AS when no --issuer is given).
    Authz(AuthzArgs),
    /// Run the reference targets clean and with every defect; print the detection matrix.
    SelfTest(SelfTestArgs),
    /// List the checks.
    List {
        /// Only this role: server, client or authz.
        #[arg(long)]
        role: Option<Role>,
        #[arg(long)]
        json: bool,
        /// Instead of checks: the client-role worlds and the official scenario name each hands the client
        /// (a Markdown table, as in docs/design/client-role.md §3).
        #[arg(long, conflicts_with_all = ["role", "json"])]
        client_worlds: bool,
        /// Instead of checks: the official conformance suite's authorization scenarios, each with the checks that
        /// judge it here, and the counts per revision (the table of docs/official-coverage.md).
        #[arg(long, conflicts_with_all = ["role", "json", "client_worlds"])]
        official_coverage: bool,
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Explain one check or catalog row (`RS-AUD-01.missing` or `RS-AUD-01`, any case): what it sends, what it
    /// expects, where the requirement comes from, how to fix it, and which checks cover the row.
    Explain { id: String },
    /// The bundled reference MCP client (client contract: server URL last, MCP_CONFORMANCE_* in the env).
    ReferenceClient {
        /// Turn off exactly one protection.
        #[arg(long)]
        defect: Option<ClientDefect>,
        /// The MCP server URL.
        url: String,
    },
    /// Interop with real products: compare a report with its expected verdicts, draft an expectation, build the matrix.
    #[command(subcommand)]
    Interop(InteropCommand),
    /// GitHub Actions output for a report: print one annotation per finding (FAIL, WARN, ERROR, baselined,
    /// stale) as workflow commands, and append the report's Markdown to the step summary.
    Github {
        /// The run's report.json.
        #[arg(long)]
        report: PathBuf,
        /// The step summary file to append to (none: no summary).
        #[arg(long, env = "GITHUB_STEP_SUMMARY")]
        summary: Option<PathBuf>,
    },
    /// Open a URL headlessly: GET it and follow redirects on loopback (the BROWSER handed to clients).
    #[command(hide = true)]
    OpenUrl { url: String },
    /// Run the reference To-Do MCP server by hand, trusting the fake AS at --as-addr.
    ReferenceServer {
        /// Port to listen on (127.0.0.1).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Turn off exactly one protection.
        #[arg(long)]
        defect: Option<ServerDefect>,
        #[arg(long, default_value = "jwt")]
        mode: ValidationMode,
        #[arg(long, env = "MCP_CONFORMANCE_AS_ADDR", default_value = DEFAULT_AS_ADDR)]
        as_addr: SocketAddr,
        /// Configure from the server-target env contract (MCP_CONFORMANCE_*, PORT) instead of the flags above.
        #[arg(long, conflicts_with_all = ["mode", "as_addr"])]
        env_contract: bool,
    },
}

#[derive(Args)]
struct ServerArgs {
    /// URL of a running MCP endpoint that trusts the fake AS at --as-addr.
    #[arg(long, conflicts_with = "command")]
    url: Option<String>,
    /// Command that starts the server (run with `sh -c`, env contract in README.md).
    #[arg(long)]
    command: Option<String>,
    /// Target profile (TOML). Default: the built-in To-Do profile.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Apply one defect to the bundled reference server (each turns off one protection; `self-test` lists what
    /// each one breaks).
    #[arg(long, conflicts_with_all = ["url", "command"], value_parser = names(ServerDefect::ALL.iter().map(|d| d.name())).try_map(|s| s.parse::<ServerDefect>()))]
    defect: Option<ServerDefect>,
    /// How the bundled reference server validates tokens: locally as JWTs, or by introspection at the AS.
    #[arg(long, default_value = "jwt", conflicts_with_all = ["url", "command"], value_parser = names(["jwt", "introspection"]).try_map(|s| s.parse::<ValidationMode>()))]
    mode: ValidationMode,
    #[command(flatten)]
    run: RunArgs,
    /// Address of the fake AS for --url targets.
    #[arg(long, env = "MCP_CONFORMANCE_AS_ADDR", default_value = DEFAULT_AS_ADDR)]
    as_addr: SocketAddr,
    /// Address of the fake upstream API for --url targets (the server calls it for the user).
    #[arg(long, env = "MCP_CONFORMANCE_UPSTREAM_ADDR", default_value = server::DEFAULT_UPSTREAM_ADDR)]
    upstream_addr: SocketAddr,
    /// With --url: once the fake AS is up, wait until the URL answers HTTP (at most SECONDS, default 120), so the
    /// server can be started from the settings printed before the run.
    #[arg(long, requires = "url", value_name = "SECONDS", num_args = 0..=1, default_missing_value = "120")]
    wait_for_target: Option<u64>,
    /// With --url: print what the server must trust as `export MCP_CONFORMANCE_…=` lines (the env contract of
    /// --command targets, with PORT) and exit without running.
    #[arg(long, requires = "url")]
    print_trust_env: bool,
}

/// What a run is scored against: the spec revision and the opt-in extensions.
#[derive(Args, Clone)]
struct ScopeArgs {
    /// The MCP specification revision to score against: 2025-03-26, 2025-06-18, 2025-11-25 or 2026-07-28.
    /// Checks whose catalog row the revision does not state are not run; worlds and requests follow the revision.
    #[arg(long, default_value_t = SpecVersion::default(), value_parser = names(SpecVersion::ALL.iter().map(|v| v.as_str())).try_map(|s| s.parse::<SpecVersion>()))]
    spec_version: SpecVersion,
    /// Opt into authorization extensions (comma-separated, or `all`): client-credentials, enterprise-managed,
    /// dpop, wif. An extension's checks are scored only when it is opted in.
    #[arg(long, value_name = "LIST", value_parser = |s: &str| Extensions::parse(s))]
    extension: Option<Extensions>,
    /// local: the suite's fakes serve plain http on loopback and an http target on loopback is INFO. strict: a
    /// throwaway test CA per run, every fake over https, the CA handed to the target (SSL_CERT_FILE,
    /// REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS; --ca-out FILE), http a FAIL, and the certificate checks scored.
    #[arg(long, default_value_t = TlsProfile::default(), value_parser = names(TlsProfile::ALL.iter().map(|p| p.as_str())).try_map(|s| s.parse::<TlsProfile>()))]
    tls_profile: TlsProfile,
}

impl ScopeArgs {
    /// `selection` at this revision with these extensions.
    fn apply(&self, selection: Selection) -> Selection {
        selection
            .with_spec(self.spec_version)
            .with_extensions(self.extension.clone().unwrap_or_default())
            .with_tls(self.tls_profile)
    }
}

/// The options every role's run takes.
#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    scope: ScopeArgs,
    /// Where reports are written.
    #[arg(long, default_value = "conformance-report")]
    report_dir: PathBuf,
    /// Only checks whose id matches this glob (e.g. 'RS-AUD*', 'CL-PKCE-*', 'AS-TK-*'), or one of several
    /// separated by commas ('AS-FED-*,AS-PRX-*').
    #[arg(long)]
    only: Option<String>,
    /// SHOULD violations (WARN) fail the run.
    #[arg(long)]
    strict: bool,
    /// Expected-failures baseline: TOML ([[expected]] id = "ID or glob" reason = "…"), or the official suite's
    /// expected-failures YAML when the file ends in .yaml/.yml (docs/ci.md).
    #[arg(long, visible_alias = "expected-failures")]
    baseline: Option<PathBuf>,
    /// Seed for every random value of the run (random when absent; the report records it).
    #[arg(long)]
    seed: Option<u64>,
    /// Colour the verdicts: auto (when stdout is a terminal and NO_COLOR is unset or empty), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Print only the FAIL, WARN and ERROR lines and the summary (for CI logs).
    #[arg(long, short)]
    quiet: bool,
    /// With --tls-profile strict: write the run's test CA certificate (PEM) to FILE before the run starts, for a
    /// target the suite does not start (--url, --issuer) to trust.
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,
    /// With --ca-out: also write a certificate of the same run's CA for 127.0.0.1 and localhost (PEM) to FILE,
    /// for a target the suite does not start to serve https with (start it after the suite wrote the files).
    #[arg(long, value_name = "FILE", requires_all = ["ca_out", "key_out"])]
    cert_out: Option<PathBuf>,
    /// With --cert-out: write that certificate's private key (PKCS#8 PEM, mode 0600) to FILE.
    #[arg(long, value_name = "FILE", requires = "cert_out")]
    key_out: Option<PathBuf>,
}

/// Operator input is checked before anything starts: a wrong option is one line on stderr and exit 2, with no
/// report written.
mod input {
    use std::path::Path;

    use anyhow::{bail, Result};

    /// `option` must be an absolute http(s) URL with a host.
    pub fn http_url(option: &str, value: &str) -> Result<()> {
        match url::Url::parse(value) {
            Err(e) => bail!("{option} `{value}`: not an absolute http(s) URL ({e})"),
            Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                bail!(
                    "{option} `{value}`: the scheme must be http or https, not `{}`",
                    u.scheme()
                )
            }
            Ok(u) if u.host_str().is_none_or(str::is_empty) => {
                bail!("{option} `{value}`: the URL has no host")
            }
            Ok(_) => Ok(()),
        }
    }

    /// `option` must be a command (not empty, not only blanks).
    pub fn command(option: &str, value: &str) -> Result<()> {
        if value.trim().is_empty() {
            bail!("{option}: the command is empty");
        }
        Ok(())
    }

    /// The report directory exists (created if needed) and a file can be created in it and removed.
    pub fn report_dir(dir: &Path) -> Result<()> {
        let shown = dir.display();
        if let Err(e) = std::fs::create_dir_all(dir) {
            bail!("--report-dir {shown}: cannot create the directory ({e})");
        }
        let probe = dir.join(format!(".write-probe-{}", std::process::id()));
        if let Err(e) = std::fs::write(&probe, b"") {
            bail!("--report-dir {shown}: the directory is not writable ({e})");
        }
        if let Err(e) = std::fs::remove_file(&probe) {
            bail!("--report-dir {shown}: cannot remove a file written there ({e})");
        }
        Ok(())
    }

    /// The error on one line, each cause once: a cause whose text the message already holds is not repeated.
    pub fn one_line(e: &anyhow::Error) -> String {
        let mut line = String::new();
        for cause in e.chain() {
            let text = cause.to_string();
            if !line.contains(&text) {
                if !line.is_empty() {
                    line.push_str(": ");
                }
                line.push_str(&text);
            }
        }
        line.replace('\n', " ")
    }
}

/// [`RunArgs`] checked and loaded for one role.
struct RunSettings {
    selection: Selection,
    baseline: Baseline,
    strict: bool,
    seed: u64,
    /// How the result is printed.
    terminal: terminal::Options,
    /// How many checks the run judges (for the live status line).
    checks: usize,
    /// Under --tls-profile strict: the run's test PKI (its CA already written to --ca-out).
    tls: Option<std::sync::Arc<RunTls>>,
}

impl RunArgs {
    fn settings(&self, role: Role) -> Result<RunSettings> {
        let selection = match &self.only {
            Some(g) => {
                let selection =
                    Selection::only(g).with_context(|| format!("invalid --only glob `{g}`"))?;
                if !registry::metas(Some(role))
                    .iter()
                    .any(|m| selection.matches(m.id))
                {
                    let role = role.as_str();
                    bail!("--only `{g}` matches no {role} check (see `mcp-auth-conformance list --role {role}`)");
                }
                selection
            }
            None => Selection::all(),
        };
        let selection = self.scope.apply(selection);
        if !registry::metas(Some(role))
            .iter()
            .any(|m| selection.includes(m.id))
        {
            let role = role.as_str();
            let spec = selection.spec();
            bail!("no {role} check applies at --spec-version {spec} with these options (see `mcp-auth-conformance list --role {role} --spec-version {spec}`)");
        }
        let baseline = match &self.baseline {
            Some(p) => {
                let b = Baseline::load(p, role).map_err(|e| anyhow::anyhow!("--baseline: {e}"))?;
                let known: Vec<&str> = registry::metas(Some(role)).iter().map(|m| m.id).collect();
                b.validate(&known)
                    .map_err(|e| anyhow::anyhow!("--baseline {}: {e}", p.display()))?;
                for w in &b.warnings {
                    eprintln!(
                        "warning: --baseline {}: {}",
                        p.display(),
                        escape_controls(w, false)
                    );
                }
                b
            }
            None => Baseline::default(),
        };
        let checks = registry::metas(Some(role))
            .iter()
            .filter(|m| selection.includes(m.id))
            .count();
        let tls = RunTls::for_profile(selection.tls())
            .map_err(|e| anyhow::anyhow!(e))?
            .map(std::sync::Arc::new);
        match (&self.ca_out, &tls) {
            (Some(_), None) => {
                bail!("--ca-out needs --tls-profile strict (there is no test CA otherwise)")
            }
            (Some(p), Some(t)) => t.write_ca(p).map_err(|e| anyhow::anyhow!(e))?,
            _ => {}
        }
        if let (Some(cert), Some(key), Some(t)) = (&self.cert_out, &self.key_out, &tls) {
            t.write_target(cert, key).map_err(|e| anyhow::anyhow!(e))?;
        }
        Ok(RunSettings {
            tls,
            selection,
            baseline,
            strict: self.strict,
            seed: self.seed.unwrap_or_else(rand::random),
            terminal: terminal::Options::detect(self.color, self.quiet),
            checks,
        })
    }
}

#[derive(Subcommand)]
enum InteropCommand {
    /// Exit 1 unless every check of the report has its expected verdict: the listed one (each listed with a reason),
    /// else PASS; a listed check the report lacks is a stale entry and fails too.
    Compare {
        #[arg(long)]
        report: PathBuf,
        #[arg(long)]
        expected: PathBuf,
    },
    /// Write the observed non-PASS verdicts as a draft expectation (TOML; reasons taken from the report, review every one).
    Draft {
        #[arg(long)]
        report: PathBuf,
        #[arg(long)]
        target: String,
        #[arg(long)]
        product: String,
        #[arg(long)]
        configuration: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Generate the Markdown matrix from `<dir>/<target>/report.json` and `<expected-dir>/<target>.toml`. Several
    /// --dir merge the reports of several runners (e.g. one per `run.sh --shard I/N`): every expected target must
    /// have its report in exactly one of them, and every report an expectation, else exit 1 and no matrix.
    Matrix {
        #[arg(long = "dir", default_value = "interop-reports")]
        dirs: Vec<PathBuf>,
        #[arg(long, default_value = "fixtures/interop")]
        expected_dir: PathBuf,
        #[arg(long, default_value = "interop-reports/MATRIX.md")]
        out: PathBuf,
        /// Also compare every report with its expectation (as `interop compare`); a difference exits 1.
        #[arg(long)]
        compare: bool,
        /// The reviewed MCPJam peer expectation: when it exists, exactly one --dir must hold the peer results
        /// (`mcpjam-peer/peer.json`, from `interop peer-judge`), rendered as the "Peer agreement (MCPJam)"
        /// section (and compared with it under --compare).
        #[arg(long, default_value = mcp_auth_conformance::peer::DEFAULT_EXPECTED)]
        peer_expected: PathBuf,
    },
    /// MCPJam as a peer judge: run MCPJam's OAuth conformance test (`targets/interop/mcpjam/judge.mjs`) against
    /// the reference To-Do server and reference AS, clean and once per server and AS defect; write
    /// `<report-dir>/peer.json` and compare each outcome with the reviewed expectation (a difference exits 1).
    PeerJudge {
        /// The judge command (run with `sh -c`, options appended).
        #[arg(long, default_value = "node targets/interop/mcpjam/judge.mjs")]
        judge: String,
        #[arg(long, default_value = mcp_auth_conformance::peer::DEFAULT_EXPECTED)]
        expected: PathBuf,
        #[arg(long, default_value = "interop-reports/mcpjam-peer")]
        report_dir: PathBuf,
        /// Runs at once.
        #[arg(long, default_value_t = 8)]
        jobs: usize,
        /// Only the subjects matching this glob (`reference`, `server/*`, `authz/drop-state`); the comparison
        /// then skips the expectation's other entries.
        #[arg(long)]
        only: Option<glob::Pattern>,
        /// Seconds one run may take before it counts as no verdict (an error).
        #[arg(long, default_value_t = 60)]
        deadline: u64,
    },
    /// Print the products of shard I/N, one per line, of the products given in order: product k (from 0) is in
    /// shard k mod N + 1 (`run.sh --shard I/N`).
    Shard {
        #[arg(long)]
        shard: mcp_auth_conformance::interop::Shard,
        products: Vec<String>,
    },
}

#[derive(Args)]
struct ClientArgs {
    /// Command that runs the client; the server URL is appended as the last argument.
    #[arg(long)]
    command: Option<String>,
    /// Apply one defect to the bundled reference client (each turns off one protection).
    #[arg(long, conflicts_with = "command", value_parser = names(ClientDefect::ALL.iter().map(|d| d.name())).try_map(|s| s.parse::<ClientDefect>()))]
    defect: Option<ClientDefect>,
    /// Only scenarios whose name matches this glob (e.g. 'auth/metadata-*').
    #[arg(long)]
    scenario: Option<String>,
    /// The client's own CIMD document (JSON; `{client_metadata_url}` is replaced by the URL it is served at).
    #[arg(long)]
    client_metadata: Option<PathBuf>,
    /// Seconds each client run may take before its process group is killed.
    #[arg(long, default_value_t = 20)]
    timeout: u64,
    /// How many client processes run at once (default: twice the CPUs, at least 2).
    #[arg(long)]
    jobs: Option<usize>,
    /// The AS persona every world's authorization server plays: its access tokens are the persona's JWTs
    /// (docs/design/personas.md); `generic` issues opaque tokens.
    #[arg(long, value_enum, default_value = "generic")]
    as_persona: mcp_auth_conformance::profile::PersonaName,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct AuthzArgs {
    /// The issuer of a running authorization server. With --command: the issuer the spawned AS publishes, with
    /// `{port}` for its port (default http(s)://127.0.0.1:{port}; FastMCP, for instance, publishes
    /// `https://127.0.0.1:{port}/`).
    #[arg(long)]
    issuer: Option<String>,
    /// Spawn the authorization server: `sh -c CMD` with PORT (bind 127.0.0.1:$PORT), MCP_CONFORMANCE_ISSUER
    /// (http(s)://127.0.0.1:$PORT), the suite's upstream IdP to federate to (MCP_CONFORMANCE_IDP_ISSUER,
    /// _CLIENT_ID, _CLIENT_SECRET, _ADDR; on --upstream-idp ADDR or an ephemeral port) and, under
    /// --tls-profile strict, SSL_CERT_FILE and the certificate to serve (MCP_CONFORMANCE_TLS_CERT_FILE, _KEY_FILE).
    /// Stopped with its process group after the run.
    #[arg(long, value_name = "CMD")]
    command: Option<String>,
    /// Apply one defect to the bundled reference AS (each turns off one protection).
    #[arg(long, conflicts_with_all = ["issuer", "command"], value_parser = names(fake_idp::AsDefect::ALL.iter().map(|d| d.name())).try_map(|s| s.parse::<fake_idp::AsDefect>()))]
    defect: Option<fake_idp::AsDefect>,
    /// How to log in: `auto` (the AS approves at once), `form FILE` (a login script), `manual` (you log in).
    #[arg(long, num_args = 1..=2, value_names = ["MODE", "FILE"])]
    login: Vec<String>,
    /// A pre-registered client (otherwise CIMD or DCR).
    #[arg(long)]
    client_id: Option<String>,
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
    #[arg(long, requires = "client_id")]
    redirect_uri: Option<String>,
    /// The scope to request in flows.
    #[arg(long, default_value = "todo:read")]
    scope: String,
    /// The resource (RFC 8707) every token request names, and the audience expected in JWT access tokens. An
    /// OAuth proxy that is also the MCP server grants only its own MCP URL: name it here. `{issuer}` stands for
    /// the AS's issuer, e.g. `--command … --resource '{issuer}/mcp'` (the port is chosen at run time).
    #[arg(long, value_name = "URL", default_value = mcp_auth_conformance::authz::scenarios::RESOURCE)]
    resource: String,
    /// How the suite registers its flow clients: `auto` (CIMD when the AS advertises it, else DCR) or `dcr` (DCR
    /// even when CIMD is advertised: for an AS that cannot fetch the suite's documents on loopback, e.g. behind
    /// an SSRF guard). The CIMD checks run either way.
    #[arg(long, default_value = "auto", value_parser = names(["auto", "dcr"]))]
    registration: String,
    /// Seconds manual mode waits for each login.
    #[arg(long, default_value_t = 300)]
    manual_timeout: u64,
    /// With --issuer: once the run's files (--ca-out, --cert-out, --key-out) are written, wait until the issuer
    /// answers HTTP (at most SECONDS, default 120), so the AS can be started with them.
    #[arg(long, requires = "issuer", value_name = "SECONDS", num_args = 0..=1, default_missing_value = "120")]
    wait_for_target: Option<u64>,
    /// With --issuer and --extension client-credentials: the client registered at the AS with
    /// token_endpoint_auth_method private_key_jwt and the suite's client JWKS URI (see --print-assertion-trust).
    #[arg(long, requires = "issuer")]
    assertion_client_id: Option<String>,
    /// With --issuer and --extension wif: the AS trusts the suite's workload identity issuer.
    #[arg(long, requires = "issuer")]
    trusts_workload_issuer: bool,
    /// With --issuer and --extension enterprise-managed: the AS trusts the suite's enterprise IdP.
    #[arg(long, requires = "issuer")]
    trusts_enterprise_idp: bool,
    /// Where the suite serves the JWKS of its assertion parties for an --issuer AS.
    #[arg(
        long,
        env = "MCP_CONFORMANCE_TRUST_ADDR",
        default_value = "127.0.0.1:9402"
    )]
    trust_addr: SocketAddr,
    /// Print what the AS under test must trust for the JWT-assertion extensions, and exit without running.
    #[arg(long)]
    print_assertion_trust: bool,
    /// With --issuer: serve the suite's upstream IdP (an OpenID provider, issuer
    /// http://accounts.idp.conformance.test:<port>) on this loopback address for an AS configured to federate its
    /// login to it (the AS-FED checks need it; without it they SKIP). Default 127.0.0.1:8543. With --command the
    /// IdP always runs, on an ephemeral port unless this names one.
    #[arg(long, value_name = "ADDR", num_args = 0..=1,
          default_missing_value = fake_idp::idp::DEFAULT_UPSTREAM_IDP_ADDR)]
    upstream_idp: Option<std::net::SocketAddr>,
    /// With --upstream-idp: print what the AS must be configured with as `export MCP_CONFORMANCE_IDP_…=` lines
    /// and exit without running.
    #[arg(long, requires = "upstream_idp")]
    print_idp_env: bool,
    /// With --issuer (and --upstream-idp) or --command: the AS under test is an MCP OAuth proxy with a static
    /// client at the upstream IdP (the suite's IdP). Judges the AS-PRX checks (without it they SKIP). When
    /// --resource names its own MCP endpoint, it checks the upstream's tokens when its own are used there, so
    /// federated logins (AS-FED) are judged by using their tokens at --resource.
    #[arg(long)]
    proxy: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct SelfTestArgs {
    #[arg(long, default_value = "server")]
    role: Role,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Write the observed verdicts as expectation data to this file (review before committing).
    #[arg(long, hide = true)]
    bless: Option<PathBuf>,
}

/// `println!` for the run commands: a reader that went away (`server | head`) ends the printing, not the run,
/// which still returns its verdict's exit code (the reports are written before anything is printed).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `println!` for the listing commands (`list`, `explain`): a reader that went away (`list | head`) ends the
/// output quietly, exit 0, instead of a panic on the broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(exit::OK);
            }
        }
    }};
}

/// The accepted values of an option, shown in its help and in the error for anything else.
fn names(values: impl IntoIterator<Item = &'static str>) -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(values)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    fake_idp::cli::init_logging("MCP_CONFORMANCE_LOG");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::USAGE_OR_HARNESS as u8);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            // The cause may quote a target (a URL, a server's error text): one line, escaped, each cause once.
            eprintln!("error: {}", escape_controls(&input::one_line(&e), false));
            ExitCode::from(exit::USAGE_OR_HARNESS as u8)
        }
    }
}

/// Runs `work` until it ends or the suite gets SIGINT/SIGTERM; on a signal every process group spawned is
/// stopped (SIGTERM, grace, SIGKILL), `work` is dropped, and the signal's name and exit code (130, 143) returned.
async fn until_signal<T>(
    work: impl std::future::Future<Output = T>,
) -> Result<Result<T, (&'static str, i32)>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut sigint = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut sigterm = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut work = Box::pin(work);
    let signal = tokio::select! {
        done = &mut work => return Ok(Ok(done)),
        _ = sigint.recv() => ("SIGINT", exit::SIGINT),
        _ = sigterm.recv() => ("SIGTERM", exit::SIGTERM),
    };
    // SIGTERM and a grace to every group spawned, then SIGKILL; dropping the work runs the guards.
    mcp_auth_conformance::process::stop_all().await;
    drop(work);
    Ok(Err(signal))
}

/// Runs a role until it reports or the suite gets SIGINT/SIGTERM. On a signal the run is dropped, which kills
/// every process group it spawned, and the report judges the scenarios that had finished (the other checks are
/// ERROR, not observed); the exit code is 130 (SIGINT) or 143 (SIGTERM).
async fn run_or_interrupt(
    run: impl std::future::Future<Output = Report>,
    interrupted: impl FnOnce(&str) -> Report,
    report_dir: &std::path::Path,
    output: &terminal::Options,
    status_line: Option<terminal::Live>,
) -> Result<i32> {
    let outcome = until_signal(run).await;
    if let Some(line) = status_line {
        line.clear();
    }
    // Here the run future is dropped: its targets are dead.
    match outcome? {
        Ok(report) => finish(&report, report_dir, output),
        Err((name, code)) => {
            let report = interrupted(&format!("interrupted by {name}"));
            finish(&report, report_dir, output)?;
            eprintln!("interrupted by {name}: targets stopped, report written");
            Ok(code)
        }
    }
}

async fn dispatch(command: Command) -> Result<i32> {
    match command {
        Command::Server(args) => server_cmd(args).await,
        Command::Client(args) => client_cmd(args).await,
        Command::Authz(args) => authz_cmd(args).await,
        Command::ReferenceClient { defect, url } => reference_client(defect, &url).await,
        Command::OpenUrl { url } => open_url(&url).await,
        Command::Github { report, summary } => github(&report, summary.as_deref()),
        Command::Interop(cmd) => interop_cmd(cmd).await,
        Command::SelfTest(args) => {
            // No report to write: on a signal the runs are dropped (their process groups killed) and the
            // exit code says which signal.
            match until_signal(self_test(args)).await? {
                Ok(code) => code,
                Err((name, code)) => {
                    eprintln!("self-test interrupted by {name}: targets stopped");
                    Ok(code)
                }
            }
        }
        Command::List {
            official_coverage: true,
            ..
        } => {
            out!(
                "{}",
                mcp_auth_conformance::coverage::Coverage::all()
                    .markdown()
                    .trim_end_matches('\n')
            );
            Ok(exit::OK)
        }
        Command::List {
            client_worlds: true,
            ..
        } => {
            out!(
                "{}",
                mcp_auth_conformance::client::scenarios::markdown_table().trim_end_matches('\n')
            );
            Ok(exit::OK)
        }
        Command::List {
            role, json, scope, ..
        } => list(role, json, &scope.apply(Selection::all())),
        Command::Explain { id } => explain(&id),
        Command::ReferenceServer {
            port,
            defect,
            mode,
            as_addr,
            env_contract,
        } => {
            if env_contract {
                reference_server_from_env(defect).await
            } else {
                reference_server(port, defect, mode, as_addr).await
            }
        }
    }
}

async fn server_cmd(args: ServerArgs) -> Result<i32> {
    if let Some(u) = &args.url {
        input::http_url("--url", u)?;
    }
    if let Some(c) = &args.command {
        input::command("--command", c)?;
    }
    let (profile, profile_label) = match &args.profile {
        Some(p) => (
            Profile::load(p).map_err(|e| anyhow::anyhow!("--profile: {e}"))?,
            p.display().to_string(),
        ),
        None => (Profile::default_profile(), "todo (built in)".to_owned()),
    };
    let scheme = match args.run.scope.tls_profile {
        TlsProfile::Strict => "https",
        TlsProfile::Local => "http",
    };
    let trust = args.url.as_deref().map(|url| {
        Trust::at_scheme(
            scheme,
            args.as_addr,
            args.upstream_addr,
            url,
            &profile.scopes,
            &profile.persona(),
        )
    });
    if let Some(trust) = trust.as_ref().filter(|_| args.print_trust_env) {
        print!("{}", trust.shell_exports());
        return Ok(exit::OK);
    }
    let run = args.run.settings(Role::Server)?;
    input::report_dir(&args.run.report_dir)?;
    if let Some(trust) = &trust {
        // Before the run: what to configure the server with (operator input and fixed values).
        print!("{}", escape_controls(&trust.text(), true));
        if let Some(seconds) = args.wait_for_target {
            say!(
                "Waiting up to {seconds} s for {} to answer (start the server now; Ctrl-C stops).",
                terminal_line(&trust.resource)
            );
        }
        say!();
    }
    let target = match (args.url, args.command) {
        (Some(u), _) => TargetSpec::Url(u),
        (None, Some(c)) => TargetSpec::Command(c),
        (None, None) => TargetSpec::Bundled {
            defect: args.defect,
            mode: args.mode,
        },
    };
    let opts = ServerOptions {
        target,
        profile,
        profile_label,
        selection: run.selection.clone(),
        baseline: run.baseline.clone(),
        strict: run.strict,
        as_addr: args.as_addr,
        upstream_addr: args.upstream_addr,
        seed: run.seed,
        limits: Default::default(),
        wait_for_target: args
            .wait_for_target
            .map(|s| std::time::Duration::from_secs(s.max(1))),
        tls: run.tls.clone(),
    };
    let live = runner::Live::start();
    let line = terminal::Live::start("server", live.progress.status().clone(), run.checks);
    run_or_interrupt(
        server::run_live(&opts, &live),
        |reason| server::interrupted(&opts, &live, reason),
        &args.run.report_dir,
        &run.terminal,
        line,
    )
    .await
}

async fn client_cmd(args: ClientArgs) -> Result<i32> {
    let suite_exe = std::env::current_exe().context("locating the suite binary")?;
    let mut opts = ClientOptions::bundled(args.defect, suite_exe);
    if let Some(c) = &args.command {
        input::command("--command", c)?;
    }
    if let Some(c) = args.command {
        opts.target = ClientTarget::Command(c);
    }
    if let Some(g) = &args.scenario {
        opts.scenarios =
            Selection::only(g).with_context(|| format!("invalid --scenario glob `{g}`"))?;
        if !mcp_auth_conformance::client::scenarios::all()
            .iter()
            .any(|s| s.selected_by(&opts.scenarios))
        {
            bail!("--scenario `{g}` matches no client scenario");
        }
    }
    let run = args.run.settings(Role::Client)?;
    opts.selection = run.selection.clone();
    opts.tls = run.tls.clone();
    opts.baseline = run.baseline.clone();
    opts.strict = run.strict;
    opts.seed = run.seed;
    if let Some(p) = &args.client_metadata {
        opts.client_metadata = Some(
            std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("--client-metadata {}: {e}", p.display()))?,
        );
    }
    opts.deadline = std::time::Duration::from_secs(args.timeout.max(1));
    opts.as_persona = args.as_persona.with_defaults();
    if let Some(jobs) = args.jobs {
        opts.parallel = jobs.max(1);
    }
    input::report_dir(&args.run.report_dir)?;
    let live = runner::Live::start();
    let line = terminal::Live::start("client", live.progress.status().clone(), run.checks);
    run_or_interrupt(
        mcp_auth_conformance::client::run_live(&opts, &live),
        |reason| mcp_auth_conformance::client::interrupted(&opts, &live, reason),
        &args.run.report_dir,
        &run.terminal,
        line,
    )
    .await
}

async fn authz_cmd(args: AuthzArgs) -> Result<i32> {
    use mcp_auth_conformance::authz::login::{LoginMode, LoginScript};
    use mcp_auth_conformance::authz::{AuthzOptions, AuthzTarget, PreRegisteredClient};
    let mut opts = AuthzOptions::bundled(args.defect);
    opts.assertion = mcp_auth_conformance::authz::trust::AssertionOptions {
        client_id: args.assertion_client_id.clone(),
        trusts_workload: args.trusts_workload_issuer,
        trusts_idp: args.trusts_enterprise_idp,
        trust_addr: args.trust_addr,
    };
    if args.print_assertion_trust {
        out!("{}", opts.assertion.describe());
        return Ok(exit::OK);
    }
    if !args.trust_addr.ip().is_loopback() {
        bail!(
            "--trust-addr must be a loopback address, not {}",
            args.trust_addr
        );
    }
    if let Some(i) = &args.issuer {
        if args.command.is_some() && !i.contains(mcp_auth_conformance::authz::run::PORT_PLACEHOLDER)
        {
            bail!("--issuer `{i}` with --command must contain `{{port}}`, the port the spawned AS binds");
        }
        if args.command.is_none() && i.contains(mcp_auth_conformance::authz::run::PORT_PLACEHOLDER)
        {
            bail!("--issuer `{i}`: `{{port}}` stands for a spawned AS's port and needs --command");
        }
        input::http_url(
            "--issuer",
            &i.replace(mcp_auth_conformance::authz::run::PORT_PLACEHOLDER, "1"),
        )?;
    }
    opts.target = match (args.command, args.issuer) {
        (Some(command), issuer) => AuthzTarget::Command { command, issuer },
        (None, Some(i)) => AuthzTarget::Issuer(i),
        (None, None) => opts.target,
    };
    if args.upstream_idp.is_some() && matches!(opts.target, AuthzTarget::Bundled(_)) {
        bail!("--upstream-idp needs --issuer or --command (the bundled AS federates to an IdP of its own)");
    }
    opts.login = match args
        .login
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => None,
        ["auto"] => Some(LoginMode::Auto),
        ["manual"] => Some(LoginMode::Manual {
            timeout: std::time::Duration::from_secs(args.manual_timeout),
        }),
        ["form", file] => Some(LoginMode::Form(LoginScript::load(std::path::Path::new(
            file,
        ))?)),
        other => bail!("--login takes `auto`, `manual` or `form FILE`, not {other:?}"),
    };
    if let Some(id) = args.client_id {
        let redirect_uri = args
            .redirect_uri
            .context("--client-id needs --redirect-uri (the loopback URI registered for it)")?;
        opts.client = Some(PreRegisteredClient {
            client_id: id,
            client_secret: args.client_secret,
            redirect_uri,
        });
    }
    opts.scope = args.scope;
    input::http_url(
        "--resource",
        &mcp_auth_conformance::authz::run::resolve_resource(
            &args.resource,
            "https://issuer.invalid",
        ),
    )?;
    opts.resource = args.resource;
    opts.prefer_dcr = args.registration == "dcr";
    if args.proxy && matches!(opts.target, AuthzTarget::Bundled(_)) {
        bail!("--proxy needs --issuer or --command (the bundled AS is judged as it is)");
    }
    if args.proxy && matches!(opts.target, AuthzTarget::Issuer(_)) && args.upstream_idp.is_none() {
        bail!(
            "--proxy with --issuer needs --upstream-idp (the suite's IdP is the proxy's upstream)"
        );
    }
    opts.wait_for_target = args
        .wait_for_target
        .map(|s| std::time::Duration::from_secs(s.max(1)));
    let run = args.run.settings(Role::Authz)?;
    if let Some(addr) = args.upstream_idp {
        if !addr.ip().is_loopback() {
            bail!("--upstream-idp {addr}: the suite's IdP binds loopback addresses only");
        }
        let settings =
            mcp_auth_conformance::authz::UpstreamIdpSettings::at(addr, run.tls.is_some());
        if args.print_idp_env {
            print!("{}", settings.shell_exports());
            return Ok(exit::OK);
        }
        // Before the run: what the AS must federate to (fixed, test-only values).
        print!("{}", settings.text());
        opts.upstream_idp = Some(addr);
    }
    opts.proxy = args.proxy;
    opts.selection = run.selection.clone();
    opts.tls = run.tls.clone();
    opts.baseline = run.baseline.clone();
    opts.strict = run.strict;
    opts.seed = run.seed;
    input::report_dir(&args.run.report_dir)?;
    if let (AuthzTarget::Issuer(issuer), Some(seconds)) = (&opts.target, args.wait_for_target) {
        say!(
            "Waiting up to {seconds} s for {} to answer (start the authorization server now; Ctrl-C stops).\n",
            terminal_line(issuer)
        );
    }
    let live = runner::Live::start();
    let line = terminal::Live::start("authz", live.progress.status().clone(), run.checks);
    run_or_interrupt(
        mcp_auth_conformance::authz::run::run_live(&opts, &live),
        |reason| mcp_auth_conformance::authz::run::interrupted(&opts, &live, reason),
        &args.run.report_dir,
        &run.terminal,
        line,
    )
    .await
}

async fn reference_client(defect: Option<ClientDefect>, url: &str) -> Result<i32> {
    let env = mcp_auth_targets::client::ClientEnv::from_vars(|n| std::env::var(n).ok())?;
    match mcp_auth_targets::client::run(url, &env, defect).await {
        Ok(()) => Ok(exit::OK),
        Err(e) => {
            eprintln!("reference-client: {e}");
            Ok(1)
        }
    }
}

async fn interop_cmd(cmd: InteropCommand) -> Result<i32> {
    use mcp_auth_conformance::interop;
    match cmd {
        InteropCommand::Compare { report, expected } => {
            let r = mcp_auth_reports::read_json(&report)?;
            let e = interop::load_expectation(&expected).map_err(anyhow::Error::msg)?;
            let c = interop::compare(&r, &e);
            for d in &c.differences {
                say!("{}: {}", e.target, terminal_line(&d.to_string()));
            }
            if c.ok() {
                say!(
                    "{}: {} check{} as expected",
                    e.target,
                    r.checks.len(),
                    if r.checks.len() == 1 { "" } else { "s" }
                );
                Ok(exit::OK)
            } else {
                Ok(exit::FAILURES)
            }
        }
        InteropCommand::Draft {
            report,
            target,
            product,
            configuration,
            out,
        } => {
            let r = mcp_auth_reports::read_json(&report)?;
            let d = interop::draft(&r, &target, &product, &configuration);
            std::fs::write(&out, d.to_toml())
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "wrote {} (review every reason before committing)",
                out.display()
            );
            Ok(exit::OK)
        }
        InteropCommand::PeerJudge {
            judge,
            expected,
            report_dir,
            jobs,
            only,
            deadline,
        } => match until_signal(peer_judge(
            judge, expected, report_dir, jobs, only, deadline,
        ))
        .await?
        {
            Ok(code) => code,
            Err((name, code)) => {
                eprintln!("peer-judge interrupted by {name}: targets and judge stopped");
                Ok(code)
            }
        },
        InteropCommand::Matrix {
            dirs,
            expected_dir,
            out,
            compare,
            peer_expected,
        } => {
            let mut paths: Vec<_> = std::fs::read_dir(&expected_dir)
                .with_context(|| format!("reading {}", expected_dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            paths.sort();
            let expectations = paths
                .iter()
                .map(|p| interop::load_expectation(p).map_err(anyhow::Error::msg))
                .collect::<Result<Vec<_>>>()?;
            let mut found = Vec::new();
            for dir in &dirs {
                let mut targets = Vec::new();
                for e in
                    std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?
                {
                    let path = e?.path();
                    if path.join("report.json").is_file() {
                        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                            targets.push(name.to_owned());
                        }
                    }
                }
                found.push((dir.clone(), targets));
            }
            let names: Vec<String> = expectations.iter().map(|e| e.target.clone()).collect();
            let located = match interop::locate(&names, &found) {
                Ok(located) => located,
                Err(problems) => {
                    for p in problems {
                        say!("{}", terminal_line(&p));
                    }
                    return Ok(exit::FAILURES);
                }
            };
            let peer = match peer_results(&dirs, &peer_expected)? {
                Ok(peer) => peer,
                Err(problem) => {
                    say!("{}", terminal_line(&problem));
                    return Ok(exit::FAILURES);
                }
            };
            let out_dir = std::path::absolute(out.parent().unwrap_or(std::path::Path::new(".")))?;
            let mut columns = Vec::new();
            let mut status = exit::OK;
            for e in expectations {
                let folder = located[&e.target].join(&e.target);
                let report = mcp_auth_reports::read_json(folder.join("report.json"))?;
                if compare {
                    let c = interop::compare(&report, &e);
                    for d in &c.differences {
                        say!("{}: {}", e.target, terminal_line(&d.to_string()));
                    }
                    if c.ok() {
                        say!("{}: {} checks as expected", e.target, report.checks.len());
                    } else {
                        status = exit::FAILURES;
                    }
                }
                columns.push(interop::Column {
                    link: interop::relative_link(&out_dir, &std::path::absolute(&folder)?),
                    target: e.target,
                    product: e.product,
                    configuration: e.configuration,
                    report,
                });
            }
            let mut text = interop::matrix(&columns);
            if let Some((results, expectation)) = &peer {
                use mcp_auth_conformance::peer;
                if compare {
                    let differences = peer::compare(results, expectation, true);
                    for d in &differences {
                        say!("{}: {}", peer::PEER_DIR, terminal_line(d));
                    }
                    if differences.is_empty() {
                        say!(
                            "{}: {} runs as expected",
                            peer::PEER_DIR,
                            results.runs.len()
                        );
                    } else {
                        status = exit::FAILURES;
                    }
                }
                text.push_str(&peer::markdown_section(results, expectation));
            }
            std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            say!(
                "wrote {} ({} targets{})",
                out.display(),
                columns.len(),
                if peer.is_some() {
                    ", peer agreement"
                } else {
                    ""
                }
            );
            Ok(status)
        }
        InteropCommand::Shard { shard, products } => {
            for p in shard.select(&products) {
                say!("{p}");
            }
            Ok(exit::OK)
        }
    }
}

/// The MCPJam peer results for the matrix: none when there is no peer expectation; else the one
/// `mcpjam-peer/peer.json` among `dirs` (missing or duplicated: the problem, one line).
#[allow(clippy::type_complexity)]
fn peer_results(
    dirs: &[PathBuf],
    expected: &std::path::Path,
) -> Result<
    Result<
        Option<(
            mcp_auth_conformance::peer::PeerResults,
            mcp_auth_conformance::peer::PeerExpectation,
        )>,
        String,
    >,
> {
    use mcp_auth_conformance::peer::{PeerExpectation, PEER_DIR, RESULTS_FILE};
    if !expected.exists() {
        return Ok(Ok(None));
    }
    let expectation = PeerExpectation::load(expected).map_err(anyhow::Error::msg)?;
    let found: Vec<PathBuf> = dirs
        .iter()
        .map(|d| d.join(PEER_DIR).join(RESULTS_FILE))
        .filter(|p| p.is_file())
        .collect();
    let listed = || {
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match found.as_slice() {
        [one] => {
            let text = std::fs::read_to_string(one)
                .with_context(|| format!("reading {}", one.display()))?;
            let results = serde_json::from_str(&text)
                .with_context(|| format!("invalid {}", one.display()))?;
            Ok(Ok(Some((results, expectation))))
        }
        [] => Ok(Err(format!(
            "{PEER_DIR}: missing (no {PEER_DIR}/{RESULTS_FILE} in {})",
            listed()
        ))),
        several => Ok(Err(format!(
            "{PEER_DIR}: duplicated (a {RESULTS_FILE} in {})",
            several
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// `interop peer-judge`: every run's line as it finishes (in finishing order), then the comparison and the summary.
async fn peer_judge(
    judge: String,
    expected: PathBuf,
    report_dir: PathBuf,
    jobs: usize,
    only: Option<glob::Pattern>,
    deadline: u64,
) -> Result<i32> {
    use mcp_auth_conformance::peer::{self, Outcome, PeerExpectation, PeerOptions, Subject};
    let expectation = PeerExpectation::load(&expected).map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&report_dir)
        .with_context(|| format!("creating {}", report_dir.display()))?;
    let subjects: Vec<Subject> = Subject::all()
        .into_iter()
        .filter(|s| only.as_ref().is_none_or(|p| p.matches(&s.key())))
        .collect();
    if subjects.is_empty() {
        eprintln!("--only matches no subject (e.g. `reference`, `server/*`, `authz/drop-state`)");
        return Ok(exit::USAGE_OR_HARNESS);
    }
    let opts = PeerOptions {
        judge,
        subjects,
        jobs,
        deadline: std::time::Duration::from_secs(deadline),
        step_timeout: std::time::Duration::from_secs(10),
    };
    let results = peer::run(&opts, |r| {
        let us = match r.caught_by_us.len() {
            0 => "-".to_owned(),
            1 => "1 check".to_owned(),
            n => format!("{n} checks"),
        };
        let them = match r.mcpjam.outcome {
            Outcome::Pass => "passes".to_owned(),
            Outcome::Fail => format!("fails at {}", r.mcpjam.failed.join(", ")),
            Outcome::Error => format!("ERROR {}", r.mcpjam.message),
        };
        out!(
            "{}",
            terminal_line(&format!("{:<52} us: {us:<10} MCPJam: {them}", r.subject))
        );
    })
    .await?;
    let path = report_dir.join(peer::RESULTS_FILE);
    std::fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    let differences = peer::compare(&results, &expectation, only.is_none());
    for d in &differences {
        out!("{}: {}", peer::PEER_DIR, terminal_line(d));
    }
    out!("{}", terminal_line(&peer::summary_line(&results)));
    out!("wrote {}", path.display());
    if differences.is_empty() {
        out!(
            "{}: {} runs as expected ({})",
            peer::PEER_DIR,
            results.runs.len(),
            expected.display()
        );
        Ok(exit::OK)
    } else {
        Ok(exit::FAILURES)
    }
}

/// `github`: annotations on stdout, the report's Markdown appended to the step summary.
fn github(report: &std::path::Path, summary: Option<&std::path::Path>) -> Result<i32> {
    use mcp_auth_conformance::github;
    let r = mcp_auth_reports::read_json(report)?;
    for line in github::annotations(&r) {
        out!("{line}");
    }
    if let Some(path) = summary.filter(|p| !p.as_os_str().is_empty()) {
        use std::io::Write as _;
        let md = github::step_summary(&r)?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(md.as_bytes()))
            .with_context(|| format!("appending the summary to {}", path.display()))?;
    }
    Ok(exit::OK)
}

/// GETs a URL and follows redirects on loopback only, like a browser the user clicked through.
async fn open_url(url: &str) -> Result<i32> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let loopback = attempt
            .url()
            .host_str()
            .is_some_and(mcp_auth_conformance::http::is_loopback_host);
        if attempt.previous().len() >= 10 || !loopback {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    let client = reqwest::Client::builder()
        .redirect(policy)
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let resp = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("opening {url}"))?;
    eprintln!("open-url: {} → {}", terminal_line(url), resp.status());
    Ok(exit::OK)
}

/// Writes the reports, prints the result (see [`terminal::render`]), and returns the exit code.
fn finish(report: &Report, dir: &std::path::Path, output: &terminal::Options) -> Result<i32> {
    let paths = mcp_auth_reports::render::write_all(report, dir)
        .with_context(|| format!("writing reports to {}", dir.display()))?;
    for line in terminal::render(report, Catalog::all(), output) {
        say!("{line}");
    }
    if output.quiet {
        say!("reports in {}", dir.display());
    } else {
        for p in paths {
            say!("wrote {}", p.display());
        }
    }
    Ok(runner::exit_code(report))
}

async fn self_test(args: SelfTestArgs) -> Result<i32> {
    let suite_exe = std::env::current_exe().context("locating the suite binary")?;
    let runs = selftest::run_role(args.role, suite_exe)
        .await
        .map_err(anyhow::Error::msg)?;
    let expected = Expected::for_role(args.role)?;
    if let Some(path) = args.bless {
        let blessed = selftest::bless(args.role, &runs, &expected);
        std::fs::write(&path, blessed.to_toml())
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!(
            "wrote {} (review every change before committing)",
            path.display()
        );
    }
    let result = selftest::evaluate(args.role, &runs, &expected);
    if args.json {
        say!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", selftest::matrix_text(&result));
        for f in &result.reference_failures {
            say!("reference failure: {f}");
        }
        for m in &result.mismatches {
            say!("mismatch: {m}");
        }
        for d in &result.inert_defects {
            say!("inert defect (changes no verdict): {d}");
        }
        let killed = result
            .checks
            .iter()
            .filter(|c| !c.killed_by.is_empty())
            .count();
        say!(
            "\n{} runs; {killed}/{} checks killed; {} unkilled; {} reference failures; {} mismatches",
            result.runs,
            result.checks.len(),
            result.unkilled.len(),
            result.reference_failures.len(),
            result.mismatches.len()
        );
    }
    Ok(if result.ok() {
        exit::OK
    } else {
        exit::FAILURES
    })
}

fn list(role: Option<Role>, json: bool, selection: &Selection) -> Result<i32> {
    let metas: Vec<_> = registry::metas(role)
        .into_iter()
        .filter(|m| selection.includes(m.id))
        .collect();
    if json {
        let catalog = Catalog::all();
        let rows: Vec<serde_json::Value> = metas
            .iter()
            .map(|m| {
                let row = catalog.row(m.row());
                serde_json::json!({
                    "id": m.id, "title": m.title, "role": m.role,
                    "level": catalog::check_level_at(m, selection.spec()),
                    "spec_refs": m.spec_refs, "summary": m.summary,
                    "row": m.row(),
                    "row_text": row.map(|r| r.text.as_str()),
                    "revisions": row.map(|r| r.revisions_line()),
                    "remediation": row.map(|r| r.remediation.as_str()),
                })
            })
            .collect();
        out!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for m in &metas {
            let level = catalog::check_level_at(m, selection.spec());
            out!("{:<30} {:<7} {:<6} {}", m.id, m.role, level, m.title);
        }
        let spec = selection.spec();
        match selection.extensions().names() {
            e if e.is_empty() => out!("\n{} checks at {spec}", metas.len()),
            e => out!("\n{} checks at {spec} with {}", metas.len(), e.join(", ")),
        }
    }
    Ok(exit::OK)
}

/// The spec references, one a line, each with its URL where one is known.
fn print_spec_links<'a>(refs: impl IntoIterator<Item = &'a str>) {
    let mut seen = Vec::new();
    for r in refs {
        if seen.contains(&r) {
            continue;
        }
        seen.push(r);
        match catalog::spec_url(r) {
            Some(url) => out!("  {r:<28} {url}"),
            None => out!("  {r}"),
        }
    }
}

/// The checks tracing to a row.
fn covering_checks(row: &str) -> Vec<&'static str> {
    registry::metas(None)
        .into_iter()
        .filter(|m| m.row() == row)
        .map(|m| m.id)
        .collect()
}

/// `explain ID`: a check id (`RS-AUD-01.missing`) or a catalog row id (`RS-AUD-01`), in any case.
fn explain(id: &str) -> Result<i32> {
    let catalog = Catalog::all();
    let check = registry::metas(None)
        .into_iter()
        .find(|m| m.id.eq_ignore_ascii_case(id));
    let Some(m) = check else {
        if let Some(r) = catalog.row_ignore_case(id) {
            explain_row(r);
            return Ok(exit::OK);
        }
        let stem = id.split('.').next().unwrap_or(id);
        let close: Vec<&str> = registry::metas(None)
            .iter()
            .map(|m| m.id)
            .filter(|x| {
                x.get(..stem.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(stem))
            })
            .collect();
        if close.is_empty() {
            bail!("no check or catalog row `{id}` (see `mcp-auth-conformance list`)");
        }
        bail!("no check `{id}`; did you mean one of: {}", close.join(", "));
    };
    out!("{} — {}", m.id, m.title);
    out!("role:     {}", m.role);
    out!("level:    {}", m.level);
    let row = catalog.row(m.row());
    match row {
        Some(r) => {
            out!("catalog:  {} ({}): {}", r.id, r.file(), r.text);
            if r.level() != Some(m.level) {
                out!(
                    "          the row is {}",
                    r.level_note.as_deref().unwrap_or(&r.level)
                );
            }
            out!("revisions: {}", r.revisions_line());
            out!("fix:      {}", r.remediation);
        }
        None => out!("catalog:  {} (no row in catalog/)", m.row()),
    }
    out!("spec:     {}", m.spec_refs.join("; "));
    print_spec_links(
        m.spec_refs.iter().copied().chain(
            row.iter()
                .flat_map(|r| r.spec_refs.iter().map(String::as_str)),
        ),
    );
    out!("checks:   {}", covering_checks(m.row()).join(", "));
    out!("\n{}", m.summary);
    Ok(exit::OK)
}

/// `explain ROW-ID`: the catalog row, where it comes from, how to fix it, and what covers it.
fn explain_row(r: &catalog::Requirement) {
    out!("{} — {}", r.id, r.text);
    out!("file:     {}", r.file());
    match &r.level_note {
        Some(note) => out!("level:    {} ({note})", r.level),
        None => out!("level:    {}", r.level),
    }
    out!("revisions: {}", r.revisions_line());
    out!("spec:     {}", r.spec_refs.join("; "));
    print_spec_links(r.spec_refs.iter().map(String::as_str));
    if let Some(test) = &r.test {
        out!("test:     {test}");
    }
    out!("fix:      {}", r.remediation);
    let checks = covering_checks(&r.id);
    if checks.is_empty() {
        out!(
            "checks:   none; not automated: {}",
            r.not_automated.as_deref().unwrap_or("(no reason recorded)")
        );
    } else {
        out!("checks:   {}", checks.join(", "));
    }
    let scenarios: Vec<&str> = catalog::Scenarios::all()
        .defending(&r.id)
        .into_iter()
        .map(|s| s.id.as_str())
        .collect();
    if !scenarios.is_empty() {
        out!(
            "attacks:  {} (catalog/adversarial.toml)",
            scenarios.join(", ")
        );
    }
}

async fn reference_server_from_env(defect: Option<ServerDefect>) -> Result<i32> {
    let (config, port) = mcp_auth_targets::config_from_env(
        |n| std::env::var(n).ok(),
        None,
        defect.map(|d| d.to_string()),
    )?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let server = mcp_auth_targets::TodoServer::start(config, listener).await?;
    eprintln!(
        "reference To-Do MCP server at {} (env contract)",
        server.url()
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(exit::OK)
}

async fn reference_server(
    port: u16,
    defect: Option<ServerDefect>,
    mode: ValidationMode,
    as_addr: SocketAddr,
) -> Result<i32> {
    let issuer = format!("http://{as_addr}");
    let mut config =
        mcp_auth_targets::TodoServerConfig::new(issuer.clone(), format!("{issuer}/jwks"));
    config.mode = mode;
    config.introspection = Some(mcp_auth_targets::IntrospectionClient {
        url: format!("{issuer}/introspect"),
        client_id: "todo-server".into(),
        client_secret: "todo-server-test-secret".into(),
    });
    config.defect = defect;
    config.upstream_url = Some(format!("http://{}/api", server::DEFAULT_UPSTREAM_ADDR));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let server = mcp_auth_targets::TodoServer::start(config, listener).await?;
    say!(
        "reference To-Do MCP server at {} ({mode} mode, trusting {issuer}); Ctrl-C stops it",
        server.url()
    );
    if let Some(d) = defect {
        say!("defect: {} — {}", d.name(), d.description());
    }
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(exit::OK)
}
