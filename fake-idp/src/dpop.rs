//! DPoP (RFC 9449): proof keys, proofs and their validation, in one place for every party that makes or
//! checks a proof (the reference AS and client world, the reference client and server, the suite's forge).
//!
//! Proofs are ES256 (P-256) by default, signed with `ring` (already in the tree through rustls); RS256 proofs
//! are verified too. The compact JWS is assembled by [`crate::jws`].

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{
    self, EcdsaKeyPair, KeyPair as _, RsaPublicKeyComponents, UnparsedPublicKey,
};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use crate::jws;

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const PROOF_TYP: &str = "dpop+jwt";
/// The algorithms this module verifies, for `dpop_signing_alg_values_supported` and `algs=`.
pub const SUPPORTED_ALGS: &[&str] = &["ES256", "RS256"];
/// How old (or how far in the future) a proof's `iat` may be, in seconds.
pub const MAX_PROOF_AGE_SECS: i64 = 300;

/// An ES256 proof key pair (cheap to clone). A fresh one per client session: [`DpopKey::generate`].
#[derive(Clone)]
pub struct DpopKey {
    pair: Arc<EcdsaKeyPair>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("jkt", &self.thumbprint())
            .field("private", &"[redacted]")
            .finish()
    }
}

impl DpopKey {
    /// A fresh P-256 key pair from the system RNG.
    pub fn generate() -> DpopKey {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("system RNG works");
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("fresh key parses");
        DpopKey {
            pair: Arc::new(pair),
        }
    }

    /// The public key as a JWK: `{"kty":"EC","crv":"P-256","x","y"}` (no private member).
    pub fn public_jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        // Uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": jws::b64(&point[1..33]),
            "y": jws::b64(&point[33..65]),
        })
    }

    /// The RFC 7638 JWK SHA-256 thumbprint of the public key: the `jkt` a bound token carries in `cnf`.
    pub fn thumbprint(&self) -> String {
        match self.public_jwk() {
            Value::Object(jwk) => jwk_thumbprint(&jwk).expect("an EC JWK has a thumbprint"),
            _ => unreachable!("public_jwk is an object"),
        }
    }

    /// `header.claims.signature`, ES256-signed; the header gets `alg` = ES256 unless it names one.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let mut header = header.clone();
        if let Value::Object(h) = &mut header {
            h.entry("alg").or_insert_with(|| json!("ES256"));
        }
        let input = format!("{}.{}", jws::segment(&header), jws::segment(claims));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("ES256 signing works");
        format!("{input}.{}", jws::b64(sig.as_ref()))
    }

    /// An honest proof for `htm` `htu` at time `iat`, with `ath` of `access_token` and `nonce` when given and a
    /// fresh random `jti`.
    pub fn proof(&self, req: &ProofRequest<'_>) -> String {
        self.sign(&self.proof_header(), &req.claims())
    }

    /// The honest header: `typ` dpop+jwt, `alg` ES256, `jwk` the public key.
    pub fn proof_header(&self) -> Value {
        json!({ "typ": PROOF_TYP, "alg": "ES256", "jwk": self.public_jwk() })
    }
}

/// What one proof is for.
#[derive(Debug, Clone, Default)]
pub struct ProofRequest<'a> {
    /// `htm`: the HTTP method.
    pub htm: &'a str,
    /// `htu`: the target URI (query and fragment are dropped).
    pub htu: &'a str,
    /// `iat`, seconds since the epoch.
    pub iat: i64,
    /// The access token the proof goes with (its hash becomes `ath`).
    pub access_token: Option<&'a str>,
    /// A server-provided nonce.
    pub nonce: Option<&'a str>,
}

impl ProofRequest<'_> {
    /// The honest claims of this proof, with a fresh random `jti`.
    pub fn claims(&self) -> Value {
        let mut claims = json!({
            "jti": new_jti(),
            "htm": self.htm,
            "htu": strip_query(self.htu),
            "iat": self.iat,
        });
        if let Some(token) = self.access_token {
            claims["ath"] = json!(ath(token));
        }
        if let Some(nonce) = self.nonce {
            claims["nonce"] = json!(nonce);
        }
        claims
    }
}

