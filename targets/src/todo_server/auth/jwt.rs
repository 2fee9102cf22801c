//! JWT access-token validation (RFC 9068 §4, RFC 8725) with `jsonwebtoken`.
//!
//! The token is split and its header parsed with the server's own types, so that defects can
//! look at values `jsonwebtoken` refuses to represent (`alg: none`). The signature is checked
//! with `jsonwebtoken::crypto::verify` using only keys from the issuer's JWKS, and the
//! registered claims (`iss`, `exp`, `nbf`) with `jsonwebtoken`'s `Validation`. `typ` and `aud`
//! are checked here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Validation};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::jwks::{parse_jwks, parse_rsa_jwk, JwksCache, RsaJwk};
use super::{audience_matches, Principal, TokenError, ValidationFailure};
use crate::todo_server::http::Http;
use crate::todo_server::{ServerDefect, Settings};

/// Leeway for `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 60;

/// The JOSE header members the server looks at.
#[derive(Debug, Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    jwk: Option<Value>,
    #[serde(default)]
    jku: Option<String>,
    #[serde(default)]
    x5u: Option<String>,
}

/// A compact JWS split into its parts; header and payload decoded.
#[derive(Debug)]
struct CompactJwt<'a> {
    signing_input: &'a str,
    payload_b64: &'a str,
    signature_b64: &'a str,
    header: JoseHeader,
}

