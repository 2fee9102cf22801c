//! The authorization endpoint: AS-AZ-*.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mcp_auth_reports::Level::{May, Must, Should};
use serde_json::Value;

use super::{
    check, code_of, happy_precondition, last_exchange, meta, no_code, redirected_to, walk_failed,
    AuthzCheck,
};
use crate::authz::agent::{AuthorizeOutcome, Authorized};
use crate::authz::obs::{param, AuthzObservations, LoginKind, RedirectVariant};
use crate::authz::scenarios::describe;
use crate::check::{Cause, CheckMeta, Evaluation};

const REDIRECT_REFS: &[&str] = &[
    "MCP §11.5",
    "OAuth 2.1 §2.3.1",
    "OAuth 2.1 §4.1.1",
    "OAuth 2.1 §8.4.2",
];

fn variant_check(
    id: &'static str,
    title: &'static str,
    summary: &'static str,
    v: RedirectVariant,
) -> Box<AuthzCheck> {
    let eval: fn(&CheckMeta, &AuthzObservations) -> Evaluation = match v {
        RedirectVariant::ExtraPath => |m, o| variant(m, o, RedirectVariant::ExtraPath),
        RedirectVariant::TrailingSlash => |m, o| variant(m, o, RedirectVariant::TrailingSlash),
        RedirectVariant::PathCase => |m, o| variant(m, o, RedirectVariant::PathCase),
        RedirectVariant::AddedQuery => |m, o| variant(m, o, RedirectVariant::AddedQuery),
        RedirectVariant::OtherHost => |m, o| variant(m, o, RedirectVariant::OtherHost),
        RedirectVariant::Userinfo => |m, o| variant(m, o, RedirectVariant::Userinfo),
    };
    check(meta(id, title, Must, REDIRECT_REFS, summary), eval)
}

pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        check(
            meta("AS-AZ-01", "The authorization endpoint supports GET", Must, &["OAuth 2.1 §3.1"],
                "A valid GET authorization request leads (through login and consent) to a code."),
            |m, o| match &o.happy {
                Ok(f) => Evaluation::pass("a code for a GET authorization request", describe(&f.authorized.outcome)).with_evidence(f.authorized.exchanges.first().cloned()),
                Err(crate::check::ObsError::Target { reason, evidence, cause: Cause::Refused { status: 405, .. } }) => {
                    Evaluation::violated(m.level, "a code for a GET authorization request", reason.clone()).with_evidence(evidence.clone())
                }
                Err(e) => e.to_evaluation("a valid authorization request"),
            },
        ),
        variant_check("AS-AZ-02.extra-path", "A redirect_uri with an extra path segment is refused",
            "The registered loopback /callback with `/evil` appended → no redirect to it and no code.", RedirectVariant::ExtraPath),
        variant_check("AS-AZ-02.trailing-slash", "A redirect_uri with a trailing slash is refused",
            "The registered URI with `/` appended → no redirect to it and no code.", RedirectVariant::TrailingSlash),
        variant_check("AS-AZ-02.path-case", "A redirect_uri whose path differs in case is refused",
            "The registered URI with the path uppercased → no redirect to it and no code (paths compare exactly).", RedirectVariant::PathCase),
        variant_check("AS-AZ-02.added-query", "A redirect_uri with an added query is refused",
            "The registered URI with `?next=evil` → no redirect to it and no code.", RedirectVariant::AddedQuery),
        variant_check("AS-AZ-02.other-host", "A redirect_uri on another host is refused",
            "https://evil.example/callback → no redirect to it and no code.", RedirectVariant::OtherHost),
        variant_check("AS-AZ-02.userinfo", "A redirect_uri smuggling the registered host as userinfo is refused",
            "http://127.0.0.1:<p>@evil.example/callback → no redirect to it and no code.", RedirectVariant::Userinfo),
        check(
            meta("AS-AZ-03", "An unknown client never gets a redirect", Must, &["OAuth 2.1 §4.1.2.1", "OAuth 2.1 §7.12.2", "MCP §11.5"],
                "An authorization request from an unknown client_id (with an otherwise valid redirect_uri) → an error page, no redirect at all."),
            |m, o| {
                let a = crate::need!(&o.unknown_client, "the unknown-client request");
                if let Some(e) = happy_precondition(o).or_else(|| walk_failed(a)) {
                    return e;
                }
                let expected = "an error page, no redirect";
                let e = match redirected_to(a) {
                    Some(loc) => Evaluation::violated(m.level, expected, format!("redirected to {loc}")),
                    None => Evaluation::pass(expected, describe(&a.outcome)),
                };
                e.with_evidence(last_exchange(a))
            },
        ),
        check(
            meta("AS-AZ-04", "A public client's request without code_challenge is refused", Must, &["OAuth 2.1 §4.1.2.1", "OAuth 2.1 §7.5.2"],
                "An authorization request without code_challenge → error=invalid_request (redirect or page); never a code."),
            |m, o| {
                let a = crate::need!(&o.no_challenge, "the request without PKCE");
                no_code(m, o, a, "no code_challenge")
            },
        ),
        check(
            meta("AS-AZ-05.plain", "code_challenge_method=plain is refused when not advertised", Must, &["OAuth 2.1 §4.1.2.1", "RFC 7636 §4.4.1"],
                "code_challenge_method=plain while metadata lists only S256 → invalid_request, no code."),
            |m, o| {
                if o.endpoints.as_ref().is_ok_and(|e| e.metadata.get("code_challenge_methods_supported").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == "plain"))) {
                    return Evaluation::skip("the AS advertises plain");
                }
                let a = crate::need!(&o.plain, "the plain request");
                no_code(m, o, a, "code_challenge_method=plain")
            },
        ),
        check(
            meta("AS-AZ-05.s512", "An unknown code_challenge_method is refused", Must, &["OAuth 2.1 §4.1.2.1", "RFC 7636 §4.4.1"],
                "code_challenge_method=S512 → invalid_request, no code."),
            |m, o| {
                let a = crate::need!(&o.s512, "the S512 request");
                no_code(m, o, a, "code_challenge_method=S512")
            },
        ),
        check(
            meta("AS-AZ-06", "response_type=token is refused (no implicit grant)", Must, &["OAuth 2.1 §4.1.1", "OAuth 2.1 §10.1"],
                "response_type=token → unsupported_response_type, and no access token in any URL (query or fragment)."),
            az06,
        ),
        check(
            meta("AS-AZ-07", "state comes back exactly, parameters once", Must, &["OAuth 2.1 §4.1.2", "OAuth 2.1 §3.1"],
                "The callback of a valid request carries the state sent, and no parameter twice."),
            az07,
        ),
        check(
            meta("AS-AZ-08", "Unknown and empty parameters are ignored", Must, &["OAuth 2.1 §3.1"],
                "A valid request plus `conformance_unknown=x` and an empty `prompt=` → a code as usual."),
            |m, o| {
                if let Some(e) = happy_precondition(o) {
                    return e;
                }
                let expected = "a code despite the unknown and empty parameters";
                match &o.unknown_params {
                    Ok(f) => Evaluation::pass(expected, describe(&f.authorized.outcome)).with_evidence(last_exchange(&f.authorized)),
                    Err(crate::check::ObsError::Target { reason, evidence, cause: Cause::Refused { .. } }) => Evaluation::violated(m.level, expected, reason.clone()).with_evidence(evidence.clone()),
                    Err(e) => e.to_evaluation("the request with unknown parameters"),
                }
            },
        ),
        check(
            meta("AS-AZ-09", "No CORS at the authorization endpoint", Must, &["OAuth 2.1 §3.1"],
                "A GET with a foreign Origin and an OPTIONS preflight get no Access-Control-Allow-Origin."),
            |m, o| {
                let c = crate::need!(&o.cors, "the CORS probes");
                let expected = "no Access-Control-Allow-Origin";
                let bad: Vec<String> = [("GET", &c.get), ("OPTIONS", &c.preflight)]
                    .iter()
                    .filter_map(|(what, (acao, _))| acao.as_ref().map(|v| format!("{what}: Access-Control-Allow-Origin: {v}")))
                    .collect();
                let e = if bad.is_empty() { Evaluation::pass(expected, "none on GET or OPTIONS") } else { Evaluation::violated(m.level, expected, bad.join("; ")) };
                e.with_evidence([c.get.1.clone(), c.preflight.1.clone()])
            },
        ),
        check(
            meta("AS-AZ-10", "A credential POST is never answered with 307", Must, &["OAuth 2.1 §7.5.4"],
                "The login/consent form submissions are answered 303 (PASS), 302 (WARN), never 307/308 (FAIL, the credentials would be re-posted)."),
            az10,
        ),
        check(
            meta("AS-AZ-11", "No code without authenticating the user", Must, &["OAuth 2.1 §3.1", "OAuth 2.1 §7.12.2"],
                "A fresh user agent (no cookies) that would approve consent but never submits the login form → a login page, never a code."),
            |m, o| {
                let a = crate::need!(&o.fresh_agent, "the fresh user agent");
                if let Some(e) = happy_precondition(o).or_else(|| walk_failed(a)) {
                    return e;
                }
                let expected = "a login page, no code";
                let e = match code_of(a) {
                    Some(_) => Evaluation::violated(m.level, expected, "a code without any login"),
                    None => Evaluation::pass(expected, describe(&a.outcome)),
                };
                e.with_evidence(last_exchange(a))
            },
        ),
        check(
            meta("AS-AZ-14", "An unacceptable resource is refused with invalid_target", Should, &["RFC 8707 §2"],
                "resource with a fragment → error=invalid_target; a code → WARN."),
            |m, o| {
                let a = crate::need!(&o.invalid_resource, "the request with an invalid resource");
                no_code(m, o, a, "resource with a fragment")
            },
        ),
        check(
            meta("AS-AZ-15", "iss is in every authorization response", Must, &["RFC 9207 §2"],
                "When iss is advertised: the success callback and an error callback both carry iss equal to the issuer."),
            az15,
        ),
        check(
            meta("AS-AZ-16", "The code does not reveal the code_challenge", May, &["OAuth 2.1 §4.1.2"],
                "Heuristic: the code neither contains the challenge nor base64-decodes to something containing it (INFO)."),
            |m, o| {
                let f = crate::need!(&o.happy, "a valid authorization");
                let code = f.code().unwrap_or_default();
                let decoded = URL_SAFE_NO_PAD.decode(code.trim_end_matches('=')).ok().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                let leaks = code.contains(&f.pkce.challenge) || decoded.contains(&f.pkce.challenge);
                let expected = "the code reveals nothing of the challenge";
                let e = if leaks { Evaluation::violated(m.level, expected, "the code contains the code_challenge") } else { Evaluation::pass(expected, "no trace of the challenge in the code") };
                e.with_evidence(last_exchange(&f.authorized))
            },
        ),
    ]
}

