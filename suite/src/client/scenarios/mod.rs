//! Client-role scenarios: each is a world (docs/client-role.md §3) plus the context handed to the client.
//!
//! `MCP_CONFORMANCE_SCENARIO` is always a scenario name of the official MCP conformance suite: SDKs'
//! everything-clients dispatch on it, and an unknown name makes them exit before their first request. A world
//! that shares an official name is that official world (same registration method, same context) plus our traps;
//! a world of our own passes the official name whose client behaviour it needs and its own name in
//! `MCP_CONFORMANCE_SUITE_SCENARIO`. Several worlds carry more than one stimulus (a discovery variant before a
//! refusal, for instance), so one client launch feeds several checks: launches dominate a run's wall time.

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

// World names: the keys of observations and evidence ids (`<world>#<seq>`), and what `--scenario` matches.
pub const METADATA_DEFAULT: &str = "auth/metadata-default";
pub const BASIC_CIMD: &str = "auth/basic-cimd";
pub const PRE_REGISTRATION: &str = "auth/pre-registration";
pub const TOKEN_ENDPOINT_AUTH_POST: &str = "auth/token-endpoint-auth-post";
pub const SCOPE_STEP_UP: &str = "auth/scope-step-up";
pub const SCOPE_RETRY_LIMIT: &str = "auth/scope-retry-limit";
pub const TOKEN_REFRESH: &str = "auth/token-refresh";
pub const MIGRATION: &str = "auth/authorization-server-migration";
pub const PKCE_METHODS_MISSING: &str = "auth/pkce-methods-missing";
pub const PKCE_METHODS_MISSING_OIDC: &str = "auth/pkce-methods-missing-oidc";
pub const PKCE_PLAIN_ONLY: &str = "auth/pkce-plain-only";
pub const RESOURCE_MISMATCH: &str = "auth/resource-mismatch";
pub const METADATA_ISSUER_MISMATCH: &str = "auth/metadata-issuer-mismatch";
pub const ISS_WRONG_ISSUER: &str = "auth/iss-wrong-issuer";
pub const ISS_SUPPORTED_MISSING: &str = "auth/iss-supported-missing";
pub const STATE_TAMPERED: &str = "auth/state-tampered";

/// What a scenario needs from the world besides its config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// DCR (or whatever the client picks).
    Any,
    /// The context carries `client_metadata_url`; the client's CIMD document is hosted.
    Cimd,
    /// The context carries pre-registered credentials for this auth method. The client was never told a
    /// redirect URI, so the AS accepts any loopback one (RFC 8252 §7.3).
    Pre(&'static str),
}

/// One world, and how it is presented to the client.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioDef {
    /// The world's own name: the key of its observations and of its evidence ids.
    pub name: &'static str,
    /// The official scenario name handed over as `MCP_CONFORMANCE_SCENARIO` (and the context's `name`).
    pub official: &'static str,
    /// Official scenarios whose behaviour this world also exercises (for `--scenario` and the docs).
    pub covers: &'static [&'static str],
    pub summary: &'static str,
    pub registration: Registration,
    pub world: fn() -> WorldConfig,
}

