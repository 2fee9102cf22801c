//! The token endpoint and refresh tokens: AS-TK-*, AS-RT-*.

use std::collections::BTreeSet;

use mcp_auth_reports::Level::{May, Must, Should};
use serde_json::Value;

use super::{happy_precondition, meta, token_refused, AuthzCheck};
use crate::authz::oauth::jwt_parts;
use crate::authz::oauth::TokenResult;
use crate::authz::obs::{AuthzObservations, CodeAttack, ExchangeObs, RefreshAttack};
use crate::authz::scenarios::UPSTREAM;
use crate::check::{Check, CheckMeta, Evaluation, FnCheck};

pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_TK_01),
        Box::new(AS_TK_02),
        Box::new(AS_TK_03),
        Box::new(AS_TK_04_WRONG_VERIFIER),
        Box::new(AS_TK_04_OTHER_FLOW_VERIFIER),
        Box::new(AS_TK_04_CHALLENGE_AS_VERIFIER),
        Box::new(AS_TK_05),
        Box::new(AS_TK_06),
        Box::new(AS_TK_07),
        Box::new(AS_TK_08),
        Box::new(AS_TK_09),
        Box::new(AS_TK_10),
        Box::new(AS_TK_11),
        Box::new(AS_TK_12),
        Box::new(AS_TK_13),
        Box::new(AS_TK_14),
        Box::new(AS_RT_01),
        Box::new(AS_RT_02),
        Box::new(AS_RT_03),
        Box::new(AS_RT_04),
        Box::new(AS_RT_05),
        Box::new(AS_TX_01_NO_CLIENT_AUTH),
        Box::new(AS_TX_01_FORGED_SUBJECT),
        Box::new(AS_TX_01_REVOKED_SUBJECT),
        Box::new(AS_TX_02),
        Box::new(AS_TX_03),
        Box::new(AS_TX_04),
    ]
}

/// AS-TK-01: a code redeems once.
const AS_TK_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TK-01", "A code redeems once", Must, &["OAuth 2.1 §4.1.3", "OAuth 2.1 §7.5.3"],
        "Redeem a code, then redeem it again with the correct verifier → the second gets 400 invalid_grant."),
    eval: |m, o| {
        let r = crate::need!(&o.replay, "the code replay");
        token_refused(m, &r.replay, "a second redemption of the same code", &["invalid_grant"])
    },
};

/// AS-TK-02: a code replay revokes what the code issued.
const AS_TK_02: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-TK-02",
        "A code replay revokes what the code issued",
        Should,
        &["OAuth 2.1 §4.1.3", "OAuth 2.1 §7.5.3"],
        "After the valid replay, the refresh token from the first redemption gets invalid_grant.",
    ),
    eval: as_tk_02,
};
fn as_tk_02(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let r = crate::need!(&o.replay, "the code replay");
    let Some(t) = &r.refresh_after else {
        return Evaluation::skip("the first redemption issued no refresh token, so revocation is not observable without introspection");
    };
    token_refused(
        m,
        t,
        "the first grant's refresh token after a code replay",
        &["invalid_grant"],
    )
}

/// AS-TK-03: a replay with bad parameters revokes nothing.
const AS_TK_03: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TK-03", "A replay with bad parameters revokes nothing", Should, &["OAuth 2.1 §7.5.3"],
        "Replay the code with a wrong verifier → refused, and the first grant's refresh token still works (no denial of service)."),
    eval: as_tk_03,
};
fn as_tk_03(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let r = crate::need!(&o.bad_replay, "the bad replay");
    let Some(t) = &r.refresh_after else {
        return Evaluation::skip("the first redemption issued no refresh token");
    };
    if let Some(e) = r
        .replay
        .unanswered("the bad replay")
        .or_else(|| t.unanswered("the refresh after the bad replay"))
    {
        return e;
    }
    let expected = "the original grant still refreshes";
    let e = if t.ok() {
        Evaluation::pass(expected, t.describe())
    } else {
        Evaluation::violated(m.level, expected, t.describe())
    };
    e.with_evidence([r.replay.exchange.clone(), t.exchange.clone()])
}

/// A hostile redemption of a fresh code (AS-TK-04..07): refused with one of `errors`, no tokens.
struct CodeAttackRefused {
    meta: CheckMeta,
    attack: CodeAttack,
    errors: &'static [&'static str],
}

/// AS-TK-04.wrong-verifier.
const AS_TK_04_WRONG_VERIFIER: CodeAttackRefused = CodeAttackRefused {
    meta: meta(
        "AS-TK-04.wrong-verifier",
        "A wrong code_verifier is refused",
        Must,
        &["RFC 7636 §4.6", "OAuth 2.1 §4.1.3"],
        "Redeem a fresh code with a random verifier → 400 invalid_grant, no tokens.",
    ),
    attack: CodeAttack::WrongVerifier,
    errors: &["invalid_grant"],
};

/// AS-TK-04.other-flow-verifier.
const AS_TK_04_OTHER_FLOW_VERIFIER: CodeAttackRefused = CodeAttackRefused {
    meta: meta(
        "AS-TK-04.other-flow-verifier",
        "Another flow's code_verifier is refused",
        Must,
        &["RFC 7636 §4.6", "OAuth 2.1 §4.1.3"],
        "Redeem a code with the verifier of a different flow → 400 invalid_grant.",
    ),
    attack: CodeAttack::OtherFlowVerifier,
    errors: &["invalid_grant"],
};

/// AS-TK-04.challenge-as-verifier.
const AS_TK_04_CHALLENGE_AS_VERIFIER: CodeAttackRefused = CodeAttackRefused {
    meta: meta(
        "AS-TK-04.challenge-as-verifier",
        "The challenge used as verifier is refused",
        Must,
        &["RFC 7636 §4.6"],
        "Redeem a code with its own code_challenge as code_verifier → 400 invalid_grant.",
    ),
    attack: CodeAttack::ChallengeAsVerifier,
    errors: &["invalid_grant"],
};

