//! The machine grants of a client-world AS, for the MCP authorization extensions: `client_credentials` with
//! `client_secret_basic` or `private_key_jwt` (SEP-1046, RFC 7523 §2.2), the RFC 7523 `jwt-bearer` grant for
//! workload JWTs (WIF, SEP-1933) and for ID-JAGs (SEP-990), and the RFC 8693 token exchange an enterprise IdP
//! answers with an ID-JAG. Keys are ES256, generated per world ([`EcKey`]). Like the rest of the world, these
//! endpoints judge nothing: they answer as a strict AS would, and the log keeps what the client sent.

use serde_json::{json, Value};

use super::authz::Authz;
use super::{Incoming, Reply, WorldState};
pub use crate::assertion::{
    audience_names, unverified_claims, EcKey, CLIENT_ASSERTION_TYPE, ID_JAG_TOKEN_TYPE, ID_JAG_TYP,
    JWT_BEARER_GRANT,
};
use crate::assertion::{check, Expect};
use crate::server::scope_tokens;

/// The token exchange grant (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The token type of an OpenID Connect ID token (RFC 8693 §3).
pub const ID_TOKEN_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

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
        let expect = Expect {
            subject: Some(client_id),
            ..self.expect(None)
        };
        check(
            key,
            assertion,
            &expect,
            &mut state.seen_jtis[self.i],
            |_| false,
        )
        .map(|_| ())
        .map_err(|f| invalid_client(f.describe()))
    }

    /// What every assertion this AS accepts must say: `aud` = this issuer, `exp` in the future, a fresh `jti`.
    fn expect(&self, typ: Option<&'static str>) -> Expect<'_> {
        Expect {
            audience: &self.issuer,
            typ,
            subject: None,
            client_id: None,
            now: self.shared.now(),
        }
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
                let expect = self.expect(None);
                let claims = match check(
                    key,
                    assertion,
                    &expect,
                    &mut state.seen_jtis[self.i],
                    |_| false,
                ) {
                    Ok(c) => c,
                    Err(f) => return invalid_grant(f.describe()),
                };
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
        let expect = Expect {
            client_id: Some(client),
            ..self.expect(Some(ID_JAG_TYP))
        };
        let claims = check(
            key,
            assertion,
            &expect,
            &mut state.seen_jtis[self.i],
            |_| false,
        )
        .map_err(|f| f.describe().to_owned())?;
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
