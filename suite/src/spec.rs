//! What a run is scored against: the MCP specification revision (`--spec-version`) and the opt-in authorization
//! extensions (`--extension`). Catalog rows carry the revisions they apply to and, for an extension's rows, the
//! extension's name (catalog/README.md §2); [`crate::runner::Selection`] keeps only the rows that apply.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// An MCP specification revision, by its publication date. The order is publication order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum SpecVersion {
    /// The first revision with authorization: the MCP server is its own authorization server (or delegates),
    /// no protected resource metadata, default endpoints when there is no metadata.
    V2025_03_26,
    /// Protected resource metadata (RFC 9728), resource indicators (RFC 8707), the MCP server as a resource server.
    V2025_06_18,
    /// Client ID metadata documents, OpenID discovery, scope selection and step-up. The default.
    #[default]
    V2025_11_25,
    /// Stateless MCP (no initialize; per-request `_meta`), `iss` validation, authorization-server binding.
    V2026_07_28,
}

impl SpecVersion {
    /// Every revision, oldest first.
    pub const ALL: [SpecVersion; 4] = [
        SpecVersion::V2025_03_26,
        SpecVersion::V2025_06_18,
        SpecVersion::V2025_11_25,
        SpecVersion::V2026_07_28,
    ];

    /// The revision's name, as in `MCP-Protocol-Version` and the catalog (`2025-11-25`).
    pub fn as_str(self) -> &'static str {
        match self {
            SpecVersion::V2025_03_26 => "2025-03-26",
            SpecVersion::V2025_06_18 => "2025-06-18",
            SpecVersion::V2025_11_25 => "2025-11-25",
            SpecVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// Whether MCP itself is stateless at this revision: no `initialize` handshake, every request carries its
    /// protocol version and client capabilities in `_meta`.
    pub fn is_stateless(self) -> bool {
        self >= SpecVersion::V2026_07_28
    }

    /// Whether the revision named `introduced` (a catalog date) is this one or an earlier one, and `removed` (the
    /// first revision without the row), if any, is a later one.
    pub fn within(self, introduced: SpecVersion, removed: Option<SpecVersion>) -> bool {
        introduced <= self && removed.is_none_or(|r| self < r)
    }
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a revision this suite knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a known MCP revision (one of 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28)"
)]
pub struct UnknownRevision(pub String);

impl FromStr for SpecVersion {
    type Err = UnknownRevision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpecVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownRevision(s.to_owned()))
    }
}

/// An optional authorization extension (the `ext-auth` extensions and DPoP). Its checks, worlds and catalog rows
/// are scored only when the run opts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Extension {
    /// OAuth client credentials (SEP-1046): `private_key_jwt` or `client_secret_basic`, no user.
    ClientCredentials,
    /// Enterprise-managed authorization (SEP-990): an IdP-issued ID-JAG exchanged for an access token.
    EnterpriseManaged,
    /// DPoP (RFC 9449, SEP-1932): sender-constrained tokens.
    Dpop,
    /// Workload identity federation (SEP-1933): RFC 7523 JWT-bearer assertions.
    Wif,
}

impl Extension {
    /// Every extension, in flag order.
    pub const ALL: [Extension; 4] = [
        Extension::ClientCredentials,
        Extension::EnterpriseManaged,
        Extension::Dpop,
        Extension::Wif,
    ];

    /// The name `--extension` and the catalog's `extension` field use.
    pub fn as_str(self) -> &'static str {
        match self {
            Extension::ClientCredentials => "client-credentials",
            Extension::EnterpriseManaged => "enterprise-managed",
            Extension::Dpop => "dpop",
            Extension::Wif => "wif",
        }
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an extension this suite knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a known extension (one of client-credentials, enterprise-managed, dpop, wif, or all)")]
pub struct UnknownExtension(pub String);

impl FromStr for Extension {
    type Err = UnknownExtension;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Extension::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownExtension(s.to_owned()))
    }
}

/// The extensions a run opts into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions(BTreeSet<Extension>);

impl Extensions {
    /// No extension: the default.
    pub fn none() -> Self {
        Extensions::default()
    }

    /// Every extension (`--extension all`).
    pub fn all() -> Self {
        Extensions(Extension::ALL.into_iter().collect())
    }

    /// `all`, or a comma-separated list of names (blanks around names ignored; an empty list is an error).
    pub fn parse(list: &str) -> Result<Self, UnknownExtension> {
        if list.trim() == "all" {
            return Ok(Extensions::all());
        }
        let mut set = BTreeSet::new();
        for name in list.split(',').map(str::trim) {
            set.insert(name.parse::<Extension>()?);
        }
        Ok(Extensions(set))
    }

    pub fn contains(&self, e: Extension) -> bool {
        self.0.contains(&e)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The opted-in extensions, in flag order.
    pub fn iter(&self) -> impl Iterator<Item = Extension> + '_ {
        self.0.iter().copied()
    }

    /// Their names, for the report.
    pub fn names(&self) -> Vec<String> {
        self.iter().map(|e| e.as_str().to_owned()).collect()
    }
}

impl FromIterator<Extension> for Extensions {
    fn from_iter<I: IntoIterator<Item = Extension>>(iter: I) -> Self {
        Extensions(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_revision_is_2025_11_25() {
        assert_eq!(SpecVersion::default().as_str(), "2025-11-25");
    }

    #[test]
    fn every_revision_reads_back_from_its_name() {
        for v in SpecVersion::ALL {
            assert_eq!(v.as_str().parse::<SpecVersion>(), Ok(v));
        }
    }

    #[test]
    fn an_unknown_revision_is_refused_with_the_known_ones_named() {
        let e = "2025-11-26".parse::<SpecVersion>().unwrap_err();
        assert!(e.to_string().contains("2026-07-28"), "{e}");
    }

    #[test]
    fn only_2026_07_28_is_stateless() {
        let stateless: Vec<_> = SpecVersion::ALL
            .into_iter()
            .filter(|v| v.is_stateless())
            .collect();
        assert_eq!(stateless, [SpecVersion::V2026_07_28]);
    }

    #[test]
    fn a_row_applies_from_its_introduction_until_its_removal() {
        use SpecVersion::*;
        assert!(!V2025_03_26.within(V2025_06_18, None));
        assert!(V2025_06_18.within(V2025_06_18, None));
        assert!(V2026_07_28.within(V2025_06_18, None));
        assert!(V2025_03_26.within(V2025_03_26, Some(V2025_06_18)));
        assert!(!V2025_06_18.within(V2025_03_26, Some(V2025_06_18)));
    }

    #[test]
    fn all_opts_into_every_extension() {
        let all = Extensions::parse("all").unwrap();
        assert!(Extension::ALL.into_iter().all(|e| all.contains(e)));
    }

    #[test]
    fn a_list_opts_into_exactly_its_extensions() {
        let e = Extensions::parse("dpop, wif").unwrap();
        assert_eq!(e.names(), ["dpop", "wif"]);
        assert!(!e.contains(Extension::ClientCredentials));
    }

    #[test]
    fn an_unknown_extension_is_refused() {
        assert_eq!(
            Extensions::parse("dpop,mtls"),
            Err(UnknownExtension("mtls".into()))
        );
    }

    #[test]
    fn an_empty_list_is_refused() {
        assert!(Extensions::parse("").is_err());
    }
}
