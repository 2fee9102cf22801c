//! Token validation: RS-TOK-*, RS-AUD-*, RS-JWT-*.

use mcp_auth_reports::Level::{Must, Should};
use mcp_auth_reports::{Level, Verdict};

use super::{meta, mode_gate, Applies, Refusal, RejectsToken, ServerCheck};
use crate::check::{Check, CheckMeta, Evaluation, FnCheck};
use crate::server::obs::{ServerObservations, Stimulus};

const TOK02: &[&str] = &["MCP §9.2", "OAuth 2.1 §5.3.2"];
const AUD01: &[&str] = &[
    "MCP §9.2",
    "MCP §11.1",
    "MCP §11.8",
    "RFC 8707 §2",
    "RFC 9068 §4",
];

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        Box::new(RS_TOK_01),
        Box::new(RS_TOK_02_EXPIRED),
        Box::new(RS_TOK_02_RANDOM_STRING),
        Box::new(RS_TOK_02_TRUNCATED),
        Box::new(RS_TOK_02_GARBLED),
        Box::new(RS_TOK_02_OVERSIZED),
        Box::new(RS_TOK_02_REVOKED),
        Box::new(RS_TOK_03_JWT),
        Box::new(RS_TOK_03_OPAQUE),
        Box::new(RS_TOK_04_LOWERCASE),
        Box::new(RS_TOK_04_UPPERCASE),
        Box::new(RS_TOK_05),
        Box::new(RS_TOK_06_EMPTY_TOKEN),
        Box::new(RS_TOK_06_EXTRA_TOKEN),
        Box::new(RS_TOK_06_TWO_HEADERS),
        Box::new(RS_AUD_01_OTHER_RESOURCE),
        Box::new(RS_AUD_01_MISSING),
        Box::new(RS_AUD_01_CLIENT_ID),
        Box::new(RS_AUD_01_OTHER_AND_CLIENT_ID),
        Box::new(RS_AUD_02),
        Box::new(RS_AUD_03),
        Box::new(RS_JWT_01_ATTACKER_ISSUER),
        Box::new(RS_JWT_01_TRAILING_SLASH),
        Box::new(RS_JWT_02_BIT_FLIP),
        Box::new(RS_JWT_02_TAMPERED_PAYLOAD),
        Box::new(RS_JWT_03_NONE_LOWERCASE),
        Box::new(RS_JWT_03_NONE_TITLECASE),
        Box::new(RS_JWT_03_NONE_UPPERCASE),
        Box::new(RS_JWT_04_PEM),
        Box::new(RS_JWT_04_DER),
        Box::new(RS_JWT_04_JWK),
        Box::new(RS_JWT_05_UNKNOWN_KID),
        Box::new(RS_JWT_05_ATTACKER_KEY),
        Box::new(RS_JWT_05_EMBEDDED_JWK),
        Box::new(RS_JWT_05_JKU),
        Box::new(RS_JWT_05_X5U),
        Box::new(RS_JWT_06_EXPIRED),
        Box::new(RS_JWT_06_NO_EXP),
        Box::new(RS_JWT_07_TYP_JWT),
        Box::new(RS_JWT_07_MISSING_TYP),
        Box::new(RS_JWT_07_APPLICATION_AT_JWT),
        Box::new(RS_JWT_08),
    ]
}

/// RS-TOK-01: Every request's token is validated: unexpired, for this server, with covering scope.
const RS_TOK_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-TOK-01", "Every request's token is validated: unexpired, for this server, with covering scope", Must,
        &["MCP §9.2", "MCP §11.8", "OAuth 2.1 §5.2"],
        "Umbrella: a valid token is served; an expired token, a token for another server and a read-only token attempting a write are all refused."),
    eval: rs_tok_01,
};

fn rs_tok_01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let session = crate::need!(&o.baseline, "a valid token opening a session");
    let _ = session;
    let expired = crate::need!(o.probe(Stimulus::Expired), "the expired-token probe");
    let other = crate::need!(o.probe(Stimulus::AudOther), "the other-audience probe");
    let scope = crate::need!(&o.scope, "the read-only write attempts");
    let mut problems = Vec::new();
    // The served requests are the violation; the refused ones are cited beside them as context.
    let mut offending = Vec::new();
    if expired.served() {
        problems.push("an expired token was served");
        offending.push(expired.exchange.clone());
    }
    if other.served() {
        problems.push("a token for another server was served");
        offending.push(other.exchange.clone());
    }
    // A write answered as a success counts as refused when the read-back shows it did not land (RS-SCOPE-01).
    let writes: Vec<_> = scope.attempts.iter().filter(|a| a.served()).collect();
    let mut undecided = None;
    let mut refused = "all three refused; the valid token was served";
    if !writes.is_empty() {
        match super::scope::refused_in_text(scope) {
            Ok(_) => {
                refused = "all three refused (the read-only writes only in the text of a success result, as the \
                           read-back shows); the valid token was served"
            }
            Err(why) if !super::scope::write_landed(scope) => undecided = Some(why),
            Err(_) => {
                problems.push("a read-only token performed a write");
                offending.extend(writes.iter().map(|a| a.exchange.clone()));
            }
        }
    }
    let mut evidence = vec![expired.exchange.clone(), other.exchange.clone()];
    evidence.extend(scope.attempts.iter().map(|a| a.exchange.clone()));
    let expected = "valid token served; expired, other-audience and under-scoped requests refused";
    let e = match undecided {
        _ if !problems.is_empty() => Evaluation::violated(m.level, expected, problems.join("; ")),
        Some(why) => Evaluation::error(format!(
            "the read-only user's writes were answered as successes, and {why}: whether they were refused \
             cannot be observed (see RS-SCOPE-01)"
        )),
        None => Evaluation::pass(expected, refused),
    };
    e.with_evidence(evidence).with_offending(offending)
}

