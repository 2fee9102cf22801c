//! What a server under test must trust, in one place: the fake authorization server (issuer, JWKS, token and
//! introspection endpoints, the introspection client's test-only credentials), the resource its tokens name, the
//! fake upstream API and the profile's scopes.
//!
//! The same values reach a server two ways: a `--command` target gets them as its environment (the server-target
//! env contract, [`Trust::env`]), and an operator wiring a running server (`--url`) reads them on the terminal
//! ([`Trust::text`]) or evaluates them as shell exports ([`Trust::shell_exports`]). For `--url` they are
//! computed from the fixed addresses ([`Trust::at`]) before anything starts, and they are the same on every run:
//! the fake AS's issuer is its address, its signing key and introspection client are fixed test-only values.

use std::net::SocketAddr;

use fake_idp::server::{INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET};
use fake_idp::{FakeIdp, Persona};

use crate::profile::Scopes;

/// Everything a server under test is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// The issuer to trust, exactly (the `iss` of honest tokens).
    pub issuer: String,
    /// The AS persona (profile `[as]`), and the fake AS's root URL its product settings derive from.
    pub persona: Persona,
    pub as_root: String,
    /// What the PRM's `authorization_servers` names: the issuer, except for Scalekit's environment-form
    /// issuer (then `<environment>/resources/<resource_id>`).
    pub as_identifier: String,
    /// The `aud` of honest tokens: the resource, or the persona's audience (Scalekit's resource id, the
    /// configured Auth0 API identifier or Keycloak audience).
    pub audience: String,
    /// The issuer's JWKS (RS256 keys).
    pub jwks_uri: String,
    /// Where the server exchanges tokens for the upstream API (RFC 8693 with RFC 8707 `resource`).
    pub token_endpoint: String,
    /// RFC 7662 introspection, for servers that introspect.
    pub introspection_url: String,
    /// The confidential client the server introspects and exchanges tokens with (`client_secret_basic`).
    pub client_id: String,
    pub client_secret: String,
    /// The canonical URL the server answers as: the `aud` of every token the suite sends, the PRM `resource`.
    pub resource: String,
    /// The fake upstream API a server calls on the user's behalf.
    pub upstream_url: String,
    /// The profile's read and write scopes.
    pub read_scope: String,
    pub write_scope: String,
}

impl Trust {
    /// For a server at `resource` with the fake AS on `as_addr` and the upstream API on `upstream_addr`: what
    /// [`Trust::of`] gives once they are started there.
    pub fn at(
        as_addr: SocketAddr,
        upstream_addr: SocketAddr,
        resource: &str,
        scopes: &Scopes,
        persona: &Persona,
    ) -> Trust {
        Trust::at_scheme("http", as_addr, upstream_addr, resource, scopes, persona)
    }

    /// [`Trust::at`] with the fakes serving `scheme` (`https` under `--tls-profile strict`).
    pub fn at_scheme(
        scheme: &str,
        as_addr: SocketAddr,
        upstream_addr: SocketAddr,
        resource: &str,
        scopes: &Scopes,
        persona: &Persona,
    ) -> Trust {
        let root = format!("{scheme}://{as_addr}");
        Trust {
            jwks_uri: format!("{root}{}", persona.jwks_path()),
            token_endpoint: format!("{root}/token"),
            introspection_url: format!("{root}/introspect"),
            issuer: persona.token_issuer(&root),
            as_identifier: persona.as_identifier(&root),
            audience: persona.audience_for(resource),
            persona: persona.clone(),
            as_root: root,
            client_id: INTROSPECTION_CLIENT_ID.to_owned(),
            client_secret: INTROSPECTION_CLIENT_SECRET.to_owned(),
            resource: resource.to_owned(),
            upstream_url: format!("{scheme}://{upstream_addr}/api"),
            read_scope: scopes.read.clone(),
            write_scope: scopes.write.clone(),
        }
    }

    /// For a server at `resource`, from the started fake AS and the upstream API's resource.
    pub fn of(idp: &FakeIdp, upstream_url: &str, resource: &str, scopes: &Scopes) -> Trust {
        let (client_id, client_secret) = idp.introspection_client();
        Trust {
            issuer: idp.issuer(),
            persona: idp.persona().clone(),
            as_root: idp.root(),
            as_identifier: idp.as_identifier(),
            audience: idp.persona().audience_for(resource),
            jwks_uri: idp.jwks_uri(),
            token_endpoint: idp.token_endpoint(),
            introspection_url: idp.introspection_url(),
            client_id,
            client_secret,
            resource: resource.to_owned(),
            upstream_url: upstream_url.to_owned(),
            read_scope: scopes.read.clone(),
            write_scope: scopes.write.clone(),
        }
    }

