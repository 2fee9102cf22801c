//! Expected verdicts as data (`fixtures/expected/<role>.toml`): for each reference mode, the checks that do
//! not PASS; for each `(defect, mode)`, the checks whose verdict the defect changes. Everything else must equal
//! the reference.

use std::collections::BTreeMap;

use mcp_auth_reports::Verdict;
use serde::{Deserialize, Serialize};

/// The server role's expectations, compiled in.
pub const SERVER_EXPECTED: &str = include_str!("../../fixtures/expected/server.toml");
/// The authz role's expectations, compiled in.
pub const AUTHZ_EXPECTED: &str = include_str!("../../fixtures/expected/authz.toml");
/// The client role's expectations, compiled in.
pub const CLIENT_EXPECTED: &str = include_str!("../../fixtures/expected/client.toml");

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Per mode name (`jwt`, `introspection`): check id → verdict, for every check that does not PASS.
    #[serde(default)]
    pub reference: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default, rename = "defect")]
    pub defects: Vec<DefectExpectation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DefectExpectation {
    pub name: String,
    pub mode: String,
    /// Why these flips follow from the defect (reviewed by hand).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Check id → verdict, for every check whose verdict differs from the reference in this mode.
    pub verdicts: BTreeMap<String, String>,
}

/// The expectation file is malformed.
#[derive(Debug, thiserror::Error)]
pub enum ExpectedError {
    #[error("invalid expected-verdicts file: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("expected-verdicts file: `{value}` for {id} is not a verdict")]
    Verdict { id: String, value: String },
}

impl Expected {
    pub fn parse(text: &str) -> Result<Expected, ExpectedError> {
        let e: Expected = toml::from_str(text)?;
        let all = e
            .reference
            .values()
            .flat_map(|m| m.iter())
            .chain(e.defects.iter().flat_map(|d| d.verdicts.iter()));
        for (id, v) in all {
            v.parse::<Verdict>().map_err(|_| ExpectedError::Verdict {
                id: id.clone(),
                value: v.clone(),
            })?;
        }
        Ok(e)
    }

    pub fn server() -> Result<Expected, ExpectedError> {
        Self::parse(SERVER_EXPECTED)
    }

    pub fn client() -> Result<Expected, ExpectedError> {
        Self::parse(CLIENT_EXPECTED)
    }

    /// The committed expectations of a role.
    pub fn for_role(role: mcp_auth_reports::Role) -> Result<Expected, ExpectedError> {
        match role {
            mcp_auth_reports::Role::Server => Self::server(),
            mcp_auth_reports::Role::Client => Self::client(),
            mcp_auth_reports::Role::Authz => Self::parse(AUTHZ_EXPECTED),
        }
    }

    /// The reference verdict of a check in a mode (PASS unless listed).
    pub fn reference_verdict(&self, mode: &str, id: &str) -> Verdict {
        self.reference
            .get(mode)
            .and_then(|m| m.get(id))
            .and_then(|v| v.parse().ok())
            .unwrap_or(Verdict::Pass)
    }

    pub fn defect(&self, name: &str, mode: &str) -> Option<&DefectExpectation> {
        self.defects
            .iter()
            .find(|d| d.name == name && d.mode == mode)
    }

    /// The verdict a check must have under a defect in a mode.
    pub fn defect_verdict(&self, name: &str, mode: &str, id: &str) -> Verdict {
        self.defect(name, mode)
            .and_then(|d| d.verdicts.get(id))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| self.reference_verdict(mode, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_expectations_parse() {
        Expected::server().unwrap();
        Expected::client().unwrap();
        Expected::for_role(mcp_auth_reports::Role::Authz).unwrap();
    }

    #[test]
    fn unlisted_checks_are_expected_to_pass_or_follow_the_reference() {
        let e = Expected::parse(
            r#"
[reference.jwt]
"RS-TLS-01" = "INFO"

[[defect]]
name = "skip-audience-check"
mode = "jwt"
verdicts = { "RS-AUD-02" = "FAIL" }
"#,
        )
        .unwrap();
        assert_eq!(e.reference_verdict("jwt", "RS-AUD-02"), Verdict::Pass);
        assert_eq!(
            e.defect_verdict("skip-audience-check", "jwt", "RS-AUD-02"),
            Verdict::Fail
        );
        assert_eq!(
            e.defect_verdict("skip-audience-check", "jwt", "RS-TLS-01"),
            Verdict::Info
        );
    }

    #[test]
    fn a_bad_verdict_is_refused() {
        let r = Expected::parse("[reference.jwt]\n\"X\" = \"MAYBE\"\n");
        assert!(matches!(r, Err(ExpectedError::Verdict { .. })));
    }
}
