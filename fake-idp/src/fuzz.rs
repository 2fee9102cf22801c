//! Property-based tests ("fuzzing") of what the fake world parses from a target: CIMD documents
//! and their fetch metadata, and compact JWS. See docs/fuzzing.md; long run:
//! `PROPTEST_CASES=100000 cargo test --release -p fake-idp fuzz_ -- --nocapture --test-threads 1`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fuzzkit::{fuzz, hostile_json, hostile_string, object_text};
use proptest::prelude::*;
use serde_json::{json, Value};
use url::Url;

use crate::jws;
use crate::server::cimd::validate_document;
use crate::server::target::cimd::{check_shape, max_age};

const URL: &str = "https://client.conformance.test/c.json";

fn cimd_document() -> impl Strategy<Value = String> {
    let s = || hostile_string().prop_map(Value::String).boxed();
    object_text(vec![
        (
            "client_id",
            prop_oneof![3 => Just(json!(URL)), 1 => hostile_string().prop_map(Value::String)]
                .boxed(),
        ),
        ("client_name", s()),
        (
            "redirect_uris",
            prop::collection::vec(
                prop_oneof![
                    Just("http://127.0.0.1:3000/cb".to_owned()),
                    hostile_string()
                ],
                0..3,
            )
            .prop_map(|v| json!(v))
            .boxed(),
        ),
        (
            "token_endpoint_auth_method",
            prop_oneof![
                Just(json!("none")),
                Just(json!("private_key_jwt")),
                Just(json!("client_secret_basic")),
                hostile_json()
            ]
            .boxed(),
        ),
        (
            "grant_types",
            prop::collection::vec(hostile_string(), 0..3)
                .prop_map(|v| json!(v))
                .boxed(),
        ),
    ])
}

#[test]
fn fuzz_cimd_document_accepted_only_when_the_rules_hold() {
    fuzz("fake AS CIMD document", 256, cimd_document(), |text| {
        let Ok(doc) = serde_json::from_str::<Value>(&text) else {
            return Ok("not JSON".into());
        };
        match validate_document(URL, &doc) {
            Ok(client) => {
                prop_assert_eq!(doc["client_id"].as_str(), Some(URL));
                prop_assert!(!client.redirect_uris.is_empty());
                prop_assert!(client.client_secret.is_none());
                prop_assert!(doc.get("client_secret").is_none());
                Ok("accepted".into())
            }
            Err(e) => {
                let said = e.to_string();
                prop_assert!(said.len() <= 2 * text.len() + 200, "{} bytes", said.len());
                Ok(format!("{e:?}")
                    .split(['(', ' ', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_owned())
            }
        }
    });
}

#[test]
fn fuzz_cimd_document_benign_documents_are_accepted() {
    let name = "[a-zA-Z0-9 ._-]{0,30}";
    let uris = prop::collection::vec("http://127\\.0\\.0\\.1:[0-9]{2,5}/[a-z]{0,8}", 1..4);
    fuzz("fake AS CIMD benign", 256, (name, uris), |(name, uris)| {
        let doc = json!({"client_id": URL, "client_name": name, "redirect_uris": uris, "token_endpoint_auth_method": "none"});
        let client =
            validate_document(URL, &doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(client.redirect_uris, uris);
        Ok("accepted".into())
    });
}

#[test]
fn fuzz_cimd_cache_control_and_url_shape_never_panic() {
    let directive = prop_oneof![
        Just("no-store".to_owned()),
        Just("public".to_owned()),
        any::<i64>().prop_map(|n| format!("max-age={n}")),
        "[0-9]{1,40}".prop_map(|n| format!("max-age=\"{n}\"")),
        hostile_string(),
    ];
    let cache_control = prop::collection::vec(directive, 0..4).prop_map(|d| d.join(", "));
    let raw_url = prop_oneof![
        "https://[a-z]{1,8}\\.conformance\\.test(:[0-9]{1,5})?(/(\\.|\\.\\.|%2[eE]|[a-z]{1,4}))*[?#]?[a-z]{0,4}",
        hostile_string().prop_map(|s| format!("https://client.conformance.test/{s}")),
        hostile_string(),
    ];
    fuzz(
        "target CIMD cache-control and URL shape",
        256,
        (cache_control, raw_url),
        |(cc, raw)| {
            let age = max_age(&cc);
            if let Some(a) = age {
                prop_assert!(cc.contains(&a.to_string()));
            }
            let shape = match Url::parse(&raw) {
                Ok(url) => match check_shape(&raw, &url) {
                    Ok(()) => "shape ok".to_owned(),
                    Err(e) => format!("{e:?}"),
                },
                Err(_) => "not a URL".to_owned(),
            };
            Ok(format!(
                "{shape}, max-age {}",
                if age.is_some() { "set" } else { "none" }
            ))
        },
    );
}

#[test]
fn fuzz_jws_decode_never_panics_and_round_trips() {
    let segment = prop_oneof![
        3 => hostile_json().prop_map(|v| URL_SAFE_NO_PAD.encode(v.to_string())),
        1 => (1..3_000usize).prop_map(|d| URL_SAFE_NO_PAD.encode(format!("{}{}", "{\"a\":".repeat(d), "}".repeat(d)))),
        1 => hostile_string(),
    ];
    fuzz(
        "fake-idp jws decode",
        256,
        prop::collection::vec(segment, 0..5),
        |segments| {
            let token = segments.join(".");
            Ok(match jws::decode(&token) {
                Some(d) => {
                    prop_assert_eq!(d.signing_input, format!("{}.{}", segments[0], segments[1]));
                    "decoded".into()
                }
                None => format!("refused ({} segments)", segments.len()),
            })
        },
    );
    fuzz(
        "fake-idp jws round-trip",
        256,
        (hostile_json(), hostile_json()),
        |(h, c)| {
            let (ht, ct) = (json!({ "h": h }).to_string(), json!({ "c": c }).to_string());
            // The expectation is what serde_json reads from that text (it rounds some floats by one ulp).
            let (h, c): (Value, Value) = (
                serde_json::from_str(&ht).unwrap(),
                serde_json::from_str(&ct).unwrap(),
            );
            let token = format!(
                "{}.{}.c2ln",
                URL_SAFE_NO_PAD.encode(&ht),
                URL_SAFE_NO_PAD.encode(&ct)
            );
            let d = jws::decode(&token).ok_or_else(|| TestCaseError::fail(token.clone()))?;
            prop_assert_eq!(Value::Object(d.header), h);
            prop_assert_eq!(Value::Object(d.claims), c);
            Ok("decoded".into())
        },
    );
}
