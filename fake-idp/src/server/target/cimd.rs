//! The target mode's CIMD policy: which `client_id` URLs may be fetched (the test allow-list
//! `*.conformance.test[:port]` → `http://127.0.0.1[:port]`, or `https://` when the target was started to fetch
//! over TLS (`--tls-profile strict`), nothing else), the 5 KiB cap,
//! `Cache-Control` caching (never of failures) and the document rules.

use std::net::IpAddr;

use axum::http::{header, StatusCode};
use serde_json::{Map, Value};
use url::{Host, Position, Url};

use super::AsDefect;
use crate::server::clients::acceptable_redirect_uri;
use crate::server::{AsState, RegisteredClient};

/// The reserved test domain of the allow-list.
const TEST_DOMAIN: &str = "conformance.test";
/// The body cap of a compliant fetch (CIMD §6.6 recommends 5 KB).
const BODY_CAP: usize = 5 * 1024;
/// The body cap with the defect `cimd-no-size-limit`.
const LARGE_BODY_CAP: usize = 2 * 1024 * 1024;
/// How long the defect `cache-invalid-cimd` keeps any first result.
const INVALID_CACHE_SECS: i64 = 600;

/// Why the target refused a CIMD `client_id`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CimdRefusal {
    #[error("client_id is not a URL")]
    NotUrl,
    #[error("client_id scheme `{0}` is not https; not fetched")]
    Scheme(String),
    #[error("client_id URL is not a valid CIMD URL ({0}); not fetched")]
    Shape(&'static str),
    #[error("refusing to fetch client metadata from the address `{0}` (SSRF guard)")]
    ForbiddenAddress(String),
    #[error("refusing to fetch client metadata from host `{0}` (not on the allow-list)")]
    ForeignHost(String),
    #[error("fetching the client metadata document failed: {0}")]
    Fetch(String),
    #[error("client metadata document answered HTTP {0}, expected 200")]
    Status(u16),
    #[error("client metadata document exceeds {0} bytes")]
    TooLarge(usize),
    #[error("invalid client metadata document: {0}")]
    Invalid(String),
    #[error("{0} (cached)")]
    Cached(String),
}

/// A cached CIMD result.
#[derive(Debug, Clone)]
pub(crate) struct CachedCimd {
    until: i64,
    result: Result<RegisteredClient, String>,
}

/// A fetched document: its body and how long it may be cached.
struct Fetched {
    body: Vec<u8>,
    max_age: Option<i64>,
}

impl AsState {
    /// Resolves a URL `client_id` under the target policy. Refusals that need no network
    /// (scheme, URL shape, host) happen before any request.
    pub(crate) async fn resolve_cimd_target(
        &self,
        client_id: &str,
        requested_redirect: Option<&str>,
    ) -> Result<RegisteredClient, CimdRefusal> {
        let fetch_url = self.fetch_url(client_id)?;
        let now = self.minter().now();
        if let Some(cached) = self.store().cimd_cache.get(client_id) {
            if cached.until > now {
                return cached.result.clone().map_err(CimdRefusal::Cached);
            }
        }
        let fetched = self.fetch_document(client_id, &fetch_url).await;
        let lenient = || {
            RegisteredClient::public(
                client_id,
                requested_redirect.into_iter().map(str::to_owned).collect(),
            )
        };
        let (result, max_age) = match fetched {
            Err(CimdRefusal::Fetch(_) | CimdRefusal::Status(_))
                if self.defect(AsDefect::ProceedOnCimdFetchFailure) =>
            {
                (Ok(lenient()), None)
            }
            Err(e) => (Err(e), None),
            Ok(fetched) => (
                self.validate_target_document(client_id, &fetched.body, requested_redirect),
                fetched.max_age,
            ),
        };
        let cache_for = if self.defect(AsDefect::CacheInvalidCimd) {
            Some(INVALID_CACHE_SECS)
        } else if self.defect(AsDefect::NeverCacheCimd) || result.is_err() {
            None
        } else {
            max_age.filter(|age| *age > 0)
        };
        let mut store = self.store();
        if let Some(secs) = cache_for {
            store.cimd_cache.insert(
                client_id.to_owned(),
                CachedCimd {
                    until: now + secs,
                    result: result.clone().map_err(|e| e.to_string()),
                },
            );
        } else {
            store.cimd_cache.remove(client_id);
        }
        if let Ok(client) = &result {
            store
                .cimd_clients
                .insert(client_id.to_owned(), client.clone());
        }
        result
    }

