//! What the client puts in its requests: CL-RES-*, CL-SCP-*, CL-TKE-*, CL-RED-*, CL-MIX-*.

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fake_idp::client_world::{LoggedRequest, Origin, RequestKind};
use mcp_auth_reports::Level::{May, Must, Should};

use super::{completed_or_error, meta, ClientCheck, Every, Refusal};
use crate::check::{Check, CheckMeta, Evaluation, FnCheck};
use crate::client::obs::{
    location_param, param, response_member, scope_set, ClientObservations, ScenarioObs,
};
use crate::client::scenarios::{
    Registration, ISS_SUPPORTED_MISSING, ISS_WRONG_ISSUER, METADATA_DEFAULT, PRE_CLIENT_ID,
    PRE_CLIENT_SECRET, PRE_REGISTRATION, SCOPE_RETRY_LIMIT, SCOPE_STEP_UP, STATE_TAMPERED,
    TOKEN_ENDPOINT_AUTH_POST, TOKEN_REFRESH,
};
use crate::scenario_or_return;

macro_rules! first_authorize_or_return {
    ($s:expr) => {
        match first_authorize($s) {
            Ok(r) => r,
            Err(e) => return e,
        }
    };
}

/// Every request-content check, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        Box::new(CL_RES_01),
        Box::new(CL_RES_02_CODE),
        Box::new(CL_RES_02_REFRESH),
        Box::new(CL_RES_03),
        Box::new(CL_RES_04),
        Box::new(CL_RES_05),
        Box::new(CL_RES_06),
        Box::new(CL_SCP_01),
        Box::new(CL_SCP_02),
        Box::new(CL_SCP_03),
        Box::new(CL_SCP_04),
        Box::new(CL_SCP_05),
        Box::new(CL_SCP_06),
        Box::new(CL_SCP_07),
        Box::new(CL_TKE_01),
        Box::new(CL_TKE_02),
        Box::new(CL_TKE_03_BASIC),
        Box::new(CL_TKE_03_POST),
        Box::new(CL_RED_01),
        Box::new(CL_RED_02),
        Box::new(CL_RED_03),
        Box::new(CL_RED_05),
        Box::new(CL_MIX_02),
        Box::new(CL_MIX_03),
    ]
}

/// CL-RES-01: authorization requests carry resource.
const CL_RES_01: Every = Every {
    meta: meta(
        "CL-RES-01",
        "Authorization requests carry resource",
        Must,
        &["MCP §8", "MCP §11.1", "RFC 8707 §2"],
        "Every authorization request in every scenario has a non-empty resource parameter.",
    ),
    what: "authorization request",
    expected: "resource present",
    select: |_, r| is_authorize(r),
    problem: no_resource,
};

/// CL-RES-02.code: code redemptions carry resource.
const CL_RES_02_CODE: Every = Every {
    meta: meta(
        "CL-RES-02.code",
        "Code redemptions carry resource",
        Must,
        &["MCP §8", "RFC 8707 §2.2"],
        "Every authorization_code token request has a resource parameter.",
    ),
    what: "code redemption",
    expected: "resource present",
    select: |_, r| is_grant(r, "authorization_code"),
    problem: no_resource,
};

/// CL-RES-02.refresh: refresh requests carry resource.
const CL_RES_02_REFRESH: Every = Every {
    meta: meta(
        "CL-RES-02.refresh",
        "Refresh requests carry resource",
        Must,
        &["MCP §8", "RFC 8707 §2.2"],
        text!(
            "Every refresh_token request (",
            TOKEN_REFRESH,
            " forces several) has a resource parameter. Covers CL-RT-02."
        ),
    ),
    what: "refresh request",
    expected: "resource present",
    select: |_, r| is_grant(r, "refresh_token"),
    problem: no_resource,
};

/// CL-RES-03: resource is the MCP server's canonical URI.
const CL_RES_03: Every = Every {
    meta: meta("CL-RES-03", "resource is the MCP server's canonical URI", Must, &["MCP §8", "MCP §8.1", "RFC 8707 §2"],
        "Every resource value equals the canonical MCP endpoint URL (lowercase scheme and host) or the validated PRM resource: absolute, no fragment, not another server."),
    what: "resource parameter",
    expected: "the canonical MCP URL",
    select: |_, r| (is_authorize(r) || is_token(r)) && param(r, "resource").is_some(),
    problem: |s, r| {
        let v = param(r, "resource").unwrap_or("");
        (canonical(v) != canonical(&s.mcp_url)).then(|| format!("resource `{v}` (MCP URL {})", s.mcp_url))
    },
};

/// CL-RES-04: resource is sent even when the AS gives no sign of RFC 8707.
const CL_RES_04: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-RES-04", "resource is sent even when the AS gives no sign of RFC 8707", Must, &["MCP §8.1"],
        text!(METADATA_DEFAULT, ": the AS metadata says nothing about resource indicators → the authorization request still carries resource.")),
    eval: |m, o| {
        let s = scenario_or_return!(o, METADATA_DEFAULT);
        let r = first_authorize_or_return!(s);
        let e = match param(r, "resource") {
            Some(v) if !v.is_empty() => Evaluation::pass("resource present", format!("resource={v}")),
            _ => Evaluation::violated(m.level, "resource present", "no resource parameter"),
        };
        e.with_evidence([s.id(r)])
    },
};

