//! AS metadata: AS-META-*.

use mcp_auth_reports::Level::{Must, Should};
use serde_json::{Map, Value};

use super::{code_of, meta, AuthzCheck};
use crate::authz::agent::AuthorizeOutcome;
use crate::authz::obs::{param, AuthzObservations, MetadataFetch, MetadataObs};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::http::is_loopback_host;

pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_META_01),
        Box::new(AS_META_02),
        Box::new(AS_META_03),
        Box::new(AS_META_04),
        Box::new(AS_META_05),
        Box::new(AS_META_06),
        Box::new(AS_META_07),
        Box::new(AS_META_08),
        Box::new(AS_META_09),
    ]
}

/// AS-META-01: metadata is published at one of the MCP §4.3 locations.
const AS_META_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-META-01",
        "RFC 8414 or OpenID metadata is published",
        Must,
        &["MCP §3", "MCP §4.3"],
        "Probe the MCP §4.3 URLs for the issuer → at least one answers 200 with a JSON object.",
    ),
    eval: as_meta_01,
};
fn as_meta_01(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let md = crate::need!(&o.metadata, "metadata discovery");
    let expected = "a 200 JSON object at one of the MCP §4.3 locations";
    let ev: Vec<String> = md.fetches.iter().map(|f| f.exchange.clone()).collect();
    // A location that gave no HTTP answer (status 0) cannot be judged absent: ERROR, never FAIL.
    if md.documents().next().is_none() && md.fetches.iter().any(|f| f.status == 0) {
        let why = md
            .fetches
            .iter()
            .find(|f| f.status == 0)
            .and_then(|f| f.body.as_ref().err().cloned())
            .unwrap_or_default();
        return Evaluation::error(format!("the issuer could not be reached: {why}"))
            .with_evidence(ev);
    }
    match md.documents().next() {
        Some((f, _)) => Evaluation::pass(expected, format!("{} metadata at {}", f.kind, f.url)),
        None => Evaluation::violated(
            m.level,
            expected,
            md.fetches
                .iter()
                .map(|f| format!("{} → HTTP {}", f.url, f.status))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    }
    .with_evidence(ev)
}

/// AS-META-02: every metadata document is application/json.
const AS_META_02: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-META-02",
        "Metadata is 200 application/json with a JSON object",
        Must,
        &["RFC 8414 §3.2", "OIDC Discovery §4.2"],
        "Every metadata document served has Content-Type application/json and a JSON object body.",
    ),
    eval: |m, o| {
        each(m, o, "application/json and a JSON object", |f, _| {
            let ct = f.content_type.clone().unwrap_or_default();
            let media = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            (media != "application/json").then(|| format!("Content-Type `{ct}`"))
        })
    },
};

/// AS-META-03: issuer is the configured issuer, code point by code point.
const AS_META_03: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-META-03", "issuer is identical to the issuer the URL was built from", Must, &["RFC 8414 §2", "RFC 8414 §3.3", "OIDC Discovery §4.3"],
        "issuer equals the configured issuer code point by code point, and has no query or fragment."),
    eval: as_meta_03,
};
fn as_meta_03(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let issuer = match &o.metadata {
        Ok(md) => md.issuer.clone(),
        Err(e) => return e.to_evaluation("metadata discovery"),
    };
    each(m, o, &format!("issuer == {issuer}"), move |_, d| {
        let got = d
            .get("issuer")
            .and_then(Value::as_str)
            .unwrap_or("<missing>");
        if got != issuer {
            return Some(format!("issuer `{got}`"));
        }
        (got.contains('?') || got.contains('#'))
            .then(|| format!("issuer `{got}` has a query or fragment"))
    })
}

/// AS-META-04: the required members are present.
const AS_META_04: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-META-04", "Required metadata members are present", Must, &["RFC 8414 §2", "OIDC Discovery §3"],
        "issuer, authorization_endpoint, token_endpoint, response_types_supported ∋ code; an OpenID configuration also jwks_uri, subject_types_supported, id_token_signing_alg_values_supported."),
    eval: as_meta_04,
};
fn as_meta_04(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    each(m, o, "the required members", |f, d| {
        let mut need = vec![
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "response_types_supported",
        ];
        if f.kind == "openid" {
            need.extend([
                "jwks_uri",
                "subject_types_supported",
                "id_token_signing_alg_values_supported",
            ]);
        }
        let missing: Vec<&str> = need.into_iter().filter(|k| !d.contains_key(*k)).collect();
        if !missing.is_empty() {
            return Some(format!("missing {missing:?}"));
        }
        let code = d
            .get("response_types_supported")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == "code"));
        (!code).then(|| "response_types_supported lacks \"code\"".to_owned())
    })
}