/// A proof with `alg: none` and an empty signature (a forgery an AS must refuse, RFC 9449 §4.3 item 5).
pub fn unsigned_proof(header: &Value, claims: &Value) -> String {
    let mut header = header.clone();
    header["alg"] = json!("none");
    format!("{}.{}.", jws::segment(&header), jws::segment(claims))
}

/// A proof with `alg: HS256`, MACed with `secret` (a symmetric algorithm an AS must refuse, RFC 9449 §4.2).
pub fn hs256_proof(secret: &[u8], header: &Value, claims: &Value) -> String {
    let mut header = header.clone();
    header["alg"] = json!("HS256");
    let input = format!("{}.{}", jws::segment(&header), jws::segment(claims));
    let tag = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret),
        input.as_bytes(),
    );
    format!("{input}.{}", jws::b64(tag.as_ref()))
}

/// The single `DPoP` header of a request: `Ok(None)` without one, `Err` for several (RFC 9449 §4.3 item 1).
pub fn request_proof(headers: &axum::http::HeaderMap) -> Result<Option<&str>, ProofError> {
    let mut all = headers.get_all("dpop").iter();
    match (all.next(), all.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => v.to_str().map(Some).map_err(|_| ProofError::Malformed),
        (Some(_), Some(_)) => Err(ProofError::Missing),
    }
}

/// Seconds since the epoch: proofs carry the client's wall-clock `iat`, whatever clock a verifier was given.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// 128 random bits, base64url.
pub fn new_jti() -> String {
    jws::b64(&rand::random::<[u8; 16]>())
}

/// A random server nonce (base64url, 128 bits).
pub fn new_nonce() -> String {
    new_jti()
}

/// `ath`: base64url(SHA-256(access token)) (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    jws::b64(&Sha256::digest(access_token.as_bytes()))
}

/// The RFC 7638 thumbprint of an EC or RSA public JWK; `None` for other key types or missing members.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    // The required members in lexicographic order, no whitespace (RFC 7638 §3.2).
    let canonical = match member("kty")? {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member("crv")?,
            member("x")?,
            member("y")?
        ),
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            member("e")?,
            member("n")?
        ),
        _ => return None,
    };
    Some(jws::b64(&Sha256::digest(canonical.as_bytes())))
}

fn strip_query(uri: &str) -> &str {
    let end = uri.find(['?', '#']).unwrap_or(uri.len());
    &uri[..end]
}

/// `htu` comparison (RFC 9449 §4.3 item 9): query and fragment ignored, scheme and host case-insensitive, the
/// default port implied.
pub fn same_htu(claimed: &str, actual: &str) -> bool {
    let parse = |s: &str| url::Url::parse(strip_query(s)).ok();
    match (parse(claimed), parse(actual)) {
        (Some(a), Some(b)) => {
            a.scheme() == b.scheme()
                && a.host_str() == b.host_str()
                && a.port_or_known_default() == b.port_or_known_default()
                && a.path() == b.path()
        }
        _ => false,
    }
}

/// Why a proof was refused. The message is safe for a challenge's `error_description` (no quotes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("DPoP proof header is missing or repeated")]
    Missing,
    #[error("DPoP proof is not a well-formed JWT")]
    Malformed,
    #[error("DPoP proof typ is not dpop+jwt")]
    Type,
    #[error("DPoP proof alg is not an accepted asymmetric algorithm")]
    Algorithm,
    #[error("DPoP proof jwk is missing or not a public key")]
    Key,
    #[error("DPoP proof signature is invalid")]
    Signature,
    #[error("DPoP proof is missing a required claim")]
    MissingClaim,
    #[error("DPoP proof htm does not match the request method")]
    Method,
    #[error("DPoP proof htu does not match the request URI")]
    Uri,
    #[error("DPoP proof iat is outside the acceptable window")]
    Stale,
    #[error("DPoP proof ath does not match the access token")]
    Ath,
    #[error("DPoP proof key does not match the token binding")]
    KeyBinding,
    #[error("DPoP proof jti was already used")]
    Replay,
    #[error("DPoP proof nonce is missing or not current")]
    Nonce,
}

