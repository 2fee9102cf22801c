//! RFC 8693 token exchange at `POST /token` (docs/design/obo.md §1): a confidential client (the
//! actor) trades a user's access token for its own resource for a token for an upstream,
//! on the user's behalf: `sub` = the user, `act.sub` = the actor, scope never wider than the
//! subject's, `exp` never later than the subject's.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};
use url::Url;

use super::clients::{AuthFailure, ClientAuth};
use super::target::AsDefect;
use super::tokens::token_response;
use super::{oauth_error, scope_tokens, AsState, ACCESS_TOKEN_LIFETIME_SECS};
use crate::jws;
use crate::token::{Audience, TokenSpec};

/// The RFC 8693 grant type.
pub(crate) const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The only subject (and issued) token type: an access token of this AS.
pub(crate) const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

type Form = HashMap<String, String>;

fn bad_request(error: &str, description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, error, description)
}

/// 401 `invalid_client` with a Basic challenge (400 without it under
/// `basic-failure-without-challenge`, as for the other grants).
fn invalid_client(state: &AsState, description: &str) -> Response {
    if state.defect(AsDefect::BasicFailureWithoutChallenge) {
        return bad_request("invalid_client", description);
    }
    let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"fake-idp\""),
    );
    r
}

/// The authenticated actor, or why client authentication failed. Under
/// `exchange-without-client-auth` an unauthenticated request is accepted: the actor is then
/// the `client_id` parameter, if any (`None` otherwise).
fn authenticate_actor(
    state: &AsState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Option<String>, &'static str> {
    let auth = state.authenticate_client(headers, form);
    if let Ok(ClientAuth::Confidential(id)) = auth {
        return Ok(Some(id));
    }
    if state.defect(AsDefect::ExchangeWithoutClientAuth) {
        return Ok(form.get("client_id").cloned());
    }
    Err(match auth {
        Err(AuthFailure::Invalid(why)) => why,
        _ => "token exchange requires the authentication of a confidential client",
    })
}

/// The string values of a claim that is a string or an array of strings.
fn strings(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The requested audiences: `audience` then `resource` (each an absolute URI without a
/// fragment when it is a `resource`), deduplicated.
fn requested_audiences(form: &Form) -> Result<Vec<String>, (&'static str, &'static str)> {
    let mut audiences: Vec<String> = Vec::new();
    if let Some(audience) = form.get("audience").filter(|a| !a.is_empty()) {
        audiences.push(audience.clone());
    }
    if let Some(resource) = form.get("resource").filter(|r| !r.is_empty()) {
        if Url::parse(resource).map_or(true, |u| u.fragment().is_some()) {
            return Err((
                "invalid_target",
                "resource must be an absolute URI without a fragment",
            ));
        }
        if !audiences.contains(resource) {
            audiences.push(resource.clone());
        }
    }
    if audiences.is_empty() {
        return Err(("invalid_request", "audience or resource is required"));
    }
    Ok(audiences)
}

/// requested ∩ subject scope (the requested scope as is under `exchange-scope-escalation`);
/// no request keeps the subject's scope.
fn exchanged_scope(state: &AsState, requested: Option<&str>, subject: &str) -> Vec<String> {
    let subject: Vec<&str> = scope_tokens(subject).collect();
    let mut granted: Vec<String> = Vec::new();
    let wanted: Vec<&str> =
        requested.map_or_else(|| subject.clone(), |r| scope_tokens(r).collect());
    for scope in wanted {
        let allowed = subject.contains(&scope) || state.defect(AsDefect::ExchangeScopeEscalation);
        if allowed && !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_owned());
        }
    }
    granted
}

