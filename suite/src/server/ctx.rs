//! What every server-role scenario needs: the HTTP client, the fake AS's minter and forge, the profile and
//! the target URL, plus small helpers to speak MCP with a chosen credential.

use std::sync::atomic::{AtomicU64, Ordering};

use fake_idp::danger::TokenMutation;
use fake_idp::{Events, FakeIdp, TokenSpec, Users};
use serde_json::Value;

use crate::check::{Cause, ObsError};
use crate::evidence::Scenario;
use crate::http::{Http, Recorded, Request};
use crate::profile::Profile;
use crate::spec::SpecVersion;
use crate::wire::mcp::{self, RpcOutcome};
use crate::wire::stateless;
use crate::wire::www_authenticate::{self, Challenge, ParseError};

/// The audience of tokens minted for the upstream API the server may call (RS-AUD-02).
pub const UPSTREAM_AUDIENCE: &str = "https://upstream.conformance.test/api";

/// The audience of tokens minted for some other MCP server (RS-AUD-01).
pub const OTHER_RESOURCE: &str = "https://other.conformance.test/mcp";

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// Raw `Authorization` header lines, sent as given.
    Raw(Vec<String>),
    /// `?access_token=<token>` in the URL and no header.
    Query(String),
    /// `Authorization: DPoP <token>` and, when given, one `DPoP: <proof>` header (RFC 9449 §7.1).
    Dpop {
        token: String,
        proof: Option<String>,
    },
}

/// The result of one MCP request, as checks consume it.
#[derive(Debug, Clone)]
pub struct Probe {
    pub exchange: String,
    pub status: u16,
    pub outcome: RpcOutcome,
    /// Every `WWW-Authenticate` line.
    pub www: Vec<String>,
    pub challenges: Result<Vec<Challenge>, ParseError>,
    pub session_id: Option<String>,
}

impl Probe {
    /// The first Bearer challenge, if any parsed.
    pub fn bearer(&self) -> Option<&Challenge> {
        self.challenges
            .as_ref()
            .ok()?
            .iter()
            .find(|c| c.is_bearer())
    }

    pub fn served(&self) -> bool {
        self.outcome.served()
    }

    pub fn describe(&self) -> String {
        let www = if self.www.is_empty() {
            "no WWW-Authenticate".to_owned()
        } else {
            format!("WWW-Authenticate: {}", self.www.join(" | "))
        };
        format!("{}; {www}", self.outcome.describe())
    }
}

pub struct Ctx<'a> {
    pub http: Http,
    pub idp: &'a FakeIdp,
    /// The fake upstream API the server may call for the user.
    pub upstream: Option<&'a fake_idp::UpstreamApi>,
    pub events: Events,
    pub profile: Profile,
    pub users: Users,
    /// The MCP endpoint URL, also the resource identifier the server must answer as.
    pub target: String,
    /// The extensions the run opts into (`--extension`): their scenarios run only then.
    pub extensions: crate::spec::Extensions,
    /// The revision the suite speaks: at 2026-07-28 MCP is stateless (no `initialize`, no session; every
    /// request carries `_meta` and the standard headers, [`stateless`]).
    pub spec: SpecVersion,
    markers: AtomicU64,
    seed: u64,
    rpc_ids: AtomicU64,
}

impl<'a> Ctx<'a> {
    pub fn new(http: Http, idp: &'a FakeIdp, profile: Profile, target: String, seed: u64) -> Self {
        Ctx {
            http,
            events: idp.events(),
            idp,
            upstream: None,
            profile,
            users: Users::fixture(),
            target,
            extensions: crate::spec::Extensions::none(),
            spec: SpecVersion::default(),
            markers: AtomicU64::new(1),
            seed,
            rpc_ids: AtomicU64::new(1),
        }
    }

    /// A unique, recognisable marker for observing writes.
    pub fn marker(&self, purpose: &str) -> String {
        let n = self.markers.fetch_add(1, Ordering::Relaxed);
        format!("conformance-{purpose}-{:x}-{n}", self.seed)
    }

