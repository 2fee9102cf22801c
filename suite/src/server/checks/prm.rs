//! Protected resource metadata: RS-PRM-*, and the https rule RS-TLS-01.

use mcp_auth_reports::Level::{Must, Should};
use serde_json::{Map, Value};

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::http::is_loopback_host;
use crate::server::obs::{Discovery, PrmDoc, PrmFetch, PrmSource, ServerObservations};

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        Box::new(RS_PRM_01),
        Box::new(RS_PRM_02),
        Box::new(RS_PRM_03),
        Box::new(RS_PRM_04),
        Box::new(RS_PRM_05),
        Box::new(RS_PRM_06),
        Box::new(RS_PRM_07),
        Box::new(RS_PRM_08),
        Box::new(RS_PRM_09),
        Box::new(RS_PRM_10),
        Box::new(RS_PRM_11),
        Box::new(RS_PRM_12),
        Box::new(RS_PRM_13),
        Box::new(RS_TLS_01),
    ]
}

/// RS-PRM-01: A valid protected resource metadata document is obtainable.
const RS_PRM_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-01", "A valid protected resource metadata document is obtainable", Must,
        &["MCP §3", "MCP §4.1", "RFC 9728 §3"],
        "Umbrella: through the 401 resource_metadata or a well-known URI, a 200 JSON object with `resource` and `authorization_servers` is obtained."),
    eval: rs_prm_01,
};

fn rs_prm_01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let expected =
        "a 200 JSON object with resource and authorization_servers from some discovery mechanism";
    match disc.documents().find(|(_, _, obj)| usable(obj)) {
        Some((f, doc, _)) => Evaluation::pass(
            expected,
            format!("obtained from {} ({})", f.source.as_str(), f.url),
        )
        .with_evidence([doc.exchange.clone()]),
        None => unanswered(&disc.fetches)
            .unwrap_or_else(|| {
                Evaluation::violated(m.level, expected, describe_fetches(&disc.fetches))
            })
            .with_evidence(fetch_evidence(&disc.fetches)),
    }
}

/// RS-PRM-02: At least one PRM discovery mechanism works.
const RS_PRM_02: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-02", "At least one PRM discovery mechanism works", Must, &["MCP §4.2"],
        "Unauthenticated initialize, then GET both well-known forms → at least one of: resource_metadata in the 401, path-inserted, root yields PRM."),
    eval: rs_prm_02,
};

fn rs_prm_02(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let expected =
        "resource_metadata in the 401, or PRM at the path-inserted or root well-known URL";
    let working: Vec<&PrmFetch> = disc
        .documents()
        .filter(|(_, _, obj)| usable(obj))
        .map(|(f, _, _)| f)
        .collect();
    if working.is_empty() {
        let mut ev = fetch_evidence(&disc.fetches);
        if let Ok(p) = &o.unauthenticated {
            ev.push(p.exchange.clone());
        }
        return unanswered(&disc.fetches)
            .unwrap_or_else(|| {
                Evaluation::violated(m.level, expected, describe_fetches(&disc.fetches))
            })
            .with_evidence(ev);
    }
    let names: Vec<&str> = working.iter().map(|f| f.source.as_str()).collect();
    Evaluation::pass(expected, format!("working: {}", names.join(", ")))
        .with_evidence(fetch_evidence(&disc.fetches))
}

/// RS-PRM-03: PRM is served as 200 application/json with a JSON object.
const RS_PRM_03: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-03", "PRM is served as 200 application/json with a JSON object", Must, &["RFC 9728 §3.2"],
        "Every PRM document served (status 200) has media type application/json and a JSON object body."),
    eval: rs_prm_03,
};

fn rs_prm_03(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let docs = served(disc);
    if docs.is_empty() {
        return no_documents(disc);
    }
    let expected = "200, Content-Type application/json (parameters allowed), a JSON object";
    let mut problems = Vec::new();
    for (f, d) in &docs {
        let ct = d.content_type.clone().unwrap_or_default();
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" {
            problems.push(format!("{}: Content-Type `{ct}`", f.url));
        }
        if let Err(e) = &d.body {
            problems.push(format!("{}: {e}", f.url));
        }
    }
    let ev: Vec<String> = docs.iter().map(|(_, d)| d.exchange.clone()).collect();
    let e = if problems.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} document(s) served as JSON objects", docs.len()),
        )
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence(ev)
}

