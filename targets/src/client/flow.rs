//! The client's run: the MCP session (`initialize`, `notifications/initialized`, `tools/list`,
//! `tools/call list_todos`) and the authorization state machine behind it: discovery on 401,
//! step-up on 403 `insufficient_scope`, refresh on `invalid_token`, and authorization-server
//! migration.

use serde_json::{json, Value};

use super::authorize::{
    choose_pkce_method, fetch_authorization, random_b64url, validate_response,
    AuthorizationRequest, CallbackListener, Pkce, PkceMethod,
};
use super::challenge::BearerChallenge;
use super::config::ClientEnv;
use super::defects::{ClientDefect, DefectExt as _};
use super::discovery::{
    canonical_resource, discover_prm, fetch_as_metadata, fetch_prm, origin_of, pick_issuer,
    AuthorizationServerMetadata, DiscoveredPrm,
};
use super::dpop::{Dpop, Party};
use super::error::ClientError;
use super::http::{CertCheck, Http, Response};
use super::machine::{Machine, MachineGrant};
use super::mcp::{self, McpSession, Message};
use super::registration::{register, ClientRegistration, RegistrationKind};
use super::token::{token_request, Token, TokenOutcome};

/// Authorization attempts allowed per MCP operation, counting the one that produced the token
/// the operation started with (MCP §10.1.2, CL-SCP-06).
pub const MAX_AUTHORIZATIONS_PER_OPERATION: usize = 3;
/// The same budget under `unbounded-step-up`.
const UNBOUNDED_AUTHORIZATIONS: usize = 10;
/// Rounds of send-and-recover per operation before the client gives up.
const MAX_ROUNDS: usize = 16;
/// Token rejections (401 on a request that carried a token) per operation before giving up.
const MAX_RECOVERIES: usize = 3;

/// Runs the whole scenario against `server_url`: returns `Ok` after `tools/call list_todos`
/// succeeded, or the reason the client refused or failed.
pub async fn run(
    server_url: &str,
    env: &ClientEnv,
    defect: Option<ClientDefect>,
) -> Result<(), ClientError> {
    let mut client = Client::new(server_url, env, defect).await?;
    client.session().await
}

/// The authorization server the client currently works with.
#[derive(Debug, Clone)]
struct AuthServer {
    issuer: String,
    metadata: AuthorizationServerMetadata,
    authorization_endpoint: String,
    token_endpoint: String,
    registration: ClientRegistration,
    pkce_method: Option<PkceMethod>,
}

/// Tokens from one authorization server.
#[derive(Debug, Clone)]
struct Grant {
    issuer: String,
    access: Token,
    refresh: Option<Token>,
    /// The first refresh token this AS ever issued (for `reuse-old-refresh-token`).
    first_refresh: Option<Token>,
    scope: Option<String>,
    /// `token_type: DPoP`: the token is presented with the DPoP scheme and a proof.
    dpop_bound: bool,
}

struct Client<'e> {
    http: Http,
    env: &'e ClientEnv,
    defect: Option<ClientDefect>,
    mcp_url: String,
    /// The `resource` parameter (None with `no-resource`).
    resource: Option<String>,
    callback: CallbackListener,
    session: McpSession,
    next_id: u64,
    prm: Option<DiscoveredPrm>,
    server: Option<AuthServer>,
    grant: Option<Grant>,
    static_pkce: Option<Pkce>,
    /// The one `jti` of every client assertion under `cc-static-jti`.
    static_jti: String,
    /// DPoP, once an AS advertised ES256 proofs.
    dpop: Option<Dpop>,
}

impl<'e> Client<'e> {
    async fn new(
        server_url: &str,
        env: &'e ClientEnv,
        defect: Option<ClientDefect>,
    ) -> Result<Self, ClientError> {
        let canonical = canonical_resource(server_url)?;
        let resource = match defect {
            Some(ClientDefect::NoResource) => None,
            Some(ClientDefect::ResourceOriginOnly) => Some(origin_of(
                &url::Url::parse(&canonical).map_err(|e| ClientError::Usage(e.to_string()))?,
            )),
            _ => Some(canonical),
        };
        Ok(Self {
            http: Http::new(cert_check(defect))?,
            env,
            defect,
            mcp_url: server_url.to_owned(),
            resource,
            callback: CallbackListener::bind().await?,
            session: McpSession::default(),
            next_id: 0,
            prm: None,
            server: None,
            grant: None,
            static_pkce: None,
            static_jti: random_b64url(16),
            dpop: None,
        })
    }

