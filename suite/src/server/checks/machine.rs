//! Client-credentials tokens at the resource server (extension client-credentials, SEP-1046): RS-CC-*. A token
//! with no user (`sub` = its `client_id`) is held to the same audience and scope rules as any other; both checks
//! need the valid machine token to have been served first, so a server that refuses every machine token is
//! `ERROR`, never `PASS`.

use mcp_auth_reports::Level::Must;

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::server::ctx::Probe;
use crate::server::obs::{MachineObs, ServerObservations};

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![Box::new(RS_CC_01), Box::new(RS_CC_02)]
}

/// ERROR unless the valid machine token was served (the control both checks stand on).
fn control(m: &MachineObs) -> Option<Evaluation> {
    (!m.valid.served()).then(|| {
        Evaluation::error(format!(
            "a valid client-credentials token (audience this server, read scope) was not served, so a refusal proves \
             nothing: {}",
            m.valid.describe()
        ))
        .with_evidence([m.valid.exchange.clone()])
    })
}

/// RS-CC-01: a machine token for another audience is refused.
const RS_CC_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-CC-01", "A client-credentials token for another audience is refused", Must,
        &["SEP-1046", "MCP §9.2", "RFC 8707 §2"],
        "A client-credentials token (sub = client_id, no user) whose aud is another MCP server, at initialize → 401; the same client's token for this server is served (control)."),
    eval: |m, o| {
        let mo = crate::need!(&o.machine, "the client-credentials tokens");
        if let Some(e) = control(mo) {
            return e;
        }
        judge(m, &mo.other_audience, 401, "401 (the token is not for this server)")
            .with_evidence([mo.valid.exchange.clone()])
    },
};

/// RS-CC-02: a machine token without the write scope is refused a write.
const RS_CC_02: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-CC-02", "A client-credentials token without the write scope is refused a write", Must,
        &["SEP-1046", "MCP §10.1"],
        "A client-credentials token holding only the read scope calls the write tool → 403 insufficient_scope; the same token is served at initialize (control)."),
    eval: |m, o| {
        let mo = crate::need!(&o.machine, "the client-credentials tokens");
        if let Some(e) = control(mo) {
            return e;
        }
        let Some(write) = &mo.write else {
            return Evaluation::harness_error("the write was not attempted although the control was served");
        };
        judge(m, write, 403, "403 insufficient_scope (the token lacks the write scope)")
            .with_evidence([mo.valid.exchange.clone()])
    },
};

/// FAIL when `p` was served, PASS when refused with `status`, ERROR otherwise (neither served nor the refusal
/// the check is about).
fn judge(m: &CheckMeta, p: &Probe, status: u16, expected: &str) -> Evaluation {
    let e = if p.served() {
        Evaluation::violated(m.level, expected, format!("served: {}", p.describe()))
    } else if p.status == status {
        Evaluation::pass(expected, p.describe())
    } else {
        Evaluation::error(format!(
            "neither served nor refused with {status}: {}",
            p.describe()
        ))
    };
    e.with_offending([p.exchange.clone()])
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::check::{Check, ObsError};
    use crate::server::testing::{compliant, refused, served};

    fn machine(f: impl FnOnce(&mut MachineObs)) -> ServerObservations {
        let mut o = compliant();
        if let Ok(m) = o.machine.as_mut() {
            f(m);
        }
        o
    }

    #[test]
    fn the_compliant_server_passes_both() {
        assert_eq!(RS_CC_01.evaluate(&compliant()).verdict, Verdict::Pass);
        assert_eq!(RS_CC_02.evaluate(&compliant()).verdict, Verdict::Pass);
    }

    #[test]
    fn a_machine_token_for_another_audience_served_fails_rs_cc_01() {
        let o = machine(|m| m.other_audience = served("machine#other-audience"));
        assert_eq!(RS_CC_01.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn a_write_served_to_a_read_only_machine_token_fails_rs_cc_02() {
        let o = machine(|m| m.write = Some(served("machine#write")));
        assert_eq!(RS_CC_02.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn a_server_refusing_every_machine_token_is_error_not_pass() {
        let o = machine(|m| {
            m.valid = refused("machine#valid", 401, &[]);
            m.write = None;
        });
        assert_eq!(RS_CC_01.evaluate(&o).verdict, Verdict::Error);
        assert_eq!(RS_CC_02.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn a_dead_target_is_error() {
        let mut o = compliant();
        o.machine = Err(ObsError::target("connection refused", []));
        assert_eq!(RS_CC_01.evaluate(&o).verdict, Verdict::Error);
        assert_eq!(RS_CC_02.evaluate(&o).verdict, Verdict::Error);
    }
}
