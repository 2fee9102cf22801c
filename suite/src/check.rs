//! Checks: small typed values that judge observations.
//!
//! A check never talks to the target. Scenarios drive the target once and record observations; every check
//! evaluates the same record and returns an [`Evaluation`]. A non-conformant target is a result (`FAIL`), not an
//! `Err`; a check that cannot judge says `ERROR` and names the missing prerequisite.

use mcp_auth_reports::{Level, Role, Verdict};

use crate::http::HttpFailure;

/// Static facts about a check: what it scores and where the requirement comes from.
#[derive(Debug, Clone, Copy)]
pub struct CheckMeta {
    /// Catalog ID plus a variant slug where one row has several stimuli, e.g. `RS-JWT-03.none`.
    pub id: &'static str,
    pub title: &'static str,
    pub role: Role,
    pub level: Level,
    /// Section references, e.g. `MCP §9.2`, `RFC 9068 §4`.
    pub spec_refs: &'static [&'static str],
    /// What the check sends and what it expects, for `explain`.
    pub summary: &'static str,
}

impl CheckMeta {
    /// The catalog row this check traces to (the id without its variant slug).
    pub fn row(&self) -> &'static str {
        self.id.split('.').next().unwrap_or(self.id)
    }
}

/// A check over the observations `O` of one role.
pub trait Check<O>: Send + Sync {
    fn meta(&self) -> &CheckMeta;
    fn evaluate(&self, obs: &O) -> Evaluation;
}

/// A check whose evaluation is a plain function over the role's observations.
pub struct FnCheck<O> {
    pub meta: CheckMeta,
    pub eval: fn(&CheckMeta, &O) -> Evaluation,
}

impl<O> Check<O> for FnCheck<O> {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, obs: &O) -> Evaluation {
        (self.eval)(&self.meta, obs)
    }
}

/// Boxes a function check for a role's registry.
pub fn fn_check<O: 'static>(
    meta: CheckMeta,
    eval: fn(&CheckMeta, &O) -> Evaluation,
) -> Box<dyn Check<O>> {
    Box::new(FnCheck { meta, eval })
}

/// How an evaluation relates to the rest of the run: the scenarios it depends on, and how it takes part in a
/// cascade (which checks it needed, where it found violations, where the target stopped); the runner derives the
/// report's `blocked_by` from the latter ([`crate::runner::blocked_by`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relations {
    /// The scenarios the verdict depends on (client role), so a reader can be shown what the target printed
    /// there. Typed, never parsed out of the message.
    pub scenarios: Vec<String>,
    /// The checks whose failure would explain an `ERROR` here (the prerequisite the missing observation needed,
    /// declared where it is known: the evaluator, or the scenario that recorded the observation). The runner keeps
    /// those that FAILed or ERRORed in the same run as the result's `blocked_by`; never parsed from a message.
    pub after: Vec<&'static str>,
    /// Every exchange a `FAIL` judged violating (the evidence keeps only the first few): a check that could not be
    /// judged because the target stopped at one of them after it was refused is blocked by this one.
    pub violations: Vec<String>,
    /// For an `ERROR`: the exchanges at which the target stopped after the other side refused them (what the
    /// check needed came after them). Set by the role from its observations ([`crate::runner::Cascades`]).
    pub stopped_at: Vec<String>,
}

/// The judgement of one check: a verdict with its proof.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub expected: String,
    pub actual: String,
    pub message: String,
    pub evidence: Vec<String>,
    /// How many exchanges at the front of `evidence` show the violation itself ([`Evaluation::with_offending`]);
    /// the rest are context. (A count rather than a second list keeps `Evaluation` small.)
    pub offending: u32,
    /// The scenarios it depends on and how it takes part in a cascade (boxed: most evaluations have none, and
    /// `Evaluation` is the `Err` of many check helpers, so it stays small).
    pub relations: Option<Box<Relations>>,
}

impl Evaluation {
    fn new(verdict: Verdict, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Evaluation {
            verdict,
            expected: expected.into(),
            actual: actual.into(),
            message: String::new(),
            evidence: Vec::new(),
            offending: 0,
            relations: None,
        }
    }

    /// The requirement was met.
    pub fn pass(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::new(Verdict::Pass, expected, actual)
    }

    /// The requirement was violated; the verdict follows the level (`FAIL`, `WARN` or `INFO`).
    pub fn violated(level: Level, expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::new(level.violation(), expected, actual)
    }

    /// Informational outcome that is neither a pass nor a violation (e.g. the local https profile).
    pub fn info(expected: impl Into<String>, actual: impl Into<String>) -> Self {
        Self::new(Verdict::Info, expected, actual)
    }

