//! `POST /token`: authorization_code (+PKCE S256), refresh_token (rotation, family revocation
//! on replay), client_credentials, and (in [`super::exchange`]) RFC 8693 token exchange.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::clients::{AuthFailure, ClientAuth};
use super::target::AsDefect;
use super::{
    no_store, oauth_error, parse_form, scope_tokens, AsState, CodeGrant, RefreshGrant, UsedCode,
    ACCESS_TOKEN_LIFETIME_SECS, OIDC_SCOPES,
};
use crate::jws::{self, b64, redact};
use crate::token::{Audience, TokenSpec};
use crate::users::User;

type Form = HashMap<String, String>;

/// Access token lifetime with the target defect `long-lived-tokens`.
const LONG_LIFETIME_SECS: i64 = 86_400;

/// The PKCE transformation an authorization code was bound with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PkceMethod {
    /// `S256` (the only one a compliant AS accepts).
    S256,
    /// `plain` (target defect `accept-plain-pkce`).
    Plain,
}

fn invalid_grant(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

fn invalid_request(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

pub(super) async fn token(
    State(state): State<AsState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.events().record_token_request();
    let form = parse_form(&body);
    if form.get("grant_type").map(String::as_str) == Some(super::exchange::TOKEN_EXCHANGE_GRANT) {
        return super::exchange::token_exchange(&state, &headers, &form);
    }
    if form.get("grant_type").map(String::as_str) == Some(crate::assertion::JWT_BEARER_GRANT) {
        return super::assertion::jwt_bearer(&state, &headers, &form);
    }
    let client = match state.authenticate_client(&headers, &form) {
        Ok(c) => c,
        Err(AuthFailure::Missing) => {
            return invalid_request("client_id or client authentication is required")
        }
        Err(AuthFailure::Invalid(why)) if state.defect(AsDefect::BasicFailureWithoutChallenge) => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", why)
        }
        Err(AuthFailure::Invalid(why)) => {
            let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", why);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fake-idp\""),
            );
            return r;
        }
    };
    let proof = match super::dpop::token_proof(&state, &headers) {
        Ok(jkt) => jkt,
        Err(e) => return super::dpop::refusal(&state, &e),
    };
    let mut response = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => authorization_code(&state, &client, &form, proof.clone()),
        Some("refresh_token") => refresh_token(&state, &client, &form, proof.clone()),
        Some("client_credentials") => client_credentials(&state, &client, &form),
        Some(_) => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type",
        ),
        None => invalid_request("grant_type is required"),
    };
    if proof.is_some() {
        super::dpop::with_nonce(&state, &mut response);
    }
    response
}

/// PKCE S256 (RFC 7636 §4.6), with the verifier syntax of §4.1.
pub(crate) fn pkce_ok(verifier: &str, challenge: &str) -> bool {
    let syntax = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    syntax && b64(&Sha256::digest(verifier.as_bytes())) == challenge
}

