//! The client-role world over real loopback HTTP: one behaviour per test.

use std::time::Duration;

use fake_idp::{
    AsConfig, ClientWorld, IssMode, LoggedRequest, McpConfig, MetadataLocation, Origin,
    PreRegistered, PrmConfig, PrmLocation, RequestKind, StateMode, WorldConfig, WorldError,
};
use reqwest::{Client, Response, StatusCode};
use rstest::rstest;
use serde_json::{json, Value};
use url::Url;

mod common;
use common::challenge;

const REDIRECT: &str = "http://127.0.0.1:45678/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CIMD_URL: &str = "https://client.conformance.test/client.json";
const PUBLIC_CLIENT: &str = "pre-public";

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}})
}

fn tools_call() -> Value {
    json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_todos", "arguments": {}}})
}

fn tools_list() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
}

fn public_client() -> PreRegistered {
    PreRegistered {
        client_id: PUBLIC_CLIENT.to_owned(),
        client_secret: None,
        redirect_uris: vec!["http://127.0.0.1/callback".to_owned()],
        auth_method: "none".to_owned(),
    }
}

/// A world with the public pre-registered client added to `config`.
async fn start(mut config: WorldConfig) -> ClientWorld {
    config.pre_registered.push(public_client());
    ClientWorld::start(config).await.unwrap()
}

fn www_authenticate(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn param(challenge: &str, name: &str) -> Option<String> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let len = challenge[start..].find('"')?;
    Some(challenge[start..start + len].to_owned())
}

fn location(response: &Response) -> Url {
    assert_eq!(response.status(), StatusCode::FOUND);
    Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The tokens of one grant.
struct Tokens {
    client_id: String,
    access: String,
    refresh: String,
}

/// The tiny test client: speaks to one world without following redirects.
struct TestClient<'w> {
    world: &'w ClientWorld,
    http: Client,
}

impl<'w> TestClient<'w> {
    fn new(world: &'w ClientWorld) -> TestClient<'w> {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        TestClient { world, http }
    }

    async fn get(&self, url: &str) -> Response {
        self.http.get(url).send().await.unwrap()
    }

    async fn mcp(&self, token: Option<&str>, body: &Value) -> Response {
        let mut request = self
            .http
            .post(self.world.mcp_url())
            .header("accept", "application/json, text/event-stream")
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    async fn register(&self, i: usize) -> String {
        let response = self
            .http
            .post(format!("{}/register", self.world.issuer(i)))
            .json(&json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "client_name": "t"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }

    async fn authorize(&self, i: usize, params: &[(&str, &str)]) -> Response {
        let mut url = Url::parse(&format!("{}/authorize", self.world.issuer(i))).unwrap();
        url.query_pairs_mut().extend_pairs(params);
        self.get(url.as_str()).await
    }

    /// An authorization request with PKCE S256, `resource` = the MCP URL and `state=xyz`.
    async fn authorize_as(&self, i: usize, client_id: &str, scope: Option<&str>) -> Response {
        let challenge = challenge(VERIFIER);
        let mcp_url = self.world.mcp_url();
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("resource", mcp_url.as_str()),
            ("state", "xyz"),
        ];
        if let Some(scope) = scope {
            params.push(("scope", scope));
        }
        self.authorize(i, &params).await
    }

    async fn token(&self, i: usize, form: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}/token", self.world.issuer(i)))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn exchange(&self, i: usize, client_id: &str, code: &str) -> Response {
        let mcp_url = self.world.mcp_url();
        self.token(
            i,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", client_id),
                ("resource", &mcp_url),
            ],
        )
        .await
    }

    async fn refresh(
        &self,
        i: usize,
        client_id: &str,
        refresh: &str,
        scope: Option<&str>,
    ) -> Response {
        let mcp_url = self.world.mcp_url();
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", client_id),
            ("resource", mcp_url.as_str()),
        ];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.token(i, &form).await
    }

    /// Authorization code + PKCE at AS `i` for `client_id`, then the token exchange.
    async fn grant(&self, i: usize, client_id: &str, scope: Option<&str>) -> Tokens {
        let redirect = location(&self.authorize_as(i, client_id, scope).await);
        let code = query(&redirect, "code").expect("a code in the redirect");
        let response = self.exchange(i, client_id, &code).await;
        assert_eq!(response.status(), StatusCode::OK);
        tokens_of(client_id, response).await
    }
}

