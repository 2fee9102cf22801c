//! The reference MCP client: an exemplary OAuth public client for MCP Authorization 2025-11-25,
//! with a [`ClientDefect`] enum whose every variant turns off exactly one protection.
//!
//! Contract (`docs/client-role.md` §1): the MCP server URL is the last argument;
//! `MCP_CONFORMANCE_SCENARIO`, `MCP_CONFORMANCE_CONTEXT` and `MCP_CONFORMANCE_PROTOCOL_VERSION`
//! configure it ([`ClientEnv`]). It sends `initialize` (+ `notifications/initialized`),
//! `tools/list` and `tools/call list_todos {}`, authorizing when the server answers 401, and
//! exits 0; any refusal is a [`ClientError`] (exit 1, one line on stderr).
//!
//! What it does, by concern (one module each):
//! - [`challenge`]: robust `WWW-Authenticate` parsing;
//! - [`discovery`]: PRM (header URL, else path-inserted then root well-known; `resource` must
//!   match) and AS metadata (RFC 8414 / OIDC in the MCP §4.3 order; `issuer` must match);
//! - [`registration`]: pre-registered → CIMD → DCR (MCP §5), and the client's CIMD document;
//! - [`authorize`]: PKCE S256 only (refuses without `code_challenge_methods_supported` ∋ S256),
//!   fresh `state` and verifier per request, `resource`, MCP §6 scope selection, headless
//!   redirect handling with `state` and RFC 9207 `iss` validation;
//! - [`token`]: code and refresh grants (rotation; `resource` on both);
//! - `machine`: the extensions' grants, chosen by the context's `name` (client credentials with
//!   `client_secret_basic` or an ES256 `private_key_jwt` assertion; the enterprise-managed ID-JAG flow;
//!   the workload JWT bearer grant), never retried after a refusal;
//! - [`mcp`] and the run loop: bearer on every request, step-up on 403 `insufficient_scope`
//!   (at most [`MAX_AUTHORIZATIONS_PER_OPERATION`] attempts), refresh on 401, re-discovery when
//!   the PRM names a new authorization server;
//! - [`march`]: under protocol version 2025-03-26, when no PRM is found, the MCP origin's own AS metadata,
//!   else the default endpoints `/authorize`, `/token`, `/register` there.
//!
//! Every HTTP request has a 5 s timeout and a 1 MiB body cap, never follows redirects and
//! ignores proxy variables. The crate knows nothing of the suite or the fake world.

pub mod authorize;
pub mod challenge;
pub mod config;
pub mod defects;
pub mod discovery;
mod dpop;
pub mod error;
mod flow;
mod http;
mod machine;
pub mod march;
pub mod mcp;
pub mod registration;
pub mod token;

pub use config::{ClientContext, ClientEnv, ClientSecret, DEFAULT_PROTOCOL_VERSION};
pub use defects::{ClientDefect, UnknownClientDefect};
pub use error::ClientError;
pub use flow::{run, MAX_AUTHORIZATIONS_PER_OPERATION};
pub use http::{BODY_CAP, HTTP_TIMEOUT};
pub use registration::client_metadata_document;
