//! The worlds of the authorization extensions (client credentials, enterprise-managed authorization, workload
//! identity federation): what each world's AS serves, the per-run ES256 keys and JWTs, and the context handed to
//! the client, in the official suite's shapes (same `name`, same members).
//!
//! Keys are generated before the world starts (the ASes trust them); the JWTs are minted after it started, since
//! their audiences are the world's ephemeral issuer URLs.

use fake_idp::client_world::{EcKey, IdpConfig, MachineConfig, PreRegistered, WorldConfig};
use serde_json::{json, Value};

use super::{
    Registration, ScenarioDef, CLIENT_CREDENTIALS_BASIC, CLIENT_CREDENTIALS_JWT,
    ENTERPRISE_MANAGED, WIF_EXPIRED, WIF_JWT_BEARER, WIF_WRONG_AUDIENCE,
};
use crate::spec::{Extension, SpecVersion};

/// The client id of every machine world (the official suite's).
pub const MACHINE_CLIENT_ID: &str = "conformance-test-client";
/// The client secret of the client-credentials-basic and enterprise-managed worlds.
pub const MACHINE_CLIENT_SECRET: &str = "conformance-test-secret";
/// The workload's client id in the WIF worlds (the official suite's).
pub const WIF_CLIENT_ID: &str = "conformance-wif-workload";
/// The workload JWT issuer (the official suite's).
pub const WIF_ISSUER: &str = "https://idp.conformance-test.local";
/// The workload JWT subject.
pub const WIF_SUBJECT: &str = "conformance-workload";
/// The client's id at the enterprise IdP.
pub const IDP_CLIENT_ID: &str = "conformance-idp-client";
/// The user the enterprise IdP's ID token names.
pub const IDP_USER: &str = "alice@enterprise.example";
/// The audience of the wrong-audience workload JWT (the official suite's).
pub const WRONG_AUDIENCE: &str = "https://wrong.example";
/// The scopes a machine grant may obtain.
pub const MACHINE_SCOPES: [&str; 2] = ["todo:read", "todo:write"];

/// Which workload JWT of the context the world hands over in `valid_jwt` (the slot a client presents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WifJwt {
    Valid,
    WrongAudience,
    Expired,
}

/// The machine grant a world expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    ClientCredentialsBasic,
    ClientCredentialsJwt,
    EnterpriseManaged,
    Wif(WifJwt),
}

impl Machine {
    /// What the context hands over, for the world table.
    pub fn describe(self) -> &'static str {
        match self {
            Machine::ClientCredentialsBasic => "client credentials (`client_id`, `client_secret`; client_secret_basic)",
            Machine::ClientCredentialsJwt => "client credentials (`client_id`, `private_key_pem`, `signing_algorithm` ES256; private_key_jwt)",
            Machine::EnterpriseManaged => "enterprise IdP (`client_id`, `client_secret`, `idp_client_id`, `idp_id_token`, `idp_issuer`, `idp_token_endpoint`)",
            Machine::Wif(_) => "workload JWTs (`client_id`, `valid_jwt`, `wrong_audience_jwt`, `expired_jwt`)",
        }
    }
}

/// The per-run keys and tokens of a machine world: what the checks verify the client's requests against. Prints
/// without any secret.
#[derive(Clone)]
pub struct MachineMaterial {
    pub machine: Machine,
    /// The client's assertion key (client-credentials-jwt).
    pub client_key: Option<EcKey>,
    /// The workload key (WIF) or the IdP's key (enterprise-managed).
    pub issuer_key: Option<EcKey>,
    /// The context handed to the client (after [`MachineMaterial::mint`]).
    pub context: Value,
}

impl std::fmt::Debug for MachineMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineMaterial")
            .field("machine", &self.machine)
            .finish_non_exhaustive()
    }
}

fn machine_world(scope: &str) -> WorldConfig {
    let mut w = WorldConfig::default();
    w.mcp.challenge_scope = Some(scope.to_owned());
    w
}

