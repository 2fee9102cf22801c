//! What a client-role world looks like: the MCP origin, its PRM, and the authorization servers.
//!
//! Every `Default` is the "default world" of `docs/design/client-role.md` §3, so a scenario is a small
//! diff: `WorldConfig { mcp: McpConfig { challenge_scope: Some(..), ..Default::default() }, ..Default::default() }`.

use serde::Serialize;
use serde_json::{json, Value};

use crate::persona::Persona;
use crate::world::DEFAULT_SEED;

/// The whole world a client meets in one scenario.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The protected MCP server and its PRM.
    pub mcp: McpConfig,
    /// Index 0 is "AS1"; at least one.
    pub auth_servers: Vec<AsConfig>,
    /// `(https://client.conformance.test/... URL, raw body)`: what the ASes "fetch" for a CIMD
    /// `client_id` (in memory, no network).
    pub cimd_documents: Vec<(String, String)>,
    /// The CIMD documents are stand-ins the client never wrote: their `redirect_uris` cannot name the
    /// client's real redirect URI, so any http loopback redirect URI is accepted for them.
    pub cimd_any_loopback_redirect: bool,
    /// Clients every AS knows.
    pub pre_registered: Vec<PreRegistered>,
    /// Seed of every random value (codes, tokens, client ids, session ids).
    pub seed: u64,
    /// Serve every origin over https with leaves of this run's test PKI (`--tls-profile strict`); None: plain
    /// http. Each origin presents an honest leaf (its `127.0.0.1` address among the names) unless
    /// `bad_certificate` names it.
    pub tls: Option<std::sync::Arc<crate::tls::TestPki>>,
    /// One origin presents a certificate a client must refuse (only with `tls`).
    pub bad_certificate: Option<(super::Origin, BadCertificate)>,
}

/// A certificate a client must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadCertificate {
    /// Signed by the test CA the client trusts, for another host name only.
    WrongHost,
    /// The right names, signed by a CA the client was never given.
    Untrusted,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            mcp: McpConfig::default(),
            auth_servers: vec![AsConfig::default()],
            cimd_documents: Vec::new(),
            cimd_any_loopback_redirect: false,
            pre_registered: Vec::new(),
            seed: DEFAULT_SEED,
            tls: None,
            bad_certificate: None,
        }
    }
}

/// The protected MCP server.
#[derive(Debug, Clone)]
pub struct McpConfig {
    /// `"/mcp"`.
    pub path: String,
    /// `WWW-Authenticate` header lines of the 401 for a request without a valid token (one header
    /// per line). Placeholders: `{prm_url}` (the PRM URL named by `prm.header`, else the first
    /// served location), `{scope}` (`challenge_scope`, else empty). Empty vec → a bare
    /// `Bearer resource_metadata="{prm_url}"` (plus `scope="{scope}"` when `challenge_scope` is
    /// set, and `error="invalid_token"` when a token was presented).
    pub challenge_lines: Vec<String>,
    /// Value substituted for `{scope}`.
    pub challenge_scope: Option<String>,
    /// The protected resource metadata.
    pub prm: PrmConfig,
    /// Serve a decoy RFC 8414 + OIDC metadata document on the MCP origin root (CL-PRM-04). Its
    /// endpoints point at a decoy `/authorize` on the MCP origin that is logged.
    pub decoy_as_metadata: bool,
    /// Scope every MCP operation needs: every request but `initialize` and notifications, so
    /// `tools/list` as well as `tools/call` (None: any valid token). A token without it gets 403
    /// `Bearer error="insufficient_scope", scope="<step_up_scope>", resource_metadata="{prm_url}"`
    /// on whichever operation the client sends first.
    pub operation_scope: Option<String>,
    /// The `scope` of the 403 challenge (None: `operation_scope`).
    pub step_up_scope: Option<String>,
    /// Every MCP operation (as for `operation_scope`) answers 403 insufficient_scope, whatever the
    /// token (retry-limit scenario).
    pub always_forbid_operations: bool,
    /// After this many successful authenticated MCP requests with the same access token, that
    /// token is rejected with 401 `error="invalid_token"` (forces a refresh mid-session).
    pub expire_token_after: Option<usize>,
    /// After this many successful authenticated MCP requests (any method) the server "migrates":
    /// the PRM now lists `migrate_to` (an index into auth_servers), tokens of the old AS get 401
    /// invalid_token.
    pub migrate_after_requests: Option<usize>,
    /// See `migrate_after_requests`.
    pub migrate_to: Option<usize>,
    /// Unknown members added to PRM / the 401 challenge (ANY-08).
    pub unknown_members: bool,
    /// DPoP (RFC 9449 §7): a DPoP-bound token is served only with `Authorization: DPoP` and a valid proof (a bound
    /// token as Bearer gets 401 invalid_token).
    pub dpop: bool,
    /// With `dpop`: a proof without the server's current nonce gets 401 `DPoP error="use_dpop_nonce"` and a
    /// `DPoP-Nonce` header (RFC 9449 §9).
    pub dpop_nonce: bool,
}

