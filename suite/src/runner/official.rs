//! The official MCP conformance suite's expected-failures YAML (its `--expected-failures`), read into a
//! [`Baseline`] for one role. The grammar is the official one (`src/expected-failures.ts`): top-level `client:`
//! and `server:` lists whose entries are `<scenario>` (the whole scenario may fail) or `<scenario>:<check>` (only
//! that check may), split at the first colon.
//!
//! What maps to what (docs/ci.md "Baselines"):
//! - `client:` applies to the client role. A scenario maps to the checks judged from the worlds that exercise it
//!   (a world's own name or one of the official scenarios it covers, `list --client-worlds`); `scenario:check`
//!   maps the official check to our checks through [`CHECK_MAP`], among the checks judged from those worlds.
//! - `server:` lists the official *server* scenarios, which test MCP protocol features (tools, resources,
//!   sessions), not authorization: this suite's server role has no counterpart, so those entries are warnings.
//! - A name that cannot be an official authorization scenario is an error (`auth/…` but neither an official
//!   auth scenario nor a world of ours: a typo). An entry the official suite accepts but this suite cannot apply
//!   (an official scenario no world exercises, a protocol scenario, an official check with no counterpart) is a
//!   warning naming it: the same file must keep working in both suites, and the official suite itself ignores
//!   entries for scenarios it does not run.

use mcp_auth_reports::Role;
use serde_norway::Value;

use super::{Baseline, ScenarioEntry};
use crate::client::scenarios;

/// Why an official file was refused.
#[derive(Debug)]
pub enum Error {
    /// Not YAML; the parser's message names line and column.
    Yaml(serde_norway::Error),
    /// YAML, but not the official grammar, or an entry naming nothing: the message names the entry.
    Entry(String),
}

/// The official client checks (`conformance` c321dd3, `src/scenarios/client/auth/`) that have a counterpart here,
/// with our check ids. An official check not listed has none (it judges something this suite does not, e.g.
/// DPoP, client credentials, the MCP session after authorization).
pub const CHECK_MAP: &[(&str, &[&str])] = &[
    ("pkce-code-challenge-sent", &["CL-PKCE-04"]),
    ("pkce-s256-method-used", &["CL-PKCE-05"]),
    ("pkce-code-verifier-sent", &["CL-PKCE-06"]),
    ("pkce-verifier-matches-challenge", &["CL-PKCE-06"]),
    ("resource-parameter-in-authorization", &["CL-RES-01"]),
    ("resource-parameter-in-token", &["CL-RES-02.code"]),
    ("resource-parameter-valid-uri", &["CL-RES-03"]),
    ("resource-parameter-consistency", &["CL-RES-05"]),
    ("resource-parameter-matches-prm", &["CL-RES-03"]),
    ("resource-mismatch-rejected", &["CL-PRM-05"]),
    ("prm-pathbased-requested", &["CL-PRM-03.path-first"]),
    (
        "prm-priority-order",
        &["CL-PRM-03.path-first", "CL-PRM-03.root-fallback"],
    ),
    ("scope-from-www-authenticate", &["CL-SCP-01"]),
    ("scope-from-scopes-supported", &["CL-SCP-03"]),
    ("scope-omitted-when-undefined", &["CL-SCP-04"]),
    ("scope-step-up-escalation", &["CL-SCP-05"]),
    ("scope-retry-limit", &["CL-SCP-06"]),
    ("cimd-client-id-used", &["CL-REG-01.cimd"]),
    ("pre-registration-auth", &["CL-REG-02"]),
    (
        "token-endpoint-auth-method",
        &["CL-TKE-03.basic", "CL-TKE-03.post"],
    ),
    ("sep-2468-client-compare-iss-supported", &["CL-MIX-02"]),
    ("sep-2468-client-reject-missing-iss", &["CL-MIX-03"]),
    ("sep-2468-client-validate-metadata-issuer", &["CL-ASM-04"]),
    ("sep-2352-no-cross-as-credential-reuse", &["CL-MIG-01"]),
    ("sep-2352-no-reuse-on-as-change", &["CL-MIG-01"]),
    ("sep-1932-client-token-request-proof", &["CL-DPOP-01"]),
    ("sep-1932-client-dpop-auth-scheme", &["CL-DPOP-02"]),
    ("sep-1932-client-fresh-proof", &["CL-DPOP-03"]),
    ("sep-1932-client-as-nonce", &["CL-DPOP-04"]),
    ("sep-1932-client-rs-nonce", &["CL-DPOP-05"]),
    ("sep-2352-reregister-on-as-change", &["CL-MIG-02"]),
    (
        "sep-2468-client-compare-iss-unadvertised",
        &["CL-MIX-02.unadvertised"],
    ),
    (
        "sep-2468-client-no-normalization",
        &["CL-MIX-02.normalized"],
    ),
    ("sep-2468-client-proceed-no-iss", &["CL-MIX-04"]),
    ("sep-2207-client-metadata-grant-types", &["CL-RT-03"]),
    ("sep-2207-offline-access-not-requested", &["CL-SCP-08"]),
    ("sep-2350-scope-union-on-reauth", &["CL-SCP-09"]),
    ("sep-837-application-type-present", &["CL-REG-04"]),
];

