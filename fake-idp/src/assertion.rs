//! JWT assertions as an authorization server receives them (RFC 7523): `private_key_jwt` client assertions
//! (§2.2, §3), workload identity JWTs (WIF, SEP-1933) and ID-JAGs (SEP-990) presented with the `jwt-bearer`
//! grant (§2.1). One verification ([`check`]) serves every AS that accepts them: the client worlds'
//! (`client_world::machine`) and the reference AS in target mode (`server::assertion`), whose defects waive one
//! [`Fault`] each. Keys are ES256 ([`EcKey`]): generated per world, or the fixed test-only keys of the suite's
//! parties ([`EcKey::fixed`]) that an AS under test is configured to trust once.

use std::collections::HashSet;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The JWT-bearer authorization grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The token type of an Identity Assertion JWT Authorization Grant (SEP-990).
pub const ID_JAG_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The `typ` header of an ID-JAG.
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";
/// Seconds of clock skew tolerated on `exp`.
pub const LEEWAY: i64 = 5;

/// `iss` of the workload JWTs the suite signs (WIF).
pub const SUITE_WORKLOAD_ISSUER: &str = "https://workload.conformance.test";
/// `iss` of the ID-JAGs the suite mints (it plays the enterprise IdP).
pub const SUITE_ENTERPRISE_IDP: &str = "https://idp.conformance.test";
/// The `private_key_jwt` client the suite authenticates as, unless told another id.
pub const SUITE_ASSERTION_CLIENT: &str = "conformance-assertion-client";

/// A test-only ES256 (P-256) key pair. Prints as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct EcKey {
    pkcs8: Vec<u8>,
    x: String,
    y: String,
}

impl std::fmt::Debug for EcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EcKey([redacted])")
    }
}

/// The parties whose fixed keys the suite signs assertions with (test-only keys, the same on every run, so that
/// an AS under test is configured to trust them once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The workload identity issuer (WIF).
    Workload,
    /// The enterprise IdP that mints ID-JAGs.
    EnterpriseIdp,
    /// The `private_key_jwt` client.
    Client,
}

/// PKCS#8 DER (base64) of the fixed test-only keys. Never use them for anything but tests.
const FIXED_WORKLOAD: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2AmivEavzBaEUKbQGEWFy2MhBh6eToB7aqCwkZ8kf5mhRANCAASAfEMAPq6Eq86tF4HNay26te7e4/chkBUs+VJZFwVEiutwkRpU/pbgWaN4vbDACWflUyIjX+2QIozlqXeiZje0";
const FIXED_IDP: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQghGqoayx4IJIgBse4xVIxrgHaUhNbnzSXoZVBky4kN7mhRANCAAQV7uC6g7C66xp7OCITsr0002yPeKOQw7kKGHzrdl0oJccbvrmoD3a5j5HYE/EgztJv3KAVmZN3pSBREEYe9DFZ";
const FIXED_CLIENT: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgfp41LXCUX/z6DaHDC6BsqOezu5G9JWnB0iDGkmc7cquhRANCAASQs35xCn9WSAvzM3owIB/egJMXOtxxot8Q+q6ZZA3y7IC0jmWjJy5GNLpmvGCsaifp6etlCibcu5UETxAJ0cb3";

impl EcKey {
    /// A fresh key pair.
    pub fn generate() -> EcKey {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("P-256 key generation");
        EcKey::from_pkcs8(pkcs8.as_ref()).expect("a generated key parses")
    }

