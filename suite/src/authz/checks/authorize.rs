//! The authorization endpoint: AS-AZ-*.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mcp_auth_reports::Level::{May, Must, Should};
use serde_json::Value;

use super::{
    code_of, happy_precondition, last_exchange, meta, no_code, redirected_to, walk_failed,
    AuthzCheck,
};
use crate::authz::agent::{AuthorizeOutcome, Authorized};
use crate::authz::obs::{param, AuthzObservations, LoginKind, RedirectVariant};
use crate::authz::scenarios::describe;
use crate::check::{Cause, Check, CheckMeta, Evaluation, FnCheck, ObsError};

const REDIRECT_REFS: &[&str] = &[
    "MCP §11.5",
    "OAuth 2.1 §2.3.1",
    "OAuth 2.1 §4.1.1",
    "OAuth 2.1 §8.4.2",
];

pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_AZ_01),
        Box::new(AS_AZ_02_EXTRA_PATH),
        Box::new(AS_AZ_02_TRAILING_SLASH),
        Box::new(AS_AZ_02_PATH_CASE),
        Box::new(AS_AZ_02_ADDED_QUERY),
        Box::new(AS_AZ_02_OTHER_HOST),
        Box::new(AS_AZ_02_USERINFO),
        Box::new(AS_AZ_03),
        Box::new(AS_AZ_04),
        Box::new(AS_AZ_05_PLAIN),
        Box::new(AS_AZ_05_S512),
        Box::new(AS_AZ_06),
        Box::new(AS_AZ_07),
        Box::new(AS_AZ_08),
        Box::new(AS_AZ_09),
        Box::new(AS_AZ_10),
        Box::new(AS_AZ_11),
        Box::new(AS_AZ_14),
        Box::new(AS_AZ_15),
        Box::new(AS_AZ_16),
    ]
}

/// AS-AZ-01: a valid GET authorization request yields a code.
const AS_AZ_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-AZ-01",
        "The authorization endpoint supports GET",
        Must,
        &["OAuth 2.1 §3.1"],
        "A valid GET authorization request leads (through login and consent) to a code.",
    ),
    eval: as_az_01,
};
fn as_az_01(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    match &o.happy {
        Ok(f) => Evaluation::pass(
            "a code for a GET authorization request",
            describe(&f.authorized.outcome),
        )
        .with_evidence(f.authorized.exchanges.first().cloned()),
        Err(ObsError::Target {
            reason,
            evidence,
            cause: Cause::Refused { status: 405, .. },
            ..
        }) => Evaluation::violated(
            m.level,
            "a code for a GET authorization request",
            reason.clone(),
        )
        .with_evidence(evidence.clone()),
        Err(e) => e.to_evaluation("a valid authorization request"),
    }
}

/// A hostile redirect_uri variant of AS-AZ-02: no redirect to it and no code.
struct RedirectRefused {
    meta: CheckMeta,
    variant: RedirectVariant,
}

/// AS-AZ-02.extra-path.
const AS_AZ_02_EXTRA_PATH: RedirectRefused = RedirectRefused {
    meta: meta(
        "AS-AZ-02.extra-path",
        "A redirect_uri with an extra path segment is refused",
        Must,
        REDIRECT_REFS,
        "The registered loopback /callback with `/evil` appended → no redirect to it and no code.",
    ),
    variant: RedirectVariant::ExtraPath,
};

/// AS-AZ-02.trailing-slash.
const AS_AZ_02_TRAILING_SLASH: RedirectRefused = RedirectRefused {
    meta: meta(
        "AS-AZ-02.trailing-slash",
        "A redirect_uri with a trailing slash is refused",
        Must,
        REDIRECT_REFS,
        "The registered URI with `/` appended → no redirect to it and no code.",
    ),
    variant: RedirectVariant::TrailingSlash,
};

/// AS-AZ-02.path-case.
const AS_AZ_02_PATH_CASE: RedirectRefused = RedirectRefused {
    meta: meta("AS-AZ-02.path-case", "A redirect_uri whose path differs in case is refused", Must, REDIRECT_REFS,
        "The registered URI with the path uppercased → no redirect to it and no code (paths compare exactly)."),
    variant: RedirectVariant::PathCase,
};

