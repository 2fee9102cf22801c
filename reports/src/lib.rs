//! The report model of mcp-auth-conformance and its pure renderers.
//!
//! `report.json` is the canonical record ([`Report`], schema-versioned by [`SCHEMA_VERSION`]); `report.md`,
//! `junit.xml` and `report.html` are derived from it by the pure functions in [`render`], and
//! [`render::write_all`] writes all four into a directory. [`read_json`] reads a report back.
//!
//! Readers of reports depend on this crate alone: it knows nothing of checks, targets or the fake world. The
//! run's outcome ([`Summary::of`]) is computed here too, so every reader agrees on what failed:
//! FAIL, ERROR and HARNESS_ERROR (and WARN under `--strict`) fail a run unless the check is listed in the
//! expected-failures baseline; a baseline entry whose check did not fail is stale and fails the run; a run in
//! which no check applied (no checks, or all SKIP) fails.
//!
//! Report text is hostile: expected/actual/message, the exchanges and the target runs' output carry what the
//! target sent or printed, so the Markdown and HTML renderers escape it ([`render::escape_controls`] makes
//! control characters visible for any other writer, such as a terminal).

pub mod model;
pub mod read;
pub mod render;
pub mod spec;

pub use model::*;
pub use read::{parse_json, read_json, ReadError};
pub use render::{write_all, RenderError};
