//! The authorization extensions' client checks (scored only with `--extension`): client credentials (CL-CC-*,
//! SEP-1046), enterprise-managed authorization (CL-EMA-*, SEP-990) and workload identity federation (CL-WIF-*,
//! SEP-1933). Each judges the requests of one machine world against the keys and tokens that world handed the
//! client; a world where the client never reached the request judged is `ERROR`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use fake_idp::client_world::{
    audience_names, unverified_claims, LoggedRequest, Origin, RequestKind, CLIENT_ASSERTION_TYPE,
    ID_JAG_TOKEN_TYPE, ID_TOKEN_TOKEN_TYPE, JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT,
};
use mcp_auth_reports::Level::{Must, Should};
use serde_json::Value;

use super::{meta, ClientCheck};
use crate::check::{Check, CheckMeta, Evaluation};
use crate::client::obs::{param, response_member, ClientObservations, ScenarioObs};
use crate::client::scenarios::machine::{IDP_CLIENT_ID, MACHINE_CLIENT_ID, MACHINE_CLIENT_SECRET};
use crate::client::scenarios::{
    CLIENT_CREDENTIALS_BASIC, CLIENT_CREDENTIALS_JWT, ENTERPRISE_MANAGED, WIF_EXPIRED,
    WIF_JWT_BEARER, WIF_WRONG_AUDIENCE,
};
use crate::scenario_or_return;

/// Every extension check, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        Box::new(CL_CC_01_BASIC),
        Box::new(CL_CC_01_JWT),
        Box::new(CL_CC_02),
        Box::new(CL_CC_03),
        Box::new(CL_CC_04),
        Box::new(CL_CC_05),
        Box::new(CL_CC_06),
        Box::new(CL_CC_07),
        Box::new(CL_EMA_01),
        Box::new(CL_EMA_02),
        Box::new(CL_WIF_01),
        Box::new(CL_WIF_02_WRONG_AUDIENCE),
        Box::new(CL_WIF_02_EXPIRED),
    ]
}

/// A check judged on one world's record.
pub struct InWorld {
    pub meta: CheckMeta,
    pub world: &'static str,
    pub judge: fn(&CheckMeta, &ScenarioObs) -> Evaluation,
}

impl Check<ClientObservations> for InWorld {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        let s = scenario_or_return!(o, self.world);
        (self.judge)(&self.meta, s).with_scenario(self.world)
    }
}

fn is_token(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Token { .. })
}

fn grant_of(r: &LoggedRequest) -> &str {
    match &r.kind {
        RequestKind::Token { grant_type } => grant_type,
        _ => "",
    }
}

/// A token request at the MCP server's AS (AS 0; the enterprise IdP is AS 1).
fn at_the_as(r: &LoggedRequest) -> bool {
    r.origin == Origin::As(0)
}

/// ERROR: the client never made the request the check judges.
fn never(s: &ScenarioObs, what: &str) -> Evaluation {
    Evaluation::error(format!("the client never sent {what}; {}", s.progress()))
        .with_evidence(s.log.last().map(|r| s.id(r)))
}

/// The AS token requests with `grant`, or ERROR when there is none.
fn grants<'a>(s: &'a ScenarioObs, grant: &str) -> Result<Vec<&'a LoggedRequest>, Evaluation> {
    let found: Vec<&LoggedRequest> = s
        .token_requests(grant)
        .into_iter()
        .filter(|r| at_the_as(r))
        .collect();
    if found.is_empty() {
        return Err(never(s, &format!("a {grant} token request to the AS")));
    }
    Ok(found)
}

/// Judges every request of `found` with `problem`: its ERROR when the client never sent them, FAIL on the first
/// with a problem, else PASS.
fn each(
    m: &CheckMeta,
    s: &ScenarioObs,
    found: Result<Vec<&LoggedRequest>, Evaluation>,
    expected: &str,
    mut problem: impl FnMut(&LoggedRequest) -> Option<String>,
) -> Evaluation {
    let requests = match found {
        Ok(r) => r,
        Err(e) => return e,
    };
    for r in &requests {
        if let Some(p) = problem(r) {
            return Evaluation::violated(m.level, expected, p).with_offending([s.id(r)]);
        }
    }
    Evaluation::pass(
        expected,
        format!("{} request(s), each as expected", requests.len()),
    )
    .with_evidence(requests.iter().map(|r| s.id(r)))
}

/// A form parameter, bounded for the report.
fn shown(v: Option<&str>) -> String {
    match v {
        None => "absent".to_owned(),
        Some(v) if v.chars().count() > 80 => {
            format!("`{}…`", v.chars().take(80).collect::<String>())
        }
        Some(v) => format!("`{v}`"),
    }
}

// ----- client credentials (SEP-1046) --------------------------------------------------------------------------

