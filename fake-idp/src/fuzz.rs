//! Property-based tests ("fuzzing") of what the fake world parses from a target: CIMD documents
//! (the fake AS's and the target mode's rules) and their fetch metadata, and compact JWS. See docs/design/fuzzing.md; long run:
//! `PROPTEST_CASES=100000 cargo test --release -p fake-idp fuzz_ -- --nocapture --test-threads 1`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fuzzkit::{fuzz, hostile_json, hostile_string, object_text};
use proptest::prelude::*;
use serde_json::{json, Value};
use url::Url;

use crate::jws;
use crate::server::cimd::validate_document;
use crate::server::target::cimd::{
    check_shape, max_age, validate_target_document, CimdRefusal, DocumentLeniency,
};

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

/// The defect under which the target mode validates: none, or one of the three that loosen the
/// document rules (a run has one defect at most).
fn leniency() -> impl Strategy<Value = (&'static str, DocumentLeniency)> {
    let none = DocumentLeniency::default();
    prop_oneof![
        3 => Just(("strict", none)),
        1 => Just(("accept-invalid-cimd", DocumentLeniency { accept_invalid: true, ..none })),
        1 => Just(("skip-cimd-client-id-check", DocumentLeniency { skip_client_id_check: true, ..none })),
        1 => Just(("cimd-honour-shared-secret", DocumentLeniency { honour_secret: true, ..none })),
        1 => Just(("cimd-accept-http-redirect", DocumentLeniency { accept_http_redirect: true, ..none })),
    ]
}