pub(super) fn token_exchange(state: &AsState, headers: &HeaderMap, form: &Form) -> Response {
    let actor = match authenticate_actor(state, headers, form) {
        Ok(actor) => actor,
        Err(why) => return invalid_client(state, why),
    };
    if form.get("subject_token_type").map(String::as_str) != Some(ACCESS_TOKEN_TYPE) {
        return bad_request(
            "invalid_request",
            "subject_token_type must be urn:ietf:params:oauth:token-type:access_token",
        );
    }
    let Some(subject_token) = form.get("subject_token").filter(|t| !t.is_empty()) else {
        return bad_request("invalid_request", "subject_token is required");
    };
    let audiences = match requested_audiences(form) {
        Ok(a) => a,
        Err((error, why)) => return bad_request(error, why),
    };
    let accept_expired = state.defect(AsDefect::ExchangeAcceptsExpiredSubject);
    let subject = if state.defect(AsDefect::ExchangeAcceptsForgedSubject) {
        crate::jws::decode(subject_token).map(|d| d.claims)
    } else {
        state.verified_claims(subject_token, !accept_expired)
    };
    let Some(subject) = subject else {
        tracing::info!(token = %jws::redact(subject_token), "token exchange: invalid subject token");
        return bad_request(
            "invalid_grant",
            "subject_token is not a valid, unexpired, unrevoked access token of this AS",
        );
    };
    let Some(sub) = subject
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return bad_request("invalid_grant", "subject_token has no sub");
    };
    // Unauthenticated (defect only) and unnamed: the subject's client stands in as the actor.
    let actor = actor
        .or_else(|| {
            subject
                .get("client_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_default();
    if !state.defect(AsDefect::ExchangeIgnoresSubjectAudience) {
        let served = state.actor_resources(&actor);
        if !strings(subject.get("aud"))
            .iter()
            .any(|a| served.contains(a))
        {
            return bad_request(
                "invalid_grant",
                "subject_token is not for a resource the actor serves",
            );
        }
    }
    let subject_scope = subject
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let scope = exchanged_scope(state, form.get("scope").map(String::as_str), subject_scope);
    if scope.is_empty() {
        return bad_request(
            "invalid_scope",
            "the requested scope is not within the subject token's scope",
        );
    }
    let scope = scope.join(" ");
    let minter = state.minter();
    let now = minter.now();
    let mut exp = now + ACCESS_TOKEN_LIFETIME_SECS;
    if let Some(subject_exp) = subject.get("exp").and_then(Value::as_i64) {
        // Never outlive the subject (an expired subject is only accepted by the defect).
        if subject_exp > now {
            exp = exp.min(subject_exp);
        }
    }
    let audience = match audiences.as_slice() {
        [one] => Audience::One(one.clone()),
        _ => Audience::Many(audiences.clone()),
    };
    let spec = TokenSpec {
        sub,
        roles: Vec::new(),
        permissions: Vec::new(),
        audience,
        scope: Some(scope.clone()),
        client_id: actor.clone(),
        lifetime_secs: exp - now,
    };
    let mut claims: Map<String, Value> = minter.claims(&spec);
    claims.remove("roles");
    claims.remove("permissions");
    // Exactly the scope granted by the exchange, whatever the persona's scope form (Keycloak's adds `openid`):
    // RS-OBO-04 judges the scope the server asked for, and the upstream sees only what was granted.
    claims.insert("scope".into(), json!(scope));
    if !state.defect(AsDefect::ExchangeNoActorClaim) {
        let mut act = json!({ "sub": actor });
        // A delegation chain: the prior actor nests (RFC 8693 §4.1).
        if let Some(prior) = subject.get("act") {
            act["act"] = prior.clone();
        }
        claims.insert("act".into(), act);
    }
    let token = jws::sign_compact(
        &Value::Object(minter.header()),
        &Value::Object(claims),
        minter.key(),
    );
    state.events().record_token_exchange();
    tracing::info!(%actor, audience = ?audiences, %scope, "token exchange");
    token_response(
        state,
        json!({
            "access_token": token,
            "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer",
            "expires_in": exp - now,
            "scope": scope,
        }),
    )
}