/// RS-TOK-02.expired: An expired token gets 401.
const RS_TOK_02_EXPIRED: RejectsToken = RejectsToken {
    meta: meta("RS-TOK-02.expired", "An expired token gets 401", Must, TOK02,
        "initialize with a token whose exp is 600 s past (introspection: the AS answers active:false) → 401."),
    stimulus: Stimulus::Expired,
    applies: Applies::Always,
    refusal: Refusal::Status401,
};

/// RS-TOK-02.random-string: A random string as token gets 401.
const RS_TOK_02_RANDOM_STRING: RejectsToken = RejectsToken {
    meta: meta(
        "RS-TOK-02.random-string",
        "A random string as token gets 401",
        Must,
        TOK02,
        "initialize with 43 random base64url characters as the token → 401.",
    ),
    stimulus: Stimulus::RandomString,
    applies: Applies::Always,
    refusal: Refusal::Status401,
};

/// RS-TOK-02.truncated: A truncated JWT gets 401.
const RS_TOK_02_TRUNCATED: RejectsToken = RejectsToken {
    meta: meta(
        "RS-TOK-02.truncated",
        "A truncated JWT gets 401",
        Must,
        TOK02,
        "initialize with a valid token whose signature segment is cut in half → 401.",
    ),
    stimulus: Stimulus::Truncated,
    applies: Applies::Always,
    refusal: Refusal::Status401,
};

/// RS-TOK-02.garbled: A JWT with a garbage payload gets 401.
const RS_TOK_02_GARBLED: RejectsToken = RejectsToken {
    meta: meta(
        "RS-TOK-02.garbled",
        "A JWT with a garbage payload gets 401",
        Must,
        TOK02,
        "initialize with a valid token whose payload segment is not base64url JSON → 401.",
    ),
    stimulus: Stimulus::Garbled,
    applies: Applies::Always,
    refusal: Refusal::Status401,
};

/// RS-TOK-02.oversized: An oversized garbage token is refused without harm.
const RS_TOK_02_OVERSIZED: RejectsToken = RejectsToken {
    meta: meta("RS-TOK-02.oversized", "An oversized garbage token is refused without harm", Must, TOK02,
        "initialize with a 64 KiB garbage token → a 4xx (401, or 400/413/431 for header limits), never served."),
    stimulus: Stimulus::Oversized,
    applies: Applies::Always,
    refusal: Refusal::Any4xx,
};

/// RS-TOK-02.revoked: A revoked token gets 401 (introspection).
const RS_TOK_02_REVOKED: RejectsToken = RejectsToken {
    meta: meta("RS-TOK-02.revoked", "A revoked token gets 401 (introspection)", Must, &["MCP §9.2", "OAuth 2.1 §5.3.2", "RFC 7662 §2.2"],
        "Mint a valid token, revoke it at the AS, then initialize with it → 401 (the AS answers active:false)."),
    stimulus: Stimulus::Revoked,
    applies: Applies::IntrospectionOnly,
    refusal: Refusal::Status401,
};

/// RS-TOK-03.jwt: A 401 for a bad JWT carries error="invalid_token\.
const RS_TOK_03_JWT: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-TOK-03.jwt", "A 401 for a bad JWT carries error=\"invalid_token\"", Must,
        &["RFC 9068 §4", "RFC 6750 §3.1", "OAuth 2.1 §5.3.2"],
        "Every 401 answering an invalid JWT access token carries WWW-Authenticate: Bearer error=\"invalid_token\" (MUST for RFC 9068 JWTs)."),
    eval: rs_tok_03_jwt,
};

fn rs_tok_03_jwt(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    tok03(m, o, Applies::JwtOnly)
}

/// RS-TOK-03.opaque: A 401 for a token the AS calls inactive carries error="invalid_token\.
const RS_TOK_03_OPAQUE: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-TOK-03.opaque", "A 401 for a token the AS calls inactive carries error=\"invalid_token\"", Should,
        &["OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
        "Introspection servers: every 401 answering an invalid token carries error=\"invalid_token\" (SHOULD)."),
    eval: rs_tok_03_opaque,
};

fn rs_tok_03_opaque(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    tok03(m, o, Applies::IntrospectionOnly)
}

/// RS-TOK-04.lowercase: The scheme `bearer` (lowercase) is accepted.
const RS_TOK_04_LOWERCASE: AcceptsToken = AcceptsToken {
    meta: meta("RS-TOK-04.lowercase", "The scheme `bearer` (lowercase) is accepted", Must,
        &["OAuth 2.1 §5.1.1", "MCP §9.1", "RFC 9110 §11.1"],
        "initialize with `Authorization: bearer <valid>` → served (auth schemes are case-insensitive)."),
    stimulus: Stimulus::BearerLowercase,
    applies: Applies::Always,
};

