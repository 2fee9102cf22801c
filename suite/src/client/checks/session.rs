//! Tokens in use, refresh, registration and the client's metadata document: CL-TOK-*, CL-RT-*, CL-REG-*,
//! CL-CIMD-*.

use fake_idp::client_world::{LoggedRequest, RequestKind};
use mcp_auth_reports::Level::{Must, Should};
use serde_json::Value;

use super::{check, completed_or_error, every, meta, ClientCheck};
use crate::check::{CheckMeta, Evaluation};
use crate::client::obs::{
    param, response_member, string_array, ClientObservations, DocumentSource, HostedDocument,
    ScenarioObs,
};
use crate::client::scenarios::{
    BASIC_CIMD, METADATA_DEFAULT, PRE_CLIENT_ID, PRE_REGISTRATION, TOKEN_REFRESH,
};
use crate::scenario_or_return;

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

pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        check(
            meta("CL-TOK-01", "Every MCP request after authorization carries the bearer token", Must, &["MCP §9.1", "OAuth 2.1 §5.1.1"],
                "In every scenario, each MCP request made after the first successful token response carries Authorization: Bearer."),
            |m, o| every(m, o, "MCP request after authorization", "Authorization: Bearer <token>",
                |s, r| is_mcp(r) && s.log.iter().any(|t| is_token(t) && t.status == 200 && t.seq < r.seq),
                |_, r| {
                    let bearer = r.headers.iter().any(|(k, v)| k == "authorization" && v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
                    (!bearer).then(|| format!("{} {} without a bearer token", r.method, r.path))
                }),
        ),
        check(
            meta("CL-TOK-02", "No access token in a URL", Must, &["MCP §9.1", "OAuth 2.1 §5.1", "OAuth 2.1 §7.1.3.7"],
                "No request in any scenario carries an issued access token in its query string."),
            |m, o| every(m, o, "request after a token was issued", "no token in the query",
                |s, r| s.log.iter().any(|t| is_token(t) && t.status == 200 && t.seq < r.seq),
                |s, r| {
                    let tokens = issued_tokens(s);
                    r.query.iter().find(|(_, v)| tokens.iter().any(|t| t == v)).map(|(k, _)| format!("{} {} carries a token in `{k}`", r.method, r.path))
                }),
        ),
        check(
            meta("CL-TOK-03", "A token from another AS is never sent to the server", Must, &["MCP §9.2"],
                "auth/authorization-server-migration: once the client has read the PRM listing the second AS, no MCP request it provably sent after that (same connection, or a connection opened after the PRM was answered; see checks/migration.rs) carries a token from the first AS."),
            super::migration::tok03,
        ),
        check(
            meta("CL-TOK-06", "Unknown response members and large tokens are accepted", Must, &["OAuth 2.1 §3.2.3", "RFC 9728 §3.2", "RFC 8414 §3.2"],
                "auth/token-refresh: unknown members in PRM, AS metadata, the challenge and the token response, and a 4 KiB access token → the client uses the token."),
            |m, o| {
                let s = scenario_or_return!(o, TOKEN_REFRESH);
                let Some(t) = s.log.iter().find(|r| is_token(r) && r.status == 200) else {
                    return completed_or_error(s).unwrap_or_else(|| Evaluation::error("no token response").with_scenario(s.def.name));
                };
                let tokens = issued_tokens(s);
                let used = s.log.iter().find(|r| r.seq > t.seq && is_mcp(r) && matches!(&r.kind, RequestKind::Mcp { token: Some(tok), .. } if tokens.contains(tok)));
                let expected = "the 4 KiB token from a response with unknown members is used";
                match used {
                    Some(u) => Evaluation::pass(expected, format!("token response #{}, token used at #{}", t.seq, u.seq)).with_evidence([s.id(t), s.id(u)]),
                    None => Evaluation::violated(m.level, expected, format!("token response #{} was never used; {}", t.seq, s.progress())).with_evidence([s.id(t)]),
                }
            },
        ),
        check(
            meta("CL-RT-01", "A rotated refresh token replaces the old one", Must, &["OAuth 2.1 §4.3.2", "MCP §11.2"],
                "auth/token-refresh: every refresh request uses the refresh token from the most recent token response, never an older one."),
            rt01,
        ),
        check(
            meta("CL-REG-01.cimd", "CIMD is preferred over DCR when the AS supports it", Should, &["MCP §5", "MCP §5.1.4"],
                "auth/basic-cimd: the AS advertises CIMD and a registration endpoint; the context names a metadata URL → a URL client_id and no POST to the registration endpoint."),
            reg01_cimd,
        ),
        check(
            meta("CL-REG-01.dcr-fallback", "Without CIMD or pre-registration, DCR is used", Should, &["MCP §5", "MCP §5.3", "RFC 7591 §3.1"],
                "auth/metadata-default: only a registration endpoint → POST a JSON document with redirect_uris, then use the returned client_id."),
            reg01_dcr,
        ),
        check(
            meta("CL-REG-02", "Pre-registered credentials are used", Should, &["MCP §5", "MCP §5.2"],
                "auth/pre-registration: the context carries client_id and secret → the authorization request uses that client_id and nothing is registered."),
            reg02,
        ),
        check(
            meta("CL-CIMD-01", "The CIMD client_id is an https URL with a path", Must, &["MCP §5.1.1", "CIMD §3"],
                "auth/basic-cimd: the authorization request's client_id is an https URL with a non-root path."),
            |m, o| cimd_url(m, o, |u| {
                if u.scheme() != "https" { Some("not https".into()) }
                else if u.path().is_empty() || u.path() == "/" { Some("no path component".into()) }
                else { None }
            }),
        ),
        check(
            meta("CL-CIMD-02", "The CIMD client_id has no fragment, userinfo or dot segments", Must, &["CIMD §3"],
                "auth/basic-cimd: the client_id URL has no fragment, no userinfo and no `.`/`..` segments."),
            |m, o| cimd_url(m, o, |u| {
                if u.fragment().is_some() { Some("has a fragment".into()) }
                else if !u.username().is_empty() || u.password().is_some() { Some("has userinfo".into()) }
                else if u.path().split('/').any(|seg| seg == "." || seg == "..") { Some("has dot segments".into()) }
                else { None }
            }),
        ),
        check(
            meta("CL-CIMD-04", "The CIMD document is a JSON object with client_id, client_name and redirect_uris", Must, &["MCP §5.1.1", "CIMD §4.1"],
                "auth/basic-cimd: the client's own metadata document (--client-metadata, at the client_id URL the client used) parses as a JSON object with client_id, client_name and a non-empty redirect_uris (covers CL-CIMD-03's JSON requirement; the suite hosts it)."),
            |m, o| cimd_doc(m, o, |doc, _, _| {
                let Some(obj) = doc.as_object() else { return Some("not a JSON object".into()) };
                let missing: Vec<&str> = ["client_id", "client_name", "redirect_uris"].into_iter().filter(|k| !obj.contains_key(*k)).collect();
                if !missing.is_empty() { return Some(format!("missing {missing:?}")) }
                obj.get("redirect_uris").and_then(Value::as_array).filter(|a| !a.is_empty()).map_or(Some("redirect_uris empty or not an array".into()), |_| None)
            }),
        ),
        check(
            meta("CL-CIMD-05", "The document's client_id equals the client_id URL", Must, &["MCP §5.1.1", "CIMD §4.1"],
                "auth/basic-cimd: the document's client_id is identical (simple string comparison) to the URL it is served at, and to the client_id the client sent when that is a URL."),
            |m, o| cimd_doc(m, o, |doc, used, url| {
                let declared = doc.get("client_id").and_then(Value::as_str).unwrap_or("<none>");
                if declared != url {
                    Some(format!("the document at `{url}` says client_id `{declared}`"))
                } else if used.is_some_and(|u| u != url) {
                    Some(format!("the client sent client_id `{}` for the document at `{url}`", used.unwrap_or_default()))
                } else {
                    None
                }
            }),
        ),
        check(
            meta("CL-CIMD-06", "The document declares no shared secret", Must, &["CIMD §4.1"],
                "auth/basic-cimd: the client's own document has no client_secret_* token_endpoint_auth_method, no client_secret and no client_secret_expires_at."),
            |m, o| cimd_doc(m, o, |doc, _, _| {
                let method = doc.get("token_endpoint_auth_method").and_then(Value::as_str).unwrap_or("");
                if method.starts_with("client_secret") { return Some(format!("token_endpoint_auth_method {method}")) }
                ["client_secret", "client_secret_expires_at"].into_iter().find(|k| doc.get(*k).is_some()).map(|k| format!("declares {k}"))
            }),
        ),
        check(
            meta("CL-CIMD-07", "The redirect_uri used is listed in the document", Must, &["MCP §11.5", "CIMD §4.5"],
                "auth/basic-cimd: every authorization request's redirect_uri is in the redirect_uris of the client's own document (a loopback IP literal's port may vary)."),
            cimd07,
        ),
    ]
}

