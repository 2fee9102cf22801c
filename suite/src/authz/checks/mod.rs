//! Authorization-server checks, one registry. A refusal check needs the happy flow to work first: an AS that
//! refuses everything proves nothing by refusing an attack.

mod assertion;
mod authorize;
mod cimd;
mod dpop;
mod federation;
mod machine;
mod meta;
mod proxy;
mod rev2026;
mod tls;
mod token;

use mcp_auth_reports::{Level, Role};

use crate::authz::agent::{AuthorizeOutcome, Authorized};
use crate::authz::oauth::TokenResult;
use crate::authz::obs::AuthzObservations;
use crate::check::{Check, CheckMeta, Evaluation};

#[cfg(test)]
pub(crate) use assertion::testing as assertion_testing;

/// An authz-role check.
pub type AuthzCheck = dyn Check<AuthzObservations>;

/// Builds a `CheckMeta` for the authz role.
pub const fn meta(
    id: &'static str,
    title: &'static str,
    level: Level,
    spec_refs: &'static [&'static str],
    summary: &'static str,
) -> CheckMeta {
    CheckMeta {
        id,
        title,
        role: Role::Authz,
        level,
        spec_refs,
        summary,
    }
}

/// Every authz-role check, in report order.
pub fn registry() -> Vec<Box<AuthzCheck>> {
    let mut all: Vec<Box<AuthzCheck>> = Vec::new();
    all.extend(meta::checks());
    all.extend(authorize::checks());
    all.extend(token::checks());
    all.extend(cimd::checks());
    all.extend(rev2026::checks());
    all.extend(tls::checks());
    all.extend(assertion::checks());
    all.extend(federation::checks());
    all.extend(proxy::checks());
    all.extend(dpop::checks());
    all.extend(machine::checks());
    all
}

/// ERROR unless a valid authorization request yields a code (the precondition of every refusal check).
pub fn happy_precondition(o: &AuthzObservations) -> Option<Evaluation> {
    match &o.happy {
        Ok(_) => None,
        Err(e) => Some(e.to_evaluation(
            "a valid authorization request did not complete, so a refusal proves nothing",
        )),
    }
}

/// The code a walk obtained, if any.
pub fn code_of(a: &Authorized) -> Option<&str> {
    a.code()
}

/// Where a walk was redirected off the AS (callback or elsewhere).
pub fn redirected_to(a: &Authorized) -> Option<&str> {
    match &a.outcome {
        AuthorizeOutcome::Callback { location, .. }
        | AuthorizeOutcome::Elsewhere { location, .. } => Some(location),
        _ => None,
    }
}

/// The exchange that ended a walk.
pub fn last_exchange(a: &Authorized) -> Vec<String> {
    a.exchanges.last().cloned().into_iter().collect()
}

/// The walk ended in a way the suite could not judge: no HTTP answer, or a walk the suite could not complete.
/// Never a refusal.
pub fn walk_failed(a: &Authorized) -> Option<Evaluation> {
    match &a.outcome {
        AuthorizeOutcome::NoAnswer { failure, exchange } => Some(
            failure
                .unanswered("the authorization request")
                .with_evidence([exchange.clone()]),
        ),
        AuthorizeOutcome::Failed { reason, exchange } => Some(
            Evaluation::error(format!("the authorization walk failed: {reason}"))
                .with_evidence(exchange.clone()),
        ),
        _ => None,
    }
}

/// A refusal at the authorization endpoint: no code issued (an error redirect to the valid URI or a page).
pub fn no_code(m: &CheckMeta, o: &AuthzObservations, a: &Authorized, what: &str) -> Evaluation {
    if let Some(e) = happy_precondition(o) {
        return e;
    }
    if let Some(e) = walk_failed(a) {
        return e;
    }
    let expected = format!("{what} → no code (an error redirect or an error page)");
    let actual = crate::authz::scenarios::describe(&a.outcome);
    let e = match code_of(a) {
        Some(_) => Evaluation::violated(m.level, expected, format!("{actual}: a code was issued")),
        None => Evaluation::pass(expected, actual),
    };
    e.with_evidence(last_exchange(a))
}

