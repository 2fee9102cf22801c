//! mcp-auth-conformance: an end-to-end conformance suite for MCP Authorization (revision 2025-11-25).
//!
//! The suite plays every party except the one under test. Scenarios drive the target once and record
//! observations; checks (one small type each, listed in one registry per role) judge the record and cite
//! their catalog row (`catalog/*.toml`). The result is a canonical report (`mcp-auth-reports`) rendered to JSON, Markdown,
//! JUnit and HTML.
//!
//! Roles implemented: `server` (an MCP server as an OAuth protected resource) and `client` (an MCP client as an
//! OAuth public client).

pub mod authz;
pub mod catalog;
pub mod check;
pub mod client;
pub mod evidence;
pub mod expect;
pub mod expected;
pub mod http;
pub mod interop;
pub mod output;
pub mod process;
pub mod profile;
pub mod redact;
pub mod registry;
pub mod runner;
pub mod selftest;
pub mod server;
pub mod wire;

#[cfg(test)]
mod fuzz;
