//! The `ServerDefect` enum: each variant turns off exactly one protection of the reference server.
//!
//! The suite proves every check against these: a check must FAIL with at least one defect and
//! the defect must change no verdict it should not.

use super::ValidationMode;

const JWT: &[ValidationMode] = &[ValidationMode::Jwt];
const BOTH: &[ValidationMode] = &[ValidationMode::Jwt, ValidationMode::Introspection];
const INTROSPECTION: &[ValidationMode] = &[ValidationMode::Introspection];

mcp_auth_defects::defects! {
    /// One deliberately broken protection of the reference To-Do server.
    pub enum ServerDefect;
    /// Error for an unknown server defect name; its message lists the valid names.
    error UnknownServerDefect("defect");
    /// The validation modes in which the defect is meaningful.
    pub fn modes(self) -> &'static [ValidationMode];

    SkipAudienceCheck = "skip-audience-check", BOTH,
        "Accepts tokens whose `aud` is missing or names another resource.";
    SkipIssuerCheck = "skip-issuer-check", JWT,
        "Accepts JWTs whose `iss` is not the trusted issuer.";
    SkipSignatureCheck = "skip-signature-check", JWT,
        "Decodes RS256/HS* JWT claims without verifying the signature.";
    AcceptAlgNone = "accept-alg-none", JWT,
        "Accepts unsigned JWTs whose header `alg` is `none` (any case).";
    AcceptHs256WithPublicKey = "accept-hs256-with-public-key", JWT,
        "Accepts HS256 JWTs MACed with the issuer's RSA public key (SPKI PEM, SPKI DER or JWK JSON bytes).";
    AcceptUnknownKid = "accept-unknown-kid", JWT,
        "Accepts JWTs whose `kid` is not in the JWKS (even after a refetch) without verifying them.";
    TrustHeaderKeys = "trust-header-keys", JWT,
        "Verifies with keys named in the token header (`jwk`, fetched `jku`; fetches `x5u`).";
    SkipExpiryCheck = "skip-expiry-check", JWT,
        "Accepts JWTs with a past or missing `exp`.";
    SkipNbfCheck = "skip-nbf-check", JWT,
        "Accepts JWTs whose `nbf` is in the future.";
    SkipTypCheck = "skip-typ-check", JWT,
        "Accepts JWTs whose header `typ` is not `at+jwt` (e.g. ID tokens).";
    StrictTypAtJwt = "strict-typ-at-jwt", JWT,
        "Accepts only the `typ` spelling `at+jwt`, refusing the media-type form `application/at+jwt` RFC 9068 also allows.";
    AcceptQueryToken = "accept-query-token", JWT,
        "Takes the token from the `access_token` query parameter when there is no Authorization header.";
    CaseSensitiveBearer = "case-sensitive-bearer", JWT,
        "Recognises only the exact scheme `Bearer`; `bearer` / `BEARER` count as no token.";
    LenientAuthorizationHeader = "lenient-authorization-header", JWT,
        "Repairs malformed Authorization headers (first word, first header; empty token is 401) instead of 400.";
    SessionAsAuth = "session-as-auth", JWT,
        "Serves a request carrying a known `Mcp-Session-Id` as the session owner even without a valid token.";
    SessionNotBoundToUser = "session-not-bound-to-user", JWT,
        "Lets any valid token use any session.";
    SequentialSessionIds = "sequential-session-ids", JWT,
        "Issues predictable session ids `session-1`, `session-2`, ...";
    WriteBeforeAuth = "write-before-auth", JWT,
        "Executes `create_todo` / `delete_todo` before authenticating the request.";
    AcceptMalformedToken = "accept-malformed-token", JWT,
        "Serves a token that is not a JWT at all as an anonymous user with scope `todo:read`.";
    InvalidTokenWithoutError = "invalid-token-without-error", BOTH,
        "Answers a bad token with a 401 challenge that lacks `error=\"invalid_token\"`.";
    IgnoreIntrospectionActive = "ignore-introspection-active", INTROSPECTION,
        "Uses introspection claims even when `active` is false or missing.";
    SkipScopeCheck = "skip-scope-check", JWT,
        "Runs every tool whatever the token's scope.";
    ScopeErrorAsToolResult = "scope-error-as-tool-result", JWT,
        "Reports insufficient scope as HTTP 200 with an `isError` tool result instead of 403.";
    ScopeErrorAsSuccessResult = "scope-error-as-success-result", JWT,
        "Reports insufficient scope only in the text of an ordinary HTTP 200 tool result (`isError` not set), as Scalekit's FastMCP quickstart does.";
    InsufficientScopeWithoutScope = "insufficient-scope-without-scope", JWT,
        "Omits `scope` from the 403 insufficient_scope challenge.";
    InsufficientScopeWithoutResourceMetadata = "insufficient-scope-without-resource-metadata", JWT,
        "Omits `resource_metadata` from the 403 insufficient_scope challenge.";
    InconsistentScopeChallenge = "inconsistent-scope-challenge", JWT,
        "Alternates the 403 `scope` between two different sets on successive challenges.";
    RequireAllScopes = "require-all-scopes", JWT,
        "Requires both `todo:read` and `todo:write` for every tool (no reduced-scope tokens).";
    ChallengeWithoutScope = "challenge-without-scope", JWT,
        "Omits `scope` from 401 challenges.";
    ErrorOnAnonymous = "error-on-anonymous", JWT,
        "Adds `error=\"invalid_token\"` to the 401 for a request that sent no token.";
    DuplicateChallengeParams = "duplicate-challenge-params", JWT,
        "Repeats the `scope` parameter in 401 challenges.";
    BareBearerChallenge = "bare-bearer-challenge", JWT,
        "Sends 401 challenges as a bare `Bearer` with no parameters.";
    NoResourceMetadata = "no-resource-metadata", JWT,
        "Omits `resource_metadata` from challenges and serves no PRM at all.";
    AllowAnonymousInitialize = "allow-anonymous-initialize", JWT,
        "Lets `initialize` without a token succeed and create an anonymous session.";
    StatelessAuthOnDiscoverOnly = "stateless-auth-on-discover-only", JWT,
        "Under 2026-07-28 (stateless) requires a token only on `server/discover`, where the old `initialize` hook sat; other stateless requests without a token are served anonymously.";
    StatelessSessionAsAuth = "stateless-session-as-auth", JWT,
        "Under 2026-07-28 (stateless) still mints an `Mcp-Session-Id` on an authorized request and serves a later request naming it without a token as that session's user.";
    PrmWrongResource = "prm-wrong-resource", JWT,
        "PRM `resource` is the origin instead of the MCP endpoint URL.";
    PrmNoAuthorizationServers = "prm-no-authorization-servers", JWT,
        "PRM omits `authorization_servers`.";
    PrmResourceFragment = "prm-resource-fragment", JWT,
        "PRM `resource` carries a fragment (`#mcp`).";
    PrmEmptyMembers = "prm-empty-members", JWT,
        "PRM carries an empty array and a null member.";
    PrmNoScopesSupported = "prm-no-scopes-supported", JWT,
        "PRM omits `scopes_supported`.";
    OfflineAccessInPrm = "offline-access-in-prm", JWT,
        "PRM `scopes_supported` also lists `offline_access`.";
    OfflineAccessInChallenge = "offline-access-in-challenge", JWT,
        "The 401 challenge's `scope` also names `offline_access`.";
    PrmRequiresAuth = "prm-requires-auth", JWT,
        "PRM answers 401 unless the request carries a valid token.";
    PrmBadBearerMethod = "prm-bad-bearer-method", JWT,
        "PRM `bearer_methods_supported` lists `cookie`, which RFC 9728 does not define.";
    PrmAdvertisesQuery = "prm-advertises-query", JWT,
        "PRM `bearer_methods_supported` advertises `query` (query tokens are still ignored).";
    PrmResourceTrailingSlash = "prm-resource-trailing-slash", JWT,
        "PRM `resource` has a trailing slash the endpoint URL lacks.";
    PrmWrongContentType = "prm-wrong-content-type", JWT,
        "PRM is served as `text/plain`.";
    SkipOriginCheck = "skip-origin-check", JWT,
        "Serves requests whose `Origin` is not the server's own origin.";
    StrictCaseAudience = "strict-case-audience", JWT,
        "Compares `aud` byte for byte, rejecting upper-case scheme/host variants of the resource URL.";
    PlainHttpPublicHost = "plain-http-public-host", JWT,
        "No code change: the suite starts the server with public base `http://todo.conformance.test:<port>` (plain http on a non-loopback host).";
    PlainHttpUnderTls = "plain-http-under-tls", JWT,
        "Serves plain http although it was given a certificate (the suite hands it one under `--tls-profile strict`).";
    PassthroughUserToken = "passthrough-user-token", JWT,
        "Calls the upstream API with the caller's own access token instead of exchanging it.";
    UpstreamWithServerCredentials = "upstream-with-server-credentials", JWT,
        "Calls the upstream API with its own `client_credentials` token (scope `todo:read todo:write`) instead of an exchange for the user.";
    ExchangeExcessScope = "exchange-excess-scope", JWT,
        "Asks the token exchange for `todo:read todo:write` for `email_digest`, which needs only `todo:read`.";
    ExchangeWrongAudience = "exchange-wrong-audience", JWT,
        "Asks the token exchange for its own resource URL as the audience instead of the upstream API.";
    MachineTokenSkipsAudience = "machine-token-skips-audience", JWT,
        "Skips the audience check for client-credentials tokens (JWTs whose `sub` is their `client_id`: no user).";
    MachineTokenAllScopes = "machine-token-all-scopes", JWT,
        "Grants every scope to client-credentials tokens (JWTs whose `sub` is their `client_id`), whatever their `scope`.";
    DpopSchemeUnrecognised = "dpop-scheme-unrecognised", BOTH,
        "Recognises only the `Bearer` scheme: `Authorization: DPoP <token>` counts as no token (a Bearer-only server).";
    AcceptBoundTokenAsBearer = "accept-bound-token-as-bearer", BOTH,
        "Serves a DPoP-bound token (`cnf.jkt`) presented with the `Bearer` scheme and no proof.";
    DpopProofOptional = "dpop-proof-optional", BOTH,
        "Serves `Authorization: DPoP <token>` when the request carries no `DPoP` proof header.";
    DpopSkipProofSignature = "dpop-skip-proof-signature", BOTH,
        "Does not verify the DPoP proof's signature with its `jwk`.";
    DpopSkipAth = "dpop-skip-ath", BOTH,
        "Does not compare the proof's `ath` with the hash of the presented token.";
    DpopSkipHtm = "dpop-skip-htm", BOTH,
        "Does not compare the proof's `htm` with the request method.";
    DpopSkipHtu = "dpop-skip-htu", BOTH,
        "Does not compare the proof's `htu` with the request URI.";
    DpopSkipKeyBinding = "dpop-skip-key-binding", BOTH,
        "Does not compare the proof key's thumbprint with the token's `cnf.jkt`.";
    DpopSkipIat = "dpop-skip-iat", BOTH,
        "Accepts DPoP proofs whatever their `iat` (an hour-old proof is served).";
    DpopAllowReplay = "dpop-allow-replay", BOTH,
        "Keeps no record of proof `jti`s: a proof replayed on a second request is served.";
    MarchMetadataAtMcpPath = "march-metadata-at-mcp-path", JWT,
        "In the 2025-03-26 shape, serves its authorization server metadata at `/.well-known/oauth-authorization-server/mcp` (the MCP path kept) instead of the origin root.";
    MarchIssuerWithPath = "march-issuer-with-path", JWT,
        "In the 2025-03-26 shape, names the MCP URL (`<origin>/mcp`) as the `issuer` of the metadata at the origin root instead of the origin.";
    MarchNoDefaultEndpoints = "march-no-default-endpoints", JWT,
        "In the 2025-03-26 shape, serves neither authorization server metadata nor the default `/authorize`, `/token` and `/register` endpoints.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &d in ServerDefect::ALL {
            assert!(seen.insert(d.name()), "duplicate name {d}");
            assert_eq!(d.name().parse::<ServerDefect>(), Ok(d));
            assert!(!d.modes().is_empty());
            assert!(!d.description().is_empty());
        }
    }

    #[test]
    fn unknown_name_lists_valid_names() {
        let err = "nope".parse::<ServerDefect>().unwrap_err();
        assert!(err.to_string().contains("skip-audience-check"));
    }
}
