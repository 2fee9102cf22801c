//! Tokens in use, refresh, registration and the client's metadata document: CL-TOK-*, CL-RT-*, CL-REG-*,
//! CL-CIMD-*.

use fake_idp::client_world::{LoggedRequest, RequestKind};
use mcp_auth_reports::Level::{Must, Should};
use serde_json::Value;

use super::{completed_or_error, meta, ClientCheck, Every};
use crate::check::{Check, CheckMeta, Evaluation, FnCheck};
use crate::client::obs::{
    param, response_member, string_array, ClientObservations, DocumentSource, HostedDocument,
    ScenarioObs,
};
use crate::client::scenarios::{
    BASIC_CIMD, METADATA_DEFAULT, PRE_CLIENT_ID, PRE_REGISTRATION, TOKEN_REFRESH,
};
use crate::scenario_or_return;

/// Every token, registration and CIMD check, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        Box::new(CL_TOK_01),
        Box::new(CL_TOK_02),
        Box::new(super::migration::CL_TOK_03),
        Box::new(CL_TOK_06),
        Box::new(CL_RT_01),
        Box::new(CL_REG_01_CIMD),
        Box::new(CL_REG_01_DCR_FALLBACK),
        Box::new(CL_REG_02),
        Box::new(CL_CIMD_01),
        Box::new(CL_CIMD_02),
        Box::new(CL_CIMD_04),
        Box::new(CL_CIMD_05),
        Box::new(CL_CIMD_06),
        Box::new(CL_CIMD_07),
    ]
}

/// CL-TOK-01: every MCP request after authorization carries the bearer token.
const CL_TOK_01: Every = Every {
    meta: meta("CL-TOK-01", "Every MCP request after authorization carries the bearer token", Must, &["MCP §9.1", "OAuth 2.1 §5.1.1"],
        "In every scenario, each MCP request made after the first successful token response carries Authorization: Bearer."),
    what: "MCP request after authorization",
    expected: "Authorization: Bearer <token>",
    select: |s, r| is_mcp(r) && after_a_token(s, r),
    problem: |s, r| {
        let bearer = r.headers.iter().any(|(k, v)| k == "authorization" && v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
        // In a DPoP world the token goes with the DPoP scheme (RFC 9449 §7.1; CL-DPOP-02 judges which one).
        let dpop = s.def.extension == Some(crate::spec::Extension::Dpop)
            && r.headers.iter().any(|(k, v)| k == "authorization" && v.len() > 5 && v.is_char_boundary(5) && v[..5].eq_ignore_ascii_case("dpop "));
        (!bearer && !dpop).then(|| format!("{} {} without a bearer token", r.method, r.path))
    },
};

/// CL-TOK-02: no access token in a URL.
const CL_TOK_02: Every = Every {
    meta: meta(
        "CL-TOK-02",
        "No access token in a URL",
        Must,
        &["MCP §9.1", "OAuth 2.1 §5.1", "OAuth 2.1 §7.1.3.7"],
        "No request in any scenario carries an issued access token in its query string.",
    ),
    what: "request after a token was issued",
    expected: "no token in the query",
    select: after_a_token,
    problem: |s, r| {
        let tokens = issued_tokens(s);
        r.query
            .iter()
            .find(|(_, v)| tokens.iter().any(|t| t == v))
            .map(|(k, _)| format!("{} {} carries a token in `{k}`", r.method, r.path))
    },
};

/// CL-TOK-06: unknown response members and large tokens are accepted.
const CL_TOK_06: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-TOK-06", "Unknown response members and large tokens are accepted", Must, &["OAuth 2.1 §3.2.3", "RFC 9728 §3.2", "RFC 8414 §3.2"],
        text!(TOKEN_REFRESH, ": unknown members in PRM, AS metadata, the challenge and the token response, and a 4 KiB access token → the client uses the token.")),
    eval: cl_tok_06,
};

