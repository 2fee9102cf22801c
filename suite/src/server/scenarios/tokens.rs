//! Every adversarial or variant credential, presented once each at `initialize` (RS-TOK-*, RS-AUD-*,
//! RS-JWT-*). The probes run concurrently; each is independent of the others.

use std::collections::BTreeMap;

use fake_idp::danger::{HmacKeyForm, TokenMutation};
use fake_idp::Audience;
use serde_json::json;

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::server::ctx::{Auth, Ctx, Probe, OTHER_RESOURCE};

mcp_auth_defects::variants! {
    /// Every adversarial or variant token the suite presents, one probe each (`ALL` and
    /// `describe()`, what the stimulus is for reports, are generated). A stimulus is declared here, whole: its
    /// variant and description, how it is forged ([`credential`]) and what a compliant server answers
    /// ([`Stimulus::compliant_answer`], the unit tests' compliant record).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Stimulus {
        Expired = "a token whose exp is 600 s in the past",
        NoExp = "a token without an exp claim",
        NotYetValid = "a token whose nbf is 600 s in the future",
        RandomString = "a random string as the token",
        Truncated = "a valid token with half its signature cut off",
        Garbled = "a valid token whose payload segment is garbage",
        Oversized = "a 64 KiB garbage token",
        Revoked = "a valid token revoked at the AS before use",
        AudOther = "a token whose aud is another MCP server",
        AudMissing = "a token without an aud claim",
        AudClientId = "a token whose aud is the client_id",
        AudOtherAndClientId = "a token whose aud is [another server, client_id]",
        AudUpstream = "a token minted for the upstream API the server fronts",
        AudUppercase = "a valid token whose aud spells the server URL with an uppercase scheme and host",
        IssAttacker = "a token with iss = an attacker issuer, signed with the trusted key",
        IssTrailingSlash = "a token whose iss has a trailing slash added",
        SigBitFlip = "a valid token with one signature bit flipped",
        TamperedPayload = "a read_only user's token whose payload was changed to full_access without re-signing",
        AlgNoneLower = "an unsigned token with alg \"none\"",
        AlgNoneTitle = "an unsigned token with alg \"None\"",
        AlgNoneUpper = "an unsigned token with alg \"NONE\"",
        HsPem = "an HS256 token MACed with the AS public key's PEM text",
        HsDer = "an HS256 token MACed with the AS public key's DER bytes",
        HsJwk = "an HS256 token MACed with the AS public key's JWK JSON",
        UnknownKid = "a token signed by an attacker key with a kid not in the JWKS",
        AttackerKeyRealKid = "a token naming the AS kid but signed by an attacker key",
        EmbeddedJwk = "a token carrying its own (attacker) key in a jwk header",
        Jku = "a token whose jku header points at an attacker JWKS",
        X5u = "a token whose x5u header points at an attacker certificate",
        TypJwt = "a token with typ \"JWT\" instead of at+jwt",
        TypMissing = "a token without a typ header",
        TypApplicationAtJwt = "a valid token whose typ is the media-type form \"application/at+jwt\"",
        BearerLowercase = "a valid token with the scheme spelled `bearer`",
        BearerUppercase = "a valid token with the scheme spelled `BEARER`",
        QueryToken = "a valid token only in the access_token query parameter",
        MalformedEmpty = "`Authorization: Bearer ` with an empty token",
        MalformedExtraToken = "`Authorization: Bearer <valid> extra` (two token words)",
        MalformedTwoHeaders = "two Authorization lines: a valid token and garbage",
    }
}

/// The attacker issuer used with a trusted signature.
pub const ATTACKER_ISSUER: &str = "https://attacker.conformance.test";

/// How long after the probes the suite keeps watching the attacker listener for a late jku/x5u fetch.
pub const KEY_FETCH_BUDGET: std::time::Duration = std::time::Duration::from_millis(250);

