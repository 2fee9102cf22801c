//! Synthetic client-role observations for unit tests: [`compliant`] is a record of every world on which every client
//! check gives the verdict the reference client gets, and the small mutators below break one requirement at a time.
//! No world, no target, no network, no async: the logs are written by hand, as the world would log a conforming
//! client.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use fake_idp::client_world::{
    LoggedRequest, MetadataLocation, Origin, PrmLocation, RequestKind, TlsRefusal, Wire,
};
use serde_json::{json, Value};

use crate::check::ObsError;
use crate::client::obs::{ClientObservations, DocumentSource, HostedDocument, ScenarioObs};
use crate::client::scenarios::{
    self, BASIC_CIMD, CUSTOM_PRM_PATH, EVIL, ISS_NORMALIZED, ISS_SUPPORTED_MISSING, ISS_UNEXPECTED,
    ISS_WRONG_ISSUER, MARCH_ENDPOINT_PREFIX, MARCH_FALLBACK, MARCH_METADATA, METADATA_DEFAULT,
    METADATA_ISSUER_MISMATCH, MIGRATION, OFFLINE_ACCESS_SCOPE, PKCE_METHODS_MISSING,
    PKCE_METHODS_MISSING_OIDC, PKCE_PLAIN_ONLY, PRE_CLIENT_ID, PRE_CLIENT_SECRET, PRE_REGISTRATION,
    RESOURCE_MISMATCH, SCOPE_RETRY_LIMIT, SCOPE_STEP_UP, STATE_TAMPERED, TLS_UNTRUSTED_AS,
    TLS_UNTRUSTED_MCP, TLS_WRONG_HOST_MCP, TOKEN_ENDPOINT_AUTH_POST, TOKEN_REFRESH,
};
use crate::client::spawn::{ClientExit, ClientRun};
use crate::wire::s256;

/// The MCP endpoint of every synthetic world.
pub const MCP_URL: &str = "http://127.0.0.1:1000/mcp";
/// The first authorization server's origin (its issuer, plus the world's issuer path).
pub const AS1: &str = "http://127.0.0.1:2000";
/// The second authorization server (the migration world).
pub const AS2: &str = "http://127.0.0.1:3000";
/// The redirect URI the compliant client registers and uses.
pub const REDIRECT: &str = "http://127.0.0.1:5555/callback";
/// The compliant client's CIMD URL (and its document's `client_id`).
pub const CIMD_URL: &str = "https://client.conformance.test/mcp-client/metadata.json";
/// The client_id DCR issues in every world but the post-auth one.
pub const DCR_CLIENT: &str = "dcr-client";
/// What DCR issues in the client_secret_post world.
pub const POST_CLIENT: &str = "dcr-post-client";
pub const POST_SECRET: &str = "dcr-post-secret-0123456789";

/// How the compliant client authenticates at the token endpoint.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// A public client: client_id in the form.
    Public(&'a str),
    /// client_secret_basic.
    Basic(&'a str, &'a str),
    /// client_secret_post.
    Post(&'a str, &'a str),
}

impl Auth<'_> {
    fn client_id(&self) -> &str {
        match self {
            Auth::Public(id) | Auth::Basic(id, _) | Auth::Post(id, _) => id,
        }
    }
}

/// One world's log being written.
struct World {
    name: &'static str,
    log: Vec<LoggedRequest>,
    /// Authorization flows so far (for distinct verifiers, codes and tokens).
    flows: usize,
    issuer_path: &'static str,
}

impl World {
    fn new(name: &'static str) -> Self {
        World {
            name,
            log: Vec::new(),
            flows: 0,
            issuer_path: "",
        }
    }

    fn issuer(&self, i: usize) -> String {
        format!("{}{}", if i == 0 { AS1 } else { AS2 }, self.issuer_path)
    }

    fn push(
        &mut self,
        origin: Origin,
        method: &str,
        path: &str,
        kind: RequestKind,
    ) -> &mut LoggedRequest {
        let mut r = LoggedRequest::new(origin, method, path, kind);
        r.seq = self.log.len();
        r.status = 200;
        r.wire = Some(wire(r.seq));
        self.log.push(r);
        self.log.last_mut().expect("pushed")
    }

