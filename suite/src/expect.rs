//! The one expectation model of the suite, shared by the self-test (`fixtures/expected/<role>.toml`) and interop
//! (`fixtures/interop/<target>.toml`): a sparse map from check id to the verdict a target must have and why.
//! A check that is not listed expects its base verdict: PASS, or for a self-test defect the reference's verdict.
//! So a new check needs no expectation edit unless some target does not pass it.
//!
//! In a file an entry is a TOML inline table, `"RS-AUD-01.missing" = { verdict = "FAIL", reason = "…" }`. Inside a
//! group that carries a reason of its own (a self-test defect, whose flips share the defect's reason), an entry may
//! be just the verdict, `RS-AUD-02 = "FAIL"`, and takes the group's reason. Every entry ends up with a reason.

use std::collections::BTreeMap;
use std::fmt;

use mcp_auth_reports::{CheckResult, Verdict};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// What a target must show for one check, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub verdict: Verdict,
    /// Why (never empty): what a reviewer can confirm from the evidence.
    pub reason: String,
}

/// Check id → the entry, for every check whose verdict differs from its base; everything else expects the base.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectation {
    pub entries: BTreeMap<String, Entry>,
}

/// An entry as written: a table with a verdict and an optional reason, or just the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    pub verdict: Verdict,
    pub reason: Option<String>,
}

/// Entries as written, keyed by check id.
pub type RawEntries = BTreeMap<String, RawEntry>;

/// An entry that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("{id}: {verdict} without a reason (every listed verdict says why)")]
    NoReason { id: String, verdict: Verdict },
    #[error(
        "{id}: lists {verdict}, which an unlisted check expects already (list only what differs)"
    )]
    Redundant { id: String, verdict: Verdict },
}

/// An expectation file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    #[error("invalid expectation file: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("expectation file, {context}: {source}")]
    Entry {
        context: String,
        #[source]
        source: EntryError,
    },
}

/// Where a report and its expectation disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// A listed check has another verdict.
    Changed {
        id: String,
        verdict: Verdict,
        expected: Verdict,
        detail: String,
    },
    /// A check that is not listed does not have its base verdict (PASS, unless a self-test defect's reference).
    Unlisted {
        id: String,
        verdict: Verdict,
        expected: Verdict,
        detail: String,
    },
    /// A listed check the report does not have: the entry is stale.
    Stale { id: String, expected: Verdict },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Changed {
                id,
                verdict,
                expected,
                detail,
            } => write!(f, "{id}: {verdict} (expected {expected}) — {detail}"),
            Difference::Unlisted {
                id,
                verdict,
                expected,
                detail,
            } => write!(
                f,
                "{id}: {verdict} but not listed (expected {expected}) — {detail}"
            ),
            Difference::Stale { id, expected } => write!(
                f,
                "{id}: listed as {expected} but the report has no such check (stale entry)"
            ),
        }
    }
}

impl Expectation {
    /// Resolves entries as written: each takes its own reason, else the group's; an entry without either, or one
    /// that lists its base verdict (`base(id)`), is refused.
    pub fn resolve(
        raw: RawEntries,
        group_reason: Option<&str>,
        base: impl Fn(&str) -> Verdict,
    ) -> Result<Expectation, EntryError> {
        let group = group_reason.map(str::trim).filter(|r| !r.is_empty());
        let mut entries = BTreeMap::new();
        for (id, e) in raw {
            if e.verdict == base(&id) {
                return Err(EntryError::Redundant {
                    id,
                    verdict: e.verdict,
                });
            }
            let own = e.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
            let Some(reason) = own.or(group) else {
                return Err(EntryError::NoReason {
                    id,
                    verdict: e.verdict,
                });
            };
            let reason = reason.to_owned();
            entries.insert(
                id,
                Entry {
                    verdict: e.verdict,
                    reason,
                },
            );
        }
        Ok(Expectation { entries })
    }

