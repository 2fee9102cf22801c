//! What the authorization-server scenarios observed. Checks judge only this record.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::authz::agent::{AuthorizeOutcome, Authorized};
use crate::authz::oauth::{Client, Endpoints, Pkce, TokenResult};
use crate::check::ObsError;
use crate::http::HttpFailure;

/// How the run logs in at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    Auto,
    Form,
    Manual,
}

/// One AS metadata location and what it gave.
#[derive(Debug, Clone)]
pub struct MetadataFetch {
    /// `rfc8414` or `openid`.
    pub kind: &'static str,
    pub url: String,
    pub exchange: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Result<Map<String, Value>, String>,
}

impl MetadataFetch {
    pub fn object(&self) -> Option<&Map<String, Value>> {
        (self.status == 200).then_some(())?;
        self.body.as_ref().ok()
    }
}

/// Metadata discovery at the issuer.
#[derive(Debug, Clone)]
pub struct MetadataObs {
    pub issuer: String,
    pub fetches: Vec<MetadataFetch>,
}

impl MetadataObs {
    /// Every document served.
    pub fn documents(&self) -> impl Iterator<Item = (&MetadataFetch, &Map<String, Value>)> {
        self.fetches
            .iter()
            .filter_map(|f| f.object().map(|o| (f, o)))
    }
}

/// An authorization-code flow: the walk, the code, and its redemption.
#[derive(Debug, Clone)]
pub struct FlowObs {
    pub client: Client,
    pub pkce: Pkce,
    pub state: String,
    pub scope: String,
    pub authorized: Authorized,
    pub token: Option<TokenResult>,
}

impl FlowObs {
    /// The callback parameters, when the walk ended at the client's redirect URI.
    pub fn callback(&self) -> Option<&Vec<(String, String)>> {
        match &self.authorized.outcome {
            AuthorizeOutcome::Callback { params, .. } => Some(params),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<&str> {
        param(self.callback()?, "code")
    }
}

/// A parameter by name.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

mcp_auth_defects::variants! {
    /// Redirect-URI variants of AS-AZ-02 (the registered URI is a loopback `/callback`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum RedirectVariant {
        ExtraPath = "an extra path segment",
        TrailingSlash = "a trailing slash",
        PathCase = "the path in another case",
        AddedQuery = "an added query",
        OtherHost = "another host",
        Userinfo = "the registered host as userinfo before an attacker host",
    }
}

impl RedirectVariant {
    /// The variant of a registered `http://127.0.0.1:<p>/callback`.
    pub fn apply(self, registered: &str) -> String {
        let Ok(u) = url::Url::parse(registered) else {
            return registered.to_owned();
        };
        let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
        let host = u.host_str().unwrap_or("127.0.0.1");
        let path = u.path();
        match self {
            RedirectVariant::ExtraPath => format!("{}://{host}{port}{path}/evil", u.scheme()),
            RedirectVariant::TrailingSlash => format!("{}://{host}{port}{path}/", u.scheme()),
            RedirectVariant::PathCase => {
                format!("{}://{host}{port}{}", u.scheme(), path.to_uppercase())
            }
            RedirectVariant::AddedQuery => format!("{}://{host}{port}{path}?next=evil", u.scheme()),
            RedirectVariant::OtherHost => format!("https://evil.example{path}"),
            RedirectVariant::Userinfo => {
                format!("{}://{host}{port}@evil.example{path}", u.scheme())
            }
        }
    }
}

mcp_auth_defects::variants! {
    /// Stolen-code and binding attacks at the token endpoint.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum CodeAttack {
        MissingVerifier = "the code redeemed without code_verifier (a stolen code)",
        WrongVerifier = "the code redeemed with a random verifier",
        OtherFlowVerifier = "the code redeemed with another flow's verifier",
        ChallengeAsVerifier = "the code redeemed with the challenge itself as verifier",
        OtherClient = "client A's code redeemed by client B",
        OtherRedirectUri = "the code redeemed with a different redirect_uri",
    }
}

/// One attack: the flow that produced the code, then the hostile redemption.
#[derive(Debug, Clone)]
pub struct AttackObs {
    pub flow: FlowObs,
    pub attempt: TokenResult,
}

/// Code replay (AS-TK-01/02) or a replay with a wrong verifier (AS-TK-03).
#[derive(Debug, Clone)]
pub struct ReplayObs {
    pub flow: FlowObs,
    pub replay: TokenResult,
    /// The first grant's refresh token used after the replay.
    pub refresh_after: Option<TokenResult>,
}

