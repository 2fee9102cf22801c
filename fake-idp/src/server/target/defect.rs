//! [`AsDefect`]: the one protection each defective reference AS turns off.

use std::fmt;
use std::str::FromStr;

/// One protection of the reference AS turned off (kebab-case names, see [`AsDefect::name`]).
/// The compliant target has none; each defect opens exactly one hole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsDefect {
    /// Metadata `issuer` is the issuer plus a trailing `/`.
    MetadataWrongIssuer,
    /// Metadata omits `token_endpoint`.
    MetadataMissingTokenEndpoint,
    /// Metadata omits `code_challenge_methods_supported`.
    MetadataNoPkceMethods,
    /// Metadata omits `client_id_metadata_document_supported` (CIMD still works).
    MetadataNoCimdFlag,
    /// `registration_endpoint` advertised on `http://as.conformance.test:<port>`.
    MetadataInsecureEndpoint,
    /// Metadata carries `"acr_values_supported": []`.
    MetadataEmptyArray,
    /// Metadata served as `text/plain`.
    MetadataWrongContentType,
    /// `authorization_response_iss_parameter_supported` omitted while `iss` is still sent.
    IssNotAdvertised,
    /// A redirect URI is accepted when it starts with a registered one.
    PrefixRedirectMatch,
    /// Redirect URIs compared lowercased, trailing slash ignored.
    CaseInsensitiveRedirectMatch,
    /// Redirect URIs compared on scheme and path only (host and userinfo ignored).
    RedirectHostNotChecked,
    /// A mismatched redirect URI, or an unknown client, gets an error redirect instead of an error page.
    RedirectOnInvalidRedirectUri,
    /// `code_challenge` is not required.
    PkceOptional,
    /// `code_challenge_method=plain` accepted (and verified as plain).
    AcceptPlainPkce,
    /// Any `code_challenge_method` accepted, treated as S256.
    AcceptUnknownPkceMethod,
    /// `response_type=token` answered with an access token in the fragment.
    AllowImplicit,
    /// An unknown authorization parameter gets `invalid_request`.
    RejectUnknownParams,
    /// `Access-Control-Allow-Origin: *` on `/authorize`, OPTIONS preflight answered.
    CorsOnAuthorize,
    /// The login form POST is answered with 307.
    LoginRedirect307,
    /// Form login: no session skips the login page straight to consent.
    CodeWithoutLogin,
    /// A relative or fragment `resource` is accepted.
    AcceptInvalidResource,
    /// Error redirects lack `iss`.
    NoIssInError,
    /// The code is the `code_challenge` plus `.` plus random.
    ChallengeInCode,
    /// A code can be redeemed more than once.
    AllowCodeReplay,
    /// A code replay is refused but the first tokens stay valid.
    NoRevokeOnReplay,
    /// A replay with a wrong verifier revokes the first tokens.
    RevokeOnBadReplay,
    /// Any non-empty `code_verifier` accepted.
    AcceptWrongVerifier,
    /// A missing `code_verifier` accepted.
    AcceptMissingVerifier,
    /// A code is redeemable by another client.
    CodeNotBoundToClient,
    /// The token request's `redirect_uri` is not compared.
    IgnoreTokenRedirectUri,
    /// Token responses lack `Cache-Control: no-store`.
    TokenResponseCacheable,
    /// Failed Basic client auth answers 400 without `WWW-Authenticate`.
    BasicFailureWithoutChallenge,
    /// A confidential client may redeem without credentials.
    ConfidentialWithoutAuth,
    /// Token responses never carry `scope`, even when it differs from the request.
    OmitGrantedScope,
    /// Access tokens live 86400 s.
    LongLivedTokens,
    /// `aud` is the issuer's default audience, not the requested resource.
    IgnoreResource,
    /// Access tokens carry `typ: JWT` instead of `at+jwt`.
    AtWithoutTyp,
    /// Refresh returns the same refresh token, which stays valid.
    NoRefreshRotation,
    /// Refresh rotates but a replayed old token does not revoke the family.
    NoRefreshReplayDetection,
    /// A refresh token is usable by another client.
    RefreshNotBoundToClient,
    /// Refresh grants scope beyond the original grant.
    RefreshScopeEscalation,
    /// Refresh accepts a resource not originally granted.
    RefreshResourceChange,
    /// URL client ids are treated as unknown clients.
    NoCimd,
    /// The document's `client_id` is not compared with its URL.
    SkipCimdClientIdCheck,
    /// A CIMD client's redirect URI is not checked against the document.
    SkipCimdRedirectCheck,
    /// An invalid document (not JSON, not an object, missing fields) yields a public client.
    AcceptInvalidCimd,
    /// CIMD documents are fetched on every flow, whatever `max-age` says.
    NeverCacheCimd,
    /// The first CIMD fetch result, even an error, is cached for 10 minutes.
    CacheInvalidCimd,
    /// A failed CIMD fetch yields a public client allowing the requested redirect.
    ProceedOnCimdFetchFailure,
    /// CIMD URLs on loopback IP literals are fetched.
    CimdSsrf,
    /// `http://` client ids are fetched as CIMD.
    CimdHttpClientId,
    /// CIMD URLs with a fragment, userinfo, dot segments or no path are accepted.
    CimdLenientUrl,
    /// CIMD documents up to 2 MiB are read (no 5 KiB cap).
    CimdNoSizeLimit,
    /// A document's `client_secret` makes a confidential client authenticated with it.
    CimdHonourSharedSecret,
    /// Dynamic registration answers 200 instead of 201.
    DcrStatus200,
    /// Dynamic registration accepts any redirect URI.
    DcrAcceptAnyRedirect,
    /// No metadata document at any well-known location (404).
    NoMetadata,
    /// `/authorize` answers GET with 405 (POST only).
    AuthorizePostOnly,
    /// Authorization responses carry no `state`.
    DropState,
    /// Token exchange accepts an expired subject token.
    ExchangeAcceptsExpiredSubject,
    /// Token exchange accepts a subject token for a resource the actor does not serve.
    ExchangeIgnoresSubjectAudience,
    /// Token exchange grants the requested scope even beyond the subject token's.
    ExchangeScopeEscalation,
    /// Exchanged tokens omit the `act` claim.
    ExchangeNoActorClaim,
    /// Token exchange accepts a request without client authentication.
    ExchangeWithoutClientAuth,
    /// Token exchange decodes the subject token without verifying its signature.
    ExchangeAcceptsForgedSubject,
}

