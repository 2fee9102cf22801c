//! The requirements catalog (`catalog/*.toml` at the repository root, embedded at build time): every row checks
//! trace to, with its level, text, spec references, how it moves across spec revisions, the black-box test the
//! catalog designs for it, a remediation sentence, and, for a row no check covers, why. The adversarial scenarios
//! are `catalog/adversarial.toml`; the prose the rows rely on (sources, conventions, interop notes) is
//! `catalog/README.md`. The schema is documented at the top of each file.

use std::sync::OnceLock;

use mcp_auth_reports::{Level, Role};
use serde::Deserialize;

use crate::spec::{Extension, Extensions, SpecVersion, TlsProfile};

/// `catalog/server.toml`, as built into the binary: the `RS-*` rows.
pub const SERVER_TOML: &str = include_str!("../../catalog/server.toml");
/// `catalog/client.toml`, as built into the binary: the `CL-*` rows.
pub const CLIENT_TOML: &str = include_str!("../../catalog/client.toml");
/// `catalog/authz.toml`, as built into the binary: the `AS-*` rows.
pub const AUTHZ_TOML: &str = include_str!("../../catalog/authz.toml");
/// `catalog/any.toml`, as built into the binary: the `ANY-*` rows, which bind every role.
pub const ANY_TOML: &str = include_str!("../../catalog/any.toml");
/// `catalog/adversarial.toml`, as built into the binary: the `ADV-*` scenarios.
pub const ADVERSARIAL_TOML: &str = include_str!("../../catalog/adversarial.toml");

/// `catalog/sdk-notes.toml`, as built into the binary: product-specific hints shown with a row's remediation.
pub const SDK_NOTES_TOML: &str = include_str!("../../catalog/sdk-notes.toml");

/// The requirement files: (path in the repository, text).
pub const FILES: [(&str, &str); 4] = [
    ("catalog/server.toml", SERVER_TOML),
    ("catalog/client.toml", CLIENT_TOML),
    ("catalog/authz.toml", AUTHZ_TOML),
    ("catalog/any.toml", ANY_TOML),
];

/// One file's rows, or all of them.
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
    /// The level as the catalog words it, when it says more (`MUST NOT (cond: JWT)`, `MUST*`, …).
    #[serde(default)]
    pub level_note: Option<String>,
    pub text: String,
    pub spec_refs: Vec<String>,
    pub revisions: Revisions,
    /// The optional extension the row belongs to (`dpop`, `client-credentials`, …): scored only when the run opts
    /// in (`--extension`).
    #[serde(default)]
    pub extension: Option<String>,
    /// `"strict"`: the row needs real TLS (a certificate check) and is scored only under `--tls-profile strict`.
    #[serde(default)]
    pub tls: Option<String>,
    /// The black-box test the catalog designs for the row.
    #[serde(default)]
    pub test: Option<String>,
    /// Why no check covers the row.
    #[serde(default)]
    pub not_automated: Option<String>,
    pub remediation: String,
}

/// How a row moves across spec revisions (MCP revision names, `YYYY-MM-DD`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revisions {
    pub introduced: String,
    /// The first revision that no longer states the requirement.
    #[serde(default)]
    pub removed: Option<String>,
    #[serde(default)]
    pub should_from: Option<String>,
    #[serde(default)]
    pub must_from: Option<String>,
}

