//! The "attacker host": a second listener that serves the attacker JWKS (`jku`) and
//! certificate (`x5u`) and records every request, so a check can prove a server fetched nothing.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use crate::danger::{attacker_jwks, ATTACKER_CERT_PEM};
use crate::events::Events;

/// Path of the attacker JWKS.
pub const JWKS_PATH: &str = "/jwks.json";
/// Path of the attacker certificate.
pub const CERT_PATH: &str = "/attacker.pem";

/// Every request is recorded first, then answered.
pub fn router(events: Events) -> Router {
    Router::new().fallback(serve).with_state(events)
}

async fn serve(State(events): State<Events>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    tracing::info!(path, "attacker listener fetched");
    events.record_attacker_fetch(&path);
    match path.as_str() {
        JWKS_PATH => Json(attacker_jwks()).into_response(),
        CERT_PATH => (
            [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
            ATTACKER_CERT_PEM,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