impl ScenarioDef {
    /// Whether `--scenario GLOB` selects this world: by its own name or by an official scenario it covers.
    pub fn selected_by(&self, selection: &crate::runner::Selection) -> bool {
        selection.includes(self.name) || self.covers.iter().any(|c| selection.includes(c))
    }
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

/// `auth/metadata-var1`'s discovery: no `resource_metadata`, PRM path-inserted only (the root is a trap), the
/// AS (issuer at the root) serves only an OpenID configuration at the root.
fn var1_discovery(w: &mut WorldConfig) {
    prm(w).header = None;
    prm(w).locations = vec![PrmLocation::PathInserted];
    as0(w).metadata_at = vec![MetadataLocation::OidcRoot];
}

/// `auth/metadata-var2`'s discovery: no `resource_metadata`, PRM at the root only, issuer `/tenant1` with RFC 8414
/// path insertion only (the root metadata URL is a trap).
fn var2_discovery(w: &mut WorldConfig) {
    prm(w).header = None;
    prm(w).locations = vec![PrmLocation::Root];
    as0(w).issuer_path = "/tenant1".into();
    as0(w).metadata_at = vec![MetadataLocation::Rfc8414PathInserted];
}

/// `auth/metadata-var3`'s discovery: PRM only at a custom URL the header names, issuer `/tenant1` with OpenID
/// path appending only.
fn var3_discovery(w: &mut WorldConfig) {
    let custom = PrmLocation::Custom(CUSTOM_PRM_PATH.into());
    prm(w).locations = vec![custom.clone()];
    prm(w).header = Some(custom);
    as0(w).issuer_path = "/tenant1".into();
    as0(w).metadata_at = vec![MetadataLocation::OidcPathAppended];
}

/// Every client world, in report order.
pub fn all() -> Vec<ScenarioDef> {
    vec![
        ScenarioDef {
            name: METADATA_DEFAULT,
            official: "auth/metadata-default",
            covers: &["auth/metadata-default", "auth/basic-dcr", "auth/scope-from-scopes-supported"],
            summary: "PRM named in the 401 header, root PRM trapped, AS on its own origin (RFC 8414 at the root), DCR, decoy AS metadata on the MCP origin; no challenge scope, PRM scopes_supported todo:read todo:write",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).decoy_as_metadata = true;
                w
            },
        },
        ScenarioDef {
            name: BASIC_CIMD,
            official: "auth/basic-cimd",
            covers: &["auth/basic-cimd"],
            summary: "The AS supports CIMD and DCR; the context names the client's metadata URL; the first authorization request is answered error=invalid_request (PKCE downgrade probe)",
            registration: Registration::Cimd,
            world: || {
                let mut w = world();
                as0(&mut w).cimd_supported = true;
                as0(&mut w).reject_first_authorizations = 1;
                w
            },
        },
        ScenarioDef {
            name: PRE_REGISTRATION,
            official: "auth/pre-registration",
            covers: &["auth/pre-registration"],
            summary: "No DCR, no CIMD; pre-registered credentials in the context; the AS expects client_secret_basic and accepts any loopback redirect URI",
            registration: Registration::Pre("client_secret_basic"),
            world: || {
                let mut w = world();
                as0(&mut w).registration = false;
                as0(&mut w).token_endpoint_auth_methods = vec!["client_secret_basic".into()];
                w
            },
        },
        ScenarioDef {
            name: TOKEN_ENDPOINT_AUTH_POST,
            official: "auth/token-endpoint-auth-post",
            covers: &["auth/token-endpoint-auth-post"],
            summary: "DCR; the AS supports only client_secret_post, so registration issues a secret the client must send in the form",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).token_endpoint_auth_methods = vec!["client_secret_post".into()];
                w
            },
        },
        ScenarioDef {
            name: SCOPE_STEP_UP,
            official: "auth/scope-step-up",
            covers: &["auth/scope-step-up", "auth/scope-from-www-authenticate"],
            summary: "The 401 asks for todo:read x:special (x:special not in scopes_supported); every MCP operation needs todo:write and answers 403 insufficient_scope without it",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).challenge_scope = Some("todo:read x:special".into());
                mcp(&mut w).operation_scope = Some("todo:write".into());
                mcp(&mut w).step_up_scope = Some("todo:read todo:write".into());
                w
            },
        },
        ScenarioDef {
            name: SCOPE_RETRY_LIMIT,
            official: "auth/scope-retry-limit",
            covers: &["auth/scope-retry-limit"],
            summary: "Every MCP operation answers 403 insufficient_scope to every token",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).challenge_scope = Some("todo:read".into());
                mcp(&mut w).always_forbid_operations = true;
                mcp(&mut w).step_up_scope = Some("todo:read todo:write".into());
                w
            },
        },
        ScenarioDef {
            name: TOKEN_REFRESH,
            official: "auth/metadata-default",
            covers: &[],
            summary: "Every access token dies after one request (refresh tokens rotate; a replayed one is refused); two WWW-Authenticate lines (DPoP, then a lowercase `bearer` with realm first and extra params) name a custom PRM URL (PRM also at the path-inserted URL); unknown members everywhere and a 4 KiB access token",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                mcp(&mut w).expire_token_after = Some(1);
                as0(&mut w).access_token_lifetime = 60;
                let custom = PrmLocation::Custom(CUSTOM_PRM_PATH.into());
                prm(&mut w).locations = vec![custom.clone(), PrmLocation::PathInserted];
                prm(&mut w).header = Some(custom);
                mcp(&mut w).challenge_scope = Some("todo:read".into());
                mcp(&mut w).challenge_lines = vec![
                    "DPoP algs=\"ES256\"".into(),
                    "bearer realm=\"mcp\", error_description=\"sign in first\", scope=\"{scope}\", resource_metadata=\"{prm_url}\"".into(),
                ];
                mcp(&mut w).unknown_members = true;
                as0(&mut w).unknown_members = true;
                as0(&mut w).access_token_bytes = 4096;
                w
            },
        },
        ScenarioDef {
            name: MIGRATION,
            official: "auth/authorization-server-migration",
            covers: &["auth/authorization-server-migration"],
            summary: "Two ASes, both with DCR (none or client_secret_basic), each knowing only its own clients; after two authorized requests the PRM lists the second AS and the first AS's tokens get 401 with the PRM URL",
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
            name: PKCE_METHODS_MISSING,
            official: "auth/metadata-default",
            covers: &["auth/metadata-var2"],
            summary: "auth/metadata-var2's discovery (no resource_metadata, root PRM only, issuer /tenant1 with RFC 8414 path insertion only); the metadata lacks code_challenge_methods_supported",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                var2_discovery(&mut w);
                as0(&mut w).metadata_patch = json!({"code_challenge_methods_supported": null});
                w
            },
        },
        ScenarioDef {
            name: PKCE_METHODS_MISSING_OIDC,
            official: "auth/metadata-default",
            covers: &["auth/metadata-var1"],
            summary: "auth/metadata-var1's discovery (no resource_metadata, path-inserted PRM only, OpenID configuration only at the root); the OpenID configuration lacks code_challenge_methods_supported",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                var1_discovery(&mut w);
                as0(&mut w).metadata_patch = json!({"code_challenge_methods_supported": null});
                w
            },
        },
        ScenarioDef {
            name: PKCE_PLAIN_ONLY,
            official: "auth/metadata-default",
            covers: &["auth/metadata-var3"],
            summary: "auth/metadata-var3's discovery (PRM only at a custom URL the header names, issuer /tenant1 with OpenID path appending only); code_challenge_methods_supported lists only plain",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                var3_discovery(&mut w);
                as0(&mut w).metadata_patch = json!({"code_challenge_methods_supported": ["plain"]});
                w
            },
        },
        ScenarioDef {
            name: RESOURCE_MISMATCH,
            official: "auth/resource-mismatch",
            covers: &["auth/resource-mismatch"],
            summary: "PRM resource is https://evil.example/mcp",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                prm(&mut w).resource_override = Some(format!("{EVIL}/mcp"));
                w
            },
        },
        ScenarioDef {
            name: METADATA_ISSUER_MISMATCH,
            official: "auth/metadata-issuer-mismatch",
            covers: &["auth/metadata-issuer-mismatch"],
            summary: "AS metadata claims issuer https://evil.example",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).metadata_patch = json!({"issuer": EVIL});
                w
            },
        },
        ScenarioDef {
            name: ISS_WRONG_ISSUER,
            official: "auth/iss-wrong-issuer",
            covers: &["auth/iss-wrong-issuer"],
            summary: "The authorization response carries iss=https://evil.example (iss support advertised)",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).iss = IssMode::Wrong(EVIL.into());
                w
            },
        },
        ScenarioDef {
            name: ISS_SUPPORTED_MISSING,
            official: "auth/iss-supported-missing",
            covers: &["auth/iss-supported-missing"],
            summary: "iss support advertised but the authorization response omits iss",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).iss = IssMode::Omit;
                w
            },
        },
        ScenarioDef {
            name: STATE_TAMPERED,
            official: "auth/metadata-default",
            covers: &["auth/scope-omitted-when-undefined"],
            summary: "Issuer /tenant1 with OpenID path insertion only; neither a challenge scope nor scopes_supported; the authorization response carries a state the client did not send",
            registration: Registration::Any,
            world: || {
                let mut w = world();
                as0(&mut w).issuer_path = "/tenant1".into();
                as0(&mut w).metadata_at = vec![MetadataLocation::OidcPathInserted];
                prm(&mut w).scopes_supported = None;
                as0(&mut w).state = StateMode::Altered;
                w
            },
        },
    ]
}

