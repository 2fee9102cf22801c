//! Synthetic server-role observations for the checks' unit tests: no world, no target, no network.
//!
//! [`compliant`] is the record of a conformant JWT-validating server on loopback: on it every check gives the
//! verdict the bundled reference gives (fixtures/expected/server.toml, `[reference.jwt]`);
//! [`compliant_introspection`] is the same server validating by introspection (`[reference.introspection]`).
//! Tests break exactly one requirement with the small mutators below.

use std::collections::BTreeMap;

use mcp_auth_reports::Verdict;
use serde_json::{json, Map, Value};

use crate::check::{Cause, ObsError};
use crate::evidence::sha256_hex;
use crate::profile::Profile;
use crate::server::ctx::Probe;
use crate::server::obs::{CarryOver, StatelessObs};
use crate::server::obs::{
    ControlWrite, Discovery, Mode, PrmDoc, PrmFetch, PrmSource, ScopeObs, ServerObservations,
    SessionObs, Stimulus, UpstreamCall, UpstreamObs, WriteProbe,
};
use crate::wire::mcp::RpcOutcome;
use crate::wire::www_authenticate;

/// The MCP endpoint of the synthetic server.
pub const TARGET: &str = "http://127.0.0.1:3000/mcp";
/// Its origin (the resource the root well-known PRM names).
pub const ORIGIN: &str = "http://127.0.0.1:3000";
/// The path-inserted well-known PRM URL, also the one the 401 advertises.
pub const PRM_URL: &str = "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp";
/// The root well-known PRM URL.
pub const ROOT_PRM_URL: &str = "http://127.0.0.1:3000/.well-known/oauth-protected-resource";
/// The trusted AS.
pub const ISSUER: &str = "http://127.0.0.1:4000";
/// The upstream API the server fronts.
pub const UPSTREAM: &str = "https://upstream.conformance.test/api";
/// The attacker listener's key URLs.
pub const JKU_URL: &str = "http://127.0.0.1:5000/jwks.json";
pub const X5U_URL: &str = "http://127.0.0.1:5000/cert.pem";

/// The 401 challenge for a request without credentials.
pub const UNAUTH_CHALLENGE: &str = "Bearer resource_metadata=\"http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp\", scope=\"todo:read todo:write\"";
/// The 401 challenge for an invalid token.
pub const INVALID_TOKEN_CHALLENGE: &str = "Bearer error=\"invalid_token\", resource_metadata=\"http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp\"";
/// The 403 challenge for the read-only user's write.
pub const INSUFFICIENT_SCOPE_CHALLENGE: &str = "Bearer error=\"insufficient_scope\", scope=\"todo:read todo:write\", resource_metadata=\"http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp\"";
/// The 400 challenge for a malformed Authorization header.
pub const INVALID_REQUEST_CHALLENGE: &str = "Bearer error=\"invalid_request\"";

/// A probe with its status, outcome and WWW-Authenticate lines.
pub fn probe(exchange: &str, status: u16, outcome: RpcOutcome, www: &[&str]) -> Probe {
    Probe {
        exchange: exchange.to_owned(),
        status,
        outcome,
        www: www.iter().map(|s| (*s).to_owned()).collect(),
        challenges: www_authenticate::parse_all(www.iter().copied()),
        session_id: None,
    }
}

/// A 200 with a JSON-RPC result.
pub fn served(exchange: &str) -> Probe {
    probe(
        exchange,
        200,
        RpcOutcome::Served(json!({"content": []})),
        &[],
    )
}

/// A compliant stateless server: both first contacts and the token-less repeat get the 401 challenge.
pub fn stateless() -> StatelessObs {
    StatelessObs {
        first_contact: vec![
            (
                "tools/list".to_owned(),
                refused("stateless#list", 401, &[UNAUTH_CHALLENGE]),
            ),
            (
                "tools/call list_todos".to_owned(),
                refused("stateless#call", 401, &[UNAUTH_CHALLENGE]),
            ),
        ],
        carry_over: Ok(CarryOver {
            with_token: served("stateless#with-token"),
            without_token: refused("stateless#without-token", 401, &[UNAUTH_CHALLENGE]),
        }),
    }
}

/// A refusal with the given status and challenge lines.
pub fn refused(exchange: &str, status: u16, www: &[&str]) -> Probe {
    probe(exchange, status, RpcOutcome::Refused(status), www)
}

/// A 401 `error="invalid_token"`.
pub fn invalid_token(exchange: &str) -> Probe {
    refused(exchange, 401, &[INVALID_TOKEN_CHALLENGE])
}