impl Default for McpConfig {
    fn default() -> Self {
        McpConfig {
            path: "/mcp".to_owned(),
            challenge_lines: Vec::new(),
            challenge_scope: None,
            prm: PrmConfig::default(),
            decoy_as_metadata: false,
            operation_scope: None,
            step_up_scope: None,
            always_forbid_operations: false,
            expire_token_after: None,
            migrate_after_requests: None,
            migrate_to: None,
            unknown_members: false,
            dpop: false,
            dpop_nonce: false,
        }
    }
}

/// RFC 9728 protected resource metadata of the MCP server.
#[derive(Debug, Clone)]
pub struct PrmConfig {
    /// Where PRM is served: any subset. Unlisted well-known locations answer 404 (logged: traps).
    pub locations: Vec<PrmLocation>,
    /// Which location the 401 header names (None: no `resource_metadata` param).
    pub header: Option<PrmLocation>,
    /// `resource` value; None → the exact MCP URL.
    pub resource_override: Option<String>,
    /// Indexes into auth_servers (issuers listed in `authorization_servers`).
    pub authorization_servers: Vec<usize>,
    /// `scopes_supported` (also the ASes' `scopes_supported`); None omits it.
    pub scopes_supported: Option<Vec<String>>,
}

impl Default for PrmConfig {
    fn default() -> Self {
        PrmConfig {
            locations: vec![PrmLocation::PathInserted],
            header: Some(PrmLocation::PathInserted),
            resource_override: None,
            authorization_servers: vec![0],
            scopes_supported: Some(vec!["todo:read".to_owned(), "todo:write".to_owned()]),
        }
    }
}

/// Where a PRM document lives on the MCP origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrmLocation {
    /// `/.well-known/oauth-protected-resource/<mcp path>`.
    PathInserted,
    /// `/.well-known/oauth-protected-resource`.
    Root,
    /// Any path, e.g. `"/custom/metadata/location.json"`.
    Custom(String),
}

impl PrmLocation {
    /// The path of this location on the MCP origin, for the MCP endpoint path `mcp_path`
    /// (RFC 9728 §3.1: the well-known segment goes between host and path).
    pub fn path(&self, mcp_path: &str) -> String {
        const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
        match self {
            PrmLocation::PathInserted => format!("{WELL_KNOWN}{}", mcp_path.trim_end_matches('/')),
            PrmLocation::Root => WELL_KNOWN.to_owned(),
            PrmLocation::Custom(path) => path.clone(),
        }
    }
}

/// The default length of an opaque access token.
pub(crate) const DEFAULT_ACCESS_TOKEN_BYTES: usize = 43;