    fn request(&mut self, method: &'static str, params: Value) -> Message {
        self.next_id += 1;
        Message::request(self.next_id, method, params)
    }

    async fn session(&mut self) -> Result<(), ClientError> {
        if mcp::is_stateless(&self.env.protocol_version) {
            return self.stateless_session().await;
        }
        self.initialize().await?;
        self.operations().await
    }

    /// `tools/list` then `tools/call list_todos`.
    async fn operations(&mut self) -> Result<(), ClientError> {
        let list = self.request("tools/list", json!({}));
        self.call(&list).await?;
        let call = self.request("tools/call", json!({"name": "list_todos", "arguments": {}}));
        self.call(&call).await?;
        Ok(())
    }

    /// Stateless MCP (2026-07-28): no handshake; `server/discover` (which a server must implement,
    /// and which tells the versions it speaks), then the operations, each request standing alone.
    async fn stateless_session(&mut self) -> Result<(), ClientError> {
        if self.defect.is(ClientDefect::InitializeWhenStateless) {
            self.initialize().await?;
        }
        let discover = self.request("server/discover", json!({}));
        self.call(&discover).await?;
        self.operations().await
    }

    /// The legacy handshake: `initialize`, then `notifications/initialized`.
    async fn initialize(&mut self) -> Result<(), ClientError> {
        let initialize = self.request(
            "initialize",
            json!({
                "protocolVersion": self.env.protocol_version,
                "capabilities": {},
                "clientInfo": mcp::client_info(),
            }),
        );
        let result = self.call(&initialize).await?;
        let negotiated = result
            .as_ref()
            .and_then(|r| r.get("protocolVersion"))
            .and_then(Value::as_str)
            .unwrap_or(&self.env.protocol_version)
            .to_owned();
        if !mcp::is_stateless(&negotiated) {
            self.session.protocol_version = Some(negotiated);
        }
        self.call(&Message::notification("notifications/initialized"))
            .await?;
        Ok(())
    }

    // ----- redirect URIs ---------------------------------------------------------------

    /// The redirect URI the client registers (DCR) or owns.
    fn registered_redirect(&self) -> String {
        let port = self.callback.port;
        match self.defect {
            Some(ClientDefect::HttpRedirectNonLoopback) => {
                "http://client.conformance.test/callback".into()
            }
            Some(ClientDefect::LocalhostRedirect) => format!("http://localhost:{port}/callback"),
            _ => format!("http://127.0.0.1:{port}/callback"),
        }
    }

    /// The redirect URI sent in authorization and token requests.
    fn request_redirect(&self, kind: RegistrationKind) -> String {
        let port = self.callback.port;
        match self.defect {
            Some(ClientDefect::UnregisteredRedirect) => {
                format!("http://127.0.0.1:{port}/other-callback")
            }
            Some(ClientDefect::CimdRedirectNotListed) if kind == RegistrationKind::Cimd => {
                format!("http://127.0.0.1:{port}/unlisted-callback")
            }
            _ => self.registered_redirect(),
        }
    }

    // ----- the MCP operation loop ------------------------------------------------------

    /// The token to attach to `message` (none with `token-only-on-first-request` after the first
    /// request: `initialize`, or `server/discover` when stateless).
    fn token_for(&self, message: &Message) -> Option<Token> {
        if self.defect.is(ClientDefect::TokenOnlyOnFirstRequest) && message.id != Some(1) {
            return None;
        }
        self.grant.as_ref().map(|g| g.access.clone())
    }

