//! Synthetic authz observations for the checks' unit tests: [`compliant`] is the record a conformant AS yields
//! (every check gives the verdict the bundled reference gives), and small named builders and mutators break one
//! requirement at a time. No world, no target, no network.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::authz::agent::{AuthorizeOutcome, Authorized};
use crate::authz::oauth::{Client, ClientAuth, Endpoints, Pkce, TokenResult};
use crate::authz::obs::{
    AttackObs, AuthzObservations, CimdAttempt, CimdCase, CimdObs, CodeAttack, CorsObs, DcrObs,
    ExchangeObs, FlowObs, LoginKind, MetadataFetch, MetadataObs, RedirectVariant, RefreshAttack,
    ReplayObs, RotationObs,
};
use crate::authz::scenarios::{RESOURCE, UPSTREAM};
use crate::check::{Cause, ObsError};
use crate::http::HttpFailure;

/// The issuer of the synthetic AS (loopback http, like the bundled reference: AS-META-07 is INFO).
pub const ISSUER: &str = "http://127.0.0.1:8400";
/// Where the metadata was found.
pub const METADATA_URL: &str = "http://127.0.0.1:8400/.well-known/oauth-authorization-server";
/// The suite's registered redirect URI.
pub const REDIRECT_URI: &str = "http://127.0.0.1:8401/callback";
/// The scope every flow requests.
pub const SCOPE: &str = "mcp:tools";
/// The state every flow sends.
pub const STATE: &str = "state-1";
/// The code of the valid authorization.
pub const CODE: &str = "code-happy";
/// The token-exchange actor.
pub const ACTOR: &str = "actor-client";
/// The subject of every token.
pub const SUBJECT: &str = "alice";

/// The compliant metadata document.
pub fn metadata_document() -> Map<String, Value> {
    let doc = json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/authorize"),
        "token_endpoint": format!("{ISSUER}/token"),
        "registration_endpoint": format!("{ISSUER}/register"),
        "revocation_endpoint": format!("{ISSUER}/revoke"),
        "jwks_uri": format!("{ISSUER}/jwks"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": true,
        "authorization_response_iss_parameter_supported": true,
    });
    match doc {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// One metadata fetch answered 200 with `doc` as `application/json`.
pub fn metadata_fetch(kind: &'static str, url: &str, doc: Map<String, Value>) -> MetadataFetch {
    MetadataFetch {
        kind,
        url: url.to_owned(),
        exchange: format!("metadata#{kind}"),
        status: 200,
        content_type: Some("application/json".into()),
        body: Ok(doc),
    }
}

/// A metadata location that answered `status` with no document.
pub fn metadata_absent(kind: &'static str, url: &str, status: u16) -> MetadataFetch {
    MetadataFetch {
        kind,
        url: url.to_owned(),
        exchange: format!("metadata#{kind}"),
        status,
        content_type: None,
        body: Err(format!("HTTP {status}")),
    }
}

/// Discovery that found `doc` at the RFC 8414 location (the OpenID location 404s).
pub fn metadata_obs(doc: Map<String, Value>) -> MetadataObs {
    MetadataObs {
        issuer: ISSUER.into(),
        fetches: vec![
            metadata_fetch("rfc8414", METADATA_URL, doc),
            metadata_absent(
                "openid",
                "http://127.0.0.1:8400/.well-known/openid-configuration",
                404,
            ),
        ],
    }
}

/// The endpoints the suite learns from `doc`.
pub fn endpoints(doc: &Map<String, Value>) -> Endpoints {
    Endpoints::from_metadata(ISSUER, METADATA_URL, doc).expect("the document names both endpoints")
}

/// Changes the metadata document (both the discovery record and the endpoints learned from it).
pub fn edit_metadata(o: &mut AuthzObservations, edit: impl FnOnce(&mut Map<String, Value>)) {
    let mut doc = metadata_document();
    if let Ok(md) = &o.metadata {
        if let Some((_, d)) = md.documents().next() {
            doc = d.clone();
        }
    }
    edit(&mut doc);
    o.endpoints = Endpoints::from_metadata(ISSUER, METADATA_URL, &doc)
        .map_err(|e| ObsError::target(e, ["metadata#rfc8414".to_owned()]));
    o.metadata = Ok(metadata_obs(doc));
}

/// A public client with the suite's redirect URI.
pub fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        secret: None,
        redirect_uri: REDIRECT_URI.into(),
        auth: ClientAuth::None,
        kind: "dcr",
    }
}

