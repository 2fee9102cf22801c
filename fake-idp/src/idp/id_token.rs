//! The IdP's ID tokens, honest or with the one twist an [`IdpAnswer`] asks for.

use serde_json::{json, Map, Value};

use super::{IdpAnswer, HOSTED_DOMAIN};
use crate::jws;
use crate::keys::SigningKey;
use crate::users::User;

/// Everything an ID token is made of.
#[derive(Debug)]
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub user: &'a User,
    /// The nonce of the authorization request.
    pub nonce: Option<&'a str>,
    /// Another login's nonce (for [`IdpAnswer::ReplayedNonce`]).
    pub other_nonce: &'a str,
    pub now: i64,
    pub lifetime: i64,
    /// The IdP's key.
    pub key: &'a SigningKey,
    pub answer: IdpAnswer,
}

/// The Google-shaped `sub` of a user (a number), or of the impostor of [`IdpAnswer::UnverifiedEmail`].
fn subject(user: &User, answer: IdpAnswer) -> String {
    let n: u64 = user.name.bytes().map(u64::from).sum();
    match answer {
        IdpAnswer::UnverifiedEmail => format!("20000000000000{n:05}"),
        _ => format!("10000000000000{n:05}"),
    }
}

/// `sub email email_verified hd name`, as the ID token and `/userinfo` carry them.
pub(super) fn identity_claims(user: &User, answer: IdpAnswer) -> Value {
    json!({
        "sub": subject(user, answer),
        "email": user.email,
        "email_verified": answer != IdpAnswer::UnverifiedEmail,
        "hd": HOSTED_DOMAIN,
        "name": user.name,
    })
}

/// The claims an ID token and an access token share, with the twist of the answer (`iss`, `aud`, `exp`, the
/// impostor's `sub`).
fn common_claims(input: &IdTokenInput<'_>) -> Map<String, Value> {
    let answer = input.answer;
    let mut claims: Map<String, Value> = match identity_claims(input.user, answer) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let (iat, exp) = match answer {
        IdpAnswer::Expired => (input.now - 2 * input.lifetime, input.now - input.lifetime),
        _ => (input.now, input.now + input.lifetime),
    };
    let issuer = match answer {
        IdpAnswer::WrongIssuer => "https://accounts.attacker.conformance.test".to_owned(),
        _ => input.issuer.to_owned(),
    };
    let audience = match answer {
        IdpAnswer::WrongAudience => "another-app.apps.idp.conformance.test",
        _ => input.client_id,
    };
    claims.insert("iss".into(), json!(issuer));
    claims.insert("aud".into(), json!(audience));
    claims.insert("azp".into(), json!(audience));
    claims.insert("iat".into(), json!(iat));
    claims.insert("exp".into(), json!(exp));
    claims
}

/// The compact ID token.
pub fn id_token(input: &IdTokenInput<'_>) -> String {
    let answer = input.answer;
    let mut claims = common_claims(input);
    match answer {
        IdpAnswer::MissingNonce => {}
        IdpAnswer::ReplayedNonce => {
            claims.insert("nonce".into(), json!(input.other_nonce));
        }
        _ => {
            if let Some(n) = input.nonce {
                claims.insert("nonce".into(), json!(n));
            }
        }
    }
    sign(input, claims, "JWT")
}

/// The compact JWT access token (RFC 9068: `typ` `at+jwt`, `client_id`, `scope`, `jti`), carrying the same twist
/// as the ID token of the same answer where it applies (signature, `iss`, `aud`, `exp`, the impostor's `sub`;
/// the nonce twists leave it honest). Relying parties that check the access token instead of the ID token (an
/// OAuth proxy verifying the upstream token on every MCP request) meet the twist there.
pub fn access_token(input: &IdTokenInput<'_>, scope: &str, jti: &str) -> String {
    let mut claims = common_claims(input);
    claims.insert("client_id".into(), json!(input.client_id));
    claims.insert("scope".into(), json!(scope));
    claims.insert("jti".into(), json!(jti));
    sign(input, claims, "at+jwt")
}

/// Signs `claims` as the answer says: unsigned, by a key outside the JWKS under the IdP's kid, or by the IdP.
fn sign(input: &IdTokenInput<'_>, claims: Map<String, Value>, typ: &str) -> String {
    let payload = Value::Object(claims);
    match input.answer {
        IdpAnswer::Unsigned => {
            let header = json!({"alg": "none", "typ": typ});
            format!("{}.{}.", jws::segment(&header), jws::segment(&payload))
        }
        IdpAnswer::UnknownKey => {
            // The IdP's own kid, signed by another key: only a signature check finds it.
            let header = json!({"alg": "RS256", "typ": typ, "kid": input.key.kid()});
            jws::sign_compact(&header, &payload, &SigningKey::attacker_key())
        }
        _ => {
            let header = json!({"alg": "RS256", "typ": typ, "kid": input.key.kid()});
            jws::sign_compact(&header, &payload, input.key)
        }
    }
}