/// A target-mode CIMD document body: hostile objects with the members the rules read (with and
/// without a `client_secret`), other JSON values, and bytes that are not UTF-8.
fn target_cimd_body() -> impl Strategy<Value = Vec<u8>> {
    let object = |with_secret: bool| {
        let mut members = vec![
            (
                "client_id",
                prop_oneof![
                    4 => Just(json!(URL)),
                    1 => Just(json!(format!("{URL}/"))),
                    1 => Just(json!(URL.to_uppercase())),
                    2 => hostile_string().prop_map(Value::String),
                ]
                .boxed(),
            ),
            (
                "client_name",
                prop_oneof![
                    3 => hostile_string().prop_map(Value::String),
                    1 => hostile_json(),
                ]
                .boxed(),
            ),
            (
                "redirect_uris",
                prop::collection::vec(
                    prop_oneof![
                        4 => Just(json!("http://127.0.0.1:3000/cb")),
                        3 => hostile_string().prop_map(Value::String),
                        1 => hostile_json(),
                    ],
                    0..4,
                )
                .prop_map(Value::Array)
                .boxed(),
            ),
            (
                "token_endpoint_auth_method",
                prop_oneof![
                    3 => Just(json!("none")),
                    1 => Just(json!("private_key_jwt")),
                    1 => Just(json!("client_secret_basic")),
                    1 => Just(json!("client_secret_post")),
                    1 => hostile_string().prop_map(Value::String),
                ]
                .boxed(),
            ),
        ];
        if with_secret {
            members.push((
                "client_secret",
                prop_oneof![
                    3 => hostile_string().prop_map(Value::String),
                    1 => hostile_json(),
                ]
                .boxed(),
            ));
        }
        object_text(members).prop_map(String::into_bytes)
    };
    prop_oneof![
        6 => object(false),
        3 => object(true),
        1 => hostile_json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// MCP §11.3, stated apart from the validator: https, or http on a loopback address or `localhost`, or a native
/// app's private-use scheme (RFC 8252 §7.1: it has a dot); never a fragment.
fn redirect_is_safe(uri: &str) -> bool {
    let Ok(u) = Url::parse(uri) else {
        return false;
    };
    if u.fragment().is_some() {
        return false;
    }
    match u.scheme() {
        "https" => u.host_str().is_some_and(|h| !h.is_empty()),
        "http" => u.host_str().is_some_and(|h| {
            h == "localhost"
                || h.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }),
        scheme => scheme.contains('.'),
    }
}

/// The kind of a target-mode refusal, without the target's values (quoted between backticks).
fn refusal_kind(said: &str) -> String {
    match (said.find('`'), said.rfind('`')) {
        (Some(first), Some(last)) if first < last => {
            format!("{}…{}", &said[..first], &said[last + 1..])
        }
        _ => said.to_owned(),
    }
}

#[test]
fn fuzz_target_cimd_document_accepted_only_when_the_rules_hold() {
    let requested = prop::option::of(prop_oneof![
        Just("http://127.0.0.1:3000/cb".to_owned()),
        hostile_string()
    ]);
    fuzz(
        "target CIMD document",
        256,
        (target_cimd_body(), leniency(), requested),
        |(body, (defect, leniency), requested)| {
            let result = validate_target_document(URL, &body, requested.as_deref(), leniency);
            let doc = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.as_object().cloned());
            let uris = doc.as_ref().and_then(|d| {
                d.get("redirect_uris")?
                    .as_array()?
                    .iter()
                    .map(|u| u.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            });
            // The rules (CIMD §4.1, §4.5), stated independently of the validator.
            let rules_hold = doc.as_ref().is_some_and(|d| {
                d.get("client_id").and_then(Value::as_str) == Some(URL)
                    && d.get("client_name").is_none_or(Value::is_string)
                    && uris.as_ref().is_some_and(|u| !u.is_empty())
                    && uris.iter().flatten().all(|u| redirect_is_safe(u))
                    && !d.contains_key("client_secret")
                    && d.get("token_endpoint_auth_method")
                        .is_none_or(|m| !m.is_string() || m == "none")
            });
            let outcome = match result {
                Ok(client) => {
                    prop_assert_eq!(&client.client_id, URL);
                    match doc.as_ref() {
                        None => {
                            // Only the `accept-invalid-cimd` defect takes a non-object.
                            prop_assert!(leniency.accept_invalid);
                            prop_assert!(client.client_secret.is_none());
                            prop_assert_eq!(
                                client.redirect_uris,
                                requested.into_iter().collect::<Vec<_>>()
                            );
                            "accepted (not an object)".to_owned()
                        }
                        Some(d) => {
                            let found = d.get("client_id").and_then(Value::as_str);
                            if !leniency.accept_invalid {
                                prop_assert!(found.is_some());
                                prop_assert!(d.get("client_name").is_none_or(Value::is_string));
                                prop_assert!(uris.as_ref().is_some_and(|u| !u.is_empty()));
                            }
                            if !leniency.skip_client_id_check {
                                prop_assert!(found.is_none_or(|f| f == URL));
                            }
                            match &uris {
                                Some(u) if !u.is_empty() => {
                                    if !leniency.accept_http_redirect {
                                        prop_assert!(u.iter().all(|x| redirect_is_safe(x)));
                                    }
                                    prop_assert_eq!(&client.redirect_uris, u)
                                }
                                _ => prop_assert_eq!(
                                    &client.redirect_uris,
                                    &requested.into_iter().collect::<Vec<_>>()
                                ),
                            }
                            match &client.client_secret {
                                Some(secret) => {
                                    prop_assert!(leniency.honour_secret);
                                    prop_assert_eq!(
                                        d.get("client_secret").and_then(Value::as_str),
                                        Some(secret.as_str())
                                    );
                                    "accepted (confidential)".to_owned()
                                }
                                None => {
                                    prop_assert!(!d.contains_key("client_secret"));
                                    prop_assert!(d
                                        .get("token_endpoint_auth_method")
                                        .and_then(Value::as_str)
                                        .is_none_or(|m| m == "none"));
                                    if leniency == DocumentLeniency::default() {
                                        prop_assert!(rules_hold);
                                    }
                                    "accepted".to_owned()
                                }
                            }
                        }
                    }
                }
                Err(e) => {
                    // Strict rules refuse only a document that breaks them; leniency only loosens.
                    prop_assert!(!rules_hold, "a valid document refused: {}", e);
                    let said = e.to_string();
                    prop_assert!(said.len() <= 2 * body.len() + 200, "{} bytes", said.len());
                    match e {
                        CimdRefusal::Invalid(why) => refusal_kind(&why),
                        other => format!("{other:?}"),
                    }
                }
            };
            Ok(format!("{defect}: {outcome}"))
        },
    );
}

#[test]
fn fuzz_target_cimd_benign_documents_are_accepted_under_any_defect() {
    let name = "[a-zA-Z0-9 ._-]{0,30}";
    let uris = prop::collection::vec("http://127\\.0\\.0\\.1:[1-5][0-9]{1,4}/[a-z]{0,8}", 1..4);
    let method = prop::option::of(Just("none"));
    fuzz(
        "target CIMD benign",
        256,
        (name, uris, method, leniency()),
        |(name, uris, method, (defect, leniency))| {
            let mut doc = json!({"client_id": URL, "client_name": name, "redirect_uris": uris});
            if let Some(m) = method {
                doc["token_endpoint_auth_method"] = json!(m);
            }
            let client = validate_target_document(URL, doc.to_string().as_bytes(), None, leniency)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(client.client_id, URL);
            prop_assert!(client.client_secret.is_none());
            prop_assert_eq!(client.redirect_uris, uris);
            Ok(format!("{defect}: accepted"))
        },
    );
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