impl Revisions {
    /// What is wrong with these dates: a name that is not a published revision, a level change or a removal
    /// that does not come after the introduction, a level change at or after the removal. Empty when sound.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let named = [
            ("introduced", Some(&self.introduced)),
            ("should_from", self.should_from.as_ref()),
            ("must_from", self.must_from.as_ref()),
            ("removed", self.removed.as_ref()),
        ];
        for (field, date) in named {
            if let Some(d) = date.filter(|d| d.parse::<SpecVersion>().is_err()) {
                let known: Vec<&str> = SpecVersion::ALL.iter().map(|v| v.as_str()).collect();
                problems.push(format!(
                    "{field} `{d}` is not a revision ({})",
                    known.join(", ")
                ));
            }
        }
        for (field, date) in [
            ("should_from", &self.should_from),
            ("must_from", &self.must_from),
        ] {
            if let Some(d) = date.as_ref().filter(|d| **d < self.introduced) {
                problems.push(format!(
                    "{field} {d} comes before introduced {}",
                    self.introduced
                ));
            }
            if let (Some(d), Some(removed)) = (date, &self.removed) {
                if d >= removed {
                    problems.push(format!("{field} {d} is not before removed {removed}"));
                }
            }
        }
        if let (Some(should), Some(must)) = (&self.should_from, &self.must_from) {
            if should >= must {
                problems.push(format!(
                    "should_from {should} is not before must_from {must}"
                ));
            }
        }
        if let Some(removed) = self.removed.as_ref().filter(|r| **r <= self.introduced) {
            problems.push(format!(
                "removed {removed} is not after introduced {}",
                self.introduced
            ));
        }
        problems
    }
}

/// The adversarial scenarios.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenarios {
    #[serde(rename = "scenario", default)]
    pub scenarios: Vec<Scenario>,
}

/// One adversarial scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    pub attack: String,
    /// `RS`, `CL` and/or `AS`.
    pub targets: Vec<String>,
    #[serde(default)]
    pub target_note: Option<String>,
    pub simulation: String,
    pub pass: String,
    /// The rows the scenario exercises.
    pub defends: Vec<String>,
}

/// Product-specific remediation hints (`catalog/sdk-notes.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdkNotes {
    #[serde(rename = "note", default)]
    pub notes: Vec<SdkNoteRow>,
}

/// One hint: for which rows, which product, what to configure, and the source it was verified against.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdkNoteRow {
    pub rows: Vec<String>,
    pub sdk: String,
    pub note: String,
    pub source: String,
    /// The interop targets (`fixtures/interop/<target>.toml`) whose verdicts show the pattern.
    pub seen_in: Vec<String>,
}

impl SdkNotes {
    pub fn parse(text: &str) -> Result<SdkNotes, toml::de::Error> {
        toml::from_str(text)
    }

    /// The notes, parsed once (a parse error is a build defect, see [`Catalog::all`]).
    pub fn all() -> &'static SdkNotes {
        static ALL: OnceLock<SdkNotes> = OnceLock::new();
        ALL.get_or_init(|| {
            SdkNotes::parse(SDK_NOTES_TOML)
                .unwrap_or_else(|e| panic!("catalog/sdk-notes.toml: {e}"))
        })
    }

    /// The notes for a row, as the report model carries them.
    pub fn for_row(&self, row: &str) -> Vec<mcp_auth_reports::SdkNote> {
        self.notes
            .iter()
            .filter(|n| n.rows.iter().any(|r| r == row))
            .map(|n| {
                mcp_auth_reports::SdkNote::new(
                    n.sdk.trim(),
                    n.note.trim(),
                    Some(n.source.trim().to_owned()),
                )
            })
            .collect()
    }
}

