//! Token responses (suite/src/authz/oauth.rs: `token_result` and the `TokenResult` accessors) and AS
//! metadata documents (suite/src/authz/scenarios/metadata.rs: `metadata_body`; oauth.rs: `Endpoints::from_metadata`;
//! the AS-META checks that judge them).

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{fuzz, hostile_json, hostile_string, object_text};
use crate::authz::oauth::{token_result, Endpoints};
use crate::authz::obs::{AuthzObservations, LoginKind, MetadataFetch, MetadataObs};
use crate::authz::scenarios::metadata_body;
use crate::evidence::EvidenceLog;
use crate::http::{Http, Limits, Response};

fn string() -> BoxedStrategy<Value> {
    hostile_string().prop_map(Value::String).boxed()
}

fn strings() -> BoxedStrategy<Value> {
    prop::collection::vec(hostile_string(), 0..4)
        .prop_map(|v| json!(v))
        .boxed()
}

/// RFC 6749 §5.1/§5.2 bodies: every member present or missing, duplicated, mistyped or hostile.
fn token_body() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from)
    ]
    .boxed();
    object_text(vec![
        ("access_token", string()),
        (
            "token_type",
            prop_oneof![
                Just(json!("Bearer")),
                hostile_string().prop_map(Value::String)
            ]
            .boxed(),
        ),
        ("expires_in", number),
        ("refresh_token", string()),
        ("scope", string()),
        ("id_token", string()),
        ("error", string()),
        ("error_description", string()),
    ])
}

#[test]
fn fuzz_token_response_any_body_is_read_and_its_tokens_become_secrets() {
    let http = Http::new(Limits::default(), EvidenceLog::new(), Vec::new()).unwrap();
    fuzz(
        "token response",
        256,
        (
            token_body(),
            prop::sample::select(vec![200u16, 400, 401, 500]),
        ),
        |(body, status)| {
            let resp = Response {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.clone().into_bytes(),
            };
            let r = token_result("fuzz#1".into(), Ok(resp), &http);
            let parsed: Option<Value> = serde_json::from_str(&body).ok();
            prop_assert_eq!(&r.json, &parsed);
            let at = parsed
                .as_ref()
                .and_then(|v| v.get("access_token"))
                .and_then(Value::as_str);
            prop_assert_eq!(r.access_token(), at);
            prop_assert_eq!(r.ok(), status == 200 && at.is_some());
            prop_assert!(r.describe().len() <= body.len() + 64);
            Ok(match (r.ok(), r.oauth_error(), &r.json) {
                (true, _, _) => "issued".into(),
                (false, Some(_), _) => "oauth error".into(),
                (false, None, Some(_)) => "json without a token".into(),
                (false, None, None) => "not json".into(),
            })
        },
    );
}

/// RFC 8414 documents, hostile in every member the suite reads.
fn as_metadata() -> impl Strategy<Value = String> {
    let url = || {
        prop_oneof![
            Just(json!("http://127.0.0.1:1/authorize")),
            hostile_string().prop_map(Value::String)
        ]
        .boxed()
    };
    let flag = || prop_oneof![any::<bool>().prop_map(Value::Bool), hostile_json()].boxed();
    object_text(vec![
        (
            "issuer",
            prop_oneof![
                Just(json!("http://127.0.0.1:1")),
                hostile_string().prop_map(Value::String)
            ]
            .boxed(),
        ),
        ("authorization_endpoint", url()),
        ("token_endpoint", url()),
        ("registration_endpoint", url()),
        ("jwks_uri", url()),
        ("response_types_supported", strings()),
        ("grant_types_supported", strings()),
        ("code_challenge_methods_supported", strings()),
        ("token_endpoint_auth_methods_supported", strings()),
        ("scopes_supported", strings()),
        ("client_id_metadata_document_supported", flag()),
        ("authorization_response_iss_parameter_supported", flag()),
    ])
}

#[test]
fn fuzz_as_metadata_any_document_yields_endpoints_or_a_reason_and_the_checks_judge_it() {
    let checks = crate::authz::checks::registry();
    fuzz("as metadata", 128, as_metadata(), |text| {
        let issuer = "http://127.0.0.1:1";
        let body = metadata_body(text.as_bytes());
        prop_assert_eq!(
            body.is_ok(),
            matches!(serde_json::from_str::<Value>(&text), Ok(Value::Object(_)))
        );
        let endpoints = match &body {
            Ok(m) => Endpoints::from_metadata(
                issuer,
                "http://127.0.0.1:1/.well-known/oauth-authorization-server",
                m,
            )
            .map_err(crate::check::ObsError::Harness),
            Err(e) => Err(crate::check::ObsError::Harness(e.clone())),
        };
        let kind = match (&body, &endpoints) {
            (Err(_), _) => "not an object",
            (Ok(_), Err(_)) => "object without endpoints",
            (Ok(_), Ok(_)) => "endpoints",
        };
        let fetch = MetadataFetch {
            kind: "rfc8414",
            url: "http://127.0.0.1:1/.well-known/oauth-authorization-server".into(),
            exchange: "fuzz#1".into(),
            status: 200,
            content_type: Some("application/json".into()),
            body,
        };
        let obs = AuthzObservations::unreached(
            LoginKind::Auto,
            Ok(MetadataObs {
                issuer: issuer.into(),
                fetches: vec![fetch],
            }),
            endpoints,
        );
        for check in &checks {
            let e = check.evaluate(&obs);
            // Linear in the input: a check may quote it with `{:?}`, which escapes one byte to at
            // most ten (`\u{10ffff}`).
            let said = e.message.len() + e.actual.len() + e.expected.len();
            prop_assert!(
                said <= 10 * text.len() + 8192,
                "{} said {} bytes",
                check.meta().id,
                said
            );
        }
        Ok(kind.into())
    });
}
