//! The authorization request (OAuth 2.1 §4.1.1): PKCE (RFC 7636), `state`, `resource`
//! (RFC 8707), `scope`, and headless redirect handling: the authorization URL is fetched without
//! following redirects and `code`/`state`/`iss` are lifted from `Location`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use reqwest::Method;
use sha2::{Digest as _, Sha256};
use tokio::task::JoinHandle;
use url::Url;

use super::defects::{ClientDefect, DefectExt as _};
use super::discovery::AuthorizationServerMetadata;
use super::error::ClientError;
use super::http::Http;

/// `BASE64URL(n random octets)` without padding.
pub(crate) fn random_b64url(octets: usize) -> String {
    let mut bytes = vec![0u8; octets];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `BASE64URL(SHA256(ASCII(verifier)))` (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A PKCE code challenge method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceMethod {
    /// SHA-256 (the only method the compliant client uses).
    S256,
    /// The verifier itself (defects only).
    Plain,
}

impl PkceMethod {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }
}

/// One PKCE pair. The verifier prints as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkce {
    verifier: String,
    /// The `code_challenge` sent.
    pub challenge: String,
    /// The `code_challenge_method` sent.
    pub method: PkceMethod,
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce")
            .field("verifier", &"[redacted]")
            .field("challenge", &self.challenge)
            .field("method", &self.method)
            .finish()
    }
}

impl Pkce {
    /// A fresh pair: 32 random octets → a 43-character verifier (20 characters with
    /// `short-verifier`).
    pub fn generate(method: PkceMethod, defect: Option<ClientDefect>) -> Self {
        let octets = if defect.is(ClientDefect::ShortVerifier) {
            15
        } else {
            32
        };
        Self::from_verifier(random_b64url(octets), method)
    }

    /// The pair for a given verifier.
    pub fn from_verifier(verifier: String, method: PkceMethod) -> Self {
        let challenge = match method {
            PkceMethod::S256 => s256_challenge(&verifier),
            PkceMethod::Plain => verifier.clone(),
        };
        Self {
            verifier,
            challenge,
            method,
        }
    }

    /// The verifier (for the token request only).
    pub fn verifier(&self) -> &str {
        &self.verifier
    }
}

/// Decides the PKCE method from AS metadata (MCP §11.4): `S256` must be advertised.
/// `Ok(None)` only with `no-pkce`.
pub(crate) fn choose_pkce_method(
    metadata: &AuthorizationServerMetadata,
    defect: Option<ClientDefect>,
) -> Result<Option<PkceMethod>, ClientError> {
    let method = match metadata.code_challenge_methods_supported.as_deref() {
        None if defect.is(ClientDefect::ProceedWithoutPkceMetadata) => PkceMethod::S256,
        None => {
            return Err(ClientError::Pkce(
                "authorization server metadata lacks code_challenge_methods_supported (MCP §11.4)".into(),
            ))
        }
        Some(methods) if methods.iter().any(|m| m == "S256") => PkceMethod::S256,
        Some(methods)
            if defect.is(ClientDefect::UsePlainWhenOnlyPlain) && methods.iter().any(|m| m == "plain") =>
        {
            PkceMethod::Plain
        }
        Some(methods) => {
            return Err(ClientError::Pkce(format!(
                "authorization server does not support S256 (code_challenge_methods_supported: {methods:?})"
            )))
        }
    };
    Ok(match defect {
        Some(ClientDefect::NoPkce) => None,
        Some(ClientDefect::PlainPkce) => Some(PkceMethod::Plain),
        _ => Some(method),
    })
}

/// Everything one authorization request carries.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizationRequest<'a> {
    pub endpoint: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub pkce: Option<&'a Pkce>,
    pub state: &'a str,
    pub resource: Option<&'a str>,
    pub scope: Option<&'a str>,
}

impl AuthorizationRequest<'_> {
    /// The authorization URL: the endpoint's own query is kept, ours appended.
    pub fn url(&self) -> Result<String, ClientError> {
        let mut url = Url::parse(self.endpoint).map_err(|e| {
            ClientError::Metadata(format!(
                "authorization_endpoint `{}` is not a URL: {e}",
                self.endpoint
            ))
        })?;
        url.set_fragment(None);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", self.client_id)
                .append_pair("redirect_uri", self.redirect_uri);
            if let Some(pkce) = self.pkce {
                q.append_pair("code_challenge", &pkce.challenge)
                    .append_pair("code_challenge_method", pkce.method.as_str());
            }
            q.append_pair("state", self.state);
            if let Some(resource) = self.resource {
                q.append_pair("resource", resource);
            }
            if let Some(scope) = self.scope {
                q.append_pair("scope", scope);
            }
        }
        Ok(url.to_string())
    }
}