fn cl_tok_06(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, TOKEN_REFRESH);
    let Some(t) = s.log.iter().find(|r| is_token(r) && r.status == 200) else {
        return completed_or_error(s)
            .unwrap_or_else(|| Evaluation::error("no token response").with_scenario(s.def.name));
    };
    let tokens = issued_tokens(s);
    let used = s.log.iter().find(|r| {
        r.seq > t.seq
            && is_mcp(r)
            && matches!(&r.kind, RequestKind::Mcp { token: Some(tok), .. } if tokens.contains(tok))
    });
    let expected = "the 4 KiB token from a response with unknown members is used";
    match used {
        Some(u) => Evaluation::pass(
            expected,
            format!("token response #{}, token used at #{}", t.seq, u.seq),
        )
        .with_evidence([s.id(t), s.id(u)]),
        None => Evaluation::violated(
            m.level,
            expected,
            format!("token response #{} was never used; {}", t.seq, s.progress()),
        )
        .with_evidence([s.id(t)]),
    }
}

/// CL-RT-01: a rotated refresh token replaces the old one.
const CL_RT_01: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-RT-01", "A rotated refresh token replaces the old one", Must, &["OAuth 2.1 §4.3.2", "MCP §11.2"],
        text!(TOKEN_REFRESH, ": every refresh request uses the refresh token from the most recent token response, never an older one.")),
    eval: cl_rt_01,
};
fn cl_rt_01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, TOKEN_REFRESH);
    let mut latest: Option<String> = None;
    let mut refreshes = 0;
    let mut stale = Vec::new();
    for r in s.log.iter().filter(|r| is_token(r)) {
        if matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == "refresh_token") {
            refreshes += 1;
            let used = param(r, "refresh_token").map(str::to_owned);
            if latest.is_some() && used != latest {
                stale.push(s.id(r));
            }
        }
        if r.status == 200 {
            if let Some(Value::String(rt)) = response_member(r, "refresh_token") {
                latest = Some(rt);
            }
        }
    }
    let expected = "every refresh uses the newest refresh token";
    if refreshes < 2 {
        return Evaluation::error(format!(
            "fewer than two refresh requests ({refreshes}); {}",
            s.progress()
        ))
        .with_scenario(s.def.name);
    }
    if stale.is_empty() {
        Evaluation::pass(
            expected,
            format!("{refreshes} refreshes, each with the newest refresh token"),
        )
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!(
                "{} of {refreshes} refreshes used an older refresh token",
                stale.len()
            ),
        )
        .with_evidence(stale)
    }
}

/// CL-REG-01.cimd: CIMD is preferred over DCR when the AS supports it.
const CL_REG_01_CIMD: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-REG-01.cimd", "CIMD is preferred over DCR when the AS supports it", Should, &["MCP §5", "MCP §5.1.4"],
        text!(BASIC_CIMD, ": the AS advertises CIMD and a registration endpoint; the context names a metadata URL → a URL client_id and no POST to the registration endpoint.")),
    eval: cl_reg_01_cimd,
};
fn cl_reg_01_cimd(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, BASIC_CIMD);
    let Some(a) = s.authorizes().first().copied() else {
        return completed_or_error(s).unwrap_or_else(|| {
            Evaluation::error("no authorization request").with_scenario(s.def.name)
        });
    };
    let client_id = param(a, "client_id").unwrap_or("");
    let registered = s
        .log
        .iter()
        .find(|r| matches!(r.kind, RequestKind::Register));
    let expected = "a URL client_id and no dynamic registration";
    let e = match registered {
        Some(r) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "registered dynamically (#{}) although CIMD is supported",
                r.seq
            ),
        )
        .with_evidence([s.id(r)]),
        None if client_id.starts_with("https://") => {
            Evaluation::pass(expected, format!("client_id `{client_id}`"))
        }
        None => Evaluation::violated(
            m.level,
            expected,
            format!("client_id `{client_id}` is not a URL"),
        ),
    };
    e.with_evidence([s.id(a)])
}

