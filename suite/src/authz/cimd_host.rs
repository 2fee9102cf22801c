//! The suite's CIMD host: serves client ID metadata documents, honest and hostile, on a loopback port, and
//! logs every request it receives before answering. A second instance stands for the SSRF probe targets,
//! which must see no request at all.
//!
//! Client ids are `https://client.conformance.test:<port>/<path>`; the target is configured to fetch
//! `*.conformance.test` from `http://127.0.0.1:<same port>`, or, under `--tls-profile strict`, where the host
//! serves https with a leaf of the run's test CA, from `https://127.0.0.1:<same port>` (docs/design/authz-role.md
//! §1).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use fake_idp::tls::{AnyListener, ServerCert};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The host name client ids use.
pub const CLIENT_HOST: &str = "client.conformance.test";

/// A response the host serves for a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedDoc {
    pub status: u16,
    /// Sent as given (one line each), after nothing else: set the content type here.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HostedDoc {
    /// `200`, `application/json`.
    pub fn json(value: &serde_json::Value) -> HostedDoc {
        HostedDoc::raw(200, "application/json", value.to_string().into_bytes())
    }

    /// Any status, content type and bytes.
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> HostedDoc {
        HostedDoc {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
        }
    }

    /// Adds a header line (e.g. `cache-control`).
    pub fn with_header(mut self, name: &str, value: &str) -> HostedDoc {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }
}

/// One request the host received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Lowercase names, in order.
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Hosted {
    docs: HashMap<String, Sequence>,
    requests: Vec<HostedRequest>,
}

#[derive(Debug)]
struct Sequence {
    docs: Vec<HostedDoc>,
    served: usize,
}

type Shared = Arc<Mutex<Hosted>>;

/// The CIMD host (or an SSRF probe listener). Stops when dropped.
#[derive(Debug)]
pub struct CimdHost {
    addr: SocketAddr,
    tls: bool,
    state: Shared,
    task: JoinHandle<()>,
}

impl CimdHost {
    /// Binds `127.0.0.1:0`, then serves plain http.
    pub async fn start() -> std::io::Result<CimdHost> {
        CimdHost::start_with(None).await
    }

    /// Binds `127.0.0.1:0`, then serves https with `tls` (`--tls-profile strict`: a leaf of the run's test CA
    /// for [`CLIENT_HOST`], which also names `*.conformance.test` and `127.0.0.1`), or plain http with None.
    pub async fn start_with(tls: Option<&ServerCert>) -> std::io::Result<CimdHost> {
        CimdHost::start_at(SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)), tls).await
    }

    /// Binds `addr` (loopback only; the JWKS of the extensions' trust contract is served at a fixed one), then
    /// serves https with `tls`, or plain http with None.
    pub async fn start_at(addr: SocketAddr, tls: Option<&ServerCert>) -> std::io::Result<CimdHost> {
        if !addr.ip().is_loopback() {
            return Err(std::io::Error::other(format!(
                "{addr} is not a loopback address"
            )));
        }
        let tls = tls
            .map(ServerCert::acceptor)
            .transpose()
            .map_err(std::io::Error::other)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Shared::default();
        let app = router(state.clone());
        let is_tls = tls.is_some();
        let listener = AnyListener::new(listener, tls);
        let task = tokio::spawn(async move {
            // The accept loop ends only with the task (aborted on drop); an I/O error here leaves the host
            // unreachable, which the scenario observes as the target's fetch failing.
            let _ = axum::serve(listener, app).await;
        });
        Ok(CimdHost {
            addr,
            tls: is_tls,
            state,
            task,
        })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>` (`https://` when serving TLS): where `*.conformance.test` ids are fetched from.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// `https://client.conformance.test:<port>/<path>`.
    pub fn client_id(&self, path: &str) -> String {
        format!(
            "https://{CLIENT_HOST}:{}/{}",
            self.port(),
            path.trim_start_matches('/')
        )
    }

    /// Serves `doc` for every fetch of `path` (replacing what was there, and restarting its sequence).
    pub fn put(&self, path: &str, doc: HostedDoc) {
        self.put_sequence(path, vec![doc]);
    }

    /// The first fetch of `path` gets `docs[0]`, the second `docs[1]`, …, and every later fetch the last one.
    /// An empty sequence removes the path (404).
    pub fn put_sequence(&self, path: &str, docs: Vec<HostedDoc>) {
        let mut hosted = self.lock();
        let path = normalise(path);
        if docs.is_empty() {
            hosted.docs.remove(&path);
        } else {
            hosted.docs.insert(path, Sequence { docs, served: 0 });
        }
    }

    /// Requests seen for `path` (served or not), whatever their method or query.
    pub fn hits(&self, path: &str) -> usize {
        let path = normalise(path);
        self.lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// Every request seen, in arrival order.
    pub fn requests(&self) -> Vec<HostedRequest> {
        self.lock().requests.clone()
    }

    /// Stops serving.
    pub fn shutdown(self) {
        // Drop aborts the task.
    }

    fn lock(&self) -> MutexGuard<'_, Hosted> {
        lock(&self.state)
    }
}

impl Drop for CimdHost {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Shared) -> MutexGuard<'_, Hosted> {
    // The log and the documents stay valid if a holder panicked.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn normalise(path: &str) -> String {
    format!("/{}", path.trim_start_matches('/'))
}

/// Every path, every method: log, then answer from the documents (404 when none).
fn router(state: Shared) -> Router {
    Router::new().fallback(serve).with_state(state)
}

