//! RFC 8414 / OpenID discovery documents and the JWKS.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use url::Url;

use super::target::AsDefect;
use super::AsState;

/// The RFC 8414 metadata document of `issuer`.
pub fn metadata_document(issuer: &str) -> Value {
    metadata_document_at(issuer, issuer, &format!("{issuer}/jwks"))
}

/// The RFC 8414 metadata document of the AS identified by `issuer` whose endpoints are under `base` and whose
/// keys are at `jwks_uri` (a persona's identifier need not be its endpoints' base).
pub fn metadata_document_at(issuer: &str, base: &str, jwks_uri: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "introspection_endpoint": format!("{base}/introspect"),
        "revocation_endpoint": format!("{base}/revoke"),
        "registration_endpoint": format!("{base}/register"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": jwks_uri,
        "scopes_supported": ["openid", "profile", "email", "todo:read", "todo:write", "offline_access"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", super::exchange::TOKEN_EXCHANGE_GRANT],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    })
}

/// The persona's document for `issuer` (endpoints under the root, keys at the persona's JWKS path).
fn persona_document(state: &AsState, issuer: &str, openid: bool) -> Value {
    let root = state.issuer();
    let jwks_uri = format!("{root}{}", state.persona().jwks_path());
    let mut doc = metadata_document_at(issuer, root, &jwks_uri);
    if openid {
        doc["subject_types_supported"] = json!(["public"]);
        doc["id_token_signing_alg_values_supported"] = json!(["RS256"]);
        doc["claims_supported"] = json!(["sub", "name", "iss", "aud", "exp", "iat", "nonce"]);
    }
    doc
}

pub(super) async fn oauth_metadata(State(state): State<AsState>) -> Response {
    let issuer = state.persona().root_metadata_issuer(state.issuer());
    serve(&state, persona_document(&state, &issuer, false))
}

pub(super) async fn openid_configuration(State(state): State<AsState>) -> Response {
    let issuer = state.persona().root_metadata_issuer(state.issuer());
    serve(&state, persona_document(&state, &issuer, true))
}

/// A persona's own metadata route (e.g. Scalekit's resource-scoped document, Keycloak's realm documents).
pub(super) async fn persona_metadata(
    State(state): State<AsState>,
    issuer: String,
    openid: bool,
) -> Response {
    serve(&state, persona_document(&state, &issuer, openid))
}

/// Applies the metadata defect of target mode (if any) and serves the document.
fn serve(state: &AsState, mut doc: Value) -> Response {
    if state.defect(AsDefect::NoMetadata) {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    let issuer = state.issuer();
    if let Some(map) = doc.as_object_mut() {
        if state.defect(AsDefect::MetadataWrongIssuer) {
            map.insert("issuer".into(), json!(format!("{issuer}/")));
        }
        if state.defect(AsDefect::MetadataMissingTokenEndpoint) {
            map.remove("token_endpoint");
        }
        if state.defect(AsDefect::MetadataNoPkceMethods) {
            map.remove("code_challenge_methods_supported");
        }
        if state.defect(AsDefect::MetadataNoCimdFlag) {
            map.remove("client_id_metadata_document_supported");
        }
        if state.defect(AsDefect::IssNotAdvertised) || state.defect(AsDefect::NoIss) {
            map.remove("authorization_response_iss_parameter_supported");
        }
        if state.defect(AsDefect::MetadataInsecureEndpoint) {
            let port = Url::parse(issuer)
                .ok()
                .and_then(|u| u.port_or_known_default())
                .unwrap_or(80);
            map.insert(
                "registration_endpoint".into(),
                json!(format!("http://as.conformance.test:{port}/register")),
            );
        }
        if let Some(origin) = state.plain_http_token_origin() {
            map.insert("token_endpoint".into(), json!(format!("{origin}/token")));
        }
        super::assertion::advertise(state, map);
        if state.is_target() {
            // DPoP (RFC 9449 §5.1): the token endpoint binds tokens to proofs with these algorithms.
            map.insert(
                "dpop_signing_alg_values_supported".into(),
                json!(crate::dpop::SUPPORTED_ALGS),
            );
        }
        if state.defect(AsDefect::MetadataEmptyArray) {
            map.insert("acr_values_supported".into(), json!([]));
        }
    }
    if state.defect(AsDefect::MetadataWrongContentType) {
        return ([(header::CONTENT_TYPE, "text/plain")], doc.to_string()).into_response();
    }
    Json(doc).into_response()
}

pub(super) async fn jwks(State(state): State<AsState>) -> Json<Value> {
    Json(state.public_jwks())
}
