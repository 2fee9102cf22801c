//! The authorization-server role: the suite as OAuth client, user agent and CIMD host (docs/design/authz-role.md).
//!
//! Layout (shared by the three roles): [`run`] holds the options and the run, [`obs`] the observations the
//! scenarios record, [`scenarios`] the probes by area, [`checks`] the judgements by area. The authz role adds
//! [`agent`] (the user agent: walk, cookie jar, callback listener), [`login`] (login scripts), [`oauth`] (the
//! client side of the OAuth requests) and [`cimd_host`] (the documents the suite hosts as a CIMD client).

pub mod agent;
pub mod checks;
pub mod cimd_host;
pub mod login;
pub mod oauth;
pub mod obs;
pub mod run;
pub mod scenarios;
pub mod trust;
pub mod upstream_idp;

pub use run::{
    interrupted, run, run_live, run_with_evidence, AuthzOptions, AuthzTarget, PreRegisteredClient,
};
pub use upstream_idp::UpstreamIdpSettings;

#[cfg(test)]
pub mod testing;