/// RS-TOK-04.uppercase: The scheme `BEARER` (uppercase) is accepted.
const RS_TOK_04_UPPERCASE: AcceptsToken = AcceptsToken {
    meta: meta(
        "RS-TOK-04.uppercase",
        "The scheme `BEARER` (uppercase) is accepted",
        Must,
        &["OAuth 2.1 §5.1.1", "MCP §9.1", "RFC 9110 §11.1"],
        "initialize with `Authorization: BEARER <valid>` → served.",
    ),
    stimulus: Stimulus::BearerUppercase,
    applies: Applies::Always,
};

/// RS-TOK-05: A token in the URI query is ignored.
const RS_TOK_05: RejectsToken = RejectsToken {
    meta: meta("RS-TOK-05", "A token in the URI query is ignored", Must, &["OAuth 2.1 §5.1", "MCP §9.1"],
        "initialize with a valid token only as ?access_token=… and no header → 401, treated as unauthenticated."),
    stimulus: Stimulus::QueryToken,
    applies: Applies::Always,
    refusal: Refusal::Status401,
};

/// RS-TOK-06.empty-token: `Bearer ` with an empty token is a malformed request.
const RS_TOK_06_EMPTY_TOKEN: MalformedHeader = MalformedHeader {
    meta: meta(
        "RS-TOK-06.empty-token",
        "`Bearer ` with an empty token is a malformed request",
        Should,
        &["MCP §10", "OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
        "`Authorization: Bearer ` → 400 invalid_request PASS; 401 WARN; 2xx FAIL.",
    ),
    stimulus: Stimulus::MalformedEmpty,
};

/// RS-TOK-06.extra-token: `Bearer <token> extra` is a malformed request.
const RS_TOK_06_EXTRA_TOKEN: MalformedHeader = MalformedHeader {
    meta: meta("RS-TOK-06.extra-token", "`Bearer <token> extra` is a malformed request", Should,
        &["MCP §10", "OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
        "`Authorization: Bearer <valid> extra` → 400 PASS; 401 WARN; 2xx FAIL (the extra word must not be ignored)."),
    stimulus: Stimulus::MalformedExtraToken,
};

/// RS-TOK-06.two-headers: Two Authorization headers are a malformed request.
const RS_TOK_06_TWO_HEADERS: MalformedHeader = MalformedHeader {
    meta: meta(
        "RS-TOK-06.two-headers",
        "Two Authorization headers are a malformed request",
        Should,
        &["MCP §10", "OAuth 2.1 §5.3.2", "RFC 6750 §3.1"],
        "Two Authorization lines (a valid token, then garbage) → 400 PASS; 401 WARN; 2xx FAIL.",
    ),
    stimulus: Stimulus::MalformedTwoHeaders,
};

/// RS-AUD-01.other-resource: A token for another MCP server is refused.
const RS_AUD_01_OTHER_RESOURCE: RejectsToken = RejectsToken {
    meta: meta(
        "RS-AUD-01.other-resource",
        "A token for another MCP server is refused",
        Must,
        AUD01,
        "initialize with a token from the trusted AS whose aud is another MCP server → refused.",
    ),
    stimulus: Stimulus::AudOther,
    applies: Applies::Always,
    refusal: Refusal::Any,
};

/// RS-AUD-01.missing: A token without aud is refused.
const RS_AUD_01_MISSING: RejectsToken = RejectsToken {
    meta: meta(
        "RS-AUD-01.missing",
        "A token without aud is refused",
        Must,
        AUD01,
        "initialize with a token from the trusted AS without an aud claim → refused.",
    ),
    stimulus: Stimulus::AudMissing,
    applies: Applies::Always,
    refusal: Refusal::Any,
};

/// RS-AUD-01.client-id: A token whose aud is the client_id is refused.
const RS_AUD_01_CLIENT_ID: RejectsToken = RejectsToken {
    meta: meta(
        "RS-AUD-01.client-id",
        "A token whose aud is the client_id is refused",
        Must,
        AUD01,
        "initialize with a token whose aud is the client_id (an ID-token-like audience) → refused.",
    ),
    stimulus: Stimulus::AudClientId,
    applies: Applies::Always,
    refusal: Refusal::Any,
};

/// RS-AUD-01.other-and-client-id: A token whose aud lists only other parties is refused.
const RS_AUD_01_OTHER_AND_CLIENT_ID: RejectsToken = RejectsToken {
    meta: meta(
        "RS-AUD-01.other-and-client-id",
        "A token whose aud lists only other parties is refused",
        Must,
        AUD01,
        "initialize with aud = [another server, client_id] → refused.",
    ),
    stimulus: Stimulus::AudOtherAndClientId,
    applies: Applies::Always,
    refusal: Refusal::Any,
};

/// RS-AUD-02: A token minted for the upstream API is not accepted (no passthrough acceptance).
const RS_AUD_02: RejectsToken = RejectsToken {
    meta: meta("RS-AUD-02", "A token minted for the upstream API is not accepted (no passthrough acceptance)", Must, &["MCP §9.2", "SBP §2.2.2"],
        "initialize with a token from the trusted AS whose aud is the upstream API the server fronts → refused."),
    stimulus: Stimulus::AudUpstream,
    applies: Applies::Always,
    refusal: Refusal::Any,
};

/// RS-AUD-03: An audience with uppercase scheme and host is accepted.
const RS_AUD_03: AcceptsToken = AcceptsToken {
    meta: meta("RS-AUD-03", "An audience with uppercase scheme and host is accepted", Should, &["MCP §8.1"],
        "initialize with a valid token whose aud spells the server URL with an uppercase scheme and host → served; refusal WARN."),
    stimulus: Stimulus::AudUppercase,
    applies: Applies::UrlAudience,
};

/// RS-JWT-01.attacker-issuer: A JWT with a foreign iss is refused.
const RS_JWT_01_ATTACKER_ISSUER: RejectsToken = RejectsToken {
    meta: meta("RS-JWT-01.attacker-issuer", "A JWT with a foreign iss is refused", Must, &["RFC 9068 §4"],
        "A token signed with the trusted key but iss = https://attacker.conformance.test → refused."),
    stimulus: Stimulus::IssAttacker,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-01.trailing-slash: A JWT whose iss differs by a trailing slash is refused.
const RS_JWT_01_TRAILING_SLASH: RejectsToken = RejectsToken {
    meta: meta("RS-JWT-01.trailing-slash", "A JWT whose iss differs by a trailing slash is refused", Must, &["RFC 9068 §4", "RFC 8414 §3.3"],
        "iss = the trusted issuer with a trailing slash added (or removed) → refused: issuers compare exactly."),
    stimulus: Stimulus::IssTrailingSlash,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-02.bit-flip: A JWT with one signature bit flipped is refused.
const RS_JWT_02_BIT_FLIP: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-02.bit-flip",
        "A JWT with one signature bit flipped is refused",
        Must,
        &["RFC 9068 §4"],
        "A valid token with one bit of its signature flipped → refused.",
    ),
    stimulus: Stimulus::SigBitFlip,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-02.tampered-payload: A JWT whose payload was altered without re-signing is refused.
const RS_JWT_02_TAMPERED_PAYLOAD: RejectsToken = RejectsToken {
    meta: meta("RS-JWT-02.tampered-payload", "A JWT whose payload was altered without re-signing is refused", Must, &["RFC 9068 §4"],
        "The read-only user's token with its payload changed to full_access, signature kept → refused."),
    stimulus: Stimulus::TamperedPayload,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-03.none-lowercase: An unsigned JWT (alg "none") is refused.
const RS_JWT_03_NONE_LOWERCASE: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-03.none-lowercase",
        "An unsigned JWT (alg \"none\") is refused",
        Must,
        &["RFC 9068 §4", "RFC 9068 §2.1"],
        "Header {\"alg\":\"none\"} with an empty signature and otherwise valid claims → refused.",
    ),
    stimulus: Stimulus::AlgNoneLower,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-03.none-titlecase: An unsigned JWT (alg "None") is refused.
const RS_JWT_03_NONE_TITLECASE: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-03.none-titlecase",
        "An unsigned JWT (alg \"None\") is refused",
        Must,
        &["RFC 9068 §4", "RFC 9068 §2.1"],
        "Header {\"alg\":\"None\"} with an empty signature → refused.",
    ),
    stimulus: Stimulus::AlgNoneTitle,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-03.none-uppercase: An unsigned JWT (alg "NONE") is refused.
const RS_JWT_03_NONE_UPPERCASE: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-03.none-uppercase",
        "An unsigned JWT (alg \"NONE\") is refused",
        Must,
        &["RFC 9068 §4", "RFC 9068 §2.1"],
        "Header {\"alg\":\"NONE\"} with an empty signature → refused.",
    ),
    stimulus: Stimulus::AlgNoneUpper,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-04.pem: HS256 keyed with the AS public key (PEM) is refused.
const RS_JWT_04_PEM: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-04.pem",
        "HS256 keyed with the AS public key (PEM) is refused",
        Must,
        &["RFC 9068 §4", "RFC 8725 §3.1"],
        "alg HS256, kid of the real key, MACed with the AS public key's PEM text → refused.",
    ),
    stimulus: Stimulus::HsPem,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-04.der: HS256 keyed with the AS public key (DER) is refused.
