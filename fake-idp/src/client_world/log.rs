//! The request log: every request to any listener, in one global order, recorded before it is
//! answered. Waiters are woken by a watch channel, never by a timer.
//!
//! Log order is the order handlers started, not the order the client sent requests in: two
//! requests in flight at once may be logged either way round. What the client provably did
//! *after* reading a response is decided from the wire facts each entry carries ([`Wire`]) by
//! [`sent_after_reading`].

use std::collections::BTreeSet;
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
    /// Where and when on the wire (None for entries the world made itself: `CimdFetch`).
    pub wire: Option<Wire>,
}

/// The wire facts of one request: its connection, and when its response was completely written,
/// on one logical clock shared by every listener of the world (ticks are comparable across
/// origins; their values mean nothing else).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wire {
    /// The TCP connection (world-wide id, in accept order).
    pub connection: u64,
    /// The clock when the world accepted that connection.
    pub accepted_at: u64,
    /// The request's HTTP version: `HTTP/1.1`, `HTTP/1.0`, `HTTP/2.0`.
    pub http_version: String,
    /// The clock right after the last byte of the response went to the kernel (None: not
    /// written, the connection broke, or HTTP/2, where responses are not stamped).
    pub response_written_at: Option<u64>,
}

impl Wire {
    /// HTTP/1.x: one request at a time on the connection, so a later request on it was sent
    /// after this one's response had been read (clients do not pipeline).
    pub fn is_sequential(&self) -> bool {
        self.http_version.starts_with("HTTP/1.")
    }
}

/// The seqs of the requests the client provably sent after it had completely read the response
/// to at least one of the `read` requests, as far as the wire shows (a fixpoint over two rules):
///
/// - **same connection**: an HTTP/1.x request on the connection of a known request, logged after
///   it (no pipelining: the client read that response before it could reuse the connection);
/// - **newer connection**: a request on a connection the world accepted after the response to a
///   known request was completely written.
///
/// Every request found is known in turn (what was sent after reading something sent after
/// reading X was sent after reading X). A request on a connection that was already open, logged
/// later but with nothing tying it to a known request, is *not* in the set: the client may have
/// sent it before it read anything. The `read` requests themselves are not in the set unless a
/// rule puts them there.
///
/// The world stamps accepts and writes inside one critical section with the system call, so tick
/// order is call order. The newer-connection rule still has a residual window the wire cannot
/// close: a connection the client started before it read the response but the world accepted
/// only after writing it (the accept task starved for the whole exchange), or started in the
/// instant between the world's write and the client's read, is counted as newer. Both need the
/// client to race a new connection against an unread response; the same-connection rule has no
/// such window.
pub fn sent_after_reading(
    log: &[LoggedRequest],
    read: impl IntoIterator<Item = usize>,
) -> BTreeSet<usize> {
    let by_seq: std::collections::BTreeMap<usize, &LoggedRequest> =
        log.iter().map(|r| (r.seq, r)).collect();
    let mut known: BTreeSet<usize> = read.into_iter().collect();
    let mut after = BTreeSet::new();
    loop {
        let mut grew = false;
        for r in log {
            let Some(wire) = &r.wire else { continue };
            if after.contains(&r.seq) {
                continue;
            }
            let provable = known.iter().filter_map(|k| by_seq.get(k)).any(|k| {
                let Some(kw) = &k.wire else { return false };
                let same_connection = kw.connection == wire.connection
                    && k.seq < r.seq
                    && kw.is_sequential()
                    && wire.is_sequential();
                let newer_connection = kw
                    .response_written_at
                    .is_some_and(|written| wire.accepted_at > written);
                same_connection || newer_connection
            });
            if provable {
                after.insert(r.seq);
                known.insert(r.seq);
                grew = true;
            }
        }
        if !grew {
            return after;
        }
    }
}

impl LoggedRequest {
    /// An entry with nothing but its origin, request line and kind: no parameters, headers or
    /// body, status 0 (not answered yet), no wire facts. The world fills in the rest; tests build
    /// synthetic logs from it.
    pub fn new(origin: Origin, method: &str, path: &str, kind: RequestKind) -> Self {
        LoggedRequest {
            seq: 0,
            origin,
            method: method.to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: String::new(),
            form: Vec::new(),
            status: 0,
            response_headers: Vec::new(),
            response_body: String::new(),
            kind,
            wire: None,
        }
    }

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

/// How many requests one world records, and how many bytes of them. A client that makes more is flooding the
/// world: the world answers 503 without recording, and the run of that scenario is an ERROR (nothing after the
/// limit could be judged). Bodies and header values are cut to [`ENTRY_TEXT_CAP`] each as they are recorded.
pub const LOG_LIMIT: usize = 5_000;
pub const LOG_BYTES_LIMIT: usize = 8 * 1024 * 1024;
pub const ENTRY_TEXT_CAP: usize = 16 * 1024;

/// A TLS handshake a listener saw fail: the client refused the certificate (its alert), closed the
/// connection mid-handshake, or stalled. Nothing past the handshake reached the world on that connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsRefusal {
    /// Which listener.
    pub origin: Origin,
    /// Why the handshake ended, as the TLS library put it (cut to 256 bytes).
    pub reason: String,
}

