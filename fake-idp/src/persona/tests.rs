//! The personas' shapes: claims, the forge's inheritance of them, and their identifiers and paths.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::clock::FixedClock;
use crate::danger::{Forge, TokenMutation};
use crate::keys::SigningKey;
use crate::token::Minter;
use crate::users::Users;

const ROOT: &str = "http://127.0.0.1:9400";
const RESOURCE: &str = "http://127.0.0.1:8080/mcp";

fn scalekit(issuer_form: ScalekitIssuer) -> Persona {
    Persona::Scalekit {
        resource_id: "res_todo".into(),
        issuer_form,
    }
}

fn auth0() -> Persona {
    Persona::Auth0 {
        audience: Some("https://api.todo.example".into()),
    }
}

fn keycloak() -> Persona {
    Persona::Keycloak {
        realm: "story".into(),
        audience: None,
    }
}

fn minter(persona: &Persona) -> Minter {
    Minter::new(
        persona.token_issuer(ROOT),
        SigningKey::as_signing_key(),
        Arc::new(FixedClock(1_000_000)),
        7,
    )
    .with_persona(persona.clone())
}

/// The honest token spec of `user` for the server, with the persona's audience.
fn spec(persona: &Persona, user: &str) -> TokenSpec {
    TokenSpec::for_user(
        Users::fixture().get(user).unwrap(),
        persona.audience_for(RESOURCE),
        "client-1",
    )
}

fn names(claims: &Map<String, Value>) -> Vec<&str> {
    let mut names: Vec<&str> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    names
}

#[test]
fn generic_claims_are_the_suite_s_own_shape() {
    let p = Persona::Generic;
    let claims = minter(&p).claims(&spec(&p, "bob"));
    assert_eq!(
        names(&claims),
        [
            "aud",
            "client_id",
            "exp",
            "iat",
            "iss",
            "jti",
            "nbf",
            "permissions",
            "roles",
            "scope",
            "sub"
        ]
    );
    assert_eq!(claims["iss"], ROOT);
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(claims["scope"], "todo:read");
}

#[test]
fn scalekit_claims_carry_the_resource_id_as_an_array_audience_and_the_documented_claims() {
    let p = scalekit(ScalekitIssuer::Environment);
    let claims = minter(&p).claims(&spec(&p, "bob"));
    assert_eq!(claims["aud"], json!(["res_todo"]));
    assert_eq!(claims["iss"], ROOT);
    assert_eq!(claims["client_id"], "client-1");
    assert_eq!(claims["roles"], json!(["read_only"]));
    assert_eq!(claims["permissions"], json!(["todo:read"]));
    assert_eq!(claims["scope"], "todo:read");
    assert_eq!(claims["oid"], "org_conformance");
    assert!(claims["sid"].as_str().unwrap().starts_with("ses_"));
}

#[test]
fn scalekit_resource_form_issues_the_resource_scoped_issuer() {
    let p = scalekit(ScalekitIssuer::Resource);
    assert_eq!(p.token_issuer(ROOT), format!("{ROOT}/resources/res_todo"));
    assert_eq!(
        minter(&p).claims(&spec(&p, "alice"))["iss"],
        format!("{ROOT}/resources/res_todo")
    );
}

#[test]
fn auth0_claims_carry_permissions_and_azp_under_the_slash_terminated_issuer() {
    let p = auth0();
    let claims = minter(&p).claims(&spec(&p, "alice"));
    assert_eq!(claims["iss"], format!("{ROOT}/"));
    assert_eq!(claims["aud"], "https://api.todo.example");
    assert_eq!(claims["azp"], "client-1");
    assert_eq!(claims["permissions"], json!(["todo:read", "todo:write"]));
    assert_eq!(claims["scope"], "todo:read todo:write");
    assert!(!claims.contains_key("roles") && !claims.contains_key("client_id"));
}

#[test]
fn keycloak_claims_carry_realm_roles_azp_typ_and_openid_scope() {
    let p = keycloak();
    let claims = minter(&p).claims(&spec(&p, "bob"));
    assert_eq!(claims["iss"], format!("{ROOT}/realms/story"));
    assert_eq!(
        claims["aud"], RESOURCE,
        "no audience configured: the resource"
    );
    assert_eq!(claims["realm_access"], json!({"roles": ["read_only"]}));
    assert_eq!(claims["azp"], "client-1");
    assert_eq!(claims["typ"], "Bearer");
    assert_eq!(claims["scope"], "openid todo:read");
    assert!(!claims.contains_key("roles") && !claims.contains_key("permissions"));
}

#[test]
fn a_forged_wrong_audience_keeps_the_persona_s_audience_form() {
    let p = scalekit(ScalekitIssuer::Environment);
    let forge = Forge::new(minter(&p));
    let token = forge.forge(
        &spec(&p, "alice"),
        &TokenMutation::Audience(Audience::One("res_other".into())),
    );
    let claims = crate::jws::decode(&token).unwrap().claims;
    assert_eq!(claims["aud"], json!(["res_other"]));
    assert_eq!(claims["iss"], ROOT);
    assert_eq!(claims["oid"], "org_conformance");
}

#[test]
fn every_forged_token_has_the_persona_s_claims() {
    let p = keycloak();
    let forge = Forge::new(minter(&p));
    for mutation in [
        TokenMutation::Expired,
        TokenMutation::Issuer("https://attacker.example".into()),
        TokenMutation::AttackerKeyRealKid,
        TokenMutation::Typ(None),
    ] {
        let token = forge.forge(&spec(&p, "alice"), &mutation);
        let claims = crate::jws::decode(&token).unwrap().claims;
        assert_eq!(
            claims["realm_access"],
            json!({"roles": ["full_access"]}),
            "{mutation:?}"
        );
        assert_eq!(claims["azp"], "client-1", "{mutation:?}");
    }
}

#[test]
fn each_persona_names_its_as_identifier_and_jwks_path() {
    let cases = [
        (Persona::Generic, ROOT.to_owned(), "/jwks"),
        (
            scalekit(ScalekitIssuer::Environment),
            format!("{ROOT}/resources/res_todo"),
            "/keys",
        ),
        (auth0(), format!("{ROOT}/"), "/.well-known/jwks.json"),
        (
            keycloak(),
            format!("{ROOT}/realms/story"),
            "/realms/story/protocol/openid-connect/certs",
        ),
    ];
    for (persona, id, jwks) in cases {
        assert_eq!(persona.as_identifier(ROOT), id, "{}", persona.name());
        assert_eq!(persona.jwks_path(), jwks, "{}", persona.name());
    }
}

#[test]
fn the_persona_audience_replaces_the_resource_only_when_the_persona_binds_one() {
    assert_eq!(Persona::Generic.audience_for(RESOURCE), RESOURCE);
    assert_eq!(
        scalekit(ScalekitIssuer::Resource).audience_for(RESOURCE),
        "res_todo"
    );
    assert_eq!(auth0().audience_for(RESOURCE), "https://api.todo.example");
    assert_eq!(keycloak().audience_for(RESOURCE), RESOURCE);
}
