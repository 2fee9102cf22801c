//! The server-target env contract (README.md "Testing your MCP server"): how a spawned reference server learns whom to trust.
//!
//! Shared by the `todo-server` binary and `mcp-auth-conformance reference-server --env-contract`.

use super::config::{IntrospectionClient, TodoServerConfig, ValidationMode};
use super::defects::ServerDefect;

/// The environment is unusable; the message says which variable and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EnvError(pub String);

/// Reads the contract through `var` (a variable lookup; empty values count as unset). `port` and `defect`
/// come from command-line flags and win over `PORT` and `TODO_SERVER_DEFECT`.
pub fn config_from_env(
    var: impl Fn(&str) -> Option<String>,
    port: Option<String>,
    defect: Option<String>,
) -> Result<(TodoServerConfig, u16), EnvError> {
    let var = |name: &str| {
        var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let required = |name: &str| var(name).ok_or_else(|| EnvError(format!("{name} must be set")));
    let mut config = TodoServerConfig::new(
        required("MCP_CONFORMANCE_ISSUER")?,
        required("MCP_CONFORMANCE_JWKS_URI")?,
    );

    let introspection_url = var("MCP_CONFORMANCE_INTROSPECTION_URL");
    config.mode = match var("TODO_SERVER_MODE") {
        Some(mode) => mode
            .parse::<ValidationMode>()
            .map_err(|e| EnvError(format!("TODO_SERVER_MODE: {e}")))?,
        None if introspection_url.is_some() => ValidationMode::Introspection,
        None => ValidationMode::Jwt,
    };
    if config.mode == ValidationMode::Introspection {
        config.introspection = Some(IntrospectionClient {
            url: introspection_url.ok_or_else(|| {
                EnvError("introspection mode needs MCP_CONFORMANCE_INTROSPECTION_URL".into())
            })?,
            client_id: required("MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID")?,
            client_secret: required("MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET")?,
        });
    } else if let (Some(client_id), Some(client_secret)) = (
        var("MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID"),
        var("MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET"),
    ) {
        // JWT mode does not introspect, but the token exchange authenticates with these.
        config.introspection = Some(IntrospectionClient {
            url: introspection_url
                .unwrap_or_else(|| format!("{}/introspect", config.issuer.trim_end_matches('/'))),
            client_id,
            client_secret,
        });
    }

    if let Some(upstream) = var("MCP_CONFORMANCE_UPSTREAM_URL") {
        http_url("MCP_CONFORMANCE_UPSTREAM_URL", &upstream)?;
        config.upstream_url = Some(upstream);
    }
    if let Some(endpoint) = var("MCP_CONFORMANCE_TOKEN_ENDPOINT") {
        http_url("MCP_CONFORMANCE_TOKEN_ENDPOINT", &endpoint)?;
        config.token_endpoint = Some(endpoint);
    }

    // `--tls-profile strict`: the suite's fakes serve https with its test CA, named by SSL_CERT_FILE.
    if let Some(path) = var("SSL_CERT_FILE") {
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| EnvError(format!("SSL_CERT_FILE `{path}`: {e}")))?;
        config.trust_ca_pem = Some(pem);
    }

    // ...and hands the server the certificate to serve https with (a leaf of the same CA; both or neither).
    match (
        var("MCP_CONFORMANCE_TLS_CERT_FILE"),
        var("MCP_CONFORMANCE_TLS_KEY_FILE"),
    ) {
        (Some(cert), Some(key)) => {
            let read = |name: &str, path: &str| {
                std::fs::read_to_string(path).map_err(|e| EnvError(format!("{name} `{path}`: {e}")))
            };
            let cert_pem = read("MCP_CONFORMANCE_TLS_CERT_FILE", &cert)?;
            let key_pem = read("MCP_CONFORMANCE_TLS_KEY_FILE", &key)?;
            config.tls = Some(
                fake_idp::tls::ServerCert::from_pem(&cert_pem, &key_pem).map_err(|e| {
                    EnvError(format!("MCP_CONFORMANCE_TLS_CERT_FILE/_KEY_FILE: {e}"))
                })?,
            );
        }
        (None, None) => {}
        _ => {
            return Err(EnvError(
                "MCP_CONFORMANCE_TLS_CERT_FILE and MCP_CONFORMANCE_TLS_KEY_FILE go together".into(),
            ))
        }
    }

    config.audience = var("MCP_CONFORMANCE_AUDIENCE");
    // Scalekit's tokens may carry the environment URL as `iss` while the PRM names the resource-scoped AS.
    if let (Some(environment), Some(resource_id)) =
        (var("SCALEKIT_ENVIRONMENT_URL"), var("SCALEKIT_RESOURCE_ID"))
    {
        config.authorization_server = Some(format!(
            "{}/resources/{resource_id}",
            environment.trim_end_matches('/')
        ));
    }

    let mut resource_port = None;
    if let Some(resource) = var("MCP_CONFORMANCE_RESOURCE") {
        let url = url::Url::parse(&resource).map_err(|e| {
            EnvError(format!(
                "MCP_CONFORMANCE_RESOURCE `{resource}` is not a URL: {e}"
            ))
        })?;
        if url.path() != "/mcp" || url.query().is_some() || url.fragment().is_some() {
            return Err(EnvError(format!(
                "MCP_CONFORMANCE_RESOURCE `{resource}` must be <origin>/mcp (this server serves MCP at /mcp)"
            )));
        }
        resource_port = url.port_or_known_default();
        config.public_base = Some(url.origin().ascii_serialization());
    }

    if let Some(d) = defect.or_else(|| var("TODO_SERVER_DEFECT")) {
        config.defect = Some(
            d.parse::<ServerDefect>()
                .map_err(|e| EnvError(e.to_string()))?,
        );
    }

    let port = match port.or_else(|| var("PORT")) {
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| EnvError(format!("port `{p}` is not a number in 0..=65535")))?,
        None => resource_port
            .filter(|_| config.public_base.as_deref().is_some_and(is_loopback_base))
            .unwrap_or(0),
    };
    Ok((config, port))
}

