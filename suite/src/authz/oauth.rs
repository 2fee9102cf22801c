//! The suite as an OAuth client of the target AS: discovered endpoints, registered clients, PKCE, authorization
//! URLs and token requests. Every request goes through the suite's recording HTTP client.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::evidence::Scenario;
use crate::http::{Http, Request, Response};

/// What the suite learned from the AS metadata.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub issuer: String,
    /// Where the metadata document was found.
    pub metadata_url: String,
    pub authorization: String,
    pub token: String,
    pub registration: Option<String>,
    pub cimd_supported: bool,
    pub iss_supported: bool,
    pub metadata: serde_json::Map<String, Value>,
}

impl Endpoints {
    pub fn from_metadata(
        issuer: &str,
        url: &str,
        m: &serde_json::Map<String, Value>,
    ) -> Result<Endpoints, String> {
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        Ok(Endpoints {
            issuer: issuer.to_owned(),
            metadata_url: url.to_owned(),
            authorization: s("authorization_endpoint")
                .ok_or("the metadata has no authorization_endpoint")?,
            token: s("token_endpoint").ok_or("the metadata has no token_endpoint")?,
            registration: s("registration_endpoint"),
            cimd_supported: m.get("client_id_metadata_document_supported")
                == Some(&Value::Bool(true)),
            iss_supported: m.get("authorization_response_iss_parameter_supported")
                == Some(&Value::Bool(true)),
            metadata: m.clone(),
        })
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Basic,
    Post,
}

/// A client the suite registered (or was given).
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
    pub auth: ClientAuth,
    /// How it came to exist: `cimd`, `dcr`, `pre-registered`.
    pub kind: &'static str,
}

/// A PKCE pair.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

/// Seeded randomness for verifiers, states and markers.
#[derive(Debug)]
pub struct Randomness(std::sync::Mutex<rand::rngs::StdRng>);

impl Randomness {
    pub fn new(seed: u64) -> Self {
        Randomness(std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(
            seed,
        )))
    }

    pub fn token(&self, bytes: usize) -> String {
        let mut rng = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let buf: Vec<u8> = (0..bytes).map(|_| rng.gen()).collect();
        URL_SAFE_NO_PAD.encode(buf)
    }

    pub fn pkce(&self) -> Pkce {
        let verifier = self.token(32);
        let challenge = crate::wire::s256(&verifier);
        Pkce {
            verifier,
            challenge,
        }
    }
}