/// At most this many refusals are kept (a client retrying forever is not remembered forever).
pub const REFUSAL_LIMIT: usize = 64;

/// The shared log (one per world).
#[derive(Debug)]
pub(crate) struct Log {
    entries: Mutex<Vec<LoggedRequest>>,
    refusals: Mutex<Vec<TlsRefusal>>,
    changed: watch::Sender<u64>,
    overflowed: std::sync::atomic::AtomicBool,
    /// Bytes of request text recorded so far (bodies, header values, paths, queries).
    bytes: std::sync::atomic::AtomicUsize,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            entries: Mutex::new(Vec::new()),
            refusals: Mutex::new(Vec::new()),
            changed: watch::Sender::new(0),
            overflowed: std::sync::atomic::AtomicBool::new(false),
            bytes: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

/// The bytes of request text an entry holds.
fn entry_bytes(e: &LoggedRequest) -> usize {
    let pairs = |v: &[(String, String)]| v.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    e.path.len() + e.body.len() + pairs(&e.headers) + pairs(&e.query) + pairs(&e.form)
}

impl Log {
    fn entries(&self) -> MutexGuard<'_, Vec<LoggedRequest>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Appends a request (its `seq` is assigned here, its body, path, header, query and form values are
    /// cut to [`ENTRY_TEXT_CAP`]) and returns its seq; None once [`LOG_LIMIT`] requests or
    /// [`LOG_BYTES_LIMIT`] bytes are recorded.
    pub(crate) fn begin(&self, mut entry: LoggedRequest) -> Option<usize> {
        let seq = {
            let mut entries = self.entries();
            let cut = |s: &mut String| {
                if s.len() > ENTRY_TEXT_CAP {
                    *s = crate::cut_text(s, ENTRY_TEXT_CAP);
                }
            };
            cut(&mut entry.body);
            cut(&mut entry.path);
            for (_, value) in entry
                .headers
                .iter_mut()
                .chain(entry.query.iter_mut())
                .chain(entry.form.iter_mut())
            {
                cut(value);
            }
            let size = entry_bytes(&entry);
            let total = self.bytes.load(std::sync::atomic::Ordering::SeqCst);
            if entries.len() >= LOG_LIMIT || total + size > LOG_BYTES_LIMIT {
                self.overflowed
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                return None;
            }
            self.bytes
                .fetch_add(size, std::sync::atomic::Ordering::SeqCst);
            entry.seq = entries.len();
            entries.push(entry);
            entries.len() - 1
        };
        self.bump();
        Some(seq)
    }

