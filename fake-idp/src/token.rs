//! Honest token minting: RFC 9068-style JWT access tokens signed RS256 by the AS key.

use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Map, Value};

use crate::clock::Clock;
use crate::jws;
use crate::keys::SigningKey;
use crate::persona::Persona;
use crate::users::User;

/// The `aud` claim of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// `"aud": "<value>"`.
    One(String),
    /// `"aud": [..]`.
    Many(Vec<String>),
    /// No `aud` claim at all.
    Absent,
}

impl Audience {
    /// The claim value, `None` when absent.
    pub fn to_claim(&self) -> Option<Value> {
        match self {
            Audience::One(a) => Some(Value::String(a.clone())),
            Audience::Many(list) => Some(json!(list)),
            Audience::Absent => None,
        }
    }
}

/// What a token says about whom, for which resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    /// `sub`.
    pub sub: String,
    /// `roles`.
    pub roles: Vec<String>,
    /// `permissions`.
    pub permissions: Vec<String>,
    /// `aud`.
    pub audience: Audience,
    /// `scope` (space separated); omitted when `None`.
    pub scope: Option<String>,
    /// `client_id`.
    pub client_id: String,
    /// `exp - iat`, default 3600.
    pub lifetime_secs: i64,
}

impl TokenSpec {
    /// A token for `user` at `audience`: scope = the user's permissions, roles = `[user.role]`.
    pub fn for_user(
        user: &User,
        audience: impl Into<String>,
        client_id: impl Into<String>,
    ) -> TokenSpec {
        TokenSpec {
            sub: user.sub.clone(),
            roles: vec![user.role.clone()],
            permissions: user.permissions.clone(),
            audience: Audience::One(audience.into()),
            scope: Some(user.permissions.join(" ")),
            client_id: client_id.into(),
            lifetime_secs: 3600,
        }
    }
}

/// The base64url alphabet (RFC 4648 §5).
pub(crate) const B64URL_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Mints access tokens for one issuer with one key (cheap to clone).
#[derive(Clone, Debug)]
pub struct Minter {
    issuer: String,
    key: SigningKey,
    clock: Arc<dyn Clock>,
    rng: Arc<Mutex<StdRng>>,
    persona: Persona,
}

impl Minter {
    /// A minter for `issuer`, signing with `key`; `jti`s come from an RNG seeded with `seed`.
    pub fn new(
        issuer: impl Into<String>,
        key: SigningKey,
        clock: Arc<dyn Clock>,
        seed: u64,
    ) -> Minter {
        Minter {
            issuer: issuer.into(),
            key,
            clock,
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
            persona: Persona::Generic,
        }
    }

    /// The same minter shaping its claims as `persona` (the issuer stays as given).
    pub fn with_persona(mut self, persona: Persona) -> Minter {
        self.persona = persona;
        self
    }

