//! Target profiles: how the suite exercises a server's tools and observes a write (TOML in
//! `fixtures/profiles/`).

use std::path::Path;

use fake_idp::{Persona, ScalekitIssuer};
use serde::Deserialize;
use serde_json::Value;

/// The default profile, compiled in so the binary works from any directory.
pub const DEFAULT_PROFILE: &str = include_str!("../../fixtures/profiles/todo.toml");

/// How the server validates tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validation {
    Auto,
    Jwt,
    Introspection,
}

/// A target profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub validation: Validation,
    #[serde(default = "yes")]
    pub rfc9068: bool,
    #[serde(default = "yes")]
    pub strict_prm_resource: bool,
    pub client_id: String,
    pub scopes: Scopes,
    pub users: ProfileUsers,
    pub tools: Tools,
    /// `[as]`: the product the suite's fake authorization server plays (default: the generic AS).
    #[serde(default, rename = "as")]
    pub auth_server: AsTable,
}

/// The `[as]` table: which AS persona the fake authorization server plays, and its settings.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AsTable {
    /// `generic` (default), `scalekit`, `auth0` or `keycloak`.
    #[serde(default)]
    pub persona: PersonaName,
    /// scalekit: the resource id of the MCP server (`res_…`), the `aud` of its tokens. Required.
    pub resource_id: Option<String>,
    /// scalekit: `environment` (default; `iss` = the environment URL) or `resource` (`iss` =
    /// `<environment>/resources/<resource_id>`).
    pub issuer_form: Option<IssuerForm>,
    /// auth0 (the API identifier) and keycloak (the audience mapper's value): the `aud` of tokens; default the
    /// server's resource URL.
    pub audience: Option<String>,
    /// keycloak: the realm name (default `conformance`).
    pub realm: Option<String>,
}

/// The persona names of `[as] persona` (and of the client role's `--as-persona`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum PersonaName {
    #[default]
    Generic,
    Scalekit,
    Auth0,
    Keycloak,
}

impl PersonaName {
    /// The persona with the bundled profiles' settings (`fixtures/profiles/todo-<persona>.toml`): Scalekit
    /// resource `res_conformance_todo` with the environment-URL issuer, Keycloak realm `conformance`, audiences
    /// the resource URL.
    pub fn with_defaults(self) -> Persona {
        match self {
            PersonaName::Generic => Persona::Generic,
            PersonaName::Scalekit => Persona::Scalekit {
                resource_id: "res_conformance_todo".to_owned(),
                issuer_form: ScalekitIssuer::Environment,
            },
            PersonaName::Auth0 => Persona::Auth0 { audience: None },
            PersonaName::Keycloak => Persona::Keycloak {
                realm: "conformance".to_owned(),
                audience: None,
            },
        }
    }
}

/// `[as] issuer_form` of the scalekit persona.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerForm {
    Environment,
    Resource,
}