/// AS-TK-05: a stolen code without its verifier is worthless.
const AS_TK_05: CodeAttackRefused = CodeAttackRefused {
    meta: meta("AS-TK-05", "A stolen code without its verifier is worthless", Must, &["OAuth 2.1 §4.1.3", "OAuth 2.1 §3.2.4"],
        "Redeem a fresh code with no code_verifier at all → 400 (invalid_grant or invalid_request), no tokens."),
    attack: CodeAttack::MissingVerifier,
    errors: &["invalid_grant", "invalid_request"],
};

/// AS-TK-06: a code is bound to its client.
const AS_TK_06: CodeAttackRefused = CodeAttackRefused {
    meta: meta(
        "AS-TK-06",
        "A code is bound to its client",
        Must,
        &["OAuth 2.1 §4.1.3"],
        "Client A's code redeemed by client B (with the right verifier) → invalid_grant.",
    ),
    attack: CodeAttack::OtherClient,
    errors: &["invalid_grant", "invalid_client"],
};

/// AS-TK-07: a code is bound to its redirect_uri.
const AS_TK_07: CodeAttackRefused = CodeAttackRefused {
    meta: meta(
        "AS-TK-07",
        "A code is bound to its redirect_uri",
        Must,
        &["OAuth 2.1 §10.2", "OAuth 2.1 §3.2.4"],
        "Redeem with a redirect_uri different from the authorization request's → invalid_grant.",
    ),
    attack: CodeAttack::OtherRedirectUri,
    errors: &["invalid_grant"],
};

impl Check<AuthzObservations> for CodeAttackRefused {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &AuthzObservations) -> Evaluation {
        if let Some(e) = happy_precondition(o) {
            return e;
        }
        let a = match o.attacks.get(&self.attack) {
            Some(Ok(a)) => a,
            Some(Err(e)) => return e.to_evaluation(self.attack.describe()),
            None => return Evaluation::harness_error("the attack was not run"),
        };
        token_refused(&self.meta, &a.attempt, self.attack.describe(), self.errors)
    }
}

/// AS-TK-08: the token response is 200 JSON with no-store.
const AS_TK_08: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TK-08", "A token response is 200 JSON with no-store", Must, &["OAuth 2.1 §3.2.3"],
        "The valid redemption: 200, JSON with access_token and token_type, Cache-Control: no-store."),
    eval: as_tk_08,
};
fn as_tk_08(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// AS-TK-09: failed Basic client authentication is 401 with a challenge.
const AS_TK_09: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-TK-09",
        "Failed Basic client authentication is 401 with a challenge",
        Must,
        &["OAuth 2.1 §3.2.4"],
        "A token request with wrong Basic credentials → 401 invalid_client with WWW-Authenticate.",
    ),
    eval: as_tk_09,
};
fn as_tk_09(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let t = crate::need!(&o.bad_basic, "the bad-credentials request");
    let e = bad_basic_refused(m, t);
    // With `--extension client-credentials`, the same failure on the client_credentials grant.
    match o.machine.as_ref().ok().and_then(|p| p.bad_basic.as_ref()) {
        Some(cc) if e.verdict == mcp_auth_reports::Verdict::Pass => {
            let c = bad_basic_refused(m, cc);
            match c.verdict {
                mcp_auth_reports::Verdict::Pass => e.with_evidence([cc.exchange.clone()]),
                _ => c.with_message("on the client_credentials grant"),
            }
        }
        _ => e,
    }
}

fn bad_basic_refused(m: &CheckMeta, t: &TokenResult) -> Evaluation {
    if let Some(e) = t.unanswered("the bad-credentials request") {
        return e;
    }
    let expected = "401, error=invalid_client, WWW-Authenticate";
    let challenge = t.header("www-authenticate");
    let e = if t.status == 401 && t.oauth_error() == Some("invalid_client") && challenge.is_some() {
        Evaluation::pass(
            expected,
            format!(
                "{} with WWW-Authenticate: {}",
                t.describe(),
                challenge.unwrap_or_default()
            ),
        )
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!("{}; WWW-Authenticate {:?}", t.describe(), challenge),
        )
    };
    e.with_evidence([t.exchange.clone()])
}

/// AS-TK-10: a confidential client must authenticate.
const AS_TK_10: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TK-10", "A confidential client must authenticate", Must, &["OAuth 2.1 §3.2.2"],
        "A confidential client's code redeemed without its credentials → invalid_client, no tokens."),
    eval: |m, o| {
        let t = crate::need!(&o.confidential_without_auth, "the unauthenticated confidential redemption");
        token_refused(m, t, "a confidential client without credentials", &["invalid_client"])
    },
};

/// AS-TK-11: a narrowed grant states its scope.
const AS_TK_11: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TK-11", "A narrowed grant states its scope", Must, &["OAuth 2.1 §3.2.3"],
        "Request the usual scope plus an unknown one; when the AS grants less, the token response includes `scope`."),
    eval: as_tk_11,
};
fn as_tk_11(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// AS-TK-12: access tokens are short-lived (informative threshold).
const AS_TK_12: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-TK-12",
        "Access tokens are short-lived",
        May,
        &["MCP §11.2", "OAuth 2.1 §7.1.3.5"],
        "expires_in is present and at most 3600 (the threshold is informative: INFO).",
    ),
    eval: as_tk_12,
};
fn as_tk_12(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let f = crate::need!(&o.happy, "a valid redemption");
    let Some(t) = &f.token else {
        return Evaluation::error("no token response");
    };
    let exp = t
        .json
        .as_ref()
        .and_then(|j| j.get("expires_in"))
        .and_then(Value::as_i64);
    let expected = "expires_in ≤ 3600";
    let e = match exp {
        Some(s) if s <= 3600 => Evaluation::pass(expected, format!("expires_in {s}")),
        Some(s) => Evaluation::violated(m.level, expected, format!("expires_in {s}")),
        None => Evaluation::violated(m.level, expected, "no expires_in"),
    };
    e.with_evidence([t.exchange.clone()])
}