    /// Whether a request arrived after [`LOG_LIMIT`] and went unrecorded.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Records when the response to entry `seq` was completely written (wire clock).
    pub(crate) fn written(&self, seq: usize, at: u64) {
        {
            let mut entries = self.entries();
            if let Some(wire) = entries.get_mut(seq).and_then(|e| e.wire.as_mut()) {
                wire.response_written_at = Some(at);
            }
        }
        self.bump();
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

    /// Records a failed TLS handshake on `origin`.
    pub(crate) fn refused(&self, origin: Origin, reason: &str) {
        {
            let mut refusals = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
            if refusals.len() < REFUSAL_LIMIT {
                refusals.push(TlsRefusal {
                    origin,
                    reason: crate::cut_text(reason, 256),
                });
            }
        }
        self.bump();
    }

    /// Every failed TLS handshake so far, in order.
    pub(crate) fn refusals(&self) -> Vec<TlsRefusal> {
        self.refusals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Waits (event-driven) until a handshake on `origin` has failed, at most `timeout`.
    pub(crate) async fn wait_for_refusal(&self, origin: Origin, timeout: Duration) -> bool {
        wait_for_change(&self.changed, timeout, || {
            self.refusals().iter().any(|r| r.origin == origin)
        })
        .await
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with_body(body: String) -> LoggedRequest {
        LoggedRequest {
            body,
            ..LoggedRequest::new(Origin::Mcp, "POST", "/mcp", RequestKind::Other)
        }
    }

    #[test]
    fn a_recorded_body_is_cut_to_the_entry_cap() {
        let log = Log::default();
        let seq = log
            .begin(request_with_body("x".repeat(1024 * 1024)))
            .unwrap();
        let body = &log.snapshot()[seq].body;
        assert!(body.len() < ENTRY_TEXT_CAP + 32, "{}", body.len());
        assert!(body.ends_with("bytes cut]"));
    }

    #[test]
    fn the_log_stops_recording_at_its_entry_limit_and_says_so() {
        let log = Log::default();
        for _ in 0..LOG_LIMIT {
            assert!(log.begin(request_with_body(String::new())).is_some());
        }
        assert!(!log.overflowed());
        assert!(log.begin(request_with_body(String::new())).is_none());
        assert!(log.overflowed());
        assert_eq!(log.snapshot().len(), LOG_LIMIT);
    }

    #[test]
    fn the_log_stops_recording_at_its_byte_limit() {
        let log = Log::default();
        let big = "x".repeat(ENTRY_TEXT_CAP);
        let fit = LOG_BYTES_LIMIT / (ENTRY_TEXT_CAP + 4);
        for _ in 0..fit {
            assert!(log.begin(request_with_body(big.clone())).is_some());
        }
        let more = (0..1_000).all(|_| log.begin(request_with_body(big.clone())).is_some());
        assert!(!more);
        assert!(log.overflowed());
    }

    /// A logged request on `connection` (accepted at `accepted_at`), its response written at
    /// `written_at`; seq = position in the log.
    fn on(connection: u64, accepted_at: u64, written_at: Option<u64>) -> LoggedRequest {
        LoggedRequest {
            status: 200,
            wire: Some(Wire {
                connection,
                accepted_at,
                http_version: "HTTP/1.1".into(),
                response_written_at: written_at,
            }),
            ..LoggedRequest::new(Origin::Mcp, "POST", "/mcp", RequestKind::Other)
        }
    }

    fn numbered(entries: Vec<LoggedRequest>) -> Vec<LoggedRequest> {
        entries
            .into_iter()
            .enumerate()
            .map(|(seq, mut r)| {
                r.seq = seq;
                r
            })
            .collect()
    }

    fn h2(mut r: LoggedRequest) -> LoggedRequest {
        if let Some(w) = r.wire.as_mut() {
            w.http_version = "HTTP/2.0".into();
        }
        r
    }

    #[test]
    fn a_request_on_an_older_connection_logged_after_the_announcement_does_not_count() {
        // #0 on connection 1 (accepted at tick 1) is the announcement, written at tick 5;
        // #1 on connection 2, accepted at tick 2 (before the write), is logged later.
        let log = numbered(vec![on(1, 1, Some(5)), on(2, 2, Some(6))]);
        assert!(sent_after_reading(&log, [0]).is_empty());
    }

    #[test]
    fn a_later_request_on_the_announcing_connection_counts() {
        let log = numbered(vec![on(1, 1, Some(5)), on(1, 1, Some(7))]);
        assert_eq!(sent_after_reading(&log, [0]), BTreeSet::from([1]));
    }

    #[test]
    fn an_earlier_request_on_the_announcing_connection_does_not_count() {
        let log = numbered(vec![on(1, 1, Some(3)), on(1, 1, Some(5))]);
        assert!(sent_after_reading(&log, [1]).is_empty());
    }

    #[test]
    fn a_request_on_a_connection_accepted_after_the_announcement_was_written_counts() {
        let log = numbered(vec![on(1, 1, Some(5)), on(2, 6, Some(7))]);
        assert_eq!(sent_after_reading(&log, [0]), BTreeSet::from([1]));
    }

    #[test]
    fn a_connection_accepted_before_the_write_completed_does_not_count() {
        // Accepted at tick 5, the write completed at tick 5 or later: not provably newer.
        let log = numbered(vec![on(1, 1, Some(5)), on(2, 5, Some(8))]);
        assert!(sent_after_reading(&log, [0]).is_empty());
    }

    #[test]
    fn an_unwritten_announcement_proves_nothing_about_newer_connections() {
        let log = numbered(vec![on(1, 1, None), on(2, 9, Some(10))]);
        assert!(sent_after_reading(&log, [0]).is_empty());
    }

    #[test]
    fn later_requests_on_a_connection_that_carried_a_provably_later_request_count() {
        // #1 on connection 2 (accepted after #0 was written) counts, so #3 after it on
        // connection 2 counts; #2 on the old connection 3 does not.
        let log = numbered(vec![
            on(1, 1, Some(4)),
            on(2, 5, Some(6)),
            on(3, 2, Some(7)),
            on(2, 5, Some(8)),
        ]);
        assert_eq!(sent_after_reading(&log, [0]), BTreeSet::from([1, 3]));
    }

    #[test]
    fn a_connection_accepted_after_a_later_answer_on_the_announcing_connection_counts() {
        // The announcement's own write was not stamped; #1 follows it on connection 1 and was
        // written at tick 6; connection 2, accepted at tick 7, counts through #1.
        let log = numbered(vec![on(1, 1, None), on(1, 1, Some(6)), on(2, 7, Some(8))]);
        assert_eq!(sent_after_reading(&log, [0]), BTreeSet::from([1, 2]));
    }

    #[test]
    fn http2_streams_on_one_connection_are_not_ordered() {
        let log = numbered(vec![h2(on(1, 1, None)), h2(on(1, 1, None))]);
        assert!(sent_after_reading(&log, [0]).is_empty());
    }

    #[test]
    fn entries_without_wire_facts_never_count() {
        let mut cimd = on(1, 1, None);
        cimd.wire = None;
        let log = numbered(vec![on(1, 1, Some(2)), cimd]);
        assert!(sent_after_reading(&log, [0]).is_empty());
    }
}
