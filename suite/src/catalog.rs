//! The requirements catalog (`catalog/<role>.toml` at the repository root, embedded at build time): the rows checks
//! trace to, with their level, text, spec references, how they move across spec revisions, and a remediation
//! sentence. The schema is documented at the top of each file.

use mcp_auth_reports::Level;
use serde::Deserialize;

/// `catalog/client.toml`, as built into the binary.
pub const CLIENT_TOML: &str = include_str!("../../catalog/client.toml");

/// One role's catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "requirement", default)]
    pub requirements: Vec<Requirement>,
}

/// One catalog row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    /// `MUST`, `SHOULD` or `MAY` under the default revision.
    pub level: String,
    pub text: String,
    pub spec_refs: Vec<String>,
    pub revisions: Revisions,
    pub remediation: String,
}

/// How a row moves across spec revisions (MCP revision names, `YYYY-MM-DD`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revisions {
    pub introduced: String,
    #[serde(default)]
    pub should_from: Option<String>,
    #[serde(default)]
    pub must_from: Option<String>,
}

impl Requirement {
    /// The row's level as the checks spell it (None: not a BCP 14 keyword the catalog allows).
    pub fn level(&self) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == self.level)
    }
}

impl Catalog {
    pub fn parse(text: &str) -> Result<Catalog, toml::de::Error> {
        toml::from_str(text)
    }

    /// The client role's catalog.
    pub fn client() -> Result<Catalog, toml::de::Error> {
        Catalog::parse(CLIENT_TOML)
    }

    pub fn row(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn client() -> Catalog {
        Catalog::client().expect("catalog/client.toml parses")
    }

    #[test]
    fn every_client_check_with_a_catalog_row_has_the_rows_level() {
        let catalog = client();
        let mut traced = 0;
        for check in crate::client::checks::registry() {
            let m = check.meta();
            let Some(row) = catalog.row(m.row()) else {
                continue;
            };
            traced += 1;
            assert_eq!(
                row.level(),
                Some(m.level),
                "{}: the check says {}, catalog row {} says {}",
                m.id,
                m.level.as_str(),
                row.id,
                row.level
            );
        }
        assert!(
            traced >= 2,
            "only {traced} client checks trace to the catalog"
        );
    }

    #[test]
    fn the_client_catalog_has_cl_mig_01_as_a_should_that_becomes_a_must() {
        let catalog = client();
        let row = catalog
            .row("CL-MIG-01")
            .expect("CL-MIG-01 in catalog/client.toml");
        assert_eq!(row.level(), Some(Level::Should));
        assert_eq!(row.revisions.introduced, "2025-11-25");
        assert_eq!(row.revisions.must_from.as_deref(), Some("2026-07-28"));
        assert!(row.spec_refs.iter().any(|r| r == "SEP-2352"));
    }

    #[test]
    fn client_catalog_rows_are_unique_complete_and_name_real_checks() {
        let catalog = client();
        let rows: Vec<&str> = crate::client::checks::registry()
            .iter()
            .map(|c| c.meta().row())
            .collect();
        let mut seen = BTreeSet::new();
        for r in &catalog.requirements {
            assert!(seen.insert(r.id.as_str()), "{} twice", r.id);
            assert!(r.level().is_some(), "{}: level {}", r.id, r.level);
            assert!(!r.text.trim().is_empty(), "{}: no text", r.id);
            assert!(!r.spec_refs.is_empty(), "{}: no spec_refs", r.id);
            assert!(!r.remediation.trim().is_empty(), "{}: no remediation", r.id);
            let revisions = [
                &Some(r.revisions.introduced.clone()),
                &r.revisions.should_from,
                &r.revisions.must_from,
            ];
            for date in revisions.into_iter().flatten() {
                assert!(
                    date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
                    "{}: revision `{date}` is not YYYY-MM-DD",
                    r.id
                );
                assert!(
                    date.as_str() >= r.revisions.introduced.as_str(),
                    "{}: {date} before introduced",
                    r.id
                );
            }
            assert!(
                rows.contains(&r.id.as_str()),
                "{}: no client check traces to it",
                r.id
            );
        }
    }

    #[test]
    fn unknown_catalog_keys_are_refused() {
        let text = "[[requirement]]\nid = \"X\"\nlevel = \"MUST\"\ntext = \"t\"\nspec_refs = [\"a\"]\nrevisions = { introduced = \"2025-11-25\" }\nremediation = \"r\"\nseverity = \"high\"\n";
        assert!(Catalog::parse(text).is_err());
    }
}
