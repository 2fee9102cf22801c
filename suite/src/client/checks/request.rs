//! What the client puts in its requests: CL-RES-*, CL-SCP-*, CL-TKE-*, CL-RED-*, CL-MIX-*.

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fake_idp::client_world::{LoggedRequest, Origin, RequestKind};
use mcp_auth_reports::Level::{May, Must, Should};

use super::{check, completed_or_error, every, meta, refusal, ClientCheck};
use crate::check::{CheckMeta, Evaluation};
use crate::client::obs::{
    location_param, param, response_member, scope_set, ClientObservations, ScenarioObs,
};
use crate::client::scenarios::{
    Registration, ISS_SUPPORTED_MISSING, ISS_WRONG_ISSUER, METADATA_DEFAULT, PRE_CLIENT_ID,
    PRE_CLIENT_SECRET, PRE_REGISTRATION, SCOPE_RETRY_LIMIT, SCOPE_STEP_UP, STATE_TAMPERED,
    TOKEN_ENDPOINT_AUTH_POST,
};
use crate::scenario_or_return;

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

macro_rules! first_authorize_or_return {
    ($s:expr) => {
        match first_authorize($s) {
            Ok(r) => r,
            Err(e) => return e,
        }
    };
}

pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        check(
            meta("CL-RES-01", "Authorization requests carry resource", Must, &["MCP §8", "MCP §11.1", "RFC 8707 §2"],
                "Every authorization request in every scenario has a non-empty resource parameter."),
            |m, o| every(m, o, "authorization request", "resource present", |_, r| is_authorize(r),
                |_, r| param(r, "resource").is_none_or(str::is_empty).then(|| "no resource".into())),
        ),
        check(
            meta("CL-RES-02.code", "Code redemptions carry resource", Must, &["MCP §8", "RFC 8707 §2.2"],
                "Every authorization_code token request has a resource parameter."),
            |m, o| every(m, o, "code redemption", "resource present", |_, r| is_grant(r, "authorization_code"),
                |_, r| param(r, "resource").is_none_or(str::is_empty).then(|| "no resource".into())),
        ),
        check(
            meta("CL-RES-02.refresh", "Refresh requests carry resource", Must, &["MCP §8", "RFC 8707 §2.2"],
                "Every refresh_token request (auth/token-refresh forces several) has a resource parameter. Covers CL-RT-02."),
            |m, o| every(m, o, "refresh request", "resource present", |_, r| is_grant(r, "refresh_token"),
                |_, r| param(r, "resource").is_none_or(str::is_empty).then(|| "no resource".into())),
        ),
        check(
            meta("CL-RES-03", "resource is the MCP server's canonical URI", Must, &["MCP §8", "MCP §8.1", "RFC 8707 §2"],
                "Every resource value equals the canonical MCP endpoint URL (lowercase scheme and host) or the validated PRM resource: absolute, no fragment, not another server."),
            |m, o| every(m, o, "resource parameter", "the canonical MCP URL", |_, r| (is_authorize(r) || is_token(r)) && param(r, "resource").is_some(),
                |s, r| {
                    let v = param(r, "resource").unwrap_or("");
                    (canonical(v) != canonical(&s.mcp_url)).then(|| format!("resource `{v}` (MCP URL {})", s.mcp_url))
                }),
        ),
        check(
            meta("CL-RES-04", "resource is sent even when the AS gives no sign of RFC 8707", Must, &["MCP §8.1"],
                "auth/metadata-default: the AS metadata says nothing about resource indicators → the authorization request still carries resource."),
            |m, o| {
                let s = scenario_or_return!(o, METADATA_DEFAULT);
                let r = first_authorize_or_return!(s);
                let e = match param(r, "resource") {
                    Some(v) if !v.is_empty() => Evaluation::pass("resource present", format!("resource={v}")),
                    _ => Evaluation::violated(m.level, "resource present", "no resource parameter"),
                };
                e.with_evidence([s.id(r)])
            },
        ),
        check(
            meta("CL-RES-05", "The same resource in the authorization and token requests", Must, &["MCP §8", "RFC 8707 §2.2"],
                "For every redeemed code, the token request's resource equals the authorization request's."),
            |m, o| every(m, o, "code redemption", "resource equal to the authorization request's", |_, r| is_grant(r, "authorization_code"),
                |s, r| {
                    let code = param(r, "code").unwrap_or("");
                    let auth = s.log.iter().find(|a| is_authorize(a) && location_param(a, "code").as_deref() == Some(code))?;
                    let (a, t) = (param(auth, "resource"), param(r, "resource"));
                    (a != t).then(|| format!("authorization resource {a:?}, token resource {t:?}"))
                }),
        ),
        check(
            meta("CL-RES-06", "resource is the most specific URI", Should, &["MCP §8.1"],
                "The resource is not the bare origin when the MCP endpoint has a path; WARN otherwise."),
            |m, o| every(m, o, "resource parameter", "the MCP endpoint URL, not its origin", |_, r| is_authorize(r) && param(r, "resource").is_some(),
                |s, r| {
                    let v = param(r, "resource").unwrap_or("");
                    let origin = url::Url::parse(&s.mcp_url).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
                    (v.trim_end_matches('/') == origin).then(|| format!("resource `{v}` is the origin of {}", s.mcp_url))
                }),
        ),
        check(
            meta("CL-SCP-01", "The initial authorization uses the challenge's scope", Should, &["MCP §6"],
                "auth/scope-step-up: the 401 says scope=\"todo:read x:special\" while scopes_supported lists todo:read and todo:write → the first authorization request asks exactly for todo:read x:special."),
            |m, o| scope_is(m, o, SCOPE_STEP_UP, Some(&["todo:read", "x:special"])),
        ),
        check(
            meta("CL-SCP-02", "Challenged scopes are authoritative, never filtered", Must, &["MCP §4.2"],
                "auth/scope-step-up: the challenge asks for x:special, absent from scopes_supported → the first authorization request still includes x:special."),
            |m, o| {
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
        ),
        check(
            meta("CL-SCP-03", "Without a challenge scope, all scopes_supported are requested", Should, &["MCP §6"],
                "auth/metadata-default: no scope in the 401; PRM lists todo:read and todo:write → the authorization request asks for both."),
            |m, o| scope_is(m, o, METADATA_DEFAULT, Some(&["todo:read", "todo:write"])),
        ),
        check(
            meta("CL-SCP-04", "Without any scope source, scope is omitted", Should, &["MCP §6"],
                "auth/state-tampered: no challenge scope and no scopes_supported → no scope parameter."),
            |m, o| scope_is(m, o, STATE_TAMPERED, None),
        ),
        check(
            meta("CL-SCP-05", "403 insufficient_scope leads to step-up and a retry", Should, &["MCP §10.1.2"],
                "auth/scope-step-up: the first MCP operation (tools/list or tools/call) answers 403 scope=\"todo:read todo:write\" → a new authorization request including todo:write, then the same operation succeeds."),
            scp05,
        ),
        check(
            meta("CL-SCP-06", "Step-up attempts are limited", Should, &["MCP §10.1.2"],
                "auth/scope-retry-limit: every MCP operation answers 403 → at most 3 authorization requests."),
            scp06,
        ),
        check(
            meta("CL-SCP-07", "A refresh asks for no scope beyond the grant", Must, &["OAuth 2.1 §4.3.1"],
                "Every refresh_token request that carries scope asks for a subset of the scope granted by the code exchange."),
            scp07,
        ),
        check(
            meta("CL-TKE-01", "Token requests are form-encoded POSTs", Must, &["OAuth 2.1 §3.2", "OAuth 2.1 §3.2.2"],
                "Every token request uses POST with Content-Type application/x-www-form-urlencoded."),
            |m, o| every(m, o, "token request", "POST application/x-www-form-urlencoded", |_, r| is_token(r),
                |_, r| {
                    let ct = r.headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.to_ascii_lowercase()).unwrap_or_default();
                    (r.method != "POST" || !ct.starts_with("application/x-www-form-urlencoded"))
                        .then(|| format!("{} with Content-Type `{ct}`", r.method))
                }),
        ),
        check(
            meta("CL-TKE-02", "A public client names itself in the code redemption", Must, &["OAuth 2.1 §4.1.3"],
                "Every code redemption without client authentication carries client_id."),
            |m, o| every(m, o, "public-client code redemption", "client_id present", |_, r| is_grant(r, "authorization_code") && basic(r).is_none() && param(r, "client_secret").is_none(),
                |_, r| param(r, "client_id").is_none_or(str::is_empty).then(|| "no client_id".into())),
        ),
        check(
            meta("CL-TKE-03.basic", "Client credentials are sent with client_secret_basic when that is the method", Must, &["OAuth 2.1 §3.2.1", "RFC 6749 §2.3.1"],
                "auth/pre-registration: the AS expects client_secret_basic → token requests carry Basic base64(urlencode(id):urlencode(secret)) with the context credentials, and no secret in the form."),
            |m, o| token_auth(m, o, PRE_REGISTRATION, "client_secret_basic"),
        ),
        check(
            meta("CL-TKE-03.post", "Client credentials are sent with client_secret_post when that is the method", Must, &["OAuth 2.1 §3.2.1"],
                "auth/token-endpoint-auth-post: the AS supports only client_secret_post and registration issued a secret → client_id and client_secret in the form, no Basic header."),
            |m, o| token_auth(m, o, TOKEN_ENDPOINT_AUTH_POST, "client_secret_post"),
        ),
        check(
            meta("CL-RED-01", "The redirect_uri is one the AS knows", Must, &["MCP §11.5", "OAuth 2.1 §2.3.1"],
                "auth/metadata-default (DCR): every authorization request's redirect_uri is among those the client registered (exact match; only a loopback IP literal's port may vary). A pre-registered client is never told a redirect URI by the contract, so it is not judged here."),
            red01,
        ),
        check(
            meta("CL-RED-02", "Redirect URIs are loopback or https", Must, &["MCP §11.3"],
                "Every redirect_uri is http on 127.0.0.1, [::1] or localhost, or https."),
            |m, o| every(m, o, "authorization request", "loopback http or https redirect_uri", |_, r| is_authorize(r),
                |_, r| {
                    let v = param(r, "redirect_uri").unwrap_or("");
                    match url::Url::parse(v) {
                        Ok(u) if u.scheme() == "https" => None,
                        Ok(u) if u.scheme() == "http" && crate::http::is_loopback_host(u.host_str().unwrap_or("")) => None,
                        _ => Some(format!("redirect_uri `{v}`")),
                    }
                }),
        ),
        check(
            meta("CL-RED-03", "A tampered state is rejected", Should, &["MCP §11.5", "OAuth 2.1 §7.12"],
                "auth/state-tampered: the authorization response carries a state the client never sent → no token request."),
            |m, o| {
                let s = scenario_or_return!(o, STATE_TAMPERED);
                refusal(m, o, s, "an authorization response with a foreign state", |r| is_authorize(r) && location_param(r, "code").is_some(),
                    "token request", is_token)
            },
        ),
        check(
            meta("CL-RED-05", "A loopback IP literal rather than localhost", May, &["OAuth 2.1 §8.4.2"],
                "NOT RECOMMENDED: redirect URIs on `localhost` are reported INFO."),
            |m, o| every(m, o, "authorization request", "a loopback IP literal", |_, r| is_authorize(r),
                |_, r| {
                    let v = param(r, "redirect_uri").unwrap_or("");
                    url::Url::parse(v).ok().filter(|u| u.host_str() == Some("localhost")).map(|_| format!("redirect_uri `{v}`"))
                }),
        ),
        check(
            meta("CL-MIX-02", "A wrong iss in the authorization response is rejected", Must, &["OAuth 2.1 §7.14.1", "RFC 9207 §2.4"],
                "auth/iss-wrong-issuer: iss support is advertised and the response says iss=https://evil.example → no token request."),
            |m, o| {
                let s = scenario_or_return!(o, ISS_WRONG_ISSUER);
                refusal(m, o, s, "an authorization response with a wrong iss", |r| is_authorize(r) && location_param(r, "code").is_some(),
                    "token request", is_token)
            },
        ),
        check(
            meta("CL-MIX-03", "A missing iss is rejected when the AS advertises iss", Should, &["RFC 9207 §2.4"],
                "auth/iss-supported-missing: iss advertised but absent → no token request (WARN under 2025-11-25; explicit in MCP only from 2026-07-28)."),
            |m, o| {
                let s = scenario_or_return!(o, ISS_SUPPORTED_MISSING);
                refusal(m, o, s, "an authorization response without iss", |r| is_authorize(r) && location_param(r, "code").is_some(),
                    "token request", is_token)
            },
        ),
    ]
}

