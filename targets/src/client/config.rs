//! The client's configuration: the conformance environment contract (`docs/client-role.md` §1)
//! and the protocol values it carries.

use std::fmt;

use serde::Deserialize;

use super::error::ClientError;

/// The protocol version the reference client speaks when the environment names none.
pub const DEFAULT_PROTOCOL_VERSION: &str = "2025-11-25";

/// A client secret; prints as `[redacted]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself (for the token request only).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `MCP_CONFORMANCE_CONTEXT`: a JSON object discriminated on `name`; unknown members are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ClientContext {
    /// The scenario name.
    #[serde(default)]
    pub name: String,
    /// CIMD scenarios: the URL to use as `client_id`.
    #[serde(default)]
    pub client_metadata_url: Option<String>,
    /// Pre-registered scenarios: the client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Pre-registered scenarios: the client secret.
    #[serde(default)]
    pub client_secret: Option<ClientSecret>,
    /// `auth/client-credentials-jwt`: the PKCS#8 PEM key that signs client assertions.
    #[serde(default)]
    pub private_key_pem: Option<ClientSecret>,
    /// `auth/client-credentials-jwt`: the assertion's algorithm (ES256 when absent).
    #[serde(default)]
    pub signing_algorithm: Option<String>,
    /// `auth/enterprise-managed-authorization`: the client's id at the enterprise IdP.
    #[serde(default)]
    pub idp_client_id: Option<String>,
    /// `auth/enterprise-managed-authorization`: the user's ID token from the IdP.
    #[serde(default)]
    pub idp_id_token: Option<ClientSecret>,
    /// `auth/enterprise-managed-authorization`: the IdP's issuer.
    #[serde(default)]
    pub idp_issuer: Option<String>,
    /// `auth/enterprise-managed-authorization`: the IdP's token endpoint (RFC 8693 exchange).
    #[serde(default)]
    pub idp_token_endpoint: Option<String>,
    /// `auth/wif-jwt-bearer`: the workload JWT to present.
    #[serde(default)]
    pub valid_jwt: Option<ClientSecret>,
    /// `auth/wif-jwt-bearer`: a workload JWT for another audience (never presented by a correct client).
    #[serde(default)]
    pub wrong_audience_jwt: Option<ClientSecret>,
    /// `auth/wif-jwt-bearer`: an expired workload JWT (never presented by a correct client).
    #[serde(default)]
    pub expired_jwt: Option<ClientSecret>,
}

/// Everything the environment tells the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientEnv {
    /// `MCP_CONFORMANCE_SCENARIO`, if set.
    pub scenario: Option<String>,
    /// `MCP_CONFORMANCE_PROTOCOL_VERSION` (default [`DEFAULT_PROTOCOL_VERSION`]).
    pub protocol_version: String,
    /// `MCP_CONFORMANCE_CONTEXT`, parsed.
    pub context: ClientContext,
}

impl Default for ClientEnv {
    fn default() -> Self {
        Self {
            scenario: None,
            protocol_version: DEFAULT_PROTOCOL_VERSION.to_owned(),
            context: ClientContext::default(),
        }
    }
}

impl ClientEnv {
    /// Reads the contract variables through `var` (pass `|n| std::env::var(n).ok()`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ClientError> {
        let scenario = var("MCP_CONFORMANCE_SCENARIO").filter(|s| !s.is_empty());
        let protocol_version = var("MCP_CONFORMANCE_PROTOCOL_VERSION")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_PROTOCOL_VERSION.to_owned());
        let context = match var("MCP_CONFORMANCE_CONTEXT").filter(|s| !s.trim().is_empty()) {
            Some(raw) => serde_json::from_str::<ClientContext>(&raw).map_err(|e| {
                ClientError::Usage(format!(
                    "MCP_CONFORMANCE_CONTEXT is not a valid context: {e}"
                ))
            })?,
            None => ClientContext {
                name: scenario.clone().unwrap_or_default(),
                ..ClientContext::default()
            },
        };
        Ok(Self {
            scenario,
            protocol_version,
            context,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_parses_with_unknown_members_and_redacts_the_secret() {
        let env = ClientEnv::from_vars(|n| match n {
            "MCP_CONFORMANCE_CONTEXT" => Some(
                r#"{"name":"auth/pre-registration","client_id":"c1","client_secret":"s3cret","extra":1}"#
                    .into(),
            ),
            _ => None,
        })
        .unwrap();
        assert_eq!(env.protocol_version, DEFAULT_PROTOCOL_VERSION);
        assert_eq!(env.context.client_id.as_deref(), Some("c1"));
        assert!(!format!("{env:?}").contains("s3cret"));
    }

    #[test]
    fn malformed_context_is_a_usage_error() {
        let err = ClientEnv::from_vars(|n| (n == "MCP_CONFORMANCE_CONTEXT").then(|| "[".into()))
            .unwrap_err();
        assert!(matches!(err, ClientError::Usage(_)));
    }
}