    /// The key of PKCS#8 DER bytes (with the public key, as ring and openssl write it).
    pub fn from_pkcs8(pkcs8: &[u8]) -> Option<EcKey> {
        use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng).ok()?;
        // The uncompressed point: 0x04 || x || y.
        let point = pair.public_key().as_ref();
        Some(EcKey {
            pkcs8: pkcs8.to_vec(),
            x: URL_SAFE_NO_PAD.encode(&point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// The fixed test-only key of a suite party.
    pub fn fixed(party: Party) -> EcKey {
        let b64 = match party {
            Party::Workload => FIXED_WORKLOAD,
            Party::EnterpriseIdp => FIXED_IDP,
            Party::Client => FIXED_CLIENT,
        };
        STANDARD
            .decode(b64)
            .ok()
            .and_then(|der| EcKey::from_pkcs8(&der))
            .expect("the fixed test keys are valid PKCS#8")
    }

    /// The private key as PKCS#8 PEM (what the official context's `private_key_pem` carries).
    pub fn private_key_pem(&self) -> String {
        let b64 = STANDARD.encode(&self.pkcs8);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect();
        format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    /// The public key as a JWK.
    pub fn public_jwk(&self) -> Value {
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "x": self.x, "y": self.y})
    }

    /// The public key as a JWK with this `kid`.
    pub fn public_jwk_with_kid(&self, kid: &str) -> Value {
        let mut jwk = self.public_jwk();
        jwk["kid"] = json!(kid);
        jwk
    }

    /// A compact ES256 JWS of `claims` with this `typ`.
    pub fn sign(&self, typ: &str, claims: &Value) -> String {
        self.sign_with_kid(typ, None, claims)
    }

    /// A compact ES256 JWS of `claims` with this `typ` and, when given, `kid`.
    pub fn sign_with_kid(&self, typ: &str, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.to_owned());
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8))
            .expect("ES256 signing with a valid key")
    }

    /// The header `typ` and the claims of `jwt` when its ES256 signature verifies with this key (no claim is
    /// checked here).
    pub fn verify(&self, jwt: &str) -> Result<(Option<String>, Value), String> {
        let key = DecodingKey::from_ec_components(&self.x, &self.y).map_err(|e| e.to_string())?;
        let mut v = Validation::new(Algorithm::ES256);
        v.validate_exp = false;
        v.validate_aud = false;
        v.required_spec_claims = HashSet::new();
        jsonwebtoken::decode::<Value>(jwt, &key, &v)
            .map(|d| (d.header.typ, d.claims))
            .map_err(|e| format!("the JWT does not verify: {e}"))
    }
}

/// An unsigned JWT (`alg: none`, empty signature) of `claims`: what no AS may accept.
pub fn unsigned(typ: &str, claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": typ});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// The unverified claims of a JWT (to learn which key should verify it).
pub fn unverified_claims(jwt: &str) -> Option<Value> {
    unverified_part(jwt, 1)
}

/// The unverified header of a JWT.
pub fn unverified_header(jwt: &str) -> Option<Value> {
    unverified_part(jwt, 0)
}

fn unverified_part(jwt: &str, i: usize) -> Option<Value> {
    let part = jwt.split('.').nth(i)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// Whether `aud` (a string or an array) names `issuer`, with or without one trailing slash.
pub fn audience_names(aud: Option<&Value>, issuer: &str) -> bool {
    let bare = issuer.trim_end_matches('/');
    let matches = |s: &str| s.trim_end_matches('/') == bare;
    match aud {
        Some(Value::String(s)) => matches(s),
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).any(matches),
        _ => false,
    }
}

/// Why an assertion is refused, one per rule [`check`] applies (in that order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `alg: none`: no signature at all.
    AlgNone,
    /// The signature does not verify with the trusted key.
    Untrusted,
    /// The `typ` header is not the one required (ID-JAG).
    Typ,
    /// `aud` does not name this AS.
    Audience,
    /// `iss` and `sub` are not both the authenticating client (client assertion).
    Subject,
    /// The `client_id` claim names another client (ID-JAG).
    ClientId,
    /// No `exp`.
    NoExp,
    /// `exp` is past.
    Expired,
    /// No `jti`.
    NoJti,
    /// The `jti` was seen before.
    Replayed,
}

