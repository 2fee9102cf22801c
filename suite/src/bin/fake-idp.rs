//! `fake-idp`: the suite's fake world (IdP, authorization server, CIMD host) or the reference authorization server,
//! run on its own. A binary of the suite's package so that `cargo install --path suite` installs it beside
//! `mcp-auth-conformance`; the command itself lives in the fake-idp crate ([`fake_idp::cli`]).

fn main() -> std::process::ExitCode {
    fake_idp::cli::main()
}