impl Requirement {
    /// The row's level as the checks spell it (None: not a BCP 14 keyword the catalog allows).
    pub fn level(&self) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == self.level)
    }

    /// The file the row lives in.
    pub fn file(&self) -> &'static str {
        file_of(&self.id)
    }

    /// The revision line `explain` prints.
    pub fn revisions_line(&self) -> String {
        let mut line = format!("introduced {}", self.revisions.introduced);
        if let Some(d) = &self.revisions.should_from {
            line.push_str(&format!(", SHOULD from {d}"));
        }
        if let Some(d) = &self.revisions.must_from {
            line.push_str(&format!(", MUST from {d}"));
        }
        if let Some(d) = &self.revisions.removed {
            line.push_str(&format!(", removed in {d}"));
        }
        if let Some(e) = &self.extension {
            line.push_str(&format!("; extension {e} (scored with --extension {e})"));
        }
        if self.tls.is_some() {
            line.push_str("; needs real TLS (scored with --tls-profile strict)");
        }
        line
    }

    /// The row's level under revision `spec`: MUST from `must_from` on; SHOULD from `should_from` on (before
    /// it, MAY); a row that becomes a MUST without a `should_from` is, before `must_from`, a SHOULD when its
    /// default level is MUST and its default level otherwise. `None` when the level or a date does not parse.
    pub fn level_at(&self, spec: SpecVersion) -> Option<Level> {
        let date = |d: &Option<String>| -> Option<Option<SpecVersion>> {
            match d {
                None => Some(None),
                Some(d) => d.parse::<SpecVersion>().ok().map(Some),
            }
        };
        let (should_from, must_from) = (
            date(&self.revisions.should_from)?,
            date(&self.revisions.must_from)?,
        );
        let default = self.level()?;
        Some(match (should_from, must_from) {
            (_, Some(m)) if spec >= m => Level::Must,
            (Some(s), _) if spec >= s => Level::Should,
            (Some(_), _) => Level::May,
            (None, Some(_)) if default == Level::Must => Level::Should,
            _ => default,
        })
    }

    /// Whether the row is scored in a run at revision `spec` with the extensions `extensions`: the revision is
    /// within the row's (introduced, removed) and the row's extension, if any, is opted in. A row whose dates or
    /// extension do not parse applies nowhere (a catalog test keeps every row parseable).
    pub fn applies(&self, spec: SpecVersion, extensions: &Extensions) -> bool {
        let Ok(introduced) = self.revisions.introduced.parse::<SpecVersion>() else {
            return false;
        };
        let removed = match &self.revisions.removed {
            None => None,
            Some(r) => match r.parse::<SpecVersion>() {
                Ok(v) => Some(v),
                Err(_) => return false,
            },
        };
        let extension_on = match &self.extension {
            None => true,
            Some(e) => e.parse::<Extension>().is_ok_and(|e| extensions.contains(e)),
        };
        spec.within(introduced, removed) && extension_on
    }
}

/// The level a check is scored at under revision `spec`: its own level, unless its row's level moved across
/// revisions (`should_from`, `must_from`) and the check is scored at the row's default level, in which case the
/// row's level at `spec` (a check with its own, explained level keeps it: `LEVEL_EXCEPTIONS`).
pub fn check_level_at(meta: &crate::check::CheckMeta, spec: SpecVersion) -> Level {
    let Some(row) = Catalog::all().row(meta.row()) else {
        return meta.level;
    };
    match (row.level(), row.level_at(spec)) {
        (Some(default), Some(at)) if default == meta.level => at,
        _ => meta.level,
    }
}

/// Whether the check `id` (a row id, or a row id with a variant) is scored at `spec` with `extensions`. A check
/// whose row the catalog lacks is kept (a catalog test keeps every check traced).
pub fn applies(id: &str, spec: SpecVersion, extensions: &Extensions) -> bool {
    let row = id.split('.').next().unwrap_or(id);
    Catalog::all()
        .row(row)
        .is_none_or(|r| r.applies(spec, extensions))
}

/// Whether the check `id` is scored under the TLS profile `tls`: a row marked `tls = "strict"` only under strict
/// (a row whose `tls` does not parse applies nowhere; a catalog test keeps every row parseable).
pub fn applies_under(id: &str, tls: TlsProfile) -> bool {
    let row = id.split('.').next().unwrap_or(id);
    Catalog::all()
        .row(row)
        .and_then(|r| r.tls.as_deref())
        .is_none_or(|needs| needs.parse::<TlsProfile>().is_ok_and(|p| p == tls))
}

/// The catalog file a row id belongs to, by prefix.
pub fn file_of(id: &str) -> &'static str {
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("RS-") {
        "catalog/server.toml"
    } else if upper.starts_with("CL-") {
        "catalog/client.toml"
    } else if upper.starts_with("AS-") {
        "catalog/authz.toml"
    } else if upper.starts_with("ADV-") {
        "catalog/adversarial.toml"
    } else {
        "catalog/any.toml"
    }
}

impl Catalog {
    pub fn parse(text: &str) -> Result<Catalog, toml::de::Error> {
        toml::from_str(text)
    }

