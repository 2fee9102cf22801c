//! Token validation: RS-TOK-*, RS-AUD-*, RS-JWT-*.

use mcp_auth_reports::Level::{Must, Should};
use mcp_auth_reports::{Level, Verdict};

use super::{meta, mode_gate, Applies, Refusal, RejectsToken, ServerCheck};
use crate::check::{fn_check as check, CheckMeta, Evaluation};
use crate::server::obs::{ServerObservations, Stimulus};

#[allow(clippy::too_many_arguments)]
fn rejects(
    id: &'static str,
    title: &'static str,
    level: Level,
    refs: &'static [&'static str],
    summary: &'static str,
    stimulus: Stimulus,
    applies: Applies,
    refusal: Refusal,
) -> Box<ServerCheck> {
    Box::new(RejectsToken {
        meta: meta(id, title, level, refs, summary),
        stimulus,
        applies,
        refusal,
    })
}

const TOK02: &[&str] = &["MCP §9.2", "OAuth 2.1 §5.3.2"];
const AUD01: &[&str] = &[
    "MCP §9.2",
    "MCP §11.1",
    "MCP §11.8",
    "RFC 8707 §2",
    "RFC 9068 §4",
];

pub fn checks() -> Vec<Box<ServerCheck>> {
    use Applies::{Always, IntrospectionOnly, JwtOnly};
    use Refusal::{Any, Any4xx, Status401};
    vec![
        check(
            meta("RS-TOK-01", "Every request's token is validated: unexpired, for this server, with covering scope", Must,
                &["MCP §9.2", "MCP §11.8", "OAuth 2.1 §5.2"],
                "Umbrella: a valid token is served; an expired token, a token for another server and a read-only token attempting a write are all refused."),
            tok01,
        ),
        rejects("RS-TOK-02.expired", "An expired token gets 401", Must, TOK02,
            "initialize with a token whose exp is 600 s past (introspection: the AS answers active:false) → 401.",
            Stimulus::Expired, Always, Status401),
        rejects("RS-TOK-02.random-string", "A random string as token gets 401", Must, TOK02,
            "initialize with 43 random base64url characters as the token → 401.",
            Stimulus::RandomString, Always, Status401),
        rejects("RS-TOK-02.truncated", "A truncated JWT gets 401", Must, TOK02,
            "initialize with a valid token whose signature segment is cut in half → 401.",
            Stimulus::Truncated, Always, Status401),
        rejects("RS-TOK-02.garbled", "A JWT with a garbage payload gets 401", Must, TOK02,
            "initialize with a valid token whose payload segment is not base64url JSON → 401.",
            Stimulus::Garbled, Always, Status401),
        rejects("RS-TOK-02.oversized", "An oversized garbage token is refused without harm", Must, TOK02,
            "initialize with a 64 KiB garbage token → a 4xx (401, or 400/413/431 for header limits), never served.",
            Stimulus::Oversized, Always, Any4xx),
        rejects("RS-TOK-02.revoked", "A revoked token gets 401 (introspection)", Must, &["MCP §9.2", "OAuth 2.1 §5.3.2", "RFC 7662 §2.2"],
            "Mint a valid token, revoke it at the AS, then initialize with it → 401 (the AS answers active:false).",
            Stimulus::Revoked, IntrospectionOnly, Status401),
        check(
            meta("RS-TOK-03.jwt", "A 401 for a bad JWT carries error=\"invalid_token\"", Must,
                &["RFC 9068 §4", "RFC 6750 §3.1", "OAuth 2.1 §5.3.2"],
                "Every 401 answering an invalid JWT access token carries WWW-Authenticate: Bearer error=\"invalid_token\" (MUST for RFC 9068 JWTs)."),
            tok03_jwt,
        ),
        check(
            meta("RS-TOK-03.opaque", "A 401 for a token the AS calls inactive carries error=\"invalid_token\"", Should,
                &["OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
                "Introspection servers: every 401 answering an invalid token carries error=\"invalid_token\" (SHOULD)."),
            tok03_opaque,
        ),
        check(
            meta("RS-TOK-04.lowercase", "The scheme `bearer` (lowercase) is accepted", Must,
                &["OAuth 2.1 §5.1.1", "MCP §9.1", "RFC 9110 §11.1"],
                "initialize with `Authorization: bearer <valid>` → served (auth schemes are case-insensitive)."),
            |m, o| accepted(m, o, Stimulus::BearerLowercase),
        ),
        check(
            meta("RS-TOK-04.uppercase", "The scheme `BEARER` (uppercase) is accepted", Must,
                &["OAuth 2.1 §5.1.1", "MCP §9.1", "RFC 9110 §11.1"],
                "initialize with `Authorization: BEARER <valid>` → served."),
            |m, o| accepted(m, o, Stimulus::BearerUppercase),
        ),
        rejects("RS-TOK-05", "A token in the URI query is ignored", Must, &["OAuth 2.1 §5.1", "MCP §9.1"],
            "initialize with a valid token only as ?access_token=… and no header → 401, treated as unauthenticated.",
            Stimulus::QueryToken, Always, Status401),
        check(
            meta("RS-TOK-06.empty-token", "`Bearer ` with an empty token is a malformed request", Should,
                &["MCP §10", "OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
                "`Authorization: Bearer ` → 400 invalid_request PASS; 401 WARN; 2xx FAIL."),
            |m, o| malformed(m, o, Stimulus::MalformedEmpty),
        ),
        check(
            meta("RS-TOK-06.extra-token", "`Bearer <token> extra` is a malformed request", Should,
                &["MCP §10", "OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
                "`Authorization: Bearer <valid> extra` → 400 PASS; 401 WARN; 2xx FAIL (the extra word must not be ignored)."),
            |m, o| malformed(m, o, Stimulus::MalformedExtraToken),
        ),
        check(
            meta("RS-TOK-06.two-headers", "Two Authorization headers are a malformed request", Should,
                &["MCP §10", "OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
                "Two Authorization lines (a valid token, then garbage) → 400 PASS; 401 WARN; 2xx FAIL."),
            |m, o| malformed(m, o, Stimulus::MalformedTwoHeaders),
        ),
        rejects("RS-AUD-01.other-resource", "A token for another MCP server is refused", Must, AUD01,
            "initialize with a token from the trusted AS whose aud is another MCP server → refused.",
            Stimulus::AudOther, Always, Any),
        rejects("RS-AUD-01.missing", "A token without aud is refused", Must, AUD01,
            "initialize with a token from the trusted AS without an aud claim → refused.",
            Stimulus::AudMissing, Always, Any),
        rejects("RS-AUD-01.client-id", "A token whose aud is the client_id is refused", Must, AUD01,
            "initialize with a token whose aud is the client_id (an ID-token-like audience) → refused.",
            Stimulus::AudClientId, Always, Any),
        rejects("RS-AUD-01.other-and-client-id", "A token whose aud lists only other parties is refused", Must, AUD01,
            "initialize with aud = [another server, client_id] → refused.",
            Stimulus::AudOtherAndClientId, Always, Any),
        rejects("RS-AUD-02", "A token minted for the upstream API is not accepted (no passthrough acceptance)", Must,
            &["MCP §9.2", "SBP §2.2.2"],
            "initialize with a token from the trusted AS whose aud is the upstream API the server fronts → refused.",
            Stimulus::AudUpstream, Always, Any),
        check(
            meta("RS-AUD-03", "An audience with uppercase scheme and host is accepted", Should, &["MCP §8.1"],
                "initialize with a valid token whose aud spells the server URL with an uppercase scheme and host → served; refusal WARN."),
            |m, o| accepted(m, o, Stimulus::AudUppercase),
        ),
        rejects("RS-JWT-01.attacker-issuer", "A JWT with a foreign iss is refused", Must, &["RFC 9068 §4"],
            "A token signed with the trusted key but iss = https://attacker.conformance.test → refused.",
            Stimulus::IssAttacker, JwtOnly, Any),
        rejects("RS-JWT-01.trailing-slash", "A JWT whose iss differs by a trailing slash is refused", Must,
            &["RFC 9068 §4", "RFC 8414 §3.3"],
            "iss = the trusted issuer with a trailing slash added (or removed) → refused: issuers compare exactly.",
            Stimulus::IssTrailingSlash, JwtOnly, Any),
        rejects("RS-JWT-02.bit-flip", "A JWT with one signature bit flipped is refused", Must, &["RFC 9068 §4"],
            "A valid token with one bit of its signature flipped → refused.",
            Stimulus::SigBitFlip, JwtOnly, Any),
        rejects("RS-JWT-02.tampered-payload", "A JWT whose payload was altered without re-signing is refused", Must,
            &["RFC 9068 §4"],
            "The read-only user's token with its payload changed to full_access, signature kept → refused.",
            Stimulus::TamperedPayload, JwtOnly, Any),
        rejects("RS-JWT-03.none-lowercase", "An unsigned JWT (alg \"none\") is refused", Must, &["RFC 9068 §4", "RFC 9068 §2.1"],
            "Header {\"alg\":\"none\"} with an empty signature and otherwise valid claims → refused.",
            Stimulus::AlgNoneLower, JwtOnly, Any),
        rejects("RS-JWT-03.none-titlecase", "An unsigned JWT (alg \"None\") is refused", Must, &["RFC 9068 §4", "RFC 9068 §2.1"],
            "Header {\"alg\":\"None\"} with an empty signature → refused.",
            Stimulus::AlgNoneTitle, JwtOnly, Any),
        rejects("RS-JWT-03.none-uppercase", "An unsigned JWT (alg \"NONE\") is refused", Must, &["RFC 9068 §4", "RFC 9068 §2.1"],
            "Header {\"alg\":\"NONE\"} with an empty signature → refused.",
            Stimulus::AlgNoneUpper, JwtOnly, Any),
        rejects("RS-JWT-04.pem", "HS256 keyed with the AS public key (PEM) is refused", Must, &["RFC 9068 §4", "RFC 8725 §3.1"],
            "alg HS256, kid of the real key, MACed with the AS public key's PEM text → refused.",
            Stimulus::HsPem, JwtOnly, Any),
        rejects("RS-JWT-04.der", "HS256 keyed with the AS public key (DER) is refused", Must, &["RFC 9068 §4", "RFC 8725 §3.1"],
            "alg HS256 MACed with the AS public key's DER bytes → refused.",
            Stimulus::HsDer, JwtOnly, Any),
        rejects("RS-JWT-04.jwk", "HS256 keyed with the AS public key (JWK JSON) is refused", Must, &["RFC 9068 §4", "RFC 8725 §3.1"],
            "alg HS256 MACed with the AS public key's JWK JSON bytes → refused.",
            Stimulus::HsJwk, JwtOnly, Any),
        rejects("RS-JWT-05.unknown-kid", "A JWT whose kid is not in the AS JWKS is refused", Must, &["RFC 9068 §4", "RFC 8725 §3.10"],
            "A token signed by an attacker key with a kid the JWKS does not hold → refused.",
            Stimulus::UnknownKid, JwtOnly, Any),
        rejects("RS-JWT-05.attacker-key", "A JWT naming the AS kid but signed by another key is refused", Must,
            &["RFC 9068 §4", "RFC 8725 §3.10"],
            "kid = the AS key's kid, signature by an attacker key → refused.",
            Stimulus::AttackerKeyRealKid, JwtOnly, Any),
        rejects("RS-JWT-05.embedded-jwk", "A key embedded in the JWT header is not trusted", Must, &["RFC 9068 §4", "RFC 8725 §3.10"],
            "Header jwk = the attacker's public key, signed by it → refused.",
            Stimulus::EmbeddedJwk, JwtOnly, Any),
        check(
            meta("RS-JWT-05.jku", "A jku header is neither fetched nor trusted", Must, &["RFC 9068 §4", "RFC 8725 §3.10"],
                "Header jku = an attacker JWKS on a listener the suite watches → refused, and the listener sees no fetch (watched until 250 ms after the last probe)."),
            |m, o| header_key_url(m, o, Stimulus::Jku, &o.jku_url),
        ),
        check(
            meta("RS-JWT-05.x5u", "An x5u header is neither fetched nor trusted", Must, &["RFC 9068 §4", "RFC 8725 §3.10"],
                "Header x5u = an attacker certificate URL on a listener the suite watches → refused, and no fetch."),
            |m, o| header_key_url(m, o, Stimulus::X5u, &o.x5u_url),
        ),
        rejects("RS-JWT-06.expired", "A JWT past its exp is refused", Must, &["RFC 9068 §4", "OAuth 2.1 §5.2"],
            "exp = now − 600 s (beyond any reasonable leeway) → refused.",
            Stimulus::Expired, JwtOnly, Any),
        rejects("RS-JWT-06.no-exp", "A JWT without exp is refused", Must, &["RFC 9068 §2.2", "RFC 9068 §4"],
            "A token with no exp claim (RFC 9068 makes it REQUIRED) → refused.",
            Stimulus::NoExp, JwtOnly, Any),
        check(
            meta("RS-JWT-07.typ-jwt", "A JWT with typ \"JWT\" is not accepted as an access token", Must, &["RFC 9068 §4", "RFC 8725 §3.11"],
                "Header typ = JWT (e.g. an ID token), claims otherwise valid → refused. WARN instead of FAIL when the profile says the server does not claim RFC 9068."),
            |m, o| typ(m, o, Stimulus::TypJwt),
        ),
        check(
            meta("RS-JWT-07.missing-typ", "A JWT without typ is not accepted as an access token", Must, &["RFC 9068 §4"],
                "No typ header, claims otherwise valid → refused (WARN when the server does not claim RFC 9068)."),
            |m, o| typ(m, o, Stimulus::TypMissing),
        ),
        rejects("RS-JWT-08", "A JWT before its nbf is refused", Must, &["RFC 7519 §4.1.5"],
            "nbf = now + 600 s → refused.",
            Stimulus::NotYetValid, JwtOnly, Any),
    ]
}

/// Stimuli that present an invalid token (as opposed to a valid token in an odd place or form).
const INVALID_TOKENS: &[Stimulus] = &[
    Stimulus::Expired,
    Stimulus::NoExp,
    Stimulus::NotYetValid,
    Stimulus::RandomString,
    Stimulus::Truncated,
    Stimulus::Garbled,
    Stimulus::Revoked,
    Stimulus::AudOther,
    Stimulus::AudMissing,
    Stimulus::AudClientId,
    Stimulus::AudOtherAndClientId,
    Stimulus::AudUpstream,
    Stimulus::IssAttacker,
    Stimulus::IssTrailingSlash,
    Stimulus::SigBitFlip,
    Stimulus::TamperedPayload,
    Stimulus::AlgNoneLower,
    Stimulus::AlgNoneTitle,
    Stimulus::AlgNoneUpper,
    Stimulus::HsPem,
    Stimulus::HsDer,
    Stimulus::HsJwk,
    Stimulus::UnknownKid,
    Stimulus::AttackerKeyRealKid,
    Stimulus::EmbeddedJwk,
    Stimulus::Jku,
    Stimulus::X5u,
    Stimulus::TypJwt,
    Stimulus::TypMissing,
];

fn tok01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let session = crate::need!(&o.baseline, "a valid token opening a session");
    let _ = session;
    let expired = crate::need!(o.probe(Stimulus::Expired), "the expired-token probe");
    let other = crate::need!(o.probe(Stimulus::AudOther), "the other-audience probe");
    let scope = crate::need!(&o.scope, "the read-only write attempts");
    let mut problems = Vec::new();
    if expired.served() {
        problems.push("an expired token was served");
    }
    if other.served() {
        problems.push("a token for another server was served");
    }
    if scope.attempts.iter().any(|a| a.served()) {
        problems.push("a read-only token performed a write");
    }
    let mut evidence = vec![expired.exchange.clone(), other.exchange.clone()];
    evidence.extend(scope.attempts.iter().map(|a| a.exchange.clone()));
    let expected = "valid token served; expired, other-audience and under-scoped requests refused";
    let e = if problems.is_empty() {
        Evaluation::pass(expected, "all three refused; the valid token was served")
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence(evidence)
}

fn tok03(m: &CheckMeta, o: &ServerObservations, applies: Applies) -> Evaluation {
    if let Some(skip) = mode_gate(o, applies) {
        return skip;
    }
    if let Some(pending) = super::probes_pending(o) {
        return pending;
    }
    let mut judged = Vec::new();
    let mut missing = Vec::new();
    for &s in INVALID_TOKENS {
        let Ok(p) = o.probe(s) else { continue };
        if p.status != 401 {
            continue;
        }
        judged.push(p.exchange.clone());
        if p.bearer().and_then(|c| c.param("error")) != Some("invalid_token") {
            missing.push((s, p));
        }
    }
    if judged.is_empty() {
        return Evaluation::error(
            "no invalid token was answered with 401, so there is no challenge to judge",
        );
    }
    let expected =
        "every 401 for an invalid token: WWW-Authenticate: Bearer error=\"invalid_token\"";
    if missing.is_empty() {
        Evaluation::pass(
            expected,
            format!(
                "{} such 401 responses, all with error=\"invalid_token\"",
                judged.len()
            ),
        )
        .with_evidence(judged.into_iter().take(3))
    } else {
        let actual = missing
            .iter()
            .map(|(s, p)| format!("{}: {}", s.describe(), p.describe()))
            .collect::<Vec<_>>()
            .join("; ");
        Evaluation::violated(m.level, expected, actual)
            .with_message(format!(
                "{} of {} 401 responses lack error=\"invalid_token\"",
                missing.len(),
                judged.len()
            ))
            .with_evidence(missing.iter().map(|(_, p)| p.exchange.clone()))
    }
}

fn tok03_jwt(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    tok03(m, o, Applies::JwtOnly)
}

fn tok03_opaque(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    tok03(m, o, Applies::IntrospectionOnly)
}

/// A valid token in an allowed form must be served.
fn accepted(m: &CheckMeta, o: &ServerObservations, s: Stimulus) -> Evaluation {
    if let Err(e) = &o.baseline {
        return e.to_evaluation("the baseline valid token was refused");
    }
    let p = crate::need!(o.probe(s), s.describe());
    let actual = format!("{} → {}", s.describe(), p.describe());
    let e = if p.served() {
        Evaluation::pass("served", actual)
    } else {
        Evaluation::violated(m.level, "served", actual)
    };
    e.with_evidence([p.exchange.clone()])
}

/// RS-TOK-06: 400 PASS, 401 WARN, 2xx FAIL (catalog/README.md §4.2).
fn malformed(_m: &CheckMeta, o: &ServerObservations, s: Stimulus) -> Evaluation {
    let p = crate::need!(o.probe(s), s.describe());
    let expected = "400 invalid_request (401 tolerated as WARN; never served)";
    let actual = format!("{} → {}", s.describe(), p.describe());
    let e = if p.served() || (200..300).contains(&p.status) {
        Evaluation::violated(Level::Must, expected, actual)
            .with_message("a malformed Authorization header was served")
    } else if p.status == 400 {
        Evaluation::pass(expected, actual)
    } else {
        Evaluation::violated(Level::Should, expected, actual).with_message(format!(
            "refused with {} rather than 400 invalid_request",
            p.status
        ))
    };
    e.with_evidence([p.exchange.clone()])
}

/// RS-JWT-05 jku / x5u: refused, and the URL never fetched.
fn header_key_url(m: &CheckMeta, o: &ServerObservations, s: Stimulus, url: &str) -> Evaluation {
    if let Some(skip) = mode_gate(o, Applies::JwtOnly) {
        return skip;
    }
    if let Err(e) = &o.baseline {
        return e.to_evaluation("a valid token was refused, so refusing this one proves nothing");
    }
    let p = crate::need!(o.probe(s), s.describe());
    let path = url::Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let fetched: Vec<&String> = o.attacker_fetches.iter().filter(|f| **f == path).collect();
    let expected = "refused, and the attacker URL never fetched";
    let actual = format!(
        "{} → {}; attacker listener fetches: {}",
        s.describe(),
        p.describe(),
        if fetched.is_empty() {
            "none".to_owned()
        } else {
            format!("{fetched:?}")
        }
    );
    let e = if !p.served() && p.status >= 400 && fetched.is_empty() {
        Evaluation::pass(expected, actual)
    } else if !fetched.is_empty() {
        Evaluation::violated(m.level, expected, actual)
            .with_message("the server fetched a key URL named in the token header")
    } else {
        Evaluation::violated(m.level, expected, actual)
            .with_message("the server accepted the token")
    };
    e.with_evidence([p.exchange.clone()])
}

/// RS-JWT-07: FAIL when the server claims RFC 9068, WARN otherwise.
fn typ(m: &CheckMeta, o: &ServerObservations, s: Stimulus) -> Evaluation {
    let level = if o.profile.rfc9068 {
        m.level
    } else {
        Level::Should
    };
    let inner = RejectsToken {
        meta: CheckMeta { level, ..*m },
        stimulus: s,
        applies: Applies::JwtOnly,
        refusal: Refusal::Any,
    };
    let e = crate::check::Check::evaluate(&inner, o);
    if e.verdict == Verdict::Warn {
        e.with_message("accepted; the profile says the server does not claim the RFC 9068 profile, so this is a WARN")
    } else {
        e
    }
}
