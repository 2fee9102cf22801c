//! The machine grants of a client-world AS, for the MCP authorization extensions: `client_credentials` with
//! `client_secret_basic` or `private_key_jwt` (SEP-1046, RFC 7523 §2.2), the RFC 7523 `jwt-bearer` grant for
//! workload JWTs (WIF, SEP-1933) and for ID-JAGs (SEP-990), and the RFC 8693 token exchange an enterprise IdP
//! answers with an ID-JAG. Keys are ES256, generated per world ([`EcKey`]). Like the rest of the world, these
//! endpoints judge nothing: they answer as a strict AS would, and the log keeps what the client sent.

use std::collections::HashSet;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

use super::authz::Authz;
use super::{Incoming, Reply, WorldState};
use crate::server::scope_tokens;

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The JWT-bearer authorization grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The token exchange grant (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an Identity Assertion JWT Authorization Grant (SEP-990).
pub const ID_JAG_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The `typ` header of an ID-JAG.
pub const ID_JAG_TYP: &str = "oauth-id-jag+jwt";
/// The token type of an OpenID Connect ID token (RFC 8693 §3).
pub const ID_TOKEN_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// Seconds of clock skew tolerated on `exp`.
const LEEWAY: i64 = 5;

/// A test-only ES256 (P-256) key pair, generated per world. Prints as `[redacted]`.
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

impl EcKey {
    /// A fresh key pair.
    pub fn generate() -> EcKey {
        use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).expect("P-256 key generation");
        let pair =
            EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).expect("a generated key parses");
        // The uncompressed point: 0x04 || x || y.
        let point = pair.public_key().as_ref();
        EcKey {
            pkcs8: pkcs8.as_ref().to_vec(),
            x: URL_SAFE_NO_PAD.encode(&point[1..33]),
            y: URL_SAFE_NO_PAD.encode(&point[33..65]),
        }
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
        json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "x": self.x, "y": self.y})
    }

    /// A compact ES256 JWS of `claims` with this `typ`.
    pub fn sign(&self, typ: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8))
            .expect("ES256 signing with a generated key")
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

/// The machine grants one AS of a world serves (all off by default).
#[derive(Debug, Clone, Default)]
pub struct MachineConfig {
    /// `client_credentials` is advertised and served for clients that authenticate.
    pub client_credentials: bool,
    /// `private_key_jwt` clients: `client_id` and the key their assertions are signed with.
    pub assertion_clients: Vec<(String, EcKey)>,
    /// The `jwt-bearer` grant for workload JWTs signed by this key (WIF): `aud` must be this AS's issuer; no
    /// client authentication.
    pub workload_key: Option<EcKey>,
    /// The `jwt-bearer` grant for ID-JAGs signed by this key (the enterprise IdP's); the client authenticates.
    pub id_jag_issuer_key: Option<EcKey>,
    /// This AS plays the enterprise IdP: it answers the token exchange of an ID token it signed with this key
    /// by an ID-JAG for the client and audience the request names.
    pub idp: Option<IdpConfig>,
    /// The scopes machine grants issue (others requested are dropped); None: the requested scope as is.
    pub allowed_scopes: Option<Vec<String>>,
}

/// The enterprise IdP's side of SEP-990.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// The IdP's signing key (ID tokens it issued, and the ID-JAGs it mints).
    pub key: EcKey,
    /// The client id the client has at the IdP (`idp_client_id`).
    pub idp_client_id: String,
    /// The client id the ID-JAG names (the client's id at the MCP AS).
    pub as_client_id: String,
}

impl MachineConfig {
    /// The grant types this config adds to the metadata.
    pub fn grant_types(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.client_credentials {
            out.push("client_credentials");
        }
        if self.workload_key.is_some() || self.id_jag_issuer_key.is_some() {
            out.push(JWT_BEARER_GRANT);
        }
        if self.idp.is_some() {
            out.push(TOKEN_EXCHANGE_GRANT);
        }
        out
    }
}

/// The first value of a form parameter.
fn form<'a>(req: &'a Incoming, name: &str) -> Option<&'a str> {
    req.form
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn invalid_grant(why: &str) -> Reply {
    Reply::oauth_error(400, "invalid_grant", why)
}

fn invalid_client(why: &str) -> Reply {
    Reply::oauth_error(401, "invalid_client", why)
}

/// The unverified claims of a JWT (to learn which key should verify it).
pub fn unverified_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
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

