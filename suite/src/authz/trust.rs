//! The trust contract of the authz extensions (docs/guide/authz-extensions.md): for `--extension wif`,
//! `enterprise-managed` and `client-credentials` the suite plays the workload identity issuer, the enterprise
//! IdP and a `private_key_jwt` client. Their ids and their keys are fixed (test-only, the same on every run), and
//! the suite serves their public keys as JWKS on loopback at a fixed address, so a vendor configures the AS under
//! test once. The bundled reference AS is handed the same trust in-process.

use std::net::{Ipv4Addr, SocketAddr};

use fake_idp::assertion::{EcKey, Party};
use serde_json::json;

use crate::authz::cimd_host::{CimdHost, HostedDoc};
use crate::spec::{Extension, Extensions};

/// `iss` of the workload JWTs the suite signs (WIF).
pub const WORKLOAD_ISSUER: &str = fake_idp::assertion::SUITE_WORKLOAD_ISSUER;
/// `sub` of the workload JWTs.
pub const WORKLOAD_SUBJECT: &str = "spiffe://conformance.test/mcp-workload";
/// `iss` of the ID-JAGs the suite mints (the enterprise IdP).
pub const ENTERPRISE_IDP_ISSUER: &str = fake_idp::assertion::SUITE_ENTERPRISE_IDP;
/// `sub` of the ID-JAGs (the enterprise user).
pub const ENTERPRISE_USER: &str = "alice@conformance.test";
/// The `private_key_jwt` client the bundled reference AS knows (a real AS: `--assertion-client-id`).
pub const BUNDLED_ASSERTION_CLIENT: &str = fake_idp::assertion::SUITE_ASSERTION_CLIENT;
/// Where the suite serves the JWKS by default (`--trust-addr`, `MCP_CONFORMANCE_TRUST_ADDR`).
pub const DEFAULT_TRUST_ADDR: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 9402);
/// The JWKS paths on the trust address.
pub const WORKLOAD_JWKS_PATH: &str = "/workload/jwks";
pub const IDP_JWKS_PATH: &str = "/idp/jwks";
pub const CLIENT_JWKS_PATH: &str = "/client/jwks";
/// `kid` of each party's key in its JWKS and in the headers of what it signs.
pub const WORKLOAD_KID: &str = "conformance-workload-1";
pub const IDP_KID: &str = "conformance-idp-1";
pub const CLIENT_KID: &str = "conformance-client-1";

/// What the AS under test was configured to trust (a real `--issuer`; the bundled AS trusts everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionOptions {
    /// The client registered at the AS with `private_key_jwt` and the suite's client JWKS URI
    /// (`--assertion-client-id`): the client-credentials checks and the ID-JAG client.
    pub client_id: Option<String>,
    /// The AS trusts the suite's workload issuer (`--trusts-workload-issuer`).
    pub trusts_workload: bool,
    /// The AS trusts the suite's enterprise IdP (`--trusts-enterprise-idp`).
    pub trusts_idp: bool,
    /// Where the JWKS are served (`--trust-addr`).
    pub trust_addr: SocketAddr,
}

impl Default for AssertionOptions {
    fn default() -> Self {
        AssertionOptions {
            client_id: None,
            trusts_workload: false,
            trusts_idp: false,
            trust_addr: DEFAULT_TRUST_ADDR,
        }
    }
}

impl AssertionOptions {
    /// What the bundled reference AS trusts: everything.
    pub fn bundled() -> Self {
        AssertionOptions {
            client_id: Some(BUNDLED_ASSERTION_CLIENT.to_owned()),
            trusts_workload: true,
            trusts_idp: true,
            trust_addr: DEFAULT_TRUST_ADDR,
        }
    }

    /// `http://<trust addr><path>`.
    pub fn jwks_uri(&self, path: &str) -> String {
        format!("http://{}{path}", self.trust_addr)
    }

