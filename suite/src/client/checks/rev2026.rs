//! What MCP 2026-07-28 adds for the client, beyond the migration world (CL-MIG-02 is in migration.rs): the
//! authorization-response `iss` table (SEP-2468: CL-MIX-02.unadvertised, CL-MIX-02.normalized, CL-MIX-04), refresh
//! tokens and `offline_access` (SEP-2207: CL-RT-03, CL-SCP-08), the scope union on step-up (SEP-2350: CL-SCP-09)
//! and `application_type` in DCR (SEP-837: CL-REG-04).

use fake_idp::client_world::{LoggedRequest, RequestKind};
use mcp_auth_reports::Level::{Must, Should};

use super::{baseline_or_error, meta, ClientCheck, Every, Refusal};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::client::obs::{location_param, param, scope_set, string_array, ClientObservations};
use crate::client::scenarios::{
    ISS_NORMALIZED, ISS_UNEXPECTED, OFFLINE_ACCESS_SCOPE, SCOPE_STEP_UP,
};
use crate::client::spawn::ClientExit;
use crate::scenario_or_return;

/// The 2026-07-28 client checks, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        Box::new(CL_MIX_02_UNADVERTISED),
        Box::new(CL_MIX_02_NORMALIZED),
        Box::new(CL_MIX_04),
        Box::new(CL_RT_03),
        Box::new(CL_SCP_08),
        Box::new(CL_SCP_09),
        Box::new(CL_REG_04),
    ]
}

fn is_authorize(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Authorize)
}

fn is_token(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Token { .. })
}

fn is_code_redemption(r: &LoggedRequest) -> bool {
    matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == "authorization_code")
}

/// An authorization response that delivered a code: the decision point of the `iss` table.
fn delivered_code(r: &LoggedRequest) -> bool {
    is_authorize(r) && location_param(r, "code").is_some()
}

/// The parsed JSON body of a registration request (None: not JSON).
fn registration_body(r: &LoggedRequest) -> Option<serde_json::Value> {
    serde_json::from_str(&r.body).ok()
}

/// The `scope` of the Bearer challenge a response carried (the world wrote it: no parse failure expected).
fn challenge_scope(r: &LoggedRequest) -> Option<String> {
    let lines = r
        .response_headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str());
    crate::wire::www_authenticate::parse_all(lines)
        .ok()?
        .into_iter()
        .find(|c| c.is_bearer())
        .and_then(|c| c.param("scope").map(str::to_owned))
}

