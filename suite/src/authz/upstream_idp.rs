//! `authz --issuer URL --upstream-idp [ADDR]`: what a vendor configures their AS with so that it federates its
//! login to the suite's upstream IdP (issue 15). Every value is fixed and test-only; the client secret is
//! registered as a secret of the run, so reports never show it (this text goes to stdout, for the operator).

use std::net::SocketAddr;

use fake_idp::idp::{issuer_for, IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_HOST};

/// The upstream IdP's settings for an AS under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdpSettings {
    /// Where the IdP listens.
    pub addr: SocketAddr,
    /// `http(s)://accounts.idp.conformance.test:<port>`.
    pub issuer: String,
}

impl UpstreamIdpSettings {
    /// The settings of the IdP served at `addr` (https under `--tls-profile strict`).
    pub fn at(addr: SocketAddr, https: bool) -> Self {
        UpstreamIdpSettings {
            addr,
            issuer: issuer_for(addr.port(), https),
        }
    }

    /// The block printed before the run.
    pub fn text(&self) -> String {
        let issuer = &self.issuer;
        format!(
            "Upstream IdP (OpenID Connect) for your AS to federate its login to, served during the run:\n\
             \x20 issuer         {issuer}\n\
             \x20 discovery      {issuer}/.well-known/openid-configuration\n\
             \x20 client_id      {IDP_CLIENT_ID}\n\
             \x20 client_secret  {IDP_CLIENT_SECRET}   (client_secret_basic or client_secret_post)\n\
             \x20 redirect URI   any (register your AS's callback as it is)\n\
             \x20 resolve        {IDP_HOST} -> {ip} (port {port})\n\
             \x20 users          alice / alice-password (alice@conformance.test), bob / bob-password (bob@conformance.test)\n\
             The same values as shell exports: --print-idp-env.\n",
            ip = self.addr.ip(),
            port = self.addr.port(),
        )
    }

    /// `export MCP_CONFORMANCE_IDP_…=` lines.
    pub fn shell_exports(&self) -> String {
        format!(
            "export MCP_CONFORMANCE_IDP_ISSUER='{}'\n\
             export MCP_CONFORMANCE_IDP_CLIENT_ID='{IDP_CLIENT_ID}'\n\
             export MCP_CONFORMANCE_IDP_CLIENT_SECRET='{IDP_CLIENT_SECRET}'\n\
             export MCP_CONFORMANCE_IDP_ADDR='{}'\n",
            self.issuer, self.addr,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_address_gives_the_documented_issuer() {
        let addr: SocketAddr = fake_idp::idp::DEFAULT_UPSTREAM_IDP_ADDR.parse().unwrap();
        let s = UpstreamIdpSettings::at(addr, false);
        assert_eq!(s.issuer, "http://accounts.idp.conformance.test:8543");
        assert!(s
            .text()
            .contains("client_id      conformance-as.apps.idp.conformance.test"));
    }

    #[test]
    fn the_strict_tls_profile_makes_the_issuer_https() {
        let s = UpstreamIdpSettings::at("127.0.0.1:9000".parse().unwrap(), true);
        assert_eq!(s.issuer, "https://accounts.idp.conformance.test:9000");
    }

    #[test]
    fn the_shell_exports_carry_issuer_client_and_address() {
        let s = UpstreamIdpSettings::at("127.0.0.1:8543".parse().unwrap(), false);
        let exports = s.shell_exports();
        assert!(exports.contains(
            "export MCP_CONFORMANCE_IDP_ISSUER='http://accounts.idp.conformance.test:8543'\n"
        ));
        assert!(exports.contains(&format!(
            "export MCP_CONFORMANCE_IDP_CLIENT_SECRET='{IDP_CLIENT_SECRET}'\n"
        )));
        assert!(exports.contains("export MCP_CONFORMANCE_IDP_ADDR='127.0.0.1:8543'\n"));
    }
}
