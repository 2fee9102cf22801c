//! Client-role checks, one registry. A "must refuse" check passes only when the client demonstrably reached
//! the decision point and then made no forbidden request; a client that never got there is `ERROR`.

/// Concatenates `&'static str` constants at compile time, so a summary names its world by the world's constant
/// and stays one `&'static str`: `text!(METADATA_DEFAULT, ": the AS …")`.
macro_rules! text {
    ($($part:expr),+ $(,)?) => {{
        const PARTS: &[&str] = &[$($part),+];
        const LEN: usize = {
            let mut n = 0;
            let mut i = 0;
            while i < PARTS.len() {
                n += PARTS[i].len();
                i += 1;
            }
            n
        };
        const BYTES: [u8; LEN] = {
            let mut out = [0u8; LEN];
            let mut at = 0;
            let mut i = 0;
            while i < PARTS.len() {
                let part = PARTS[i].as_bytes();
                let mut j = 0;
                while j < part.len() {
                    out[at] = part[j];
                    at += 1;
                    j += 1;
                }
                i += 1;
            }
            out
        };
        match ::core::str::from_utf8(&BYTES) {
            Ok(s) => s,
            Err(_) => panic!("text!: not UTF-8"),
        }
    }};
}

mod discovery;
mod dpop;
pub(crate) mod machine;
mod march;
mod migration;
mod pkce;
mod request;
mod rev2026;
mod session;
mod stateless;
mod tls;

use fake_idp::client_world::LoggedRequest;
use mcp_auth_reports::{Level, Role};

use crate::check::{Check, CheckMeta, Evaluation, ObsError};
use crate::client::obs::{ClientObservations, ScenarioObs};
use crate::client::scenarios::METADATA_DEFAULT;

/// A client-role check.
pub type ClientCheck = dyn Check<ClientObservations>;

/// Builds a `CheckMeta` for the client role.
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
        role: Role::Client,
        level,
        spec_refs,
        summary,
    }
}

/// Every client-role check, in report order.
pub fn registry() -> Vec<Box<ClientCheck>> {
    let mut all: Vec<Box<ClientCheck>> = Vec::new();
    all.extend(discovery::checks());
    all.extend(pkce::checks());
    all.extend(request::checks());
    all.extend(session::checks());
    all.extend(migration::checks());
    all.extend(dpop::checks());
    all.extend(rev2026::checks());
    all.extend(machine::checks());
    all.extend(march::checks());
    all.extend(stateless::checks());
    all.extend(tls::checks());
    all
}

/// A scenario's record, or the evaluation to return when it is missing (which depends on that scenario).
pub fn scenario<'a>(o: &'a ClientObservations, name: &str) -> Result<&'a ScenarioObs, Evaluation> {
    o.scenario(name)
        .map_err(|e: ObsError| e.to_evaluation(name).with_scenario(name))
}

/// Unwraps a scenario or returns its evaluation.
#[macro_export]
macro_rules! scenario_or_return {
    ($o:expr, $name:expr) => {
        match $crate::client::checks::scenario($o, $name) {
            Ok(s) => s,
            Err(e) => return e,
        }
    };
}

/// The honest world every must-refuse check is measured against: a client that cannot complete it (authorization,
/// token, an MCP request served with a valid token) proves nothing by stopping in a refusal world. Every refusal
/// world registers by DCR, as this one does; `BASIC_CIMD` is no baseline (it answers the first authorization
/// with an error).
pub const BASELINE: &str = METADATA_DEFAULT;