/// A value the client chose, bounded to 64 characters and escaped (`{:?}`) for the report.
fn short(v: &str) -> String {
    let cut: String = v.chars().take(64).collect();
    if cut.len() < v.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

/// CL-MIX-02.unadvertised: a present `iss` is compared even when the AS does not advertise iss support.
const CL_MIX_02_UNADVERTISED: Refusal = Refusal {
    meta: meta("CL-MIX-02.unadvertised", "A wrong iss is rejected even when the AS does not advertise iss", Must, &["RFC 9207 §2.4", "OAuth 2.1 §7.14.1", "SEP-2468"],
        text!(ISS_UNEXPECTED, ": the metadata has no authorization_response_iss_parameter_supported, and the response says iss=https://evil.example → no token request (a present iss is compared whatever the metadata says).")),
    scenario: ISS_UNEXPECTED,
    decision: "an authorization response with an unadvertised wrong iss",
    reached: delivered_code,
    forbidden_what: "token request",
    forbidden: is_token,
};

/// CL-MIX-02.normalized: the comparison is a simple string comparison, no URL normalization.
const CL_MIX_02_NORMALIZED: Refusal = Refusal {
    meta: meta("CL-MIX-02.normalized", "iss is compared as a plain string, without URL normalization", Must, &["RFC 9207 §2.4", "RFC 3986 §6.2.1", "SEP-2468"],
        text!(ISS_NORMALIZED, ": iss support is advertised and the response's iss is the issuer plus a trailing / → no token request (equal only after normalization, which the comparison must not apply).")),
    scenario: ISS_NORMALIZED,
    decision: "an authorization response whose iss is the issuer plus `/`",
    reached: delivered_code,
    forbidden_what: "token request",
    forbidden: is_token,
};

/// CL-MIX-04: no `iss` and no advertisement → proceed to the code redemption.
const CL_MIX_04: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-MIX-04", "Without iss support advertised, a response without iss is accepted", Must, &["RFC 9207 §2.4", "SEP-2468"],
        text!(OFFLINE_ACCESS_SCOPE, ": the AS neither advertises authorization_response_iss_parameter_supported nor sends iss → the client redeems the code (the fourth row of the table: proceed).")),
    eval: cl_mix_04,
};
fn cl_mix_04(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, OFFLINE_ACCESS_SCOPE);
    let expected =
        "after an authorization response without iss (not advertised): the code is redeemed";
    let Some(point) = s.log.iter().find(|r| delivered_code(r)) else {
        return Evaluation::error(format!(
            "{}: the client never received an authorization response with a code; {}",
            s.def.name,
            s.progress()
        ))
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name);
    };
    if let Some(redeemed) = s
        .log
        .iter()
        .find(|r| r.seq > point.seq && is_code_redemption(r))
    {
        return Evaluation::pass(
            expected,
            format!(
                "authorization response without iss at #{}; code redeemed at #{}",
                point.seq, redeemed.seq
            ),
        )
        .with_evidence([s.id(point), s.id(redeemed)])
        .with_scenario(s.def.name);
    }
    if let Some(e) = baseline_or_error(o, s.def.name) {
        return e;
    }
    // The client stopped on its own after a valid response: a decision. Killed or timed out: no decision.
    if !matches!(s.run.exit, ClientExit::Exited(Some(_))) {
        return Evaluation::error(format!(
            "{}: no code redemption after #{}, but the client {} (no decision observed)",
            s.def.name,
            point.seq,
            s.run.exit.describe()
        ))
        .with_evidence([s.id(point)])
        .with_scenario(s.def.name);
    }
    Evaluation::violated(
        m.level,
        expected,
        format!(
            "authorization response without iss at #{}; the client never redeemed the code and {}",
            point.seq,
            s.run.exit.describe()
        ),
    )
    .with_evidence([s.id(point)])
    .with_scenario(s.def.name)
}

/// CL-RT-03: a client that wants refresh tokens registers the `refresh_token` grant type.
const CL_RT_03: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-RT-03", "Client metadata lists the refresh_token grant type", Should, &["RFC 7591 §2", "SEP-2207"],
        text!(OFFLINE_ACCESS_SCOPE, ": the AS lists offline_access and issues refresh tokens → the DCR request's grant_types includes refresh_token.")),
    eval: cl_rt_03,
};
fn cl_rt_03(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, OFFLINE_ACCESS_SCOPE);
    let expected = "grant_types includes refresh_token";
    let registrations: Vec<&LoggedRequest> = s
        .log
        .iter()
        .filter(|r| matches!(r.kind, RequestKind::Register) && r.method == "POST")
        .collect();
    let Some(first) = registrations.first() else {
        return Evaluation::error(format!(
            "{}: the client sent no registration request; {}",
            s.def.name,
            s.progress()
        ))
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name);
    };
    let grant_types = registration_body(first)
        .map(|v| string_array(&v, "grant_types"))
        .unwrap_or_default();
    if grant_types.iter().any(|g| g == "refresh_token") {
        Evaluation::pass(expected, format!("grant_types {grant_types:?}"))
    } else {
        Evaluation::violated(
            m.level,
            expected,
            if grant_types.is_empty() {
                "no grant_types (RFC 7591 default: authorization_code only)".to_owned()
            } else {
                format!("grant_types {grant_types:?}")
            },
        )
    }
    .with_evidence([s.id(first)])
    .with_scenario(s.def.name)
}