    /// The server role's rows (`catalog/server.toml`).
    pub fn server() -> Result<Catalog, toml::de::Error> {
        Catalog::parse(SERVER_TOML)
    }

    /// The client role's rows (`catalog/client.toml`).
    pub fn client() -> Result<Catalog, toml::de::Error> {
        Catalog::parse(CLIENT_TOML)
    }

    /// The authorization server role's rows (`catalog/authz.toml`).
    pub fn authz() -> Result<Catalog, toml::de::Error> {
        Catalog::parse(AUTHZ_TOML)
    }

    /// The rows that bind every role (`catalog/any.toml`).
    pub fn any() -> Result<Catalog, toml::de::Error> {
        Catalog::parse(ANY_TOML)
    }

    /// One role's rows.
    pub fn for_role(role: Role) -> Result<Catalog, toml::de::Error> {
        match role {
            Role::Server => Catalog::server(),
            Role::Client => Catalog::client(),
            Role::Authz => Catalog::authz(),
        }
    }

    /// Every row of every file, parsed once. The files are built in and a unit test parses each, so a parse
    /// error here is a build defect.
    pub fn all() -> &'static Catalog {
        static ALL: OnceLock<Catalog> = OnceLock::new();
        ALL.get_or_init(|| {
            let mut requirements = Vec::new();
            for (path, text) in FILES {
                let file = Catalog::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
                requirements.extend(file.requirements);
            }
            Catalog { requirements }
        })
    }

    pub fn row(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }

    /// A row by id, ignoring ASCII case (`rs-aud-01`).
    pub fn row_ignore_case(&self, id: &str) -> Option<&Requirement> {
        self.requirements
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(id))
    }
}

impl Scenarios {
    pub fn parse(text: &str) -> Result<Scenarios, toml::de::Error> {
        toml::from_str(text)
    }

    /// The adversarial scenarios, parsed once (a parse error is a build defect, see [`Catalog::all`]).
    pub fn all() -> &'static Scenarios {
        static ALL: OnceLock<Scenarios> = OnceLock::new();
        ALL.get_or_init(|| {
            Scenarios::parse(ADVERSARIAL_TOML)
                .unwrap_or_else(|e| panic!("catalog/adversarial.toml: {e}"))
        })
    }

    /// The scenarios that defend a row.
    pub fn defending(&self, row: &str) -> Vec<&Scenario> {
        self.scenarios
            .iter()
            .filter(|s| s.defends.iter().any(|d| d == row))
            .collect()
    }
}