/// CL-RES-05: the same resource in the authorization and token requests.
const CL_RES_05: Every = Every {
    meta: meta(
        "CL-RES-05",
        "The same resource in the authorization and token requests",
        Must,
        &["MCP §8", "RFC 8707 §2.2"],
        "For every redeemed code, the token request's resource equals the authorization request's.",
    ),
    what: "code redemption",
    expected: "resource equal to the authorization request's",
    select: |_, r| is_grant(r, "authorization_code"),
    problem: |s, r| {
        let code = param(r, "code").unwrap_or("");
        let auth = s
            .log
            .iter()
            .find(|a| is_authorize(a) && location_param(a, "code").as_deref() == Some(code))?;
        let (a, t) = (param(auth, "resource"), param(r, "resource"));
        (a != t).then(|| format!("authorization resource {a:?}, token resource {t:?}"))
    },
};

/// CL-RES-06: resource is the most specific URI.
const CL_RES_06: Every = Every {
    meta: meta(
        "CL-RES-06",
        "resource is the most specific URI",
        Should,
        &["MCP §8.1"],
        "The resource is not the bare origin when the MCP endpoint has a path; WARN otherwise.",
    ),
    what: "resource parameter",
    expected: "the MCP endpoint URL, not its origin",
    select: |_, r| is_authorize(r) && param(r, "resource").is_some(),
    problem: |s, r| {
        let v = param(r, "resource").unwrap_or("");
        let origin = url::Url::parse(&s.mcp_url)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        (v.trim_end_matches('/') == origin)
            .then(|| format!("resource `{v}` is the origin of {}", s.mcp_url))
    },
};

/// CL-SCP-01: the initial authorization uses the challenge's scope.
const CL_SCP_01: ScopeRequested = ScopeRequested {
    meta: meta("CL-SCP-01", "The initial authorization uses the challenge's scope", Should, &["MCP §6"],
        text!(SCOPE_STEP_UP, ": the 401 says scope=\"todo:read x:special\" while scopes_supported lists todo:read and todo:write → the first authorization request asks exactly for todo:read x:special.")),
    scenario: SCOPE_STEP_UP,
    want: Some(&["todo:read", "x:special"]),
};

/// CL-SCP-02: challenged scopes are authoritative, never filtered.
const CL_SCP_02: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-SCP-02", "Challenged scopes are authoritative, never filtered", Must, &["MCP §4.2"],
        text!(SCOPE_STEP_UP, ": the challenge asks for x:special, absent from scopes_supported → the first authorization request still includes x:special.")),
    eval: |m, o| {
        let s = scenario_or_return!(o, SCOPE_STEP_UP);
        let r = first_authorize_or_return!(s);
        let got = scope_set(param(r, "scope"));
        let want: BTreeSet<String> = ["todo:read", "x:special"].iter().map(|x| (*x).to_owned()).collect();
        let e = if want.is_subset(&got) {
            Evaluation::pass("scope ⊇ {todo:read, x:special}", format!("scope={:?}", param(r, "scope")))
        } else {
            Evaluation::violated(m.level, "scope ⊇ {todo:read, x:special}", format!("scope={:?}", param(r, "scope")))
        };
        e.with_evidence([s.id(r)])
    },
};

/// CL-SCP-03: without a challenge scope, all scopes_supported are requested.
const CL_SCP_03: ScopeRequested = ScopeRequested {
    meta: meta("CL-SCP-03", "Without a challenge scope, all scopes_supported are requested", Should, &["MCP §6"],
        text!(METADATA_DEFAULT, ": no scope in the 401; PRM lists todo:read and todo:write → the authorization request asks for both.")),
    scenario: METADATA_DEFAULT,
    want: Some(&["todo:read", "todo:write"]),
};

/// CL-SCP-04: without any scope source, scope is omitted.
const CL_SCP_04: ScopeRequested = ScopeRequested {
    meta: meta(
        "CL-SCP-04",
        "Without any scope source, scope is omitted",
        Should,
        &["MCP §6"],
        text!(
            STATE_TAMPERED,
            ": no challenge scope and no scopes_supported → no scope parameter."
        ),
    ),
    scenario: STATE_TAMPERED,
    want: None,
};

/// CL-SCP-05: 403 insufficient_scope leads to step-up and a retry.
const CL_SCP_05: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-SCP-05", "403 insufficient_scope leads to step-up and a retry", Should, &["MCP §10.1.2"],
        text!(SCOPE_STEP_UP, ": the first MCP operation (tools/list or tools/call) answers 403 scope=\"todo:read todo:write\" → a new authorization request including todo:write, then the same operation succeeds.")),
    eval: cl_scp_05,
};
fn cl_scp_05(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, SCOPE_STEP_UP);
    let Some(forbidden) = s
        .log
        .iter()
        .find(|r| r.origin == Origin::Mcp && r.status == 403)
    else {
        return Evaluation::error(format!(
            "the client never received the 403; {}",
            s.progress()
        ))
        .with_scenario(s.def.name);
    };
    let operation = mcp_method(forbidden);
    let reauth = s.log.iter().find(|r| {
        r.seq > forbidden.seq
            && is_authorize(r)
            && scope_set(param(r, "scope")).contains("todo:write")
    });
    let retried = reauth.and_then(|a| {
        s.log.iter().find(|r| {
            r.seq > a.seq
                && r.status == 200
                && mcp_method(r) == operation
                && matches!(
                    r.kind,
                    RequestKind::Mcp {
                        token_valid: true,
                        ..
                    }
                )
        })
    });
    let what = operation.unwrap_or("the request");
    let expected = format!("a new authorization including todo:write, then {what} again, served");
    match (reauth, retried) {
        (Some(a), Some(r)) => Evaluation::pass(
            expected,
            format!(
                "{what} refused at #{}; re-authorized at #{} with scope {:?}; {what} served at #{}",
                forbidden.seq,
                a.seq,
                param(a, "scope"),
                r.seq
            ),
        )
        .with_evidence([s.id(forbidden), s.id(a), s.id(r)]),
        (Some(a), None) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "re-authorized at #{} but {what} was never served afterwards; {}",
                a.seq,
                s.progress()
            ),
        )
        .with_evidence([s.id(forbidden), s.id(a)]),
        (None, _) => Evaluation::violated(
            m.level,
            expected,
            format!("no step-up after the 403 to {what}; {}", s.progress()),
        )
        .with_evidence([s.id(forbidden)]),
    }
}