/// CL-SCP-08: `offline_access` only when the AS lists it.
const CL_SCP_08: Every = Every {
    meta: meta(
        "CL-SCP-08",
        "offline_access is requested only when the AS lists it",
        Should,
        &["SEP-2207"],
        "In every world whose AS metadata does not list offline_access in scopes_supported (all but auth/offline-access-scope), no authorization request's scope includes offline_access.",
    ),
    what: "authorization request to an AS that does not list offline_access",
    expected: "no offline_access in scope",
    select: |s, r| {
        is_authorize(r)
            && !(s.def.world)()
                .auth_servers
                .iter()
                .any(|a| a.extra_scopes_supported.iter().any(|x| x == "offline_access"))
    },
    problem: |_, r| {
        scope_set(param(r, "scope"))
            .contains("offline_access")
            .then(|| format!("scope {}", short(param(r, "scope").unwrap_or(""))))
    },
};

/// CL-SCP-09: step-up requests the union of what was asked before and what the challenge asks.
const CL_SCP_09: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-SCP-09", "Step-up asks for the union of the earlier and the challenged scopes", Should, &["SEP-2350"],
        text!(SCOPE_STEP_UP, ": the first authorization asks for todo:read x:special; the 403 challenge names only todo:write → the step-up authorization request's scope contains todo:read, x:special and todo:write.")),
    eval: cl_scp_09,
};
fn cl_scp_09(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, SCOPE_STEP_UP);
    let authorizes: Vec<&LoggedRequest> = s.log.iter().filter(|r| is_authorize(r)).collect();
    let Some(forbidden) = s
        .log
        .iter()
        .find(|r| r.origin == fake_idp::client_world::Origin::Mcp && r.status == 403)
    else {
        return Evaluation::error(format!(
            "{}: the client never received the 403; {}",
            s.def.name,
            s.progress()
        ))
        .with_scenario(s.def.name);
    };
    let (Some(first), Some(step_up)) = (
        authorizes.iter().find(|r| r.seq < forbidden.seq),
        authorizes.iter().find(|r| r.seq > forbidden.seq),
    ) else {
        return Evaluation::error(format!(
            "{}: no authorization request before and after the 403 (#{}), so there is no step-up to judge (CL-SCP-05 judges whether it happens); {}",
            s.def.name,
            forbidden.seq,
            s.progress()
        ))
        .with_evidence([s.id(forbidden)])
        .with_scenario(s.def.name);
    };
    let challenged = challenge_scope(forbidden);
    let before = scope_set(param(first, "scope"));
    let after = scope_set(param(step_up, "scope"));
    let wanted: std::collections::BTreeSet<String> = before
        .iter()
        .cloned()
        .chain(scope_set(challenged.as_deref()))
        .collect();
    let missing: Vec<&String> = wanted.difference(&after).take(5).collect();
    let expected = format!("step-up scope ⊇ {wanted:?} (earlier request ∪ challenge)");
    let actual = format!(
        "first authorization #{} scope {}; 403 #{} scope {}; step-up #{} scope {}",
        first.seq,
        short(param(first, "scope").unwrap_or("")),
        forbidden.seq,
        short(challenged.as_deref().unwrap_or("")),
        step_up.seq,
        short(param(step_up, "scope").unwrap_or(""))
    );
    let e = if missing.is_empty() {
        Evaluation::pass(expected, actual)
    } else {
        Evaluation::violated(m.level, expected, format!("{actual}: missing {missing:?}"))
    };
    e.with_evidence([s.id(first), s.id(forbidden), s.id(step_up)])
        .with_scenario(s.def.name)
}

/// CL-REG-04: DCR names an `application_type`.
const CL_REG_04: Every = Every {
    meta: meta(
        "CL-REG-04",
        "Dynamic client registration specifies application_type",
        Must,
        &["SEP-837"],
        "Every DCR request (every world where the client registers dynamically) carries application_type \"native\" or \"web\".",
    ),
    what: "registration request",
    expected: "application_type \"native\" or \"web\"",
    select: |_, r| matches!(r.kind, RequestKind::Register) && r.method == "POST",
    problem: |_, r| {
        let body = registration_body(r);
        match body.as_ref().and_then(|v| v.get("application_type")) {
            Some(v) if v == "native" || v == "web" => None,
            Some(v) => Some(format!("application_type {}", short(&v.to_string()))),
            None => Some("no application_type".into()),
        }
    },
};