/// CL-REG-01.dcr-fallback: without CIMD or pre-registration, DCR is used.
const CL_REG_01_DCR_FALLBACK: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-REG-01.dcr-fallback", "Without CIMD or pre-registration, DCR is used", Should, &["MCP §5", "MCP §5.3", "RFC 7591 §3.1"],
        text!(METADATA_DEFAULT, ": only a registration endpoint → POST a JSON document with redirect_uris, then use the returned client_id.")),
    eval: cl_reg_01_dcr_fallback,
};
fn cl_reg_01_dcr_fallback(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, METADATA_DEFAULT);
    if let Some(e) = s.need_metadata() {
        return e;
    }
    let expected = "POST /register with JSON redirect_uris, then the returned client_id";
    let Some(reg) = s
        .log
        .iter()
        .find(|r| matches!(r.kind, RequestKind::Register))
    else {
        return Evaluation::violated(
            m.level,
            expected,
            format!("no registration; {}", s.progress()),
        );
    };
    let body: Option<Value> = serde_json::from_str(&reg.body).ok();
    let has_redirects = body
        .as_ref()
        .and_then(|b| b.get("redirect_uris"))
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let issued = response_member(reg, "client_id").and_then(|v| v.as_str().map(str::to_owned));
    let used = s
        .authorizes()
        .first()
        .and_then(|a| param(a, "client_id").map(str::to_owned));
    let e = if reg.method != "POST" || !has_redirects {
        Evaluation::violated(
            m.level,
            expected,
            "the registration is not a POST of JSON with redirect_uris",
        )
    } else if issued.is_some() && issued == used {
        Evaluation::pass(
            expected,
            format!(
                "registered and used client_id {}",
                issued.unwrap_or_default()
            ),
        )
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!("registered {issued:?} but authorized as {used:?}"),
        )
    };
    e.with_evidence([s.id(reg)])
}

/// CL-REG-02: pre-registered credentials are used.
const CL_REG_02: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-REG-02", "Pre-registered credentials are used", Should, &["MCP §5", "MCP §5.2"],
        text!(PRE_REGISTRATION, ": the context carries client_id and secret → the authorization request uses that client_id and nothing is registered.")),
    eval: cl_reg_02,
};
fn cl_reg_02(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, PRE_REGISTRATION);
    if let Some(e) = s.need_metadata() {
        return e;
    }
    let used = s
        .authorizes()
        .first()
        .and_then(|a| param(a, "client_id").map(str::to_owned));
    let expected = format!("client_id {PRE_CLIENT_ID}, no registration");
    let registered = s
        .log
        .iter()
        .any(|r| matches!(r.kind, RequestKind::Register));
    if used.as_deref() == Some(PRE_CLIENT_ID) && !registered {
        Evaluation::pass(expected, format!("client_id {PRE_CLIENT_ID}"))
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!(
                "client_id {used:?}, registered dynamically: {registered}; {}",
                s.progress()
            ),
        )
    }
}

/// CL-CIMD-01: the CIMD client_id is an https URL with a path.
const CL_CIMD_01: CimdClientId = CimdClientId {
    meta: meta(
        "CL-CIMD-01",
        "The CIMD client_id is an https URL with a path",
        Must,
        &["MCP §5.1.1", "CIMD §3"],
        text!(
            BASIC_CIMD,
            ": the authorization request's client_id is an https URL with a non-root path."
        ),
    ),
    problem: |u| {
        if u.scheme() != "https" {
            Some("not https".into())
        } else if u.path().is_empty() || u.path() == "/" {
            Some("no path component".into())
        } else {
            None
        }
    },
};

/// CL-CIMD-02: the CIMD client_id has no fragment, userinfo or dot segments.
const CL_CIMD_02: CimdClientId = CimdClientId {
    meta: meta(
        "CL-CIMD-02",
        "The CIMD client_id has no fragment, userinfo or dot segments",
        Must,
        &["CIMD §3"],
        text!(
            BASIC_CIMD,
            ": the client_id URL has no fragment, no userinfo and no `.`/`..` segments."
        ),
    ),
    problem: |u| {
        if u.fragment().is_some() {
            Some("has a fragment".into())
        } else if !u.username().is_empty() || u.password().is_some() {
            Some("has userinfo".into())
        } else if u.path().split('/').any(|seg| seg == "." || seg == "..") {
            Some("has dot segments".into())
        } else {
            None
        }
    },
};

/// CL-CIMD-04: the CIMD document is a JSON object with client_id, client_name and redirect_uris.
const CL_CIMD_04: CimdDocument = CimdDocument {
    meta: meta("CL-CIMD-04", "The CIMD document is a JSON object with client_id, client_name and redirect_uris", Must, &["MCP §5.1.1", "CIMD §4.1"],
        text!(BASIC_CIMD, ": the client's own metadata document (--client-metadata, at the client_id URL the client used) parses as a JSON object with client_id, client_name and a non-empty redirect_uris (covers CL-CIMD-03's JSON requirement; the suite hosts it).")),
    problem: |doc, _, _| {
        let Some(obj) = doc.as_object() else { return Some("not a JSON object".into()) };
        let missing: Vec<&str> = ["client_id", "client_name", "redirect_uris"].into_iter().filter(|k| !obj.contains_key(*k)).collect();
        if !missing.is_empty() { return Some(format!("missing {missing:?}")) }
        obj.get("redirect_uris").and_then(Value::as_array).filter(|a| !a.is_empty()).map_or(Some("redirect_uris empty or not an array".into()), |_| None)
    },
};