impl AsTable {
    /// The persona the table describes, or why it is inconsistent (a setting the persona does not take, a
    /// missing resource id).
    pub fn persona(&self) -> Result<Persona, String> {
        let name = match self.persona {
            PersonaName::Generic => "generic",
            PersonaName::Scalekit => "scalekit",
            PersonaName::Auth0 => "auth0",
            PersonaName::Keycloak => "keycloak",
        };
        let takes: &[&str] = match self.persona {
            PersonaName::Generic => &[],
            PersonaName::Scalekit => &["resource_id", "issuer_form"],
            PersonaName::Auth0 => &["audience"],
            PersonaName::Keycloak => &["realm", "audience"],
        };
        let given = [
            ("resource_id", self.resource_id.is_some()),
            ("issuer_form", self.issuer_form.is_some()),
            ("audience", self.audience.is_some()),
            ("realm", self.realm.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(f, set)| *set && !takes.contains(f)) {
            return Err(format!("[as] {field} does not apply to the {name} persona"));
        }
        let check = |field: &str, value: &Option<String>, path_safe: bool| match value {
            Some(v) if v.trim().is_empty() => Err(format!("[as] {field} must not be empty")),
            Some(v) if path_safe && v.contains(['/', '?', '#', ' ']) => Err(format!(
                "[as] {field} `{v}` must be a name without / ? # or spaces (it goes into URL paths)"
            )),
            _ => Ok(()),
        };
        check("resource_id", &self.resource_id, true)?;
        check("realm", &self.realm, true)?;
        check("audience", &self.audience, false)?;
        Ok(match self.persona {
            PersonaName::Generic => Persona::Generic,
            PersonaName::Scalekit => Persona::Scalekit {
                resource_id: self
                    .resource_id
                    .clone()
                    .ok_or("[as] resource_id is required for the scalekit persona")?,
                issuer_form: match self.issuer_form {
                    Some(IssuerForm::Resource) => ScalekitIssuer::Resource,
                    _ => ScalekitIssuer::Environment,
                },
            },
            PersonaName::Auth0 => Persona::Auth0 {
                audience: self.audience.clone(),
            },
            PersonaName::Keycloak => Persona::Keycloak {
                realm: self
                    .realm
                    .clone()
                    .unwrap_or_else(|| "conformance".to_owned()),
                audience: self.audience.clone(),
            },
        })
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scopes {
    pub read: String,
    pub write: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUsers {
    pub full: String,
    pub read_only: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tools {
    pub read: Tool,
    pub write: Tool,
    /// A tool that reads from the upstream API for the user (RS-PASS-01, RS-OBO-*); optional.
    #[serde(default)]
    pub upstream_read: Option<Tool>,
    /// A tool that writes to the upstream API for the user; optional. `{marker}` in its arguments is replaced.
    #[serde(default)]
    pub upstream_write: Option<Tool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    #[serde(default = "empty_object")]
    pub arguments: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid profile {path}: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("invalid profile {path}: the write tool's arguments must contain `{{marker}}` so a write can be observed")]
    NoMarker { path: String },
    #[error("invalid profile {path}: {message}")]
    Persona { path: String, message: String },
}

impl Profile {
    pub fn default_profile() -> Profile {
        Self::from_toml(DEFAULT_PROFILE, "fixtures/profiles/todo.toml (built in)")
            .expect("the built-in profile is valid")
    }

    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    pub fn from_toml(text: &str, path: &str) -> Result<Profile, ProfileError> {
        let p: Profile = toml::from_str(text).map_err(|source| ProfileError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if !p.tools.write.arguments.to_string().contains("{marker}") {
            return Err(ProfileError::NoMarker {
                path: path.to_owned(),
            });
        }
        p.auth_server
            .persona()
            .map_err(|message| ProfileError::Persona {
                path: path.to_owned(),
                message,
            })?;
        Ok(p)
    }

    /// The AS persona of the `[as]` table (checked when the profile was loaded).
    pub fn persona(&self) -> Persona {
        self.auth_server.persona().unwrap_or_default()
    }

    /// The write tool's arguments with `{marker}` replaced.
    pub fn write_arguments(&self, marker: &str) -> Value {
        substitute(&self.tools.write.arguments, marker)
    }

    /// The upstream write tool's arguments with `{marker}` replaced.
    pub fn upstream_write_arguments(&self, marker: &str) -> Option<Value> {
        self.tools
            .upstream_write
            .as_ref()
            .map(|t| substitute(&t.arguments, marker))
    }

    /// Both scopes, space-separated (what the full user holds).
    pub fn full_scope(&self) -> String {
        format!("{} {}", self.scopes.read, self.scopes.write)
    }
}

fn substitute(v: &Value, marker: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("{marker}", marker)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, marker)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, marker)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profile_is_the_todo_server() {
        let p = Profile::default_profile();
        assert_eq!(p.tools.read.name, "list_todos");
        assert_eq!(p.tools.write.name, "create_todo");
        assert_eq!(p.validation, Validation::Auto);
    }

    #[test]
    fn write_arguments_carry_the_marker() {
        let p = Profile::default_profile();
        assert_eq!(p.write_arguments("m-1")["title"], "m-1");
    }

    #[test]
    fn a_profile_without_a_marker_is_refused() {
        let text = DEFAULT_PROFILE.replace("{marker}", "fixed");
        assert!(matches!(
            Profile::from_toml(&text, "x"),
            Err(ProfileError::NoMarker { .. })
        ));
    }

    fn with_as(table: &str) -> Result<Profile, ProfileError> {
        Profile::from_toml(&format!("{DEFAULT_PROFILE}\n[as]\n{table}\n"), "x")
    }

    #[test]
    fn a_profile_without_an_as_table_plays_the_generic_as() {
        assert_eq!(Profile::default_profile().persona(), Persona::Generic);
    }

    #[test]
    fn the_as_table_chooses_the_scalekit_persona_and_its_issuer_form() {
        let p =
            with_as("persona = \"scalekit\"\nresource_id = \"res_1\"\nissuer_form = \"resource\"")
                .unwrap();
        assert_eq!(
            p.persona(),
            Persona::Scalekit {
                resource_id: "res_1".into(),
                issuer_form: ScalekitIssuer::Resource
            }
        );
    }

    #[test]
    fn the_scalekit_persona_needs_a_resource_id() {
        let e = with_as("persona = \"scalekit\"").unwrap_err();
        assert!(e.to_string().contains("resource_id is required"), "{e}");
    }

    #[test]
    fn a_setting_the_persona_does_not_take_is_refused() {
        let e = with_as("persona = \"auth0\"\nrealm = \"r\"").unwrap_err();
        assert!(
            e.to_string()
                .contains("realm does not apply to the auth0 persona"),
            "{e}"
        );
    }

    #[test]
    fn a_realm_that_would_change_the_url_path_is_refused() {
        assert!(with_as("persona = \"keycloak\"\nrealm = \"a/b\"").is_err());
    }

    #[test]
    fn an_unknown_as_setting_is_refused() {
        assert!(with_as("persona = \"generic\"\nsurprise = 1").is_err());
    }

    #[test]
    fn every_bundled_profile_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/profiles");
        let mut personas = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = Profile::load(&entry.unwrap().path()).unwrap();
            personas.push(p.persona().name());
        }
        personas.sort_unstable();
        assert_eq!(
            personas,
            ["auth0", "generic", "generic", "keycloak", "scalekit"]
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = format!("{DEFAULT_PROFILE}\nsurprise = 1\n");
        assert!(Profile::from_toml(&text, "x").is_err());
    }
}
