//! The fixed, test-only RSA keys: the authorization server's signing key and the attacker's key.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::pkcs1v15;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

const AS_PRIVATE_PEM: &str = include_str!("../../fixtures/keys/test-only-as-signing-key.pem");
const AS_PUBLIC_PEM: &str = include_str!("../../fixtures/keys/test-only-as-signing-key.pub.pem");
const IDP_PRIVATE_PEM: &str = include_str!("../../fixtures/keys/test-only-idp-signing-key.pem");
const IDP_PUBLIC_PEM: &str = include_str!("../../fixtures/keys/test-only-idp-signing-key.pub.pem");
const ATTACKER_PRIVATE_PEM: &str = include_str!("../../fixtures/keys/test-only-attacker-key.pem");
const ATTACKER_PUBLIC_PEM: &str =
    include_str!("../../fixtures/keys/test-only-attacker-key.pub.pem");

/// The `kid` of the authorization server's key.
pub const AS_KID: &str = "conformance-as-key-1";
/// The `kid` of the upstream identity provider's key (the fake OpenID provider of `crate::idp`).
pub const IDP_KID: &str = "conformance-idp-key-1";
/// The `kid` of the attacker's key.
pub const ATTACKER_KID: &str = "attacker-key-1";

/// An RSA private key with its `kid` (cheap to clone).
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<Inner>,
}

struct Inner {
    kid: String,
    private: RsaPrivateKey,
    public: RsaPublicKey,
    public_pem: &'static str,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.inner.kid)
            .field("private", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    fn from_fixture(kid: &str, private_pem: &'static str, public_pem: &'static str) -> SigningKey {
        let private = RsaPrivateKey::from_pkcs8_pem(private_pem).expect("fixture key is PKCS#8");
        let public = RsaPublicKey::from(&private);
        debug_assert_eq!(
            RsaPublicKey::from_public_key_pem(public_pem).ok().as_ref(),
            Some(&public),
            "public PEM fixture matches its private key"
        );
        SigningKey {
            inner: Arc::new(Inner {
                kid: kid.to_owned(),
                private,
                public,
                public_pem,
            }),
        }
    }

    /// The authorization server's key, `kid` `conformance-as-key-1`.
    pub fn as_signing_key() -> SigningKey {
        SigningKey::from_fixture(AS_KID, AS_PRIVATE_PEM, AS_PUBLIC_PEM)
    }

    /// The upstream identity provider's ID-token key, `kid` `conformance-idp-key-1`.
    pub fn idp_signing_key() -> SigningKey {
        SigningKey::from_fixture(IDP_KID, IDP_PRIVATE_PEM, IDP_PUBLIC_PEM)
    }

    /// The attacker's key, `kid` `attacker-key-1` (never in the served JWKS).
    pub fn attacker_key() -> SigningKey {
        SigningKey::from_fixture(ATTACKER_KID, ATTACKER_PRIVATE_PEM, ATTACKER_PUBLIC_PEM)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The public key as a JWK: `{"kty":"RSA","kid","use":"sig","alg":"RS256","n","e"}`.
    pub fn public_jwk(&self) -> serde_json::Value {
        let public = &self.inner.public;
        serde_json::json!({
            "kty": "RSA",
            "kid": self.inner.kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        })
    }

    /// The public key as SPKI PEM text, byte for byte the committed `.pub.pem` fixture.
    pub fn public_pem(&self) -> &str {
        self.inner.public_pem
    }

    /// The public key as SPKI DER bytes.
    pub fn public_der(&self) -> Vec<u8> {
        self.inner
            .public
            .to_public_key_der()
            .expect("RSA public key encodes")
            .as_bytes()
            .to_vec()
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `signing_input`.
    pub fn sign_rs256(&self, signing_input: &[u8]) -> Vec<u8> {
        let signer = pkcs1v15::SigningKey::<Sha256>::new(self.inner.private.clone());
        signer.sign(signing_input).to_vec()
    }

    /// Whether `signature` is a valid RS256 signature of `signing_input` by this key.
    pub fn verify_rs256(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        let verifier = pkcs1v15::VerifyingKey::<Sha256>::new(self.inner.public.clone());
        pkcs1v15::Signature::try_from(signature)
            .is_ok_and(|sig| verifier.verify(signing_input, &sig).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_public_pem_decodes_to_the_private_keys_public_half() {
        for key in [SigningKey::as_signing_key(), SigningKey::attacker_key()] {
            let from_pem = RsaPublicKey::from_public_key_pem(key.public_pem()).unwrap();
            assert_eq!(from_pem, key.inner.public);
            let from_der = RsaPublicKey::from_public_key_der(&key.public_der()).unwrap();
            assert_eq!(from_der, key.inner.public);
        }
    }

    #[test]
    fn public_jwk_has_the_expected_members() {
        let jwk = SigningKey::as_signing_key().public_jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["kid"], "conformance-as-key-1");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["e"], "AQAB");
        assert!(jwk["n"].as_str().unwrap().len() > 300);
    }

    #[test]
    fn rs256_signature_verifies_with_its_key_only() {
        let key = SigningKey::as_signing_key();
        let sig = key.sign_rs256(b"hello");
        assert!(key.verify_rs256(b"hello", &sig));
        assert!(!key.verify_rs256(b"hellO", &sig));
        assert!(!SigningKey::attacker_key().verify_rs256(b"hello", &sig));
    }

    #[test]
    fn attacker_key_has_its_own_kid() {
        assert_eq!(SigningKey::attacker_key().kid(), "attacker-key-1");
    }

    #[test]
    fn debug_redacts_the_private_key() {
        let text = format!("{:?}", SigningKey::as_signing_key());
        assert!(text.contains("[redacted]"));
    }
}