const RS_JWT_04_DER: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-04.der",
        "HS256 keyed with the AS public key (DER) is refused",
        Must,
        &["RFC 9068 §4", "RFC 8725 §3.1"],
        "alg HS256 MACed with the AS public key's DER bytes → refused.",
    ),
    stimulus: Stimulus::HsDer,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-04.jwk: HS256 keyed with the AS public key (JWK JSON) is refused.
const RS_JWT_04_JWK: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-04.jwk",
        "HS256 keyed with the AS public key (JWK JSON) is refused",
        Must,
        &["RFC 9068 §4", "RFC 8725 §3.1"],
        "alg HS256 MACed with the AS public key's JWK JSON bytes → refused.",
    ),
    stimulus: Stimulus::HsJwk,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-05.unknown-kid: A JWT whose kid is not in the AS JWKS is refused.
const RS_JWT_05_UNKNOWN_KID: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-05.unknown-kid",
        "A JWT whose kid is not in the AS JWKS is refused",
        Must,
        &["RFC 9068 §4", "RFC 8725 §3.10"],
        "A token signed by an attacker key with a kid the JWKS does not hold → refused.",
    ),
    stimulus: Stimulus::UnknownKid,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-05.attacker-key: A JWT naming the AS kid but signed by another key is refused.
const RS_JWT_05_ATTACKER_KEY: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-05.attacker-key",
        "A JWT naming the AS kid but signed by another key is refused",
        Must,
        &["RFC 9068 §4", "RFC 8725 §3.10"],
        "kid = the AS key's kid, signature by an attacker key → refused.",
    ),
    stimulus: Stimulus::AttackerKeyRealKid,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-05.embedded-jwk: A key embedded in the JWT header is not trusted.