/// AS-AZ-02.added-query.
const AS_AZ_02_ADDED_QUERY: RedirectRefused = RedirectRefused {
    meta: meta(
        "AS-AZ-02.added-query",
        "A redirect_uri with an added query is refused",
        Must,
        REDIRECT_REFS,
        "The registered URI with `?next=evil` → no redirect to it and no code.",
    ),
    variant: RedirectVariant::AddedQuery,
};

/// AS-AZ-02.other-host.
const AS_AZ_02_OTHER_HOST: RedirectRefused = RedirectRefused {
    meta: meta(
        "AS-AZ-02.other-host",
        "A redirect_uri on another host is refused",
        Must,
        REDIRECT_REFS,
        "https://evil.example/callback → no redirect to it and no code.",
    ),
    variant: RedirectVariant::OtherHost,
};

/// AS-AZ-02.userinfo.
const AS_AZ_02_USERINFO: RedirectRefused = RedirectRefused {
    meta: meta(
        "AS-AZ-02.userinfo",
        "A redirect_uri smuggling the registered host as userinfo is refused",
        Must,
        REDIRECT_REFS,
        "http://127.0.0.1:<p>@evil.example/callback → no redirect to it and no code.",
    ),
    variant: RedirectVariant::Userinfo,
};

impl Check<AuthzObservations> for RedirectRefused {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &AuthzObservations) -> Evaluation {
        let (m, v) = (&self.meta, self.variant);
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
}

/// AS-AZ-03: an unknown client gets an error page, never a redirect.
const AS_AZ_03: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-AZ-03", "An unknown client never gets a redirect", Must, &["OAuth 2.1 §4.1.2.1", "OAuth 2.1 §7.12.2", "MCP §11.5"],
        "An authorization request from an unknown client_id (with an otherwise valid redirect_uri) → an error page, no redirect at all."),
    eval: as_az_03,
};
fn as_az_03(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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
}

/// AS-AZ-04: no code without code_challenge.
const AS_AZ_04: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-AZ-04", "A public client's request without code_challenge is refused", Must, &["OAuth 2.1 §4.1.2.1", "OAuth 2.1 §7.5.2"],
        "An authorization request without code_challenge → error=invalid_request (redirect or page); never a code."),
    eval: |m, o| {
        let a = crate::need!(&o.no_challenge, "the request without PKCE");
        no_code(m, o, a, "no code_challenge")
    },
};

/// AS-AZ-05.plain: plain is refused when only S256 is advertised.
const AS_AZ_05_PLAIN: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-AZ-05.plain",
        "code_challenge_method=plain is refused when not advertised",
        Must,
        &["OAuth 2.1 §4.1.2.1", "RFC 7636 §4.4.1"],
        "code_challenge_method=plain while metadata lists only S256 → invalid_request, no code.",
    ),
    eval: as_az_05_plain,
};
fn as_az_05_plain(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let advertises_plain = o.endpoints.as_ref().is_ok_and(|e| {
        e.metadata
            .get("code_challenge_methods_supported")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == "plain"))
    });
    if advertises_plain {
        return Evaluation::skip("the AS advertises plain");
    }
    let a = crate::need!(&o.plain, "the plain request");
    no_code(m, o, a, "code_challenge_method=plain")
}

/// AS-AZ-05.s512: an unknown challenge method is refused.
const AS_AZ_05_S512: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-AZ-05.s512",
        "An unknown code_challenge_method is refused",
        Must,
        &["OAuth 2.1 §4.1.2.1", "RFC 7636 §4.4.1"],
        "code_challenge_method=S512 → invalid_request, no code.",
    ),
    eval: |m, o| {
        let a = crate::need!(&o.s512, "the S512 request");
        no_code(m, o, a, "code_challenge_method=S512")
    },
};