    /// The stateless fields `message` carries: at a stateless revision every request has them
    /// (only the first with `stateless-meta-on-first-request-only`).
    fn modern(&self) -> Option<mcp::Modern<'_>> {
        mcp::is_stateless(&self.env.protocol_version).then_some(mcp::Modern {
            version: &self.env.protocol_version,
        })
    }

    fn modern_for(&self, message: &Message) -> Option<mcp::Modern<'_>> {
        let first_only = self
            .defect
            .is(ClientDefect::StatelessMetaOnFirstRequestOnly);
        self.modern()
            .filter(|_| !(first_only && message.id != Some(1)))
    }

    async fn send(
        &self,
        message: &Message,
        token: Option<&Token>,
    ) -> Result<Response, ClientError> {
        self.send_with(&self.http, message, token).await
    }

    async fn send_with(
        &self,
        http: &Http,
        message: &Message,
        token: Option<&Token>,
    ) -> Result<Response, ClientError> {
        let bound = self.grant.as_ref().is_some_and(|g| g.dpop_bound);
        mcp::post(
            http,
            &self.mcp_url,
            &self.session,
            message,
            token,
            self.defect.is(ClientDefect::TokenInQuery),
            self.dpop.as_ref().filter(|_| bound),
            self.modern_for(message),
        )
        .await
    }

    /// Sends one MCP message, authorizing / stepping up / refreshing as the server demands.
    async fn call(&mut self, message: &Message) -> Result<Option<Value>, ClientError> {
        let limit = if self.defect.is(ClientDefect::UnboundedStepUp) {
            UNBOUNDED_AUTHORIZATIONS
        } else {
            MAX_AUTHORIZATIONS_PER_OPERATION
        };
        let mut budget = Budget {
            operation: message.method,
            used: usize::from(self.grant.is_some()),
            limit,
        };
        let mut recoveries = 0;
        let mut nonce_retries = 0;
        for _ in 0..MAX_ROUNDS {
            let token = self.token_for(message);
            let response = self.send(message, token.as_ref()).await?;
            // RFC 9449 §9: a DPoP-Nonce header names the nonce for the next proof; a use_dpop_nonce 401 asks for a
            // retry with it.
            if let (Some(dpop), Some(nonce)) = (&self.dpop, response.header("dpop-nonce")) {
                if dpop.honours_nonce(Party::Rs) {
                    dpop.set_nonce(Party::Rs, &nonce);
                    if response.status == 401 && asks_for_nonce(&response) && nonce_retries < 2 {
                        nonce_retries += 1;
                        continue;
                    }
                }
            }
            let challenge = || {
                BearerChallenge::from_headers(
                    response
                        .header_all("www-authenticate")
                        .iter()
                        .map(String::as_str),
                )
                .unwrap_or_default()
            };
            match response.status {
                200..=299 => {
                    if message.method == "initialize" {
                        self.session.session_id = response.header("mcp-session-id");
                    }
                    return mcp::read_reply(&response, message);
                }
                401 if token.is_some() => {
                    recoveries += 1;
                    if recoveries > MAX_RECOVERIES {
                        return Err(ClientError::Mcp(format!(
                            "{} keeps answering 401 to fresh tokens",
                            message.method
                        )));
                    }
                    self.recover(&challenge(), message, &mut budget).await?;
                }
                401 => {
                    budget.spend()?;
                    let challenge = challenge();
                    if self.server.is_none() {
                        self.discover(&challenge).await?;
                    }
                    let scope = self.select_scope(&challenge, None);
                    self.authorize(scope).await?;
                }
                403 if challenge().error.as_deref() == Some("insufficient_scope") => {
                    if self.defect.is(ClientDefect::NoStepUp) {
                        return Err(ClientError::Mcp(format!(
                            "{} answered 403 insufficient_scope",
                            message.method
                        )));
                    }
                    budget.spend()?;
                    let challenge = challenge();
                    if self.server.is_none() {
                        self.discover(&challenge).await?;
                    }
                    let granted = self
                        .grant
                        .as_ref()
                        .and_then(|g| g.scope.clone())
                        .filter(|_| !self.defect.is(ClientDefect::NoScopeUnion));
                    let scope = self.select_scope(&challenge, granted.as_deref());
                    self.authorize(scope).await?;
                }
                status => {
                    return Err(ClientError::Mcp(format!(
                        "{} answered HTTP {status}",
                        message.method
                    )))
                }
            }
        }
        Err(ClientError::Mcp(format!(
            "{} did not succeed after {MAX_ROUNDS} rounds",
            message.method
        )))
    }

    /// A request that carried a token got 401: re-check PRM for an AS change (CL-PRM-06), else
    /// refresh (CL-RT-01), else authorize again.
    async fn recover(
        &mut self,
        challenge: &BearerChallenge,
        message: &Message,
        budget: &mut Budget,
    ) -> Result<(), ClientError> {
        // An AS found without PRM (the 2025-03-26 discovery) is the MCP server itself: nothing can move it.
        let found_without_prm = self.prm.is_none() && self.server.is_some();
        if !self.defect.is(ClientDefect::IgnoreMigration) && !found_without_prm {
            let prm = self.refetch_prm(challenge).await?;
            let issuer = pick_issuer(&prm.metadata, &self.mcp_url, self.defect)?;
            let current = self.server.as_ref().map(|s| s.issuer.clone());
            if current.as_deref() != Some(issuer.as_str()) {
                if self.defect.is(ClientDefect::SendTokenToOtherServer) {
                    if let Some(old) = self.grant.as_ref().map(|g| g.access.clone()) {
                        // On a fresh connection, opened after the PRM naming the new AS was read: a
                        // pooled connection may predate that PRM, and then the server cannot tell
                        // this request from one sent before the client knew (CL-TOK-03).
                        let fresh = Http::unpooled(cert_check(self.defect))?;
                        let _ = self.send_with(&fresh, message, Some(&old)).await;
                    }
                }
                let old_registration = self
                    .server
                    .as_ref()
                    .map(|s| s.registration.clone())
                    .filter(|r| r.kind == RegistrationKind::Dynamic)
                    .filter(|_| self.defect.is(ClientDefect::ReuseClientAcrossAs));
                if self.defect.is(ClientDefect::NoReregisterOnAsChange) {
                    let _ = fetch_as_metadata(&self.http, &issuer, self.defect).await;
                    return Err(ClientError::Registration(format!(
                        "the authorization server changed to {issuer}; not registering there"
                    )));
                }
                // Never send the old AS's tokens to this server again.
                self.grant = None;
                self.server = None;
                self.connect_as(prm, old_registration).await?;
                budget.spend()?;
                let scope = self.select_scope(challenge, None);
                return self.authorize(scope).await;
            }
            self.prm = Some(prm);
        }
        if self.refresh().await? {
            return Ok(());
        }
        budget.spend()?;
        let granted = self.grant.as_ref().and_then(|g| g.scope.clone());
        let scope = self.select_scope(challenge, granted.as_deref());
        self.authorize(scope).await
    }

    /// PRM again after a token was rejected (RFC 9728 §5.2): the challenge's URL if it names
    /// one, else the URL that served PRM before, else full discovery.
    async fn refetch_prm(&self, challenge: &BearerChallenge) -> Result<DiscoveredPrm, ClientError> {
        let header_usable = challenge.resource_metadata.is_some()
            && !self.defect.is(ClientDefect::IgnoreHeaderResourceMetadata);
        if let (false, Some(known)) = (header_usable, &self.prm) {
            if let Some(found) = fetch_prm(&self.http, &known.candidate, self.defect).await? {
                return Ok(found);
            }
        }
        discover_prm(&self.http, &self.mcp_url, challenge, self.defect).await
    }

    // ----- discovery and registration --------------------------------------------------

    /// PRM, then AS metadata, PKCE support and registration.
    async fn discover(&mut self, challenge: &BearerChallenge) -> Result<(), ClientError> {
        match discover_prm(&self.http, &self.mcp_url, challenge, self.defect).await {
            Ok(prm) => self.connect(prm).await,
            // 2025-03-26 had no PRM: the MCP origin is the authorization server.
            Err(ClientError::Discovery(_))
                if self.env.protocol_version == super::march::MARCH_REVISION =>
            {
                let (issuer, metadata) =
                    super::march::discover(&self.http, &self.mcp_url, self.defect).await?;
                self.connect_with(issuer, metadata, None, None).await
            }
            Err(e) => Err(e),
        }
    }

    async fn connect(&mut self, prm: DiscoveredPrm) -> Result<(), ClientError> {
        self.connect_as(prm, None).await
    }

    /// Like [`Client::connect`]; `reuse` (the `reuse-client-across-as` defect) replaces the
    /// registration at the new AS with another AS's client.
    async fn connect_as(
        &mut self,
        prm: DiscoveredPrm,
        reuse: Option<ClientRegistration>,
    ) -> Result<(), ClientError> {
        let issuer = pick_issuer(&prm.metadata, &self.mcp_url, self.defect)?;
        let metadata = fetch_as_metadata(&self.http, &issuer, self.defect).await?;
        self.connect_with(issuer, metadata, Some(prm), reuse).await
    }

    /// Registration (or `reuse`) at the authorization server `issuer` described by `metadata`, found through
    /// `prm` (None: the 2025-03-26 discovery, without PRM).
    async fn connect_with(
        &mut self,
        issuer: String,
        metadata: AuthorizationServerMetadata,
        prm: Option<DiscoveredPrm>,
        reuse: Option<ClientRegistration>,
    ) -> Result<(), ClientError> {
        let machine = Machine::of(&self.env.context, self.defect);
        if self.dpop.is_none() {
            self.dpop = Dpop::for_algs(
                metadata.dpop_signing_alg_values_supported.as_deref(),
                self.defect,
            );
        }
        let endpoint = |value: &Option<String>, name: &str| {
            value
                .clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ClientError::Metadata(format!("the metadata has no {name}")))
        };
        // A machine grant needs neither PKCE nor the authorization endpoint.
        let (pkce_method, authorization_endpoint) = match machine {
            Some(_) => (
                choose_pkce_method(&metadata, self.defect).unwrap_or(None),
                metadata.authorization_endpoint.clone().unwrap_or_default(),
            ),
            None => (
                choose_pkce_method(&metadata, self.defect)?,
                endpoint(&metadata.authorization_endpoint, "authorization_endpoint")?,
            ),
        };
        let token_endpoint = endpoint(&metadata.token_endpoint, "token_endpoint")?;
        let registration = match (reuse, machine) {
            (Some(registration), _) => registration,
            (None, Some(m)) => m.registration(&self.env.context, self.defect)?,
            (None, None) => {
                register(
                    &self.http,
                    &metadata,
                    &self.env.context,
                    &self.registered_redirect(),
                    self.defect,
                )
                .await?
            }
        };
        self.prm = prm;
        self.server = Some(AuthServer {
            issuer,
            metadata,
            authorization_endpoint,
            token_endpoint,
            registration,
            pkce_method,
        });
        Ok(())
    }

    // ----- scope selection (MCP §6, §10.1) ----------------------------------------------

    /// The `scope` to request: the challenge's (authoritative), else all PRM `scopes_supported`,
    /// else none; for step-up and re-authorization, united with what was granted.
    fn select_scope(&self, challenge: &BearerChallenge, granted: Option<&str>) -> Option<String> {
        let supported = self
            .prm
            .as_ref()
            .and_then(|p| p.metadata.scopes_supported.clone())
            .filter(|s| !s.is_empty());
        let base = match (&challenge.scope, &supported) {
            (Some(_), Some(sup)) if self.defect.is(ClientDefect::IgnoreChallengeScope) => {
                Some(sup.join(" "))
            }
            (Some(c), Some(sup)) if self.defect.is(ClientDefect::FilterChallengeScopes) => {
                let kept: Vec<&str> = c
                    .split_whitespace()
                    .filter(|s| sup.iter().any(|x| x == s))
                    .collect();
                (!kept.is_empty()).then(|| kept.join(" "))
            }
            (Some(c), _) => Some(c.clone()),
            (None, Some(_)) if self.defect.is(ClientDefect::NoScopesSupportedFallback) => None,
            (None, Some(sup)) => Some(sup.join(" ")),
            (None, None) if self.defect.is(ClientDefect::SendScopeWhenUndefined) => {
                Some("openid".into())
            }
            (None, None) => None,
        };
        let scope = union_scopes(granted, base.as_deref());
        if self.defect.is(ClientDefect::OfflineAccessAlways) {
            return union_scopes(scope.as_deref(), Some("offline_access"));
        }
        scope
    }

    // ----- obtaining a token -------------------------------------------------------------

    /// Obtains a token: the context's machine grant (extensions), else the authorization code flow.
    async fn authorize(&mut self, scope: Option<String>) -> Result<(), ClientError> {
        let Some(machine) = Machine::of(&self.env.context, self.defect) else {
            return self.authorization_code_flow(scope).await;
        };
        let server = self
            .server
            .clone()
            .ok_or_else(|| ClientError::Discovery("no authorization server known".into()))?;
        let grant = MachineGrant {
            http: &self.http,
            issuer: &server.issuer,
            token_endpoint: &server.token_endpoint,
            registration: &server.registration,
            context: &self.env.context,
            resource: self.token_resource(false),
            scope: scope.clone(),
            defect: self.defect,
            static_jti: &self.static_jti,
        };
        match grant.obtain(machine).await {
            Ok(issued) => {
                self.grant = Some(Grant {
                    issuer: server.issuer.clone(),
                    access: issued.access_token,
                    refresh: issued.refresh_token,
                    first_refresh: None,
                    scope: issued.scope.or(scope),
                    // The machine grants send no DPoP proof: their tokens are Bearer.
                    dpop_bound: false,
                });
                Ok(())
            }
            Err(_)
                if machine == Machine::Wif
                    && self.defect.is(ClientDefect::WifFallbackToAuthorizationCode) =>
            {
                self.authorization_code_flow(scope).await
            }
            Err(e) => Err(e),
        }
    }

    // ----- authorization code flow ------------------------------------------------------

    fn next_pkce(&mut self, method: Option<PkceMethod>) -> Option<Pkce> {
        let method = method?;
        if self.defect.is(ClientDefect::StaticPkceChallenge) {
            let pkce = self
                .static_pkce
                .get_or_insert_with(|| Pkce::generate(method, self.defect))
                .clone();
            return Some(pkce);
        }
        Some(Pkce::generate(method, self.defect))
    }

    /// One authorization (with at most one retry after an error response, always with a fresh
    /// S256 challenge), then the code redemption.
    async fn authorization_code_flow(&mut self, scope: Option<String>) -> Result<(), ClientError> {
        let server = self
            .server
            .clone()
            .ok_or_else(|| ClientError::Discovery("no authorization server known".into()))?;
        let redirect_uri = self.request_redirect(server.registration.kind);
        let iss_advertised = server
            .metadata
            .authorization_response_iss_parameter_supported
            == Some(true);
        let mut method = server.pkce_method;
        let mut retried = false;
        let (code, pkce) = loop {
            let pkce = self.next_pkce(method);
            let state = random_b64url(16);
            let url = AuthorizationRequest {
                endpoint: &server.authorization_endpoint,
                client_id: &server.registration.client_id,
                redirect_uri: &redirect_uri,
                pkce: pkce.as_ref(),
                state: &state,
                resource: self.resource.as_deref(),
                scope: scope.as_deref(),
            }
            .url()?;
            let response = fetch_authorization(&self.http, &url, &redirect_uri).await?;
            match validate_response(
                &response,
                &state,
                &server.issuer,
                iss_advertised,
                self.defect,
            ) {
                Ok(code) => break (code, pkce),
                Err(e) => {
                    let state_ok = response.state.as_deref() == Some(state.as_str())
                        || self.defect.is(ClientDefect::NoStateCheck);
                    let retryable = matches!(
                        response.error.as_deref(),
                        Some("invalid_request" | "server_error" | "temporarily_unavailable")
                    );
                    if retried || !state_ok || !retryable {
                        return Err(e);
                    }
                    retried = true;
                    if self.defect.is(ClientDefect::DowngradeToPlainOnError)
                        && response.error.as_deref() == Some("invalid_request")
                    {
                        method = Some(PkceMethod::Plain);
                    }
                }
            }
        };
        let mut params = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(pkce) = &pkce {
            let verifier = if self.defect.is(ClientDefect::WrongVerifier) {
                random_b64url(32)
            } else {
                pkce.verifier().to_owned()
            };
            params.push(("code_verifier", verifier));
        }
        if let Some(resource) = self.token_resource(false) {
            params.push(("resource", resource));
        }
        let outcome = token_request(
            &self.http,
            &server.token_endpoint,
            params,
            &server.registration,
            !self.defect.is(ClientDefect::NoClientIdInTokenRequest),
            self.defect,
            self.dpop.as_ref(),
        )
        .await?;
        let issued = match outcome {
            TokenOutcome::Issued(t) => t,
            TokenOutcome::Refused { status, error } => {
                return Err(ClientError::Token(format!(
                    "code redemption refused: HTTP {status}{}",
                    error.map(|e| format!(" error={e}")).unwrap_or_default()
                )))
            }
        };
        let first_refresh = self
            .grant
            .as_ref()
            .filter(|g| g.issuer == server.issuer)
            .and_then(|g| g.first_refresh.clone())
            .or_else(|| issued.refresh_token.clone());
        self.grant = Some(Grant {
            issuer: server.issuer.clone(),
            access: issued.access_token,
            refresh: issued.refresh_token,
            first_refresh,
            scope: issued.scope.or(scope),
            dpop_bound: is_dpop(issued.token_type.as_deref()),
        });
        Ok(())
    }

    /// The `resource` for a token request.
    fn token_resource(&self, refresh: bool) -> Option<String> {
        if self.defect.is(ClientDefect::NoResourceInTokenRequest)
            || (refresh && self.defect.is(ClientDefect::NoResourceOnRefresh))
        {
            return None;
        }
        self.resource.clone()
    }

    /// The refresh_token grant with the current refresh token (rotated on success).
    /// `Ok(false)`: no refresh token, or the AS refused it.
    async fn refresh(&mut self) -> Result<bool, ClientError> {
        let (Some(server), Some(grant)) = (self.server.clone(), self.grant.clone()) else {
            return Ok(false);
        };
        let refresh_token = if self.defect.is(ClientDefect::ReuseOldRefreshToken) {
            grant.first_refresh.clone()
        } else {
            grant.refresh.clone()
        };
        let Some(refresh_token) = refresh_token else {
            return Ok(false);
        };
        let mut params = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token.expose().to_owned()),
        ];
        if let Some(resource) = self.token_resource(true) {
            params.push(("resource", resource));
        }
        if self.defect.is(ClientDefect::RefreshScopeEscalation) {
            params.push((
                "scope",
                union_scopes(grant.scope.as_deref(), Some("todo:admin")).unwrap_or_default(),
            ));
        }
        let outcome = token_request(
            &self.http,
            &server.token_endpoint,
            params,
            &server.registration,
            true,
            self.defect,
            self.dpop.as_ref(),
        )
        .await?;
        match outcome {
            TokenOutcome::Issued(issued) => {
                let grant = self.grant.get_or_insert(grant);
                grant.access = issued.access_token;
                grant.dpop_bound = is_dpop(issued.token_type.as_deref());
                if let Some(rotated) = issued.refresh_token {
                    grant.refresh = Some(rotated);
                }
                if let Some(scope) = issued.scope {
                    grant.scope = Some(scope);
                }
                Ok(true)
            }
            TokenOutcome::Refused { .. } => {
                // A dead refresh token is worthless: drop it before the full re-authorization.
                if let Some(g) = self.grant.as_mut() {
                    g.refresh = None;
                }
                Ok(false)
            }
        }
    }
}

