//! mcp-auth-conformance: an end-to-end conformance suite for MCP Authorization (revision 2025-11-25).
//!
//! The suite plays every party except the one under test. Scenarios drive the target once and record
//! observations; checks (one small type each, listed in one registry per role) judge the record and cite
//! their catalog row (`catalog/*.toml`). The result is a canonical report (`mcp-auth-reports`) rendered to JSON, Markdown,
//! JUnit and HTML.
//!
//! Roles implemented, one module each: [`server`] (an MCP server as an OAuth protected resource), [`client`] (an
//! MCP client as an OAuth public client) and [`authz`] (an authorization server in front of MCP servers). Every
//! role has the same layout: `run` (options and the run), `obs` (what scenarios observe), `scenarios` (the
//! stimuli, by area), `checks` (the judgements, by area, listed in one registry).
//!
//! Shared by the roles: [`runner`] (selection, the live record of an interruptible run, judging and sealing the
//! report), [`check`] (the check trait, observation errors), [`http`] and [`evidence`] (the recording HTTP
//! client and its log), [`redact`] (secrets out of the report), [`registry`] (every check across roles),
//! [`catalog`], [`expected`] and [`interop`] (catalog rows, expected-failure baselines, comparisons with the
//! official suite), [`peer`] (MCPJam as a peer judge of the reference targets), [`github`] (annotations and the step summary for GitHub Actions), [`profile`] (the server target profile), [`process`] (spawned targets) and [`selftest`]
//! (each reference target's defect matrix).

pub mod authz;
pub mod catalog;
pub mod check;
pub mod client;
pub mod coverage;
pub mod evidence;
pub mod expect;
pub mod expected;
pub mod github;
pub mod http;
pub mod interop;
pub mod output;
pub mod peer;
pub mod process;
pub mod profile;
pub mod redact;
pub mod registry;
pub mod runner;
pub mod selftest;
pub mod server;
pub mod spec;
pub mod terminal;
pub mod wire;

#[cfg(test)]
mod fuzz;
