//! The registry of every check across roles (each role's `checks::registry()`, in role order): the `list` and
//! `explain` commands, `--check` validation and the libtest-mimic trials of `tests/conformance.rs` are built
//! from it.

use mcp_auth_reports::Role;

use crate::check::CheckMeta;

/// Metadata of every check of a role (or of all roles).
pub fn metas(role: Option<Role>) -> Vec<CheckMeta> {
    let mut out = Vec::new();
    if role.is_none_or(|r| r == Role::Server) {
        out.extend(crate::server::checks::registry().iter().map(|c| *c.meta()));
    }
    if role.is_none_or(|r| r == Role::Client) {
        out.extend(crate::client::checks::registry().iter().map(|c| *c.meta()));
    }
    if role.is_none_or(|r| r == Role::Authz) {
        out.extend(crate::authz::checks::registry().iter().map(|c| *c.meta()));
    }
    out
}

/// One check's metadata by id.
pub fn find(id: &str) -> Option<CheckMeta> {
    metas(None).into_iter().find(|m| m.id == id)
}

/// Roles with checks so far.
pub fn implemented_roles() -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|r| !metas(Some(*r)).is_empty())
        .collect()
}