    /// The honest token spec for a profile user (`full` or `read_only` name) with this server as audience.
    pub fn spec(&self, user: &str) -> Result<TokenSpec, ObsError> {
        let u = self
            .users
            .get(user)
            .ok_or_else(|| ObsError::Harness(format!("profile names unknown user `{user}`")))?;
        Ok(TokenSpec::for_user(
            u,
            self.audience(),
            self.profile.client_id.clone(),
        ))
    }

    /// The `aud` of honest tokens: the target URL, or the AS persona's audience for it (Scalekit's resource
    /// id, the configured Auth0 API identifier or Keycloak audience).
    pub fn audience(&self) -> String {
        self.idp.persona().audience_for(&self.target)
    }

    /// A valid token for a user.
    pub fn token(&self, user: &str) -> Result<String, ObsError> {
        let t = self.idp.minter().mint(&self.spec(user)?);
        self.http.register_secret(&t);
        Ok(t)
    }

    /// A valid token for a user bound to the DPoP key with thumbprint `jkt` (`cnf.jkt`).
    pub fn bound_token(&self, user: &str, jkt: &str) -> Result<String, ObsError> {
        let t = self.idp.minter().mint_bound(&self.spec(user)?, jkt);
        self.http.register_secret(&t);
        Ok(t)
    }

    /// An adversarial token for a user.
    pub fn forged(&self, user: &str, mutation: &TokenMutation) -> Result<String, ObsError> {
        let t = self.idp.forge().forge(&self.spec(user)?, mutation);
        self.http.register_secret(&t);
        Ok(t)
    }

    /// The audience of tokens minted for the upstream API (the fake upstream's resource when it runs).
    pub fn upstream_audience(&self) -> String {
        self.upstream
            .map(|u| u.resource())
            .unwrap_or_else(|| UPSTREAM_AUDIENCE.to_owned())
    }

    pub fn full_user(&self) -> &str {
        &self.profile.users.full
    }

    pub fn read_only_user(&self) -> &str {
        &self.profile.users.read_only
    }

    fn next_rpc_id(&self) -> u64 {
        self.rpc_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends a raw request with the given authentication.
    pub async fn send(
        &self,
        sc: &Scenario,
        purpose: &str,
        mut req: Request,
        auth: &Auth,
    ) -> Recorded {
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => req = req.bearer(t),
            Auth::Raw(lines) => {
                for l in lines {
                    req = req.header("authorization", l.clone());
                }
            }
            Auth::Query(t) => {
                let sep = if req.url.contains('?') { '&' } else { '?' };
                req.url = format!("{}{sep}access_token={t}", req.url);
            }
            Auth::Dpop { token, proof } => {
                req = req.header("authorization", format!("DPoP {token}"));
                if let Some(p) = proof {
                    req = req.header("dpop", p.clone());
                }
            }
        }
        self.http.send(sc, purpose, req).await
    }

