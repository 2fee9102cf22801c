//! The client's one HTTP stack: 5 s timeout per request, 1 MiB body cap, redirects never
//! followed, no proxies from the environment. TLS: the built-in (webpki) roots plus the PEM bundle
//! `SSL_CERT_FILE` names (the suite's throwaway test CA under `--tls-profile strict`), with full chain
//! and host-name validation.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use super::error::ClientError;

/// Timeout of every HTTP request.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body the client reads.
pub const BODY_CAP: usize = 1024 * 1024;

/// A fully read response.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Every value of a header (several lines allowed), lossily decoded.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.header_all(name).into_iter().next()
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body).map_err(|e| format!("invalid JSON: {e}"))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Adds every certificate of the PEM bundle at `path` to the trusted roots.
fn trust_bundle(
    builder: reqwest::ClientBuilder,
    path: &std::path::Path,
) -> Result<reqwest::ClientBuilder, ClientError> {
    let pem = std::fs::read(path)
        .map_err(|e| ClientError::Usage(format!("{CA_FILE_ENV} {}: {e}", path.display())))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        ClientError::Usage(format!(
            "{CA_FILE_ENV} {}: not a PEM bundle: {e}",
            path.display()
        ))
    })?;
    Ok(certs
        .into_iter()
        .fold(builder, |b, c| b.add_root_certificate(c)))
}

/// The HTTP client shared by every request of a run.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

/// The environment variable naming extra trusted CA certificates (PEM), as OpenSSL reads it.
pub const CA_FILE_ENV: &str = "SSL_CERT_FILE";

/// How the client checks servers' certificates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CertCheck {
    /// Chain to a trusted root and host name, always.
    Verify,
    /// The `accept-any-certificate` defect: any chain, any name.
    AcceptAny,
}

impl Http {
    pub fn new(check: CertCheck) -> Result<Self, ClientError> {
        Self::build(reqwest::Client::builder(), check)
    }

    /// A client that keeps no idle connections: each request opens a fresh one.
    pub fn unpooled(check: CertCheck) -> Result<Self, ClientError> {
        Self::build(reqwest::Client::builder().pool_max_idle_per_host(0), check)
    }

    fn build(builder: reqwest::ClientBuilder, check: CertCheck) -> Result<Self, ClientError> {
        let mut builder = builder;
        if let Some(path) = std::env::var_os(CA_FILE_ENV).filter(|p| !p.is_empty()) {
            builder = trust_bundle(builder, std::path::Path::new(&path))?;
        }
        if check == CertCheck::AcceptAny {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(HTTP_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!(
                "mcp-auth-conformance-reference-client/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| ClientError::Usage(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client })
    }

    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends `request` and reads at most [`BODY_CAP`] bytes of its body.
    pub async fn send(
        &self,
        what: &'static str,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Response, ClientError> {
        self.send_until(what, url, request, |_, _| false).await
    }

    /// Like [`Http::send`], but stops reading once `done(headers, body so far)` holds (an SSE
    /// stream that stays open after the awaited message).
    pub async fn send_until(
        &self,
        what: &'static str,
        url: &str,
        request: reqwest::RequestBuilder,
        done: impl Fn(&HeaderMap, &[u8]) -> bool,
    ) -> Result<Response, ClientError> {
        let fail = |detail: String| ClientError::Http {
            what,
            url: url.to_owned(),
            detail,
        };
        let mut response = request.send().await.map_err(|e| fail(describe(&e)))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fail(describe(&e)))? {
            if body.len() + chunk.len() > BODY_CAP {
                return Err(fail(format!("response body exceeds {BODY_CAP} bytes")));
            }
            body.extend_from_slice(&chunk);
            if done(&headers, &body) {
                break;
            }
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// One line, without the URL reqwest repeats.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut detail = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    detail.replace('\n', " ")
}

#[cfg(test)]
mod tls_tests {
    use super::*;
    use fake_idp::tls::{ServerCert, TestPki, TlsListener};

    /// Serves "ok" over TLS with `cert`; returns its https URL on 127.0.0.1.
    async fn serve(cert: &ServerCert) -> String {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!(
            "https://127.0.0.1:{}/",
            listener.local_addr().unwrap().port()
        );
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let tls = TlsListener::new(listener, cert.acceptor().unwrap());
        tokio::spawn(async move { axum::serve(tls, app).await });
        url
    }

    /// A client trusting `pki`'s CA, as `SSL_CERT_FILE` would make it (without touching the process environment).
    fn client(pki: &TestPki, check: CertCheck) -> reqwest::Client {
        // One file per call: the tests run in parallel in one process, and each removes its file.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ca-{}-{n}-{:?}", std::process::id(), check));
        std::fs::write(&dir, pki.ca_pem()).unwrap();
        let mut b = trust_bundle(reqwest::Client::builder(), &dir).unwrap();
        let _ = std::fs::remove_file(&dir);
        if check == CertCheck::AcceptAny {
            b = b.danger_accept_invalid_certs(true);
        }
        b.timeout(HTTP_TIMEOUT).build().unwrap()
    }

    #[tokio::test]
    async fn the_client_refuses_an_untrusted_certificate_and_the_defect_accepts_it() {
        let pki = TestPki::generate().unwrap();
        let url = serve(&pki.untrusted_leaf().unwrap()).await;
        assert!(client(&pki, CertCheck::Verify)
            .get(&url)
            .send()
            .await
            .is_err());
        let r = client(&pki, CertCheck::AcceptAny).get(&url).send().await;
        assert_eq!(r.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn the_client_refuses_a_wrong_host_certificate_and_trusts_the_bundle_it_was_given() {
        let pki = TestPki::generate().unwrap();
        let bad = serve(&pki.wrong_host_leaf().unwrap()).await;
        let good = serve(&pki.leaf(&[]).unwrap()).await;
        let c = client(&pki, CertCheck::Verify);
        assert!(c.get(&bad).send().await.is_err());
        assert_eq!(c.get(&good).send().await.unwrap().status(), 200);
    }
}
