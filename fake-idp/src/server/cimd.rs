//! Client ID Metadata Documents: the CIMD host (documents published with `cimd_put`) and the
//! authorization server's fetch-and-validate of an https `client_id`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use url::Url;

use super::{AsState, RegisteredClient, FETCH_BODY_CAP};

/// The reserved test domain whose hosts resolve to the fake world's own CIMD host.
const TEST_DOMAIN: &str = "conformance.test";

/// Why a CIMD `client_id` was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CimdError {
    #[error("client_id is not an https URL")]
    NotHttps,
    #[error("refusing to fetch client metadata from host `{0}`: only *.{TEST_DOMAIN} is resolvable in the fake world")]
    ForeignHost(String),
    #[error("fetching the client metadata document failed: {0}")]
    Fetch(String),
    #[error("client metadata document answered HTTP {0}, expected 200")]
    Status(u16),
    #[error("client metadata document exceeds {FETCH_BODY_CAP} bytes")]
    TooLarge,
    #[error("client metadata document is not a JSON object")]
    NotJsonObject,
    #[error("client metadata client_id `{found}` does not equal the document URL `{url}`")]
    ClientIdMismatch { url: String, found: String },
    #[error("client metadata has no redirect_uris")]
    NoRedirectUris,
    #[error("client metadata token_endpoint_auth_method `{0}` is not allowed (shared secrets are refused)")]
    AuthMethod(String),
    #[error("client metadata must not carry a client_secret")]
    ClientSecret,
}

/// Whether `client_id` looks like a CIMD URL.
pub(crate) fn is_cimd_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://")
}

/// Where the fake world really fetches a `*.conformance.test` URL from.
fn local_url(issuer: &str, client_id: &str) -> Result<String, CimdError> {
    let url = Url::parse(client_id).map_err(|_| CimdError::NotHttps)?;
    if url.scheme() != "https" {
        return Err(CimdError::NotHttps);
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host != TEST_DOMAIN && !host.ends_with(&format!(".{TEST_DOMAIN}")) {
        return Err(CimdError::ForeignHost(host));
    }
    let mut local = format!("{issuer}/cimd/{}", url.path().trim_start_matches('/'));
    if let Some(query) = url.query() {
        local.push('?');
        local.push_str(query);
    }
    Ok(local)
}

impl AsState {
    /// Fetches and validates the CIMD document named by `client_id` (never another host,
    /// never a redirect; 5 s timeout and a 64 KiB body cap).
    pub(super) async fn resolve_cimd(
        &self,
        client_id: &str,
    ) -> Result<RegisteredClient, CimdError> {
        let local = local_url(self.issuer(), client_id)?;
        self.events().record_cimd_fetch(client_id);
        let mut response = self
            .inner
            .http
            .get(&local)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| CimdError::Fetch(e.to_string()))?;
        if response.status() != StatusCode::OK {
            return Err(CimdError::Status(response.status().as_u16()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| CimdError::Fetch(e.to_string()))?
        {
            if body.len() + chunk.len() > FETCH_BODY_CAP {
                return Err(CimdError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let doc: Value = serde_json::from_slice(&body).map_err(|_| CimdError::NotJsonObject)?;
        validate_document(client_id, &doc)
    }
}

/// The CIMD rules the fake AS enforces on a fetched document.
pub(crate) fn validate_document(url: &str, doc: &Value) -> Result<RegisteredClient, CimdError> {
    let obj = doc.as_object().ok_or(CimdError::NotJsonObject)?;
    let found = obj
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if found != url {
        return Err(CimdError::ClientIdMismatch {
            url: url.to_owned(),
            found: found.to_owned(),
        });
    }
    let redirect_uris = super::register::redirect_uris_of(obj);
    if redirect_uris.is_empty() {
        return Err(CimdError::NoRedirectUris);
    }
    match obj.get("token_endpoint_auth_method") {
        None => {}
        Some(Value::String(m)) if m == "none" || m == "private_key_jwt" => {}
        Some(other) => {
            return Err(CimdError::AuthMethod(
                other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_owned),
            ))
        }
    }
    if obj.contains_key("client_secret") {
        return Err(CimdError::ClientSecret);
    }
    Ok(RegisteredClient::public(url, redirect_uris))
}

pub(super) async fn serve_document(
    State(state): State<AsState>,
    Path(path): Path<String>,
) -> Response {
    let doc = state
        .store()
        .cimd
        .get(path.trim_start_matches('/'))
        .cloned();
    match doc {
        Some(doc) => Json(doc).into_response(),
        None => (StatusCode::NOT_FOUND, "no such client metadata document").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    const URL: &str = "https://client.conformance.test/agent.json";

    #[rstest]
    #[case::test_host(URL, Ok("http://127.0.0.1:1/cimd/agent.json".to_owned()))]
    #[case::apex("https://conformance.test/a/b.json", Ok("http://127.0.0.1:1/cimd/a/b.json".to_owned()))]
    #[case::foreign("https://evil.example/agent.json", Err(CimdError::ForeignHost("evil.example".into())))]
    #[case::lookalike("https://conformance.test.evil.example/a", Err(CimdError::ForeignHost("conformance.test.evil.example".into())))]
    #[case::http("http://client.conformance.test/a", Err(CimdError::NotHttps))]
    fn cimd_urls_resolve_only_on_the_test_domain(
        #[case] client_id: &str,
        #[case] expected: Result<String, CimdError>,
    ) {
        assert_eq!(local_url("http://127.0.0.1:1", client_id), expected);
    }

    #[test]
    fn valid_document_yields_a_public_client() {
        let doc = json!({"client_id": URL, "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"});
        let client = validate_document(URL, &doc).unwrap();
        assert_eq!(client.client_secret, None);
        assert!(client.allows_redirect("http://127.0.0.1:9/cb"));
    }

    #[rstest]
    #[case::client_id_mismatch(json!({"client_id": "https://client.conformance.test/other.json", "redirect_uris": ["http://127.0.0.1/cb"]}))]
    #[case::no_redirects(json!({"client_id": URL, "redirect_uris": []}))]
    #[case::shared_secret_method(json!({"client_id": URL, "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"}))]
    #[case::non_string_method(json!({"client_id": URL, "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": ["none"]}))]
    #[case::null_method(json!({"client_id": URL, "redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": null}))]
    #[case::client_secret(json!({"client_id": URL, "redirect_uris": ["http://127.0.0.1/cb"], "client_secret": "s"}))]
    #[case::not_object(json!([URL]))]
    fn invalid_documents_are_refused(#[case] doc: Value) {
        assert!(validate_document(URL, &doc).is_err());
    }
}