/// What the verifier expects of one proof.
#[derive(Debug, Clone, Default)]
pub struct Expect<'a> {
    /// The request's method.
    pub htm: &'a str,
    /// The request's URI.
    pub htu: &'a str,
    /// The verifier's time.
    pub now: i64,
    /// The access token presented with the proof (a resource request): `ath` must be its hash.
    pub access_token: Option<&'a str>,
    /// The nonce the proof must carry, when the server demands one.
    pub nonce: Option<&'a str>,
    /// The `cnf.jkt` of the token: the proof's key must have this thumbprint.
    pub jkt: Option<&'a str>,
}

/// Which checks a verifier skips: each switch is one reference defect's hole (all off: RFC 9449 §4.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leniency {
    pub signature: bool,
    pub method: bool,
    pub uri: bool,
    pub iat: bool,
    pub ath: bool,
    pub key_binding: bool,
    /// Accept `alg: none` and symmetric algorithms (their signature is not checked).
    pub algorithm: bool,
    /// Accept a `jwk` that carries private members.
    pub private_key: bool,
}

/// A proof that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The thumbprint of the proof's key.
    pub jkt: String,
    /// The proof's `jti` (for a replay cache).
    pub jti: String,
    /// The proof's `nonce`, if any.
    pub nonce: Option<String>,
}

/// Checks `proof` per RFC 9449 §4.3 (replay is the caller's: [`ReplayCache`]); the nonce is checked last, so a
/// nonce-demanding server learns that everything else was right.
pub fn verify(proof: &str, expect: &Expect<'_>, lenient: Leniency) -> Result<Verified, ProofError> {
    let decoded = jws::decode(proof).ok_or(ProofError::Malformed)?;
    let header = &decoded.header;
    if header.get("typ").and_then(Value::as_str) != Some(PROOF_TYP) {
        return Err(ProofError::Type);
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let weak_accepted = lenient.algorithm && !SUPPORTED_ALGS.contains(&alg);
    if !SUPPORTED_ALGS.contains(&alg) && !weak_accepted {
        return Err(ProofError::Algorithm);
    }
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(ProofError::Key)?;
    if !lenient.private_key
        && ["d", "p", "q", "dp", "dq", "qi", "k"]
            .iter()
            .any(|m| jwk.contains_key(*m))
    {
        return Err(ProofError::Key);
    }
    let jkt = jwk_thumbprint(jwk).ok_or(ProofError::Key)?;
    if !lenient.signature && !weak_accepted && !signature_valid(alg, jwk, &decoded)? {
        return Err(ProofError::Signature);
    }
    let claims = &decoded.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let (Some(jti), Some(htm), Some(htu), Some(iat)) = (
        text("jti").filter(|j| !j.is_empty()),
        text("htm"),
        text("htu"),
        claims.get("iat").and_then(Value::as_i64),
    ) else {
        return Err(ProofError::MissingClaim);
    };
    if !lenient.method && htm != expect.htm {
        return Err(ProofError::Method);
    }
    if !lenient.uri && !same_htu(htu, expect.htu) {
        return Err(ProofError::Uri);
    }
    if !lenient.iat && (expect.now - iat).abs() > MAX_PROOF_AGE_SECS {
        return Err(ProofError::Stale);
    }
    if let Some(token) = expect.access_token {
        if !lenient.ath && text("ath") != Some(ath(token).as_str()) {
            return Err(ProofError::Ath);
        }
    }
    if let Some(bound) = expect.jkt {
        if !lenient.key_binding && bound != jkt {
            return Err(ProofError::KeyBinding);
        }
    }
    if let Some(nonce) = expect.nonce {
        if text("nonce") != Some(nonce) {
            return Err(ProofError::Nonce);
        }
    }
    Ok(Verified {
        jkt,
        jti: jti.to_owned(),
        nonce: text("nonce").map(str::to_owned),
    })
}

fn signature_valid(
    alg: &str,
    jwk: &Map<String, Value>,
    decoded: &jws::Decoded,
) -> Result<bool, ProofError> {
    let bytes = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .ok_or(ProofError::Key)
    };
    let input = decoded.signing_input.as_bytes();
    let kty = jwk.get("kty").and_then(Value::as_str);
    Ok(match (alg, kty) {
        ("ES256", Some("EC")) => {
            if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                return Err(ProofError::Key);
            }
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(ProofError::Key);
            }
            let point = [&[4u8][..], &x, &y].concat();
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(input, &decoded.signature)
                .is_ok()
        }
        ("RS256", Some("RSA")) => RsaPublicKeyComponents {
            n: bytes("n")?,
            e: bytes("e")?,
        }
        .verify(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            input,
            &decoded.signature,
        )
        .is_ok(),
        _ => return Err(ProofError::Key),
    })
}