/// Whether a `token_type` names a DPoP-bound token (case-insensitive, RFC 9449 §5).
fn is_dpop(token_type: Option<&str>) -> bool {
    token_type.is_some_and(|t| t.eq_ignore_ascii_case("dpop"))
}

/// Whether a 401 carries a `DPoP` challenge with `error="use_dpop_nonce"`.
fn asks_for_nonce(response: &Response) -> bool {
    response.header_all("www-authenticate").iter().any(|line| {
        line.trim_start()
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case("dpop"))
            && line.contains("use_dpop_nonce")
    })
}

/// Authorization attempts left for one operation.
struct Budget {
    operation: &'static str,
    used: usize,
    limit: usize,
}

impl Budget {
    fn spend(&mut self) -> Result<(), ClientError> {
        if self.used >= self.limit {
            return Err(ClientError::RetryLimit {
                operation: self.operation.to_owned(),
                attempts: self.used,
            });
        }
        self.used += 1;
        Ok(())
    }
}

/// `a ∪ b` as a space-separated scope, `a`'s order first; `None` when both are empty.
pub(crate) fn union_scopes(a: Option<&str>, b: Option<&str>) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for s in a.into_iter().chain(b).flat_map(str::split_whitespace) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    (!out.is_empty()).then(|| out.join(" "))
}

/// How the client checks certificates: always, unless the defect turns it off.
fn cert_check(defect: Option<ClientDefect>) -> CertCheck {
    if defect.is(ClientDefect::AcceptAnyCertificate) {
        CertCheck::AcceptAny
    } else {
        CertCheck::Verify
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_union_keeps_order_and_drops_duplicates() {
        assert_eq!(
            union_scopes(Some("a b"), Some("b c")).as_deref(),
            Some("a b c")
        );
        assert_eq!(union_scopes(None, Some("x")).as_deref(), Some("x"));
        assert_eq!(union_scopes(None, None), None);
        assert_eq!(union_scopes(Some(" "), None), None);
    }
}
