//! The authorization-server migration world (`auth/authorization-server-migration`): what the client provably
//! did once it knew of the second AS (CL-TOK-03, CL-PRM-06), and whether anything the first AS issued reached the
//! second (CL-MIG-01).
//!
//! "After the client learned" is decided from the wire, not from log order (which is handler order: a request in
//! flight while the world answered another may be logged on either side of it). The announcing exchanges are the
//! PRM responses whose `authorization_servers` lists the second AS. A request counts as sent after the client
//! learned when `fake_idp::sent_after_reading` places it after an announcing exchange (a later HTTP/1.x request on
//! the same connection, or a request on a connection accepted after the response was completely written,
//! transitively), or when its content proves the knowledge: a request to the second AS, or an MCP request with the
//! second AS's token (the second AS is named nowhere but in the migrated PRM), and everything the wire places after
//! such a request.

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fake_idp::client_world::{LoggedRequest, Origin, RequestKind};
use mcp_auth_reports::Level::{Must, Should};
use serde_json::Value;

use super::{meta, ClientCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::client::obs::{location_param, response_member, ClientObservations, ScenarioObs};
use crate::client::scenarios::MIGRATION;
use crate::evidence::redact;
use crate::scenario_or_return;

/// The scenario these checks judge.
const SCENARIO: &str = MIGRATION;
/// The AS the PRM lists before the switch ("AS1").
const OLD: usize = 0;
/// The AS the PRM lists after the switch ("AS2").
const NEW: usize = 1;

/// The migration check of its own (CL-TOK-03 and CL-PRM-06, defined here, are listed by session.rs and
/// discovery.rs, in their report order).
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![Box::new(CL_MIG_01), Box::new(CL_MIG_02)]
}

/// Whether `r` is a PRM response whose `authorization_servers` names `issuer` (exact string).
fn lists_issuer(r: &LoggedRequest, issuer: &str) -> bool {
    matches!(r.kind, RequestKind::Prm(_))
        && r.status == 200
        && response_member(r, "authorization_servers")
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(issuer)))
}

/// A request the client made to the second AS (not the world's own CIMD resolution).
fn at_new_as(r: &LoggedRequest) -> bool {
    r.origin == Origin::As(NEW) && !matches!(r.kind, RequestKind::CimdFetch)
}

fn mcp_token_from(r: &LoggedRequest, i: usize) -> bool {
    matches!(r.kind, RequestKind::Mcp { token_issuer: Some(t), .. } if t == i)
}

/// What the migration log shows about when the client knew of the second AS.
struct Learned<'a> {
    /// PRM responses listing the second AS, in log order.
    announcements: Vec<&'a LoggedRequest>,
    /// Requests whose content proves the knowledge.
    proofs: BTreeSet<usize>,
    /// Every request sent after the client knew: the proofs and what the wire places after an announcement or
    /// a proof.
    after: BTreeSet<usize>,
}

impl<'a> Learned<'a> {
    fn of(s: &'a ScenarioObs, issuer2: &str) -> Self {
        let announcements: Vec<&LoggedRequest> =
            s.log.iter().filter(|r| lists_issuer(r, issuer2)).collect();
        let proofs: BTreeSet<usize> = s
            .log
            .iter()
            .filter(|r| at_new_as(r) || mcp_token_from(r, NEW))
            .map(|r| r.seq)
            .collect();
        let read = announcements
            .iter()
            .map(|r| r.seq)
            .chain(proofs.iter().copied());
        let mut after = fake_idp::sent_after_reading(&s.log, read);
        after.extend(proofs.iter().copied());
        Learned {
            announcements,
            proofs,
            after,
        }
    }

    /// Why the wire places `r` after the client learned, for evidence.
    fn why(&self, s: &ScenarioObs, r: &LoggedRequest) -> String {
        if self.proofs.contains(&r.seq) {
            return "its content proves it".into();
        }
        let Some(wire) = &r.wire else {
            return "no wire facts".into();
        };
        let known = self
            .announcements
            .iter()
            .copied()
            .chain(s.log.iter().filter(|k| self.after.contains(&k.seq)));
        for k in known.filter(|k| k.seq != r.seq) {
            let Some(kw) = &k.wire else { continue };
            if kw.connection == wire.connection && k.seq < r.seq {
                return format!("after #{} on the same connection", k.seq);
            }
            if kw.response_written_at.is_some_and(|w| wire.accepted_at > w) {
                return format!("on a connection opened after #{} was answered", k.seq);
            }
        }
        "placed by the wire".into()
    }
}

