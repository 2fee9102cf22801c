//! The client role's evidence: each scenario's request log (kept by its fake world) becomes report exchanges,
//! and the secrets in it are registered for redaction before the report is sealed.

use std::collections::BTreeSet;

use fake_idp::client_world::{LoggedRequest, Origin};
use mcp_auth_reports::{Exchange, HttpRequest, HttpResponse};
use serde_json::Value;

use super::obs::{self, ScenarioObs};
use crate::redact;

/// Secrets a client-role log carries: codes, verifiers, tokens, client secrets, Authorization credentials.
pub(crate) fn secrets_of(log: &[LoggedRequest]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in log {
        for (k, v) in r.query.iter().chain(r.form.iter()) {
            if redact::is_secret_name(k) && v.len() >= 4 {
                out.insert(v.clone());
            }
        }
        for (k, v) in &r.headers {
            if redact::CREDENTIAL_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                if let Some((_, cred)) = v.split_once(' ') {
                    out.insert(cred.trim().to_owned());
                }
            }
        }
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&r.response_body) {
            for n in redact::SECRET_NAMES {
                if let Some(Value::String(s)) = m.get(*n) {
                    out.insert(s.clone());
                }
            }
        }
        if let Some(code) = obs::location_param(r, "code") {
            out.insert(code);
        }
    }
    out
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// How many of a scenario's requests become report exchanges: the first ones and the last ones (a flooding client
/// must not decide the report's size or the suite's memory).
const EXCHANGES_HEAD: usize = 300;
const EXCHANGES_TAIL: usize = 100;

/// The log as exchanges (`<scenario>#<seq>`), raw: [`crate::runner::conclude`] seals them for the report.
pub(crate) fn to_exchanges(s: &ScenarioObs) -> Vec<Exchange> {
    let tail_from = s
        .log
        .len()
        .saturating_sub(EXCHANGES_TAIL)
        .max(EXCHANGES_HEAD);
    s.log
        .iter()
        .filter(|r| r.seq < EXCHANGES_HEAD || r.seq >= tail_from)
        .map(|r| {
            let query = if r.query.is_empty() {
                String::new()
            } else {
                let q: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("?{}", q.join("&"))
            };
            let base = match r.origin {
                Origin::Mcp => origin_of(&s.mcp_url),
                Origin::As(i) => s.issuers.get(i).map(|u| origin_of(u)).unwrap_or_default(),
            };
            let url = format!("{base}{}{query}", r.path);
            let mut req = HttpRequest::new(r.method.clone(), url);
            req.headers = r.headers.clone();
            req.body = (!r.body.is_empty()).then(|| r.body.clone());
            let mut ex = Exchange::new(s.id(r), format!("{:?}", r.kind), req);
            let mut resp = HttpResponse::new(r.status);
            resp.headers = r.response_headers.clone();
            resp.body = (!r.response_body.is_empty()).then(|| r.response_body.clone());
            ex.response = Some(resp);
            ex
        })
        .collect()
}
