//! The probes of the JWT-assertion defects (the reference AS started with the suite's parties trusted): one valid
//! assertion of the grant, with the one change the defect's rule exists to refuse.

use fake_idp::assertion::{
    unsigned, EcKey, Party, CLIENT_ASSERTION_TYPE, ID_JAG_TYP, JWT_BEARER_GRANT,
    SUITE_ASSERTION_CLIENT, SUITE_ENTERPRISE_IDP, SUITE_WORKLOAD_ISSUER,
};
use fake_idp::AsDefect;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{http, jwt_part, INTROSPECTION, RESOURCE};

const OTHER_RESOURCE: &str = "http://127.0.0.1:3001/mcp";

/// The three grants that carry a JWT assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// jwt-bearer with a workload JWT, no client authentication.
    Wif,
    /// jwt-bearer with an ID-JAG, the confidential client `todo-server` authenticating.
    Jag,
    /// client_credentials with a private_key_jwt client assertion.
    Cc,
}

/// An assertion about to be presented.
pub struct Assertion {
    pub claims: Value,
    pub key: EcKey,
    pub typ: &'static str,
    pub unsigned: bool,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn next_jti() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "jti-{}",
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

impl Assertion {
    /// A valid assertion of `grant` for the AS at `issuer`.
    pub fn valid(issuer: &str, grant: Grant) -> Assertion {
        let (iss, sub, party) = match grant {
            Grant::Wif => (SUITE_WORKLOAD_ISSUER, "workload", Party::Workload),
            Grant::Jag => (SUITE_ENTERPRISE_IDP, "alice", Party::EnterpriseIdp),
            Grant::Cc => (
                SUITE_ASSERTION_CLIENT,
                SUITE_ASSERTION_CLIENT,
                Party::Client,
            ),
        };
        let now = now();
        let mut claims = json!({
            "iss": iss, "sub": sub, "aud": issuer, "iat": now, "exp": now + 300, "jti": next_jti(),
        });
        if grant == Grant::Jag {
            claims["client_id"] = json!(INTROSPECTION.0);
            claims["resource"] = json!(RESOURCE);
        }
        Assertion {
            claims,
            key: EcKey::fixed(party),
            typ: if grant == Grant::Jag {
                ID_JAG_TYP
            } else {
                "JWT"
            },
            unsigned: false,
        }
    }

