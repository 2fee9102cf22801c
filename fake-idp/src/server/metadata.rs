//! RFC 8414 / OpenID discovery documents and the JWKS.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::AsState;

/// The RFC 8414 metadata document of `issuer`.
pub fn metadata_document(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "registration_endpoint": format!("{issuer}/register"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "jwks_uri": format!("{issuer}/jwks"),
        "scopes_supported": ["openid", "profile", "email", "todo:read", "todo:write", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    })
}

pub(super) async fn oauth_metadata(State(state): State<AsState>) -> Json<Value> {
    Json(metadata_document(state.issuer()))
}

pub(super) async fn openid_configuration(State(state): State<AsState>) -> Json<Value> {
    let mut doc = metadata_document(state.issuer());
    doc["subject_types_supported"] = json!(["public"]);
    doc["id_token_signing_alg_values_supported"] = json!(["RS256"]);
    doc["claims_supported"] = json!(["sub", "name", "iss", "aud", "exp", "iat", "nonce"]);
    Json(doc)
}

pub(super) async fn jwks(State(state): State<AsState>) -> Json<Value> {
    Json(json!({ "keys": [state.minter().key().public_jwk()] }))
}
