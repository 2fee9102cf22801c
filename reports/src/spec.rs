//! Spec references as the catalog and the checks write them (`MCP §9.2`, `RFC 9728 §3.3 ¶2`, `OAuth 2.1 §4.1.3`,
//! `CIMD §4.1`, `SBP §2.2`, `OIDC Discovery §4.3`, `MCP Transports: security warning`, `SEP-2352`), turned into
//! URLs: the one mapping every renderer, `explain` and the catalog tests use.
//!
//! MCP anchors are the heading slugs of the 2025-11-25 pages (modelcontextprotocol/modelcontextprotocol at
//! `40f50ed5`, `docs/specification/2025-11-25/basic/*.mdx`), keyed by the section numbers the site renders
//! (catalog/README.md §0.1). A section without a heading of its own (a numbered paragraph such as `§3(4)`, or a
//! heading whose slug repeats on the page, such as SBP's several "Mitigation") links to the deepest listed section
//! containing it. IETF documents link to `#section-N`; OpenID Connect Discovery to its named anchors.

const MCP_AUTHORIZATION: &str =
    "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization";
/// The 2025-11-25 Security Best Practices: `/specification/2025-11-25/basic/security_best_practices` now
/// redirects here (the site's `docs.json`); the heading slugs are unchanged.
const MCP_SECURITY: &str =
    "https://modelcontextprotocol.io/docs/2025-11-25/tutorials/security/security_best_practices";
const MCP_TRANSPORTS: &str =
    "https://modelcontextprotocol.io/specification/2025-11-25/basic/transports";
const OAUTH21: &str = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-13";
const CIMD: &str =
    "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-client-id-metadata-document-00";
const OIDC_DISCOVERY: &str = "https://openid.net/specs/openid-connect-discovery-1_0.html";
const OIDC_CORE: &str = "https://openid.net/specs/openid-connect-core-1_0.html";
/// SEPs are pull requests of the specification repository (as the MCP blog links them).
const SEP: &str = "https://github.com/modelcontextprotocol/modelcontextprotocol/pull/";

/// The heading anchors of MCP Authorization 2025-11-25, by rendered section number.
const MCP_ANCHORS: &[(&str, &str)] = &[
    ("1", "introduction"),
    ("1.1", "purpose-and-scope"),
    ("1.2", "protocol-requirements"),
    ("1.3", "standards-compliance"),
    ("2", "roles"),
    ("3", "overview"),
    ("4", "authorization-server-discovery"),
    ("4.1", "authorization-server-location"),
    ("4.2", "protected-resource-metadata-discovery-requirements"),
    ("4.3", "authorization-server-metadata-discovery"),
    ("4.4", "authorization-server-discovery-sequence-diagram"),
    ("5", "client-registration-approaches"),
    ("5.1", "client-id-metadata-documents"),
    ("5.1.1", "implementation-requirements"),
    ("5.1.2", "example-metadata-document"),
    ("5.1.3", "client-id-metadata-documents-flow"),
    ("5.1.4", "discovery"),
    ("5.2", "preregistration"),
    ("5.3", "dynamic-client-registration"),
    ("6", "scope-selection-strategy"),
    ("7", "authorization-flow-steps"),
    ("8", "resource-parameter-implementation"),
    ("8.1", "canonical-server-uri"),
    ("9", "access-token-usage"),
    ("9.1", "token-requirements"),
    ("9.2", "token-handling"),
    ("10", "error-handling"),
    ("10.1", "scope-challenge-handling"),
    ("10.1.1", "runtime-insufficient-scope-errors"),
    ("10.1.2", "step-up-authorization-flow"),
    ("11", "security-considerations"),
    ("11.1", "token-audience-binding-and-validation"),
    ("11.2", "token-theft"),
    ("11.3", "communication-security"),
    ("11.4", "authorization-code-protection"),
    ("11.5", "open-redirection"),
    ("11.6", "client-id-metadata-document-security"),
    ("11.6.1", "authorization-server-abuse-protection"),
    ("11.6.2", "localhost-redirect-uri-risks"),
    ("11.6.3", "trust-policies"),
    ("11.7", "confused-deputy-problem"),
    ("11.8", "access-token-privilege-restriction"),
    ("12", "mcp-authorization-extensions"),
];

