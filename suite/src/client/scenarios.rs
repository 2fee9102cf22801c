//! Client-role scenarios: each is a world (docs/client-role.md §3) plus the context handed to the client.
//! Official scenario names are kept where the official suite tests the same thing.

use fake_idp::client_world::{
    AsConfig, IssMode, McpConfig, MetadataLocation, PrmConfig, PrmLocation, StateMode, WorldConfig,
};
use serde_json::json;

/// Path of the custom PRM location (`auth/metadata-var3`, as in the official suite).
pub const CUSTOM_PRM_PATH: &str = "/custom/metadata/location.json";
/// The attacker resource and issuer used by mismatch scenarios.
pub const EVIL: &str = "https://evil.example";
/// Pre-registered credentials handed through the context.
pub const PRE_CLIENT_ID: &str = "conformance-preregistered-client";
pub const PRE_CLIENT_SECRET: &str = "conformance-preregistered-secret";

/// What a scenario needs from the world besides its config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// DCR (or whatever the client picks).
    Any,
    /// The context carries `client_metadata_url`; the client's CIMD document is hosted.
    Cimd,
    /// The context carries pre-registered credentials for this auth method.
    Pre(&'static str),
}

/// One scenario.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioDef {
    pub name: &'static str,
    pub summary: &'static str,
    pub registration: Registration,
    pub world: fn() -> WorldConfig,
}

fn world() -> WorldConfig {
    WorldConfig::default()
}

fn as0(w: &mut WorldConfig) -> &mut AsConfig {
    &mut w.auth_servers[0]
}

fn mcp(w: &mut WorldConfig) -> &mut McpConfig {
    &mut w.mcp
}

fn prm(w: &mut WorldConfig) -> &mut PrmConfig {
    &mut w.mcp.prm
}