/// Builds an authorization URL from parameters (in order; empty values are sent as given).
pub fn authorize_url(endpoint: &str, params: &[(&str, String)]) -> String {
    let mut url = match url::Url::parse(endpoint) {
        Ok(u) => u,
        Err(_) => return endpoint.to_owned(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

/// The standard parameters of an authorization-code request with PKCE S256.
pub fn code_request(
    client: &Client,
    pkce: &Pkce,
    state: &str,
    resource: &str,
    scope: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", client.id.clone()),
        ("redirect_uri", client.redirect_uri.clone()),
        ("code_challenge", pkce.challenge.clone()),
        ("code_challenge_method", "S256".into()),
        ("state", state.to_owned()),
        ("resource", resource.to_owned()),
        ("scope", scope.to_owned()),
    ]
}

/// One token-endpoint exchange.
#[derive(Debug, Clone)]
pub struct TokenResult {
    pub exchange: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body as JSON, when it is.
    pub json: Option<Value>,
    /// Why no HTTP answer arrived (then `status` is 0 and means nothing).
    pub error: Option<crate::http::HttpFailure>,
}

impl TokenResult {
    /// Why this answer fails a redemption, typed: no answer, or the status and OAuth `error` code.
    pub fn cause(&self) -> crate::check::Cause {
        match &self.error {
            Some(failure) => crate::check::Cause::NoAnswer(failure.clone()),
            None => crate::check::Cause::Refused {
                status: self.status,
                error: self.member("error").map(str::to_owned),
            },
        }
    }

    pub fn ok(&self) -> bool {
        self.status == 200 && self.access_token().is_some()
    }

    pub fn member(&self, name: &str) -> Option<&str> {
        self.json.as_ref()?.get(name)?.as_str()
    }

    pub fn access_token(&self) -> Option<&str> {
        self.member("access_token")
    }

    pub fn refresh_token(&self) -> Option<&str> {
        self.member("refresh_token")
    }

    pub fn oauth_error(&self) -> Option<&str> {
        self.member("error")
    }

    /// ERROR when the request got no HTTP answer: nothing about the AS can be judged from it.
    pub fn unanswered(&self, what: &str) -> Option<crate::check::Evaluation> {
        self.error
            .as_ref()
            .map(|e| e.unanswered(what).with_evidence([self.exchange.clone()]))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn describe(&self) -> String {
        match (&self.error, self.oauth_error()) {
            (Some(e), _) => format!("no response: {e}"),
            (None, Some(err)) => format!("HTTP {} error={err}", self.status),
            (None, None) if self.ok() => format!("HTTP {} with an access token", self.status),
            (None, None) => format!("HTTP {}", self.status),
        }
    }
}

/// POSTs a token request (form-encoded), authenticating the client per its method unless `auth` overrides it.
pub async fn token_request(
    http: &Http,
    sc: &Scenario,
    purpose: &str,
    endpoint: &str,
    client: &Client,
    form: Vec<(&str, String)>,
    basic_override: Option<(String, String)>,
) -> TokenResult {
    let req = Request::method(reqwest::Method::POST, endpoint);
    send_token_request(http, sc, purpose, req, client, form, basic_override).await
}

/// [`token_request`] with a `DPoP` proof header (RFC 9449 §5).
pub async fn dpop_token_request(
    http: &Http,
    sc: &Scenario,
    purpose: &str,
    endpoint: &str,
    client: &Client,
    form: Vec<(&str, String)>,
    proof: &str,
) -> TokenResult {
    let req = Request::method(reqwest::Method::POST, endpoint).header("dpop", proof);
    send_token_request(http, sc, purpose, req, client, form, None).await
}

async fn send_token_request(
    http: &Http,
    sc: &Scenario,
    purpose: &str,
    req: Request,
    client: &Client,
    mut form: Vec<(&str, String)>,
    basic_override: Option<(String, String)>,
) -> TokenResult {
    let mut req = req
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json");
    match (basic_override, client.auth, &client.secret) {
        (Some((id, secret)), _, _) => req = req.header("authorization", basic(&id, &secret)),
        (None, ClientAuth::Basic, Some(secret)) => {
            req = req.header("authorization", basic(&client.id, secret))
        }
        (None, ClientAuth::Post, Some(secret)) => {
            form.push(("client_id", client.id.clone()));
            form.push(("client_secret", secret.clone()));
        }
        _ => form.push(("client_id", client.id.clone())),
    }
    if let Some(s) = &client.secret {
        http.register_secret(s);
    }
    for (k, v) in &form {
        if crate::redact::is_secret_name(k) {
            http.register_secret(v);
        }
    }
    req.body = Some(
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish(),
    );
    let rec = http.send(sc, purpose, req).await;
    token_result(rec.id, rec.result, http)
}

pub(crate) fn token_result(
    exchange: String,
    result: Result<Response, crate::http::HttpFailure>,
    http: &Http,
) -> TokenResult {
    match result {
        Ok(resp) => {
            let json: Option<Value> = serde_json::from_slice(&resp.body).ok();
            if let Some(j) = &json {
                for k in crate::redact::SECRET_NAMES {
                    if let Some(t) = j.get(*k).and_then(Value::as_str) {
                        http.register_secret(t);
                    }
                }
            }
            TokenResult {
                exchange,
                status: resp.status,
                headers: resp.headers,
                json,
                error: None,
            }
        }
        Err(e) => TokenResult {
            exchange,
            status: 0,
            headers: Vec::new(),
            json: None,
            error: Some(e),
        },
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// Decodes a JWT's header and claims without verifying (for profile checks).
pub fn jwt_parts(token: &str) -> Option<(Value, Value)> {
    crate::evidence::decode_jwt(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn authorize_urls_keep_existing_query_and_encode_values() {
        let u = authorize_url(
            "https://as.example/authorize?x=1",
            &[("state", "a b".into()), ("scope", "".into())],
        );
        assert_eq!(u, "https://as.example/authorize?x=1&state=a+b&scope=");
    }

    #[test]
    fn pkce_is_s256_of_the_verifier() {
        let p = Randomness::new(1).pkce();
        assert_eq!(
            p.challenge,
            URL_SAFE_NO_PAD.encode(Sha256::digest(p.verifier.as_bytes()))
        );
        assert_eq!(p.verifier.len(), 43);
    }

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(
            basic("a:b", "c d"),
            format!("Basic {}", STANDARD.encode("a%3Ab:c+d"))
        );
    }
}