    /// The lines a vendor configures the AS under test with (also `--print-assertion-trust`).
    pub fn describe(&self) -> String {
        let client = self
            .client_id
            .as_deref()
            .unwrap_or("<the id you give as --assertion-client-id>");
        [
            "Configure the authorization server under test to trust the suite's parties (test-only ES256 keys,".to_owned(),
            "the same on every run), then tell the suite so with the flag of each:".to_owned(),
            format!("  workload identity issuer (wif)       iss {WORKLOAD_ISSUER}"),
            format!("                                       JWKS {} (kid {WORKLOAD_KID})", self.jwks_uri(WORKLOAD_JWKS_PATH)),
            "                                       flag --trusts-workload-issuer".to_owned(),
            format!("  enterprise IdP (enterprise-managed)  iss {ENTERPRISE_IDP_ISSUER}"),
            format!("                                       JWKS {} (kid {IDP_KID})", self.jwks_uri(IDP_JWKS_PATH)),
            "                                       flag --trusts-enterprise-idp".to_owned(),
            format!("  private_key_jwt client               client_id {client}"),
            "  (client-credentials)                 token_endpoint_auth_method private_key_jwt".to_owned(),
            format!("                                       jwks_uri {} (kid {CLIENT_KID})", self.jwks_uri(CLIENT_JWKS_PATH)),
            "                                       flag --assertion-client-id ID".to_owned(),
            "Workload JWTs and ID-JAGs carry aud = the AS issuer; ID-JAGs name client_id = the confidential client".to_owned(),
            "of the run (--client-id/--client-secret, or DCR; else the private_key_jwt client) and resource = the".to_owned(),
            "resource the suite asks tokens for.".to_owned(),
            format!("The suite serves the JWKS at {} during the run (--trust-addr).", self.trust_addr),
        ]
        .join("\n")
    }
}

/// Whether the selection opts in to one of the extensions with AS duties for assertions.
pub fn assertion_extensions(e: &Extensions) -> bool {
    [
        Extension::Wif,
        Extension::EnterpriseManaged,
        Extension::ClientCredentials,
    ]
    .into_iter()
    .any(|x| e.contains(x))
}

/// The keys the suite signs with.
#[derive(Debug, Clone)]
pub struct Parties {
    pub workload: EcKey,
    pub idp: EcKey,
    pub client: EcKey,
    /// A key no AS trusts (the untrusted-signer probes).
    pub untrusted: EcKey,
}

impl Parties {
    pub fn fixed() -> Self {
        Parties {
            workload: EcKey::fixed(Party::Workload),
            idp: EcKey::fixed(Party::EnterpriseIdp),
            client: EcKey::fixed(Party::Client),
            untrusted: EcKey::generate(),
        }
    }

