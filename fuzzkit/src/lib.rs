//! The runner and the hostile-value strategies shared by the parser property tests of every crate
//! (docs/design/fuzzing.md). A dev-dependency only.
//!
//! [`fuzz`] runs one property over a strategy: a bounded number of cases in `cargo test`, or
//! `PROPTEST_CASES` of them for the long run, and prints the run's figures and how the parser's
//! outcomes split. The strategies build valid shapes with hostile values; each crate composes them
//! into the documents its parsers read.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

/// Runs `property` over `strategy`: `default_cases` inputs unless `PROPTEST_CASES` says otherwise.
/// The property returns the outcome's kind, tallied and printed with the run's figures.
pub fn fuzz<S: Strategy>(
    name: &str,
    default_cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<String, TestCaseError>,
) {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let tally: Mutex<BTreeMap<String, u64>> = Mutex::default();
    let slowest = Mutex::new(Duration::ZERO);
    let started = Instant::now();
    let result = runner.run(&strategy, |input| {
        let t = Instant::now();
        let kind = property(input)?;
        let took = t.elapsed();
        let mut s = slowest.lock().unwrap();
        *s = (*s).max(took);
        *tally.lock().unwrap().entry(kind).or_default() += 1;
        Ok(())
    });
    let tally = tally.into_inner().unwrap();
    let inputs: u64 = tally.values().sum();
    eprintln!(
        "fuzz {name}: {inputs} inputs in {:.2?} (slowest {:.2?}); outcomes {tally:?}",
        started.elapsed(),
        slowest.into_inner().unwrap()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}

/// Strings a hostile peer would send: benign ones, arbitrary unicode, control characters, the
/// delimiters of the formats under test, and (rarely) huge ones.
pub fn hostile_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9:/._~-]{0,24}",
        3 => any::<String>(),
        3 => "[\"\\\\,=; \t\r\n\u{0}\u{7f}\u{1b}<>&'a.:{}\\[\\]]{0,24}",
        1 => "[\u{80}-\u{10ffff}]{0,12}",
        1 => (any::<char>(), 1_000..20_000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .boxed()
}

/// What a hostile server makes of a well-formed header value: the value itself, cut anywhere, spliced with
/// hostile text at any character boundary, plain hostile text, or a pathological run of quoted parameters.
pub fn hostile_header(rendered: BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop_oneof![
        3 => rendered.clone(),
        2 => (rendered.clone(), any::<prop::sample::Index>()).prop_map(|(s, i)| {
            s.chars().take(i.index(s.chars().count() + 1)).collect()
        }),
        2 => (rendered, any::<prop::sample::Index>(), hostile_string()).prop_map(|(s, i, junk)| {
            let at = s
                .char_indices()
                .map(|(k, _)| k)
                .chain([s.len()])
                .nth(i.index(s.chars().count() + 1))
                .unwrap_or(s.len());
            format!("{}{junk}{}", &s[..at], &s[at..])
        }),
        1 => hostile_string(),
        1 => (1..5_000usize).prop_map(|n| format!("Bearer {}", "a=\"\\\"\",".repeat(n))),
        1 => (1..5_000usize).prop_map(|n| format!("Bearer {}", "x==, ".repeat(n))),
    ]
    .boxed()
}

/// Any JSON value, with hostile strings and numbers, nested a few levels.
pub fn hostile_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from), // NaN and infinities become null
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((hostile_string(), inner), 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// The JSON text of one member value: a well-typed one, any JSON value, or (when `broken`) a
/// nesting deeper than any parser should follow, or raw text that is not JSON.
pub fn member_text(well_typed: BoxedStrategy<Value>, broken: bool) -> BoxedStrategy<String> {
    let valid = prop_oneof![
        4 => well_typed.prop_map(|v| v.to_string()),
        3 => hostile_json().prop_map(|v| v.to_string()),
    ];
    if !broken {
        return valid.boxed();
    }
    prop_oneof![
        4 => valid,
        1 => (1..3_000usize).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        1 => (1..3_000usize).prop_map(|d| format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d))),
        1 => "[0-9eE.+-]{1,30}",
        1 => hostile_string().prop_map(|s| format!("\"{s}")),
    ]
    .boxed()
}

/// A JSON object as text, structure-aware: the named members in any order, each present or missing,
/// sometimes duplicated, with extra members, and each value from [`member_text`]. Three documents
/// in four are well-formed JSON (so the parsers get past the syntax); the fourth may be broken.
pub fn object_text(members: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<String> {
    prop_oneof![
        3 => object_text_with(&members, false),
        1 => object_text_with(&members, true),
    ]
    .boxed()
}

fn object_text_with(
    members: &[(&'static str, BoxedStrategy<Value>)],
    broken: bool,
) -> BoxedStrategy<String> {
    let named: Vec<_> = members
        .iter()
        .map(|(name, typed)| {
            (
                prop::option::weighted(
                    0.8,
                    (
                        member_text(typed.clone(), broken),
                        prop::option::weighted(0.15, member_text(typed.clone(), broken)),
                    )
                        .prop_map(|(v, dup)| {
                            [Some(v), dup].into_iter().flatten().collect::<Vec<_>>()
                        }),
                ),
                Just(*name),
            )
        })
        .collect();
    let extra = prop::collection::vec(
        (hostile_string(), member_text(hostile_json(), broken)),
        0..4,
    );
    (named, extra, any::<prop::sample::Index>())
        .prop_map(|(named, extra, at)| {
            let mut parts: Vec<String> = named
                .into_iter()
                .flat_map(|(values, name)| {
                    values
                        .unwrap_or_default()
                        .into_iter()
                        .map(move |v| format!("{}:{v}", Value::from(name)))
                })
                .collect();
            let n = parts.len() + 1;
            for (k, v) in extra {
                parts.insert(
                    at.index(n).min(parts.len()),
                    format!("{}:{v}", Value::from(k)),
                );
            }
            format!("{{{}}}", parts.join(","))
        })
        .boxed()
}