/// A fixed PKCE pair.
pub fn pkce() -> Pkce {
    let verifier = "v".repeat(43);
    Pkce {
        challenge: crate::wire::s256(&verifier),
        verifier,
    }
}

/// A walk that ended at the callback with `params` (HTTP 303).
pub fn callback(exchange: &str, params: &[(&str, &str)]) -> Authorized {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().copied())
        .finish();
    Authorized {
        outcome: AuthorizeOutcome::Callback {
            location: format!("{REDIRECT_URI}?{query}"),
            params: params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            fragment: Vec::new(),
            status: 303,
            exchange: exchange.into(),
        },
        exchanges: vec![exchange.into()],
        form_posts: Vec::new(),
        consent: Vec::new(),
    }
}

/// A successful authorization: code, state and iss at the callback, after a login and a consent form (303).
pub fn code_callback(exchange: &str, code: &str) -> Authorized {
    let mut a = callback(
        exchange,
        &[("code", code), ("state", STATE), ("iss", ISSUER)],
    );
    a.form_posts = vec![
        (303, format!("{exchange}-login")),
        (303, format!("{exchange}-consent")),
    ];
    a
}

/// An error redirect to the valid callback, with state and iss.
pub fn error_callback(exchange: &str, error: &str) -> Authorized {
    callback(
        exchange,
        &[("error", error), ("state", STATE), ("iss", ISSUER)],
    )
}

/// A walk that ended on a page (an error page, or a login page).
pub fn page(exchange: &str, status: u16) -> Authorized {
    Authorized {
        outcome: AuthorizeOutcome::Page {
            status,
            body: "<html>error</html>".into(),
            exchange: exchange.into(),
        },
        exchanges: vec![exchange.into()],
        form_posts: Vec::new(),
        consent: Vec::new(),
    }
}

/// A redirect off the AS that is not the callback.
pub fn elsewhere(exchange: &str, location: &str) -> Authorized {
    Authorized {
        outcome: AuthorizeOutcome::Elsewhere {
            location: location.into(),
            status: 302,
            exchange: exchange.into(),
        },
        exchanges: vec![exchange.into()],
        form_posts: Vec::new(),
        consent: Vec::new(),
    }
}

/// A walk whose request got no HTTP answer.
pub fn unanswered_walk(exchange: &str) -> Authorized {
    Authorized {
        outcome: AuthorizeOutcome::NoAnswer {
            failure: HttpFailure::Transport("connection reset".into()),
            exchange: exchange.into(),
        },
        exchanges: vec![exchange.into()],
        form_posts: Vec::new(),
        consent: Vec::new(),
    }
}

/// An unsigned-looking compact JWS with `header` and `claims` (the signature segment is a placeholder).
pub fn jwt(header: Value, claims: Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.c2ln", enc(&header), enc(&claims))
}

/// The claims of a compliant RFC 9068 access token for the resource.
pub fn access_claims() -> Value {
    json!({
        "iss": ISSUER, "exp": 2_000_000_000, "aud": RESOURCE, "sub": SUBJECT,
        "client_id": "client-a", "iat": 1_900_000_000, "jti": "jti-1", "scope": SCOPE,
    })
}

/// A compliant JWT access token.
pub fn access_token() -> String {
    jwt(json!({"alg": "RS256", "typ": "at+jwt"}), access_claims())
}

/// A token response answered `status` with `body`, `Cache-Control: no-store`.
pub fn token_answer(exchange: &str, status: u16, body: Value) -> TokenResult {
    TokenResult {
        exchange: exchange.into(),
        status,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("cache-control".into(), "no-store".into()),
        ],
        json: Some(body),
        error: None,
    }
}

/// A successful token response: a JWT access token, a refresh token `refresh`, the scope and a short lifetime.
pub fn tokens(exchange: &str, refresh: &str) -> TokenResult {
    token_answer(
        exchange,
        200,
        json!({
            "access_token": access_token(), "token_type": "Bearer", "expires_in": 300,
            "refresh_token": refresh, "scope": SCOPE,
        }),
    )
}

/// A token-endpoint refusal with an OAuth error code.
pub fn refusal(exchange: &str, status: u16, error: &str) -> TokenResult {
    token_answer(exchange, status, json!({ "error": error }))
}