/// The `jti`s a verifier has accepted, newest `capacity` kept (a proof is only good for
/// [`MAX_PROOF_AGE_SECS`], so a bounded window suffices for a test run).
#[derive(Debug)]
pub struct ReplayCache {
    inner: Mutex<(HashSet<String>, VecDeque<String>)>,
    capacity: usize,
}

impl Default for ReplayCache {
    fn default() -> ReplayCache {
        ReplayCache::new(4096)
    }
}

impl ReplayCache {
    /// A cache remembering the last `capacity` `jti`s.
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            inner: Mutex::new((HashSet::new(), VecDeque::new())),
            capacity,
        }
    }

    /// Records `jti`; `false` when it was already seen (a replay).
    pub fn first_use(&self, jti: &str) -> bool {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (seen, order) = &mut *guard;
        if !seen.insert(jti.to_owned()) {
            return false;
        }
        order.push_back(jti.to_owned());
        if order.len() > self.capacity {
            if let Some(old) = order.pop_front() {
                seen.remove(&old);
            }
        }
        true
    }
}

/// The parts of a proof a log or report may show: header `typ`/`alg`, the claims' `htm`, `htu`, `iat`, whether
/// `ath`/`nonce` are present, the `jti` and key thumbprint cut short. `None` when it is not a JWS.
pub fn summary(proof: &str) -> Option<ProofSummary> {
    let d = jws::decode(proof)?;
    let s = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(ProofSummary {
        typ: s(&d.header, "typ"),
        alg: s(&d.header, "alg"),
        jwk_private: d
            .header
            .get("jwk")
            .and_then(Value::as_object)
            .is_some_and(|j| j.contains_key("d")),
        jkt: d
            .header
            .get("jwk")
            .and_then(Value::as_object)
            .and_then(jwk_thumbprint),
        htm: s(&d.claims, "htm"),
        htu: s(&d.claims, "htu"),
        iat: d.claims.get("iat").and_then(Value::as_i64),
        jti: s(&d.claims, "jti"),
        ath: s(&d.claims, "ath"),
        nonce: s(&d.claims, "nonce"),
    })
}