/// CL-TOK-03: once the client has read the PRM listing the second AS, no MCP request it provably sent after that
/// carries the first AS's token.
pub(super) const CL_TOK_03: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-TOK-03", "A token from another AS is never sent to the server", Must, &["MCP §9.2"],
        text!(MIGRATION, ": once the client has read the PRM listing the second AS, no MCP request it provably sent after that (same connection, or a connection opened after the PRM was answered; see checks/migration.rs) carries a token from the first AS.")),
    eval: cl_tok_03,
};

fn cl_tok_03(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, SCENARIO);
    let Some(issuer2) = s.issuers.get(NEW) else {
        return Evaluation::harness_error("the migration scenario has no second AS");
    };
    let learned = Learned::of(s, issuer2);
    let Some(point) = learned.announcements.first().copied() else {
        return Evaluation::error(format!(
            "{SCENARIO}: the client never reached the decision point (the PRM listing the second AS); {}",
            s.progress()
        ))
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name);
    };
    let old_token = |r: &&LoggedRequest| r.origin == Origin::Mcp && mcp_token_from(r, OLD);
    let counted: Vec<&LoggedRequest> = s
        .log
        .iter()
        .filter(old_token)
        .filter(|r| learned.after.contains(&r.seq))
        .collect();
    let in_flight: Vec<String> = s
        .log
        .iter()
        .filter(old_token)
        .filter(|r| r.seq > point.seq && !learned.after.contains(&r.seq))
        .map(|r| format!("#{}", r.seq))
        .collect();
    let judged = s
        .log
        .iter()
        .filter(|r| r.origin == Origin::Mcp && learned.after.contains(&r.seq))
        .count();
    let expected = "after reading the PRM that lists the second AS: no MCP request carrying the first AS's token";
    let not_counted = if in_flight.is_empty() {
        String::new()
    } else {
        format!(
            "; not counted: {} (the first AS's token, logged later but on connections opened before the client could have read it)",
            in_flight.join(", ")
        )
    };
    match counted.first() {
        None => Evaluation::pass(
            expected,
            format!(
                "PRM listing the second AS at #{}; {judged} MCP request(s) provably sent after the client knew, none with the first AS's token{not_counted}; {}",
                point.seq,
                s.run.exit.describe()
            ),
        )
        .with_evidence([s.id(point)]),
        Some(bad) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "PRM listing the second AS at #{}; then {} {} (#{}) carried the first AS's token ({}){not_counted}",
                point.seq,
                bad.method,
                bad.path,
                bad.seq,
                learned.why(s, bad)
            ),
        )
        .with_evidence(std::iter::once(s.id(point)).chain(counted.iter().take(3).map(|r| s.id(r)))),
    }
}

/// CL-PRM-06: served with the first AS's token, then told of the change, the client authorizes at the second AS
/// and is served again. Both are proof by content that it re-discovered (the second AS is named nowhere but in the
/// migrated PRM), so no ordering is judged here.
pub(super) const CL_PRM_06: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-PRM-06", "A changed resource_metadata leads to re-discovery", Should, &["RFC 9728 §5.2"],
        text!(MIGRATION, ": mid-session the PRM lists a second AS and old tokens get 401 → the client authorizes at the second AS and succeeds.")),
    eval: cl_prm_06,
};

fn cl_prm_06(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, SCENARIO);
    let Some(issuer2) = s.issuers.get(NEW) else {
        return Evaluation::harness_error("the migration scenario has no second AS");
    };
    let from_old = |r: &LoggedRequest, valid: bool| matches!(&r.kind, RequestKind::Mcp { token_issuer: Some(OLD), token_valid, .. } if *token_valid == valid);
    if !s.log.iter().any(|r| from_old(r, true) && r.status == 200) {
        return Evaluation::error(format!(
            "the client was never served with a token from the first AS; {}",
            s.progress()
        ))
        .with_scenario(s.def.name);
    }
    // The change reaches the client as a 401 to the first AS's token, or as the migrated PRM.
    let told = s
        .log
        .iter()
        .find(|r| (from_old(r, false) && r.status == 401) || lists_issuer(r, issuer2));
    let Some(told) = told else {
        return Evaluation::error(format!(
            "the client made no request after the migration; {}",
            s.progress()
        ))
        .with_scenario(s.def.name);
    };
    let at_new = s
        .log
        .iter()
        .find(|r| at_new_as(r) && matches!(r.kind, RequestKind::Authorize));
    let served_again = s.log.iter().any(|r| {
        matches!(
            &r.kind,
            RequestKind::Mcp {
                token_issuer: Some(NEW),
                token_valid: true,
                ..
            }
        ) && r.status == 200
    });
    let expected = "after the migration: authorization at the second AS (found through the re-fetched PRM), requests served again";
    let e = match (at_new, served_again) {
        (Some(a), true) => Evaluation::pass(
            expected,
            format!("authorized at AS2 (#{}) and served again", a.seq),
        )
        .with_evidence([s.id(a)]),
        (Some(a), false) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "authorization request at AS2 (#{}, answered {}) but never served again; {}",
                a.seq,
                a.status,
                s.progress()
            ),
        )
        .with_evidence([s.id(a)]),
        (None, _) => Evaluation::violated(
            m.level,
            expected,
            format!("never authorized at the second AS; {}", s.progress()),
        ),
    };
    e.with_evidence([s.id(told)])
}