async fn serve(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let doc = {
        let mut hosted = lock(&state);
        hosted.requests.push(HostedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: fake_idp::header_pairs(&headers),
        });
        hosted.docs.get_mut(uri.path()).map(|seq| {
            let doc = seq.docs[seq.served.min(seq.docs.len() - 1)].clone();
            seq.served += 1;
            doc
        })
    };
    match doc {
        Some(doc) => respond(doc),
        None => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

fn respond(doc: HostedDoc) -> Response {
    let mut response = Response::new(Body::from(doc.body));
    *response.status_mut() =
        StatusCode::from_u16(doc.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in doc.headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            (Ok(n), Ok(v)) => {
                response.headers_mut().append(n, v);
            }
            _ => {
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "hosted document has an invalid header",
                )
            }
        }
    }
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{EvidenceLog, Scenario};
    use crate::http::{Http, Limits, Request};

    fn http() -> Http {
        Http::new(Limits::default(), EvidenceLog::new(), vec![]).unwrap()
    }

    async fn fetch(http: &Http, host: &CimdHost, path: &str) -> (u16, String) {
        let sc = Scenario::new("cimd-host-test");
        let recorded = http
            .send(
                &sc,
                "fetch a hosted document",
                Request::get(format!("{}{path}", host.base_url())),
            )
            .await;
        let resp = recorded.result.unwrap();
        (resp.status, resp.text())
    }

    #[tokio::test]
    async fn a_sequence_serves_its_first_document_once_then_the_last_forever() {
        let host = CimdHost::start().await.unwrap();
        let http = http();
        host.put_sequence(
            "client.json",
            vec![
                HostedDoc::json(&serde_json::json!({"n": 1})),
                HostedDoc::raw(500, "text/plain", "second"),
                HostedDoc::raw(200, "text/plain", "last"),
            ],
        );
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(fetch(&http, &host, "/client.json").await);
        }
        assert_eq!(
            seen,
            vec![
                (200, r#"{"n":1}"#.to_owned()),
                (500, "second".to_owned()),
                (200, "last".to_owned()),
                (200, "last".to_owned()),
            ]
        );
        assert_eq!(host.hits("/client.json"), 4);
    }

    #[tokio::test]
    async fn a_document_is_served_with_its_status_and_headers() {
        let host = CimdHost::start().await.unwrap();
        host.put(
            "/c",
            HostedDoc::json(&serde_json::json!({})).with_header("Cache-Control", "max-age=60"),
        );
        let sc = Scenario::new("t");
        let resp = http()
            .send(&sc, "fetch", Request::get(format!("{}/c", host.base_url())))
            .await
            .result
            .unwrap();
        assert_eq!(resp.header("content-type"), Some("application/json"));
        assert_eq!(resp.header("cache-control"), Some("max-age=60"));
    }

    #[tokio::test]
    async fn unknown_paths_answer_404_and_still_count_as_hits() {
        let host = CimdHost::start().await.unwrap();
        let http = http();
        assert_eq!(fetch(&http, &host, "/probe?x=1").await.0, 404);
        assert_eq!(fetch(&http, &host, "/probe").await.0, 404);
        assert_eq!(host.hits("probe"), 2);
        assert_eq!(host.hits("/other"), 0);
    }

    #[tokio::test]
    async fn every_request_is_logged_with_method_path_query_and_headers() {
        let host = CimdHost::start().await.unwrap();
        let sc = Scenario::new("t");
        let req = Request::method(
            reqwest::Method::HEAD,
            format!("{}/doc.json?v=2", host.base_url()),
        )
        .header("X-Probe", "1");
        http().send(&sc, "probe", req).await.result.unwrap();
        let seen = host.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].method, "HEAD");
        assert_eq!(seen[0].path, "/doc.json");
        assert_eq!(seen[0].query.as_deref(), Some("v=2"));
        assert!(seen[0]
            .headers
            .contains(&("x-probe".to_owned(), "1".to_owned())));
    }

    #[tokio::test]
    async fn client_ids_name_the_test_domain_on_the_hosts_port() {
        let host = CimdHost::start().await.unwrap();
        assert_eq!(
            host.client_id("/clients/a.json"),
            format!(
                "https://client.conformance.test:{}/clients/a.json",
                host.port()
            )
        );
    }

    #[tokio::test]
    async fn with_a_certificate_the_host_serves_https_that_only_a_client_trusting_the_run_ca_reads()
    {
        let pki = fake_idp::tls::TestPki::generate().unwrap();
        let cert = pki.leaf(&[CLIENT_HOST]).unwrap();
        let host = CimdHost::start_with(Some(&cert)).await.unwrap();
        host.put("/c.json", HostedDoc::json(&serde_json::json!({"n": 1})));
        assert!(
            host.base_url().starts_with("https://127.0.0.1:"),
            "{}",
            host.base_url()
        );
        let trusting = Http::trusting(
            Limits::default(),
            EvidenceLog::new(),
            vec![],
            Some(pki.ca_pem()),
        )
        .unwrap();
        assert_eq!(
            fetch(&trusting, &host, "/c.json").await,
            (200, r#"{"n":1}"#.to_owned())
        );
        let sc = Scenario::new("t");
        let untrusting = http()
            .send(
                &sc,
                "fetch",
                Request::get(format!("{}/c.json", host.base_url())),
            )
            .await;
        assert!(
            untrusting.result.is_err(),
            "a client without the run CA got an answer"
        );
        assert_eq!(
            host.hits("/c.json"),
            1,
            "the refused handshake reached no handler"
        );
    }

    #[tokio::test]
    async fn two_hosts_keep_separate_logs() {
        let cimd = CimdHost::start().await.unwrap();
        let probe = CimdHost::start().await.unwrap();
        let http = http();
        fetch(&http, &cimd, "/x").await;
        assert_eq!(cimd.requests().len(), 1);
        assert!(probe.requests().is_empty());
        assert_ne!(cimd.port(), probe.port());
    }
}
