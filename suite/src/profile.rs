//! Target profiles: how the suite exercises a server's tools and observes a write (TOML in
//! `fixtures/profiles/`).

use std::path::Path;

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
        Ok(p)
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

    #[test]
    fn unknown_fields_are_refused() {
        let text = format!("{DEFAULT_PROFILE}\nsurprise = 1\n");
        assert!(Profile::from_toml(&text, "x").is_err());
    }
}