/// ERROR unless the client completed the baseline world (the client-role twin of the authz role's happy-flow
/// precondition).
pub fn baseline_or_error(o: &ClientObservations, refusal_world: &str) -> Option<Evaluation> {
    let b = match o.scenario(BASELINE) {
        Ok(b) => b,
        Err(e) => {
            return Some(
                Evaluation::error(format!(
                    "{refusal_world}: the baseline world {BASELINE} gave no record ({e}), so stopping here proves \
                     nothing (run {BASELINE} too)"
                ))
                .with_scenario(refusal_world)
                .with_scenario(BASELINE),
            )
        }
    };
    if b.completed_baseline() {
        return None;
    }
    Some(
        Evaluation::error(format!(
            "{refusal_world}: the client never completed the baseline world {BASELINE} (authorization, token, an MCP \
             request served with a valid token), so stopping here proves nothing; in {BASELINE} {}",
            b.progress()
        ))
        .with_evidence(b.log.last().map(|r| b.id(r)))
        .with_scenario(BASELINE)
        .with_scenario(refusal_world),
    )
}

/// A must-refuse check: in `scenario`, after the first request that `reached` (the decision point), no request that
/// is `forbidden`. Judged by [`refusal`].
pub struct Refusal {
    pub meta: CheckMeta,
    pub scenario: &'static str,
    /// The decision point, for the texts ("fetching the mismatched PRM").
    pub decision: &'static str,
    pub reached: fn(&LoggedRequest) -> bool,
    /// What must not follow, for the texts ("token request").
    pub forbidden_what: &'static str,
    pub forbidden: fn(&LoggedRequest) -> bool,
}

impl Check<ClientObservations> for Refusal {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        let s = scenario_or_return!(o, self.scenario);
        refusal(
            &self.meta,
            o,
            s,
            self.decision,
            self.reached,
            self.forbidden_what,
            self.forbidden,
        )
    }
}

/// A check that holds for every request of every scenario that `select` picks: `problem` says what is wrong with
/// one. Judged by [`every`].
pub struct Every {
    pub meta: CheckMeta,
    /// What is judged, for the texts ("authorization request").
    pub what: &'static str,
    pub expected: &'static str,
    pub select: fn(&ScenarioObs, &LoggedRequest) -> bool,
    pub problem: fn(&ScenarioObs, &LoggedRequest) -> Option<String>,
}

impl Check<ClientObservations> for Every {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        every(
            &self.meta,
            o,
            self.what,
            self.expected,
            self.select,
            self.problem,
        )
    }
}

/// The refusal pattern: find the decision point, then look for a forbidden request after it. Judged only when the
/// client reached the decision point and completed the baseline world ([`BASELINE`]); otherwise `ERROR`.
pub fn refusal(
    m: &CheckMeta,
    o: &ClientObservations,
    s: &ScenarioObs,
    decision: &str,
    reached: impl Fn(&LoggedRequest) -> bool,
    forbidden_what: &str,
    forbidden: impl Fn(&LoggedRequest) -> bool,
) -> Evaluation {
    let expected = format!("after {decision}: no {forbidden_what}");
    let Some(point) = s.log.iter().find(|r| reached(r)) else {
        return Evaluation::error(format!(
            "{}: the client never reached the decision point ({decision}); {}",
            s.def.name,
            s.progress()
        ))
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name);
    };
    if let Some(e) = baseline_or_error(o, s.def.name) {
        return e;
    }
    let bad: Vec<&LoggedRequest> = s
        .log
        .iter()
        .filter(|r| r.seq > point.seq && forbidden(r))
        .collect();
    if bad.is_empty() {
        Evaluation::pass(
            expected,
            format!(
                "{decision} at #{}; then no {forbidden_what}; {}",
                point.seq,
                s.run.exit.describe()
            ),
        )
        .with_evidence([s.id(point)])
        .with_scenario(s.def.name)
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!(
                "{decision} at #{}; then {} {} {} (#{})",
                point.seq, bad[0].method, bad[0].path, forbidden_what, bad[0].seq
            ),
        )
        .with_evidence(std::iter::once(s.id(point)).chain(bad.iter().take(3).map(|r| s.id(r))))
        .with_scenario(s.def.name)
    }
}