/// CL-CC-01: given client credentials, the client uses the `client_credentials` grant and no authorization request.
fn cl_cc_01(m: &CheckMeta, s: &ScenarioObs) -> Evaluation {
    let expected = "grant_type=client_credentials at the token endpoint, no authorization request";
    if let Some(r) = s.log.iter().find(|r| {
        matches!(r.kind, RequestKind::Authorize)
            || (is_token(r) && grant_of(r) != "client_credentials")
    }) {
        let what = match &r.kind {
            RequestKind::Authorize => "an authorization request".to_owned(),
            _ => format!("a token request with grant_type `{}`", grant_of(r)),
        };
        return Evaluation::violated(m.level, expected, what).with_offending([s.id(r)]);
    }
    match grants(s, "client_credentials") {
        Ok(found) => Evaluation::pass(
            expected,
            format!("{} client_credentials request(s)", found.len()),
        )
        .with_evidence(found.iter().map(|r| s.id(r))),
        Err(e) => e,
    }
}

const CL_CC_01_BASIC: InWorld = InWorld {
    meta: meta("CL-CC-01.basic", "Client credentials (client_secret_basic) are used with the client_credentials grant", Must,
        &["SEP-1046", "OAuth 2.1 §4.2"],
        "auth/client-credentials-basic: the context carries client_id and client_secret → the client requests its token with grant_type=client_credentials and never sends an authorization request."),
    world: CLIENT_CREDENTIALS_BASIC,
    judge: cl_cc_01,
};

const CL_CC_01_JWT: InWorld = InWorld {
    meta: meta("CL-CC-01.jwt", "Client credentials (private_key_jwt) are used with the client_credentials grant", Must,
        &["SEP-1046", "OAuth 2.1 §4.2"],
        "auth/client-credentials-jwt: the context carries client_id and an ES256 private key → the client requests its token with grant_type=client_credentials and never sends an authorization request."),
    world: CLIENT_CREDENTIALS_JWT,
    judge: cl_cc_01,
};

/// The (client_id, secret) of an `Authorization: Basic` header (RFC 6749 §2.3.1: each part form-encoded).
fn basic_pair(r: &LoggedRequest) -> Option<(String, String)> {
    let v = r
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str())?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = String::from_utf8(STANDARD.decode(b64.trim()).ok()?).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let dec = |p: &str| {
        url::form_urlencoded::parse(format!("x={p}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}

/// CL-CC-02: the client_credentials request authenticates with HTTP Basic, as the AS requires.
const CL_CC_02: InWorld = InWorld {
    meta: meta("CL-CC-02", "Client credentials are sent with client_secret_basic when that is the AS's method", Must,
        &["SEP-1046", "OAuth 2.1 §2.4.1", "RFC 6749 §2.3.1"],
        "auth/client-credentials-basic: the AS supports only client_secret_basic → every client_credentials request carries Authorization: Basic with the context's client_id and secret (form-encoded) and no client_secret in the body."),
    world: CLIENT_CREDENTIALS_BASIC,
    judge: |m, s| {
        each(m, s, grants(s, "client_credentials"), "Authorization: Basic with the context's client_id and secret; no client_secret in the body", |r| {
            if param(r, "client_secret").is_some() {
                return Some("client_secret in the request body".into());
            }
            match basic_pair(r) {
                None => Some("no Authorization: Basic header".into()),
                Some((id, secret)) if id != MACHINE_CLIENT_ID || secret != MACHINE_CLIENT_SECRET => Some(format!(
                    "Basic credentials for client {} with {} secret",
                    shown(Some(&id)),
                    if secret == MACHINE_CLIENT_SECRET { "the context's" } else { "another" }
                )),
                Some(_) => None,
            }
        })
    },
};

/// The jwt world's client_credentials requests that carry a client assertion (ERROR when none).
fn assertions(s: &ScenarioObs) -> Result<Vec<&LoggedRequest>, Evaluation> {
    let found: Vec<&LoggedRequest> = grants(s, "client_credentials")?
        .into_iter()
        .filter(|r| param(r, "client_assertion").is_some())
        .collect();
    if found.is_empty() {
        return Err(never(
            s,
            "a client_credentials request with a client_assertion",
        ));
    }
    Ok(found)
}

/// The JOSE header of a compact JWS.
fn jose_header(jwt: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next()?).ok()?).ok()
}

/// CL-CC-03: the assertion type is the RFC 7523 JWT client assertion type.
const CL_CC_03: InWorld = InWorld {
    meta: meta("CL-CC-03", "A JWT client assertion is declared with the RFC 7523 assertion type", Must,
        &["SEP-1046", "RFC 7523 §2.2"],
        "auth/client-credentials-jwt: every client_credentials request carries client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer beside its client_assertion."),
    world: CLIENT_CREDENTIALS_JWT,
    judge: |m, s| {
        each(m, s, grants(s, "client_credentials"), &format!("client_assertion_type={CLIENT_ASSERTION_TYPE} and a client_assertion"), |r| {
            let t = param(r, "client_assertion_type");
            if t != Some(CLIENT_ASSERTION_TYPE) {
                return Some(format!("client_assertion_type {}", shown(t)));
            }
            param(r, "client_assertion").is_none().then(|| "no client_assertion".to_owned())
        })
    },
};

/// CL-CC-04: the assertion is an ES256 JWS that verifies with the context's key.
const CL_CC_04: InWorld = InWorld {
    meta: meta("CL-CC-04", "The client assertion is signed with the client's key (ES256)", Must,
        &["SEP-1046", "RFC 7523 §3", "RFC 7515 §5.2"],
        "auth/client-credentials-jwt: the context hands the client an ES256 private key (PKCS#8 PEM) → every client assertion has alg ES256 and its signature verifies with that key."),
    world: CLIENT_CREDENTIALS_JWT,
    judge: |m, s| {
        let found = assertions(s);
        let Some(key) = s.machine.as_ref().and_then(|mm| mm.client_key.as_ref()) else {
            return found.err().unwrap_or_else(|| Evaluation::harness_error("the jwt world kept no client key"));
        };
        each(m, s, found, "an ES256 JWS that verifies with the context's key", |r| {
            let a = param(r, "client_assertion").unwrap_or_default();
            let alg = jose_header(a).and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_owned));
            if alg.as_deref() != Some("ES256") {
                return Some(format!("alg {}", shown(alg.as_deref())));
            }
            key.verify(a).err().map(|_| "the signature does not verify with the context's key".to_owned())
        })
    },
};

