//! Discovery: protected resource metadata (MCP §4.2, RFC 9728) and authorization server
//! metadata (MCP §4.3, RFC 8414, OpenID Connect Discovery), in the exact order of catalog/README.md §2.1 (the requirements catalog of the suite).

use reqwest::Method;
use serde::Deserialize;
use url::Url;

use super::challenge::BearerChallenge;
use super::defects::{ClientDefect, DefectExt as _};
use super::error::ClientError;
use super::http::Http;

/// RFC 9728 protected resource metadata (the members the client uses; others are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The protected resource's identifier.
    pub resource: String,
    /// Issuers of the authorization servers that protect it.
    #[serde(default)]
    pub authorization_servers: Option<Vec<String>>,
    /// Scopes the resource knows.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// RFC 8414 / OIDC Discovery metadata (the members the client uses; others are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier.
    pub issuer: String,
    /// Where to send the user agent.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Where to redeem codes and refresh tokens.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// RFC 7591 registration endpoint.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// PKCE methods (MCP §11.4 requires it and `S256`).
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// CIMD support.
    #[serde(default)]
    pub client_id_metadata_document_supported: Option<bool>,
    /// RFC 9207 support.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// RFC 9449 §5.1: the proof algorithms the AS accepts (DPoP is used when it lists ES256).
    #[serde(default)]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// Where a PRM candidate URL came from; decides the expected `resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrmSource {
    /// The challenge's `resource_metadata`.
    Header,
    /// `/.well-known/oauth-protected-resource<path>`.
    PathInserted,
    /// `/.well-known/oauth-protected-resource`.
    Root,
}

/// One PRM URL to try, with the `resource` values that validate it (RFC 9728 §3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrmCandidate {
    /// The URL to GET.
    pub url: String,
    /// Where it came from.
    pub source: PrmSource,
    /// Accepted `resource` values (exact string comparison).
    pub expected: Vec<String>,
}

/// PRM that passed validation, with the URL it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredPrm {
    /// The candidate that answered (its URL and the identifiers it was validated against).
    pub candidate: PrmCandidate,
    /// The document.
    pub metadata: ProtectedResourceMetadata,
}

fn parse_url(what: &str, raw: &str) -> Result<Url, ClientError> {
    Url::parse(raw).map_err(|e| ClientError::Usage(format!("{what} `{raw}` is not a URL: {e}")))
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The canonical resource URI of the MCP endpoint (MCP §8.1): lower-case scheme and host, no
/// fragment, no trailing slash added to a path-less URL.
pub fn canonical_resource(mcp_url: &str) -> Result<String, ClientError> {
    let mut url = parse_url("the MCP server URL", mcp_url)?;
    url.set_fragment(None);
    let mut out = url.to_string();
    let raw = mcp_url.split('#').next().unwrap_or(mcp_url);
    if url.path() == "/" && url.query().is_none() && !raw.ends_with('/') {
        out.pop();
    }
    Ok(out)
}

/// The PRM URLs to try, in order (catalog/README.md §2.1 steps A2-A4, as bent by `defect`).
pub fn prm_candidates(
    mcp_url: &str,
    header_url: Option<&str>,
    defect: Option<ClientDefect>,
) -> Result<Vec<PrmCandidate>, ClientError> {
    let url = parse_url("the MCP server URL", mcp_url)?;
    let canonical = canonical_resource(mcp_url)?;
    let endpoint_ids = dedup(vec![mcp_url.to_owned(), canonical.clone()]);
    if let Some(header) =
        header_url.filter(|_| !defect.is(ClientDefect::IgnoreHeaderResourceMetadata))
    {
        return Ok(vec![PrmCandidate {
            url: header.to_owned(),
            source: PrmSource::Header,
            expected: endpoint_ids,
        }]);
    }
    let origin = origin_of(&url);
    let mut path = url.path().trim_end_matches('/').to_owned();
    if let Some(q) = url.query() {
        path = format!("{path}?{q}");
    }
    let path_inserted = (!url.path().trim_end_matches('/').is_empty()).then(|| PrmCandidate {
        url: format!("{origin}/.well-known/oauth-protected-resource{path}"),
        source: PrmSource::PathInserted,
        expected: endpoint_ids.clone(),
    });
    let root = (!defect.is(ClientDefect::NoRootFallback)).then(|| PrmCandidate {
        url: format!("{origin}/.well-known/oauth-protected-resource"),
        source: PrmSource::Root,
        expected: dedup(vec![
            origin.clone(),
            format!("{origin}/"),
            mcp_url.to_owned(),
            canonical,
        ]),
    });
    let ordered = if defect.is(ClientDefect::RootFirstDiscovery) {
        [root, path_inserted]
    } else {
        [path_inserted, root]
    };
    Ok(ordered.into_iter().flatten().collect())
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    v.retain(|s| {
        let new = !seen.contains(s);
        if new {
            seen.push(s.clone());
        }
        new
    });
    v
}

/// The AS metadata URLs to try for `issuer`, in order (MCP §4.3, as bent by `defect`).
pub fn as_metadata_urls(
    issuer: &str,
    defect: Option<ClientDefect>,
) -> Result<Vec<String>, ClientError> {
    let url = Url::parse(issuer)
        .map_err(|e| ClientError::Discovery(format!("issuer `{issuer}` is not a URL: {e}")))?;
    // Without an http(s) origin (`a:b`, `data:…`) the derived "URLs" would start with `null`.
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ClientError::Discovery(format!(
            "issuer `{issuer}` is not an http(s) URL"
        )));
    }
    let origin = origin_of(&url);
    let path = url.path().trim_end_matches('/');
    let rfc8414_root = format!("{origin}/.well-known/oauth-authorization-server");
    let (rfc8414, oidc): (Vec<String>, Vec<String>) = if path.is_empty() {
        (
            vec![rfc8414_root.clone()],
            vec![format!("{origin}/.well-known/openid-configuration")],
        )
    } else {
        (
            vec![format!(
                "{origin}/.well-known/oauth-authorization-server{path}"
            )],
            vec![
                format!("{origin}/.well-known/openid-configuration{path}"),
                format!("{origin}{path}/.well-known/openid-configuration"),
            ],
        )
    };
    let mut urls = match defect {
        Some(ClientDefect::Rfc8414Only) => rfc8414,
        Some(ClientDefect::OidcFirst) => [oidc, rfc8414].concat(),
        _ => [rfc8414, oidc].concat(),
    };
    if defect.is(ClientDefect::RootAsMetadataFirst) && !path.is_empty() {
        urls.insert(0, rfc8414_root);
    }
    Ok(urls)
}

