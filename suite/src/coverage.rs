//! The official MCP conformance suite's authorization scenarios mapped to this suite's checks
//! (`catalog/official-coverage.toml`, embedded at build time): `list --official-coverage` renders the table and its
//! counts per revision, and docs/official-coverage.md shows that output.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::spec::SpecVersion;

/// `catalog/official-coverage.toml`, as built into the binary.
pub const COVERAGE_TOML: &str = include_str!("../../catalog/official-coverage.toml");

/// The whole table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    #[serde(rename = "scenario")]
    pub scenarios: Vec<OfficialScenario>,
}

/// One official scenario and what judges it here.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfficialScenario {
    pub name: String,
    pub side: Side,
    pub group: Group,
    pub introduced: String,
    #[serde(default)]
    pub removed: Option<String>,
    #[serde(default)]
    pub extension: Option<String>,
    pub checks: Vec<String>,
    pub coverage: Level,
    #[serde(default)]
    pub note: Option<String>,
}

/// Which of the official suite's commands runs the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    Client,
    AuthorizationServer,
}

/// The official list the scenario is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// Required at 2025-11-25.
    Core,
    /// The 2025-03-26 back-compatibility scenarios.
    Backcompat,
    /// Required at 2026-07-28 (the official "draft" list).
    Draft,
    /// Protocol extensions: run, never scored.
    Extension,
    /// The authorization-server command (in no requirement set).
    As,
}

/// How much of the scenario this suite judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Covered,
    Partial,
    None,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Covered => "covered",
            Level::Partial => "partial",
            Level::None => "none",
        }
    }
}

impl OfficialScenario {
    /// The revision range, parsed (the table's test keeps every date parseable).
    fn range(&self) -> (SpecVersion, Option<SpecVersion>) {
        let introduced = self.introduced.parse().unwrap_or(SpecVersion::V2026_07_28);
        let removed = self.removed.as_deref().and_then(|r| r.parse().ok());
        (introduced, removed)
    }

    /// Whether the official suite runs the scenario at revision `v`.
    pub fn applies_at(&self, v: SpecVersion) -> bool {
        let (introduced, removed) = self.range();
        v.within(introduced, removed)
    }
}

impl Coverage {
    pub fn parse(text: &str) -> Result<Coverage, toml::de::Error> {
        toml::from_str(text)
    }

