//! AS metadata: AS-META-*.

use mcp_auth_reports::Level::{Must, Should};
use serde_json::{Map, Value};

use super::{check, code_of, meta, AuthzCheck};
use crate::authz::agent::AuthorizeOutcome;
use crate::authz::obs::{param, AuthzObservations, MetadataFetch, MetadataObs};
use crate::check::{CheckMeta, Evaluation};
use crate::http::is_loopback_host;

pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        check(
            meta("AS-META-01", "RFC 8414 or OpenID metadata is published", Must, &["MCP §3", "MCP §4.3"],
                "Probe the MCP §4.3 URLs for the issuer → at least one answers 200 with a JSON object."),
            |m, o| {
                let md = crate::need!(&o.metadata, "metadata discovery");
                let expected = "a 200 JSON object at one of the MCP §4.3 locations";
                let ev: Vec<String> = md.fetches.iter().map(|f| f.exchange.clone()).collect();
                // A location that gave no HTTP answer (status 0) cannot be judged absent: ERROR, never FAIL.
                if md.documents().next().is_none() && md.fetches.iter().any(|f| f.status == 0) {
                    let why = md.fetches.iter().find(|f| f.status == 0).and_then(|f| f.body.as_ref().err().cloned()).unwrap_or_default();
                    return Evaluation::error(format!("the issuer could not be reached: {why}")).with_evidence(ev);
                }
                match md.documents().next() {
                    Some((f, _)) => Evaluation::pass(expected, format!("{} metadata at {}", f.kind, f.url)),
                    None => Evaluation::violated(m.level, expected, md.fetches.iter().map(|f| format!("{} → HTTP {}", f.url, f.status)).collect::<Vec<_>>().join("; ")),
                }
                .with_evidence(ev)
            },
        ),
        check(
            meta("AS-META-02", "Metadata is 200 application/json with a JSON object", Must, &["RFC 8414 §3.2", "OIDC Discovery §4.2"],
                "Every metadata document served has Content-Type application/json and a JSON object body."),
            |m, o| each(m, o, "application/json and a JSON object", |f, _| {
                let ct = f.content_type.clone().unwrap_or_default();
                let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
                (media != "application/json").then(|| format!("Content-Type `{ct}`"))
            }),
        ),
        check(
            meta("AS-META-03", "issuer is identical to the issuer the URL was built from", Must, &["RFC 8414 §2", "RFC 8414 §3.3", "OIDC Discovery §4.3"],
                "issuer equals the configured issuer code point by code point, and has no query or fragment."),
            |m, o| {
                let issuer = match &o.metadata { Ok(md) => md.issuer.clone(), Err(e) => return e.to_evaluation("metadata discovery") };
                each(m, o, &format!("issuer == {issuer}"), move |_, d| {
                    let got = d.get("issuer").and_then(Value::as_str).unwrap_or("<missing>");
                    if got != issuer { return Some(format!("issuer `{got}`")) }
                    (got.contains('?') || got.contains('#')).then(|| format!("issuer `{got}` has a query or fragment"))
                })
            },
        ),
        check(
            meta("AS-META-04", "Required metadata members are present", Must, &["RFC 8414 §2", "OIDC Discovery §3"],
                "issuer, authorization_endpoint, token_endpoint, response_types_supported ∋ code; an OpenID configuration also jwks_uri, subject_types_supported, id_token_signing_alg_values_supported."),
            |m, o| each(m, o, "the required members", |f, d| {
                let mut need = vec!["issuer", "authorization_endpoint", "token_endpoint", "response_types_supported"];
                if f.kind == "openid" {
                    need.extend(["jwks_uri", "subject_types_supported", "id_token_signing_alg_values_supported"]);
                }
                let missing: Vec<&str> = need.into_iter().filter(|k| !d.contains_key(*k)).collect();
                if !missing.is_empty() { return Some(format!("missing {missing:?}")) }
                let code = d.get("response_types_supported").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == "code"));
                (!code).then(|| "response_types_supported lacks \"code\"".to_owned())
            }),
        ),
        check(
            meta("AS-META-05", "code_challenge_methods_supported lists S256", Must, &["MCP §11.4", "OAuth 2.1 §4.1.1", "RFC 8414 §2"],
                "code_challenge_methods_supported is present and contains S256 (plain listed as well is noted)."),
            |m, o| each(m, o, "code_challenge_methods_supported ∋ S256", |_, d| match d.get("code_challenge_methods_supported").and_then(Value::as_array) {
                None => Some("code_challenge_methods_supported is absent (no PKCE)".into()),
                Some(a) if !a.iter().any(|x| x == "S256") => Some(format!("code_challenge_methods_supported {a:?} lacks S256")),
                Some(_) => None,
            }),
        ),
        check(
            meta("AS-META-06", "client_id_metadata_document_supported is published when CIMD works", Must, &["CIMD §5", "MCP §5.1.4"],
                "The flag is true. Absent while a CIMD flow nevertheless works → FAIL; absent and CIMD unsupported → WARN (MCP §3 SHOULD)."),
            meta06,
        ),
        check(
            meta("AS-META-07", "Every advertised endpoint is https", Must, &["MCP §11.3", "OAuth 2.1 §1.5"],
                "Every *_endpoint and jwks_uri is https; http on loopback is INFO (local profile), http elsewhere FAIL."),
            meta07,
        ),
        check(
            meta("AS-META-08", "Metadata omits members with zero elements", Must, &["RFC 8414 §3.2"],
                "No member is an empty array, an empty object or null."),
            |m, o| each(m, o, "no empty members", |_, d| {
                d.iter().find(|(_, v)| matches!(v, Value::Null) || v.as_array().is_some_and(Vec::is_empty) || v.as_object().is_some_and(Map::is_empty))
                    .map(|(k, v)| format!("`{k}` is {v}"))
            }),
        ),
        check(
            meta("AS-META-09", "An AS that sends iss advertises it", Must, &["RFC 9207 §2.3", "RFC 9207 §3"],
                "If the authorization response carries iss, the metadata says authorization_response_iss_parameter_supported: true and iss equals the issuer."),
            meta09,
        ),
    ]
}