/// AS-META-05: PKCE S256 is advertised.
const AS_META_05: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-META-05", "code_challenge_methods_supported lists S256", Must, &["MCP §11.4", "OAuth 2.1 §4.1.1", "RFC 8414 §2"],
        "code_challenge_methods_supported is present and contains S256 (plain listed as well is noted)."),
    eval: |m, o| {
        each(m, o, "code_challenge_methods_supported ∋ S256", |_, d| {
            match d.get("code_challenge_methods_supported").and_then(Value::as_array) {
                None => Some("code_challenge_methods_supported is absent (no PKCE)".into()),
                Some(a) if !a.iter().any(|x| x == "S256") => {
                    Some(format!("code_challenge_methods_supported {a:?} lacks S256"))
                }
                Some(_) => None,
            }
        })
    },
};

/// AS-META-06: CIMD support is advertised when CIMD works.
const AS_META_06: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-META-06", "client_id_metadata_document_supported is published when CIMD works", Must, &["CIMD §5", "MCP §5.1.4"],
        "The flag is true. Absent while a CIMD flow nevertheless works → FAIL; absent and CIMD unsupported → WARN (MCP §3 SHOULD)."),
    eval: as_meta_06,
};
fn as_meta_06(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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

/// AS-META-07: every advertised endpoint is https.
const AS_META_07: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-META-07", "Every advertised endpoint is https", Must, &["MCP §11.3", "OAuth 2.1 §1.5"],
        "Every *_endpoint and jwks_uri is https; http on loopback is INFO under the local TLS profile (FAIL under --tls-profile strict), http elsewhere FAIL."),
    eval: as_meta_07,
};
fn as_meta_07(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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
    if o.tls == crate::spec::TlsProfile::Strict && !local.is_empty() {
        // Under strict the reference is served over https on loopback: http there is a choice, not a limit.
        let listed: Vec<String> = local
            .iter()
            .map(|k| format!("{k} = {}", ep.metadata[k]))
            .collect();
        return Evaluation::violated(
            m.level,
            expected,
            format!("plain http (strict TLS profile): {}", listed.join(", ")),
        );
    }
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

/// AS-META-08: no empty members.
const AS_META_08: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-META-08",
        "Metadata omits members with zero elements",
        Must,
        &["RFC 8414 §3.2"],
        "No member is an empty array, an empty object or null.",
    ),
    eval: |m, o| {
        each(m, o, "no empty members", |_, d| {
            d.iter()
                .find(|(_, v)| {
                    matches!(v, Value::Null)
                        || v.as_array().is_some_and(Vec::is_empty)
                        || v.as_object().is_some_and(Map::is_empty)
                })
                .map(|(k, v)| format!("`{k}` is {v}"))
        })
    },
};