/// CL-SCP-06: step-up attempts are limited.
const CL_SCP_06: FnCheck<ClientObservations> = FnCheck {
    meta: meta(
        "CL-SCP-06",
        "Step-up attempts are limited",
        Should,
        &["MCP §10.1.2"],
        text!(
            SCOPE_RETRY_LIMIT,
            ": every MCP operation answers 403 → at most 3 authorization requests."
        ),
    ),
    eval: cl_scp_06,
};
fn cl_scp_06(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, SCOPE_RETRY_LIMIT);
    if !s
        .log
        .iter()
        .any(|r| r.origin == Origin::Mcp && r.status == 403)
    {
        return Evaluation::error(format!("the client never received a 403; {}", s.progress()))
            .with_scenario(s.def.name);
    }
    let n = s.authorizes().len();
    let expected = "at most 3 authorization requests";
    let ev = s.authorizes().last().map(|r| s.id(r));
    if n <= 3 {
        Evaluation::pass(
            expected,
            format!("{n} authorization request(s); {}", s.run.exit.describe()),
        )
        .with_evidence(ev)
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!("{n} authorization requests; {}", s.run.exit.describe()),
        )
        .with_evidence(ev)
    }
}

/// CL-SCP-07: a refresh asks for no scope beyond the grant.
const CL_SCP_07: Every = Every {
    meta: meta("CL-SCP-07", "A refresh asks for no scope beyond the grant", Must, &["OAuth 2.1 §4.3.1"],
        "Every refresh_token request that carries scope asks for a subset of the scope granted by the code exchange."),
    what: "refresh request",
    expected: "scope absent or ⊆ the granted scope",
    select: |_, r| is_grant(r, "refresh_token"),
    problem: cl_scp_07,
};
fn cl_scp_07(s: &ScenarioObs, r: &LoggedRequest) -> Option<String> {
    let asked = param(r, "scope")?;
    let granted: BTreeSet<String> = s
        .log
        .iter()
        .filter(|t| is_grant(t, "authorization_code") && t.status == 200)
        .flat_map(|t| {
            let v = crate::client::obs::response_member(t, "scope");
            scope_set(v.as_ref().and_then(|v| v.as_str()))
        })
        .collect();
    let extra: Vec<String> = scope_set(Some(asked))
        .difference(&granted)
        .cloned()
        .collect();
    (!extra.is_empty()).then(|| format!("asks for {extra:?} beyond the grant"))
}

/// CL-TKE-01: token requests are form-encoded POSTs.
const CL_TKE_01: Every = Every {
    meta: meta(
        "CL-TKE-01",
        "Token requests are form-encoded POSTs",
        Must,
        &["OAuth 2.1 §3.2", "OAuth 2.1 §3.2.2"],
        "Every token request uses POST with Content-Type application/x-www-form-urlencoded.",
    ),
    what: "token request",
    expected: "POST application/x-www-form-urlencoded",
    select: |_, r| is_token(r),
    problem: |_, r| {
        let ct = r
            .headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default();
        (r.method != "POST" || !ct.starts_with("application/x-www-form-urlencoded"))
            .then(|| format!("{} with Content-Type `{ct}`", r.method))
    },
};

/// CL-TKE-02: a public client names itself in the code redemption.
const CL_TKE_02: Every = Every {
    meta: meta(
        "CL-TKE-02",
        "A public client names itself in the code redemption",
        Must,
        &["OAuth 2.1 §4.1.3"],
        "Every code redemption without client authentication carries client_id.",
    ),
    what: "public-client code redemption",
    expected: "client_id present",
    select: |_, r| {
        is_grant(r, "authorization_code")
            && basic(r).is_none()
            && param(r, "client_secret").is_none()
    },
    problem: |_, r| {
        param(r, "client_id")
            .is_none_or(str::is_empty)
            .then(|| "no client_id".into())
    },
};

/// CL-TKE-03.basic: client_secret_basic when that is the method.
const CL_TKE_03_BASIC: TokenEndpointAuth = TokenEndpointAuth {
    meta: meta("CL-TKE-03.basic", "Client credentials are sent with client_secret_basic when that is the method", Must, &["OAuth 2.1 §3.2.1", "RFC 6749 §2.3.1"],
        text!(PRE_REGISTRATION, ": the AS expects client_secret_basic → token requests carry Basic base64(urlencode(id):urlencode(secret)) with the context credentials, and no secret in the form.")),
    scenario: PRE_REGISTRATION,
    method: "client_secret_basic",
};