impl Fault {
    /// The refusal's `error_description`.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::AlgNone => "the JWT is unsigned (alg none)",
            Fault::Untrusted => "the JWT's signature does not verify with a trusted key",
            Fault::Typ => "the JWT's typ is not the one required",
            Fault::Audience => "the JWT's aud is not this issuer",
            Fault::Subject => "the assertion's iss and sub must be the client_id",
            Fault::ClientId => "the JWT was issued for another client",
            Fault::NoExp => "the JWT has no exp",
            Fault::Expired => "the JWT is expired",
            Fault::NoJti => "the JWT has no jti",
            Fault::Replayed => "the JWT's jti was used before",
        }
    }
}

/// What an assertion must say.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// This AS's issuer: `aud` must name it.
    pub audience: &'a str,
    /// The required `typ` header, if any.
    pub typ: Option<&'a str>,
    /// `iss` and `sub` must both be this client (a client assertion).
    pub subject: Option<&'a str>,
    /// The `client_id` claim must be this client (an ID-JAG).
    pub client_id: Option<&'a str>,
    /// The AS's clock (seconds since the epoch).
    pub now: i64,
}

/// Verifies `jwt` against `key` and `expect`; a `jti` accepted is recorded in `seen`. `waived` lets a defective
/// AS skip one rule. The claims on success, else the first rule broken.
pub fn check(
    key: &EcKey,
    jwt: &str,
    expect: &Expect<'_>,
    seen: &mut HashSet<String>,
    waived: impl Fn(Fault) -> bool,
) -> Result<Value, Fault> {
    let header = unverified_header(jwt).ok_or(Fault::Untrusted)?;
    let refuse = |f: Fault| if waived(f) { Ok(()) } else { Err(f) };
    let (typ, claims) = if header.get("alg").and_then(Value::as_str) == Some("none") {
        refuse(Fault::AlgNone)?;
        let typ = header.get("typ").and_then(Value::as_str).map(str::to_owned);
        (typ, unverified_claims(jwt).ok_or(Fault::AlgNone)?)
    } else {
        match key.verify(jwt) {
            Ok(parts) => parts,
            Err(_) => {
                refuse(Fault::Untrusted)?;
                let typ = header.get("typ").and_then(Value::as_str).map(str::to_owned);
                (typ, unverified_claims(jwt).ok_or(Fault::Untrusted)?)
            }
        }
    };
    if let Some(want) = expect.typ {
        if typ.as_deref() != Some(want) {
            refuse(Fault::Typ)?;
        }
    }
    if !audience_names(claims.get("aud"), expect.audience) {
        refuse(Fault::Audience)?;
    }
    let text = |n: &str| claims.get(n).and_then(Value::as_str);
    if let Some(client) = expect.subject {
        if text("iss") != Some(client) || text("sub") != Some(client) {
            refuse(Fault::Subject)?;
        }
    }
    if let Some(client) = expect.client_id {
        if text("client_id") != Some(client) {
            refuse(Fault::ClientId)?;
        }
    }
    match claims.get("exp").and_then(Value::as_i64) {
        None => refuse(Fault::NoExp)?,
        Some(exp) if exp + LEEWAY <= expect.now => refuse(Fault::Expired)?,
        Some(_) => {}
    }
    match text("jti") {
        None => refuse(Fault::NoJti)?,
        Some(jti) if !seen.insert(jti.to_owned()) => refuse(Fault::Replayed)?,
        Some(_) => {}
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AS: &str = "http://as.test";

    fn expect(now: i64) -> Expect<'static> {
        Expect {
            audience: AS,
            typ: None,
            subject: None,
            client_id: None,
            now,
        }
    }

    fn claims() -> Value {
        json!({"iss": "w", "sub": "w", "aud": AS, "exp": 2000, "jti": "j1"})
    }

    #[test]
    fn a_generated_key_signs_what_it_verifies_and_nothing_else() {
        let key = EcKey::generate();
        let jwt = key.sign("JWT", &json!({"sub": "w"}));
        assert_eq!(key.verify(&jwt).unwrap().1["sub"], "w");
        assert!(EcKey::generate().verify(&jwt).is_err());
    }

    #[test]
    fn the_fixed_keys_are_three_distinct_valid_keys() {
        let keys = [Party::Workload, Party::EnterpriseIdp, Party::Client].map(EcKey::fixed);
        assert_ne!(keys[0], keys[1]);
        assert_ne!(keys[1], keys[2]);
        let jwt = keys[2].sign("JWT", &claims());
        assert!(keys[2].verify(&jwt).is_ok());
        assert_eq!(EcKey::fixed(Party::Client), keys[2]);
    }

    #[test]
    fn the_pem_is_pkcs8_and_the_debug_form_hides_the_key() {
        let key = EcKey::generate();
        assert!(key
            .private_key_pem()
            .starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(format!("{key:?}"), "EcKey([redacted])");
    }

    #[test]
    fn an_audience_names_the_issuer_with_or_without_a_trailing_slash() {
        assert!(audience_names(Some(&json!("http://a/")), "http://a"));
        assert!(audience_names(Some(&json!(["x", "http://a"])), "http://a"));
        assert!(!audience_names(Some(&json!("http://a/token")), "http://a"));
        assert!(!audience_names(None, "http://a"));
    }

    #[test]
    fn a_valid_assertion_passes_once_and_its_replay_is_refused() {
        let key = EcKey::generate();
        let jwt = key.sign("JWT", &claims());
        let mut seen = HashSet::new();
        assert!(check(&key, &jwt, &expect(1000), &mut seen, |_| false).is_ok());
        assert_eq!(
            check(&key, &jwt, &expect(1000), &mut seen, |_| false),
            Err(Fault::Replayed)
        );
    }

    #[test]
    fn each_broken_rule_is_its_own_fault() {
        let key = EcKey::generate();
        let with = |k: &str, v: Value| {
            let mut c = claims();
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v;
            }
            c
        };
        let cases = [
            (unsigned("JWT", &claims()), Fault::AlgNone),
            (EcKey::generate().sign("JWT", &claims()), Fault::Untrusted),
            (
                key.sign("JWT", &with("aud", json!("http://other"))),
                Fault::Audience,
            ),
            (key.sign("JWT", &with("exp", Value::Null)), Fault::NoExp),
            (key.sign("JWT", &with("exp", json!(10))), Fault::Expired),
            (key.sign("JWT", &with("jti", Value::Null)), Fault::NoJti),
        ];
        for (jwt, fault) in cases {
            let r = check(&key, &jwt, &expect(1000), &mut HashSet::new(), |_| false);
            assert_eq!(r, Err(fault));
        }
        let strict = Expect {
            typ: Some(ID_JAG_TYP),
            subject: Some("w"),
            client_id: Some("c"),
            ..expect(1000)
        };
        let jag = key.sign(ID_JAG_TYP, &with("client_id", json!("c")));
        assert!(check(&key, &jag, &strict, &mut HashSet::new(), |_| false).is_ok());
        let wrong_typ = key.sign("JWT", &with("client_id", json!("c")));
        let other = key.sign(ID_JAG_TYP, &with("client_id", json!("d")));
        let not_sub = key.sign(ID_JAG_TYP, &with("sub", json!("x")));
        for (jwt, fault) in [
            (wrong_typ, Fault::Typ),
            (other, Fault::ClientId),
            (not_sub, Fault::Subject),
        ] {
            assert_eq!(
                check(&key, &jwt, &strict, &mut HashSet::new(), |_| false),
                Err(fault)
            );
        }
    }

    #[test]
    fn a_waived_fault_is_accepted_and_only_that_one() {
        let key = EcKey::generate();
        let untrusted = EcKey::generate().sign("JWT", &claims());
        let waive = |f: Fault| f == Fault::Untrusted;
        assert!(check(&key, &untrusted, &expect(1000), &mut HashSet::new(), waive).is_ok());
        let none = unsigned("JWT", &claims());
        assert_eq!(
            check(&key, &none, &expect(1000), &mut HashSet::new(), waive),
            Err(Fault::AlgNone)
        );
        let waive_none = |f: Fault| f == Fault::AlgNone;
        assert!(check(&key, &none, &expect(1000), &mut HashSet::new(), waive_none).is_ok());
    }
}