/// The context JSON handed to the client (`MCP_CONFORMANCE_CONTEXT`), in the official shapes: `name` is the
/// official scenario name.
pub fn context(def: &ScenarioDef, client_metadata_url: &str) -> serde_json::Value {
    match def.registration {
        Registration::Any => json!({"name": def.official}),
        Registration::Cimd => {
            json!({"name": def.official, "client_metadata_url": client_metadata_url})
        }
        Registration::Pre(_) => json!({
            "name": def.official,
            "client_id": PRE_CLIENT_ID,
            "client_secret": PRE_CLIENT_SECRET,
        }),
    }
}

/// The official scenario names a client may be handed (`../conformance` 0.2.0-alpha.12 `list`, auth scenarios).
pub const OFFICIAL_AUTH_SCENARIOS: &[&str] = &[
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/basic-dcr",
    "auth/2025-03-26-oauth-metadata-backcompat",
    "auth/2025-03-26-oauth-endpoint-fallback",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/authorization-server-migration",
    "auth/iss-supported",
    "auth/iss-not-advertised",
    "auth/iss-supported-missing",
    "auth/iss-wrong-issuer",
    "auth/iss-unexpected",
    "auth/iss-normalized",
    "auth/metadata-issuer-mismatch",
    "auth/client-credentials-jwt",
    "auth/client-credentials-basic",
    "auth/enterprise-managed-authorization",
    "auth/dpop",
    "auth/dpop-nonce",
    "auth/wif-jwt-bearer",
];