/// CL-TKE-03.post: client_secret_post when that is the method.
const CL_TKE_03_POST: TokenEndpointAuth = TokenEndpointAuth {
    meta: meta("CL-TKE-03.post", "Client credentials are sent with client_secret_post when that is the method", Must, &["OAuth 2.1 §3.2.1"],
        text!(TOKEN_ENDPOINT_AUTH_POST, ": the AS supports only client_secret_post and registration issued a secret → client_id and client_secret in the form, no Basic header.")),
    scenario: TOKEN_ENDPOINT_AUTH_POST,
    method: "client_secret_post",
};

/// CL-RED-01: the redirect_uri is one the AS knows.
const CL_RED_01: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-RED-01", "The redirect_uri is one the AS knows", Must, &["MCP §11.5", "OAuth 2.1 §2.3.1"],
        text!(METADATA_DEFAULT, " (DCR): every authorization request's redirect_uri is among those the client registered (exact match; only a loopback IP literal's port may vary). A pre-registered client is never told a redirect URI by the contract, so it is not judged here.")),
    eval: cl_red_01,
};
fn cl_red_01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let expected = "every redirect_uri registered in the DCR body";
    let s = scenario_or_return!(o, METADATA_DEFAULT);
    let registered: Vec<String> = s
        .log
        .iter()
        .filter(|r| matches!(r.kind, RequestKind::Register))
        .filter_map(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
        .flat_map(|v| crate::client::obs::string_array(&v, "redirect_uris"))
        .collect();
    let auths = s.authorizes();
    if auths.is_empty() {
        return completed_or_error(s).unwrap_or_else(|| {
            Evaluation::error("no authorization request").with_scenario(s.def.name)
        });
    }
    let bad: Vec<&&LoggedRequest> = auths
        .iter()
        .filter(|r| !redirect_matches(param(r, "redirect_uri").unwrap_or(""), &registered))
        .collect();
    match bad.first() {
        None => Evaluation::pass(
            expected,
            format!("{} authorization request(s), all registered", auths.len()),
        )
        .with_evidence(auths.first().map(|r| s.id(r))),
        Some(r) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "`{}` not in {registered:?}",
                param(r, "redirect_uri").unwrap_or("")
            ),
        )
        .with_evidence(bad.iter().map(|r| s.id(r)).take(3)),
    }
}

/// CL-RED-02: redirect URIs are loopback or https.
const CL_RED_02: Every = Every {
    meta: meta(
        "CL-RED-02",
        "Redirect URIs are loopback or https",
        Must,
        &["MCP §11.3"],
        "Every redirect_uri is http on 127.0.0.1, [::1] or localhost, or https.",
    ),
    what: "authorization request",
    expected: "loopback http or https redirect_uri",
    select: |_, r| is_authorize(r),
    problem: |_, r| {
        let v = param(r, "redirect_uri").unwrap_or("");
        match url::Url::parse(v) {
            Ok(u) if u.scheme() == "https" => None,
            Ok(u)
                if u.scheme() == "http"
                    && crate::http::is_loopback_host(u.host_str().unwrap_or("")) =>
            {
                None
            }
            _ => Some(format!("redirect_uri `{v}`")),
        }
    },
};

/// CL-RED-03: a tampered state is rejected.
const CL_RED_03: Refusal = Refusal {
    meta: meta("CL-RED-03", "A tampered state is rejected", Should, &["MCP §11.5", "OAuth 2.1 §7.12"],
        text!(STATE_TAMPERED, ": the authorization response carries a state the client never sent → no token request.")),
    scenario: STATE_TAMPERED,
    decision: "an authorization response with a foreign state",
    reached: |r| is_authorize(r) && location_param(r, "code").is_some(),
    forbidden_what: "token request",
    forbidden: is_token,
};

/// CL-RED-05: a loopback IP literal rather than localhost.
const CL_RED_05: Every = Every {
    meta: meta(
        "CL-RED-05",
        "A loopback IP literal rather than localhost",
        May,
        &["OAuth 2.1 §8.4.2"],
        "NOT RECOMMENDED: redirect URIs on `localhost` are reported INFO.",
    ),
    what: "authorization request",
    expected: "a loopback IP literal",
    select: |_, r| is_authorize(r),
    problem: |_, r| {
        let v = param(r, "redirect_uri").unwrap_or("");
        url::Url::parse(v)
            .ok()
            .filter(|u| u.host_str() == Some("localhost"))
            .map(|_| format!("redirect_uri `{v}`"))
    },
};

/// CL-MIX-02: a wrong iss in the authorization response is rejected.
const CL_MIX_02: Refusal = Refusal {
    meta: meta("CL-MIX-02", "A wrong iss in the authorization response is rejected", Must, &["OAuth 2.1 §7.14.1", "RFC 9207 §2.4"],
        text!(ISS_WRONG_ISSUER, ": iss support is advertised and the response says iss=https://evil.example → no token request.")),
    scenario: ISS_WRONG_ISSUER,
    decision: "an authorization response with a wrong iss",
    reached: |r| is_authorize(r) && location_param(r, "code").is_some(),
    forbidden_what: "token request",
    forbidden: is_token,
};

/// CL-MIX-03: a missing iss is rejected when the AS advertises iss.
const CL_MIX_03: Refusal = Refusal {
    meta: meta("CL-MIX-03", "A missing iss is rejected when the AS advertises iss", Should, &["RFC 9207 §2.4"],
        text!(ISS_SUPPORTED_MISSING, ": iss advertised but absent → no token request (WARN under 2025-11-25; explicit in MCP only from 2026-07-28).")),
    scenario: ISS_SUPPORTED_MISSING,
    decision: "an authorization response without iss",
    reached: |r| is_authorize(r) && location_param(r, "code").is_some(),
    forbidden_what: "token request",
    forbidden: is_token,
};