/// RS-PRM-04: PRM lists at least one authorization server issuer.
const RS_PRM_04: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-04", "PRM lists at least one authorization server issuer", Must, &["MCP §4.1", "RFC 9728 §2", "RFC 8414 §2"],
        "authorization_servers is a non-empty array of absolute http(s) URLs without query or fragment."),
    eval: rs_prm_04,
};

fn rs_prm_04(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    each_document(
        m,
        disc,
        "authorization_servers: a non-empty array of issuer identifiers",
        |_, obj| match obj.get("authorization_servers") {
            None => vec!["authorization_servers is missing".into()],
            Some(Value::Array(a)) if a.is_empty() => vec!["authorization_servers is empty".into()],
            Some(Value::Array(a)) => a.iter().filter_map(issuer_problem).collect(),
            Some(other) => vec![format!("authorization_servers is not an array: {other}")],
        },
    )
}

/// RS-PRM-05: PRM `resource` is an absolute URL without a fragment.
const RS_PRM_05: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-PRM-05",
        "PRM `resource` is an absolute URL without a fragment",
        Must,
        &["RFC 9728 §1.2", "RFC 9728 §2"],
        "resource is present, an absolute http(s) URL, with no fragment.",
    ),
    eval: rs_prm_05,
};

fn rs_prm_05(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    each_document(
        m,
        disc,
        "resource: an absolute http(s) URL without a fragment",
        |_, obj| match obj.get("resource") {
            None => vec!["resource is missing".into()],
            Some(Value::String(s)) => match url::Url::parse(s) {
                Err(e) => vec![format!("resource `{s}` is not an absolute URL: {e}")],
                Ok(u) if u.fragment().is_some() || s.contains('#') => {
                    vec![format!("resource `{s}` has a fragment")]
                }
                Ok(u) if !matches!(u.scheme(), "https" | "http") => {
                    vec![format!("resource `{s}` is not http(s)")]
                }
                Ok(_) => vec![],
            },
            Some(other) => vec![format!("resource is not a string: {other}")],
        },
    )
}

/// RS-PRM-06: Well-known PRM names the resource its URL was derived from.
const RS_PRM_06: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-06", "Well-known PRM names the resource its URL was derived from", Must, &["RFC 9728 §3.3", "RFC 9728 §6"],
        "For each well-known document served, resource equals the identifier the URL was built from (the MCP URL for the path-inserted form, the origin for the root form), code point by code point."),
    eval: rs_prm_06,
};

fn rs_prm_06(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let expected = "resource == the identifier the well-known URL was derived from";
    let mut judged = Vec::new();
    let mut problems = Vec::new();
    for (f, doc, _) in disc.documents() {
        if f.source == PrmSource::Header {
            continue;
        }
        judged.push(doc.exchange.clone());
        let actual = doc.resource().unwrap_or("<missing>");
        let root_alt = format!("{}/", f.expected_resource);
        let ok =
            actual == f.expected_resource || (f.source == PrmSource::Root && actual == root_alt);
        if !ok {
            problems.push(format!(
                "{} serves resource `{actual}`, expected `{}`",
                f.url, f.expected_resource
            ));
        }
    }
    if judged.is_empty() {
        return Evaluation::skip(
            "no PRM is served at a well-known location (discovery is through the 401 header only)",
        );
    }
    let e = if problems.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} well-known document(s) match", judged.len()),
        )
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence(judged)
}

/// RS-PRM-07: PRM advertised in a 401 names the requested URL.
const RS_PRM_07: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-07", "PRM advertised in a 401 names the requested URL", Must, &["RFC 9728 §3.3"],
        "POST to U → 401 → the advertised PRM has resource == U. A parent path is FAIL (WARN when the profile sets strict_prm_resource = false)."),
    eval: rs_prm_07,
};

