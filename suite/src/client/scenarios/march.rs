//! The 2025-03-26 worlds (official `auth/2025-03-26-oauth-metadata-backcompat` and
//! `auth/2025-03-26-oauth-endpoint-fallback`): no protected resource metadata at all (a 401 without
//! `resource_metadata`, every PRM URL 404), and the authorization server on the MCP origin. They run only under
//! `--spec-version 2025-03-26`.

use fake_idp::client_world::{AsConfig, MetadataLocation, WorldConfig};

use super::{ScenarioDef, MARCH_FALLBACK, MARCH_METADATA};
use crate::spec::SpecVersion;

/// Where the metadata world keeps its endpoints, off the default paths (as the official world does), so a
/// client that fetches the metadata but then uses `/authorize` meets a 404.
pub const MARCH_ENDPOINT_PREFIX: &str = "/oauth";

/// No PRM anywhere; the one AS lives on the MCP origin with its metadata at `metadata_at` and its endpoints
/// under `prefix`.
fn march_world(prefix: &str, metadata_at: Vec<MetadataLocation>) -> WorldConfig {
    let mut w = WorldConfig::default();
    w.mcp.prm.locations = Vec::new();
    w.mcp.prm.header = None;
    w.auth_servers = vec![AsConfig {
        on_mcp_origin: true,
        endpoint_prefix: prefix.to_owned(),
        metadata_at,
        ..AsConfig::default()
    }];
    w
}

/// The two 2025-03-26 worlds, in report order.
pub fn worlds() -> Vec<ScenarioDef> {
    vec![
        ScenarioDef {
            name: MARCH_METADATA,
            official: MARCH_METADATA,
            covers: &[MARCH_METADATA],
            summary: "2025-03-26: no PRM (a bare Bearer 401, every PRM URL 404); RFC 8414 metadata at the MCP origin's root (issuer = the origin) naming endpoints under /oauth; DCR; the first access token dies after one request (a refresh)",
            since: SpecVersion::V2025_03_26,
            until: Some(SpecVersion::V2025_06_18),
            world: || {
                let mut w = march_world(MARCH_ENDPOINT_PREFIX, vec![MetadataLocation::Rfc8414Root]);
                // The only refresh a 2025-03-26 run sees (CL-SCP-07): the first token dies after one request.
                w.mcp.expire_token_after = Some(1);
                w
            },
            ..ScenarioDef::USUAL
        },
        ScenarioDef {
            name: MARCH_FALLBACK,
            official: MARCH_FALLBACK,
            covers: &[MARCH_FALLBACK],
            summary: "2025-03-26: no PRM and no AS metadata at all (every metadata URL 404); the AS answers only at /authorize, /token and /register on the MCP origin; DCR",
            since: SpecVersion::V2025_03_26,
            until: Some(SpecVersion::V2025_06_18),
            world: || march_world("", Vec::new()),
            ..ScenarioDef::USUAL
        },
    ]
}