    /// The unauthenticated first MCP request and its 401 (naming `resource_metadata` when `header` is given).
    fn challenge(&mut self, header: Option<&str>) {
        let r = self.push(
            Origin::Mcp,
            "POST",
            "/mcp",
            mcp_kind("initialize", None, None, false),
        );
        r.status = 401;
        let mut v = "Bearer".to_owned();
        if let Some(path) = header {
            v = format!("Bearer resource_metadata=\"http://127.0.0.1:1000{path}\"");
        }
        r.response_headers.push(("www-authenticate".into(), v));
    }

    fn prm(&mut self, at: PrmLocation, resource: &str, issuer: &str) {
        let path = at.path("/mcp");
        let r = self.push(Origin::Mcp, "GET", &path, RequestKind::Prm(at));
        r.response_body = json!({
            "resource": resource,
            "authorization_servers": [issuer],
            "scopes_supported": ["todo:read", "todo:write"],
        })
        .to_string();
    }

    fn prm_trap(&mut self, path: &str) {
        self.push(Origin::Mcp, "GET", path, RequestKind::PrmTrap)
            .status = 404;
    }

    fn metadata(&mut self, i: usize, at: MetadataLocation) {
        let path = at.path(self.issuer_path);
        let issuer = self.issuer(i);
        let r = self.push(Origin::As(i), "GET", &path, RequestKind::AsMetadata(at));
        r.response_body = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "registration_endpoint": format!("{issuer}/register"),
            "code_challenge_methods_supported": ["S256"],
        })
        .to_string();
    }

    fn metadata_trap(&mut self, i: usize, path: &str) {
        self.push(Origin::As(i), "GET", path, RequestKind::AsMetadataTrap)
            .status = 404;
    }

    /// The usual discovery: 401 naming the PRM, PRM path-inserted, RFC 8414 metadata at the root.
    fn discover(&mut self) {
        self.challenge(Some(&PrmLocation::PathInserted.path("/mcp")));
        self.prm(PrmLocation::PathInserted, MCP_URL, &self.issuer(0));
        self.metadata(0, MetadataLocation::Rfc8414Root);
    }

    fn register(&mut self, i: usize, client_id: &str, secret: Option<&str>) {
        let r = self.push(Origin::As(i), "POST", "/register", RequestKind::Register);
        r.status = 201;
        r.headers
            .push(("content-type".into(), "application/json".into()));
        r.body = json!({
            "client_name": "compliant",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "application_type": "native",
        })
        .to_string();
        let mut issued = json!({"client_id": client_id, "redirect_uris": [REDIRECT]});
        if let Some(secret) = secret {
            issued["client_secret"] = json!(secret);
        }
        r.response_body = issued.to_string();
    }

    /// An authorization request at AS `i` answered with a code (and `iss`, when given); returns (code, verifier).
    fn authorize(
        &mut self,
        i: usize,
        client_id: &str,
        scope: Option<&str>,
        iss: Option<&str>,
    ) -> (String, String) {
        self.flows += 1;
        let tag = format!("{}.{}", self.name.replace('/', "."), self.flows);
        let verifier = format!("verifier-{tag}-0123456789abcdefghijklmnopqrstuvwxyz");
        let code = format!("code-{tag}");
        let r = self.authorize_request(i, client_id, scope, &verifier);
        let mut location = format!("{REDIRECT}?code={code}&state=state-{}", r.seq);
        if let Some(iss) = iss {
            location.push_str(&format!(
                "&iss={}",
                url::form_urlencoded::byte_serialize(iss.as_bytes()).collect::<String>()
            ));
        }
        r.response_headers.push(("location".into(), location));
        (code, verifier)
    }

    /// An authorization request answered with an error redirect.
    fn authorize_refused(&mut self, i: usize, client_id: &str) {
        let verifier = format!(
            "verifier-{}.refused-0123456789abcdefghijklmnopqrstuvwxyz",
            self.name.replace('/', ".")
        );
        let r = self.authorize_request(i, client_id, None, &verifier);
        r.response_headers.push((
            "location".into(),
            format!("{REDIRECT}?error=invalid_request&state=s"),
        ));
    }

    fn authorize_request(
        &mut self,
        i: usize,
        client_id: &str,
        scope: Option<&str>,
        verifier: &str,
    ) -> &mut LoggedRequest {
        let r = self.push(Origin::As(i), "GET", "/authorize", RequestKind::Authorize);
        r.status = 302;
        r.query = vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), client_id.into()),
            ("redirect_uri".into(), REDIRECT.into()),
            ("code_challenge".into(), s256(verifier)),
            ("code_challenge_method".into(), "S256".into()),
            ("resource".into(), MCP_URL.into()),
            ("state".into(), format!("state-{}", r.seq)),
        ];
        if let Some(scope) = scope {
            r.query.push(("scope".into(), scope.into()));
        }
        r
    }

    fn token_request(
        &mut self,
        i: usize,
        grant: &str,
        auth: Auth<'_>,
        form: Vec<(String, String)>,
    ) -> &mut LoggedRequest {
        let kind = RequestKind::Token {
            grant_type: grant.into(),
        };
        let r = self.push(Origin::As(i), "POST", "/token", kind);
        r.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        r.form = vec![("grant_type".into(), grant.into())];
        r.form.extend(form);
        r.form.push(("resource".into(), MCP_URL.into()));
        match auth {
            Auth::Public(id) => r.form.push(("client_id".into(), id.into())),
            Auth::Basic(id, secret) => {
                let basic = STANDARD.encode(format!("{id}:{secret}"));
                r.headers
                    .push(("authorization".into(), format!("Basic {basic}")));
            }
            Auth::Post(id, secret) => {
                r.form.push(("client_id".into(), id.into()));
                r.form.push(("client_secret".into(), secret.into()));
            }
        }
        r
    }

    /// Redeems `code`; returns (access token, refresh token).
    fn redeem(
        &mut self,
        i: usize,
        auth: Auth<'_>,
        (code, verifier): (String, String),
        scope: &str,
    ) -> (String, String) {
        let (access, refresh) = (format!("access-{code}"), format!("refresh-{code}"));
        let form = vec![
            ("code".into(), code),
            ("code_verifier".into(), verifier),
            ("redirect_uri".into(), REDIRECT.into()),
        ];
        let r = self.token_request(i, "authorization_code", auth, form);
        r.response_body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "refresh_token": refresh,
            "scope": scope,
        })
        .to_string();
        (access, refresh)
    }

    /// Refreshes with `refresh`; returns the new (access token, refresh token).
    fn refresh(&mut self, auth: Auth<'_>, refresh: &str, scope: &str) -> (String, String) {
        let n = self.log.len();
        let (access, rotated) = (
            format!("access-refreshed-{n}"),
            format!("refresh-rotated-{n}"),
        );
        let form = vec![
            ("refresh_token".into(), refresh.into()),
            ("scope".into(), scope.into()),
        ];
        let r = self.token_request(0, "refresh_token", auth, form);
        r.response_body =
            json!({"access_token": access, "token_type": "Bearer", "refresh_token": rotated})
                .to_string();
        (access, rotated)
    }

    /// An MCP request with `token` (minted by AS `issuer`), answered `status`.
    fn mcp(&mut self, method: &str, token: &str, issuer: usize, status: u16) -> &mut LoggedRequest {
        let kind = mcp_kind(method, Some(token), Some(issuer), status != 401);
        let r = self.push(Origin::Mcp, "POST", "/mcp", kind);
        r.headers
            .push(("authorization".into(), format!("Bearer {token}")));
        r.body = json!({"jsonrpc": "2.0", "id": 1, "method": method}).to_string();
        r.status = status;
        r
    }

    /// A whole authorization at AS 0 and the client's task served with its token.
    fn flow(&mut self, auth: Auth<'_>, scope: Option<&str>) -> (String, String) {
        let code = self.authorize(0, auth.client_id(), scope, Some(&self.issuer(0)));
        let tokens = self.redeem(0, auth, code, scope.unwrap_or("todo:read todo:write"));
        self.serve(&tokens.0, 0);
        tokens
    }

    /// initialize, tools/list and tools/call served with `token`.
    fn serve(&mut self, token: &str, issuer: usize) {
        for m in ["initialize", "tools/list", "tools/call"] {
            self.mcp(m, token, issuer, 200);
        }
    }

    /// The 2025-03-26 shape: the AS's endpoints (not its metadata) moved under `prefix` on the MCP origin.
    fn on_the_mcp_origin(&mut self, prefix: &str) {
        for r in self.log.iter_mut().filter(|r| r.origin == Origin::As(0)) {
            if matches!(r.path.as_str(), "/authorize" | "/token" | "/register") {
                r.path = format!("{prefix}{}", r.path);
            }
        }
    }

    fn done(
        self,
        issuers: usize,
        documents: Vec<HostedDocument>,
    ) -> (&'static str, Result<ScenarioObs, ObsError>) {
        let def = scenarios::all()
            .into_iter()
            .find(|d| d.name == self.name)
            .expect("a client world");
        let issuers = [AS1, AS2][..issuers]
            .iter()
            .map(|a| format!("{a}{}", self.issuer_path))
            .collect();
        let obs = ScenarioObs {
            def,
            mcp_url: MCP_URL.into(),
            issuers,
            log: self.log,
            run: ClientRun {
                exit: ClientExit::Exited(Some(0)),
                duration: Duration::ZERO,
                output_tail: String::new(),
                output_truncated: false,
            },
            documents,
            machine: None,
            tls_refusals: Vec::new(),
        };
        (self.name, Ok(obs))
    }
}