    /// The server-target env contract (README "Testing your MCP server"), without `PORT`.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("MCP_CONFORMANCE_ISSUER", self.issuer.clone()),
            ("MCP_CONFORMANCE_JWKS_URI", self.jwks_uri.clone()),
            (
                "MCP_CONFORMANCE_TOKEN_ENDPOINT",
                self.token_endpoint.clone(),
            ),
            (
                "MCP_CONFORMANCE_INTROSPECTION_URL",
                self.introspection_url.clone(),
            ),
            (
                "MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID",
                self.client_id.clone(),
            ),
            (
                "MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET",
                self.client_secret.clone(),
            ),
            ("MCP_CONFORMANCE_RESOURCE", self.resource.clone()),
            ("MCP_CONFORMANCE_UPSTREAM_URL", self.upstream_url.clone()),
            ("MCP_CONFORMANCE_READ_SCOPE", self.read_scope.clone()),
            ("MCP_CONFORMANCE_WRITE_SCOPE", self.write_scope.clone()),
            ("MCP_CONFORMANCE_AS_PERSONA", self.persona.name().to_owned()),
            ("MCP_CONFORMANCE_AUDIENCE", self.audience.clone()),
        ];
        vars.extend(self.product_env());
        vars
    }

    /// What the persona's own provider plugin is configured with (FastMCP's `ScalekitProvider`,
    /// `Auth0MCPProvider`, `KeycloakAuthProvider`), set only for that persona.
    pub fn product_env(&self) -> Vec<(&'static str, String)> {
        let root = &self.as_root;
        match &self.persona {
            Persona::Generic => Vec::new(),
            Persona::Scalekit { resource_id, .. } => vec![
                ("SCALEKIT_ENVIRONMENT_URL", root.clone()),
                ("SCALEKIT_RESOURCE_ID", resource_id.clone()),
            ],
            Persona::Auth0 { .. } => vec![
                (
                    "AUTH0_CONFIG_URL",
                    format!("{root}/.well-known/openid-configuration"),
                ),
                ("AUTH0_AUDIENCE", self.audience.clone()),
            ],
            Persona::Keycloak { .. } => vec![("KEYCLOAK_REALM_URL", self.as_identifier.clone())],
        }
    }

    /// The port the resource URL names (explicit, else the scheme's), the `PORT` of the env contract.
    pub fn port(&self) -> Option<u16> {
        url::Url::parse(&self.resource)
            .ok()
            .and_then(|u| u.port_or_known_default())
    }

    /// The settings for a person: what to configure, one value a line, and what the server must do with them.
    pub fn text(&self) -> String {
        let rows = [
            ("issuer (iss)", self.issuer.clone()),
            ("JWKS (RS256 keys)", self.jwks_uri.clone()),
            ("token endpoint", self.token_endpoint.clone()),
            ("introspection (RFC 7662)", self.introspection_url.clone()),
            (
                "introspection client",
                format!(
                    "{} / {} (client_secret_basic)",
                    self.client_id, self.client_secret
                ),
            ),
            ("resource (aud)", self.resource.clone()),
            ("upstream API (OBO)", self.upstream_url.clone()),
            (
                "scopes",
                format!("read `{}`, write `{}`", self.read_scope, self.write_scope),
            ),
        ];
        let mut rows = rows.to_vec();
        if self.persona != Persona::Generic {
            rows[5].0 = "resource (PRM)";
            rows.insert(0, ("AS persona", self.persona.name().to_owned()));
            rows.insert(2, ("AS identifier (PRM)", self.as_identifier.clone()));
            rows.insert(8, ("audience (aud)", self.audience.clone()));
            rows.extend(self.product_env());
        }
        let mut text = String::from(
            "Configure the server under test to trust the suite's fake authorization server\n\
             (test-only values, the same on every run):\n",
        );
        for (name, value) in rows {
            text.push_str(&format!("  {name:<26} {value}\n"));
        }
        if self.persona == Persona::Generic {
            text.push_str(
                "Every token the suite sends has iss = the issuer and aud = the resource; the server's protected \
                 resource\nmetadata must name that resource and list the issuer in authorization_servers. The same \
                 values as shell\nexports: --print-trust-env.\n",
            );
        } else {
            text.push_str(
                "Every token the suite sends has iss = the issuer and aud = the audience, in the persona's claim \
                 shape;\nthe server's protected resource metadata must name the resource and list the AS \
                 identifier in\nauthorization_servers. The same values as shell exports: --print-trust-env.\n",
            );
        }
        text
    }

    /// The env contract as `export NAME='value'` lines (with `PORT` when the resource names one), for
    /// `eval "$(mcp-auth-conformance server --url URL --print-trust-env)"`.
    pub fn shell_exports(&self) -> String {
        let mut vars = self.env();
        if let Some(port) = self.port() {
            vars.push(("PORT", port.to_string()));
        }
        vars.iter()
            .map(|(name, value)| format!("export {name}={}\n", shell_quote(value)))
            .collect()
    }
}