/// A token request that got no HTTP answer.
pub fn unanswered_token(exchange: &str) -> TokenResult {
    TokenResult {
        exchange: exchange.into(),
        status: 0,
        headers: Vec::new(),
        json: None,
        error: Some(HttpFailure::Transport("connection reset".into())),
    }
}

/// A complete valid flow whose code is `code` and whose redemption issued `refresh`.
pub fn flow(name: &str, code: &str, refresh: &str) -> FlowObs {
    FlowObs {
        client: client("client-a"),
        pkce: pkce(),
        state: STATE.into(),
        scope: SCOPE.into(),
        authorized: code_callback(&format!("{name}#authorize"), code),
        token: Some(tokens(&format!("{name}#token"), refresh)),
    }
}

/// A missing observation: the target refused it with `status` and an OAuth `error`.
pub fn refused(reason: &str, status: u16, error: Option<&str>) -> ObsError {
    ObsError::target_because(
        reason,
        ["refused#1".to_owned()],
        Cause::Refused {
            status,
            error: error.map(str::to_owned),
        },
    )
}

/// A missing observation: the target did not answer.
pub fn no_answer(reason: &str) -> ObsError {
    ObsError::target_because(
        reason,
        ["silent#1".to_owned()],
        Cause::NoAnswer(HttpFailure::Timeout(std::time::Duration::from_secs(5))),
    )
}

/// One CIMD attempt.
pub fn cimd_attempt(authorized: Authorized, hits: usize) -> CimdAttempt {
    CimdAttempt {
        client_id: "https://127.0.0.1:8402/client.json".into(),
        authorized,
        hits,
        token: None,
    }
}

/// What a conformant AS does with every CIMD case: the honest document gets a code, the rest an error page.
pub fn cimd_case(case: CimdCase) -> CimdAttempt {
    let ex = format!("cimd-{case:?}#authorize");
    match case {
        CimdCase::Honest => cimd_attempt(code_callback(&ex, "code-cimd"), 1),
        _ => cimd_attempt(page(&ex, 400), 1),
    }
}

/// Every CIMD case.
pub const CIMD_CASES: [CimdCase; 14] = [
    CimdCase::Honest,
    CimdCase::IdTrailingSlash,
    CimdCase::IdOtherPath,
    CimdCase::IdUppercaseHost,
    CimdCase::IdOtherHost,
    CimdCase::UnlistedRedirect,
    CimdCase::InvalidJson,
    CimdCase::TopLevelArray,
    CimdCase::MissingRedirectUris,
    CimdCase::MissingClientId,
    CimdCase::FetchFails,
    CimdCase::SharedSecret,
    CimdCase::Oversized,
    CimdCase::HttpRedirect,
];

/// Client ids refused without a fetch: (id, walk, fetches).
pub fn refused_ids(kind: &str, ids: &[&str]) -> Vec<(String, Authorized, usize)> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            (
                (*id).to_owned(),
                page(&format!("{kind}-{i}#authorize"), 400),
                0,
            )
        })
        .collect()
}

/// The compliant CIMD record.
pub fn cimd() -> CimdObs {
    CimdObs {
        cases: CIMD_CASES.iter().map(|c| (*c, cimd_case(*c))).collect(),
        cache_fetches: Some((1, vec!["cimd-cache#1".into(), "cimd-cache#2".into()])),
        error_then_valid: Some((
            cimd_attempt(page("cimd-error#authorize", 400), 1),
            cimd_attempt(code_callback("cimd-valid#authorize", "code-cimd-2"), 2),
        )),
        ssrf: refused_ids(
            "ssrf",
            &[
                "https://127.0.0.1:8403/ssrf-0.json",
                "https://localhost:8403/ssrf-1.json",
            ],
        ),
        schemes: refused_ids(
            "scheme",
            &[
                "http://127.0.0.1:8402/client.json",
                "file:///etc/passwd",
                "data:application/json,{}",
            ],
        ),
        malformed: refused_ids(
            "malformed",
            &[
                "https://127.0.0.1:8402/client.json#frag",
                "https://user@127.0.0.1:8402/client.json",
                "https://127.0.0.1:8402/a/../client.json",
                "https://127.0.0.1:8402",
            ],
        ),
        responsive_after_oversized: Some((200, "metadata#after-oversized".into())),
    }
}