const RS_JWT_05_EMBEDDED_JWK: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-05.embedded-jwk",
        "A key embedded in the JWT header is not trusted",
        Must,
        &["RFC 9068 §4", "RFC 8725 §3.10"],
        "Header jwk = the attacker's public key, signed by it → refused.",
    ),
    stimulus: Stimulus::EmbeddedJwk,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-05.jku: A jku header is neither fetched nor trusted.
const RS_JWT_05_JKU: KeyUrlHeader = KeyUrlHeader {
    meta: meta("RS-JWT-05.jku", "A jku header is neither fetched nor trusted", Must, &["RFC 9068 §4", "RFC 8725 §3.10"],
        "Header jku = an attacker JWKS on a listener the suite watches → refused, and the listener sees no fetch (watched until 250 ms after the last probe)."),
    stimulus: Stimulus::Jku,
};

/// RS-JWT-05.x5u: An x5u header is neither fetched nor trusted.
const RS_JWT_05_X5U: KeyUrlHeader = KeyUrlHeader {
    meta: meta("RS-JWT-05.x5u", "An x5u header is neither fetched nor trusted", Must, &["RFC 9068 §4", "RFC 8725 §3.10"],
        "Header x5u = an attacker certificate URL on a listener the suite watches → refused, and no fetch."),
    stimulus: Stimulus::X5u,
};

/// RS-JWT-06.expired: A JWT past its exp is refused.
const RS_JWT_06_EXPIRED: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-06.expired",
        "A JWT past its exp is refused",
        Must,
        &["RFC 9068 §4", "OAuth 2.1 §5.2"],
        "exp = now − 600 s (beyond any reasonable leeway) → refused.",
    ),
    stimulus: Stimulus::Expired,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-06.no-exp: A JWT without exp is refused.
const RS_JWT_06_NO_EXP: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-06.no-exp",
        "A JWT without exp is refused",
        Must,
        &["RFC 9068 §2.2", "RFC 9068 §4"],
        "A token with no exp claim (RFC 9068 makes it REQUIRED) → refused.",
    ),
    stimulus: Stimulus::NoExp,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

/// RS-JWT-07.typ-jwt: A JWT with typ "JWT" is not accepted as an access token.
const RS_JWT_07_TYP_JWT: TypHeader = TypHeader {
    meta: meta("RS-JWT-07.typ-jwt", "A JWT with typ \"JWT\" is not accepted as an access token", Must, &["RFC 9068 §4", "RFC 8725 §3.11"],
        "Header typ = JWT (e.g. an ID token), claims otherwise valid → refused. WARN instead of FAIL when the profile says the server does not claim RFC 9068."),
    stimulus: Stimulus::TypJwt,
};

/// RS-JWT-07.missing-typ: A JWT without typ is not accepted as an access token.
const RS_JWT_07_MISSING_TYP: TypHeader = TypHeader {
    meta: meta("RS-JWT-07.missing-typ", "A JWT without typ is not accepted as an access token", Must, &["RFC 9068 §4"],
        "No typ header, claims otherwise valid → refused (WARN when the server does not claim RFC 9068)."),
    stimulus: Stimulus::TypMissing,
};

/// RS-JWT-07.application-at-jwt: A JWT with typ "application/at+jwt" is accepted.
const RS_JWT_07_APPLICATION_AT_JWT: AcceptsToken = AcceptsToken {
    meta: meta("RS-JWT-07.application-at-jwt", "A JWT with typ \"application/at+jwt\" is accepted", Must, &["RFC 9068 §4"],
        "A valid token whose header typ is the media-type form application/at+jwt (RFC 9068 §4 allows it beside at+jwt) → served."),
    stimulus: Stimulus::TypApplicationAtJwt,
    applies: Applies::JwtOnly,
};

/// RS-JWT-08: A JWT before its nbf is refused.
const RS_JWT_08: RejectsToken = RejectsToken {
    meta: meta(
        "RS-JWT-08",
        "A JWT before its nbf is refused",
        Must,
        &["RFC 7519 §4.1.5"],
        "nbf = now + 600 s → refused.",
    ),
    stimulus: Stimulus::NotYetValid,
    applies: Applies::JwtOnly,
    refusal: Refusal::Any,
};

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

/// A valid token in an allowed form must be served (RS-TOK-04, RS-AUD-03, RS-JWT-07.application-at-jwt).
struct AcceptsToken {
    meta: CheckMeta,
    stimulus: Stimulus,
    applies: Applies,
}

impl Check<ServerObservations> for AcceptsToken {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ServerObservations) -> Evaluation {
        let (m, s) = (&self.meta, self.stimulus);
        if let Some(skip) = mode_gate(o, self.applies) {
            return skip;
        }
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
}

/// RS-TOK-06: a malformed Authorization header. 400 PASS, 401 WARN, 2xx FAIL (catalog/README.md §4.2).
struct MalformedHeader {
    meta: CheckMeta,
    stimulus: Stimulus,
}