/// Refresh rotation and replay detection (AS-RT-01/02).
#[derive(Debug, Clone)]
pub struct RotationObs {
    pub flow: FlowObs,
    pub first_refresh: TokenResult,
    pub replay_old: Option<TokenResult>,
    pub use_new_after_replay: Option<TokenResult>,
}

mcp_auth_defects::variants! {
    /// Refresh attacks (AS-RT-03/04/05).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum RefreshAttack {
        OtherClient,
        ScopeEscalation,
        OtherResource,
    }
}

mcp_auth_defects::variants! {
    /// CIMD cases (AS-CIMD-*).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum CimdCase {
        Honest,
        IdTrailingSlash,
        IdOtherPath,
        IdUppercaseHost,
        IdOtherHost,
        UnlistedRedirect,
        InvalidJson,
        TopLevelArray,
        MissingRedirectUris,
        MissingClientId,
        FetchFails,
        SharedSecret,
        Oversized,
        /// The document lists only an http redirect URI off loopback, and the request uses it (AS-CIMD-17).
        HttpRedirect,
    }
}

/// One CIMD authorization attempt.
#[derive(Debug, Clone)]
pub struct CimdAttempt {
    pub client_id: String,
    pub authorized: Authorized,
    /// Requests the CIMD host saw for this document.
    pub hits: usize,
    /// A token request made with the code, when there was one.
    pub token: Option<TokenResult>,
}

impl CimdAttempt {
    pub fn code(&self) -> Option<&str> {
        match &self.authorized.outcome {
            AuthorizeOutcome::Callback { params, .. } => param(params, "code"),
            _ => None,
        }
    }
}

/// Everything the CIMD scenarios saw.
#[derive(Debug, Clone)]
pub struct CimdObs {
    pub cases: BTreeMap<CimdCase, CimdAttempt>,
    /// Two flows with `Cache-Control: max-age=600`: fetches seen.
    pub cache_fetches: Option<(usize, Vec<String>)>,
    /// First fetch 500, second valid: did the second flow get a code, and how many fetches.
    pub error_then_valid: Option<(CimdAttempt, CimdAttempt)>,
    /// SSRF probes: (client_id, attempt, requests the probe listener saw).
    pub ssrf: Vec<(String, Authorized, usize)>,
    /// Non-https schemes: (client_id, attempt, host hits).
    pub schemes: Vec<(String, Authorized, usize)>,
    /// Malformed URLs: (client_id, attempt, host hits).
    pub malformed: Vec<(String, Authorized, usize)>,
    /// After the oversized document: does a metadata GET still answer quickly (status, exchange)?
    pub responsive_after_oversized: Option<(u16, String)>,
}

/// RFC 8693 token-exchange probes (AS-TX-*).
#[derive(Debug, Clone)]
pub struct ExchangeObs {
    /// The subject token's claims, when it is a JWT.
    pub subject_claims: Option<Value>,
    pub actor_id: String,
    pub valid: TokenResult,
    pub no_client_auth: TokenResult,
    pub forged_subject: TokenResult,
    /// None when the AS advertises no revocation endpoint.
    pub revoked_subject: Option<TokenResult>,
    /// None when no second confidential client could be registered.
    pub other_actor: Option<TokenResult>,
    pub scope_escalation: TokenResult,
    /// The scope the subject token carries.
    pub subject_scope: String,
}

/// A registration request's HTTP status, or why no HTTP answer came.
pub type RegistrationAnswer = Result<u16, HttpFailure>;

/// DCR probes.
#[derive(Debug, Clone)]
pub struct DcrObs {
    /// (status, or why no HTTP answer came; body as JSON; exchange id).
    pub public: (RegistrationAnswer, Option<Value>, String),
    /// (redirect URI; status or failure; body; exchange id).
    pub bad: Vec<(String, RegistrationAnswer, Option<Value>, String)>,
}

/// CORS probes at the authorization endpoint.
#[derive(Debug, Clone)]
pub struct CorsObs {
    pub get: (Option<String>, String),
    pub preflight: (Option<String>, String),
}