/// Test fixture: alice's ID token from issuer [`SAMPLE_ISSUER`] for client `rp`, nonce `n-1` (the other login's:
/// `n-0`), issued at 1 000 000 for an hour, answering `answer`.
#[cfg(test)]
pub(crate) fn sample(answer: IdpAnswer) -> String {
    with_sample(answer, id_token)
}

#[cfg(test)]
fn with_sample(answer: IdpAnswer, make: impl Fn(&IdTokenInput<'_>) -> String) -> String {
    let users = crate::users::Users::fixture();
    make(&IdTokenInput {
        issuer: SAMPLE_ISSUER,
        client_id: "rp",
        user: users.get("alice").expect("alice is a fixture user"),
        nonce: Some("n-1"),
        other_nonce: "n-0",
        now: 1_000_000,
        lifetime: 3600,
        key: &SigningKey::idp_signing_key(),
        answer,
    })
}

/// The issuer of [`sample`] tokens.
#[cfg(test)]
pub(crate) const SAMPLE_ISSUER: &str = "https://accounts.idp.conformance.test:1";

#[cfg(test)]
mod tests {
    use super::*;

    fn token(answer: IdpAnswer) -> jws::Decoded {
        jws::decode(&sample(answer)).unwrap()
    }

    fn access(answer: IdpAnswer) -> jws::Decoded {
        jws::decode(&with_sample(answer, |i| {
            access_token(i, "openid todo:read", "j-1")
        }))
        .unwrap()
    }

    #[test]
    fn an_honest_access_token_is_an_rfc_9068_jwt_without_a_nonce() {
        let d = access(IdpAnswer::Honest);
        assert!(verifies(&d));
        assert_eq!(d.header["typ"], "at+jwt");
        assert_eq!(d.claims["scope"], "openid todo:read");
        assert_eq!(d.claims["client_id"], "rp");
        assert_eq!(d.claims["aud"], "rp");
        assert!(!d.claims.contains_key("nonce"));
    }

    #[test]
    fn the_access_token_carries_the_twists_that_apply_to_it_and_no_other() {
        let honest = access(IdpAnswer::Honest);
        assert_eq!(access(IdpAnswer::Unsigned).header["alg"], "none");
        assert!(!verifies(&access(IdpAnswer::UnknownKey)));
        assert_ne!(
            access(IdpAnswer::WrongIssuer).claims["iss"],
            honest.claims["iss"]
        );
        assert_ne!(
            access(IdpAnswer::WrongAudience).claims["aud"],
            honest.claims["aud"]
        );
        assert!(access(IdpAnswer::Expired).claims["exp"].as_i64().unwrap() < 1_000_000);
        assert_ne!(
            access(IdpAnswer::UnverifiedEmail).claims["sub"],
            honest.claims["sub"]
        );
        for nonce_twist in [IdpAnswer::MissingNonce, IdpAnswer::ReplayedNonce] {
            let d = access(nonce_twist);
            assert!(verifies(&d));
            assert_eq!(d.claims, honest.claims, "{nonce_twist:?}");
        }
    }

    fn verifies(d: &jws::Decoded) -> bool {
        SigningKey::idp_signing_key().verify_rs256(d.signing_input.as_bytes(), &d.signature)
    }

    #[test]
    fn an_honest_id_token_is_signed_and_carries_every_claim() {
        let d = token(IdpAnswer::Honest);
        assert!(verifies(&d));
        for claim in [
            "iss",
            "aud",
            "sub",
            "email",
            "email_verified",
            "hd",
            "nonce",
            "iat",
            "exp",
        ] {
            assert!(d.claims.contains_key(claim), "{claim}");
        }
        assert_eq!(d.claims["nonce"], "n-1");
        assert_eq!(d.claims["email_verified"], true);
    }

    #[test]
    fn each_hostile_answer_changes_exactly_its_claim_or_signature() {
        let honest = token(IdpAnswer::Honest);
        let unsigned = token(IdpAnswer::Unsigned);
        assert_eq!(unsigned.header["alg"], "none");
        assert!(unsigned.signature.is_empty());
        assert!(!verifies(&token(IdpAnswer::UnknownKey)));
        assert_ne!(
            token(IdpAnswer::WrongIssuer).claims["iss"],
            honest.claims["iss"]
        );
        assert_ne!(
            token(IdpAnswer::WrongAudience).claims["aud"],
            honest.claims["aud"]
        );
        assert!(!token(IdpAnswer::MissingNonce).claims.contains_key("nonce"));
        assert_eq!(token(IdpAnswer::ReplayedNonce).claims["nonce"], "n-0");
        assert!(token(IdpAnswer::Expired).claims["exp"].as_i64().unwrap() < 1_000_000);
        let unverified = token(IdpAnswer::UnverifiedEmail);
        assert_eq!(unverified.claims["email_verified"], false);
        assert_eq!(unverified.claims["email"], honest.claims["email"]);
        assert_ne!(unverified.claims["sub"], honest.claims["sub"]);
    }
}