fn scope_is(
    m: &CheckMeta,
    o: &ClientObservations,
    name: &str,
    want: Option<&[&str]>,
) -> Evaluation {
    let s = scenario_or_return!(o, name);
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

fn scp05(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

/// The JSON-RPC method of an MCP request.
fn mcp_method(r: &LoggedRequest) -> Option<&str> {
    match &r.kind {
        RequestKind::Mcp { method, .. } => method.as_deref(),
        _ => None,
    }
}

fn scp06(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn scp07(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    every(
        m,
        o,
        "refresh request",
        "scope absent or ⊆ the granted scope",
        |_, r| is_grant(r, "refresh_token"),
        |s, r| {
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
        },
    )
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

fn token_auth(m: &CheckMeta, o: &ClientObservations, name: &str, method: &str) -> Evaluation {
    let s = scenario_or_return!(o, name);
    let tokens: Vec<&LoggedRequest> = s.log.iter().filter(|r| is_token(r)).collect();
    if tokens.is_empty() {
        return completed_or_error(s)
            .unwrap_or_else(|| Evaluation::error("no token request").with_scenario(s.def.name));
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
                b.as_ref() == Some(&(client_id.clone(), secret.clone())) && form_secret.is_none()
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

fn red01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

#[cfg(test)]
mod tests {
    use super::*;

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