    /// The same minter (key, clock, RNG) issuing as `issuer`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Minter {
        self.issuer = issuer.into();
        self
    }

    /// The persona whose claim shape every token takes.
    pub fn persona(&self) -> &Persona {
        &self.persona
    }

    /// The `aud` claim for `audience` in the persona's form (`None`: no claim).
    pub fn audience_claim(&self, audience: &Audience) -> Option<Value> {
        self.persona.audience_claim(audience)
    }

    /// The `iss` of every token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The injected clock's time.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Exactly `len` random base64url characters (from the seeded RNG): each random byte
    /// picks one character.
    pub(crate) fn random_chars(&self, len: usize) -> String {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        (0..len)
            .map(|_| char::from(B64URL_ALPHABET[usize::from(rng.gen::<u8>()) % 64]))
            .collect()
    }

    /// `n` random bytes, base64url (from the seeded RNG).
    pub fn random_token(&self, n: usize) -> String {
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = (0..n).map(|_| rng.gen()).collect();
        jws::b64(&bytes)
    }

    /// The claims set: `iss sub aud exp iat nbf jti`, then the persona's own claims (generic: `client_id scope
    /// roles permissions`; see [`Persona`]). The `aud` takes the persona's form.
    pub fn claims(&self, spec: &TokenSpec) -> Map<String, Value> {
        let now = self.now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(spec.sub));
        if let Some(aud) = self.audience_claim(&spec.audience) {
            claims.insert("aud".into(), aud);
        }
        claims.insert("exp".into(), json!(now + spec.lifetime_secs));
        claims.insert("iat".into(), json!(now));
        claims.insert("nbf".into(), json!(now));
        claims.insert("jti".into(), json!(self.random_token(16)));
        let sid = match self.persona {
            Persona::Generic => String::new(),
            _ => self.random_token(9),
        };
        self.persona.shape_claims(&mut claims, spec, &sid);
        claims
    }

    /// The protected header of an access token: `{"alg":"RS256","typ":"at+jwt","kid":..}`.
    pub fn header(&self) -> Map<String, Value> {
        let mut header = Map::new();
        header.insert("alg".into(), json!("RS256"));
        header.insert("typ".into(), json!("at+jwt"));
        header.insert("kid".into(), json!(self.key.kid()));
        header
    }

    /// An honest RS256 access token.
    pub fn mint(&self, spec: &TokenSpec) -> String {
        jws::sign_compact(
            &Value::Object(self.header()),
            &Value::Object(self.claims(spec)),
            &self.key,
        )
    }

    /// An honest access token bound to a DPoP key: `cnf.jkt` = `jkt`, the key's RFC 7638 thumbprint (RFC 9449 §6.1).
    pub fn mint_bound(&self, spec: &TokenSpec, jkt: &str) -> String {
        let mut claims = self.claims(spec);
        claims.insert("cnf".into(), json!({ "jkt": jkt }));
        jws::sign_compact(
            &Value::Object(self.header()),
            &Value::Object(claims),
            &self.key,
        )
    }

    /// An OpenID Connect ID token (header `typ: JWT`, `aud` = the client): what a resource
    /// server must not accept as an access token.
    pub fn mint_id_token(&self, sub: &str, client_id: &str, nonce: Option<&str>) -> String {
        let now = self.now();
        let mut claims = json!({
            "iss": self.issuer, "sub": sub, "aud": client_id,
            "exp": now + 3600, "iat": now, "auth_time": now,
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = json!(nonce);
        }
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.key.kid()});
        jws::sign_compact(&header, &claims, &self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::users::Users;

    fn minter() -> Minter {
        Minter::new(
            "http://127.0.0.1:1",
            SigningKey::as_signing_key(),
            Arc::new(FixedClock(1_000_000)),
            7,
        )
    }

    #[test]
    fn for_user_takes_scope_and_roles_from_the_user() {
        let users = Users::fixture();
        let spec = TokenSpec::for_user(users.get("bob").unwrap(), "https://rs/mcp", "client");
        assert_eq!(spec.scope.as_deref(), Some("todo:read"));
        assert_eq!(spec.roles, ["read_only"]);
        assert_eq!(spec.audience, Audience::One("https://rs/mcp".into()));
        assert_eq!(spec.lifetime_secs, 3600);
    }

    #[test]
    fn claims_use_the_injected_clock() {
        let users = Users::fixture();
        let spec = TokenSpec::for_user(users.get("alice").unwrap(), "https://rs/mcp", "c");
        let claims = minter().claims(&spec);
        assert_eq!(claims["iat"], 1_000_000);
        assert_eq!(claims["nbf"], 1_000_000);
        assert_eq!(claims["exp"], 1_003_600);
    }

    #[test]
    fn absent_audience_omits_the_claim() {
        let users = Users::fixture();
        let mut spec = TokenSpec::for_user(users.get("alice").unwrap(), "x", "c");
        spec.audience = Audience::Absent;
        assert!(!minter().claims(&spec).contains_key("aud"));
    }

    #[test]
    fn jti_differs_between_tokens() {
        let users = Users::fixture();
        let spec = TokenSpec::for_user(users.get("alice").unwrap(), "x", "c");
        let m = minter();
        assert_ne!(m.claims(&spec)["jti"], m.claims(&spec)["jti"]);
    }

    #[test]
    fn a_bound_token_carries_the_key_thumbprint_in_cnf() {
        let users = Users::fixture();
        let spec = TokenSpec::for_user(users.get("alice").unwrap(), "x", "c");
        let token = minter().mint_bound(&spec, "thumb");
        assert_eq!(
            jws::decode(&token).unwrap().claims["cnf"],
            json!({"jkt": "thumb"})
        );
    }

    #[test]
    fn same_seed_gives_same_jti_sequence() {
        let users = Users::fixture();
        let spec = TokenSpec::for_user(users.get("alice").unwrap(), "x", "c");
        assert_eq!(minter().claims(&spec)["jti"], minter().claims(&spec)["jti"]);
    }
}