/// The parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `iss`.
    pub iss: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

/// Parses a redirect `Location`; it must address `redirect_uri` (query parameters only).
pub fn parse_redirect(
    location: &str,
    redirect_uri: &str,
) -> Result<AuthorizationResponse, ClientError> {
    let base = location.split(['?', '#']).next().unwrap_or(location);
    if base != redirect_uri {
        return Err(ClientError::Authorization(format!(
            "the authorization endpoint redirected to `{base}`, not to the redirect URI `{redirect_uri}`"
        )));
    }
    let query = location
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(q))
        .unwrap_or("");
    let mut out = AuthorizationResponse::default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match name.as_ref() {
            "code" => &mut out.code,
            "state" => &mut out.state,
            "iss" => &mut out.iss,
            "error" => &mut out.error,
            "error_description" => &mut out.error_description,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value.into_owned());
        }
    }
    Ok(out)
}

/// Fetches the authorization URL without following redirects and parses the redirect.
pub(crate) async fn fetch_authorization(
    http: &Http,
    url: &str,
    redirect_uri: &str,
) -> Result<AuthorizationResponse, ClientError> {
    let response = http
        .send("authorization request", url, http.request(Method::GET, url))
        .await?;
    if !matches!(response.status, 301 | 302 | 303 | 307 | 308) {
        return Err(ClientError::Authorization(format!(
            "the authorization endpoint answered {} instead of redirecting (headless flow)",
            response.status
        )));
    }
    let location = response.header("location").ok_or_else(|| {
        ClientError::Authorization("the authorization redirect has no Location".into())
    })?;
    parse_redirect(&location, redirect_uri)
}

/// Checks the response against what was sent: `state` (CL-RED-03), then `iss` (RFC 9207,
/// CL-MIX-02/03), then returns the code. An `error` response is reported as such.
pub(crate) fn validate_response(
    response: &AuthorizationResponse,
    expected_state: &str,
    issuer: &str,
    iss_advertised: bool,
    defect: Option<ClientDefect>,
) -> Result<String, ClientError> {
    if response.state.as_deref() != Some(expected_state) && !defect.is(ClientDefect::NoStateCheck) {
        return Err(ClientError::Authorization(match &response.state {
            None => "the authorization response has no state".into(),
            Some(_) => "the authorization response state does not match the request".into(),
        }));
    }
    if let Some(error) = &response.error {
        return Err(ClientError::Authorization(format!(
            "the authorization server answered error={error}{}",
            response
                .error_description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        )));
    }
    if !defect.is(ClientDefect::IgnoreIss) {
        let compare = iss_advertised || !defect.is(ClientDefect::IssOnlyWhenAdvertised);
        match &response.iss {
            Some(iss) if compare && !iss_matches(iss, issuer, defect) => {
                return Err(ClientError::Authorization(format!(
                    "the authorization response iss `{iss}` is not the issuer `{issuer}`"
                )))
            }
            None if (iss_advertised || defect.is(ClientDefect::RequireIss))
                && !defect.is(ClientDefect::IgnoreMissingIss) =>
            {
                return Err(ClientError::Authorization(
                    "the authorization server advertises iss but the response has none".into(),
                ))
            }
            _ => {}
        }
    }
    response
        .code
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ClientError::Authorization("the authorization response has no code".into()))
}

/// Whether the response `iss` is the recorded issuer: simple string comparison (RFC 9207 §2.4; MCP 2026-07-28
/// forbids case folding, trailing-slash and other normalization), unless `normalize-iss` is on.
fn iss_matches(iss: &str, issuer: &str, defect: Option<ClientDefect>) -> bool {
    if defect.is(ClientDefect::NormalizeIss) {
        let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
        return norm(iss) == norm(issuer);
    }
    iss == issuer
}

/// The loopback redirect listener (`http://127.0.0.1:<port>/callback`). The headless flow never
/// needs it, but it exists so the redirect URI names a port this process owns.
#[derive(Debug)]
pub(crate) struct CallbackListener {
    pub port: u16,
    task: JoinHandle<()>,
}