fn rs_prm_07(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let Some(f) = disc.get(PrmSource::Header) else {
        return Evaluation::skip("the 401 advertised no resource_metadata URL");
    };
    let doc = match &f.doc {
        Ok(d) => d,
        Err(e) => return e.to_evaluation("fetching the advertised PRM"),
    };
    let Some(actual) = doc.resource() else {
        return Evaluation::error("the advertised PRM has no usable resource (see RS-PRM-03/05)")
            .with_evidence([doc.exchange.clone()])
            .after(&["RS-PRM-03", "RS-PRM-05"]);
    };
    let expected = format!("resource == {}", o.target);
    let e = if actual == o.target {
        Evaluation::pass(expected, format!("resource `{actual}`"))
    } else if !o.profile.strict_prm_resource
        && o.target.starts_with(actual.trim_end_matches('/'))
        && same_origin(actual, &o.target)
    {
        Evaluation::violated(
            Should,
            expected,
            format!("resource `{actual}` is a parent of the request URL"),
        )
        .with_message("downgraded to WARN by the profile (strict_prm_resource = false)")
    } else {
        Evaluation::violated(m.level, expected, format!("resource `{actual}`"))
    };
    e.with_evidence([doc.exchange.clone()])
}

/// RS-PRM-08: PRM omits members with empty values.
const RS_PRM_08: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-08", "PRM omits members with empty values", Must, &["RFC 9728 §2", "RFC 9728 §3.2"],
        "No member is null or an empty array/object/string (bearer_methods_supported: [] is the one allowed exception)."),
    eval: rs_prm_08,
};

fn rs_prm_08(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    each_document(
        m,
        disc,
        "no null or empty members (except bearer_methods_supported: [])",
        |_, obj| {
            obj.iter()
                .filter_map(|(k, v)| {
                    let empty = match v {
                        Value::Null => true,
                        Value::Array(a) => a.is_empty() && k != "bearer_methods_supported",
                        Value::Object(x) => x.is_empty(),
                        Value::String(s) => s.is_empty(),
                        _ => false,
                    };
                    empty.then(|| format!("`{k}` is {v}"))
                })
                .collect()
        },
    )
}

/// RS-PRM-09: PRM includes scopes_supported.
const RS_PRM_09: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-PRM-09",
        "PRM includes scopes_supported",
        Should,
        &["RFC 9728 §2", "MCP §6", "SBP §2.5"],
        "scopes_supported present and non-empty; absent → WARN.",
    ),
    eval: rs_prm_09,
};

fn rs_prm_09(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    each_document(
        m,
        disc,
        "scopes_supported present and non-empty",
        |_, obj| match obj.get("scopes_supported") {
            Some(Value::Array(a)) if !a.is_empty() => vec![],
            Some(other) => vec![format!("scopes_supported is {other}")],
            None => vec!["no scopes_supported".into()],
        },
    )
}

/// RS-PRM-10: PRM is fetchable without authentication.
const RS_PRM_10: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-PRM-10",
        "PRM is fetchable without authentication",
        Must,
        &["RFC 9728 §3.1", "RFC 9728 §5", "MCP §4.2"],
        "GET PRM with no Authorization → 200; a 401/403 makes discovery impossible.",
    ),
    eval: rs_prm_10,
};

fn rs_prm_10(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let expected = "HTTP 200 without credentials";
    let mut refused = Vec::new();
    let mut ok = Vec::new();
    for f in &disc.fetches {
        if let Ok(d) = &f.doc {
            match d.status {
                200 => ok.push(d.exchange.clone()),
                401 | 403 => refused.push((f.url.clone(), d.status, d.exchange.clone())),
                _ => {}
            }
        }
    }
    if !refused.is_empty() {
        let actual = refused
            .iter()
            .map(|(u, s, _)| format!("{u} → HTTP {s}"))
            .collect::<Vec<_>>()
            .join("; ");
        return Evaluation::violated(m.level, expected, actual)
            .with_evidence(refused.into_iter().map(|(_, _, e)| e));
    }
    if ok.is_empty() {
        return no_documents(disc);
    }
    Evaluation::pass(
        expected,
        format!(
            "{} PRM location(s) answered 200 without credentials",
            ok.len()
        ),
    )
    .with_evidence(ok)
}

