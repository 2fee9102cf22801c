//! Discovery: the AS metadata at the MCP §4.3 locations (RFC 8414 and OpenID Connect Discovery, path
//! inserted and appended).

use serde_json::Value;

use crate::authz::obs::*;
use crate::evidence::Scenario;
use crate::http::{Http, Request};

/// Fetches the metadata at the MCP §4.3 locations for the issuer.
pub async fn metadata(http: &Http, issuer: &str) -> MetadataObs {
    let sc = Scenario::new("metadata");
    let (origin, path) = match url::Url::parse(issuer) {
        Ok(u) => (
            u.origin().ascii_serialization(),
            u.path().trim_end_matches('/').to_owned(),
        ),
        Err(_) => (issuer.to_owned(), String::new()),
    };
    let mut urls = vec![(
        "rfc8414",
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
    )];
    urls.push((
        "openid",
        format!("{origin}/.well-known/openid-configuration{path}"),
    ));
    if !path.is_empty() {
        urls.push((
            "openid",
            format!("{origin}{path}/.well-known/openid-configuration"),
        ));
    }
    let mut fetches = Vec::new();
    for (kind, url) in urls {
        let rec = http
            .send(
                &sc,
                &format!("fetch {kind} metadata"),
                Request::get(&url).header("accept", "application/json"),
            )
            .await;
        let (status, content_type, body) = match rec.result {
            Ok(r) => {
                let body = metadata_body(&r.body);
                (r.status, r.header("content-type").map(str::to_owned), body)
            }
            Err(e) => (0, None, Err(e.to_string())),
        };
        fetches.push(MetadataFetch {
            kind,
            url,
            exchange: rec.id,
            status,
            content_type,
            body,
        });
    }
    MetadataObs {
        issuer: issuer.to_owned(),
        fetches,
    }
}

/// An AS metadata body as a JSON object, or why it is not one.
pub fn metadata_body(body: &[u8]) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("the body is JSON but not an object".to_owned()),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}