impl Check<ServerObservations> for MalformedHeader {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ServerObservations) -> Evaluation {
        let s = self.stimulus;
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
}

/// RS-JWT-05 jku / x5u: a key URL in the token header; refused, and the URL never fetched.
struct KeyUrlHeader {
    meta: CheckMeta,
    stimulus: Stimulus,
}

impl Check<ServerObservations> for KeyUrlHeader {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ServerObservations) -> Evaluation {
        let (m, s) = (&self.meta, self.stimulus);
        let url: &str = if s == Stimulus::Jku {
            &o.jku_url
        } else {
            &o.x5u_url
        };
        if let Some(skip) = mode_gate(o, Applies::JwtOnly) {
            return skip;
        }
        if let Err(e) = &o.baseline {
            return e
                .to_evaluation("a valid token was refused, so refusing this one proves nothing");
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
}

/// RS-JWT-07: a token whose typ is not at+jwt. FAIL when the server claims RFC 9068, WARN otherwise.
struct TypHeader {
    meta: CheckMeta,
    stimulus: Stimulus,
}

impl Check<ServerObservations> for TypHeader {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ServerObservations) -> Evaluation {
        let (m, s) = (&self.meta, self.stimulus);
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
        let e = inner.evaluate(o);
        if e.verdict == Verdict::Warn {
            e.with_message("accepted; the profile says the server does not claim the RFC 9068 profile, so this is a WARN")
        } else {
            e
        }
    }
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::check::{Cause, ObsError};
    use crate::http::HttpFailure;
    use crate::server::obs::Mode;
    use crate::server::testing::{
        compliant, compliant_in, compliant_introspection, refused_in_text, served,
    };

    /// The record of the mode in which a check applies.
    fn applicable(applies: Applies) -> ServerObservations {
        match applies {
            Applies::IntrospectionOnly => compliant_introspection(),
            Applies::Always | Applies::JwtOnly | Applies::UrlAudience => compliant(),
        }
    }

    #[rstest::rstest]
    #[case::tok_02_expired(RS_TOK_02_EXPIRED)]
    #[case::tok_02_random_string(RS_TOK_02_RANDOM_STRING)]
    #[case::tok_02_truncated(RS_TOK_02_TRUNCATED)]
    #[case::tok_02_garbled(RS_TOK_02_GARBLED)]
    #[case::tok_02_oversized(RS_TOK_02_OVERSIZED)]
    #[case::tok_02_revoked(RS_TOK_02_REVOKED)]
    #[case::tok_05(RS_TOK_05)]
    #[case::aud_01_other_resource(RS_AUD_01_OTHER_RESOURCE)]
    #[case::aud_01_missing(RS_AUD_01_MISSING)]
    #[case::aud_01_client_id(RS_AUD_01_CLIENT_ID)]
    #[case::aud_01_other_and_client_id(RS_AUD_01_OTHER_AND_CLIENT_ID)]
    #[case::aud_02(RS_AUD_02)]
    #[case::jwt_01_attacker_issuer(RS_JWT_01_ATTACKER_ISSUER)]
    #[case::jwt_01_trailing_slash(RS_JWT_01_TRAILING_SLASH)]
    #[case::jwt_02_bit_flip(RS_JWT_02_BIT_FLIP)]
    #[case::jwt_02_tampered_payload(RS_JWT_02_TAMPERED_PAYLOAD)]
    #[case::jwt_03_none_lowercase(RS_JWT_03_NONE_LOWERCASE)]
    #[case::jwt_03_none_titlecase(RS_JWT_03_NONE_TITLECASE)]
    #[case::jwt_03_none_uppercase(RS_JWT_03_NONE_UPPERCASE)]
    #[case::jwt_04_pem(RS_JWT_04_PEM)]
    #[case::jwt_04_der(RS_JWT_04_DER)]
    #[case::jwt_04_jwk(RS_JWT_04_JWK)]
    #[case::jwt_05_unknown_kid(RS_JWT_05_UNKNOWN_KID)]
    #[case::jwt_05_attacker_key(RS_JWT_05_ATTACKER_KEY)]
    #[case::jwt_05_embedded_jwk(RS_JWT_05_EMBEDDED_JWK)]
    #[case::jwt_06_expired(RS_JWT_06_EXPIRED)]
    #[case::jwt_06_no_exp(RS_JWT_06_NO_EXP)]
    #[case::jwt_08(RS_JWT_08)]
    fn a_rejected_token_passes_when_refused_fails_when_served_and_errors_without_baseline(
        #[case] c: RejectsToken,
    ) {
        let id = c.meta.id;
        let o = applicable(c.applies);
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Pass, "{id}: {}", e.actual);
        assert!(
            e.actual.starts_with(c.stimulus.describe()),
            "{id}: {}",
            e.actual
        );
        assert_eq!(
            e.evidence,
            [format!("token-probe#{:?}", c.stimulus)],
            "{id}"
        );

        let e = c.evaluate(&applicable(c.applies).serving(c.stimulus));
        assert_eq!(e.verdict, Verdict::Fail, "{id}");
        assert_eq!(e.message, "the server accepted the token", "{id}");

        let e = c.evaluate(&applicable(c.applies).baseline_refused());
        assert_eq!(e.verdict, Verdict::Error, "{id}");
        assert!(
            e.message.starts_with("a valid token was refused"),
            "{id}: {}",
            e.message
        );

