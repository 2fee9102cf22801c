//! The token endpoint and refresh tokens: AS-TK-*, AS-RT-*.

use std::collections::BTreeSet;

use mcp_auth_reports::Level::{May, Must, Should};
use serde_json::Value;

use super::{check, happy_precondition, meta, token_refused, AuthzCheck};
use crate::authz::oauth::jwt_parts;
use crate::authz::oauth::TokenResult;
use crate::authz::obs::{AuthzObservations, CodeAttack, ExchangeObs, RefreshAttack};
use crate::authz::scenarios::{RESOURCE, UPSTREAM};
use crate::check::{CheckMeta, Evaluation};

fn attack_check(
    id: &'static str,
    title: &'static str,
    refs: &'static [&'static str],
    summary: &'static str,
    attack: CodeAttack,
) -> Box<AuthzCheck> {
    let eval: fn(&CheckMeta, &AuthzObservations) -> Evaluation = match attack {
        CodeAttack::MissingVerifier => |m, o| {
            attacked(
                m,
                o,
                CodeAttack::MissingVerifier,
                &["invalid_grant", "invalid_request"],
            )
        },
        CodeAttack::WrongVerifier => {
            |m, o| attacked(m, o, CodeAttack::WrongVerifier, &["invalid_grant"])
        }
        CodeAttack::OtherFlowVerifier => {
            |m, o| attacked(m, o, CodeAttack::OtherFlowVerifier, &["invalid_grant"])
        }
        CodeAttack::ChallengeAsVerifier => {
            |m, o| attacked(m, o, CodeAttack::ChallengeAsVerifier, &["invalid_grant"])
        }
        CodeAttack::OtherClient => |m, o| {
            attacked(
                m,
                o,
                CodeAttack::OtherClient,
                &["invalid_grant", "invalid_client"],
            )
        },
        CodeAttack::OtherRedirectUri => {
            |m, o| attacked(m, o, CodeAttack::OtherRedirectUri, &["invalid_grant"])
        }
    };
    check(meta(id, title, Must, refs, summary), eval)
}

fn refresh_check(
    id: &'static str,
    title: &'static str,
    refs: &'static [&'static str],
    summary: &'static str,
    attack: RefreshAttack,
) -> Box<AuthzCheck> {
    let eval: fn(&CheckMeta, &AuthzObservations) -> Evaluation = match attack {
        RefreshAttack::OtherClient => |m, o| {
            refreshed(
                m,
                o,
                RefreshAttack::OtherClient,
                &["invalid_grant", "invalid_client"],
            )
        },
        RefreshAttack::ScopeEscalation => {
            |m, o| refreshed(m, o, RefreshAttack::ScopeEscalation, &["invalid_scope"])
        }
        RefreshAttack::OtherResource => |m, o| {
            refreshed(
                m,
                o,
                RefreshAttack::OtherResource,
                &["invalid_target", "invalid_grant"],
            )
        },
    };
    check(meta(id, title, Must, refs, summary), eval)
}

pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        check(
            meta("AS-TK-01", "A code redeems once", Must, &["OAuth 2.1 §4.1.3", "OAuth 2.1 §7.5.3"],
                "Redeem a code, then redeem it again with the correct verifier → the second gets 400 invalid_grant."),
            |m, o| {
                let r = crate::need!(&o.replay, "the code replay");
                token_refused(m, &r.replay, "a second redemption of the same code", &["invalid_grant"])
            },
        ),
        check(
            meta("AS-TK-02", "A code replay revokes what the code issued", Should, &["OAuth 2.1 §4.1.3", "OAuth 2.1 §7.5.3"],
                "After the valid replay, the refresh token from the first redemption gets invalid_grant."),
            |m, o| {
                let r = crate::need!(&o.replay, "the code replay");
                let Some(t) = &r.refresh_after else {
                    return Evaluation::skip("the first redemption issued no refresh token, so revocation is not observable without introspection");
                };
                token_refused(m, t, "the first grant's refresh token after a code replay", &["invalid_grant"])
            },
        ),
        check(
            meta("AS-TK-03", "A replay with bad parameters revokes nothing", Should, &["OAuth 2.1 §7.5.3"],
                "Replay the code with a wrong verifier → refused, and the first grant's refresh token still works (no denial of service)."),
            |m, o| {
                let r = crate::need!(&o.bad_replay, "the bad replay");
                let Some(t) = &r.refresh_after else {
                    return Evaluation::skip("the first redemption issued no refresh token");
                };
                if let Some(e) = r.replay.unanswered("the bad replay").or_else(|| t.unanswered("the refresh after the bad replay")) {
                    return e;
                }
                let expected = "the original grant still refreshes";
                let e = if t.ok() { Evaluation::pass(expected, t.describe()) } else { Evaluation::violated(m.level, expected, t.describe()) };
                e.with_evidence([r.replay.exchange.clone(), t.exchange.clone()])
            },
        ),
        attack_check("AS-TK-04.wrong-verifier", "A wrong code_verifier is refused", &["RFC 7636 §4.6", "OAuth 2.1 §4.1.3"],
            "Redeem a fresh code with a random verifier → 400 invalid_grant, no tokens.", CodeAttack::WrongVerifier),
        attack_check("AS-TK-04.other-flow-verifier", "Another flow's code_verifier is refused", &["RFC 7636 §4.6", "OAuth 2.1 §4.1.3"],
            "Redeem a code with the verifier of a different flow → 400 invalid_grant.", CodeAttack::OtherFlowVerifier),
        attack_check("AS-TK-04.challenge-as-verifier", "The challenge used as verifier is refused", &["RFC 7636 §4.6"],
            "Redeem a code with its own code_challenge as code_verifier → 400 invalid_grant.", CodeAttack::ChallengeAsVerifier),
        attack_check("AS-TK-05", "A stolen code without its verifier is worthless", &["OAuth 2.1 §4.1.3", "OAuth 2.1 §3.2.4"],
            "Redeem a fresh code with no code_verifier at all → 400 (invalid_grant or invalid_request), no tokens.", CodeAttack::MissingVerifier),
        attack_check("AS-TK-06", "A code is bound to its client", &["OAuth 2.1 §4.1.3"],
            "Client A's code redeemed by client B (with the right verifier) → invalid_grant.", CodeAttack::OtherClient),
        attack_check("AS-TK-07", "A code is bound to its redirect_uri", &["OAuth 2.1 §10.2", "OAuth 2.1 §3.2.4"],
            "Redeem with a redirect_uri different from the authorization request's → invalid_grant.", CodeAttack::OtherRedirectUri),
        check(
            meta("AS-TK-08", "A token response is 200 JSON with no-store", Must, &["OAuth 2.1 §3.2.3"],
                "The valid redemption: 200, JSON with access_token and token_type, Cache-Control: no-store."),
            tk08,
        ),
        check(
            meta("AS-TK-09", "Failed Basic client authentication is 401 with a challenge", Must, &["OAuth 2.1 §3.2.4"],
                "A token request with wrong Basic credentials → 401 invalid_client with WWW-Authenticate."),
            |m, o| {
                let t = crate::need!(&o.bad_basic, "the bad-credentials request");
                if let Some(e) = t.unanswered("the bad-credentials request") {
                    return e;
                }
                let expected = "401, error=invalid_client, WWW-Authenticate";
                let e = if t.status == 401 && t.oauth_error() == Some("invalid_client") && t.header("www-authenticate").is_some() {
                    Evaluation::pass(expected, format!("{} with WWW-Authenticate: {}", t.describe(), t.header("www-authenticate").unwrap_or_default()))
                } else {
                    Evaluation::violated(m.level, expected, format!("{}; WWW-Authenticate {:?}", t.describe(), t.header("www-authenticate")))
                };
                e.with_evidence([t.exchange.clone()])
            },
        ),
        check(
            meta("AS-TK-10", "A confidential client must authenticate", Must, &["OAuth 2.1 §3.2.2"],
                "A confidential client's code redeemed without its credentials → invalid_client, no tokens."),
            |m, o| {
                let t = crate::need!(&o.confidential_without_auth, "the unauthenticated confidential redemption");
                token_refused(m, t, "a confidential client without credentials", &["invalid_client"])
            },
        ),
        check(
            meta("AS-TK-11", "A narrowed grant states its scope", Must, &["OAuth 2.1 §3.2.3"],
                "Request the usual scope plus an unknown one; when the AS grants less, the token response includes `scope`."),
            tk11,
        ),
        check(
            meta("AS-TK-12", "Access tokens are short-lived", May, &["MCP §11.2", "OAuth 2.1 §7.1.3.5"],
                "expires_in is present and at most 3600 (the threshold is informative: INFO)."),
            |m, o| {
                let f = crate::need!(&o.happy, "a valid redemption");
                let Some(t) = &f.token else { return Evaluation::error("no token response") };
                let exp = t.json.as_ref().and_then(|j| j.get("expires_in")).and_then(Value::as_i64);
                let expected = "expires_in ≤ 3600";
                let e = match exp {
                    Some(s) if s <= 3600 => Evaluation::pass(expected, format!("expires_in {s}")),
                    Some(s) => Evaluation::violated(m.level, expected, format!("expires_in {s}")),
                    None => Evaluation::violated(m.level, expected, "no expires_in"),
                };
                e.with_evidence([t.exchange.clone()])
            },
        ),
        check(
            meta("AS-TK-13", "Access tokens are audience-restricted to the resource", Should, &["RFC 8707 §2", "RFC 9068 §3", "OAuth 2.1 §7.1.4"],
                "A JWT access token's aud contains the requested resource (opaque tokens: SKIP, no introspection credentials)."),
            |m, o| {
                let f = crate::need!(&o.happy, "a valid redemption");
                let Some(claims) = f.token.as_ref().and_then(|t| t.access_token()).and_then(jwt_parts).map(|(_, c)| c) else {
                    return Evaluation::skip("the access token is not a JWT; its audience is not observable without introspection");
                };
                let aud: Vec<String> = match claims.get("aud") {
                    Some(Value::String(s)) => vec![s.clone()],
                    Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
                    _ => vec![],
                };
                let expected = format!("aud ∋ {RESOURCE}");
                let e = if aud.iter().any(|a| a == RESOURCE) { Evaluation::pass(expected, format!("aud {aud:?}")) } else { Evaluation::violated(m.level, expected, format!("aud {aud:?}")) };
                e.with_evidence(f.token.as_ref().map(|t| t.exchange.clone()))
            },
        ),
        check(
            meta("AS-TK-14", "JWT access tokens follow RFC 9068", Must, &["RFC 9068 §2.1", "RFC 9068 §2.2"],
                "A JWT access token is signed (not none), has typ at+jwt and the claims iss, exp, aud, sub, client_id, iat, jti."),
            |m, o| {
                let f = crate::need!(&o.happy, "a valid redemption");
                let Some((header, claims)) = f.token.as_ref().and_then(|t| t.access_token()).and_then(jwt_parts) else {
                    return Evaluation::skip("the access token is not a JWT");
                };
                let mut problems = Vec::new();
                let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
                if alg.is_empty() || alg.eq_ignore_ascii_case("none") { problems.push(format!("alg `{alg}`")) }
                let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
                if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") { problems.push(format!("typ `{typ}`")) }
                for c in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
                    if claims.get(c).is_none() { problems.push(format!("no `{c}`")) }
                }
                let expected = "signed, typ at+jwt, iss exp aud sub client_id iat jti";
                let e = if problems.is_empty() { Evaluation::pass(expected, format!("alg {alg}, typ {typ}, all claims")) } else { Evaluation::violated(m.level, expected, problems.join(", ")) };
                e.with_evidence(f.token.as_ref().map(|t| t.exchange.clone()))
            },
        ),
        check(
            meta("AS-RT-01", "Refresh tokens rotate", Must, &["MCP §11.2", "OAuth 2.1 §4.3.1"],
                "Refresh RT1 → a new RT2 ≠ RT1; then RT1 again → invalid_grant."),
            rt01,
        ),
        check(
            meta("AS-RT-02", "A replayed refresh token revokes the family", Must, &["OAuth 2.1 §4.3.1"],
                "After replaying RT1, the current RT2 → invalid_grant too."),
            |m, o| {
                let r = crate::need!(&o.rotation, "refresh rotation");
                let Some(t) = &r.use_new_after_replay else {
                    return Evaluation::error("the refresh did not rotate, so there is no family to revoke (see AS-RT-01)").with_evidence([r.first_refresh.exchange.clone()]);
                };
                token_refused(m, t, "the current refresh token after a replay of the old one", &["invalid_grant"])
            },
        ),
        refresh_check("AS-RT-03", "A refresh token is bound to its client", &["OAuth 2.1 §4.3", "OAuth 2.1 §4.3.1"],
            "Client B presents client A's refresh token → invalid_grant.", RefreshAttack::OtherClient),
        refresh_check("AS-RT-04", "A refresh never widens the scope", &["OAuth 2.1 §4.3.1"],
            "Refresh asking for more than the original scope → invalid_scope.", RefreshAttack::ScopeEscalation),
        refresh_check("AS-RT-05", "A refresh token is bound to its resource", &["OAuth 2.1 §4.3.3", "RFC 8707 §2.2"],
            "Refresh naming a resource that was never granted → invalid_target (or invalid_grant).", RefreshAttack::OtherResource),
        check(
            meta("AS-TX-01.no-client-auth", "Token exchange requires an authenticated client", Must, TX_REFS,
                "The actor's exchange without client authentication → invalid_client (or invalid_request), no token."),
            |m, o| exchange_refused(m, o, |x| Some(&x.no_client_auth), "an exchange without client authentication", &["invalid_client", "invalid_request"]),
        ),
        check(
            meta("AS-TX-01.forged-subject", "Token exchange refuses a forged subject token", Must, TX_REFS,
                "A subject token with a broken signature → invalid_grant (or invalid_request), no token."),
            |m, o| exchange_refused(m, o, |x| Some(&x.forged_subject), "an exchange of a forged subject token", &["invalid_grant", "invalid_request"]),
        ),
        check(
            meta("AS-TX-01.revoked-subject", "Token exchange refuses a revoked subject token", Must, TX_REFS,
                "A subject token revoked at the revocation endpoint → invalid_grant (or invalid_request), no token."),
            |m, o| exchange_refused(m, o, |x| x.revoked_subject.as_ref(), "an exchange of a revoked subject token", &["invalid_grant", "invalid_request"]),
        ),
        check(
            meta("AS-TX-02", "Token exchange refuses a subject token not issued for the actor", Should, &["RFC 8693 §5", "SBP §2.1"],
                "A second confidential client, which the subject token was not issued for, exchanges it → refused."),
            |m, o| exchange_refused(m, o, |x| x.other_actor.as_ref(), "an exchange by an actor the subject token was not issued for", &["invalid_grant", "invalid_request", "invalid_target"]),
        ),
        check(
            meta("AS-TX-03", "An exchanged token is bound to its audience, subject and actor", Should, &["RFC 8693 §2.2.1", "RFC 8693 §4.1"],
                "The issued JWT: aud = the requested audience, sub = the subject token's sub, act.sub = the actor."),
            tx03,
        ),
        check(
            meta("AS-TX-04", "An exchange never widens the scope", Must, &["RFC 8693 §2.1", "RFC 8693 §5"],
                "Asking for more scope than the subject token carries → invalid_scope, or an issued scope within the subject's."),
            tx04,
        ),
    ]
}

