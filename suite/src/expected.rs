//! The self-test's expected verdicts (`fixtures/expected/<role>.toml`), in the suite's one expectation model
//! ([`crate::expect`]): for each reference mode, the checks that do not PASS, each with its reason; for each
//! `(defect, mode)`, the checks whose verdict the defect changes, sharing the defect's reason (an entry may carry
//! its own). Every other check must equal the reference.

use std::collections::BTreeMap;

use mcp_auth_reports::Verdict;
use serde::Deserialize;

pub use crate::expect::ExpectError as ExpectedError;
use crate::expect::{toml_string, ExpectError, Expectation, RawEntries};

/// The server role's expectations, compiled in.
pub const SERVER_EXPECTED: &str = include_str!("../../fixtures/expected/server.toml");
/// The authz role's expectations, compiled in.
pub const AUTHZ_EXPECTED: &str = include_str!("../../fixtures/expected/authz.toml");
/// The client role's expectations, compiled in.
pub const CLIENT_EXPECTED: &str = include_str!("../../fixtures/expected/client.toml");

/// The header of a blessed file.
pub const HEADER: &str = "# Expected verdicts of a bundled reference target (mcp-auth-conformance self-test --role <role>).
# Sparse: an unlisted check must PASS on the reference, and under a defect must keep its reference verdict.
# [reference.<mode>] lists every check that does not PASS on the compliant reference in that validation mode,
# each as { verdict, reason }. Each defect lists the checks whose verdict that defect changes; a bare verdict takes
# the defect's reason (an entry may give its own). Regenerate with `self-test --bless FILE` and review each change
# by hand.
";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expected {
    /// Per mode name (`jwt`, `introspection`, `default`): every check that does not PASS.
    pub reference: BTreeMap<String, Expectation>,
    pub defects: Vec<DefectExpectation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DefectExpectation {
    pub name: String,
    pub mode: String,
    /// Why these flips follow from the defect (reviewed by hand); the reason of every flip without its own.
    pub reason: String,
    /// Every check whose verdict differs from the reference in this mode.
    pub flips: Expectation,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpected {
    #[serde(default)]
    reference: BTreeMap<String, RawEntries>,
    #[serde(default, rename = "defect")]
    defects: Vec<RawDefect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefect {
    name: String,
    mode: String,
    reason: String,
    #[serde(default)]
    expect: RawEntries,
}

impl Expected {
    pub fn parse(text: &str) -> Result<Expected, ExpectedError> {
        let raw: RawExpected = toml::from_str(text)?;
        let mut e = Expected::default();
        for (mode, entries) in raw.reference {
            let x = Expectation::resolve_sparse(entries).map_err(|source| ExpectError::Entry {
                context: format!("[reference.{mode}]"),
                source,
            })?;
            e.reference.insert(mode, x);
        }
        for d in raw.defects {
            let context = format!("defect {}@{}", d.name, d.mode);
            if d.reason.trim().is_empty() {
                return Err(ExpectError::Entry {
                    context,
                    source: crate::expect::EntryError::NoReason {
                        id: "(the defect)".into(),
                        verdict: Verdict::Fail,
                    },
                });
            }
            let flips = Expectation::resolve(d.expect, Some(&d.reason), |id| {
                e.reference_verdict(&d.mode, id)
            })
            .map_err(|source| ExpectError::Entry { context, source })?;
            e.defects.push(DefectExpectation {
                name: d.name,
                mode: d.mode,
                reason: d.reason.trim().to_owned(),
                flips,
            });
        }
        Ok(e)
    }

    /// The file's text (as `self-test --bless` writes it).
    pub fn to_toml(&self) -> String {
        let mut out = String::from(HEADER);
        for (mode, x) in &self.reference {
            out.push_str(&format!(
                "\n[reference.{}]\n",
                crate::expect::toml_key(mode)
            ));
            x.write_toml(&mut out, None);
        }
        for d in &self.defects {
            out.push_str(&format!(
                "\n[[defect]]\nname = {}\nmode = {}\nreason = {}\n\n[defect.expect]\n",
                toml_string(&d.name),
                toml_string(&d.mode),
                toml_string(&d.reason)
            ));
            d.flips.write_toml(&mut out, Some(&d.reason));
        }
        out
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

    /// The reference expectation of a mode (empty: every check PASSes).
    pub fn reference(&self, mode: &str) -> Expectation {
        self.reference.get(mode).cloned().unwrap_or_default()
    }

    /// The reference verdict of a check in a mode (PASS unless listed).
    pub fn reference_verdict(&self, mode: &str, id: &str) -> Verdict {
        self.reference
            .get(mode)
            .map_or(Verdict::Pass, |m| m.verdict(id))
    }

    pub fn defect(&self, name: &str, mode: &str) -> Option<&DefectExpectation> {
        self.defects
            .iter()
            .find(|d| d.name == name && d.mode == mode)
    }

    /// The verdict a check must have under a defect in a mode.
    pub fn defect_verdict(&self, name: &str, mode: &str, id: &str) -> Verdict {
        let reference = self.reference_verdict(mode, id);
        self.defect(name, mode)
            .map_or(reference, |d| d.flips.verdict_or(id, reference))
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
    fn the_committed_expectations_are_written_back_unchanged() {
        for text in [SERVER_EXPECTED, CLIENT_EXPECTED, AUTHZ_EXPECTED] {
            let e = Expected::parse(text).unwrap();
            assert_eq!(Expected::parse(&e.to_toml()).unwrap(), e);
        }
    }

    const SAMPLE: &str = r#"
[reference.jwt]
RS-TLS-01 = { verdict = "INFO", reason = "plain http on loopback" }

[[defect]]
name = "skip-audience-check"
mode = "jwt"
reason = "Accepts any aud."

[defect.expect]
RS-AUD-02 = "FAIL"
"#;

    #[test]
    fn unlisted_checks_are_expected_to_pass_or_follow_the_reference() {
        let e = Expected::parse(SAMPLE).unwrap();
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
    fn a_defect_flip_takes_the_defect_reason() {
        let e = Expected::parse(SAMPLE).unwrap();
        let d = e.defect("skip-audience-check", "jwt").unwrap();
        assert_eq!(d.flips.get("RS-AUD-02").unwrap().reason, "Accepts any aud.");
    }

    #[test]
    fn a_reference_entry_without_a_reason_is_refused() {
        let r = Expected::parse("[reference.jwt]\nRS-TLS-01 = \"INFO\"\n");
        assert!(matches!(r, Err(ExpectError::Entry { .. })), "{r:?}");
    }

    #[test]
    fn a_defect_flip_equal_to_the_reference_is_refused() {
        let text = SAMPLE.replace("RS-AUD-02 = \"FAIL\"", "RS-TLS-01 = \"INFO\"");
        let r = Expected::parse(&text);
        assert!(matches!(r, Err(ExpectError::Entry { .. })), "{r:?}");
    }

    #[test]
    fn a_bad_verdict_is_refused() {
        let r =
            Expected::parse("[reference.jwt]\n\"X\" = { verdict = \"MAYBE\", reason = \"r\" }\n");
        assert!(matches!(r, Err(ExpectError::Parse(_))), "{r:?}");
    }
}