/// AS-TK-13: a JWT access token's aud names the resource.
const AS_TK_13: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TK-13", "Access tokens are audience-restricted to the resource", Should, &["RFC 8707 §2", "RFC 9068 §3", "OAuth 2.1 §7.1.4"],
        "A JWT access token's aud contains the requested resource (opaque tokens: SKIP, no introspection credentials)."),
    eval: as_tk_13,
};
fn as_tk_13(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let f = crate::need!(&o.happy, "a valid redemption");
    let Some(claims) = f
        .token
        .as_ref()
        .and_then(|t| t.access_token())
        .and_then(jwt_parts)
        .map(|(_, c)| c)
    else {
        return Evaluation::skip(
            "the access token is not a JWT; its audience is not observable without introspection",
        );
    };
    let aud = audiences(&claims);
    let expected = format!("aud ∋ {}", o.resource);
    let e = if aud.contains(&o.resource) {
        Evaluation::pass(expected, format!("aud {aud:?}"))
    } else {
        Evaluation::violated(m.level, expected, format!("aud {aud:?}"))
    };
    e.with_evidence(f.token.as_ref().map(|t| t.exchange.clone()))
}

/// AS-TK-14: JWT access tokens follow RFC 9068.
const AS_TK_14: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TK-14", "JWT access tokens follow RFC 9068", Must, &["RFC 9068 §2.1", "RFC 9068 §2.2"],
        "A JWT access token is signed (not none), has typ at+jwt and the claims iss, exp, aud, sub, client_id, iat, jti."),
    eval: as_tk_14,
};
fn as_tk_14(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let f = crate::need!(&o.happy, "a valid redemption");
    let Some((header, claims)) = f
        .token
        .as_ref()
        .and_then(|t| t.access_token())
        .and_then(jwt_parts)
    else {
        return Evaluation::skip("the access token is not a JWT");
    };
    let mut problems = Vec::new();
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg.is_empty() || alg.eq_ignore_ascii_case("none") {
        problems.push(format!("alg `{alg}`"))
    }
    let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
    if !typ.eq_ignore_ascii_case("at+jwt") && !typ.eq_ignore_ascii_case("application/at+jwt") {
        problems.push(format!("typ `{typ}`"))
    }
    for c in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        if claims.get(c).is_none() {
            problems.push(format!("no `{c}`"))
        }
    }
    let expected = "signed, typ at+jwt, iss exp aud sub client_id iat jti";
    let e = if problems.is_empty() {
        Evaluation::pass(expected, format!("alg {alg}, typ {typ}, all claims"))
    } else {
        Evaluation::violated(m.level, expected, problems.join(", "))
    };
    e.with_evidence(f.token.as_ref().map(|t| t.exchange.clone()))
}

/// AS-RT-01: refresh tokens rotate.
const AS_RT_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-RT-01",
        "Refresh tokens rotate",
        Must,
        &["MCP §11.2", "OAuth 2.1 §4.3.1"],
        "Refresh RT1 → a new RT2 ≠ RT1; then RT1 again → invalid_grant.",
    ),
    eval: as_rt_01,
};
fn as_rt_01(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// AS-RT-02: a replayed refresh token revokes the family.
const AS_RT_02: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-RT-02",
        "A replayed refresh token revokes the family",
        Must,
        &["OAuth 2.1 §4.3.1"],
        "After replaying RT1, the current RT2 → invalid_grant too.",
    ),
    eval: as_rt_02,
};
fn as_rt_02(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let r = crate::need!(&o.rotation, "refresh rotation");
    let Some(t) = &r.use_new_after_replay else {
        return Evaluation::error(
            "the refresh did not rotate, so there is no family to revoke (see AS-RT-01)",
        )
        .with_evidence([r.first_refresh.exchange.clone()])
        .after(&["AS-RT-01"]);
    };
    token_refused(
        m,
        t,
        "the current refresh token after a replay of the old one",
        &["invalid_grant"],
    )
}

/// A hostile refresh (AS-RT-03..05): refused with one of `errors`, no tokens.
struct RefreshAttackRefused {
    meta: CheckMeta,
    attack: RefreshAttack,
    /// The stimulus, as the expectation names it.
    what: &'static str,
    errors: &'static [&'static str],
}

/// AS-RT-03: a refresh token is bound to its client.
const AS_RT_03: RefreshAttackRefused = RefreshAttackRefused {
    meta: meta(
        "AS-RT-03",
        "A refresh token is bound to its client",
        Must,
        &["OAuth 2.1 §4.3", "OAuth 2.1 §4.3.1"],
        "Client B presents client A's refresh token → invalid_grant.",
    ),
    attack: RefreshAttack::OtherClient,
    what: "another client's refresh token",
    errors: &["invalid_grant", "invalid_client"],
};

/// AS-RT-04: a refresh never widens the scope.
const AS_RT_04: RefreshAttackRefused = RefreshAttackRefused {
    meta: meta(
        "AS-RT-04",
        "A refresh never widens the scope",
        Must,
        &["OAuth 2.1 §4.3.1"],
        "Refresh asking for more than the original scope → invalid_scope.",
    ),
    attack: RefreshAttack::ScopeEscalation,
    what: "a refresh asking for more scope",
    errors: &["invalid_scope"],
};

