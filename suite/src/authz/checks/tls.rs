//! AS-TLS-01 (`--tls-profile strict` only; catalog row with `tls = "strict"`): every AS endpoint the suite used
//! is served over https, and tokens are issued over it.

use mcp_auth_reports::Level::Must;

use super::{meta, AuthzCheck};
use crate::authz::obs::AuthzObservations;
use crate::check::{CheckMeta, Evaluation, FnCheck};

/// Every TLS check, in report order.
pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![Box::new(AS_TLS_01)]
}

/// AS-TLS-01: every AS endpoint is served over https; no token is issued over plain http.
const AS_TLS_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-TLS-01", "Every AS endpoint is served over https", Must, &["MCP §11.3(1)"],
        "Strict TLS: the metadata, authorization and token endpoints the valid flow used are https URLs (served with a certificate the suite validated against the test CA), and the token of the valid redemption was issued over https; an http one among them is FAIL."),
    eval: as_tls_01,
};
fn as_tls_01(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let ep = crate::need!(&o.endpoints, "metadata discovery");
    let expected =
        "metadata, authorization and token endpoints over https; tokens issued over https";
    let used = [
        ("metadata", ep.metadata_url.as_str()),
        ("authorization_endpoint", ep.authorization.as_str()),
        ("token_endpoint", ep.token.as_str()),
    ];
    let http: Vec<String> = used
        .iter()
        .filter(|(_, u)| !u.starts_with("https://"))
        .map(|(k, u)| format!("{k} = {u}"))
        .collect();
    let f = crate::need!(&o.happy, "a valid redemption");
    let token = f.token.as_ref();
    let issued = token.is_some_and(|t| t.access_token().is_some());
    if !http.is_empty() {
        let token_note = if issued && !ep.token.starts_with("https://") {
            "; the valid redemption's token was issued over plain http"
        } else {
            ""
        };
        return Evaluation::violated(
            m.level,
            expected,
            format!("plain http: {}{token_note}", http.join(", ")),
        )
        .with_evidence(token.map(|t| t.exchange.clone()));
    }
    let Some(t) = token else {
        return Evaluation::error("no token response to the valid redemption");
    };
    if let Some(e) = t.unanswered("the valid redemption") {
        return e;
    }
    if !issued {
        return Evaluation::error(format!(
            "the valid redemption at {} issued no access token (HTTP {}), so issuance over https is not observed",
            ep.token, t.status
        ))
        .with_evidence([t.exchange.clone()]);
    }
    Evaluation::pass(
        expected,
        format!(
            "every endpoint used is https; the token was issued at {}",
            ep.token
        ),
    )
    .with_evidence([t.exchange.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authz::testing::{all_missing, compliant};
    use crate::check::Check as _;
    use crate::check::ObsError;
    use mcp_auth_reports::Verdict;

    /// The compliant record, served over https (the synthetic AS is http on loopback, like the local reference).
    fn over_https() -> AuthzObservations {
        let mut o = compliant();
        let ep = o.endpoints.as_mut().unwrap();
        for u in [&mut ep.metadata_url, &mut ep.authorization, &mut ep.token] {
            *u = u.replacen("http://", "https://", 1);
        }
        o.tls = crate::spec::TlsProfile::Strict;
        o
    }

    #[test]
    fn an_as_issuing_tokens_over_https_passes() {
        let e = AS_TLS_01.evaluate(&over_https());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
    }

    #[test]
    fn a_token_issued_at_a_plain_http_token_endpoint_fails() {
        let mut o = over_https();
        let ep = o.endpoints.as_mut().unwrap();
        ep.token = ep.token.replacen("https://", "http://", 1);
        let e = AS_TLS_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains("issued over plain http"), "{}", e.actual);
    }

    #[test]
    fn an_http_authorization_endpoint_fails_even_without_a_token() {
        let mut o = over_https();
        let ep = o.endpoints.as_mut().unwrap();
        ep.authorization = ep.authorization.replacen("https://", "http://", 1);
        o.happy.as_mut().unwrap().token = None;
        assert_eq!(AS_TLS_01.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn a_redemption_that_issued_no_token_is_error_not_pass() {
        let mut o = over_https();
        o.happy.as_mut().unwrap().token = None;
        assert_eq!(AS_TLS_01.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn a_dead_as_is_error() {
        let mut o = all_missing(ObsError::target("the AS closed every connection", []));
        o.tls = crate::spec::TlsProfile::Strict;
        assert_eq!(AS_TLS_01.evaluate(&o).verdict, Verdict::Error);
    }
}
