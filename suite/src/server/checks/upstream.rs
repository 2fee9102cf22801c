//! On-behalf-of delegation: RS-PASS-01, RS-OBO-*.

use std::collections::BTreeSet;

use mcp_auth_reports::Level::{Must, Should};
use serde_json::Value;

use super::{meta, ServerCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::evidence::sha256_hex;
use crate::server::obs::{ServerObservations, UpstreamCall, UpstreamObs};

pub fn checks() -> Vec<Box<ServerCheck>> {
    vec![
        Box::new(RS_PASS_01),
        Box::new(RS_OBO_01),
        Box::new(RS_OBO_02),
        Box::new(RS_OBO_03),
        Box::new(RS_OBO_04),
    ]
}

/// RS-PASS-01: The client's token is never forwarded upstream.
const RS_PASS_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-PASS-01", "The client's token is never forwarded upstream", Must, &["MCP §11.8", "SBP §2.2"],
        "The full user calls the upstream read tool with token T → the fake upstream API never receives T (in any header, body or query)."),
    eval: |m, o| {
                let u = crate::need!(&o.upstream, "the upstream calls");
                no_passthrough(m, &[&u.read])
            },
};

/// RS-OBO-01: The upstream never receives a client token, for reads or writes.
const RS_OBO_01: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-OBO-01", "The upstream never receives a client token, for reads or writes", Must, &["MCP §11.8", "SBP §2.2"],
        "Across the upstream read and write tools (full and read-only users), no client token appears in anything the upstream received."),
    eval: |m, o| {
                let u = crate::need!(&o.upstream, "the upstream calls");
                no_passthrough(m, &[&u.read, &u.write_read_only, &u.write_full])
            },
};

/// RS-OBO-02: A read-only user cannot get an upstream write done.
const RS_OBO_02: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-OBO-02", "A read-only user cannot get an upstream write done", Must, &["MCP §11.7", "MCP §11.8", "SBP §2.1"],
        "The read-only user calls the upstream write tool → the upstream accepts no write (no confused deputy: the server does not substitute its own broader credentials)."),
    eval: rs_obo_02,
};

