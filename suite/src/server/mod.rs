//! The server role: the suite plays the IdP, the authorization server and the MCP client against an MCP
//! server, and judges its authorization.
//!
//! Layout (shared by the three roles): [`run`] holds the options and the run, [`obs`] the observations the
//! scenarios record, [`scenarios`] the stimuli by area, [`checks`] the judgements by area. The server role
//! adds [`ctx`] (what every scenario needs: the HTTP client, the fake IdP, the probes) and [`target`]
//! (starting or reaching the MCP server under test) and [`trust`] (what that server must be configured to trust).

pub mod checks;
pub mod ctx;
pub mod obs;
pub mod run;
pub mod scenarios;
pub mod target;
#[cfg(test)]
pub mod testing;
pub mod trust;

pub use run::{
    interrupted, run, run_live, run_with_evidence, ServerOptions, DEFAULT_AS_ADDR,
    DEFAULT_UPSTREAM_ADDR,
};