/// A credential the first AS issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Issued {
    ClientId,
    ClientSecret,
    RefreshToken,
    AccessToken,
    Code,
}

impl Issued {
    fn name(self) -> &'static str {
        match self {
            Issued::ClientId => "DCR client_id",
            Issued::ClientSecret => "DCR client_secret",
            Issued::RefreshToken => "refresh token",
            Issued::AccessToken => "access token",
            Issued::Code => "authorization code",
        }
    }

    /// How the value appears in message text: a client_id is not a secret; everything else is redacted.
    fn show(self, value: &str) -> String {
        match self {
            Issued::ClientId => format!("`{value}`"),
            _ => redact(value),
        }
    }
}

/// Everything the AS `i` issued in the log: (credential, value, the exchange that issued it).
fn issued_by(s: &ScenarioObs, i: usize) -> Vec<(Issued, String, usize)> {
    let mut out = Vec::new();
    let text = |r: &LoggedRequest, member: &str| {
        response_member(r, member)
            .and_then(|v| v.as_str().filter(|t| !t.is_empty()).map(str::to_owned))
    };
    for r in s.log.iter().filter(|r| r.origin == Origin::As(i)) {
        match r.kind {
            RequestKind::Register if (200..300).contains(&r.status) => {
                for (what, member) in [
                    (Issued::ClientId, "client_id"),
                    (Issued::ClientSecret, "client_secret"),
                ] {
                    if let Some(v) = text(r, member) {
                        out.push((what, v, r.seq));
                    }
                }
            }
            RequestKind::Token { .. } if r.status == 200 => {
                for (what, member) in [
                    (Issued::AccessToken, "access_token"),
                    (Issued::RefreshToken, "refresh_token"),
                ] {
                    if let Some(v) = text(r, member) {
                        out.push((what, v, r.seq));
                    }
                }
            }
            RequestKind::Authorize => {
                if let Some(code) = location_param(r, "code").filter(|c| !c.is_empty()) {
                    out.push((Issued::Code, code, r.seq));
                }
            }
            _ => {}
        }
    }
    out
}

/// `(where, value)` of everything a request presents: query and form parameters, top-level JSON string members,
/// and the Authorization credentials (Basic decoded into id and secret, raw and form-decoded).
fn presented(r: &LoggedRequest) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    out.extend(
        r.query
            .iter()
            .map(|(k, v)| (format!("query `{k}`"), v.clone())),
    );
    out.extend(
        r.form
            .iter()
            .map(|(k, v)| (format!("form `{k}`"), v.clone())),
    );
    if let Ok(Value::Object(body)) = serde_json::from_str::<Value>(&r.body) {
        for (k, v) in body {
            if let Value::String(v) = v {
                out.push((format!("JSON member `{k}`"), v));
            }
        }
    }
    for (k, v) in &r.headers {
        if !k.eq_ignore_ascii_case("authorization") {
            continue;
        }
        let (scheme, credentials) = v.split_once(' ').unwrap_or((v.as_str(), ""));
        let credentials = credentials.trim();
        if !scheme.eq_ignore_ascii_case("basic") {
            out.push((format!("Authorization {scheme}"), credentials.to_owned()));
            continue;
        }
        let Some(decoded) = STANDARD
            .decode(credentials)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        else {
            continue;
        };
        let (id, secret) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
        for (part, raw) in [("client id", id), ("secret", secret)] {
            let unescaped = form_decode(raw);
            out.push((format!("Authorization Basic ({part})"), raw.to_owned()));
            if unescaped != raw {
                out.push((format!("Authorization Basic ({part})"), unescaped));
            }
        }
    }
    out
}