const TX_REFS: &[&str] = &["RFC 8693 §2.1", "RFC 8693 §2.2.2"];

/// The exchange record after its precondition: the actor's valid exchange must succeed.
fn exchange_obs(o: &AuthzObservations) -> Result<&ExchangeObs, Evaluation> {
    let x = o
        .exchange
        .as_ref()
        .map_err(|e| e.to_evaluation("the token-exchange probes"))?;
    if !x.valid.ok() {
        return Err(Evaluation::error(format!(
            "a valid exchange by the actor failed ({}), so a refusal proves nothing",
            x.valid.describe()
        ))
        .with_evidence([x.valid.exchange.clone()]));
    }
    Ok(x)
}

fn exchange_refused(
    m: &CheckMeta,
    o: &AuthzObservations,
    pick: fn(&ExchangeObs) -> Option<&TokenResult>,
    what: &str,
    errors: &[&str],
) -> Evaluation {
    let x = match exchange_obs(o) {
        Ok(x) => x,
        Err(e) => return e,
    };
    match pick(x) {
        Some(t) => token_refused(m, t, what, errors),
        None => Evaluation::skip(
            "the AS offers no way to set up this stimulus (no revocation or registration endpoint)",
        ),
    }
}

fn tx03(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let x = match exchange_obs(o) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Some((_, claims)) = x.valid.access_token().and_then(jwt_parts) else {
        return Evaluation::skip(
            "the exchanged token is not a JWT; its binding is not observable without introspection",
        );
    };
    let aud: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    };
    let subject_sub = x
        .subject_claims
        .as_ref()
        .and_then(|c| c.get("sub"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut problems = Vec::new();
    if !aud.iter().any(|a| a == UPSTREAM) {
        problems.push(format!("aud {aud:?}"));
    }
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    if !subject_sub.is_empty() && sub != subject_sub {
        problems.push(format!("sub `{sub}` (subject `{subject_sub}`)"));
    }
    match claims
        .get("act")
        .and_then(|a| a.get("sub"))
        .and_then(Value::as_str)
    {
        Some(a) if a == x.actor_id => {}
        other => problems.push(format!("act.sub {other:?} (actor {})", x.actor_id)),
    }
    let expected = format!("aud ∋ {UPSTREAM}, the subject's sub, act.sub = the actor");
    let e = if problems.is_empty() {
        Evaluation::pass(expected, "bound as requested")
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence([x.valid.exchange.clone()])
}

fn tx04(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let x = match exchange_obs(o) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let t = &x.scope_escalation;
    let held: BTreeSet<&str> = x
        .subject_scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    let expected = format!("invalid_scope, or a scope within {{{}}}", x.subject_scope);
    let e = if !t.ok() {
        token_refused(
            m,
            t,
            "an exchange asking for more scope",
            &["invalid_scope"],
        )
    } else {
        let issued = t
            .member("scope")
            .map(str::to_owned)
            .or_else(|| {
                t.access_token()
                    .and_then(jwt_parts)
                    .and_then(|(_, c)| c.get("scope").and_then(Value::as_str).map(str::to_owned))
            })
            .unwrap_or_default();
        let extra: Vec<&str> = issued
            .split(' ')
            .filter(|s| !s.is_empty() && !held.contains(s))
            .collect();
        if extra.is_empty() {
            Evaluation::pass(expected, format!("issued scope `{issued}`"))
        } else {
            Evaluation::violated(
                m.level,
                expected,
                format!("issued scope `{issued}` adds {extra:?}"),
            )
        }
    };
    e.with_evidence([t.exchange.clone()])
}

fn attacked(
    m: &CheckMeta,
    o: &AuthzObservations,
    attack: CodeAttack,
    errors: &[&str],
) -> Evaluation {
    if let Some(e) = happy_precondition(o) {
        return e;
    }
    let a = match o.attacks.get(&attack) {
        Some(Ok(a)) => a,
        Some(Err(e)) => return e.to_evaluation(attack.describe()),
        None => return Evaluation::harness_error("the attack was not run"),
    };
    token_refused(m, &a.attempt, attack.describe(), errors)
}

fn refreshed(
    m: &CheckMeta,
    o: &AuthzObservations,
    attack: RefreshAttack,
    errors: &[&str],
) -> Evaluation {
    let t = match o.refresh_attacks.get(&attack) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return e.to_evaluation("the refresh attack"),
        None => return Evaluation::harness_error("the refresh attack was not run"),
    };
    let what = match attack {
        RefreshAttack::OtherClient => "another client's refresh token",
        RefreshAttack::ScopeEscalation => "a refresh asking for more scope",
        RefreshAttack::OtherResource => "a refresh naming a resource never granted",
    };
    token_refused(m, t, what, errors)
}

fn tk08(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let f = crate::need!(&o.happy, "a valid redemption");
    let Some(t) = &f.token else {
        return Evaluation::error("no token response");
    };
    if let Some(e) = t.unanswered("the valid redemption") {
        return e;
    }
    let expected = "200, JSON access_token + token_type, Cache-Control: no-store";
    let cc = t.header("cache-control").unwrap_or("").to_ascii_lowercase();
    let mut problems = Vec::new();
    if t.status != 200 {
        problems.push(format!("HTTP {}", t.status))
    }
    if t.access_token().is_none() {
        problems.push("no access_token".into())
    }
    if t.member("token_type").is_none() {
        problems.push("no token_type".into())
    }
    if !cc.contains("no-store") {
        problems.push(format!("Cache-Control `{cc}`"))
    }
    let e = if problems.is_empty() {
        Evaluation::pass(expected, "conforms")
    } else {
        Evaluation::violated(m.level, expected, problems.join(", "))
    };
    e.with_evidence([t.exchange.clone()])
}

fn tk11(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let f = match &o.narrowed_scope {
        Ok(f) => f,
        Err(e) if e.oauth_error() == Some("invalid_scope") => {
            return Evaluation::skip(
                "the AS refuses unknown scopes outright, so it never narrows a grant",
            );
        }
        Err(e) => return e.to_evaluation("the narrowed-scope flow"),
    };
    let Some(t) = &f.token else {
        return Evaluation::error("no token response");
    };
    let requested: BTreeSet<&str> = f.scope.split(' ').collect();
    let expected = "`scope` in the response when the grant differs from the request";
    if let Some(s) = t.member("scope") {
        return Evaluation::pass(expected, format!("scope `{s}` stated"))
            .with_evidence([t.exchange.clone()]);
    }
    let granted = t
        .access_token()
        .and_then(jwt_parts)
        .and_then(|(_, c)| c.get("scope").and_then(Value::as_str).map(str::to_owned));
    let e = match granted {
        Some(g) if g.split(' ').collect::<BTreeSet<_>>() != requested => {
            Evaluation::violated(m.level, expected, format!("granted `{g}` (per the token) for `{}`, but the response has no scope", f.scope))
        }
        Some(_) => Evaluation::pass(expected, "the full request was granted; no scope needed"),
        None => Evaluation::skip("the response has no scope and the token is opaque: the granted scope is not observable"),
    };
    e.with_evidence([t.exchange.clone()])
}

fn rt01(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let r = crate::need!(&o.rotation, "refresh rotation");
    let rt1 = r
        .flow
        .token
        .as_ref()
        .and_then(|t| t.refresh_token())
        .unwrap_or_default();
    let expected = "a new refresh token; the old one then refused";
    let t = &r.first_refresh;
    if !t.ok() {
        return Evaluation::error(format!(
            "refreshing with a fresh refresh token failed: {}",
            t.describe()
        ))
        .with_evidence([t.exchange.clone()]);
    }
    if let Some(e) = r
        .replay_old
        .as_ref()
        .and_then(|x| x.unanswered("the replay of the old refresh token"))
    {
        return e;
    }
    let e = match (t.refresh_token(), &r.replay_old) {
        (None, _) => Evaluation::violated(
            m.level,
            expected,
            "the refresh response has no new refresh token",
        ),
        (Some(rt2), _) if rt2 == rt1 => {
            Evaluation::violated(m.level, expected, "the same refresh token came back")
        }
        (Some(_), Some(replay)) if replay.ok() => Evaluation::violated(
            m.level,
            expected,
            "the old refresh token still works after rotation",
        )
        .with_evidence([replay.exchange.clone()]),
        (Some(_), Some(replay)) => Evaluation::pass(
            expected,
            format!("rotated; old token: {}", replay.describe()),
        )
        .with_evidence([replay.exchange.clone()]),
        (Some(_), None) => Evaluation::error("the old refresh token was not replayed"),
    };
    e.with_evidence([t.exchange.clone()])
}
