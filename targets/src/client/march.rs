//! The 2025-03-26 discovery (MCP 2025-03-26 "Server Metadata Discovery"): before protected resource metadata
//! existed, the MCP server was its own authorization server. A client speaking 2025-03-26 that finds no PRM takes
//! the **authorization base URL** (the MCP URL with its path discarded), fetches RFC 8414 metadata at its root
//! `/.well-known/oauth-authorization-server` (sending `MCP-Protocol-Version`), and when there is none falls back
//! to the default endpoints `/authorize`, `/token` and `/register` there.

use reqwest::Method;
use url::Url;

use super::defects::{ClientDefect, DefectExt};
use super::discovery::{origin_of, AuthorizationServerMetadata};
use super::error::ClientError;
use super::http::Http;

/// The revision whose discovery this module implements.
pub const MARCH_REVISION: &str = "2025-03-26";

/// The authorization base URL of an MCP server URL: its origin.
pub fn authorization_base_url(mcp_url: &str) -> Result<String, ClientError> {
    let url = Url::parse(mcp_url)
        .map_err(|e| ClientError::Usage(format!("the MCP server URL is not a URL: {e}")))?;
    Ok(origin_of(&url))
}

/// The default endpoints under `base`, as metadata (PKCE is REQUIRED in 2025-03-26, so S256 is assumed).
pub fn default_endpoints(base: &str) -> AuthorizationServerMetadata {
    AuthorizationServerMetadata {
        issuer: base.to_owned(),
        authorization_endpoint: Some(format!("{base}/authorize")),
        token_endpoint: Some(format!("{base}/token")),
        registration_endpoint: Some(format!("{base}/register")),
        code_challenge_methods_supported: Some(vec!["S256".to_owned()]),
        token_endpoint_auth_methods_supported: None,
        client_id_metadata_document_supported: None,
        authorization_response_iss_parameter_supported: None,
        dpop_signing_alg_values_supported: None,
    }
}

/// The authorization server of a 2025-03-26 server at `mcp_url`: the metadata at the base URL's root (its
/// `issuer` must be the base URL, RFC 8414 §3.3), else the default endpoints.
pub(crate) async fn discover(
    http: &Http,
    mcp_url: &str,
    defect: Option<ClientDefect>,
) -> Result<(String, AuthorizationServerMetadata), ClientError> {
    let base = authorization_base_url(mcp_url)?;
    let url = format!("{base}/.well-known/oauth-authorization-server");
    let request = http
        .request(Method::GET, &url)
        .header(reqwest::header::ACCEPT, "application/json")
        .header("MCP-Protocol-Version", MARCH_REVISION);
    let fetched = match http
        .send("authorization server metadata", &url, request)
        .await
    {
        Ok(r) if r.status == 200 => r.json::<AuthorizationServerMetadata>().ok(),
        _ => None,
    };
    let metadata = match fetched {
        Some(m) if m.issuer != base => {
            return Err(ClientError::IssuerMismatch {
                expected: base,
                found: m.issuer,
            })
        }
        Some(_) if defect.is(ClientDefect::MarchDefaultPathsOnly) => default_endpoints(&base),
        Some(m) => m,
        None if defect.is(ClientDefect::NoMarchDefaultEndpoints) => {
            return Err(ClientError::Metadata(format!(
                "no authorization server metadata at {url}"
            )))
        }
        None => default_endpoints(&base),
    };
    Ok((base, metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_discards_the_path() {
        assert_eq!(
            authorization_base_url("https://api.example.com/v1/mcp").unwrap(),
            "https://api.example.com"
        );
    }

    #[test]
    fn the_default_endpoints_sit_at_the_base_url_root() {
        let m = default_endpoints("https://api.example.com");
        assert_eq!(
            m.authorization_endpoint.as_deref(),
            Some("https://api.example.com/authorize")
        );
        assert_eq!(
            m.token_endpoint.as_deref(),
            Some("https://api.example.com/token")
        );
        assert_eq!(
            m.registration_endpoint.as_deref(),
            Some("https://api.example.com/register")
        );
    }
}