/// AS-RT-05: a refresh token is bound to its resource.
const AS_RT_05: RefreshAttackRefused = RefreshAttackRefused {
    meta: meta(
        "AS-RT-05",
        "A refresh token is bound to its resource",
        Must,
        &["OAuth 2.1 §4.3.3", "RFC 8707 §2.2"],
        "Refresh naming a resource that was never granted → invalid_target (or invalid_grant).",
    ),
    attack: RefreshAttack::OtherResource,
    what: "a refresh naming a resource never granted",
    errors: &["invalid_target", "invalid_grant"],
};

impl Check<AuthzObservations> for RefreshAttackRefused {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &AuthzObservations) -> Evaluation {
        let t = match o.refresh_attacks.get(&self.attack) {
            Some(Ok(t)) => t,
            Some(Err(e)) => return e.to_evaluation("the refresh attack"),
            None => return Evaluation::harness_error("the refresh attack was not run"),
        };
        token_refused(&self.meta, t, self.what, self.errors)
    }
}

const TX_REFS: &[&str] = &["RFC 8693 §2.1", "RFC 8693 §2.2.2"];

/// A hostile token exchange (AS-TX-01/02): refused with one of `errors`, after the actor's valid exchange worked.
struct ExchangeRefused {
    meta: CheckMeta,
    /// The probe's answer; None when the AS offers no way to set the stimulus up.
    pick: fn(&ExchangeObs) -> Option<&TokenResult>,
    what: &'static str,
    errors: &'static [&'static str],
}

/// AS-TX-01.no-client-auth.
const AS_TX_01_NO_CLIENT_AUTH: ExchangeRefused = ExchangeRefused {
    meta: meta("AS-TX-01.no-client-auth", "Token exchange requires an authenticated client", Must, TX_REFS,
        "The actor's exchange without client authentication → invalid_client (or invalid_request), no token."),
    pick: |x| Some(&x.no_client_auth),
    what: "an exchange without client authentication",
    errors: &["invalid_client", "invalid_request"],
};

/// AS-TX-01.forged-subject.
const AS_TX_01_FORGED_SUBJECT: ExchangeRefused = ExchangeRefused {
    meta: meta(
        "AS-TX-01.forged-subject",
        "Token exchange refuses a forged subject token",
        Must,
        TX_REFS,
        "A subject token with a broken signature → invalid_grant (or invalid_request), no token.",
    ),
    pick: |x| Some(&x.forged_subject),
    what: "an exchange of a forged subject token",
    errors: &["invalid_grant", "invalid_request"],
};

/// AS-TX-01.revoked-subject.
const AS_TX_01_REVOKED_SUBJECT: ExchangeRefused = ExchangeRefused {
    meta: meta("AS-TX-01.revoked-subject", "Token exchange refuses a revoked subject token", Must, TX_REFS,
        "A subject token revoked at the revocation endpoint → invalid_grant (or invalid_request), no token."),
    pick: |x| x.revoked_subject.as_ref(),
    what: "an exchange of a revoked subject token",
    errors: &["invalid_grant", "invalid_request"],
};

/// AS-TX-02: a subject token not issued for the actor is refused.
const AS_TX_02: ExchangeRefused = ExchangeRefused {
    meta: meta("AS-TX-02", "Token exchange refuses a subject token not issued for the actor", Should, &["RFC 8693 §5", "SBP §2.1"],
        "A second confidential client, which the subject token was not issued for, exchanges it → refused."),
    pick: |x| x.other_actor.as_ref(),
    what: "an exchange by an actor the subject token was not issued for",
    errors: &["invalid_grant", "invalid_request", "invalid_target"],
};

impl Check<AuthzObservations> for ExchangeRefused {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &AuthzObservations) -> Evaluation {
        let x = match exchange_obs(o) {
            Ok(x) => x,
            Err(e) => return e,
        };
        match (self.pick)(x) {
            Some(t) => token_refused(&self.meta, t, self.what, self.errors),
            None => Evaluation::skip(
                "the AS offers no way to set up this stimulus (no revocation or registration endpoint)",
            ),
        }
    }
}