/// A 2xx whose tool result says isError (a refusal in the body).
pub fn tool_error(exchange: &str) -> Probe {
    probe(
        exchange,
        200,
        RpcOutcome::ToolError(json!({"isError": true})),
        &[],
    )
}

/// The target refused (HTTP `status`): what a scenario records when its precondition was refused.
pub fn refused_by_target(status: u16) -> ObsError {
    ObsError::target_because(
        format!("HTTP {status}"),
        ["baseline#1".to_owned()],
        Cause::Refused {
            status,
            error: Some("invalid_token".into()),
        },
    )
}

/// The PRM document of the synthetic server, naming `resource`.
pub fn prm_object(resource: &str) -> Map<String, Value> {
    let v = json!({
        "resource": resource,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["todo:read", "todo:write"],
        "bearer_methods_supported": ["header"],
    });
    v.as_object().cloned().expect("an object")
}

/// A PRM fetch answered 200 application/json with `body`.
pub fn prm_fetch(
    source: PrmSource,
    url: &str,
    expected_resource: &str,
    exchange: &str,
    body: Map<String, Value>,
) -> PrmFetch {
    PrmFetch {
        source,
        url: url.to_owned(),
        expected_resource: expected_resource.to_owned(),
        doc: Ok(PrmDoc {
            exchange: exchange.to_owned(),
            status: 200,
            content_type: Some("application/json".into()),
            body: Ok(body),
        }),
    }
}

fn discovery() -> Discovery {
    Discovery {
        fetches: vec![
            prm_fetch(
                PrmSource::Header,
                PRM_URL,
                TARGET,
                "prm#1",
                prm_object(TARGET),
            ),
            prm_fetch(
                PrmSource::PathInserted,
                PRM_URL,
                TARGET,
                "prm#2",
                prm_object(TARGET),
            ),
            prm_fetch(
                PrmSource::Root,
                ROOT_PRM_URL,
                ORIGIN,
                "prm#3",
                prm_object(ORIGIN),
            ),
        ],
    }
}

/// The compliant server's answer to a stimulus in a validation mode (declared with the stimulus).
fn answer(s: Stimulus, mode: Mode) -> Probe {
    use crate::server::scenarios::tokens::CompliantAnswer;
    let ex = format!("token-probe#{s:?}");
    match s.compliant_answer(mode == Mode::Introspection) {
        CompliantAnswer::Served => served(&ex),
        CompliantAnswer::Unauthenticated => refused(&ex, 401, &[UNAUTH_CHALLENGE]),
        CompliantAnswer::InvalidRequest => refused(&ex, 400, &[INVALID_REQUEST_CHALLENGE]),
        CompliantAnswer::InvalidToken => invalid_token(&ex),
    }
}

fn upstream_request(method: &str, status: u16, claims: Value) -> fake_idp::UpstreamRequest {
    fake_idp::UpstreamRequest {
        seq: 0,
        method: method.to_owned(),
        path: "/api/digest".to_owned(),
        query: String::new(),
        headers: vec![(
            "authorization".to_owned(),
            "Bearer exchanged-token".to_owned(),
        )],
        body: String::new(),
        status,
        token: Some("exchanged-token".to_owned()),
        claims: Some(claims),
    }
}

fn upstream_claims(sub: &str, scope: &str) -> Value {
    json!({"aud": UPSTREAM, "sub": sub, "act": {"sub": "mcp-server"}, "scope": scope})
}

fn upstream() -> UpstreamObs {
    UpstreamObs {
        resource: UPSTREAM.to_owned(),
        read: UpstreamCall {
            user: "alice".into(),
            client_token: "client-token-alice".into(),
            probe: served("upstream#read"),
            received: vec![upstream_request(
                "GET",
                200,
                upstream_claims("alice", "todo:read"),
            )],
            exchanges: vec!["upstream-api#1".into()],
        },
        write_read_only: UpstreamCall {
            user: "bob".into(),
            client_token: "client-token-bob".into(),
            probe: tool_error("upstream#write-bob"),
            received: vec![upstream_request(
                "POST",
                403,
                upstream_claims("bob", "todo:write"),
            )],
            exchanges: vec!["upstream-api#2".into()],
        },
        write_full: UpstreamCall {
            user: "alice".into(),
            client_token: "client-token-alice".into(),
            probe: served("upstream#write-alice"),
            received: vec![upstream_request(
                "POST",
                201,
                upstream_claims("alice", "todo:write"),
            )],
            exchanges: vec!["upstream-api#3".into()],
        },
    }
}

/// Twenty random-looking 128-bit hex session ids.
fn session_ids() -> Vec<(String, String)> {
    (0..20)
        .map(|i| {
            (
                sha256_hex(&format!("session-{i}"))[..32].to_owned(),
                format!("session-ids#{i}"),
            )
        })
        .collect()
}