/// CL-CIMD-05: the document's client_id equals the client_id URL.
const CL_CIMD_05: CimdDocument = CimdDocument {
    meta: meta("CL-CIMD-05", "The document's client_id equals the client_id URL", Must, &["MCP §5.1.1", "CIMD §4.1"],
        text!(BASIC_CIMD, ": the document's client_id is identical (simple string comparison) to the URL it is served at, and to the client_id the client sent when that is a URL.")),
    problem: |doc, used, url| {
        let declared = doc.get("client_id").and_then(Value::as_str).unwrap_or("<none>");
        if declared != url {
            Some(format!("the document at `{url}` says client_id `{declared}`"))
        } else if used.is_some_and(|u| u != url) {
            Some(format!("the client sent client_id `{}` for the document at `{url}`", used.unwrap_or_default()))
        } else {
            None
        }
    },
};

/// CL-CIMD-06: the document declares no shared secret.
const CL_CIMD_06: CimdDocument = CimdDocument {
    meta: meta("CL-CIMD-06", "The document declares no shared secret", Must, &["CIMD §4.1"],
        text!(BASIC_CIMD, ": the client's own document has no client_secret_* token_endpoint_auth_method, no client_secret and no client_secret_expires_at.")),
    problem: |doc, _, _| {
        let method = doc.get("token_endpoint_auth_method").and_then(Value::as_str).unwrap_or("");
        if method.starts_with("client_secret") { return Some(format!("token_endpoint_auth_method {method}")) }
        ["client_secret", "client_secret_expires_at"].into_iter().find(|k| doc.get(*k).is_some()).map(|k| format!("declares {k}"))
    },
};

/// CL-CIMD-07: the redirect_uri used is listed in the document.
const CL_CIMD_07: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-CIMD-07", "The redirect_uri used is listed in the document", Must, &["MCP §11.5", "CIMD §4.5"],
        text!(BASIC_CIMD, ": every authorization request's redirect_uri is in the redirect_uris of the client's own document (a loopback IP literal's port may vary).")),
    eval: cl_cimd_07,
};
fn cl_cimd_07(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, BASIC_CIMD);
    let doc = match own_document(s) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let listed = string_array(&doc.document, "redirect_uris");
    let auths = s.authorizes();
    if auths.is_empty() {
        return completed_or_error(s).unwrap_or_else(|| {
            Evaluation::error("no authorization request").with_scenario(s.def.name)
        });
    }
    if !auths
        .iter()
        .any(|a| param(a, "client_id").is_some_and(|c| c.contains("://")))
    {
        return Evaluation::skip(format!(
            "the client did not use CIMD in {BASIC_CIMD}; see CL-REG-01.cimd"
        ));
    }
    let expected = "every redirect_uri listed in the document";
    let bad: Vec<&&LoggedRequest> = auths
        .iter()
        .filter(|a| {
            !super::request::redirect_matches(param(a, "redirect_uri").unwrap_or(""), &listed)
        })
        .collect();
    if bad.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} authorization request(s), all listed", auths.len()),
        )
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!(
                "redirect_uri {:?} not in {listed:?} (the document at `{}`)",
                param(bad[0], "redirect_uri"),
                doc.url
            ),
        )
        .with_evidence(bad.iter().map(|r| s.id(r)))
    }
}

/// The client's own CIMD document in `BASIC_CIMD`: the one hosted at the `client_id` URL the client used (the
/// suite's or the official one), else the one at the URL the context named. SKIP when that document is the suite's
/// stand-in (no `--client-metadata`): it would prove nothing about the client.
fn own_document(s: &ScenarioObs) -> Result<&HostedDocument, Evaluation> {
    let Some(doc) = s.document_used().or_else(|| s.documents.first()) else {
        return Err(Evaluation::harness_error(format!(
            "{BASIC_CIMD} hosted no document"
        )));
    };
    if doc.source == DocumentSource::SuiteDefault {
        return Err(Evaluation::skip(
            "the client supplied no metadata document (--client-metadata FILE); the suite's stand-in proves nothing",
        ));
    }
    Ok(doc)
}

