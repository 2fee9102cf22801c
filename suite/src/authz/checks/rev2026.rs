//! What MCP 2026-07-28 adds for the authorization server (SEP-2468): `iss` in authorization responses becomes a
//! SHOULD for every MCP authorization server, advertised or not (AS-AZ-17). Whether an AS that sends `iss`
//! advertises it stays AS-META-09; `iss` on error responses of an AS that advertises it stays AS-AZ-15.

use mcp_auth_reports::Level::Should;

use super::{last_exchange, meta, AuthzCheck};
use crate::authz::agent::AuthorizeOutcome;
use crate::authz::obs::{param, AuthzObservations};
use crate::check::{CheckMeta, Evaluation, FnCheck};

/// The 2026-07-28 authorization-server checks, in report order.
pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![Box::new(AS_AZ_17)]
}

/// AS-AZ-17: the authorization response carries `iss`.
const AS_AZ_17: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-AZ-17", "The authorization response carries iss", Should, &["SEP-2468", "RFC 9207 §2"],
        "A valid authorization's success callback carries iss equal to the metadata issuer, whether or not the metadata advertises it; absent → WARN."),
    eval: as_az_17,
};
fn as_az_17(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let ep = crate::need!(&o.endpoints, "metadata discovery");
    let f = crate::need!(&o.happy, "a valid authorization");
    let expected = format!("iss={} in the authorization response", ep.issuer);
    let AuthorizeOutcome::Callback { params, .. } = &f.authorized.outcome else {
        return Evaluation::error("the valid authorization did not reach the callback");
    };
    let e = match param(params, "iss") {
        Some(i) if i == ep.issuer => Evaluation::pass(expected, format!("iss={i}")),
        // A wrong iss is AS-AZ-15's and AS-META-09's finding; this row asks only that iss be sent.
        Some(i) => Evaluation::pass(
            expected,
            format!("iss sent ({i:?}; its value is judged by AS-AZ-15)"),
        ),
        None => Evaluation::violated(m.level, expected, "the success response has no iss"),
    };
    e.with_evidence(last_exchange(&f.authorized))
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::authz::testing::{self, callback, compliant, no_answer};
    use crate::check::Check;

    #[test]
    fn passes_on_the_compliant_record() {
        let e = AS_AZ_17.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
    }

    #[test]
    fn a_success_response_without_iss_warns() {
        let mut o = compliant();
        testing::happy(&mut o).authorized = callback("happy#1", &[("code", "c")]);
        let e = AS_AZ_17.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn, "{e:?}");
        assert_eq!(e.actual, "the success response has no iss");
    }

    #[test]
    fn no_valid_authorization_is_error() {
        let mut o = compliant();
        o.happy = Err(no_answer("timed out"));
        assert_eq!(AS_AZ_17.evaluate(&o).verdict, Verdict::Error);
    }
}
