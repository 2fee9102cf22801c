//! On-behalf-of delegation over real loopback HTTP (docs/design/obo.md §1–2): RFC 8693 token
//! exchange at the plain fake AS, and the strict fake upstream API. One behaviour per test.

use std::net::SocketAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use fake_idp::danger::{HmacKeyForm, TokenMutation};
use fake_idp::{Audience, FakeIdp, FakeIdpError, RegisteredClient, TokenSpec, UpstreamApi, Users};
use reqwest::StatusCode;
use rstest::rstest;
use serde_json::{json, Value};

mod common;
use common::http;

const MCP: &str = "http://127.0.0.1:3000/mcp";
const ACTOR: (&str, &str) = ("todo-server", "todo-server-test-secret");
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

fn claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// The fake world (with `todo-server` serving `MCP`) and an upstream trusting it.
struct Obo {
    world: FakeIdp,
    upstream: UpstreamApi,
}

impl Obo {
    async fn start() -> Obo {
        let world = FakeIdp::builder().seed(5).start().await.unwrap();
        world.register_actor_resource(ACTOR.0, MCP);
        let upstream = UpstreamApi::start(world.issuer(), world.public_jwks(), loopback())
            .await
            .unwrap();
        Obo { world, upstream }
    }

    fn spec(&self, user: &str) -> TokenSpec {
        let users = Users::fixture();
        TokenSpec::for_user(users.get(user).unwrap(), MCP, "conformance-client")
    }

    /// An honest token of `user` for the MCP server.
    fn user_token(&self, user: &str) -> String {
        self.world.minter().mint(&self.spec(user))
    }