/// RFC 6749 §2.3.1: Basic credentials are form-encoded before base64.
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// CL-MIG-01: nothing the first AS issued is presented to the second.
const CL_MIG_01: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-MIG-01", "No credential one authorization server issued is presented to another", Should,
        &["RFC 9700 §4.4", "RFC 6749 §2.2", "SEP-2352"],
        text!(MIGRATION, ": after the PRM switches to the second AS, no request to it carries anything the first AS issued (its DCR client_id or client_secret, a refresh or access token, an authorization code) in the query, the form, a JSON body or the Authorization header (Basic decoded). A DCR client registers anew; a CIMD client's URL is its own. SHOULD under 2025-11-25, MUST from 2026-07-28 (SEP-2352).")),
    eval: cl_mig_01,
};

fn cl_mig_01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, SCENARIO);
    let at_new: Vec<&LoggedRequest> = s.log.iter().filter(|r| at_new_as(r)).collect();
    if at_new.is_empty() {
        return Evaluation::error(format!(
            "{SCENARIO}: the client made no request to the second AS after the switch, so there is nothing to judge; {}",
            s.progress()
        ))
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name);
    }
    let issued = issued_by(s, OLD);
    let mut findings = Vec::new();
    for r in &at_new {
        for (place, value) in presented(r) {
            if let Some((what, v, at)) = issued.iter().find(|(_, v, _)| *v == value) {
                findings.push(format!(
                    "{} {} (#{}) presents the first AS's {} {} (issued at #{at}) in {place}",
                    r.method,
                    r.path,
                    r.seq,
                    what.name(),
                    what.show(v)
                ));
            }
        }
    }
    let expected = "requests to the second AS carry nothing the first AS issued (the client registers anew there, or presents its own CIMD URL)";
    let kinds: BTreeSet<&str> = issued.iter().map(|(w, _, _)| w.name()).collect();
    if findings.is_empty() {
        return Evaluation::pass(
            expected,
            format!(
                "{} request(s) to the second AS judged against {} credential(s) the first AS issued ({}); none presented",
                at_new.len(),
                issued.len(),
                kinds.into_iter().collect::<Vec<_>>().join(", ")
            ),
        )
        .with_evidence(at_new.iter().take(3).map(|r| s.id(r)));
    }
    let offenders: Vec<String> = at_new
        .iter()
        .filter(|r| {
            presented(r)
                .iter()
                .any(|(_, v)| issued.iter().any(|(_, i, _)| i == v))
        })
        .map(|r| s.id(r))
        .collect();
    Evaluation::violated(
        m.level,
        expected,
        format!(
            "{} finding(s): {}",
            findings.len(),
            findings.into_iter().take(3).collect::<Vec<_>>().join("; ")
        ),
    )
    .with_evidence(offenders.into_iter().take(5))
}

/// CL-MIG-02: the client registers anew at the second AS before presenting a client_id there.
const CL_MIG_02: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-MIG-02", "The client registers anew with the new authorization server", Must,
        &["SEP-2352"],
        text!(MIGRATION, ": once the PRM lists the second AS (DCR, no CIMD), the client sends a registration request to it before any authorization or token request there, and does not stop at its metadata without registering.")),
    eval: cl_mig_02,
};

/// Whether the request's client_id (query or form) is an https URL: a CIMD client.
fn presents_cimd_url(r: &LoggedRequest) -> bool {
    r.query
        .iter()
        .chain(r.form.iter())
        .any(|(k, v)| k == "client_id" && v.starts_with("https://"))
}