impl Authz<'_> {
    fn machine(&self) -> &MachineConfig {
        &self.config.machine
    }

    /// Whether this request is a machine grant this AS serves (then [`Authz::machine_token`] answers it).
    pub(super) fn is_machine_grant(&self, grant: Option<&str>) -> bool {
        let m = self.machine();
        match grant {
            Some("client_credentials") => m.client_credentials,
            Some(JWT_BEARER_GRANT) => m.workload_key.is_some() || m.id_jag_issuer_key.is_some(),
            Some(TOKEN_EXCHANGE_GRANT) => m.idp.is_some(),
            _ => false,
        }
    }

    /// Verifies a `private_key_jwt` client assertion for `client_id` (RFC 7523 §3): the assertion type, the
    /// signature, `iss` = `sub` = the client, `aud` = this issuer, `exp` in the future and a `jti` never seen.
    pub(super) fn client_assertion(
        &self,
        state: &mut WorldState,
        client_id: &str,
        req: &Incoming,
    ) -> Result<(), Reply> {
        if form(req, "client_assertion_type") != Some(CLIENT_ASSERTION_TYPE) {
            return Err(invalid_client(
                "client_assertion_type must be the RFC 7523 JWT type",
            ));
        }
        let Some(assertion) = form(req, "client_assertion") else {
            return Err(invalid_client("client_assertion is required"));
        };
        let Some((_, key)) = self
            .machine()
            .assertion_clients
            .iter()
            .find(|(id, _)| id == client_id)
        else {
            return Err(invalid_client("unknown client"));
        };
        let (_, claims) = key.verify(assertion).map_err(|e| invalid_client(&e))?;
        let text = |n: &str| claims.get(n).and_then(Value::as_str);
        if text("iss") != Some(client_id) || text("sub") != Some(client_id) {
            return Err(invalid_client(
                "the assertion's iss and sub must be the client_id",
            ));
        }
        if !audience_names(claims.get("aud"), &self.issuer) {
            return Err(invalid_client("the assertion's aud must be the issuer"));
        }
        self.fresh(state, &claims)
            .map_err(|why| invalid_client(&why))
    }

    /// `exp` in the future and `jti` not seen before at this AS (recorded).
    fn fresh(&self, state: &mut WorldState, claims: &Value) -> Result<(), String> {
        let exp = claims.get("exp").and_then(Value::as_i64);
        if exp.is_none_or(|e| e + LEEWAY <= self.shared.now()) {
            return Err("the JWT is expired or has no exp".into());
        }
        let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
            return Err("the JWT has no jti".into());
        };
        if !state.seen_jtis[self.i].insert(jti.to_owned()) {
            return Err("the JWT's jti was used before".into());
        }
        Ok(())
    }

    /// The scope a machine grant issues: the requested scope, cut to the allowed scopes.
    fn machine_scope(&self, requested: Option<&str>) -> Option<String> {
        let kept: Vec<&str> = scope_tokens(requested.unwrap_or_default())
            .filter(|s| {
                self.machine()
                    .allowed_scopes
                    .as_ref()
                    .is_none_or(|a| a.iter().any(|x| x == s))
            })
            .collect();
        (!kept.is_empty()).then(|| kept.join(" "))
    }

    /// `POST /token` with a machine grant. `authenticated` is the client's id when the request authenticated
    /// (the caller did), `Err` its refusal.
    pub(super) fn machine_token(
        &self,
        state: &mut WorldState,
        req: &Incoming,
        authenticated: Result<String, Reply>,
    ) -> Reply {
        let resource = form(req, "resource").map(str::to_owned);
        let scope = self.machine_scope(form(req, "scope"));
        let family = self.shared.minters[self.i].random_token(16);
        match form(req, "grant_type") {
            Some("client_credentials") => match authenticated {
                Ok(client) => self.issue(state, &client, resource, scope, family, None),
                Err(reply) => reply,
            },
            Some(TOKEN_EXCHANGE_GRANT) => self.token_exchange(req),
            Some(JWT_BEARER_GRANT) => {
                let Some(assertion) = form(req, "assertion") else {
                    return Reply::oauth_error(400, "invalid_request", "assertion is required");
                };
                let m = self.machine();
                if let Some(key) = &m.id_jag_issuer_key {
                    let client = match authenticated {
                        Ok(c) => c,
                        Err(reply) => return reply,
                    };
                    return match self.id_jag(state, key, assertion, &client) {
                        Ok(res) => {
                            self.issue(state, &client, res.or(resource), scope, family, None)
                        }
                        Err(why) => invalid_grant(&why),
                    };
                }
                let Some(key) = &m.workload_key else {
                    return Reply::oauth_error(
                        400,
                        "unsupported_grant_type",
                        "unsupported grant_type",
                    );
                };
                let claims = match key.verify(assertion) {
                    Ok((_, c)) => c,
                    Err(e) => return invalid_grant(&e),
                };
                if !audience_names(claims.get("aud"), &self.issuer) {
                    return invalid_grant("the assertion's aud is not this issuer");
                }
                if let Err(why) = self.fresh(state, &claims) {
                    return invalid_grant(&why);
                }
                let subject = claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or("workload")
                    .to_owned();
                let client = form(req, "client_id").map_or(subject, str::to_owned);
                self.issue(state, &client, resource, scope, family, None)
            }
            _ => Reply::oauth_error(400, "unsupported_grant_type", "unsupported grant_type"),
        }
    }

    /// Verifies an ID-JAG presented by `client`; returns its `resource`.
    fn id_jag(
        &self,
        state: &mut WorldState,
        key: &EcKey,
        assertion: &str,
        client: &str,
    ) -> Result<Option<String>, String> {
        let (typ, claims) = key.verify(assertion)?;
        if typ.as_deref() != Some(ID_JAG_TYP) {
            return Err(format!("the assertion's typ is not {ID_JAG_TYP}"));
        }
        if !audience_names(claims.get("aud"), &self.issuer) {
            return Err("the ID-JAG's aud is not this issuer".into());
        }
        if claims.get("client_id").and_then(Value::as_str) != Some(client) {
            return Err("the ID-JAG was issued for another client".into());
        }
        self.fresh(state, &claims)?;
        Ok(claims
            .get("resource")
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// The enterprise IdP's RFC 8693 exchange: an ID token it issued for an ID-JAG.
    fn token_exchange(&self, req: &Incoming) -> Reply {
        let Some(idp) = &self.machine().idp else {
            return Reply::oauth_error(400, "unsupported_grant_type", "unsupported grant_type");
        };
        if form(req, "requested_token_type") != Some(ID_JAG_TOKEN_TYPE) {
            return Reply::oauth_error(
                400,
                "invalid_request",
                "requested_token_type must be the ID-JAG type",
            );
        }
        if form(req, "subject_token_type") != Some(ID_TOKEN_TOKEN_TYPE) {
            return Reply::oauth_error(
                400,
                "invalid_request",
                "subject_token_type must be the ID token type",
            );
        }
        if form(req, "client_id") != Some(idp.idp_client_id.as_str()) {
            return invalid_client("unknown client at the IdP");
        }
        let Some(audience) = form(req, "audience") else {
            return Reply::oauth_error(
                400,
                "invalid_request",
                "audience (the AS issuer) is required",
            );
        };
        let subject = match form(req, "subject_token").map(|t| idp.key.verify(t)) {
            Some(Ok((_, claims))) => claims,
            _ => return invalid_grant("the subject_token is not an ID token of this IdP"),
        };
        let now = self.shared.now();
        let minter = &self.shared.minters[self.i];
        let mut claims = json!({
            "iss": self.issuer,
            "sub": subject.get("sub").cloned().unwrap_or(json!("user")),
            "aud": audience,
            "client_id": idp.as_client_id,
            "jti": minter.random_token(16),
            "iat": now,
            "exp": now + 300,
        });
        if let Some(resource) = form(req, "resource") {
            claims["resource"] = json!(resource);
        }
        if let Some(scope) = form(req, "scope") {
            claims["scope"] = json!(scope);
        }
        Reply::json(
            200,
            &json!({
                "access_token": idp.key.sign(ID_JAG_TYP, &claims),
                "issued_token_type": ID_JAG_TOKEN_TYPE,
                "token_type": "N_A",
                "expires_in": 300,
            }),
        )
        .no_store()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_signs_what_it_verifies_and_nothing_else() {
        let key = EcKey::generate();
        let jwt = key.sign("JWT", &json!({"sub": "w"}));
        assert_eq!(key.verify(&jwt).unwrap().1["sub"], "w");
        assert!(EcKey::generate().verify(&jwt).is_err());
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
}