impl<'a> CompactJwt<'a> {
    fn parse(token: &'a str) -> Option<CompactJwt<'a>> {
        let mut parts = token.split('.');
        let (header_b64, payload_b64, signature_b64) =
            (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: JoseHeader =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
        // The payload must be a JSON object; its claims are read later by `jsonwebtoken`.
        serde_json::from_slice::<Map<String, Value>>(&URL_SAFE_NO_PAD.decode(payload_b64).ok()?)
            .ok()?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        Some(CompactJwt {
            signing_input,
            payload_b64,
            signature_b64,
            header,
        })
    }
}

/// Every scope of the server (what `machine-token-all-scopes` grants).
const ALL_SCOPES: &str = "todo:read todo:write";

/// A client-credentials token (extension client-credentials): no user, `sub` is the client itself. The server
/// treats it like any other token; only the `machine-token-*` defects single it out.
fn is_machine_token(claims: &Map<String, Value>) -> bool {
    claims
        .get("sub")
        .and_then(Value::as_str)
        .is_some_and(|sub| claims.get("client_id").and_then(Value::as_str) == Some(sub))
}

/// How the signature is to be checked.
enum Verification {
    /// Verify with one of these keys (any match suffices).
    Keys(Vec<DecodingKey>, Algorithm),
    /// A defect waives the signature.
    Waived,
}

/// Validates JWT access tokens of the trusted issuer.
#[derive(Debug)]
pub(crate) struct JwtValidator {
    jwks: JwksCache,
    http: Http,
}

impl JwtValidator {
    pub(crate) fn new(settings: &Settings, http: Http) -> JwtValidator {
        JwtValidator {
            jwks: JwksCache::new(settings.jwks_uri.clone(), http.clone()),
            http,
        }
    }

    pub(crate) async fn validate(
        &self,
        token: &str,
        settings: &Settings,
    ) -> Result<Principal, ValidationFailure> {
        let Some(jwt) = CompactJwt::parse(token) else {
            if settings.has(ServerDefect::AcceptMalformedToken) {
                return Ok(Principal::new(None, Some(crate::todo_server::SCOPE_READ)));
            }
            return Err(TokenError::Malformed.into());
        };
        let media_type_form = !settings.has(ServerDefect::StrictTypAtJwt);
        if !settings.has(ServerDefect::SkipTypCheck)
            && !typ_is_access_token(jwt.header.typ.as_deref(), media_type_form)
        {
            return Err(TokenError::Type.into());
        }
        match self.verification(&jwt, settings).await? {
            Verification::Waived => {}
            Verification::Keys(keys, alg) => {
                let ok = keys.iter().any(|key| {
                    jsonwebtoken::crypto::verify(
                        jwt.signature_b64,
                        jwt.signing_input.as_bytes(),
                        key,
                        alg,
                    )
                    .unwrap_or(false)
                });
                if !ok {
                    return Err(TokenError::Signature.into());
                }
            }
        }
        let claims = validate_claims(jwt.payload_b64, settings)?;
        let machine = is_machine_token(&claims);
        let audience_waived = settings.has(ServerDefect::SkipAudienceCheck)
            || (machine && settings.has(ServerDefect::MachineTokenSkipsAudience));
        if !audience_waived && !audience_matches(claims.get("aud"), settings) {
            return Err(TokenError::Audience.into());
        }
        let sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        let scope = if machine && settings.has(ServerDefect::MachineTokenAllScopes) {
            Some(ALL_SCOPES)
        } else {
            claims.get("scope").and_then(Value::as_str)
        };
        Ok(Principal::new(sub, scope).bound_by(claims.get("cnf")))
    }

    async fn verification(
        &self,
        jwt: &CompactJwt<'_>,
        settings: &Settings,
    ) -> Result<Verification, ValidationFailure> {
        let alg = jwt.header.alg.as_str();
        if settings.has(ServerDefect::AcceptAlgNone) && alg.eq_ignore_ascii_case("none") {
            return Ok(Verification::Waived);
        }
        if settings.has(ServerDefect::SkipSignatureCheck)
            && (alg == "RS256" || alg.starts_with("HS"))
        {
            return Ok(Verification::Waived);
        }
        if settings.has(ServerDefect::AcceptHs256WithPublicKey) && alg == "HS256" {
            let keys = self.jwks.all().await?;
            let secrets = keys
                .iter()
                .flat_map(public_key_secrets)
                .map(|s| DecodingKey::from_secret(&s));
            return Ok(Verification::Keys(secrets.collect(), Algorithm::HS256));
        }
        if alg != "RS256" {
            return Err(TokenError::Algorithm.into());
        }
        if settings.has(ServerDefect::TrustHeaderKeys) {
            if let Some(verification) = self.header_keys(jwt).await? {
                return Ok(verification);
            }
        }
        let kid = jwt.header.kid.as_deref().unwrap_or_default();
        match self.jwks.key(kid).await? {
            Some(jwk) => {
                let key = rsa_decoding_key(&jwk).ok_or(TokenError::UnknownKey)?;
                Ok(Verification::Keys(vec![key], Algorithm::RS256))
            }
            None if settings.has(ServerDefect::AcceptUnknownKid) => Ok(Verification::Waived),
            None => Err(TokenError::UnknownKey.into()),
        }
    }

    /// [`ServerDefect::TrustHeaderKeys`]: keys named by the token itself.
    async fn header_keys(
        &self,
        jwt: &CompactJwt<'_>,
    ) -> Result<Option<Verification>, ValidationFailure> {
        if let Some(jwk) = jwt.header.jwk.clone() {
            let key = parse_rsa_jwk(jwk)
                .as_ref()
                .and_then(rsa_decoding_key)
                .ok_or(TokenError::UnknownKey)?;
            return Ok(Some(Verification::Keys(vec![key], Algorithm::RS256)));
        }
        if let Some(jku) = &jwt.header.jku {
            let body = self
                .http
                .get(jku)
                .await
                .map_err(|_| TokenError::UnknownKey)?;
            let keys = parse_jwks(&body).map_err(|_| TokenError::UnknownKey)?;
            let kid = jwt.header.kid.as_deref();
            let chosen = keys
                .iter()
                .filter(|k| kid.is_none() || k.kid.as_deref() == kid);
            let keys: Vec<_> = chosen.filter_map(rsa_decoding_key).collect();
            return Ok(Some(Verification::Keys(keys, Algorithm::RS256)));
        }
        if let Some(x5u) = &jwt.header.x5u {
            // The fetch is the violation; the certificate itself cannot be used without an X.509
            // parser, so the token is refused afterwards.
            let _ = self.http.get(x5u).await;
            return Err(TokenError::UnknownKey.into());
        }
        Ok(None)
    }
}

/// RFC 9068 §4: `typ` must be `at+jwt` or `application/at+jwt`, case-insensitively (the `strict-typ-at-jwt`
/// defect turns the media-type form off).
fn typ_is_access_token(typ: Option<&str>, media_type_form: bool) -> bool {
    typ.is_some_and(|t| {
        t.eq_ignore_ascii_case("at+jwt")
            || (media_type_form && t.eq_ignore_ascii_case("application/at+jwt"))
    })
}

fn rsa_decoding_key(jwk: &RsaJwk) -> Option<DecodingKey> {
    DecodingKey::from_rsa_components(&jwk.n, &jwk.e).ok()
}

/// [`ServerDefect::AcceptHs256WithPublicKey`]: the byte strings a confused server might use as the HMAC
/// secret: SPKI PEM text (with and without the final newline), SPKI DER, and the JWK JSON.
fn public_key_secrets(jwk: &RsaJwk) -> Vec<Vec<u8>> {
    let mut secrets = Vec::new();
    let component = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .map(|b| rsa::BigUint::from_bytes_be(&b))
    };
    if let (Some(n), Some(e)) = (component(&jwk.n), component(&jwk.e)) {
        if let Ok(public) = rsa::RsaPublicKey::new(n, e) {
            if let Ok(pem) = public.to_public_key_pem(LineEnding::LF) {
                secrets.push(pem.trim_end().as_bytes().to_vec());
                secrets.push(pem.into_bytes());
            }
            if let Ok(der) = public.to_public_key_der() {
                secrets.push(der.as_bytes().to_vec());
            }
        }
    }
    if let Ok(json) = serde_json::to_string(&jwk.raw) {
        secrets.push(json.into_bytes());
    }
    secrets
}

/// Validates `iss`, `exp` and `nbf` with `jsonwebtoken` and returns the claims.
///
/// The signature has already been checked (or waived by a defect); the payload is re-wrapped in a
/// neutral header so that `jsonwebtoken` accepts any original `alg`.
fn validate_claims(
    payload_b64: &str,
    settings: &Settings,
) -> Result<Map<String, Value>, TokenError> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.insecure_disable_signature_validation();
    validation.validate_aud = false;
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = !settings.has(ServerDefect::SkipExpiryCheck);
    validation.validate_nbf = !settings.has(ServerDefect::SkipNbfCheck);
    let mut required = Vec::new();
    if validation.validate_exp {
        required.push("exp");
    }
    let check_issuer = !settings.has(ServerDefect::SkipIssuerCheck);
    if check_issuer {
        required.push("iss");
        validation.set_issuer(&[&settings.issuer]);
    }
    validation.set_required_spec_claims(&required);