fn cl_mig_02(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, SCENARIO);
    let expected =
        "a registration request to the second AS before any authorization or token request there";
    let at_new: Vec<&LoggedRequest> = s.log.iter().filter(|r| at_new_as(r)).collect();
    let Some(first) = at_new.first() else {
        return Evaluation::error(format!(
            "{SCENARIO}: the client made no request to the second AS after the switch, so it never reached the point of registering; {}",
            s.progress()
        ))
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name);
    };
    let register = at_new
        .iter()
        .find(|r| matches!(r.kind, RequestKind::Register) && r.method == "POST");
    let uses_client = at_new.iter().find(|r| {
        matches!(r.kind, RequestKind::Authorize | RequestKind::Token { .. })
            && register.is_none_or(|g| r.seq < g.seq)
    });
    // A Client ID Metadata Document URL is portable across authorization servers: nothing to re-register.
    if let Some(r) = uses_client.filter(|r| presents_cimd_url(r)) {
        return Evaluation::pass(
            expected,
            format!("the client presents its CIMD URL at the second AS (#{}), which needs no registration", r.seq),
        )
        .with_evidence([s.id(r)])
        .with_scenario(s.def.name);
    }
    match (register, uses_client) {
        (_, Some(r)) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "{} {} (#{}) at the second AS {}",
                r.method,
                r.path,
                r.seq,
                match register {
                    Some(g) => format!("came before its registration (#{})", g.seq),
                    None => "with no registration there at all".to_owned(),
                }
            ),
        )
        .with_evidence([s.id(r)]),
        (Some(g), None) => Evaluation::pass(
            expected,
            format!("registered at the second AS at #{} (status {})", g.seq, g.status),
        )
        .with_evidence([s.id(g)]),
        (None, None) if matches!(s.run.exit, crate::client::spawn::ClientExit::Exited(Some(_))) => {
            Evaluation::violated(
                m.level,
                expected,
                format!(
                    "the client reached the second AS (#{}: {} {}) and {} without registering there",
                    first.seq,
                    first.method,
                    first.path,
                    s.run.exit.describe()
                ),
            )
            .with_evidence([s.id(first)])
        }
        (None, None) => Evaluation::error(format!(
            "{SCENARIO}: the client reached the second AS (#{}) but {} before registering (no decision observed)",
            first.seq,
            s.run.exit.describe()
        ))
        .with_evidence([s.id(first)]),
    }
    .with_scenario(s.def.name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use fake_idp::client_world::{PrmLocation, Wire};
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::*;
    use crate::check::Check;
    use crate::client::scenarios;
    use crate::client::spawn::{ClientExit, ClientRun};

    const AS1: &str = "http://127.0.0.1:1001";
    const AS2: &str = "http://127.0.0.1:1002";
    const AS1_CLIENT: &str = "dcr-as1-client";
    const AS1_SECRET: &str = "as1-secret-0123456789abcdef";
    const AS1_REFRESH: &str = "as1-refresh-token-0123456789abcdef";
    const AS1_CODE: &str = "as1-code-0123456789abcdef0123456789";
    const AS1_ACCESS: &str = "as1-access-token";
    const AS2_ACCESS: &str = "as2-access-token";

    /// A synthetic log; each request is on `connection` accepted at `accepted`, its response written at
    /// `accepted + seq + 1` unless stated otherwise.
    #[derive(Default)]
    struct Log(Vec<LoggedRequest>);

    impl Log {
        fn push(
            &mut self,
            origin: Origin,
            method: &str,
            path: &str,
            kind: RequestKind,
            connection: u64,
            accepted: u64,
        ) -> &mut LoggedRequest {
            let seq = self.0.len();
            self.0.push(LoggedRequest {
                seq,
                status: 200,
                wire: Some(Wire {
                    connection,
                    accepted_at: accepted,
                    http_version: "HTTP/1.1".into(),
                    response_written_at: Some(1000 + 10 * seq as u64),
                }),
                ..LoggedRequest::new(origin, method, path, kind)
            });
            self.0.last_mut().expect("pushed")
        }

        fn mcp(
            &mut self,
            token_issuer: usize,
            valid: bool,
            connection: u64,
            accepted: u64,
        ) -> &mut LoggedRequest {
            let token = if token_issuer == OLD {
                AS1_ACCESS
            } else {
                AS2_ACCESS
            };
            let kind = RequestKind::Mcp {
                method: Some("tools/list".into()),
                token: Some(token.into()),
                token_issuer: Some(token_issuer),
                token_valid: valid,
            };
            let r = self.push(Origin::Mcp, "POST", "/mcp", kind, connection, accepted);
            r.headers
                .push(("authorization".into(), format!("Bearer {token}")));
            r.status = if valid { 200 } else { 401 };
            r
        }

        fn prm(&mut self, issuer: &str, connection: u64, accepted: u64) -> &mut LoggedRequest {
            let path = PrmLocation::PathInserted.path("/mcp");
            let r = self.push(
                Origin::Mcp,
                "GET",
                &path,
                RequestKind::Prm(PrmLocation::PathInserted),
                connection,
                accepted,
            );
            r.response_body =
                json!({"resource": "http://127.0.0.1:1000/mcp", "authorization_servers": [issuer]})
                    .to_string();
            r
        }

        fn at(
            &mut self,
            i: usize,
            method: &str,
            path: &str,
            kind: RequestKind,
            connection: u64,
            accepted: u64,
        ) -> &mut LoggedRequest {
            self.push(Origin::As(i), method, path, kind, connection, accepted)
        }

        /// A token request at the second AS (on a connection opened after the switch).
        fn token_at_new(&mut self, grant_type: &str) -> &mut LoggedRequest {
            let kind = RequestKind::Token {
                grant_type: grant_type.into(),
            };
            self.at(NEW, "POST", "/token", kind, 20, 2000)
        }

        /// AS1's part of a DCR flow with a confidential client: registration, code, tokens.
        fn as1_flow(&mut self) {
            let r = self.at(OLD, "POST", "/register", RequestKind::Register, 10, 10);
            r.status = 201;
            r.response_body =
                json!({"client_id": AS1_CLIENT, "client_secret": AS1_SECRET}).to_string();
            let r = self.at(OLD, "GET", "/authorize", RequestKind::Authorize, 10, 10);
            r.status = 302;
            r.response_headers.push((
                "location".into(),
                format!("http://127.0.0.1:5000/callback?code={AS1_CODE}&state=s"),
            ));
            let r = self.at(
                OLD,
                "POST",
                "/token",
                RequestKind::Token {
                    grant_type: "authorization_code".into(),
                },
                10,
                10,
            );
            r.response_body =
                json!({"access_token": AS1_ACCESS, "refresh_token": AS1_REFRESH}).to_string();
        }

        /// A clean re-registration and flow at AS2 on a fresh connection 20.
        fn as2_flow(&mut self, client_id: &str) {
            let r = self.at(NEW, "POST", "/register", RequestKind::Register, 20, 2000);
            r.status = 201;
            r.body = json!({"redirect_uris": ["http://127.0.0.1/callback"]}).to_string();
            r.response_body = json!({"client_id": client_id}).to_string();
            let r = self.at(NEW, "GET", "/authorize", RequestKind::Authorize, 20, 2000);
            r.status = 302;
            r.query.push(("client_id".into(), client_id.into()));
            let r = self.at(
                NEW,
                "POST",
                "/token",
                RequestKind::Token {
                    grant_type: "authorization_code".into(),
                },
                20,
                2000,
            );
            r.form.push(("client_id".into(), client_id.into()));
            r.response_body = json!({"access_token": AS2_ACCESS}).to_string();
        }

        fn observations(self) -> ClientObservations {
            let def = scenarios::all()
                .into_iter()
                .find(|d| d.name == SCENARIO)
                .expect("the migration scenario");
            let obs = ScenarioObs {
                def,
                mcp_url: "http://127.0.0.1:1000/mcp".into(),
                issuers: vec![AS1.into(), AS2.into()],
                log: self.0,
                run: ClientRun {
                    exit: ClientExit::Exited(Some(0)),
                    duration: Duration::ZERO,
                    output_tail: String::new(),
                    output_truncated: false,
                },
                documents: Vec::new(),
            };
            ClientObservations {
                scenarios: BTreeMap::from([(SCENARIO, Ok(obs))]),
                selected_all: true,
                out_of_scope: Default::default(),
            }
        }
    }

    fn judge(id: &str, log: Log) -> Evaluation {
        let o = log.observations();
        match id {
            "CL-TOK-03" => CL_TOK_03.evaluate(&o),
            "CL-PRM-06" => CL_PRM_06.evaluate(&o),
            "CL-MIG-01" => CL_MIG_01.evaluate(&o),
            "CL-MIG-02" => CL_MIG_02.evaluate(&o),
            other => panic!("no check {other} here"),
        }
    }

    /// AS1 flow, two served requests on connection 1, the 401 and the PRM listing AS2 on connection 1.
    fn migrated() -> Log {
        let mut log = Log::default();
        log.prm(AS1, 1, 1);
        log.as1_flow();
        log.mcp(OLD, true, 1, 1);
        log.mcp(OLD, true, 1, 1);
        log.mcp(OLD, false, 1, 1);
        log.prm(AS2, 1, 1);
        log
    }

    fn announcement(log: &Log) -> usize {
        log.0
            .iter()
            .rev()
            .find(|r| lists_issuer(r, AS2))
            .expect("announced")
            .seq
    }

    #[rstest::rstest]
    #[case::cl_tok_03(&CL_TOK_03, "none with the first AS's token")]
    #[case::cl_prm_06(&CL_PRM_06, "authorized at AS2 (#")]
    #[case::cl_mig_01(&CL_MIG_01, "4 request(s) to the second AS judged")]
    fn passes_on_the_compliant_record(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] actual: &str,
    ) {
        let e = check.evaluate(&crate::client::obs::testing::compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    // ----- CL-TOK-03 --------------------------------------------------------------------------------

    #[test]
    fn an_old_token_on_an_older_connection_logged_after_the_announcement_is_not_counted() {
        let mut log = migrated();
        // Connection 2 was accepted at tick 2, long before the PRM response was written.
        log.mcp(OLD, false, 2, 2).method = "GET".into();
        log.as2_flow("dcr-as2-client");
        log.mcp(NEW, true, 1, 1);
        let e = judge("CL-TOK-03", log);
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
        assert!(e.actual.contains("not counted: #"), "{}", e.actual);
    }

    #[test]
    fn an_old_token_after_the_announcement_on_its_connection_fails() {
        let mut log = migrated();
        log.mcp(OLD, false, 1, 1);
        let e = judge("CL-TOK-03", log);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains("on the same connection"), "{}", e.actual);
    }

    #[test]
    fn an_old_token_on_a_connection_opened_after_the_announcement_was_answered_fails() {
        let mut log = migrated();
        let written = log.0[announcement(&log)]
            .wire
            .as_ref()
            .and_then(|w| w.response_written_at)
            .expect("written");
        log.mcp(OLD, false, 3, written + 1);
        let e = judge("CL-TOK-03", log);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains("opened after"), "{}", e.actual);
    }

    #[test]
    fn an_old_token_after_a_new_token_on_the_same_old_connection_fails() {
        let mut log = migrated();
        log.as2_flow("dcr-as2-client");
        log.mcp(NEW, true, 2, 2);
        log.mcp(OLD, false, 2, 2);
        let e = judge("CL-TOK-03", log);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
    }

    #[test]
    fn without_the_prm_listing_the_second_as_tok03_is_error() {
        let mut log = Log::default();
        log.prm(AS1, 1, 1);
        log.as1_flow();
        log.mcp(OLD, true, 1, 1);
        assert_eq!(judge("CL-TOK-03", log).verdict, Verdict::Error);
    }

    // ----- CL-PRM-06 --------------------------------------------------------------------------------

    #[test]
    fn re_authorizing_at_the_second_as_and_being_served_passes_prm06() {
        let mut log = migrated();
        log.as2_flow("dcr-as2-client");
        log.mcp(NEW, true, 1, 1);
        assert_eq!(judge("CL-PRM-06", log).verdict, Verdict::Pass);
    }

    #[test]
    fn prm06_is_error_when_the_client_was_never_served_with_the_first_as_token() {
        let mut log = Log::default();
        log.prm(AS1, 1, 1);
        log.as1_flow();
        log.mcp(OLD, false, 1, 1);
        let e = judge("CL-PRM-06", log);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message
                .contains("never served with a token from the first AS"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_refused_authorization_at_the_second_as_warns_prm06() {
        let mut log = migrated();
        let r = log.at(NEW, "GET", "/authorize", RequestKind::Authorize, 20, 2000);
        r.status = 400;
        let e = judge("CL-PRM-06", log);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(e.actual.contains("answered 400"), "{}", e.actual);
    }

    // ----- CL-MIG-01 --------------------------------------------------------------------------------

    #[test]
    fn a_clean_re_registration_at_the_second_as_passes() {
        let mut log = migrated();
        log.as2_flow("dcr-as2-client");
        let e = judge("CL-MIG-01", log);
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
        assert!(
            e.actual.contains("3 request(s) to the second AS"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn a_cimd_url_presented_to_both_ases_passes() {
        let url = "https://client.conformance.test/mcp-client/metadata.json";
        let mut log = migrated();
        let r = log.at(NEW, "GET", "/authorize", RequestKind::Authorize, 20, 2000);
        r.query.push(("client_id".into(), url.into()));
        assert_eq!(judge("CL-MIG-01", log).verdict, Verdict::Pass);
    }

    #[test]
    fn the_first_as_client_id_at_the_second_as_warns() {
        let mut log = migrated();
        let r = log.at(NEW, "GET", "/authorize", RequestKind::Authorize, 20, 2000);
        r.status = 400;
        r.query.push(("client_id".into(), AS1_CLIENT.into()));
        let offender = format!("#{}", r.seq);
        let e = judge("CL-MIG-01", log);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(
            e.actual.contains(&format!("DCR client_id `{AS1_CLIENT}`")),
            "{}",
            e.actual
        );
        assert!(e.actual.contains("query `client_id`"), "{}", e.actual);
        assert!(
            e.evidence.iter().any(|id| id.ends_with(&offender)),
            "{:?}",
            e.evidence
        );
    }

    #[test]
    fn the_first_as_refresh_token_at_the_second_as_warns_without_showing_it() {
        let mut log = migrated();
        let r = log.token_at_new("refresh_token");
        r.status = 400;
        r.form.push(("refresh_token".into(), AS1_REFRESH.into()));
        let e = judge("CL-MIG-01", log);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(e.actual.contains("refresh token"), "{}", e.actual);
        assert!(
            !e.actual.contains(AS1_REFRESH),
            "the whole refresh token is in the message"
        );
    }

    #[test]
    fn the_first_as_secret_in_a_basic_header_at_the_second_as_warns() {
        let mut log = migrated();
        let r = log.token_at_new("authorization_code");
        let basic = STANDARD.encode(format!("{AS1_CLIENT}:{AS1_SECRET}"));
        r.headers
            .push(("authorization".into(), format!("Basic {basic}")));
        r.status = 401;
        let e = judge("CL-MIG-01", log);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(e.actual.contains("client_secret"), "{}", e.actual);
        assert!(
            e.actual.contains("Authorization Basic (secret)"),
            "{}",
            e.actual
        );
        assert!(
            !e.actual.contains(AS1_SECRET),
            "the whole secret is in the message"
        );
    }

    #[test]
    fn the_first_as_code_at_the_second_as_warns() {
        let mut log = migrated();
        let r = log.token_at_new("authorization_code");
        r.form.push(("code".into(), AS1_CODE.into()));
        r.status = 400;
        let e = judge("CL-MIG-01", log);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert!(e.actual.contains("authorization code"), "{}", e.actual);
        assert!(!e.actual.contains(AS1_CODE));
    }

    #[test]
    fn no_request_to_the_second_as_is_error() {
        let e = judge("CL-MIG-01", migrated());
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
    }

    #[test]
    fn the_worlds_own_cimd_fetch_at_the_second_as_is_no_request_of_the_client() {
        let mut log = migrated();
        let r = log.at(
            NEW,
            "GET",
            "https://client.conformance.test/mcp-client/metadata.json",
            RequestKind::CimdFetch,
            0,
            0,
        );
        r.wire = None;
        assert_eq!(judge("CL-MIG-01", log).verdict, Verdict::Error);
    }

    // ----- CL-MIG-02 --------------------------------------------------------------------------------

    #[test]
    fn registering_at_the_second_as_before_authorizing_there_passes() {
        let mut log = migrated();
        log.as2_flow("dcr-as2-client");
        let e = judge("CL-MIG-02", log);
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
        assert!(
            e.actual.contains("registered at the second AS"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn authorizing_at_the_second_as_without_registering_there_fails() {
        let mut log = migrated();
        let r = log.at(NEW, "GET", "/authorize", RequestKind::Authorize, 20, 2000);
        r.status = 400;
        r.query.push(("client_id".into(), AS1_CLIENT.into()));
        let e = judge("CL-MIG-02", log);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("no registration there at all"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn stopping_at_the_second_as_metadata_without_registering_fails() {
        let mut log = migrated();
        log.at(
            NEW,
            "GET",
            "/.well-known/oauth-authorization-server",
            RequestKind::AsMetadata(fake_idp::client_world::MetadataLocation::Rfc8414Root),
            20,
            2000,
        );
        let e = judge("CL-MIG-02", log);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("without registering there"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn a_cimd_url_at_the_second_as_needs_no_registration() {
        let mut log = migrated();
        let r = log.at(NEW, "GET", "/authorize", RequestKind::Authorize, 20, 2000);
        r.query.push((
            "client_id".into(),
            "https://client.conformance.test/mcp-client/metadata.json".into(),
        ));
        assert_eq!(judge("CL-MIG-02", log).verdict, Verdict::Pass);
    }

    #[test]
    fn no_request_to_the_second_as_leaves_re_registration_undecided() {
        let e = judge("CL-MIG-02", migrated());
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
    }

    #[test]
    fn a_prm_whose_issuer_merely_starts_with_the_second_as_does_not_announce_it() {
        let mut r = Log::default();
        r.prm(&format!("{AS2}0"), 1, 1);
        assert!(!lists_issuer(&r.0[0], AS2));
        let mut r = Log::default();
        r.prm(AS2, 1, 1);
        assert!(lists_issuer(&r.0[0], AS2));
    }
}