/// CL-CC-05: `iss` and `sub` are the client id.
const CL_CC_05: InWorld = InWorld {
    meta: meta("CL-CC-05", "The client assertion's iss and sub are the client_id", Must,
        &["SEP-1046", "RFC 7523 §3"],
        "auth/client-credentials-jwt: every client assertion has iss = sub = the context's client_id."),
    world: CLIENT_CREDENTIALS_JWT,
    judge: |m, s| {
        each(m, s, assertions(s), &format!("iss = sub = `{MACHINE_CLIENT_ID}`"), |r| {
            let claims = unverified_claims(param(r, "client_assertion").unwrap_or_default())?;
            let text = |n: &str| claims.get(n).and_then(Value::as_str).map(str::to_owned);
            let (iss, sub) = (text("iss"), text("sub"));
            (iss.as_deref() != Some(MACHINE_CLIENT_ID) || sub.as_deref() != Some(MACHINE_CLIENT_ID))
                .then(|| format!("iss {}, sub {}", shown(iss.as_deref()), shown(sub.as_deref())))
        })
        .with_message("an assertion that is not a JWT at all is judged by CL-CC-04")
    },
};

/// CL-CC-06: `aud` is the AS's issuer identifier.
const CL_CC_06: InWorld = InWorld {
    meta: meta("CL-CC-06", "The client assertion's aud is the authorization server's issuer", Must,
        &["SEP-1046", "RFC 7523 §3"],
        "auth/client-credentials-jwt: every client assertion's aud names the AS issuer identifier (with or without one trailing slash), not its token endpoint."),
    world: CLIENT_CREDENTIALS_JWT,
    judge: |m, s| {
        let issuer = s.issuers.first().cloned().unwrap_or_default();
        each(m, s, assertions(s), &format!("aud = `{issuer}`"), |r| {
            let claims = unverified_claims(param(r, "client_assertion").unwrap_or_default())?;
            (!audience_names(claims.get("aud"), &issuer))
                .then(|| format!("aud {}", claims.get("aud").map_or("absent".to_owned(), |a| shown(Some(&a.to_string())))))
        })
    },
};

/// CL-CC-07: every assertion has a `jti` of its own.
const CL_CC_07: InWorld = InWorld {
    meta: meta("CL-CC-07", "Every client assertion carries a fresh jti", Should,
        &["SEP-1046", "RFC 7523 §3", "RFC 7519 §4.1.7"],
        "auth/client-credentials-jwt: every access token dies after one request, so the client asserts again → every assertion has a jti, and no jti repeats (an AS refuses a replayed one)."),
    world: CLIENT_CREDENTIALS_JWT,
    judge: |m, s| {
        let found = match assertions(s) {
            Ok(f) => f,
            Err(e) => return e,
        };
        if found.len() < 2 {
            return Evaluation::error(format!(
                "the client sent one client assertion, so there is no second to compare its jti with; {}",
                s.progress()
            ))
            .with_evidence(found.iter().map(|r| s.id(r)))
            .after(&["CL-CC-03", "CL-CC-04", "CL-CC-05", "CL-CC-06"]);
        }
        let mut seen: Vec<String> = Vec::new();
        each(m, s, Ok(found), "a jti in every assertion, none repeated", |r| {
            let claims = unverified_claims(param(r, "client_assertion").unwrap_or_default())?;
            let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
                return Some("an assertion without jti".into());
            };
            if seen.iter().any(|j| j == jti) {
                return Some("an assertion repeats an earlier assertion's jti".into());
            }
            seen.push(jti.to_owned());
            None
        })
    },
};