/// CL-CIMD-01/02's family: the client_id the client sent in `BASIC_CIMD`, as a URL, judged by `problem`. SKIP when
/// the client did not use CIMD (the rows are conditional on CIMD).
struct CimdClientId {
    meta: CheckMeta,
    problem: fn(&url::Url) -> Option<String>,
}

impl Check<ClientObservations> for CimdClientId {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        let m = &self.meta;
        let problem = self.problem;
        let s = scenario_or_return!(o, BASIC_CIMD);
        let Some(a) = s.authorizes().first().copied() else {
            return completed_or_error(s).unwrap_or_else(|| {
                Evaluation::error("no authorization request").with_scenario(s.def.name)
            });
        };
        let client_id = param(a, "client_id").unwrap_or("");
        let expected = "a conforming client_id URL";
        let e = match url::Url::parse(client_id) {
            Err(_) if !client_id.contains("://") => {
                return Evaluation::skip(format!(
                    "the client did not use a CIMD client_id (`{client_id}`); see CL-REG-01.cimd"
                ))
            }
            Err(e) => Evaluation::violated(
                m.level,
                expected,
                format!("`{client_id}` is not a URL: {e}"),
            ),
            Ok(u) => match problem(&u) {
                None => Evaluation::pass(expected, format!("client_id `{client_id}`")),
                Some(p) => Evaluation::violated(m.level, expected, format!("`{client_id}` {p}")),
            },
        };
        e.with_evidence([s.id(a)])
    }
}

/// CL-CIMD-04/05/06's family: the client's own CIMD document, judged by `problem(document, URL client_id the client
/// sent, document URL)`.
struct CimdDocument {
    meta: CheckMeta,
    problem: fn(&Value, Option<&str>, &str) -> Option<String>,
}

impl Check<ClientObservations> for CimdDocument {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        let m = &self.meta;
        let problem = self.problem;
        let s = scenario_or_return!(o, BASIC_CIMD);
        let doc = match own_document(s) {
            Ok(d) => d,
            Err(e) => return e,
        };
        let used = s
            .authorizes()
            .first()
            .and_then(|a| param(a, "client_id").map(str::to_owned))
            .filter(|c| c.contains("://"));
        let expected = "a conforming client metadata document";
        match problem(&doc.document, used.as_deref(), &doc.url) {
            None => Evaluation::pass(expected, format!("the document at `{}` conforms", doc.url)),
            Some(p) => Evaluation::violated(m.level, expected, p),
        }
    }
}

fn is_token(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Token { .. })
}

fn is_mcp(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Mcp { .. })
}

/// Access tokens the world issued in a scenario (from token responses).
fn issued_tokens(s: &ScenarioObs) -> Vec<String> {
    s.log
        .iter()
        .filter(|r| is_token(r) && r.status == 200)
        .filter_map(|r| {
            response_member(r, "access_token").and_then(|v| v.as_str().map(str::to_owned))
        })
        .collect()
}

/// Whether a token response preceded `r` in its scenario.
fn after_a_token(s: &ScenarioObs, r: &LoggedRequest) -> bool {
    s.log
        .iter()
        .any(|t| is_token(t) && t.status == 200 && t.seq < r.seq)
}

#[cfg(test)]
mod tests {
    use fake_idp::client_world::Origin;
    use mcp_auth_reports::Verdict;
    use rstest::rstest;

    use super::*;
    use crate::client::obs::testing::{
        append, compliant, drop_param, first, set_param, stop_before, world, CIMD_URL,
    };
    use crate::client::scenarios::MIGRATION;

