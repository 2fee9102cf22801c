//! Opaque tokens and authorization codes: who minted them, for what, and whether they still live.

use std::collections::{HashMap, HashSet};

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    /// Which AS minted it.
    pub(crate) as_index: usize,
    #[expect(
        dead_code,
        reason = "kept for debugging output: who the token was minted for"
    )]
    pub(crate) client_id: String,
    /// Granted scope (space separated); None when the client asked for none.
    pub(crate) scope: Option<String>,
    pub(crate) resource: Option<String>,
    pub(crate) expires_at: i64,
    /// The DPoP key thumbprint the token is bound to (RFC 9449 §6), if any.
    pub(crate) jkt: Option<String>,
    pub(crate) family: String,
    /// Successful authenticated MCP requests made with it.
    pub(crate) uses: usize,
    /// Killed by `expire_token_after`.
    pub(crate) expired_by_use: bool,
}

impl AccessToken {
    /// Whether the granted scope contains `needed` (every space-separated token of it).
    pub(crate) fn has_scope(&self, needed: &str) -> bool {
        let granted: HashSet<&str> = self
            .scope
            .as_deref()
            .map(|s| crate::server::scope_tokens(s).collect())
            .unwrap_or_default();
        crate::server::scope_tokens(needed).all(|s| granted.contains(s))
    }
}

/// An issued refresh token.
#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub(crate) as_index: usize,
    pub(crate) family: String,
    pub(crate) client_id: String,
    pub(crate) resource: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) used: bool,
}

/// What an authorization code was issued for.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub(crate) as_index: usize,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) resource: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) code_challenge: String,
    /// `S256` or `plain`.
    pub(crate) code_challenge_method: String,
    pub(crate) expires_at: i64,
}

/// Every token and code of the world (all ASes).
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    pub(crate) access: HashMap<String, AccessToken>,
    pub(crate) refresh: HashMap<String, RefreshToken>,
    pub(crate) codes: HashMap<String, CodeGrant>,
    /// `(as_index, family)` of revoked families (refresh token replay).
    pub(crate) revoked_families: HashSet<(usize, String)>,
}

impl TokenStore {
    /// Revokes a grant family: its refresh tokens and access tokens stop working.
    pub(crate) fn revoke_family(&mut self, as_index: usize, family: &str) {
        self.revoked_families.insert((as_index, family.to_owned()));
    }

    pub(crate) fn family_revoked(&self, as_index: usize, family: &str) -> bool {
        self.revoked_families
            .contains(&(as_index, family.to_owned()))
    }

    /// Which AS minted an access token, if any did.
    pub(crate) fn issuer_of(&self, token: &str) -> Option<usize> {
        self.access.get(token).map(|t| t.as_index)
    }
}

/// PKCE verification for the methods the world accepts (RFC 7636 §4.6).
pub(crate) fn pkce_verifies(method: &str, verifier: &str, challenge: &str) -> bool {
    match method {
        "S256" => crate::server::tokens::pkce_ok(verifier, challenge),
        "plain" => {
            (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
                && verifier == challenge
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_uses_the_servers_verification() {
        assert!(pkce_verifies("S256", VERIFIER, CHALLENGE));
        assert!(!pkce_verifies("S256", VERIFIER, VERIFIER));
    }

    #[test]
    fn plain_compares_verifier_and_challenge() {
        assert!(pkce_verifies("plain", VERIFIER, VERIFIER));
        assert!(!pkce_verifies("plain", VERIFIER, CHALLENGE));
        assert!(!pkce_verifies("none", VERIFIER, VERIFIER));
    }

    #[test]
    fn scope_check_needs_every_token() {
        let token = AccessToken {
            as_index: 0,
            client_id: "c".into(),
            scope: Some("todo:read todo:write".into()),
            resource: None,
            expires_at: 0,
            jkt: None,
            family: "f".into(),
            uses: 0,
            expired_by_use: false,
        };
        assert!(token.has_scope("todo:write"));
        assert!(!token.has_scope("todo:write admin"));
    }
}