async fn tokens_of(client_id: &str, response: Response) -> Tokens {
    let body: Value = response.json().await.unwrap();
    Tokens {
        client_id: client_id.to_owned(),
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

fn kinds(log: &[LoggedRequest]) -> Vec<RequestKind> {
    log.iter().map(|r| r.kind.clone()).collect()
}

#[tokio::test]
async fn default_world_completes_a_dcr_and_pkce_flow() {
    let world = ClientWorld::start(WorldConfig::default()).await.unwrap();
    let client = TestClient::new(&world);
    let unauthenticated = client.mcp(None, &initialize()).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let header = www_authenticate(&unauthenticated);
    let prm_url = param(&header[0], "resource_metadata").expect("header names the PRM");
    assert_eq!(prm_url, world.prm_url(&PrmLocation::PathInserted));
    let prm: Value = client.get(&prm_url).await.json().await.unwrap();
    assert_eq!(prm["resource"], world.mcp_url());
    assert_eq!(prm["scopes_supported"], json!(["todo:read", "todo:write"]));
    let issuer = prm["authorization_servers"][0].as_str().unwrap().to_owned();
    assert_eq!(issuer, world.issuer(0));
    let metadata: Value = client
        .get(&format!("{issuer}/.well-known/oauth-authorization-server"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["authorization_response_iss_parameter_supported"],
        json!(true)
    );
    assert!(metadata
        .get("client_id_metadata_document_supported")
        .is_none());
    let client_id = client.register(0).await;
    let redirect = location(&client.authorize_as(0, &client_id, Some("todo:read")).await);
    assert_eq!(query(&redirect, "state").as_deref(), Some("xyz"));
    assert_eq!(query(&redirect, "iss"), Some(issuer));
    let response = client
        .exchange(0, &client_id, &query(&redirect, "code").unwrap())
        .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let tokens = tokens_of(&client_id, response).await;
    assert_eq!(tokens.access.len(), 43);
    let init = client.mcp(Some(&tokens.access), &initialize()).await;
    assert_eq!(init.status(), StatusCode::OK);
    assert!(init.headers().contains_key("mcp-session-id"));
    let call = client.mcp(Some(&tokens.access), &tools_call()).await;
    assert_eq!(call.status(), StatusCode::OK);
    let log = world.log();
    assert_eq!(
        kinds(&log)[..6],
        [
            RequestKind::Mcp {
                method: Some("initialize".into()),
                token: None,
                token_issuer: None,
                token_valid: false
            },
            RequestKind::Prm(PrmLocation::PathInserted),
            RequestKind::AsMetadata(MetadataLocation::Rfc8414Root),
            RequestKind::Register,
            RequestKind::Authorize,
            RequestKind::Token {
                grant_type: "authorization_code".into()
            },
        ]
    );
    assert_eq!(
        log[7].kind,
        RequestKind::Mcp {
            method: Some("tools/call".into()),
            token: Some(tokens.access.clone()),
            token_issuer: Some(0),
            token_valid: true
        }
    );
    assert!(log
        .iter()
        .enumerate()
        .all(|(i, r)| r.seq == i && r.status != 0));
    assert_eq!(log[1].origin, Origin::Mcp);
    assert_eq!(log[2].origin, Origin::As(0));
    world.shutdown().await;
}

#[tokio::test]
async fn a_persona_as_issues_its_jwt_access_tokens_which_the_mcp_server_accepts() {
    let mut config = WorldConfig::default();
    config.auth_servers[0].persona = fake_idp::Persona::Scalekit {
        resource_id: "res_todo".into(),
        issuer_form: fake_idp::ScalekitIssuer::Environment,
    };
    let world = ClientWorld::start(config).await.unwrap();
    let client = TestClient::new(&world);
    let client_id = client.register(0).await;
    let tokens = client.grant(0, &client_id, Some("todo:read")).await;
    let claims: Value = {
        use base64::Engine as _;
        let part = tokens.access.split('.').nth(1).expect("a JWT");
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["aud"], json!(["res_todo"]));
    assert_eq!(claims["iss"], world.issuer(0));
    assert_eq!(claims["scope"], "todo:read");
    assert_eq!(claims["client_id"], client_id.as_str());
    let call = client.mcp(Some(&tokens.access), &initialize()).await;
    assert_eq!(call.status(), StatusCode::OK);
}

#[tokio::test]
async fn streamable_http_answers_notifications_get_and_delete() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let tokens = client.grant(0, PUBLIC_CLIENT, None).await;
    let notification = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        client
            .mcp(Some(&tokens.access), &notification)
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let list: Value = client
        .mcp(
            Some(&tokens.access),
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["list_todos", "create_todo"]);
    let get = client
        .http
        .get(world.mcp_url())
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let delete = client
        .http
        .delete(world.mcp_url())
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::OK);
}

#[tokio::test]
async fn path_issuer_metadata_is_served_only_where_configured_and_traps_are_logged() {
    let world = start(WorldConfig {
        auth_servers: vec![AsConfig {
            issuer_path: "/tenant1".into(),
            metadata_at: vec![MetadataLocation::Rfc8414PathInserted],
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let origin = world.origin_of(Origin::As(0));
    assert_eq!(world.issuer(0), format!("{origin}/tenant1"));
    let served = client
        .get(&format!(
            "{origin}/.well-known/oauth-authorization-server/tenant1"
        ))
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    let doc: Value = served.json().await.unwrap();
    assert_eq!(doc["issuer"], world.issuer(0));
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{origin}/tenant1/authorize")
    );
    for trap in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration/tenant1",
        "/tenant1/.well-known/openid-configuration",
        "/.well-known/openid-configuration",
    ] {
        assert_eq!(
            client.get(&format!("{origin}{trap}")).await.status(),
            StatusCode::NOT_FOUND,
            "{trap}"
        );
    }
    let log = world.log();
    assert_eq!(
        log[0].kind,
        RequestKind::AsMetadata(MetadataLocation::Rfc8414PathInserted)
    );
    assert!(log[1..]
        .iter()
        .all(|r| r.kind == RequestKind::AsMetadataTrap && r.status == 404));
    let redirect = location(&client.authorize_as(0, PUBLIC_CLIENT, None).await);
    assert_eq!(query(&redirect, "iss"), Some(world.issuer(0)));
}

#[tokio::test]
async fn oidc_metadata_carries_the_oidc_members_and_a_jwks() {
    let world = start(WorldConfig {
        auth_servers: vec![AsConfig {
            metadata_at: vec![MetadataLocation::OidcRoot],
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let doc: Value = client
        .get(&world.metadata_url(0, MetadataLocation::OidcRoot))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    let jwks: Value = client
        .get(doc["jwks_uri"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    let rfc8414 = client
        .get(&world.metadata_url(0, MetadataLocation::Rfc8414Root))
        .await;
    assert_eq!(rfc8414.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn extra_scopes_are_listed_by_the_as_metadata_but_not_by_the_prm() {
    let world = start(WorldConfig {
        auth_servers: vec![AsConfig {
            extra_scopes_supported: vec!["offline_access".into()],
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let doc: Value = client
        .get(&world.metadata_url(0, MetadataLocation::Rfc8414Root))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        doc["scopes_supported"],
        json!(["todo:read", "todo:write", "offline_access"])
    );
    let prm: Value = client
        .get(&world.prm_url(&PrmLocation::PathInserted))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(prm["scopes_supported"], json!(["todo:read", "todo:write"]));
}

#[tokio::test]
async fn metadata_patch_removes_a_member() {
    let world = start(WorldConfig {
        auth_servers: vec![AsConfig {
            metadata_patch: json!({"code_challenge_methods_supported": null}),
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let doc: Value = client
        .get(&world.metadata_url(0, MetadataLocation::Rfc8414Root))
        .await
        .json()
        .await
        .unwrap();
    assert!(doc.get("code_challenge_methods_supported").is_none());
    assert_eq!(doc["issuer"], world.issuer(0));
}

#[tokio::test]
async fn plain_pkce_is_refused_unless_the_patch_advertises_it() {
    let strict = start(WorldConfig::default()).await;
    let lenient = start(WorldConfig {
        auth_servers: vec![AsConfig {
            metadata_patch: json!({"code_challenge_methods_supported": ["plain"]}),
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    for (world, accepted) in [(&strict, false), (&lenient, true)] {
        let client = TestClient::new(world);
        let redirect = location(
            &client
                .authorize(
                    0,
                    &[
                        ("response_type", "code"),
                        ("client_id", PUBLIC_CLIENT),
                        ("redirect_uri", REDIRECT),
                        ("code_challenge", VERIFIER),
                        ("code_challenge_method", "plain"),
                    ],
                )
                .await,
        );
        assert_eq!(query(&redirect, "code").is_some(), accepted);
        if !accepted {
            assert_eq!(
                query(&redirect, "error").as_deref(),
                Some("invalid_request")
            );
        }
    }
}

#[tokio::test]
async fn missing_pkce_redirects_with_invalid_request() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let redirect = location(
        &client
            .authorize(
                0,
                &[
                    ("response_type", "code"),
                    ("client_id", PUBLIC_CLIENT),
                    ("redirect_uri", REDIRECT),
                    ("state", "s"),
                ],
            )
            .await,
    );
    assert_eq!(
        query(&redirect, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query(&redirect, "state").as_deref(), Some("s"));
}

#[tokio::test]
async fn bad_client_or_redirect_uri_gets_400_never_a_redirect() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let unknown = client.authorize_as(0, "nobody", None).await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let challenge = challenge(VERIFIER);
    let wrong_redirect = client
        .authorize(
            0,
            &[
                ("response_type", "code"),
                ("client_id", PUBLIC_CLIENT),
                ("redirect_uri", "http://127.0.0.1:1/elsewhere"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(wrong_redirect.status(), StatusCode::BAD_REQUEST);
    assert!(wrong_redirect.headers().get("location").is_none());
}

#[tokio::test]
async fn the_first_authorizations_can_be_rejected() {
    let world = start(WorldConfig {
        auth_servers: vec![AsConfig {
            reject_first_authorizations: 1,
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let first = location(&client.authorize_as(0, PUBLIC_CLIENT, None).await);
    assert_eq!(query(&first, "error").as_deref(), Some("invalid_request"));
    let second = location(&client.authorize_as(0, PUBLIC_CLIENT, None).await);
    assert!(query(&second, "code").is_some());
}

#[tokio::test]
async fn prm_is_served_at_the_configured_locations_and_the_header_names_one() {
    let custom = PrmLocation::Custom("/custom/metadata/location.json".into());
    let world = start(WorldConfig {
        mcp: McpConfig {
            prm: PrmConfig {
                locations: vec![PrmLocation::Root, custom.clone()],
                header: Some(custom.clone()),
                ..PrmConfig::default()
            },
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let unauthenticated = client.mcp(None, &initialize()).await;
    assert_eq!(
        www_authenticate(&unauthenticated),
        [format!(
            "Bearer resource_metadata=\"{}\"",
            world.prm_url(&custom)
        )]
    );
    assert_eq!(
        client.get(&world.prm_url(&custom)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        client
            .get(&world.prm_url(&PrmLocation::Root))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        client
            .get(&world.prm_url(&PrmLocation::PathInserted))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        kinds(&world.log())[1..],
        [
            RequestKind::Prm(custom),
            RequestKind::Prm(PrmLocation::Root),
            RequestKind::PrmTrap
        ]
    );
}

#[tokio::test]
async fn challenge_without_header_location_is_bare_and_scope_is_substituted() {
    let bare = start(WorldConfig {
        mcp: McpConfig {
            prm: PrmConfig {
                header: None,
                ..PrmConfig::default()
            },
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    })
    .await;
    let response = TestClient::new(&bare).mcp(None, &initialize()).await;
    assert_eq!(www_authenticate(&response), ["Bearer"]);
    let scripted = start(WorldConfig {
        mcp: McpConfig {
            challenge_lines: vec![
                "Bearer realm=\"x\", resource_metadata=\"{prm_url}\", scope=\"{scope}\"".into(),
            ],
            challenge_scope: Some("todo:read x:special".into()),
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    })
    .await;
    let response = TestClient::new(&scripted).mcp(None, &initialize()).await;
    let line = &www_authenticate(&response)[0];
    assert_eq!(param(line, "scope").as_deref(), Some("todo:read x:special"));
    assert_eq!(
        param(line, "resource_metadata"),
        Some(scripted.prm_url(&PrmLocation::PathInserted))
    );
}

#[tokio::test]
async fn decoy_as_metadata_and_authorize_are_logged() {
    let world = start(WorldConfig {
        mcp: McpConfig {
            decoy_as_metadata: true,
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let origin = world.origin_of(Origin::Mcp);
    let decoy: Value = client
        .get(&format!("{origin}/.well-known/oauth-authorization-server"))
        .await
        .json()
        .await
        .unwrap();
    let authorize = client
        .get(decoy["authorization_endpoint"].as_str().unwrap())
        .await;
    assert_eq!(authorize.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        kinds(&world.log()),
        [RequestKind::DecoyAsMetadata, RequestKind::DecoyAuthorize]
    );
}

#[rstest]
#[case::correct(IssMode::Correct, None)]
#[case::omit(IssMode::Omit, None)]
#[case::wrong(IssMode::Wrong("https://evil.example".into()), Some("https://evil.example"))]
#[case::trailing_slash(IssMode::TrailingSlash, None)]
#[tokio::test]
async fn iss_mode_shapes_the_redirect(#[case] mode: IssMode, #[case] wrong: Option<&str>) {
    let world = start(WorldConfig {
        auth_servers: vec![AsConfig {
            iss: mode.clone(),
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    let redirect = location(
        &TestClient::new(&world)
            .authorize_as(0, PUBLIC_CLIENT, None)
            .await,
    );
    let expected = match mode {
        IssMode::Correct => Some(world.issuer(0)),
        IssMode::Omit => None,
        IssMode::Wrong(_) => wrong.map(str::to_owned),
        IssMode::TrailingSlash => Some(format!("{}/", world.issuer(0))),
    };
    assert_eq!(query(&redirect, "iss"), expected);
}

#[rstest]
#[case::echo(StateMode::Echo, Some("xyz"))]
#[case::altered(StateMode::Altered, Some("xyz-altered"))]
#[case::omit(StateMode::Omit, None)]
#[tokio::test]
async fn state_mode_shapes_the_redirect(#[case] mode: StateMode, #[case] expected: Option<&str>) {
    let world = start(WorldConfig {
        auth_servers: vec![AsConfig {
            state: mode,
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    let redirect = location(
        &TestClient::new(&world)
            .authorize_as(0, PUBLIC_CLIENT, None)
            .await,
    );
    assert_eq!(query(&redirect, "state").as_deref(), expected);
    assert!(query(&redirect, "code").is_some());
}

#[tokio::test]
async fn step_up_gets_a_403_insufficient_scope_challenge() {
    let world = start(WorldConfig {
        mcp: McpConfig {
            challenge_scope: Some("todo:read".into()),
            operation_scope: Some("todo:write".into()),
            step_up_scope: Some("todo:read todo:write".into()),
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let read = client.grant(0, PUBLIC_CLIENT, Some("todo:read")).await;
    assert_eq!(
        client.mcp(Some(&read.access), &initialize()).await.status(),
        StatusCode::OK
    );
    let forbidden = client.mcp(Some(&read.access), &tools_call()).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let line = &www_authenticate(&forbidden)[0];
    assert!(
        line.starts_with("Bearer error=\"insufficient_scope\""),
        "{line}"
    );
    assert_eq!(
        param(line, "scope").as_deref(),
        Some("todo:read todo:write")
    );
    assert_eq!(
        param(line, "resource_metadata"),
        Some(world.prm_url(&PrmLocation::PathInserted))
    );
    let write = client
        .grant(0, PUBLIC_CLIENT, Some("todo:read todo:write"))
        .await;
    assert_eq!(
        client
            .mcp(Some(&write.access), &tools_call())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_operation_scope_guards_tools_list_as_well_as_tools_call() {
    let world = start(WorldConfig {
        mcp: McpConfig {
            operation_scope: Some("todo:write".into()),
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let read = client.grant(0, PUBLIC_CLIENT, Some("todo:read")).await;
    assert_eq!(
        client.mcp(Some(&read.access), &initialize()).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        client.mcp(Some(&read.access), &tools_list()).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn always_forbid_answers_403_whatever_the_token() {
    let world = start(WorldConfig {
        mcp: McpConfig {
            always_forbid_operations: true,
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let tokens = client
        .grant(0, PUBLIC_CLIENT, Some("todo:read todo:write"))
        .await;
    assert_eq!(
        client
            .mcp(Some(&tokens.access), &tools_call())
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn expire_token_after_forces_401_invalid_token() {
    let world = start(WorldConfig {
        mcp: McpConfig {
            expire_token_after: Some(2),
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let tokens = client.grant(0, PUBLIC_CLIENT, None).await;
    for _ in 0..2 {
        assert_eq!(
            client
                .mcp(Some(&tokens.access), &initialize())
                .await
                .status(),
            StatusCode::OK
        );
    }
    let expired = client.mcp(Some(&tokens.access), &tools_call()).await;
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let line = &www_authenticate(&expired)[0];
    assert_eq!(param(line, "error").as_deref(), Some("invalid_token"));
    assert!(matches!(
        world.log().last().unwrap().kind,
        RequestKind::Mcp {
            token_valid: false,
            token_issuer: Some(0),
            ..
        }
    ));
}

#[tokio::test]
async fn refresh_rotates_and_keeps_the_resource() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let first = client.grant(0, PUBLIC_CLIENT, Some("todo:read")).await;
    let response = client.refresh(0, PUBLIC_CLIENT, &first.refresh, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second = tokens_of(PUBLIC_CLIENT, response).await;
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(
        client
            .mcp(Some(&second.access), &tools_call())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_token_replay_is_refused_and_revokes_the_family() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let first = client.grant(0, PUBLIC_CLIENT, None).await;
    let second = tokens_of(
        PUBLIC_CLIENT,
        client.refresh(0, PUBLIC_CLIENT, &first.refresh, None).await,
    )
    .await;
    let replay = client
        .refresh(0, &first.client_id, &first.refresh, None)
        .await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    let after = client
        .refresh(0, PUBLIC_CLIENT, &second.refresh, None)
        .await;
    assert_eq!(
        after.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    assert_eq!(
        client
            .mcp(Some(&second.access), &initialize())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn refresh_beyond_the_original_scope_is_invalid_scope() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let tokens = client.grant(0, PUBLIC_CLIENT, Some("todo:read")).await;
    let response = client
        .refresh(
            0,
            PUBLIC_CLIENT,
            &tokens.refresh,
            Some("todo:read todo:write"),
        )
        .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );
}

#[tokio::test]
async fn a_code_is_single_use() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let code = query(
        &location(&client.authorize_as(0, PUBLIC_CLIENT, None).await),
        "code",
    )
    .unwrap();
    assert_eq!(
        client.exchange(0, PUBLIC_CLIENT, &code).await.status(),
        StatusCode::OK
    );
    let again = client.exchange(0, PUBLIC_CLIENT, &code).await;
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_wrong_verifier_is_invalid_grant() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let code = query(
        &location(&client.authorize_as(0, PUBLIC_CLIENT, None).await),
        "code",
    )
    .unwrap();
    let wrong = "A".repeat(43);
    let response = client
        .token(
            0,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &wrong),
                ("client_id", PUBLIC_CLIENT),
            ],
        )
        .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_token_without_the_mcp_resource_is_refused() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let challenge = challenge(VERIFIER);
    let redirect = location(
        &client
            .authorize(
                0,
                &[
                    ("response_type", "code"),
                    ("client_id", PUBLIC_CLIENT),
                    ("redirect_uri", REDIRECT),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ],
            )
            .await,
    );
    let response = client
        .token(
            0,
            &[
                ("grant_type", "authorization_code"),
                ("code", &query(&redirect, "code").unwrap()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", PUBLIC_CLIENT),
            ],
        )
        .await;
    let tokens = tokens_of(PUBLIC_CLIENT, response).await;
    assert_eq!(
        client
            .mcp(Some(&tokens.access), &initialize())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_token_in_the_query_is_recorded_and_refused() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let tokens = client.grant(0, PUBLIC_CLIENT, None).await;
    let url = format!("{}?access_token={}", world.mcp_url(), tokens.access);
    let response = client
        .http
        .post(url)
        .json(&initialize())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        world.log().last().unwrap().kind,
        RequestKind::Mcp {
            method: Some("initialize".into()),
            token: Some(tokens.access),
            token_issuer: Some(0),
            token_valid: false
        }
    );
}

#[tokio::test]
async fn migration_switches_the_prm_and_rejects_as1_tokens() {
    let world = start(WorldConfig {
        mcp: McpConfig {
            migrate_after_requests: Some(1),
            migrate_to: Some(1),
            ..McpConfig::default()
        },
        auth_servers: vec![AsConfig::default(), AsConfig::default()],
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let prm_url = world.prm_url(&PrmLocation::PathInserted);
    let before: Value = client.get(&prm_url).await.json().await.unwrap();
    assert_eq!(before["authorization_servers"], json!([world.issuer(0)]));
    let as1 = client.grant(0, PUBLIC_CLIENT, None).await;
    assert_eq!(
        client.mcp(Some(&as1.access), &tools_call()).await.status(),
        StatusCode::OK
    );
    let after: Value = client.get(&prm_url).await.json().await.unwrap();
    assert_eq!(after["authorization_servers"], json!([world.issuer(1)]));
    let refused = client.mcp(Some(&as1.access), &tools_call()).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        param(&www_authenticate(&refused)[0], "resource_metadata"),
        Some(prm_url)
    );
    let as2 = client.grant(1, PUBLIC_CLIENT, None).await;
    assert_eq!(
        client.mcp(Some(&as2.access), &tools_call()).await.status(),
        StatusCode::OK
    );
    assert!(matches!(
        world.log().last().unwrap().kind,
        RequestKind::Mcp {
            token_issuer: Some(1),
            token_valid: true,
            ..
        }
    ));
}

fn cimd_world(document: Value) -> WorldConfig {
    WorldConfig {
        auth_servers: vec![AsConfig {
            cimd_supported: true,
            ..AsConfig::default()
        }],
        cimd_documents: vec![(CIMD_URL.to_owned(), document.to_string())],
        ..WorldConfig::default()
    }
}

#[tokio::test]
async fn cimd_client_id_is_resolved_from_cimd_documents() {
    let world = start(cimd_world(json!({
        "client_id": CIMD_URL, "client_name": "t", "redirect_uris": ["http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none",
    })))
    .await;
    let client = TestClient::new(&world);
    let metadata: Value = client
        .get(&world.metadata_url(0, MetadataLocation::Rfc8414Root))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["client_id_metadata_document_supported"],
        json!(true)
    );
    let tokens = client.grant(0, CIMD_URL, None).await;
    assert_eq!(
        client
            .mcp(Some(&tokens.access), &initialize())
            .await
            .status(),
        StatusCode::OK
    );
    let fetch = world
        .log()
        .into_iter()
        .find(|r| r.kind == RequestKind::CimdFetch)
        .expect("a CIMD fetch");
    assert_eq!(
        (fetch.path.as_str(), fetch.status, fetch.origin),
        (CIMD_URL, 200, Origin::As(0))
    );
}

#[tokio::test]
async fn a_stand_in_cimd_document_accepts_any_loopback_redirect_uri() {
    let document = json!({
        "client_id": CIMD_URL, "client_name": "t", "redirect_uris": ["http://127.0.0.1/callback"],
    });
    let strict = start(cimd_world(document.clone())).await;
    let stand_in = start(WorldConfig {
        cimd_any_loopback_redirect: true,
        ..cimd_world(document)
    })
    .await;
    for (world, accepted) in [(&strict, false), (&stand_in, true)] {
        let challenge = challenge(VERIFIER);
        let response = TestClient::new(world)
            .authorize(
                0,
                &[
                    ("response_type", "code"),
                    ("client_id", CIMD_URL),
                    ("redirect_uri", "http://localhost:3000/callback"),
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "S256"),
                    ("state", "xyz"),
                ],
            )
            .await;
        assert_eq!(response.status().is_redirection(), accepted);
    }
}

#[tokio::test]
async fn cimd_document_with_a_mismatched_client_id_is_refused() {
    let world = start(cimd_world(json!({
        "client_id": "https://client.conformance.test/other.json", "redirect_uris": ["http://127.0.0.1/callback"],
    })))
    .await;
    let response = TestClient::new(&world)
        .authorize_as(0, CIMD_URL, None)
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn pre_registered_basic_client_must_use_basic() {
    let world = ClientWorld::start(WorldConfig {
        auth_servers: vec![AsConfig {
            registration: false,
            token_endpoint_auth_methods: vec!["client_secret_basic".into()],
            ..AsConfig::default()
        }],
        pre_registered: vec![PreRegistered {
            client_id: "conf".into(),
            client_secret: Some("s3cret".into()),
            redirect_uris: vec![REDIRECT.into()],
            auth_method: "client_secret_basic".into(),
        }],
        ..WorldConfig::default()
    })
    .await
    .unwrap();
    let client = TestClient::new(&world);
    let mut codes = Vec::new();
    for _ in 0..2 {
        codes.push(
            query(
                &location(&client.authorize_as(0, "conf", None).await),
                "code",
            )
            .unwrap(),
        );
    }
    let form = |code: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", VERIFIER.to_owned()),
        ]
    };
    let token_url = format!("{}/token", world.issuer(0));
    let mut post_form = form(&codes[0]);
    post_form.extend([
        ("client_id", "conf".to_owned()),
        ("client_secret", "s3cret".to_owned()),
    ]);
    let post = client
        .http
        .post(&token_url)
        .form(&post_form)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    let basic = client
        .http
        .post(&token_url)
        .basic_auth("conf", Some("s3cret"))
        .form(&form(&codes[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::OK);
    let register = client
        .http
        .post(format!("{}/register", world.issuer(0)))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(register.status(), StatusCode::NOT_FOUND);
    assert_eq!(world.log().last().unwrap().kind, RequestKind::Register);
}

#[tokio::test]
async fn unknown_members_and_long_tokens_are_served() {
    let world = start(WorldConfig {
        mcp: McpConfig {
            unknown_members: true,
            ..McpConfig::default()
        },
        auth_servers: vec![AsConfig {
            unknown_members: true,
            access_token_bytes: 4096,
            ..AsConfig::default()
        }],
        ..WorldConfig::default()
    })
    .await;
    let client = TestClient::new(&world);
    let challenge = www_authenticate(&client.mcp(None, &initialize()).await)[0].clone();
    assert!(param(&challenge, "x_conformance_unknown").is_some());
    let prm: Value = client
        .get(&world.prm_url(&PrmLocation::PathInserted))
        .await
        .json()
        .await
        .unwrap();
    assert!(prm.get("x_conformance_unknown").is_some());
    let tokens = client.grant(0, PUBLIC_CLIENT, None).await;
    assert_eq!(tokens.access.len(), 4096);
    assert_eq!(
        client
            .mcp(Some(&tokens.access), &initialize())
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn hostile_bodies_are_answered_without_panicking() {
    let world = start(WorldConfig::default()).await;
    let client = TestClient::new(&world);
    let tokens = client.grant(0, PUBLIC_CLIENT, None).await;
    let garbage = client
        .http
        .post(world.mcp_url())
        .bearer_auth(&tokens.access)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    let huge = client
        .http
        .post(world.mcp_url())
        .body(vec![b'x'; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json_token = client
        .http
        .post(format!("{}/token", world.issuer(0)))
        .json(&json!({"grant_type": "authorization_code"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_token.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        world.log().last().unwrap().kind,
        RequestKind::Token {
            grant_type: String::new()
        }
    );
}

#[tokio::test]
async fn wait_for_wakes_on_a_new_request() {
    let world = start(WorldConfig::default()).await;
    let prm_url = world.prm_url(&PrmLocation::PathInserted);
    let fetch = async { TestClient::new(&world).get(&prm_url).await.status() };
    let wait = world.wait_for(Duration::from_secs(10), |log| {
        log.iter()
            .any(|r| matches!(r.kind, RequestKind::Prm(_)) && r.status == 200)
    });
    let (status, woke) = tokio::join!(fetch, wait);
    assert_eq!(status, StatusCode::OK);
    assert!(woke);
}

#[tokio::test]
async fn wait_for_times_out_when_nothing_happens() {
    let world = start(WorldConfig::default()).await;
    assert!(
        !world
            .wait_for(Duration::from_millis(20), |log| !log.is_empty())
            .await
    );
}

#[tokio::test]
async fn inconsistent_configs_are_refused() {
    let no_as = WorldConfig {
        auth_servers: Vec::new(),
        ..WorldConfig::default()
    };
    assert!(matches!(
        ClientWorld::start(no_as).await,
        Err(WorldError::Config(_))
    ));
    let bad_index = WorldConfig {
        mcp: McpConfig {
            prm: PrmConfig {
                authorization_servers: vec![3],
                ..PrmConfig::default()
            },
            ..McpConfig::default()
        },
        ..WorldConfig::default()
    };
    assert!(matches!(
        ClientWorld::start(bad_index).await,
        Err(WorldError::Config(_))
    ));
}

/// A client that keeps no idle connections: every request opens a fresh one.
fn unpooled() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_request_carries_its_connection_and_the_write_completion_of_its_response() {
    let world = start(WorldConfig::default()).await;
    let prm_url = world.prm_url(&PrmLocation::PathInserted);
    let pooled = common::http();
    for _ in 0..2 {
        let response = pooled.get(&prm_url).send().await.unwrap();
        response.bytes().await.unwrap();
    }
    let fresh = unpooled();
    fresh
        .get(&prm_url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // The stamp lands when the world's flush returns, which may be after the client has read.
    let stamped = |log: &[LoggedRequest]| {
        log.iter().all(|r| {
            r.wire
                .as_ref()
                .is_some_and(|w| w.response_written_at.is_some())
        })
    };
    assert!(world.wait_for(Duration::from_secs(5), stamped).await);
    let log = world.log();
    let wires: Vec<&fake_idp::Wire> = log.iter().map(|r| r.wire.as_ref().unwrap()).collect();
    assert_eq!(wires.len(), 3);
    assert_eq!(wires[0].connection, wires[1].connection, "keep-alive reuse");
    assert_ne!(wires[2].connection, wires[0].connection);
    assert!(wires.iter().all(|w| w.http_version == "HTTP/1.1"));
    let written: Vec<u64> = wires
        .iter()
        .map(|w| w.response_written_at.expect("stamped"))
        .collect();
    assert!(wires[0].accepted_at < written[0] && written[0] < written[1]);
    assert!(
        written[1] < wires[2].accepted_at,
        "the fresh connection came after"
    );
    assert_eq!(
        fake_idp::sent_after_reading(&log, [0]),
        std::collections::BTreeSet::from([1, 2])
    );
}
