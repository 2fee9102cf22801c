//! Property-based tests ("fuzzing") of every parser a target feeds the suite. See docs/design/fuzzing.md.
//!
//! Each test is named `fuzz_<parser>_<property>`, runs a bounded number of cases in `cargo test`, and
//! honours `PROPTEST_CASES` for the long run:
//! `PROPTEST_CASES=100000 cargo test --release -p mcp-auth-conformance fuzz_ -- --nocapture --test-threads 1`.
//! Every run prints how many inputs it tried, how long it took and how the parser's outcomes split.

mod challenge;
mod forms;
mod jwt;
mod sse;
mod token;

pub(crate) use fuzzkit::{fuzz, hostile_json, hostile_string, object_text};
