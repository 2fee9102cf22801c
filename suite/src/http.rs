//! The suite's one HTTP client: a timeout and a body cap on every call, no redirects followed, no proxies
//! from the environment, every exchange recorded as evidence (redacted when the report is sealed).
//!
//! Hosts under the reserved test domain `conformance.test` resolve to 127.0.0.1, so a target can be
//! addressed by a non-loopback *name* (to exercise the https rules) without traffic leaving the machine.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mcp_auth_reports::{Exchange, HttpRequest, HttpResponse, TlsProfile};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::evidence::{EvidenceLog, Scenario};

/// The reserved domain whose hosts resolve to loopback.
pub const TEST_DOMAIN: &str = "conformance.test";

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Whole request, including reading the body.
    pub timeout: Duration,
    /// Bodies longer than this are cut off and the exchange fails.
    pub body_cap: usize,
    /// How much of a body the report keeps (the exchange is recorded whole and cut when sealed).
    pub record_cap: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            body_cap: 1024 * 1024,
            record_cap: 8 * 1024,
        }
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Request {
    pub fn get(url: impl Into<String>) -> Self {
        Request {
            method: reqwest::Method::GET,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> Self {
        Request {
            method: reqwest::Method::POST,
            url: url.into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                (
                    "accept".into(),
                    "application/json, text/event-stream".into(),
                ),
            ],
            body: Some(body.to_string()),
        }
    }

    pub fn method(method: reqwest::Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header line (repeated names give repeated lines).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Lowercase names, one entry per header line, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// Every value of a header (one per line).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).into_iter().next()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why no complete response arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpFailure {
    #[error("no response within {0:?}")]
    Timeout(Duration),
    #[error("response body exceeded the {0}-byte cap")]
    BodyTooLarge(usize),
    #[error(
        "refused to contact {0}: the suite talks only to the target and its own fakes on loopback"
    )]
    Forbidden(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("transport error: {0}")]
    Transport(String),
}

impl HttpFailure {
    /// The check's verdict when a request got no HTTP answer (or the suite declined to send it): `ERROR` with the
    /// reason. Silence, a reset or a refused connection is never a refusal (`PASS`) and never a violation
    /// (`FAIL`); only an HTTP answer is.
    pub fn unanswered(&self, what: &str) -> crate::check::Evaluation {
        let why = match self {
            HttpFailure::Forbidden(_) | HttpFailure::Invalid(_) => "the suite did not send it",
            _ => "no HTTP answer",
        };
        crate::check::Evaluation::error(format!("{what}: {why}: {self}"))
    }
}

