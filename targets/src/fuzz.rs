//! Property-based tests ("fuzzing") of the reference targets' parsers: what the reference client
//! reads from a server and an authorization server, and the token the To-Do server reads from a
//! client. See docs/fuzzing.md; long run:
//! `PROPTEST_CASES=100000 cargo test --release -p mcp-auth-targets fuzz_ -- --nocapture --test-threads 1`.

use fuzzkit::{fuzz, hostile_json, hostile_string, object_text};
use proptest::prelude::*;
use serde_json::{json, Value};
use url::Url;

use crate::client::challenge::{parse_challenges, BearerChallenge, Challenge};
use crate::client::defects::ClientDefect;
use crate::client::discovery::{
    as_metadata_urls, origin_of, prm_candidates, AuthorizationServerMetadata,
    ProtectedResourceMetadata,
};
use crate::client::token::TokenResponse;

// ---- WWW-Authenticate (targets/src/client/challenge.rs) ----

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

/// The names the client reads, and any other.
fn param_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["resource_metadata", "scope", "error", "realm"])
            .prop_map(str::to_owned),
        token().prop_map(|n| n.to_ascii_lowercase()),
    ]
}

fn challenge() -> impl Strategy<Value = Challenge> {
    let scheme = prop_oneof![
        prop::sample::select(vec!["Bearer", "bearer", "DPoP"]).prop_map(str::to_owned),
        token(),
    ];
    (
        scheme,
        prop::collection::vec((param_name(), hostile_string()), 0..5),
    )
        .prop_map(|(scheme, params)| Challenge { scheme, params })
}

