//! Target mode with an **upstream IdP** (issue 15): the reference AS logs users in by federating to an OpenID
//! provider instead of its own password form, as an **OAuth proxy** with one static client at the IdP
//! (`proxy.rs`: its own consent page first, the upstream hop only after approval).
//!
//! On approval the AS creates the upstream login: a random `state`, `nonce` and PKCE S256 verifier, kept
//! server-side under a random binding id that a cookie (`fake_idp_fed`, `__Host-` under https) carries; then
//! `303` to the IdP's authorization endpoint. The IdP sends the browser back to `/idp/callback?code&state`; the
//! AS finds the login by the browser's binding cookie (single use, at most [`LOGIN_TTL_SECS`] old), checks
//! `state` exactly, redeems the code at the IdP's token endpoint (client_secret_basic, the verifier), and
//! validates the ID token: `alg` RS256, signature by a key of the IdP's JWKS, `iss` = the IdP's issuer, `aud`
//! contains the AS's client id, `nonce` = the login's, `exp` in the future, `email_verified: true`. The e-mail
//! maps to the user, and the code goes to the MCP client (`303`, no second consent page). Any failure ends the
//! request with an `access_denied` error redirect: no code. The IdP's tokens stay at the AS. Each check can be
//! turned off by one [`AsDefect`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::authorize::{error_page, error_redirect};
use super::target::AsDefect;
use super::{AsState, FETCH_BODY_CAP};
use crate::jws;

/// The cookie naming a federated login in progress (the browser binding of the upstream `state`).
pub(super) const FED_COOKIE: &str = "fake_idp_fed";
/// How long an upstream login (its `state`) stays valid.
pub(super) const LOGIN_TTL_SECS: i64 = 600;
/// The AS's callback path at the IdP.
pub(crate) const CALLBACK_PATH: &str = "/idp/callback";

/// The upstream OpenID provider the reference AS federates to, and the client it is registered as there.
#[derive(Clone)]
pub struct UpstreamIdp {
    /// The IdP's issuer (its discovery document is at `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// A CA to trust for the IdP's https (the run's test CA under `--tls-profile strict`).
    pub ca_pem: Option<String>,
}

impl std::fmt::Debug for UpstreamIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamIdp")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The IdP's endpoints, from its discovery document.
#[derive(Debug, Clone)]
struct IdpEndpoints {
    authorization: String,
    token: String,
    jwks: String,
}

#[derive(Debug, Clone)]
pub(super) struct FedLogin {
    request_id: String,
    state: String,
    /// `None` until the login is sent upstream (only `prx-state-before-consent` opens a login before that).
    nonce: Option<String>,
    verifier: String,
    created: i64,
}

/// The CSRF token of one consent page and the cookie value it is bound to.
#[derive(Debug, Clone)]
pub(super) struct ConsentCsrf {
    pub(super) token: String,
    pub(super) cookie: String,
}

/// A reference AS's federation to its upstream IdP.
#[derive(Debug)]
pub(crate) struct Federation {
    config: UpstreamIdp,
    /// Read from the IdP's discovery document on first use (the AS may start before the IdP).
    endpoints: tokio::sync::OnceCell<IdpEndpoints>,
    http: reqwest::Client,
    logins: Mutex<HashMap<String, FedLogin>>,
    /// The IdP's last ID token per user (what `fed-passes-idp-token` leaks).
    id_tokens: Mutex<HashMap<String, String>>,
    /// The proxy's consent pages shown and not yet answered, per parked request.
    pub(super) csrf: Mutex<HashMap<String, ConsentCsrf>>,
    /// Remembered consents (server-side): consent cookie value → the client ids approved in that browser.
    pub(super) consents: Mutex<HashMap<String, BTreeSet<String>>>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Reads a JSON body, at most [`FETCH_BODY_CAP`] bytes.
async fn json_body(resp: reqwest::Response) -> Result<Value, String> {
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > FETCH_BODY_CAP {
            return Err("the IdP's answer is too large".into());
        }
    }
    serde_json::from_slice(&body).map_err(|e| format!("the IdP's answer is not JSON: {e}"))
}