/// `value` must be an absolute http(s) URL.
fn http_url(name: &str, value: &str) -> Result<(), EnvError> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        Ok(_) => Err(EnvError(format!("{name} `{value}` must be an http(s) URL"))),
        Err(e) => Err(EnvError(format!("{name} `{value}` is not a URL: {e}"))),
    }
}

fn is_loopback_base(base: &str) -> bool {
    base.contains("://127.") || base.contains("://localhost") || base.contains("://[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_contract_configures_introspection_mode_and_the_resource() {
        let (c, port) = config_from_env(
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "http://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "http://127.0.0.1:9400/jwks"),
                (
                    "MCP_CONFORMANCE_INTROSPECTION_URL",
                    "http://127.0.0.1:9400/introspect",
                ),
                ("MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID", "todo-server"),
                ("MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET", "s"),
                ("MCP_CONFORMANCE_RESOURCE", "http://127.0.0.1:7001/mcp"),
                ("PORT", "7001"),
            ]),
            None,
            None,
        )
        .unwrap();
        assert_eq!(c.mode, ValidationMode::Introspection);
        assert_eq!(c.public_base.as_deref(), Some("http://127.0.0.1:7001"));
        assert_eq!(port, 7001);
    }

    #[test]
    fn a_scalekit_persona_sets_the_audience_and_the_resource_scoped_authorization_server() {
        let (c, _) = config_from_env(
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "http://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "http://127.0.0.1:9400/keys"),
                ("MCP_CONFORMANCE_AUDIENCE", "res_todo"),
                ("SCALEKIT_ENVIRONMENT_URL", "http://127.0.0.1:9400"),
                ("SCALEKIT_RESOURCE_ID", "res_todo"),
            ]),
            None,
            None,
        )
        .unwrap();
        assert_eq!(c.audience.as_deref(), Some("res_todo"));
        assert_eq!(
            c.authorization_server.as_deref(),
            Some("http://127.0.0.1:9400/resources/res_todo")
        );
    }

    #[test]
    fn without_a_persona_the_audience_and_authorization_server_are_left_to_their_defaults() {
        let (c, _) = config_from_env(
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "http://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "http://127.0.0.1:9400/jwks"),
            ]),
            None,
            None,
        )
        .unwrap();
        assert_eq!(c.audience, None);
        assert_eq!(c.authorization_server, None);
    }

    #[test]
    fn the_upstream_and_exchange_credentials_are_read_in_jwt_mode() {
        let (c, _) = config_from_env(
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "http://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "http://127.0.0.1:9400/jwks"),
                ("MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID", "todo-server"),
                ("MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET", "s"),
                ("MCP_CONFORMANCE_UPSTREAM_URL", "http://127.0.0.1:9500/api"),
            ]),
            None,
            None,
        )
        .unwrap();
        assert_eq!(c.mode, ValidationMode::Jwt);
        assert_eq!(c.upstream_url.as_deref(), Some("http://127.0.0.1:9500/api"));
        assert_eq!(c.token_endpoint(), "http://127.0.0.1:9400/token");
        assert_eq!(
            c.introspection.map(|i| i.client_id).as_deref(),
            Some("todo-server")
        );
    }

    #[test]
    fn the_ca_named_by_ssl_cert_file_is_trusted_and_an_unreadable_one_is_named() {
        let path = std::env::temp_dir().join(format!("todo-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let vars = |file: &str| {
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "https://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "https://127.0.0.1:9400/jwks"),
                ("SSL_CERT_FILE", file),
            ])
        };
        let (c, _) = config_from_env(vars(&path.display().to_string()), None, None).unwrap();
        assert_eq!(
            c.trust_ca_pem.as_deref(),
            Some("-----BEGIN CERTIFICATE-----\n")
        );
        let _ = std::fs::remove_file(&path);
        let e = config_from_env(vars("/nonexistent/ca.pem"), None, None).unwrap_err();
        assert!(
            e.0.starts_with("SSL_CERT_FILE `/nonexistent/ca.pem`"),
            "{e}"
        );
    }

    #[test]
    fn the_certificate_and_key_files_make_the_server_serve_https() {
        let pki = fake_idp::tls::TestPki::generate().unwrap();
        let leaf = pki.leaf(&[]).unwrap();
        let dir = std::env::temp_dir().join(format!("todo-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, leaf.cert_pem()).unwrap();
        std::fs::write(&key, leaf.key_pem()).unwrap();
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        let (c, _) = config_from_env(
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "https://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "https://127.0.0.1:9400/jwks"),
                ("MCP_CONFORMANCE_TLS_CERT_FILE", &cert),
                ("MCP_CONFORMANCE_TLS_KEY_FILE", &key),
            ]),
            None,
            None,
        )
        .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            c.tls.map(|t| t.cert_pem().to_owned()),
            Some(leaf.cert_pem().to_owned())
        );
    }

    #[test]
    fn a_certificate_file_without_its_key_file_is_refused() {
        let e = config_from_env(
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "https://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "https://127.0.0.1:9400/jwks"),
                ("MCP_CONFORMANCE_TLS_CERT_FILE", "/nonexistent/cert.pem"),
            ]),
            None,
            None,
        )
        .unwrap_err();
        assert!(e.0.contains("go together"), "{e}");
    }

    #[test]
    fn a_bad_upstream_url_is_named() {
        let e = config_from_env(
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "http://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "http://127.0.0.1:9400/jwks"),
                ("MCP_CONFORMANCE_UPSTREAM_URL", "not a url"),
            ]),
            None,
            None,
        )
        .unwrap_err();
        assert!(e.0.contains("MCP_CONFORMANCE_UPSTREAM_URL"));
    }

    #[test]
    fn a_missing_issuer_is_named() {
        let e = config_from_env(env(&[]), None, None).unwrap_err();
        assert!(e.0.contains("MCP_CONFORMANCE_ISSUER"));
    }

    #[test]
    fn a_resource_with_another_path_is_refused() {
        let e = config_from_env(
            env(&[
                ("MCP_CONFORMANCE_ISSUER", "http://127.0.0.1:9400"),
                ("MCP_CONFORMANCE_JWKS_URI", "http://127.0.0.1:9400/jwks"),
                ("MCP_CONFORMANCE_RESOURCE", "http://127.0.0.1:7001/other"),
            ]),
            None,
            None,
        )
        .unwrap_err();
        assert!(e.0.contains("/mcp"));
    }
}