// ----- enterprise-managed authorization (SEP-990) ------------------------------------------------------------

/// The token exchange requests to the enterprise IdP.
fn exchanges(s: &ScenarioObs) -> Vec<&LoggedRequest> {
    s.log
        .iter()
        .filter(|r| r.origin == Origin::As(1) && is_token(r))
        .collect()
}

/// CL-EMA-01: the client exchanges the IdP's ID token for an ID-JAG at the IdP (RFC 8693).
const CL_EMA_01: InWorld = InWorld {
    meta: meta("CL-EMA-01", "The IdP's ID token is exchanged for an ID-JAG at the IdP", Must,
        &["SEP-990", "RFC 8693 §2.1"],
        "auth/enterprise-managed-authorization: the client POSTs to the context's idp_token_endpoint grant_type=token-exchange, requested_token_type=id-jag, subject_token = the context's ID token, subject_token_type=id_token, audience = the AS issuer, client_id = idp_client_id; a client that skips the exchange and goes to the AS fails."),
    world: ENTERPRISE_MANAGED,
    judge: |m, s| {
        let issuer = s.issuers.first().cloned().unwrap_or_default();
        let id_token = s.machine.as_ref().and_then(|mm| mm.handed("idp_id_token")).unwrap_or_default().to_owned();
        let expected = format!("a token exchange at the IdP: id_token → id-jag for audience `{issuer}`");
        let found = exchanges(s);
        if found.is_empty() {
            return match s.log.iter().find(|r| at_the_as(r) && is_token(r)) {
                Some(r) => Evaluation::violated(m.level, expected, "a token request to the AS without an exchange at the IdP first")
                    .with_offending([s.id(r)]),
                None => never(s, "a token exchange request to the IdP"),
            };
        }
        each(m, s, Ok(found), &expected, |r| {
            let p = |n: &str| param(r, n);
            if grant_of(r) != TOKEN_EXCHANGE_GRANT {
                return Some(format!("grant_type {}", shown(Some(grant_of(r)))));
            }
            if p("requested_token_type") != Some(ID_JAG_TOKEN_TYPE) {
                return Some(format!("requested_token_type {}", shown(p("requested_token_type"))));
            }
            if p("subject_token_type") != Some(ID_TOKEN_TOKEN_TYPE) {
                return Some(format!("subject_token_type {}", shown(p("subject_token_type"))));
            }
            if p("subject_token") != Some(id_token.as_str()) {
                return Some("subject_token is not the context's ID token".into());
            }
            if p("audience").is_none_or(|a| a.trim_end_matches('/') != issuer.trim_end_matches('/')) {
                return Some(format!("audience {}", shown(p("audience"))));
            }
            (p("client_id") != Some(IDP_CLIENT_ID)).then(|| format!("client_id {}", shown(p("client_id"))))
        })
    },
};

/// CL-EMA-02: the client presents the ID-JAG (not the ID token) with the jwt-bearer grant at the AS.
const CL_EMA_02: InWorld = InWorld {
    meta: meta("CL-EMA-02", "The ID-JAG is presented to the AS with the jwt-bearer grant", Must,
        &["SEP-990", "RFC 7523 §2.1"],
        "auth/enterprise-managed-authorization: after the exchange, the client POSTs grant_type=jwt-bearer with assertion = the ID-JAG the IdP issued, authenticated with its client_secret_basic credentials; presenting the ID token itself fails."),
    world: ENTERPRISE_MANAGED,
    judge: |m, s| {
        let expected = "grant_type=jwt-bearer at the AS, assertion = the issued ID-JAG, Authorization: Basic";
        let id_token = s.machine.as_ref().and_then(|mm| mm.handed("idp_id_token")).unwrap_or_default();
        let bearer: Vec<&LoggedRequest> = s.token_requests(JWT_BEARER_GRANT).into_iter().filter(|r| at_the_as(r)).collect();
        if let Some(r) = bearer.iter().find(|r| param(r, "assertion") == Some(id_token)) {
            return Evaluation::violated(m.level, expected, "the assertion is the IdP's ID token, not an ID-JAG").with_offending([s.id(r)]);
        }
        let issued: Vec<String> = exchanges(s)
            .iter()
            .filter(|r| r.status == 200)
            .filter_map(|r| response_member(r, "access_token").and_then(|v| v.as_str().map(str::to_owned)))
            .collect();
        if issued.is_empty() {
            return never(s, "a token exchange the IdP answered with an ID-JAG").after(&["CL-EMA-01"]);
        }
        if bearer.is_empty() {
            return never(s, "a jwt-bearer token request to the AS after obtaining the ID-JAG");
        }
        each(m, s, Ok(bearer), expected, |r| {
            if !param(r, "assertion").is_some_and(|a| issued.iter().any(|i| i == a)) {
                return Some("the assertion is not the ID-JAG the IdP issued".into());
            }
            match basic_pair(r) {
                Some((id, secret)) if id == MACHINE_CLIENT_ID && secret == MACHINE_CLIENT_SECRET => None,
                _ => Some("no Authorization: Basic with the context's client credentials".into()),
            }
        })
    },
};