    /// [`Expectation::resolve`] with PASS as every check's base and no group reason.
    pub fn resolve_sparse(raw: RawEntries) -> Result<Expectation, EntryError> {
        Self::resolve(raw, None, |_| Verdict::Pass)
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    /// The expected verdict of a check: the listed one, else `base`.
    pub fn verdict_or(&self, id: &str, base: Verdict) -> Verdict {
        self.get(id).map_or(base, |e| e.verdict)
    }

    /// The expected verdict of a check: the listed one, else PASS.
    pub fn verdict(&self, id: &str) -> Verdict {
        self.verdict_or(id, Verdict::Pass)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every difference between the checks and this expectation, where an unlisted check expects `base(id)`:
    /// changed verdicts and unlisted ones in report order, then stale entries.
    pub fn compare_with(
        &self,
        checks: &[CheckResult],
        base: impl Fn(&str) -> Verdict,
    ) -> Vec<Difference> {
        let mut out = Vec::new();
        for c in checks {
            let detail = format!("{} {}", c.actual, c.message);
            match self.get(&c.id) {
                Some(e) if e.verdict != c.verdict => out.push(Difference::Changed {
                    id: c.id.clone(),
                    verdict: c.verdict,
                    expected: e.verdict,
                    detail,
                }),
                Some(_) => {}
                None => {
                    let expected = base(&c.id);
                    if c.verdict != expected {
                        out.push(Difference::Unlisted {
                            id: c.id.clone(),
                            verdict: c.verdict,
                            expected,
                            detail,
                        });
                    }
                }
            }
        }
        for (id, e) in &self.entries {
            if !checks.iter().any(|c| &c.id == id) {
                out.push(Difference::Stale {
                    id: id.clone(),
                    expected: e.verdict,
                });
            }
        }
        out
    }

    /// [`Expectation::compare_with`] where every unlisted check must PASS.
    pub fn compare(&self, checks: &[CheckResult]) -> Vec<Difference> {
        self.compare_with(checks, |_| Verdict::Pass)
    }

    /// The entries as TOML lines, `id = { verdict = "…", reason = "…" }`; an entry whose reason is the group's is
    /// written as just its verdict.
    pub fn write_toml(&self, out: &mut String, group_reason: Option<&str>) {
        for (id, e) in &self.entries {
            if group_reason == Some(e.reason.as_str()) {
                out.push_str(&format!(
                    "{} = {}\n",
                    toml_key(id),
                    toml_string(e.verdict.as_str())
                ));
            } else {
                out.push_str(&format!(
                    "{} = {{ verdict = {}, reason = {} }}\n",
                    toml_key(id),
                    toml_string(e.verdict.as_str()),
                    toml_string(&e.reason)
                ));
            }
        }
    }
}

/// A TOML key: bare when it may be, quoted otherwise (check ids with a `.` variant suffix).
pub fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        k.to_owned()
    } else {
        toml_string(k)
    }
}