    /// Not applicable to this target; the reason says why.
    pub fn skip(reason: impl Into<String>) -> Self {
        let mut e = Self::new(Verdict::Skip, "", "");
        e.message = reason.into();
        e
    }

    /// The target could not be evaluated; the reason names the root cause.
    pub fn error(reason: impl Into<String>) -> Self {
        let mut e = Self::new(Verdict::Error, "", "");
        e.message = reason.into();
        e
    }

    /// A suite bug; never blamed on the target.
    pub fn harness_error(reason: impl Into<String>) -> Self {
        let mut e = Self::new(Verdict::HarnessError, "", "");
        e.message = reason.into();
        e
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn with_evidence<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for id in ids {
            let id = id.into();
            if !self.evidence.contains(&id) {
                self.evidence.push(id);
            }
        }
        self
    }

    /// Cites exchanges as the ones that show the violation (the offending request, the forbidden answer),
    /// ahead of the other evidence, which a reader then sees as context (for instance a correctly refused
    /// request cited beside the one that was served). An id already cited as context moves up.
    pub fn with_offending<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for id in ids {
            let id = id.into();
            let marked = self.offending as usize;
            match self.evidence.iter().position(|e| *e == id) {
                Some(pos) if pos < marked => continue,
                Some(pos) => {
                    self.evidence.remove(pos);
                }
                None => {}
            }
            self.evidence.insert(marked, id);
            self.offending += 1;
        }
        self
    }

    /// The evidence cited as offending ([`Evaluation::with_offending`]).
    pub fn offending(&self) -> &[String] {
        &self.evidence[..self.offending as usize]
    }

    /// Declares the checks whose failure explains this evaluation when it is an `ERROR` (see [`Relations::after`]).
    pub fn after(mut self, ids: &[&'static str]) -> Self {
        let c = self.relations_mut();
        for id in ids {
            if !c.after.contains(id) {
                c.after.push(id);
            }
        }
        self
    }

    /// Records every exchange a violation was found in (see [`Relations::violations`]).
    pub fn with_violations<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let c = self.relations_mut();
        for id in ids {
            let id = id.into();
            if !c.violations.contains(&id) {
                c.violations.push(id);
            }
        }
        self
    }

    /// The relations, created empty when absent.
    pub fn relations_mut(&mut self) -> &mut Relations {
        self.relations.get_or_insert_with(Box::default)
    }

    /// The relations (empty when none were recorded).
    pub fn relations(&self) -> &Relations {
        static NONE: Relations = Relations {
            scenarios: Vec::new(),
            after: Vec::new(),
            violations: Vec::new(),
            stopped_at: Vec::new(),
        };
        self.relations.as_deref().unwrap_or(&NONE)
    }

    /// The scenarios the verdict depends on (see [`Relations::scenarios`]).
    pub fn scenarios(&self) -> &[String] {
        &self.relations().scenarios
    }

    /// Records that the verdict depends on a scenario (once, in order).
    pub fn with_scenario(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        let r = self.relations_mut();
        if !r.scenarios.contains(&name) {
            r.scenarios.push(name);
        }
        self
    }
}

/// Why an observation is missing. Turned into `ERROR` (target) or `HARNESS_ERROR` (suite) by checks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObsError {
    /// The target did something that made the observation impossible (refused a valid token, timed out…).
    /// `cause` says what, typed, for checks that judge the failure itself.
    #[error("{reason}")]
    Target {
        reason: String,
        evidence: Vec<String>,
        cause: Cause,
        /// The checks whose failure made the observation impossible, when the scenario knows them (e.g. the
        /// metadata check when no metadata was found); carried into every `ERROR` built from this error.
        after: Vec<&'static str>,
    },
    /// The suite failed (could not mint a token, bind a port…).
    #[error("suite error: {0}")]
    Harness(String),
    /// The target legitimately lacks what the observation needs (e.g. a stateless server has no sessions).
    #[error("not applicable: {0}")]
    NotApplicable(String),
    /// The run was stopped (SIGINT/SIGTERM) before the scenario that records this observation finished: the
    /// placeholder every observation holds until its scenario fills it in.
    #[error("not observed: the run was interrupted before this scenario finished")]
    Interrupted,
}

/// What the target did that made an observation impossible, for checks that judge the failure itself (never by
/// matching the reason's text).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cause {
    /// Nothing more specific than the reason.
    #[default]
    Unspecified,
    /// No HTTP answer arrived (or the suite declined to send the request).
    NoAnswer(HttpFailure),
    /// An HTTP answer refused the request: its status and, for an OAuth error response or error redirect, the
    /// `error` code.
    Refused { status: u16, error: Option<String> },
}