/// requested ∩ user permissions ∪ OIDC scopes; no request grants all the user's permissions.
fn granted_scope(requested: Option<&str>, user: &User) -> String {
    match requested {
        None => user.permissions.join(" "),
        Some(requested) => scope_tokens(requested)
            .filter(|s| user.permissions.iter().any(|p| p == s) || OIDC_SCOPES.contains(s))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn authorization_code(
    state: &AsState,
    client: &ClientAuth,
    form: &Form,
    jkt: Option<String>,
) -> Response {
    let Some(code) = form.get("code") else {
        return invalid_request("code is required");
    };
    // Single use: the code is gone whatever happens next.
    let grant = {
        let mut store = state.store();
        if state.defect(AsDefect::AllowCodeReplay) {
            store.codes.get(code).cloned()
        } else {
            store.codes.remove(code)
        }
    };
    let Some(grant) = grant else {
        tracing::info!(code = %redact(code), "unknown or used authorization code");
        if state.is_target() {
            code_replay(state, client, form, code);
        }
        return invalid_grant("authorization code is invalid, expired or already used");
    };
    if grant.expires_at <= state.minter().now() {
        return invalid_grant("authorization code expired");
    }
    if grant.client_id != client.client_id() && !state.defect(AsDefect::CodeNotBoundToClient) {
        return invalid_grant("authorization code was issued to another client");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri)
        && !state.defect(AsDefect::IgnoreTokenRedirectUri)
    {
        return invalid_grant("redirect_uri does not match the authorization request");
    }
    if let Err(why) = check_verifier(state, &grant, form) {
        return invalid_grant(why);
    }
    if let Some(resource) = form.get("resource") {
        if grant.resource.as_ref() != Some(resource) {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_target",
                "resource differs from the authorization request",
            );
        }
    }
    let Some(user) = state.inner.users.get(&grant.user).cloned() else {
        return invalid_grant("user no longer exists");
    };
    let scope = granted_scope(grant.scope.as_deref(), &user);
    let family = state.minter().random_token(16);
    let (response, jti) = issue(
        state,
        &user,
        client.client_id(),
        Issue {
            resource: grant.resource.clone(),
            scope,
            family: family.clone(),
            nonce: grant.nonce.as_deref(),
            reuse_refresh: None,
            refresh_jkt: jkt.clone(),
            jkt,
        },
    );
    if state.is_target() {
        // A confidential client serves the resources it redeemed codes for (token exchange).
        if let (ClientAuth::Confidential(actor), Some(resource)) = (client, &grant.resource) {
            state.register_actor_resource(actor, resource);
        }
        let mut store = state.store();
        let used = store
            .used_codes
            .entry(code.clone())
            .or_insert_with(|| UsedCode {
                grant,
                jtis: Vec::new(),
                families: Vec::new(),
            });
        used.jtis.push(jti);
        used.families.push(family);
    }
    response
}

/// The code verifier check (RFC 7636 §4.6), loosened only by the verifier defects.
fn check_verifier(state: &AsState, grant: &CodeGrant, form: &Form) -> Result<(), &'static str> {
    let Some(challenge) = &grant.code_challenge else {
        // No challenge was sent (target defect `pkce-optional`): nothing to verify.
        return Ok(());
    };
    match form.get("code_verifier").filter(|v| !v.is_empty()) {
        None if state.defect(AsDefect::AcceptMissingVerifier) => Ok(()),
        None => Err("code_verifier is required"),
        Some(_) if state.defect(AsDefect::AcceptWrongVerifier) => Ok(()),
        Some(verifier) if verifier_matches(grant.pkce_method, verifier, challenge) => Ok(()),
        Some(_) => Err("PKCE verification failed"),
    }
}

fn verifier_matches(method: PkceMethod, verifier: &str, challenge: &str) -> bool {
    match method {
        PkceMethod::S256 => pkce_ok(verifier, challenge),
        PkceMethod::Plain => verifier == challenge,
    }
}

/// A redemption of an already-used code (target mode): a replay with the right client,
/// redirect URI and verifier revokes what the code issued (OAuth 2.1 §4.1.3); a replay with
/// invalid parameters revokes nothing (§7.5.3). The two revocation defects flip these.
fn code_replay(state: &AsState, client: &ClientAuth, form: &Form, code: &str) {
    let Some(used) = state.store().used_codes.get(code).cloned() else {
        return;
    };
    let grant = &used.grant;
    let valid = grant.client_id == client.client_id()
        && form.get("redirect_uri") == Some(&grant.redirect_uri)
        && match (&grant.code_challenge, form.get("code_verifier")) {
            (None, _) => true,
            (Some(challenge), Some(verifier)) => {
                verifier_matches(grant.pkce_method, verifier, challenge)
            }
            (Some(_), None) => false,
        };
    let revoke = if valid {
        !state.defect(AsDefect::NoRevokeOnReplay)
    } else {
        state.defect(AsDefect::RevokeOnBadReplay)
    };
    tracing::warn!(code = %redact(code), valid, revoke, "authorization code replay");
    if revoke {
        let mut store = state.store();
        for jti in &used.jtis {
            store.revoked.insert(format!("jti:{jti}"));
        }
        for family in &used.families {
            store.revoked_families.insert(family.clone());
        }
    }
}