/// The extensions' worlds, in report order (each runs only when its extension is opted in).
pub fn worlds() -> Vec<ScenarioDef> {
    let def = |name, official, covers, summary, machine, extension| ScenarioDef {
        name,
        official,
        covers,
        summary,
        registration: Registration::Machine(machine),
        since: SpecVersion::V2025_11_25,
        extension: Some(extension),
        world: || machine_world("todo:read"),
        ..ScenarioDef::USUAL
    };
    vec![
        def(
            CLIENT_CREDENTIALS_BASIC,
            "auth/client-credentials-basic",
            &["auth/client-credentials-basic"],
            "Extension client-credentials: the AS serves only client_credentials with client_secret_basic for the context's client (no DCR, no refresh tokens); the 401 asks for todo:read",
            Machine::ClientCredentialsBasic,
            Extension::ClientCredentials,
        ),
        ScenarioDef {
            world: || {
                // Every access token dies after one request: each new token needs a new client assertion.
                let mut w = machine_world("todo:read");
                w.mcp.expire_token_after = Some(1);
                w
            },
            ..def(
                CLIENT_CREDENTIALS_JWT,
                "auth/client-credentials-jwt",
                &["auth/client-credentials-jwt"],
                "Extension client-credentials: client_credentials with an ES256 private_key_jwt assertion, key in the context (PKCS#8 PEM, fresh per run); every access token dies after one request, so the client asserts again",
                Machine::ClientCredentialsJwt,
                Extension::ClientCredentials,
            )
        },
        def(
            ENTERPRISE_MANAGED,
            "auth/enterprise-managed-authorization",
            &["auth/enterprise-managed-authorization"],
            "Extension enterprise-managed: an enterprise IdP (AS 2) exchanges the context's ID token for an ID-JAG (RFC 8693); the AS takes it with the jwt-bearer grant (RFC 7523) and client_secret_basic",
            Machine::EnterpriseManaged,
            Extension::EnterpriseManaged,
        ),
        def(
            WIF_JWT_BEARER,
            "auth/wif-jwt-bearer",
            &["auth/wif-jwt-bearer"],
            "Extension wif: the AS serves only the jwt-bearer grant for workload JWTs (no client authentication); valid_jwt is valid",
            Machine::Wif(WifJwt::Valid),
            Extension::Wif,
        ),
        def(
            WIF_WRONG_AUDIENCE,
            "auth/wif-jwt-bearer",
            &[],
            "Extension wif: as auth/wif-jwt-bearer, but valid_jwt is the wrong-audience JWT, which the AS refuses with invalid_grant",
            Machine::Wif(WifJwt::WrongAudience),
            Extension::Wif,
        ),
        def(
            WIF_EXPIRED,
            "auth/wif-jwt-bearer",
            &[],
            "Extension wif: as auth/wif-jwt-bearer, but valid_jwt is the expired JWT, which the AS refuses with invalid_grant",
            Machine::Wif(WifJwt::Expired),
            Extension::Wif,
        ),
    ]
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl MachineMaterial {
    /// Generates the keys and configures the world's ASes to trust them (AS 0 the MCP server's AS; AS 1 the
    /// enterprise IdP).
    pub fn prepare(machine: Machine, config: &mut WorldConfig) -> MachineMaterial {
        let as0 = &mut config.auth_servers[0];
        as0.issue_refresh_tokens = false;
        as0.registration = false;
        let mut m = MachineConfig {
            allowed_scopes: Some(MACHINE_SCOPES.iter().map(|s| s.to_string()).collect()),
            ..MachineConfig::default()
        };
        let mut material = MachineMaterial {
            machine,
            client_key: None,
            issuer_key: None,
            context: Value::Null,
        };
        let pre = |method: &str, secret: Option<&str>| PreRegistered {
            client_id: MACHINE_CLIENT_ID.into(),
            client_secret: secret.map(str::to_owned),
            redirect_uris: Vec::new(),
            auth_method: method.into(),
        };
        match machine {
            Machine::ClientCredentialsBasic => {
                m.client_credentials = true;
                as0.token_endpoint_auth_methods = vec!["client_secret_basic".into()];
                config
                    .pre_registered
                    .push(pre("client_secret_basic", Some(MACHINE_CLIENT_SECRET)));
            }
            Machine::ClientCredentialsJwt => {
                let key = EcKey::generate();
                m.client_credentials = true;
                m.assertion_clients = vec![(MACHINE_CLIENT_ID.into(), key.clone())];
                as0.token_endpoint_auth_methods = vec!["private_key_jwt".into()];
                config.pre_registered.push(pre("private_key_jwt", None));
                material.client_key = Some(key);
            }
            Machine::EnterpriseManaged => {
                let key = EcKey::generate();
                m.id_jag_issuer_key = Some(key.clone());
                as0.token_endpoint_auth_methods = vec!["client_secret_basic".into()];
                config
                    .pre_registered
                    .push(pre("client_secret_basic", Some(MACHINE_CLIENT_SECRET)));
                let mut idp = fake_idp::client_world::AsConfig {
                    registration: false,
                    issue_refresh_tokens: false,
                    ..Default::default()
                };
                idp.machine.idp = Some(IdpConfig {
                    key: key.clone(),
                    idp_client_id: IDP_CLIENT_ID.into(),
                    as_client_id: MACHINE_CLIENT_ID.into(),
                });
                material.issuer_key = Some(key);
                config.auth_servers.push(idp);
            }
            Machine::Wif(_) => {
                let key = EcKey::generate();
                m.workload_key = Some(key.clone());
                as0.token_endpoint_auth_methods = vec!["none".into()];
                material.issuer_key = Some(key);
            }
        }
        config.auth_servers[0].machine = m;
        material
    }

    /// Mints the world's JWTs (their audiences are the running world's issuers) and builds the context.
    pub fn mint(&mut self, official: &str, issuers: &[String]) {
        let now = now();
        self.context = match self.machine {
            Machine::ClientCredentialsBasic => json!({
                "name": official,
                "client_id": MACHINE_CLIENT_ID,
                "client_secret": MACHINE_CLIENT_SECRET,
            }),
            Machine::ClientCredentialsJwt => json!({
                "name": official,
                "client_id": MACHINE_CLIENT_ID,
                "private_key_pem": self.client_key.as_ref().map(EcKey::private_key_pem),
                "signing_algorithm": "ES256",
            }),
            Machine::EnterpriseManaged => {
                let idp = &issuers[1];
                let id_token = self.issuer_key.as_ref().map(|k| {
                    k.sign(
                        "JWT",
                        &json!({"iss": idp, "sub": IDP_USER, "aud": IDP_CLIENT_ID, "iat": now, "exp": now + 3600}),
                    )
                });
                json!({
                    "name": official,
                    "client_id": MACHINE_CLIENT_ID,
                    "client_secret": MACHINE_CLIENT_SECRET,
                    "idp_client_id": IDP_CLIENT_ID,
                    "idp_id_token": id_token,
                    "idp_issuer": idp,
                    "idp_token_endpoint": format!("{idp}/token"),
                })
            }
            Machine::Wif(handed) => {
                let key = self.issuer_key.as_ref();
                let jwt = |aud: &str, iat: i64, exp: i64| {
                    key.map(|k| {
                        k.sign(
                            "JWT",
                            &json!({
                                "iss": WIF_ISSUER, "sub": WIF_SUBJECT, "aud": aud, "iat": iat, "exp": exp,
                                "jti": format!("wif-{aud}-{exp}"),
                            }),
                        )
                    })
                };
                let valid = jwt(&issuers[0], now, now + 300);
                let wrong = jwt(WRONG_AUDIENCE, now, now + 300);
                let expired = jwt(&issuers[0], now - 600, now - 300);
                let presented = match handed {
                    WifJwt::Valid => valid,
                    WifJwt::WrongAudience => wrong.clone(),
                    WifJwt::Expired => expired.clone(),
                };
                json!({
                    "name": official,
                    "client_id": WIF_CLIENT_ID,
                    "valid_jwt": presented,
                    "wrong_audience_jwt": wrong,
                    "expired_jwt": expired,
                })
            }
        };
    }

    /// Every secret the context carries (registered for redaction).
    pub fn secrets(&self) -> Vec<String> {
        [
            "client_secret",
            "private_key_pem",
            "idp_id_token",
            "valid_jwt",
            "wrong_audience_jwt",
            "expired_jwt",
        ]
        .iter()
        .filter_map(|k| self.context.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
    }

    /// A context member.
    pub fn handed(&self, name: &str) -> Option<&str> {
        self.context.get(name).and_then(Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minted(machine: Machine) -> MachineMaterial {
        let mut config = WorldConfig::default();
        let mut m = MachineMaterial::prepare(machine, &mut config);
        m.mint("x", &["http://as".into(), "http://idp".into()]);
        m
    }

    #[test]
    fn each_context_has_exactly_the_official_members() {
        let keys = |m: Machine| {
            let mut k: Vec<String> = minted(m)
                .context
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(Machine::ClientCredentialsBasic),
            ["client_id", "client_secret", "name"]
        );
        assert_eq!(
            keys(Machine::ClientCredentialsJwt),
            ["client_id", "name", "private_key_pem", "signing_algorithm"]
        );
        assert_eq!(
            keys(Machine::EnterpriseManaged),
            [
                "client_id",
                "client_secret",
                "idp_client_id",
                "idp_id_token",
                "idp_issuer",
                "idp_token_endpoint",
                "name"
            ]
        );
        assert_eq!(
            keys(Machine::Wif(WifJwt::Valid)),
            [
                "client_id",
                "expired_jwt",
                "name",
                "valid_jwt",
                "wrong_audience_jwt"
            ]
        );
    }

    #[test]
    fn a_refusal_world_hands_its_bad_jwt_in_the_valid_slot() {
        let m = minted(Machine::Wif(WifJwt::WrongAudience));
        assert_eq!(m.handed("valid_jwt"), m.handed("wrong_audience_jwt"));
        let m = minted(Machine::Wif(WifJwt::Valid));
        assert_ne!(m.handed("valid_jwt"), m.handed("expired_jwt"));
    }

    #[test]
    fn every_handed_secret_is_listed_for_redaction() {
        let m = minted(Machine::EnterpriseManaged);
        let secrets = m.secrets();
        assert!(secrets.contains(&MACHINE_CLIENT_SECRET.to_owned()));
        assert!(secrets
            .iter()
            .any(|s| Some(s.as_str()) == m.handed("idp_id_token")));
        assert!(!format!("{m:?}").contains(MACHINE_CLIENT_SECRET));
    }
}
