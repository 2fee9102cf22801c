//! The client role: the suite plays the protected MCP server, the PRM host, the authorization servers and the
//! CIMD host (a `fake_idp::client_world` per scenario), spawns the client under test once per scenario with the
//! official contract, and judges every request the client made.
//!
//! Layout (shared by the three roles): [`run`] holds the options and the run, [`obs`] the observations the
//! scenarios record, [`scenarios`] the worlds the client is run against, [`checks`] the judgements by area. The
//! client role adds [`spawn`] (running the client process under the contract) and [`exchanges`] (its request
//! logs as report evidence).

pub mod checks;
pub mod exchanges;
pub mod obs;
pub mod run;
pub mod scenarios;
pub mod spawn;

pub(crate) use exchanges::secrets_of;
pub use run::{
    interrupted, run, run_live, run_with_evidence, ClientOptions, ClientTarget,
    CLIENT_METADATA_URL, LOOPBACK_REDIRECTS, OFFICIAL_CLIENT_METADATA_URL,
};