impl Federation {
    /// Builds the HTTP client (`*.conformance.test` resolved to 127.0.0.1, the test CA trusted); the IdP's
    /// discovery document is read on the first login.
    pub(crate) fn new(config: UpstreamIdp) -> Result<Federation, String> {
        let issuer = url::Url::parse(&config.issuer).map_err(|e| format!("IdP issuer: {e}"))?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(super::FETCH_TIMEOUT)
            .no_proxy();
        if let (Some(host), Some(port)) = (issuer.host_str(), issuer.port_or_known_default()) {
            if host == "conformance.test" || host.ends_with(".conformance.test") {
                builder = builder.resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], port)));
            }
        }
        if let Some(pem) = &config.ca_pem {
            let ca = reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
            builder = builder.add_root_certificate(ca);
        }
        let http = builder.build().map_err(|e| e.to_string())?;
        Ok(Federation {
            config,
            endpoints: tokio::sync::OnceCell::new(),
            http,
            logins: Mutex::new(HashMap::new()),
            id_tokens: Mutex::new(HashMap::new()),
            csrf: Mutex::new(HashMap::new()),
            consents: Mutex::new(HashMap::new()),
        })
    }

    /// The IdP's endpoints, from its discovery document (read once, on success).
    async fn endpoints(&self) -> Result<&IdpEndpoints, String> {
        self.endpoints
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let resp = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| format!("{url}: {e}"))?;
                let doc = json_body(resp).await?;
                let field = |name: &str| {
                    doc.get(name)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| format!("the IdP's discovery document lacks {name}"))
                };
                if field("issuer")? != self.config.issuer {
                    return Err("the IdP's discovery document names another issuer".to_owned());
                }
                Ok(IdpEndpoints {
                    authorization: field("authorization_endpoint")?,
                    token: field("token_endpoint")?,
                    jwks: field("jwks_uri")?,
                })
            })
            .await
    }

    /// The IdP's last ID token for `user` (only the `fed-passes-idp-token` defect reads it).
    pub(crate) fn id_token_of(&self, user: &str) -> Option<String> {
        lock(&self.id_tokens).get(user).cloned()
    }
}

/// `prx-state-before-consent`: opens the upstream login at `/authorize`, its `state` the parked request id.
pub(super) fn open_before_consent(state: &AsState, fed: &Federation, request_id: &str) {
    let login = FedLogin {
        request_id: request_id.to_owned(),
        state: request_id.to_owned(),
        nonce: None,
        verifier: state.minter().random_token(32),
        created: state.minter().now(),
    };
    lock(&fed.logins).insert(request_id.to_owned(), login);
}

