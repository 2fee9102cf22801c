//! A scriptable authorization server: metadata at configured locations (traps elsewhere),
//! `/authorize` (auto-approved, immediate 302), `/token` (authorization code + PKCE, refresh
//! rotation with family revocation), `/register` (DCR), the JWKS, and CIMD resolution from the
//! in-memory `cimd_documents`.

use std::collections::HashMap;

use serde_json::{json, Value};
use url::Url;

use super::config::{AsConfig, IssMode, StateMode, DEFAULT_ACCESS_TOKEN_BYTES};
use super::log::{LoggedRequest, Origin, RequestKind};
use super::machine;
use super::mcp::{is_as_metadata_probe, is_prm_probe, UNKNOWN_MEMBER};
use super::tokens::{pkce_verifies, AccessToken, CodeGrant, RefreshToken};
use super::{Incoming, KnownClient, Reply, Shared, WorldState};
use crate::server::cimd::{is_cimd_client_id, validate_document, CimdError};
use crate::server::register::parse_registration;
use crate::server::{basic_credentials, parse_form, scope_tokens, RegisteredClient};
use crate::server::{CODE_LIFETIME_SECS, FETCH_BODY_CAP};

type Form = HashMap<String, String>;

/// The AS `i` context of one request.
pub(super) struct Authz<'a> {
    pub(super) shared: &'a Shared,
    pub(super) i: usize,
    pub(super) config: &'a AsConfig,
    pub(super) issuer: String,
}

pub(crate) fn handle(shared: &Shared, i: usize, req: &Incoming) -> (Reply, RequestKind) {
    let config = &shared.config.auth_servers[i];
    let az = Authz {
        shared,
        i,
        config,
        issuer: shared.issuer(i),
    };
    let p = config.issuer_path.as_str();
    let served = config
        .metadata_at
        .iter()
        .find(|l| l.path(p) == req.path)
        .copied();
    if let Some(location) = served {
        let reply = if req.method == "GET" {
            Reply::json(200, &az.metadata(location.is_oidc()))
        } else {
            Reply::empty(405).header("allow", "GET")
        };
        return (reply, RequestKind::AsMetadata(location));
    }
    if is_as_metadata_probe(&req.path) {
        return (not_found(), RequestKind::AsMetadataTrap);
    }
    if is_prm_probe(&req.path) {
        return (not_found(), RequestKind::PrmTrap);
    }
    let Some(endpoint) = req
        .path
        .strip_prefix(p)
        .and_then(|rest| rest.strip_prefix(config.endpoint_prefix.as_str()))
    else {
        return (not_found(), RequestKind::Other);
    };
    match (endpoint, req.method.as_str()) {
        ("/authorize", "GET") => (az.authorize(req), RequestKind::Authorize),
        ("/authorize", _) => (method_not_allowed("GET"), RequestKind::Authorize),
        ("/token", method) => {
            let form = parse_form(&req.body);
            let grant_type = form.get("grant_type").cloned().unwrap_or_default();
            let reply = if method == "POST" {
                az.token(req, &form)
            } else {
                method_not_allowed("POST")
            };
            (reply, RequestKind::Token { grant_type })
        }
        ("/register", _) if !config.registration => (not_found(), RequestKind::Register),
        ("/register", "POST") => (az.register(req), RequestKind::Register),
        ("/register", _) => (method_not_allowed("POST"), RequestKind::Register),
        ("/jwks", "GET") => (
            Reply::json(
                200,
                &json!({"keys": [shared.minters[i].key().public_jwk()]}),
            ),
            RequestKind::Other,
        ),
        _ => (not_found(), RequestKind::Other),
    }
}

fn not_found() -> Reply {
    Reply::json(404, &json!({"error": "not_found"}))
}

fn method_not_allowed(allow: &str) -> Reply {
    Reply::empty(405).header("allow", allow)
}

fn invalid_grant(description: &str) -> Reply {
    Reply::oauth_error(400, "invalid_grant", description)
}

fn invalid_request(description: &str) -> Reply {
    Reply::oauth_error(400, "invalid_request", description)
}

/// Space-separated scope, normalised (None when absent or empty).
fn normalise_scope(scope: Option<&str>) -> Option<String> {
    let joined = scope_tokens(scope?).collect::<Vec<_>>().join(" ");
    (!joined.is_empty()).then_some(joined)
}