/// Judges every matching request across all scenarios; ERROR when there is none at all.
pub fn every(
    m: &CheckMeta,
    o: &ClientObservations,
    what: &str,
    expected: &str,
    select: impl Fn(&ScenarioObs, &LoggedRequest) -> bool,
    problem: impl Fn(&ScenarioObs, &LoggedRequest) -> Option<String>,
) -> Evaluation {
    let mut judged = Vec::new();
    let mut problems = Vec::new();
    for s in o.runs() {
        for r in &s.log {
            if !select(s, r) {
                continue;
            }
            judged.push(s.id(r));
            if let Some(p) = problem(s, r) {
                problems.push((s.id(r), p));
            }
        }
    }
    if judged.is_empty() && !o.selected_all {
        return Evaluation::skip(format!(
            "no {what} was observed in the scenarios selected by --scenario"
        ));
    }
    if judged.is_empty() {
        return on_every_scenario(
            Evaluation::error(format!(
                "no {what} was observed in any scenario, so there is nothing to judge"
            )),
            o,
        );
    }
    if problems.is_empty() && o.unfinished() {
        return ObsError::Interrupted
            .to_evaluation(&format!("{} {what}(s) conform so far", judged.len()));
    }
    if problems.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} {what}(s) judged, all conform", judged.len()),
        )
        .with_evidence(judged.into_iter().take(3))
    } else {
        let actual = problems
            .iter()
            .take(5)
            .map(|(id, p)| format!("{id}: {p}"))
            .collect::<Vec<_>>()
            .join("; ");
        Evaluation::violated(
            m.level,
            expected,
            format!(
                "{} of {} {what}(s) fail: {actual}",
                problems.len(),
                judged.len()
            ),
        )
        .with_evidence(problems.iter().map(|(id, _)| id.clone()).take(5))
        .with_violations(problems.into_iter().map(|(id, _)| id))
    }
}

/// An evaluation that depends on every scenario that ran (any could have shown what it needs): the clients
/// that did not exit 0 first, as they are the likelier cause.
pub fn on_every_scenario(e: Evaluation, o: &ClientObservations) -> Evaluation {
    let mut runs: Vec<&ScenarioObs> = o.runs().collect();
    runs.sort_by_key(|s| s.run.exit.success());
    runs.into_iter().fold(e, |e, s| e.with_scenario(s.def.name))
}