/// The URL of a spec reference (one mapping for the reports, `explain` and these tests).
pub use mcp_auth_reports::spec::spec_url;

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::check::CheckMeta;

    /// The rows transcribed from the requirements catalog, per file. `client.toml` also holds `CL-MIG-01`
    /// (SEP-2352), which the suite added, and the six 2026-07-28 rows (CL-MIX-04, CL-SCP-08/09, CL-RT-03,
    /// CL-REG-04, CL-MIG-02).
    const ROWS_PER_FILE: [(&str, usize); 4] = [
        ("catalog/server.toml", 68),
        ("catalog/client.toml", 97),
        ("catalog/authz.toml", 119),
        ("catalog/any.toml", 10),
    ];
    const SCENARIOS: usize = 50;

    /// Checks whose level differs from their row's. The checks are left as they are (their verdicts are part of
    /// the published reports); each difference is explained here.
    const LEVEL_EXCEPTIONS: &[(&str, &str)] = &[
        ("RS-TOK-03.jwt", "the row is SHOULD in general but its level note says MUST for RFC 9068 JWT access tokens; this variant tests exactly that case"),
        ("CL-RED-05", "NOT RECOMMENDED is SHOULD-class, but the catalog's test scores a `localhost` redirect INFO ([I]; interop note catalog §4.5)"),
        ("AS-AZ-16", "the row is a MUST NOT, but the check is a heuristic (the code neither contains nor decodes to the challenge) that the catalog's test scores INFO"),
        ("AS-TK-12", "the row is a SHOULD with no number; the check's 3600 s threshold is the suite's own, so the catalog's test scores it INFO"),
        ("AS-DCR-01", "DCR is a MAY for the AS (cond: DCR), but the check runs only when registration_endpoint is advertised, and an offered endpoint must answer RFC 7591 §3.2.1 201 with a client_id"),
    ];

    /// Spec references with no document to link (none so far).
    const UNLINKABLE: &[&str] = &[];

    fn metas() -> Vec<CheckMeta> {
        crate::registry::metas(None)
    }

    #[test]
    fn every_file_parses_and_holds_the_transcribed_number_of_rows() {
        for ((path, text), (expected_path, expected)) in FILES.into_iter().zip(ROWS_PER_FILE) {
            assert_eq!(path, expected_path);
            let file = Catalog::parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(file.requirements.len(), expected, "{path}");
            for r in &file.requirements {
                assert_eq!(r.file(), path, "{} is in the wrong file", r.id);
            }
        }
        assert_eq!(
            Catalog::all().requirements.len(),
            ROWS_PER_FILE.iter().map(|(_, n)| n).sum::<usize>()
        );
        assert_eq!(Scenarios::all().scenarios.len(), SCENARIOS);
    }

    #[test]
    fn rows_are_unique_and_complete() {
        let mut seen = BTreeSet::new();
        for r in &Catalog::all().requirements {
            assert!(seen.insert(r.id.as_str()), "{} twice", r.id);
            assert!(r.level().is_some(), "{}: level {}", r.id, r.level);
            assert!(!r.text.trim().is_empty(), "{}: no text", r.id);
            assert!(!r.spec_refs.is_empty(), "{}: no spec_refs", r.id);
            assert!(
                r.spec_refs.iter().all(|s| !s.trim().is_empty()),
                "{}: an empty spec ref",
                r.id
            );
            assert!(!r.remediation.trim().is_empty(), "{}: no remediation", r.id);
            for note in [&r.level_note, &r.test, &r.not_automated] {
                assert!(
                    note.as_ref().is_none_or(|n| !n.trim().is_empty()),
                    "{}: an empty optional field",
                    r.id
                );
            }
            assert_eq!(r.revisions.problems(), Vec::<String>::new(), "{}", r.id);
            if let Some(t) = &r.tls {
                assert_eq!(t, "strict", "{}: tls is `strict` or absent", r.id);
            }
            if let Some(e) = &r.extension {
                assert!(
                    e.parse::<Extension>().is_ok(),
                    "{}: extension `{e}` is not one the suite knows",
                    r.id
                );
            }
        }
    }

    fn revisions(introduced: &str, removed: Option<&str>) -> Revisions {
        Revisions {
            introduced: introduced.to_owned(),
            removed: removed.map(str::to_owned),
            should_from: None,
            must_from: None,
        }
    }

    #[test]
    fn a_row_removed_after_it_was_introduced_is_sound() {
        assert!(revisions("2025-06-18", Some("2025-11-25"))
            .problems()
            .is_empty());
    }

    #[test]
    fn a_row_removed_in_the_revision_that_introduced_it_is_refused() {
        let problems = revisions("2025-06-18", Some("2025-06-18")).problems();
        assert_eq!(
            problems,
            ["removed 2025-06-18 is not after introduced 2025-06-18"]
        );
    }

    #[test]
    fn a_row_removed_before_it_was_introduced_is_refused() {
        let problems = revisions("2025-11-25", Some("2025-03-26")).problems();
        assert_eq!(
            problems,
            ["removed 2025-03-26 is not after introduced 2025-11-25"]
        );
    }

    #[test]
    fn a_level_change_at_or_after_the_removal_is_refused() {
        let mut r = revisions("2025-03-26", Some("2025-06-18"));
        r.must_from = Some("2025-06-18".to_owned());
        assert_eq!(
            r.problems(),
            ["must_from 2025-06-18 is not before removed 2025-06-18"]
        );
    }

    #[test]
    fn a_date_that_is_not_a_revision_is_refused() {
        let problems = revisions("2025-11-26", None).problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("introduced `2025-11-26` is not a revision"),
            "{problems:?}"
        );
    }

    /// Spot checks of the revision data against the texts (catalog/README.md §2): one row per kind of move.
    #[test]
    fn rows_carry_the_revision_whose_text_first_states_them() {
        let at = |id: &str| {
            Catalog::all()
                .row(id)
                .unwrap_or_else(|| panic!("{id}"))
                .revisions
                .clone()
        };
        // 2025-03-26 already requires the 401 and OAuth 2.1 token validation.
        assert_eq!(at("RS-WWW-01").introduced, "2025-03-26");
        assert_eq!(at("RS-TOK-02").introduced, "2025-03-26");
        assert_eq!(at("CL-PKCE-04").introduced, "2025-03-26");
        // Protected resource metadata and resource indicators arrive with 2025-06-18.
        assert_eq!(at("RS-PRM-01").introduced, "2025-06-18");
        assert_eq!(at("CL-RES-01").introduced, "2025-06-18");
        // The discovery order, scope selection, PKCE verification and CIMD are 2025-11-25.
        assert_eq!(at("CL-PRM-03").introduced, "2025-11-25");
        assert_eq!(at("CL-PKCE-02").introduced, "2025-11-25");
        assert_eq!(at("AS-CIMD-02").introduced, "2025-11-25");
        // Rotation was a SHOULD in 2025-03-26 and is a MUST from 2025-06-18.
        let rt = at("AS-RT-01");
        assert_eq!(
            (
                rt.introduced.as_str(),
                rt.should_from.as_deref(),
                rt.must_from.as_deref()
            ),
            ("2025-03-26", Some("2025-03-26"), Some("2025-06-18"))
        );
        // Session ids left with the stateless 2026-07-28 protocol.
        assert_eq!(at("RS-TOK-09").removed.as_deref(), Some("2026-07-28"));
    }

    #[test]
    fn every_check_of_every_role_traces_to_a_row() {
        let catalog = Catalog::all();
        let orphans: Vec<&str> = metas()
            .iter()
            .filter(|m| catalog.row(m.row()).is_none())
            .map(|m| m.id)
            .collect();
        assert_eq!(orphans, Vec::<&str>::new(), "checks with no catalog row");
    }

    #[test]
    fn every_row_is_covered_by_a_check_or_says_why_not_never_both() {
        let covered: BTreeSet<&str> = metas().iter().map(|m| m.row()).collect();
        for r in &Catalog::all().requirements {
            match (covered.contains(r.id.as_str()), &r.not_automated) {
                (true, Some(why)) => {
                    panic!("{}: covered by a check, yet not_automated = {why:?}", r.id)
                }
                (false, None) => panic!("{}: no check covers it and no not_automated reason", r.id),
                (false, Some(why)) => assert!(
                    why.trim().len() >= 20,
                    "{}: reason too short: {why:?}",
                    r.id
                ),
                (true, None) => {}
            }
        }
    }

    #[test]
    fn every_check_has_its_rows_level_or_an_explained_exception() {
        let catalog = Catalog::all();
        let exceptions: BTreeMap<&str, &str> = LEVEL_EXCEPTIONS.iter().copied().collect();
        let mut differing = BTreeSet::new();
        for m in metas() {
            let Some(row) = catalog.row(m.row()) else {
                continue;
            };
            if row.level() != Some(m.level) {
                differing.insert(m.id);
                assert!(
                    exceptions.contains_key(m.id),
                    "{}: the check says {}, catalog row {} says {} (not in LEVEL_EXCEPTIONS)",
                    m.id,
                    m.level.as_str(),
                    row.id,
                    row.level
                );
            }
        }
        let stale: Vec<&str> = exceptions
            .keys()
            .filter(|id| !differing.contains(*id))
            .copied()
            .collect();
        assert_eq!(
            stale,
            Vec::<&str>::new(),
            "exceptions that no longer differ"
        );
        for (id, why) in LEVEL_EXCEPTIONS {
            assert!(why.len() >= 20, "{id}: explain the exception");
        }
    }

    #[test]
    fn every_spec_ref_of_rows_and_checks_links_somewhere() {
        let mut refs: BTreeSet<String> = Catalog::all()
            .requirements
            .iter()
            .flat_map(|r| r.spec_refs.iter().cloned())
            .collect();
        refs.extend(
            metas()
                .iter()
                .flat_map(|m| m.spec_refs.iter().map(|s| s.to_string())),
        );
        for r in &refs {
            if UNLINKABLE.contains(&r.as_str()) {
                assert!(
                    spec_url(r).is_none(),
                    "{r} links now; drop it from UNLINKABLE"
                );
                continue;
            }
            let url = spec_url(r).unwrap_or_else(|| panic!("no URL for spec ref `{r}`"));
            assert!(url.starts_with("https://"), "{r}: {url}");
        }
    }

    #[test]
    fn every_sdk_note_names_real_rows_an_interop_target_and_its_source() {
        let catalog = Catalog::all();
        let notes = &SdkNotes::all().notes;
        assert!(!notes.is_empty());
        for n in notes {
            assert!(!n.rows.is_empty(), "{}: a note for no row", n.sdk);
            for row in &n.rows {
                assert!(catalog.row(row).is_some(), "{}: unknown row {row}", n.sdk);
            }
            assert!(
                n.note.trim().len() >= 40,
                "{}: say what to configure",
                n.sdk
            );
            assert!(
                n.source.starts_with("https://"),
                "{}: the source the note was verified against",
                n.sdk
            );
            for target in &n.seen_in {
                let path = format!(
                    "{}/../fixtures/interop/{target}.toml",
                    env!("CARGO_MANIFEST_DIR")
                );
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: seen_in {target}: {path}: {e}", n.sdk));
                let file: toml::Table = toml::from_str(&text).expect("an interop expectation file");
                let listed = file
                    .get("expect")
                    .and_then(toml::Value::as_table)
                    .unwrap_or_else(|| panic!("{path}: no [expect] table"));
                let lists = |row: &str| {
                    listed.keys().any(|id| {
                        id.strip_prefix(row)
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                    })
                };
                assert!(
                    n.rows.iter().any(|row| lists(row)),
                    "{}: {target} lists none of {:?} as not passing",
                    n.sdk,
                    n.rows
                );
            }
        }
    }

    #[test]
    fn every_remediation_is_an_instruction() {
        for r in &Catalog::all().requirements {
            let fix = r.remediation.trim();
            assert!(fix.len() >= 40, "{}: remediation too short: {fix:?}", r.id);
            assert!(
                fix.ends_with('.'),
                "{}: remediation is not a sentence: {fix:?}",
                r.id
            );
        }
    }

    #[test]
    fn every_scenario_defends_real_rows() {
        let catalog = Catalog::all();
        let mut seen = BTreeSet::new();
        for s in &Scenarios::all().scenarios {
            assert!(seen.insert(s.id.as_str()), "{} twice", s.id);
            assert!(!s.defends.is_empty(), "{}: defends nothing", s.id);
            for d in &s.defends {
                assert!(
                    catalog.row(d).is_some(),
                    "{}: defends unknown row {d}",
                    s.id
                );
            }
            for t in &s.targets {
                assert!(
                    ["RS", "CL", "AS"].contains(&t.as_str()),
                    "{}: target {t}",
                    s.id
                );
            }
        }
    }

    #[test]
    fn the_client_catalog_has_cl_mig_01_as_a_should_that_becomes_a_must() {
        let catalog = Catalog::client().expect("catalog/client.toml parses");
        let row = catalog
            .row("CL-MIG-01")
            .expect("CL-MIG-01 in catalog/client.toml");
        assert_eq!(row.level(), Some(Level::Should));
        assert_eq!(row.revisions.introduced, "2025-11-25");
        assert_eq!(row.revisions.must_from.as_deref(), Some("2026-07-28"));
        assert!(row.spec_refs.iter().any(|r| r == "SEP-2352"));
    }

    #[test]
    fn rows_are_found_ignoring_case() {
        let catalog = Catalog::all();
        assert_eq!(
            catalog.row_ignore_case("rs-aud-01").map(|r| r.id.as_str()),
            Some("RS-AUD-01")
        );
        assert!(catalog.row_ignore_case("RS-NOPE-99").is_none());
    }

    #[test]
    fn unknown_catalog_keys_are_refused() {
        let text = "[[requirement]]\nid = \"X\"\nlevel = \"MUST\"\ntext = \"t\"\nspec_refs = [\"a\"]\nrevisions = { introduced = \"2025-11-25\" }\nremediation = \"r\"\nseverity = \"high\"\n";
        assert!(Catalog::parse(text).is_err());
    }

    fn row_with(revisions: &str, extension: Option<&str>) -> Requirement {
        let ext = extension
            .map(|e| format!("extension = \"{e}\"\n"))
            .unwrap_or_default();
        let text = format!("[[requirement]]\nid = \"X\"\nlevel = \"MUST\"\ntext = \"t\"\nspec_refs = [\"a\"]\nrevisions = {revisions}\n{ext}remediation = \"r\"\n");
        Catalog::parse(&text).unwrap().requirements.remove(0)
    }

    #[test]
    fn a_strict_tls_row_is_scored_only_under_the_strict_profile() {
        // CL-TOK-04 is a certificate check (catalog/client.toml: tls = "strict"); CL-PRM-01 is not.
        assert!(!applies_under("CL-TOK-04", TlsProfile::Local));
        assert!(applies_under("CL-TOK-04", TlsProfile::Strict));
        assert!(applies_under("CL-PRM-01", TlsProfile::Local));
        assert!(applies_under("CL-PRM-01", TlsProfile::Strict));
    }

    #[test]
    fn a_row_is_not_scored_before_the_revision_that_introduced_it() {
        let row = row_with("{ introduced = \"2025-11-25\" }", None);
        assert!(!row.applies(SpecVersion::V2025_06_18, &Extensions::none()));
        assert!(row.applies(SpecVersion::V2025_11_25, &Extensions::none()));
        assert!(row.applies(SpecVersion::V2026_07_28, &Extensions::none()));
    }

    #[test]
    fn a_removed_row_is_not_scored_from_its_removal_on() {
        let row = row_with(
            "{ introduced = \"2025-03-26\", removed = \"2025-06-18\" }",
            None,
        );
        assert!(row.applies(SpecVersion::V2025_03_26, &Extensions::none()));
        assert!(!row.applies(SpecVersion::V2025_06_18, &Extensions::none()));
    }

    #[test]
    fn an_extension_row_is_scored_only_when_its_extension_is_opted_in() {
        let row = row_with("{ introduced = \"2025-11-25\" }", Some("dpop"));
        let spec = SpecVersion::default();
        assert!(!row.applies(spec, &Extensions::none()));
        assert!(!row.applies(spec, &Extensions::parse("wif").unwrap()));
        assert!(row.applies(spec, &Extensions::parse("dpop").unwrap()));
    }

    #[test]
    fn a_row_that_becomes_a_must_is_a_should_before() {
        let row = row_with(
            "{ introduced = \"2025-03-26\", should_from = \"2025-03-26\", must_from = \"2025-06-18\" }",
            None,
        );
        assert_eq!(row.level_at(SpecVersion::V2025_03_26), Some(Level::Should));
        assert_eq!(row.level_at(SpecVersion::V2025_06_18), Some(Level::Must));
    }

    #[test]
    fn a_should_row_that_becomes_a_must_later_is_a_must_from_then() {
        let mut row = row_with(
            "{ introduced = \"2025-11-25\", must_from = \"2026-07-28\" }",
            None,
        );
        row.level = "SHOULD".into();
        assert_eq!(row.level_at(SpecVersion::V2025_11_25), Some(Level::Should));
        assert_eq!(row.level_at(SpecVersion::V2026_07_28), Some(Level::Must));
    }

    #[test]
    fn a_row_whose_level_never_moved_keeps_it() {
        let row = row_with("{ introduced = \"2025-03-26\" }", None);
        for v in SpecVersion::ALL {
            assert_eq!(row.level_at(v), Some(Level::Must));
        }
    }
}
