//! Configuration of the reference To-Do server.

use std::fmt;
use std::str::FromStr;

use super::ServerDefect;

/// How the server validates access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationMode {
    /// Validate RFC 9068 JWT access tokens locally against the issuer's JWKS.
    Jwt,
    /// Ask the authorization server (RFC 7662 token introspection).
    Introspection,
}

impl ValidationMode {
    /// The configuration name: `jwt` or `introspection`.
    pub fn name(self) -> &'static str {
        match self {
            ValidationMode::Jwt => "jwt",
            ValidationMode::Introspection => "introspection",
        }
    }
}

impl fmt::Display for ValidationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for an unknown [`ValidationMode`] name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown validation mode `{0}` (valid: jwt, introspection)")]
pub struct UnknownValidationMode(pub String);

impl FromStr for ValidationMode {
    type Err = UnknownValidationMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "jwt" => Ok(ValidationMode::Jwt),
            "introspection" => Ok(ValidationMode::Introspection),
            other => Err(UnknownValidationMode(other.to_owned())),
        }
    }
}

/// Credentials and endpoint for RFC 7662 token introspection (`client_secret_basic`).
#[derive(Clone, PartialEq, Eq)]
pub struct IntrospectionClient {
    /// The introspection endpoint.
    pub url: String,
    /// The client id the server authenticates with.
    pub client_id: String,
    /// The client secret (redacted in `Debug`).
    pub client_secret: String,
}

impl fmt::Debug for IntrospectionClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionClient")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// Everything the To-Do server needs to know. Build with [`TodoServerConfig::new`] and adjust fields.
#[derive(Debug, Clone)]
pub struct TodoServerConfig {
    /// The one trusted issuer, compared exactly with `iss`.
    pub issuer: String,
    /// Where the issuer publishes its signing keys.
    pub jwks_uri: String,
    /// JWT or introspection.
    pub mode: ValidationMode,
    /// Required in [`ValidationMode::Introspection`].
    pub introspection: Option<IntrospectionClient>,
    /// External base URL (`scheme://host:port`) the server answers as; default
    /// `http://127.0.0.1:<bound port>`. The resource is `public_base + "/mcp"`.
    pub public_base: Option<String>,
    /// The one protection to turn off, if any.
    pub defect: Option<ServerDefect>,
    /// Scopes advertised in PRM and in challenges.
    pub scopes_supported: Vec<String>,
    /// The upstream API resource (e.g. `http://127.0.0.1:<p>/api`). When set, the server also
    /// offers `email_digest` and `send_email`, which call it on the user's behalf through an
    /// RFC 8693 token exchange authenticated with the [`introspection`](Self::introspection)
    /// client credentials.
    pub upstream_url: Option<String>,
    /// The authorization server's token endpoint used for the exchange; default
    /// `issuer + "/token"`.
    pub token_endpoint: Option<String>,
    /// The `aud` value tokens for this server carry when it is not the resource URL (an AS persona's audience,
    /// e.g. a Scalekit resource id); default the resource URL.
    pub audience: Option<String>,
    /// The AS identifier the PRM lists in `authorization_servers` when it is not the issuer (Scalekit's
    /// `<environment>/resources/<resource_id>` while tokens carry the environment URL); default the issuer.
    pub authorization_server: Option<String>,
    /// Serve https with this certificate (`--tls-profile strict`): the default public base is then
    /// `https://127.0.0.1:<port>`.
    pub tls: Option<fake_idp::tls::ServerCert>,
    /// One more CA certificate (PEM) the server's outbound client trusts: the test CA that signed the fake AS's
    /// and upstream's certificates under strict TLS.
    pub trust_ca_pem: Option<String>,
    /// Run in the MCP 2025-03-26 shape (`--spec-version 2025-03-26`): the server is its own authorization server
    /// at its origin (RFC 8414 metadata at the root, `/authorize`, `/token`, `/register`), delegating to this
    /// authorization server, and publishes no protected resource metadata.
    pub own_authorization_server: Option<DelegatedAs>,
}

/// The authorization server a 2025-03-26-shaped server delegates to (MCP 2025-03-26 "Third-Party Authorization
/// Flow"): its `/authorize` redirects there, its `/token` and `/register` forward there (the token endpoint is
/// [`TodoServerConfig::token_endpoint`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelegatedAs {
    pub authorization_endpoint: String,
    pub registration_endpoint: String,
}

impl TodoServerConfig {
    /// The token endpoint the exchange uses: [`token_endpoint`](Self::token_endpoint) or
    /// `issuer + "/token"`.
    pub fn token_endpoint(&self) -> String {
        self.token_endpoint
            .clone()
            .unwrap_or_else(|| format!("{}/token", self.issuer.trim_end_matches('/')))
    }

    /// A compliant JWT-mode configuration trusting `issuer` with keys at `jwks_uri`.
    pub fn new(issuer: impl Into<String>, jwks_uri: impl Into<String>) -> Self {
        TodoServerConfig {
            issuer: issuer.into(),
            jwks_uri: jwks_uri.into(),
            mode: ValidationMode::Jwt,
            introspection: None,
            public_base: None,
            defect: None,
            scopes_supported: vec![super::SCOPE_READ.to_owned(), super::SCOPE_WRITE.to_owned()],
            upstream_url: None,
            token_endpoint: None,
            audience: None,
            authorization_server: None,
            tls: None,
            trust_ca_pem: None,
            own_authorization_server: None,
        }
    }
}