/// ERROR unless the client completed its task in the scenario.
pub fn completed_or_error(s: &ScenarioObs) -> Option<Evaluation> {
    (!s.completed()).then(|| {
        Evaluation::error(format!(
            "{}: the client did not complete its task; {}",
            s.def.name,
            s.progress()
        ))
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::obs::testing::{self, compliant, missing, stop_before};
    use crate::client::scenarios::{PKCE_METHODS_MISSING, TOKEN_REFRESH};
    use mcp_auth_reports::Verdict;

    #[test]
    fn the_compliant_record_gives_every_check_its_reference_verdict() {
        let o = compliant();
        // The verdicts of the bundled reference client, as the self-test expects them.
        let expected = crate::expected::Expected::for_role(mcp_auth_reports::Role::Client)
            .expect("fixtures/expected/client.toml parses");
        let reference_verdict =
            |id: &str| expected.reference_verdict(crate::selftest::RunMode::Default.as_str(), id);
        // The record is of the default revision: a check whose row another revision states is not scored on it.
        let none = crate::spec::Extensions::none();
        let applies =
            |id: &str| crate::catalog::applies(id, crate::spec::SpecVersion::default(), &none);
        for c in registry().into_iter().filter(|c| applies(c.meta().id)) {
            let e = c.evaluate(&o);
            assert_eq!(
                e.verdict,
                reference_verdict(c.meta().id),
                "{}: {} {}",
                c.meta().id,
                e.actual,
                e.message
            );
        }
    }

    #[test]
    fn a_client_that_made_no_request_gets_error_on_every_check_but_its_own_documents() {
        let mut o = compliant();
        for s in o.scenarios.values_mut().filter_map(|r| r.as_mut().ok()) {
            s.log.clear();
        }
        // The client's own CIMD document is judged as the suite hosted it, whatever the client did.
        let documents = ["CL-CIMD-04", "CL-CIMD-05", "CL-CIMD-06"];
        for c in registry() {
            let e = c.evaluate(&o);
            let want = if documents.contains(&c.meta().id) {
                Verdict::Pass
            } else {
                Verdict::Error
            };
            assert_eq!(
                e.verdict,
                want,
                "{}: {} {}",
                c.meta().id,
                e.actual,
                e.message
            );
            if want == Verdict::Error {
                assert!(
                    !e.scenarios().is_empty(),
                    "{}: no scenario named",
                    c.meta().id
                );
            }
        }
    }

    #[test]
    fn a_refusal_is_error_when_the_baseline_world_gave_no_record() {
        let mut o = compliant();
        missing(&mut o, BASELINE, testing::target_failure());
        let c = registry()
            .into_iter()
            .find(|c| c.meta().id == "CL-PKCE-02")
            .expect("registered");
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(e.message.contains("gave no record"), "{}", e.message);
        assert_eq!(e.scenarios(), [PKCE_METHODS_MISSING, BASELINE]);
    }

    #[test]
    fn a_refusal_is_error_when_the_client_never_completed_the_baseline() {
        let mut o = compliant();
        stop_before(&mut o, BASELINE, testing::is_token);
        let c = registry()
            .into_iter()
            .find(|c| c.meta().id == "CL-PKCE-02")
            .expect("registered");
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("never completed the baseline world"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_every_scenario_check_skips_when_a_narrowed_run_shows_nothing_to_judge() {
        let mut o = compliant();
        o.selected_all = false;
        o.scenarios.retain(|name, _| *name == PKCE_METHODS_MISSING);
        let c = registry()
            .into_iter()
            .find(|c| c.meta().id == "CL-RES-02.refresh")
            .expect("registered");
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip, "{e:?}");
        assert!(
            e.message.contains("no refresh request was observed"),
            "{}",
            e.message
        );
    }

    #[test]
    fn an_every_scenario_check_does_not_pass_on_a_part_of_an_interrupted_run() {
        let mut o = compliant();
        missing(&mut o, TOKEN_REFRESH, ObsError::Interrupted);
        let c = registry()
            .into_iter()
            .find(|c| c.meta().id == "CL-PKCE-04")
            .expect("registered");
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(e.message.contains("conform so far"), "{}", e.message);
    }

    #[test]
    fn a_check_whose_world_was_not_selected_skips() {
        let mut o = compliant();
        o.scenarios.remove(TOKEN_REFRESH);
        o.selected_all = false;
        let c = registry()
            .into_iter()
            .find(|c| c.meta().id == "CL-RT-01")
            .expect("registered");
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip, "{e:?}");
        assert!(e.message.contains("was not run"), "{}", e.message);
    }

    #[test]
    fn text_concatenates_world_names_into_one_static_str() {
        const T: &str = text!(METADATA_DEFAULT, ": x");
        assert_eq!(T, format!("{METADATA_DEFAULT}: x"));
    }

    #[test]
    fn no_check_judges_a_scenario_the_interrupted_run_never_finished() {
        let o = ClientObservations {
            scenarios: crate::client::scenarios::all()
                .iter()
                .map(|d| (d.name, Err(ObsError::Interrupted)))
                .collect(),
            selected_all: true,
            out_of_scope: Default::default(),
        };
        for c in registry() {
            let e = c.evaluate(&o);
            assert!(
                matches!(e.verdict, Verdict::Error | Verdict::Skip),
                "{} judged an unfinished run: {:?} {}",
                c.meta().id,
                e.verdict,
                e.actual
            );
        }
    }

    #[test]
    fn ids_are_unique_and_cite_client_rows() {
        let mut ids: Vec<&str> = registry().iter().map(|c| c.meta().id).collect();
        assert!(ids.iter().all(|i| i.starts_with("CL-")));
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert!(n >= 40, "{n} client checks");
    }
}