    /// Where a CIMD URL may be fetched from, or why it may not (no network involved).
    fn fetch_url(&self, client_id: &str) -> Result<String, CimdRefusal> {
        let url = Url::parse(client_id).map_err(|_| CimdRefusal::NotUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if self.defect(AsDefect::CimdHttpClientId) => {}
            other => return Err(CimdRefusal::Scheme(other.to_owned())),
        }
        if !self.defect(AsDefect::CimdLenientUrl) {
            check_shape(client_id, &url)?;
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = &url[Position::BeforePath..Position::AfterQuery];
        let scheme = if self.cimd_https() { "https" } else { "http" };
        let ip = match url.host() {
            Some(Host::Domain(domain)) => {
                let domain = domain.to_ascii_lowercase();
                if domain == TEST_DOMAIN || domain.ends_with(&format!(".{TEST_DOMAIN}")) {
                    return Ok(format!("{scheme}://127.0.0.1{port}{path}"));
                }
                return Err(CimdRefusal::ForeignHost(domain));
            }
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            None => return Err(CimdRefusal::NotUrl),
        };
        if ip.is_loopback() && self.defect(AsDefect::CimdSsrf) {
            let host = url.host_str().unwrap_or_default();
            return Ok(format!("{scheme}://{host}{port}{path}"));
        }
        Err(CimdRefusal::ForbiddenAddress(ip.to_string()))
    }

    /// GETs the document (no redirects, 5 s timeout, body cap).
    async fn fetch_document(&self, client_id: &str, url: &str) -> Result<Fetched, CimdRefusal> {
        let cap = if self.defect(AsDefect::CimdNoSizeLimit) {
            LARGE_BODY_CAP
        } else {
            BODY_CAP
        };
        self.events().record_cimd_fetch(client_id);
        let mut response = self
            .inner
            .http
            .get(url)
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| CimdRefusal::Fetch(e.to_string()))?;
        if response.status() != StatusCode::OK {
            return Err(CimdRefusal::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(CimdRefusal::TooLarge(cap));
        }
        let max_age = response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| CimdRefusal::Fetch(e.to_string()))?
        {
            if body.len() + chunk.len() > cap {
                return Err(CimdRefusal::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { body, max_age })
    }

    /// The document rules under this run's defect (see [`validate_target_document`]).
    fn validate_target_document(
        &self,
        client_id: &str,
        body: &[u8],
        requested_redirect: Option<&str>,
    ) -> Result<RegisteredClient, CimdRefusal> {
        validate_target_document(
            client_id,
            body,
            requested_redirect,
            self.document_leniency(),
        )
    }

    /// Which defects loosen the document rules.
    fn document_leniency(&self) -> DocumentLeniency {
        DocumentLeniency {
            accept_invalid: self.defect(AsDefect::AcceptInvalidCimd),
            skip_client_id_check: self.defect(AsDefect::SkipCimdClientIdCheck),
            honour_secret: self.defect(AsDefect::CimdHonourSharedSecret),
            accept_http_redirect: self.defect(AsDefect::CimdAcceptHttpRedirect),
        }
    }
}

/// The defects that loosen the target's CIMD document rules, as flags (a run has one defect at
/// most, so at most one is set there; the rules do not depend on that).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DocumentLeniency {
    /// `accept-invalid-cimd`: an invalid document (not a JSON object, no `client_id`, no
    /// `redirect_uris`, mistyped `client_name`) yields a public client.
    pub(crate) accept_invalid: bool,
    /// `skip-cimd-client-id-check`: the document's `client_id` is not compared with its URL.
    pub(crate) skip_client_id_check: bool,
    /// `cimd-honour-shared-secret`: a string `client_secret` makes a confidential client.
    pub(crate) honour_secret: bool,
    /// `cimd-accept-http-redirect`: the listed `redirect_uris` are not required to be https or
    /// loopback http.
    pub(crate) accept_http_redirect: bool,
}

/// The document rules (CIMD §4.1, §4.5): a JSON object whose `client_id` is the URL, with
/// non-empty `redirect_uris`, each https or loopback http (MCP §11.3, as for DCR; the requested one
/// is checked later), no shared secret. Pure: the AS state only supplies `leniency`.
pub(crate) fn validate_target_document(
    client_id: &str,
    body: &[u8],
    requested_redirect: Option<&str>,
    leniency: DocumentLeniency,
) -> Result<RegisteredClient, CimdRefusal> {
    let lenient = leniency.accept_invalid;
    let invalid = |why: &str| CimdRefusal::Invalid(why.to_owned());
    let requested: Vec<String> = requested_redirect.into_iter().map(str::to_owned).collect();
    let object = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        });
    let Some(doc) = object else {
        return if lenient {
            Ok(RegisteredClient::public(client_id, requested))
        } else {
            Err(invalid("not a JSON object"))
        };
    };
    match doc.get("client_id").and_then(Value::as_str) {
        None if lenient => {}
        None => return Err(invalid("client_id is missing")),
        Some(found) if found != client_id && !leniency.skip_client_id_check => {
            return Err(invalid(&format!(
                "client_id `{found}` does not equal the document URL"
            )))
        }
        Some(_) => {}
    }
    if doc.get("client_name").is_some_and(|n| !n.is_string()) && !lenient {
        return Err(invalid("client_name is not a string"));
    }
    let redirect_uris = string_array(&doc, "redirect_uris");
    let redirect_uris = match redirect_uris {
        Some(uris) if !uris.is_empty() => {
            if let Some(unsafe_uri) = uris
                .iter()
                .find(|u| !leniency.accept_http_redirect && !acceptable_redirect_uri(u))
            {
                return Err(invalid(&format!(
                    "redirect URI `{unsafe_uri}` must be https or loopback http"
                )));
            }
            uris
        }
        _ if lenient => requested,
        _ => return Err(invalid("redirect_uris is missing or empty")),
    };
    let method = doc
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        .unwrap_or("none");
    let secret = doc.get("client_secret").and_then(Value::as_str);
    if leniency.honour_secret {
        if let Some(secret) = secret {
            return Ok(RegisteredClient::confidential(
                client_id,
                secret,
                redirect_uris,
            ));
        }
    }
    if doc.contains_key("client_secret") {
        return Err(invalid(
            "a client_secret is not allowed in a client metadata document",
        ));
    }
    if method != "none" {
        return Err(invalid(&format!(
            "token_endpoint_auth_method `{method}` is not supported (public clients only)"
        )));
    }
    Ok(RegisteredClient::public(client_id, redirect_uris))
}