/// The JSON-RPC method of an MCP request.
fn mcp_method(r: &LoggedRequest) -> Option<&str> {
    match &r.kind {
        RequestKind::Mcp { method, .. } => method.as_deref(),
        _ => None,
    }
}

/// The decoded `Authorization: Basic` pair.
fn basic(r: &LoggedRequest) -> Option<(String, String)> {
    let v = r
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())?;
    let (scheme, cred) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(cred.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let un = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((un(id), un(secret)))
}

/// The client credentials the world gave the client: the pre-registered pair, or what registration issued.
fn issued_credentials(s: &ScenarioObs) -> Option<(String, String)> {
    if matches!(s.def.registration, Registration::Pre(_)) {
        return Some((PRE_CLIENT_ID.to_owned(), PRE_CLIENT_SECRET.to_owned()));
    }
    s.log
        .iter()
        .rev()
        .filter(|r| matches!(r.kind, RequestKind::Register) && (200..300).contains(&r.status))
        .find_map(|r| {
            let id = response_member(r, "client_id")?.as_str()?.to_owned();
            let secret = response_member(r, "client_secret")?.as_str()?.to_owned();
            Some((id, secret))
        })
}

/// Whether `uri` matches one of `registered` (exactly, or differing only in the port of a loopback IP literal).
pub fn redirect_matches(uri: &str, registered: &[String]) -> bool {
    registered.iter().any(|reg| {
        if reg == uri {
            return true;
        }
        match (url::Url::parse(reg), url::Url::parse(uri)) {
            (Ok(a), Ok(b)) => {
                let literal = matches!(b.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                    || matches!(b.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
                literal
                    && a.scheme() == b.scheme()
                    && a.host() == b.host()
                    && a.path() == b.path()
                    && a.query() == b.query()
            }
            _ => false,
        }
    })
}

/// CL-SCP-01/03/04's family: the first authorization request of `scenario` asks for exactly the scopes `want` (no
/// scope parameter for `None`).
struct ScopeRequested {
    meta: CheckMeta,
    scenario: &'static str,
    want: Option<&'static [&'static str]>,
}

impl Check<ClientObservations> for ScopeRequested {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        let (m, want) = (&self.meta, self.want);
        let s = scenario_or_return!(o, self.scenario);
        let r = first_authorize_or_return!(s);
        let got = param(r, "scope");
        let (ok, expected) = match want {
            None => (got.is_none(), "no scope parameter".to_owned()),
            Some(w) => {
                let set: BTreeSet<String> = w.iter().map(|x| (*x).to_owned()).collect();
                (scope_set(got) == set, format!("scope = {}", w.join(" ")))
            }
        };
        let actual = match got {
            Some(v) => format!("scope={v}"),
            None => "no scope parameter".into(),
        };
        let e = if ok {
            Evaluation::pass(expected, actual)
        } else {
            Evaluation::violated(m.level, expected, actual)
        };
        e.with_evidence([s.id(r)])
    }
}

/// CL-TKE-03's family: every token request of `scenario` authenticates with `method` (`client_secret_basic` or
/// `client_secret_post`) and the credentials the world gave the client.
struct TokenEndpointAuth {
    meta: CheckMeta,
    scenario: &'static str,
    method: &'static str,
}

impl Check<ClientObservations> for TokenEndpointAuth {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        let (m, name, method) = (&self.meta, self.scenario, self.method);
        let s = scenario_or_return!(o, name);
        let tokens: Vec<&LoggedRequest> = s.log.iter().filter(|r| is_token(r)).collect();
        if tokens.is_empty() {
            return completed_or_error(s).unwrap_or_else(|| {
                Evaluation::error("no token request").with_scenario(s.def.name)
            });
        }
        let Some((client_id, secret)) = issued_credentials(s) else {
            return Evaluation::error(format!(
                "{name}: the client obtained no client credentials (no successful registration); {}",
                s.progress()
            ))
            .with_scenario(s.def.name);
        };
        let expected = format!("{method} with the client's credentials");
        let mut problems = Vec::new();
        for r in &tokens {
            let b = basic(r);
            let form_secret = param(r, "client_secret");
            let ok = match method {
                "client_secret_basic" => {
                    b.as_ref() == Some(&(client_id.clone(), secret.clone()))
                        && form_secret.is_none()
                }
                _ => {
                    b.is_none()
                        && param(r, "client_id") == Some(client_id.as_str())
                        && form_secret == Some(secret.as_str())
                }
            };
            if !ok {
                problems.push(format!(
                    "#{}: Basic {:?}, form client_secret {}",
                    r.seq,
                    b.map(|(i, _)| i),
                    if form_secret.is_some() {
                        "present"
                    } else {
                        "absent"
                    }
                ));
            }
        }
        let ev = tokens.iter().map(|r| s.id(r)).take(3);
        if problems.is_empty() {
            Evaluation::pass(
                expected,
                format!(
                    "{} token request(s) authenticated with {method}",
                    tokens.len()
                ),
            )
            .with_evidence(ev)
        } else {
            Evaluation::violated(m.level, expected, problems.join("; ")).with_evidence(ev)
        }
    }
}

fn no_resource(_: &ScenarioObs, r: &LoggedRequest) -> Option<String> {
    param(r, "resource")
        .is_none_or(str::is_empty)
        .then(|| "no resource".into())
}

fn is_authorize(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Authorize)
}

