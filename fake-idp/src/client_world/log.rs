//! The request log: every request to any listener, in one global order, recorded before it is
//! answered. Waiters are woken by a watch channel, never by a timer.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::config::{MetadataLocation, PrmLocation};
use crate::events::wait_for_change;

/// Which listener a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The MCP origin (MCP endpoint, PRM, decoy).
    Mcp,
    /// Authorization server `i` (index into `WorldConfig::auth_servers`).
    As(usize),
}

/// What the world made of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// A request to the MCP endpoint.
    Mcp {
        /// The JSON-RPC method (None: not a parseable JSON-RPC object, or not a POST).
        method: Option<String>,
        /// The bearer token presented (Authorization header, else `access_token` query parameter).
        token: Option<String>,
        /// Which AS minted it (None: unknown token or none presented).
        token_issuer: Option<usize>,
        /// Whether the token was accepted.
        token_valid: bool,
    },
    /// A PRM document served at this location.
    Prm(PrmLocation),
    /// A PRM well-known probe that is not served (404).
    PrmTrap,
    /// An AS metadata document served at this location.
    AsMetadata(MetadataLocation),
    /// An AS metadata probe that is not served (404), e.g. the root for a path issuer, or any
    /// AS metadata probe on the MCP origin without the decoy.
    AsMetadataTrap,
    /// The decoy AS metadata on the MCP origin.
    DecoyAsMetadata,
    /// The decoy `/authorize` on the MCP origin.
    DecoyAuthorize,
    /// `/authorize` of an AS.
    Authorize,
    /// `/token` of an AS.
    Token {
        /// The form's `grant_type` (empty when absent).
        grant_type: String,
    },
    /// `/register` of an AS (also logged when registration is off: 404).
    Register,
    /// The AS resolved a CIMD `client_id` (an in-memory fetch, logged as its own entry:
    /// `method` GET, `path` the document URL, `status` 200 or 404, `response_body` the document).
    CimdFetch,
    /// Anything else.
    Other,
}

/// One request and the answer it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    /// Position in the log (0-based, global over all listeners).
    pub seq: usize,
    /// Which listener.
    pub origin: Origin,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request path (for `CimdFetch`: the document URL).
    pub path: String,
    /// Decoded query parameters, in order (duplicates kept).
    pub query: Vec<(String, String)>,
    /// Request headers, lowercase names, in order.
    pub headers: Vec<(String, String)>,
    /// The request body (lossy UTF-8; capped at 1 MiB, larger bodies are refused with 413).
    pub body: String,
    /// Decoded form parameters when the body is `application/x-www-form-urlencoded`.
    pub form: Vec<(String, String)>,
    /// The response status (0 while the answer is being computed).
    pub status: u16,
    /// Response headers, lowercase names.
    pub response_headers: Vec<(String, String)>,
    /// The response body.
    pub response_body: String,
    /// What the world made of the request (a metadata or PRM location fetched with another
    /// method than GET keeps its location kind and gets 405).
    pub kind: RequestKind,
}

impl LoggedRequest {
    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        first(&self.query, name)
    }

    /// The first value of a form parameter.
    pub fn form_param(&self, name: &str) -> Option<&str> {
        first(&self.form, name)
    }

    /// The first value of a request header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        first(&self.headers, &name)
    }

    /// The first value of a response header (name case-insensitive).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        first(&self.response_headers, &name)
    }
}

fn first<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The answer half of an entry.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    pub(crate) kind: RequestKind,
}

/// The shared log (one per world).
#[derive(Debug)]
pub(crate) struct Log {
    entries: Mutex<Vec<LoggedRequest>>,
    changed: watch::Sender<u64>,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            entries: Mutex::new(Vec::new()),
            changed: watch::Sender::new(0),
        }
    }
}

impl Log {
    fn entries(&self) -> MutexGuard<'_, Vec<LoggedRequest>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Appends a request (its `seq` is assigned here) and returns its seq.
    pub(crate) fn begin(&self, mut entry: LoggedRequest) -> usize {
        let seq = {
            let mut entries = self.entries();
            entry.seq = entries.len();
            entries.push(entry);
            entries.len() - 1
        };
        self.bump();
        seq
    }

    /// Records the answer of entry `seq`.
    pub(crate) fn finish(&self, seq: usize, answer: Answer) {
        {
            let mut entries = self.entries();
            if let Some(entry) = entries.get_mut(seq) {
                entry.status = answer.status;
                entry.response_headers = answer.headers;
                entry.response_body = answer.body;
                entry.kind = answer.kind;
            }
        }
        self.bump();
    }

    /// A copy of every entry, in arrival order.
    pub(crate) fn snapshot(&self) -> Vec<LoggedRequest> {
        self.entries().clone()
    }

    /// Waits (event-driven) until `pred` holds over the log, at most `timeout`.
    pub(crate) async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&[LoggedRequest]) -> bool,
    ) -> bool {
        // The predicate sees a snapshot, so it may itself look at the world without deadlocking.
        wait_for_change(&self.changed, timeout, || pred(&self.snapshot())).await
    }
}