    fn is_refresh(r: &LoggedRequest) -> bool {
        matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == "refresh_token")
    }

    fn is_authorize(r: &LoggedRequest) -> bool {
        matches!(r.kind, RequestKind::Authorize)
    }

    fn document(o: &mut ClientObservations) -> &mut HostedDocument {
        world(o, BASIC_CIMD)
            .documents
            .first_mut()
            .expect("a hosted document")
    }

    #[rstest]
    #[case::cl_tok_01(&CL_TOK_01, "MCP request after authorization(s) judged, all conform")]
    #[case::cl_tok_02(&CL_TOK_02, "request after a token was issued(s) judged, all conform")]
    #[case::cl_tok_03(&crate::client::checks::migration::CL_TOK_03, "none with the first AS's token")]
    #[case::cl_tok_06(&CL_TOK_06, "token response #5, token used at #6")]
    #[case::cl_rt_01(&CL_RT_01, "2 refreshes, each with the newest refresh token")]
    #[case::cl_reg_01_cimd(&CL_REG_01_CIMD, "client_id `https://client.conformance.test/mcp-client/metadata.json`")]
    #[case::cl_reg_01_dcr_fallback(&CL_REG_01_DCR_FALLBACK, "registered and used client_id dcr-client")]
    #[case::cl_reg_02(&CL_REG_02, "client_id conformance-preregistered-client")]
    #[case::cl_cimd_01(&CL_CIMD_01, "client_id `https://client.conformance.test/mcp-client/metadata.json`")]
    #[case::cl_cimd_02(&CL_CIMD_02, "client_id `https://client.conformance.test/mcp-client/metadata.json`")]
    #[case::cl_cimd_04(&CL_CIMD_04, "the document at `https://client.conformance.test/mcp-client/metadata.json` conforms")]
    #[case::cl_cimd_05(&CL_CIMD_05, "conforms")]
    #[case::cl_cimd_06(&CL_CIMD_06, "conforms")]
    #[case::cl_cimd_07(&CL_CIMD_07, "2 authorization request(s), all listed")]
    fn passes_on_the_compliant_record(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] actual: &str,
    ) {
        let e = check.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    #[test]
    fn cl_tok_01_fails_on_an_mcp_request_without_the_bearer_token() {
        let mut o = compliant();
        let r = first(&mut o, METADATA_DEFAULT, |r| is_mcp(r) && r.status == 200);
        r.headers.clear();
        let e = CL_TOK_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("POST /mcp without a bearer token"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_tok_02_fails_on_a_token_in_the_query() {
        let mut o = compliant();
        let token = issued_tokens(world(&mut o, METADATA_DEFAULT)).remove(0);
        let r = first(&mut o, METADATA_DEFAULT, |r| is_mcp(r) && r.status == 200);
        r.query.push(("access_token".into(), token.clone()));
        let e = CL_TOK_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("carries a token in `access_token`"),
            "{}",
            e.actual
        );
        assert!(!e.actual.contains(&token), "{}", e.actual);
    }

    #[rstest]
    #[case::cl_tok_01(&CL_TOK_01)]
    #[case::cl_tok_02(&CL_TOK_02)]
    fn is_error_when_no_token_was_ever_issued(#[case] check: &dyn Check<ClientObservations>) {
        let mut o = compliant();
        for s in o.scenarios.values_mut().filter_map(|r| r.as_mut().ok()) {
            for r in s.log.iter_mut().filter(|r| is_token(r)) {
                r.status = 400;
            }
        }
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("was observed in any scenario"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_tok_03_fails_when_the_old_token_follows_the_migrated_prm() {
        let mut o = compliant();
        let kind = RequestKind::Mcp {
            method: Some("tools/call".into()),
            token: Some("access-old".into()),
            token_issuer: Some(0),
            token_valid: false,
        };
        append(world(&mut o, MIGRATION), Origin::Mcp, "POST", "/mcp", kind).status = 401;
        let e = crate::client::checks::migration::CL_TOK_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("carried the first AS's token"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_tok_06_fails_when_the_issued_token_is_never_used() {
        let mut o = compliant();
        for r in world(&mut o, TOKEN_REFRESH).log.iter_mut() {
            if let RequestKind::Mcp { token, .. } = &mut r.kind {
                *token = Some("not-issued".into());
            }
        }
        let e = CL_TOK_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.starts_with("token response #5 was never used"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_tok_06_is_error_without_a_token_response() {
        let mut o = compliant();
        stop_before(&mut o, TOKEN_REFRESH, is_token);
        let e = CL_TOK_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("did not complete its task"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_rt_01_fails_when_a_refresh_reuses_a_rotated_token() {
        let mut o = compliant();
        let s = world(&mut o, TOKEN_REFRESH);
        let old = param(
            s.log.iter().find(|r| is_refresh(r)).expect("a refresh"),
            "refresh_token",
        )
        .expect("a refresh token")
        .to_owned();
        let second = s
            .log
            .iter_mut()
            .filter(|r| is_refresh(r))
            .nth(1)
            .expect("a second refresh");
        set_param(second, "refresh_token", &old);
        let id = format!("{TOKEN_REFRESH}#{}", second.seq);
        let e = CL_RT_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .starts_with("1 of 2 refreshes used an older refresh token"),
            "{}",
            e.actual
        );
        assert_eq!(e.evidence, vec![id]);
    }

    #[test]
    fn cl_rt_01_is_error_with_fewer_than_two_refreshes() {
        let mut o = compliant();
        let s = world(&mut o, TOKEN_REFRESH);
        let last = s.log.iter().rposition(is_refresh).expect("a refresh");
        s.log.truncate(last);
        let e = CL_RT_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("fewer than two refresh requests (1)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_reg_01_cimd_warns_on_dynamic_registration() {
        let mut o = compliant();
        append(
            world(&mut o, BASIC_CIMD),
            Origin::As(0),
            "POST",
            "/register",
            RequestKind::Register,
        );
        let e = CL_REG_01_CIMD.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(
            e.actual.contains("although CIMD is supported"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_reg_01_cimd_warns_on_a_client_id_that_is_not_a_url() {
        let mut o = compliant();
        set_param(
            first(&mut o, BASIC_CIMD, is_authorize),
            "client_id",
            "plain-client",
        );
        let e = CL_REG_01_CIMD.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert_eq!(e.actual, "client_id `plain-client` is not a URL");
    }

    #[test]
    fn cl_reg_01_cimd_is_error_without_an_authorization_request() {
        let mut o = compliant();
        stop_before(&mut o, BASIC_CIMD, is_authorize);
        assert_eq!(CL_REG_01_CIMD.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn cl_reg_01_dcr_fallback_warns_when_the_registered_client_id_is_not_used() {
        let mut o = compliant();
        set_param(
            first(&mut o, METADATA_DEFAULT, is_authorize),
            "client_id",
            "someone-else",
        );
        let e = CL_REG_01_DCR_FALLBACK.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(
            e.actual.contains("authorized as Some(\"someone-else\")"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_reg_01_dcr_fallback_warns_without_registration() {
        let mut o = compliant();
        first(&mut o, METADATA_DEFAULT, |r| {
            matches!(r.kind, RequestKind::Register)
        })
        .kind = RequestKind::Other;
        let e = CL_REG_01_DCR_FALLBACK.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(e.actual.starts_with("no registration"), "{}", e.actual);
    }

    #[rstest]
    #[case::cl_reg_01_dcr_fallback(&CL_REG_01_DCR_FALLBACK, METADATA_DEFAULT)]
    #[case::cl_reg_02(&CL_REG_02, PRE_REGISTRATION)]
    fn is_error_when_the_client_never_fetched_as_metadata(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
    ) {
        let mut o = compliant();
        stop_before(&mut o, name, |r| {
            matches!(r.kind, RequestKind::AsMetadata(_))
        });
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("never fetched the AS metadata"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_reg_02_warns_when_the_preregistered_client_registers() {
        let mut o = compliant();
        append(
            world(&mut o, PRE_REGISTRATION),
            Origin::As(0),
            "POST",
            "/register",
            RequestKind::Register,
        );
        let e = CL_REG_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(
            e.actual.contains("registered dynamically: true"),
            "{}",
            e.actual
        );
    }

    #[rstest]
    #[case::cl_cimd_01_http(&CL_CIMD_01, "http://client.conformance.test/metadata.json", "not https")]
    #[case::cl_cimd_01_root(&CL_CIMD_01, "https://client.conformance.test/", "no path component")]
    #[case::cl_cimd_02_fragment(&CL_CIMD_02, "https://client.conformance.test/metadata.json#x", "has a fragment")]
    #[case::cl_cimd_02_userinfo(&CL_CIMD_02, "https://me@client.conformance.test/metadata.json", "has userinfo")]
    fn fails_on_a_malformed_cimd_client_id(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] client_id: &str,
        #[case] problem: &str,
    ) {
        let mut o = compliant();
        set_param(
            first(&mut o, BASIC_CIMD, is_authorize),
            "client_id",
            client_id,
        );
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert_eq!(e.actual, format!("`{client_id}` {problem}"));
    }

    #[rstest]
    #[case::cl_cimd_01(&CL_CIMD_01)]
    #[case::cl_cimd_02(&CL_CIMD_02)]
    fn skips_when_the_client_did_not_use_cimd(#[case] check: &dyn Check<ClientObservations>) {
        let mut o = compliant();
        set_param(
            first(&mut o, BASIC_CIMD, is_authorize),
            "client_id",
            "plain-client",
        );
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip, "{e:?}");
        assert!(
            e.message
                .contains("did not use a CIMD client_id (`plain-client`)"),
            "{}",
            e.message
        );
    }

    #[rstest]
    #[case::cl_cimd_01(&CL_CIMD_01)]
    #[case::cl_cimd_02(&CL_CIMD_02)]
    #[case::cl_cimd_07(&CL_CIMD_07)]
    fn is_error_without_an_authorization_request_in_the_cimd_world(
        #[case] check: &dyn Check<ClientObservations>,
    ) {
        let mut o = compliant();
        stop_before(&mut o, BASIC_CIMD, is_authorize);
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("did not complete its task"),
            "{}",
            e.message
        );
    }

    #[rstest]
    #[case::cl_cimd_04(&CL_CIMD_04, "client_name", serde_json::Value::Null, "missing [\"client_name\"]")]
    #[case::cl_cimd_05(&CL_CIMD_05, "client_id", serde_json::json!("https://other.example/doc.json"), "says client_id `https://other.example/doc.json`")]
    #[case::cl_cimd_06(&CL_CIMD_06, "client_secret", serde_json::json!("s3cret"), "declares client_secret")]
    fn fails_on_a_nonconforming_document(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] member: &str,
        #[case] value: Value,
        #[case] problem: &str,
    ) {
        let mut o = compliant();
        let doc = document(&mut o)
            .document
            .as_object_mut()
            .expect("an object");
        if value.is_null() {
            doc.remove(member);
        } else {
            doc.insert(member.into(), value);
        }
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains(problem), "{}", e.actual);
    }

    #[rstest]
    #[case::cl_cimd_04(&CL_CIMD_04)]
    #[case::cl_cimd_05(&CL_CIMD_05)]
    #[case::cl_cimd_06(&CL_CIMD_06)]
    #[case::cl_cimd_07(&CL_CIMD_07)]
    fn skips_on_the_suites_stand_in_document(#[case] check: &dyn Check<ClientObservations>) {
        let mut o = compliant();
        document(&mut o).source = DocumentSource::SuiteDefault;
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip, "{e:?}");
        assert!(
            e.message.contains("the suite's stand-in proves nothing"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_cimd_05_fails_when_the_client_sends_another_url() {
        let mut o = compliant();
        for r in world(&mut o, BASIC_CIMD)
            .log
            .iter_mut()
            .filter(|r| is_authorize(r))
        {
            set_param(r, "client_id", "https://other.example/doc.json");
        }
        let e = CL_CIMD_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains(&format!("the client sent client_id `https://other.example/doc.json` for the document at `{CIMD_URL}`")), "{}", e.actual);
    }

    #[test]
    fn cl_cimd_07_fails_on_a_redirect_uri_the_document_does_not_list() {
        let mut o = compliant();
        set_param(
            first(&mut o, BASIC_CIMD, is_authorize),
            "redirect_uri",
            "http://127.0.0.1:5555/elsewhere",
        );
        let e = CL_CIMD_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("redirect_uri Some(\"http://127.0.0.1:5555/elsewhere\") not in"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_cimd_07_skips_when_the_client_did_not_use_cimd() {
        let mut o = compliant();
        for r in world(&mut o, BASIC_CIMD)
            .log
            .iter_mut()
            .filter(|r| is_authorize(r))
        {
            drop_param(r, "client_id");
        }
        let e = CL_CIMD_07.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip, "{e:?}");
        assert!(
            e.message
                .contains(&format!("did not use CIMD in {BASIC_CIMD}")),
            "{}",
            e.message
        );
    }
}
