//! Registered clients, client authentication and redirect URI matching.

use std::net::IpAddr;

use axum::http::HeaderMap;
use url::Url;

use super::target::AsDefect;
use super::{basic_credentials, AsState};

/// The confidential client the resource server uses for introspection.
pub const INTROSPECTION_CLIENT_ID: &str = "todo-server";
/// Its secret (test-only).
pub const INTROSPECTION_CLIENT_SECRET: &str = "todo-server-test-secret";
/// A pre-registered public client with loopback redirect URIs.
pub const PUBLIC_CLIENT_ID: &str = "conformance-client";

/// A client known to the authorization server.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisteredClient {
    /// `client_id`.
    pub client_id: String,
    /// `Some` for a confidential client.
    pub client_secret: Option<String>,
    /// Exact redirect URIs (loopback IP literals match on any port).
    pub redirect_uris: Vec<String>,
}

impl std::fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClient")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("redirect_uris", &self.redirect_uris)
            .finish()
    }
}

impl RegisteredClient {
    /// A public client (no secret).
    pub fn public(client_id: impl Into<String>, redirect_uris: Vec<String>) -> RegisteredClient {
        RegisteredClient {
            client_id: client_id.into(),
            client_secret: None,
            redirect_uris,
        }
    }

    /// A confidential client authenticating with `client_secret_basic` or `_post`.
    pub fn confidential(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uris: Vec<String>,
    ) -> RegisteredClient {
        RegisteredClient {
            client_id: client_id.into(),
            client_secret: Some(client_secret.into()),
            redirect_uris,
        }
    }

    /// Whether `requested` is one of this client's redirect URIs (OAuth 2.1 §2.3.1, §8.4.2).
    pub fn allows_redirect(&self, requested: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| redirect_matches(registered, requested))
    }
}

pub(super) fn preregistered() -> Vec<RegisteredClient> {
    vec![
        RegisteredClient::confidential(
            INTROSPECTION_CLIENT_ID,
            INTROSPECTION_CLIENT_SECRET,
            Vec::new(),
        ),
        RegisteredClient::public(
            PUBLIC_CLIENT_ID,
            vec![
                "http://127.0.0.1/callback".to_owned(),
                "http://[::1]/callback".to_owned(),
            ],
        ),
    ]
}

/// Exact string match, except that for loopback IP literal `http` URIs the port may differ.
pub(crate) fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(reg), Ok(req)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    let loopback_ip = |u: &Url| {
        u.scheme() == "http"
            && match u.host() {
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                _ => false,
            }
    };
    loopback_ip(&reg)
        && loopback_ip(&req)
        && reg.host() == req.host()
        && reg.path() == req.path()
        && reg.query() == req.query()
        && reg.fragment().is_none()
        && req.fragment().is_none()
        && reg.username() == req.username()
        && reg.password() == req.password()
}

/// Whether a redirect URI is acceptable at registration: https, or http on loopback.
pub(crate) fn acceptable_redirect_uri(uri: &str) -> bool {
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    if url.fragment().is_some() {
        return false;
    }
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        },
        // Private-use schemes of native apps (RFC 8252 §7.1) contain a dot.
        scheme => scheme.contains('.'),
    }
}

/// How a client authenticated at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ClientAuth {
    /// A confidential client proved its secret.
    Confidential(String),
    /// A public client (registered, DCR or CIMD) named itself.
    Public(String),
}

impl ClientAuth {
    pub(super) fn client_id(&self) -> &str {
        match self {
            ClientAuth::Confidential(id) | ClientAuth::Public(id) => id,
        }
    }
}

/// Why client authentication failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AuthFailure {
    /// No credentials and no `client_id`.
    Missing,
    /// Unknown client or wrong secret.
    Invalid(&'static str),
}

impl AsState {
    pub(super) fn client(&self, client_id: &str) -> Option<RegisteredClient> {
        self.store().clients.get(client_id).cloned()
    }

    /// A registered client, or (target mode) a CIMD client resolved at `/authorize`.
    fn known_client(&self, client_id: &str) -> Option<RegisteredClient> {
        let store = self.store();
        store
            .clients
            .get(client_id)
            .or_else(|| store.cimd_clients.get(client_id))
            .cloned()
    }

    /// Client authentication per RFC 6749 §2.3: Basic, then form secret, else public.
    pub(super) fn authenticate_client(
        &self,
        headers: &HeaderMap,
        form: &std::collections::HashMap<String, String>,
    ) -> Result<ClientAuth, AuthFailure> {
        if let Some(asserted) = super::assertion::client_assertion(self, form) {
            return asserted
                .map(ClientAuth::Confidential)
                .map_err(AuthFailure::Invalid);
        }
        let presented = basic_credentials(headers).or_else(|| {
            Some((
                form.get("client_id")?.clone(),
                form.get("client_secret")?.clone(),
            ))
        });
        if let Some((id, secret)) = presented {
            if let Some(form_id) = form.get("client_id") {
                if *form_id != id {
                    return Err(AuthFailure::Invalid("client_id does not match credentials"));
                }
            }
            return match self.known_client(&id) {
                Some(c) if c.client_secret.as_deref() == Some(secret.as_str()) => {
                    Ok(ClientAuth::Confidential(id))
                }
                _ => Err(AuthFailure::Invalid("client authentication failed")),
            };
        }
        let id = form.get("client_id").ok_or(AuthFailure::Missing)?;
        match self.known_client(id) {
            Some(c)
                if c.client_secret.is_some() && !self.defect(AsDefect::ConfidentialWithoutAuth) =>
            {
                Err(AuthFailure::Invalid(
                    "confidential client must authenticate",
                ))
            }
            Some(_) => Ok(ClientAuth::Public(id.clone())),
            None if super::cimd::is_cimd_client_id(id) => Ok(ClientAuth::Public(id.clone())),
            None => Err(AuthFailure::Invalid("unknown client")),
        }
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::exact("https://app.example/cb", "https://app.example/cb", true)]
    #[case::loopback_port_differs(
        "http://127.0.0.1/callback",
        "http://127.0.0.1:54321/callback",
        true
    )]
    #[case::ipv6_loopback_port("http://[::1]:1/cb", "http://[::1]:2/cb", true)]
    #[case::localhost_port_is_exact("http://localhost/cb", "http://localhost:1/cb", false)]
    #[case::path_differs("http://127.0.0.1/callback", "http://127.0.0.1:1/other", false)]
    #[case::https_port_is_exact("https://app.example/cb", "https://app.example:444/cb", false)]
    #[case::trailing_slash("https://app.example/cb", "https://app.example/cb/", false)]
    fn redirect_uri_matching(#[case] registered: &str, #[case] requested: &str, #[case] ok: bool) {
        assert_eq!(redirect_matches(registered, requested), ok);
    }

    #[rstest]
    #[case::https("https://app.example/cb", true)]
    #[case::loopback_http("http://127.0.0.1:3000/cb", true)]
    #[case::localhost_http("http://localhost:3000/cb", true)]
    #[case::remote_http("http://app.example/cb", false)]
    #[case::fragment("https://app.example/cb#x", false)]
    #[case::garbage("not a url", false)]
    fn registration_redirect_policy(#[case] uri: &str, #[case] ok: bool) {
        assert_eq!(acceptable_redirect_uri(uri), ok);
    }
}
