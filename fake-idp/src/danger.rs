//! The adversarial token forge (catalog rows ADV-01..ADV-10).
//!
//! Everything here builds tokens a conformant resource server must refuse (plus
//! [`TokenMutation::ShortLived`], a valid token for leeway checks). Compact JWS is assembled by
//! hand because `jsonwebtoken` cannot express `alg: none` or a header it would never write.
//! Nothing outside this module hands out attacker-signed or malformed tokens.

use hmac::{Hmac, Mac as _};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::jws;
use crate::keys::SigningKey;
use crate::token::{Audience, Minter, TokenSpec};

/// The attacker's self-signed X.509 certificate (PEM), served at the `x5u` URL.
pub const ATTACKER_CERT_PEM: &str = include_str!("../../fixtures/keys/test-only-attacker-cert.pem");

/// Which encoding of the AS public key keys the HMAC in [`TokenMutation::Hs256WithPublicKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacKeyForm {
    /// The SPKI PEM text bytes ([`SigningKey::public_pem`]).
    Pem,
    /// The SPKI DER bytes ([`SigningKey::public_der`]).
    Der,
    /// The bytes of `public_jwk().to_string()`.
    Jwk,
}

/// One attack per variant; see the catalog rows ADV-01..ADV-10.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenMutation {
    /// `exp` = now − 600, `iat`/`nbf` = now − 4200.
    Expired,
    /// `nbf` = now + 600, `iat` = now.
    NotYetValid,
    /// The `exp` claim removed.
    NoExp,
    /// `exp` = now + 300: a valid token (for leeway checks).
    ShortLived,
    /// `aud` replaced by the given value.
    Audience(Audience),
    /// `iss` replaced; still signed with the AS key.
    Issuer(String),
    /// One bit of the decoded signature flipped.
    SignatureBitFlip,
    /// The honest token's payload merged with this patch (RFC 7396) without re-signing.
    TamperedPayload {
        /// A JSON object merged into the claims (`null` removes a claim).
        claims_patch: Value,
    },
    /// Header `{"alg":<spelling>,"typ":"at+jwt"}`, empty signature.
    AlgNone(String),
    /// `alg: HS256`, the real AS `kid`, HMAC-SHA256 keyed with the AS public key bytes.
    Hs256WithPublicKey(HmacKeyForm),
    /// Signed by the attacker key, `kid` `unknown-kid-…`.
    UnknownKid,
    /// The AS `kid`, signed by the attacker key.
    AttackerKeyRealKid,
    /// Header `jwk` = the attacker public JWK, signed by the attacker key.
    EmbeddedJwk,
    /// Header `jku` = this URL, signed by the attacker key.
    Jku(String),
    /// Header `x5u` = this URL, signed by the attacker key.
    X5u(String),
    /// Header `typ` replaced (`Some`) or removed (`None`); otherwise valid.
    Typ(Option<String>),
    /// Base64url garbage of exactly this many bytes, shaped `a.b.c`.
    Oversized(usize),
    /// 43 random base64url characters.
    RandomString,
    /// A valid token with its signature segment cut in half.
    Truncated,
    /// A valid token whose payload segment is non-base64 garbage.
    Garbled,
}

/// Builds hostile tokens from an honest [`Minter`].
#[derive(Debug, Clone)]
pub struct Forge {
    minter: Minter,
    attacker: SigningKey,
}

impl Forge {
    /// A forge using `minter`'s issuer, clock and key, plus the attacker key.
    pub fn new(minter: Minter) -> Forge {
        Forge {
            minter,
            attacker: SigningKey::attacker_key(),
        }
    }