/// Values as tokens when they are one, else quoted with `"` and `\` escaped.
fn render(challenges: &[Challenge], sep: &str) -> String {
    let is_token = |v: &str| {
        !v.is_empty()
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
    };
    challenges
        .iter()
        .map(|c| {
            let params: Vec<String> = c
                .params
                .iter()
                .map(|(n, v)| {
                    if is_token(v) {
                        format!("{n}={v}")
                    } else {
                        format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
                    }
                })
                .collect();
            if params.is_empty() {
                c.scheme.clone()
            } else {
                format!("{} {}", c.scheme, params.join(sep))
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

fn hostile_header() -> impl Strategy<Value = String> {
    let rendered = (
        prop::collection::vec(challenge(), 0..4),
        prop::sample::select(vec![",", ", ", ",,\t"]),
    )
        .prop_map(|(c, sep)| render(&c, sep))
        .boxed();
    fuzzkit::hostile_header(rendered)
}

#[test]
fn fuzz_client_challenge_rendered_challenges_parse_back_to_themselves() {
    let sep = prop::sample::select(vec![", ", ",", " , ", ",,\t"]);
    fuzz(
        "client challenge round-trip",
        256,
        (prop::collection::vec(challenge(), 0..4), sep),
        |(challenges, sep)| {
            let header = render(&challenges, sep);
            prop_assert_eq!(
                &parse_challenges(&header),
                &challenges,
                "header {:?}",
                header
            );
            Ok(format!("{} challenge(s)", challenges.len()))
        },
    );
}

#[test]
fn fuzz_client_challenge_never_panics_and_output_is_bounded_by_input() {
    fuzz(
        "client challenge hostile",
        256,
        hostile_header(),
        |header| {
            let challenges = parse_challenges(&header);
            let size: usize = challenges
                .iter()
                .map(|c| {
                    c.scheme.len()
                        + c.params
                            .iter()
                            .map(|(n, v)| n.len() + v.len())
                            .sum::<usize>()
                })
                .sum();
            prop_assert!(
                size <= header.len(),
                "{} bytes out of {}",
                size,
                header.len()
            );
            let bearer = BearerChallenge::from_headers([header.as_str(), "Bearer"]);
            prop_assert!(bearer.is_some(), "a Bearer line always yields a challenge");
            // What the client does next with a target-chosen resource_metadata URL.
            let header_url = bearer.and_then(|b| b.resource_metadata);
            let candidates = prm_candidates("http://127.0.0.1:1/mcp", header_url.as_deref(), None)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(!candidates.is_empty());
            Ok(match (challenges.len(), header_url) {
                (0, _) => "no challenge".into(),
                (_, Some(_)) => "resource_metadata".into(),
                (_, None) => "challenges without resource_metadata".into(),
            })
        },
    );
}

// ---- PRM, AS metadata (targets/src/client/discovery.rs) ----

fn strings() -> BoxedStrategy<Value> {
    prop::collection::vec(hostile_string(), 0..4)
        .prop_map(|v| json!(v))
        .boxed()
}

fn url() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!("http://127.0.0.1:1")),
        Just(json!("http://127.0.0.1:1/tenant/")),
        hostile_string().prop_map(Value::String)
    ]
    .boxed()
}

fn prm_document() -> impl Strategy<Value = String> {
    object_text(vec![
        ("resource", url()),
        (
            "authorization_servers",
            prop_oneof![url().prop_map(|u| json!([u])), strings()].boxed(),
        ),
        ("scopes_supported", strings()),
    ])
}

fn as_document() -> impl Strategy<Value = String> {
    let flag = || prop_oneof![any::<bool>().prop_map(Value::Bool), hostile_json()].boxed();
    object_text(vec![
        ("issuer", url()),
        ("authorization_endpoint", url()),
        ("token_endpoint", url()),
        ("registration_endpoint", url()),
        ("code_challenge_methods_supported", strings()),
        ("token_endpoint_auth_methods_supported", strings()),
        ("client_id_metadata_document_supported", flag()),
        ("authorization_response_iss_parameter_supported", flag()),
    ])
}

fn error_kind(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    let kind = if msg.contains("recursion limit") {
        "recursion limit"
    } else if msg.contains("duplicate field") {
        "duplicate field"
    } else if msg.contains("missing field") {
        "missing field"
    } else if msg.contains("invalid type") {
        "invalid type"
    } else {
        "syntax"
    };
    format!("{:?}: {kind}", e.classify())
}

#[test]
fn fuzz_client_prm_documents_deserialize_or_fail_cleanly_and_the_issuer_yields_urls() {
    fuzz("client PRM", 256, prm_document(), |text| {
        match serde_json::from_str::<ProtectedResourceMetadata>(&text) {
            Ok(prm) => {
                let Some(issuer) = prm.authorization_servers.as_ref().and_then(|l| l.first())
                else {
                    return Ok("accepted, no issuer".into());
                };
                // The issuer comes from the target: every URL derived from it stays on its origin.
                Ok(match as_metadata_urls(issuer, None) {
                    Ok(urls) => {
                        prop_assert!(!urls.is_empty() && urls.len() <= 3);
                        // Percent-encoding of a non-ASCII path: up to 3 bytes per byte.
                        prop_assert!(urls.iter().all(|u| u.len() <= 3 * issuer.len() + 64));
                        let origin = origin_of(&Url::parse(issuer).unwrap());
                        for u in &urls {
                            prop_assert!(Url::parse(u).is_ok_and(|p| origin_of(&p) == origin));
                        }
                        "accepted, metadata URLs".into()
                    }
                    Err(e) if e.to_string().contains("not an http(s) URL") => {
                        "accepted, issuer not an http(s) URL".into()
                    }
                    Err(_) => "accepted, issuer not a URL".into(),
                })
            }
            Err(e) => Ok(error_kind(&e)),
        }
    });
}

#[test]
fn fuzz_client_as_metadata_documents_deserialize_or_fail_cleanly() {
    fuzz("client AS metadata", 256, as_document(), |text| {
        Ok(
            match serde_json::from_str::<AuthorizationServerMetadata>(&text) {
                Ok(_) => "accepted".into(),
                Err(e) => error_kind(&e),
            },
        )
    });
}

#[test]
fn fuzz_client_metadata_benign_documents_are_accepted() {
    let benign = "[a-zA-Z0-9:/._-]{1,30}";
    fuzz(
        "client metadata benign",
        256,
        (benign, benign, prop::collection::vec(benign, 0..3)),
        |(resource, issuer, scopes)| {
            let prm = json!({"resource": resource, "authorization_servers": [issuer], "scopes_supported": scopes, "extra": {"x": [1]}});
            let prm: ProtectedResourceMetadata =
                serde_json::from_value(prm).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(prm.resource, resource);
            let asm = json!({"issuer": issuer, "token_endpoint": "http://a/t", "code_challenge_methods_supported": ["S256"]});
            let asm: AuthorizationServerMetadata =
                serde_json::from_value(asm).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(asm.issuer, issuer);
            Ok("accepted".into())
        },
    );
}

// ---- Token responses (targets/src/client/token.rs) ----

fn token_body() -> impl Strategy<Value = String> {
    let s = || hostile_string().prop_map(Value::String).boxed();
    object_text(vec![
        ("access_token", s()),
        (
            "token_type",
            prop_oneof![
                Just(json!("Bearer")),
                hostile_string().prop_map(Value::String)
            ]
            .boxed(),
        ),
        (
            "expires_in",
            prop_oneof![
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from)
            ]
            .boxed(),
        ),
        ("refresh_token", s()),
        ("scope", s()),
    ])
}

#[test]
fn fuzz_client_token_response_any_body_is_read_or_refused_with_a_reason() {
    let defect = prop::sample::select(vec![None, Some(ClientDefect::StrictTokenResponse)]);
    fuzz(
        "client token response",
        256,
        (token_body(), defect),
        |(body, defect)| {
            let parsed = TokenResponse::parse(body.as_bytes(), defect);
            let doc: Option<Value> = serde_json::from_str(&body).ok();
            let at = doc
                .as_ref()
                .and_then(|d| d.get("access_token"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            match parsed {
                Ok(t) => {
                    prop_assert_eq!(Some(t.access_token.expose()), at);
                    Ok("issued".into())
                }
                Err(e) => {
                    prop_assert!(
                        defect.is_some() || at.is_none(),
                        "lenient parse refused {:?}: {}",
                        body,
                        e
                    );
                    let e = e.to_string();
                    prop_assert!(e.len() <= body.len() + 200);
                    Ok(e.split(['`', ':']).take(2).collect::<Vec<_>>().join(":"))
                }
            }
        },
    );
}