// ----- workload identity federation (SEP-1933) --------------------------------------------------------------

/// CL-WIF-01: the client presents the context's workload JWT with the jwt-bearer grant.
const CL_WIF_01: InWorld = InWorld {
    meta: meta("CL-WIF-01", "The workload JWT is presented with the jwt-bearer grant", Must,
        &["SEP-1933", "RFC 7523 §2.1"],
        "auth/wif-jwt-bearer: the client POSTs grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with assertion = the context's valid_jwt (not the expired or wrong-audience one)."),
    world: WIF_JWT_BEARER,
    judge: |m, s| {
        let valid = s.machine.as_ref().and_then(|mm| mm.handed("valid_jwt")).unwrap_or_default();
        let expected = "grant_type=jwt-bearer with assertion = valid_jwt";
        if let Some(r) = s.log.iter().find(|r| at_the_as(r) && is_token(r) && grant_of(r) != JWT_BEARER_GRANT) {
            return Evaluation::violated(m.level, expected, format!("a token request with grant_type {}", shown(Some(grant_of(r)))))
                .with_offending([s.id(r)]);
        }
        each(m, s, grants(s, JWT_BEARER_GRANT), expected, |r| {
            (param(r, "assertion") != Some(valid)).then(|| match param(r, "assertion") {
                None => "no assertion".to_owned(),
                Some(_) => "the assertion is not the context's valid_jwt".to_owned(),
            })
        })
    },
};

/// CL-WIF-02: after the AS refused the workload JWT, the client neither retries nor switches grant.
fn cl_wif_02(m: &CheckMeta, s: &ScenarioObs) -> Evaluation {
    let expected =
        "after the refused jwt-bearer request: no further token or authorization request";
    let Some(refused) = s
        .token_requests(JWT_BEARER_GRANT)
        .into_iter()
        .find(|r| at_the_as(r) && r.status >= 400)
    else {
        return never(s, "a jwt-bearer token request that the AS refused");
    };
    match s
        .log
        .iter()
        .find(|r| r.seq > refused.seq && (is_token(r) || matches!(r.kind, RequestKind::Authorize)))
    {
        Some(r) => {
            let what = match &r.kind {
                RequestKind::Authorize => {
                    "an authorization request (switched to the authorization code flow)".to_owned()
                }
                _ if grant_of(r) == JWT_BEARER_GRANT => {
                    "the jwt-bearer request again (retried)".to_owned()
                }
                _ => format!(
                    "a token request with grant_type {} (switched grant)",
                    shown(Some(grant_of(r)))
                ),
            };
            Evaluation::violated(m.level, expected, what)
                .with_offending([s.id(r)])
                .with_evidence([s.id(refused)])
        }
        None => Evaluation::pass(
            expected,
            format!(
                "stopped after HTTP {} at the token endpoint",
                refused.status
            ),
        )
        .with_evidence([s.id(refused)]),
    }
}

const CL_WIF_02_WRONG_AUDIENCE: InWorld = InWorld {
    meta: meta("CL-WIF-02.wrong-audience", "A refused workload JWT (wrong audience) is neither retried nor replaced by another grant", Should,
        &["SEP-1933", "RFC 7523 §3.1"],
        "auth/wif-wrong-audience: valid_jwt is a JWT for another audience and the AS answers invalid_grant → the client surfaces the error: no further token request, no authorization request."),
    world: WIF_WRONG_AUDIENCE,
    judge: cl_wif_02,
};

const CL_WIF_02_EXPIRED: InWorld = InWorld {
    meta: meta("CL-WIF-02.expired", "A refused workload JWT (expired) is neither retried nor replaced by another grant", Should,
        &["SEP-1933", "RFC 7523 §3.1"],
        "auth/wif-expired: valid_jwt is expired and the AS answers invalid_grant → the client surfaces the error: no further token request, no authorization request."),
    world: WIF_EXPIRED,
    judge: cl_wif_02,
};

/// Synthetic records of the extension worlds, as a conforming client leaves them (for the unit tests here and
/// the role's compliant record).
#[cfg(test)]
pub(crate) mod testing {
    use std::time::Duration;

    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use fake_idp::client_world::{LoggedRequest, Origin, RequestKind, WorldConfig};
    use serde_json::{json, Value};