/// Finds and validates PRM (steps A2-A5). A `resource` mismatch refuses at once.
pub(crate) async fn discover_prm(
    http: &Http,
    mcp_url: &str,
    challenge: &BearerChallenge,
    defect: Option<ClientDefect>,
) -> Result<DiscoveredPrm, ClientError> {
    let candidates = prm_candidates(mcp_url, challenge.resource_metadata.as_deref(), defect)?;
    let mut tried = Vec::new();
    for candidate in candidates {
        if let Some(found) = fetch_prm(http, &candidate, defect).await? {
            return Ok(found);
        }
        tried.push(candidate.url);
    }
    Err(ClientError::Discovery(format!(
        "no protected resource metadata found (tried {})",
        if tried.is_empty() {
            "nothing".to_owned()
        } else {
            tried.join(", ")
        }
    )))
}

/// GETs one candidate. `Ok(None)`: not served there (try the next one); a header URL that
/// fails is an error, and so is a `resource` mismatch.
pub(crate) async fn fetch_prm(
    http: &Http,
    candidate: &PrmCandidate,
    defect: Option<ClientDefect>,
) -> Result<Option<DiscoveredPrm>, ClientError> {
    let request = http
        .request(Method::GET, &candidate.url)
        .header(reqwest::header::ACCEPT, "application/json");
    let response = http
        .send("protected resource metadata", &candidate.url, request)
        .await;
    let metadata = match response {
        Ok(r) if r.status == 200 => r.json::<ProtectedResourceMetadata>().ok(),
        Ok(_) => None,
        Err(e) if candidate.source == PrmSource::Header => return Err(e),
        Err(_) => None,
    };
    let Some(metadata) = metadata else {
        if candidate.source == PrmSource::Header {
            return Err(ClientError::Discovery(format!(
                "the resource_metadata URL {} did not serve protected resource metadata",
                candidate.url
            )));
        }
        return Ok(None);
    };
    if !candidate.expected.contains(&metadata.resource)
        && !defect.is(ClientDefect::IgnorePrmResourceMismatch)
    {
        return Err(ClientError::ResourceMismatch {
            expected: candidate.expected.first().cloned().unwrap_or_default(),
            found: metadata.resource,
        });
    }
    Ok(Some(DiscoveredPrm {
        candidate: candidate.clone(),
        metadata,
    }))
}

/// The issuer to use: PRM `authorization_servers[0]` (CL-PRM-04).
pub(crate) fn pick_issuer(
    prm: &ProtectedResourceMetadata,
    mcp_url: &str,
    defect: Option<ClientDefect>,
) -> Result<String, ClientError> {
    if defect.is(ClientDefect::AsFromMcpOrigin) {
        return Ok(origin_of(&parse_url("the MCP server URL", mcp_url)?));
    }
    prm.authorization_servers
        .as_ref()
        .and_then(|list| list.first())
        .filter(|s| !s.is_empty())
        .cloned()
        .ok_or_else(|| {
            ClientError::Discovery(
                "protected resource metadata lists no authorization server".into(),
            )
        })
}