/// The record of a conformant server validating tokens in `mode`.
pub fn compliant_in(mode: Mode) -> ServerObservations {
    let markers: Vec<String> = (1..=3).map(|i| format!("conformance-scope-{i}")).collect();
    ServerObservations {
        target: TARGET.to_owned(),
        tls: crate::spec::TlsProfile::Local,
        profile: Profile::default_profile(),
        mode: Ok(mode),
        baseline: Ok("session-baseline".to_owned()),
        unauthenticated: Ok(refused("unauth#1", 401, &[UNAUTH_CHALLENGE])),
        discovery: Ok(discovery()),
        probes: Stimulus::ALL
            .iter()
            .map(|s| (*s, Ok(answer(*s, mode))))
            .collect::<BTreeMap<_, _>>(),
        attacker_fetches: Vec::new(),
        jku_url: JKU_URL.to_owned(),
        x5u_url: X5U_URL.to_owned(),
        session: Ok(SessionObs {
            no_token: refused("session#no-token", 401, &[UNAUTH_CHALLENGE]),
            expired_token: invalid_token("session#expired"),
            other_user: refused("session#other-user", 404, &[]),
            unauth_get: refused("session#get", 401, &[UNAUTH_CHALLENGE]),
            unauth_delete: refused("session#delete", 401, &[UNAUTH_CHALLENGE]),
        }),
        session_ids: Ok(session_ids()),
        scope: Ok(ScopeObs {
            attempts: (1..=3)
                .map(|i| {
                    refused(
                        &format!("scope#write-{i}"),
                        403,
                        &[INSUFFICIENT_SCOPE_CHALLENGE],
                    )
                })
                .collect(),
            markers,
            read_back: Ok(("[]".to_owned(), "scope#read-back".to_owned())),
            reduced_read: served("scope#reduced-read"),
            control: None,
        }),
        write_before_auth: Ok(WriteProbe {
            attempt: invalid_token("write#attempt"),
            marker: "conformance-write-1".into(),
            read_back: Ok(("[]".to_owned(), "write#read-back".to_owned())),
        }),
        origin: Ok(refused("origin#1", 403, &[])),
        upstream: Ok(upstream()),
        stateless: Ok(stateless()),
        machine: Ok(crate::server::obs::MachineObs {
            valid: served("machine#valid"),
            other_audience: invalid_token("machine#other-audience"),
            write: Some(refused(
                "machine#write",
                403,
                &[INSUFFICIENT_SCOPE_CHALLENGE],
            )),
        }),
        dpop: Ok(dpop()),
        march: Ok(march()),
    }
}

/// An answer of the origin: its status and body (a JSON object, or not JSON).
pub fn origin_answer(exchange: &str, status: u16, body: Value) -> PrmDoc {
    PrmDoc {
        exchange: exchange.to_owned(),
        status,
        content_type: Some("application/json".into()),
        body: match body {
            Value::Object(m) => Ok(m),
            other => Err(format!("the body is not JSON: {other}")),
        },
    }
}

/// A compliant 2025-03-26 server, its own authorization server: metadata at the origin root (issuer the origin),
/// `/authorize` refusing a request without parameters with an OAuth error, `/token` refusing an empty form.
pub fn march() -> crate::server::obs::MarchObs {
    crate::server::obs::MarchObs {
        origin: ORIGIN.to_owned(),
        metadata: origin_answer(
            "march#metadata",
            200,
            json!({
                "issuer": ORIGIN,
                "authorization_endpoint": format!("{ORIGIN}/authorize"),
                "token_endpoint": format!("{ORIGIN}/token"),
            }),
        ),
        authorize: origin_answer("march#authorize", 400, json!({"error": "invalid_request"})),
        token: origin_answer("march#token", 400, json!({"error": "invalid_request"})),
    }
}

/// The DPoP probes of a compliant server: the honest request served, every other presentation refused with 401.
pub fn dpop() -> crate::server::obs::DpopObs {
    use crate::server::obs::DpopStimulus;
    crate::server::obs::DpopObs {
        jkt: "test-jkt".into(),
        probes: DpopStimulus::ALL
            .iter()
            .map(|&s| {
                let id = format!("dpop#{s:?}");
                let p = match s {
                    DpopStimulus::Honest => served(&id),
                    _ => invalid_token(&id),
                };
                (s, Ok(p))
            })
            .collect(),
    }
}