    pub fn jwt(&self) -> String {
        if self.unsigned {
            unsigned(self.typ, &self.claims)
        } else {
            self.key.sign(self.typ, &self.claims)
        }
    }
}

/// Presents `jwt` with `grant` asking for `resource`: the status and the JSON body.
pub async fn present(issuer: &str, grant: Grant, jwt: &str, resource: &str) -> (StatusCode, Value) {
    let mut form = vec![
        ("resource", resource.to_owned()),
        ("scope", "todo:read".to_owned()),
    ];
    let mut req = http().post(format!("{issuer}/token"));
    match grant {
        Grant::Wif | Grant::Jag => {
            form.push(("grant_type", JWT_BEARER_GRANT.to_owned()));
            form.push(("assertion", jwt.to_owned()));
            if grant == Grant::Jag {
                req = req.basic_auth(INTROSPECTION.0, Some(INTROSPECTION.1));
            }
        }
        Grant::Cc => {
            form.push(("grant_type", "client_credentials".to_owned()));
            form.push(("client_id", SUITE_ASSERTION_CLIENT.to_owned()));
            form.push(("client_assertion_type", CLIENT_ASSERTION_TYPE.to_owned()));
            form.push(("client_assertion", jwt.to_owned()));
        }
    }
    let response = req.form(&form).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Whether the AS grants a token for the valid assertion of `grant` changed by `edit`.
async fn accepted(issuer: &str, grant: Grant, edit: impl FnOnce(&mut Assertion)) -> bool {
    let mut a = Assertion::valid(issuer, grant);
    edit(&mut a);
    present(issuer, grant, &a.jwt(), RESOURCE).await.0 == StatusCode::OK
}

/// Whether the valid assertion of `grant` is accepted a second time.
async fn replay_accepted(issuer: &str, grant: Grant) -> bool {
    let jwt = Assertion::valid(issuer, grant).jwt();
    let (first, body) = present(issuer, grant, &jwt, RESOURCE).await;
    assert_eq!(first, StatusCode::OK, "{body}");
    present(issuer, grant, &jwt, RESOURCE).await.0 == StatusCode::OK
}

/// The `aud` of the token the valid assertion of `grant` presented with `resource` gets (None: refused).
pub async fn token_audience(
    issuer: &str,
    grant: Grant,
    edit: impl FnOnce(&mut Assertion),
    resource: &str,
) -> Option<Value> {
    let mut a = Assertion::valid(issuer, grant);
    edit(&mut a);
    let (status, body) = present(issuer, grant, &a.jwt(), resource).await;
    (status == StatusCode::OK)
        .then(|| jwt_part(body["access_token"].as_str().unwrap(), 1)["aud"].clone())
}

fn remove(a: &mut Assertion, claim: &str) {
    a.claims.as_object_mut().unwrap().remove(claim);
}

/// Whether the hole of the assertion defect `probe` is open on the AS at `issuer`.
pub async fn hole_open(issuer: &str, probe: AsDefect) -> bool {
    use AsDefect as D;
    let other_aud = |a: &mut Assertion| a.claims["aud"] = json!("https://other-as.example");
    let expired = |a: &mut Assertion| a.claims["exp"] = json!(now() - 600);
    let untrusted = |a: &mut Assertion| a.key = EcKey::generate();
    match probe {
        D::AssertionTokenIgnoresResource => {
            token_audience(issuer, Grant::Wif, |_| {}, RESOURCE).await != Some(json!(RESOURCE))
        }
        D::WifAcceptWrongAudience => accepted(issuer, Grant::Wif, other_aud).await,
        D::WifAcceptExpired => accepted(issuer, Grant::Wif, expired).await,
        D::WifAcceptReplayedJti => replay_accepted(issuer, Grant::Wif).await,
        D::WifAcceptUntrustedKey => accepted(issuer, Grant::Wif, untrusted).await,
        D::WifAcceptMissingExp => accepted(issuer, Grant::Wif, |a| remove(a, "exp")).await,
        D::WifAcceptMissingJti => accepted(issuer, Grant::Wif, |a| remove(a, "jti")).await,
        D::WifAcceptAlgNone => accepted(issuer, Grant::Wif, |a| a.unsigned = true).await,
        D::JagAcceptWrongAudience => accepted(issuer, Grant::Jag, other_aud).await,
        D::JagAcceptExpired => accepted(issuer, Grant::Jag, expired).await,
        D::JagAcceptReplayedJti => replay_accepted(issuer, Grant::Jag).await,
        D::JagAcceptUntrustedSigner => accepted(issuer, Grant::Jag, untrusted).await,
        D::JagAcceptWrongTyp => accepted(issuer, Grant::Jag, |a| a.typ = "JWT").await,
        D::JagAcceptOtherClient => {
            accepted(issuer, Grant::Jag, |a| {
                a.claims["client_id"] = json!("someone-else")
            })
            .await
        }
        D::JagIgnoreResourceMismatch => {
            let edit = |a: &mut Assertion| a.claims["resource"] = json!(OTHER_RESOURCE);
            token_audience(issuer, Grant::Jag, edit, RESOURCE).await == Some(json!(RESOURCE))
        }
        D::CcAcceptWrongAudience => accepted(issuer, Grant::Cc, other_aud).await,
        D::CcAcceptExpiredAssertion => accepted(issuer, Grant::Cc, expired).await,
        D::CcAcceptReplayedJti => replay_accepted(issuer, Grant::Cc).await,
        D::CcAcceptUntrustedKey => accepted(issuer, Grant::Cc, untrusted).await,
        D::CcAcceptMismatchedSubject => {
            accepted(issuer, Grant::Cc, |a| {
                a.claims["iss"] = json!("someone-else");
                a.claims["sub"] = json!("someone-else");
            })
            .await
        }
        other => panic!("{other} is not an assertion defect"),
    }
}
