//! Client ID Metadata Documents and dynamic registration: AS-CIMD-*, AS-DCR-*.

use mcp_auth_reports::Level::{Must, Should};

use super::{
    check, code_of, happy_precondition, last_exchange, meta, redirected_to, walk_failed, AuthzCheck,
};
use crate::authz::obs::{AuthzObservations, CimdAttempt, CimdCase, CimdObs};
use crate::authz::scenarios::describe;
use crate::check::{CheckMeta, Evaluation};

fn case_check(
    id: &'static str,
    title: &'static str,
    level: mcp_auth_reports::Level,
    refs: &'static [&'static str],
    summary: &'static str,
    case: CimdCase,
) -> Box<AuthzCheck> {
    let eval: fn(&CheckMeta, &AuthzObservations) -> Evaluation = match case {
        CimdCase::IdTrailingSlash => |m, o| refused_case(m, o, CimdCase::IdTrailingSlash),
        CimdCase::IdOtherPath => |m, o| refused_case(m, o, CimdCase::IdOtherPath),
        CimdCase::IdUppercaseHost => |m, o| refused_case(m, o, CimdCase::IdUppercaseHost),
        CimdCase::IdOtherHost => |m, o| refused_case(m, o, CimdCase::IdOtherHost),
        CimdCase::UnlistedRedirect => |m, o| refused_case(m, o, CimdCase::UnlistedRedirect),
        CimdCase::InvalidJson => |m, o| refused_case(m, o, CimdCase::InvalidJson),
        CimdCase::TopLevelArray => |m, o| refused_case(m, o, CimdCase::TopLevelArray),
        CimdCase::MissingRedirectUris => |m, o| refused_case(m, o, CimdCase::MissingRedirectUris),
        CimdCase::MissingClientId => |m, o| refused_case(m, o, CimdCase::MissingClientId),
        CimdCase::FetchFails => |m, o| refused_case(m, o, CimdCase::FetchFails),
        CimdCase::Honest | CimdCase::SharedSecret | CimdCase::Oversized => {
            |_, _| Evaluation::harness_error("not a refusal case")
        }
    };
    check(meta(id, title, level, refs, summary), eval)
}

const ID_REFS: &[&str] = &["MCP §5.1.1", "CIMD §4.1"];
const DOC_REFS: &[&str] = &["MCP §5.1.1"];

pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        check(
            meta("AS-CIMD-01", "A URL client_id's document is fetched and honoured", Should, &["MCP §5.1.1", "CIMD §4"],
                "The suite hosts an honest document → the AS fetches it and issues a code."),
            |m, o| {
                let c = crate::need!(&o.cimd, "the CIMD probes");
                let a = attempt(c, CimdCase::Honest);
                if let Some(e) = walk_failed(&a.authorized) {
                    return e;
                }
                let expected = "the document fetched, then a code";
                let e = match (a.hits, code_of(&a.authorized)) {
                    (h, Some(_)) if h > 0 => Evaluation::pass(expected, format!("{h} fetch(es), code issued")),
                    (h, _) => Evaluation::violated(m.level, expected, format!("{h} fetch(es); {}", describe(&a.authorized.outcome))),
                };
                e.with_evidence(last_exchange(&a.authorized))
            },
        ),
        case_check("AS-CIMD-02.trailing-slash", "A document whose client_id adds a trailing slash is refused", Must, ID_REFS,
            "The document at U declares client_id U + \"/\" → no code.", CimdCase::IdTrailingSlash),
        case_check("AS-CIMD-02.other-path", "A document naming another path is refused", Must, ID_REFS,
            "The document at U declares a client_id with another path → no code.", CimdCase::IdOtherPath),
        case_check("AS-CIMD-02.uppercase-host", "A document naming the host in uppercase is refused", Must, ID_REFS,
            "The document at U declares client_id with an uppercase host → no code (simple string comparison).", CimdCase::IdUppercaseHost),
        case_check("AS-CIMD-02.other-host", "A document naming another host is refused", Must, ID_REFS,
            "The document at U declares a client_id on another host → no code.", CimdCase::IdOtherHost),
        case_check("AS-CIMD-03", "A redirect_uri the document does not list is refused", Must, &["MCP §5.1.1", "CIMD §4.5"],
            "An honest document; the request uses a redirect_uri not in its redirect_uris → no redirect to it, no code.", CimdCase::UnlistedRedirect),
        case_check("AS-CIMD-04.invalid-json", "A document that is not JSON is refused", Must, DOC_REFS,
            "The document body is truncated JSON → no code.", CimdCase::InvalidJson),
        case_check("AS-CIMD-04.top-level-array", "A document that is a JSON array is refused", Must, DOC_REFS,
            "The document is a JSON array → no code.", CimdCase::TopLevelArray),
        case_check("AS-CIMD-04.missing-redirect-uris", "A document without redirect_uris is refused", Must, DOC_REFS,
            "The document lacks redirect_uris → no code.", CimdCase::MissingRedirectUris),
        case_check("AS-CIMD-04.missing-client-id", "A document without client_id is refused", Must, DOC_REFS,
            "The document lacks client_id → no code.", CimdCase::MissingClientId),
        check(
            meta("AS-CIMD-05", "Documents are cached per their cache headers", Should, &["MCP §5.1.1", "CIMD §4.4"],
                "A document served with Cache-Control: max-age=600, used in two flows → fetched once."),
            |m, o| {
                let c = crate::need!(&o.cimd, "the CIMD probes");
                let Some((hits, ev)) = &c.cache_fetches else { return Evaluation::harness_error("the caching probe did not run") };
                let expected = "one fetch for two flows within max-age";
                let e = match hits {
                    1 => Evaluation::pass(expected, "fetched once"),
                    0 => Evaluation::error("the document was never fetched"),
                    n => Evaluation::violated(m.level, expected, format!("fetched {n} times")),
                };
                e.with_evidence(ev.clone())
            },
        ),
        check(
            meta("AS-CIMD-06", "Failed fetches and invalid documents are not cached", Must, &["CIMD §4.4"],
                "First fetch answers 500 (the flow fails); the next flow's fetch gets a valid document → the AS re-fetches and issues a code."),
            |m, o| {
                let c = crate::need!(&o.cimd, "the CIMD probes");
                let Some((first, second)) = &c.error_then_valid else { return Evaluation::harness_error("the error-caching probe did not run") };
                if let Some(e) = walk_failed(&first.authorized).or_else(|| walk_failed(&second.authorized)) {
                    return e;
                }
                let expected = "the second flow re-fetches and gets a code";
                let e = match (code_of(&second.authorized), second.hits) {
                    (Some(_), h) if h >= 2 => Evaluation::pass(expected, format!("re-fetched ({h} fetches), code issued")),
                    (_, h) if first.hits == 0 => Evaluation::error(format!("the document was never fetched ({h})")),
                    (_, h) => Evaluation::violated(m.level, expected, format!("{h} fetch(es) in total; second flow: {}", describe(&second.authorized.outcome))),
                };
                e.with_evidence(last_exchange(&second.authorized))
            },
        ),
        case_check("AS-CIMD-07", "A failed fetch aborts the authorization", Should, &["CIMD §4.3"],
            "The document URL answers 404 → an error, no code.", CimdCase::FetchFails),
        check(
            meta("AS-CIMD-08", "Loopback client_id URLs are not fetched (SSRF)", Should, &["MCP §11.6.1", "CIMD §6.5"],
                "client_id https://127.0.0.1:<p>/… and https://localhost:<p>/…, served by a probe listener → the listener sees no request and no code."),
            |m, o| {
                let c = crate::need!(&o.cimd, "the CIMD probes");
                probes(m, o, &c.ssrf, "the probe listener saw no request, no code")
            },
        ),
        check(
            meta("AS-CIMD-09", "A non-https client_id is never treated as CIMD", Must, &["CIMD §3", "CIMD §6.5"],
                "client_id http://…, file:///etc/passwd, data:… → refused without a fetch."),
            |m, o| {
                let c = crate::need!(&o.cimd, "the CIMD probes");
                probes(m, o, &c.schemes, "refused without a fetch")
            },
        ),
        check(
            meta("AS-CIMD-10", "client_id URLs that break CIMD §3 are refused", Must, &["CIMD §3"],
                "A fragment, userinfo, dot segments, no path → refused without a fetch."),
            |m, o| {
                let c = crate::need!(&o.cimd, "the CIMD probes");
                probes(m, o, &c.malformed, "refused without a fetch")
            },
        ),
        check(
            meta("AS-CIMD-11", "Oversized documents are refused and the AS stays responsive", Should, &["CIMD §6.6"],
                "A 1 MiB document → no code, and the metadata endpoint still answers afterwards."),
            |m, o| {
                let c = crate::need!(&o.cimd, "the CIMD probes");
                let a = attempt(c, CimdCase::Oversized);
                if let Some(e) = happy_precondition(o).or_else(|| walk_failed(&a.authorized)) {
                    return e;
                }
                let expected = "no code for a 1 MiB document; the AS still answers";
                let mut ev = last_exchange(&a.authorized);
                let e = match (&c.responsive_after_oversized, code_of(&a.authorized)) {
                    (_, Some(_)) => Evaluation::violated(m.level, expected, "a code was issued for the 1 MiB document"),
                    (Some((200, x)), None) => {
                        ev.push(x.clone());
                        Evaluation::pass(expected, format!("{}; metadata still 200", describe(&a.authorized.outcome)))
                    }
                    (other, None) => Evaluation::violated(m.level, expected, format!("the AS did not answer normally afterwards: {other:?}")),
                };
                e.with_evidence(ev)
            },
        ),
        check(
            meta("AS-CIMD-12", "A document's shared secret is never honoured", Must, &["CIMD §4.1"],
                "A document declaring client_secret_basic and a client_secret → refused, or treated as public: a token request authenticated with that secret must not succeed."),
            |m, o| {
                let c = crate::need!(&o.cimd, "the CIMD probes");
                let a = attempt(c, CimdCase::SharedSecret);
                if let Some(e) = happy_precondition(o).or_else(|| walk_failed(&a.authorized)) {
                    return e;
                }
                if let Some(e) = a.token.as_ref().and_then(|t| t.unanswered("the token request with the document's secret")) {
                    return e;
                }
                let expected = "no secret-authenticated client from a document";
                let e = match (&a.token, code_of(&a.authorized)) {
                    (_, None) => Evaluation::pass(expected, format!("refused: {}", describe(&a.authorized.outcome))),
                    (Some(t), Some(_)) if t.ok() => Evaluation::violated(m.level, expected, "the document's secret authenticated a token request").with_evidence([t.exchange.clone()]),
                    (Some(t), Some(_)) => Evaluation::pass(expected, format!("code issued, but the secret was refused: {}", t.describe())).with_evidence([t.exchange.clone()]),
                    (None, Some(_)) => Evaluation::harness_error("no token request was made with the document's secret"),
                };
                e.with_evidence(last_exchange(&a.authorized))
            },
        ),
        check(
            meta("AS-DCR-01", "Dynamic registration answers 201 with a client_id", Must, &["MCP §5.3", "RFC 7591 §3.1", "RFC 7591 §3.2.1"],
                "When registration_endpoint is advertised: a public-client registration → 201 with client_id."),
            |m, o| {
                let d = crate::need!(&o.dcr, "the DCR probes");
                let (status, body, ex) = &d.public;
                let status = match status {
                    Ok(s) => s,
                    Err(f) => return f.unanswered("the registration request").with_evidence([ex.clone()]),
                };
                let expected = "201 with client_id";
                let id = body.as_ref().and_then(|b| b.get("client_id")).and_then(|v| v.as_str());
                let e = match (status, id) {
                    (201, Some(id)) => Evaluation::pass(expected, format!("201, client_id {id}")),
                    _ => Evaluation::violated(m.level, expected, format!("HTTP {status}, client_id {id:?}")),
                };
                e.with_evidence([ex.clone()])
            },
        ),
        check(
            meta("AS-DCR-02", "Dynamic registration refuses unsafe redirect URIs", Must, &["RFC 7591 §3.2.2", "MCP §11.3"],
                "Registering javascript:… or http://evil.example/cb → 400 invalid_redirect_uri (or invalid_client_metadata)."),
            |m, o| {
                let d = crate::need!(&o.dcr, "the DCR probes");
                if let Some((u, Err(f), _, x)) = d.bad.iter().find(|(_, s, _, _)| s.is_err()) {
                    return f.unanswered(&format!("the registration of {u}")).with_evidence([x.clone()]);
                }
                let expected = "400 for each unsafe redirect URI";
                let bad: Vec<String> = d.bad.iter().filter_map(|(u, s, _, _)| match s {
                    Ok(400) | Err(_) => None,
                    Ok(s) => Some(format!("{u} → HTTP {s}")),
                }).collect();
                let ev = d.bad.iter().map(|(_, _, _, x)| x.clone());
                let e = if bad.is_empty() { Evaluation::pass(expected, "both refused with 400") } else { Evaluation::violated(m.level, expected, bad.join("; ")) };
                e.with_evidence(ev)
            },
        ),
    ]
}

