//! What the server-role scenarios observed. Checks judge only this record.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::check::ObsError;
use crate::profile::Profile;
use crate::server::ctx::Probe;

/// How the server validates tokens (configured by the profile, or observed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Locally, against the AS JWKS.
    Jwt,
    /// RFC 7662 introspection at the AS.
    Introspection,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Jwt => "jwt",
            Mode::Introspection => "introspection",
        }
    }
}

/// Every adversarial or variant token the suite presents: declared with how it is forged, in
/// [`crate::server::scenarios::tokens`].
pub use crate::server::scenarios::tokens::Stimulus;

/// The DPoP presentations (`--extension dpop`), declared with how they are made in
/// [`crate::server::scenarios::dpop`].
pub use crate::server::scenarios::dpop::{DpopObs, DpopStimulus};

/// What the origin of a 2025-03-26 server answered as its own authorization server, declared with its probes in
/// [`crate::server::scenarios::march`].
pub use crate::server::scenarios::march::MarchObs;

/// A fetched PRM document.
#[derive(Debug, Clone)]
pub struct PrmDoc {
    pub exchange: String,
    pub status: u16,
    pub content_type: Option<String>,
    /// The body as a JSON object, or why it is not one.
    pub body: Result<Map<String, Value>, String>,
}

impl PrmDoc {
    /// A usable PRM: 200 and a JSON object.
    pub fn object(&self) -> Option<&Map<String, Value>> {
        if self.status == 200 {
            self.body.as_ref().ok()
        } else {
            None
        }
    }

    pub fn resource(&self) -> Option<&str> {
        self.object()?.get("resource")?.as_str()
    }
}

/// How a PRM location was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrmSource {
    /// `resource_metadata` in the 401 challenge.
    Header,
    /// `/.well-known/oauth-protected-resource/<path>`.
    PathInserted,
    /// `/.well-known/oauth-protected-resource`.
    Root,
}

impl PrmSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PrmSource::Header => "the 401 resource_metadata URL",
            PrmSource::PathInserted => "the path-inserted well-known URL",
            PrmSource::Root => "the root well-known URL",
        }
    }
}

/// One PRM location and what it gave.
#[derive(Debug, Clone)]
pub struct PrmFetch {
    pub source: PrmSource,
    pub url: String,
    /// The resource identifier the document must name (RFC 9728 §3.3).
    pub expected_resource: String,
    pub doc: Result<PrmDoc, ObsError>,
}

/// Every PRM location the suite tried.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub fetches: Vec<PrmFetch>,
}

impl Discovery {
    pub fn get(&self, source: PrmSource) -> Option<&PrmFetch> {
        self.fetches.iter().find(|f| f.source == source)
    }

    /// Fetches that returned a usable document.
    pub fn documents(&self) -> impl Iterator<Item = (&PrmFetch, &PrmDoc, &Map<String, Value>)> {
        self.fetches.iter().filter_map(|f| {
            let doc = f.doc.as_ref().ok()?;
            Some((f, doc, doc.object()?))
        })
    }
}

/// Session hijack attempts on a session opened by the full user.
#[derive(Debug, Clone)]
pub struct SessionObs {
    pub no_token: Probe,
    pub expired_token: Probe,
    pub other_user: Probe,
    pub unauth_get: Probe,
    pub unauth_delete: Probe,
}

/// Client-credentials tokens (extension client-credentials): a valid one, one for another audience, and a write
/// with one that holds only the read scope (made only when the valid one was served).
#[derive(Debug, Clone)]
pub struct MachineObs {
    pub valid: Probe,
    pub other_audience: Probe,
    pub write: Option<Probe>,
}

/// A read-only user trying the write tool, three times, and the read-back.
#[derive(Debug, Clone)]
pub struct ScopeObs {
    pub attempts: Vec<Probe>,
    pub markers: Vec<String>,
    pub read_back: Result<(String, String), ObsError>,
    /// The read-only user's read with its reduced-scope token.
    pub reduced_read: Probe,
    /// Only when a write attempt was answered as a success (2xx, `isError` not set): the full-access user's
    /// write made just before the read-back, which shows whether a write is visible in a read at all.
    pub control: Option<ControlWrite>,
}

/// A write by the full-access user whose title should show up in the read-back.
#[derive(Debug, Clone)]
pub struct ControlWrite {
    pub probe: Result<Probe, ObsError>,
    pub marker: String,
}

/// A write with an invalid token, and the read-back.
#[derive(Debug, Clone)]
pub struct WriteProbe {
    pub attempt: Probe,
    pub marker: String,
    pub read_back: Result<(String, String), ObsError>,
}

/// One upstream tool call and what the fake upstream API received while it ran.
#[derive(Debug, Clone)]
pub struct UpstreamCall {
    pub user: String,
    /// The token the suite (as MCP client) presented to the server.
    pub client_token: String,
    pub probe: Probe,
    pub received: Vec<fake_idp::UpstreamRequest>,
    /// Evidence ids of the received requests (`upstream-api#<n>`).
    pub exchanges: Vec<String>,
}