/// The compliant record, but the read-only user's writes are answered as successes that did not land (Scalekit's
/// quickstart `_require_scope`: `{"error": "Insufficient permissions…"}` as an ordinary result), with the full-access
/// user's control write as given and visible in the read-back or not.
pub fn refused_in_text(
    control_visible: bool,
    control: Result<Probe, ObsError>,
) -> ServerObservations {
    compliant().edit_scope(|s| {
        for (i, a) in s.attempts.iter_mut().enumerate() {
            *a = served(&format!("scope#write-{}", i + 1));
        }
        let marker = "conformance-full-access-write-1".to_owned();
        let text = if control_visible {
            format!("{{\"todos\":[{{\"title\":\"{marker}\"}}]}}")
        } else {
            "{\"todos\":[]}".to_owned()
        };
        s.read_back = Ok((text, "scope#read-back".into()));
        s.control = Some(ControlWrite {
            probe: control,
            marker,
        });
    })
}

/// The record of a conformant JWT-validating server (the `[reference.jwt]` verdicts).
pub fn compliant() -> ServerObservations {
    compliant_in(Mode::Jwt)
}

/// The record of a conformant introspecting server (the `[reference.introspection]` verdicts).
pub fn compliant_introspection() -> ServerObservations {
    compliant_in(Mode::Introspection)
}

/// The verdict the compliant reference gives a check in `mode`, read from fixtures/expected/server.toml (the
/// self-test's own expectation, so the two cannot drift apart).
pub fn reference_verdict(id: &str, mode: Mode) -> Verdict {
    static EXPECTED: std::sync::LazyLock<crate::expected::Expected> =
        std::sync::LazyLock::new(|| {
            crate::expected::Expected::for_role(mcp_auth_reports::Role::Server)
                .expect("fixtures/expected/server.toml parses")
        });
    EXPECTED.reference_verdict(mode.as_str(), id)
}

/// Small, named mutations of a record, each breaking one thing.
impl ServerObservations {
    /// Replaces the probe of a stimulus.
    pub fn with_probe(mut self, s: Stimulus, p: Probe) -> Self {
        self.probes.insert(s, Ok(p));
        self
    }

    /// The server serves the stimulus (accepts the token).
    pub fn serving(self, s: Stimulus) -> Self {
        let p = served(&format!("token-probe#{s:?}"));
        self.with_probe(s, p)
    }

    /// The server answers the stimulus with `status` and the given challenge lines.
    pub fn answering(self, s: Stimulus, status: u16, www: &[&str]) -> Self {
        let p = refused(&format!("token-probe#{s:?}"), status, www);
        self.with_probe(s, p)
    }

    /// The stimulus's probe could not be observed.
    pub fn missing_probe(mut self, s: Stimulus, e: ObsError) -> Self {
        self.probes.insert(s, Err(e));
        self
    }

    /// The valid baseline token was refused.
    pub fn baseline_refused(mut self) -> Self {
        self.baseline = Err(refused_by_target(401));
        self
    }

    /// Edits every PRM document served.
    pub fn edit_prm(mut self, edit: impl Fn(&mut Map<String, Value>)) -> Self {
        if let Ok(d) = &mut self.discovery {
            for f in &mut d.fetches {
                if let Ok(PrmDoc { body: Ok(obj), .. }) = &mut f.doc {
                    edit(obj);
                }
            }
        }
        self
    }

    /// Edits the PRM fetch from one source.
    pub fn edit_fetch(mut self, source: PrmSource, edit: impl FnOnce(&mut PrmFetch)) -> Self {
        if let Ok(d) = &mut self.discovery {
            if let Some(f) = d.fetches.iter_mut().find(|f| f.source == source) {
                edit(f);
            }
        }
        self
    }

    /// Drops the PRM fetch from one source (e.g. the 401 advertised no resource_metadata).
    pub fn without_fetch(mut self, source: PrmSource) -> Self {
        if let Ok(d) = &mut self.discovery {
            d.fetches.retain(|f| f.source != source);
        }
        self
    }

    /// Edits the read-only user's write attempts.
    pub fn edit_scope(mut self, edit: impl FnOnce(&mut ScopeObs)) -> Self {
        if let Ok(s) = &mut self.scope {
            edit(s);
        }
        self
    }

    /// Edits the session hijack attempts.
    pub fn edit_session(mut self, edit: impl FnOnce(&mut SessionObs)) -> Self {
        if let Ok(s) = &mut self.session {
            edit(s);
        }
        self
    }

    /// Edits the upstream calls.
    pub fn edit_upstream(mut self, edit: impl FnOnce(&mut UpstreamObs)) -> Self {
        if let Ok(u) = &mut self.upstream {
            edit(u);
        }
        self
    }
}