/// A TOML string literal.
pub fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            verdict: Verdict,
            #[serde(default)]
            reason: Option<String>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a verdict ("FAIL") or a table { verdict = "FAIL", reason = "…" }"#)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawEntry, E> {
                let verdict = s.parse::<Verdict>().map_err(E::custom)?;
                Ok(RawEntry {
                    verdict,
                    reason: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEntry, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawEntry {
                    verdict: t.verdict,
                    reason: t.reason,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawEntries {
        #[derive(Deserialize)]
        struct F {
            expect: RawEntries,
        }
        toml::from_str::<F>(text).unwrap().expect
    }

    fn check(id: &str, verdict: Verdict) -> CheckResult {
        serde_json::from_value(serde_json::json!({
            "id": id, "title": "t", "role": "server", "level": "MUST", "verdict": verdict,
            "spec_refs": [], "expected": "", "actual": "seen", "message": "", "evidence": [], "duration_ms": 0
        }))
        .unwrap()
    }

    fn expectation(text: &str) -> Expectation {
        Expectation::resolve_sparse(raw(text)).unwrap()
    }

    #[test]
    fn an_unlisted_check_expects_pass() {
        let e =
            expectation("[expect]\nRS-TLS-01 = { verdict = \"INFO\", reason = \"loopback\" }\n");
        assert_eq!(e.verdict("RS-PRM-01"), Verdict::Pass);
        assert_eq!(e.verdict("RS-TLS-01"), Verdict::Info);
        let checks = [
            check("RS-PRM-01", Verdict::Pass),
            check("RS-TLS-01", Verdict::Info),
        ];
        assert_eq!(e.compare(&checks), vec![]);
    }

    #[test]
    fn a_listed_entry_without_a_reason_is_refused_at_load() {
        for text in [
            "[expect]\nRS-TLS-01 = \"INFO\"\n",
            "[expect]\nRS-TLS-01 = { verdict = \"INFO\" }\n",
            "[expect]\nRS-TLS-01 = { verdict = \"INFO\", reason = \"  \" }\n",
        ] {
            assert_eq!(
                Expectation::resolve_sparse(raw(text)),
                Err(EntryError::NoReason {
                    id: "RS-TLS-01".into(),
                    verdict: Verdict::Info
                }),
                "{text}"
            );
        }
    }

    #[test]
    fn a_listed_pass_is_refused_at_load() {
        let r = Expectation::resolve_sparse(raw(
            "[expect]\nRS-PRM-01 = { verdict = \"PASS\", reason = \"fine\" }\n",
        ));
        assert!(matches!(r, Err(EntryError::Redundant { .. })), "{r:?}");
    }

    #[test]
    fn a_bare_verdict_takes_the_group_reason() {
        let e = Expectation::resolve(
            raw("[expect]\nRS-AUD-02 = \"FAIL\"\nRS-TOK-01 = { verdict = \"FAIL\", reason = \"umbrella\" }\n"),
            Some("accepts any aud"),
            |_| Verdict::Pass,
        )
        .unwrap();
        assert_eq!(e.get("RS-AUD-02").unwrap().reason, "accepts any aud");
        assert_eq!(e.get("RS-TOK-01").unwrap().reason, "umbrella");
    }

    #[test]
    fn an_entry_equal_to_its_base_is_refused() {
        let r = Expectation::resolve(raw("[expect]\nRS-TLS-01 = \"INFO\"\n"), Some("r"), |_| {
            Verdict::Info
        });
        assert!(matches!(r, Err(EntryError::Redundant { .. })), "{r:?}");
    }

    #[test]
    fn a_bad_verdict_or_an_unknown_field_is_refused_at_parse() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct F {
            expect: RawEntries,
        }
        assert!(toml::from_str::<F>("[expect]\nX = \"MAYBE\"\n").is_err());
        assert!(
            toml::from_str::<F>("[expect]\nX = { verdict = \"FAIL\", why = \"r\" }\n").is_err()
        );
    }

    #[test]
    fn a_stale_listed_id_is_reported() {
        let e = expectation("[expect]\nRS-GONE-01 = { verdict = \"FAIL\", reason = \"r\" }\n");
        assert_eq!(
            e.compare(&[check("RS-PRM-01", Verdict::Pass)]),
            vec![Difference::Stale {
                id: "RS-GONE-01".into(),
                expected: Verdict::Fail
            }]
        );
    }

    #[test]
    fn a_non_pass_unlisted_check_is_a_difference() {
        let e = Expectation::default();
        let d = e.compare(&[check("RS-WWW-04", Verdict::Warn)]);
        assert!(
            matches!(&d[..], [Difference::Unlisted { id, verdict: Verdict::Warn, expected: Verdict::Pass, .. }] if id == "RS-WWW-04"),
            "{d:?}"
        );
    }

    #[test]
    fn a_listed_check_with_another_verdict_is_a_difference() {
        let e = expectation("[expect]\nRS-AUD-02 = { verdict = \"FAIL\", reason = \"r\" }\n");
        let d = e.compare(&[check("RS-AUD-02", Verdict::Pass)]);
        assert!(
            matches!(
                &d[..],
                [Difference::Changed {
                    verdict: Verdict::Pass,
                    expected: Verdict::Fail,
                    ..
                }]
            ),
            "{d:?}"
        );
    }

    #[test]
    fn an_unlisted_check_follows_the_given_base() {
        let e = Expectation::default();
        let checks = [check("RS-TLS-01", Verdict::Info)];
        assert_eq!(e.compare_with(&checks, |_| Verdict::Info), vec![]);
        assert_eq!(e.compare(&checks).len(), 1);
    }

    #[test]
    fn written_entries_read_back_the_same() {
        let e = Expectation::resolve(
            raw(concat!(
                "[expect]\n",
                "\"RS-AUD-01.missing\" = { verdict = \"FAIL\", reason = \"served \\\"as is\\\"\" }\n",
                "RS-AUD-02 = \"FAIL\"\n"
            )),
            Some("group"),
            |_| Verdict::Pass,
        )
        .unwrap();
        let mut text = String::from("[expect]\n");
        e.write_toml(&mut text, Some("group"));
        assert!(text.contains("RS-AUD-02 = \"FAIL\"\n"), "{text}");
        let back = Expectation::resolve(raw(&text), Some("group"), |_| Verdict::Pass).unwrap();
        assert_eq!(back, e);
    }
}