    use crate::check::ObsError;
    use crate::client::obs::ScenarioObs;
    use crate::client::scenarios::machine::{
        Machine, MachineMaterial, WifJwt, IDP_CLIENT_ID, MACHINE_CLIENT_ID, MACHINE_CLIENT_SECRET,
    };
    use crate::client::scenarios::{
        self, CLIENT_CREDENTIALS_BASIC, CLIENT_CREDENTIALS_JWT, ENTERPRISE_MANAGED, WIF_EXPIRED,
        WIF_JWT_BEARER, WIF_WRONG_AUDIENCE,
    };
    use crate::client::spawn::{ClientExit, ClientRun};

    pub const MCP: &str = "http://127.0.0.1:1000/mcp";
    pub const AS: &str = "http://127.0.0.1:2000";
    pub const IDP: &str = "http://127.0.0.1:3000";
    /// The ID-JAG the synthetic IdP issues.
    pub const ID_JAG: &str = "eyJ0eXAiOiJvYXV0aC1pZC1qYWcrand0In0.e30.sig";

    pub fn material(machine: Machine) -> MachineMaterial {
        let mut config = WorldConfig::default();
        let mut m = MachineMaterial::prepare(machine, &mut config);
        m.mint("official", &[AS.into(), IDP.into()]);
        m
    }

    /// A client assertion signed with the world's client key.
    pub fn assertion(m: &MachineMaterial, claims: Value) -> String {
        m.client_key
            .as_ref()
            .expect("a client key")
            .sign("JWT", &claims)
    }

    pub fn good_claims(jti: &str) -> Value {
        json!({"iss": MACHINE_CLIENT_ID, "sub": MACHINE_CLIENT_ID, "aud": AS, "jti": jti, "exp": 4_000_000_000_i64})
    }