fn refresh_token(
    state: &AsState,
    client: &ClientAuth,
    form: &Form,
    jkt: Option<String>,
) -> Response {
    let Some(presented) = form.get("refresh_token") else {
        return invalid_request("refresh_token is required");
    };
    let Some(grant) = state.store().refresh.get(presented).cloned() else {
        return invalid_grant("unknown refresh token");
    };
    if grant.client_id != client.client_id() && !state.defect(AsDefect::RefreshNotBoundToClient) {
        return invalid_grant("refresh token was issued to another client");
    }
    let public = matches!(client, ClientAuth::Public(_));
    if !super::dpop::refresh_binding_ok(state, public, grant.jkt.as_deref(), jkt.as_deref()) {
        return super::dpop::invalid_proof(&crate::dpop::ProofError::KeyBinding);
    }
    if grant.used {
        if state.defect(AsDefect::NoRefreshReplayDetection) {
            return invalid_grant("refresh token already used");
        }
        tracing::warn!(token = %redact(presented), "refresh token replay: revoking family");
        state.store().revoked_families.insert(grant.family.clone());
        return invalid_grant("refresh token already used; token family revoked");
    }
    if state.store().revoked_families.contains(&grant.family) {
        return invalid_grant("refresh token revoked");
    }
    let mut resource = grant.resource.clone();
    if let Some(requested) = form.get("resource") {
        if grant.resource.as_ref() != Some(requested) {
            if !state.defect(AsDefect::RefreshResourceChange) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_target",
                    "resource differs from the original grant",
                );
            }
            resource = Some(requested.clone());
        }
    }
    let scope = match form.get("scope") {
        None => grant.scope.clone(),
        Some(requested) => {
            let original: Vec<&str> = scope_tokens(&grant.scope).collect();
            if scope_tokens(requested).any(|s| !original.contains(&s))
                && !state.defect(AsDefect::RefreshScopeEscalation)
            {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    "scope exceeds the original grant",
                );
            }
            scope_tokens(requested).collect::<Vec<_>>().join(" ")
        }
    };
    let Some(user) = state.inner.users.get(&grant.user).cloned() else {
        return invalid_grant("user no longer exists");
    };
    let rotate = !state.defect(AsDefect::NoRefreshRotation);
    {
        let mut store = state.store();
        match store.refresh.get_mut(presented) {
            // Used concurrently: treat as the replay it is.
            Some(g) if g.used => return invalid_grant("refresh token already used"),
            Some(g) => g.used = rotate,
            None => return invalid_grant("unknown refresh token"),
        }
    }
    issue(
        state,
        &user,
        &grant.client_id,
        Issue {
            resource,
            scope,
            family: grant.family,
            nonce: None,
            reuse_refresh: (!rotate).then(|| presented.clone()),
            refresh_jkt: grant.jkt.clone().or(jkt.clone()),
            jkt,
        },
    )
    .0
}

/// The scopes a client may be granted by the client_credentials grant (RFC 6749 §3.3): the resource server's
/// introspection client reads and writes (its upstream calls), every other client reads.
fn machine_scopes(client_id: &str) -> &'static [&'static str] {
    if client_id == super::INTROSPECTION_CLIENT_ID {
        &["todo:read", "todo:write"]
    } else {
        &["todo:read"]
    }
}