/// AS-AZ-06: no implicit grant.
const AS_AZ_06: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-AZ-06", "response_type=token is refused (no implicit grant)", Must, &["OAuth 2.1 §4.1.1", "OAuth 2.1 §10.1"],
        "response_type=token → unsupported_response_type, and no access token in any URL (query or fragment)."),
    eval: as_az_06,
};
fn as_az_06(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// AS-AZ-07: state comes back exactly, each parameter once.
const AS_AZ_07: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-AZ-07",
        "state comes back exactly, parameters once",
        Must,
        &["OAuth 2.1 §4.1.2", "OAuth 2.1 §3.1"],
        "The callback of a valid request carries the state sent, and no parameter twice.",
    ),
    eval: as_az_07,
};
fn as_az_07(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// AS-AZ-08: unknown and empty parameters are ignored.
const AS_AZ_08: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-AZ-08",
        "Unknown and empty parameters are ignored",
        Must,
        &["OAuth 2.1 §3.1"],
        "A valid request plus `conformance_unknown=x` and an empty `prompt=` → a code as usual.",
    ),
    eval: as_az_08,
};
fn as_az_08(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    if let Some(e) = happy_precondition(o) {
        return e;
    }
    let expected = "a code despite the unknown and empty parameters";
    match &o.unknown_params {
        Ok(f) => Evaluation::pass(expected, describe(&f.authorized.outcome))
            .with_evidence(last_exchange(&f.authorized)),
        Err(ObsError::Target {
            reason,
            evidence,
            cause: Cause::Refused { .. },
            ..
        }) => {
            Evaluation::violated(m.level, expected, reason.clone()).with_evidence(evidence.clone())
        }
        Err(e) => e.to_evaluation("the request with unknown parameters"),
    }
}

/// AS-AZ-09: no CORS at the authorization endpoint.
const AS_AZ_09: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-AZ-09",
        "No CORS at the authorization endpoint",
        Must,
        &["OAuth 2.1 §3.1"],
        "A GET with a foreign Origin and an OPTIONS preflight get no Access-Control-Allow-Origin.",
    ),
    eval: as_az_09,
};
fn as_az_09(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let c = crate::need!(&o.cors, "the CORS probes");
    let expected = "no Access-Control-Allow-Origin";
    let bad: Vec<String> = [("GET", &c.get), ("OPTIONS", &c.preflight)]
        .iter()
        .filter_map(|(what, (acao, _))| {
            acao.as_ref()
                .map(|v| format!("{what}: Access-Control-Allow-Origin: {v}"))
        })
        .collect();
    let e = if bad.is_empty() {
        Evaluation::pass(expected, "none on GET or OPTIONS")
    } else {
        Evaluation::violated(m.level, expected, bad.join("; "))
    };
    e.with_evidence([c.get.1.clone(), c.preflight.1.clone()])
}

/// AS-AZ-10: credential POSTs are answered 303, never 307/308.
const AS_AZ_10: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-AZ-10", "A credential POST is never answered with 307", Must, &["OAuth 2.1 §7.5.4"],
        "The login/consent form submissions are answered 303 (PASS), 302 (WARN), never 307/308 (FAIL, the credentials would be re-posted)."),
    eval: as_az_10,
};
fn as_az_10(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// AS-AZ-11: no code without authenticating the user.
const AS_AZ_11: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-AZ-11", "No code without authenticating the user", Must, &["OAuth 2.1 §3.1", "OAuth 2.1 §7.12.2"],
        "A fresh user agent (no cookies) that would approve consent but never submits the login form → a login page, never a code."),
    eval: as_az_11,
};
fn as_az_11(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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
}

/// AS-AZ-14: an unacceptable resource gets no code.
const AS_AZ_14: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-AZ-14",
        "An unacceptable resource is refused with invalid_target",
        Should,
        &["RFC 8707 §2"],
        "resource with a fragment → error=invalid_target; a code → WARN.",
    ),
    eval: |m, o| {
        let a = crate::need!(&o.invalid_resource, "the request with an invalid resource");
        no_code(m, o, a, "resource with a fragment")
    },
};

