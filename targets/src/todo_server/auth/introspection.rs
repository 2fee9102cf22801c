//! RFC 7662 token introspection with `client_secret_basic`. Nothing is cached: every request asks.

use serde_json::{Map, Value};

use super::{audience_matches, Principal, TokenError, ValidationFailure};
use crate::todo_server::http::{FetchError, Http};
use crate::todo_server::{IntrospectionClient, ServerDefect, Settings, SCOPE_READ, SCOPE_WRITE};

/// Leeway for `exp`, in seconds.
const LEEWAY_SECS: i64 = 60;

/// Asks the authorization server whether a token is active.
#[derive(Debug)]
pub(crate) struct Introspector {
    client: Option<IntrospectionClient>,
    http: Http,
}

impl Introspector {
    pub(crate) fn new(client: Option<IntrospectionClient>, http: Http) -> Introspector {
        Introspector { client, http }
    }

    pub(crate) async fn validate(
        &self,
        token: &str,
        settings: &Settings,
    ) -> Result<Principal, ValidationFailure> {
        let client = self.client.as_ref().ok_or(FetchError::NotConfigured)?;
        let body = self
            .http
            .post_form_basic(
                &client.url,
                &[("token", token), ("token_type_hint", "access_token")],
                &client.client_id,
                &client.client_secret,
            )
            .await?;
        let response: Map<String, Value> =
            serde_json::from_slice(&body).map_err(FetchError::from)?;
        let string = |name: &str| response.get(name).and_then(Value::as_str);
        let sub = string("sub").map(str::to_owned);

        if response.get("active") != Some(&Value::Bool(true)) {
            if !settings.has(ServerDefect::IgnoreIntrospectionActive) {
                return Err(TokenError::Inactive.into());
            }
            let all = format!("{SCOPE_READ} {SCOPE_WRITE}");
            let sub = sub.unwrap_or_else(|| "unknown".to_owned());
            return Ok(Principal::new(
                Some(sub),
                Some(string("scope").unwrap_or(&all)),
            ));
        }
        // RFC 7662 makes every member but `active` optional: `iss` and `exp` are checked when
        // present, the audience binding is required.
        if !settings.has(ServerDefect::SkipIssuerCheck) {
            if let Some(iss) = response.get("iss") {
                if iss.as_str() != Some(settings.issuer.as_str()) {
                    return Err(TokenError::Issuer.into());
                }
            }
        }
        if !settings.has(ServerDefect::SkipAudienceCheck)
            && !audience_matches(response.get("aud"), settings)
        {
            return Err(TokenError::Audience.into());
        }
        if !settings.has(ServerDefect::SkipExpiryCheck) {
            if let Some(exp) = response.get("exp") {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                match exp.as_f64() {
                    Some(exp) if exp + (LEEWAY_SECS as f64) >= now as f64 => {}
                    _ => return Err(TokenError::Expired.into()),
                }
            }
        }
        Ok(Principal::new(sub, string("scope")).bound_by(response.get("cnf")))
    }
}
