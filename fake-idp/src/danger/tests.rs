//! Tests of the token forge: each mutation yields the token it names, checked by decoding it with
//! `jsonwebtoken` (the validation a resource server would run) or by reading its parts.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use rstest::rstest;

use super::*;
use crate::clock::{Clock as _, SystemClock};
use crate::users::Users;

const ISSUER: &str = "http://127.0.0.1:9";
const RESOURCE: &str = "https://rs.example/mcp";

fn forge() -> Forge {
    Forge::new(Minter::new(
        ISSUER,
        SigningKey::as_signing_key(),
        Arc::new(SystemClock),
        42,
    ))
}

fn spec(user: &str) -> TokenSpec {
    TokenSpec::for_user(Users::fixture().get(user).unwrap(), RESOURCE, "client-1")
}

fn decoding_key(key: &SigningKey) -> DecodingKey {
    let jwk = key.public_jwk();
    DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
        .unwrap()
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[RESOURCE]);
    v.validate_nbf = true;
    v.set_required_spec_claims(&["exp", "aud", "iss"]);
    v.leeway = 0;
    v
}

fn verify(token: &str, key: &SigningKey) -> Result<Map<String, Value>, ErrorKind> {
    decode::<Map<String, Value>>(token, &decoding_key(key), &validation())
        .map(|d| d.claims)
        .map_err(|e| e.into_kind())
}

fn part(token: &str, index: usize) -> Value {
    let seg = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
}

#[test]
fn expired_token_has_past_exp_and_is_rejected() {
    let token = forge().forge(&spec("alice"), &TokenMutation::Expired);
    let claims = part(&token, 1);
    let now = SystemClock.now();
    assert!(claims["exp"].as_i64().unwrap() <= now - 600);
    assert!(claims["iat"].as_i64().unwrap() <= now - 4200);
    assert_eq!(
        verify(&token, &SigningKey::as_signing_key()),
        Err(ErrorKind::ExpiredSignature)
    );
}

#[test]
fn not_yet_valid_token_is_immature() {
    let token = forge().forge(&spec("alice"), &TokenMutation::NotYetValid);
    assert_eq!(
        verify(&token, &SigningKey::as_signing_key()),
        Err(ErrorKind::ImmatureSignature)
    );
}

#[test]
fn no_exp_token_lacks_the_exp_claim() {
    let token = forge().forge(&spec("alice"), &TokenMutation::NoExp);
    assert!(part(&token, 1).get("exp").is_none());
    assert!(matches!(
        verify(&token, &SigningKey::as_signing_key()),
        Err(ErrorKind::MissingRequiredClaim(c)) if c == "exp"
    ));
}

#[test]
fn short_lived_token_is_valid_for_five_minutes() {
    let token = forge().forge(&spec("alice"), &TokenMutation::ShortLived);
    let claims = verify(&token, &SigningKey::as_signing_key()).unwrap();
    let ttl = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(ttl, 300);
}

#[rstest]
#[case::other_resource(Audience::One("https://other.example/mcp".into()), Some(json!("https://other.example/mcp")))]
#[case::absent(Audience::Absent, None)]
#[case::other_and_client(Audience::Many(vec!["https://other.example/mcp".into(), "client-1".into()]), Some(json!(["https://other.example/mcp", "client-1"])))]
fn audience_mutation_replaces_aud_and_keeps_signature_valid(
    #[case] aud: Audience,
    #[case] expected: Option<Value>,
) {
    let token = forge().forge(&spec("alice"), &TokenMutation::Audience(aud));
    assert_eq!(part(&token, 1).get("aud").cloned(), expected);
    let mut v = validation();
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let key = decoding_key(&SigningKey::as_signing_key());
    assert!(decode::<Value>(&token, &key, &v).is_ok());
    assert!(verify(&token, &SigningKey::as_signing_key()).is_err());
}