/// Size of the oversized token.
pub const OVERSIZED_BYTES: usize = 64 * 1024;

pub async fn probe_all(ctx: &Ctx<'_>) -> BTreeMap<Stimulus, Result<Probe, ObsError>> {
    let scenario = Scenario::new("tokens");
    let sc = &scenario;
    let probes = Stimulus::ALL.iter().map(|&s| async move {
        let result = match credential(ctx, s) {
            Ok(auth) => ctx.initialize(sc, s.describe(), &auth).await,
            Err(e) => Err(e),
        };
        (s, result)
    });
    futures::future::join_all(probes)
        .await
        .into_iter()
        .collect()
}

/// The credential a stimulus presents.
pub fn credential(ctx: &Ctx<'_>, s: Stimulus) -> Result<Auth, ObsError> {
    let full = ctx.full_user().to_owned();
    let forged = |m: TokenMutation| ctx.forged(&full, &m).map(Auth::Bearer);
    match s {
        Stimulus::Expired => forged(TokenMutation::Expired),
        Stimulus::NoExp => forged(TokenMutation::NoExp),
        Stimulus::NotYetValid => forged(TokenMutation::NotYetValid),
        Stimulus::RandomString => forged(TokenMutation::RandomString),
        Stimulus::Truncated => forged(TokenMutation::Truncated),
        Stimulus::Garbled => forged(TokenMutation::Garbled),
        Stimulus::Oversized => forged(TokenMutation::Oversized(OVERSIZED_BYTES)),
        Stimulus::Revoked => {
            let t = ctx.token(&full)?;
            ctx.idp.revoke(&t);
            Ok(Auth::Bearer(t))
        }
        Stimulus::AudOther => forged(TokenMutation::Audience(Audience::One(
            OTHER_RESOURCE.into(),
        ))),
        Stimulus::AudMissing => forged(TokenMutation::Audience(Audience::Absent)),
        Stimulus::AudClientId => forged(TokenMutation::Audience(Audience::One(
            ctx.profile.client_id.clone(),
        ))),
        Stimulus::AudOtherAndClientId => forged(TokenMutation::Audience(Audience::Many(vec![
            OTHER_RESOURCE.into(),
            ctx.profile.client_id.clone(),
        ]))),
        Stimulus::AudUpstream => forged(TokenMutation::Audience(Audience::One(
            ctx.upstream_audience(),
        ))),
        Stimulus::AudUppercase => forged(TokenMutation::Audience(Audience::One(
            uppercase_scheme_and_host(&ctx.audience()),
        ))),
        Stimulus::IssAttacker => forged(TokenMutation::Issuer(ATTACKER_ISSUER.into())),
        Stimulus::IssTrailingSlash => {
            let iss = ctx.idp.issuer();
            let changed = match iss.strip_suffix('/') {
                Some(stripped) => stripped.to_owned(),
                None => format!("{iss}/"),
            };
            forged(TokenMutation::Issuer(changed))
        }
        Stimulus::SigBitFlip => forged(TokenMutation::SignatureBitFlip),
        Stimulus::TamperedPayload => {
            let ro = ctx.read_only_user().to_owned();
            let full_user = ctx
                .users
                .get(&full)
                .ok_or_else(|| ObsError::Harness(format!("unknown user {full}")))?;
            let patch = json!({
                "roles": [full_user.role],
                "permissions": full_user.permissions,
                "scope": ctx.profile.full_scope(),
            });
            ctx.forged(
                &ro,
                &TokenMutation::TamperedPayload {
                    claims_patch: patch,
                },
            )
            .map(Auth::Bearer)
        }
        Stimulus::AlgNoneLower => forged(TokenMutation::AlgNone("none".into())),
        Stimulus::AlgNoneTitle => forged(TokenMutation::AlgNone("None".into())),
        Stimulus::AlgNoneUpper => forged(TokenMutation::AlgNone("NONE".into())),
        Stimulus::HsPem => forged(TokenMutation::Hs256WithPublicKey(HmacKeyForm::Pem)),
        Stimulus::HsDer => forged(TokenMutation::Hs256WithPublicKey(HmacKeyForm::Der)),
        Stimulus::HsJwk => forged(TokenMutation::Hs256WithPublicKey(HmacKeyForm::Jwk)),
        Stimulus::UnknownKid => forged(TokenMutation::UnknownKid),
        Stimulus::AttackerKeyRealKid => forged(TokenMutation::AttackerKeyRealKid),
        Stimulus::EmbeddedJwk => forged(TokenMutation::EmbeddedJwk),
        Stimulus::Jku => forged(TokenMutation::Jku(ctx.idp.attacker_jku_url())),
        Stimulus::X5u => forged(TokenMutation::X5u(ctx.idp.attacker_x5u_url())),
        Stimulus::TypJwt => forged(TokenMutation::Typ(Some("JWT".into()))),
        Stimulus::TypMissing => forged(TokenMutation::Typ(None)),
        Stimulus::TypApplicationAtJwt => {
            forged(TokenMutation::Typ(Some("application/at+jwt".into())))
        }
        Stimulus::BearerLowercase => Ok(Auth::Raw(vec![format!("bearer {}", ctx.token(&full)?)])),
        Stimulus::BearerUppercase => Ok(Auth::Raw(vec![format!("BEARER {}", ctx.token(&full)?)])),
        Stimulus::QueryToken => Ok(Auth::Query(ctx.token(&full)?)),
        Stimulus::MalformedEmpty => Ok(Auth::Raw(vec!["Bearer ".into()])),
        Stimulus::MalformedExtraToken => Ok(Auth::Raw(vec![format!(
            "Bearer {} extra",
            ctx.token(&full)?
        )])),
        Stimulus::MalformedTwoHeaders => Ok(Auth::Raw(vec![
            format!("Bearer {}", ctx.token(&full)?),
            "Bearer not-a-valid-token".into(),
        ])),
    }
}