/// AS-META-09: an AS that sends iss advertises it.
const AS_META_09: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-META-09", "An AS that sends iss advertises it", Must, &["RFC 9207 §2.3", "RFC 9207 §3"],
        "If the authorization response carries iss, the metadata says authorization_response_iss_parameter_supported: true and iss equals the issuer."),
    eval: as_meta_09,
};
fn as_meta_09(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
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
        return Evaluation::error("no metadata document was served (see AS-META-01)")
            .after(&["AS-META-01"]);
    }
    let e = if problems.is_empty() {
        Evaluation::pass(expected, format!("{} document(s) conform", ev.len()))
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence(ev)
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::*;
    use crate::authz::testing::{self, compliant, edit_metadata, no_answer};
    use crate::check::Check;

    fn judge(c: &dyn Check<AuthzObservations>, o: &AuthzObservations) -> Evaluation {
        c.evaluate(o)
    }

    #[rstest::rstest]
    #[case::as_meta_02(&AS_META_02, "1 document(s) conform")]
    #[case::as_meta_03(&AS_META_03, "1 document(s) conform")]
    #[case::as_meta_04(&AS_META_04, "1 document(s) conform")]
    #[case::as_meta_05(&AS_META_05, "1 document(s) conform")]
    #[case::as_meta_06(&AS_META_06, "advertised")]
    #[case::as_meta_08(&AS_META_08, "1 document(s) conform")]
    #[case::as_meta_09(&AS_META_09, "advertised, and iss equals the issuer")]
    fn passes_on_the_compliant_record(
        #[case] c: &FnCheck<AuthzObservations>,
        #[case] actual: &str,
    ) {
        let e = judge(c, &compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
        assert_eq!(e.actual, actual);
        assert!(!e.evidence.is_empty() || c.meta.id == "AS-META-06");
    }

    #[test]
    fn as_meta_01_passes_when_the_rfc8414_document_is_served() {
        let e = judge(&AS_META_01, &compliant());
        assert_eq!(e.verdict, Verdict::Pass);
        assert!(e.actual.starts_with("rfc8414 metadata at"), "{}", e.actual);
    }

    #[test]
    fn as_meta_01_fails_when_every_location_is_404() {
        let mut o = compliant();
        o.metadata.as_mut().unwrap().fetches[0].status = 404;
        let e = judge(&AS_META_01, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("→ HTTP 404"), "{}", e.actual);
    }

    #[test]
    fn as_meta_01_is_error_when_a_location_gave_no_answer() {
        let mut o = compliant();
        let f = &mut o.metadata.as_mut().unwrap().fetches;
        f[0].status = 0;
        f[0].body = Err("connection refused".into());
        let e = judge(&AS_META_01, &o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("could not be reached: connection refused"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_meta_02_fails_when_the_document_is_served_as_html() {
        let mut o = compliant();
        o.metadata.as_mut().unwrap().fetches[0].content_type =
            Some("text/html; charset=utf-8".into());
        let e = judge(&AS_META_02, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("Content-Type `text/html; charset=utf-8`"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_meta_03_fails_when_the_issuer_has_a_trailing_slash() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.insert("issuer".into(), json!(format!("{}/", testing::ISSUER)));
        });
        let e = judge(&AS_META_03, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains(&format!("issuer `{}/`", testing::ISSUER)),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_meta_04_fails_when_token_endpoint_is_missing() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.remove("token_endpoint");
        });
        let e = judge(&AS_META_04, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("missing [\"token_endpoint\"]"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_meta_04_fails_when_response_types_lack_code() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.insert("response_types_supported".into(), json!(["token"]));
        });
        let e = judge(&AS_META_04, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("lacks \"code\""), "{}", e.actual);
    }

    #[test]
    fn as_meta_04_asks_an_openid_configuration_for_jwks_uri_and_more() {
        let mut o = compliant();
        let md = o.metadata.as_mut().unwrap();
        md.fetches[0].kind = "openid";
        let e = judge(&AS_META_04, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("subject_types_supported"), "{}", e.actual);
    }

    #[test]
    fn as_meta_05_fails_when_pkce_is_not_advertised() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.remove("code_challenge_methods_supported");
        });
        let e = judge(&AS_META_05, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("absent (no PKCE)"), "{}", e.actual);
    }

    #[test]
    fn as_meta_05_fails_when_only_plain_is_advertised() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.insert("code_challenge_methods_supported".into(), json!(["plain"]));
        });
        let e = judge(&AS_META_05, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("lacks S256"), "{}", e.actual);
    }

    #[test]
    fn as_meta_06_fails_when_cimd_works_unadvertised() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.remove("client_id_metadata_document_supported");
        });
        o.cimd_unadvertised = Ok(testing::cimd_case(crate::authz::obs::CimdCase::Honest));
        let e = judge(&AS_META_06, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "absent, yet a CIMD client_id obtained a code");
    }

    #[test]
    fn as_meta_06_warns_when_cimd_is_neither_advertised_nor_accepted() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.remove("client_id_metadata_document_supported");
        });
        o.cimd_unadvertised = Ok(testing::cimd_attempt(testing::page("cimd#1", 400), 0));
        let e = judge(&AS_META_06, &o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.contains("not accepted"), "{}", e.actual);
    }

    #[test]
    fn as_meta_06_is_error_when_the_unadvertised_probe_got_no_answer() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.remove("client_id_metadata_document_supported");
        });
        o.cimd_unadvertised = Err(no_answer("the CIMD walk timed out"));
        let e = judge(&AS_META_06, &o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("the unadvertised CIMD probe: the CIMD walk timed out"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_meta_07_is_info_for_loopback_http() {
        let e = judge(&AS_META_07, &compliant());
        assert_eq!(e.verdict, Verdict::Info);
        assert!(e.actual.contains("authorization_endpoint"), "{}", e.actual);
    }

    #[test]
    fn as_meta_07_fails_for_loopback_http_under_the_strict_tls_profile() {
        let mut o = compliant();
        o.tls = crate::spec::TlsProfile::Strict;
        let e = judge(&AS_META_07, &o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.starts_with("plain http (strict TLS profile): "),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_meta_07_passes_when_every_endpoint_is_https() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            for (_, v) in d.iter_mut() {
                if let Some(s) = v.as_str() {
                    *v = json!(s.replace("http://127.0.0.1:8400", "https://as.example"));
                }
            }
        });
        let e = judge(&AS_META_07, &o);
        assert_eq!(e.verdict, Verdict::Pass);
        assert_eq!(e.actual, "every endpoint is https");
    }

    #[test]
    fn as_meta_07_fails_for_plain_http_off_loopback() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.insert("token_endpoint".into(), json!("http://as.example/token"));
        });
        let e = judge(&AS_META_07, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual
                .contains("token_endpoint = \"http://as.example/token\""),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_meta_08_fails_on_an_empty_array_member() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.insert("scopes_supported".into(), json!([]));
        });
        let e = judge(&AS_META_08, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("`scopes_supported` is []"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_meta_08_fails_on_a_null_member() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.insert("service_documentation".into(), json!(null));
        });
        let e = judge(&AS_META_08, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("`service_documentation` is null"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_meta_09_fails_when_iss_is_sent_but_not_advertised() {
        let mut o = compliant();
        edit_metadata(&mut o, |d| {
            d.remove("authorization_response_iss_parameter_supported");
        });
        let e = judge(&AS_META_09, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("is sent but not advertised"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn as_meta_09_fails_when_iss_differs_from_the_issuer() {
        let mut o = compliant();
        testing::happy(&mut o).authorized = testing::callback(
            "happy#authorize",
            &[
                ("code", "c"),
                ("state", testing::STATE),
                ("iss", "http://evil.example"),
            ],
        );
        let e = judge(&AS_META_09, &o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("differs from the issuer"), "{}", e.actual);
    }

    #[test]
    fn as_meta_09_skips_when_the_response_carries_no_iss() {
        let mut o = compliant();
        testing::happy(&mut o).authorized = testing::callback(
            "happy#authorize",
            &[("code", "c"), ("state", testing::STATE)],
        );
        let e = judge(&AS_META_09, &o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("RFC 9207 not used"), "{}", e.message);
    }

    #[test]
    fn as_meta_09_is_error_when_the_valid_authorization_ended_on_a_page() {
        let mut o = compliant();
        testing::happy(&mut o).authorized = testing::page("happy#authorize", 500);
        let e = judge(&AS_META_09, &o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("did not reach the callback"),
            "{}",
            e.message
        );
    }

    /// Every metadata check reports ERROR (never FAIL) when discovery itself failed.
    #[test]
    fn every_metadata_check_is_error_when_discovery_got_no_answer() {
        let mut o = compliant();
        o.metadata = Err(no_answer("the issuer timed out"));
        o.endpoints = Err(no_answer("the issuer timed out"));
        for c in checks() {
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta().id);
            assert!(
                e.message
                    .contains("metadata discovery: the issuer timed out"),
                "{}: {}",
                c.meta().id,
                e.message
            );
        }
    }

    /// The document checks cannot judge a discovery that found no document: ERROR pointing at AS-META-01.
    #[test]
    fn the_document_checks_are_error_when_no_document_was_served() {
        let mut o = compliant();
        o.metadata.as_mut().unwrap().fetches[0].status = 404;
        for c in [
            &AS_META_02,
            &AS_META_03,
            &AS_META_04,
            &AS_META_05,
            &AS_META_08,
        ] {
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert!(e.message.contains("see AS-META-01"), "{}", e.message);
        }
    }
}