#[test]
fn issuer_mutation_is_signed_by_the_as_key_with_another_iss() {
    let token = forge().forge(
        &spec("alice"),
        &TokenMutation::Issuer("https://attacker.example".into()),
    );
    assert_eq!(part(&token, 1)["iss"], "https://attacker.example");
    assert_eq!(
        verify(&token, &SigningKey::as_signing_key()),
        Err(ErrorKind::InvalidIssuer)
    );
}

#[test]
fn signature_bit_flip_breaks_rs256_verification() {
    let token = forge().forge(&spec("alice"), &TokenMutation::SignatureBitFlip);
    assert_eq!(
        verify(&token, &SigningKey::as_signing_key()),
        Err(ErrorKind::InvalidSignature)
    );
}

#[test]
fn tampered_payload_changes_claims_and_fails_verification() {
    let patch = json!({"roles": ["full_access"], "permissions": ["todo:read", "todo:write"], "scope": "todo:read todo:write"});
    let token = forge().forge(
        &spec("bob"),
        &TokenMutation::TamperedPayload {
            claims_patch: patch,
        },
    );
    let claims = part(&token, 1);
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["roles"], json!(["full_access"]));
    assert_eq!(claims["scope"], "todo:read todo:write");
    assert_eq!(
        verify(&token, &SigningKey::as_signing_key()),
        Err(ErrorKind::InvalidSignature)
    );
}

#[test]
fn merge_patch_null_removes_a_claim() {
    let mut v = json!({"a": 1, "b": {"c": 2}});
    merge_patch(&mut v, &json!({"a": null, "b": {"d": 3}}));
    assert_eq!(v, json!({"b": {"c": 2, "d": 3}}));
}