/// One parsed entry: `scenario` or `scenario:check`.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    scenario: String,
    check: Option<String>,
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.check {
            Some(c) => write!(f, "{}:{c}", self.scenario),
            None => f.write_str(&self.scenario),
        }
    }
}

/// Reads an official expected-failures file for `role`.
pub fn parse(text: &str, role: Role) -> Result<Baseline, Error> {
    let doc: Value = serde_norway::from_str(text).map_err(Error::Yaml)?;
    let map = match doc {
        Value::Null => return Ok(Baseline::default()),
        Value::Mapping(m) => m,
        _ => {
            return Err(Error::Entry(
                "expected a mapping with `server` and/or `client` keys".into(),
            ))
        }
    };
    let mut b = Baseline::default();
    for key in map.keys() {
        if !matches!(key.as_str(), Some("client" | "server")) {
            b.warnings.push(format!(
                "key {} is not `client` or `server`: ignored",
                show(key)
            ));
        }
    }
    let client = section(&map, "client")?;
    let server = section(&map, "server")?;
    // Every client entry is resolved whatever the role, so a typo is found by any run that reads the file.
    let mut client_baseline = Baseline::default();
    for e in &client {
        resolve_client(e, &mut client_baseline)?;
    }
    match role {
        Role::Client => {
            b.scenarios = client_baseline.scenarios;
            b.warnings.extend(client_baseline.warnings);
        }
        Role::Server => {
            for e in &server {
                b.warnings.push(format!(
                    "`server:` entry `{e}`: the official server scenarios test MCP protocol features, not authorization; this suite's server role has no counterpart, so it changes nothing"
                ));
            }
        }
        Role::Authz => {
            if !client.is_empty() || !server.is_empty() {
                b.warnings.push(
                    "the official format has no authorization-server section: none of its entries applies to the authz role".into(),
                );
            }
        }
    }
    Ok(b)
}

/// A section's entries (absent or empty: none), with the official grammar's checks.
fn section(map: &serde_norway::Mapping, name: &str) -> Result<Vec<Entry>, Error> {
    let items = match map.get(name) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Sequence(items)) => items,
        Some(_) => {
            return Err(Error::Entry(format!(
                "`{name}` must be a list of scenario names"
            )))
        }
    };
    let reject = |item: &Value, why: &str| {
        Error::Entry(format!(
            "`{name}` entry {} is not `<scenario>` or `<scenario>:<check-id>`. {why}",
            show(item)
        ))
    };
    let mut entries = Vec::new();
    for item in items {
        let text = match item {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(v) => v.to_string(),
            Value::Null => return Err(reject(item, "This one is empty.")),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, v) = m.iter().next().expect("one pair");
                return Err(match (k.as_str(), scalar(v)) {
                    (Some(k), Some(v)) if !v.is_empty() => reject(
                        item,
                        &format!("Did you write `- {k}: {v}`? Remove the space after the colon: `- {k}:{v}`"),
                    ),
                    _ => reject(item, "A per-check entry takes no space after the colon."),
                });
            }
            _ => {
                return Err(reject(
                    item,
                    "A per-check entry takes no space after the colon.",
                ))
            }
        };
        let entry = match text.split_once(':') {
            None => Entry {
                scenario: text,
                check: None,
            },
            Some((s, c)) if !s.is_empty() && !c.is_empty() => Entry {
                scenario: s.to_owned(),
                check: Some(c.to_owned()),
            },
            Some(_) => return Err(reject(item, "Both sides of the colon are required.")),
        };
        entries.push(entry);
    }
    for e in entries.iter().filter(|e| e.check.is_some()) {
        if entries
            .iter()
            .any(|w| w.check.is_none() && w.scenario == e.scenario)
        {
            return Err(Error::Entry(format!(
                "`{}` expects the whole scenario to fail, so `{e}` is redundant. Remove one or the other.",
                e.scenario
            )));
        }
    }
    Ok(entries)
}