/// The decoded, unverified content of a proof (see [`summary`]); a proof carries no secret, but the suite still
/// bounds what it records of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProofSummary {
    pub typ: Option<String>,
    pub alg: Option<String>,
    pub jwk_private: bool,
    pub jkt: Option<String>,
    pub htm: Option<String>,
    pub htu: Option<String>,
    pub iat: Option<i64>,
    pub jti: Option<String>,
    pub ath: Option<String>,
    pub nonce: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const URI: &str = "http://127.0.0.1:9400/token";

    fn honest(key: &DpopKey, now: i64) -> String {
        key.proof(&ProofRequest {
            htm: "POST",
            htu: URI,
            iat: now,
            ..ProofRequest::default()
        })
    }

    fn expect(now: i64) -> Expect<'static> {
        Expect {
            htm: "POST",
            htu: URI,
            now,
            ..Expect::default()
        }
    }

    #[test]
    fn an_honest_proof_verifies_and_names_its_key() {
        let key = DpopKey::generate();
        let v = verify(&honest(&key, 1000), &expect(1000), Leniency::default()).unwrap();
        assert_eq!(v.jkt, key.thumbprint());
    }

    #[test]
    fn the_thumbprint_matches_the_rfc_7638_example() {
        // RFC 7638 §3.1.
        let jwk = json!({"kty":"RSA","e":"AQAB","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            jwk_thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_proof_signed_by_another_key_is_refused() {
        let (key, other) = (DpopKey::generate(), DpopKey::generate());
        let proof = other.sign(
            &key.proof_header(),
            &json!({"jti":"a","htm":"POST","htu":URI,"iat":1000}),
        );
        assert_eq!(
            verify(&proof, &expect(1000), Leniency::default()),
            Err(ProofError::Signature)
        );
    }

    #[test]
    fn method_uri_and_age_are_each_checked() {
        let key = DpopKey::generate();
        let proof = honest(&key, 1000);
        let e = |htm, htu, now| Expect {
            htm,
            htu,
            now,
            ..Expect::default()
        };
        assert_eq!(
            verify(&proof, &e("GET", URI, 1000), Leniency::default()),
            Err(ProofError::Method)
        );
        assert_eq!(
            verify(
                &proof,
                &e("POST", "http://127.0.0.1:9400/other", 1000),
                Leniency::default()
            ),
            Err(ProofError::Uri)
        );
        assert_eq!(
            verify(&proof, &e("POST", URI, 1000 + 301), Leniency::default()),
            Err(ProofError::Stale)
        );
        assert!(verify(
            &proof,
            &e("POST", "HTTP://127.0.0.1:9400/token?x=1", 1000),
            Leniency::default()
        )
        .is_ok());
    }

    #[test]
    fn ath_binding_and_nonce_are_checked_when_expected() {
        let key = DpopKey::generate();
        let proof = key.proof(&ProofRequest {
            htm: "POST",
            htu: URI,
            iat: 1000,
            access_token: Some("tok"),
            nonce: Some("n1"),
        });
        let jkt = key.thumbprint();
        let ok = Expect {
            access_token: Some("tok"),
            nonce: Some("n1"),
            jkt: Some(&jkt),
            ..expect(1000)
        };
        assert!(verify(&proof, &ok, Leniency::default()).is_ok());
        let bad = |e: Expect<'_>| verify(&proof, &e, Leniency::default()).unwrap_err();
        assert_eq!(
            bad(Expect {
                access_token: Some("other"),
                ..ok.clone()
            }),
            ProofError::Ath
        );
        assert_eq!(
            bad(Expect {
                jkt: Some("nope"),
                ..ok.clone()
            }),
            ProofError::KeyBinding
        );
        assert_eq!(
            bad(Expect {
                nonce: Some("n2"),
                ..ok.clone()
            }),
            ProofError::Nonce
        );
    }

    #[test]
    fn a_private_key_in_the_header_is_refused() {
        let key = DpopKey::generate();
        let mut header = key.proof_header();
        header["jwk"]["d"] = json!("secret");
        let proof = key.sign(
            &header,
            &json!({"jti":"a","htm":"POST","htu":URI,"iat":1000}),
        );
        assert_eq!(
            verify(&proof, &expect(1000), Leniency::default()),
            Err(ProofError::Key)
        );
    }

    #[test]
    fn alg_none_and_hs256_proofs_are_refused_unless_lenient() {
        let key = DpopKey::generate();
        let claims = json!({"jti":"a","htm":"POST","htu":URI,"iat":1000});
        let lenient = Leniency {
            algorithm: true,
            ..Leniency::default()
        };
        for proof in [
            unsigned_proof(&key.proof_header(), &claims),
            hs256_proof(b"shared", &key.proof_header(), &claims),
        ] {
            assert_eq!(
                verify(&proof, &expect(1000), Leniency::default()),
                Err(ProofError::Algorithm)
            );
            assert_eq!(
                verify(&proof, &expect(1000), lenient).map(|v| v.jkt),
                Ok(key.thumbprint())
            );
        }
    }

    #[test]
    fn a_proof_without_the_dpop_typ_is_refused() {
        let key = DpopKey::generate();
        let header = json!({"typ":"JWT","jwk":key.public_jwk()});
        let proof = key.sign(
            &header,
            &json!({"jti":"a","htm":"POST","htu":URI,"iat":1000}),
        );
        assert_eq!(
            verify(&proof, &expect(1000), Leniency::default()),
            Err(ProofError::Type)
        );
    }

    #[test]
    fn the_replay_cache_refuses_a_second_use_and_forgets_beyond_capacity() {
        let cache = ReplayCache::new(2);
        assert!(cache.first_use("a"));
        assert!(!cache.first_use("a"));
        assert!(cache.first_use("b"));
        assert!(cache.first_use("c"));
        assert!(cache.first_use("a"), "a fell out of the window");
    }

    #[test]
    fn each_honest_proof_has_a_fresh_jti() {
        let key = DpopKey::generate();
        let a = summary(&honest(&key, 1)).unwrap().jti;
        let b = summary(&honest(&key, 1)).unwrap().jti;
        assert_ne!(a, b);
    }
}
