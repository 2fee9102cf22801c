//! [`ClientError`]: why the reference client stopped. Every variant renders as one line.

/// Why the client refused or failed. The binary prints it on one stderr line and exits 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Bad arguments or environment.
    #[error("usage: {0}")]
    Usage(String),
    /// A transport failure, timeout or oversized body.
    #[error("http: {what} {url}: {detail}")]
    Http {
        /// What the request was for.
        what: &'static str,
        /// The URL requested.
        url: String,
        /// The failure.
        detail: String,
    },
    /// The protected resource metadata could not be found or is unusable.
    #[error("discovery: {0}")]
    Discovery(String),
    /// PRM `resource` is not the expected identifier (RFC 9728 §3.3).
    #[error("refused: PRM resource `{found}` does not match the expected `{expected}`")]
    ResourceMismatch {
        /// What the client expected.
        expected: String,
        /// What the PRM said.
        found: String,
    },
    /// AS metadata could not be found or is unusable.
    #[error("authorization server metadata: {0}")]
    Metadata(String),
    /// AS metadata `issuer` is not the issuer it was fetched for (RFC 8414 §3.3).
    #[error("refused: metadata issuer `{found}` is not `{expected}`")]
    IssuerMismatch {
        /// The issuer the URL was built from.
        expected: String,
        /// The metadata's `issuer`.
        found: String,
    },
    /// The AS does not (verifiably) support PKCE S256 (MCP §11.4).
    #[error("refused: {0}")]
    Pkce(String),
    /// No way to obtain a client id, or registration failed.
    #[error("registration: {0}")]
    Registration(String),
    /// The authorization response was an error or failed validation.
    #[error("authorization: {0}")]
    Authorization(String),
    /// The token endpoint refused or answered something unusable.
    #[error("token: {0}")]
    Token(String),
    /// The MCP server answered something unusable.
    #[error("mcp: {0}")]
    Mcp(String),
    /// Step-up or re-authorization did not succeed within the attempt budget (MCP §10.1.2).
    #[error("gave up after {attempts} authorization attempts for `{operation}`")]
    RetryLimit {
        /// The MCP method being retried.
        operation: String,
        /// Authorization attempts made for it.
        attempts: usize,
    },
}