/// Adds one `client:` entry: a scenario entry, a warning, or an error when it names nothing.
fn resolve_client(e: &Entry, b: &mut Baseline) -> Result<(), Error> {
    let s = e.scenario.as_str();
    let worlds: Vec<&'static str> = scenarios::all()
        .into_iter()
        .filter(|w| w.name == s || w.covers.contains(&s))
        .map(|w| w.name)
        .collect();
    if worlds.is_empty() {
        if !s.starts_with("auth/") {
            b.warnings.push(format!(
                "`client:` entry `{e}`: `{s}` is not an authorization scenario (the official ones are named auth/…); this suite does not run it, so it changes nothing"
            ));
        } else if scenarios::OFFICIAL_AUTH_SCENARIOS.contains(&s) {
            b.warnings.push(format!(
                "`client:` entry `{e}`: no world of this suite exercises the official scenario `{s}` (see `mcp-auth-conformance list --client-worlds`), so it changes nothing"
            ));
        } else {
            return Err(Error::Entry(format!(
                "`client:` entry `{e}`: `{s}` is neither an official authorization scenario nor a world of this suite (see `mcp-auth-conformance list --client-worlds`)"
            )));
        }
        return Ok(());
    }
    let checks = match &e.check {
        None => None,
        Some(c) => match CHECK_MAP.iter().find(|(slug, _)| slug == c) {
            Some((_, ids)) => Some(ids.to_vec()),
            None => {
                b.warnings.push(format!(
                    "`client:` entry `{e}`: the official check `{c}` has no counterpart among this suite's checks (docs/ci.md lists the mapped ones), so it changes nothing"
                ));
                return Ok(());
            }
        },
    };
    b.scenarios.push(ScenarioEntry {
        scenario: s.to_owned(),
        worlds,
        checks,
        reason: format!("official expected-failures entry `client: {e}`"),
    });
    Ok(())
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A YAML value as the user wrote it, bounded (it goes into an error line).
fn show(v: &Value) -> String {
    let text = serde_norway::to_string(v).unwrap_or_default();
    let text = text.trim_end().replace('\n', " ");
    let text = if text.len() > 120 {
        let mut end = 120;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &text[..end])
    } else {
        text
    };
    format!("`{text}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(yaml: &str) -> Baseline {
        parse(yaml, Role::Client).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn refused(yaml: &str) -> String {
        match parse(yaml, Role::Client) {
            Err(Error::Entry(m)) => m,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn an_empty_file_is_an_empty_baseline() {
        let b = client("");
        assert!(b.expected.is_empty() && b.scenarios.is_empty() && b.warnings.is_empty());
    }

    #[test]
    fn an_official_scenario_maps_to_every_world_exercising_it() {
        let b = client("client:\n  - auth/basic-dcr\n");
        let s = &b.scenarios[0];
        assert_eq!(s.scenario, "auth/basic-dcr");
        assert_eq!(s.worlds, [scenarios::METADATA_DEFAULT]);
        assert_eq!(s.checks, None);
        assert_eq!(
            s.reason,
            "official expected-failures entry `client: auth/basic-dcr`"
        );
    }

    #[test]
    fn a_world_name_of_this_suite_is_accepted_as_a_scenario() {
        let b = client("client:\n  - auth/pkce-plain-only\n");
        assert_eq!(b.scenarios[0].worlds, [scenarios::PKCE_PLAIN_ONLY]);
    }

    #[test]
    fn a_scenario_check_entry_maps_the_official_check_to_ours() {
        let b = client("client:\n  - auth/metadata-default:pkce-s256-method-used\n");
        let s = &b.scenarios[0];
        assert_eq!(s.checks.as_deref(), Some(&["CL-PKCE-05"][..]));
        assert_eq!(s.worlds, [scenarios::METADATA_DEFAULT]);
    }

    #[test]
    fn an_official_check_without_counterpart_is_a_warning_naming_the_entry() {
        let b = client("client:\n  - auth/metadata-default:mcp-client-initialization\n");
        assert!(b.scenarios.is_empty());
        assert!(
            b.warnings[0].contains("`auth/metadata-default:mcp-client-initialization`")
                && b.warnings[0].contains("no counterpart"),
            "{:?}",
            b.warnings
        );
    }

    #[test]
    fn a_protocol_scenario_is_a_warning() {
        let b = client("client:\n  - tools_call\n");
        assert!(b.scenarios.is_empty());
        assert!(
            b.warnings[0].contains("not an authorization scenario"),
            "{:?}",
            b.warnings
        );
    }

    #[test]
    fn an_auth_scenario_that_is_neither_official_nor_ours_is_an_error_naming_it() {
        let m = refused("client:\n  - auth/basic-dcr\n  - auth/metadata-defualt\n");
        assert!(m.contains("`auth/metadata-defualt`"), "{m}");
    }

    #[test]
    fn client_entries_are_checked_by_every_role() {
        assert!(matches!(
            parse("client:\n  - auth/nope\n", Role::Server),
            Err(Error::Entry(_))
        ));
    }

    #[test]
    fn server_entries_are_warnings_for_the_server_role_and_ignored_by_the_client_role() {
        let yaml = "server:\n  - tools-call-simple-text\n";
        let b = parse(yaml, Role::Server).unwrap();
        assert!(b.expected.is_empty() && b.scenarios.is_empty());
        assert!(
            b.warnings[0].contains("`tools-call-simple-text`"),
            "{:?}",
            b.warnings
        );
        assert!(client(yaml).warnings.is_empty());
    }

    #[test]
    fn the_authz_role_is_warned_that_nothing_applies() {
        let b = parse("client:\n  - auth/basic-dcr\n", Role::Authz).unwrap();
        assert!(b.scenarios.is_empty());
        assert_eq!(b.warnings.len(), 1);
    }

    #[test]
    fn the_client_section_applies_only_to_the_client_role() {
        let b = parse("client:\n  - auth/basic-dcr\n", Role::Server).unwrap();
        assert!(b.scenarios.is_empty() && b.warnings.is_empty());
    }

    #[test]
    fn a_space_after_the_colon_is_refused_with_the_official_hint() {
        let m = refused("client:\n  - auth/basic-dcr: pkce-s256-method-used\n");
        assert!(
            m.contains(
                "Remove the space after the colon: `- auth/basic-dcr:pkce-s256-method-used`"
            ),
            "{m}"
        );
    }

    #[test]
    fn an_empty_entry_is_refused() {
        let m = refused("client:\n  -\n");
        assert!(m.contains("This one is empty"), "{m}");
    }

    #[test]
    fn an_entry_with_an_empty_side_of_the_colon_is_refused() {
        for yaml in [
            "client:\n  - 'auth/basic-dcr:'\n",
            "client:\n  - ':pkce-s256-method-used'\n",
        ] {
            let m = refused(yaml);
            assert!(m.contains("Both sides of the colon are required"), "{m}");
        }
    }

    #[test]
    fn a_check_entry_beside_its_whole_scenario_is_refused_as_redundant() {
        let m = refused("client:\n  - auth/basic-dcr\n  - auth/basic-dcr:pkce-s256-method-used\n");
        assert!(m.contains("redundant"), "{m}");
    }

    #[test]
    fn a_section_that_is_not_a_list_is_refused() {
        let m = refused("client: auth/basic-dcr\n");
        assert!(m.contains("`client` must be a list"), "{m}");
    }

    #[test]
    fn a_document_that_is_not_a_mapping_is_refused() {
        let m = refused("- auth/basic-dcr\n");
        assert!(m.contains("`server` and/or `client`"), "{m}");
    }

    #[test]
    fn an_unknown_top_level_key_is_a_warning() {
        let b = client("clients:\n  - auth/basic-dcr\n");
        assert!(b.warnings[0].contains("`clients`"), "{:?}", b.warnings);
    }

    #[test]
    fn yaml_that_does_not_parse_is_a_yaml_error_with_its_line() {
        match parse("client:\n  - a\n   - b: [\n", Role::Client) {
            Err(Error::Yaml(e)) => assert!(e.to_string().contains("line 3"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn docs_ci_md_lists_exactly_the_mapped_checks() {
        let doc = include_str!("../../../docs/ci.md");
        let rows: Vec<&str> = doc
            .lines()
            .filter(|l| l.starts_with("| `") && l.contains("` | `CL-"))
            .collect();
        let expected: Vec<String> = CHECK_MAP
            .iter()
            .map(|(slug, ids)| {
                let ids: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
                format!("| `{slug}` | {} |", ids.join(", "))
            })
            .collect();
        assert_eq!(rows, expected);
    }

    #[test]
    fn every_mapped_check_is_a_client_check() {
        let known: Vec<&str> = crate::registry::metas(Some(Role::Client))
            .iter()
            .map(|m| m.id)
            .collect();
        for (slug, ids) in CHECK_MAP {
            for id in *ids {
                assert!(known.contains(id), "{slug} → {id}: no such client check");
            }
        }
    }
}