/// A token-endpoint refusal: no tokens, a 4xx.
pub fn token_refused(m: &CheckMeta, t: &TokenResult, what: &str, errors: &[&str]) -> Evaluation {
    if let Some(e) = t.unanswered("the token request") {
        return e;
    }
    let expected = format!("{what} → HTTP 400 {}, no tokens", errors.join(" or "));
    let actual = t.describe();
    let e = if t.ok() {
        Evaluation::violated(m.level, expected, format!("{actual}: tokens were issued"))
    } else if (400..500).contains(&t.status) && t.oauth_error().is_some_and(|e| errors.contains(&e))
    {
        Evaluation::pass(expected, actual)
    } else if (400..500).contains(&t.status) {
        Evaluation::pass(expected, actual).with_message("refused, with an unexpected error code")
    } else {
        Evaluation::violated(m.level, expected, actual)
    };
    e.with_evidence([t.exchange.clone()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpFailure;
    use mcp_auth_reports::Verdict;
    use std::time::Duration;

    fn m() -> CheckMeta {
        meta("AS-TEST", "", Level::Must, &[], "")
    }

    #[test]
    fn the_compliant_record_gives_every_check_its_reference_verdict() {
        let o = crate::authz::testing::compliant();
        // The verdicts of the bundled reference, as the self-test expects them.
        let reference = crate::expected::Expected::for_role(mcp_auth_reports::Role::Authz)
            .expect("fixtures/expected/authz.toml parses");
        let mut wrong = Vec::new();
        for c in registry() {
            let id = c.meta().id;
            // A check the default run does not score (a strict-TLS row, an extension's) has no default verdict.
            if !crate::runner::Selection::all().includes(id) {
                continue;
            }
            let want = reference.reference_verdict(crate::selftest::RunMode::Default.as_str(), id);
            let e = c.evaluate(&o);
            if e.verdict != want {
                wrong.push(format!(
                    "{id}: {:?} (want {want:?}): {} {}",
                    e.verdict, e.actual, e.message
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_check_is_error_or_skip_when_everything_after_discovery_got_no_answer() {
        let o = crate::authz::testing::all_missing(crate::authz::testing::no_answer("timed out"));
        for c in registry() {
            let e = c.evaluate(&o);
            assert!(
                matches!(
                    e.verdict,
                    Verdict::Error | Verdict::Skip | Verdict::Pass | Verdict::Info
                ),
                "{} judged a record without observations: {:?} {}",
                c.meta().id,
                e.verdict,
                e.actual
            );
            if c.meta().id.starts_with("AS-META") {
                continue;
            }
            assert_ne!(e.verdict, Verdict::Pass, "{}", c.meta().id);
        }
    }

    #[test]
    fn check_ids_are_unique() {
        let mut ids: Vec<&str> = registry().iter().map(|c| c.meta().id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn no_check_judges_a_part_the_interrupted_run_never_observed() {
        let pending = crate::check::ObsError::Interrupted;
        let o = AuthzObservations::failed(
            crate::authz::obs::LoginKind::Form,
            Err(pending.clone()),
            Err(pending.clone()),
            &pending,
        );
        for c in registry() {
            let e = c.evaluate(&o);
            assert!(
                matches!(e.verdict, Verdict::Error | Verdict::Skip),
                "{} judged a pending record: {:?} {}",
                c.meta().id,
                e.verdict,
                e.actual
            );
        }
    }

    #[test]
    fn a_token_request_without_an_http_answer_is_error_not_a_refusal() {
        let t = TokenResult {
            exchange: "x#1".into(),
            status: 0,
            headers: Vec::new(),
            json: None,
            error: Some(HttpFailure::Timeout(Duration::from_secs(5))),
        };
        let e = token_refused(&m(), &t, "a stolen code", &["invalid_grant"]);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("no HTTP answer"), "{}", e.message);
        assert_eq!(e.evidence, vec!["x#1"]);
    }

    #[test]
    fn a_request_the_suite_declined_to_send_is_error_saying_so() {
        let e = HttpFailure::Forbidden("evil.example".into()).unanswered("the token request");
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message.contains("the suite did not send it"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_authorization_walk_without_an_http_answer_is_error_not_a_refusal() {
        let a = Authorized {
            outcome: AuthorizeOutcome::NoAnswer {
                failure: HttpFailure::Transport("connection refused".into()),
                exchange: "w#1".into(),
            },
            exchanges: vec!["w#1".into()],
            form_posts: Vec::new(),
            consent: Vec::new(),
        };
        let e = walk_failed(&a).expect("a walk without an answer cannot be judged");
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("connection refused"), "{}", e.message);
    }
}