fn client_credentials(state: &AsState, client: &ClientAuth, form: &Form) -> Response {
    let client_id = match client {
        ClientAuth::Confidential(id) => id,
        ClientAuth::Public(id) if state.defect(AsDefect::CcPublicClient) => id,
        ClientAuth::Public(_) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized_client",
                "client_credentials requires a confidential client",
            )
        }
    };
    let audience = form
        .get("resource")
        .filter(|_| !state.defect(AsDefect::CcIgnoreResource))
        // A client that authenticated with a JWT assertion got its token from an assertion grant.
        .filter(|_| {
            !(form.contains_key("client_assertion")
                && state.defect(AsDefect::AssertionTokenIgnoresResource))
        })
        .map(|r| state.minter().persona().audience_for(r))
        .or_else(|| state.inner.default_audience.clone());
    let allowed = machine_scopes(client_id);
    let scope = form.get("scope").map(|requested| {
        scope_tokens(requested)
            .filter(|s| allowed.contains(s) || state.defect(AsDefect::CcAnyScope))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let spec = TokenSpec {
        sub: client_id.clone(),
        roles: Vec::new(),
        permissions: Vec::new(),
        audience: audience.map_or(Audience::Absent, Audience::One),
        scope,
        client_id: client_id.clone(),
        lifetime_secs: ACCESS_TOKEN_LIFETIME_SECS,
    };
    let access_token = state.minter().mint(&spec);
    let mut body = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
    });
    if let Some(scope) = spec.scope {
        body["scope"] = json!(scope);
    }
    if state.defect(AsDefect::CcRefreshToken) {
        body["refresh_token"] = json!(state.minter().random_token(32));
    }
    token_response(state, body)
}

/// The access token of a jwt-bearer grant (no user): `aud` is the resource (or the default audience).
pub(super) fn machine_token(
    state: &AsState,
    sub: &str,
    client_id: &str,
    resource: Option<&str>,
    scope: Option<String>,
) -> Response {
    let audience = resource
        .map(|r| state.minter().persona().audience_for(r))
        .or_else(|| state.inner.default_audience.clone());
    let spec = TokenSpec {
        sub: sub.to_owned(),
        roles: Vec::new(),
        permissions: Vec::new(),
        audience: audience.map_or(Audience::Absent, Audience::One),
        scope,
        client_id: client_id.to_owned(),
        lifetime_secs: ACCESS_TOKEN_LIFETIME_SECS,
    };
    let access_token = state.minter().mint(&spec);
    let mut body = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_LIFETIME_SECS,
    });
    if let Some(scope) = spec.scope {
        body["scope"] = json!(scope);
    }
    token_response(state, body)
}

pub(super) fn token_response(state: &AsState, body: Value) -> Response {
    let mut response = (StatusCode::OK, Json(body)).into_response();
    if !state.defect(AsDefect::TokenResponseCacheable) {
        no_store(response.headers_mut());
    }
    response
}

/// What a user grant issues.
struct Issue<'a> {
    resource: Option<String>,
    scope: String,
    family: String,
    nonce: Option<&'a str>,
    /// Answer with this refresh token instead of a new one (target defect
    /// `no-refresh-rotation`).
    reuse_refresh: Option<String>,
    /// The DPoP key the access token is bound to (`cnf.jkt`, `token_type: DPoP`).
    jkt: Option<String>,
    /// The DPoP key a new refresh token is bound to.
    refresh_jkt: Option<String>,
}

impl AsState {
    /// Mints a user's access token: `(token, jti, lifetime)`. `aud` is the resource (or the
    /// default audience); the target defects `long-lived-tokens`, `ignore-resource` and
    /// `at-without-typ` alter it.
    pub(super) fn mint_access_token(
        &self,
        user: &User,
        client_id: &str,
        resource: Option<String>,
        scope: &str,
    ) -> (String, String, i64) {
        self.mint_bound_access_token(user, client_id, resource, scope, None)
    }