/// The on-behalf-of calls.
#[derive(Debug, Clone)]
pub struct UpstreamObs {
    /// The upstream's resource identifier (the audience its tokens must carry).
    pub resource: String,
    pub read: UpstreamCall,
    pub write_read_only: UpstreamCall,
    pub write_full: UpstreamCall,
}

/// One client's request with a valid token, then the same request without it (stateless MCP, RS-SL-02).
#[derive(Debug, Clone)]
pub struct CarryOver {
    pub with_token: Probe,
    pub without_token: Probe,
}

/// Authorization per request in stateless MCP (2026-07-28).
#[derive(Debug, Clone)]
pub struct StatelessObs {
    /// Requests without a token, each the first of a client never seen before (what was sent, the probe).
    pub first_contact: Vec<(String, Probe)>,
    pub carry_over: Result<CarryOver, ObsError>,
}

/// Everything the server role observed.
#[derive(Debug)]
pub struct ServerObservations {
    pub target: String,
    /// The run's TLS profile: under strict, http on loopback is a FAIL (RS-TLS-01).
    pub tls: crate::spec::TlsProfile,
    pub profile: Profile,
    pub mode: Result<Mode, ObsError>,
    /// A valid token opening a session: the precondition of every rejection check.
    pub baseline: Result<String, ObsError>,
    /// POST initialize with no credentials.
    pub unauthenticated: Result<Probe, ObsError>,
    /// Every PRM location tried (an error only when the run was interrupted before discovery finished).
    pub discovery: Result<Discovery, ObsError>,
    pub probes: BTreeMap<Stimulus, Result<Probe, ObsError>>,
    /// Paths the attacker listener (jku/x5u) served during the run.
    pub attacker_fetches: Vec<String>,
    /// The URLs the jku and x5u tokens named.
    pub jku_url: String,
    pub x5u_url: String,
    pub session: Result<SessionObs, ObsError>,
    pub session_ids: Result<Vec<(String, String)>, ObsError>,
    pub scope: Result<ScopeObs, ObsError>,
    pub write_before_auth: Result<WriteProbe, ObsError>,
    pub origin: Result<Probe, ObsError>,
    pub upstream: Result<UpstreamObs, ObsError>,
    /// The DPoP probes (`--extension dpop` only; otherwise an error no scored check reads).
    pub dpop: Result<DpopObs, ObsError>,
    /// Stateless MCP (2026-07-28 only; not applicable at older revisions).
    pub stateless: Result<StatelessObs, ObsError>,
    /// Client-credentials tokens (only with `--extension client-credentials`).
    pub machine: Result<MachineObs, ObsError>,
    /// The server as its own authorization server (2025-03-26 only; not applicable at other revisions).
    pub march: Result<MarchObs, ObsError>,
}

impl ServerObservations {
    /// The record once the baseline is known, before any other scenario finished: every later observation holds
    /// [`ObsError::Interrupted`] until its scenario fills it in, so an interrupted run judges what was complete.
    pub fn pending(
        target: String,
        profile: Profile,
        mode: Result<Mode, ObsError>,
        baseline: Result<String, ObsError>,
        jku_url: String,
        x5u_url: String,
    ) -> Self {
        ServerObservations {
            target,
            tls: crate::spec::TlsProfile::Local,
            profile,
            mode,
            baseline,
            unauthenticated: Err(ObsError::Interrupted),
            discovery: Err(ObsError::Interrupted),
            probes: Stimulus::ALL
                .iter()
                .map(|s| (*s, Err(ObsError::Interrupted)))
                .collect(),
            attacker_fetches: Vec::new(),
            jku_url,
            x5u_url,
            session: Err(ObsError::Interrupted),
            session_ids: Err(ObsError::Interrupted),
            scope: Err(ObsError::Interrupted),
            write_before_auth: Err(ObsError::Interrupted),
            origin: Err(ObsError::Interrupted),
            upstream: Err(ObsError::Interrupted),
            dpop: Err(ObsError::Interrupted),
            stateless: Err(ObsError::Interrupted),
            machine: Err(ObsError::Interrupted),
            march: Err(ObsError::Interrupted),
        }
    }

    /// The probe of a stimulus (every stimulus is probed; a missing one is a suite bug).
    pub fn probe(&self, s: Stimulus) -> &Result<Probe, ObsError> {
        static MISSING: std::sync::LazyLock<Result<Probe, ObsError>> =
            std::sync::LazyLock::new(|| {
                Err(ObsError::Harness(
                    "no probe was recorded for this stimulus".into(),
                ))
            });
        self.probes.get(&s).unwrap_or(&MISSING)
    }
}

/// Cascades are declared by the checks and the scenarios ([`crate::check::Evaluation::after`]).
impl crate::runner::Cascades for ServerObservations {}
