//! AS personas: the fake authorization server dressed as a real product, so that an unmodified provider plugin
//! (FastMCP's `ScalekitProvider`, `Auth0MCPProvider`, `KeycloakAuthProvider`, …) can be pointed at it.
//!
//! A persona decides, for one AS at a root URL (`http://127.0.0.1:<port>`): the `iss` of its tokens, the AS
//! identifier a protected resource lists in `authorization_servers`, where its JWKS and RFC 8414 / OpenID
//! metadata are served, and the shape of its access-token claims (the `aud` form, the scope claim, the roles
//! claim). Every token goes through [`Minter::claims`](crate::Minter::claims), honest or forged, so a forged
//! token has the persona's shape too: a wrong-audience token is the persona's form with another audience.
//!
//! Where each shape comes from is in docs/design/personas.md.

use serde_json::{json, Map, Value};

use crate::token::{Audience, TokenSpec};

/// Which of a Scalekit environment's two issuer identifiers the tokens carry (FastMCP's `ScalekitProvider`
/// accepts both: `[environment_url, environment_url/resources/<resource_id>]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScalekitIssuer {
    /// `iss` = the environment URL (Scalekit's documented access-token payload).
    #[default]
    Environment,
    /// `iss` = `<environment>/resources/<resource_id>`, the resource-scoped AS identifier.
    Resource,
}

/// The product the fake AS plays.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Persona {
    /// The suite's own AS: `iss` = the root, JWKS at `/jwks`, `aud` as the token spec says.
    #[default]
    Generic,
    /// Scalekit: environment URL = the root; tokens for the MCP server carry `aud: [<resource_id>]`.
    Scalekit {
        /// The Scalekit resource id of the MCP server (`res_…`), the `aud` of its tokens.
        resource_id: String,
        /// Which issuer identifier the tokens carry.
        issuer_form: ScalekitIssuer,
    },
    /// Auth0: the issuer has a trailing slash; tokens carry `permissions` (RBAC) and `azp`.
    Auth0 {
        /// The API identifier tokens are minted for (`aud`); `None`: the resource the client asked for.
        audience: Option<String>,
    },
    /// Keycloak: one realm at `<root>/realms/<realm>`; tokens carry `realm_access.roles`, `azp`, `typ: Bearer`.
    Keycloak {
        /// The realm name.
        realm: String,
        /// The audience an audience mapper puts in `aud`; `None`: the resource the client asked for.
        audience: Option<String>,
    },
}