    /// [`AsState::mint_access_token`], with `cnf.jkt` when the token is DPoP-bound (RFC 9449 §6.1).
    pub(super) fn mint_bound_access_token(
        &self,
        user: &User,
        client_id: &str,
        resource: Option<String>,
        scope: &str,
        jkt: Option<&str>,
    ) -> (String, String, i64) {
        let lifetime = if self.defect(AsDefect::LongLivedTokens) {
            LONG_LIFETIME_SECS
        } else {
            ACCESS_TOKEN_LIFETIME_SECS
        };
        let audience = resource
            .filter(|_| !self.defect(AsDefect::IgnoreResource))
            .map(|r| self.minter().persona().audience_for(&r))
            .or_else(|| self.inner.default_audience.clone());
        let spec = TokenSpec {
            sub: user.sub.clone(),
            roles: vec![user.role.clone()],
            permissions: user.permissions.clone(),
            audience: audience.map_or(Audience::Absent, Audience::One),
            scope: Some(scope.to_owned()),
            client_id: client_id.to_owned(),
            lifetime_secs: lifetime,
        };
        let minter = self.minter();
        let mut claims = minter.claims(&spec);
        if let Some(jkt) = jkt {
            claims.insert("cnf".into(), json!({ "jkt": jkt }));
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut header = minter.header();
        if self.defect(AsDefect::AtWithoutTyp) {
            header.insert("typ".into(), json!("JWT"));
        }
        let token = jws::sign_compact(&Value::Object(header), &Value::Object(claims), minter.key());
        (token, jti, lifetime)
    }
}

/// Mints the access token (and refresh token, and ID token for `openid`) of a user grant;
/// also returns the access token's `jti`.
fn issue(state: &AsState, user: &User, client_id: &str, grant: Issue<'_>) -> (Response, String) {
    let jkt = grant
        .jkt
        .as_deref()
        .filter(|_| !state.defect(AsDefect::DpopUnboundToken));
    let (access_token, jti, lifetime) =
        state.mint_bound_access_token(user, client_id, grant.resource.clone(), &grant.scope, jkt);
    let minter = state.minter();
    let refresh_token = match grant.reuse_refresh {
        Some(same) => same,
        None => {
            let fresh = minter.random_token(32);
            state.store().refresh.insert(
                fresh.clone(),
                RefreshGrant {
                    family: grant.family,
                    client_id: client_id.to_owned(),
                    user: user.name.clone(),
                    resource: grant.resource,
                    scope: grant.scope.clone(),
                    used: false,
                    jkt: grant.refresh_jkt,
                },
            );
            fresh
        }
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": lifetime,
        "scope": grant.scope,
        "refresh_token": refresh_token,
    });
    if state.defect(AsDefect::OmitGrantedScope) {
        if let Some(map) = body.as_object_mut() {
            map.remove("scope");
        }
    }
    if scope_tokens(&grant.scope).any(|s| s == "openid") {
        body["id_token"] = json!(minter.mint_id_token(&user.sub, client_id, grant.nonce));
    }
    if state.defect(AsDefect::FedPassesIdpToken) {
        if let Some(idp_token) = state.federation().and_then(|f| f.id_token_of(&user.name)) {
            body["id_token"] = json!(idp_token);
        }
    }
    (token_response(state, body), jti)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::users::Users;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[rstest]
    #[case::rfc7636_appendix_b(VERIFIER, true)]
    #[case::wrong_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK", false)]
    #[case::challenge_as_verifier(CHALLENGE, false)]
    #[case::too_short("abc", false)]
    fn pkce_s256_verification(#[case] verifier: &str, #[case] ok: bool) {
        assert_eq!(pkce_ok(verifier, CHALLENGE), ok);
    }

    #[rstest]
    #[case::none_requested_grants_permissions("bob", None, "todo:read")]
    #[case::write_dropped_for_bob("bob", Some("todo:read todo:write"), "todo:read")]
    #[case::oidc_kept("alice", Some("openid todo:write admin"), "openid todo:write")]
    fn scope_is_requested_intersect_permissions(
        #[case] user: &str,
        #[case] requested: Option<&str>,
        #[case] expected: &str,
    ) {
        let users = Users::fixture();
        assert_eq!(granted_scope(requested, users.get(user).unwrap()), expected);
    }
}
