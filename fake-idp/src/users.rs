//! Users and roles of the fake IdP, loaded from `fixtures/users.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The embedded fixture file.
const USERS_TOML: &str = include_str!("../../fixtures/users.toml");

/// One user of the fake IdP, with the permissions their role grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name (what `login_hint` names).
    pub name: String,
    /// The `sub` claim of their tokens.
    pub sub: String,
    /// Their role (the `roles` claim holds it).
    pub role: String,
    /// The permissions (scopes) the role grants.
    pub permissions: Vec<String>,
    /// Their e-mail address at the upstream identity provider (the ID token's `email`; a federating AS maps it
    /// back to the user). Default `<name>@conformance.test`.
    pub email: String,
}

/// The users of the fake IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Users {
    users: Vec<User>,
    /// Login passwords by user name (test data; only the reference AS's login form uses them).
    passwords: BTreeMap<String, String>,
}

/// Why a users file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The TOML did not parse.
    #[error("users file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// A user names a role the file does not define.
    #[error("user `{user}` has undefined role `{role}`")]
    UnknownRole {
        /// The user.
        user: String,
        /// The missing role.
        role: String,
    },
}

#[derive(Deserialize)]
struct UsersFile {
    roles: BTreeMap<String, Vec<String>>,
    users: Vec<UserEntry>,
}

#[derive(Deserialize)]
struct UserEntry {
    name: String,
    sub: String,
    role: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl Users {
    /// The seed story's users (`alice`: full_access, `bob`: read_only).
    ///
    /// # Panics
    /// Only if the embedded fixture is broken, which a unit test rules out.
    pub fn fixture() -> Users {
        Users::from_toml_str(USERS_TOML).expect("fixtures/users.toml is valid")
    }

    /// Parses a users file: a `[roles]` table of permission lists and `[[users]]` entries.
    pub fn from_toml_str(text: &str) -> Result<Users, UsersError> {
        let file: UsersFile = toml::from_str(text)?;
        let passwords = file
            .users
            .iter()
            .filter_map(|u| Some((u.name.clone(), u.password.clone()?)))
            .collect();
        let users =
            file.users
                .into_iter()
                .map(|u| {
                    let permissions = file.roles.get(&u.role).cloned().ok_or_else(|| {
                        UsersError::UnknownRole {
                            user: u.name.clone(),
                            role: u.role.clone(),
                        }
                    })?;
                    Ok(User {
                        email: u
                            .email
                            .unwrap_or_else(|| format!("{}@conformance.test", u.name)),
                        name: u.name,
                        sub: u.sub,
                        role: u.role,
                        permissions,
                    })
                })
                .collect::<Result<Vec<_>, UsersError>>()?;
        Ok(Users { users, passwords })
    }

    /// Whether `password` is `name`'s login password (users without one cannot log in).
    pub fn check_password(&self, name: &str, password: &str) -> bool {
        self.passwords.get(name).is_some_and(|p| p == password)
    }

    /// The user with this login name.
    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The user with this `sub`.
    pub fn by_sub(&self, sub: &str) -> Option<&User> {
        self.users.iter().find(|u| u.sub == sub)
    }

    /// The user with this e-mail address (compared ASCII case-insensitively).
    pub fn by_email(&self, email: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
    }

    /// Every user, in file order.
    pub fn all(&self) -> &[User] {
        &self.users
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_has_alice_with_full_access() {
        let users = Users::fixture();
        let alice = users.get("alice").unwrap();
        assert_eq!(alice.sub, "alice");
        assert_eq!(alice.role, "full_access");
        assert_eq!(alice.permissions, ["todo:read", "todo:write"]);
    }

    #[test]
    fn fixture_has_bob_read_only() {
        let users = Users::fixture();
        let bob = users.get("bob").unwrap();
        assert_eq!(bob.role, "read_only");
        assert_eq!(bob.permissions, ["todo:read"]);
        assert_eq!(users.all().len(), 2);
    }

    #[test]
    fn a_user_is_found_by_email_whatever_its_case() {
        let users = Users::fixture();
        assert_eq!(
            users.by_email("Alice@Conformance.test").unwrap().name,
            "alice"
        );
        assert!(users.by_email("eve@conformance.test").is_none());
    }

    #[test]
    fn fixture_passwords_log_users_in() {
        let users = Users::fixture();
        assert!(users.check_password("alice", "alice-password"));
        assert!(users.check_password("bob", "bob-password"));
        assert!(!users.check_password("alice", "bob-password"));
        assert!(!users.check_password("eve", ""));
    }

    #[test]
    fn undefined_role_is_an_error() {
        let err = Users::from_toml_str(
            "[roles]\n[[users]]\nname = \"eve\"\nsub = \"eve\"\nrole = \"admin\"\n",
        )
        .unwrap_err();
        assert!(matches!(err, UsersError::UnknownRole { .. }));
    }
}
