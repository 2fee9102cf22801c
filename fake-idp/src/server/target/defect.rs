//! [`AsDefect`]: the one protection each defective reference AS turns off.

mcp_auth_defects::defects! {
    /// One protection of the reference AS turned off (kebab-case names, see [`AsDefect::name`]).
    /// The compliant target has none; each defect opens exactly one hole.
    pub enum AsDefect;
    /// An unknown AS defect name; the message lists the valid ones.
    error UnknownAsDefect("AS defect");

    MetadataWrongIssuer = "metadata-wrong-issuer",
        "metadata `issuer` is the issuer plus a trailing `/`";
    MetadataMissingTokenEndpoint = "metadata-missing-token-endpoint",
        "metadata omits `token_endpoint`";
    MetadataNoPkceMethods = "metadata-no-pkce-methods",
        "metadata omits `code_challenge_methods_supported`";
    MetadataNoCimdFlag = "metadata-no-cimd-flag",
        "metadata omits `client_id_metadata_document_supported` (CIMD still works)";
    MetadataInsecureEndpoint = "metadata-insecure-endpoint",
        "`registration_endpoint` advertised on `http://as.conformance.test:<port>`";
    PlainHttpTokenEndpoint = "plain-http-token-endpoint",
        "also serves the AS on a second, plain-http loopback listener and advertises its `/token` as `token_endpoint` (tokens issued over http; visible under `--tls-profile strict`, where the issuer is https)";
    MetadataEmptyArray = "metadata-empty-array",
        "metadata carries `\"acr_values_supported\": []`";
    MetadataWrongContentType = "metadata-wrong-content-type",
        "metadata served as `text/plain`";
    IssNotAdvertised = "iss-not-advertised",
        "`authorization_response_iss_parameter_supported` omitted while `iss` is still sent";
    PrefixRedirectMatch = "prefix-redirect-match",
        "a redirect URI is accepted when it starts with a registered one";
    CaseInsensitiveRedirectMatch = "case-insensitive-redirect-match",
        "redirect URIs compared lowercased, trailing slash ignored";
    RedirectHostNotChecked = "redirect-host-not-checked",
        "redirect URIs compared on scheme and path only (host and userinfo ignored)";
    RedirectOnInvalidRedirectUri = "redirect-on-invalid-redirect-uri",
        "a mismatched redirect URI, or an unknown client, gets an error redirect instead of an error page";
    PkceOptional = "pkce-optional",
        "`code_challenge` is not required";
    AcceptPlainPkce = "accept-plain-pkce",
        "`code_challenge_method=plain` accepted (and verified as plain)";
    AcceptUnknownPkceMethod = "accept-unknown-pkce-method",
        "any `code_challenge_method` accepted, treated as S256";
    AllowImplicit = "allow-implicit",
        "`response_type=token` answered with an access token in the fragment";
    RejectUnknownParams = "reject-unknown-params",
        "an unknown authorization parameter gets `invalid_request`";
    CorsOnAuthorize = "cors-on-authorize",
        "`Access-Control-Allow-Origin: *` on `/authorize`, OPTIONS preflight answered";
    LoginRedirect307 = "login-redirect-307",
        "the login form POST (federating to an upstream IdP: the consent POST) is answered with 307";
    CodeWithoutLogin = "code-without-login",
        "form login: no session skips the login page straight to consent";
    AcceptInvalidResource = "accept-invalid-resource",
        "a relative or fragment `resource` is accepted";
    NoIssInError = "no-iss-in-error",
        "error redirects lack `iss`";
    NoIss = "no-iss",
        "no authorization response carries `iss`, and the metadata does not advertise it";
    ChallengeInCode = "challenge-in-code",
        "the code is the `code_challenge` plus `.` plus random";
    AllowCodeReplay = "allow-code-replay",
        "a code can be redeemed more than once";
    NoRevokeOnReplay = "no-revoke-on-replay",
        "a code replay is refused but the first tokens stay valid";
    RevokeOnBadReplay = "revoke-on-bad-replay",
        "a replay with a wrong verifier revokes the first tokens";
    AcceptWrongVerifier = "accept-wrong-verifier",
        "any non-empty `code_verifier` accepted";
    AcceptMissingVerifier = "accept-missing-verifier",
        "a missing `code_verifier` accepted";
    CodeNotBoundToClient = "code-not-bound-to-client",
        "a code is redeemable by another client";
    IgnoreTokenRedirectUri = "ignore-token-redirect-uri",
        "the token request's `redirect_uri` is not compared";
    TokenResponseCacheable = "token-response-cacheable",
        "token responses lack `Cache-Control: no-store`";
    BasicFailureWithoutChallenge = "basic-failure-without-challenge",
        "failed Basic client auth answers 400 without `WWW-Authenticate`";
    ConfidentialWithoutAuth = "confidential-without-auth",
        "a confidential client may redeem without credentials";
    OmitGrantedScope = "omit-granted-scope",
        "token responses never carry `scope`, even when it differs from the request";
    LongLivedTokens = "long-lived-tokens",
        "access tokens live 86400 s";
    IgnoreResource = "ignore-resource",
        "`aud` is the issuer's default audience, not the requested resource";
    AtWithoutTyp = "at-without-typ",
        "access tokens carry `typ: JWT` instead of `at+jwt`";
    NoRefreshRotation = "no-refresh-rotation",
        "refresh returns the same refresh token, which stays valid";
    NoRefreshReplayDetection = "no-refresh-replay-detection",
        "refresh rotates but a replayed old token does not revoke the family";
    RefreshNotBoundToClient = "refresh-not-bound-to-client",
        "a refresh token is usable by another client";
    RefreshScopeEscalation = "refresh-scope-escalation",
        "refresh grants scope beyond the original grant";
    RefreshResourceChange = "refresh-resource-change",
        "refresh accepts a resource not originally granted";
    NoCimd = "no-cimd",
        "URL client ids are treated as unknown clients";
    SkipCimdClientIdCheck = "skip-cimd-client-id-check",
        "the document's `client_id` is not compared with its URL";
    SkipCimdRedirectCheck = "skip-cimd-redirect-check",
        "a CIMD client's redirect URI is not checked against the document";
    AcceptInvalidCimd = "accept-invalid-cimd",
        "an invalid document (not JSON, not an object, missing fields) yields a public client";
    NeverCacheCimd = "never-cache-cimd",
        "CIMD documents are fetched on every flow, whatever `max-age` says";
    CacheInvalidCimd = "cache-invalid-cimd",
        "the first CIMD fetch result, even an error, is cached for 10 minutes";
    ProceedOnCimdFetchFailure = "proceed-on-cimd-fetch-failure",
        "a failed CIMD fetch yields a public client allowing the requested redirect";
    CimdSsrf = "cimd-ssrf",
        "CIMD URLs on loopback IP literals are fetched";
    CimdHttpClientId = "cimd-http-client-id",
        "`http://` client ids are fetched as CIMD";
    CimdLenientUrl = "cimd-lenient-url",
        "CIMD URLs with a fragment, userinfo, dot segments or no path are accepted";
    CimdNoSizeLimit = "cimd-no-size-limit",
        "CIMD documents up to 2 MiB are read (no 5 KiB cap)";
    CimdHonourSharedSecret = "cimd-honour-shared-secret",
        "a document's `client_secret` makes a confidential client authenticated with it";
    CimdAcceptHttpRedirect = "cimd-accept-http-redirect",
        "a CIMD document's `redirect_uris` need not be https or loopback http (an http URI off loopback is accepted and redirected to)";
    DcrStatus200 = "dcr-status-200",
        "dynamic registration answers 200 instead of 201";
    DcrAcceptAnyRedirect = "dcr-accept-any-redirect",
        "dynamic registration accepts any redirect URI";
    NoMetadata = "no-metadata",
        "no metadata document at any well-known location";
    AuthorizePostOnly = "authorize-post-only",
        "the authorization endpoint answers GET with 405";
    DropState = "drop-state",
        "authorization responses carry no state";
    ExchangeAcceptsExpiredSubject = "exchange-accepts-expired-subject",
        "token exchange accepts a dead subject token: expired or revoked";
    ExchangeIgnoresSubjectAudience = "exchange-ignores-subject-audience",
        "token exchange accepts a subject token for a resource the actor does not serve";
    ExchangeScopeEscalation = "exchange-scope-escalation",
        "token exchange grants the requested scope even beyond the subject token's";
    ExchangeNoActorClaim = "exchange-no-actor-claim",
        "exchanged tokens omit the `act` claim";
    ExchangeWithoutClientAuth = "exchange-without-client-auth",
        "token exchange accepts a request without client authentication";
    ExchangeAcceptsForgedSubject = "exchange-accepts-forged-subject",
        "token exchange does not verify the subject token's signature";
    AssertionTokenIgnoresResource = "assertion-token-ignores-resource",
        "tokens of the JWT-assertion grants (jwt-bearer, private_key_jwt client credentials) have `aud` = the issuer's default audience, not the requested resource";
    WifAcceptWrongAudience = "wif-accept-wrong-audience",
        "a workload JWT whose `aud` is not this issuer is accepted";
    WifAcceptExpired = "wif-accept-expired",
        "an expired workload JWT is accepted";
    WifAcceptReplayedJti = "wif-accept-replayed-jti",
        "a workload JWT is accepted again (its `jti` is not remembered)";
    WifAcceptUntrustedKey = "wif-accept-untrusted-key",
        "a workload JWT signed by an untrusted key is accepted (the signature is not verified)";
    WifAcceptMissingExp = "wif-accept-missing-exp",
        "a workload JWT without `exp` is accepted";
    WifAcceptMissingJti = "wif-accept-missing-jti",
        "a workload JWT without `jti` is accepted";
    WifAcceptAlgNone = "wif-accept-alg-none",
        "an unsigned (`alg: none`) workload JWT is accepted";
    JagAcceptWrongAudience = "jag-accept-wrong-audience",
        "an ID-JAG whose `aud` is not this issuer is accepted";
    JagAcceptExpired = "jag-accept-expired",
        "an expired ID-JAG is accepted";
    JagAcceptReplayedJti = "jag-accept-replayed-jti",
        "an ID-JAG is accepted again (its `jti` is not remembered)";
    JagAcceptUntrustedSigner = "jag-accept-untrusted-signer",
        "an ID-JAG signed by an untrusted key is accepted (the signature is not verified)";
    JagAcceptWrongTyp = "jag-accept-wrong-typ",
        "an ID-JAG whose `typ` is not `oauth-id-jag+jwt` is accepted";
    JagAcceptOtherClient = "jag-accept-other-client",
        "an ID-JAG issued for another `client_id` is accepted from the authenticating client";
    JagIgnoreResourceMismatch = "jag-ignore-resource-mismatch",
        "an ID-JAG for one resource yields a token for the other resource the token request names";
    CcAcceptWrongAudience = "cc-accept-wrong-audience",
        "a `private_key_jwt` client assertion whose `aud` is not this issuer authenticates the client";
    CcAcceptExpiredAssertion = "cc-accept-expired-assertion",
        "an expired `private_key_jwt` client assertion authenticates the client";
    CcAcceptReplayedJti = "cc-accept-replayed-jti",
        "a `private_key_jwt` client assertion authenticates the client again (its `jti` is not remembered)";
    CcAcceptUntrustedKey = "cc-accept-untrusted-key",
        "a client assertion signed by a key the client did not register authenticates the client";
    CcAcceptMismatchedSubject = "cc-accept-mismatched-subject",
        "a client assertion whose `iss`/`sub` is not the client authenticates the client";
    FedAcceptUnsigned = "fed-accept-unsigned",
        "upstream IdP login: an unsigned (`alg: none`) ID token is accepted";
    FedSkipSignatureCheck = "fed-skip-signature-check",
        "upstream IdP login: an RS256 ID token's signature is not verified against the IdP's JWKS";
    FedIssNotChecked = "fed-iss-not-checked",
        "upstream IdP login: the ID token's `iss` is not compared with the IdP's issuer";
    FedAudNotChecked = "fed-aud-not-checked",
        "upstream IdP login: the ID token's `aud` is not compared with the AS's client id";
    FedNonceOptional = "fed-nonce-optional",
        "upstream IdP login: an ID token without `nonce` is accepted (a present one is still compared)";
    FedNonceNotMatched = "fed-nonce-not-matched",
        "upstream IdP login: any `nonce` value is accepted (a missing one is still refused)";
    FedExpNotChecked = "fed-exp-not-checked",
        "upstream IdP login: an expired ID token is accepted";
    FedStateOptional = "fed-state-optional",
        "upstream IdP login: a callback without `state` is accepted (a present one is still compared)";
    FedStateNotMatched = "fed-state-not-matched",
        "upstream IdP login: any callback `state` is accepted (a missing one is still refused)";
    FedTrustsUnverifiedEmail = "fed-trusts-unverified-email",
        "upstream IdP login: an identity with `email_verified: false` is mapped to the user with that e-mail";
    FedPassesIdpToken = "fed-passes-idp-token",
        "upstream IdP login: the token response carries the IdP's ID token as `id_token`";
    PrxNoConsent = "prx-no-consent",
        "OAuth proxy: `/authorize` redirects to the upstream IdP at once, without the proxy's own consent page";
    PrxConsentNotPerClient = "prx-consent-not-per-client",
        "OAuth proxy: the remembered-consent cookie says \"approved\" without naming the client, so any client skips the consent page";
    PrxConsentFrameable = "prx-consent-frameable",
        "OAuth proxy: the consent page has neither `X-Frame-Options` nor CSP `frame-ancestors`";
    PrxConsentNoCsrf = "prx-consent-no-csrf",
        "OAuth proxy: the consent form's CSRF token is not bound to the browser (its cookie is not compared)";
    PrxConsentAnonymous = "prx-consent-anonymous",
        "OAuth proxy: the consent page does not show the redirect URI";
    PrxConsentCookieWeak = "prx-consent-cookie-weak",
        "OAuth proxy: the remembered-consent cookie has no `HttpOnly` and no `__Host-` prefix";
    PrxRedirectPrefixMatch = "prx-redirect-prefix-match",
        "OAuth proxy: a redirect URI is accepted when it starts with a registered one";
    PrxStateReusable = "prx-state-reusable",
        "OAuth proxy: the upstream `state` (and its transaction) stays valid after the IdP callback used it";
    PrxStateBeforeConsent = "prx-state-before-consent",
        "OAuth proxy: the upstream `state` is the parked request id shown on the consent page, opened at `/authorize`, and the IdP callback accepts it without the approval or the binding cookie";
    DpopUnboundToken = "dpop-unbound-token",
        "a token request with a valid DPoP proof gets a Bearer token without `cnf.jkt`";
    DpopSkipSignature = "dpop-skip-signature",
        "the token endpoint does not verify a DPoP proof's signature";
    DpopSkipHtm = "dpop-skip-htm",
        "the token endpoint does not compare a DPoP proof's `htm`";
    DpopSkipHtu = "dpop-skip-htu",
        "the token endpoint does not compare a DPoP proof's `htu`";
    DpopSkipIat = "dpop-skip-iat",
        "the token endpoint accepts a DPoP proof of any age";
    DpopAllowReplay = "dpop-allow-replay",
        "the token endpoint keeps no DPoP `jti` replay cache";
    DpopAcceptPrivateKey = "dpop-accept-private-key",
        "the token endpoint accepts a DPoP proof whose `jwk` carries private members";
    DpopAcceptWeakAlg = "dpop-accept-weak-alg",
        "the token endpoint accepts DPoP proofs with `alg: none` or HS256 (unverified)";
    DpopRefreshNotBound = "dpop-refresh-not-bound",
        "a public client's DPoP-bound refresh token is refreshed with a proof by any key";
    DpopNonceUnchecked = "dpop-nonce-unchecked",
        "the token endpoint demands a DPoP nonce but accepts any nonce value";
    CcPublicClient = "cc-public-client",
        "the client_credentials grant issues tokens to public clients (no client authentication)";
    CcAnyScope = "cc-any-scope",
        "the client_credentials grant grants any requested scope (the client's allowed scopes are ignored)";
    CcIgnoreResource = "cc-ignore-resource",
        "client_credentials tokens carry the default audience, not the requested `resource`";
    CcRefreshToken = "cc-refresh-token",
        "the client_credentials grant also issues a refresh token";
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let names: HashSet<&str> = AsDefect::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(names.len(), AsDefect::ALL.len());
        for &defect in AsDefect::ALL {
            assert_eq!(defect.name().parse::<AsDefect>(), Ok(defect));
            assert_eq!(defect.to_string(), defect.name());
            assert!(!defect.description().is_empty());
        }
    }

    #[test]
    fn unknown_name_lists_the_known_ones() {
        let err = "no-such-defect".parse::<AsDefect>().unwrap_err();
        let message = err.to_string();
        assert!(message.contains("no-such-defect"));
        assert!(message.contains("pkce-optional"));
        assert!(message.contains("dcr-accept-any-redirect"));
    }
}