/// The compliant DCR record: a 201 registration, both unsafe redirect URIs refused with 400.
pub fn dcr() -> DcrObs {
    let bad = |uri: &str, i: usize| {
        (
            uri.to_owned(),
            Ok(400),
            Some(json!({"error": "invalid_redirect_uri"})),
            format!("dcr-bad#{i}"),
        )
    };
    DcrObs {
        public: (
            Ok(201),
            Some(json!({"client_id": "client-dcr"})),
            "dcr#1".into(),
        ),
        bad: vec![
            bad("javascript:alert(1)", 1),
            bad("http://evil.example/cb", 2),
        ],
    }
}

/// The compliant token-exchange record.
pub fn exchange() -> ExchangeObs {
    let exchanged = jwt(
        json!({"alg": "RS256", "typ": "at+jwt"}),
        json!({"iss": ISSUER, "aud": UPSTREAM, "sub": SUBJECT, "act": {"sub": ACTOR}, "scope": SCOPE}),
    );
    ExchangeObs {
        subject_claims: Some(access_claims()),
        actor_id: ACTOR.into(),
        valid: token_answer(
            "tx-valid#1",
            200,
            json!({"access_token": exchanged, "token_type": "Bearer", "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}),
        ),
        no_client_auth: refusal("tx-no-auth#1", 401, "invalid_client"),
        forged_subject: refusal("tx-forged#1", 400, "invalid_grant"),
        revoked_subject: Some(refusal("tx-revoked#1", 400, "invalid_grant")),
        other_actor: Some(refusal("tx-other-actor#1", 400, "invalid_grant")),
        scope_escalation: refusal("tx-scope#1", 400, "invalid_scope"),
        subject_scope: SCOPE.into(),
    }
}

/// The error code a conformant AS answers each code attack with.
fn attack_refusal(attack: CodeAttack) -> TokenResult {
    let ex = format!("attack-{attack:?}#token");
    match attack {
        CodeAttack::OtherClient => refusal(&ex, 400, "invalid_grant"),
        _ => refusal(&ex, 400, "invalid_grant"),
    }
}

/// The error code a conformant AS answers each refresh attack with.
pub fn refresh_refusal(attack: RefreshAttack) -> TokenResult {
    let ex = format!("refresh-{attack:?}#token");
    match attack {
        RefreshAttack::OtherClient => refusal(&ex, 400, "invalid_grant"),
        RefreshAttack::ScopeEscalation => refusal(&ex, 400, "invalid_scope"),
        RefreshAttack::OtherResource => refusal(&ex, 400, "invalid_target"),
    }
}

/// Every refresh attack.
pub const REFRESH_ATTACKS: [RefreshAttack; 3] = [
    RefreshAttack::OtherClient,
    RefreshAttack::ScopeEscalation,
    RefreshAttack::OtherResource,
];

/// The record of a conformant AS with a login form, as the bundled reference gives it: every check PASSes
/// except AS-META-07 (INFO: loopback http).
pub fn compliant() -> AuthzObservations {
    let doc = metadata_document();
    let redirect_variants: BTreeMap<_, _> = RedirectVariant::ALL
        .iter()
        .map(|v| {
            let walk = page(&format!("variant-{v:?}#authorize"), 400);
            (*v, Ok((v.apply(REDIRECT_URI), walk)))
        })
        .collect();
    let attacks = CodeAttack::ALL
        .iter()
        .map(|a| {
            let f = flow(
                &format!("attack-{a:?}"),
                &format!("code-{a:?}"),
                "rt-attack",
            );
            (
                *a,
                Ok(AttackObs {
                    flow: f,
                    attempt: attack_refusal(*a),
                }),
            )
        })
        .collect();
    let mut narrowed = flow("narrowed", "code-narrowed", "rt-narrowed");
    narrowed.scope = format!("{SCOPE} conformance:unknown");
    AuthzObservations {
        login: LoginKind::Form,
        tls: crate::spec::TlsProfile::Local,
        resource: RESOURCE.to_owned(),
        metadata: Ok(metadata_obs(doc.clone())),
        endpoints: Ok(endpoints(&doc)),
        happy: Ok(flow("happy", CODE, "rt-happy")),
        unknown_params: Ok(flow("unknown-params", "code-unknown", "rt-unknown")),
        narrowed_scope: Ok(narrowed),
        redirect_variants,
        unknown_client: Ok(page("unknown-client#authorize", 400)),
        no_challenge: Ok(error_callback("no-challenge#authorize", "invalid_request")),
        plain: Ok(error_callback("plain#authorize", "invalid_request")),
        s512: Ok(error_callback("s512#authorize", "invalid_request")),
        implicit: Ok(error_callback(
            "implicit#authorize",
            "unsupported_response_type",
        )),
        invalid_resource: Ok(error_callback(
            "invalid-resource#authorize",
            "invalid_target",
        )),
        fresh_agent: Ok(page("fresh-agent#authorize", 200)),
        cors: Ok(CorsObs {
            get: (None, "cors#get".into()),
            preflight: (None, "cors#options".into()),
        }),
        attacks,
        replay: Ok(ReplayObs {
            flow: flow("replay", "code-replay", "rt-replay"),
            replay: refusal("replay#2", 400, "invalid_grant"),
            refresh_after: Some(refusal("replay#refresh", 400, "invalid_grant")),
        }),
        bad_replay: Ok(ReplayObs {
            flow: flow("bad-replay", "code-bad-replay", "rt-bad-replay"),
            replay: refusal("bad-replay#2", 400, "invalid_grant"),
            refresh_after: Some(tokens("bad-replay#refresh", "rt-bad-replay-2")),
        }),
        bad_basic: Ok({
            let mut t = refusal("bad-basic#1", 401, "invalid_client");
            t.headers
                .push(("www-authenticate".into(), "Basic realm=\"token\"".into()));
            t
        }),
        confidential_without_auth: Ok(refusal("confidential#1", 401, "invalid_client")),
        rotation: Ok(RotationObs {
            flow: flow("rotation", "code-rotation", "rt-1"),
            first_refresh: tokens("rotation#refresh", "rt-2"),
            replay_old: Some(refusal("rotation#replay", 400, "invalid_grant")),
            use_new_after_replay: Some(refusal("rotation#family", 400, "invalid_grant")),
        }),
        refresh_attacks: REFRESH_ATTACKS
            .iter()
            .map(|a| (*a, Ok(refresh_refusal(*a))))
            .collect(),
        cimd: Ok(cimd()),
        cimd_unadvertised: Err(ObsError::NotApplicable("the AS advertises CIMD".into())),
        dcr: Ok(dcr()),
        exchange: Ok(exchange()),
        assertion: crate::authz::checks::assertion_testing::compliant(),
        federation: Ok(federation()),
        proxy: Ok(proxy()),
        dpop: Ok(dpop()),
        machine: Ok(machine()),
    }
}

/// A compliant federation record: the honest login through the IdP worked (the IdP issued two tokens, the AS
/// answered with its own) and every hostile IdP answer, delivered, ended in an `access_denied` error redirect.
pub fn federation() -> crate::authz::scenarios::FederationObs {
    use fake_idp::idp::{IdpAnswer, IdpSeen};
    let authorize = IdpSeen::Authorize {
        client_id: "conformance-as".into(),
        nonce: Some("n".into()),
        state_sent: true,
        pkce: true,
        state: Some("upstream-state".into()),
        redirect_uri: Some(format!("{ISSUER}/idp/callback")),
    };
    let hop = |answer: IdpAnswer| {
        let mut seen = vec![authorize.clone(), IdpSeen::Redirected { answer }];
        if answer != IdpAnswer::ForgedState && answer != IdpAnswer::MissingState {
            seen.push(IdpSeen::Token { answer });
        }
        seen
    };
    crate::authz::scenarios::FederationObs {
        honest: flow("fed-honest", "code-fed", "rt-fed"),
        honest_seen: hop(IdpAnswer::Honest),
        idp_tokens: vec![
            "ya29.idp-access-token".into(),
            "idp-id-token.eyJ.sig".into(),
        ],
        probes: IdpAnswer::ALL
            .iter()
            .filter(|a| a.is_hostile())
            .map(|a| {
                let probe = crate::authz::scenarios::FedProbe {
                    authorized: error_callback(&format!("fed-{a:?}#authorize"), "access_denied"),
                    seen: hop(*a),
                    used: None,
                };
                (*a, probe)
            })
            .collect(),
        honest_used: None,
    }
}

/// A strong consent cookie line as the agent records it (`__Host-`, Secure, HttpOnly, SameSite=Lax).
pub fn strong_cookie(name: &str) -> crate::authz::agent::consent::SetCookieSeen {
    crate::authz::agent::consent::SetCookieSeen::parse(&format!(
        "__Host-{name}=v; Path=/; Secure; HttpOnly; SameSite=Lax"
    ))
    .expect("a cookie line")
}

/// The proxy's consent page as the agent records it: framing forbidden, everything named, a CSRF cookie.
pub fn consent_page(exchange: &str) -> crate::authz::agent::consent::ConsentPage {
    crate::authz::agent::consent::ConsentPage {
        url: format!("{ISSUER}/authorize?client_id=c"),
        status: 200,
        exchange: exchange.into(),
        x_frame_options: Some("DENY".into()),
        frame_ancestors: Some("'none'".into()),
        set_cookies: vec![strong_cookie("csrf")],
        form_id: Some("consent".into()),
        submit: "approve".into(),
        hidden_fields: vec!["request".into(), "csrf_token".into()],
        names_client_id: Some(true),
        names_redirect_uri: Some(true),
        names_scopes: vec![(SCOPE.into(), true)],
        approval: None,
    }
}

/// A walk that stopped at the proxy's consent page without approving it.
pub fn at_consent(exchange: &str) -> Authorized {
    let mut a = page(exchange, 200);
    a.consent = vec![consent_page(exchange)];
    a
}

/// A walk stopped at the consent page while the IdP saw nothing.
pub fn unapproved(exchange: &str) -> crate::authz::scenarios::Unapproved {
    crate::authz::scenarios::Unapproved {
        authorized: at_consent(exchange),
        seen: Vec::new(),
    }
}

/// A compliant proxy record: every walk stopped at the consent page with the IdP silent, the forged approval
/// refused, changed redirect URIs refused, the replay refused, the upstream state unseen before consent.
pub fn proxy() -> crate::authz::scenarios::ProxyObs {
    use crate::authz::scenarios::{
        BeforeConsentProbe, CsrfProbe, ProxyObs, RedirectChange, ReplayProbe, Unapproved,
    };
    let mut first = code_callback("prx-first#5", "code-prx");
    let mut approved_page = consent_page("prx-first#1");
    approved_page.approval = Some(crate::authz::agent::consent::ConsentApproval {
        status: 303,
        exchange: "prx-first#2".into(),
        location: Some("http://accounts.idp.conformance.test:9/authorize".into()),
        set_cookies: vec![strong_cookie("binding"), strong_cookie("consent")],
    });
    first.consent = vec![approved_page];
    let refused = |id: &str| Unapproved {
        authorized: page(id, 400),
        seen: Vec::new(),
    };
    ProxyObs {
        origin: ISSUER.into(),
        new_client: Ok(unapproved("prx-new#1")),
        first,
        per_client: Ok(unapproved("prx-per#1")),
        csrf: Ok(CsrfProbe {
            attacker: unapproved("prx-csrf-x#1"),
            victim: Some(Unapproved {
                authorized: page("prx-csrf-y#1", 403),
                seen: Vec::new(),
            }),
        }),
        redirects: Ok(vec![
            RedirectChange {
                label: "same host, another path",
                redirect_uri: format!("{REDIRECT_URI}/prx-changed"),
                walk: refused("prx-path#1"),
            },
            RedirectChange {
                label: "another host",
                redirect_uri: "http://prx-attacker.conformance.test:8401/callback".into(),
                walk: refused("prx-host#1"),
            },
        ]),
        replayed: Ok(ReplayProbe {
            first: code_callback("prx-replay#5", "code-replay"),
            callback_found: true,
            replay: Some(page("prx-replay#6", 400)),
            seen: Vec::new(),
        }),
        before_consent: Ok(BeforeConsentProbe {
            honest: unapproved("prx-before#1"),
            approved: Some(code_callback("prx-before#5", "code-before")),
            upstream_state_seen: true,
            exposed_as: None,
            attack: None,
        }),
    }
}

/// The proxy record, mutably.
pub fn proxy_mut(o: &mut AuthzObservations) -> &mut crate::authz::scenarios::ProxyObs {
    o.proxy.as_mut().expect("the record has proxy probes")
}

/// The federation record, mutably.
pub fn federation_mut(o: &mut AuthzObservations) -> &mut crate::authz::scenarios::FederationObs {
    o.federation
        .as_mut()
        .expect("the record has federation probes")
}

/// The happy flow, mutably (panics unless the record has one).
pub fn happy(o: &mut AuthzObservations) -> &mut FlowObs {
    o.happy.as_mut().expect("the record has a valid flow")
}

/// The happy flow's token response, mutably.
pub fn happy_token(o: &mut AuthzObservations) -> &mut TokenResult {
    happy(o)
        .token
        .as_mut()
        .expect("the valid flow was redeemed")
}

/// Replaces the JSON body of a token response by editing it.
pub fn edit_json(t: &mut TokenResult, edit: impl FnOnce(&mut Map<String, Value>)) {
    let mut body = match t.json.take() {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    edit(&mut body);
    t.json = Some(Value::Object(body));
}

/// Makes the happy flow's access token a JWT with `header` and `claims`.
pub fn set_access_token(o: &mut AuthzObservations, token: String) {
    edit_json(happy_token(o), |b| {
        b.insert("access_token".into(), Value::String(token));
    });
}

/// The CIMD record, mutably.
pub fn cimd_mut(o: &mut AuthzObservations) -> &mut CimdObs {
    o.cimd.as_mut().expect("the record has CIMD probes")
}

/// The token-exchange record, mutably.
pub fn exchange_mut(o: &mut AuthzObservations) -> &mut ExchangeObs {
    o.exchange
        .as_mut()
        .expect("the record has token-exchange probes")
}

/// Every part after discovery missing for `why` (what a run that stopped after discovery records).
pub fn all_missing(why: ObsError) -> AuthzObservations {
    let doc = metadata_document();
    AuthzObservations::failed(
        LoginKind::Form,
        Ok(metadata_obs(doc.clone())),
        Ok(endpoints(&doc)),
        &why,
    )
}

/// The suite key's thumbprint in the synthetic DPoP record.
pub const JKT: &str = "jkt-of-the-suite-key";

/// What a compliant AS with DPoP yields: a nonce demanded, a DPoP-bound token, every forged proof refused, the
/// honest refresh answered with tokens.
pub fn dpop() -> crate::authz::scenarios::DpopObs {
    use crate::authz::scenarios::ProofProbe;
    let mut claims = access_claims();
    claims["cnf"] = json!({ "jkt": JKT });
    let bound = token_answer(
        "dpop#valid",
        200,
        json!({
            "access_token": jwt(json!({"alg": "RS256", "typ": "at+jwt"}), claims), "token_type": "DPoP",
            "expires_in": 300, "refresh_token": "rt-dpop", "scope": SCOPE,
        }),
    );
    let mut demand = refusal("dpop#nonce", 400, "use_dpop_nonce");
    demand.headers.push(("dpop-nonce".into(), "nonce-1".into()));
    let probes = ProofProbe::ALL
        .iter()
        .map(|p| {
            let t = match p {
                ProofProbe::Honest => tokens("dpop#honest", "rt-dpop-2"),
                ProofProbe::NoNonce | ProofProbe::WrongNonce => {
                    refusal(&format!("dpop#{p:?}"), 400, "use_dpop_nonce")
                }
                _ => refusal(&format!("dpop#{p:?}"), 400, "invalid_dpop_proof"),
            };
            (*p, t)
        })
        .collect();
    crate::authz::scenarios::DpopObs {
        jkt: JKT.into(),
        nonce_demand: Some(demand),
        valid: bound,
        public_client: true,
        probes: Ok(probes),
    }
}

/// The DPoP record, mutably (panics unless the record has one).
pub fn dpop_mut(o: &mut AuthzObservations) -> &mut crate::authz::scenarios::DpopObs {
    o.dpop.as_mut().expect("the record has DPoP probes")
}

/// What a compliant AS yields for client_credentials: a token for the resource without refresh token, the public
/// client and the wrong secret refused, the escalated scope cut.
pub fn machine() -> crate::authz::scenarios::MachineObs {
    let valid = token_answer(
        "cc#valid",
        200,
        json!({"access_token": access_token(), "token_type": "Bearer", "expires_in": 300, "scope": SCOPE}),
    );
    let mut bad_basic = refusal("cc#bad-basic", 401, "invalid_client");
    bad_basic
        .headers
        .push(("www-authenticate".into(), "Basic realm=\"token\"".into()));
    let mut escalated = valid.clone();
    escalated.exchange = "cc#escalated".into();
    crate::authz::scenarios::MachineObs {
        valid,
        public: refusal("cc#public", 401, "unauthorized_client"),
        bad_basic: Some(bad_basic),
        escalated,
    }
}

/// The client_credentials record, mutably (panics unless the record has one).
pub fn machine_mut(o: &mut AuthzObservations) -> &mut crate::authz::scenarios::MachineObs {
    o.machine
        .as_mut()
        .expect("the record has client_credentials probes")
}
