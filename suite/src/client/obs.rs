//! What the client-role scenarios observed: per scenario, every request the client made to the world, and how
//! the client process ended. Checks judge only this record.

use std::collections::{BTreeMap, BTreeSet};

use fake_idp::client_world::{LoggedRequest, RequestKind};
use mcp_auth_reports::TargetRun;
use serde_json::Value;

use crate::check::{Evaluation, ObsError};
use crate::client::scenarios::{Registration, ScenarioDef, PRE_CLIENT_SECRET};
use crate::client::spawn::{ClientExit, ClientRun};
use crate::output;

/// Where the client's CIMD document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentSource {
    /// The client's own document (the bundled reference's, or `--client-metadata FILE`).
    Client,
    /// A stand-in the suite wrote because the client supplied none: its content proves nothing about the client.
    SuiteDefault,
}

/// A CIMD document the world hosted for the client.
#[derive(Debug, Clone)]
pub struct HostedDocument {
    /// The `client_id` URL it is served at.
    pub url: String,
    /// The document (a JSON string when the client's text is not JSON).
    pub document: Value,
    pub source: DocumentSource,
}

/// One scenario's record.
#[derive(Debug, Clone)]
pub struct ScenarioObs {
    pub def: ScenarioDef,
    pub mcp_url: String,
    pub issuers: Vec<String>,
    pub log: Vec<LoggedRequest>,
    pub run: ClientRun,
    /// The CIMD documents hosted (CIMD scenarios): at the URL the context names and at the official one.
    pub documents: Vec<HostedDocument>,
}

/// Everything the client role observed, by scenario name.
#[derive(Debug)]
pub struct ClientObservations {
    pub scenarios: BTreeMap<&'static str, Result<ScenarioObs, ObsError>>,
    /// Every world ran (no `--scenario` narrowed the run): a check that found nothing to judge is then an
    /// ERROR, not a SKIP.
    pub selected_all: bool,
    /// The worlds the run's revision or extensions leave out, each with why (for a check that needs one: SKIP).
    pub out_of_scope: BTreeMap<&'static str, String>,
}

impl ClientObservations {
    /// A scenario's record; SKIP when the scenario was not selected.
    pub fn scenario(&self, name: &str) -> Result<&ScenarioObs, ObsError> {
        match self.scenarios.get(name) {
            Some(Ok(s)) => Ok(s),
            Some(Err(e)) => Err(e.clone()),
            None => Err(ObsError::NotApplicable(match self.out_of_scope.get(name) {
                Some(why) => format!("scenario {name} is not part of this run: {why}"),
                None => format!("scenario {name} was not run (see --scenario)"),
            })),
        }
    }

    /// Whether a selected scenario had not finished when the run was interrupted: a check that must hold in
    /// every scenario cannot pass then.
    pub fn unfinished(&self) -> bool {
        self.scenarios
            .values()
            .any(|r| r.as_ref().is_err_and(ObsError::is_interrupted))
    }

    /// Every scenario that ran.
    pub fn runs(&self) -> impl Iterator<Item = &ScenarioObs> {
        self.scenarios.values().filter_map(|r| r.as_ref().ok())
    }
}

impl crate::runner::Cascades for ClientObservations {
    /// The refused request each scenario the evaluation depends on stopped at.
    fn stopped_at(&self, e: &Evaluation) -> Vec<String> {
        e.scenarios()
            .iter()
            .filter_map(|name| self.scenarios.get(name.as_str())?.as_ref().ok())
            .filter_map(ScenarioObs::refused_stop)
            .collect()
    }
}

/// Whether the world refused a request: an HTTP error status, or an authorization redirect carrying `error`.
pub fn is_refused(r: &LoggedRequest) -> bool {
    r.status >= 400 || location_param(r, "error").is_some()
}

/// A successful fetch of AS metadata (RFC 8414 or OpenID).
pub fn is_metadata_fetch(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::AsMetadata(_)) && r.status == 200
}

impl ScenarioObs {
    /// ERROR when the client never fetched the AS metadata: the precondition of judging what came after.
    pub fn need_metadata(&self) -> Option<Evaluation> {
        (!self.log.iter().any(is_metadata_fetch)).then(|| {
            Evaluation::error(format!(
                "the client never fetched the AS metadata; {}",
                self.progress()
            ))
            .with_scenario(self.def.name)
        })
    }

    /// The hosted document at the `client_id` URL the client's first authorization request used, if it used one
    /// of the hosted URLs.
    pub fn document_used(&self) -> Option<&HostedDocument> {
        let first = self
            .log
            .iter()
            .find(|r| matches!(r.kind, RequestKind::Authorize))?;
        let client_id = param(first, "client_id")?;
        self.documents.iter().find(|d| d.url == client_id)
    }

    /// What the client printed, as the report stores it: redacted (every secret of the log, and the
    /// pre-registered secret handed to it) and cut to [`TargetRun::OUTPUT_CAP`]; with whether earlier output
    /// is missing.
    pub fn output(&self) -> (String, bool) {
        output::for_report(
            &self.run.output_tail,
            self.run.output_truncated,
            &self.secrets(),
        )
    }