impl ObsError {
    pub fn target(reason: impl Into<String>, evidence: impl IntoIterator<Item = String>) -> Self {
        Self::target_because(reason, evidence, Cause::Unspecified)
    }

    /// A target failure with its typed cause.
    pub fn target_because(
        reason: impl Into<String>,
        evidence: impl IntoIterator<Item = String>,
        cause: Cause,
    ) -> Self {
        ObsError::Target {
            reason: reason.into(),
            evidence: evidence.into_iter().collect(),
            cause,
            after: Vec::new(),
        }
    }

    /// Names the checks whose failure made this observation impossible (see [`ObsError::Target`]'s `after`);
    /// no effect on other kinds.
    pub fn after(mut self, ids: &[&'static str]) -> Self {
        if let ObsError::Target { after, .. } = &mut self {
            for id in ids {
                if !after.contains(id) {
                    after.push(id);
                }
            }
        }
        self
    }

    /// The typed cause of a target failure.
    pub fn cause(&self) -> Option<&Cause> {
        match self {
            ObsError::Target { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// The OAuth `error` code of a refusal, if that is what made the observation impossible.
    pub fn oauth_error(&self) -> Option<&str> {
        match self.cause() {
            Some(Cause::Refused {
                error: Some(error), ..
            }) => Some(error),
            _ => None,
        }
    }

    /// The evaluation a check reports when its prerequisite is missing.
    pub fn to_evaluation(&self, what: &str) -> Evaluation {
        match self {
            ObsError::Target {
                reason,
                evidence,
                after,
                ..
            } => Evaluation::error(format!("{what}: {reason}"))
                .with_evidence(evidence.clone())
                .after(after),
            ObsError::Harness(reason) => Evaluation::harness_error(format!("{what}: {reason}")),
            ObsError::NotApplicable(reason) => Evaluation::skip(reason.clone()),
            ObsError::Interrupted => Evaluation::error(format!("{what}: {self}")),
        }
    }

    /// Whether the observation is missing because the run was interrupted.
    pub fn is_interrupted(&self) -> bool {
        matches!(self, ObsError::Interrupted)
    }
}

/// Shorthand: `let x = need!(&obs.field, "what");` returns the ERROR evaluation when missing.
#[macro_export]
macro_rules! need {
    ($e:expr, $what:expr) => {
        match $e {
            Ok(v) => v,
            Err(err) => return $crate::check::ObsError::to_evaluation(err, $what),
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violation_follows_the_level() {
        assert_eq!(
            Evaluation::violated(Level::Must, "", "").verdict,
            Verdict::Fail
        );
        assert_eq!(
            Evaluation::violated(Level::Should, "", "").verdict,
            Verdict::Warn
        );
        assert_eq!(
            Evaluation::violated(Level::May, "", "").verdict,
            Verdict::Info
        );
    }

    #[test]
    fn evidence_is_deduplicated_in_order() {
        let e = Evaluation::pass("", "").with_evidence(["a#1", "b#2", "a#1"]);
        assert_eq!(e.evidence, vec!["a#1", "b#2"]);
    }

    #[test]
    fn offending_evidence_goes_first_and_the_rest_is_context() {
        let e = Evaluation::violated(Level::Must, "", "")
            .with_evidence(["ok#1", "bad#2", "ok#3"])
            .with_offending(["bad#2", "bad#4", "bad#2"]);
        assert_eq!(e.evidence, vec!["bad#2", "bad#4", "ok#1", "ok#3"]);
        assert_eq!(e.offending(), ["bad#2", "bad#4"]);
    }

    #[test]
    fn scenarios_are_deduplicated_in_order() {
        let e = Evaluation::error("x")
            .with_scenario("auth/b")
            .with_scenario("auth/a")
            .with_scenario("auth/b");
        assert_eq!(e.scenarios(), ["auth/b", "auth/a"]);
    }

    #[test]
    fn a_target_obs_error_becomes_error_with_its_evidence() {
        let e = ObsError::target("timed out", ["x#1".to_owned()]).to_evaluation("probe");
        assert_eq!(e.verdict, Verdict::Error);
        assert_eq!(e.evidence, vec!["x#1"]);
        assert!(e.message.contains("probe: timed out"));
    }

    #[test]
    fn row_strips_the_variant_slug() {
        let m = CheckMeta {
            id: "RS-JWT-03.none",
            title: "",
            role: Role::Server,
            level: Level::Must,
            spec_refs: &[],
            summary: "",
        };
        assert_eq!(m.row(), "RS-JWT-03");
    }
}