    /// The embedded table.
    pub fn all() -> &'static Coverage {
        static ALL: OnceLock<Coverage> = OnceLock::new();
        ALL.get_or_init(|| {
            Coverage::parse(COVERAGE_TOML).expect("catalog/official-coverage.toml parses")
        })
    }

    /// Per revision: (scenarios, covered, partial, none) over the scenarios the official suite runs at that
    /// revision, extensions apart (`extensions: true` counts only them, `false` only the rest).
    pub fn counts(&self, v: SpecVersion, extensions: bool) -> [usize; 4] {
        let mut c = [0; 4];
        for s in self
            .scenarios
            .iter()
            .filter(|s| s.applies_at(v) && (s.extension.is_some() == extensions))
        {
            c[0] += 1;
            c[1 + s.coverage as usize] += 1;
        }
        c
    }

    /// The Markdown docs/official-coverage.md shows: counts per revision, then one row per scenario.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| revision | official scenarios | covered | partial | none | extension scenarios | covered | partial | none |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        for v in SpecVersion::ALL {
            let [n, c, p, x] = self.counts(v, false);
            let [en, ec, ep, ex] = self.counts(v, true);
            out.push_str(&format!(
                "| {v} | {n} | {c} | {p} | {x} | {en} | {ec} | {ep} | {ex} |\n"
            ));
        }
        out.push_str("\n| official scenario | side | list | revisions | extension | coverage | our checks | note |\n|---|---|---|---|---|---|---|---|\n");
        for s in &self.scenarios {
            let revisions = match &s.removed {
                Some(r) => format!("{}–{r} (removed)", s.introduced),
                None => format!("{}–", s.introduced),
            };
            let checks = if s.checks.is_empty() {
                "—".to_owned()
            } else {
                s.checks
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {revisions} | {} | {} | {checks} | {} |\n",
                s.name,
                match s.side {
                    Side::Client => "client",
                    Side::AuthorizationServer => "AS",
                },
                match s.group {
                    Group::Core => "core",
                    Group::Backcompat => "back-compat",
                    Group::Draft => "2026-07-28",
                    Group::Extension => "extension",
                    Group::As => "authorization server",
                },
                s.extension.as_deref().unwrap_or("—"),
                s.coverage.as_str(),
                s.note.as_deref().unwrap_or("").replace('|', "\\|"),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::scenarios::OFFICIAL_AUTH_SCENARIOS;
    use crate::spec::Extension;

    fn table() -> &'static Coverage {
        Coverage::all()
    }

    #[test]
    fn every_listed_check_is_a_check_of_this_suite() {
        let ids: Vec<&str> = crate::registry::metas(None).iter().map(|m| m.id).collect();
        for s in &table().scenarios {
            for c in &s.checks {
                assert!(ids.contains(&c.as_str()), "{}: no check {c}", s.name);
            }
        }
    }

    #[test]
    fn every_official_scenario_the_suite_requires_at_2025_11_25_maps_to_a_check() {
        let unmapped: Vec<&str> = table()
            .scenarios
            .iter()
            .filter(|s| s.group == Group::Core && s.applies_at(SpecVersion::V2025_11_25))
            .filter(|s| s.checks.is_empty())
            .map(|s| s.name.as_str())
            .collect();
        assert!(unmapped.is_empty(), "no check judges {unmapped:?}");
    }

    #[test]
    fn the_coverage_level_agrees_with_the_checks_and_the_note() {
        for s in &table().scenarios {
            assert_eq!(
                s.checks.is_empty(),
                s.coverage == Level::None,
                "{}: {} with {} checks",
                s.name,
                s.coverage.as_str(),
                s.checks.len()
            );
            if s.coverage != Level::Covered {
                assert!(
                    s.note.as_deref().is_some_and(|n| !n.trim().is_empty()),
                    "{}: a {} scenario says why",
                    s.name,
                    s.coverage.as_str()
                );
            }
        }
    }

    #[test]
    fn dates_and_extensions_are_ones_the_suite_knows() {
        for s in &table().scenarios {
            assert!(s.introduced.parse::<SpecVersion>().is_ok(), "{}", s.name);
            if let Some(r) = &s.removed {
                let r: SpecVersion = r.parse().expect("removed is a revision");
                assert!(r > s.range().0, "{}: removed before introduced", s.name);
            }
            assert_eq!(
                s.extension.is_some(),
                s.group == Group::Extension,
                "{}: an extension scenario names its extension, and only it",
                s.name
            );
            if let Some(e) = &s.extension {
                assert!(e.parse::<Extension>().is_ok(), "{}: extension {e}", s.name);
            }
        }
    }

    #[test]
    fn the_table_lists_every_official_client_auth_scenario_once() {
        let names: Vec<&str> = table()
            .scenarios
            .iter()
            .filter(|s| s.side == Side::Client)
            .map(|s| s.name.as_str())
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a scenario is listed twice");
        // auth/basic-dcr is the 0.1.x name of the DCR flow (alpha.12 folds it into auth/metadata-default).
        for official in OFFICIAL_AUTH_SCENARIOS
            .iter()
            .filter(|n| **n != "auth/basic-dcr")
        {
            assert!(
                names.contains(official),
                "{official} missing from the table"
            );
        }
        assert_eq!(
            names.len(),
            33,
            "0.2.0-alpha.12 has 33 client auth scenarios"
        );
    }

    #[test]
    fn the_docs_show_the_generated_table() {
        let docs = include_str!("../../docs/official-coverage.md");
        assert!(
            docs.contains(&table().markdown()),
            "docs/official-coverage.md is out of date; paste the output of `mcp-auth-conformance list --official-coverage`"
        );
    }
}