/// `value` as one POSIX shell word, taken literally: single-quoted, each `'` as `'\''`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn todo() -> Trust {
        Trust::at(
            addr("127.0.0.1:9400"),
            addr("127.0.0.1:9401"),
            "http://127.0.0.1:8080/mcp",
            &Profile::default_profile().scopes,
            &Persona::Generic,
        )
    }

    #[test]
    fn the_printed_settings_name_every_value_a_running_server_is_configured_with() {
        assert_eq!(
            todo().text(),
            "\
Configure the server under test to trust the suite's fake authorization server
(test-only values, the same on every run):
  issuer (iss)               http://127.0.0.1:9400
  JWKS (RS256 keys)          http://127.0.0.1:9400/jwks
  token endpoint             http://127.0.0.1:9400/token
  introspection (RFC 7662)   http://127.0.0.1:9400/introspect
  introspection client       todo-server / todo-server-test-secret (client_secret_basic)
  resource (aud)             http://127.0.0.1:8080/mcp
  upstream API (OBO)         http://127.0.0.1:9401/api
  scopes                     read `todo:read`, write `todo:write`
Every token the suite sends has iss = the issuer and aud = the resource; the server's protected resource
metadata must name that resource and list the issuer in authorization_servers. The same values as shell
exports: --print-trust-env.
"
        );
    }

    #[test]
    fn the_shell_exports_are_the_env_contract_with_the_port_of_the_url() {
        assert_eq!(
            todo().shell_exports(),
            "\
export MCP_CONFORMANCE_ISSUER='http://127.0.0.1:9400'
export MCP_CONFORMANCE_JWKS_URI='http://127.0.0.1:9400/jwks'
export MCP_CONFORMANCE_TOKEN_ENDPOINT='http://127.0.0.1:9400/token'
export MCP_CONFORMANCE_INTROSPECTION_URL='http://127.0.0.1:9400/introspect'
export MCP_CONFORMANCE_INTROSPECTION_CLIENT_ID='todo-server'
export MCP_CONFORMANCE_INTROSPECTION_CLIENT_SECRET='todo-server-test-secret'
export MCP_CONFORMANCE_RESOURCE='http://127.0.0.1:8080/mcp'
export MCP_CONFORMANCE_UPSTREAM_URL='http://127.0.0.1:9401/api'
export MCP_CONFORMANCE_READ_SCOPE='todo:read'
export MCP_CONFORMANCE_WRITE_SCOPE='todo:write'
export MCP_CONFORMANCE_AS_PERSONA='generic'
export MCP_CONFORMANCE_AUDIENCE='http://127.0.0.1:8080/mcp'
export PORT='8080'
"
        );
    }

    fn under(persona: Persona) -> Trust {
        Trust::at(
            addr("127.0.0.1:9400"),
            addr("127.0.0.1:9401"),
            "http://127.0.0.1:8080/mcp",
            &Profile::default_profile().scopes,
            &persona,
        )
    }

    #[test]
    fn the_scalekit_persona_exports_the_environment_and_the_resource_id_and_its_audience() {
        let exports = under(Persona::Scalekit {
            resource_id: "res_todo".into(),
            issuer_form: fake_idp::ScalekitIssuer::Environment,
        })
        .shell_exports();
        for line in [
            "export MCP_CONFORMANCE_ISSUER='http://127.0.0.1:9400'\n",
            "export MCP_CONFORMANCE_JWKS_URI='http://127.0.0.1:9400/keys'\n",
            "export MCP_CONFORMANCE_AS_PERSONA='scalekit'\n",
            "export MCP_CONFORMANCE_AUDIENCE='res_todo'\n",
            "export SCALEKIT_ENVIRONMENT_URL='http://127.0.0.1:9400'\n",
            "export SCALEKIT_RESOURCE_ID='res_todo'\n",
        ] {
            assert!(exports.contains(line), "{line} missing from\n{exports}");
        }
        assert!(!exports.contains("AUTH0_") && !exports.contains("KEYCLOAK_"));
    }

    #[test]
    fn the_auth0_persona_exports_the_discovery_url_and_the_api_identifier() {
        let exports = under(Persona::Auth0 { audience: None }).shell_exports();
        for line in [
            "export MCP_CONFORMANCE_ISSUER='http://127.0.0.1:9400/'\n",
            "export AUTH0_CONFIG_URL='http://127.0.0.1:9400/.well-known/openid-configuration'\n",
            "export AUTH0_AUDIENCE='http://127.0.0.1:8080/mcp'\n",
            "export MCP_CONFORMANCE_AUDIENCE='http://127.0.0.1:8080/mcp'\n",
        ] {
            assert!(exports.contains(line), "{line} missing from\n{exports}");
        }
        assert!(!exports.contains("SCALEKIT_") && !exports.contains("KEYCLOAK_"));
    }

    #[test]
    fn the_keycloak_persona_exports_the_realm_url_as_issuer_and_realm() {
        let exports = under(Persona::Keycloak {
            realm: "story".into(),
            audience: Some("todo-api".into()),
        })
        .shell_exports();
        for line in [
            "export MCP_CONFORMANCE_ISSUER='http://127.0.0.1:9400/realms/story'\n",
            "export MCP_CONFORMANCE_JWKS_URI='http://127.0.0.1:9400/realms/story/protocol/openid-connect/certs'\n",
            "export KEYCLOAK_REALM_URL='http://127.0.0.1:9400/realms/story'\n",
            "export MCP_CONFORMANCE_AUDIENCE='todo-api'\n",
        ] {
            assert!(exports.contains(line), "{line} missing from\n{exports}");
        }
        assert!(!exports.contains("SCALEKIT_") && !exports.contains("AUTH0_"));
    }

    #[test]
    fn the_printed_settings_of_a_persona_name_its_as_identifier_and_audience() {
        let text = under(Persona::Scalekit {
            resource_id: "res_todo".into(),
            issuer_form: fake_idp::ScalekitIssuer::Environment,
        })
        .text();
        assert!(
            text.contains("  AS persona                 scalekit\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  AS identifier (PRM)        http://127.0.0.1:9400/resources/res_todo\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  audience (aud)             res_todo\n"),
            "{text}"
        );
    }

    #[test]
    fn a_url_with_shell_syntax_is_exported_literally() {
        let t = Trust::at(
            addr("127.0.0.1:9400"),
            addr("127.0.0.1:9401"),
            "https://h.example/it's/$(id)`x`",
            &Profile::default_profile().scopes,
            &Persona::Generic,
        );
        assert!(t
            .shell_exports()
            .contains("export MCP_CONFORMANCE_RESOURCE='https://h.example/it'\\''s/$(id)`x`'\n"));
        assert!(t.shell_exports().ends_with("export PORT='443'\n"));
    }

    #[tokio::test]
    async fn the_settings_and_the_keys_are_those_of_the_started_fake_as_whatever_the_seed() {
        // A server is configured once: the issuer is the address, the introspection client is fixed, and the
        // signing key (what a server caches from the JWKS) does not depend on the run's seed.
        let scopes = Profile::default_profile().scopes;
        let upstream = addr("127.0.0.1:9401");
        let mut jwks = Vec::new();
        for seed in [1, 2] {
            let idp = FakeIdp::builder()
                .bind(addr("127.0.0.1:0"))
                .seed(seed)
                .start()
                .await
                .unwrap();
            let started = Trust::of(
                &idp,
                &format!("http://{upstream}/api"),
                "http://127.0.0.1:8080/mcp",
                &scopes,
            );
            assert_eq!(
                started,
                Trust::at(
                    idp.addr(),
                    upstream,
                    "http://127.0.0.1:8080/mcp",
                    &scopes,
                    &Persona::Generic
                )
            );
            jwks.push(idp.public_jwks());
            idp.shutdown().await;
        }
        assert_eq!(jwks[0], jwks[1]);
    }
}
