//! Unauthenticated access and protected resource metadata discovery (RS-WWW-*, RS-PRM-*).

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::Request;
use crate::server::ctx::{Auth, Ctx, Probe};
use crate::server::obs::{Discovery, PrmDoc, PrmFetch, PrmSource};

pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// POST `initialize` with no credentials.
pub async fn unauthenticated(ctx: &Ctx<'_>) -> Result<Probe, ObsError> {
    let sc = Scenario::new("unauthenticated");
    ctx.initialize(&sc, "initialize without credentials", &Auth::None)
        .await
}

/// The well-known PRM locations for an MCP endpoint URL, with the resource each must name.
pub fn well_known_locations(target: &str) -> Vec<(PrmSource, String, String)> {
    let Ok(url) = url::Url::parse(target) else {
        return Vec::new();
    };
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    let mut out = Vec::new();
    if !path.is_empty() {
        out.push((
            PrmSource::PathInserted,
            format!("{origin}{WELL_KNOWN}{path}"),
            target.to_owned(),
        ));
    }
    out.push((PrmSource::Root, format!("{origin}{WELL_KNOWN}"), origin));
    out
}

/// Fetches PRM from the header URL (when the 401 advertised one) and from both well-known locations.
pub async fn discover(ctx: &Ctx<'_>, unauthenticated: &Result<Probe, ObsError>) -> Discovery {
    let sc = Scenario::new("discovery");
    let mut wanted: Vec<(PrmSource, String, String)> = Vec::new();
    if let Ok(p) = unauthenticated {
        if let Some(url) = p.bearer().and_then(|c| c.param("resource_metadata")) {
            wanted.push((PrmSource::Header, url.to_owned(), ctx.target.clone()));
        }
    }
    wanted.extend(well_known_locations(&ctx.target));

    let mut fetched: Vec<(String, Result<PrmDoc, ObsError>)> = Vec::new();
    let mut fetches = Vec::new();
    for (source, url, expected_resource) in wanted {
        let doc = match fetched.iter().find(|(u, _)| *u == url) {
            Some((_, d)) => d.clone(),
            None => {
                let d = fetch_prm(ctx, &sc, source, &url).await;
                fetched.push((url.clone(), d.clone()));
                d
            }
        };
        fetches.push(PrmFetch {
            source,
            url,
            expected_resource,
            doc,
        });
    }
    Discovery { fetches }
}

async fn fetch_prm(
    ctx: &Ctx<'_>,
    sc: &Scenario,
    source: PrmSource,
    url: &str,
) -> Result<PrmDoc, ObsError> {
    let purpose = format!("fetch PRM from {} without credentials", source.as_str());
    let req = Request::get(url).header("accept", "application/json");
    fetch_json(ctx, sc, &purpose, req).await
}

/// Sends `req` without credentials and records the answer, its body as a JSON object or why it is not one;
/// no answer at all is the target's error.
pub(crate) async fn fetch_json(
    ctx: &Ctx<'_>,
    sc: &Scenario,
    purpose: &str,
    req: Request,
) -> Result<PrmDoc, ObsError> {
    let url = req.url.clone();
    let rec = ctx.send(sc, purpose, req, &Auth::None).await;
    let resp = rec
        .result
        .map_err(|e| ObsError::target(format!("fetching {url}: {e}"), [rec.id.clone()]))?;
    Ok(PrmDoc {
        exchange: rec.id,
        status: resp.status,
        content_type: resp.header("content-type").map(str::to_owned),
        body: prm_body(&resp.body),
    })
}

/// A PRM body as a JSON object, or why it is not one.
pub(crate) fn prm_body(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(other) => Err(format!("the body is JSON but not an object: {other}")),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_endpoint_has_path_inserted_and_root_locations() {
        let l = well_known_locations("http://127.0.0.1:8080/mcp");
        assert_eq!(
            l,
            vec![
                (
                    PrmSource::PathInserted,
                    "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp".to_owned(),
                    "http://127.0.0.1:8080/mcp".to_owned()
                ),
                (
                    PrmSource::Root,
                    "http://127.0.0.1:8080/.well-known/oauth-protected-resource".to_owned(),
                    "http://127.0.0.1:8080".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn a_root_endpoint_has_only_the_root_location() {
        let l = well_known_locations("https://mcp.example.com/");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].0, PrmSource::Root);
    }
}
