//! Outbound HTTP: one client with a timeout, no redirects, no proxies, and a body-size cap.

use std::time::Duration;

use reqwest::StatusCode;

/// Timeout for every outbound request.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Largest response body the server reads (JWKS, introspection, header keys, token endpoint, upstream).
const BODY_CAP: usize = 256 * 1024;

/// Why an outbound fetch failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("unexpected status {0}")]
    Status(StatusCode),
    #[error("response body larger than {BODY_CAP} bytes")]
    TooLarge,
    #[error("no introspection endpoint is configured")]
    NotConfigured,
    #[error("no client credentials are configured for the token endpoint")]
    NoClientCredentials,
    #[error("response is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The server's outbound HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    /// `trust_ca_pem`: one more trusted CA (the test CA under strict TLS); an unreadable one is ignored (every
    /// https fetch then fails, visibly).
    pub(crate) fn new(trust_ca_pem: Option<&str>) -> Http {
        let mut builder = reqwest::Client::builder();
        if let Some(ca) =
            trust_ca_pem.and_then(|p| reqwest::Certificate::from_pem(p.as_bytes()).ok())
        {
            builder = builder.add_root_certificate(ca);
        }
        let client = builder
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap_or_default();
        Http { client }
    }

    /// GET `url` and return the body of a 200 response, capped.
    pub(crate) async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let response = self.client.get(url).send().await?;
        read_ok_body(response).await
    }

    /// POST a form with HTTP Basic client authentication and return the body of a 200 response.
    pub(crate) async fn post_form_basic(
        &self,
        url: &str,
        form: &[(&str, &str)],
        user: &str,
        password: &str,
    ) -> Result<Vec<u8>, FetchError> {
        let response = self.form_basic(url, form, user, password).await?;
        read_ok_body(response).await
    }

    /// Like [`post_form_basic`](Self::post_form_basic) but returns any status with its capped body
    /// (an OAuth error response is a 4xx with a JSON body worth reading).
    pub(crate) async fn post_form_basic_any(
        &self,
        url: &str,
        form: &[(&str, &str)],
        user: &str,
        password: &str,
    ) -> Result<(StatusCode, Vec<u8>), FetchError> {
        let response = self.form_basic(url, form, user, password).await?;
        let status = response.status();
        Ok((status, read_capped(response).await?))
    }

    /// GET `url` with a bearer token; any status with its capped body.
    pub(crate) async fn get_bearer(
        &self,
        url: &str,
        token: &str,
    ) -> Result<(StatusCode, Vec<u8>), FetchError> {
        let response = self
            .client
            .get(url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await?;
        let status = response.status();
        Ok((status, read_capped(response).await?))
    }

    /// POST a JSON body with a bearer token; any status with its capped body.
    pub(crate) async fn post_json_bearer(
        &self,
        url: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> Result<(StatusCode, Vec<u8>), FetchError> {
        let response = self
            .client
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(body)
            .send()
            .await?;
        let status = response.status();
        Ok((status, read_capped(response).await?))
    }

    /// POST `body` to `url` with the caller's `Content-Type` and `Authorization` (when given), as a server that
    /// delegates an endpoint forwards a request; any status with its content type and capped body.
    pub(crate) async fn forward_post(
        &self,
        url: &str,
        content_type: Option<&str>,
        authorization: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Option<String>, Vec<u8>), FetchError> {
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body);
        if let Some(ct) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, ct);
        }
        if let Some(auth) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        let response = request.send().await?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((status, content_type, read_capped(response).await?))
    }

    async fn form_basic(
        &self,
        url: &str,
        form: &[(&str, &str)],
        user: &str,
        password: &str,
    ) -> Result<reqwest::Response, FetchError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        // RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let response = self
            .client
            .post(url)
            .basic_auth(enc(user), Some(enc(password)))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await?;
        Ok(response)
    }
}

async fn read_ok_body(response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    if response.status() != StatusCode::OK {
        return Err(FetchError::Status(response.status()));
    }
    read_capped(response).await
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|len| len > BODY_CAP as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > BODY_CAP {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