/// RS-PRM-11: Optional PRM members are well formed.
const RS_PRM_11: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-11", "Optional PRM members are well formed", Must, &["RFC 9728 §2"],
        "When present: jwks_uri is https (http on loopback tolerated), resource_signing_alg_values_supported excludes none, bearer_methods_supported ⊆ {header, body, query}."),
    eval: rs_prm_11,
};

fn rs_prm_11(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let mut any_member = false;
    for (_, _, obj) in disc.documents() {
        any_member |= [
            "jwks_uri",
            "resource_signing_alg_values_supported",
            "bearer_methods_supported",
        ]
        .iter()
        .any(|k| obj.contains_key(*k));
    }
    if disc.documents().next().is_some() && !any_member {
        return Evaluation::skip("the PRM has none of jwks_uri, resource_signing_alg_values_supported, bearer_methods_supported");
    }
    each_document(
        m,
        disc,
        "jwks_uri https; no `none` signing alg; bearer methods within {header, body, query}",
        |_, obj| {
            let mut p = Vec::new();
            if let Some(v) = obj.get("jwks_uri") {
                match v.as_str().and_then(|s| url::Url::parse(s).ok()) {
                    Some(u)
                        if u.scheme() == "https"
                            || is_loopback_host(u.host_str().unwrap_or("")) => {}
                    _ => p.push(format!("jwks_uri {v} is not an https URL")),
                }
            }
            if let Some(v) = obj.get("resource_signing_alg_values_supported") {
                if v.as_array().is_none_or(|a| {
                    a.iter()
                        .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case("none")))
                }) {
                    p.push(format!(
                        "resource_signing_alg_values_supported {v} is not an array without `none`"
                    ));
                }
            }
            if let Some(v) = obj.get("bearer_methods_supported") {
                match v.as_array() {
                    Some(a) => {
                        for x in a {
                            if !matches!(x.as_str(), Some("header" | "body" | "query")) {
                                p.push(format!("bearer_methods_supported holds {x}"));
                            }
                        }
                    }
                    None => p.push(format!("bearer_methods_supported {v} is not an array")),
                }
            }
            p
        },
    )
}

/// RS-PRM-12: PRM does not advertise query-string bearer tokens.
const RS_PRM_12: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-12", "PRM does not advertise query-string bearer tokens", Must, &["OAuth 2.1 §5.1", "RFC 9728 §2"],
        "bearer_methods_supported does not contain \"query\" (the server must ignore query tokens)."),
    eval: rs_prm_12,
};

fn rs_prm_12(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    each_document(
        m,
        disc,
        "bearer_methods_supported without \"query\"",
        |_, obj| match obj
            .get("bearer_methods_supported")
            .and_then(Value::as_array)
        {
            Some(a) if a.iter().any(|x| x.as_str() == Some("query")) => {
                vec!["bearer_methods_supported advertises \"query\"".into()]
            }
            _ => vec![],
        },
    )
}

/// RS-PRM-13: PRM `resource` has no insignificant trailing slash.
const RS_PRM_13: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PRM-13", "PRM `resource` has no insignificant trailing slash", Should, &["MCP §8.1"],
        "resource does not end with `/` unless the MCP endpoint URL itself does; a trailing slash on an otherwise matching URL → WARN."),
    eval: rs_prm_13,
};

fn rs_prm_13(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let target_slash = o.target.ends_with('/');
    each_document(
        m,
        disc,
        "resource without an insignificant trailing slash",
        |f, obj| {
            let Some(r) = obj.get("resource").and_then(Value::as_str) else {
                return vec![];
            };
            let root =
                f.source == PrmSource::Root && r.trim_end_matches('/') == f.expected_resource;
            if r.ends_with('/') && !target_slash && !root {
                vec![format!(
                    "resource `{r}` ends with a slash the MCP URL does not have"
                )]
            } else {
                vec![]
            }
        },
    )
}

