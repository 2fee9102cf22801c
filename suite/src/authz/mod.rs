//! The authorization-server role: the suite as OAuth client, user agent and CIMD host (docs/authz-role.md).

pub mod agent;
pub mod checks;
pub mod cimd_host;
pub mod login;
pub mod oauth;
pub mod obs;
pub mod run;
pub mod scenarios;

pub use run::{run, run_with_evidence, AuthzOptions, AuthzTarget, PreRegisteredClient};

#[cfg(test)]
pub mod testing;