/// One recorded exchange: its evidence id and what came back.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: String,
    pub result: Result<Response, HttpFailure>,
}

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    limits: Limits,
    log: EvidenceLog,
    allowed_hosts: Arc<Vec<String>>,
    /// At most this many requests in flight, shared by the clones ([`Http::with_max_in_flight`]); None: no bound.
    in_flight: Option<Arc<tokio::sync::Semaphore>>,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Http {
    /// `allowed_hosts`: non-loopback hosts the suite may contact (the target's). Loopback and the test
    /// domain are always allowed.
    pub fn new(
        limits: Limits,
        log: EvidenceLog,
        allowed_hosts: Vec<String>,
    ) -> Result<Self, HttpFailure> {
        Self::trusting(limits, log, allowed_hosts, None)
    }

    /// [`Http::new`], also trusting the CA certificate `ca_pem` (the run's test CA under `--tls-profile strict`).
    pub fn trusting(
        limits: Limits,
        log: EvidenceLog,
        allowed_hosts: Vec<String>,
        ca_pem: Option<&str>,
    ) -> Result<Self, HttpFailure> {
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = ca_pem {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| HttpFailure::Transport(format!("the test CA: {e}")))?;
            builder = builder.add_root_certificate(ca);
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            .dns_resolver(Arc::new(TestDomainResolver))
            .build()
            .map_err(|e| HttpFailure::Transport(e.to_string()))?;
        log.set_record_cap(limits.record_cap);
        Ok(Http {
            client,
            limits,
            log,
            allowed_hosts: Arc::new(allowed_hosts),
            in_flight: None,
        })
    }

    /// Sends at most `n` requests at a time (this client and its clones); the others wait their turn before they
    /// are sent. The timeout of a request then measures the target's answer to it, not the queue of the suite's
    /// own burst of probes in front of it, which on a loaded machine could outlast the timeout and turn a verdict
    /// into ERROR (suite/tests/determinism.rs).
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.in_flight = Some(Arc::new(tokio::sync::Semaphore::new(n.max(1))));
        self
    }

    pub fn log(&self) -> &EvidenceLog {
        &self.log
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Registers a secret so that the report hides it wherever it appears ([`EvidenceLog::register_secret`]).
    pub fn register_secret(&self, secret: &str) {
        self.log.register_secret(secret);
    }

    /// Sends a request and records it under the scenario's next id.
    pub async fn send(&self, scenario: &Scenario, purpose: &str, req: Request) -> Recorded {
        let id = scenario.next_id();
        // Never closed, so a permit always comes; held until the exchange is recorded.
        let _turn = match &self.in_flight {
            Some(s) => s.acquire().await.ok(),
            None => None,
        };
        let started = Instant::now();
        let result = self.perform(&req).await;
        self.record(&id, purpose, &req, &result, started.elapsed());
        Recorded { id, result }
    }

    async fn perform(&self, req: &Request) -> Result<Response, HttpFailure> {
        let url = url::Url::parse(&req.url).map_err(|e| HttpFailure::Invalid(e.to_string()))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        if !self.host_allowed(&host) {
            return Err(HttpFailure::Forbidden(host));
        }
        let mut builder = self.client.request(req.method.clone(), url);
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let read = async {
            let mut resp = builder
                .send()
                .await
                .map_err(|e| classify(e, self.limits.timeout))?;
            let status = resp.status().as_u16();
            let headers = fake_idp::header_pairs(resp.headers());
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| classify(e, self.limits.timeout))?
            {
                if body.len() + chunk.len() > self.limits.body_cap {
                    return Err(HttpFailure::BodyTooLarge(self.limits.body_cap));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(self.limits.timeout, read).await {
            Ok(r) => r,
            Err(_) => Err(HttpFailure::Timeout(self.limits.timeout)),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        is_loopback_host(host)
            || host == TEST_DOMAIN
            || host.ends_with(&format!(".{TEST_DOMAIN}"))
            || self
                .allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Records an exchange the suite did not make but observed (e.g. what a fake upstream API received), with the
    /// same redaction and token evidence as the suite's own requests.
    pub fn record_observed(&self, id: &str, purpose: &str, req: &Request, response: Response) {
        self.record(id, purpose, req, &Ok(response), Duration::ZERO);
    }

    /// Records the exchange as it happened; [`EvidenceLog::sealed`] redacts it for the report.
    fn record(
        &self,
        id: &str,
        purpose: &str,
        req: &Request,
        result: &Result<Response, HttpFailure>,
        elapsed: Duration,
    ) {
        let mut request = HttpRequest::new(req.method.as_str(), req.url.clone());
        request.headers = req.headers.clone();
        request.body = req.body.clone();
        let mut exchange = Exchange::new(id, purpose, request);
        exchange.duration_ms = elapsed.as_millis() as u64;
        match result {
            Ok(resp) => {
                let mut r = HttpResponse::new(resp.status);
                r.headers = resp.headers.clone();
                r.body = (!resp.body.is_empty()).then(|| resp.text());
                exchange.response = Some(r);
            }
            Err(e) => exchange.error = Some(e.to_string()),
        }
        self.log.push(exchange);
    }
}

fn classify(e: reqwest::Error, timeout: Duration) -> HttpFailure {
    if e.is_timeout() {
        HttpFailure::Timeout(timeout)
    } else {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        HttpFailure::Transport(msg)
    }
}

/// Loopback per the local-testing rule: 127.0.0.0/8, `[::1]`, `localhost`.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match h.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// The TLS profile of a target URL whose host is `host`: https, loopback http, or plain http elsewhere.
pub fn tls_profile(url: &str, host: &str) -> TlsProfile {
    if url.starts_with("https://") {
        TlsProfile::Https
    } else if is_loopback_host(host) {
        TlsProfile::Local
    } else {
        TlsProfile::Insecure
    }
}

/// Resolves `*.conformance.test` to 127.0.0.1 and everything else through the system resolver.
#[derive(Debug)]
struct TestDomainResolver;

impl Resolve for TestDomainResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if host == TEST_DOMAIN || host.ends_with(&format!(".{TEST_DOMAIN}")) {
                let addrs: Addrs =
                    Box::new(std::iter::once(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))));
                return Ok(addrs);
            }
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that holds every request until the test lets one go, counting how many it holds at once.
    struct Holding {
        url: String,
        arrived: tokio::sync::mpsc::UnboundedReceiver<()>,
        gate: Arc<tokio::sync::Semaphore>,
        most: Arc<std::sync::Mutex<(usize, usize)>>,
    }

    async fn holding_server() -> Holding {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (tx, arrived) = tokio::sync::mpsc::unbounded_channel();
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        // (held now, most held at once)
        let most = Arc::new(std::sync::Mutex::new((0usize, 0usize)));
        let (g, m) = (gate.clone(), most.clone());
        let app = axum::Router::new().fallback(move || {
            let (g, m, tx) = (g.clone(), m.clone(), tx.clone());
            async move {
                {
                    let mut c = m.lock().unwrap();
                    c.0 += 1;
                    c.1 = c.1.max(c.0);
                }
                let _ = tx.send(());
                g.acquire().await.unwrap().forget();
                m.lock().unwrap().0 -= 1;
                "ok"
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        Holding {
            url,
            arrived,
            gate,
            most,
        }
    }

    #[tokio::test]
    async fn a_client_bounded_to_two_in_flight_sends_the_third_request_only_when_one_is_answered() {
        let mut server = holding_server().await;
        let http = Http::new(Limits::default(), EvidenceLog::new(), vec![])
            .unwrap()
            .with_max_in_flight(2);
        let sc = Scenario::new("bounded");
        let sends = futures::future::join_all(
            (0..5).map(|_| http.send(&sc, "held", Request::get(server.url.clone()))),
        );
        let driven = async {
            server.arrived.recv().await.unwrap();
            server.arrived.recv().await.unwrap();
            for _ in 0..3 {
                server.gate.add_permits(1);
                server.arrived.recv().await.unwrap();
            }
            server.gate.add_permits(2);
        };
        let (answers, ()) = tokio::join!(sends, driven);
        assert!(answers
            .iter()
            .all(|r| r.result.as_ref().is_ok_and(|r| r.status == 200)));
        assert_eq!(server.most.lock().unwrap().1, 2);
    }

    #[test]
    fn loopback_hosts_follow_the_local_testing_rule() {
        for h in ["127.0.0.1", "127.9.9.9", "[::1]", "localhost", "LOCALHOST"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "todo.conformance.test",
            "10.0.0.1",
            "example.com",
            "localhost.example",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