    /// Exchanges `subject` for the upstream with `scope`, authenticated as `auth` (Basic).
    async fn exchange_as(
        &self,
        auth: Option<(&str, &str)>,
        subject: &str,
        scope: Option<&str>,
    ) -> (StatusCode, Value) {
        let resource = self.upstream.resource();
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("audience", resource.as_str()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let mut request = http().post(self.world.token_endpoint()).form(&form);
        if let Some((id, secret)) = auth {
            request = request.basic_auth(id, Some(secret));
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn exchange(&self, subject: &str, scope: Option<&str>) -> (StatusCode, Value) {
        self.exchange_as(Some(ACTOR), subject, scope).await
    }

    /// The exchanged access token of `user` with `scope` (asserting success).
    async fn exchanged(&self, user: &str, scope: &str) -> String {
        let (status, body) = self.exchange(&self.user_token(user), Some(scope)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.upstream.resource())
    }

    async fn digest(&self, token: &str) -> reqwest::Response {
        http()
            .get(self.url("/digest"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn send(&self, token: &str) -> reqwest::Response {
        http()
            .post(self.url("/send"))
            .bearer_auth(token)
            .json(&json!({"to": "carol@example.test", "body": "hello"}))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn exchange_issues_an_upstream_token_for_the_user_acted_by_the_server() {
    let o = Obo::start().await;
    let subject = o.user_token("alice");
    let (status, body) = o.exchange(&subject, Some("todo:read admin")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "todo:read");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    let issued = claims(body["access_token"].as_str().unwrap());
    assert_eq!(issued["aud"], json!(o.upstream.resource()));
    assert_eq!(issued["sub"], "alice");
    assert_eq!(issued["act"], json!({"sub": ACTOR.0}));
    assert_eq!(issued["client_id"], ACTOR.0);
    assert_eq!(issued["scope"], "todo:read");
    assert_eq!(issued["iss"], json!(o.world.issuer()));
    assert!(issued["exp"].as_i64() <= claims(&subject)["exp"].as_i64());
    assert_eq!(o.world.events().token_exchanges(), 1);
}

#[tokio::test]
async fn exchange_without_scope_keeps_the_subjects_scope() {
    let o = Obo::start().await;
    let (status, body) = o.exchange(&o.user_token("alice"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "todo:read todo:write");
}

#[tokio::test]
async fn exchange_by_resource_parameter_sets_the_audience() {
    let o = Obo::start().await;
    let subject = o.user_token("alice");
    let resource = o.upstream.resource();
    let response = http()
        .post(o.world.token_endpoint())
        .basic_auth(ACTOR.0, Some(ACTOR.1))
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject.as_str()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("resource", resource.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["aud"],
        json!(resource)
    );
}

#[derive(Debug, Clone, Copy)]
enum BadSubject {
    Expired,
    Revoked,
    Forged,
    OtherResource,
}

#[rstest]
#[case::expired(BadSubject::Expired)]
#[case::revoked(BadSubject::Revoked)]
#[case::forged(BadSubject::Forged)]
#[case::for_another_resource(BadSubject::OtherResource)]
#[tokio::test]
async fn an_unusable_subject_token_is_invalid_grant(#[case] bad: BadSubject) {
    let o = Obo::start().await;
    let spec = o.spec("alice");
    let subject = match bad {
        BadSubject::Expired => o.world.forge().forge(&spec, &TokenMutation::Expired),
        BadSubject::Revoked => {
            let token = o.user_token("alice");
            o.world.revoke(&token);
            token
        }
        BadSubject::Forged => o
            .world
            .forge()
            .forge(&spec, &TokenMutation::AttackerKeyRealKid),
        BadSubject::OtherResource => {
            let mut other = spec.clone();
            other.audience = Audience::One("http://127.0.0.1:3001/other".into());
            o.world.minter().mint(&other)
        }
    };
    let (status, body) = o.exchange(&subject, Some("todo:read")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(o.world.events().token_exchanges(), 0);
}

#[rstest]
#[case::no_authentication(None)]
#[case::wrong_secret(Some(("todo-server", "wrong")))]
#[case::unknown_client(Some(("nobody", "secret")))]
#[tokio::test]
async fn exchange_without_client_authentication_is_invalid_client(
    #[case] auth: Option<(&str, &str)>,
) {
    let o = Obo::start().await;
    let (status, body) = o
        .exchange_as(auth, &o.user_token("alice"), Some("todo:read"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn a_public_client_cannot_exchange() {
    let o = Obo::start().await;
    let subject = o.user_token("alice");
    let resource = o.upstream.resource();
    let response = http()
        .post(o.world.token_endpoint())
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("client_id", "conformance-client"),
            ("subject_token", subject.as_str()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("audience", resource.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_actor_not_serving_the_subjects_resource_is_refused() {
    let o = Obo::start().await;
    o.world.register_client(RegisteredClient::confidential(
        "other-server",
        "other-secret",
        Vec::new(),
    ));
    let (status, body) = o
        .exchange_as(
            Some(("other-server", "other-secret")),
            &o.user_token("alice"),
            Some("todo:read"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn scope_beyond_the_subject_is_reduced_to_the_intersection() {
    let o = Obo::start().await;
    let (status, body) = o
        .exchange(&o.user_token("bob"), Some("todo:read todo:write"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "todo:read");
}

#[tokio::test]
async fn scope_entirely_beyond_the_subject_is_invalid_scope() {
    let o = Obo::start().await;
    let (status, body) = o.exchange(&o.user_token("bob"), Some("todo:write")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_scope");
}

#[tokio::test]
async fn a_wrong_subject_token_type_is_invalid_request() {
    let o = Obo::start().await;
    let subject = o.user_token("alice");
    let response = http()
        .post(o.world.token_endpoint())
        .basic_auth(ACTOR.0, Some(ACTOR.1))
        .form(&[
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", subject.as_str()),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
            ("audience", "http://127.0.0.1:1/api"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn metadata_lists_the_token_exchange_grant() {
    let o = Obo::start().await;
    for url in [
        o.world.metadata_url(),
        format!("{}/.well-known/openid-configuration", o.world.issuer()),
    ] {
        let meta: Value = http().get(url).send().await.unwrap().json().await.unwrap();
        let grants = meta["grant_types_supported"].as_array().unwrap();
        assert!(grants.contains(&json!(TOKEN_EXCHANGE)));
        assert!(grants.contains(&json!("authorization_code")));
    }
}

#[tokio::test]
async fn public_jwks_is_what_the_jwks_endpoint_serves() {
    let o = Obo::start().await;
    let served: Value = http()
        .get(o.world.jwks_uri())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, o.world.public_jwks());
}

#[tokio::test]
async fn upstream_resource_is_its_loopback_api_url() {
    let o = Obo::start().await;
    assert_eq!(
        o.upstream.resource(),
        format!("http://127.0.0.1:{}/api", o.upstream.addr().port())
    );
}

#[tokio::test]
async fn upstream_refuses_a_non_loopback_bind() {
    let world = FakeIdp::builder().start().await.unwrap();
    let bind: SocketAddr = "0.0.0.0:0".parse().unwrap();
    let err = UpstreamApi::start(world.issuer(), world.public_jwks(), bind)
        .await
        .unwrap_err();
    assert!(matches!(err, FakeIdpError::NotLoopback(_)));
}

#[tokio::test]
async fn upstream_accepts_an_exchanged_token_for_the_digest() {
    let o = Obo::start().await;
    let token = o.exchanged("alice", "todo:read").await;
    let response = o.digest(&token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], "alice");
    let requests = o.upstream.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].status, 200);
    assert_eq!(requests[0].token.as_deref(), Some(token.as_str()));
    assert_eq!(requests[0].claims.as_ref().unwrap()["act"]["sub"], ACTOR.0);
}

#[tokio::test]
async fn upstream_refuses_the_users_own_token_but_records_it() {
    let o = Obo::start().await;
    let user_token = o.user_token("alice");
    let response = o.digest(&user_token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let requests = o.upstream.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].status, 401);
    assert_eq!(requests[0].token.as_deref(), Some(user_token.as_str()));
    assert_eq!(requests[0].claims.as_ref().unwrap()["aud"], MCP);
}

#[tokio::test]
async fn upstream_refuses_a_read_scoped_token_on_send_with_403() {
    let o = Obo::start().await;
    let token = o.exchanged("alice", "todo:read").await;
    let response = o.send(&token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    assert_eq!(o.upstream.requests()[0].status, 403);
}

#[tokio::test]
async fn upstream_accepts_a_write_scoped_token_on_send_with_201() {
    let o = Obo::start().await;
    let token = o.exchanged("alice", "todo:write").await;
    assert_eq!(o.send(&token).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn upstream_without_a_token_is_401() {
    let o = Obo::start().await;
    let response = http().get(o.url("/digest")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let requests = o.upstream.requests();
    assert_eq!(requests[0].token, None);
    assert_eq!(requests[0].claims, None);
}

#[rstest]
#[case::expired(TokenMutation::Expired)]
#[case::not_yet_valid(TokenMutation::NotYetValid)]
#[case::attacker_key(TokenMutation::AttackerKeyRealKid)]
#[case::alg_none(TokenMutation::AlgNone("none".into()))]
#[case::hs256_key_confusion(TokenMutation::Hs256WithPublicKey(HmacKeyForm::Pem))]
#[case::wrong_issuer(TokenMutation::Issuer("http://127.0.0.1:1".into()))]
#[case::no_audience(TokenMutation::Audience(Audience::Absent))]
#[case::bit_flip(TokenMutation::SignatureBitFlip)]
#[tokio::test]
async fn upstream_refuses_a_hostile_token(#[case] mutation: TokenMutation) {
    let o = Obo::start().await;
    let users = Users::fixture();
    let spec = TokenSpec::for_user(
        users.get("alice").unwrap(),
        o.upstream.resource(),
        "todo-server",
    );
    let token = o.world.forge().forge(&spec, &mutation);
    assert_eq!(o.digest(&token).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn upstream_accepts_an_honest_token_with_an_audience_list() {
    let o = Obo::start().await;
    let users = Users::fixture();
    let mut spec = TokenSpec::for_user(
        users.get("alice").unwrap(),
        o.upstream.resource(),
        "todo-server",
    );
    spec.audience = Audience::Many(vec![MCP.to_owned(), o.upstream.resource()]);
    let token = o.world.minter().mint(&spec);
    assert_eq!(o.digest(&token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn upstream_records_headers_body_and_query() {
    let o = Obo::start().await;
    let token = o.exchanged("alice", "todo:write").await;
    let response = http()
        .post(format!("{}?draft=1&lang=en", o.url("/send")))
        .bearer_auth(&token)
        .header("x-request-id", "req-42")
        .json(&json!({"to": "carol@example.test", "body": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        o.upstream
            .wait_for_requests(1, Duration::from_secs(5))
            .await
    );
    let request = &o.upstream.requests()[0];
    assert_eq!(request.seq, 0);
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/send");
    assert_eq!(request.query, "draft=1&lang=en");
    assert_eq!(request.header("x-request-id"), Some("req-42"));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(
        serde_json::from_str::<Value>(&request.body).unwrap(),
        json!({"to": "carol@example.test", "body": "hi"})
    );
    assert_eq!(request.status, 201);
    assert!(!format!("{request:?}").contains(&token), "Debug redacts");
}