/// One authorization server.
#[derive(Debug, Clone)]
pub struct AsConfig {
    /// `""` (issuer = origin) or `"/tenant1"` (issuer = origin + path).
    pub issuer_path: String,
    /// Which of the five metadata URLs answer; every other well-known probe answers 404 (logged).
    pub metadata_at: Vec<MetadataLocation>,
    /// JSON merge patch (RFC 7396) applied to the metadata document: e.g.
    /// `{"code_challenge_methods_supported": null}` removes it. `{}` or `null`: no change.
    pub metadata_patch: Value,
    /// `client_id_metadata_document_supported`.
    pub cimd_supported: bool,
    /// `registration_endpoint` advertised and `/register` works (DCR).
    pub registration: bool,
    /// e.g. `["none"]`, `["client_secret_basic"]`; DCR issues a secret for basic/post.
    pub token_endpoint_auth_methods: Vec<String>,
    /// `iss` in the authorization response.
    pub iss: IssMode,
    /// `authorization_response_iss_parameter_supported`.
    pub advertise_iss: bool,
    /// `state` in the authorization response.
    pub state: StateMode,
    /// Answer the first N authorization requests with a redirect carrying
    /// `error=invalid_request` (PKCE downgrade probe).
    pub reject_first_authorizations: usize,
    /// `expires_in` of access tokens (seconds).
    pub access_token_lifetime: i64,
    /// Rotation always on: a used RT is dead; reuse → invalid_grant and the family revoked.
    pub issue_refresh_tokens: bool,
    /// Opaque access token length in characters (default 43; 4096 for CL-TOK-06).
    pub access_token_bytes: usize,
    /// Extra members in metadata, token, registration and authorization responses.
    pub unknown_members: bool,
    /// Scopes this AS's metadata lists in `scopes_supported` beyond the PRM's (e.g. `offline_access`, which
    /// the PRM must not list: MCP 2026-07-28 "Refresh Tokens"). Empty: the PRM's list only.
    pub extra_scopes_supported: Vec<String>,
    /// The AS lives on the MCP origin (the 2025-03-26 shape: the MCP server is its own authorization server),
    /// with no listener of its own: its issuer is the MCP origin (`issuer_path` must stay empty) and the MCP
    /// listener hands it every AS metadata probe and its endpoints. At most one AS may.
    pub on_mcp_origin: bool,
    /// Path prefix of the endpoints (`/authorize`, `/token`, `/register`, `/jwks`) below the issuer: `""`, or
    /// e.g. `"/oauth"` to keep them off the 2025-03-26 default paths.
    pub endpoint_prefix: String,
    /// The AS persona whose access tokens this AS issues: [`Persona::Generic`] issues opaque tokens of
    /// [`access_token_bytes`](Self::access_token_bytes); any other persona issues its JWT access tokens (signed
    /// with this AS's key, `iss` = this AS's issuer, `aud` = the persona's audience for the requested resource,
    /// claims in the persona's shape), except in a world that sets its own token length (that world tests the
    /// length). The discovery layout stays this config's.
    pub persona: Persona,
    /// The machine grants of the authorization extensions (client credentials, jwt-bearer, the enterprise
    /// IdP's token exchange); none by default.
    pub machine: super::machine::MachineConfig,
    /// DPoP (RFC 9449 §5): `dpop_signing_alg_values_supported` advertised; a token request with a valid proof gets
    /// a token bound to its key (`token_type` DPoP), one with an invalid proof 400 `invalid_dpop_proof`.
    pub dpop: bool,
    /// With `dpop`: a proof without the AS's current nonce gets 400 `use_dpop_nonce` and a `DPoP-Nonce` header
    /// (RFC 9449 §8).
    pub dpop_nonce: bool,
}