fn wire(seq: usize) -> Wire {
    Wire {
        connection: 1,
        accepted_at: 1,
        http_version: "HTTP/1.1".into(),
        response_written_at: Some(1000 + 10 * seq as u64),
    }
}

fn mcp_kind(method: &str, token: Option<&str>, issuer: Option<usize>, valid: bool) -> RequestKind {
    RequestKind::Mcp {
        method: Some(method.into()),
        token: token.map(str::to_owned),
        token_issuer: issuer,
        token_valid: valid && token.is_some(),
    }
}

/// The compliant client's CIMD document, hosted at [`CIMD_URL`].
pub fn cimd_document() -> Value {
    json!({
        "client_id": CIMD_URL,
        "client_name": "Compliant client",
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
    })
}

/// Every world, as a conforming client that completes every honest world and refuses in every refusal world.
pub fn compliant() -> ClientObservations {
    let mut worlds = Vec::new();
    let public = Auth::Public(DCR_CLIENT);

    // The baseline: DCR, all of scopes_supported.
    let mut w = World::new(METADATA_DEFAULT);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    w.flow(public, Some("todo:read todo:write"));
    worlds.push(w.done(1, Vec::new()));

    // CIMD: the first authorization is refused; the retry keeps S256.
    let mut w = World::new(BASIC_CIMD);
    w.discover();
    w.authorize_refused(0, CIMD_URL);
    w.flow(Auth::Public(CIMD_URL), Some("todo:read todo:write"));
    let doc = HostedDocument {
        url: CIMD_URL.into(),
        document: cimd_document(),
        source: DocumentSource::Client,
    };
    worlds.push(w.done(1, vec![doc]));

    let mut w = World::new(PRE_REGISTRATION);
    w.discover();
    w.flow(
        Auth::Basic(PRE_CLIENT_ID, PRE_CLIENT_SECRET),
        Some("todo:read todo:write"),
    );
    worlds.push(w.done(1, Vec::new()));

    let mut w = World::new(TOKEN_ENDPOINT_AUTH_POST);
    w.discover();
    w.register(0, POST_CLIENT, Some(POST_SECRET));
    w.flow(
        Auth::Post(POST_CLIENT, POST_SECRET),
        Some("todo:read todo:write"),
    );
    worlds.push(w.done(1, Vec::new()));

    // Step-up: the challenge's scope first; the 403 to tools/list leads to a new authorization and a retry.
    let mut w = World::new(SCOPE_STEP_UP);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    let code = w.authorize(
        0,
        DCR_CLIENT,
        Some("todo:read x:special"),
        Some(&w.issuer(0)),
    );
    let (token, _) = w.redeem(0, public, code, "todo:read x:special");
    w.mcp("initialize", &token, 0, 200);
    w.mcp("tools/list", &token, 0, 403).response_headers.push((
        "www-authenticate".into(),
        "Bearer error=\"insufficient_scope\", scope=\"todo:write\"".into(),
    ));
    // The union of what it asked for before and the challenge (SEP-2350).
    let code = w.authorize(
        0,
        DCR_CLIENT,
        Some("todo:read x:special todo:write"),
        Some(&w.issuer(0)),
    );
    let (token, _) = w.redeem(0, public, code, "todo:read x:special todo:write");
    w.mcp("tools/list", &token, 0, 200);
    w.mcp("tools/call", &token, 0, 200);
    worlds.push(w.done(1, Vec::new()));

    // Every operation is forbidden: the client gives up after three authorizations.
    let mut w = World::new(SCOPE_RETRY_LIMIT);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    for _ in 0..3 {
        let code = w.authorize(
            0,
            DCR_CLIENT,
            Some("todo:read todo:write"),
            Some(&w.issuer(0)),
        );
        let (token, _) = w.redeem(0, public, code, "todo:read todo:write");
        w.mcp("tools/list", &token, 0, 403);
    }
    worlds.push(w.done(1, Vec::new()));

    // The custom PRM URL from the challenge; two refreshes, each with the newest refresh token.
    let mut w = World::new(TOKEN_REFRESH);
    w.challenge(Some(CUSTOM_PRM_PATH));
    w.prm(
        PrmLocation::Custom(CUSTOM_PRM_PATH.into()),
        MCP_URL,
        &w.issuer(0),
    );
    w.metadata(0, MetadataLocation::Rfc8414Root);
    w.register(0, DCR_CLIENT, None);
    let (_, mut refresh) = w.flow(public, Some("todo:read todo:write"));
    for _ in 0..2 {
        let (access, rotated) = w.refresh(public, &refresh, "todo:read");
        w.mcp("tools/call", &access, 0, 200);
        refresh = rotated;
    }
    worlds.push(w.done(1, Vec::new()));

    // Migration: served by AS1, told of AS2 (401, then the PRM listing it), a clean DCR flow at AS2.
    let mut w = World::new(MIGRATION);
    w.challenge(None);
    w.prm(PrmLocation::PathInserted, MCP_URL, AS1);
    w.metadata(0, MetadataLocation::Rfc8414Root);
    w.register(0, DCR_CLIENT, None);
    let (token, _) = w.flow(public, Some("todo:read todo:write"));
    w.mcp("tools/call", &token, 0, 401);
    w.prm(PrmLocation::PathInserted, MCP_URL, AS2);
    w.metadata(1, MetadataLocation::Rfc8414Root);
    w.register(1, "dcr-client-at-as2", None);
    let code = w.authorize(
        1,
        "dcr-client-at-as2",
        Some("todo:read todo:write"),
        Some(AS2),
    );
    let (token, _) = w.redeem(
        1,
        Auth::Public("dcr-client-at-as2"),
        code,
        "todo:read todo:write",
    );
    w.mcp("tools/call", &token, 1, 200);
    worlds.push(w.done(2, Vec::new()));

    // PKCE support missing from RFC 8414 metadata (var2's discovery): path-inserted PRM 404, the root; the
    // client stops after the metadata.
    let mut w = World::new(PKCE_METHODS_MISSING);
    w.issuer_path = "/tenant1";
    w.challenge(None);
    w.prm_trap(&PrmLocation::PathInserted.path("/mcp"));
    w.prm(PrmLocation::Root, MCP_URL, &w.issuer(0));
    w.metadata(0, MetadataLocation::Rfc8414PathInserted);
    worlds.push(w.done(1, Vec::new()));

    // The same with an OpenID configuration at the root (var1's discovery).
    let mut w = World::new(PKCE_METHODS_MISSING_OIDC);
    w.challenge(None);
    w.prm(PrmLocation::PathInserted, MCP_URL, &w.issuer(0));
    w.metadata_trap(0, "/.well-known/oauth-authorization-server");
    w.metadata(0, MetadataLocation::OidcRoot);
    worlds.push(w.done(1, Vec::new()));

    // Only plain advertised (var3's discovery): custom PRM, OpenID path appending third; the client stops.
    let mut w = World::new(PKCE_PLAIN_ONLY);
    w.issuer_path = "/tenant1";
    w.challenge(Some(CUSTOM_PRM_PATH));
    w.prm(
        PrmLocation::Custom(CUSTOM_PRM_PATH.into()),
        MCP_URL,
        &w.issuer(0),
    );
    w.metadata_trap(0, "/.well-known/oauth-authorization-server/tenant1");
    w.metadata_trap(0, "/.well-known/openid-configuration/tenant1");
    w.metadata(0, MetadataLocation::OidcPathAppended);
    worlds.push(w.done(1, Vec::new()));

    let mut w = World::new(RESOURCE_MISMATCH);
    w.challenge(Some(&PrmLocation::PathInserted.path("/mcp")));
    w.prm(
        PrmLocation::PathInserted,
        &format!("{EVIL}/mcp"),
        &w.issuer(0),
    );
    worlds.push(w.done(1, Vec::new()));

    let mut w = World::new(METADATA_ISSUER_MISMATCH);
    w.discover();
    worlds.push(w.done(1, Vec::new()));

    // A wrong iss, then a missing one: the client redeems neither code.
    let mut w = World::new(ISS_WRONG_ISSUER);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    w.authorize(0, DCR_CLIENT, Some("todo:read todo:write"), Some(EVIL));
    worlds.push(w.done(1, Vec::new()));

    let mut w = World::new(ISS_SUPPORTED_MISSING);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    w.authorize(0, DCR_CLIENT, Some("todo:read todo:write"), None);
    worlds.push(w.done(1, Vec::new()));

    // An unadvertised wrong iss, then the issuer plus `/`: the client redeems neither code.
    let mut w = World::new(ISS_UNEXPECTED);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    w.authorize(0, DCR_CLIENT, Some("todo:read todo:write"), Some(EVIL));
    worlds.push(w.done(1, Vec::new()));

    let mut w = World::new(ISS_NORMALIZED);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    let slash = format!("{}/", w.issuer(0));
    w.authorize(0, DCR_CLIENT, Some("todo:read todo:write"), Some(&slash));
    worlds.push(w.done(1, Vec::new()));

    // offline_access listed by the AS (not requested: a MAY), no iss and none advertised: the client proceeds.
    let mut w = World::new(OFFLINE_ACCESS_SCOPE);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    let code = w.authorize(0, DCR_CLIENT, Some("todo:read todo:write"), None);
    let (token, _) = w.redeem(0, public, code, "todo:read todo:write");
    w.serve(&token, 0);
    worlds.push(w.done(1, Vec::new()));

    // A tampered state (issuer /tenant1 with OpenID path insertion, no scope source): no token request.
    let mut w = World::new(STATE_TAMPERED);
    w.issuer_path = "/tenant1";
    w.challenge(Some(&PrmLocation::PathInserted.path("/mcp")));
    w.prm(PrmLocation::PathInserted, MCP_URL, &w.issuer(0));
    w.metadata_trap(0, "/.well-known/oauth-authorization-server/tenant1");
    w.metadata(0, MetadataLocation::OidcPathInserted);
    w.register(0, DCR_CLIENT, None);
    w.authorize(0, DCR_CLIENT, None, Some(&w.issuer(0)));
    worlds.push(w.done(1, Vec::new()));

    // DPoP (--extension dpop): proofs on the token request and on every MCP request; the nonce world's AS and MCP
    // server each challenge once, and the client retries with their nonce.
    worlds.push(dpop_world(scenarios::DPOP, false));
    worlds.push(dpop_world(scenarios::DPOP_NONCE, true));
    // 2025-03-26, metadata at the MCP origin's root naming /oauth endpoints: the whole flow there.
    let mut w = World::new(MARCH_METADATA);
    w.challenge(None);
    w.prm_trap(&PrmLocation::PathInserted.path("/mcp"));
    w.prm_trap(&PrmLocation::Root.path("/mcp"));
    w.metadata(0, MetadataLocation::Rfc8414Root);
    w.register(0, DCR_CLIENT, None);
    w.flow(public, Some("todo:read todo:write"));
    w.on_the_mcp_origin(MARCH_ENDPOINT_PREFIX);
    worlds.push(w.done(1, Vec::new()));

    // 2025-03-26 without any metadata: the probe, then the default endpoints.
    let mut w = World::new(MARCH_FALLBACK);
    w.challenge(None);
    w.prm_trap(&PrmLocation::PathInserted.path("/mcp"));
    w.prm_trap(&PrmLocation::Root.path("/mcp"));
    w.metadata_trap(0, "/.well-known/oauth-authorization-server");
    w.register(0, DCR_CLIENT, None);
    w.flow(public, Some("todo:read todo:write"));
    w.on_the_mcp_origin("");
    worlds.push(w.done(1, Vec::new()));
    // The extensions' worlds (judged only with --extension).
    worlds.extend(crate::client::checks::machine::testing::compliant_worlds());

    // The certificate worlds (strict TLS): the client refuses the bad origin's handshake. With a bad MCP origin
    // nothing is logged at all; with a bad AS, the challenge and the PRM are.
    let refused = |w: World, origin: Origin| {
        let (name, obs) = w.done(1, Vec::new());
        let obs = obs.map(|mut s| {
            s.tls_refusals.push(TlsRefusal {
                origin,
                reason: "received fatal alert: BadCertificate".into(),
            });
            s.run.exit = ClientExit::Exited(Some(1));
            s
        });
        (name, obs)
    };
    worlds.push(refused(World::new(TLS_WRONG_HOST_MCP), Origin::Mcp));
    worlds.push(refused(World::new(TLS_UNTRUSTED_MCP), Origin::Mcp));
    let mut w = World::new(TLS_UNTRUSTED_AS);
    w.challenge(Some(&PrmLocation::PathInserted.path("/mcp")));
    w.prm(PrmLocation::PathInserted, MCP_URL, &w.issuer(0));
    worlds.push(refused(w, Origin::As(0)));

    ClientObservations {
        scenarios: worlds.into_iter().collect::<BTreeMap<_, _>>(),
        selected_all: true,
        out_of_scope: Default::default(),
    }
}