/// Fetches AS metadata for `issuer`: first 200 JSON object in order; `issuer` must be identical.
pub(crate) async fn fetch_as_metadata(
    http: &Http,
    issuer: &str,
    defect: Option<ClientDefect>,
) -> Result<AuthorizationServerMetadata, ClientError> {
    let method = if defect.is(ClientDefect::MetadataViaPost) {
        Method::POST
    } else {
        Method::GET
    };
    for url in as_metadata_urls(issuer, defect)? {
        let request = http
            .request(method.clone(), &url)
            .header(reqwest::header::ACCEPT, "application/json");
        let Ok(response) = http
            .send("authorization server metadata", &url, request)
            .await
        else {
            continue;
        };
        if response.status != 200 {
            continue;
        }
        let Ok(metadata) = response.json::<AuthorizationServerMetadata>() else {
            continue;
        };
        if metadata.issuer != issuer && !defect.is(ClientDefect::IgnoreIssuerMismatch) {
            return Err(ClientError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: metadata.issuer,
            });
        }
        return Ok(metadata);
    }
    Err(ClientError::Metadata(format!(
        "no authorization server metadata found for issuer {issuer}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(c: &[PrmCandidate]) -> Vec<&str> {
        c.iter().map(|c| c.url.as_str()).collect()
    }

    #[test]
    fn prm_order_header_then_path_then_root() {
        let c = prm_candidates(
            "http://h:1/public/mcp",
            Some("http://h:1/custom.json"),
            None,
        )
        .unwrap();
        assert_eq!(urls(&c), ["http://h:1/custom.json"]);
        assert_eq!(c[0].expected, ["http://h:1/public/mcp"]);
        let c = prm_candidates("http://h:1/public/mcp", None, None).unwrap();
        assert_eq!(
            urls(&c),
            [
                "http://h:1/.well-known/oauth-protected-resource/public/mcp",
                "http://h:1/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(c[1].expected[0], "http://h:1");
        let c = prm_candidates("http://h:1", None, None).unwrap();
        assert_eq!(
            urls(&c),
            ["http://h:1/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn prm_order_defects() {
        let mcp = "http://h:1/mcp";
        let c = prm_candidates(
            mcp,
            Some("http://x/p"),
            Some(ClientDefect::IgnoreHeaderResourceMetadata),
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].source, PrmSource::PathInserted);
        let c = prm_candidates(mcp, None, Some(ClientDefect::RootFirstDiscovery)).unwrap();
        assert_eq!(c[0].source, PrmSource::Root);
        let c = prm_candidates(mcp, None, Some(ClientDefect::NoRootFallback)).unwrap();
        assert_eq!(
            urls(&c),
            ["http://h:1/.well-known/oauth-protected-resource/mcp"]
        );
    }

    #[test]
    fn as_metadata_order_for_path_and_root_issuers() {
        assert_eq!(
            as_metadata_urls("https://h/tenant1", None).unwrap(),
            [
                "https://h/.well-known/oauth-authorization-server/tenant1",
                "https://h/.well-known/openid-configuration/tenant1",
                "https://h/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            as_metadata_urls("https://h", None).unwrap(),
            [
                "https://h/.well-known/oauth-authorization-server",
                "https://h/.well-known/openid-configuration",
            ]
        );
        assert_eq!(as_metadata_urls("https://h/", None).unwrap().len(), 2);
    }

    #[test]
    fn an_issuer_without_an_http_origin_yields_no_metadata_urls() {
        for issuer in ["a:b/c", "data:text/plain,x", "file:///etc/as", "ws://h/t"] {
            assert!(
                matches!(
                    as_metadata_urls(issuer, None),
                    Err(ClientError::Discovery(_))
                ),
                "{issuer}"
            );
        }
        assert!(as_metadata_urls("http://127.0.0.1:1/t", None).is_ok());
    }

    #[test]
    fn as_metadata_order_defects() {
        let i = "https://h/t";
        assert_eq!(
            as_metadata_urls(i, Some(ClientDefect::Rfc8414Only)).unwrap(),
            ["https://h/.well-known/oauth-authorization-server/t"]
        );
        assert_eq!(
            as_metadata_urls(i, Some(ClientDefect::OidcFirst)).unwrap()[0],
            "https://h/.well-known/openid-configuration/t"
        );
        assert_eq!(
            as_metadata_urls(i, Some(ClientDefect::RootAsMetadataFirst)).unwrap()[0],
            "https://h/.well-known/oauth-authorization-server"
        );
    }

    #[test]
    fn canonical_resource_lowercases_and_drops_fragment() {
        assert_eq!(
            canonical_resource("HTTP://Example.COM:8080/Mcp#frag").unwrap(),
            "http://example.com:8080/Mcp"
        );
        assert_eq!(canonical_resource("https://h").unwrap(), "https://h");
        assert_eq!(canonical_resource("https://h/").unwrap(), "https://h/");
    }
}