#[rstest]
#[case::lower("none")]
#[case::capitalised("None")]
#[case::upper("NONE")]
fn alg_none_has_the_exact_header_and_an_empty_signature(#[case] spelling: &str) {
    let token = forge().forge(&spec("alice"), &TokenMutation::AlgNone(spelling.into()));
    assert!(token.ends_with('.'));
    assert_eq!(token.split('.').count(), 3);
    let header_seg = token.split('.').next().unwrap();
    let header = String::from_utf8(URL_SAFE_NO_PAD.decode(header_seg).unwrap()).unwrap();
    assert_eq!(header, format!(r#"{{"alg":"{spelling}","typ":"at+jwt"}}"#));
    assert_eq!(part(&token, 1)["sub"], "alice");
}

#[rstest]
#[case::pem(HmacKeyForm::Pem)]
#[case::der(HmacKeyForm::Der)]
#[case::jwk(HmacKeyForm::Jwk)]
fn hs256_token_verifies_with_hmac_over_the_public_key_bytes(#[case] form: HmacKeyForm) {
    let as_key = SigningKey::as_signing_key();
    let token = forge().forge(&spec("alice"), &TokenMutation::Hs256WithPublicKey(form));
    let header = decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.kid.as_deref(), Some("conformance-as-key-1"));
    let secret = match form {
        HmacKeyForm::Pem => as_key.public_pem().as_bytes().to_vec(),
        HmacKeyForm::Der => as_key.public_der(),
        HmacKeyForm::Jwk => as_key.public_jwk().to_string().into_bytes(),
    };
    let mut v = validation();
    v.algorithms = vec![Algorithm::HS256];
    assert!(decode::<Value>(&token, &DecodingKey::from_secret(&secret), &v).is_ok());
    assert_eq!(verify(&token, &as_key), Err(ErrorKind::InvalidAlgorithm));
}

#[test]
fn unknown_kid_is_attacker_signed_with_a_fresh_kid() {
    let token = forge().forge(&spec("alice"), &TokenMutation::UnknownKid);
    let kid = decode_header(&token).unwrap().kid.unwrap();
    assert!(kid.starts_with("unknown-kid-"));
    assert!(verify(&token, &SigningKey::attacker_key()).is_ok());
    assert_eq!(
        verify(&token, &SigningKey::as_signing_key()),
        Err(ErrorKind::InvalidSignature)
    );
}

#[test]
fn attacker_key_real_kid_claims_the_as_kid() {
    let token = forge().forge(&spec("alice"), &TokenMutation::AttackerKeyRealKid);
    assert_eq!(
        decode_header(&token).unwrap().kid.as_deref(),
        Some("conformance-as-key-1")
    );
    assert!(verify(&token, &SigningKey::attacker_key()).is_ok());
    assert_eq!(
        verify(&token, &SigningKey::as_signing_key()),
        Err(ErrorKind::InvalidSignature)
    );
}

#[test]
fn embedded_jwk_carries_the_attacker_public_key() {
    let token = forge().forge(&spec("alice"), &TokenMutation::EmbeddedJwk);
    let header = part(&token, 0);
    assert_eq!(header["jwk"], SigningKey::attacker_key().public_jwk());
    assert_eq!(header["kid"], "attacker-key-1");
    assert!(verify(&token, &SigningKey::attacker_key()).is_ok());
}

#[rstest]
#[case::jku("jku", TokenMutation::Jku("http://127.0.0.1:1/jwks.json".into()))]
#[case::x5u("x5u", TokenMutation::X5u("http://127.0.0.1:1/attacker.pem".into()))]
fn url_header_points_at_the_given_listener(#[case] member: &str, #[case] m: TokenMutation) {
    let token = forge().forge(&spec("alice"), &m);
    let header = part(&token, 0);
    assert!(header[member]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:1/"));
    assert!(verify(&token, &SigningKey::attacker_key()).is_ok());
    assert!(verify(&token, &SigningKey::as_signing_key()).is_err());
}

#[rstest]
#[case::jwt(Some("JWT".to_owned()))]
#[case::removed(None)]
fn typ_mutation_changes_only_the_typ(#[case] typ: Option<String>) {
    let token = forge().forge(&spec("alice"), &TokenMutation::Typ(typ.clone()));
    assert_eq!(part(&token, 0).get("typ").cloned(), typ.map(Value::String));
    assert!(verify(&token, &SigningKey::as_signing_key()).is_ok());
}

#[rstest]
#[case::small(4)]
#[case::medium(100)]
#[case::large(64 * 1024)]
fn oversized_token_has_the_requested_length(#[case] len: usize) {
    let token = forge().forge(&spec("alice"), &TokenMutation::Oversized(len));
    assert_eq!(token.len(), len);
    if len >= 5 {
        assert_eq!(token.matches('.').count(), 2);
    }
    assert!(verify(&token, &SigningKey::as_signing_key()).is_err());
}

#[test]
fn random_string_is_43_base64url_chars() {
    let token = forge().forge(&spec("alice"), &TokenMutation::RandomString);
    assert_eq!(token.len(), 43);
    assert!(token.bytes().all(|b| B64URL_ALPHABET.contains(&b)));
}

#[test]
fn truncated_token_has_half_a_signature() {
    let token = forge().forge(&spec("alice"), &TokenMutation::Truncated);
    let sig = token.rsplit('.').next().unwrap();
    assert_eq!(sig.len(), 171);
    assert!(verify(&token, &SigningKey::as_signing_key()).is_err());
}

#[test]
fn garbled_token_payload_is_not_base64() {
    let token = forge().forge(&spec("alice"), &TokenMutation::Garbled);
    let payload = token.split('.').nth(1).unwrap();
    assert!(URL_SAFE_NO_PAD.decode(payload).is_err());
    assert!(verify(&token, &SigningKey::as_signing_key()).is_err());
}

#[test]
fn attacker_jwks_holds_only_the_attacker_key() {
    let jwks = attacker_jwks();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert_eq!(jwks["keys"][0]["kid"], "attacker-key-1");
}