fn variant(m: &CheckMeta, o: &AuthzObservations, v: RedirectVariant) -> Evaluation {
    let (uri, a) = match o.redirect_variants.get(&v) {
        Some(Ok(x)) => x,
        Some(Err(e)) => return e.to_evaluation("the redirect variant"),
        None => return Evaluation::harness_error("the redirect variant was not probed"),
    };
    if let Some(e) = happy_precondition(o).or_else(|| walk_failed(a)) {
        return e;
    }
    let expected = format!(
        "redirect_uri with {} → no redirect to `{uri}`, no code",
        v.describe()
    );
    let e = match (redirected_to(a), code_of(a)) {
        (Some(loc), _) if loc.starts_with(uri.as_str()) || same_target(loc, uri) => {
            Evaluation::violated(m.level, expected, format!("redirected to {loc}"))
        }
        (_, Some(_)) => Evaluation::violated(m.level, expected, "a code was issued"),
        _ => Evaluation::pass(expected, describe(&a.outcome)),
    };
    e.with_evidence(last_exchange(a))
}

/// Whether a Location points at the same place as a (hostile) URI, after URL normalisation.
fn same_target(location: &str, uri: &str) -> bool {
    match (url::Url::parse(location), url::Url::parse(uri)) {
        (Ok(a), Ok(b)) => {
            a.host() == b.host()
                && a.port_or_known_default() == b.port_or_known_default()
                && a.path() == b.path()
        }
        _ => false,
    }
}