fn string_array(doc: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    doc.get(name)?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// `max-age` of a `Cache-Control` value; `None` with `no-store` / `no-cache` or without it.
pub(crate) fn max_age(cache_control: &str) -> Option<i64> {
    let directives: Vec<String> = cache_control
        .split(',')
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    if directives
        .iter()
        .any(|d| d == "no-store" || d == "no-cache")
    {
        return None;
    }
    directives
        .iter()
        .find_map(|d| d.strip_prefix("max-age=")?.trim_matches('"').parse().ok())
}

/// CIMD §3: a path, no fragment, no userinfo, no dot segments (checked on the raw string: the
/// URL parser would resolve dot segments away).
pub(crate) fn check_shape(raw: &str, url: &Url) -> Result<(), CimdRefusal> {
    if url.fragment().is_some() || raw.contains('#') {
        return Err(CimdRefusal::Shape("fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CimdRefusal::Shape("userinfo"));
    }
    let after_scheme = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.is_empty() || path == "/" {
        return Err(CimdRefusal::Shape("no path"));
    }
    let dot = |segment: &str| {
        let s = segment.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    };
    if path.split('/').any(dot) {
        return Err(CimdRefusal::Shape("dot segments"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::plain("https://client.conformance.test/c.json", Ok(()))]
    #[case::no_path("https://client.conformance.test", Err(CimdRefusal::Shape("no path")))]
    #[case::root_path("https://client.conformance.test/", Err(CimdRefusal::Shape("no path")))]
    #[case::fragment(
        "https://client.conformance.test/c#f",
        Err(CimdRefusal::Shape("fragment"))
    )]
    #[case::userinfo(
        "https://u:p@client.conformance.test/c",
        Err(CimdRefusal::Shape("userinfo"))
    )]
    #[case::dot_dot(
        "https://client.conformance.test/a/../c",
        Err(CimdRefusal::Shape("dot segments"))
    )]
    #[case::encoded_dot(
        "https://client.conformance.test/a/%2e/c",
        Err(CimdRefusal::Shape("dot segments"))
    )]
    fn cimd_url_shape(#[case] raw: &str, #[case] expected: Result<(), CimdRefusal>) {
        assert_eq!(check_shape(raw, &Url::parse(raw).unwrap()), expected);
    }

    #[rstest]
    #[case::max_age("max-age=600", Some(600))]
    #[case::public_max_age("public, max-age=60", Some(60))]
    #[case::no_store("no-store", None)]
    #[case::no_store_wins("max-age=60, no-store", None)]
    #[case::nothing("public", None)]
    fn cache_control_max_age(#[case] value: &str, #[case] expected: Option<i64>) {
        assert_eq!(max_age(value), expected);
    }

    fn listing(redirect: &str) -> Vec<u8> {
        serde_json::json!({
            "client_id": "https://client.conformance.test/c.json",
            "redirect_uris": ["http://127.0.0.1/callback", redirect],
        })
        .to_string()
        .into_bytes()
    }

    #[rstest]
    #[case::http_off_loopback("http://client.conformance.test/cb")]
    #[case::script("javascript:alert(1)")]
    fn a_document_listing_a_redirect_uri_neither_https_nor_loopback_is_refused(#[case] uri: &str) {
        let id = "https://client.conformance.test/c.json";
        let refused =
            validate_target_document(id, &listing(uri), None, DocumentLeniency::default());
        assert!(
            matches!(&refused, Err(CimdRefusal::Invalid(why)) if why.contains("https or loopback")),
            "{refused:?}"
        );
        let lenient = DocumentLeniency {
            accept_http_redirect: true,
            ..DocumentLeniency::default()
        };
        let accepted = validate_target_document(id, &listing(uri), None, lenient).unwrap();
        assert!(accepted.redirect_uris.iter().any(|u| u == uri));
    }

    #[rstest]
    #[case::https("https://client.example/cb")]
    #[case::loopback_ip("http://127.0.0.1:8080/cb")]
    #[case::localhost("http://localhost/cb")]
    fn a_document_listing_https_or_loopback_redirect_uris_is_accepted(#[case] uri: &str) {
        let id = "https://client.conformance.test/c.json";
        let client =
            validate_target_document(id, &listing(uri), None, DocumentLeniency::default()).unwrap();
        assert!(client.redirect_uris.iter().any(|u| u == uri));
    }
}