/// The heading anchors of MCP Security Best Practices 2025-11-25, by rendered section number (headings whose
/// slug repeats on the page, "Mitigation", "Risks"…, are left to their section).
const SBP_ANCHORS: &[(&str, &str)] = &[
    ("1", "introduction"),
    ("2", "attacks-and-mitigations"),
    ("2.1", "confused-deputy-problem"),
    ("2.1.5.2", "required-protections"),
    ("2.2", "token-passthrough"),
    ("2.3", "session-hijacking"),
    ("2.4", "local-mcp-server-compromise"),
    ("2.5", "scope-minimization"),
];

/// The named anchors of OpenID Connect Discovery 1.0, by section number.
const OIDC_ANCHORS: &[(&str, &str)] = &[
    ("3", "ProviderMetadata"),
    ("4", "ProviderConfig"),
    ("4.1", "ProviderConfigurationRequest"),
    ("4.2", "ProviderConfigurationResponse"),
    ("4.3", "ProviderConfigurationValidation"),
];

/// The named anchors of OpenID Connect Core 1.0 the catalog cites, by section number.
const OIDC_CORE_ANCHORS: &[(&str, &str)] = &[
    ("3.1.2.1", "AuthRequest"),
    ("3.1.3.7", "IDTokenValidation"),
    ("5.1", "StandardClaims"),
    ("5.7", "ClaimStability"),
    ("15.5.2", "NonceNotes"),
];