fn rt01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn reg01_cimd(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn reg01_dcr(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn reg02(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

/// The client_id the client sent in auth/basic-cimd, as a URL, judged by `problem`. SKIP when the client did not
/// use CIMD (the rows are conditional on CIMD).
fn cimd_url(
    m: &CheckMeta,
    o: &ClientObservations,
    problem: impl Fn(&url::Url) -> Option<String>,
) -> Evaluation {
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

/// The client's own CIMD document in auth/basic-cimd: the one hosted at the `client_id` URL the client used (the
/// suite's or the official one), else the one at the URL the context named. SKIP when that document is the suite's
/// stand-in (no `--client-metadata`): it would prove nothing about the client.
fn own_document(s: &ScenarioObs) -> Result<&HostedDocument, Evaluation> {
    let Some(doc) = s.document_used().or_else(|| s.documents.first()) else {
        return Err(Evaluation::harness_error(
            "auth/basic-cimd hosted no document",
        ));
    };
    if doc.source == DocumentSource::SuiteDefault {
        return Err(Evaluation::skip(
            "the client supplied no metadata document (--client-metadata FILE); the suite's stand-in proves nothing",
        ));
    }
    Ok(doc)
}

/// The client's own CIMD document, judged by `problem(document, URL client_id the client sent, document URL)`.
fn cimd_doc(
    m: &CheckMeta,
    o: &ClientObservations,
    problem: impl Fn(&Value, Option<&str>, &str) -> Option<String>,
) -> Evaluation {
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

fn cimd07(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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
        return Evaluation::skip(
            "the client did not use CIMD in auth/basic-cimd; see CL-REG-01.cimd",
        );
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
