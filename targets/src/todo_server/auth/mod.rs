//! Authentication: extracting the bearer token (RFC 6750 §2.1, header only) and validating it
//! (JWT per RFC 9068 §4, or RFC 7662 introspection).

mod dpop;
mod introspection;
mod jwks;
mod jwt;

use std::collections::BTreeSet;

use axum::http::{header::AUTHORIZATION, HeaderMap};

use super::http::{FetchError, Http};
use super::{ServerDefect, Settings, ValidationMode};

pub(crate) use dpop::enforce as enforce_dpop;
pub(crate) use introspection::Introspector;
pub(crate) use jwt::JwtValidator;

/// The authenticated party of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal {
    /// The token's `sub` (sessions are bound to it).
    pub(crate) sub: Option<String>,
    /// The granted scopes.
    pub(crate) scopes: BTreeSet<String>,
    /// The token's DPoP binding (`cnf.jkt`, RFC 9449 §6), when it has one.
    pub(crate) cnf_jkt: Option<String>,
}

impl Principal {
    pub(crate) fn new(sub: Option<String>, scope: Option<&str>) -> Principal {
        let scopes = scope
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Principal {
            sub,
            scopes,
            cnf_jkt: None,
        }
    }

    /// The same principal bound to the key thumbprint in `cnf` (a token or introspection member), if any.
    pub(crate) fn bound_by(mut self, cnf: Option<&serde_json::Value>) -> Principal {
        self.cnf_jkt = cnf
            .and_then(|c| c.get("jkt"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        self
    }

    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

/// Why the Authorization header could not be used (answered with 400 `invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MalformedAuthorization {
    #[error("more than one Authorization header")]
    Repeated,
    #[error("Authorization header is not visible ASCII")]
    NotAscii,
    #[error("Bearer credentials carry no token")]
    EmptyToken,
    #[error("Bearer credentials must be exactly one token")]
    ExtraWords,
}

/// What the request presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presented {
    /// No usable bearer credentials (no header, or another scheme).
    Nothing,
    /// A token to validate (the `Bearer` scheme).
    Token(String),
    /// A token presented with the `DPoP` scheme (RFC 9449 §7.1), to validate with its proof.
    Dpop(String),
}

/// Extracts the bearer token from the `Authorization` header. The query is consulted only under
/// [`ServerDefect::AcceptQueryToken`].
pub(crate) fn extract_token(
    headers: &HeaderMap,
    query: Option<&str>,
    settings: &Settings,
) -> Result<Presented, MalformedAuthorization> {
    let lenient = settings.has(ServerDefect::LenientAuthorizationHeader);
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        if settings.has(ServerDefect::AcceptQueryToken) {
            if let Some(token) = query_token(query) {
                return Ok(Presented::Token(token));
            }
        }
        return Ok(Presented::Nothing);
    };
    if values.next().is_some() && !lenient {
        return Err(MalformedAuthorization::Repeated);
    }
    let value = first
        .to_str()
        .map_err(|_| MalformedAuthorization::NotAscii)?;
    let (scheme, rest) = match value.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest),
        None => (value, ""),
    };
    let is_bearer = if settings.has(ServerDefect::CaseSensitiveBearer) {
        scheme == "Bearer"
    } else {
        scheme.eq_ignore_ascii_case("bearer")
    };
    let is_dpop =
        scheme.eq_ignore_ascii_case("dpop") && !settings.has(ServerDefect::DpopSchemeUnrecognised);
    let wrap = if is_bearer {
        Presented::Token
    } else if is_dpop {
        Presented::Dpop
    } else {
        return Ok(Presented::Nothing);
    };
    let mut words = rest.split_ascii_whitespace();
    match (words.next(), words.next()) {
        (None, _) if lenient => Ok(wrap(String::new())),
        (None, _) => Err(MalformedAuthorization::EmptyToken),
        (Some(token), None) => Ok(wrap(token.to_owned())),
        (Some(token), Some(_)) if lenient => Ok(wrap(token.to_owned())),
        (Some(_), Some(_)) => Err(MalformedAuthorization::ExtraWords),
    }
}

fn query_token(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Why a presented token was refused (401 `invalid_token`). The description is safe to put in a
/// challenge (no quotes or backslashes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("token algorithm is not accepted")]
    Algorithm,
    #[error("token type is not at+jwt")]
    Type,
    #[error("token signing key is not in the issuer JWKS")]
    UnknownKey,
    #[error("token signature is invalid")]
    Signature,
    #[error("token issuer is not trusted")]
    Issuer,
    #[error("token has expired")]
    Expired,
    #[error("token is not yet valid")]
    NotYetValid,
    #[error("token is missing a required claim")]
    MissingClaim,
    #[error("token audience does not include this resource")]
    Audience,
    #[error("token is not active")]
    Inactive,
    #[error("token is DPoP-bound and must be presented with the DPoP scheme and a proof")]
    BoundAsBearer,
    #[error("{0}")]
    Dpop(fake_idp::dpop::ProofError),
}

/// Why validation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ValidationFailure {
    /// The token is bad: 401.
    #[error(transparent)]
    Invalid(#[from] TokenError),
    /// The issuer could not be asked (JWKS or introspection unreachable): 503.
    #[error("authorization server unavailable: {0}")]
    Unavailable(#[from] FetchError),
}

/// The token validator of one server.
#[derive(Debug)]
pub(crate) enum Validator {
    Jwt(JwtValidator),
    Introspection(Introspector),
}

impl Validator {
    pub(crate) fn new(settings: &Settings, http: Http) -> Validator {
        match settings.mode {
            ValidationMode::Introspection => {
                Validator::Introspection(Introspector::new(settings.introspection.clone(), http))
            }
            ValidationMode::Jwt => Validator::Jwt(JwtValidator::new(settings, http)),
        }
    }

    pub(crate) async fn validate(
        &self,
        token: &str,
        settings: &Settings,
    ) -> Result<Principal, ValidationFailure> {
        match self {
            Validator::Jwt(v) => v.validate(token, settings).await,
            Validator::Introspection(v) => v.validate(token, settings).await,
        }
    }
}

/// Canonical form for audience comparison (MCP §8.1): scheme and host lower-cased, the rest exact.
pub(crate) fn canonical_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase(),
        tail
    )
}

/// Whether an `aud` value (string or array of strings) names this resource (or the configured audience).
pub(crate) fn audience_matches(aud: Option<&serde_json::Value>, settings: &Settings) -> bool {
    let strict = settings.has(ServerDefect::StrictCaseAudience);
    let expected = canonical_uri(&settings.audience);
    let matches = |candidate: &str| {
        if strict {
            candidate == settings.audience
        } else {
            canonical_uri(candidate) == expected
        }
    };
    match aud {
        Some(serde_json::Value::String(s)) => matches(s),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(serde_json::Value::as_str)
            .any(matches),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uri_lowercases_scheme_and_host_only() {
        assert_eq!(
            canonical_uri("HTTP://Example.COM:8/MCP?A#B"),
            "http://example.com:8/MCP?A#B"
        );
        assert_eq!(canonical_uri("not a url"), "not a url");
    }
}
