//! The certificate worlds (`--tls-profile strict` only): one origin presents a certificate the client must refuse,
//! everything else is the baseline world over https. The client is handed the official `auth/metadata-default`
//! (its everything-client runs its normal flow) and the world's own name in `MCP_CONFORMANCE_SUITE_SCENARIO`.
//! A world whose config names a `bad_certificate` runs only under strict ([`super::ScenarioDef::applies`]).

use fake_idp::client_world::{BadCertificate, Origin, WorldConfig};

use super::ScenarioDef;

/// The MCP origin (MCP endpoint and PRM) presents a certificate of the trusted test CA for another host name.
pub const TLS_WRONG_HOST_MCP: &str = "auth/tls-wrong-host-mcp";
/// The MCP origin presents a certificate with the right names from a CA the client was never given.
pub const TLS_UNTRUSTED_MCP: &str = "auth/tls-untrusted-mcp";
/// The authorization server presents a certificate from a CA the client was never given.
pub const TLS_UNTRUSTED_AS: &str = "auth/tls-untrusted-as";

fn bad(origin: Origin, cert: BadCertificate) -> WorldConfig {
    WorldConfig {
        bad_certificate: Some((origin, cert)),
        ..WorldConfig::default()
    }
}

fn def(name: &'static str, summary: &'static str, world: fn() -> WorldConfig) -> ScenarioDef {
    ScenarioDef {
        name,
        official: "auth/metadata-default",
        covers: &[],
        summary,
        world,
        ..ScenarioDef::USUAL
    }
}

/// The certificate worlds, in report order.
pub fn worlds() -> Vec<ScenarioDef> {
    vec![
        def(
            TLS_WRONG_HOST_MCP,
            "Strict TLS only: the MCP origin (MCP endpoint and PRM) presents a certificate of the trusted test CA issued for wrong-host.invalid only; everything else is the baseline world",
            || bad(Origin::Mcp, BadCertificate::WrongHost),
        ),
        def(
            TLS_UNTRUSTED_MCP,
            "Strict TLS only: the MCP origin presents a certificate with the right names from a CA the client was never given",
            || bad(Origin::Mcp, BadCertificate::Untrusted),
        ),
        def(
            TLS_UNTRUSTED_AS,
            "Strict TLS only: the MCP origin is honest; the authorization server presents a certificate from a CA the client was never given",
            || bad(Origin::As(0), BadCertificate::Untrusted),
        ),
    ]
}
