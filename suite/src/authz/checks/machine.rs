//! Client credentials at the authorization server (SEP-1046, RFC 6749 §4.4; `--extension client-credentials`;
//! official scenario auth/client-credentials-basic seen from the AS side). A wrong Basic secret on this grant is
//! judged by AS-TK-09 with the other Basic failure.

use mcp_auth_reports::Level::{Must, Should};

use super::{meta, token_refused, AuthzCheck};
use crate::authz::oauth::{jwt_parts, TokenResult};
use crate::authz::obs::AuthzObservations;
use crate::authz::scenarios::{MachineObs, ESCALATED_SCOPE};
use crate::check::{CheckMeta, Evaluation, FnCheck};

/// The client-credentials checks, in report order.
pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_CC_10),
        Box::new(AS_CC_11),
        Box::new(AS_CC_12),
        Box::new(AS_CC_13),
    ]
}

/// The probes, once the confidential client's valid request got tokens (ERROR otherwise: a refusal by an AS that
/// refuses everything proves nothing).
fn machine(o: &AuthzObservations) -> Result<&MachineObs, Evaluation> {
    let m = match &o.machine {
        Ok(m) => m,
        Err(e) => return Err(e.to_evaluation("the client_credentials probes")),
    };
    if let Some(e) = m.valid.unanswered("the valid client_credentials request") {
        return Err(e);
    }
    if !m.valid.ok() {
        return Err(Evaluation::error(format!(
            "the confidential client's valid client_credentials request failed ({}), so nothing else can be judged",
            m.valid.describe()
        ))
        .with_evidence([m.valid.exchange.clone()]));
    }
    Ok(m)
}

/// AS-CC-10: a public client gets no client_credentials token.
const AS_CC_10: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-CC-10", "The client_credentials grant is refused to a public client", Must,
        &["RFC 6749 §4.4", "OAuth 2.1 §4.2", "SEP-1046"],
        "grant_type=client_credentials with a public client's client_id and no client authentication → 400/401 invalid_client or unauthorized_client, no tokens."),
    eval: |m, o| match machine(o) {
        Ok(p) => token_refused(m, &p.public, "client_credentials without client authentication", &["invalid_client", "unauthorized_client"]),
        Err(e) => e,
    },
};

/// The scope a token response grants: its `scope`, else the JWT's `scope` claim, else (RFC 6749 §5.1) the request's.
fn granted_scope(t: &TokenResult, requested: &str) -> String {
    if let Some(s) = t.member("scope") {
        return s.to_owned();
    }
    t.access_token()
        .and_then(jwt_parts)
        .and_then(|(_, c)| c.get("scope").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_else(|| requested.to_owned())
}

/// AS-CC-11: no scope beyond the client's.
const AS_CC_11: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-CC-11", "The client_credentials grant grants no scope beyond the client's", Must,
        &["RFC 6749 §3.3", "RFC 6749 §4.4.2", "SEP-1046"],
        "The confidential client asks for its scope plus conformance:escalated → refused (invalid_scope) or a token without conformance:escalated."),
    eval: as_cc_11,
};
fn as_cc_11(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let p = match machine(o) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let t = &p.escalated;
    if let Some(e) = t.unanswered("the escalated client_credentials request") {
        return e;
    }
    let expected = format!("no {ESCALATED_SCOPE} granted (invalid_scope, or a narrower scope)");
    let e = if !t.ok() && (400..500).contains(&t.status) {
        Evaluation::pass(expected, t.describe())
    } else if !t.ok() {
        Evaluation::error(format!(
            "the escalated request was not answered with tokens or a refusal: {}",
            t.describe()
        ))
    } else {
        let granted = granted_scope(t, ESCALATED_SCOPE);
        if granted.split(' ').any(|s| s == ESCALATED_SCOPE) {
            Evaluation::violated(m.level, expected, format!("granted scope `{granted}`"))
        } else {
            Evaluation::pass(expected, format!("granted scope `{granted}`"))
        }
    };
    e.with_evidence([t.exchange.clone()])
}

/// AS-CC-12: the token's audience is the requested resource.
const AS_CC_12: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-CC-12", "A client_credentials token is audience-restricted to the requested resource", Should,
        &["RFC 8707 §2", "RFC 9068 §3", "SEP-1046"],
        "The valid client_credentials request names resource → the JWT access token's aud contains it (opaque tokens: SKIP)."),
    eval: |m, o| {
        let p = match machine(o) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let Some((_, claims)) = p.valid.access_token().and_then(jwt_parts) else {
            return Evaluation::skip("the access token is not a JWT; its audience is not observable without introspection");
        };
        let aud = super::token::audiences(&claims);
        let expected = format!("aud ∋ {}", o.resource);
        let e = if aud.contains(&o.resource) {
            Evaluation::pass(expected, format!("aud {aud:?}"))
        } else {
            Evaluation::violated(m.level, expected, format!("aud {aud:?}"))
        };
        e.with_evidence([p.valid.exchange.clone()])
    },
};

