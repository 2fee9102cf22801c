//! The client's one HTTP stack: 5 s timeout per request, 1 MiB body cap, redirects never
//! followed, no proxies from the environment.

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

/// The HTTP client shared by every request of a run.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> Result<Self, ClientError> {
        Self::build(reqwest::Client::builder())
    }

    /// A client that keeps no idle connections: each request opens a fresh one.
    pub fn unpooled() -> Result<Self, ClientError> {
        Self::build(reqwest::Client::builder().pool_max_idle_per_host(0))
    }

    fn build(builder: reqwest::ClientBuilder) -> Result<Self, ClientError> {
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