/// The nonces of the synthetic DPoP-nonce world.
pub const AS_NONCE: &str = "as-nonce-1";
pub const RS_NONCE: &str = "rs-nonce-1";

/// A DPoP world as a conforming client logs it: one key, a fresh proof per request, nonce retries when `nonce`.
fn dpop_world(name: &'static str, nonce: bool) -> (&'static str, Result<ScenarioObs, ObsError>) {
    use fake_idp::dpop::{DpopKey, ProofRequest};
    let key = DpopKey::generate();
    let proof = |htu: &str, token: Option<&str>, nonce: Option<&str>| {
        key.proof(&ProofRequest {
            htm: "POST",
            htu,
            iat: 1_000,
            access_token: token,
            nonce,
        })
    };
    let token_url = format!("{AS1}/token");
    let mut w = World::new(name);
    w.discover();
    w.register(0, DCR_CLIENT, None);
    let (code, verifier) = w.authorize(
        0,
        DCR_CLIENT,
        Some("todo:read todo:write"),
        Some(&w.issuer(0)),
    );
    let access = format!("access-{code}");
    let form = vec![
        ("code".into(), code.clone()),
        ("code_verifier".into(), verifier.clone()),
        ("redirect_uri".into(), REDIRECT.into()),
    ];
    if nonce {
        let r = w.token_request(
            0,
            "authorization_code",
            Auth::Public(DCR_CLIENT),
            form.clone(),
        );
        r.headers
            .push(("dpop".into(), proof(&token_url, None, None)));
        r.status = 400;
        r.response_headers
            .push(("dpop-nonce".into(), AS_NONCE.into()));
        r.response_body = json!({"error": "use_dpop_nonce"}).to_string();
    }
    let r = w.token_request(0, "authorization_code", Auth::Public(DCR_CLIENT), form);
    r.headers.push((
        "dpop".into(),
        proof(&token_url, None, nonce.then_some(AS_NONCE)),
    ));
    r.response_body =
        json!({"access_token": access, "token_type": "DPoP", "scope": "todo:read todo:write"})
            .to_string();
    let rs_nonce = nonce.then_some(RS_NONCE);
    if nonce {
        let r = w.mcp("initialize", &access, 0, 401);
        r.headers = vec![
            ("authorization".into(), format!("DPoP {access}")),
            ("dpop".into(), proof(MCP_URL, Some(&access), None)),
        ];
        r.response_headers.push((
            "www-authenticate".into(),
            "DPoP error=\"use_dpop_nonce\"".into(),
        ));
        r.response_headers
            .push(("dpop-nonce".into(), RS_NONCE.into()));
    }
    for m in ["initialize", "tools/list", "tools/call"] {
        let r = w.mcp(m, &access, 0, 200);
        r.headers = vec![
            ("authorization".into(), format!("DPoP {access}")),
            ("dpop".into(), proof(MCP_URL, Some(&access), rs_nonce)),
        ];
    }
    w.done(1, Vec::new())
}