    /// A token request answered `status`.
    pub fn token(
        origin: Origin,
        grant: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
        status: u16,
        response: Value,
    ) -> LoggedRequest {
        let kind = RequestKind::Token {
            grant_type: grant.into(),
        };
        let mut r = LoggedRequest::new(origin, "POST", "/token", kind);
        r.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        if let Some((id, secret)) = basic {
            let b = STANDARD.encode(format!("{id}:{secret}"));
            r.headers
                .push(("authorization".into(), format!("Basic {b}")));
        }
        r.form = vec![("grant_type".into(), grant.into())];
        r.form
            .extend(form.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        r.form.push(("resource".into(), MCP.into()));
        r.status = status;
        r.response_body = response.to_string();
        r
    }

    pub fn issued(token: &str) -> Value {
        json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600})
    }

    pub fn record(
        name: &'static str,
        mut log: Vec<LoggedRequest>,
        m: MachineMaterial,
    ) -> ScenarioObs {
        for (i, r) in log.iter_mut().enumerate() {
            r.seq = i;
        }
        ScenarioObs {
            def: scenarios::all()
                .into_iter()
                .find(|d| d.name == name)
                .expect("an extension world"),
            mcp_url: MCP.into(),
            issuers: vec![AS.into(), IDP.into()],
            log,
            run: ClientRun {
                exit: ClientExit::Exited(Some(0)),
                duration: Duration::ZERO,
                output_tail: String::new(),
                output_truncated: false,
            },
            documents: Vec::new(),
            machine: Some(m),
            tls_refusals: Vec::new(),
        }
    }

    pub fn cc_basic() -> ScenarioObs {
        let log = vec![token(
            Origin::As(0),
            "client_credentials",
            &[("scope", "todo:read")],
            Some((MACHINE_CLIENT_ID, MACHINE_CLIENT_SECRET)),
            200,
            issued("cc-1"),
        )];
        record(
            CLIENT_CREDENTIALS_BASIC,
            log,
            material(Machine::ClientCredentialsBasic),
        )
    }

    /// Two client_credentials requests, each with a fresh assertion.
    pub fn cc_jwt() -> ScenarioObs {
        let m = material(Machine::ClientCredentialsJwt);
        let log = ["jti-1", "jti-2"]
            .iter()
            .map(|jti| {
                let a = assertion(&m, good_claims(jti));
                token(
                    Origin::As(0),
                    "client_credentials",
                    &[
                        ("client_assertion_type", super::CLIENT_ASSERTION_TYPE),
                        ("client_assertion", &a),
                        ("client_id", MACHINE_CLIENT_ID),
                    ],
                    None,
                    200,
                    issued(jti),
                )
            })
            .collect();
        record(CLIENT_CREDENTIALS_JWT, log, m)
    }

    pub fn exchange(m: &MachineMaterial, audience: &str) -> LoggedRequest {
        token(
            Origin::As(1),
            super::TOKEN_EXCHANGE_GRANT,
            &[
                ("requested_token_type", super::ID_JAG_TOKEN_TYPE),
                ("audience", audience),
                (
                    "subject_token",
                    m.handed("idp_id_token").unwrap_or_default(),
                ),
                ("subject_token_type", super::ID_TOKEN_TOKEN_TYPE),
                ("client_id", IDP_CLIENT_ID),
            ],
            None,
            200,
            json!({"access_token": ID_JAG, "issued_token_type": super::ID_JAG_TOKEN_TYPE}),
        )
    }

    pub fn jwt_bearer(assertion: &str, basic: Option<(&str, &str)>, status: u16) -> LoggedRequest {
        let response = if status == 200 {
            issued("machine-1")
        } else {
            json!({"error": "invalid_grant"})
        };
        token(
            Origin::As(0),
            super::JWT_BEARER_GRANT,
            &[("assertion", assertion)],
            basic,
            status,
            response,
        )
    }

    pub fn ema() -> ScenarioObs {
        let m = material(Machine::EnterpriseManaged);
        let log = vec![
            exchange(&m, AS),
            jwt_bearer(
                ID_JAG,
                Some((MACHINE_CLIENT_ID, MACHINE_CLIENT_SECRET)),
                200,
            ),
        ];
        record(ENTERPRISE_MANAGED, log, m)
    }

    pub fn wif(name: &'static str, handed: WifJwt) -> ScenarioObs {
        let m = material(Machine::Wif(handed));
        let status = if handed == WifJwt::Valid { 200 } else { 400 };
        let log = vec![jwt_bearer(
            m.handed("valid_jwt").unwrap_or_default(),
            None,
            status,
        )];
        record(name, log, m)
    }

    /// Every extension world, as a conforming client leaves it.
    pub fn compliant_worlds() -> Vec<(&'static str, Result<ScenarioObs, ObsError>)> {
        vec![
            (CLIENT_CREDENTIALS_BASIC, Ok(cc_basic())),
            (CLIENT_CREDENTIALS_JWT, Ok(cc_jwt())),
            (ENTERPRISE_MANAGED, Ok(ema())),
            (WIF_JWT_BEARER, Ok(wif(WIF_JWT_BEARER, WifJwt::Valid))),
            (
                WIF_WRONG_AUDIENCE,
                Ok(wif(WIF_WRONG_AUDIENCE, WifJwt::WrongAudience)),
            ),
            (WIF_EXPIRED, Ok(wif(WIF_EXPIRED, WifJwt::Expired))),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use fake_idp::client_world::{LoggedRequest, Origin, RequestKind};
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::testing::*;
    use super::*;
    use crate::client::scenarios::machine::{Machine, WifJwt};

    fn judge(check: &InWorld, s: ScenarioObs) -> Verdict {
        let o = ClientObservations {
            scenarios: BTreeMap::from([(check.world, Ok(s))]),
            selected_all: true,
            out_of_scope: Default::default(),
        };
        check.evaluate(&o).verdict
    }

    fn emptied(mut s: ScenarioObs) -> ScenarioObs {
        s.log.clear();
        s
    }

    /// Replaces a form parameter of the request at `i`.
    fn set(mut s: ScenarioObs, i: usize, name: &str, value: &str) -> ScenarioObs {
        let r = &mut s.log[i];
        r.form.retain(|(k, _)| k != name);
        r.form.push((name.into(), value.into()));
        s
    }

    fn authorize() -> LoggedRequest {
        LoggedRequest::new(Origin::As(0), "GET", "/authorize", RequestKind::Authorize)
    }

    #[test]
    fn every_extension_check_passes_on_its_compliant_world_and_is_error_without_requests() {
        for c in [
            &CL_CC_01_BASIC,
            &CL_CC_01_JWT,
            &CL_CC_02,
            &CL_CC_03,
            &CL_CC_04,
            &CL_CC_05,
            &CL_CC_06,
            &CL_CC_07,
            &CL_EMA_01,
            &CL_EMA_02,
            &CL_WIF_01,
            &CL_WIF_02_WRONG_AUDIENCE,
            &CL_WIF_02_EXPIRED,
        ] {
            let world = compliant_worlds()
                .into_iter()
                .find(|(n, _)| *n == c.world)
                .and_then(|(_, r)| r.ok())
                .expect("a compliant world");
            assert_eq!(judge(c, world.clone()), Verdict::Pass, "{}", c.meta.id);
            assert_eq!(judge(c, emptied(world)), Verdict::Error, "{}", c.meta.id);
        }
    }

    #[test]
    fn an_authorization_request_in_a_client_credentials_world_fails_cl_cc_01() {
        let mut s = cc_basic();
        s.log.insert(0, authorize());
        assert_eq!(judge(&CL_CC_01_BASIC, s), Verdict::Fail);
    }

    #[test]
    fn a_secret_in_the_body_fails_cl_cc_02() {
        let mut s = set(cc_basic(), 0, "client_secret", MACHINE_CLIENT_SECRET);
        s.log[0].headers.retain(|(k, _)| k != "authorization");
        assert_eq!(judge(&CL_CC_02, s), Verdict::Fail);
    }

    #[test]
    fn another_assertion_type_fails_cl_cc_03() {
        let s = set(cc_jwt(), 1, "client_assertion_type", "urn:x");
        assert_eq!(judge(&CL_CC_03, s), Verdict::Fail);
    }

    #[test]
    fn an_assertion_signed_with_another_key_fails_cl_cc_04() {
        let other = material(Machine::ClientCredentialsJwt);
        let forged = assertion(&other, good_claims("jti-x"));
        assert_eq!(
            judge(&CL_CC_04, set(cc_jwt(), 0, "client_assertion", &forged)),
            Verdict::Fail
        );
    }

    /// The jwt world whose first assertion, signed with the world's key, carries `claims`.
    fn first_assertion_claiming(claims: Value) -> ScenarioObs {
        let s = cc_jwt();
        let a = assertion(s.machine.as_ref().unwrap(), claims);
        set(s, 0, "client_assertion", &a)
    }

    #[test]
    fn an_assertion_issued_by_someone_else_fails_cl_cc_05() {
        let s = first_assertion_claiming(
            json!({"iss": "x", "sub": MACHINE_CLIENT_ID, "aud": AS, "jti": "j"}),
        );
        assert_eq!(judge(&CL_CC_05, s), Verdict::Fail);
    }

    #[test]
    fn an_assertion_for_the_token_endpoint_fails_cl_cc_06() {
        let aud = format!("{AS}/token");
        let s = first_assertion_claiming(
            json!({"iss": MACHINE_CLIENT_ID, "sub": MACHINE_CLIENT_ID, "aud": aud, "jti": "j"}),
        );
        assert_eq!(judge(&CL_CC_06, s), Verdict::Fail);
    }

    #[test]
    fn a_repeated_jti_warns_cl_cc_07_and_a_single_assertion_is_error() {
        let s = cc_jwt();
        let again = param(&s.log[0], "client_assertion").unwrap().to_owned();
        assert_eq!(
            judge(&CL_CC_07, set(s, 1, "client_assertion", &again)),
            Verdict::Warn
        );
        let mut one = cc_jwt();
        one.log.truncate(1);
        assert_eq!(judge(&CL_CC_07, one), Verdict::Error);
    }

    #[test]
    fn an_exchange_for_another_audience_fails_cl_ema_01() {
        let s = set(ema(), 0, "audience", MCP);
        assert_eq!(judge(&CL_EMA_01, s), Verdict::Fail);
    }

    #[test]
    fn going_to_the_as_without_an_exchange_fails_cl_ema_01() {
        let mut s = ema();
        s.log.remove(0);
        assert_eq!(judge(&CL_EMA_01, s), Verdict::Fail);
    }

    #[test]
    fn presenting_the_id_token_fails_cl_ema_02() {
        let s = ema();
        let id_token = s
            .machine
            .as_ref()
            .unwrap()
            .handed("idp_id_token")
            .unwrap()
            .to_owned();
        assert_eq!(
            judge(&CL_EMA_02, set(s, 1, "assertion", &id_token)),
            Verdict::Fail
        );
    }

    #[test]
    fn an_id_jag_without_the_clients_credentials_fails_cl_ema_02() {
        let mut s = ema();
        s.log[1].headers.retain(|(k, _)| k != "authorization");
        assert_eq!(judge(&CL_EMA_02, s), Verdict::Fail);
    }

    #[test]
    fn presenting_the_expired_jwt_fails_cl_wif_01() {
        let s = wif(WIF_JWT_BEARER, WifJwt::Valid);
        let expired = s
            .machine
            .as_ref()
            .unwrap()
            .handed("expired_jwt")
            .unwrap()
            .to_owned();
        assert_eq!(
            judge(&CL_WIF_01, set(s, 0, "assertion", &expired)),
            Verdict::Fail
        );
    }

    #[test]
    fn a_retry_after_the_refusal_warns_cl_wif_02() {
        let mut s = wif(WIF_EXPIRED, WifJwt::Expired);
        let mut again = s.log[0].clone();
        again.seq = 1;
        s.log.push(again);
        assert_eq!(judge(&CL_WIF_02_EXPIRED, s), Verdict::Warn);
    }

    #[test]
    fn an_authorization_request_after_the_refusal_warns_cl_wif_02() {
        let mut s = wif(WIF_WRONG_AUDIENCE, WifJwt::WrongAudience);
        let mut a = authorize();
        a.seq = 1;
        s.log.push(a);
        assert_eq!(judge(&CL_WIF_02_WRONG_AUDIENCE, s), Verdict::Warn);
    }
}