fn attempt(c: &CimdObs, case: CimdCase) -> &CimdAttempt {
    c.cases.get(&case).expect("every CIMD case is attempted")
}

fn refused_case(m: &CheckMeta, o: &AuthzObservations, case: CimdCase) -> Evaluation {
    let c = crate::need!(&o.cimd, "the CIMD probes");
    if let Some(e) = happy_precondition(o) {
        return e;
    }
    let honest = attempt(c, CimdCase::Honest);
    if code_of(&honest.authorized).is_none() {
        return Evaluation::error(
            "an honest CIMD client gets no code, so a refusal proves nothing (see AS-CIMD-01)",
        )
        .with_evidence(last_exchange(&honest.authorized));
    }
    let a = attempt(c, case);
    if let Some(e) = walk_failed(&a.authorized) {
        return e;
    }
    let expected = "no code (an error page or an error redirect to the valid URI)";
    let e = match (code_of(&a.authorized), redirected_to(&a.authorized)) {
        (Some(_), _) => Evaluation::violated(
            m.level,
            expected,
            format!("a code was issued ({} fetch(es))", a.hits),
        ),
        (None, Some(loc)) if case == CimdCase::UnlistedRedirect && loc.contains("/unlisted") => {
            Evaluation::violated(
                m.level,
                expected,
                format!("redirected to the unlisted {loc}"),
            )
        }
        (None, _) => Evaluation::pass(
            expected,
            format!("{} ({} fetch(es))", describe(&a.authorized.outcome), a.hits),
        ),
    };
    e.with_evidence(last_exchange(&a.authorized))
}

fn probes(
    m: &CheckMeta,
    o: &AuthzObservations,
    list: &[(String, crate::authz::agent::Authorized, usize)],
    expected: &str,
) -> Evaluation {
    if let Some(e) = happy_precondition(o) {
        return e;
    }
    let mut bad = Vec::new();
    let mut ev = Vec::new();
    for (id, a, hits) in list {
        if let Some(e) = walk_failed(a) {
            let message = format!("{id}: {}", e.message);
            return e.with_message(message);
        }
        ev.extend(last_exchange(a));
        if *hits > 0 {
            bad.push(format!("{id}: fetched {hits} time(s)"));
        } else if code_of(a).is_some() {
            bad.push(format!("{id}: a code was issued"));
        }
    }
    let e = if bad.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} client ids refused without a fetch", list.len()),
        )
    } else {
        Evaluation::violated(m.level, expected, bad.join("; "))
    };
    e.with_evidence(ev)
}
