//! `WWW-Authenticate` (suite/src/wire/www_authenticate.rs: `parse`, `parse_all`) and the server
//! checks that judge what it parsed, together with the PRM documents (suite/src/server/scenarios/discovery.rs:
//! `prm_body`) they judge alongside.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{fuzz, hostile_string, object_text};
use crate::check::ObsError;
use crate::profile::Profile;
use crate::server::ctx::Probe;
use crate::server::obs::{Discovery, PrmDoc, PrmFetch, PrmSource, ServerObservations, Stimulus};
use crate::server::scenarios::discovery::prm_body;
use crate::wire::mcp::RpcOutcome;
use crate::wire::www_authenticate::{parse, parse_all, Challenge};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

/// A challenge with a token scheme and either a token68 or auth-params whose values are anything.
fn challenge() -> impl Strategy<Value = Challenge> {
    let params = prop::collection::vec(
        (
            token().prop_map(|n| n.to_ascii_lowercase()),
            hostile_string(),
        ),
        0..5,
    );
    (
        token(),
        prop::option::weighted(0.2, "[A-Za-z0-9._~+/-]{1,20}={0,2}"),
        params,
    )
        .prop_map(|(scheme, token68, params)| Challenge {
            scheme,
            params: if token68.is_some() {
                Vec::new()
            } else {
                params
            },
            token68,
        })
}