/// AS-TX-03: an exchanged token is bound to audience, subject and actor.
const AS_TX_03: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TX-03", "An exchanged token is bound to its audience, subject and actor", Should, &["RFC 8693 §2.2.1", "RFC 8693 §4.1"],
        "The issued JWT: aud = the requested audience, sub = the subject token's sub, act.sub = the actor."),
    eval: as_tx_03,
};
fn as_tx_03(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let x = match exchange_obs(o) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Some((_, claims)) = x.valid.access_token().and_then(jwt_parts) else {
        return Evaluation::skip(
            "the exchanged token is not a JWT; its binding is not observable without introspection",
        );
    };
    let aud = audiences(&claims);
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

/// AS-TX-04: an exchange never widens the scope.
const AS_TX_04: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TX-04", "An exchange never widens the scope", Must, &["RFC 8693 §2.1", "RFC 8693 §5"],
        "Asking for more scope than the subject token carries → invalid_scope, or an issued scope within the subject's."),
    eval: as_tx_04,
};
fn as_tx_04(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// A JWT's `aud` as a list (a string or an array of strings).
pub(super) fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use crate::authz::scenarios::RESOURCE;
    use mcp_auth_reports::Verdict;
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::authz::obs::RotationObs;
    use crate::authz::testing::{
        self, compliant, edit_json, exchange_mut, happy_token, jwt, no_answer, refusal, refused,
        set_access_token, tokens, unanswered_token,
    };

    #[rstest]
    #[case::as_tk_01(&AS_TK_01, "HTTP 400 error=invalid_grant")]
    #[case::as_tk_02(&AS_TK_02, "HTTP 400 error=invalid_grant")]
    #[case::as_tk_03(&AS_TK_03, "HTTP 200 with an access token")]
    #[case::as_tk_08(&AS_TK_08, "conforms")]
    #[case::as_tk_09(&AS_TK_09, "HTTP 401 error=invalid_client with WWW-Authenticate: Basic")]
    #[case::as_tk_10(&AS_TK_10, "HTTP 401 error=invalid_client")]
    #[case::as_tk_11(&AS_TK_11, "scope `mcp:tools` stated")]
    #[case::as_tk_12(&AS_TK_12, "expires_in 300")]
    #[case::as_tk_13(&AS_TK_13, "aud [\"https://mcp.conformance.test/mcp\"]")]
    #[case::as_tk_14(&AS_TK_14, "alg RS256, typ at+jwt, all claims")]
    #[case::as_rt_01(&AS_RT_01, "rotated; old token: HTTP 400 error=invalid_grant")]
    #[case::as_rt_02(&AS_RT_02, "HTTP 400 error=invalid_grant")]
    #[case::as_tx_03(&AS_TX_03, "bound as requested")]
    #[case::as_tx_04(&AS_TX_04, "HTTP 400 error=invalid_scope")]
    fn passes_on_the_compliant_record(
        #[case] c: &FnCheck<AuthzObservations>,
        #[case] actual: &str,
    ) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}: {}", c.meta.id, e.message);
        assert!(e.actual.starts_with(actual), "{}: {}", c.meta.id, e.actual);
        assert!(!e.evidence.is_empty(), "{}", c.meta.id);
    }

    #[test]
    fn as_tk_01_fails_when_a_code_redeems_twice() {
        let mut o = compliant();
        o.replay.as_mut().unwrap().replay = tokens("replay#2", "rt-again");
        let e = AS_TK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(
            e.actual,
            "HTTP 200 with an access token: tokens were issued"
        );
        assert_eq!(e.evidence, vec!["replay#2"]);
    }

    #[test]
    fn as_tk_01_passes_a_refusal_with_an_unexpected_error_code() {
        let mut o = compliant();
        o.replay.as_mut().unwrap().replay = refusal("replay#2", 400, "invalid_request");
        let e = AS_TK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Pass);
        assert_eq!(e.message, "refused, with an unexpected error code");
    }

    #[test]
    fn as_tk_01_fails_on_a_server_error() {
        let mut o = compliant();
        o.replay.as_mut().unwrap().replay = refusal("replay#2", 500, "server_error");
        let e = AS_TK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "HTTP 500 error=server_error");
    }

    #[test]
    fn as_tk_01_is_error_when_the_replay_got_no_answer() {
        let mut o = compliant();
        o.replay.as_mut().unwrap().replay = unanswered_token("replay#2");
        let e = AS_TK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("the token request: no HTTP answer"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_tk_02_warns_when_the_first_grant_survives_a_replay() {
        let mut o = compliant();
        o.replay.as_mut().unwrap().refresh_after = Some(tokens("replay#refresh", "rt-x"));
        let e = AS_TK_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.ends_with("tokens were issued"), "{}", e.actual);
    }

    #[test]
    fn as_tk_02_skips_without_a_refresh_token() {
        let mut o = compliant();
        o.replay.as_mut().unwrap().refresh_after = None;
        let e = AS_TK_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("no refresh token"), "{}", e.message);
    }

    #[test]
    fn as_tk_02_is_error_without_the_replay() {
        let mut o = compliant();
        o.replay = Err(no_answer("timed out"));
        let e = AS_TK_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("the code replay: timed out"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_tk_03_warns_when_a_bad_replay_revokes_the_grant() {
        let mut o = compliant();
        o.bad_replay.as_mut().unwrap().refresh_after =
            Some(refusal("bad#refresh", 400, "invalid_grant"));
        let e = AS_TK_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "HTTP 400 error=invalid_grant");
    }

    #[test]
    fn as_tk_03_skips_without_a_refresh_token() {
        let mut o = compliant();
        o.bad_replay.as_mut().unwrap().refresh_after = None;
        assert_eq!(AS_TK_03.evaluate(&o).verdict, Verdict::Skip);
    }

    #[test]
    fn as_tk_03_is_error_when_the_refresh_got_no_answer() {
        let mut o = compliant();
        o.bad_replay.as_mut().unwrap().refresh_after = Some(unanswered_token("bad#refresh"));
        let e = AS_TK_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("the refresh after the bad replay"),
            "{}",
            e.message
        );
    }

    const CODE_ATTACKS: [&CodeAttackRefused; 6] = [
        &AS_TK_04_WRONG_VERIFIER,
        &AS_TK_04_OTHER_FLOW_VERIFIER,
        &AS_TK_04_CHALLENGE_AS_VERIFIER,
        &AS_TK_05,
        &AS_TK_06,
        &AS_TK_07,
    ];

    fn set_attempt(o: &mut AuthzObservations, attack: CodeAttack, t: TokenResult) {
        o.attacks
            .get_mut(&attack)
            .unwrap()
            .as_mut()
            .unwrap()
            .attempt = t;
    }

    #[test]
    fn a_code_attack_passes_when_refused_with_its_error() {
        for c in CODE_ATTACKS {
            let mut o = compliant();
            set_attempt(
                &mut o,
                c.attack,
                refusal("attack#1", 400, c.errors[c.errors.len() - 1]),
            );
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
            assert!(
                e.expected.starts_with(c.attack.describe()),
                "{}",
                e.expected
            );
            assert_eq!(e.message, "", "{}", c.meta.id);
        }
    }

    #[test]
    fn a_code_attack_fails_when_tokens_are_issued() {
        for c in CODE_ATTACKS {
            let mut o = compliant();
            set_attempt(&mut o, c.attack, tokens("attack#1", "rt"));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Fail, "{}", c.meta.id);
            assert!(e.actual.ends_with(": tokens were issued"), "{}", e.actual);
            assert_eq!(e.evidence, vec!["attack#1"]);
        }
    }

    #[test]
    fn a_code_attack_is_error_without_a_happy_flow_or_its_observation() {
        for c in CODE_ATTACKS {
            let mut o = compliant();
            o.happy = Err(refused("login failed", 500, None));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert!(
                e.message.contains("a refusal proves nothing"),
                "{}",
                e.message
            );

            let mut o = compliant();
            o.attacks
                .insert(c.attack, Err(no_answer("the flow timed out")));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert_eq!(
                e.message,
                format!("{}: the flow timed out", c.attack.describe())
            );
        }
    }

    #[test]
    fn as_tk_08_fails_without_no_store() {
        let mut o = compliant();
        happy_token(&mut o)
            .headers
            .retain(|(k, _)| k != "cache-control");
        let e = AS_TK_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "Cache-Control ``");
    }

    #[test]
    fn as_tk_08_fails_without_token_type() {
        let mut o = compliant();
        edit_json(happy_token(&mut o), |b| {
            b.remove("token_type");
        });
        let e = AS_TK_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "no token_type");
    }

    #[test]
    fn as_tk_08_is_error_when_the_redemption_got_no_answer() {
        let mut o = compliant();
        *happy_token(&mut o) = unanswered_token("happy#token");
        let e = AS_TK_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("the valid redemption: no HTTP answer"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_tk_09_fails_without_a_challenge() {
        let mut o = compliant();
        o.bad_basic = Ok(refusal("bad-basic#1", 401, "invalid_client"));
        let e = AS_TK_09.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(
            e.actual,
            "HTTP 401 error=invalid_client; WWW-Authenticate None"
        );
    }

    #[test]
    fn as_tk_09_fails_on_400() {
        let mut o = compliant();
        o.bad_basic = Ok(refusal("bad-basic#1", 400, "invalid_client"));
        assert_eq!(AS_TK_09.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn as_tk_09_is_error_when_the_request_got_no_answer() {
        let mut o = compliant();
        o.bad_basic = Ok(unanswered_token("bad-basic#1"));
        let e = AS_TK_09.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("the bad-credentials request"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_tk_10_fails_when_a_confidential_client_redeems_without_credentials() {
        let mut o = compliant();
        o.confidential_without_auth = Ok(tokens("confidential#1", "rt"));
        let e = AS_TK_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.expected
                .starts_with("a confidential client without credentials"),
            "{}",
            e.expected
        );
    }

    #[test]
    fn as_tk_10_is_error_without_the_observation() {
        let mut o = compliant();
        o.confidential_without_auth = Err(no_answer("timed out"));
        let e = AS_TK_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("the unauthenticated confidential redemption"),
            "{}",
            e.message
        );
    }

    fn narrowed_without_scope_member(token_scope: Option<&str>) -> AuthzObservations {
        let mut o = compliant();
        let t = o.narrowed_scope.as_mut().unwrap().token.as_mut().unwrap();
        let mut claims = testing::access_claims();
        match token_scope {
            Some(s) => claims["scope"] = json!(s),
            None => {
                claims.as_object_mut().unwrap().remove("scope");
            }
        }
        let at = jwt(json!({"alg": "RS256", "typ": "at+jwt"}), claims);
        edit_json(t, |b| {
            b.remove("scope");
            b.insert("access_token".into(), json!(at));
        });
        o
    }

    #[test]
    fn as_tk_11_fails_when_a_narrowed_grant_does_not_state_its_scope() {
        let e = AS_TK_11.evaluate(&narrowed_without_scope_member(Some(testing::SCOPE)));
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.starts_with("granted `mcp:tools` (per the token)"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_tk_11_passes_when_the_full_request_was_granted() {
        let requested = format!("{} conformance:unknown", testing::SCOPE);
        let e = AS_TK_11.evaluate(&narrowed_without_scope_member(Some(&requested)));
        assert_eq!(e.verdict, Verdict::Pass);
        assert_eq!(e.actual, "the full request was granted; no scope needed");
    }

    #[test]
    fn as_tk_11_skips_when_the_granted_scope_is_not_observable() {
        let mut o = narrowed_without_scope_member(None);
        let t = o.narrowed_scope.as_mut().unwrap().token.as_mut().unwrap();
        edit_json(t, |b| {
            b.insert("access_token".into(), json!("opaque"));
        });
        let e = AS_TK_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("not observable"), "{}", e.message);
    }

    #[test]
    fn as_tk_11_skips_when_unknown_scopes_are_refused_outright() {
        let mut o = compliant();
        o.narrowed_scope = Err(refused("error=invalid_scope", 302, Some("invalid_scope")));
        let e = AS_TK_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(
            e.message.contains("refuses unknown scopes outright"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_tk_11_is_error_when_the_flow_failed_otherwise() {
        let mut o = compliant();
        o.narrowed_scope = Err(refused("error=server_error", 302, Some("server_error")));
        let e = AS_TK_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("the narrowed-scope flow: error=server_error"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_tk_12_is_info_for_a_day_long_token() {
        let mut o = compliant();
        edit_json(happy_token(&mut o), |b| {
            b.insert("expires_in".into(), json!(86400));
        });
        let e = AS_TK_12.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Info);
        assert_eq!(e.actual, "expires_in 86400");
    }

    #[test]
    fn as_tk_12_is_info_without_expires_in() {
        let mut o = compliant();
        edit_json(happy_token(&mut o), |b| {
            b.remove("expires_in");
        });
        let e = AS_TK_12.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Info);
        assert_eq!(e.actual, "no expires_in");
    }

    #[test]
    fn as_tk_12_is_error_without_a_token_response() {
        let mut o = compliant();
        testing::happy(&mut o).token = None;
        let e = AS_TK_12.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert_eq!(e.message, "no token response");
    }

    #[test]
    fn as_tk_13_warns_when_aud_names_another_resource() {
        let mut o = compliant();
        let mut claims = testing::access_claims();
        claims["aud"] = json!(["https://other.example"]);
        set_access_token(
            &mut o,
            jwt(json!({"alg": "RS256", "typ": "at+jwt"}), claims),
        );
        let e = AS_TK_13.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "aud [\"https://other.example\"]");
    }

    #[test]
    fn as_tk_13_expects_the_resource_the_run_requested() {
        let mut o = compliant();
        o.resource = "https://127.0.0.1:8443/mcp".into();
        let mut claims = testing::access_claims();
        claims["aud"] = json!(["https://127.0.0.1:8443/mcp"]);
        set_access_token(
            &mut o,
            jwt(json!({"alg": "RS256", "typ": "at+jwt"}), claims),
        );
        assert_eq!(AS_TK_13.evaluate(&o).verdict, Verdict::Pass);
        o.resource = RESOURCE.into();
        assert_eq!(AS_TK_13.evaluate(&o).verdict, Verdict::Warn);
    }

    #[rstest]
    #[case::as_tk_13(&AS_TK_13)]
    #[case::as_tk_14(&AS_TK_14)]
    fn a_jwt_profile_check_skips_an_opaque_token(#[case] c: &FnCheck<AuthzObservations>) {
        let mut o = compliant();
        set_access_token(&mut o, "opaque-token".into());
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip, "{}", c.meta.id);
        assert!(
            e.message.starts_with("the access token is not a JWT"),
            "{}",
            e.message
        );
    }

    #[rstest]
    #[case::as_tk_13(&AS_TK_13)]
    #[case::as_tk_14(&AS_TK_14)]
    fn a_jwt_profile_check_is_error_without_a_valid_redemption(
        #[case] c: &FnCheck<AuthzObservations>,
    ) {
        let mut o = compliant();
        o.happy = Err(no_answer("timed out"));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(
            e.message.contains("a valid redemption: timed out"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_tk_14_fails_on_an_unsigned_token_without_jti() {
        let mut o = compliant();
        let mut claims = testing::access_claims();
        claims.as_object_mut().unwrap().remove("jti");
        set_access_token(&mut o, jwt(json!({"alg": "none", "typ": "JWT"}), claims));
        let e = AS_TK_14.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "alg `none`, typ `JWT`, no `jti`");
    }

    fn rotation(o: &mut AuthzObservations) -> &mut RotationObs {
        o.rotation.as_mut().unwrap()
    }

    #[test]
    fn as_rt_01_fails_when_the_same_refresh_token_comes_back() {
        let mut o = compliant();
        rotation(&mut o).first_refresh = tokens("rotation#refresh", "rt-1");
        let e = AS_RT_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "the same refresh token came back");
    }

    #[test]
    fn as_rt_01_fails_when_the_old_token_still_works() {
        let mut o = compliant();
        rotation(&mut o).replay_old = Some(tokens("rotation#replay", "rt-3"));
        let e = AS_RT_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "the old refresh token still works after rotation");
    }

    #[test]
    fn as_rt_01_fails_without_a_new_refresh_token() {
        let mut o = compliant();
        edit_json(&mut rotation(&mut o).first_refresh, |b| {
            b.remove("refresh_token");
        });
        let e = AS_RT_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "the refresh response has no new refresh token");
    }

    #[test]
    fn as_rt_01_is_error_when_refreshing_fails() {
        let mut o = compliant();
        rotation(&mut o).first_refresh = refusal("rotation#refresh", 400, "invalid_grant");
        let e = AS_RT_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("refreshing with a fresh refresh token failed"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_rt_02_fails_when_the_family_survives_a_replay() {
        let mut o = compliant();
        rotation(&mut o).use_new_after_replay = Some(tokens("rotation#family", "rt-4"));
        let e = AS_RT_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.ends_with("tokens were issued"), "{}", e.actual);
    }

    #[test]
    fn as_rt_02_is_error_when_the_refresh_did_not_rotate() {
        let mut o = compliant();
        rotation(&mut o).use_new_after_replay = None;
        let e = AS_RT_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("see AS-RT-01"), "{}", e.message);
    }

    const REFRESH_ATTACKS: [&RefreshAttackRefused; 3] = [&AS_RT_03, &AS_RT_04, &AS_RT_05];

    #[test]
    fn a_refresh_attack_passes_when_refused() {
        for c in REFRESH_ATTACKS {
            let e = c.evaluate(&compliant());
            assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
            assert!(e.expected.starts_with(c.what), "{}", e.expected);
            assert_eq!(e.message, "", "{}", c.meta.id);
        }
    }

    #[test]
    fn a_refresh_attack_fails_when_tokens_are_issued() {
        for c in REFRESH_ATTACKS {
            let mut o = compliant();
            o.refresh_attacks
                .insert(c.attack, Ok(tokens("refresh-attack#1", "rt")));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Fail, "{}", c.meta.id);
            assert!(e.actual.ends_with(": tokens were issued"), "{}", e.actual);
        }
    }

    #[test]
    fn a_refresh_attack_is_error_without_its_observation() {
        for c in REFRESH_ATTACKS {
            let mut o = compliant();
            o.refresh_attacks
                .insert(c.attack, Err(no_answer("timed out")));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert_eq!(e.message, "the refresh attack: timed out");
        }
    }

    const EXCHANGE_REFUSALS: [&ExchangeRefused; 4] = [
        &AS_TX_01_NO_CLIENT_AUTH,
        &AS_TX_01_FORGED_SUBJECT,
        &AS_TX_01_REVOKED_SUBJECT,
        &AS_TX_02,
    ];

    fn slot<'a>(c: &ExchangeRefused, x: &'a mut ExchangeObs) -> &'a mut TokenResult {
        match c.meta.id {
            "AS-TX-01.no-client-auth" => &mut x.no_client_auth,
            "AS-TX-01.forged-subject" => &mut x.forged_subject,
            "AS-TX-01.revoked-subject" => x.revoked_subject.as_mut().unwrap(),
            "AS-TX-02" => x.other_actor.as_mut().unwrap(),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn an_exchange_refusal_passes_on_the_compliant_record() {
        for c in EXCHANGE_REFUSALS {
            let e = c.evaluate(&compliant());
            assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
            assert!(e.expected.starts_with(c.what), "{}", e.expected);
            assert_eq!(e.message, "", "{}", c.meta.id);
        }
    }

    #[test]
    fn an_exchange_refusal_is_violated_when_a_token_is_issued() {
        for c in EXCHANGE_REFUSALS {
            let mut o = compliant();
            *slot(c, exchange_mut(&mut o)) = tokens("tx#bad", "rt");
            let e = c.evaluate(&o);
            let verdict = if c.meta.level == Should {
                Verdict::Warn
            } else {
                Verdict::Fail
            };
            assert_eq!(e.verdict, verdict, "{}", c.meta.id);
            assert!(e.actual.ends_with(": tokens were issued"), "{}", e.actual);
            assert_eq!(e.evidence, vec!["tx#bad"]);
        }
    }

    #[test]
    fn an_exchange_check_is_error_when_the_valid_exchange_failed() {
        for c in EXCHANGE_REFUSALS
            .iter()
            .map(|c| *c as &dyn Check<AuthzObservations>)
            .chain([&AS_TX_03 as &dyn Check<AuthzObservations>, &AS_TX_04])
        {
            let mut o = compliant();
            exchange_mut(&mut o).valid = refusal("tx-valid#1", 400, "unsupported_grant_type");
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta().id);
            assert!(
                e.message.contains(
                    "a valid exchange by the actor failed (HTTP 400 error=unsupported_grant_type)"
                ),
                "{}",
                e.message
            );

            let mut o = compliant();
            o.exchange = Err(no_answer("timed out"));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta().id);
            assert_eq!(e.message, "the token-exchange probes: timed out");
        }
    }

    #[rstest]
    #[case::revoked(&AS_TX_01_REVOKED_SUBJECT)]
    #[case::other_actor(&AS_TX_02)]
    fn an_exchange_refusal_skips_when_the_stimulus_cannot_be_set_up(#[case] c: &ExchangeRefused) {
        let mut o = compliant();
        let x = exchange_mut(&mut o);
        x.revoked_subject = None;
        x.other_actor = None;
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(
            e.message.contains("no revocation or registration endpoint"),
            "{}",
            e.message
        );
    }

    fn exchanged(claims: serde_json::Value) -> TokenResult {
        testing::token_answer(
            "tx-valid#1",
            200,
            json!({"access_token": jwt(json!({"alg": "RS256"}), claims), "token_type": "Bearer"}),
        )
    }

    #[test]
    fn as_tx_03_warns_when_the_actor_is_not_recorded() {
        let mut o = compliant();
        exchange_mut(&mut o).valid = exchanged(json!({"aud": UPSTREAM, "sub": testing::SUBJECT}));
        let e = AS_TX_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, format!("act.sub None (actor {})", testing::ACTOR));
    }

    #[test]
    fn as_tx_03_warns_on_the_wrong_audience_and_subject() {
        let mut o = compliant();
        exchange_mut(&mut o).valid =
            exchanged(json!({"aud": RESOURCE, "sub": "mallory", "act": {"sub": testing::ACTOR}}));
        let e = AS_TX_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(
            e.actual.contains("sub `mallory` (subject `alice`)"),
            "{}",
            e.actual
        );
        assert!(
            e.actual.starts_with(&format!("aud [\"{RESOURCE}\"]")),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_tx_03_skips_an_opaque_exchanged_token() {
        let mut o = compliant();
        edit_json(&mut exchange_mut(&mut o).valid, |b| {
            b.insert("access_token".into(), json!("opaque"));
        });
        assert_eq!(AS_TX_03.evaluate(&o).verdict, Verdict::Skip);
    }

    #[test]
    fn as_tx_04_passes_an_issued_scope_within_the_subjects() {
        let mut o = compliant();
        exchange_mut(&mut o).scope_escalation = testing::token_answer(
            "tx-scope#1",
            200,
            json!({"access_token": "at", "scope": testing::SCOPE}),
        );
        let e = AS_TX_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Pass);
        assert_eq!(e.actual, "issued scope `mcp:tools`");
    }

    #[test]
    fn as_tx_04_fails_when_the_issued_scope_is_wider() {
        let mut o = compliant();
        exchange_mut(&mut o).scope_escalation = testing::token_answer(
            "tx-scope#1",
            200,
            json!({"access_token": "at", "scope": "mcp:tools admin"}),
        );
        let e = AS_TX_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "issued scope `mcp:tools admin` adds [\"admin\"]");
    }

    #[test]
    fn as_tx_04_fails_when_a_scope_in_the_jwt_is_wider() {
        let mut o = compliant();
        let at = jwt(json!({"alg": "RS256"}), json!({"scope": "admin"}));
        exchange_mut(&mut o).scope_escalation =
            testing::token_answer("tx-scope#1", 200, json!({"access_token": at}));
        let e = AS_TX_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("adds [\"admin\"]"), "{}", e.actual);
    }
}