impl AsDefect {
    /// Every defect, in catalogue order.
    pub const ALL: [AsDefect; 65] = [
        AsDefect::MetadataWrongIssuer,
        AsDefect::MetadataMissingTokenEndpoint,
        AsDefect::MetadataNoPkceMethods,
        AsDefect::MetadataNoCimdFlag,
        AsDefect::MetadataInsecureEndpoint,
        AsDefect::MetadataEmptyArray,
        AsDefect::MetadataWrongContentType,
        AsDefect::IssNotAdvertised,
        AsDefect::PrefixRedirectMatch,
        AsDefect::CaseInsensitiveRedirectMatch,
        AsDefect::RedirectHostNotChecked,
        AsDefect::RedirectOnInvalidRedirectUri,
        AsDefect::PkceOptional,
        AsDefect::AcceptPlainPkce,
        AsDefect::AcceptUnknownPkceMethod,
        AsDefect::AllowImplicit,
        AsDefect::RejectUnknownParams,
        AsDefect::CorsOnAuthorize,
        AsDefect::LoginRedirect307,
        AsDefect::CodeWithoutLogin,
        AsDefect::AcceptInvalidResource,
        AsDefect::NoIssInError,
        AsDefect::ChallengeInCode,
        AsDefect::AllowCodeReplay,
        AsDefect::NoRevokeOnReplay,
        AsDefect::RevokeOnBadReplay,
        AsDefect::AcceptWrongVerifier,
        AsDefect::AcceptMissingVerifier,
        AsDefect::CodeNotBoundToClient,
        AsDefect::IgnoreTokenRedirectUri,
        AsDefect::TokenResponseCacheable,
        AsDefect::BasicFailureWithoutChallenge,
        AsDefect::ConfidentialWithoutAuth,
        AsDefect::OmitGrantedScope,
        AsDefect::LongLivedTokens,
        AsDefect::IgnoreResource,
        AsDefect::AtWithoutTyp,
        AsDefect::NoRefreshRotation,
        AsDefect::NoRefreshReplayDetection,
        AsDefect::RefreshNotBoundToClient,
        AsDefect::RefreshScopeEscalation,
        AsDefect::RefreshResourceChange,
        AsDefect::NoCimd,
        AsDefect::SkipCimdClientIdCheck,
        AsDefect::SkipCimdRedirectCheck,
        AsDefect::AcceptInvalidCimd,
        AsDefect::NeverCacheCimd,
        AsDefect::CacheInvalidCimd,
        AsDefect::ProceedOnCimdFetchFailure,
        AsDefect::CimdSsrf,
        AsDefect::CimdHttpClientId,
        AsDefect::CimdLenientUrl,
        AsDefect::CimdNoSizeLimit,
        AsDefect::CimdHonourSharedSecret,
        AsDefect::DcrStatus200,
        AsDefect::DcrAcceptAnyRedirect,
        AsDefect::NoMetadata,
        AsDefect::AuthorizePostOnly,
        AsDefect::DropState,
        AsDefect::ExchangeAcceptsExpiredSubject,
        AsDefect::ExchangeIgnoresSubjectAudience,
        AsDefect::ExchangeScopeEscalation,
        AsDefect::ExchangeNoActorClaim,
        AsDefect::ExchangeWithoutClientAuth,
        AsDefect::ExchangeAcceptsForgedSubject,
    ];