/// Runs `judge` on every served metadata document.
fn each(
    m: &CheckMeta,
    o: &AuthzObservations,
    expected: &str,
    judge: impl Fn(&MetadataFetch, &Map<String, Value>) -> Option<String>,
) -> Evaluation {
    let md: &MetadataObs = match &o.metadata {
        Ok(md) => md,
        Err(e) => return e.to_evaluation("metadata discovery"),
    };
    let mut ev = Vec::new();
    let mut problems = Vec::new();
    for f in md.fetches.iter().filter(|f| f.status == 200) {
        ev.push(f.exchange.clone());
        let problem = match &f.body {
            Ok(d) => judge(f, d),
            Err(e) => Some(e.clone()),
        };
        if let Some(p) = problem {
            problems.push(format!("{}: {p}", f.url));
        }
    }
    if ev.is_empty() {
        return Evaluation::error("no metadata document was served (see AS-META-01)");
    }
    let e = if problems.is_empty() {
        Evaluation::pass(expected, format!("{} document(s) conform", ev.len()))
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence(ev)
}

fn meta06(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let ep = crate::need!(&o.endpoints, "metadata discovery");
    let expected = "client_id_metadata_document_supported: true";
    if ep.cimd_supported {
        return Evaluation::pass(expected, "advertised");
    }
    match &o.cimd_unadvertised {
        Ok(a) if code_of(&a.authorized).is_some() => Evaluation::violated(
            m.level,
            expected,
            "absent, yet a CIMD client_id obtained a code",
        )
        .with_evidence(a.authorized.exchanges.last().cloned()),
        Ok(_) => Evaluation::violated(
            Should,
            expected,
            "absent, and CIMD client ids are not accepted (CIMD is a SHOULD, MCP §3)",
        ),
        Err(e) => e.to_evaluation("the unadvertised CIMD probe"),
    }
}

fn meta07(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let ep = crate::need!(&o.endpoints, "metadata discovery");
    let mut insecure = Vec::new();
    let mut local = Vec::new();
    for (k, v) in &ep.metadata {
        if !(k.ends_with("_endpoint") || k == "jwks_uri") {
            continue;
        }
        let Some(u) = v.as_str().and_then(|s| url::Url::parse(s).ok()) else {
            continue;
        };
        if u.scheme() == "https" {
            continue;
        }
        if is_loopback_host(u.host_str().unwrap_or("")) {
            local.push(k.clone());
        } else {
            insecure.push(format!("{k} = {v}"));
        }
    }
    let expected = "https endpoints";
    if !insecure.is_empty() {
        Evaluation::violated(
            m.level,
            expected,
            format!("plain http off loopback: {}", insecure.join(", ")),
        )
    } else if !local.is_empty() {
        Evaluation::info(expected, format!("loopback http: {}", local.join(", ")))
            .with_message("local profile: https not verifiable on loopback")
    } else {
        Evaluation::pass(expected, "every endpoint is https")
    }
}

fn meta09(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let ep = crate::need!(&o.endpoints, "metadata discovery");
    let flow = crate::need!(&o.happy, "a valid authorization");
    let AuthorizeOutcome::Callback {
        params, exchange, ..
    } = &flow.authorized.outcome
    else {
        return Evaluation::error("the valid authorization did not reach the callback");
    };
    let Some(iss) = param(params, "iss") else {
        return Evaluation::skip("the authorization response carries no iss (RFC 9207 not used)");
    };
    let expected = "authorization_response_iss_parameter_supported: true and iss == issuer";
    let e = if !ep.iss_supported {
        Evaluation::violated(
            m.level,
            expected,
            format!("iss `{iss}` is sent but not advertised"),
        )
    } else if iss != ep.issuer {
        Evaluation::violated(
            m.level,
            expected,
            format!("iss `{iss}` differs from the issuer {}", ep.issuer),
        )
    } else {
        Evaluation::pass(expected, "advertised, and iss equals the issuer")
    };
    e.with_evidence([exchange.clone()])
}