impl CallbackListener {
    pub async fn bind() -> Result<Self, ClientError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| {
                ClientError::Usage(format!("cannot bind the loopback callback listener: {e}"))
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| ClientError::Usage(format!("loopback listener: {e}")))?
            .port();
        let app = axum::Router::new()
            .fallback(|| async { "Authorization received; you may close this window." });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { port, task })
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_43_chars_fresh_and_unreserved() {
        let a = Pkce::generate(PkceMethod::S256, None);
        let b = Pkce::generate(PkceMethod::S256, None);
        assert_eq!(a.verifier().len(), 43);
        assert_ne!(a.verifier(), b.verifier());
        assert!(a
            .verifier()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)));
        assert_eq!(a.challenge, s256_challenge(a.verifier()));
        assert_eq!(
            Pkce::generate(PkceMethod::S256, Some(ClientDefect::ShortVerifier))
                .verifier()
                .len(),
            20
        );
        assert!(!format!("{a:?}").contains(a.verifier()));
    }

    #[test]
    fn redirect_must_address_the_redirect_uri() {
        let r = parse_redirect(
            "http://127.0.0.1:5/callback?code=c&state=s&iss=http%3A%2F%2Fa",
            "http://127.0.0.1:5/callback",
        )
        .unwrap();
        assert_eq!(r.code.as_deref(), Some("c"));
        assert_eq!(r.iss.as_deref(), Some("http://a"));
        assert!(
            parse_redirect("http://evil/callback?code=c", "http://127.0.0.1:5/callback").is_err()
        );
    }

    #[test]
    fn state_and_iss_validation() {
        let ok = AuthorizationResponse {
            code: Some("c".into()),
            state: Some("s".into()),
            iss: Some("http://as".into()),
            ..Default::default()
        };
        assert_eq!(
            validate_response(&ok, "s", "http://as", true, None).unwrap(),
            "c"
        );
        assert!(validate_response(&ok, "other", "http://as", true, None).is_err());
        assert!(validate_response(
            &ok,
            "other",
            "http://as",
            true,
            Some(ClientDefect::NoStateCheck)
        )
        .is_ok());
        assert!(validate_response(&ok, "s", "http://as/", false, None).is_err());
        let no_iss = AuthorizationResponse {
            iss: None,
            ..ok.clone()
        };
        assert!(validate_response(&no_iss, "s", "http://as", true, None).is_err());
        assert!(validate_response(&no_iss, "s", "http://as", false, None).is_ok());
        assert!(validate_response(
            &no_iss,
            "s",
            "http://as",
            true,
            Some(ClientDefect::IgnoreMissingIss)
        )
        .is_ok());
        assert!(validate_response(
            &ok,
            "s",
            "http://x",
            true,
            Some(ClientDefect::IgnoreMissingIss)
        )
        .is_err());
        assert!(
            validate_response(&ok, "s", "http://x", true, Some(ClientDefect::IgnoreIss)).is_ok()
        );
    }

    fn response_with_iss(iss: Option<&str>) -> AuthorizationResponse {
        AuthorizationResponse {
            code: Some("c".into()),
            state: Some("s".into()),
            iss: iss.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn an_unadvertised_wrong_iss_is_rejected_unless_iss_only_when_advertised() {
        let wrong = response_with_iss(Some("http://evil"));
        assert!(validate_response(&wrong, "s", "http://as", false, None).is_err());
        let d = Some(ClientDefect::IssOnlyWhenAdvertised);
        assert!(validate_response(&wrong, "s", "http://as", false, d).is_ok());
        assert!(validate_response(&wrong, "s", "http://as", true, d).is_err());
    }

    #[test]
    fn a_trailing_slash_iss_is_rejected_unless_normalize_iss() {
        let slash = response_with_iss(Some("http://AS/"));
        assert!(validate_response(&slash, "s", "http://as", true, None).is_err());
        let d = Some(ClientDefect::NormalizeIss);
        assert!(validate_response(&slash, "s", "http://as", true, d).is_ok());
        let other = response_with_iss(Some("http://other/"));
        assert!(validate_response(&other, "s", "http://as", true, d).is_err());
    }

    #[test]
    fn no_iss_without_advertisement_proceeds_unless_require_iss() {
        let none = response_with_iss(None);
        assert!(validate_response(&none, "s", "http://as", false, None).is_ok());
        let d = Some(ClientDefect::RequireIss);
        assert!(validate_response(&none, "s", "http://as", false, d).is_err());
    }
}