    /// The kebab-case name (what `--defect` takes).
    pub fn name(self) -> &'static str {
        match self {
            AsDefect::MetadataWrongIssuer => "metadata-wrong-issuer",
            AsDefect::MetadataMissingTokenEndpoint => "metadata-missing-token-endpoint",
            AsDefect::MetadataNoPkceMethods => "metadata-no-pkce-methods",
            AsDefect::MetadataNoCimdFlag => "metadata-no-cimd-flag",
            AsDefect::MetadataInsecureEndpoint => "metadata-insecure-endpoint",
            AsDefect::MetadataEmptyArray => "metadata-empty-array",
            AsDefect::MetadataWrongContentType => "metadata-wrong-content-type",
            AsDefect::IssNotAdvertised => "iss-not-advertised",
            AsDefect::PrefixRedirectMatch => "prefix-redirect-match",
            AsDefect::CaseInsensitiveRedirectMatch => "case-insensitive-redirect-match",
            AsDefect::RedirectHostNotChecked => "redirect-host-not-checked",
            AsDefect::RedirectOnInvalidRedirectUri => "redirect-on-invalid-redirect-uri",
            AsDefect::PkceOptional => "pkce-optional",
            AsDefect::AcceptPlainPkce => "accept-plain-pkce",
            AsDefect::AcceptUnknownPkceMethod => "accept-unknown-pkce-method",
            AsDefect::AllowImplicit => "allow-implicit",
            AsDefect::RejectUnknownParams => "reject-unknown-params",
            AsDefect::CorsOnAuthorize => "cors-on-authorize",
            AsDefect::LoginRedirect307 => "login-redirect-307",
            AsDefect::CodeWithoutLogin => "code-without-login",
            AsDefect::AcceptInvalidResource => "accept-invalid-resource",
            AsDefect::NoIssInError => "no-iss-in-error",
            AsDefect::ChallengeInCode => "challenge-in-code",
            AsDefect::AllowCodeReplay => "allow-code-replay",
            AsDefect::NoRevokeOnReplay => "no-revoke-on-replay",
            AsDefect::RevokeOnBadReplay => "revoke-on-bad-replay",
            AsDefect::AcceptWrongVerifier => "accept-wrong-verifier",
            AsDefect::AcceptMissingVerifier => "accept-missing-verifier",
            AsDefect::CodeNotBoundToClient => "code-not-bound-to-client",
            AsDefect::IgnoreTokenRedirectUri => "ignore-token-redirect-uri",
            AsDefect::TokenResponseCacheable => "token-response-cacheable",
            AsDefect::BasicFailureWithoutChallenge => "basic-failure-without-challenge",
            AsDefect::ConfidentialWithoutAuth => "confidential-without-auth",
            AsDefect::OmitGrantedScope => "omit-granted-scope",
            AsDefect::LongLivedTokens => "long-lived-tokens",
            AsDefect::IgnoreResource => "ignore-resource",
            AsDefect::AtWithoutTyp => "at-without-typ",
            AsDefect::NoRefreshRotation => "no-refresh-rotation",
            AsDefect::NoRefreshReplayDetection => "no-refresh-replay-detection",
            AsDefect::RefreshNotBoundToClient => "refresh-not-bound-to-client",
            AsDefect::RefreshScopeEscalation => "refresh-scope-escalation",
            AsDefect::RefreshResourceChange => "refresh-resource-change",
            AsDefect::NoCimd => "no-cimd",
            AsDefect::SkipCimdClientIdCheck => "skip-cimd-client-id-check",
            AsDefect::SkipCimdRedirectCheck => "skip-cimd-redirect-check",
            AsDefect::AcceptInvalidCimd => "accept-invalid-cimd",
            AsDefect::NeverCacheCimd => "never-cache-cimd",
            AsDefect::CacheInvalidCimd => "cache-invalid-cimd",
            AsDefect::ProceedOnCimdFetchFailure => "proceed-on-cimd-fetch-failure",
            AsDefect::CimdSsrf => "cimd-ssrf",
            AsDefect::CimdHttpClientId => "cimd-http-client-id",
            AsDefect::CimdLenientUrl => "cimd-lenient-url",
            AsDefect::CimdNoSizeLimit => "cimd-no-size-limit",
            AsDefect::CimdHonourSharedSecret => "cimd-honour-shared-secret",
            AsDefect::DcrStatus200 => "dcr-status-200",
            AsDefect::DcrAcceptAnyRedirect => "dcr-accept-any-redirect",
            AsDefect::NoMetadata => "no-metadata",
            AsDefect::AuthorizePostOnly => "authorize-post-only",
            AsDefect::DropState => "drop-state",
            AsDefect::ExchangeAcceptsExpiredSubject => "exchange-accepts-expired-subject",
            AsDefect::ExchangeIgnoresSubjectAudience => "exchange-ignores-subject-audience",
            AsDefect::ExchangeScopeEscalation => "exchange-scope-escalation",
            AsDefect::ExchangeNoActorClaim => "exchange-no-actor-claim",
            AsDefect::ExchangeWithoutClientAuth => "exchange-without-client-auth",
            AsDefect::ExchangeAcceptsForgedSubject => "exchange-accepts-forged-subject",
        }
    }

    /// What the defect turns off, in one line.
    pub fn description(self) -> &'static str {
        match self {
            AsDefect::MetadataWrongIssuer => "metadata `issuer` is the issuer plus a trailing `/`",
            AsDefect::MetadataMissingTokenEndpoint => "metadata omits `token_endpoint`",
            AsDefect::MetadataNoPkceMethods => "metadata omits `code_challenge_methods_supported`",
            AsDefect::MetadataNoCimdFlag => "metadata omits `client_id_metadata_document_supported` (CIMD still works)",
            AsDefect::MetadataInsecureEndpoint => "`registration_endpoint` advertised on `http://as.conformance.test:<port>`",
            AsDefect::MetadataEmptyArray => "metadata carries `\"acr_values_supported\": []`",
            AsDefect::MetadataWrongContentType => "metadata served as `text/plain`",
            AsDefect::IssNotAdvertised => "`authorization_response_iss_parameter_supported` omitted while `iss` is still sent",
            AsDefect::PrefixRedirectMatch => "a redirect URI is accepted when it starts with a registered one",
            AsDefect::CaseInsensitiveRedirectMatch => "redirect URIs compared lowercased, trailing slash ignored",
            AsDefect::RedirectHostNotChecked => "redirect URIs compared on scheme and path only (host and userinfo ignored)",
            AsDefect::RedirectOnInvalidRedirectUri => "a mismatched redirect URI, or an unknown client, gets an error redirect instead of an error page",
            AsDefect::PkceOptional => "`code_challenge` is not required",
            AsDefect::AcceptPlainPkce => "`code_challenge_method=plain` accepted (and verified as plain)",
            AsDefect::AcceptUnknownPkceMethod => "any `code_challenge_method` accepted, treated as S256",
            AsDefect::AllowImplicit => "`response_type=token` answered with an access token in the fragment",
            AsDefect::RejectUnknownParams => "an unknown authorization parameter gets `invalid_request`",
            AsDefect::CorsOnAuthorize => "`Access-Control-Allow-Origin: *` on `/authorize`, OPTIONS preflight answered",
            AsDefect::LoginRedirect307 => "the login form POST is answered with 307",
            AsDefect::CodeWithoutLogin => "form login: no session skips the login page straight to consent",
            AsDefect::AcceptInvalidResource => "a relative or fragment `resource` is accepted",
            AsDefect::NoIssInError => "error redirects lack `iss`",
            AsDefect::ChallengeInCode => "the code is the `code_challenge` plus `.` plus random",
            AsDefect::AllowCodeReplay => "a code can be redeemed more than once",
            AsDefect::NoRevokeOnReplay => "a code replay is refused but the first tokens stay valid",
            AsDefect::RevokeOnBadReplay => "a replay with a wrong verifier revokes the first tokens",
            AsDefect::AcceptWrongVerifier => "any non-empty `code_verifier` accepted",
            AsDefect::AcceptMissingVerifier => "a missing `code_verifier` accepted",
            AsDefect::CodeNotBoundToClient => "a code is redeemable by another client",
            AsDefect::IgnoreTokenRedirectUri => "the token request's `redirect_uri` is not compared",
            AsDefect::TokenResponseCacheable => "token responses lack `Cache-Control: no-store`",
            AsDefect::BasicFailureWithoutChallenge => "failed Basic client auth answers 400 without `WWW-Authenticate`",
            AsDefect::ConfidentialWithoutAuth => "a confidential client may redeem without credentials",
            AsDefect::OmitGrantedScope => "token responses never carry `scope`, even when it differs from the request",
            AsDefect::LongLivedTokens => "access tokens live 86400 s",
            AsDefect::IgnoreResource => "`aud` is the issuer's default audience, not the requested resource",
            AsDefect::AtWithoutTyp => "access tokens carry `typ: JWT` instead of `at+jwt`",
            AsDefect::NoRefreshRotation => "refresh returns the same refresh token, which stays valid",
            AsDefect::NoRefreshReplayDetection => "refresh rotates but a replayed old token does not revoke the family",
            AsDefect::RefreshNotBoundToClient => "a refresh token is usable by another client",
            AsDefect::RefreshScopeEscalation => "refresh grants scope beyond the original grant",
            AsDefect::RefreshResourceChange => "refresh accepts a resource not originally granted",
            AsDefect::NoCimd => "URL client ids are treated as unknown clients",
            AsDefect::SkipCimdClientIdCheck => "the document's `client_id` is not compared with its URL",
            AsDefect::SkipCimdRedirectCheck => "a CIMD client's redirect URI is not checked against the document",
            AsDefect::AcceptInvalidCimd => "an invalid document (not JSON, not an object, missing fields) yields a public client",
            AsDefect::NeverCacheCimd => "CIMD documents are fetched on every flow, whatever `max-age` says",
            AsDefect::CacheInvalidCimd => "the first CIMD fetch result, even an error, is cached for 10 minutes",
            AsDefect::ProceedOnCimdFetchFailure => "a failed CIMD fetch yields a public client allowing the requested redirect",
            AsDefect::CimdSsrf => "CIMD URLs on loopback IP literals are fetched",
            AsDefect::CimdHttpClientId => "`http://` client ids are fetched as CIMD",
            AsDefect::CimdLenientUrl => "CIMD URLs with a fragment, userinfo, dot segments or no path are accepted",
            AsDefect::CimdNoSizeLimit => "CIMD documents up to 2 MiB are read (no 5 KiB cap)",
            AsDefect::CimdHonourSharedSecret => "a document's `client_secret` makes a confidential client authenticated with it",
            AsDefect::DcrStatus200 => "dynamic registration answers 200 instead of 201",
            AsDefect::DcrAcceptAnyRedirect => "dynamic registration accepts any redirect URI",
            AsDefect::NoMetadata => "no metadata document at any well-known location",
            AsDefect::AuthorizePostOnly => "the authorization endpoint answers GET with 405",
            AsDefect::DropState => "authorization responses carry no state",
            AsDefect::ExchangeAcceptsExpiredSubject => "token exchange accepts a dead subject token: expired or revoked",
            AsDefect::ExchangeIgnoresSubjectAudience => "token exchange accepts a subject token for a resource the actor does not serve",
            AsDefect::ExchangeScopeEscalation => "token exchange grants the requested scope even beyond the subject token's",
            AsDefect::ExchangeNoActorClaim => "exchanged tokens omit the `act` claim",
            AsDefect::ExchangeWithoutClientAuth => "token exchange accepts a request without client authentication",
            AsDefect::ExchangeAcceptsForgedSubject => "token exchange does not verify the subject token's signature",
        }
    }
}

impl fmt::Display for AsDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown defect name; the message lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown AS defect `{name}`; known defects: {known}")]
pub struct UnknownAsDefect {
    /// The name given.
    pub name: String,
    known: String,
}

impl FromStr for AsDefect {
    type Err = UnknownAsDefect;

    fn from_str(s: &str) -> Result<AsDefect, UnknownAsDefect> {
        AsDefect::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownAsDefect {
                name: s.to_owned(),
                known: AsDefect::ALL.map(AsDefect::name).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let names: HashSet<&str> = AsDefect::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(names.len(), AsDefect::ALL.len());
        for defect in AsDefect::ALL {
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