fn is_grant(r: &LoggedRequest, grant: &str) -> bool {
    matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == grant)
}

fn is_token(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Token { .. })
}

/// Lowercase scheme and host; everything else as is (MCP §8.1).
pub fn canonical(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("").to_ascii_lowercase();
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = if u.path() == "/" && !url.ends_with('/') {
                ""
            } else {
                u.path()
            };
            let query = u.query().map(|q| format!("?{q}")).unwrap_or_default();
            let frag = u.fragment().map(|f| format!("#{f}")).unwrap_or_default();
            format!("{}://{host}{port}{path}{query}{frag}", u.scheme())
        }
        Err(_) => url.to_owned(),
    }
}

fn first_authorize(s: &ScenarioObs) -> Result<&LoggedRequest, Evaluation> {
    s.log.iter().find(|r| is_authorize(r)).ok_or_else(|| {
        Evaluation::error(format!(
            "{}: the client made no authorization request; {}",
            s.def.name,
            s.progress()
        ))
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name)
    })
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use rstest::rstest;

    use super::*;
    use crate::client::obs::testing::{
        self, append, compliant, drop_param, first, set_param, stop_before, world, POST_SECRET,
    };
    use crate::client::scenarios::BASIC_CIMD;

    #[rstest]
    #[case::cl_res_01(&CL_RES_01, "authorization request(s) judged, all conform")]
    #[case::cl_res_02_code(&CL_RES_02_CODE, "code redemption(s) judged, all conform")]
    #[case::cl_res_02_refresh(&CL_RES_02_REFRESH, "2 refresh request(s) judged, all conform")]
    #[case::cl_res_03(&CL_RES_03, "resource parameter(s) judged, all conform")]
    #[case::cl_res_04(&CL_RES_04, "resource=http://127.0.0.1:1000/mcp")]
    #[case::cl_res_05(&CL_RES_05, "code redemption(s) judged, all conform")]
    #[case::cl_res_06(&CL_RES_06, "resource parameter(s) judged, all conform")]
    #[case::cl_scp_01(&CL_SCP_01, "scope=todo:read x:special")]
    #[case::cl_scp_02(&CL_SCP_02, "scope=Some(\"todo:read x:special\")")]
    #[case::cl_scp_03(&CL_SCP_03, "scope=todo:read todo:write")]
    #[case::cl_scp_04(&CL_SCP_04, "no scope parameter")]
    #[case::cl_scp_05(&CL_SCP_05, "tools/list refused at #")]
    #[case::cl_scp_06(&CL_SCP_06, "3 authorization request(s)")]
    #[case::cl_scp_07(&CL_SCP_07, "2 refresh request(s) judged, all conform")]
    #[case::cl_tke_01(&CL_TKE_01, "token request(s) judged, all conform")]
    #[case::cl_tke_02(&CL_TKE_02, "public-client code redemption(s) judged, all conform")]
    #[case::cl_tke_03_basic(&CL_TKE_03_BASIC, "1 token request(s) authenticated with client_secret_basic")]
    #[case::cl_tke_03_post(&CL_TKE_03_POST, "1 token request(s) authenticated with client_secret_post")]
    #[case::cl_red_01(&CL_RED_01, "1 authorization request(s), all registered")]
    #[case::cl_red_02(&CL_RED_02, "authorization request(s) judged, all conform")]
    #[case::cl_red_03(&CL_RED_03, "an authorization response with a foreign state at #")]
    #[case::cl_red_05(&CL_RED_05, "authorization request(s) judged, all conform")]
    #[case::cl_mix_02(&CL_MIX_02, "an authorization response with a wrong iss at #4")]
    #[case::cl_mix_03(&CL_MIX_03, "an authorization response without iss at #4")]
    fn passes_on_the_compliant_record(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] actual: &str,
    ) {
        let e = check.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    #[rstest]
    #[case::cl_res_01(&CL_RES_01, is_authorize as fn(&LoggedRequest) -> bool)]
    #[case::cl_res_02_code(&CL_RES_02_CODE, |r: &LoggedRequest| is_grant(r, "authorization_code"))]
    #[case::cl_res_02_refresh(&CL_RES_02_REFRESH, |r: &LoggedRequest| is_grant(r, "refresh_token"))]
    fn fails_when_a_request_has_no_resource(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] pick: fn(&LoggedRequest) -> bool,
    ) {
        let mut o = compliant();
        drop_param(first(&mut o, TOKEN_REFRESH, pick), "resource");
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains(&format!("{TOKEN_REFRESH}#")) && e.actual.ends_with("no resource"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_res_02_refresh_is_error_when_no_refresh_was_observed() {
        let mut o = compliant();
        stop_before(&mut o, TOKEN_REFRESH, |r| is_grant(r, "refresh_token"));
        let e = CL_RES_02_REFRESH.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("no refresh request was observed"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_res_03_fails_on_another_servers_resource_and_accepts_case_in_the_host() {
        let mut o = compliant();
        set_param(
            first(&mut o, METADATA_DEFAULT, is_authorize),
            "resource",
            "https://evil.example/mcp",
        );
        set_param(
            first(&mut o, SCOPE_STEP_UP, is_authorize),
            "resource",
            "HTTP://127.0.0.1:1000/mcp",
        );
        let e = CL_RES_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.starts_with("1 of "), "{}", e.actual);
        assert!(
            e.actual.contains("resource `https://evil.example/mcp`"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_res_04_fails_without_resource_in_the_baseline() {
        let mut o = compliant();
        drop_param(first(&mut o, METADATA_DEFAULT, is_authorize), "resource");
        let e = CL_RES_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert_eq!(e.actual, "no resource parameter");
    }

    #[test]
    fn cl_res_04_is_error_without_an_authorization_request() {
        let mut o = compliant();
        stop_before(&mut o, METADATA_DEFAULT, is_authorize);
        let e = CL_RES_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("made no authorization request"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_res_05_fails_when_the_token_request_names_another_resource() {
        let mut o = compliant();
        set_param(
            first(&mut o, METADATA_DEFAULT, is_token),
            "resource",
            "http://127.0.0.1:1000/other",
        );
        let e = CL_RES_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("token resource Some(\"http://127.0.0.1:1000/other\")"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_res_06_warns_on_the_bare_origin() {
        let mut o = compliant();
        set_param(
            first(&mut o, METADATA_DEFAULT, is_authorize),
            "resource",
            "http://127.0.0.1:1000/",
        );
        let e = CL_RES_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(
            e.actual
                .contains("is the origin of http://127.0.0.1:1000/mcp"),
            "{}",
            e.actual
        );
    }

    #[rstest]
    #[case::cl_scp_01(&CL_SCP_01, SCOPE_STEP_UP, "todo:read", Verdict::Warn)]
    #[case::cl_scp_02(&CL_SCP_02, SCOPE_STEP_UP, "todo:read todo:write", Verdict::Fail)]
    #[case::cl_scp_03(&CL_SCP_03, METADATA_DEFAULT, "todo:read", Verdict::Warn)]
    #[case::cl_scp_04(&CL_SCP_04, STATE_TAMPERED, "todo:read", Verdict::Warn)]
    fn violated_when_the_first_authorization_asks_for_other_scopes(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
        #[case] scope: &str,
        #[case] verdict: Verdict,
    ) {
        let mut o = compliant();
        set_param(first(&mut o, name, is_authorize), "scope", scope);
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, verdict, "{e:?}");
        assert!(e.actual.contains(scope), "{}", e.actual);
    }

    #[rstest]
    #[case::cl_scp_01(&CL_SCP_01, SCOPE_STEP_UP)]
    #[case::cl_scp_02(&CL_SCP_02, SCOPE_STEP_UP)]
    #[case::cl_scp_03(&CL_SCP_03, METADATA_DEFAULT)]
    #[case::cl_scp_04(&CL_SCP_04, STATE_TAMPERED)]
    fn is_error_without_an_authorization_request(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
    ) {
        let mut o = compliant();
        stop_before(&mut o, name, is_authorize);
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("made no authorization request"),
            "{}",
            e.message
        );
    }

    fn is_403(r: &LoggedRequest) -> bool {
        r.origin == Origin::Mcp && r.status == 403
    }

    #[test]
    fn cl_scp_05_warns_without_a_step_up() {
        let mut o = compliant();
        let step_up = world(&mut o, SCOPE_STEP_UP)
            .log
            .iter_mut()
            .filter(|r| is_authorize(r))
            .nth(1)
            .expect("a step-up");
        set_param(step_up, "scope", "todo:read");
        let e = CL_SCP_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(
            e.actual.contains("no step-up after the 403 to tools/list"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_scp_05_warns_when_the_operation_is_not_retried() {
        let mut o = compliant();
        let s = world(&mut o, SCOPE_STEP_UP);
        s.log
            .retain(|r| !(r.status == 200 && mcp_method(r) == Some("tools/list")));
        let e = CL_SCP_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(
            e.actual.contains("tools/list was never served afterwards"),
            "{}",
            e.actual
        );
    }

    #[rstest]
    #[case::cl_scp_05(&CL_SCP_05, SCOPE_STEP_UP)]
    #[case::cl_scp_06(&CL_SCP_06, SCOPE_RETRY_LIMIT)]
    fn is_error_without_a_403(#[case] check: &dyn Check<ClientObservations>, #[case] name: &str) {
        let mut o = compliant();
        for r in world(&mut o, name).log.iter_mut().filter(|r| is_403(r)) {
            r.status = 200;
        }
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(e.message.contains("never received"), "{}", e.message);
    }

    #[test]
    fn cl_scp_06_warns_on_a_fourth_authorization() {
        let mut o = compliant();
        append(
            world(&mut o, SCOPE_RETRY_LIMIT),
            Origin::As(0),
            "GET",
            "/authorize",
            RequestKind::Authorize,
        );
        let e = CL_SCP_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(
            e.actual.starts_with("4 authorization requests"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_scp_07_fails_when_a_refresh_asks_beyond_the_grant() {
        let mut o = compliant();
        set_param(
            first(&mut o, TOKEN_REFRESH, |r| is_grant(r, "refresh_token")),
            "scope",
            "todo:read todo:admin",
        );
        let e = CL_SCP_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("asks for [\"todo:admin\"] beyond the grant"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_tke_01_fails_on_a_json_token_request() {
        let mut o = compliant();
        let r = first(&mut o, METADATA_DEFAULT, is_token);
        r.headers.retain(|(k, _)| k != "content-type");
        r.headers
            .push(("content-type".into(), "application/json".into()));
        let e = CL_TKE_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("POST with Content-Type `application/json`"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_tke_02_fails_when_a_public_client_does_not_name_itself() {
        let mut o = compliant();
        drop_param(first(&mut o, METADATA_DEFAULT, is_token), "client_id");
        let e = CL_TKE_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.ends_with("no client_id"), "{}", e.actual);
    }

    #[test]
    fn cl_tke_03_basic_fails_with_the_secret_in_the_form() {
        let mut o = compliant();
        set_param(
            first(&mut o, PRE_REGISTRATION, is_token),
            "client_secret",
            PRE_CLIENT_SECRET,
        );
        let e = CL_TKE_03_BASIC.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("form client_secret present"),
            "{}",
            e.actual
        );
        assert!(!e.actual.contains(PRE_CLIENT_SECRET), "{}", e.actual);
    }

    #[test]
    fn cl_tke_03_post_fails_with_basic_credentials() {
        let mut o = compliant();
        let r = first(&mut o, TOKEN_ENDPOINT_AUTH_POST, is_token);
        drop_param(r, "client_secret");
        let basic = STANDARD.encode(format!("{}:{POST_SECRET}", testing::POST_CLIENT));
        r.headers
            .push(("authorization".into(), format!("Basic {basic}")));
        let e = CL_TKE_03_POST.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("Basic Some(\"dcr-post-client\"), form client_secret absent"),
            "{}",
            e.actual
        );
    }

    #[rstest]
    #[case::cl_tke_03_basic(&CL_TKE_03_BASIC, PRE_REGISTRATION)]
    #[case::cl_tke_03_post(&CL_TKE_03_POST, TOKEN_ENDPOINT_AUTH_POST)]
    fn is_error_without_a_token_request(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
    ) {
        let mut o = compliant();
        stop_before(&mut o, name, is_token);
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("did not complete its task"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_tke_03_post_is_error_when_registration_issued_no_secret() {
        let mut o = compliant();
        first(&mut o, TOKEN_ENDPOINT_AUTH_POST, |r| {
            matches!(r.kind, RequestKind::Register)
        })
        .response_body = serde_json::json!({"client_id": testing::POST_CLIENT}).to_string();
        let e = CL_TKE_03_POST.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("obtained no client credentials"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_red_01_fails_on_an_unregistered_redirect_uri_and_lets_a_literal_port_vary() {
        let mut o = compliant();
        set_param(
            first(&mut o, METADATA_DEFAULT, is_authorize),
            "redirect_uri",
            "http://127.0.0.1:6000/callback",
        );
        assert_eq!(CL_RED_01.evaluate(&o).verdict, Verdict::Pass);
        set_param(
            first(&mut o, METADATA_DEFAULT, is_authorize),
            "redirect_uri",
            "http://127.0.0.1:5555/other",
        );
        let e = CL_RED_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.starts_with("`http://127.0.0.1:5555/other` not in"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_red_01_is_error_without_an_authorization_request() {
        let mut o = compliant();
        stop_before(&mut o, METADATA_DEFAULT, is_authorize);
        assert_eq!(CL_RED_01.evaluate(&o).verdict, Verdict::Error);
    }

    #[rstest]
    #[case::cl_red_02(&CL_RED_02, "http://example.com/callback", Verdict::Fail)]
    #[case::cl_red_05(&CL_RED_05, "http://localhost:5555/callback", Verdict::Info)]
    fn judges_the_redirect_uri_host(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] uri: &str,
        #[case] verdict: Verdict,
    ) {
        let mut o = compliant();
        set_param(first(&mut o, BASIC_CIMD, is_authorize), "redirect_uri", uri);
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, verdict, "{e:?}");
        assert!(
            e.actual.contains(&format!("redirect_uri `{uri}`")),
            "{}",
            e.actual
        );
    }

    #[rstest]
    #[case::cl_red_03(&CL_RED_03, STATE_TAMPERED, Verdict::Warn)]
    #[case::cl_mix_02(&CL_MIX_02, ISS_WRONG_ISSUER, Verdict::Fail)]
    #[case::cl_mix_03(&CL_MIX_03, ISS_SUPPORTED_MISSING, Verdict::Warn)]
    fn violated_when_the_code_is_redeemed(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
        #[case] verdict: Verdict,
    ) {
        let mut o = compliant();
        let kind = RequestKind::Token {
            grant_type: "authorization_code".into(),
        };
        append(world(&mut o, name), Origin::As(0), "POST", "/token", kind);
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, verdict, "{e:?}");
        assert!(
            e.actual.contains("then POST /token token request"),
            "{}",
            e.actual
        );
    }

    #[rstest]
    #[case::cl_red_03(&CL_RED_03, STATE_TAMPERED)]
    #[case::cl_mix_02(&CL_MIX_02, ISS_WRONG_ISSUER)]
    #[case::cl_mix_03(&CL_MIX_03, ISS_SUPPORTED_MISSING)]
    fn is_error_when_no_code_came_back(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
    ) {
        let mut o = compliant();
        stop_before(&mut o, name, is_authorize);
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("never reached the decision point"),
            "{}",
            e.message
        );
    }

    #[test]
    fn canonical_lowercases_scheme_and_host_only() {
        assert_eq!(
            canonical("HTTP://Example.COM:8080/MCP"),
            "http://example.com:8080/MCP"
        );
    }

    #[test]
    fn loopback_literal_redirects_may_change_port_only() {
        let reg = vec!["http://127.0.0.1/callback".to_owned()];
        assert!(redirect_matches("http://127.0.0.1:5555/callback", &reg));
        assert!(!redirect_matches("http://127.0.0.1:5555/other", &reg));
        let host = vec!["http://localhost/callback".to_owned()];
        assert!(!redirect_matches("http://localhost:5555/callback", &host));
    }
}