    /// POSTs a JSON-RPC message to the MCP endpoint and reads the outcome. At a stateless revision the message
    /// gets the per-request `_meta` and the standard headers, and `session` is ignored (there are none).
    pub async fn rpc(
        &self,
        sc: &Scenario,
        purpose: &str,
        body: Value,
        auth: &Auth,
        session: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Probe, ObsError> {
        let mut req;
        if self.spec.is_stateless() {
            let version = self.spec.as_str();
            let body = stateless::with_meta(body, version, &stateless::suite_client_info());
            req = Request::post_json(&self.target, &body);
            for (name, value) in stateless::headers(&body, version) {
                req = req.header(name, value);
            }
        } else {
            req = Request::post_json(&self.target, &body);
            if let Some(s) = session {
                req = req.header("mcp-session-id", s);
                req = req.header("mcp-protocol-version", mcp::PROTOCOL_VERSION);
            }
        }
        for (n, v) in extra {
            req = req.header(n, *v);
        }
        let rec = self.send(sc, purpose, req, auth).await;
        probe_of(rec)
    }

    /// The body of the suite's standard probe: `initialize`, or `server/discover` at a stateless revision.
    pub fn probe_body(&self) -> Value {
        if self.spec.is_stateless() {
            stateless::discover(self.next_rpc_id())
        } else {
            mcp::initialize(self.next_rpc_id())
        }
    }

    /// `initialize` with a credential: the suite's standard probe of whether a token is accepted (at a stateless
    /// revision `server/discover`, which every server must implement and authorize like any request).
    pub async fn initialize(
        &self,
        sc: &Scenario,
        purpose: &str,
        auth: &Auth,
    ) -> Result<Probe, ObsError> {
        let purpose = if self.spec.is_stateless() {
            format!("{purpose} [{}: server/discover, no initialize]", self.spec)
        } else {
            purpose.to_owned()
        };
        self.rpc(sc, &purpose, self.probe_body(), auth, None, &[])
            .await
    }

    /// Opens a session as a user: `initialize` then `notifications/initialized`.
    pub async fn open_session(&self, sc: &Scenario, token: &str) -> Result<String, ObsError> {
        let auth = Auth::Bearer(token.to_owned());
        let p = self
            .initialize(sc, "open a session with a valid token", &auth)
            .await?;
        if !p.served() {
            return Err(ObsError::target(
                format!("a valid token was refused at initialize: {}", p.describe()),
                [p.exchange],
            ));
        }
        if self.spec.is_stateless() {
            // No session: every later request stands alone.
            return Ok(String::new());
        }
        let session = p.session_id.clone().unwrap_or_default();
        let s = (!session.is_empty()).then_some(session.as_str());
        let _ = self
            .rpc(
                sc,
                "notifications/initialized",
                mcp::initialized(),
                &auth,
                s,
                &[],
            )
            .await;
        Ok(session)
    }

    /// Calls a tool in a session.
    pub async fn call_tool(
        &self,
        sc: &Scenario,
        purpose: &str,
        auth: &Auth,
        session: &str,
        name: &str,
        arguments: &Value,
    ) -> Result<Probe, ObsError> {
        let s = (!session.is_empty()).then_some(session);
        self.rpc(
            sc,
            purpose,
            mcp::tools_call(self.next_rpc_id(), name, arguments),
            auth,
            s,
            &[],
        )
        .await
    }

    /// Reads the profile's read tool as the full user, in a fresh session, and returns its text.
    pub async fn read_back(&self, sc: &Scenario) -> Result<(String, String), ObsError> {
        let token = self.token(&self.profile.users.full.clone())?;
        let session = self.open_session(sc, &token).await?;
        let tool = self.profile.tools.read.clone();
        let p = self
            .call_tool(
                sc,
                "read back with a valid token to observe side effects",
                &Auth::Bearer(token),
                &session,
                &tool.name,
                &tool.arguments,
            )
            .await?;
        match &p.outcome {
            RpcOutcome::Served(result) => Ok((mcp::tool_text(result), p.exchange)),
            other => Err(ObsError::target(
                format!(
                    "the read tool failed for the full-access user: {}",
                    other.describe()
                ),
                [p.exchange],
            )),
        }
    }
}

/// Turns a recorded exchange into a probe, or an `ObsError` when no response arrived.
pub fn probe_of(rec: Recorded) -> Result<Probe, ObsError> {
    let resp = rec.result.map_err(|e| {
        ObsError::target_because(e.to_string(), [rec.id.clone()], Cause::NoAnswer(e))
    })?;
    let www: Vec<String> = resp
        .header_all("www-authenticate")
        .into_iter()
        .map(str::to_owned)
        .collect();
    let challenges = www_authenticate::parse_all(www.iter().map(String::as_str));
    Ok(Probe {
        exchange: rec.id,
        status: resp.status,
        outcome: mcp::outcome(&resp),
        session_id: resp.header("mcp-session-id").map(str::to_owned),
        www,
        challenges,
    })
}
