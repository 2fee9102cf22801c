//! The `ClientDefect` enum: each variant turns off exactly one protection of the reference client.
//!
//! The suite proves every client check against these: a check must FAIL with at least one defect
//! and a defect must change no verdict it is not about. Catalogue order is that of
//! `docs/client-role.md` §4.

mcp_auth_defects::defects! {
    /// One deliberately broken protection of the reference MCP client.
    pub enum ClientDefect;
    /// Error for an unknown client defect name; its message lists the valid names.
    error UnknownClientDefect("client defect");

    NoPkce = "no-pkce",
        "Sends no `code_challenge`/`code_challenge_method` and no `code_verifier`.";
    PlainPkce = "plain-pkce",
        "Uses `code_challenge_method=plain` with the challenge equal to the verifier.";
    ShortVerifier = "short-verifier",
        "Uses a 20-character code verifier (RFC 7636 requires 43 to 128).";
    WrongVerifier = "wrong-verifier",
        "The token request carries a different random verifier than the one challenged.";
    StaticPkceChallenge = "static-pkce-challenge",
        "Reuses one verifier/challenge for every authorization request of the run.";
    ProceedWithoutPkceMetadata = "proceed-without-pkce-metadata",
        "Goes on (with S256) when AS metadata lacks `code_challenge_methods_supported`.";
    UsePlainWhenOnlyPlain = "use-plain-when-only-plain",
        "Uses `plain` when the metadata lists only `plain`.";
    DowngradeToPlainOnError = "downgrade-to-plain-on-error",
        "After an `error=invalid_request` authorization response, retries with `plain`.";
    IgnoreHeaderResourceMetadata = "ignore-header-resource-metadata",
        "Never uses the challenge's `resource_metadata` URL; probes the well-known URLs instead.";
    RootFirstDiscovery = "root-first-discovery",
        "Probes the root PRM well-known URL before the path-inserted one.";
    NoRootFallback = "no-root-fallback",
        "Never probes the root PRM well-known URL.";
    AsFromMcpOrigin = "as-from-mcp-origin",
        "Uses the MCP server's origin as the issuer, ignoring PRM `authorization_servers`.";
    IgnorePrmResourceMismatch = "ignore-prm-resource-mismatch",
        "Uses PRM whose `resource` does not match the expected identifier.";
    Rfc8414Only = "rfc8414-only",
        "Never tries the OpenID Connect discovery URLs.";
    OidcFirst = "oidc-first",
        "Tries the OpenID Connect discovery URLs before RFC 8414.";
    RootAsMetadataFirst = "root-as-metadata-first",
        "For an issuer with a path, first probes the root `/.well-known/oauth-authorization-server`.";
    IgnoreIssuerMismatch = "ignore-issuer-mismatch",
        "Uses AS metadata whose `issuer` differs from the issuer it was fetched for.";
    MetadataViaPost = "metadata-via-post",
        "Fetches AS metadata with POST instead of GET.";
    NoResource = "no-resource",
        "Sends no `resource` parameter anywhere.";
    NoResourceInTokenRequest = "no-resource-in-token-request",
        "Sends `resource` only in the authorization request, not in token requests.";
    NoResourceOnRefresh = "no-resource-on-refresh",
        "Omits `resource` from refresh-token requests.";
    ResourceOriginOnly = "resource-origin-only",
        "Sends the MCP origin without its path as `resource`, in every request.";
    IgnoreChallengeScope = "ignore-challenge-scope",
        "Requests PRM `scopes_supported` even when the challenge carries `scope`.";
    FilterChallengeScopes = "filter-challenge-scopes",
        "Drops challenged scopes that are not in PRM `scopes_supported`.";
    NoScopesSupportedFallback = "no-scopes-supported-fallback",
        "Omits `scope` when only PRM `scopes_supported` defines scopes.";
    SendScopeWhenUndefined = "send-scope-when-undefined",
        "Sends `scope=openid` when neither the challenge nor the PRM defines scopes.";
    NoStepUp = "no-step-up",
        "Treats a 403 `insufficient_scope` as final (no step-up authorization).";
    UnboundedStepUp = "unbounded-step-up",
        "Does not limit step-up retries (up to 10 authorization attempts per operation).";
    RefreshScopeEscalation = "refresh-scope-escalation",
        "Refreshes with `scope` = the granted scope plus `todo:admin`.";
    TokenOnlyOnFirstRequest = "token-only-on-first-request",
        "Sends the bearer token only on its first MCP request (`initialize`; `server/discover` when stateless), not on later ones.";
    StatelessMetaOnFirstRequestOnly = "stateless-meta-on-first-request-only",
        "Under 2026-07-28 (stateless) sends `_meta` and the standard headers only on its first request, as if it were a handshake.";
    InitializeWhenStateless = "initialize-when-stateless",
        "Under 2026-07-28 (stateless) still opens with `initialize` and `notifications/initialized` before its stateless requests.";
    TokenInQuery = "token-in-query",
        "Also appends `?access_token=<token>` to MCP request URLs.";
    SendTokenToOtherServer = "send-token-to-other-server",
        "After an authorization-server change, sends the old AS's token once more (on a fresh connection) before re-authorizing.";
    IgnoreMigration = "ignore-migration",
        "After an authorization-server change, keeps refreshing at and using the old AS.";
    ReuseClientAcrossAs = "reuse-client-across-as",
        "After an authorization-server change, presents the old AS's DCR client_id (and secret) to the new AS instead of registering anew.";
    StrictTokenResponse = "strict-token-response",
        "Fails on unknown token-response members or an access token longer than 1 KiB.";
    UnregisteredRedirect = "unregistered-redirect",
        "Authorization and token requests use `/other-callback`, not the registered redirect path.";
    HttpRedirectNonLoopback = "http-redirect-non-loopback",
        "Uses the plain-http non-loopback redirect URI `http://client.conformance.test/callback`.";
    LocalhostRedirect = "localhost-redirect",
        "Uses `http://localhost:<port>/callback` instead of the loopback IP literal.";
    NoStateCheck = "no-state-check",
        "Accepts an authorization response whose `state` is missing or different.";
    IgnoreIss = "ignore-iss",
        "Never checks the authorization response `iss`.";
    IgnoreMissingIss = "ignore-missing-iss",
        "Accepts a missing `iss` even when the AS advertises it (a wrong one is still rejected).";
    IssOnlyWhenAdvertised = "iss-only-when-advertised",
        "Compares the authorization response `iss` only when the AS advertises iss support (an unadvertised wrong `iss` is accepted).";
    NormalizeIss = "normalize-iss",
        "Compares `iss` after URL normalization (case-folded, trailing `/` dropped), so `<issuer>/` is accepted.";
    RequireIss = "require-iss",
        "Rejects an authorization response without `iss` even when the AS does not advertise iss support.";
    JsonTokenRequest = "json-token-request",
        "Sends token requests as a JSON body instead of form-encoded.";
    NoClientIdInTokenRequest = "no-client-id-in-token-request",
        "A public client omits `client_id` when redeeming the code.";
    WrongTokenAuthMethod = "wrong-token-auth-method",
        "Always authenticates with `client_secret_post` when it has a secret.";
    IgnorePreRegistration = "ignore-pre-registration",
        "Ignores the pre-registered `client_id` from the context and uses CIMD or DCR.";
    DcrDespiteCimd = "dcr-despite-cimd",
        "Registers dynamically even when CIMD is supported and a client metadata URL is given.";
    NoDcr = "no-dcr",
        "Never registers dynamically.";
    NoApplicationType = "no-application-type",
        "Omits `application_type` from the dynamic client registration request.";
    NoRefreshGrantType = "no-refresh-grant-type",
        "Registers with `grant_types` `[\"authorization_code\"]` only (no `refresh_token`).";
    OfflineAccessAlways = "offline-access-always",
        "Adds `offline_access` to every authorization request's scope, listed by the AS or not.";
    NoScopeUnion = "no-scope-union",
        "On a step-up, requests only the challenged scope, dropping the scope it was granted before.";
    NoReregisterOnAsChange = "no-reregister-on-as-change",
        "After an authorization-server change, reads the new AS's metadata and gives up instead of registering there.";
    CimdClientIdFragment = "cimd-client-id-fragment",
        "Uses the client metadata URL plus `#client` as `client_id`.";
    CimdClientIdNoPath = "cimd-client-id-no-path",
        "Uses the client metadata URL's origin (no path) as `client_id`.";
    CimdRedirectNotListed = "cimd-redirect-not-listed",
        "With CIMD, uses the redirect path `/unlisted-callback`, which its document does not list.";
    ReuseOldRefreshToken = "reuse-old-refresh-token",
        "Keeps using the first refresh token forever instead of the rotated one.";
    CimdDocClientIdMismatch = "cimd-doc-client-id-mismatch",
        "The CIMD document's `client_id` is the document URL plus `/other`.";
    CimdDocMissingClientName = "cimd-doc-missing-client-name",
        "The CIMD document has no `client_name`.";
    CimdDocSharedSecret = "cimd-doc-shared-secret",
        "The CIMD document declares `client_secret_basic` and carries a `client_secret`.";
    CcAuthorizationCode = "cc-authorization-code",
        "Given client credentials (extension client-credentials), runs the authorization code flow instead of the `client_credentials` grant.";
    CcWrongAssertionType = "cc-wrong-assertion-type",
        "Sends `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:saml2-bearer` with its JWT client assertion.";
    CcAssertionWrongKey = "cc-assertion-wrong-key",
        "Signs its JWT client assertion with a key of its own instead of the one in the context.";
    CcAssertionIssNotClient = "cc-assertion-iss-not-client",
        "Puts its client name, not the `client_id`, in the client assertion's `iss` and `sub`.";
    CcAssertionAudTokenEndpoint = "cc-assertion-aud-token-endpoint",
        "Puts the token endpoint URL, not the issuer, in the client assertion's `aud`.";
    CcStaticJti = "cc-static-jti",
        "Reuses one `jti` for every client assertion of the run.";
    EmaIdTokenAsAssertion = "ema-id-token-as-assertion",
        "Skips the token exchange at the IdP and presents the IdP's ID token itself to the AS's jwt-bearer grant.";
    EmaExchangeAudienceResource = "ema-exchange-audience-resource",
        "Asks the IdP for an ID-JAG whose `audience` is the MCP resource instead of the AS issuer.";
    WifUsesExpiredJwt = "wif-uses-expired-jwt",
        "Presents the context's `expired_jwt` instead of `valid_jwt`.";
    WifRetryAfterRefusal = "wif-retry-after-refusal",
        "Retries the jwt-bearer grant once with the same assertion after the AS refused it.";
    WifFallbackToAuthorizationCode = "wif-fallback-to-authorization-code",
        "After the AS refused its workload JWT, falls back to the authorization code flow.";
    DpopNoTokenProof = "dpop-no-token-proof",
        "Sends no DPoP proof with its token requests although the AS advertises DPoP (gets a Bearer token).";
    DpopBearerScheme = "dpop-bearer-scheme",
        "Presents its DPoP-bound token with `Authorization: Bearer` (the proof still sent).";
    DpopReuseProof = "dpop-reuse-proof",
        "Sends its first MCP request's DPoP proof again with every later request (same `jti`).";
    DpopIgnoreAsNonce = "dpop-ignore-as-nonce",
        "Does not retry a token request answered `use_dpop_nonce` with the AS's nonce.";
    DpopIgnoreRsNonce = "dpop-ignore-rs-nonce",
        "Does not retry an MCP request answered `use_dpop_nonce` with the server's nonce.";
    MarchDefaultPathsOnly = "march-default-paths-only",
        "Under 2025-03-26, fetches the MCP origin's authorization server metadata but ignores its endpoints and uses `/authorize`, `/token` and `/register`.";
    NoMarchDefaultEndpoints = "no-march-default-endpoints",
        "Under 2025-03-26, gives up when the MCP origin serves no authorization server metadata instead of using the default endpoints.";
    AcceptAnyCertificate = "accept-any-certificate",
        "Accepts any TLS certificate (any chain, any host name) from every server.";
}

/// `Option<ClientDefect>` helper: is exactly this defect switched on?
pub(crate) trait DefectExt {
    fn is(self, defect: ClientDefect) -> bool;
}

impl DefectExt for Option<ClientDefect> {
    fn is(self, defect: ClientDefect) -> bool {
        self == Some(defect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &d in ClientDefect::ALL {
            assert!(seen.insert(d.name()), "duplicate name {d}");
            assert_eq!(d.name().parse::<ClientDefect>(), Ok(d));
            assert!(!d.description().is_empty());
        }
        assert_eq!(ClientDefect::ALL.len(), 83);
    }

    #[test]
    fn unknown_name_lists_valid_names() {
        let err = "nope".parse::<ClientDefect>().unwrap_err();
        assert!(err.to_string().contains("no-pkce"));
    }
}