/// The anchor of the deepest listed section containing `section` (`11.6.2` → itself, `2.1.5` → `2.1`).
fn anchor(table: &[(&str, &'static str)], section: &str) -> Option<&'static str> {
    let mut s = section;
    loop {
        if let Some((_, a)) = table.iter().find(|(n, _)| *n == s) {
            return Some(a);
        }
        s = &s[..s.rfind('.')?];
    }
}

/// `page#anchor`, or the page when there is no anchor.
fn at(page: &str, anchor: Option<&str>) -> String {
    match anchor {
        Some(a) => format!("{page}#{a}"),
        None => page.to_owned(),
    }
}

/// An older revision's authorization page, cited by heading (`MCP 2025-03-26: Authorization Base URL`): those
/// pages render no section numbers, so the reference names the heading and links to its slug.
fn older_mcp_url(spec_ref: &str) -> Option<String> {
    let rest = spec_ref.strip_prefix("MCP ")?;
    let (revision, heading) = rest.split_once(": ")?;
    let is_date = revision.len() == 10
        && revision.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !is_date || heading.trim().is_empty() {
        return None;
    }
    let slug = heading
        .trim()
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect::<String>();
    Some(format!(
        "https://modelcontextprotocol.io/specification/{revision}/basic/authorization#{slug}"
    ))
}

/// The URL of a spec reference: the section's anchor where one is known, otherwise the document. None: a tag
/// with no known document (a test in the suite keeps every reference of the catalog and the checks linkable).
pub fn spec_url(spec_ref: &str) -> Option<String> {
    let r = spec_ref.trim();
    if let Some(n) = r.strip_prefix("SEP-") {
        let digits: String = n.chars().take_while(char::is_ascii_digit).collect();
        return (!digits.is_empty()).then(|| format!("{SEP}{digits}"));
    }
    if let Some(url) = older_mcp_url(r) {
        return Some(url);
    }
    if let Some(rest) = r.strip_prefix("MCP Transports") {
        let rest = rest.to_ascii_lowercase();
        let a = if rest.contains("session") {
            Some("session-management")
        } else if rest.contains("security warning") {
            Some("security-warning")
        } else {
            None
        };
        return Some(at(MCP_TRANSPORTS, a));
    }
    let (tag, section) = match r.find('§') {
        Some(i) => {
            let number: String = r[i + '§'.len_utf8()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = number.trim_end_matches('.').to_owned();
            (r[..i].trim(), (!number.is_empty()).then_some(number))
        }
        None => (r, None),
    };
    let section = section.as_deref();
    let numbered = |page: &str| match section {
        Some(s) => format!("{page}#section-{s}"),
        None => page.to_owned(),
    };
    match tag {
        "MCP" => Some(at(
            MCP_AUTHORIZATION,
            section.and_then(|s| anchor(MCP_ANCHORS, s)),
        )),
        "SBP" => Some(at(
            MCP_SECURITY,
            section.and_then(|s| anchor(SBP_ANCHORS, s)),
        )),
        "OAuth 2.1" => Some(numbered(OAUTH21)),
        "CIMD" => Some(numbered(CIMD)),
        "OIDC Discovery" => Some(at(
            OIDC_DISCOVERY,
            section.and_then(|s| anchor(OIDC_ANCHORS, s)),
        )),
        "OIDC Core" => Some(at(
            OIDC_CORE,
            section.and_then(|s| anchor(OIDC_CORE_ANCHORS, s)),
        )),
        _ => {
            let number = tag.strip_prefix("RFC ")?;
            if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            Some(numbered(&format!(
                "https://www.rfc-editor.org/rfc/rfc{number}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::older_mcp_heading("MCP 2025-03-26: Fallbacks for Servers without Metadata Discovery", "https://modelcontextprotocol.io/specification/2025-03-26/basic/authorization#fallbacks-for-servers-without-metadata-discovery")]
    #[case::older_mcp_heading_of_2025_06_18("MCP 2025-06-18: Authorization Server Location", "https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization#authorization-server-location")]
    #[case::mcp_section("MCP §9.2", "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#token-handling")]
    #[case::mcp_numbered_paragraph(
        "MCP §3(4)",
        "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#overview"
    )]
    #[case::mcp_deep("MCP §11.6.2", "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#localhost-redirect-uri-risks")]
    #[case::mcp_with_note("MCP §10 (table)", "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#error-handling")]
    #[case::mcp_cimd_flow("MCP §5.1.3", "https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#client-id-metadata-documents-flow")]
    #[case::sbp_heading("SBP §2.1.5.2", "https://modelcontextprotocol.io/docs/2025-11-25/tutorials/security/security_best_practices#required-protections")]
    #[case::sbp_repeated_heading_links_its_section("SBP §2.2.2", "https://modelcontextprotocol.io/docs/2025-11-25/tutorials/security/security_best_practices#token-passthrough")]
    #[case::rfc_paragraph(
        "RFC 9728 §3.3 ¶2",
        "https://www.rfc-editor.org/rfc/rfc9728#section-3.3"
    )]
    #[case::rfc_document("RFC 8707", "https://www.rfc-editor.org/rfc/rfc8707")]
    #[case::oauth21(
        "OAuth 2.1 §4.1.3",
        "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-13#section-4.1.3"
    )]
    #[case::cimd("CIMD §6.5", "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-client-id-metadata-document-00#section-6.5")]
    #[case::oidc("OIDC Discovery §4.3", "https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationValidation")]
    #[case::oidc_core(
        "OIDC Core §3.1.3.7 (11)",
        "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation"
    )]
    #[case::sep(
        "SEP-2352",
        "https://github.com/modelcontextprotocol/modelcontextprotocol/pull/2352"
    )]
    #[case::transports("MCP Transports: security warning", "https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#security-warning")]
    fn spec_refs_become_section_urls(#[case] spec_ref: &str, #[case] url: &str) {
        assert_eq!(spec_url(spec_ref).as_deref(), Some(url));
    }

    #[rstest]
    #[case::unknown_document("Some Blog §3")]
    #[case::rfc_without_number("RFC §3")]
    #[case::sep_without_number("SEP-x")]
    fn unknown_documents_have_no_url(#[case] spec_ref: &str) {
        assert_eq!(spec_url(spec_ref), None);
    }
}