/// What a compliant server answers to a stimulus.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompliantAnswer {
    /// Served (a valid token in an allowed form).
    Served,
    /// 401 with `WWW-Authenticate: Bearer` and no token error (no usable token was presented).
    Unauthenticated,
    /// 400 `invalid_request` (a malformed Authorization header).
    InvalidRequest,
    /// 401 `invalid_token`.
    InvalidToken,
}

#[cfg(test)]
impl Stimulus {
    /// What a compliant server answers, in a validation mode.
    pub fn compliant_answer(self, introspects: bool) -> CompliantAnswer {
        match self {
            Stimulus::BearerLowercase
            | Stimulus::BearerUppercase
            | Stimulus::AudUppercase
            | Stimulus::TypApplicationAtJwt => CompliantAnswer::Served,
            // A JWT server never asks the AS, so a revoked but well-formed JWT is served (RS-TOK-02.revoked SKIPs).
            Stimulus::Revoked if !introspects => CompliantAnswer::Served,
            Stimulus::QueryToken => CompliantAnswer::Unauthenticated,
            Stimulus::MalformedEmpty
            | Stimulus::MalformedExtraToken
            | Stimulus::MalformedTwoHeaders => CompliantAnswer::InvalidRequest,
            _ => CompliantAnswer::InvalidToken,
        }
    }
}

/// `http://host/mcp` → `HTTP://HOST/mcp` (MCP §8.1: scheme and host are case-insensitive).
pub fn uppercase_scheme_and_host(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_uppercase();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    format!(
        "{}://{}{}",
        scheme.to_ascii_uppercase(),
        authority.to_ascii_uppercase(),
        path
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uppercasing_keeps_the_path() {
        assert_eq!(
            uppercase_scheme_and_host("http://todo.example:8080/mcp/Path"),
            "HTTP://TODO.EXAMPLE:8080/mcp/Path"
        );
    }
}