impl Authz<'_> {
    /// The metadata document (RFC 8414, or with the OIDC members), with the patch applied.
    fn metadata(&self, oidc: bool) -> Value {
        let issuer = &self.issuer;
        let c = self.config;
        let base = format!("{issuer}{}", c.endpoint_prefix);
        let mut grant_types = vec!["authorization_code"];
        if c.issue_refresh_tokens {
            grant_types.push("refresh_token");
        }
        grant_types.extend(c.machine.grant_types());
        let mut doc = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{base}/authorize"),
            "token_endpoint": format!("{base}/token"),
            "response_types_supported": ["code"],
            "grant_types_supported": grant_types,
            "token_endpoint_auth_methods_supported": c.token_endpoint_auth_methods,
            "code_challenge_methods_supported": ["S256"],
        });
        if c.registration {
            doc["registration_endpoint"] = json!(format!("{base}/register"));
        }
        if c.token_endpoint_auth_methods
            .iter()
            .any(|m| m == "private_key_jwt")
        {
            doc["token_endpoint_auth_signing_alg_values_supported"] = json!(["ES256"]);
        }
        if c.dpop {
            doc["dpop_signing_alg_values_supported"] = json!(crate::dpop::SUPPORTED_ALGS);
        }
        let mut scopes = self.shared.config.mcp.prm.scopes_supported.clone();
        if !c.extra_scopes_supported.is_empty() {
            let listed = scopes.get_or_insert_with(Vec::new);
            listed.extend(c.extra_scopes_supported.iter().cloned());
        }
        if let Some(scopes) = scopes {
            doc["scopes_supported"] = json!(scopes);
        }
        if c.cimd_supported {
            doc["client_id_metadata_document_supported"] = json!(true);
        }
        if c.advertise_iss {
            doc["authorization_response_iss_parameter_supported"] = json!(true);
        }
        if oidc {
            doc["jwks_uri"] = json!(format!("{base}/jwks"));
            doc["subject_types_supported"] = json!(["public"]);
            doc["id_token_signing_alg_values_supported"] = json!(["RS256"]);
        }
        if c.unknown_members {
            doc[UNKNOWN_MEMBER] = json!({"nested": {"deep": [1, 2, 3]}, "flag": true});
        }
        if !c.metadata_patch.is_null() {
            crate::danger::merge_patch(&mut doc, &c.metadata_patch);
        }
        doc
    }

    /// Whether the AS accepts this PKCE method: S256 always (OAuth 2.1), `plain` only when the
    /// (patched) metadata advertises it.
    fn accepts_pkce_method(&self, method: &str) -> bool {
        match method {
            "S256" => true,
            "plain" => self
                .metadata(false)
                .get("code_challenge_methods_supported")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|m| m == "plain")),
            _ => false,
        }
    }

    /// A known client, or a CIMD client resolved from `cimd_documents` (logged as `CimdFetch`).
    fn client_for_authorize(
        &self,
        state: &WorldState,
        client_id: &str,
    ) -> Result<KnownClient, String> {
        if let Some(client) = state.clients[self.i].get(client_id) {
            return Ok(client.clone());
        }
        if self.config.cimd_supported && is_cimd_client_id(client_id) {
            return self.resolve_cimd(client_id).map_err(|e| e.to_string());
        }
        Err("unknown client_id".to_owned())
    }

    /// "Fetches" the CIMD document of `client_id` from the in-memory table and validates it
    /// with the server's CIMD rules (client_id equals the URL, redirect URIs listed, no secret).
    fn resolve_cimd(&self, client_id: &str) -> Result<KnownClient, CimdError> {
        let document = self.shared.cimd.get(client_id);
        let (status, body) = match document {
            Some(body) => (200, body.clone()),
            None => (404, String::new()),
        };
        self.shared.log.begin(LoggedRequest {
            headers: vec![("accept".to_owned(), "application/json".to_owned())],
            status,
            response_headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            response_body: body.clone(),
            ..LoggedRequest::new(Origin::As(self.i), "GET", client_id, RequestKind::CimdFetch)
        });
        if status != 200 {
            return Err(CimdError::Status(status));
        }
        if body.len() > FETCH_BODY_CAP {
            return Err(CimdError::TooLarge);
        }
        let doc: Value = serde_json::from_str(&body).map_err(|_| CimdError::NotJsonObject)?;
        let registered = validate_document(client_id, &doc)?;
        Ok(KnownClient {
            registered,
            auth_method: "none".to_owned(),
            any_loopback_redirect: self.shared.config.cimd_any_loopback_redirect,
        })
    }

    /// A 302 to `redirect_uri` with `params`, then `state` per [`StateMode`] and `iss` per
    /// [`IssMode`].
    fn redirect(
        &self,
        redirect_uri: &str,
        params: &[(&str, &str)],
        client_state: Option<&str>,
    ) -> Reply {
        let Ok(mut url) = Url::parse(redirect_uri) else {
            return invalid_request("redirect_uri is not a URL");
        };
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in params {
                query.append_pair(k, v);
            }
            match (self.config.state, client_state) {
                (StateMode::Echo, Some(s)) => {
                    query.append_pair("state", s);
                }
                (StateMode::Altered, Some(s)) => {
                    query.append_pair("state", &format!("{s}-altered"));
                }
                (StateMode::Altered, None) => {
                    query.append_pair("state", "altered-state");
                }
                (StateMode::Echo | StateMode::Omit, _) => {}
            }
            match &self.config.iss {
                IssMode::Correct => {
                    query.append_pair("iss", &self.issuer);
                }
                IssMode::Wrong(wrong) => {
                    query.append_pair("iss", wrong);
                }
                IssMode::TrailingSlash => {
                    query.append_pair("iss", &format!("{}/", self.issuer));
                }
                IssMode::Omit => {}
            }
            if self.config.unknown_members {
                query.append_pair(UNKNOWN_MEMBER, "ignore-me");
            }
        }
        Reply::empty(302)
            .header("location", url.to_string())
            .header("cache-control", "no-store")
    }

    /// `GET /authorize`: a bad client or redirect URI → 400 (never a redirect); otherwise an
    /// immediate 302 with a code, or with an error (PKCE missing or not accepted, scripted
    /// rejections).
    fn authorize(&self, req: &Incoming) -> Reply {
        let q = |name: &str| req.query_param(name);
        let mut state = self.shared.state();
        let Some(client_id) = q("client_id") else {
            return invalid_request("client_id is required");
        };
        let client = match self.client_for_authorize(&state, client_id) {
            Ok(c) => c,
            Err(why) => return Reply::oauth_error(400, "invalid_client", &why),
        };
        let Some(redirect_uri) = q("redirect_uri") else {
            return invalid_request("redirect_uri is required");
        };
        if !client.allows_redirect(redirect_uri) {
            return invalid_request("redirect_uri is not registered for this client");
        }
        let client_state = q("state");
        let fail = |error: &str, description: &str| {
            self.redirect(
                redirect_uri,
                &[("error", error), ("error_description", description)],
                client_state,
            )
        };
        state.authorizations[self.i] += 1;
        if state.authorizations[self.i] <= self.config.reject_first_authorizations {
            return fail(
                "invalid_request",
                "authorization request rejected (scripted)",
            );
        }
        if q("response_type") != Some("code") {
            return fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            );
        }
        let Some(challenge) = q("code_challenge") else {
            return fail("invalid_request", "code_challenge is required (PKCE)");
        };
        let method = q("code_challenge_method").unwrap_or("plain");
        if !self.accepts_pkce_method(method) {
            return fail("invalid_request", "code_challenge_method is not supported");
        }
        if method == "S256" && challenge.len() != 43 {
            return fail(
                "invalid_request",
                "code_challenge must be a base64url SHA-256",
            );
        }
        let resource = q("resource");
        if let Some(resource) = resource {
            if !Url::parse(resource).is_ok_and(|u| u.fragment().is_none()) {
                return fail(
                    "invalid_target",
                    "resource must be an absolute URI without fragment",
                );
            }
        }
        let minter = &self.shared.minters[self.i];
        let code = minter.random_token(32);
        state.tokens.codes.insert(
            code.clone(),
            CodeGrant {
                as_index: self.i,
                client_id: client_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                resource: resource.map(str::to_owned),
                scope: normalise_scope(q("scope")),
                code_challenge: challenge.to_owned(),
                code_challenge_method: method.to_owned(),
                expires_at: minter.now() + CODE_LIFETIME_SECS,
            },
        );
        self.redirect(redirect_uri, &[("code", &code)], client_state)
    }

    /// Client authentication with the client's own method (none, Basic, or form secret).
    fn authenticate(
        &self,
        state: &mut WorldState,
        req: &Incoming,
        form: &Form,
    ) -> Result<String, Reply> {
        let invalid_client = |why: &str, basic_tried: bool| {
            let reply = Reply::oauth_error(401, "invalid_client", why);
            if basic_tried {
                reply.header("www-authenticate", "Basic realm=\"fake-idp\"")
            } else {
                reply
            }
        };
        let basic = basic_credentials(&req.headers);
        let form_id = form.get("client_id");
        let form_secret = form.get("client_secret");
        let id = match (&basic, form_id) {
            (Some((b, _)), Some(f)) if b != f => {
                return Err(invalid_client(
                    "client_id does not match the credentials",
                    true,
                ))
            }
            (Some((b, _)), _) => b.clone(),
            (None, Some(f)) => f.clone(),
            // RFC 7523 §3: a client assertion names its client in `iss`/`sub`.
            (None, None) => match form
                .get("client_assertion")
                .and_then(|a| machine::unverified_claims(a))
                .and_then(|c| c.get("sub").and_then(|s| s.as_str()).map(str::to_owned))
            {
                Some(sub) => sub,
                None => return Err(invalid_client("client authentication is required", false)),
            },
        };
        let client = match state.clients[self.i].get(&id) {
            Some(c) => c.clone(),
            None if self.config.cimd_supported
                && is_cimd_client_id(&id)
                && self.shared.cimd.contains_key(&id) =>
            {
                KnownClient {
                    registered: RegisteredClient::public(&id, Vec::new()),
                    auth_method: "none".to_owned(),
                    any_loopback_redirect: false,
                }
            }
            None => return Err(invalid_client("unknown client", basic.is_some())),
        };
        let secret = client.registered.client_secret.as_deref();
        let ok = match client.auth_method.as_str() {
            "none" => true,
            "client_secret_basic" => {
                form_secret.is_none()
                    && basic
                        .as_ref()
                        .is_some_and(|(_, s)| Some(s.as_str()) == secret)
            }
            "client_secret_post" => {
                basic.is_none() && form_secret.is_some_and(|s| Some(s.as_str()) == secret)
            }
            "private_key_jwt" => {
                if basic.is_some() || form_secret.is_some() {
                    false
                } else {
                    self.client_assertion(state, &id, req)?;
                    true
                }
            }
            _ => false,
        };
        if ok {
            Ok(id)
        } else {
            Err(invalid_client(
                &format!(
                    "client authentication failed (this client uses {})",
                    client.auth_method
                ),
                basic.is_some(),
            ))
        }
    }

    /// `POST /token`.
    fn token(&self, req: &Incoming, form: &Form) -> Reply {
        if !req.is_form() {
            return invalid_request("the body must be application/x-www-form-urlencoded");
        }
        let jkt = if self.config.dpop {
            let nonce = self
                .config
                .dpop_nonce
                .then(|| super::dpop::as_nonce(self.shared.config.seed));
            let endpoint = format!("{}/token", self.issuer);
            match super::dpop::token_request(&req.headers, &endpoint, nonce.as_deref()) {
                Ok(jkt) => jkt,
                Err(reply) => return reply,
            }
        } else {
            None
        };
        let mut state = self.shared.state();
        let grant = form.get("grant_type").map(String::as_str);
        if self.is_machine_grant(grant) {
            // The IdP's token exchange and the workload jwt-bearer grant carry no client authentication here.
            let anonymous = grant == Some(machine::TOKEN_EXCHANGE_GRANT)
                || (grant == Some(machine::JWT_BEARER_GRANT)
                    && self.config.machine.id_jag_issuer_key.is_none());
            let authenticated = if anonymous {
                Ok(String::new())
            } else {
                self.authenticate(&mut state, req, form)
            };
            return self.machine_token(&mut state, req, authenticated);
        }
        let client_id = match self.authenticate(&mut state, req, form) {
            Ok(id) => id,
            Err(reply) => return reply,
        };
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                self.authorization_code(&mut state, &client_id, form, jkt)
            }
            Some("refresh_token") if self.config.issue_refresh_tokens => {
                self.refresh(&mut state, &client_id, form, jkt)
            }
            Some(_) => Reply::oauth_error(400, "unsupported_grant_type", "unsupported grant_type"),
            None => invalid_request("grant_type is required"),
        }
    }

    fn authorization_code(
        &self,
        state: &mut WorldState,
        client_id: &str,
        form: &Form,
        jkt: Option<String>,
    ) -> Reply {
        let Some(code) = form.get("code") else {
            return invalid_request("code is required");
        };
        let ours = state
            .tokens
            .codes
            .get(code)
            .is_some_and(|g| g.as_index == self.i);
        // Single use: the code is gone whatever happens next.
        let Some(grant) = ours.then(|| state.tokens.codes.remove(code)).flatten() else {
            return invalid_grant("authorization code is invalid, expired or already used");
        };
        if grant.expires_at <= self.shared.now() {
            return invalid_grant("authorization code expired");
        }
        if grant.client_id != client_id {
            return invalid_grant("authorization code was issued to another client");
        }
        if form.get("redirect_uri") != Some(&grant.redirect_uri) {
            return invalid_grant("redirect_uri does not match the authorization request");
        }
        let Some(verifier) = form.get("code_verifier") else {
            return invalid_grant("code_verifier is required");
        };
        if !pkce_verifies(
            &grant.code_challenge_method,
            verifier,
            &grant.code_challenge,
        ) {
            return invalid_grant("PKCE verification failed");
        }
        if let Some(resource) = form.get("resource") {
            if grant.resource.as_ref() != Some(resource) {
                return Reply::oauth_error(
                    400,
                    "invalid_target",
                    "resource differs from the authorization request",
                );
            }
        }
        let family = self.shared.minters[self.i].random_token(16);
        self.issue(state, client_id, grant.resource, grant.scope, family, jkt)
    }

    fn refresh(
        &self,
        state: &mut WorldState,
        client_id: &str,
        form: &Form,
        jkt: Option<String>,
    ) -> Reply {
        let Some(presented) = form.get("refresh_token") else {
            return invalid_request("refresh_token is required");
        };
        let Some(grant) = state
            .tokens
            .refresh
            .get(presented)
            .filter(|g| g.as_index == self.i)
            .cloned()
        else {
            return invalid_grant("unknown refresh token");
        };
        if grant.client_id != client_id {
            return invalid_grant("refresh token was issued to another client");
        }
        if state.tokens.family_revoked(self.i, &grant.family) {
            return invalid_grant("refresh token revoked");
        }
        if grant.used {
            tracing::warn!("refresh token replay: revoking the family");
            state.tokens.revoke_family(self.i, &grant.family);
            return invalid_grant("refresh token already used; token family revoked");
        }
        if let Some(resource) = form.get("resource") {
            if grant.resource.as_ref() != Some(resource) {
                return Reply::oauth_error(
                    400,
                    "invalid_target",
                    "resource differs from the original grant",
                );
            }
        }
        let scope = match normalise_scope(form.get("scope").map(String::as_str)) {
            None => grant.scope.clone(),
            Some(requested) => {
                let original: Vec<&str> = grant
                    .scope
                    .as_deref()
                    .map(|s| scope_tokens(s).collect())
                    .unwrap_or_default();
                if scope_tokens(&requested).any(|s| !original.contains(&s)) {
                    return Reply::oauth_error(
                        400,
                        "invalid_scope",
                        "scope exceeds the original grant",
                    );
                }
                Some(requested)
            }
        };
        if let Some(old) = state.tokens.refresh.get_mut(presented) {
            old.used = true;
        }
        self.issue(state, client_id, grant.resource, scope, grant.family, jkt)
    }

    /// Mints an opaque access token (and a refresh token when configured) for a grant family.
    pub(super) fn issue(
        &self,
        state: &mut WorldState,
        client_id: &str,
        resource: Option<String>,
        scope: Option<String>,
        family: String,
        jkt: Option<String>,
    ) -> Reply {
        let minter = &self.shared.minters[self.i];
        let lifetime = self.config.access_token_lifetime;
        let access_token = self
            .persona_token(client_id, resource.as_deref(), scope.as_deref(), lifetime)
            .unwrap_or_else(|| minter.random_chars(self.config.access_token_bytes));
        state.tokens.access.insert(
            access_token.clone(),
            AccessToken {
                as_index: self.i,
                client_id: client_id.to_owned(),
                scope: scope.clone(),
                resource: resource.clone(),
                expires_at: minter.now().saturating_add(lifetime),
                jkt: jkt.clone(),
                family: family.clone(),
                uses: 0,
                expired_by_use: false,
            },
        );
        let mut body = json!({
            "access_token": access_token,
            "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
            "expires_in": lifetime,
        });
        if let Some(scope) = &scope {
            body["scope"] = json!(scope);
        }
        if self.config.issue_refresh_tokens {
            let refresh_token = minter.random_token(32);
            state.tokens.refresh.insert(
                refresh_token.clone(),
                RefreshToken {
                    as_index: self.i,
                    family,
                    client_id: client_id.to_owned(),
                    resource,
                    scope,
                    used: false,
                },
            );
            body["refresh_token"] = json!(refresh_token);
        }
        if self.config.unknown_members {
            body[UNKNOWN_MEMBER] = json!({"ignore": "me"});
        }
        Reply::json(200, &body).no_store()
    }

    /// The persona's JWT access token for the world's user, when this AS plays a persona (and the world does not
    /// set its own token length).
    fn persona_token(
        &self,
        client_id: &str,
        resource: Option<&str>,
        scope: Option<&str>,
        lifetime: i64,
    ) -> Option<String> {
        let persona = &self.config.persona;
        if *persona == crate::persona::Persona::Generic
            || self.config.access_token_bytes != DEFAULT_ACCESS_TOKEN_BYTES
        {
            return None;
        }
        let users = crate::users::Users::fixture();
        let user = users.get("alice")?;
        let audience = resource.map_or(crate::token::Audience::Absent, |r| {
            crate::token::Audience::One(persona.audience_for(r))
        });
        let spec = crate::token::TokenSpec {
            sub: user.sub.clone(),
            roles: vec![user.role.clone()],
            permissions: user.permissions.clone(),
            audience,
            scope: scope.map(str::to_owned),
            client_id: client_id.to_owned(),
            lifetime_secs: lifetime,
        };
        let minter = self.shared.minters[self.i]
            .clone()
            .with_issuer(self.issuer.clone())
            .with_persona(persona.clone());
        Some(minter.mint(&spec))
    }

    /// `POST /register` (RFC 7591): the method asked for when this AS supports it, else the
    /// AS's first method; a secret for `client_secret_basic` / `client_secret_post`.
    fn register(&self, req: &Incoming) -> Reply {
        let registration = match parse_registration(&req.body) {
            Ok(r) => r,
            Err((error, description)) => return Reply::oauth_error(400, error, &description),
        };
        let supported = &self.config.token_endpoint_auth_methods;
        let method = registration
            .meta
            .get("token_endpoint_auth_method")
            .and_then(Value::as_str)
            .filter(|m| supported.iter().any(|s| s == m))
            .map(str::to_owned)
            .or_else(|| supported.first().cloned())
            .unwrap_or_else(|| "none".to_owned());
        let minter = &self.shared.minters[self.i];
        let client_id = format!("dcr-{}", minter.random_token(12));
        let secret = matches!(
            method.as_str(),
            "client_secret_basic" | "client_secret_post"
        )
        .then(|| minter.random_token(24));
        let redirect_uris = registration.redirect_uris.clone();
        let registered = match &secret {
            Some(s) => RegisteredClient::confidential(&client_id, s, redirect_uris),
            None => RegisteredClient::public(&client_id, redirect_uris),
        };
        self.shared.state().clients[self.i].insert(
            client_id.clone(),
            KnownClient {
                registered,
                auth_method: method.clone(),
                any_loopback_redirect: false,
            },
        );
        let mut answer = registration.answer(&client_id, minter.now(), &method, secret.as_deref());
        if self.config.unknown_members {
            answer.insert(UNKNOWN_MEMBER.into(), json!("ignore-me"));
        }
        Reply::json(201, &Value::Object(answer)).no_store()
    }
}