/// RS-TLS-01: The MCP endpoint and PRM URLs use https.
const RS_TLS_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-TLS-01", "The MCP endpoint and PRM URLs use https", Must, &["OAuth 2.1 §1.5", "RFC 9728 §7.1", "MCP §11.3"],
        "The MCP URL, every PRM URL and every PRM resource are https. http on loopback is INFO (local profile: https not verifiable); http on any other host is FAIL."),
    eval: rs_tls_01,
};

fn rs_tls_01(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let disc = crate::need!(&o.discovery, "PRM discovery");
    let mut urls: Vec<(String, &str)> = vec![(o.target.clone(), "MCP endpoint")];
    for f in &disc.fetches {
        if matches!(&f.doc, Ok(d) if d.status == 200) {
            urls.push((f.url.clone(), "PRM URL"));
        }
    }
    for (_, _, obj) in disc.documents() {
        if let Some(r) = obj.get("resource").and_then(Value::as_str) {
            urls.push((r.to_owned(), "PRM resource"));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    urls.retain(|(u, what)| seen.insert((u.clone(), *what)));
    let mut insecure = Vec::new();
    let mut local = Vec::new();
    for (u, what) in &urls {
        let Ok(parsed) = url::Url::parse(u) else {
            continue;
        };
        if parsed.scheme() == "https" {
            continue;
        }
        if is_loopback_host(parsed.host_str().unwrap_or("")) {
            local.push(format!("{what} {u}"));
        } else {
            insecure.push(format!("{what} {u}"));
        }
    }
    let evidence: Vec<String> = disc
        .documents()
        .map(|(_, d, _)| d.exchange.clone())
        .collect();
    let expected = "https for the MCP endpoint, PRM URLs and resource";
    let e = if !insecure.is_empty() {
        Evaluation::violated(
            m.level,
            expected,
            format!("plain http on a non-loopback host: {}", insecure.join(", ")),
        )
    } else if !local.is_empty() {
        Evaluation::info(expected, format!("loopback http: {}", local.join(", ")))
            .with_message("local profile: https not verifiable on loopback")
    } else {
        Evaluation::pass(expected, "every URL is https")
    };
    e.with_evidence(evidence)
}

/// A document "works" when it is a 200 JSON object with `resource` and `authorization_servers`.
fn usable(o: &Map<String, Value>) -> bool {
    o.get("resource").is_some_and(Value::is_string)
        && o.get("authorization_servers").is_some_and(Value::is_array)
}

fn no_documents(disc: &Discovery) -> Evaluation {
    let evidence: Vec<String> = disc
        .fetches
        .iter()
        .filter_map(|f| f.doc.as_ref().ok().map(|d| d.exchange.clone()))
        .collect();
    Evaluation::error("no PRM document was obtained (see RS-PRM-01/02)")
        .with_evidence(evidence)
        .after(&["RS-PRM-01", "RS-PRM-02"])
}

/// Runs `judge` on every served document; FAIL on any problem.
pub(super) fn each_document(
    m: &CheckMeta,
    disc: &Discovery,
    expected: &str,
    judge: impl Fn(&PrmFetch, &Map<String, Value>) -> Vec<String>,
) -> Evaluation {
    let mut seen = Vec::new();
    let mut problems = Vec::new();
    let mut evidence = Vec::new();
    for (f, doc, obj) in disc.documents() {
        if seen.contains(&f.url) {
            continue;
        }
        seen.push(f.url.clone());
        evidence.push(doc.exchange.clone());
        for p in judge(f, obj) {
            problems.push(format!("{}: {p}", f.url));
        }
    }
    if seen.is_empty() {
        return no_documents(disc);
    }
    let e = if problems.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} document(s) checked: {}", seen.len(), seen.join(", ")),
        )
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence(evidence)
}

/// ERROR when a PRM location got no HTTP answer: without one, whether discovery works cannot be judged (a
/// transport failure is never a violation).
fn unanswered(fetches: &[PrmFetch]) -> Option<Evaluation> {
    fetches.iter().find_map(|f| match &f.doc {
        Err(e) => Some(e.to_evaluation(&format!("fetching PRM at {}", f.url))),
        Ok(_) => None,
    })
}