        let e = c.evaluate(&applicable(c.applies).missing_probe(c.stimulus, ObsError::Interrupted));
        assert_eq!(e.verdict, Verdict::Error, "{id}");
        assert!(e.message.contains("interrupted"), "{id}: {}", e.message);

        let other = match c.applies {
            Applies::Always | Applies::UrlAudience => None,
            Applies::JwtOnly => Some(Mode::Introspection),
            Applies::IntrospectionOnly => Some(Mode::Jwt),
        };
        if let Some(mode) = other {
            let e = c.evaluate(&compliant_in(mode));
            assert_eq!(e.verdict, Verdict::Skip, "{id}");
        }
    }

    #[rstest::rstest]
    #[case::expired(RS_TOK_02_EXPIRED)]
    #[case::random_string(RS_TOK_02_RANDOM_STRING)]
    #[case::truncated(RS_TOK_02_TRUNCATED)]
    #[case::garbled(RS_TOK_02_GARBLED)]
    #[case::revoked(RS_TOK_02_REVOKED)]
    #[case::query_token(RS_TOK_05)]
    fn a_401_row_fails_on_another_refusal_status(#[case] c: RejectsToken) {
        let o = applicable(c.applies).answering(c.stimulus, 403, &[]);
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{}", c.meta.id);
        assert_eq!(
            e.message,
            "refused, but with HTTP 403 instead of the required status"
        );
    }

    #[test]
    fn rs_tok_02_oversized_passes_when_the_server_closes_the_connection() {
        let o = compliant().missing_probe(
            Stimulus::Oversized,
            ObsError::target_because(
                "connection reset",
                ["token-probe#Oversized".to_owned()],
                Cause::NoAnswer(HttpFailure::Transport("reset".into())),
            ),
        );
        let e = RS_TOK_02_OVERSIZED.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Pass);
        assert!(
            e.actual
                .ends_with("the server closed the connection: connection reset"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_tok_02_oversized_fails_on_a_5xx() {
        let e = RS_TOK_02_OVERSIZED.evaluate(&compliant().answering(Stimulus::Oversized, 500, &[]));
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.message.contains("HTTP 500"), "{}", e.message);
    }

    #[test]
    fn rs_tok_01_passes_when_every_bad_request_is_refused() {
        let e = RS_TOK_01.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass);
        assert_eq!(e.actual, "all three refused; the valid token was served");
    }

    #[test]
    fn rs_tok_01_passes_read_only_writes_refused_in_the_text_of_a_success_result() {
        let o = refused_in_text(true, Ok(served("scope#control")));
        let e = RS_TOK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Pass, "{}", e.message);
        assert!(
            e.actual.contains("only in the text of a success result"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_tok_01_errors_when_read_only_writes_answered_as_successes_cannot_be_judged() {
        let o = compliant().edit_scope(|s| s.attempts[0] = served("scope#write-1"));
        let e = RS_TOK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("no control write was made"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_tok_01_fails_when_a_read_only_write_lands() {
        let o = compliant().edit_scope(|s| {
            s.attempts[0] = served("scope#write-1");
            s.read_back = Ok((s.markers[0].clone(), "scope#read-back".into()));
        });
        let e = RS_TOK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("a read-only token performed a write"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_tok_01_fails_when_a_token_for_another_server_is_served() {
        let e = RS_TOK_01.evaluate(&compliant().serving(Stimulus::AudOther));
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "a token for another server was served");
    }

    #[test]
    fn rs_tok_01_marks_the_served_request_offending_and_the_refused_ones_context() {
        let o = compliant().serving(Stimulus::AudOther);
        let served = o
            .probe(Stimulus::AudOther)
            .as_ref()
            .unwrap()
            .exchange
            .clone();
        let refused = o
            .probe(Stimulus::Expired)
            .as_ref()
            .unwrap()
            .exchange
            .clone();
        let e = RS_TOK_01.evaluate(&o);
        assert_eq!(e.offending(), [served]);
        assert!(e.evidence.contains(&refused), "{:?}", e.evidence);
    }

    #[test]
    fn rs_tok_01_marks_nothing_offending_when_it_passes() {
        assert!(RS_TOK_01.evaluate(&compliant()).offending().is_empty());
    }

    #[test]
    fn rs_tok_01_errors_without_the_scope_attempts() {
        let mut o = compliant();
        o.scope = Err(ObsError::Interrupted);
        let e = RS_TOK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.starts_with("the read-only write attempts"),
            "{}",
            e.message
        );
    }

    #[rstest::rstest]
    #[case::jwt(RS_TOK_03_JWT, Mode::Jwt, Verdict::Fail)]
    #[case::opaque(RS_TOK_03_OPAQUE, Mode::Introspection, Verdict::Warn)]
    fn rs_tok_03_judges_every_401_for_an_invalid_token(
        #[case] c: FnCheck<ServerObservations>,
        #[case] mode: Mode,
        #[case] violation: Verdict,
    ) {
        let e = c.evaluate(&compliant_in(mode));
        assert_eq!(e.verdict, Verdict::Pass);
        assert!(
            e.actual
                .ends_with("401 responses, all with error=\"invalid_token\""),
            "{}",
            e.actual
        );

        let o = compliant_in(mode).answering(Stimulus::Garbled, 401, &["Bearer realm=\"mcp\""]);
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, violation);
        assert!(e.message.starts_with("1 of "), "{}", e.message);
        assert_eq!(e.evidence, ["token-probe#Garbled"]);

        let other = if mode == Mode::Jwt {
            Mode::Introspection
        } else {
            Mode::Jwt
        };
        assert_eq!(c.evaluate(&compliant_in(other)).verdict, Verdict::Skip);

        let e = c.evaluate(&compliant_in(mode).missing_probe(Stimulus::Jku, ObsError::Interrupted));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.starts_with("the token probes"), "{}", e.message);
    }

    #[test]
    fn rs_tok_03_errors_when_no_invalid_token_got_a_401() {
        let mut o = compliant();
        for s in INVALID_TOKENS {
            o = o.answering(*s, 403, &[]);
        }
        let e = RS_TOK_03_JWT.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("no challenge to judge"), "{}", e.message);
    }

    #[rstest::rstest]
    #[case::tok_04_lowercase(RS_TOK_04_LOWERCASE, Verdict::Fail)]
    #[case::tok_04_uppercase(RS_TOK_04_UPPERCASE, Verdict::Fail)]
    #[case::aud_03(RS_AUD_03, Verdict::Warn)]
    #[case::jwt_07_application_at_jwt(RS_JWT_07_APPLICATION_AT_JWT, Verdict::Fail)]
    fn an_allowed_form_must_be_served(#[case] c: AcceptsToken, #[case] violation: Verdict) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
        assert!(
            e.actual
                .ends_with("→ served (2xx with a result); no WWW-Authenticate"),
            "{}",
            e.actual
        );

        let e = c.evaluate(&compliant().answering(c.stimulus, 401, &[]));
        assert_eq!(e.verdict, violation, "{}", c.meta.id);
        assert!(e.actual.contains("→ HTTP 401"), "{}", e.actual);

        let e = c.evaluate(&compliant().baseline_refused());
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(
            e.message
                .starts_with("the baseline valid token was refused"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_jwt_07_application_at_jwt_applies_to_local_jwt_validation_only() {
        let e = RS_JWT_07_APPLICATION_AT_JWT.evaluate(&compliant_in(Mode::Introspection));
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("introspection"), "{}", e.message);
    }

    #[rstest::rstest]
    #[case::empty_token(RS_TOK_06_EMPTY_TOKEN)]
    #[case::extra_token(RS_TOK_06_EXTRA_TOKEN)]
    #[case::two_headers(RS_TOK_06_TWO_HEADERS)]
    fn a_malformed_header_is_400_warns_on_401_and_fails_when_served(#[case] c: MalformedHeader) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
        assert!(e.actual.contains("→ HTTP 400"), "{}", e.actual);

        let e = c.evaluate(&compliant().answering(c.stimulus, 401, &[]));
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(
            e.message,
            "refused with 401 rather than 400 invalid_request"
        );

        let e = c.evaluate(&compliant().serving(c.stimulus));
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.message, "a malformed Authorization header was served");

        let e = c.evaluate(&compliant().missing_probe(c.stimulus, ObsError::Interrupted));
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.starts_with(c.stimulus.describe()),
            "{}",
            e.message
        );
    }

    #[rstest::rstest]
    #[case::jku(RS_JWT_05_JKU, "/jwks.json")]
    #[case::x5u(RS_JWT_05_X5U, "/cert.pem")]
    fn a_key_url_header_is_never_fetched(#[case] c: KeyUrlHeader, #[case] path: &str) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
        assert!(
            e.actual.ends_with("attacker listener fetches: none"),
            "{}",
            e.actual
        );

        let mut o = compliant();
        o.attacker_fetches.push(path.to_owned());
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(
            e.message,
            "the server fetched a key URL named in the token header"
        );
        assert!(e.actual.contains(path), "{}", e.actual);

        let e = c.evaluate(&compliant().serving(c.stimulus));
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.message, "the server accepted the token");

        assert_eq!(
            c.evaluate(&compliant_introspection()).verdict,
            Verdict::Skip
        );
        let e = c.evaluate(&compliant().baseline_refused());
        assert_eq!(e.verdict, Verdict::Error);
    }

    #[test]
    fn a_key_url_fetch_of_the_other_header_does_not_count() {
        let mut o = compliant();
        o.attacker_fetches.push("/cert.pem".into());
        assert_eq!(RS_JWT_05_JKU.evaluate(&o).verdict, Verdict::Pass);
    }

    #[rstest::rstest]
    #[case::typ_jwt(RS_JWT_07_TYP_JWT)]
    #[case::missing_typ(RS_JWT_07_MISSING_TYP)]
    fn a_wrong_typ_fails_or_warns_by_the_profile(#[case] c: TypHeader) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);

        let e = c.evaluate(&compliant().serving(c.stimulus));
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.message, "the server accepted the token");

        let mut o = compliant().serving(c.stimulus);
        o.profile.rfc9068 = false;
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(
            e.message.contains("does not claim the RFC 9068 profile"),
            "{}",
            e.message
        );

        assert_eq!(
            c.evaluate(&compliant_introspection()).verdict,
            Verdict::Skip
        );
        assert_eq!(
            c.evaluate(&compliant().baseline_refused()).verdict,
            Verdict::Error
        );
    }
}
