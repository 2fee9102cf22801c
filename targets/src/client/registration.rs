//! Client registration in the MCP §5 priority order: pre-registered credentials, then a Client ID
//! Metadata Document URL (CIMD), then Dynamic Client Registration (RFC 7591), else refuse.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use url::Url;

use super::config::{ClientContext, ClientSecret};
use super::defects::{ClientDefect, DefectExt as _};
use super::discovery::{origin_of, AuthorizationServerMetadata};
use super::error::ClientError;
use super::http::Http;

/// The reference client's name in its CIMD document and DCR requests.
pub const CLIENT_NAME: &str = "mcp-auth-conformance reference client";

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Public client: `client_id` in the body, no secret.
    None,
    /// `client_secret_basic`.
    Basic,
    /// `client_secret_post`.
    Post,
}

/// How the client id was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationKind {
    /// From `MCP_CONFORMANCE_CONTEXT`.
    PreRegistered,
    /// The client metadata document URL is the client id.
    Cimd,
    /// Registered with RFC 7591.
    Dynamic,
}

/// The client's identity at one authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRegistration {
    /// `client_id`.
    pub client_id: String,
    /// The secret, if the client is confidential.
    pub secret: Option<ClientSecret>,
    /// The token endpoint authentication method.
    pub auth: ClientAuth,
    /// Where the id came from.
    pub kind: RegistrationKind,
}

/// The reference client's CIMD document for `url`; the `cimd-doc-*` defects alter it.
pub fn client_metadata_document(url: &str, defect: Option<ClientDefect>) -> Value {
    let mut doc = json!({
        "client_id": url,
        "client_name": CLIENT_NAME,
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    });
    match defect {
        Some(ClientDefect::CimdDocClientIdMismatch) => {
            doc["client_id"] = json!(format!("{url}/other"))
        }
        Some(ClientDefect::CimdDocMissingClientName) => {
            if let Some(map) = doc.as_object_mut() {
                map.remove("client_name");
            }
        }
        Some(ClientDefect::CimdDocSharedSecret) => {
            doc["token_endpoint_auth_method"] = json!("client_secret_basic");
            doc["client_secret"] = json!("cimd-shared-secret-do-not-use");
        }
        _ => {}
    }
    doc
}

fn secret_method(
    metadata: &AuthorizationServerMetadata,
    defect: Option<ClientDefect>,
) -> ClientAuth {
    if defect.is(ClientDefect::WrongTokenAuthMethod) {
        return ClientAuth::Post;
    }
    match metadata.token_endpoint_auth_methods_supported.as_deref() {
        Some(list)
            if !list.iter().any(|m| m == "client_secret_basic")
                && list.iter().any(|m| m == "client_secret_post") =>
        {
            ClientAuth::Post
        }
        // RFC 8414 §2: the default is client_secret_basic.
        _ => ClientAuth::Basic,
    }
}

/// What the DCR request asks for: `none` when allowed (or unspecified), else a secret method.
fn dcr_method(metadata: &AuthorizationServerMetadata) -> &'static str {
    match metadata.token_endpoint_auth_methods_supported.as_deref() {
        None => "none",
        Some(list) if list.iter().any(|m| m == "none") => "none",
        Some(list) if list.iter().any(|m| m == "client_secret_basic") => "client_secret_basic",
        Some(list) if list.iter().any(|m| m == "client_secret_post") => "client_secret_post",
        Some(_) => "none",
    }
}

/// The `client_id` for CIMD (`client_metadata_url`, bent by the `cimd-client-id-*` defects).
fn cimd_client_id(url: &str, defect: Option<ClientDefect>) -> String {
    match defect {
        Some(ClientDefect::CimdClientIdFragment) => format!("{url}#client"),
        Some(ClientDefect::CimdClientIdNoPath) => Url::parse(url)
            .map(|u| origin_of(&u))
            .unwrap_or_else(|_| url.to_owned()),
        _ => url.to_owned(),
    }
}

