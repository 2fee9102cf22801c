//! The machine grants of the MCP authorization extensions, chosen by the context's `name` as the official
//! everything-client does: `client_credentials` with `client_secret_basic` or a `private_key_jwt` ES256
//! assertion (SEP-1046, RFC 7523 §2.2), the enterprise-managed flow (SEP-990: an RFC 8693 exchange of the IdP's
//! ID token for an ID-JAG at the IdP, then the RFC 7523 jwt-bearer grant at the AS), and the workload JWT
//! bearer grant (SEP-1933). A refused grant is final: the client surfaces the error, never retries it or
//! switches grant.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{json, Value};

use super::authorize::random_b64url;
use super::config::{ClientContext, ClientSecret};
use super::defects::{ClientDefect, DefectExt as _};
use super::error::ClientError;
use super::http::Http;
use super::registration::{ClientAuth, ClientRegistration, RegistrationKind};
use super::token::{token_request, TokenOutcome, TokenResponse};

/// `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The JWT-bearer grant (RFC 7523 §2.1).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The token exchange grant (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The ID-JAG token type (SEP-990).
pub const ID_JAG_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// The ID token token type (RFC 8693 §3).
pub const ID_TOKEN_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// Lifetime of a client assertion (seconds).
const ASSERTION_LIFETIME: u64 = 300;

/// Which machine grant the context asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Machine {
    ClientCredentialsBasic,
    ClientCredentialsJwt,
    EnterpriseManaged,
    Wif,
}

impl Machine {
    /// The machine grant of this context (None: the authorization code flow).
    pub(crate) fn of(context: &ClientContext, defect: Option<ClientDefect>) -> Option<Machine> {
        let m = match context.name.as_str() {
            "auth/client-credentials-basic" => Machine::ClientCredentialsBasic,
            "auth/client-credentials-jwt" => Machine::ClientCredentialsJwt,
            "auth/enterprise-managed-authorization" => Machine::EnterpriseManaged,
            "auth/wif-jwt-bearer" => Machine::Wif,
            _ => return None,
        };
        let client_credentials = matches!(
            m,
            Machine::ClientCredentialsBasic | Machine::ClientCredentialsJwt
        );
        (!(client_credentials && defect.is(ClientDefect::CcAuthorizationCode))).then_some(m)
    }

    /// The client's identity at the AS, from the context.
    pub(crate) fn registration(
        self,
        context: &ClientContext,
        defect: Option<ClientDefect>,
    ) -> Result<ClientRegistration, ClientError> {
        let client_id = context
            .client_id
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                ClientError::Usage(format!("the {} context has no client_id", context.name))
            })?;
        let (secret, auth) = match self {
            Machine::ClientCredentialsBasic | Machine::EnterpriseManaged => {
                let secret = context.client_secret.clone().ok_or_else(|| {
                    ClientError::Usage(format!("the {} context has no client_secret", context.name))
                })?;
                let auth = if defect.is(ClientDefect::WrongTokenAuthMethod) {
                    ClientAuth::Post
                } else {
                    ClientAuth::Basic
                };
                (Some(secret), auth)
            }
            Machine::ClientCredentialsJwt | Machine::Wif => (None, ClientAuth::None),
        };
        Ok(ClientRegistration {
            client_id,
            secret,
            auth,
            kind: RegistrationKind::PreRegistered,
        })
    }
}

/// One machine grant against one AS.
pub(crate) struct MachineGrant<'a> {
    pub http: &'a Http,
    pub issuer: &'a str,
    pub token_endpoint: &'a str,
    pub registration: &'a ClientRegistration,
    pub context: &'a ClientContext,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub defect: Option<ClientDefect>,
    /// The `jti` of every assertion under `cc-static-jti`.
    pub static_jti: &'a str,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn need<'c>(value: &'c Option<ClientSecret>, what: &str) -> Result<&'c str, ClientError> {
    value
        .as_ref()
        .map(ClientSecret::expose)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ClientError::Usage(format!("the context has no {what}")))
}

/// The DER body of a PEM block.
fn pem_der(pem: &str) -> Result<Vec<u8>, ClientError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| ClientError::Usage(format!("private_key_pem is not PEM: {e}")))
}

