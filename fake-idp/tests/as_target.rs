//! The reference AS in target mode over real loopback HTTP: the compliant target keeps every
//! hole shut, each `AsDefect` opens exactly its own. One behaviour per test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode as AxumStatus, Uri};
use axum::response::{IntoResponse, Response as AxumResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fake_idp::danger::{Forge, TokenMutation};
use fake_idp::dpop::{DpopKey, ProofRequest};
use fake_idp::idp::{Idp, IdpAnswer, IdpConfig, IDP_CLIENT_ID, IDP_CLIENT_SECRET, IDP_HOST};
use fake_idp::{
    AsDefect, AsTarget, AsTargetConfig, LoginUi, Minter, RunningAsTarget, SigningKey, SystemClock,
    TokenSpec, UpstreamIdp, Users,
};
use reqwest::{Response, StatusCode};
use rstest::rstest;
use serde_json::{json, Value};
use url::Url;

mod common;
use common::{challenge, http};
#[path = "as_target/assertion.rs"]
mod assertion;

const RESOURCE: &str = "http://127.0.0.1:3000/mcp";
const REDIRECT: &str = "http://127.0.0.1:45678/callback";
const PUBLIC_CLIENT: &str = "conformance-client";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const OTHER_VERIFIER: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const INTROSPECTION: (&str, &str) = ("todo-server", "todo-server-test-secret");
const UPSTREAM: &str = "http://127.0.0.1:3002/api";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A running target and its issuer.
struct Target {
    running: RunningAsTarget,
    issuer: String,
    token_url: String,
}

impl Target {
    async fn start(defect: Option<AsDefect>, login: LoginUi) -> Target {
        let running = AsTarget::start(AsTargetConfig {
            defect,
            login,
            assertion_trust: fake_idp::AssertionTrust::suite_parties(
                fake_idp::assertion::SUITE_ASSERTION_CLIENT,
            ),
            ..AsTargetConfig::default()
        })
        .await
        .unwrap();
        let issuer = running.issuer();
        let token_url = format!("{issuer}/token");
        Target {
            running,
            issuer,
            token_url,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    async fn metadata(&self) -> Response {
        http()
            .get(self.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
    }

    async fn metadata_json(&self) -> Value {
        let text = self.metadata().await.text().await.unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// `GET /authorize` with a valid PKCE request, `overrides` replacing (empty value = drop).
    async fn authorize(&self, overrides: &[(&str, &str)]) -> Response {
        let challenge = challenge(VERIFIER);
        let mut params: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", PUBLIC_CLIENT),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("resource", RESOURCE),
            ("scope", "todo:read todo:write"),
            ("state", "xyz"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in overrides {
            params.retain(|(name, _)| name != k);
            params.push(((*k).to_owned(), (*v).to_owned()));
        }
        params.retain(|(_, v)| !v.is_empty());
        http()
            .get(self.url("/authorize"))
            .query(&params)
            .send()
            .await
            .unwrap()
    }

    /// The code of an authorization, if the answer was a redirect carrying one.
    async fn code(&self, overrides: &[(&str, &str)]) -> Option<String> {
        redirect_params(&self.authorize(overrides).await).remove("code")
    }

    async fn token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = http()
            .post(self.url("/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn redeem(&self, code: &str, overrides: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", PUBLIC_CLIENT),
            ("code_verifier", VERIFIER),
        ];
        for (k, v) in overrides {
            form.retain(|(name, _)| name != k);
            form.push((k, v));
        }
        form.retain(|(_, v)| !v.is_empty());
        self.token(&form).await
    }

    /// A fresh code redeemed: the token response.
    async fn tokens(&self, overrides: &[(&str, &str)]) -> Value {
        let code = self.code(overrides).await.expect("a code");
        let (status, body) = self.redeem(&code, &[]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn refresh(&self, token: &str, overrides: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", PUBLIC_CLIENT),
        ];
        for (k, v) in overrides {
            form.retain(|(name, _)| name != k);
            form.push((k, v));
        }
        self.token(&form).await
    }

    async fn active(&self, token: &str) -> bool {
        let response = http()
            .post(self.url("/introspect"))
            .basic_auth(INTROSPECTION.0, Some(INTROSPECTION.1))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        body["active"] == json!(true)
    }

    async fn register(&self, body: Value) -> Response {
        http()
            .post(self.url("/register"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// An actor: a confidential DCR client that redeemed a code for `RESOURCE` with `scope`.
    /// Returns `(client_id, client_secret, its access token)`.
    async fn actor(&self, scope: &str) -> (String, String, String) {
        let (id, secret) = self.dcr_client("client_secret_basic").await;
        let secret = secret.expect("a confidential client");
        let code = self
            .code(&[("client_id", &id), ("scope", scope)])
            .await
            .expect("a code");
        let (status, body) = self
            .redeem(&code, &[("client_id", &id), ("client_secret", &secret)])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        (id, secret, token)
    }

    /// An RFC 8693 exchange of `subject` for `UPSTREAM` (scope `todo:read`), authenticated
    /// with `auth` (Basic) when given; `overrides` replace (empty value = drop).
    async fn exchange(
        &self,
        auth: Option<(&str, &str)>,
        subject: &str,
        overrides: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("audience", UPSTREAM),
            ("scope", "todo:read"),
        ];
        for (k, v) in overrides {
            form.retain(|(name, _)| name != k);
            form.push((k, v));
        }
        form.retain(|(_, v)| !v.is_empty());
        let mut request = http().post(self.url("/token")).form(&form);
        if let Some((id, secret)) = auth {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    /// A DCR client with `REDIRECT`: `(client_id, client_secret)`.
    /// A token request with a DPoP proof: status, body and the `DPoP-Nonce` answered.
    async fn dpop_token(
        &self,
        form: &[(&str, &str)],
        proof: &str,
    ) -> (StatusCode, Value, Option<String>) {
        let response = http()
            .post(self.url("/token"))
            .header("dpop", proof)
            .form(form)
            .send()
            .await
            .unwrap();
        let nonce = response
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (response.status(), response.json().await.unwrap(), nonce)
    }

    /// A code redeemed with an honest proof by `key` after the nonce demand: the token body, the nonce and the
    /// proof the redemption used.
    async fn dpop_tokens(&self, key: &DpopKey) -> (Value, String, String) {
        let code = self.code(&[]).await.expect("a code");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", PUBLIC_CLIENT),
            ("code_verifier", VERIFIER),
        ];
        let (status, body, nonce) = self.dpop_token(&form, &self.proof(key, None)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("use_dpop_nonce"))
        );
        let nonce = nonce.expect("a DPoP-Nonce with use_dpop_nonce");
        let proof = self.proof(key, Some(&nonce));
        let (status, body, _) = self.dpop_token(&form, &proof).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (body, nonce, proof)
    }

    /// An honest proof for the token endpoint.
    fn proof(&self, key: &DpopKey, nonce: Option<&str>) -> String {
        key.proof(&self.proof_request(nonce))
    }

    fn proof_request<'a>(&'a self, nonce: Option<&'a str>) -> ProofRequest<'a> {
        ProofRequest {
            htm: "POST",
            htu: self.token_url.as_str(),
            iat: fake_idp::dpop::unix_now(),
            nonce,
            ..ProofRequest::default()
        }
    }

    /// Refreshes a DPoP grant with `proof`: whether tokens were issued.
    async fn dpop_refresh(&self, rt: &str, proof: &str) -> bool {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", PUBLIC_CLIENT),
        ];
        self.dpop_token(&form, proof).await.0 == StatusCode::OK
    }

    /// Refreshes a fresh DPoP grant of `key` with the proof `forge` makes from the nonce and the redemption's
    /// proof: whether tokens were issued.
    async fn dpop_refresh_with(
        &self,
        key: &DpopKey,
        forge: impl FnOnce(&str, &str) -> String,
    ) -> bool {
        let (body, nonce, redeemed) = self.dpop_tokens(key).await;
        let rt = body["refresh_token"].as_str().unwrap().to_owned();
        self.dpop_refresh(&rt, &forge(&nonce, &redeemed)).await
    }

    /// A client_credentials request by a fresh confidential DCR client.
    async fn client_credentials(&self, scope: &str) -> (StatusCode, Value) {
        let (id, secret) = self.dcr_client("client_secret_basic").await;
        let response = http()
            .post(self.url("/token"))
            .basic_auth(&id, secret)
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", scope),
                ("resource", RESOURCE),
            ])
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn dcr_client(&self, method: &str) -> (String, Option<String>) {
        let body: Value = self
            .register(json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": method}))
            .await
            .json()
            .await
            .unwrap();
        (
            body["client_id"].as_str().unwrap().to_owned(),
            body["client_secret"].as_str().map(str::to_owned),
        )
    }
}

/// The query parameters of a redirect (empty when the answer is not a redirect).
fn redirect_params(response: &Response) -> HashMap<String, String> {
    location(response)
        .and_then(|l| Url::parse(&l).ok())
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn location(response: &Response) -> Option<String> {
    if !response.status().is_redirection() {
        return None;
    }
    Some(
        response
            .headers()
            .get("location")?
            .to_str()
            .ok()?
            .to_owned(),
    )
}

fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A CIMD document host on loopback: scripted answers per path, every request counted.
#[derive(Clone, Default)]
struct DocHost {
    docs: Arc<Mutex<HashMap<String, Vec<Doc>>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    port: u16,
}

#[derive(Clone)]
struct Doc {
    status: u16,
    cache_control: Option<&'static str>,
    body: Vec<u8>,
}

impl Doc {
    fn json(value: &Value) -> Doc {
        Doc {
            status: 200,
            cache_control: None,
            body: value.to_string().into_bytes(),
        }
    }

    fn cached(mut self, cache_control: &'static str) -> Doc {
        self.cache_control = Some(cache_control);
        self
    }

    fn status(status: u16) -> Doc {
        Doc {
            status,
            cache_control: None,
            body: b"{}".to_vec(),
        }
    }
}

async fn serve_doc(State(host): State<DocHost>, uri: Uri) -> AxumResponse {
    let path = uri.path().to_owned();
    *host.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let doc = {
        let mut docs = host.docs.lock().unwrap();
        match docs.get_mut(&path) {
            Some(seq) if seq.len() > 1 => Some(seq.remove(0)),
            Some(seq) => seq.first().cloned(),
            None => None,
        }
    };
    let Some(doc) = doc else {
        return AxumStatus::NOT_FOUND.into_response();
    };
    let mut response = (
        AxumStatus::from_u16(doc.status).unwrap(),
        [("content-type", "application/json")],
        doc.body,
    )
        .into_response();
    if let Some(cc) = doc.cache_control {
        response
            .headers_mut()
            .insert("cache-control", cc.parse().unwrap());
    }
    response
}

impl DocHost {
    async fn start() -> DocHost {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = DocHost {
            port: listener.local_addr().unwrap().port(),
            ..DocHost::default()
        };
        let router = axum::Router::new()
            .fallback(serve_doc)
            .with_state(host.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        host
    }

    fn client_id(&self, path: &str) -> String {
        format!("https://client.conformance.test:{}{path}", self.port)
    }

    fn put(&self, path: &str, docs: Vec<Doc>) {
        self.docs.lock().unwrap().insert(path.to_owned(), docs);
    }

    /// Publishes a valid document at `path` (redirect URI `http://127.0.0.1/callback`).
    fn put_valid(&self, path: &str, cache_control: Option<&'static str>) -> String {
        let client_id = self.client_id(path);
        let mut doc = Doc::json(&valid_doc(&client_id));
        doc.cache_control = cache_control;
        self.put(path, vec![doc]);
        client_id
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn valid_doc(client_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Conformance agent",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none",
    })
}

/// Whether the hole `probe` names is open on a target started with `defect`. The match is
/// exhaustive: a new defect cannot be added without its probe.
async fn hole_open(probe: AsDefect, defect: Option<AsDefect>) -> bool {
    use AsDefect as D;
    let login = match probe {
        D::LoginRedirect307 | D::CodeWithoutLogin => LoginUi::Form,
        _ => LoginUi::Auto,
    };
    let t = Target::start(defect, login).await;
    let docs = DocHost::start().await;
    let open = match probe {
        D::MetadataWrongIssuer => t.metadata_json().await["issuer"] != json!(t.issuer),
        D::MetadataMissingTokenEndpoint => t.metadata_json().await.get("token_endpoint").is_none(),
        D::MetadataNoPkceMethods => t
            .metadata_json()
            .await
            .get("code_challenge_methods_supported")
            .is_none(),
        D::MetadataNoCimdFlag => {
            t.metadata_json().await["client_id_metadata_document_supported"] != json!(true)
        }
        D::MetadataInsecureEndpoint => {
            let meta = t.metadata_json().await;
            let url = Url::parse(meta["registration_endpoint"].as_str().unwrap()).unwrap();
            url.scheme() == "http" && url.host_str() != Some("127.0.0.1")
        }
        D::PlainHttpTokenEndpoint => {
            // Without TLS the issuer is http too: the hole is the second, plain-http listener it advertises.
            let meta = t.metadata_json().await;
            let token = meta["token_endpoint"].as_str().unwrap();
            token.starts_with("http://") && !token.starts_with(&format!("{}/", t.issuer))
        }
        D::MetadataEmptyArray => t
            .metadata_json()
            .await
            .as_object()
            .unwrap()
            .values()
            .any(|v| v.as_array().is_some_and(Vec::is_empty)),
        D::MetadataWrongContentType => !t.metadata().await.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        D::IssNotAdvertised => {
            let advertised = t.metadata_json().await
                ["authorization_response_iss_parameter_supported"]
                == json!(true);
            let sent = redirect_params(&t.authorize(&[]).await).contains_key("iss");
            sent && !advertised
        }
        D::PrefixRedirectMatch => t
            .code(&[("redirect_uri", "http://127.0.0.1/callback.evil")])
            .await
            .is_some(),
        D::CaseInsensitiveRedirectMatch => t
            .code(&[("redirect_uri", "http://127.0.0.1/Callback/")])
            .await
            .is_some(),
        D::RedirectHostNotChecked => t
            .code(&[("redirect_uri", "http://evil.example/callback")])
            .await
            .is_some(),
        D::RedirectOnInvalidRedirectUri => {
            let response = t
                .authorize(&[("redirect_uri", "https://evil.example/cb")])
                .await;
            location(&response).is_some_and(|l| l.starts_with("https://evil.example/"))
        }
        D::PkceOptional => t.code(&[("code_challenge", "")]).await.is_some(),
        D::AcceptPlainPkce => t
            .code(&[
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ])
            .await
            .is_some(),
        D::AcceptUnknownPkceMethod => t.code(&[("code_challenge_method", "S512")]).await.is_some(),
        D::AllowImplicit => {
            let response = t.authorize(&[("response_type", "token")]).await;
            location(&response).is_some_and(|l| l.contains("access_token="))
        }
        D::RejectUnknownParams => t.code(&[("foo", "bar")]).await.is_none(),
        D::CorsOnAuthorize => {
            let response = http()
                .request(reqwest::Method::OPTIONS, t.url("/authorize"))
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "GET")
                .send()
                .await
                .unwrap();
            response
                .headers()
                .contains_key("access-control-allow-origin")
        }
        D::LoginRedirect307 => {
            let page = t.authorize(&[]).await.text().await.unwrap();
            let response = post_login(&t, &request_id(&page), "alice", "alice-password").await;
            response.status() == StatusCode::TEMPORARY_REDIRECT
        }
        D::CodeWithoutLogin => {
            let page = t.authorize(&[]).await.text().await.unwrap();
            page.contains("name=\"approve\"")
        }
        D::AcceptInvalidResource => t.code(&[("resource", "/mcp")]).await.is_some(),
        D::NoIss => {
            let advertised = t.metadata_json().await
                ["authorization_response_iss_parameter_supported"]
                == json!(true);
            let sent = redirect_params(&t.authorize(&[]).await).contains_key("iss");
            !sent && !advertised
        }
        D::NoIssInError => {
            let params = redirect_params(&t.authorize(&[("code_challenge_method", "S512")]).await);
            assert_eq!(params["error"], "invalid_request");
            !params.contains_key("iss")
        }
        D::ChallengeInCode => t.code(&[]).await.unwrap().contains(&challenge(VERIFIER)),
        D::AllowCodeReplay => {
            let code = t.code(&[]).await.unwrap();
            assert_eq!(t.redeem(&code, &[]).await.0, StatusCode::OK);
            t.redeem(&code, &[]).await.0 == StatusCode::OK
        }
        D::NoRevokeOnReplay => {
            let code = t.code(&[]).await.unwrap();
            let (_, first) = t.redeem(&code, &[]).await;
            assert_ne!(t.redeem(&code, &[]).await.0, StatusCode::OK);
            t.active(first["access_token"].as_str().unwrap()).await
        }
        D::RevokeOnBadReplay => {
            let code = t.code(&[]).await.unwrap();
            let (_, first) = t.redeem(&code, &[]).await;
            let (status, _) = t.redeem(&code, &[("code_verifier", OTHER_VERIFIER)]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            !t.active(first["access_token"].as_str().unwrap()).await
        }
        D::AcceptWrongVerifier => {
            let code = t.code(&[]).await.unwrap();
            t.redeem(&code, &[("code_verifier", OTHER_VERIFIER)])
                .await
                .0
                == StatusCode::OK
        }
        D::AcceptMissingVerifier => {
            let code = t.code(&[]).await.unwrap();
            t.redeem(&code, &[("code_verifier", "")]).await.0 == StatusCode::OK
        }
        D::CodeNotBoundToClient => {
            let (other, _) = t.dcr_client("none").await;
            let code = t.code(&[]).await.unwrap();
            t.redeem(&code, &[("client_id", &other)]).await.0 == StatusCode::OK
        }
        D::IgnoreTokenRedirectUri => {
            let code = t.code(&[]).await.unwrap();
            let other = "http://127.0.0.1:45678/other";
            t.redeem(&code, &[("redirect_uri", other)]).await.0 == StatusCode::OK
        }
        D::TokenResponseCacheable => {
            let code = t.code(&[]).await.unwrap();
            let response = http()
                .post(t.url("/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                    ("client_id", PUBLIC_CLIENT),
                    ("code_verifier", VERIFIER),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response
                .headers()
                .get("cache-control")
                .is_none_or(|v| v != "no-store")
        }
        D::BasicFailureWithoutChallenge => {
            let response = http()
                .post(t.url("/token"))
                .basic_auth(INTROSPECTION.0, Some("wrong"))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            response.status() != StatusCode::UNAUTHORIZED
                || !response.headers().contains_key("www-authenticate")
        }
        D::ConfidentialWithoutAuth => {
            let (id, secret) = t.dcr_client("client_secret_basic").await;
            assert!(secret.is_some());
            let code = t.code(&[("client_id", &id)]).await.unwrap();
            t.redeem(&code, &[("client_id", &id)]).await.0 == StatusCode::OK
        }
        D::OmitGrantedScope => {
            let body = t.tokens(&[("scope", "todo:read todo:write admin")]).await;
            body.get("scope").is_none()
        }
        D::LongLivedTokens => t.tokens(&[]).await["expires_in"].as_i64().unwrap() > 3600,
        D::IgnoreResource => {
            let body = t.tokens(&[]).await;
            jwt_part(body["access_token"].as_str().unwrap(), 1)["aud"] != json!(RESOURCE)
        }
        D::AtWithoutTyp => {
            let body = t.tokens(&[]).await;
            jwt_part(body["access_token"].as_str().unwrap(), 0)["typ"] != json!("at+jwt")
        }
        D::NoRefreshRotation => {
            let rt1 = t.tokens(&[]).await["refresh_token"].clone();
            let (_, second) = t.refresh(rt1.as_str().unwrap(), &[]).await;
            second["refresh_token"] == rt1
        }
        D::NoRefreshReplayDetection => {
            let rt1 = t.tokens(&[]).await["refresh_token"]
                .as_str()
                .unwrap()
                .to_owned();
            let (_, second) = t.refresh(&rt1, &[]).await;
            let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
            assert_ne!(rt1, rt2);
            assert_eq!(t.refresh(&rt1, &[]).await.0, StatusCode::BAD_REQUEST);
            t.refresh(&rt2, &[]).await.0 == StatusCode::OK
        }
        D::RefreshNotBoundToClient => {
            let (other, _) = t.dcr_client("none").await;
            let rt = t.tokens(&[]).await["refresh_token"]
                .as_str()
                .unwrap()
                .to_owned();
            t.refresh(&rt, &[("client_id", &other)]).await.0 == StatusCode::OK
        }
        D::RefreshScopeEscalation => {
            let rt = t.tokens(&[("scope", "todo:read")]).await["refresh_token"]
                .as_str()
                .unwrap()
                .to_owned();
            t.refresh(&rt, &[("scope", "todo:read todo:write")]).await.0 == StatusCode::OK
        }
        D::RefreshResourceChange => {
            let rt = t.tokens(&[]).await["refresh_token"]
                .as_str()
                .unwrap()
                .to_owned();
            let other = "http://127.0.0.1:3001/other";
            t.refresh(&rt, &[("resource", other)]).await.0 == StatusCode::OK
        }
        D::ExchangeAcceptsExpiredSubject => {
            let (id, secret, _) = t.actor("todo:read").await;
            let minter = Minter::new(
                t.issuer.clone(),
                SigningKey::as_signing_key(),
                Arc::new(SystemClock),
                3,
            );
            let alice = Users::fixture().get("alice").unwrap().clone();
            let spec = TokenSpec::for_user(&alice, RESOURCE, id.as_str());
            let expired = Forge::new(minter).forge(&spec, &TokenMutation::Expired);
            t.exchange(Some((&id, &secret)), &expired, &[]).await.0 == StatusCode::OK
        }
        D::ExchangeIgnoresSubjectAudience => {
            let (id, secret, _) = t.actor("todo:read").await;
            let other = t
                .tokens(&[("resource", "http://127.0.0.1:3001/other")])
                .await;
            let subject = other["access_token"].as_str().unwrap();
            t.exchange(Some((&id, &secret)), subject, &[]).await.0 == StatusCode::OK
        }
        D::ExchangeScopeEscalation => {
            let (id, secret, subject) = t.actor("todo:read").await;
            let (status, body) = t
                .exchange(
                    Some((&id, &secret)),
                    &subject,
                    &[("scope", "todo:read todo:write")],
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
            claims["scope"].as_str().unwrap().contains("todo:write")
        }
        D::ExchangeNoActorClaim => {
            let (id, secret, subject) = t.actor("todo:read").await;
            let (status, body) = t.exchange(Some((&id, &secret)), &subject, &[]).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            jwt_part(body["access_token"].as_str().unwrap(), 1)["act"]["sub"] != json!(id)
        }
        D::ExchangeWithoutClientAuth => {
            let (id, _, subject) = t.actor("todo:read").await;
            let (status, _) = t.exchange(None, &subject, &[("client_id", &id)]).await;
            status == StatusCode::OK
        }
        D::ExchangeAcceptsForgedSubject => {
            let (id, secret, subject) = t.actor("todo:read").await;
            // The payload changed, the signature kept: a forged subject token.
            let mut parts: Vec<String> = subject.split('.').map(str::to_owned).collect();
            let mut claims: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
            claims["sub"] = json!("mallory");
            parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
            let forged = parts.join(".");
            let (status, _) = t.exchange(Some((&id, &secret)), &forged, &[]).await;
            status == StatusCode::OK
        }
        D::FedAcceptUnsigned => let_through(defect, IdpAnswer::Unsigned).await,
        D::FedSkipSignatureCheck => let_through(defect, IdpAnswer::UnknownKey).await,
        D::FedIssNotChecked => let_through(defect, IdpAnswer::WrongIssuer).await,
        D::FedAudNotChecked => let_through(defect, IdpAnswer::WrongAudience).await,
        D::FedNonceOptional => let_through(defect, IdpAnswer::MissingNonce).await,
        D::FedNonceNotMatched => let_through(defect, IdpAnswer::ReplayedNonce).await,
        D::FedExpNotChecked => let_through(defect, IdpAnswer::Expired).await,
        D::FedStateOptional => let_through(defect, IdpAnswer::MissingState).await,
        D::FedStateNotMatched => let_through(defect, IdpAnswer::ForgedState).await,
        D::FedTrustsUnverifiedEmail => let_through(defect, IdpAnswer::UnverifiedEmail).await,
        D::FedPassesIdpToken => federated(defect, IdpAnswer::Honest).await.leaked,
        D::PrxNoConsent
        | D::PrxConsentNotPerClient
        | D::PrxConsentFrameable
        | D::PrxConsentNoCsrf
        | D::PrxConsentAnonymous
        | D::PrxConsentCookieWeak
        | D::PrxRedirectPrefixMatch
        | D::PrxStateReusable
        | D::PrxStateBeforeConsent => proxy_hole_open(probe, defect).await,
        D::DpopUnboundToken => {
            let key = DpopKey::generate();
            let (body, _, _) = t.dpop_tokens(&key).await;
            let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
            body["token_type"] != json!("DPoP") || claims["cnf"]["jkt"] != json!(key.thumbprint())
        }
        D::DpopSkipSignature => {
            let (key, other) = (DpopKey::generate(), DpopKey::generate());
            t.dpop_refresh_with(&key, |n, _| {
                other.sign(&key.proof_header(), &t.proof_request(Some(n)).claims())
            })
            .await
        }
        D::DpopSkipHtm => {
            let key = DpopKey::generate();
            t.dpop_refresh_with(&key, |n, _| {
                key.proof(&ProofRequest {
                    htm: "GET",
                    ..t.proof_request(Some(n))
                })
            })
            .await
        }
        D::DpopSkipHtu => {
            let key = DpopKey::generate();
            let elsewhere = t.url("/elsewhere");
            t.dpop_refresh_with(&key, |n, _| {
                key.proof(&ProofRequest {
                    htu: &elsewhere,
                    ..t.proof_request(Some(n))
                })
            })
            .await
        }
        D::DpopSkipIat => {
            let key = DpopKey::generate();
            t.dpop_refresh_with(&key, |n, _| {
                key.proof(&ProofRequest {
                    iat: fake_idp::dpop::unix_now() - 3600,
                    ..t.proof_request(Some(n))
                })
            })
            .await
        }
        D::DpopAllowReplay => {
            let key = DpopKey::generate();
            t.dpop_refresh_with(&key, |_, redeemed| redeemed.to_owned())
                .await
        }
        D::DpopAcceptPrivateKey => {
            let key = DpopKey::generate();
            t.dpop_refresh_with(&key, |n, _| {
                let mut header = key.proof_header();
                header["jwk"]["d"] = json!("AAAA");
                key.sign(&header, &t.proof_request(Some(n)).claims())
            })
            .await
        }
        D::DpopAcceptWeakAlg => {
            let key = DpopKey::generate();
            t.dpop_refresh_with(&key, |n, _| {
                fake_idp::dpop::unsigned_proof(
                    &key.proof_header(),
                    &t.proof_request(Some(n)).claims(),
                )
            })
            .await
        }
        D::DpopRefreshNotBound => {
            let (key, other) = (DpopKey::generate(), DpopKey::generate());
            t.dpop_refresh_with(&key, |n, _| t.proof(&other, Some(n)))
                .await
        }
        D::DpopNonceUnchecked => {
            let key = DpopKey::generate();
            t.dpop_refresh_with(&key, |_, _| t.proof(&key, Some("never-issued")))
                .await
        }
        D::CcPublicClient => {
            let form = [
                ("grant_type", "client_credentials"),
                ("client_id", PUBLIC_CLIENT),
            ];
            t.token(&form).await.0 == StatusCode::OK
        }
        D::CcAnyScope => {
            let (status, body) = t.client_credentials("todo:read todo:write").await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["scope"].as_str().unwrap().contains("todo:write")
        }
        D::CcIgnoreResource => {
            let (_, body) = t.client_credentials("todo:read").await;
            jwt_part(body["access_token"].as_str().unwrap(), 1)["aud"] != json!(RESOURCE)
        }
        D::CcRefreshToken => t
            .client_credentials("todo:read")
            .await
            .1
            .get("refresh_token")
            .is_some(),
        D::NoCimd => {
            let client_id = docs.put_valid("/c.json", None);
            t.code(&[("client_id", &client_id)]).await.is_none()
        }
        D::SkipCimdClientIdCheck => {
            let client_id = docs.client_id("/c.json");
            let mut doc = valid_doc(&client_id);
            doc["client_id"] = json!(format!("{client_id}/"));
            docs.put("/c.json", vec![Doc::json(&doc)]);
            t.code(&[("client_id", &client_id)]).await.is_some()
        }
        D::SkipCimdRedirectCheck => {
            let client_id = docs.put_valid("/c.json", None);
            let elsewhere = "http://127.0.0.1:45678/elsewhere";
            t.code(&[("client_id", &client_id), ("redirect_uri", elsewhere)])
                .await
                .is_some()
        }
        D::CimdAcceptHttpRedirect => {
            let client_id = docs.client_id("/c.json");
            let unsafe_redirect = "http://client.conformance.test/cb";
            let mut doc = valid_doc(&client_id);
            doc["redirect_uris"] = json!([unsafe_redirect]);
            docs.put("/c.json", vec![Doc::json(&doc)]);
            t.code(&[("client_id", &client_id), ("redirect_uri", unsafe_redirect)])
                .await
                .is_some()
        }
        D::AcceptInvalidCimd => {
            let client_id = docs.client_id("/c.json");
            docs.put("/c.json", vec![Doc::json(&json!([client_id]))]);
            t.code(&[("client_id", &client_id)]).await.is_some()
        }
        D::NeverCacheCimd => {
            let client_id = docs.put_valid("/c.json", Some("max-age=600"));
            assert!(t.code(&[("client_id", &client_id)]).await.is_some());
            assert!(t.code(&[("client_id", &client_id)]).await.is_some());
            docs.hits("/c.json") == 2
        }
        D::CacheInvalidCimd => {
            let client_id = docs.client_id("/c.json");
            let valid = Doc::json(&valid_doc(&client_id));
            docs.put("/c.json", vec![Doc::status(500), valid]);
            assert!(t.code(&[("client_id", &client_id)]).await.is_none());
            t.code(&[("client_id", &client_id)]).await.is_none()
        }
        D::ProceedOnCimdFetchFailure => {
            let client_id = docs.client_id("/missing.json");
            t.code(&[("client_id", &client_id)]).await.is_some()
        }
        D::CimdSsrf => {
            let client_id = format!("https://127.0.0.1:{}/c.json", docs.port);
            let _ = t.authorize(&[("client_id", &client_id)]).await;
            docs.hits("/c.json") > 0
        }
        D::CimdHttpClientId => {
            let client_id = format!("http://client.conformance.test:{}/c.json", docs.port);
            docs.put("/c.json", vec![Doc::json(&valid_doc(&client_id))]);
            let _ = t.authorize(&[("client_id", &client_id)]).await;
            docs.hits("/c.json") > 0
        }
        D::CimdLenientUrl => {
            let client_id = docs.client_id("/a/../c.json");
            docs.put("/c.json", vec![Doc::json(&valid_doc(&client_id))]);
            let _ = t.authorize(&[("client_id", &client_id)]).await;
            docs.hits("/c.json") > 0
        }
        D::CimdNoSizeLimit => {
            let client_id = docs.client_id("/big.json");
            let mut doc = valid_doc(&client_id);
            doc["client_name"] = json!("x".repeat(10 * 1024));
            docs.put("/big.json", vec![Doc::json(&doc)]);
            t.code(&[("client_id", &client_id)]).await.is_some()
        }
        D::CimdHonourSharedSecret => {
            let client_id = docs.client_id("/secret.json");
            let mut doc = valid_doc(&client_id);
            doc["token_endpoint_auth_method"] = json!("client_secret_basic");
            doc["client_secret"] = json!("doc-secret");
            docs.put("/secret.json", vec![Doc::json(&doc)]);
            match t.code(&[("client_id", &client_id)]).await {
                None => false,
                Some(code) => {
                    // RFC 6749 §2.3.1: the client_id is form-encoded inside Basic (it has `:`).
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
                    let response = http()
                        .post(t.url("/token"))
                        .basic_auth(encoded, Some("doc-secret"))
                        .form(&[
                            ("grant_type", "authorization_code"),
                            ("code", code.as_str()),
                            ("redirect_uri", REDIRECT),
                            ("code_verifier", VERIFIER),
                        ])
                        .send()
                        .await
                        .unwrap();
                    response.status() == StatusCode::OK
                }
            }
        }
        D::DcrStatus200 => {
            let response = t
                .register(
                    json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
                )
                .await;
            response.status() == StatusCode::OK
        }
        D::DcrAcceptAnyRedirect => {
            let response = t
                .register(json!({"redirect_uris": ["http://evil.example/cb"], "token_endpoint_auth_method": "none"}))
                .await;
            response.status().is_success()
        }
        D::NoMetadata => t.metadata().await.status() == StatusCode::NOT_FOUND,
        D::AuthorizePostOnly => t.authorize(&[]).await.status() == StatusCode::METHOD_NOT_ALLOWED,
        D::DropState => !redirect_params(&t.authorize(&[]).await).contains_key("state"),
        d @ (D::AssertionTokenIgnoresResource
        | D::WifAcceptWrongAudience
        | D::WifAcceptExpired
        | D::WifAcceptReplayedJti
        | D::WifAcceptUntrustedKey
        | D::WifAcceptMissingExp
        | D::WifAcceptMissingJti
        | D::WifAcceptAlgNone
        | D::JagAcceptWrongAudience
        | D::JagAcceptExpired
        | D::JagAcceptReplayedJti
        | D::JagAcceptUntrustedSigner
        | D::JagAcceptWrongTyp
        | D::JagAcceptOtherClient
        | D::JagIgnoreResourceMismatch
        | D::CcAcceptWrongAudience
        | D::CcAcceptExpiredAssertion
        | D::CcAcceptReplayedJti
        | D::CcAcceptUntrustedKey
        | D::CcAcceptMismatchedSubject) => assertion::hole_open(&t.issuer, d).await,
    };
    t.running.shutdown().await;
    open
}

#[rstest]
#[case::metadata_wrong_issuer(AsDefect::MetadataWrongIssuer)]
#[case::metadata_missing_token_endpoint(AsDefect::MetadataMissingTokenEndpoint)]
#[case::metadata_no_pkce_methods(AsDefect::MetadataNoPkceMethods)]
#[case::metadata_no_cimd_flag(AsDefect::MetadataNoCimdFlag)]
#[case::metadata_insecure_endpoint(AsDefect::MetadataInsecureEndpoint)]
#[case::metadata_empty_array(AsDefect::MetadataEmptyArray)]
#[case::metadata_wrong_content_type(AsDefect::MetadataWrongContentType)]
#[case::iss_not_advertised(AsDefect::IssNotAdvertised)]
#[case::prefix_redirect_match(AsDefect::PrefixRedirectMatch)]
#[case::case_insensitive_redirect_match(AsDefect::CaseInsensitiveRedirectMatch)]
#[case::redirect_host_not_checked(AsDefect::RedirectHostNotChecked)]
#[case::redirect_on_invalid_redirect_uri(AsDefect::RedirectOnInvalidRedirectUri)]
#[case::pkce_optional(AsDefect::PkceOptional)]
#[case::accept_plain_pkce(AsDefect::AcceptPlainPkce)]
#[case::accept_unknown_pkce_method(AsDefect::AcceptUnknownPkceMethod)]
#[case::allow_implicit(AsDefect::AllowImplicit)]
#[case::reject_unknown_params(AsDefect::RejectUnknownParams)]
#[case::cors_on_authorize(AsDefect::CorsOnAuthorize)]
#[case::login_redirect_307(AsDefect::LoginRedirect307)]
#[case::code_without_login(AsDefect::CodeWithoutLogin)]
#[case::accept_invalid_resource(AsDefect::AcceptInvalidResource)]
#[case::no_iss_in_error(AsDefect::NoIssInError)]
#[case::no_iss(AsDefect::NoIss)]
#[case::no_metadata(AsDefect::NoMetadata)]
#[case::authorize_post_only(AsDefect::AuthorizePostOnly)]
#[case::drop_state(AsDefect::DropState)]
#[case::challenge_in_code(AsDefect::ChallengeInCode)]
#[case::allow_code_replay(AsDefect::AllowCodeReplay)]
#[case::no_revoke_on_replay(AsDefect::NoRevokeOnReplay)]
#[case::revoke_on_bad_replay(AsDefect::RevokeOnBadReplay)]
#[case::accept_wrong_verifier(AsDefect::AcceptWrongVerifier)]
#[case::accept_missing_verifier(AsDefect::AcceptMissingVerifier)]
#[case::code_not_bound_to_client(AsDefect::CodeNotBoundToClient)]
#[case::ignore_token_redirect_uri(AsDefect::IgnoreTokenRedirectUri)]
#[case::token_response_cacheable(AsDefect::TokenResponseCacheable)]
#[case::basic_failure_without_challenge(AsDefect::BasicFailureWithoutChallenge)]
#[case::confidential_without_auth(AsDefect::ConfidentialWithoutAuth)]
#[case::omit_granted_scope(AsDefect::OmitGrantedScope)]
#[case::long_lived_tokens(AsDefect::LongLivedTokens)]
#[case::ignore_resource(AsDefect::IgnoreResource)]
#[case::at_without_typ(AsDefect::AtWithoutTyp)]
#[case::no_refresh_rotation(AsDefect::NoRefreshRotation)]
#[case::no_refresh_replay_detection(AsDefect::NoRefreshReplayDetection)]
#[case::refresh_not_bound_to_client(AsDefect::RefreshNotBoundToClient)]
#[case::refresh_scope_escalation(AsDefect::RefreshScopeEscalation)]
#[case::refresh_resource_change(AsDefect::RefreshResourceChange)]
#[case::no_cimd(AsDefect::NoCimd)]
#[case::skip_cimd_client_id_check(AsDefect::SkipCimdClientIdCheck)]
#[case::skip_cimd_redirect_check(AsDefect::SkipCimdRedirectCheck)]
#[case::accept_invalid_cimd(AsDefect::AcceptInvalidCimd)]
#[case::never_cache_cimd(AsDefect::NeverCacheCimd)]
#[case::cache_invalid_cimd(AsDefect::CacheInvalidCimd)]
#[case::proceed_on_cimd_fetch_failure(AsDefect::ProceedOnCimdFetchFailure)]
#[case::cimd_ssrf(AsDefect::CimdSsrf)]
#[case::cimd_http_client_id(AsDefect::CimdHttpClientId)]
#[case::cimd_lenient_url(AsDefect::CimdLenientUrl)]
#[case::cimd_no_size_limit(AsDefect::CimdNoSizeLimit)]
#[case::cimd_honour_shared_secret(AsDefect::CimdHonourSharedSecret)]
#[case::cimd_accept_http_redirect(AsDefect::CimdAcceptHttpRedirect)]
#[case::dcr_status_200(AsDefect::DcrStatus200)]
#[case::dcr_accept_any_redirect(AsDefect::DcrAcceptAnyRedirect)]
#[case::exchange_accepts_expired_subject(AsDefect::ExchangeAcceptsExpiredSubject)]
#[case::exchange_ignores_subject_audience(AsDefect::ExchangeIgnoresSubjectAudience)]
#[case::exchange_scope_escalation(AsDefect::ExchangeScopeEscalation)]
#[case::exchange_no_actor_claim(AsDefect::ExchangeNoActorClaim)]
#[case::exchange_without_client_auth(AsDefect::ExchangeWithoutClientAuth)]
#[case::exchange_accepts_forged_subject(AsDefect::ExchangeAcceptsForgedSubject)]
#[case::assertion_token_ignores_resource(AsDefect::AssertionTokenIgnoresResource)]
#[case::wif_accept_wrong_audience(AsDefect::WifAcceptWrongAudience)]
#[case::wif_accept_expired(AsDefect::WifAcceptExpired)]
#[case::wif_accept_replayed_jti(AsDefect::WifAcceptReplayedJti)]
#[case::wif_accept_untrusted_key(AsDefect::WifAcceptUntrustedKey)]
#[case::wif_accept_missing_exp(AsDefect::WifAcceptMissingExp)]
#[case::wif_accept_missing_jti(AsDefect::WifAcceptMissingJti)]
#[case::wif_accept_alg_none(AsDefect::WifAcceptAlgNone)]
#[case::jag_accept_wrong_audience(AsDefect::JagAcceptWrongAudience)]
#[case::jag_accept_expired(AsDefect::JagAcceptExpired)]
#[case::jag_accept_replayed_jti(AsDefect::JagAcceptReplayedJti)]
#[case::jag_accept_untrusted_signer(AsDefect::JagAcceptUntrustedSigner)]
#[case::jag_accept_wrong_typ(AsDefect::JagAcceptWrongTyp)]
#[case::jag_accept_other_client(AsDefect::JagAcceptOtherClient)]
#[case::jag_ignore_resource_mismatch(AsDefect::JagIgnoreResourceMismatch)]
#[case::cc_accept_wrong_audience(AsDefect::CcAcceptWrongAudience)]
#[case::cc_accept_expired_assertion(AsDefect::CcAcceptExpiredAssertion)]
#[case::cc_accept_replayed_jti(AsDefect::CcAcceptReplayedJti)]
#[case::cc_accept_untrusted_key(AsDefect::CcAcceptUntrustedKey)]
#[case::cc_accept_mismatched_subject(AsDefect::CcAcceptMismatchedSubject)]
#[case::fed_accept_unsigned(AsDefect::FedAcceptUnsigned)]
#[case::fed_skip_signature_check(AsDefect::FedSkipSignatureCheck)]
#[case::fed_iss_not_checked(AsDefect::FedIssNotChecked)]
#[case::fed_aud_not_checked(AsDefect::FedAudNotChecked)]
#[case::fed_nonce_optional(AsDefect::FedNonceOptional)]
#[case::fed_nonce_not_matched(AsDefect::FedNonceNotMatched)]
#[case::fed_exp_not_checked(AsDefect::FedExpNotChecked)]
#[case::fed_state_optional(AsDefect::FedStateOptional)]
#[case::fed_state_not_matched(AsDefect::FedStateNotMatched)]
#[case::fed_trusts_unverified_email(AsDefect::FedTrustsUnverifiedEmail)]
#[case::fed_passes_idp_token(AsDefect::FedPassesIdpToken)]
#[case::prx_no_consent(AsDefect::PrxNoConsent)]
#[case::prx_consent_not_per_client(AsDefect::PrxConsentNotPerClient)]
#[case::prx_consent_frameable(AsDefect::PrxConsentFrameable)]
#[case::prx_consent_no_csrf(AsDefect::PrxConsentNoCsrf)]
#[case::prx_consent_anonymous(AsDefect::PrxConsentAnonymous)]
#[case::prx_consent_cookie_weak(AsDefect::PrxConsentCookieWeak)]
#[case::prx_redirect_prefix_match(AsDefect::PrxRedirectPrefixMatch)]
#[case::prx_state_reusable(AsDefect::PrxStateReusable)]
#[case::prx_state_before_consent(AsDefect::PrxStateBeforeConsent)]
#[case::dpop_unbound_token(AsDefect::DpopUnboundToken)]
#[case::dpop_skip_signature(AsDefect::DpopSkipSignature)]
#[case::dpop_skip_htm(AsDefect::DpopSkipHtm)]
#[case::dpop_skip_htu(AsDefect::DpopSkipHtu)]
#[case::dpop_skip_iat(AsDefect::DpopSkipIat)]
#[case::dpop_allow_replay(AsDefect::DpopAllowReplay)]
#[case::dpop_accept_private_key(AsDefect::DpopAcceptPrivateKey)]
#[case::dpop_accept_weak_alg(AsDefect::DpopAcceptWeakAlg)]
#[case::dpop_refresh_not_bound(AsDefect::DpopRefreshNotBound)]
#[case::dpop_nonce_unchecked(AsDefect::DpopNonceUnchecked)]
#[case::cc_public_client(AsDefect::CcPublicClient)]
#[case::cc_any_scope(AsDefect::CcAnyScope)]
#[case::cc_ignore_resource(AsDefect::CcIgnoreResource)]
#[case::cc_refresh_token(AsDefect::CcRefreshToken)]
#[tokio::test]
async fn each_defect_opens_its_hole_and_the_compliant_target_keeps_it_shut(
    #[case] defect: AsDefect,
) {
    assert!(
        !hole_open(defect, None).await,
        "the compliant target opens the hole of {defect}"
    );
    assert!(
        hole_open(defect, Some(defect)).await,
        "{defect} does not open its hole"
    );
}

#[rstest]
#[case::workload_jwt(assertion::Grant::Wif)]
#[case::id_jag(assertion::Grant::Jag)]
#[case::client_assertion(assertion::Grant::Cc)]
#[tokio::test]
async fn a_valid_assertion_gets_a_token_for_the_requested_resource(
    #[case] grant: assertion::Grant,
) {
    let t = Target::start(None, LoginUi::Auto).await;
    let aud = assertion::token_audience(&t.issuer, grant, |_| {}, RESOURCE).await;
    assert_eq!(aud, Some(json!(RESOURCE)));
    t.running.shutdown().await;
}

/// The hidden `request` id of a login or consent page.
fn request_id(page: &str) -> String {
    let marker = "name=\"request\" value=\"";
    let start = page.find(marker).expect("a request id") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

async fn post_login(t: &Target, request: &str, username: &str, password: &str) -> Response {
    http()
        .post(t.url("/login"))
        .form(&[
            ("request", request),
            ("username", username),
            ("password", password),
            ("login", "login"),
        ])
        .send()
        .await
        .unwrap()
}

async fn post_consent(t: &Target, cookie: &str, request: &str, button: &str) -> Response {
    http()
        .post(t.url("/consent"))
        .header("cookie", cookie)
        .form(&[("request", request), (button, button)])
        .send()
        .await
        .unwrap()
}

/// Logs alice in: `(session cookie, request id)`.
async fn log_in(t: &Target) -> (String, String) {
    let page = t.authorize(&[]).await.text().await.unwrap();
    let response = post_login(t, &request_id(&page), "alice", "alice-password").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let consent_url = location(&response).unwrap();
    let consent = http()
        .get(t.url(&consent_url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (cookie, request_id(&consent))
}

#[tokio::test]
async fn form_login_walks_login_then_consent_to_a_code() {
    let t = Target::start(None, LoginUi::Form).await;
    let response = t.authorize(&[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("name=\"username\"") && page.contains("name=\"password\""));
    assert!(page.contains("name=\"login\""));
    let response = post_login(&t, &request_id(&page), "alice", "alice-password").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let consent = http()
        .get(t.url(&location(&response).unwrap()))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(consent.contains("name=\"approve\"") && consent.contains("name=\"deny\""));
    assert!(consent.contains("127.0.0.1"), "the redirect host is shown");
    let response = post_consent(&t, &cookie, &request_id(&consent), "approve").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&response);
    assert!(location(&response).unwrap().starts_with(REDIRECT));
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], t.issuer);
    let (status, body) = t.redeem(&params["code"], &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        jwt_part(body["access_token"].as_str().unwrap(), 1)["sub"],
        "alice"
    );
}

#[tokio::test]
async fn wrong_password_shows_the_login_page_again() {
    let t = Target::start(None, LoginUi::Form).await;
    let page = t.authorize(&[]).await.text().await.unwrap();
    let response = post_login(&t, &request_id(&page), "alice", "bob-password").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("set-cookie").is_none());
    assert!(response.text().await.unwrap().contains("name=\"password\""));
}

#[tokio::test]
async fn session_cookie_skips_the_login_page_but_not_the_consent() {
    let t = Target::start(None, LoginUi::Form).await;
    let (cookie, _) = log_in(&t).await;
    let challenge = challenge(VERIFIER);
    let response = http()
        .get(t.url("/authorize"))
        .header("cookie", &cookie)
        .query(&[
            ("response_type", "code"),
            ("client_id", PUBLIC_CLIENT),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", "again"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(!page.contains("name=\"password\""));
    assert!(page.contains("name=\"approve\""));
}

#[tokio::test]
async fn deny_redirects_access_denied_with_iss() {
    let t = Target::start(None, LoginUi::Form).await;
    let (cookie, request) = log_in(&t).await;
    let response = post_consent(&t, &cookie, &request, "deny").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["iss"], t.issuer);
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn metadata_is_exemplary() {
    let t = Target::start(None, LoginUi::Auto).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let response = http().get(t.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        let meta: Value = response.json().await.unwrap();
        assert_eq!(meta["issuer"], json!(t.issuer));
        assert_eq!(meta["response_types_supported"], json!(["code"]));
        assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(meta["client_id_metadata_document_supported"], json!(true));
        assert_eq!(
            meta["authorization_response_iss_parameter_supported"],
            json!(true)
        );
        assert!(meta["registration_endpoint"].is_string());
    }
}

#[tokio::test]
async fn code_replay_revokes_the_first_tokens() {
    let t = Target::start(None, LoginUi::Auto).await;
    let code = t.code(&[]).await.unwrap();
    let (_, first) = t.redeem(&code, &[]).await;
    let (status, body) = t.redeem(&code, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(!t.active(first["access_token"].as_str().unwrap()).await);
    let (status, _) = t
        .refresh(first["refresh_token"].as_str().unwrap(), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refresh_replay_revokes_the_whole_family() {
    let t = Target::start(None, LoginUi::Auto).await;
    let rt1 = t.tokens(&[]).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, second) = t.refresh(&rt1, &[]).await;
    let rt2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(t.refresh(&rt1, &[]).await.0, StatusCode::BAD_REQUEST);
    let (status, body) = t.refresh(&rt2, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn cimd_client_on_the_allow_list_is_fetched_from_loopback() {
    let t = Target::start(None, LoginUi::Auto).await;
    let docs = DocHost::start().await;
    let client_id = docs.put_valid("/agents/c.json", None);
    let code = t.code(&[("client_id", &client_id)]).await.expect("a code");
    assert_eq!(docs.hits("/agents/c.json"), 1);
    assert_eq!(
        t.running.events().cimd_fetches(),
        std::slice::from_ref(&client_id)
    );
    let (status, body) = t.redeem(&code, &[("client_id", &client_id)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[rstest]
#[case::ipv4_loopback("https://127.0.0.1:{port}/c.json")]
#[case::ipv6_loopback("https://[::1]:{port}/c.json")]
#[case::localhost_name("https://localhost:{port}/c.json")]
#[case::http_scheme("http://client.conformance.test:{port}/c.json")]
#[case::no_path("https://client.conformance.test:{port}")]
#[tokio::test]
async fn ssrf_and_malformed_client_ids_are_refused_without_a_request(#[case] template: &str) {
    let t = Target::start(None, LoginUi::Auto).await;
    let docs = DocHost::start().await;
    let client_id = template.replace("{port}", &docs.port.to_string());
    docs.put("/c.json", vec![Doc::json(&valid_doc(&client_id))]);
    docs.put("/", vec![Doc::json(&valid_doc(&client_id))]);
    let response = t.authorize(&[("client_id", &client_id)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        docs.hits.lock().unwrap().is_empty(),
        "no request reached the host"
    );
    assert!(t.running.events().cimd_fetches().is_empty());
}

#[tokio::test]
async fn cimd_max_age_is_honoured() {
    let t = Target::start(None, LoginUi::Auto).await;
    let docs = DocHost::start().await;
    let client_id = docs.put_valid("/c.json", Some("max-age=600"));
    assert!(t.code(&[("client_id", &client_id)]).await.is_some());
    assert!(t.code(&[("client_id", &client_id)]).await.is_some());
    assert_eq!(docs.hits("/c.json"), 1);
}

#[tokio::test]
async fn cimd_no_store_is_fetched_every_flow() {
    let t = Target::start(None, LoginUi::Auto).await;
    let docs = DocHost::start().await;
    let client_id = docs.put_valid("/c.json", Some("no-store"));
    assert!(t.code(&[("client_id", &client_id)]).await.is_some());
    assert!(t.code(&[("client_id", &client_id)]).await.is_some());
    assert_eq!(docs.hits("/c.json"), 2);
}

#[rstest]
#[case::server_error(Doc::status(500))]
#[case::invalid_document(Doc::json(&json!({"client_name": "no ids"})).cached("max-age=600"))]
#[tokio::test]
async fn cimd_failures_are_not_cached(#[case] first: Doc) {
    let t = Target::start(None, LoginUi::Auto).await;
    let docs = DocHost::start().await;
    let client_id = docs.client_id("/c.json");
    let valid = Doc::json(&valid_doc(&client_id)).cached("max-age=600");
    docs.put("/c.json", vec![first, valid]);
    let response = t.authorize(&[("client_id", &client_id)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(t.code(&[("client_id", &client_id)]).await.is_some());
    assert_eq!(docs.hits("/c.json"), 2);
}

#[tokio::test]
async fn cimd_document_over_5_kib_is_refused() {
    let t = Target::start(None, LoginUi::Auto).await;
    let docs = DocHost::start().await;
    let client_id = docs.client_id("/big.json");
    let mut doc = valid_doc(&client_id);
    doc["client_name"] = json!("x".repeat(6 * 1024));
    docs.put("/big.json", vec![Doc::json(&doc)]);
    let response = t.authorize(&[("client_id", &client_id)]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn mismatched_redirect_uri_gets_an_error_page_not_a_redirect() {
    let t = Target::start(None, LoginUi::Auto).await;
    let response = t
        .authorize(&[("redirect_uri", "https://evil.example/cb")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn empty_valued_parameters_are_treated_as_omitted() {
    let t = Target::start(None, LoginUi::Auto).await;
    let challenge = challenge(VERIFIER);
    let response = http()
        .get(t.url("/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", PUBLIC_CLIENT),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("resource", ""),
            ("scope", ""),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    let params = redirect_params(&response);
    assert!(params.contains_key("code"), "{params:?}");
    assert_eq!(params["state"], "s1");
}

#[tokio::test]
async fn dcr_rejects_a_remote_http_redirect_uri() {
    let t = Target::start(None, LoginUi::Auto).await;
    let response = t
        .register(json!({"redirect_uris": ["http://evil.example/cb"]}))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_redirect_uri");
}

#[tokio::test]
async fn metadata_advertises_token_exchange() {
    let t = Target::start(None, LoginUi::Auto).await;
    let grants = t.metadata_json().await["grant_types_supported"].clone();
    assert!(grants.as_array().unwrap().contains(&json!(TOKEN_EXCHANGE)));
}

#[tokio::test]
async fn a_client_exchanges_tokens_of_the_resource_it_redeemed_codes_for() {
    let t = Target::start(None, LoginUi::Auto).await;
    let (id, secret, subject) = t.actor("todo:read todo:write").await;
    let (status, body) = t.exchange(Some((&id, &secret)), &subject, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(body["scope"], "todo:read");
    let claims = jwt_part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], UPSTREAM);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["act"], json!({"sub": id}));
    assert_eq!(t.running.events().token_exchanges(), 1);
}

#[tokio::test]
async fn a_registered_actor_resource_counts_in_target_mode() {
    let t = Target::start(None, LoginUi::Auto).await;
    let subject = t.tokens(&[]).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        t.exchange(Some(INTROSPECTION), &subject, &[]).await.0,
        StatusCode::BAD_REQUEST
    );
    t.running.register_actor_resource(INTROSPECTION.0, RESOURCE);
    let (status, body) = t.exchange(Some(INTROSPECTION), &subject, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// What a federated login through the suite's IdP gave the MCP client.
struct Federated {
    /// The code at the client's redirect URI, if the AS let the login through.
    code: Option<String>,
    /// Whether the client's token response carries a token the IdP issued.
    leaked: bool,
    /// The status answering the consent POST, when the consent page was reached.
    consent_status: Option<StatusCode>,
}

/// A browser's cookies (name → value), kept by hand.
#[derive(Default, Clone)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn store(&mut self, response: &Response) {
        for line in response.headers().get_all("set-cookie") {
            let line = line.to_str().unwrap();
            let (name, value) = line.split(';').next().unwrap().split_once('=').unwrap();
            self.0
                .insert(name.trim().to_owned(), value.trim().to_owned());
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The reference AS federating to the suite's IdP (an OAuth proxy), and a browser that reaches both.
struct Fed {
    t: Target,
    idp: fake_idp::idp::RunningIdp,
    browser: reqwest::Client,
}

/// The hidden `csrf_token` of the proxy's consent page.
fn csrf_token(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).expect("a CSRF token") + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

impl Fed {
    async fn start(defect: Option<AsDefect>, answer: IdpAnswer) -> Fed {
        let idp = Idp::start(IdpConfig::default()).await.unwrap();
        idp.set_answer(answer);
        let running = AsTarget::start(AsTargetConfig {
            defect,
            login: LoginUi::Form,
            upstream_idp: Some(UpstreamIdp {
                issuer: idp.issuer().to_owned(),
                client_id: IDP_CLIENT_ID.to_owned(),
                client_secret: IDP_CLIENT_SECRET.to_owned(),
                ca_pem: None,
            }),
            ..AsTargetConfig::default()
        })
        .await
        .unwrap();
        let issuer = running.issuer();
        let token_url = format!("{issuer}/token");
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .resolve(IDP_HOST, idp.addr())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap();
        Fed {
            t: Target {
                running,
                issuer,
                token_url,
            },
            idp,
            browser,
        }
    }

    /// `GET /authorize` (client `client_id`) from the browser with `jar`.
    async fn authorize(&self, jar: &mut Jar, overrides: &[(&str, &str)]) -> Response {
        let mut url = Url::parse(&self.t.url("/authorize")).unwrap();
        let challenge = challenge(VERIFIER);
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", PUBLIC_CLIENT),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("resource", RESOURCE),
            ("scope", "todo:read todo:write"),
            ("state", "xyz"),
        ];
        for (k, v) in overrides {
            params.retain(|(name, _)| name != k);
            params.push((k, v));
        }
        url.query_pairs_mut().extend_pairs(params);
        let response = self
            .browser
            .get(url)
            .header("cookie", jar.header())
            .send()
            .await
            .unwrap();
        jar.store(&response);
        response
    }

    /// Submits the consent page `page` (`approve` or `deny`) with `jar`.
    async fn consent(&self, jar: &mut Jar, page: &str, button: &str) -> Response {
        let response = self
            .browser
            .post(self.t.url("/consent"))
            .header("cookie", jar.header())
            .form(&[
                ("request", request_id(page).as_str()),
                ("csrf_token", csrf_token(page).as_str()),
                (button, button),
            ])
            .send()
            .await
            .unwrap();
        jar.store(&response);
        response
    }

    /// Logs alice in at the IdP the response `to_idp` sends the browser to; the IdP's redirect back.
    async fn idp_login(&self, to_idp: &Response) -> Response {
        let login_page = self
            .browser
            .get(location(to_idp).expect("the AS sends the user to the IdP"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        self.browser
            .post(format!("{}/login", self.idp.issuer()))
            .form(&[
                ("request", request_id(&login_page).as_str()),
                ("username", "alice"),
                ("password", "alice-password"),
                ("login", "login"),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Follows `url` (the IdP's redirect back to the AS) with `jar`.
    async fn get(&self, jar: &mut Jar, url: &str) -> Response {
        let response = self
            .browser
            .get(url)
            .header("cookie", jar.header())
            .send()
            .await
            .unwrap();
        jar.store(&response);
        response
    }

    /// A whole login with `jar`: consent approved, IdP login, callback. The consent POST's answer, the callback
    /// URL and the AS's answer to it.
    async fn login(
        &self,
        jar: &mut Jar,
        client: &str,
    ) -> (Response, Option<String>, Option<Response>) {
        let page = self.authorize(jar, &[("client_id", client)]).await;
        assert_eq!(page.status(), StatusCode::OK, "the consent page");
        let approved = self
            .consent(jar, &page.text().await.unwrap(), "approve")
            .await;
        if redirect_params(&approved).contains_key("code") {
            return (approved, None, None);
        }
        let back = self.idp_login(&approved).await;
        let url = location(&back).expect("the IdP sends the user back");
        let answer = self.get(jar, &url).await;
        (approved, Some(url), Some(answer))
    }

    /// Registers a public client by DCR.
    async fn register(&self) -> String {
        let body: Value = http()
            .post(self.t.url("/register"))
            .json(&json!({
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "client_name": "second client",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }

    /// Whether the browser's last requests sent the IdP an authorization request.
    fn idp_saw_authorize(&self) -> bool {
        self.idp
            .seen()
            .iter()
            .any(|s| matches!(s, fake_idp::idp::IdpSeen::Authorize { .. }))
    }
}

/// Whether a login through the IdP answering `answer` yields a code for the client.
async fn let_through(defect: Option<AsDefect>, answer: IdpAnswer) -> bool {
    federated(defect, answer).await.code.is_some()
}

/// A login through the proxy and the IdP answering `answer`: AS consent → IdP login → AS callback → code.
async fn federated(defect: Option<AsDefect>, answer: IdpAnswer) -> Federated {
    let f = Fed::start(defect, answer).await;
    let mut jar = Jar::default();
    let (approved, _, back) = f.login(&mut jar, PUBLIC_CLIENT).await;
    let code = match &back {
        Some(b) => redirect_params(b).remove("code"),
        None => redirect_params(&approved).remove("code"),
    };
    let mut leaked = false;
    if let Some(c) = &code {
        let (_, body) = f.t.redeem(c, &[]).await;
        let issued = f.idp.issued_tokens();
        leaked = body.as_object().is_some_and(|b| {
            b.values()
                .any(|v| v.as_str().is_some_and(|s| issued.iter().any(|i| i == s)))
        });
    }
    Federated {
        code,
        leaked,
        consent_status: Some(approved.status()),
    }
}

/// Whether the proxy hole of `probe` is open on a proxy started with `defect`.
async fn proxy_hole_open(probe: AsDefect, defect: Option<AsDefect>) -> bool {
    use AsDefect as D;
    let answer = match probe {
        D::PrxStateReusable => IdpAnswer::ReusableCode,
        _ => IdpAnswer::Honest,
    };
    let f = Fed::start(defect, answer).await;
    let mut jar = Jar::default();
    match probe {
        D::PrxNoConsent => {
            let r = f.authorize(&mut jar, &[]).await;
            location(&r).is_some_and(|l| l.starts_with(f.idp.issuer()))
        }
        D::PrxConsentNotPerClient => {
            let (_, _, back) = f.login(&mut jar, PUBLIC_CLIENT).await;
            assert!(redirect_params(&back.unwrap()).contains_key("code"));
            let other = f.register().await;
            let r = f.authorize(&mut jar, &[("client_id", &other)]).await;
            location(&r).is_some_and(|l| l.starts_with(f.idp.issuer()))
        }
        D::PrxConsentFrameable => {
            let r = f.authorize(&mut jar, &[]).await;
            assert_eq!(r.status(), StatusCode::OK);
            !r.headers().contains_key("x-frame-options")
                && !r.headers().contains_key("content-security-policy")
        }
        D::PrxConsentNoCsrf => {
            let page = f.authorize(&mut jar, &[]).await.text().await.unwrap();
            let mut victim = Jar::default();
            let r = f.consent(&mut victim, &page, "approve").await;
            location(&r).is_some_and(|l| l.starts_with(f.idp.issuer()))
        }
        D::PrxConsentAnonymous => {
            let page = f.authorize(&mut jar, &[]).await.text().await.unwrap();
            !page.contains(REDIRECT)
        }
        D::PrxConsentCookieWeak => {
            let page = f.authorize(&mut jar, &[]).await.text().await.unwrap();
            let approved = f.consent(&mut jar, &page, "approve").await;
            approved.headers().get_all("set-cookie").iter().any(|l| {
                l.to_str().unwrap().starts_with("fake_idp_consent=")
                    && !l.to_str().unwrap().contains("HttpOnly")
            })
        }
        D::PrxRedirectPrefixMatch => {
            let changed = "http://127.0.0.1/callback/changed";
            let r = f.authorize(&mut jar, &[("redirect_uri", changed)]).await;
            r.status() == StatusCode::OK
        }
        D::PrxStateReusable => {
            let (_, url, back) = f.login(&mut jar, PUBLIC_CLIENT).await;
            assert!(redirect_params(&back.unwrap()).contains_key("code"));
            let again = f.get(&mut jar, &url.unwrap()).await;
            redirect_params(&again).contains_key("code")
        }
        D::PrxStateBeforeConsent => {
            // The attacker's consent page (never approved) shows the parked request id; a victim brings it to the
            // IdP as state and follows the redirect back with its own (empty) cookies.
            let page = f.authorize(&mut jar, &[]).await.text().await.unwrap();
            let mut idp_url = Url::parse(&format!("{}/authorize", f.idp.issuer())).unwrap();
            idp_url
                .query_pairs_mut()
                .append_pair("client_id", IDP_CLIENT_ID)
                .append_pair("response_type", "code")
                .append_pair("redirect_uri", &f.t.url("/idp/callback"))
                .append_pair("state", &request_id(&page));
            let back = f.idp_login_at(idp_url.as_str()).await;
            let mut victim = Jar::default();
            let answer = f.get(&mut victim, &location(&back).unwrap()).await;
            assert!(f.idp_saw_authorize());
            redirect_params(&answer).contains_key("code")
        }
        other => panic!("{other} is not a proxy defect"),
    }
}

impl Fed {
    /// Logs alice in at the IdP authorization URL `url`; the IdP's redirect back.
    async fn idp_login_at(&self, url: &str) -> Response {
        let login_page = self
            .browser
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        self.browser
            .post(format!("{}/login", self.idp.issuer()))
            .form(&[
                ("request", request_id(&login_page).as_str()),
                ("username", "alice"),
                ("password", "alice-password"),
                ("login", "login"),
            ])
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn the_proxy_shows_its_consent_page_before_any_upstream_hop() {
    let f = Fed::start(None, IdpAnswer::Honest).await;
    let r = f.authorize(&mut Jar::default(), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let page = r.text().await.unwrap();
    assert!(page.contains(PUBLIC_CLIENT) && page.contains(REDIRECT) && page.contains("todo:write"));
    assert!(!f.idp_saw_authorize());
}

#[tokio::test]
async fn a_remembered_consent_skips_the_page_for_that_client_only() {
    let f = Fed::start(None, IdpAnswer::Honest).await;
    let mut jar = Jar::default();
    f.login(&mut jar, PUBLIC_CLIENT).await;
    let again = f.authorize(&mut jar, &[]).await;
    assert!(location(&again).is_some_and(|l| l.starts_with(f.idp.issuer())));
    let other = f.register().await;
    let r = f.authorize(&mut jar, &[("client_id", &other)]).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a new client gets the consent page"
    );
}

#[tokio::test]
async fn an_honest_federated_login_yields_a_code_and_keeps_the_idps_tokens() {
    let outcome = federated(None, IdpAnswer::Honest).await;
    assert!(outcome.code.is_some());
    assert!(!outcome.leaked);
}

#[tokio::test]
async fn federating_login_redirect_307_answers_the_consent_post_with_307() {
    let compliant = federated(None, IdpAnswer::Honest).await;
    assert_eq!(compliant.consent_status, Some(StatusCode::SEE_OTHER));
    let defective = federated(Some(AsDefect::LoginRedirect307), IdpAnswer::Honest).await;
    assert_eq!(
        defective.consent_status,
        Some(StatusCode::TEMPORARY_REDIRECT)
    );
}