    /// The secrets of this scenario: every secret of its log, and the pre-registered secret handed to the
    /// client.
    pub fn secrets(&self) -> BTreeSet<String> {
        let mut secrets: BTreeSet<String> = super::secrets_of(&self.log);
        if matches!(self.def.registration, Registration::Pre(_)) {
            secrets.insert(PRE_CLIENT_SECRET.to_owned());
        }
        secrets
    }

    /// This scenario's client run, for the report.
    pub fn target_run(&self) -> TargetRun {
        let mut r = TargetRun::new(self.def.name, self.run.exit.describe());
        r.exit_code = match self.run.exit {
            ClientExit::Exited(code) => code,
            ClientExit::TimedOut(_) | ClientExit::SpawnFailed(_) => None,
        };
        r.duration_ms = self.run.duration.as_millis() as u64;
        (r.output, r.output_truncated) = self.output();
        r
    }

    /// Evidence id of a logged request.
    pub fn id(&self, r: &LoggedRequest) -> String {
        format!("{}#{}", self.def.name, r.seq)
    }

    pub fn requests<'a>(
        &'a self,
        pred: impl Fn(&LoggedRequest) -> bool + 'a,
    ) -> impl Iterator<Item = &'a LoggedRequest> + 'a {
        self.log.iter().filter(move |r| pred(r))
    }

    pub fn authorizes(&self) -> Vec<&LoggedRequest> {
        self.requests(|r| matches!(r.kind, RequestKind::Authorize))
            .collect()
    }

    pub fn token_requests(&self, grant: &str) -> Vec<&LoggedRequest> {
        self.log
            .iter()
            .filter(|r| matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == grant))
            .collect()
    }

    /// Whether a tools/call was served with a valid token: the client completed its task.
    pub fn completed(&self) -> bool {
        self.log.iter().any(|r| {
            matches!(&r.kind, RequestKind::Mcp { method: Some(m), token_valid: true, .. } if m == "tools/call")
                && r.status == 200
        })
    }

    /// Whether the client got through a whole authorization here: an authorization request, a token request
    /// answered 200, and an MCP request (any operation) served 200 with a valid token.
    pub fn completed_baseline(&self) -> bool {
        self.log
            .iter()
            .any(|r| matches!(r.kind, RequestKind::Authorize))
            && self
                .log
                .iter()
                .any(|r| matches!(r.kind, RequestKind::Token { .. }) && r.status == 200)
            && self.log.iter().any(|r| {
                matches!(
                    r.kind,
                    RequestKind::Mcp {
                        token_valid: true,
                        ..
                    }
                ) && r.status == 200
            })
    }

    /// The evidence id of the request at which the client stopped after the world refused it: the last refused
    /// request ([`is_refused`]), when the client did not complete its task and obtained no token after it.
    pub fn refused_stop(&self) -> Option<String> {
        if self.completed() {
            return None;
        }
        let r = self.log.iter().rev().find(|r| is_refused(r))?;
        let token_after = self.log.iter().any(|t| {
            t.seq > r.seq && matches!(t.kind, RequestKind::Token { .. }) && t.status == 200
        });
        (!token_after).then(|| self.id(r))
    }

    /// One line on how far the client got, for ERROR messages: how it ended, its last requests, and the last
    /// line it printed (redacted, control characters escaped, at most 200 characters).
    pub fn progress(&self) -> String {
        let last: Vec<String> = self
            .log
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(|r| format!("{} {} → {}", r.method, r.path, r.status))
            .collect();
        let said = match output::last_line(&self.output().0, 200) {
            Some(line) => format!("; its last output line: \"{line}\""),
            None => "; it printed nothing".to_owned(),
        };
        format!(
            "the client {} after {} request(s){}{said}",
            self.run.exit.describe(),
            self.log.len(),
            if last.is_empty() {
                String::new()
            } else {
                format!(" (last: {})", last.join("; "))
            }
        )
    }
}

/// A parameter from the query or the form body.
pub fn param<'a>(r: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    r.query
        .iter()
        .chain(r.form.iter())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A parameter of the `Location` of a response (the authorization response).
pub fn location_param(r: &LoggedRequest, name: &str) -> Option<String> {
    let loc = r
        .response_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.clone())?;
    let url = url::Url::parse(&loc).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A member of the JSON response body.
pub fn response_member(r: &LoggedRequest, name: &str) -> Option<Value> {
    serde_json::from_str::<Value>(&r.response_body)
        .ok()?
        .get(name)
        .cloned()
}

/// The space-separated scope parameter as a set.
pub fn scope_set(v: Option<&str>) -> std::collections::BTreeSet<String> {
    v.map(|s| {
        s.split(' ')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// The strings of a JSON array member (`redirect_uris`), empty when absent or not an array.
pub fn string_array(v: &Value, name: &str) -> Vec<String> {
    v.get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
pub mod testing;