/// AS-CC-13: no refresh token for client_credentials.
const AS_CC_13: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-CC-13",
        "The client_credentials grant issues no refresh token",
        Should,
        &["RFC 6749 §4.4.3", "SEP-1046"],
        "The valid client_credentials response carries no refresh_token (SHOULD NOT); one → WARN.",
    ),
    eval: |m, o| {
        let p = match machine(o) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let expected = "no refresh_token in the client_credentials response";
        let e = match p.valid.refresh_token() {
            None => Evaluation::pass(expected, "no refresh_token"),
            Some(_) => Evaluation::violated(m.level, expected, "a refresh_token was issued"),
        };
        e.with_evidence([p.valid.exchange.clone()])
    },
};

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::*;
    use crate::authz::testing::{compliant, edit_json, machine_mut, no_answer, refusal, tokens};
    use crate::check::{Check, ObsError};

    #[test]
    fn every_client_credentials_check_passes_on_the_compliant_record() {
        let o = compliant();
        for c in checks() {
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Pass, "{}: {e:?}", c.meta().id);
        }
    }

    #[test]
    fn a_token_for_a_public_client_fails() {
        let mut o = compliant();
        machine_mut(&mut o).public = tokens("cc#public", "rt");
        assert_eq!(AS_CC_10.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn the_escalated_scope_granted_fails() {
        let mut o = compliant();
        let t = &mut machine_mut(&mut o).escalated;
        edit_json(t, |b| {
            b.insert(
                "scope".into(),
                json!(format!("todo:read {ESCALATED_SCOPE}")),
            );
        });
        let e = AS_CC_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
    }

    #[test]
    fn a_response_without_scope_grants_what_was_requested() {
        let mut o = compliant();
        let t = &mut machine_mut(&mut o).escalated;
        *t = crate::authz::testing::token_answer(
            "cc#esc",
            200,
            json!({"access_token": "opaque-token-value", "token_type": "Bearer"}),
        );
        assert_eq!(AS_CC_11.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn an_invalid_scope_refusal_passes_the_scope_check() {
        let mut o = compliant();
        machine_mut(&mut o).escalated = refusal("cc#esc", 400, "invalid_scope");
        assert_eq!(AS_CC_11.evaluate(&o).verdict, Verdict::Pass);
    }

    #[test]
    fn a_token_for_another_audience_warns() {
        let mut o = compliant();
        let mut claims = crate::authz::testing::access_claims();
        claims["aud"] = json!("https://as.conformance.test");
        machine_mut(&mut o).valid = crate::authz::testing::token_answer(
            "cc#valid",
            200,
            json!({"access_token": crate::authz::testing::jwt(json!({"alg":"RS256","typ":"at+jwt"}), claims), "token_type": "Bearer"}),
        );
        assert_eq!(AS_CC_12.evaluate(&o).verdict, Verdict::Warn);
    }

    #[test]
    fn a_refresh_token_for_client_credentials_warns() {
        let mut o = compliant();
        machine_mut(&mut o).valid = tokens("cc#valid", "rt-1");
        assert_eq!(AS_CC_13.evaluate(&o).verdict, Verdict::Warn);
    }

    #[test]
    fn a_refused_valid_request_is_error_for_every_check() {
        let mut o = compliant();
        machine_mut(&mut o).valid = refusal("cc#valid", 400, "unauthorized_client");
        for c in checks() {
            assert_eq!(c.evaluate(&o).verdict, Verdict::Error, "{}", c.meta().id);
        }
    }

    #[test]
    fn an_as_without_the_grant_skips_every_check() {
        let mut o = compliant();
        o.machine = Err(ObsError::NotApplicable(
            "the AS does not advertise the client_credentials grant".into(),
        ));
        for c in checks() {
            assert_eq!(c.evaluate(&o).verdict, Verdict::Skip, "{}", c.meta().id);
        }
    }

    #[test]
    fn a_dead_target_is_error_for_every_check() {
        let mut o = compliant();
        o.machine = Err(no_answer("connection refused"));
        for c in checks() {
            assert_eq!(c.evaluate(&o).verdict, Verdict::Error, "{}", c.meta().id);
        }
    }
}
