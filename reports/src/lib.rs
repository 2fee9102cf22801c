//! The report model of mcp-auth-conformance and its pure renderers.
//!
//! `report.json` is the canonical record ([`Report`], schema-versioned); `report.md`, `junit.xml` and
//! `report.html` are derived from it by the functions in [`render`]. Readers of reports depend on this
//! crate alone: it knows nothing of checks, targets or the fake world.

pub mod model;
pub mod render;

pub use model::*;