    /// The token `spec` describes, with `mutation` applied.
    pub fn forge(&self, spec: &TokenSpec, mutation: &TokenMutation) -> String {
        let now = self.minter.now();
        let mut header = self.minter.header();
        let mut claims = self.minter.claims(spec);
        let as_key = self.minter.key();
        match mutation {
            TokenMutation::Expired => {
                claims.insert("exp".into(), json!(now - 600));
                claims.insert("iat".into(), json!(now - 4200));
                claims.insert("nbf".into(), json!(now - 4200));
                sign(&header, &claims, as_key)
            }
            TokenMutation::NotYetValid => {
                claims.insert("nbf".into(), json!(now + 600));
                claims.insert("iat".into(), json!(now));
                sign(&header, &claims, as_key)
            }
            TokenMutation::NoExp => {
                claims.remove("exp");
                sign(&header, &claims, as_key)
            }
            TokenMutation::ShortLived => {
                claims.insert("exp".into(), json!(now + 300));
                sign(&header, &claims, as_key)
            }
            TokenMutation::Audience(aud) => {
                match self.minter.audience_claim(aud) {
                    Some(value) => claims.insert("aud".into(), value),
                    None => claims.remove("aud"),
                };
                sign(&header, &claims, as_key)
            }
            TokenMutation::Issuer(iss) => {
                claims.insert("iss".into(), json!(iss));
                sign(&header, &claims, as_key)
            }
            TokenMutation::SignatureBitFlip => {
                let token = sign(&header, &claims, as_key);
                let (input, sig) = token.rsplit_once('.').expect("compact JWS");
                let mut sig = jws_decode(sig);
                let middle = sig.len() / 2;
                sig[middle] ^= 0x01;
                format!("{input}.{}", jws::b64(&sig))
            }
            TokenMutation::TamperedPayload { claims_patch } => {
                let token = sign(&header, &claims, as_key);
                let mut parts = token.split('.');
                let (h, _p, s) = (parts.next(), parts.next(), parts.next());
                let mut patched = Value::Object(claims);
                merge_patch(&mut patched, claims_patch);
                format!(
                    "{}.{}.{}",
                    h.unwrap_or_default(),
                    jws::segment(&patched),
                    s.unwrap_or_default()
                )
            }
            TokenMutation::AlgNone(spelling) => {
                let header = json!({"alg": spelling, "typ": "at+jwt"});
                format!(
                    "{}.{}.",
                    jws::segment(&header),
                    jws::segment(&Value::Object(claims))
                )
            }
            TokenMutation::Hs256WithPublicKey(form) => {
                header.insert("alg".into(), json!("HS256"));
                let key_bytes = match form {
                    HmacKeyForm::Pem => as_key.public_pem().as_bytes().to_vec(),
                    HmacKeyForm::Der => as_key.public_der(),
                    HmacKeyForm::Jwk => as_key.public_jwk().to_string().into_bytes(),
                };
                let input = format!(
                    "{}.{}",
                    jws::segment(&Value::Object(header)),
                    jws::segment(&Value::Object(claims))
                );
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(&key_bytes).expect("HMAC takes any key length");
                mac.update(input.as_bytes());
                format!("{input}.{}", jws::b64(&mac.finalize().into_bytes()))
            }
            TokenMutation::UnknownKid => {
                let kid = format!("unknown-kid-{}", self.minter.random_token(6));
                header.insert("kid".into(), json!(kid));
                sign(&header, &claims, &self.attacker)
            }
            TokenMutation::AttackerKeyRealKid => sign(&header, &claims, &self.attacker),
            TokenMutation::EmbeddedJwk => {
                header.insert("kid".into(), json!(self.attacker.kid()));
                header.insert("jwk".into(), self.attacker.public_jwk());
                sign(&header, &claims, &self.attacker)
            }
            TokenMutation::Jku(url) => {
                header.insert("kid".into(), json!(self.attacker.kid()));
                header.insert("jku".into(), json!(url));
                sign(&header, &claims, &self.attacker)
            }
            TokenMutation::X5u(url) => {
                header.insert("kid".into(), json!(self.attacker.kid()));
                header.insert("x5u".into(), json!(url));
                sign(&header, &claims, &self.attacker)
            }
            TokenMutation::Typ(typ) => {
                match typ {
                    Some(typ) => header.insert("typ".into(), json!(typ)),
                    None => header.remove("typ"),
                };
                sign(&header, &claims, as_key)
            }
            TokenMutation::Oversized(len) => self.oversized(*len),
            TokenMutation::RandomString => self.random_chars(43),
            TokenMutation::Truncated => {
                let token = sign(&header, &claims, as_key);
                let (input, sig) = token.rsplit_once('.').expect("compact JWS");
                format!("{input}.{}", &sig[..sig.len() / 2])
            }
            TokenMutation::Garbled => {
                let token = sign(&header, &claims, as_key);
                let mut parts = token.split('.');
                let (h, _p, s) = (parts.next(), parts.next(), parts.next());
                format!(
                    "{}.!!not*base64~~%%.{}",
                    h.unwrap_or_default(),
                    s.unwrap_or_default()
                )
            }
        }
    }

    fn random_chars(&self, len: usize) -> String {
        self.minter.random_chars(len)
    }

    fn oversized(&self, len: usize) -> String {
        if len < 5 {
            return self.random_chars(len);
        }
        let body = len - 2;
        let (a, b) = (body / 3, body / 3);
        let c = body - a - b;
        format!(
            "{}.{}.{}",
            self.random_chars(a),
            self.random_chars(b),
            self.random_chars(c)
        )
    }
}

fn sign(header: &Map<String, Value>, claims: &Map<String, Value>, key: &SigningKey) -> String {
    jws::sign_compact(
        &Value::Object(header.clone()),
        &Value::Object(claims.clone()),
        key,
    )
}

fn jws_decode(segment: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .expect("our own signature segment is base64url")
}

/// RFC 7396 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The JWKS an attacker serves at a `jku` URL: `{"keys":[attacker public jwk]}`.
pub fn attacker_jwks() -> Value {
    json!({ "keys": [SigningKey::attacker_key().public_jwk()] })
}

#[cfg(test)]
use crate::token::B64URL_ALPHABET;

#[cfg(test)]
mod tests;