impl MachineGrant<'_> {
    /// Obtains an access token with this machine grant; a refusal is an error (never retried, except under
    /// `wif-retry-after-refusal`).
    pub(crate) async fn obtain(&self, machine: Machine) -> Result<TokenResponse, ClientError> {
        let mut params: Vec<(&'static str, String)> = Vec::new();
        let send_client_id = match machine {
            Machine::ClientCredentialsBasic => {
                params.push(("grant_type", "client_credentials".into()));
                false
            }
            Machine::ClientCredentialsJwt => {
                params.push(("grant_type", "client_credentials".into()));
                let assertion_type = if self.defect.is(ClientDefect::CcWrongAssertionType) {
                    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
                } else {
                    CLIENT_ASSERTION_TYPE
                };
                params.push(("client_assertion_type", assertion_type.into()));
                params.push(("client_assertion", self.client_assertion()?));
                true
            }
            Machine::EnterpriseManaged => {
                let id_jag = if self.defect.is(ClientDefect::EmaIdTokenAsAssertion) {
                    need(&self.context.idp_id_token, "idp_id_token")?.to_owned()
                } else {
                    self.exchange_at_idp().await?
                };
                params.push(("grant_type", JWT_BEARER_GRANT.into()));
                params.push(("assertion", id_jag));
                false
            }
            Machine::Wif => {
                let jwt = if self.defect.is(ClientDefect::WifUsesExpiredJwt) {
                    need(&self.context.expired_jwt, "expired_jwt")?
                } else {
                    need(&self.context.valid_jwt, "valid_jwt")?
                };
                params.push(("grant_type", JWT_BEARER_GRANT.into()));
                params.push(("assertion", jwt.to_owned()));
                true
            }
        };
        if let Some(scope) = &self.scope {
            params.push(("scope", scope.clone()));
        }
        if let Some(resource) = &self.resource {
            params.push(("resource", resource.clone()));
        }
        let attempts =
            if machine == Machine::Wif && self.defect.is(ClientDefect::WifRetryAfterRefusal) {
                2
            } else {
                1
            };
        let mut refusal = String::new();
        for _ in 0..attempts {
            let outcome = token_request(
                self.http,
                self.token_endpoint,
                params.clone(),
                self.registration,
                send_client_id,
                self.defect,
                None,
            )
            .await?;
            match outcome {
                TokenOutcome::Issued(t) => return Ok(t),
                TokenOutcome::Refused { status, error } => {
                    refusal = format!(
                        "HTTP {status}{}",
                        error.map(|e| format!(" error={e}")).unwrap_or_default()
                    );
                }
            }
        }
        Err(ClientError::Token(format!(
            "the {machine:?} grant was refused: {refusal}"
        )))
    }

    /// A fresh ES256 client assertion (RFC 7523 §3): `iss` = `sub` = the client, `aud` = the issuer.
    fn client_assertion(&self) -> Result<String, ClientError> {
        let client_id = &self.registration.client_id;
        let who = if self.defect.is(ClientDefect::CcAssertionIssNotClient) {
            "mcp-auth-conformance reference client".to_owned()
        } else {
            client_id.clone()
        };
        let aud = if self.defect.is(ClientDefect::CcAssertionAudTokenEndpoint) {
            self.token_endpoint
        } else {
            self.issuer
        };
        let jti = if self.defect.is(ClientDefect::CcStaticJti) {
            self.static_jti.to_owned()
        } else {
            random_b64url(16)
        };
        let now = now();
        let claims = json!({
            "iss": who, "sub": who, "aud": aud, "jti": jti, "iat": now, "exp": now + ASSERTION_LIFETIME,
        });
        if self.defect.is(ClientDefect::CcAssertionWrongKey) {
            let secret = random_b64url(32);
            return jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims,
                &EncodingKey::from_secret(secret.as_bytes()),
            )
            .map_err(|e| ClientError::Token(format!("signing the client assertion: {e}")));
        }
        let alg = self.context.signing_algorithm.as_deref().unwrap_or("ES256");
        if alg != "ES256" {
            return Err(ClientError::Usage(format!(
                "unsupported signing_algorithm {alg}"
            )));
        }
        let der = pem_der(need(&self.context.private_key_pem, "private_key_pem")?)?;
        jsonwebtoken::encode(
            &Header::new(Algorithm::ES256),
            &claims,
            &EncodingKey::from_ec_der(&der),
        )
        .map_err(|e| ClientError::Token(format!("signing the client assertion: {e}")))
    }

    /// SEP-990 step 1: the RFC 8693 exchange of the ID token for an ID-JAG at the IdP.
    async fn exchange_at_idp(&self) -> Result<String, ClientError> {
        let endpoint = self
            .context
            .idp_token_endpoint
            .as_deref()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| ClientError::Usage("the context has no idp_token_endpoint".into()))?;
        let audience = if self.defect.is(ClientDefect::EmaExchangeAudienceResource) {
            self.resource.clone().unwrap_or_default()
        } else {
            self.issuer.to_owned()
        };
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE_GRANT.to_owned()),
            ("requested_token_type", ID_JAG_TOKEN_TYPE.to_owned()),
            ("audience", audience),
            (
                "subject_token",
                need(&self.context.idp_id_token, "idp_id_token")?.to_owned(),
            ),
            ("subject_token_type", ID_TOKEN_TOKEN_TYPE.to_owned()),
            (
                "client_id",
                self.context.idp_client_id.clone().unwrap_or_default(),
            ),
        ];
        if let Some(resource) = &self.resource {
            form.push(("resource", resource.clone()));
        }
        if let Some(scope) = &self.scope {
            form.push(("scope", scope.clone()));
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let request = self
            .http
            .request(Method::POST, endpoint)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        let response = self.http.send("token exchange", endpoint, request).await?;
        let value: Value = response.json().map_err(ClientError::Token)?;
        if response.status != 200 {
            return Err(ClientError::Token(format!(
                "the IdP refused the token exchange: HTTP {}{}",
                response.status,
                value
                    .get("error")
                    .and_then(Value::as_str)
                    .map(|e| format!(" error={e}"))
                    .unwrap_or_default()
            )));
        }
        if value.get("issued_token_type").and_then(Value::as_str) != Some(ID_JAG_TOKEN_TYPE) {
            return Err(ClientError::Token(
                "the IdP's token exchange did not issue an ID-JAG".into(),
            ));
        }
        value
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                ClientError::Token("the token exchange answer has no access_token".into())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(name: &str) -> ClientContext {
        ClientContext {
            name: name.into(),
            client_id: Some("c".into()),
            client_secret: Some(ClientSecret::new("s3cret")),
            ..ClientContext::default()
        }
    }

    #[test]
    fn the_context_name_chooses_the_machine_grant() {
        assert_eq!(
            Machine::of(&context("auth/client-credentials-jwt"), None),
            Some(Machine::ClientCredentialsJwt)
        );
        assert_eq!(
            Machine::of(&context("auth/wif-jwt-bearer"), None),
            Some(Machine::Wif)
        );
        assert_eq!(Machine::of(&context("auth/pre-registration"), None), None);
    }

    #[test]
    fn cc_authorization_code_turns_the_client_credentials_grant_off() {
        let d = Some(ClientDefect::CcAuthorizationCode);
        assert_eq!(
            Machine::of(&context("auth/client-credentials-basic"), d),
            None
        );
        assert_eq!(
            Machine::of(&context("auth/enterprise-managed-authorization"), d),
            Some(Machine::EnterpriseManaged)
        );
    }

    #[test]
    fn basic_credentials_come_from_the_context_and_post_only_under_the_defect() {
        let ctx = context("auth/client-credentials-basic");
        let r = Machine::ClientCredentialsBasic
            .registration(&ctx, None)
            .unwrap();
        assert_eq!((r.client_id.as_str(), r.auth), ("c", ClientAuth::Basic));
        let r = Machine::ClientCredentialsBasic
            .registration(&ctx, Some(ClientDefect::WrongTokenAuthMethod))
            .unwrap();
        assert_eq!(r.auth, ClientAuth::Post);
    }

    #[test]
    fn a_pem_body_decodes_and_garbage_is_a_usage_error() {
        let pem = "-----BEGIN PRIVATE KEY-----\nAAEC\n-----END PRIVATE KEY-----\n";
        assert_eq!(pem_der(pem).unwrap(), vec![0, 1, 2]);
        assert!(matches!(
            pem_der("-----BEGIN-----\n!!\n"),
            Err(ClientError::Usage(_))
        ));
    }
}