/// The world-to-official-name table of docs/client-role.md §3, generated from [`all`].
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| world (`MCP_CONFORMANCE_SUITE_SCENARIO`) | `MCP_CONFORMANCE_SCENARIO` | registration | also exercises | world |\n|---|---|---|---|---|\n",
    );
    for d in all() {
        let registration = match d.registration {
            Registration::Any => "DCR".to_owned(),
            Registration::Cimd => "CIMD (`client_metadata_url`)".to_owned(),
            Registration::Pre(m) => format!("pre-registered (`client_id`, `client_secret`; {m})"),
        };
        let covers: Vec<String> = d
            .covers
            .iter()
            .filter(|c| **c != d.official)
            .map(|c| format!("`{c}`"))
            .collect();
        out.push_str(&format!(
            "| `{}` | `{}` | {registration} | {} | {} |\n",
            d.name,
            d.official,
            if covers.is_empty() {
                "—".to_owned()
            } else {
                covers.join(", ")
            },
            d.summary.replace('|', "\\|"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_names_are_unique_and_prefixed() {
        let mut names: Vec<&str> = all().iter().map(|s| s.name).collect();
        assert!(names.iter().all(|n| n.starts_with("auth/")));
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn every_world_hands_the_client_an_official_scenario_name() {
        for s in all() {
            assert!(
                OFFICIAL_AUTH_SCENARIOS.contains(&s.official),
                "{} hands over {}",
                s.name,
                s.official
            );
            assert_eq!(context(&s, "https://x.test/c.json")["name"], s.official);
            for c in s.covers {
                assert!(OFFICIAL_AUTH_SCENARIOS.contains(c), "{} covers {c}", s.name);
            }
        }
    }

    #[test]
    fn a_world_named_like_an_official_scenario_hands_over_that_name() {
        for s in all() {
            if OFFICIAL_AUTH_SCENARIOS.contains(&s.name) {
                assert_eq!(s.official, s.name);
            }
        }
    }

    #[test]
    fn only_the_pre_registration_world_carries_credentials() {
        for s in all() {
            let ctx = context(&s, "https://x.test/c.json");
            assert_eq!(
                ctx.get("client_secret").is_some(),
                s.official == "auth/pre-registration",
                "{}",
                s.name
            );
        }
    }

    #[test]
    fn every_world_builds() {
        for s in all() {
            let w = (s.world)();
            assert!(!w.auth_servers.is_empty(), "{}", s.name);
        }
    }

    #[test]
    fn the_docs_show_the_generated_world_table() {
        let docs = include_str!("../../../docs/client-role.md");
        assert!(
            docs.contains(&markdown_table()),
            "docs/client-role.md §3 is out of date; paste the output of `mcp-auth-conformance list --client-worlds`"
        );
    }
}
