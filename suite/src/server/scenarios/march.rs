//! The 2025-03-26 shape, where the MCP server is its own authorization server (RS-BC-*): its RFC 8414 metadata
//! at the root of its origin (the MCP path discarded) and, for clients that find none, the default endpoints
//! `/authorize` and `/token` there. Only at `--spec-version 2025-03-26`.

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::Request;
use crate::server::ctx::Ctx;
use crate::server::obs::PrmDoc;
use crate::spec::SpecVersion;

use super::discovery::fetch_json;

/// RFC 8414 §3: the well-known suffix; at 2025-03-26 the path of the MCP URL is discarded.
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// What the origin of the MCP server answered (each an answer of any status, its body as JSON if it was).
#[derive(Debug, Clone)]
pub struct MarchObs {
    /// `scheme://host:port` of the MCP URL: the 2025-03-26 authorization base URL, so the expected `issuer`.
    pub origin: String,
    /// GET `<origin>/.well-known/oauth-authorization-server`.
    pub metadata: PrmDoc,
    /// GET `<origin>/authorize` without parameters.
    pub authorize: PrmDoc,
    /// POST `<origin>/token` with an empty form.
    pub token: PrmDoc,
}

impl MarchObs {
    /// Whether the metadata is usable: 200, a JSON object naming both an authorization and a token endpoint (a
    /// 2025-03-26 client then has no use for the default endpoints).
    pub fn usable_metadata(&self) -> bool {
        self.metadata.object().is_some_and(|m| {
            ["authorization_endpoint", "token_endpoint"]
                .iter()
                .all(|k| {
                    m.get(*k)
                        .and_then(|v| v.as_str())
                        .is_some_and(|v| !v.is_empty())
                })
        })
    }
}

/// The origin (`scheme://host[:port]`) of an MCP URL.
pub fn origin_of(target: &str) -> Option<String> {
    let url = url::Url::parse(target).ok()?;
    url.host_str()?;
    Some(url.origin().ascii_serialization())
}

/// At 2025-03-26: the metadata at the origin root, then the two default endpoints, each without credentials.
pub async fn march(ctx: &Ctx<'_>) -> Result<MarchObs, ObsError> {
    if ctx.spec != SpecVersion::V2025_03_26 {
        return Err(ObsError::NotApplicable(format!(
            "the MCP server is its own authorization server only at 2025-03-26; this run is at {}",
            ctx.spec
        )));
    }
    let origin = origin_of(&ctx.target)
        .ok_or_else(|| ObsError::Harness(format!("no origin in {}", ctx.target)))?;
    let sc = Scenario::new("2025-03-26 authorization server");
    let version = SpecVersion::V2025_03_26.as_str();
    let metadata = fetch_json(
        ctx,
        &sc,
        "fetch authorization server metadata from the origin root",
        Request::get(format!("{origin}{METADATA_PATH}"))
            .header("accept", "application/json")
            .header("mcp-protocol-version", version),
    )
    .await?;
    let authorize = fetch_json(
        ctx,
        &sc,
        "GET the default authorization endpoint without parameters",
        Request::get(format!("{origin}/authorize")).header("mcp-protocol-version", version),
    )
    .await?;
    let mut token = Request::method(reqwest::Method::POST, format!("{origin}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("mcp-protocol-version", version);
    token.body = Some(String::new());
    let token = fetch_json(
        ctx,
        &sc,
        "POST an empty form to the default token endpoint",
        token,
    )
    .await?;
    Ok(MarchObs {
        origin,
        metadata,
        authorize,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_of_an_mcp_url_discards_its_path() {
        assert_eq!(
            origin_of("http://127.0.0.1:3000/mcp/v1").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(
            origin_of("https://mcp.example.com/").as_deref(),
            Some("https://mcp.example.com")
        );
        assert_eq!(origin_of("not a url"), None);
    }
}