/// One world's record, to mutate.
pub fn world<'a>(o: &'a mut ClientObservations, name: &str) -> &'a mut ScenarioObs {
    match o.scenarios.get_mut(name) {
        Some(Ok(s)) => s,
        _ => panic!("no record of {name}"),
    }
}

/// Replaces a world's record with a missing observation.
pub fn missing(o: &mut ClientObservations, name: &'static str, e: ObsError) {
    o.scenarios.insert(name, Err(e));
}

/// A target failure for [`missing`].
pub fn target_failure() -> ObsError {
    ObsError::target("the client timed out", Vec::new())
}

/// Every request of one world that `pred` picks.
pub fn requests<'a>(
    o: &'a mut ClientObservations,
    name: &str,
    pred: impl Fn(&LoggedRequest) -> bool,
) -> Vec<&'a mut LoggedRequest> {
    world(o, name).log.iter_mut().filter(|r| pred(r)).collect()
}

/// Every request of every world that `pred` picks.
pub fn all_requests(
    o: &mut ClientObservations,
    pred: impl Fn(&LoggedRequest) -> bool,
) -> Vec<&mut LoggedRequest> {
    o.scenarios
        .values_mut()
        .filter_map(|r| r.as_mut().ok())
        .flat_map(|s| s.log.iter_mut())
        .filter(|r| pred(r))
        .collect()
}

