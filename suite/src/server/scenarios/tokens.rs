//! Every adversarial or variant credential, presented once each at `initialize` (RS-TOK-*, RS-AUD-*,
//! RS-JWT-*). The probes run concurrently; each is independent of the others.

use std::collections::BTreeMap;

use fake_idp::danger::{HmacKeyForm, TokenMutation};
use fake_idp::Audience;
use serde_json::json;

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::server::ctx::{Auth, Ctx, Probe, OTHER_RESOURCE};
use crate::server::obs::Stimulus;

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
            uppercase_scheme_and_host(&ctx.target),
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