/// Renders challenges as one header value: values as tokens when they are one, else quoted with
/// `"` and `\` escaped; `sep` between parts.
pub(crate) fn render(challenges: &[Challenge], sep: &str) -> String {
    let is_token = |v: &str| {
        !v.is_empty()
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
    };
    challenges
        .iter()
        .map(|c| {
            let mut s = c.scheme.clone();
            if let Some(t) = &c.token68 {
                s.push(' ');
                s.push_str(t);
            }
            let params: Vec<String> = c
                .params
                .iter()
                .map(|(n, v)| {
                    if is_token(v) {
                        format!("{n}={v}")
                    } else {
                        let q = v.replace('\\', "\\\\").replace('"', "\\\"");
                        format!("{n}=\"{q}\"")
                    }
                })
                .collect();
            if !params.is_empty() {
                s.push(' ');
                s.push_str(&params.join(sep));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// A header value a hostile server might send: rendered challenges cut, spliced with delimiters,
/// or with raw junk inserted.
fn hostile_header() -> impl Strategy<Value = String> {
    let rendered = (
        prop::collection::vec(challenge(), 0..4),
        prop::sample::select(vec![",", ", ", " ,", ",,", "\t,\t", ",\r\n "]),
    )
        .prop_map(|(c, sep)| render(&c, sep))
        .boxed();
    fuzzkit::hostile_header(rendered)
}

#[test]
fn fuzz_www_authenticate_rendered_challenges_parse_back_to_themselves() {
    let sep = prop::sample::select(vec![", ", ",", " , ", ",,\t"]);
    fuzz(
        "www_authenticate round-trip",
        256,
        (prop::collection::vec(challenge(), 0..4), sep),
        |(challenges, sep)| {
            let header = render(&challenges, sep);
            let parsed =
                parse(&header).map_err(|e| TestCaseError::fail(format!("{e}: {header:?}")))?;
            prop_assert_eq!(&parsed, &challenges, "header {:?}", header);
            Ok(format!("{} challenge(s)", challenges.len()))
        },
    );
}

#[test]
fn fuzz_www_authenticate_never_panics_and_output_is_bounded_by_input() {
    fuzz(
        "www_authenticate hostile",
        256,
        hostile_header(),
        |header| {
            match parse_all([header.as_str(), header.as_str()]) {
                Ok(challenges) => {
                    let size: usize = challenges
                        .iter()
                        .map(|c| {
                            c.scheme.len()
                                + c.token68.as_ref().map_or(0, String::len)
                                + c.params
                                    .iter()
                                    .map(|(n, v)| n.len() + v.len())
                                    .sum::<usize>()
                        })
                        .sum();
                    // Unquoting only shrinks; lossy UTF-8 of a cut character grows 1 byte to 3.
                    prop_assert!(
                        size <= 2 * 3 * header.len(),
                        "{} bytes out of {}",
                        size,
                        header.len()
                    );
                    prop_assert!(challenges.len() <= 2 * header.len());
                    Ok("ok".into())
                }
                Err(e) => {
                    prop_assert!(e.at <= header.len());
                    Ok(format!("error: {}", e.reason))
                }
            }
        },
    );
}

/// Observations where every probe answered with `www` and discovery found `prm` (also the body of every
/// 2025-03-26 authorization server answer).
fn observations(www: &str, prm: &[u8]) -> ServerObservations {
    let harness = || ObsError::Harness("not observed in this test".into());
    let probe = Probe {
        exchange: "fuzz#1".into(),
        status: 401,
        outcome: RpcOutcome::Refused(401),
        www: vec![www.to_owned()],
        challenges: parse_all([www]),
        session_id: None,
    };
    let doc = |source, url: &str, expected: &str| PrmFetch {
        source,
        url: url.into(),
        expected_resource: expected.into(),
        doc: Ok(PrmDoc {
            exchange: "fuzz#2".into(),
            status: 200,
            content_type: Some("application/json".into()),
            body: prm_body(prm),
        }),
    };
    ServerObservations {
        target: "http://127.0.0.1:1/mcp".into(),
        tls: crate::spec::TlsProfile::Local,
        profile: Profile::default_profile(),
        mode: Err(harness()),
        baseline: Ok("token".into()),
        unauthenticated: Ok(probe.clone()),
        discovery: Ok(Discovery {
            fetches: vec![
                doc(
                    PrmSource::Header,
                    "http://127.0.0.1:1/prm",
                    "http://127.0.0.1:1/mcp",
                ),
                doc(
                    PrmSource::PathInserted,
                    "http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp",
                    "http://127.0.0.1:1/mcp",
                ),
            ],
        }),
        probes: Stimulus::ALL
            .iter()
            .map(|s| (*s, Ok(probe.clone())))
            .collect::<BTreeMap<_, _>>(),
        attacker_fetches: Vec::new(),
        jku_url: String::new(),
        x5u_url: String::new(),
        session: Err(harness()),
        session_ids: Err(harness()),
        scope: Err(harness()),
        write_before_auth: Err(harness()),
        origin: Ok(probe),
        upstream: Err(harness()),
        dpop: Err(harness()),
        stateless: Err(harness()),
        machine: Err(harness()),
        // The same target-chosen body as 2025-03-26 authorization server metadata and endpoint answers.
        march: Ok(crate::server::obs::MarchObs {
            origin: "http://127.0.0.1:1".into(),
            metadata: PrmDoc {
                exchange: "fuzz#3".into(),
                status: 200,
                content_type: Some("application/json".into()),
                body: prm_body(prm),
            },
            authorize: PrmDoc {
                exchange: "fuzz#4".into(),
                status: 400,
                content_type: None,
                body: prm_body(prm),
            },
            token: PrmDoc {
                exchange: "fuzz#5".into(),
                status: 400,
                content_type: None,
                body: prm_body(prm),
            },
        }),
    }
}

fn string_array() -> BoxedStrategy<Value> {
    prop::collection::vec(hostile_string(), 0..4)
        .prop_map(|v| json!(v))
        .boxed()
}

/// PRM documents (RFC 9728 §2) with every member present or missing, duplicated, mistyped or hostile.
fn prm_document() -> impl Strategy<Value = String> {
    let url = || {
        prop_oneof![
            Just(json!("http://127.0.0.1:1/mcp")),
            hostile_string().prop_map(Value::String)
        ]
        .boxed()
    };
    object_text(vec![
        ("resource", url()),
        ("authorization_servers", string_array()),
        ("scopes_supported", string_array()),
        ("bearer_methods_supported", string_array()),
        ("resource_name", url()),
        ("jwks_uri", url()),
    ])
}

#[test]
fn fuzz_server_checks_judge_any_challenge_and_prm_document_without_panicking() {
    let checks = crate::server::checks::registry();
    fuzz(
        "server checks over hostile WWW-Authenticate and PRM",
        64,
        (hostile_header(), prm_document()),
        |(www, prm)| {
            let obs = observations(&www, prm.as_bytes());
            let body = if obs.discovery.as_ref().unwrap().fetches[0]
                .doc
                .as_ref()
                .unwrap()
                .body
                .is_ok()
            {
                "prm object"
            } else {
                "prm refused"
            };
            let mut failed = 0;
            for check in &checks {
                let e = check.evaluate(&obs);
                // Linear in the input: a check may quote it with `{:?}`, which escapes one byte to at
                // most ten (`\u{10ffff}`).
                let said = e.message.len() + e.actual.len() + e.expected.len();
                prop_assert!(
                    said <= 10 * (www.len() + prm.len()) + 8192,
                    "{} said {} bytes",
                    check.meta().id,
                    said
                );
                failed += usize::from(e.verdict != mcp_auth_reports::Verdict::Pass);
            }
            Ok(format!("{body}, {} checks not passing", failed.min(1)))
        },
    );
}

#[test]
fn fuzz_prm_body_a_benign_document_is_an_object_and_anything_else_a_reason() {
    fuzz("prm_body", 256, prm_document(), |text| {
        match prm_body(text.as_bytes()) {
            Ok(m) => {
                prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
                Ok(format!("object with {} member(s)", m.len().min(3)))
            }
            Err(why) => {
                prop_assert!(why.len() <= 4 * text.len() + 200);
                Ok(why.split(':').next().unwrap_or_default().to_owned())
            }
        }
    });
}
