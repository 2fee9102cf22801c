//! Client ID Metadata Documents: the documents the suite hosts, the CIMD probes (document content, fetch
//! behaviour, SSRF) and an honest CIMD flow at an AS that does not advertise CIMD.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{not_applicable, Ctx};
use crate::authz::cimd_host::HostedDoc;
use crate::authz::oauth::{self, Client, ClientAuth};
use crate::authz::obs::*;
use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::Request;

/// A redirect URI that is neither https nor loopback (MCP §11.3): what the AS-CIMD-17 document lists.
pub const HTTP_REDIRECT: &str = "http://client.conformance.test/cb";

/// The honest CIMD document for a client id.
pub fn honest_document(client_id: &str, redirect: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "mcp-auth-conformance",
        "redirect_uris": [redirect],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

/// The CIMD probes (only when the AS advertises CIMD and the suite hosts documents).
pub async fn cimd_probes(ctx: &Ctx) -> Result<CimdObs, ObsError> {
    if !ctx.endpoints.cimd_supported {
        return Err(not_applicable(
            "the AS does not advertise client_id_metadata_document_supported",
        ));
    }
    let (Some(host), Some(probe)) = (&ctx.cimd, &ctx.probe) else {
        return Err(ObsError::Harness("the CIMD host is not running".into()));
    };
    let sc = Scenario::new("cimd");
    let redirect = ctx.callback.redirect_uri();
    let mut cases = BTreeMap::new();
    for case in CimdCase::ALL {
        let path = format!("case-{case:?}.json").to_lowercase();
        let id = host.client_id(&path);
        let honest = honest_document(&id, &redirect);
        let with_id = |v: String| {
            let mut d = honest.clone();
            d["client_id"] = Value::String(v);
            HostedDoc::json(&d)
        };
        let doc = match case {
            CimdCase::Honest | CimdCase::UnlistedRedirect => HostedDoc::json(&honest),
            CimdCase::IdTrailingSlash => with_id(format!("{id}/")),
            CimdCase::IdOtherPath => with_id(host.client_id("another-client.json")),
            CimdCase::IdUppercaseHost => {
                with_id(id.replace("client.conformance.test", "CLIENT.conformance.test"))
            }
            CimdCase::IdOtherHost => {
                with_id(id.replace("client.conformance.test", "other.conformance.test"))
            }
            CimdCase::InvalidJson => {
                HostedDoc::raw(200, "application/json", b"{\"client_id\": ".to_vec())
            }
            CimdCase::TopLevelArray => HostedDoc::json(&json!([honest])),
            CimdCase::MissingRedirectUris => {
                let mut d = honest.clone();
                d.as_object_mut().map(|o| o.remove("redirect_uris"));
                HostedDoc::json(&d)
            }
            CimdCase::MissingClientId => {
                let mut d = honest.clone();
                d.as_object_mut().map(|o| o.remove("client_id"));
                HostedDoc::json(&d)
            }
            CimdCase::FetchFails => HostedDoc::raw(404, "text/plain", b"not here".to_vec()),
            CimdCase::SharedSecret => {
                let mut d = honest.clone();
                d["token_endpoint_auth_method"] = json!("client_secret_basic");
                d["client_secret"] = json!("conformance-document-secret");
                HostedDoc::json(&d)
            }
            CimdCase::Oversized => {
                let mut d = honest.clone();
                d["padding"] = json!("x".repeat(1024 * 1024));
                HostedDoc::json(&d)
            }
            CimdCase::HttpRedirect => {
                let mut d = honest.clone();
                d["redirect_uris"] = json!([HTTP_REDIRECT]);
                HostedDoc::json(&d)
            }
        };
        host.put(&path, doc);
        let client = Client {
            id: id.clone(),
            secret: None,
            redirect_uri: match case {
                CimdCase::UnlistedRedirect => format!("{redirect}/unlisted"),
                CimdCase::HttpRedirect => HTTP_REDIRECT.to_owned(),
                _ => redirect.clone(),
            },
            auth: ClientAuth::None,
            kind: "cimd",
        };
        let pkce = ctx.rand.pkce();
        let params = oauth::code_request(
            &client,
            &pkce,
            &ctx.rand.token(16),
            &ctx.resource,
            &ctx.scope,
        );
        let authorized = ctx.walk(&sc, &params).await;
        let mut attempt = CimdAttempt {
            client_id: id.clone(),
            authorized,
            hits: host.hits(&path),
            token: None,
        };
        if case == CimdCase::SharedSecret {
            if let Some(code) = attempt.code().map(str::to_owned) {
                let confidential = Client {
                    secret: Some("conformance-document-secret".into()),
                    auth: ClientAuth::Basic,
                    ..client.clone()
                };
                attempt.token = Some(
                    ctx.redeem(
                        &sc,
                        &confidential,
                        &code,
                        &pkce.verifier,
                        &client.redirect_uri,
                    )
                    .await,
                );
            }
        }
        cases.insert(case, attempt);
    }
    let responsive_after_oversized = {
        let url = ctx.endpoints.metadata_url.clone();
        let rec = ctx
            .http
            .send(
                &sc,
                "metadata GET after the oversized document",
                Request::get(&url),
            )
            .await;
        rec.result.ok().map(|r| (r.status, rec.id.clone()))
    };
    // Caching: two flows with max-age=600.
    let cache_fetches = {
        let path = "cached.json";
        let id = host.client_id(path);
        host.put(
            path,
            HostedDoc::json(&honest_document(&id, &redirect))
                .with_header("cache-control", "max-age=600"),
        );
        let mut ex = Vec::new();
        for _ in 0..2 {
            let w = ctx.walk_as(&sc, &id, &redirect).await;
            ex.extend(w.exchanges.first().cloned());
        }
        Some((host.hits(path), ex))
    };
    // Errors are not cached: first fetch 500, then a valid document.
    let error_then_valid = {
        let path = "flaky.json";
        let id = host.client_id(path);
        host.put_sequence(
            path,
            vec![
                HostedDoc::raw(500, "text/plain", b"temporarily broken".to_vec()),
                HostedDoc::json(&honest_document(&id, &redirect)),
            ],
        );
        let mut attempts = Vec::new();
        for _ in 0..2 {
            let w = ctx.walk_as(&sc, &id, &redirect).await;
            attempts.push(CimdAttempt {
                client_id: id.clone(),
                authorized: w,
                hits: host.hits(path),
                token: None,
            });
        }
        let second = attempts.pop();
        let first = attempts.pop();
        first.zip(second)
    };
    let mut ssrf = Vec::new();
    for (i, base) in [
        format!("https://127.0.0.1:{}", probe.port()),
        format!("https://localhost:{}", probe.port()),
    ]
    .iter()
    .enumerate()
    {
        let path = format!("ssrf-{i}.json");
        let id = format!("{base}/{path}");
        probe.put(&path, HostedDoc::json(&honest_document(&id, &redirect)));
        let w = ctx.walk_as(&sc, &id, &redirect).await;
        ssrf.push((id, w, probe.hits(&path)));
    }
    let mut schemes = Vec::new();
    let http_path = "plain-http.json";
    let http_id = host.client_id(http_path).replacen("https://", "http://", 1);
    host.put(
        http_path,
        HostedDoc::json(&honest_document(&http_id, &redirect)),
    );
    for (id, path) in [
        (http_id.clone(), Some(http_path)),
        ("file:///etc/passwd".to_owned(), None),
        ("data:application/json,{}".to_owned(), None),
    ] {
        let w = ctx.walk_as(&sc, &id, &redirect).await;
        schemes.push((id, w, path.map(|p| host.hits(p)).unwrap_or(0)));
    }
    let mut malformed = Vec::new();
    let port = host.port();
    for (id, path) in [
        (
            format!("https://client.conformance.test:{port}/fragment.json#frag"),
            "fragment.json",
        ),
        (
            format!("https://user:pass@client.conformance.test:{port}/userinfo.json"),
            "userinfo.json",
        ),
        (
            format!("https://client.conformance.test:{port}/dots/../dotted.json"),
            "dotted.json",
        ),
        (format!("https://client.conformance.test:{port}"), ""),
    ] {
        host.put(path, HostedDoc::json(&honest_document(&id, &redirect)));
        let w = ctx.walk_as(&sc, &id, &redirect).await;
        malformed.push((id, w, host.hits(path)));
    }
    Ok(CimdObs {
        cases,
        cache_fetches,
        error_then_valid,
        ssrf,
        schemes,
        malformed,
        responsive_after_oversized,
    })
}

/// One honest CIMD flow at an AS that does not advertise CIMD: does it work anyway (AS-META-06)?
pub async fn cimd_unadvertised(ctx: &Ctx) -> Result<CimdAttempt, ObsError> {
    if ctx.endpoints.cimd_supported {
        return Err(not_applicable("the AS advertises CIMD"));
    }
    let Some(host) = &ctx.cimd else {
        return Err(ObsError::Harness("the CIMD host is not running".into()));
    };
    let sc = Scenario::new("cimd-unadvertised");
    let redirect = ctx.callback.redirect_uri();
    let path = "unadvertised.json";
    let id = host.client_id(path);
    host.put(path, HostedDoc::json(&honest_document(&id, &redirect)));
    let w = ctx.walk_as(&sc, &id, &redirect).await;
    Ok(CimdAttempt {
        client_id: id,
        authorized: w,
        hits: host.hits(path),
        token: None,
    })
}