fn describe_fetches(fetches: &[PrmFetch]) -> String {
    if fetches.is_empty() {
        return "no PRM location known".into();
    }
    fetches
        .iter()
        .map(|f| match &f.doc {
            Ok(d) => format!("{} {} → HTTP {}", f.source.as_str(), f.url, d.status),
            Err(e) => format!("{} {} → {e}", f.source.as_str(), f.url),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn fetch_evidence(fetches: &[PrmFetch]) -> Vec<String> {
    fetches
        .iter()
        .filter_map(|f| f.doc.as_ref().ok().map(|d| d.exchange.clone()))
        .collect()
}

/// Documents actually served: status 200 from any location.
fn served(disc: &Discovery) -> Vec<(&PrmFetch, &PrmDoc)> {
    let mut out: Vec<(&PrmFetch, &PrmDoc)> = Vec::new();
    for f in &disc.fetches {
        if let Ok(d) = &f.doc {
            if d.status == 200 && !out.iter().any(|(g, _)| g.url == f.url) {
                out.push((f, d));
            }
        }
    }
    out
}

/// Issuer identifier syntax (RFC 8414 §2): absolute http(s) URL, no query, no fragment.
fn issuer_problem(v: &Value) -> Option<String> {
    let Some(s) = v.as_str() else {
        return Some(format!("{v} is not a string"));
    };
    match url::Url::parse(s) {
        Err(e) => Some(format!("`{s}` is not an absolute URL: {e}")),
        Ok(u) if !matches!(u.scheme(), "https" | "http") => {
            Some(format!("`{s}` is not an http(s) URL"))
        }
        Ok(u) if u.scheme() == "http" && !is_loopback_host(u.host_str().unwrap_or("")) => {
            Some(format!("`{s}` uses http on a non-loopback host"))
        }
        Ok(u) if u.query().is_some() || u.fragment().is_some() => {
            Some(format!("`{s}` has a query or fragment"))
        }
        Ok(_) => None,
    }
}

fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::*;
    use crate::check::{Check, ObsError};
    use crate::server::testing::{
        compliant, prm_fetch, prm_object, refused_by_target, ORIGIN, TARGET,
    };

    fn interrupted() -> ServerObservations {
        let mut o = compliant();
        o.discovery = Err(ObsError::Interrupted);
        o
    }

    /// Every PRM location answered 404 (nothing served).
    fn nothing_served() -> ServerObservations {
        compliant()
            .without_fetch(PrmSource::Header)
            .edit_fetch(PrmSource::PathInserted, |f| {
                if let Ok(d) = &mut f.doc {
                    d.status = 404;
                }
            })
            .edit_fetch(PrmSource::Root, |f| {
                if let Ok(d) = &mut f.doc {
                    d.status = 404;
                }
            })
    }

    #[rstest::rstest]
    #[case::prm_01(RS_PRM_01)]
    #[case::prm_02(RS_PRM_02)]
    #[case::prm_03(RS_PRM_03)]
    #[case::prm_04(RS_PRM_04)]
    #[case::prm_05(RS_PRM_05)]
    #[case::prm_06(RS_PRM_06)]
    #[case::prm_07(RS_PRM_07)]
    #[case::prm_08(RS_PRM_08)]
    #[case::prm_09(RS_PRM_09)]
    #[case::prm_10(RS_PRM_10)]
    #[case::prm_11(RS_PRM_11)]
    #[case::prm_12(RS_PRM_12)]
    #[case::prm_13(RS_PRM_13)]
    #[case::tls_01(RS_TLS_01)]
    fn passes_on_the_compliant_record_and_errors_without_discovery(
        #[case] c: FnCheck<ServerObservations>,
    ) {
        let e = c.evaluate(&compliant());
        let want = if c.meta.id == "RS-TLS-01" {
            Verdict::Info
        } else {
            Verdict::Pass
        };
        assert_eq!(e.verdict, want, "{}: {}", c.meta.id, e.actual);
        assert!(!e.evidence.is_empty(), "{}", c.meta.id);
        let e = c.evaluate(&interrupted());
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(e.message.contains("PRM discovery"), "{}", e.message);
    }

    #[rstest::rstest]
    #[case::prm_01(RS_PRM_01)]
    #[case::prm_02(RS_PRM_02)]
    fn discovery_fails_when_no_location_serves_a_usable_document(
        #[case] c: FnCheck<ServerObservations>,
    ) {
        let o = compliant().edit_prm(|obj| {
            obj.remove("authorization_servers");
        });
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{}", c.meta.id);
        assert!(e.actual.contains("HTTP 200"), "{}", e.actual);
    }

    #[rstest::rstest]
    #[case::prm_01(RS_PRM_01)]
    #[case::prm_02(RS_PRM_02)]
    fn discovery_errors_when_a_location_got_no_answer(#[case] c: FnCheck<ServerObservations>) {
        let o =
            nothing_served().edit_fetch(PrmSource::Root, |f| f.doc = Err(refused_by_target(502)));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(e.message.contains("fetching PRM at"), "{}", e.message);
    }

    #[test]
    fn rs_prm_01_reports_the_location_it_used() {
        let e = RS_PRM_01.evaluate(&compliant());
        assert!(
            e.actual.contains("the 401 resource_metadata URL"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_prm_03_fails_when_prm_is_served_as_html() {
        let o = compliant().edit_fetch(PrmSource::Root, |f| {
            if let Ok(d) = &mut f.doc {
                d.content_type = Some("text/html".into());
            }
        });
        let e = RS_PRM_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("Content-Type `text/html`"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_prm_03_errors_when_nothing_was_served() {
        let e = RS_PRM_03.evaluate(&nothing_served());
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("no PRM document"), "{}", e.message);
    }

    #[test]
    fn rs_prm_04_fails_when_authorization_servers_is_empty() {
        let o = compliant().edit_prm(|obj| {
            obj.insert("authorization_servers".into(), json!([]));
        });
        let e = RS_PRM_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("authorization_servers is empty"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_prm_04_fails_when_an_issuer_has_a_query() {
        let o = compliant().edit_prm(|obj| {
            obj.insert(
                "authorization_servers".into(),
                json!(["https://as.example/?x=1"]),
            );
        });
        let e = RS_PRM_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("has a query or fragment"), "{}", e.actual);
    }

    #[test]
    fn rs_prm_04_errors_when_nothing_was_served() {
        let e = RS_PRM_04.evaluate(&nothing_served());
        assert_eq!(e.verdict, Verdict::Error);
    }

    #[test]
    fn rs_prm_05_fails_when_resource_has_a_fragment() {
        let o = compliant().edit_prm(|obj| {
            obj.insert("resource".into(), json!(format!("{TARGET}#frag")));
        });
        let e = RS_PRM_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("has a fragment"), "{}", e.actual);
    }

    #[test]
    fn rs_prm_06_fails_when_the_path_inserted_document_names_the_origin() {
        let o = compliant().edit_fetch(PrmSource::PathInserted, |f| {
            *f = prm_fetch(
                PrmSource::PathInserted,
                &f.url,
                TARGET,
                "prm#2",
                prm_object(ORIGIN),
            );
        });
        let e = RS_PRM_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains(&format!("serves resource `{ORIGIN}`")),
            "{}",
            e.actual
        );
        assert_eq!(e.evidence, ["prm#2", "prm#3"]);
    }

    #[test]
    fn rs_prm_06_skips_when_no_well_known_location_serves_prm() {
        let o = compliant()
            .without_fetch(PrmSource::PathInserted)
            .without_fetch(PrmSource::Root);
        let e = RS_PRM_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("401 header only"), "{}", e.message);
    }

    fn header_names_the_origin() -> ServerObservations {
        compliant().edit_fetch(PrmSource::Header, |f| {
            *f = prm_fetch(
                PrmSource::Header,
                &f.url,
                TARGET,
                "prm#1",
                prm_object(ORIGIN),
            );
        })
    }

    #[test]
    fn rs_prm_07_fails_when_the_advertised_prm_names_a_parent() {
        let e = RS_PRM_07.evaluate(&header_names_the_origin());
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, format!("resource `{ORIGIN}`"));
    }

    #[test]
    fn rs_prm_07_warns_on_a_parent_when_the_profile_is_lenient() {
        let mut o = header_names_the_origin();
        o.profile.strict_prm_resource = false;
        let e = RS_PRM_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(
            e.actual.contains("is a parent of the request URL"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_prm_07_skips_without_resource_metadata() {
        let e = RS_PRM_07.evaluate(&compliant().without_fetch(PrmSource::Header));
        assert_eq!(e.verdict, Verdict::Skip);
    }

    #[test]
    fn rs_prm_07_errors_when_the_advertised_prm_could_not_be_fetched() {
        let o = compliant().edit_fetch(PrmSource::Header, |f| f.doc = Err(refused_by_target(500)));
        let e = RS_PRM_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("fetching the advertised PRM"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_prm_08_fails_on_a_null_member() {
        let o = compliant().edit_prm(|obj| {
            obj.insert("resource_name".into(), Value::Null);
        });
        let e = RS_PRM_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("`resource_name` is null"), "{}", e.actual);
    }

    #[test]
    fn rs_prm_09_warns_without_scopes_supported() {
        let o = compliant().edit_prm(|obj| {
            obj.remove("scopes_supported");
        });
        let e = RS_PRM_09.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.contains("no scopes_supported"), "{}", e.actual);
    }

    #[test]
    fn rs_prm_10_fails_when_a_location_demands_credentials() {
        let o = compliant().edit_fetch(PrmSource::Root, |f| {
            if let Ok(d) = &mut f.doc {
                d.status = 401;
            }
        });
        let e = RS_PRM_10.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.ends_with("oauth-protected-resource → HTTP 401"),
            "{}",
            e.actual
        );
        assert_eq!(e.evidence, ["prm#3"]);
    }

    #[test]
    fn rs_prm_11_fails_on_a_plain_http_jwks_uri() {
        let o = compliant().edit_prm(|obj| {
            obj.insert("jwks_uri".into(), json!("http://keys.example/jwks"));
        });
        let e = RS_PRM_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("is not an https URL"), "{}", e.actual);
    }

    #[test]
    fn rs_prm_11_skips_without_optional_members() {
        let o = compliant().edit_prm(|obj| {
            obj.remove("bearer_methods_supported");
        });
        let e = RS_PRM_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
    }

    #[test]
    fn rs_prm_12_fails_when_query_tokens_are_advertised() {
        let o = compliant().edit_prm(|obj| {
            obj.insert(
                "bearer_methods_supported".into(),
                json!(["header", "query"]),
            );
        });
        let e = RS_PRM_12.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("advertises \"query\""), "{}", e.actual);
    }

    #[test]
    fn rs_prm_13_warns_on_a_trailing_slash() {
        let o = compliant().edit_fetch(PrmSource::Header, |f| {
            let r = format!("{TARGET}/");
            *f = prm_fetch(PrmSource::Header, &f.url, TARGET, "prm#1", prm_object(&r));
        });
        let e = RS_PRM_13.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.contains("ends with a slash"), "{}", e.actual);
    }

    #[test]
    fn rs_tls_01_is_info_on_loopback_http() {
        let e = RS_TLS_01.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Info);
        assert!(
            e.actual.starts_with("loopback http: MCP endpoint"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn rs_tls_01_passes_when_everything_is_https() {
        let mut o = compliant();
        o.target = "https://mcp.example/mcp".into();
        o.discovery = Ok(Discovery {
            fetches: vec![prm_fetch(
                PrmSource::Header,
                "https://mcp.example/.well-known/oauth-protected-resource/mcp",
                "https://mcp.example/mcp",
                "prm#1",
                prm_object("https://mcp.example/mcp"),
            )],
        });
        let e = RS_TLS_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Pass);
        assert_eq!(e.actual, "every URL is https");
    }

    #[test]
    fn rs_tls_01_fails_on_plain_http_off_loopback() {
        let mut o = compliant();
        o.target = "http://mcp.example/mcp".into();
        let e = RS_TLS_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("MCP endpoint http://mcp.example/mcp"),
            "{}",
            e.actual
        );
    }
}