#[derive(Debug, Deserialize)]
struct DcrResponse {
    client_id: String,
    #[serde(default)]
    client_secret: Option<ClientSecret>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// Obtains a client identity at the AS described by `metadata`.
pub(crate) async fn register(
    http: &Http,
    metadata: &AuthorizationServerMetadata,
    context: &ClientContext,
    redirect_uri: &str,
    defect: Option<ClientDefect>,
) -> Result<ClientRegistration, ClientError> {
    if let Some(client_id) = context
        .client_id
        .as_ref()
        .filter(|id| !id.is_empty() && !defect.is(ClientDefect::IgnorePreRegistration))
    {
        let secret = context
            .client_secret
            .clone()
            .filter(|s| !s.expose().is_empty());
        let auth = if secret.is_some() {
            secret_method(metadata, defect)
        } else {
            ClientAuth::None
        };
        return Ok(ClientRegistration {
            client_id: client_id.clone(),
            secret,
            auth,
            kind: RegistrationKind::PreRegistered,
        });
    }
    let cimd_supported = metadata.client_id_metadata_document_supported == Some(true);
    if let Some(url) = context
        .client_metadata_url
        .as_ref()
        .filter(|u| cimd_supported && !u.is_empty() && !defect.is(ClientDefect::DcrDespiteCimd))
    {
        return Ok(ClientRegistration {
            client_id: cimd_client_id(url, defect),
            secret: None,
            auth: ClientAuth::None,
            kind: RegistrationKind::Cimd,
        });
    }
    if let Some(endpoint) = metadata
        .registration_endpoint
        .as_ref()
        .filter(|_| !defect.is(ClientDefect::NoDcr))
    {
        return dynamic_registration(http, endpoint, metadata, redirect_uri, defect).await;
    }
    Err(ClientError::Registration(
        "no pre-registered client, no usable client ID metadata document, no registration endpoint"
            .into(),
    ))
}

/// The DCR request body: a native application (a loopback redirect URI; MCP 2026-07-28 "Application Type and
/// Redirect URI Constraints", SEP-837) that wants refresh tokens (`refresh_token` in `grant_types`, SEP-2207).
fn dcr_body(redirect_uri: &str, requested: &str, defect: Option<ClientDefect>) -> Value {
    let mut body = json!({
        "redirect_uris": [redirect_uri],
        "client_name": CLIENT_NAME,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": requested,
        "application_type": "native",
    });
    if defect.is(ClientDefect::NoApplicationType) {
        body.as_object_mut().map(|o| o.remove("application_type"));
    }
    if defect.is(ClientDefect::NoRefreshGrantType) {
        body["grant_types"] = json!(["authorization_code"]);
    }
    body
}

async fn dynamic_registration(
    http: &Http,
    endpoint: &str,
    metadata: &AuthorizationServerMetadata,
    redirect_uri: &str,
    defect: Option<ClientDefect>,
) -> Result<ClientRegistration, ClientError> {
    let requested = dcr_method(metadata);
    let body = dcr_body(redirect_uri, requested, defect);
    let request = http
        .request(Method::POST, endpoint)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&body);
    let response = http.send("client registration", endpoint, request).await?;
    if !response.is_success() {
        return Err(ClientError::Registration(format!(
            "the registration endpoint answered {}",
            response.status
        )));
    }
    let registered: DcrResponse = response
        .json()
        .map_err(|e| ClientError::Registration(format!("registration response: {e}")))?;
    if registered.client_id.is_empty() {
        return Err(ClientError::Registration(
            "the registration response has an empty client_id".into(),
        ));
    }
    let secret = registered.client_secret.filter(|s| !s.expose().is_empty());
    let method = registered
        .token_endpoint_auth_method
        .as_deref()
        .unwrap_or(requested);
    let auth = match (&secret, method) {
        (None, _) | (Some(_), "none") => ClientAuth::None,
        (Some(_), _) if defect.is(ClientDefect::WrongTokenAuthMethod) => ClientAuth::Post,
        (Some(_), "client_secret_post") => ClientAuth::Post,
        (Some(_), _) => ClientAuth::Basic,
    };
    Ok(ClientRegistration {
        client_id: registered.client_id,
        secret: if auth == ClientAuth::None {
            None
        } else {
            secret
        },
        auth,
        kind: RegistrationKind::Dynamic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dcr_body_names_a_native_application_that_wants_refresh_tokens() {
        let body = dcr_body("http://127.0.0.1:1/callback", "none", None);
        assert_eq!(body["application_type"], "native");
        assert_eq!(
            body["grant_types"],
            json!(["authorization_code", "refresh_token"])
        );
        let body = dcr_body(
            "http://127.0.0.1:1/callback",
            "none",
            Some(ClientDefect::NoApplicationType),
        );
        assert!(body.get("application_type").is_none());
        let body = dcr_body(
            "http://127.0.0.1:1/callback",
            "none",
            Some(ClientDefect::NoRefreshGrantType),
        );
        assert_eq!(body["grant_types"], json!(["authorization_code"]));
        assert_eq!(body["application_type"], "native");
    }

    #[test]
    fn cimd_document_and_its_defects() {
        let url = "https://client.conformance.test/client.json";
        let doc = client_metadata_document(url, None);
        assert_eq!(doc["client_id"], url);
        assert_eq!(doc["client_name"], CLIENT_NAME);
        assert_eq!(doc["redirect_uris"][0], "http://127.0.0.1/callback");
        assert_eq!(doc["token_endpoint_auth_method"], "none");
        let doc = client_metadata_document(url, Some(ClientDefect::CimdDocClientIdMismatch));
        assert_eq!(doc["client_id"], format!("{url}/other"));
        let doc = client_metadata_document(url, Some(ClientDefect::CimdDocMissingClientName));
        assert!(doc.get("client_name").is_none());
        let doc = client_metadata_document(url, Some(ClientDefect::CimdDocSharedSecret));
        assert_eq!(doc["token_endpoint_auth_method"], "client_secret_basic");
        assert!(doc.get("client_secret").is_some());
    }

    #[test]
    fn cimd_client_id_defects() {
        let url = "https://client.conformance.test/client.json";
        assert_eq!(cimd_client_id(url, None), url);
        assert_eq!(
            cimd_client_id(url, Some(ClientDefect::CimdClientIdFragment)),
            format!("{url}#client")
        );
        assert_eq!(
            cimd_client_id(url, Some(ClientDefect::CimdClientIdNoPath)),
            "https://client.conformance.test"
        );
    }
}
