//! JWS/JWT decoding for evidence and profile checks (suite/src/evidence.rs: `decode_jwt`,
//! `token_evidence`, `redact`; suite/src/authz/oauth.rs: `jwt_parts`).

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::Value;

use super::{fuzz, hostile_json, hostile_string};
use crate::authz::oauth::jwt_parts;
use crate::evidence::{decode_jwt, redact, token_evidence};

/// One segment of a compact JWS: base64url of JSON (with or without padding, or in the wrong
/// alphabet), of raw bytes, or not base64 at all.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => hostile_json().prop_map(|v| URL_SAFE_NO_PAD.encode(v.to_string())),
        1 => hostile_json().prop_map(|v| URL_SAFE.encode(v.to_string())),
        1 => hostile_json().prop_map(|v| STANDARD.encode(v.to_string())),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| URL_SAFE_NO_PAD.encode(b)),
        1 => (1..3_000usize).prop_map(|d| URL_SAFE_NO_PAD.encode(format!("{}{}", "[".repeat(d), "]".repeat(d)))),
        1 => hostile_string(),
    ]
}

fn hostile_token() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 0..6).prop_map(|s| s.join("."))
}

#[test]
fn fuzz_jwt_encoded_header_and_claims_decode_to_themselves() {
    let object = hostile_json().prop_map(|v| match v {
        Value::Object(m) => Value::Object(m),
        other => serde_json::json!({ "v": other }),
    });
    fuzz(
        "jwt round-trip",
        256,
        (object.clone(), object, hostile_string()),
        |(header, claims, sig)| {
            let sig = URL_SAFE_NO_PAD.encode(sig);
            let token = format!(
                "{}.{}.{sig}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            // What serde_json reads back from the JSON text (it rounds some floats by one ulp).
            let reread = |v: &Value| serde_json::from_str::<Value>(&v.to_string()).unwrap();
            prop_assert_eq!(jwt_parts(&token), Some((reread(&header), reread(&claims))));
            Ok("decoded".into())
        },
    );
}

#[test]
fn fuzz_jwt_hostile_tokens_never_panic_and_evidence_never_reveals_a_long_token() {
    fuzz("jwt hostile", 256, hostile_token(), |token| {
        let decoded = decode_jwt(&token);
        let ev = token_evidence(&token);
        prop_assert_eq!(ev.length, token.len());
        prop_assert_eq!(ev.jwt_header.is_some(), decoded.is_some());
        // The mask (suite::redact) shows a length and, for long values, a hash prefix: never the value, and
        // bounded whatever the token's size.
        let shown = redact(&token);
        prop_assert!(shown.chars().count() <= 64, "{}", shown);
        if token.chars().count() >= 8 {
            prop_assert!(!shown.contains(&token));
        }
        let segments = token.split('.').count();
        prop_assert!(
            decoded.is_none() || segments == 3,
            "{} segments decoded",
            segments
        );
        Ok(match decoded {
            Some(_) => format!("decoded ({segments} segments)"),
            None => format!("not a JWT ({} segments)", segments.min(4)),
        })
    });
}