    /// Serves the three JWKS at `addr` (a real AS fetches them from there).
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<CimdHost> {
        let host = CimdHost::start_at(addr, None).await?;
        for (path, key, kid) in [
            (WORKLOAD_JWKS_PATH, &self.workload, WORKLOAD_KID),
            (IDP_JWKS_PATH, &self.idp, IDP_KID),
            (CLIENT_JWKS_PATH, &self.client, CLIENT_KID),
        ] {
            host.put(
                path,
                HostedDoc::json(&json!({"keys": [key.public_jwk_with_kid(kid)]})),
            );
        }
        Ok(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trust_description_names_every_flag_and_jwks_uri() {
        let d = AssertionOptions::default().describe();
        for needle in [
            "--trusts-workload-issuer",
            "--trusts-enterprise-idp",
            "--assertion-client-id",
            "http://127.0.0.1:9402/workload/jwks",
            "http://127.0.0.1:9402/idp/jwks",
            "http://127.0.0.1:9402/client/jwks",
            WORKLOAD_ISSUER,
            ENTERPRISE_IDP_ISSUER,
        ] {
            assert!(d.contains(needle), "{needle} missing from:\n{d}");
        }
    }

    /// A run of the assertion checks against the reference AS started on its own (as a real `--issuer`), trusting
    /// the suite's parties, with these options.
    async fn issuer_run(assertion: AssertionOptions) -> Vec<mcp_auth_reports::CheckResult> {
        use crate::authz::login::{LoginMode, LoginScript};
        use crate::authz::{AuthzOptions, AuthzTarget};
        let target = fake_idp::AsTarget::start(fake_idp::AsTargetConfig {
            assertion_trust: fake_idp::AssertionTrust::suite_parties(BUNDLED_ASSERTION_CLIENT),
            ..fake_idp::AsTargetConfig::default()
        })
        .await
        .unwrap();
        let mut opts = AuthzOptions::bundled(None);
        opts.target = AuthzTarget::Issuer(target.issuer());
        opts.login = Some(LoginMode::Form(
            LoginScript::from_toml_str(crate::authz::run::REFERENCE_LOGIN).unwrap(),
        ));
        opts.selection = crate::runner::Selection::all().with_extensions(Extensions::all());
        opts.assertion = assertion;
        let report = crate::authz::run(&opts).await;
        target.shutdown().await;
        report
            .checks
            .into_iter()
            .filter(|c| {
                c.id.starts_with("AS-WIF")
                    || c.id.starts_with("AS-JAG")
                    || c.id.starts_with("AS-CC-0")
            })
            .collect()
    }

    fn ephemeral() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    }

    #[tokio::test]
    async fn a_real_issuer_configured_with_the_suites_trust_passes_every_assertion_check() {
        let checks = issuer_run(AssertionOptions {
            client_id: Some(BUNDLED_ASSERTION_CLIENT.to_owned()),
            trusts_workload: true,
            trusts_idp: true,
            trust_addr: ephemeral(),
        })
        .await;
        assert_eq!(checks.len(), 22);
        for c in checks {
            assert_eq!(
                c.verdict,
                mcp_auth_reports::Verdict::Pass,
                "{} {}",
                c.id,
                c.message
            );
        }
    }

    #[tokio::test]
    async fn a_real_issuer_without_the_trust_flags_skips_every_assertion_check_naming_the_flag() {
        let checks = issuer_run(AssertionOptions {
            trust_addr: ephemeral(),
            ..AssertionOptions::default()
        })
        .await;
        assert_eq!(checks.len(), 22);
        for c in checks {
            let flag = match &c.id[..5] {
                "AS-WI" => "--trusts-workload-issuer",
                "AS-JA" => "--trusts-enterprise-idp",
                _ => "--assertion-client-id",
            };
            assert_eq!(c.verdict, mcp_auth_reports::Verdict::Skip, "{}", c.id);
            assert!(c.message.contains(flag), "{}: {}", c.id, c.message);
        }
    }

    #[tokio::test]
    async fn no_assertion_the_suite_presents_appears_in_the_report() {
        let mut opts = crate::authz::AuthzOptions::bundled(None);
        opts.selection = crate::runner::Selection::all().with_extensions(Extensions::all());
        let report = crate::authz::run(&opts).await;
        let text = serde_json::to_string(&report).unwrap();
        let mut seen = 0;
        for (i, _) in text.match_indices("assertion=") {
            seen += 1;
            let value = &text[i + "assertion=".len()..];
            assert!(
                value.starts_with("[redacted"),
                "{}",
                &value[..value.len().min(40)]
            );
        }
        assert!(
            seen >= 22,
            "the report shows the assertion requests ({seen})"
        );
    }

    #[tokio::test]
    async fn the_trust_host_serves_each_partys_public_key_and_no_private_part() {
        let parties = Parties::fixed();
        let host = parties
            .serve(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .unwrap();
        let url = format!("{}{CLIENT_JWKS_PATH}", host.base_url());
        let body: serde_json::Value = reqwest::Client::new()
            .get(url)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["keys"][0],
            parties.client.public_jwk_with_kid(CLIENT_KID)
        );
        assert!(body["keys"][0].get("d").is_none());
    }
}