impl Persona {
    /// `generic`, `scalekit`, `auth0` or `keycloak`.
    pub fn name(&self) -> &'static str {
        match self {
            Persona::Generic => "generic",
            Persona::Scalekit { .. } => "scalekit",
            Persona::Auth0 { .. } => "auth0",
            Persona::Keycloak { .. } => "keycloak",
        }
    }

    /// The `iss` of every token the AS at `root` mints.
    pub fn token_issuer(&self, root: &str) -> String {
        match self {
            Persona::Scalekit {
                issuer_form: ScalekitIssuer::Environment,
                ..
            } => root.to_owned(),
            _ => self.as_identifier(root),
        }
    }

    /// The AS identifier a protected resource names in `authorization_servers` (the `issuer` of the metadata
    /// document a client finds there).
    pub fn as_identifier(&self, root: &str) -> String {
        match self {
            Persona::Generic => root.to_owned(),
            Persona::Scalekit { resource_id, .. } => format!("{root}/resources/{resource_id}"),
            Persona::Auth0 { .. } => format!("{root}/"),
            Persona::Keycloak { realm, .. } => format!("{root}/realms/{realm}"),
        }
    }

    /// The path of the JWKS (`/jwks` is served too, whatever the persona).
    pub fn jwks_path(&self) -> String {
        match self {
            Persona::Generic => "/jwks".to_owned(),
            Persona::Scalekit { .. } => "/keys".to_owned(),
            Persona::Auth0 { .. } => "/.well-known/jwks.json".to_owned(),
            Persona::Keycloak { realm, .. } => {
                format!("/realms/{realm}/protocol/openid-connect/certs")
            }
        }
    }

    /// The issuer of the metadata served at the root well-known paths (`/.well-known/oauth-authorization-server`
    /// and `/.well-known/openid-configuration`): the root, or Auth0's slash-terminated issuer.
    pub fn root_metadata_issuer(&self, root: &str) -> String {
        match self {
            Persona::Auth0 { .. } => format!("{root}/"),
            _ => root.to_owned(),
        }
    }

    /// The persona's own metadata routes besides the root ones: `(path, issuer, OpenID form)`.
    pub fn metadata_routes(&self, root: &str) -> Vec<(String, String, bool)> {
        match self {
            Persona::Generic | Persona::Auth0 { .. } => Vec::new(),
            Persona::Scalekit { resource_id, .. } => vec![(
                format!("/.well-known/oauth-authorization-server/resources/{resource_id}"),
                self.as_identifier(root),
                false,
            )],
            Persona::Keycloak { realm, .. } => vec![
                (
                    format!("/realms/{realm}/.well-known/openid-configuration"),
                    self.as_identifier(root),
                    true,
                ),
                (
                    format!("/.well-known/oauth-authorization-server/realms/{realm}"),
                    self.as_identifier(root),
                    false,
                ),
            ],
        }
    }

    /// The `aud` value of the persona's honest tokens for a resource server at `resource`: Scalekit's resource
    /// id, the configured Auth0 API identifier or Keycloak audience, else `resource` itself.
    pub fn audience_for(&self, resource: &str) -> String {
        match self {
            Persona::Generic => resource.to_owned(),
            Persona::Scalekit { resource_id, .. } => resource_id.clone(),
            Persona::Auth0 { audience } | Persona::Keycloak { audience, .. } => {
                audience.clone().unwrap_or_else(|| resource.to_owned())
            }
        }
    }

    /// The `aud` claim in the persona's form: Scalekit always an array, the others as given.
    pub fn audience_claim(&self, audience: &Audience) -> Option<Value> {
        match (self, audience) {
            (Persona::Scalekit { .. }, Audience::One(one)) => Some(json!([one])),
            _ => audience.to_claim(),
        }
    }

    /// Adds the persona's own claims (scope, roles, client) to `claims`, which already hold the registered
    /// ones (`iss sub aud exp iat nbf jti`). `sid` takes a random session id.
    pub(crate) fn shape_claims(
        &self,
        claims: &mut Map<String, Value>,
        spec: &TokenSpec,
        sid: &str,
    ) {
        let scope = spec.scope.as_ref().map(|s| json!(s));
        match self {
            Persona::Generic => {
                claims.insert("client_id".into(), json!(spec.client_id));
                insert_opt(claims, "scope", scope);
                claims.insert("roles".into(), json!(spec.roles));
                claims.insert("permissions".into(), json!(spec.permissions));
            }
            Persona::Scalekit { .. } => {
                claims.insert("client_id".into(), json!(spec.client_id));
                claims.insert("oid".into(), json!("org_conformance"));
                claims.insert("sid".into(), json!(format!("ses_{sid}")));
                insert_opt(claims, "scope", scope);
                claims.insert("roles".into(), json!(spec.roles));
                claims.insert("permissions".into(), json!(spec.permissions));
            }
            Persona::Auth0 { .. } => {
                claims.insert("azp".into(), json!(spec.client_id));
                insert_opt(claims, "scope", scope);
                claims.insert("permissions".into(), json!(spec.permissions));
            }
            Persona::Keycloak { .. } => {
                claims.insert("typ".into(), json!("Bearer"));
                claims.insert("azp".into(), json!(spec.client_id));
                claims.insert("sid".into(), json!(sid));
                let scope = spec.scope.as_ref().map(|s| json!(keycloak_scope(s)));
                insert_opt(claims, "scope", scope);
                claims.insert("realm_access".into(), json!({ "roles": spec.roles }));
            }
        }
    }
}

/// Keycloak's scope string always carries `openid` first (the client's default scope).
fn keycloak_scope(scope: &str) -> String {
    if scope.split(' ').any(|s| s == "openid") {
        scope.to_owned()
    } else if scope.is_empty() {
        "openid".to_owned()
    } else {
        format!("openid {scope}")
    }
}

fn insert_opt(claims: &mut Map<String, Value>, name: &str, value: Option<Value>) {
    if let Some(value) = value {
        claims.insert(name.into(), value);
    }
}

#[cfg(test)]
mod tests;
