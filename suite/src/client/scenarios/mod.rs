//! Client-role scenarios: each is a world (docs/design/client-role.md §3) plus the context handed to the client.
//!
//! `MCP_CONFORMANCE_SCENARIO` is always a scenario name of the official MCP conformance suite: SDKs'
//! everything-clients dispatch on it, and an unknown name makes them exit before their first request. A world
//! that shares an official name is that official world (same registration method, same context) plus our traps;
//! a world of our own passes the official name whose client behaviour it needs and its own name in
//! `MCP_CONFORMANCE_SUITE_SCENARIO`. Several worlds carry more than one stimulus (a discovery variant before a
//! refusal, for instance), so one client launch feeds several checks: launches dominate a run's wall time.
//!
//! This module holds what a world is ([`ScenarioDef`]), its names and the context handed to the client; the
//! table of worlds itself is in `worlds.rs`.

pub mod machine;
mod march;
mod tls;
mod worlds;

use fake_idp::client_world::WorldConfig;

use crate::spec::{Extension, SpecVersion};
use serde_json::json;

pub use march::MARCH_ENDPOINT_PREFIX;
pub use tls::{TLS_UNTRUSTED_AS, TLS_UNTRUSTED_MCP, TLS_WRONG_HOST_MCP};

/// Every client world, in report order: today's, then the 2025-03-26 ones, then the certificate worlds (strict TLS
/// only).
pub fn all() -> Vec<ScenarioDef> {
    let mut all = worlds::all();
    all.extend(march::worlds());
    all.extend(tls::worlds());
    all
}

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
/// DPoP (`--extension dpop`): the AS and the MCP server bind and demand DPoP, without nonces.
pub const DPOP: &str = "auth/dpop";
/// DPoP with server nonces: the AS and the MCP server each demand their nonce once.
pub const DPOP_NONCE: &str = "auth/dpop-nonce";
pub const ISS_UNEXPECTED: &str = "auth/iss-unexpected";
pub const ISS_NORMALIZED: &str = "auth/iss-normalized";
pub const OFFLINE_ACCESS_SCOPE: &str = "auth/offline-access-scope";
pub const CLIENT_CREDENTIALS_BASIC: &str = "auth/client-credentials-basic";
pub const CLIENT_CREDENTIALS_JWT: &str = "auth/client-credentials-jwt";
pub const ENTERPRISE_MANAGED: &str = "auth/enterprise-managed-authorization";
pub const WIF_JWT_BEARER: &str = "auth/wif-jwt-bearer";
pub const WIF_WRONG_AUDIENCE: &str = "auth/wif-wrong-audience";
pub const WIF_EXPIRED: &str = "auth/wif-expired";
pub const MARCH_METADATA: &str = "auth/2025-03-26-oauth-metadata-backcompat";
pub const MARCH_FALLBACK: &str = "auth/2025-03-26-oauth-endpoint-fallback";

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
    /// An extension's machine grant: the context carries that grant's credentials (keys and JWTs minted per
    /// run, `machine.rs`).
    Machine(machine::Machine),
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
    /// The first revision whose client behaviour the world exercises.
    pub since: SpecVersion,
    /// The first revision without it (the 2025-03-26 fallbacks end at 2025-06-18).
    pub until: Option<SpecVersion>,
    /// The extension the world belongs to: it runs only when the run opts in.
    pub extension: Option<Extension>,
    pub world: fn() -> WorldConfig,
}

impl ScenarioDef {
    /// What most worlds share, for struct update (`ScenarioDef { name, official, covers, summary, world,
    /// ..ScenarioDef::USUAL }`): any registration, from 2025-06-18 on, in no extension. Its own name, summary and
    /// world are placeholders every entry replaces.
    pub const USUAL: ScenarioDef = ScenarioDef {
        name: "",
        official: "auth/metadata-default",
        covers: &[],
        summary: "",
        registration: Registration::Any,
        since: SpecVersion::V2025_06_18,
        until: None,
        extension: None,
        world: WorldConfig::default,
    };

    /// Whether `--scenario GLOB` selects this world: by its own name or by an official scenario it covers.
    pub fn selected_by(&self, selection: &crate::runner::Selection) -> bool {
        selection.matches(self.name) || self.covers.iter().any(|c| selection.matches(c))
    }

    /// Why the world does not run with `selection` (its revisions, or its extension not opted in).
    pub fn scope_note(&self, selection: &crate::runner::Selection) -> String {
        if (self.world)().bad_certificate.is_some()
            && selection.tls() != crate::spec::TlsProfile::Strict
        {
            return "it presents a certificate the client must refuse, so it runs only under --tls-profile strict"
                .to_owned();
        }
        match self.extension {
            Some(e) if !selection.extensions().contains(e) => {
                format!("it belongs to the extension {e} (--extension {e})")
            }
            _ => match self.until {
                Some(u) => format!(
                    "it exists from {} until {u}, not at {}",
                    self.since,
                    selection.spec()
                ),
                None => format!(
                    "it exists from {} on, not at {}",
                    self.since,
                    selection.spec()
                ),
            },
        }
    }

    /// Whether the world runs at the selection's revision with its extensions (and, for a world presenting a bad
    /// certificate, under `--tls-profile strict`).
    pub fn applies(&self, selection: &crate::runner::Selection) -> bool {
        let needs_tls = (self.world)().bad_certificate.is_some();
        (!needs_tls || selection.tls() == crate::spec::TlsProfile::Strict)
            && selection.spec().within(self.since, self.until)
            && self
                .extension
                .is_none_or(|e| selection.extensions().contains(e))
    }
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
        // Minted per run by `machine::MachineMaterial` once the world runs; only the name is static.
        Registration::Machine(_) => json!({"name": def.official}),
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

/// The world-to-official-name table of docs/design/client-role.md §3, generated from [`all`].
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| world (`MCP_CONFORMANCE_SUITE_SCENARIO`) | `MCP_CONFORMANCE_SCENARIO` | registration | also exercises | world |\n|---|---|---|---|---|\n",
    );
    for d in all() {
        let registration = match d.registration {
            Registration::Any => "DCR".to_owned(),
            Registration::Cimd => "CIMD (`client_metadata_url`)".to_owned(),
            Registration::Pre(m) => format!("pre-registered (`client_id`, `client_secret`; {m})"),
            Registration::Machine(m) => m.describe().to_owned(),
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
        let docs = include_str!("../../../../docs/design/client-role.md");
        assert!(
            docs.contains(&markdown_table()),
            "docs/design/client-role.md §3 is out of date; paste the output of `mcp-auth-conformance list --client-worlds`"
        );
    }
}