/// Every client scenario, in report order.
pub fn all() -> Vec<ScenarioDef> {
    vec![
        ScenarioDef {
            name: "auth/metadata-default",
            summary: "PRM named in the 401 header, root PRM trapped, AS on its own origin (RFC 8414 at the root), DCR, decoy AS metadata on the MCP origin",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).decoy_as_metadata = true;
                w
            },
        },
        ScenarioDef {
            name: "auth/challenge-variants",
            summary: "Two WWW-Authenticate lines (DPoP, then a lowercase `bearer` with realm first and extra params); PRM only at the custom URL the header names",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                let custom = PrmLocation::Custom(CUSTOM_PRM_PATH.into());
                prm(&mut w).locations = vec![custom.clone()];
                prm(&mut w).header = Some(custom);
                mcp(&mut w).challenge_scope = Some("todo:read".into());
                mcp(&mut w).challenge_lines = vec![
                    "DPoP algs=\"ES256\"".into(),
                    "bearer realm=\"mcp\", error_description=\"sign in first\", scope=\"{scope}\", resource_metadata=\"{prm_url}\"".into(),
                ];
                w
            },
        },
        ScenarioDef {
            name: "auth/metadata-var1",
            summary: "No resource_metadata; PRM at the path-inserted URL only; the AS serves only OpenID configuration at the root",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                prm(&mut w).header = None;
                prm(&mut w).locations = vec![PrmLocation::PathInserted];
                as0(&mut w).metadata_at = vec![MetadataLocation::OidcRoot];
                w
            },
        },
        ScenarioDef {
            name: "auth/metadata-var2",
            summary: "No resource_metadata; PRM at the root only; issuer /tenant1 with RFC 8414 path insertion only",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                prm(&mut w).header = None;
                prm(&mut w).locations = vec![PrmLocation::Root];
                as0(&mut w).issuer_path = "/tenant1".into();
                as0(&mut w).metadata_at = vec![MetadataLocation::Rfc8414PathInserted];
                w
            },
        },
        ScenarioDef {
            name: "auth/metadata-var3",
            summary: "PRM only at a custom URL named in the header; issuer /tenant1 with OpenID path appending only",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                let custom = PrmLocation::Custom(CUSTOM_PRM_PATH.into());
                prm(&mut w).locations = vec![custom.clone()];
                prm(&mut w).header = Some(custom);
                as0(&mut w).issuer_path = "/tenant1".into();
                as0(&mut w).metadata_at = vec![MetadataLocation::OidcPathAppended];
                w
            },
        },
        ScenarioDef {
            name: "auth/metadata-oidc-path-inserted",
            summary: "Issuer /tenant1 with OpenID path insertion only",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).issuer_path = "/tenant1".into();
                as0(&mut w).metadata_at = vec![MetadataLocation::OidcPathInserted];
                w
            },
        },
        ScenarioDef {
            name: "auth/basic-cimd",
            summary: "The AS supports CIMD and DCR; the context names the client's metadata URL",
            registration: Registration::Cimd,
            world: || {
                let mut w = world();
                as0(&mut w).cimd_supported = true;
                w
            },
        },
        ScenarioDef {
            name: "auth/pre-registration",
            summary: "No DCR, no CIMD; pre-registered credentials in the context; the AS expects client_secret_basic",
            registration: Registration::Pre("client_secret_basic"),
            world: || {
                let mut w = world();
                as0(&mut w).registration = false;
                as0(&mut w).token_endpoint_auth_methods = vec!["client_secret_basic".into()];
                w
            },
        },
        ScenarioDef {
            name: "auth/token-endpoint-auth-post",
            summary: "Pre-registered credentials; the AS expects client_secret_post",
            registration: Registration::Pre("client_secret_post"),
            world: || {
                let mut w = world();
                as0(&mut w).registration = false;
                as0(&mut w).token_endpoint_auth_methods = vec!["client_secret_post".into()];
                w
            },
        },
        ScenarioDef {
            name: "auth/scope-from-www-authenticate",
            summary: "The 401 challenge carries scope=\"todo:read\"",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).challenge_scope = Some("todo:read".into());
                w
            },
        },
        ScenarioDef {
            name: "auth/scope-from-scopes-supported",
            summary: "No challenge scope; PRM scopes_supported lists todo:read and todo:write",
            registration: Registration::Any,
            world,
        },
        ScenarioDef {
            name: "auth/scope-omitted-when-undefined",
            summary: "Neither a challenge scope nor scopes_supported",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                prm(&mut w).scopes_supported = None;
                w
            },
        },
        ScenarioDef {
            name: "auth/scope-challenge-authoritative",
            summary: "The challenge asks for x:special, which scopes_supported does not list",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).challenge_scope = Some("todo:read x:special".into());
                w
            },
        },
        ScenarioDef {
            name: "auth/scope-step-up",
            summary: "The 401 asks for todo:read; tools/call needs todo:write and answers 403 insufficient_scope",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).challenge_scope = Some("todo:read".into());
                mcp(&mut w).tools_call_scope = Some("todo:write".into());
                mcp(&mut w).step_up_scope = Some("todo:read todo:write".into());
                w
            },
        },
        ScenarioDef {
            name: "auth/scope-retry-limit",
            summary: "tools/call answers 403 insufficient_scope to every token",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).challenge_scope = Some("todo:read".into());
                mcp(&mut w).always_forbid_tools_call = true;
                mcp(&mut w).step_up_scope = Some("todo:read todo:write".into());
                w
            },
        },
        ScenarioDef {
            name: "auth/pkce-methods-missing",
            summary: "RFC 8414 metadata without code_challenge_methods_supported",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).metadata_patch = json!({"code_challenge_methods_supported": null});
                w
            },
        },
        ScenarioDef {
            name: "auth/pkce-methods-missing-oidc",
            summary: "OpenID configuration (only) without code_challenge_methods_supported",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).metadata_at = vec![MetadataLocation::OidcRoot];
                as0(&mut w).metadata_patch = json!({"code_challenge_methods_supported": null});
                w
            },
        },
        ScenarioDef {
            name: "auth/pkce-plain-only",
            summary: "code_challenge_methods_supported lists only plain",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).metadata_patch = json!({"code_challenge_methods_supported": ["plain"]});
                w
            },
        },
        ScenarioDef {
            name: "auth/pkce-no-downgrade",
            summary: "The first authorization request is answered with error=invalid_request",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).reject_first_authorizations = 1;
                w
            },
        },
        ScenarioDef {
            name: "auth/resource-mismatch",
            summary: "PRM resource is https://evil.example/mcp",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                prm(&mut w).resource_override = Some(format!("{EVIL}/mcp"));
                w
            },
        },
        ScenarioDef {
            name: "auth/metadata-issuer-mismatch",
            summary: "AS metadata claims issuer https://evil.example",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).metadata_patch = json!({"issuer": EVIL});
                w
            },
        },
        ScenarioDef {
            name: "auth/iss-wrong-issuer",
            summary: "The authorization response carries iss=https://evil.example (iss support advertised)",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).iss = IssMode::Wrong(EVIL.into());
                w
            },
        },
        ScenarioDef {
            name: "auth/iss-supported-missing",
            summary: "iss support advertised but the authorization response omits iss",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).iss = IssMode::Omit;
                w
            },
        },
        ScenarioDef {
            name: "auth/state-tampered",
            summary: "The authorization response carries a state the client did not send",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).state = StateMode::Altered;
                w
            },
        },
        ScenarioDef {
            name: "auth/token-refresh",
            summary: "Every access token dies after one request, so the client refreshes three times; refresh tokens rotate and a replayed one is refused",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).expire_token_after = Some(1);
                as0(&mut w).access_token_lifetime = 60;
                w
            },
        },
        ScenarioDef {
            name: "auth/authorization-server-migration",
            summary: "After two authorized requests the PRM lists a second AS and the first AS's tokens are refused",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                // Both ASes register dynamically (a client must register anew at AS2, CL-MIG-01) and issue a
                // secret to a client that asks for client_secret_basic, so a secret crossing over is visible; a
                // client asking for `none` (or an unsupported method) stays public. Each AS knows only its own
                // clients: AS2 refuses AS1's client_id (400 invalid_client at /authorize, 401 at /token).
                let as_config = AsConfig {
                    registration: true,
                    token_endpoint_auth_methods: vec!["none".into(), "client_secret_basic".into()],
                    ..AsConfig::default()
                };
                w.auth_servers = vec![as_config.clone(), as_config];
                // initialize and notifications/initialized succeed with AS1's token; tools/list meets the new AS.
                mcp(&mut w).migrate_after_requests = Some(2);
                mcp(&mut w).migrate_to = Some(1);
                w
            },
        },
        ScenarioDef {
            name: "auth/unknown-members",
            summary: "Unknown members in PRM, AS metadata, challenge and token responses; a 4 KiB access token",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).unknown_members = true;
                as0(&mut w).unknown_members = true;
                as0(&mut w).access_token_bytes = 4096;
                w
            },
        },
    ]
}

/// The context JSON handed to the client (`MCP_CONFORMANCE_CONTEXT`).
pub fn context(def: &ScenarioDef, client_metadata_url: &str) -> serde_json::Value {
    match def.registration {
        Registration::Any => json!({"name": def.name}),
        Registration::Cimd => json!({"name": def.name, "client_metadata_url": client_metadata_url}),
        Registration::Pre(_) => json!({
            "name": def.name,
            "client_id": PRE_CLIENT_ID,
            "client_secret": PRE_CLIENT_SECRET,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_are_unique_and_prefixed() {
        let mut names: Vec<&str> = all().iter().map(|s| s.name).collect();
        assert!(names.iter().all(|n| n.starts_with("auth/")));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn every_world_builds() {
        for s in all() {
            let w = (s.world)();
            assert!(!w.auth_servers.is_empty(), "{}", s.name);
        }
    }
}