/// The first request of one world that `pred` picks.
pub fn first<'a>(
    o: &'a mut ClientObservations,
    name: &str,
    pred: impl Fn(&LoggedRequest) -> bool,
) -> &'a mut LoggedRequest {
    world(o, name)
        .log
        .iter_mut()
        .find(|r| pred(r))
        .unwrap_or_else(|| panic!("no such request in {name}"))
}

/// Appends a request (answered 200) to a world's log.
pub fn append<'a>(
    s: &'a mut ScenarioObs,
    origin: Origin,
    method: &str,
    path: &str,
    kind: RequestKind,
) -> &'a mut LoggedRequest {
    let mut r = LoggedRequest::new(origin, method, path, kind);
    r.seq = s.log.len();
    r.status = 200;
    r.wire = Some(wire(r.seq));
    s.log.push(r);
    s.log.last_mut().expect("appended")
}

/// Cuts a world's log before the first request `pred` picks (the client stopped there).
pub fn stop_before(o: &mut ClientObservations, name: &str, pred: impl Fn(&LoggedRequest) -> bool) {
    let s = world(o, name);
    let at = s
        .log
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no such request in {name}"));
    s.log.truncate(at);
}

/// Sets a query or form parameter (where it is, else in the query of a GET and the form otherwise).
pub fn set_param(r: &mut LoggedRequest, name: &str, value: &str) {
    for list in [&mut r.query, &mut r.form] {
        if let Some(p) = list.iter_mut().find(|(k, _)| k == name) {
            p.1 = value.to_owned();
            return;
        }
    }
    let list = if r.method == "GET" {
        &mut r.query
    } else {
        &mut r.form
    };
    list.push((name.to_owned(), value.to_owned()));
}

/// Removes a query and form parameter.
pub fn drop_param(r: &mut LoggedRequest, name: &str) {
    r.query.retain(|(k, _)| k != name);
    r.form.retain(|(k, _)| k != name);
}

/// Whether `r` is an authorization request.
pub fn is_authorize(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Authorize)
}

/// Whether `r` is a token request.
pub fn is_token(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Token { .. })
}

/// Whether `r` is a token request of `grant`.
pub fn is_grant(r: &LoggedRequest, grant: &str) -> bool {
    matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == grant)
}
