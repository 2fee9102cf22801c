//! Reference targets for the MCP Authorization conformance suite (spec revision 2025-11-25).
//!
//! [`TodoServer`] is an exemplary MCP resource server (Streamable HTTP at `/mcp`) protected per
//! MCP Authorization: RFC 9728 protected resource metadata, RFC 6750 bearer tokens from the
//! header only, RFC 9068 JWT validation (or RFC 7662 introspection), audience binding to its
//! own resource URL, per-tool scopes with `insufficient_scope` step-up challenges, sessions
//! bound to the user, and `Origin` validation. Each [`ServerDefect`] turns off exactly one of those
//! protections, so the suite can prove that every check detects the violation it is about.
//!
//! [`client`] is the reference MCP client (an OAuth public client) with its [`client::ClientDefect`]
//! enum, run by the suite as the `reference-client` binary.
//!
//! Independence: this crate depends on neither the suite nor the fake IdP. Tokens are validated
//! with `jsonwebtoken` and every document is parsed with this crate's own serde types, so a bug
//! in the judge cannot hide behind the same bug in the reference.

pub mod client;
pub mod todo_server;

#[cfg(test)]
mod fuzz;

pub use todo_server::{
    config_from_env, DelegatedAs, EnvError, IntrospectionClient, RunningTodoServer, ServerDefect,
    TodoServer, TodoServerConfig, ValidationMode,
};