/// A redirect (`status`) to the IdP for the parked request `request_id`, setting the binding cookie and the
/// `cookies` given. The upstream `state` is created here, after consent (unless `prx-state-before-consent`).
pub(super) async fn redirect_to_idp(
    state: &AsState,
    fed: &Federation,
    request_id: &str,
    cookies: Vec<String>,
    status: StatusCode,
) -> Response {
    let endpoints = match fed.endpoints().await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "the upstream IdP's discovery failed");
            return error_page(
                "temporarily_unavailable",
                "the upstream IdP cannot be reached",
            );
        }
    };
    let minter = state.minter();
    let early = state.defect(AsDefect::PrxStateBeforeConsent);
    let (id, login) = match lock(&fed.logins).get_mut(request_id).filter(|_| early) {
        Some(login) => {
            login.nonce = Some(minter.random_token(16));
            (request_id.to_owned(), login.clone())
        }
        None => (
            minter.random_token(16),
            FedLogin {
                request_id: request_id.to_owned(),
                state: minter.random_token(16),
                nonce: Some(minter.random_token(16)),
                verifier: minter.random_token(32),
                created: minter.now(),
            },
        ),
    };
    let challenge = jws::b64(&<sha2::Sha256 as sha2::Digest>::digest(
        login.verifier.as_bytes(),
    ));
    let redirect_uri = format!("{}{CALLBACK_PATH}", state.issuer());
    let Ok(mut url) = url::Url::parse(&endpoints.authorization) else {
        return error_page(
            "server_error",
            "the IdP's authorization endpoint is not a URL",
        );
    };
    url.query_pairs_mut()
        .append_pair("client_id", &fed.config.client_id)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("state", &login.state)
        .append_pair("nonce", login.nonce.as_deref().unwrap_or_default())
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    lock(&fed.logins).insert(id.clone(), login);
    let mut response = (
        status,
        [
            (header::LOCATION, url.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response();
    let binding = super::proxy::set_cookie(state, FED_COOKIE, &id, true, true);
    for line in std::iter::once(binding).chain(cookies) {
        if let Ok(v) = header::HeaderValue::from_str(&line) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// What the ID token must match, and which checks a defect turns off.
#[derive(Debug, Clone)]
pub(crate) struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce sent upstream; `None`: none was sent, so none is required or compared (OIDC Core §3.1.3.7 (11)).
    pub nonce: Option<&'a str>,
    pub now: i64,
    pub defect: Option<AsDefect>,
}

/// Validates an ID token against the IdP's JWKS; the claims, or why it is refused.
pub(crate) fn validate_id_token(
    token: &str,
    jwks: &JwkSet,
    want: &Expected<'_>,
) -> Result<Map<String, Value>, &'static str> {
    let off = |d: AsDefect| want.defect == Some(d);
    let decoded = jws::decode(token).ok_or("the ID token is not a compact JWS")?;
    let alg = decoded.header.get("alg").and_then(Value::as_str);
    match alg {
        Some("none") if off(AsDefect::FedAcceptUnsigned) => {}
        Some("RS256") if off(AsDefect::FedSkipSignatureCheck) => {}
        Some("RS256") => {
            let kid = decoded.header.get("kid").and_then(Value::as_str);
            let key = jwks
                .keys
                .iter()
                .find(|k| kid.is_none() || k.common.key_id.as_deref() == kid)
                .and_then(|k| DecodingKey::from_jwk(k).ok())
                .ok_or("no key of the IdP's JWKS matches the ID token's kid")?;
            let signature = token.rsplit('.').next().unwrap_or_default();
            let valid = jsonwebtoken::crypto::verify(
                signature,
                decoded.signing_input.as_bytes(),
                &key,
                Algorithm::RS256,
            )
            .unwrap_or(false);
            if !valid {
                return Err("the ID token's signature does not verify");
            }
        }
        _ => return Err("the ID token is not RS256-signed"),
    }
    let claims = decoded.claims;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(want.issuer) && !off(AsDefect::FedIssNotChecked) {
        return Err("the ID token's iss is not the IdP");
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == want.client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(want.client_id)),
        _ => false,
    };
    if !aud_ok && !off(AsDefect::FedAudNotChecked) {
        return Err("the ID token is not for this client (aud)");
    }
    match (want.nonce, text("nonce")) {
        (None, _) => {}
        (Some(_), None) if off(AsDefect::FedNonceOptional) => {}
        (Some(_), None) => return Err("the ID token has no nonce"),
        (Some(w), Some(n)) if n == w || off(AsDefect::FedNonceNotMatched) => {}
        (Some(_), Some(_)) => return Err("the ID token's nonce is not this login's"),
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp <= want.now && !off(AsDefect::FedExpNotChecked) {
        return Err("the ID token has expired");
    }
    if claims.get("email_verified") != Some(&Value::Bool(true))
        && !off(AsDefect::FedTrustsUnverifiedEmail)
    {
        return Err("the IdP has not verified the e-mail address");
    }
    Ok(claims)
}

/// Whether the callback's `state` is this login's (missing and mismatched each openable by a defect).
pub(crate) fn state_ok(got: Option<&str>, want: &str, defect: Option<AsDefect>) -> bool {
    match got {
        None => defect == Some(AsDefect::FedStateOptional),
        Some(s) => s == want || defect == Some(AsDefect::FedStateNotMatched),
    }
}

/// The upstream login the callback answers: by the browser's binding cookie, or (`prx-state-before-consent`) by
/// the `state` alone. Single use unless `prx-state-reusable`.
fn take_login(
    state: &AsState,
    fed: &Federation,
    headers: &HeaderMap,
    q_state: Option<&str>,
) -> Option<FedLogin> {
    let mut logins = lock(&fed.logins);
    let key = if state.defect(AsDefect::PrxStateBeforeConsent) {
        q_state
            .filter(|s| logins.contains_key(*s))
            .map(str::to_owned)
    } else {
        super::cookies(headers, &super::proxy::cookie_name(state, FED_COOKIE, true))
            .find(|id| logins.contains_key(*id))
            .map(str::to_owned)
    }?;
    if state.defect(AsDefect::PrxStateReusable) {
        logins.get(&key).cloned()
    } else {
        logins.remove(&key)
    }
}

/// `GET /idp/callback?code&state`: finishes the federated login (the code to the MCP client) or refuses it.
pub(super) async fn callback(
    State(state): State<AsState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(fed) = state.federation() else {
        return error_page("invalid_request", "this AS does not federate");
    };
    let Some(login) = take_login(&state, fed, &headers, q.get("state").map(String::as_str)) else {
        return error_page("invalid_request", "no federated login in progress");
    };
    if state.minter().now() - login.created > LOGIN_TTL_SECS {
        return error_page("invalid_request", "the federated login expired");
    }
    let request = {
        let mut store = state.store();
        if state.defect(AsDefect::PrxStateReusable) {
            store.pending.get(&login.request_id).cloned()
        } else {
            store.pending.remove(&login.request_id)
        }
    };
    let Some(request) = request else {
        return error_page(
            "invalid_request",
            "unknown or expired authorization request",
        );
    };
    let refuse = |why: &str| {
        tracing::info!(why, "federated login refused");
        error_redirect(
            &state,
            &request.redirect_uri,
            request.state.as_deref(),
            "access_denied",
            why,
            StatusCode::SEE_OTHER,
        )
    };
    let defect = state.target_defect();
    if !state_ok(q.get("state").map(String::as_str), &login.state, defect) {
        return refuse("the IdP callback's state is not this login's");
    }
    let Some(code) = q.get("code") else {
        return refuse("the IdP returned no code");
    };
    let id_token = match redeem(&state, fed, code, &login).await {
        Ok(t) => t,
        Err(e) => return refuse(&e),
    };
    let endpoints = match fed.endpoints().await {
        Ok(e) => e,
        Err(e) => return refuse(&e),
    };
    let jwks: JwkSet = match fed.http.get(&endpoints.jwks).send().await {
        Ok(resp) => match json_body(resp)
            .await
            .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
        {
            Ok(j) => j,
            Err(e) => return refuse(&format!("the IdP's JWKS: {e}")),
        },
        Err(e) => return refuse(&format!("the IdP's JWKS: {e}")),
    };
    let want = Expected {
        issuer: &fed.config.issuer,
        client_id: &fed.config.client_id,
        nonce: login.nonce.as_deref(),
        now: state.minter().now(),
        defect,
    };
    let claims = match validate_id_token(&id_token, &jwks, &want) {
        Ok(c) => c,
        Err(why) => return refuse(why),
    };
    let email = claims.get("email").and_then(Value::as_str).unwrap_or("");
    let Some(user) = state.inner.users.by_email(email).map(|u| u.name.clone()) else {
        return refuse("no user has the IdP identity's e-mail address");
    };
    lock(&fed.id_tokens).insert(user.clone(), id_token);
    super::authorize::approve(&state, &request, &user, StatusCode::SEE_OTHER)
}

/// Redeems the IdP's code; the ID token, or why not.
async fn redeem(
    state: &AsState,
    fed: &Federation,
    code: &str,
    login: &FedLogin,
) -> Result<String, String> {
    let redirect_uri = format!("{}{CALLBACK_PATH}", state.issuer());
    let resp = fed
        .http
        .post(&fed.endpoints().await?.token)
        .basic_auth(&fed.config.client_id, Some(&fed.config.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect_uri),
            ("code_verifier", &login.verifier),
        ])
        .send()
        .await
        .map_err(|e| format!("the IdP's token endpoint: {e}"))?;
    let status = resp.status();
    let body = json_body(resp).await?;
    if !status.is_success() {
        return Err(format!("the IdP's token endpoint answered {status}"));
    }
    body.get("id_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "the IdP's token response has no id_token".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idp::id_token::{sample, SAMPLE_ISSUER as ISSUER};
    use crate::idp::IdpAnswer;
    use crate::keys::SigningKey;

    fn jwks() -> JwkSet {
        serde_json::from_value(serde_json::json!({
            "keys": [SigningKey::idp_signing_key().public_jwk()]
        }))
        .unwrap()
    }

    fn validate(answer: IdpAnswer, defect: Option<AsDefect>) -> Result<(), &'static str> {
        let want = Expected {
            issuer: ISSUER,
            client_id: "rp",
            nonce: Some("n-1"),
            now: 1_000_000,
            defect,
        };
        validate_id_token(&sample(answer), &jwks(), &want).map(|_| ())
    }

    /// Each hostile answer, and the one defect that lets it through.
    const HOLES: [(IdpAnswer, AsDefect); 8] = [
        (IdpAnswer::Unsigned, AsDefect::FedAcceptUnsigned),
        (IdpAnswer::UnknownKey, AsDefect::FedSkipSignatureCheck),
        (IdpAnswer::WrongIssuer, AsDefect::FedIssNotChecked),
        (IdpAnswer::WrongAudience, AsDefect::FedAudNotChecked),
        (IdpAnswer::MissingNonce, AsDefect::FedNonceOptional),
        (IdpAnswer::ReplayedNonce, AsDefect::FedNonceNotMatched),
        (IdpAnswer::Expired, AsDefect::FedExpNotChecked),
        (
            IdpAnswer::UnverifiedEmail,
            AsDefect::FedTrustsUnverifiedEmail,
        ),
    ];

    #[test]
    fn an_honest_id_token_is_accepted() {
        assert_eq!(validate(IdpAnswer::Honest, None), Ok(()));
    }

    #[test]
    fn the_compliant_as_refuses_every_hostile_id_token() {
        for (answer, _) in HOLES {
            assert!(validate(answer, None).is_err(), "{answer:?}");
        }
    }

    #[test]
    fn each_defect_opens_exactly_its_own_hole() {
        for (answer, defect) in HOLES {
            for (other, _) in HOLES {
                let accepted = validate(other, Some(defect)).is_ok();
                assert_eq!(accepted, other == answer, "{defect:?} on {other:?}");
            }
        }
    }

    #[test]
    fn state_must_be_present_and_equal_unless_a_defect_says_otherwise() {
        assert!(state_ok(Some("s"), "s", None));
        assert!(!state_ok(Some("x"), "s", None));
        assert!(!state_ok(None, "s", None));
        assert!(state_ok(None, "s", Some(AsDefect::FedStateOptional)));
        assert!(!state_ok(Some("x"), "s", Some(AsDefect::FedStateOptional)));
        assert!(state_ok(Some("x"), "s", Some(AsDefect::FedStateNotMatched)));
        assert!(!state_ok(None, "s", Some(AsDefect::FedStateNotMatched)));
    }
}