fn az06(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let a: &Authorized = crate::need!(&o.implicit, "the response_type=token request");
    if let Some(e) = happy_precondition(o).or_else(|| walk_failed(a)) {
        return e;
    }
    let expected = "unsupported_response_type; no token in any URL";
    let token_in_url = match &a.outcome {
        AuthorizeOutcome::Callback {
            params, fragment, ..
        } => params
            .iter()
            .chain(fragment.iter())
            .any(|(k, _)| k == "access_token"),
        AuthorizeOutcome::Elsewhere { location, .. } => location.contains("access_token="),
        _ => false,
    };
    let e = if token_in_url {
        Evaluation::violated(
            m.level,
            expected,
            format!("{}: an access token in the redirect", describe(&a.outcome)),
        )
    } else if code_of(a).is_some() {
        Evaluation::violated(
            m.level,
            expected,
            "a code was issued for response_type=token",
        )
    } else {
        Evaluation::pass(expected, describe(&a.outcome))
    };
    e.with_evidence(last_exchange(a))
}

fn az07(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let f = crate::need!(&o.happy, "a valid authorization");
    let Some(params) = f.callback() else {
        return Evaluation::error("the valid authorization did not reach the callback");
    };
    let expected = format!("state={} exactly, each parameter once", f.state);
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    let dup = names
        .windows(2)
        .find(|w| w[0] == w[1])
        .map(|w| w[0].to_owned());
    let e = match (param(params, "state"), dup) {
        (_, Some(d)) => Evaluation::violated(m.level, expected, format!("`{d}` appears twice")),
        (Some(s), None) if s == f.state => Evaluation::pass(expected, "state returned exactly"),
        (s, None) => Evaluation::violated(m.level, expected, format!("state {s:?}")),
    };
    e.with_evidence(last_exchange(&f.authorized))
}

fn az10(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    if o.login != LoginKind::Form {
        return Evaluation::skip("no login form was submitted (--login auto/manual)");
    }
    let f = crate::need!(&o.happy, "a valid authorization");
    let posts = &f.authorized.form_posts;
    if posts.is_empty() {
        return Evaluation::error("the login script submitted no form");
    }
    let expected = "303 after every credential POST (302 tolerated as WARN, 307/308 never)";
    let statuses: Vec<u16> = posts.iter().map(|(s, _)| *s).collect();
    let ev = posts.iter().map(|(_, e)| e.clone());
    if statuses.iter().any(|s| *s == 307 || *s == 308) {
        Evaluation::violated(
            m.level,
            expected,
            format!("form POSTs answered {statuses:?}"),
        )
        .with_evidence(ev)
    } else if statuses.contains(&302) {
        Evaluation::violated(
            Should,
            expected,
            format!("form POSTs answered {statuses:?}"),
        )
        .with_evidence(ev)
    } else {
        Evaluation::pass(expected, format!("form POSTs answered {statuses:?}")).with_evidence(ev)
    }
}

fn az15(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let ep = crate::need!(&o.endpoints, "metadata discovery");
    if !ep.iss_supported {
        return Evaluation::skip(
            "the AS does not advertise authorization_response_iss_parameter_supported",
        );
    }
    let f = crate::need!(&o.happy, "a valid authorization");
    let err = crate::need!(&o.no_challenge, "an error response");
    let expected = format!("iss={} on success and on error", ep.issuer);
    let iss_of = |a: &Authorized| match &a.outcome {
        AuthorizeOutcome::Callback { params, .. } => Some(param(params, "iss").map(str::to_owned)),
        _ => None,
    };
    let mut problems = Vec::new();
    match iss_of(&f.authorized) {
        Some(Some(i)) if i == ep.issuer => {}
        Some(other) => problems.push(format!("success response iss {other:?}")),
        None => return Evaluation::error("the valid authorization did not reach the callback"),
    }
    match iss_of(err) {
        Some(Some(i)) if i == ep.issuer => {}
        Some(other) => problems.push(format!("error response iss {other:?}")),
        None => {}
    }
    let mut ev = last_exchange(&f.authorized);
    ev.extend(last_exchange(err));
    let e = if problems.is_empty() {
        Evaluation::pass(expected, "iss on every callback")
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence(ev)
}