fn rs_obo_02(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let u: &UpstreamObs = crate::need!(&o.upstream, "the upstream calls");
    let c = &u.write_read_only;
    let full = &u.write_full;
    if full
        .received
        .iter()
        .all(|r| !(200..300).contains(&r.status))
    {
        return Evaluation::error(format!(
            "the full user's upstream write was not accepted either ({}), so a refusal for the read-only user proves nothing",
            full.probe.describe()
        ))
        .with_evidence([full.probe.exchange.clone()]);
    }
    let accepted: Vec<(&fake_idp::UpstreamRequest, &String)> = c
        .received
        .iter()
        .zip(&c.exchanges)
        .filter(|(r, _)| r.method == "POST" && (200..300).contains(&r.status))
        .collect();
    let expected = "no upstream write accepted for the read-only user";
    let mut ev = vec![c.probe.exchange.clone()];
    let e = if accepted.is_empty() {
        Evaluation::pass(
            expected,
            format!(
                "{} upstream request(s), none accepted as a write; {}",
                c.received.len(),
                c.probe.describe()
            ),
        )
    } else {
        ev.extend(accepted.iter().map(|(_, id)| (*id).clone()));
        let who: Vec<String> = accepted
            .iter()
            .map(|(r, _)| {
                let sub = r
                    .claims
                    .as_ref()
                    .and_then(|cl| cl.get("sub"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                format!(
                    "{} {} accepted with a token for sub `{sub}`",
                    r.method, r.path
                )
            })
            .collect();
        Evaluation::violated(m.level, expected, who.join("; "))
    };
    e.with_evidence(ev)
}

/// RS-OBO-03: The upstream token is bound to the upstream, the user and the actor.
const RS_OBO_03: FnCheck<ServerObservations> = FnCheck {
    meta: meta("RS-OBO-03", "The upstream token is bound to the upstream, the user and the actor", Should, &["RFC 8693 §2.1", "RFC 8693 §4.1", "RFC 8707 §2"],
        "The token the upstream received for the full user's read: aud = the upstream, sub = the user, act.sub present."),
    eval: rs_obo_03,
};

fn rs_obo_03(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let (u, claims, id) = match read_claims(o) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let user = o.profile.users.full.clone();
    let aud: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    };
    let mut problems = Vec::new();
    if !aud.contains(&u.resource) {
        problems.push(format!("aud {aud:?} is not the upstream {}", u.resource));
    }
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    if sub != user {
        problems.push(format!("sub `{sub}` is not the user `{user}`"));
    }
    if claims.get("act").and_then(|a| a.get("sub")).is_none() {
        problems.push("no act.sub naming the server as actor".into());
    }
    let expected = format!("aud = {}, sub = {user}, act.sub present", u.resource);
    let e = if problems.is_empty() {
        Evaluation::pass(
            expected,
            format!("aud {aud:?}, sub {sub}, act {}", claims["act"]),
        )
    } else {
        Evaluation::violated(m.level, expected, problems.join("; "))
    };
    e.with_evidence([id])
}

/// RS-OBO-04: The upstream token carries no more scope than the operation needs.
const RS_OBO_04: FnCheck<ServerObservations> = FnCheck {
    meta: meta(
        "RS-OBO-04",
        "The upstream token carries no more scope than the operation needs",
        Should,
        &["SBP §2.5", "RFC 8693 §2.1"],
        "The token the upstream received for a read carries no scope beyond the read scope.",
    ),
    eval: rs_obo_04,
};

fn rs_obo_04(m: &CheckMeta, o: &ServerObservations) -> Evaluation {
    let (_, claims, id) = match read_claims(o) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let read = o.profile.scopes.read.clone();
    let scope: BTreeSet<String> = claims
        .get("scope")
        .and_then(Value::as_str)
        .map(|s| {
            s.split(' ')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let extra: Vec<&String> = scope.iter().filter(|s| **s != read).collect();
    let expected = format!("scope ⊆ {{{read}}}");
    let e = if extra.is_empty() {
        Evaluation::pass(expected, format!("scope {scope:?}"))
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!("scope {scope:?} includes {extra:?}"),
        )
    };
    e.with_evidence([id])
}

/// The call's upstream requests, or ERROR when the tool never reached the upstream.
fn reached(c: &UpstreamCall) -> Result<(), Evaluation> {
    if c.received.is_empty() {
        return Err(Evaluation::error(format!(
            "the upstream tool made no upstream request for {} ({}), so there is nothing to judge",
            c.user,
            c.probe.describe()
        ))
        .with_evidence([c.probe.exchange.clone()]));
    }
    Ok(())
}

fn no_passthrough(m: &CheckMeta, calls: &[&UpstreamCall]) -> Evaluation {
    for c in calls.iter().take(1) {
        if let Err(e) = reached(c) {
            return e;
        }
    }
    let expected = "no client token in anything the upstream received";
    let mut leaks = Vec::new();
    let mut ev = Vec::new();
    for c in calls {
        ev.push(c.probe.exchange.clone());
        for (r, id) in c.received.iter().zip(&c.exchanges) {
            let seen = r.headers.iter().any(|(_, v)| v.contains(&c.client_token))
                || r.body.contains(&c.client_token)
                || r.query.contains(&c.client_token);
            if seen {
                leaks.push(format!(
                    "{id}: {} {} carried {}'s token (sha256 {})",
                    r.method,
                    r.path,
                    c.user,
                    &sha256_hex(&c.client_token)[..16]
                ));
                ev.push(id.clone());
            }
        }
    }
    let total: usize = calls.iter().map(|c| c.received.len()).sum();
    let e = if leaks.is_empty() {
        Evaluation::pass(
            expected,
            format!("{total} upstream request(s), none with a client token"),
        )
    } else {
        Evaluation::violated(m.level, expected, leaks.join("; "))
    };
    e.with_evidence(ev)
}

/// The claims of the token the upstream received on the full user's read.
fn read_claims(o: &ServerObservations) -> Result<(&UpstreamObs, Value, String), Evaluation> {
    let u = o
        .upstream
        .as_ref()
        .map_err(|e| e.to_evaluation("the upstream calls"))?;
    reached(&u.read)?;
    let (r, id) = u
        .read
        .received
        .iter()
        .zip(&u.read.exchanges)
        .next()
        .expect("reached");
    match &r.claims {
        Some(c) => Ok((u, c.clone(), id.clone())),
        None => Err(Evaluation::violated(
            Should,
            "a JWT the upstream can check",
            "the upstream received no JWT (or no token)",
        )
        .with_evidence([id.clone()])),
    }
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::*;
    use crate::check::Check;
    use crate::server::testing::{compliant, refused_by_target};

    #[rstest::rstest]
    #[case::pass_01(RS_PASS_01)]
    #[case::obo_01(RS_OBO_01)]
    #[case::obo_02(RS_OBO_02)]
    #[case::obo_03(RS_OBO_03)]
    #[case::obo_04(RS_OBO_04)]
    fn passes_on_the_compliant_record_and_errors_without_the_calls(
        #[case] c: FnCheck<ServerObservations>,
    ) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}: {}", c.meta.id, e.actual);
        assert!(
            e.evidence.iter().any(|x| x.starts_with("upstream")),
            "{}",
            c.meta.id
        );
        let mut o = compliant();
        o.upstream = Err(refused_by_target(401));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(
            e.message.starts_with("the upstream calls: HTTP 401"),
            "{}",
            e.message
        );
    }

    #[rstest::rstest]
    #[case::pass_01(RS_PASS_01)]
    #[case::obo_01(RS_OBO_01)]
    #[case::obo_03(RS_OBO_03)]
    #[case::obo_04(RS_OBO_04)]
    fn errors_when_the_read_never_reached_the_upstream(#[case] c: FnCheck<ServerObservations>) {
        let o = compliant().edit_upstream(|u| u.read.received.clear());
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(
            e.message.contains("made no upstream request for alice"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_pass_01_fails_when_the_client_token_is_forwarded() {
        let o = compliant().edit_upstream(|u| {
            u.read.received[0].headers =
                vec![("authorization".into(), "Bearer client-token-alice".into())];
        });
        let e = RS_PASS_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual
                .starts_with("upstream-api#1: GET /api/digest carried alice's token"),
            "{}",
            e.actual
        );
        assert!(!e.actual.contains("client-token-alice"), "{}", e.actual);
    }

    #[test]
    fn rs_obo_01_fails_when_a_write_forwards_the_client_token() {
        let o = compliant().edit_upstream(|u| {
            u.write_read_only.received[0].body = "{\"token\":\"client-token-bob\"}".into();
        });
        let e = RS_OBO_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("carried bob's token"), "{}", e.actual);
        assert_eq!(RS_PASS_01.evaluate(&o).verdict, Verdict::Pass);
    }

    #[test]
    fn rs_obo_02_fails_when_the_read_only_write_is_accepted_upstream() {
        let o = compliant().edit_upstream(|u| {
            u.write_read_only.received[0].status = 201;
            u.write_read_only.received[0].claims = Some(json!({"sub": "mcp-server"}));
        });
        let e = RS_OBO_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(
            e.actual,
            "POST /api/digest accepted with a token for sub `mcp-server`"
        );
        assert!(e.evidence.contains(&"upstream-api#2".to_owned()));
    }

    #[test]
    fn rs_obo_02_errors_when_the_full_write_was_not_accepted_either() {
        let o = compliant().edit_upstream(|u| u.write_full.received[0].status = 403);
        let e = RS_OBO_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .starts_with("the full user's upstream write was not accepted either"),
            "{}",
            e.message
        );
    }

    #[test]
    fn rs_obo_03_warns_when_the_upstream_token_has_no_actor() {
        let o = compliant().edit_upstream(|u| {
            u.read.received[0].claims = Some(json!({"aud": u.resource, "sub": "alice"}));
        });
        let e = RS_OBO_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "no act.sub naming the server as actor");
    }

    #[test]
    fn rs_obo_03_warns_when_the_upstream_token_is_for_another_audience() {
        let o = compliant().edit_upstream(|u| {
            u.read.received[0].claims = Some(
                json!({"aud": "http://127.0.0.1:3000/mcp", "sub": "alice", "act": {"sub": "s"}}),
            );
        });
        let e = RS_OBO_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(e.actual.contains("is not the upstream"), "{}", e.actual);
    }

    #[test]
    fn rs_obo_03_warns_when_the_upstream_received_no_jwt() {
        let o = compliant().edit_upstream(|u| u.read.received[0].claims = None);
        let e = RS_OBO_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "the upstream received no JWT (or no token)");
    }

    #[test]
    fn rs_obo_04_warns_on_a_broader_scope() {
        let o = compliant().edit_upstream(|u| {
            u.read.received[0].claims = Some(json!({"scope": "todo:read todo:write"}));
        });
        let e = RS_OBO_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert!(
            e.actual.contains("includes [\"todo:write\"]"),
            "{}",
            e.actual
        );
    }
}