    const NEUTRAL_HEADER: &str = "eyJhbGciOiJSUzI1NiJ9"; // {"alg":"RS256"}
    let rewrapped = format!("{NEUTRAL_HEADER}.{payload_b64}.");
    let data = jsonwebtoken::decode::<Map<String, Value>>(
        &rewrapped,
        &DecodingKey::from_secret(&[]),
        &validation,
    )
    .map_err(|err| match err.kind() {
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer => TokenError::Issuer,
        ErrorKind::MissingRequiredClaim(_) => TokenError::MissingClaim,
        _ => TokenError::Malformed,
    })?;
    // `iss` is a single StringOrURI (RFC 7519 §4.1.1); `jsonwebtoken` also accepts arrays.
    if check_issuer
        && data.claims.get("iss").and_then(Value::as_str) != Some(settings.issuer.as_str())
    {
        return Err(TokenError::Issuer);
    }
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_token_whose_sub_is_its_client_id_is_a_machine_token() {
        let claims = |v: serde_json::Value| v.as_object().cloned().unwrap();
        assert!(is_machine_token(&claims(
            serde_json::json!({"sub": "svc", "client_id": "svc"})
        )));
        assert!(!is_machine_token(&claims(
            serde_json::json!({"sub": "alice", "client_id": "svc"})
        )));
        assert!(!is_machine_token(&claims(
            serde_json::json!({"client_id": "svc"})
        )));
    }

    #[test]
    fn typ_accepts_both_rfc9068_forms_in_any_case() {
        assert!(typ_is_access_token(Some("at+jwt"), true));
        assert!(typ_is_access_token(Some("Application/AT+JWT"), true));
        assert!(!typ_is_access_token(Some("JWT"), true));
        assert!(!typ_is_access_token(None, true));
    }