/// AS-AZ-15: iss in every authorization response, when advertised.
const AS_AZ_15: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-AZ-15", "iss is in every authorization response", Must, &["RFC 9207 §2"],
        "When iss is advertised: the success callback and an error callback both carry iss equal to the issuer."),
    eval: as_az_15,
};
fn as_az_15(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// AS-AZ-16: the code does not reveal the code_challenge (heuristic).
const AS_AZ_16: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-AZ-16", "The code does not reveal the code_challenge", May, &["OAuth 2.1 §4.1.2"],
        "Heuristic: the code neither contains the challenge nor base64-decodes to something containing it (INFO)."),
    eval: as_az_16,
};
fn as_az_16(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let f = crate::need!(&o.happy, "a valid authorization");
    let code = f.code().unwrap_or_default();
    let decoded = URL_SAFE_NO_PAD
        .decode(code.trim_end_matches('='))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let leaks = code.contains(&f.pkce.challenge) || decoded.contains(&f.pkce.challenge);
    let expected = "the code reveals nothing of the challenge";
    let e = if leaks {
        Evaluation::violated(m.level, expected, "the code contains the code_challenge")
    } else {
        Evaluation::pass(expected, "no trace of the challenge in the code")
    };
    e.with_evidence(last_exchange(&f.authorized))
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

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::authz::testing::{
        self, callback, code_callback, compliant, edit_metadata, elsewhere, error_callback,
        no_answer, page, refused, unanswered_walk,
    };

    fn no_happy_flow(o: &mut AuthzObservations) {
        o.happy = Err(refused("the login page answered 500", 500, None));
    }

    #[rstest]
    #[case::as_az_01(&AS_AZ_01, "HTTP 303 redirect to the callback")]
    #[case::as_az_03(&AS_AZ_03, "a page (HTTP 400)")]
    #[case::as_az_04(&AS_AZ_04, "HTTP 303 redirect to the callback")]
    #[case::as_az_05_plain(&AS_AZ_05_PLAIN, "HTTP 303 redirect to the callback")]
    #[case::as_az_05_s512(&AS_AZ_05_S512, "HTTP 303 redirect to the callback")]
    #[case::as_az_06(&AS_AZ_06, "HTTP 303 redirect to the callback")]
    #[case::as_az_07(&AS_AZ_07, "state returned exactly")]
    #[case::as_az_08(&AS_AZ_08, "HTTP 303 redirect to the callback")]
    #[case::as_az_09(&AS_AZ_09, "none on GET or OPTIONS")]
    #[case::as_az_10(&AS_AZ_10, "form POSTs answered [303, 303]")]
    #[case::as_az_11(&AS_AZ_11, "a page (HTTP 200)")]
    #[case::as_az_14(&AS_AZ_14, "HTTP 303 redirect to the callback")]
    #[case::as_az_15(&AS_AZ_15, "iss on every callback")]
    #[case::as_az_16(&AS_AZ_16, "no trace of the challenge in the code")]
    fn passes_on_the_compliant_record(
        #[case] c: &FnCheck<AuthzObservations>,
        #[case] actual: &str,
    ) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}: {}", c.meta.id, e.message);
        assert!(e.actual.starts_with(actual), "{}: {}", c.meta.id, e.actual);
        assert!(!e.evidence.is_empty(), "{}", c.meta.id);
    }

    #[test]
    fn as_az_01_fails_when_get_is_answered_405() {
        let mut o = compliant();
        o.happy = Err(refused(
            "the authorization endpoint answered 405",
            405,
            None,
        ));
        let e = AS_AZ_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "the authorization endpoint answered 405");
        assert_eq!(e.evidence, vec!["refused#1"]);
    }

    #[test]
    fn as_az_01_is_error_when_the_valid_request_got_no_answer() {
        let mut o = compliant();
        o.happy = Err(no_answer("the authorization endpoint timed out"));
        let e = AS_AZ_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("a valid authorization request: the authorization endpoint timed out"),
            "{}",
            e.message
        );
    }

    const VARIANTS: [&RedirectRefused; 6] = [
        &AS_AZ_02_EXTRA_PATH,
        &AS_AZ_02_TRAILING_SLASH,
        &AS_AZ_02_PATH_CASE,
        &AS_AZ_02_ADDED_QUERY,
        &AS_AZ_02_OTHER_HOST,
        &AS_AZ_02_USERINFO,
    ];

    fn set_variant(o: &mut AuthzObservations, v: RedirectVariant, walk: Authorized) {
        let uri = v.apply(testing::REDIRECT_URI);
        o.redirect_variants.insert(v, Ok((uri, walk)));
    }

    #[test]
    fn as_az_02_every_variant_passes_on_an_error_page() {
        for c in VARIANTS {
            let e = c.evaluate(&compliant());
            assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
            assert!(e.expected.contains(c.variant.describe()), "{}", e.expected);
            assert_eq!(e.actual, "a page (HTTP 400)");
        }
    }

    #[test]
    fn as_az_02_every_variant_fails_when_the_as_redirects_to_the_hostile_uri() {
        for c in VARIANTS {
            let mut o = compliant();
            let uri = c.variant.apply(testing::REDIRECT_URI);
            set_variant(
                &mut o,
                c.variant,
                elsewhere("variant#1", &format!("{uri}?error=access_denied")),
            );
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Fail, "{}", c.meta.id);
            assert!(
                e.actual.starts_with(&format!("redirected to {uri}")),
                "{}",
                e.actual
            );
        }
    }

    #[test]
    fn as_az_02_fails_when_a_normalised_location_reaches_the_hostile_uri() {
        let mut o = compliant();
        set_variant(
            &mut o,
            RedirectVariant::OtherHost,
            elsewhere("variant#1", "https://EVIL.example:443/callback"),
        );
        let e = AS_AZ_02_OTHER_HOST.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("EVIL.example"), "{}", e.actual);
    }

    #[test]
    fn as_az_02_every_variant_fails_when_a_code_is_issued() {
        for c in VARIANTS {
            let mut o = compliant();
            set_variant(&mut o, c.variant, code_callback("variant#1", "stolen"));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Fail, "{}", c.meta.id);
            // The registered callback is the same place as the added-query variant (queries are not compared):
            // that code is judged as a redirect to the hostile URI.
            if c.variant == RedirectVariant::AddedQuery {
                assert!(
                    e.actual
                        .starts_with("redirected to http://127.0.0.1:8401/callback?code=stolen"),
                    "{}",
                    e.actual
                );
            } else {
                assert_eq!(e.actual, "a code was issued", "{}", c.meta.id);
            }
        }
    }

    #[test]
    fn as_az_02_is_error_when_the_happy_flow_failed_or_the_walk_got_no_answer() {
        for c in VARIANTS {
            let mut o = compliant();
            no_happy_flow(&mut o);
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert!(
                e.message.contains("a refusal proves nothing"),
                "{}",
                e.message
            );

            let mut o = compliant();
            set_variant(&mut o, c.variant, unanswered_walk("variant#1"));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert!(e.message.contains("no HTTP answer"), "{}", e.message);
        }
    }

    #[test]
    fn as_az_02_is_a_harness_error_when_the_variant_was_not_probed() {
        let mut o = compliant();
        o.redirect_variants.remove(&RedirectVariant::Userinfo);
        let e = AS_AZ_02_USERINFO.evaluate(&o);
        assert_eq!(e.verdict, Verdict::HarnessError);
    }

    #[test]
    fn as_az_03_fails_when_an_unknown_client_is_redirected() {
        let mut o = compliant();
        o.unknown_client = Ok(error_callback("unknown#1", "unauthorized_client"));
        let e = AS_AZ_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.starts_with(
                "redirected to http://127.0.0.1:8401/callback?error=unauthorized_client"
            ),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_az_03_is_error_without_a_happy_flow() {
        let mut o = compliant();
        no_happy_flow(&mut o);
        let e = AS_AZ_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("the login page answered 500"),
            "{}",
            e.message
        );
    }

    /// AS-AZ-04, AS-AZ-05.plain, AS-AZ-05.s512 and AS-AZ-14 refuse a request by issuing no code.
    fn set_no_code_walk(
        c: &FnCheck<AuthzObservations>,
        o: &mut AuthzObservations,
        walk: Authorized,
    ) {
        let slot = match c.meta.id {
            "AS-AZ-04" => &mut o.no_challenge,
            "AS-AZ-05.plain" => &mut o.plain,
            "AS-AZ-05.s512" => &mut o.s512,
            "AS-AZ-14" => &mut o.invalid_resource,
            other => panic!("{other} is not a no-code check"),
        };
        *slot = Ok(walk);
    }

    #[rstest]
    #[case::as_az_04(&AS_AZ_04, Verdict::Fail)]
    #[case::as_az_05_plain(&AS_AZ_05_PLAIN, Verdict::Fail)]
    #[case::as_az_05_s512(&AS_AZ_05_S512, Verdict::Fail)]
    #[case::as_az_14(&AS_AZ_14, Verdict::Warn)]
    fn a_no_code_check_is_violated_when_a_code_is_issued(
        #[case] c: &FnCheck<AuthzObservations>,
        #[case] verdict: Verdict,
    ) {
        let mut o = compliant();
        set_no_code_walk(c, &mut o, code_callback("attack#1", "c1"));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, verdict, "{}", c.meta.id);
        assert!(e.actual.ends_with(": a code was issued"), "{}", e.actual);
        assert_eq!(e.evidence, vec!["attack#1"]);
    }

    #[rstest]
    #[case::as_az_04(&AS_AZ_04)]
    #[case::as_az_05_plain(&AS_AZ_05_PLAIN)]
    #[case::as_az_05_s512(&AS_AZ_05_S512)]
    #[case::as_az_14(&AS_AZ_14)]
    fn a_no_code_check_passes_on_an_error_page(#[case] c: &FnCheck<AuthzObservations>) {
        let mut o = compliant();
        set_no_code_walk(c, &mut o, page("attack#1", 400));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
        assert_eq!(e.actual, "a page (HTTP 400)");
    }

    #[rstest]
    #[case::as_az_04(&AS_AZ_04)]
    #[case::as_az_05_plain(&AS_AZ_05_PLAIN)]
    #[case::as_az_05_s512(&AS_AZ_05_S512)]
    #[case::as_az_14(&AS_AZ_14)]
    fn a_no_code_check_is_error_without_a_happy_flow_or_an_answer(
        #[case] c: &FnCheck<AuthzObservations>,
    ) {
        let mut o = compliant();
        no_happy_flow(&mut o);
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(
            e.message.contains("a refusal proves nothing"),
            "{}",
            e.message
        );

        let mut o = compliant();
        set_no_code_walk(c, &mut o, unanswered_walk("attack#1"));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(e.message.contains("connection reset"), "{}", e.message);
    }

    #[test]
    fn as_az_05_plain_skips_when_plain_is_advertised() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.insert(
                "code_challenge_methods_supported".into(),
                json!(["S256", "plain"]),
            );
        });
        let e = AS_AZ_05_PLAIN.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert_eq!(e.message, "the AS advertises plain");
    }

    #[test]
    fn as_az_06_fails_when_the_fragment_carries_an_access_token() {
        let mut o = compliant();
        let mut a = callback("implicit#1", &[("state", testing::STATE)]);
        if let AuthorizeOutcome::Callback { fragment, .. } = &mut a.outcome {
            fragment.push(("access_token".into(), "at".into()));
        }
        o.implicit = Ok(a);
        let e = AS_AZ_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.ends_with(": an access token in the redirect"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_az_06_fails_when_a_code_is_issued_for_response_type_token() {
        let mut o = compliant();
        o.implicit = Ok(code_callback("implicit#1", "c1"));
        let e = AS_AZ_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "a code was issued for response_type=token");
    }

    #[test]
    fn as_az_06_is_error_when_the_request_is_missing() {
        let mut o = compliant();
        o.implicit = Err(no_answer("timed out"));
        let e = AS_AZ_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("the response_type=token request: timed out"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_az_07_fails_when_state_comes_back_altered() {
        let mut o = compliant();
        testing::happy(&mut o).authorized =
            callback("happy#1", &[("code", "c"), ("state", "other")]);
        let e = AS_AZ_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "state Some(\"other\")");
    }

    #[test]
    fn as_az_07_fails_when_a_parameter_appears_twice() {
        let mut o = compliant();
        testing::happy(&mut o).authorized = callback(
            "happy#1",
            &[("code", "c"), ("state", testing::STATE), ("code", "d")],
        );
        let e = AS_AZ_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "`code` appears twice");
    }

    #[test]
    fn as_az_07_is_error_when_the_valid_authorization_did_not_reach_the_callback() {
        let mut o = compliant();
        testing::happy(&mut o).authorized = page("happy#1", 200);
        let e = AS_AZ_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("did not reach the callback"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_az_08_fails_when_unknown_parameters_are_refused() {
        let mut o = compliant();
        o.unknown_params = Err(refused(
            "error=invalid_request",
            302,
            Some("invalid_request"),
        ));
        let e = AS_AZ_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "error=invalid_request");
    }

    #[test]
    fn as_az_08_is_error_when_the_request_got_no_answer() {
        let mut o = compliant();
        o.unknown_params = Err(no_answer("timed out"));
        let e = AS_AZ_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("the request with unknown parameters: timed out"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_az_09_fails_when_the_preflight_allows_any_origin() {
        let mut o = compliant();
        o.cors.as_mut().unwrap().preflight.0 = Some("*".into());
        let e = AS_AZ_09.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "OPTIONS: Access-Control-Allow-Origin: *");
    }

    #[test]
    fn as_az_09_is_error_when_the_probes_are_missing() {
        let mut o = compliant();
        o.cors = Err(no_answer("timed out"));
        let e = AS_AZ_09.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("the CORS probes"), "{}", e.message);
    }

    #[test]
    fn as_az_10_fails_when_a_credential_post_is_answered_307() {
        let mut o = compliant();
        testing::happy(&mut o).authorized.form_posts[0].0 = 307;
        let e = AS_AZ_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "form POSTs answered [307, 303]");
    }

    #[test]
    fn as_az_10_warns_when_a_credential_post_is_answered_302() {
        let mut o = compliant();
        testing::happy(&mut o).authorized.form_posts[1].0 = 302;
        let e = AS_AZ_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "form POSTs answered [303, 302]");
    }

    #[test]
    fn as_az_10_skips_without_a_login_form() {
        let mut o = compliant();
        o.login = LoginKind::Auto;
        let e = AS_AZ_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
    }

    #[test]
    fn as_az_10_is_error_when_no_form_was_submitted() {
        let mut o = compliant();
        testing::happy(&mut o).authorized.form_posts.clear();
        let e = AS_AZ_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert_eq!(e.message, "the login script submitted no form");
    }

    #[test]
    fn as_az_11_fails_when_a_fresh_agent_gets_a_code() {
        let mut o = compliant();
        o.fresh_agent = Ok(code_callback("fresh#1", "c"));
        let e = AS_AZ_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "a code without any login");
    }

    #[test]
    fn as_az_11_is_error_when_the_fresh_walk_got_no_answer() {
        let mut o = compliant();
        o.fresh_agent = Ok(unanswered_walk("fresh#1"));
        let e = AS_AZ_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("no HTTP answer"), "{}", e.message);
    }

    #[test]
    fn as_az_15_fails_when_the_error_response_lacks_iss() {
        let mut o = compliant();
        o.no_challenge = Ok(callback("no-challenge#1", &[("error", "invalid_request")]));
        let e = AS_AZ_15.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "error response iss None");
    }

    #[test]
    fn as_az_15_fails_when_the_success_iss_differs() {
        let mut o = compliant();
        testing::happy(&mut o).authorized = callback("happy#1", &[("code", "c"), ("iss", "x")]);
        let e = AS_AZ_15.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "success response iss Some(\"x\")");
    }

    #[test]
    fn as_az_15_skips_when_iss_is_not_advertised() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.remove("authorization_response_iss_parameter_supported");
        });
        let e = AS_AZ_15.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
    }

    #[test]
    fn as_az_15_is_error_without_an_error_response() {
        let mut o = compliant();
        o.no_challenge = Err(no_answer("timed out"));
        let e = AS_AZ_15.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("an error response: timed out"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_az_16_is_info_when_the_code_embeds_the_challenge() {
        let mut o = compliant();
        let challenge = testing::pkce().challenge;
        let code = URL_SAFE_NO_PAD.encode(format!("{{\"cc\":\"{challenge}\"}}"));
        testing::happy(&mut o).authorized = code_callback("happy#1", &code);
        let e = AS_AZ_16.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Info);
        assert_eq!(e.actual, "the code contains the code_challenge");
    }

    #[test]
    fn as_az_16_is_error_without_a_valid_authorization() {
        let mut o = compliant();
        no_happy_flow(&mut o);
        let e = AS_AZ_16.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("a valid authorization: the login page answered 500"),
            "{}",
            e.message
        );
    }
}