/// Everything the authz role observed.
#[derive(Debug)]
pub struct AuthzObservations {
    pub login: LoginKind,
    /// The run's TLS profile: under strict, http is a FAIL even on loopback and AS-TLS-01 is scored.
    pub tls: crate::spec::TlsProfile,
    /// The resource the token requests named (`--resource`): the audience AS-TK-13 and the extensions expect.
    pub resource: String,
    pub metadata: Result<MetadataObs, ObsError>,
    pub endpoints: Result<Endpoints, ObsError>,
    pub happy: Result<FlowObs, ObsError>,
    pub unknown_params: Result<FlowObs, ObsError>,
    pub narrowed_scope: Result<FlowObs, ObsError>,
    pub redirect_variants: BTreeMap<RedirectVariant, Result<(String, Authorized), ObsError>>,
    pub unknown_client: Result<Authorized, ObsError>,
    pub no_challenge: Result<Authorized, ObsError>,
    pub plain: Result<Authorized, ObsError>,
    pub s512: Result<Authorized, ObsError>,
    pub implicit: Result<Authorized, ObsError>,
    pub invalid_resource: Result<Authorized, ObsError>,
    pub fresh_agent: Result<Authorized, ObsError>,
    pub cors: Result<CorsObs, ObsError>,
    pub attacks: BTreeMap<CodeAttack, Result<AttackObs, ObsError>>,
    pub replay: Result<ReplayObs, ObsError>,
    pub bad_replay: Result<ReplayObs, ObsError>,
    pub bad_basic: Result<TokenResult, ObsError>,
    pub confidential_without_auth: Result<TokenResult, ObsError>,
    pub rotation: Result<RotationObs, ObsError>,
    pub refresh_attacks: BTreeMap<RefreshAttack, Result<TokenResult, ObsError>>,
    pub cimd: Result<CimdObs, ObsError>,
    /// When the metadata does not advertise CIMD: one honest CIMD flow anyway (AS-META-06).
    pub cimd_unadvertised: Result<CimdAttempt, ObsError>,
    pub dcr: Result<DcrObs, ObsError>,
    pub exchange: Result<ExchangeObs, ObsError>,
    /// The JWT-assertion probes of the extensions (AS-WIF-*, AS-JAG-*, AS-CC-*).
    pub assertion: crate::authz::scenarios::AssertionObs,
    /// Logins brokered to the suite's upstream IdP, honest and hostile (AS-FED-*).
    pub federation: Result<crate::authz::scenarios::FederationObs, ObsError>,
    /// The AS as an OAuth proxy with a static client at the suite's IdP (AS-PRX-*).
    pub proxy: Result<crate::authz::scenarios::ProxyObs, ObsError>,
    /// DPoP at the token endpoint (`--extension dpop`).
    pub dpop: Result<crate::authz::scenarios::DpopObs, ObsError>,
    /// The client_credentials grant (`--extension client-credentials`).
    pub machine: Result<crate::authz::scenarios::MachineObs, ObsError>,
}

impl AuthzObservations {
    /// Observations where nothing past metadata discovery happened: every later record carries the
    /// discovery error, or "did not run" until the scenarios fill it in.
    pub fn unreached(
        login: LoginKind,
        metadata: Result<MetadataObs, ObsError>,
        endpoints: Result<Endpoints, ObsError>,
    ) -> Self {
        let why = match &endpoints {
            Err(e) => e.clone(),
            Ok(_) => ObsError::Harness("the scenario did not run".into()),
        };
        Self::failed(login, metadata, endpoints, &why)
    }

    /// Observations where every record after discovery is missing for `why`.
    pub fn failed(
        login: LoginKind,
        metadata: Result<MetadataObs, ObsError>,
        endpoints: Result<Endpoints, ObsError>,
        why: &ObsError,
    ) -> Self {
        fn e<T>(why: &ObsError) -> Result<T, ObsError> {
            Err(why.clone())
        }
        AuthzObservations {
            login,
            tls: crate::spec::TlsProfile::Local,
            resource: crate::authz::scenarios::RESOURCE.to_owned(),
            metadata,
            endpoints,
            happy: e(why),
            unknown_params: e(why),
            narrowed_scope: e(why),
            redirect_variants: RedirectVariant::ALL.iter().map(|v| (*v, e(why))).collect(),
            unknown_client: e(why),
            no_challenge: e(why),
            plain: e(why),
            s512: e(why),
            implicit: e(why),
            invalid_resource: e(why),
            fresh_agent: e(why),
            cors: e(why),
            attacks: CodeAttack::ALL.iter().map(|a| (*a, e(why))).collect(),
            replay: e(why),
            bad_replay: e(why),
            bad_basic: e(why),
            confidential_without_auth: e(why),
            rotation: e(why),
            refresh_attacks: RefreshAttack::ALL.iter().map(|a| (*a, e(why))).collect(),
            cimd: e(why),
            cimd_unadvertised: e(why),
            dcr: e(why),
            exchange: e(why),
            assertion: crate::authz::scenarios::AssertionObs::missing(why),
            federation: e(why),
            proxy: e(why),
            dpop: e(why),
            machine: e(why),
        }
    }
}

/// Cascades are declared by the checks and the scenarios ([`crate::check::Evaluation::after`]).
impl crate::runner::Cascades for AuthzObservations {}