    #[test]
    fn strict_typ_at_jwt_refuses_only_the_media_type_form() {
        assert!(typ_is_access_token(Some("AT+JWT"), false));
        assert!(!typ_is_access_token(Some("application/at+jwt"), false));
        assert!(!typ_is_access_token(Some("JWT"), false));
    }

    #[test]
    fn compact_parse_rejects_garbage() {
        for token in ["", "a", "a.b", "a.b.c.d", "!!.e30.x", "e30.bm90IGpzb24.x"] {
            assert!(CompactJwt::parse(token).is_none(), "{token}");
        }
    }

    #[test]
    fn generated_pem_matches_the_committed_fixture() {
        use rsa::pkcs8::DecodePublicKey;
        let fixture = include_str!("../../../../fixtures/keys/test-only-as-signing-key.pub.pem");
        let public = rsa::RsaPublicKey::from_public_key_pem(fixture).unwrap();
        use rsa::traits::PublicKeyParts;
        let jwk = RsaJwk {
            kid: None,
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            raw: Value::Null,
        };
        assert!(public_key_secrets(&jwk)
            .iter()
            .any(|s| s == fixture.as_bytes()));
    }
}

/// Property-based tests of the token split (docs/fuzzing.md).
#[cfg(test)]
mod fuzz {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use fuzzkit::{fuzz, hostile_json, hostile_string, object_text};
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::CompactJwt;

    fn segment() -> impl Strategy<Value = String> {
        let header = object_text(vec![
            (
                "alg",
                prop_oneof![
                    Just(json!("RS256")),
                    Just(json!("none")),
                    hostile_string().prop_map(Value::String)
                ]
                .boxed(),
            ),
            (
                "typ",
                prop_oneof![
                    Just(json!("at+jwt")),
                    hostile_string().prop_map(Value::String)
                ]
                .boxed(),
            ),
            ("kid", hostile_string().prop_map(Value::String).boxed()),
            ("jku", hostile_string().prop_map(Value::String).boxed()),
            ("jwk", hostile_json().boxed()),
        ]);
        prop_oneof![
            3 => header.prop_map(|h| URL_SAFE_NO_PAD.encode(h)),
            2 => hostile_json().prop_map(|v| URL_SAFE_NO_PAD.encode(v.to_string())),
            1 => (1..3_000usize).prop_map(|d| URL_SAFE_NO_PAD.encode(format!("{}{}", "[".repeat(d), "]".repeat(d)))),
            1 => hostile_string(),
        ]
    }

    #[test]
    fn fuzz_server_access_token_split_never_panics_and_keeps_the_signing_input() {
        fuzz(
            "todo server compact JWT",
            256,
            prop::collection::vec(segment(), 0..5),
            |segments| {
                let token = segments.join(".");
                Ok(match CompactJwt::parse(&token) {
                    Some(jwt) => {
                        prop_assert_eq!(segments.len(), 3);
                        prop_assert_eq!(
                            jwt.signing_input,
                            format!("{}.{}", segments[0], segments[1])
                        );
                        "split".into()
                    }
                    None => format!("refused ({} segments)", segments.len().min(4)),
                })
            },
        );
    }

    #[test]
    fn fuzz_server_access_token_well_formed_tokens_split() {
        let alg = prop::sample::select(vec!["RS256", "none", "HS256"]);
        fuzz(
            "todo server compact JWT benign",
            256,
            (alg, hostile_json(), hostile_string()),
            |(alg, claims, sig)| {
                let h = URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "at+jwt"}).to_string());
                let p = URL_SAFE_NO_PAD.encode(json!({"sub": claims}).to_string());
                let s = URL_SAFE_NO_PAD.encode(sig);
                let token = format!("{h}.{p}.{s}");
                let jwt =
                    CompactJwt::parse(&token).ok_or_else(|| TestCaseError::fail(token.clone()))?;
                prop_assert_eq!(jwt.header.alg.as_str(), alg);
                Ok("split".into())
            },
        );
    }
}