impl Default for AsConfig {
    fn default() -> Self {
        AsConfig {
            issuer_path: String::new(),
            metadata_at: vec![MetadataLocation::Rfc8414Root],
            metadata_patch: json!({}),
            cimd_supported: false,
            registration: true,
            token_endpoint_auth_methods: vec!["none".to_owned()],
            iss: IssMode::Correct,
            advertise_iss: true,
            state: StateMode::Echo,
            reject_first_authorizations: 0,
            access_token_lifetime: 3600,
            issue_refresh_tokens: true,
            access_token_bytes: DEFAULT_ACCESS_TOKEN_BYTES,
            unknown_members: false,
            extra_scopes_supported: Vec::new(),
            on_mcp_origin: false,
            endpoint_prefix: String::new(),
            persona: Persona::Generic,
            machine: super::machine::MachineConfig::default(),
            dpop: false,
            dpop_nonce: false,
        }
    }
}

/// The five places an AS metadata document may be probed at. For an issuer without a path,
/// `Rfc8414PathInserted == Rfc8414Root` and `OidcPathInserted == OidcPathAppended == OidcRoot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetadataLocation {
    /// `/.well-known/oauth-authorization-server/<issuer path>`.
    Rfc8414PathInserted,
    /// `/.well-known/openid-configuration/<issuer path>`.
    OidcPathInserted,
    /// `/<issuer path>/.well-known/openid-configuration`.
    OidcPathAppended,
    /// `/.well-known/oauth-authorization-server`.
    Rfc8414Root,
    /// `/.well-known/openid-configuration`.
    OidcRoot,
}

impl MetadataLocation {
    /// The path of this location for an issuer path (`""` or `"/tenant1"`).
    pub fn path(self, issuer_path: &str) -> String {
        match self {
            MetadataLocation::Rfc8414PathInserted => {
                format!("/.well-known/oauth-authorization-server{issuer_path}")
            }
            MetadataLocation::OidcPathInserted => {
                format!("/.well-known/openid-configuration{issuer_path}")
            }
            MetadataLocation::OidcPathAppended => {
                format!("{issuer_path}/.well-known/openid-configuration")
            }
            MetadataLocation::Rfc8414Root => "/.well-known/oauth-authorization-server".to_owned(),
            MetadataLocation::OidcRoot => "/.well-known/openid-configuration".to_owned(),
        }
    }

    /// Whether this is an OpenID Connect discovery location (the document gains the OIDC members).
    pub fn is_oidc(self) -> bool {
        matches!(
            self,
            MetadataLocation::OidcPathInserted
                | MetadataLocation::OidcPathAppended
                | MetadataLocation::OidcRoot
        )
    }
}

/// The `iss` parameter of the authorization response (RFC 9207).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssMode {
    /// The issuer identifier.
    Correct,
    /// No `iss` parameter.
    Omit,
    /// This value instead.
    Wrong(String),
    /// The issuer identifier plus a trailing `/`: equal to it only after RFC 3986 normalization, so a
    /// simple string comparison (RFC 9207 §2.4; MCP 2026-07-28) must reject it.
    TrailingSlash,
}

/// The `state` parameter of the authorization response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateMode {
    /// The client's value.
    Echo,
    /// A different value (the client's with a suffix, or a fixed one when it sent none).
    Altered,
    /// No `state` parameter.
    Omit,
}

/// A client every AS knows before the scenario starts.
#[derive(Clone, PartialEq, Eq)]
pub struct PreRegistered {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` (for `client_secret_basic` / `client_secret_post`).
    pub client_secret: Option<String>,
    /// Registered redirect URIs (loopback IP literals match on any port). Empty: any http
    /// loopback redirect URI is accepted.
    pub redirect_uris: Vec<String>,
    /// `none`, `client_secret_basic`, `client_secret_post` or `private_key_jwt` (the key is in the AS's
    /// [`MachineConfig::assertion_clients`](super::machine::MachineConfig::assertion_clients)).
    pub auth_method: String,
}

impl std::fmt::Debug for PreRegistered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreRegistered")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("auth_method", &self.auth_method)
            .finish()
    }
}
