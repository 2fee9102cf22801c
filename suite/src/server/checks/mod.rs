//! Server-role checks, one registry. Each check traces to a row of catalog/server.toml; variant slugs name the stimulus.

mod dpop;
mod machine;
mod march;
mod prm;
mod rev2026;
mod revisions;
mod scope;
mod sessions;
mod stateless;
mod tokens;
mod upstream;
mod www;

use mcp_auth_reports::{Level, Role};

use crate::check::{Cause, Check, CheckMeta, Evaluation, ObsError};
use crate::http::HttpFailure;
use crate::server::obs::{Mode, ServerObservations, Stimulus};

/// A server-role check.
pub type ServerCheck = dyn Check<ServerObservations>;

/// Which validation modes a token check applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Always,
    /// Rows conditional on local JWT validation (catalog/README.md §4.7).
    JwtOnly,
    /// Rows only observable when the server asks the AS (revocation).
    IntrospectionOnly,
    /// Rows about the server URL as the token audience: SKIP when the AS persona's tokens name an opaque
    /// audience instead (Scalekit's resource id), whose spelling has no scheme or host.
    UrlAudience,
}

/// What counts as the right refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Any refusal (not served) passes; the status is reported.
    Any,
    /// HTTP 401 exactly (RS-TOK-02: invalid or expired tokens get 401).
    Status401,
    /// Any 4xx (header-size limits may answer 400/413/431).
    Any4xx,
}

/// A check that a token is refused.
pub struct RejectsToken {
    pub meta: CheckMeta,
    pub stimulus: Stimulus,
    pub applies: Applies,
    pub refusal: Refusal,
}

impl Check<ServerObservations> for RejectsToken {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, obs: &ServerObservations) -> Evaluation {
        if let Some(skip) = mode_gate(obs, self.applies) {
            return skip;
        }
        if let Err(e) = &obs.baseline {
            return e
                .to_evaluation("a valid token was refused, so refusing this one proves nothing");
        }
        let p = match obs.probe(self.stimulus) {
            Ok(p) => p,
            // A server may refuse an oversized header by closing the connection (Node answers 431 and resets it):
            // nothing was served, which is what this refusal asks.
            Err(ObsError::Target {
                reason,
                evidence,
                cause: Cause::NoAnswer(HttpFailure::Transport(_)),
                ..
            }) if self.refusal == Refusal::Any4xx => {
                return Evaluation::pass(
                    "a 4xx refusal (no data served)",
                    format!(
                        "{} → the server closed the connection: {reason}",
                        self.stimulus.describe()
                    ),
                )
                .with_evidence(evidence.clone());
            }
            Err(e) => return e.to_evaluation(self.stimulus.describe()),
        };
        let expected = match self.refusal {
            Refusal::Any => "refused (401 invalid_token; no data served)",
            Refusal::Status401 => "HTTP 401 (no data served)",
            Refusal::Any4xx => "a 4xx refusal (no data served)",
        };
        let actual = format!("{} → {}", self.stimulus.describe(), p.describe());
        let ok = !p.served()
            && match self.refusal {
                Refusal::Any => p.status >= 400,
                Refusal::Status401 => p.status == 401,
                Refusal::Any4xx => (400..500).contains(&p.status),
            };
        let e = if ok {
            Evaluation::pass(expected, actual)
        } else if p.served() {
            Evaluation::violated(self.meta.level, expected, actual)
                .with_message("the server accepted the token")
        } else {
            Evaluation::violated(self.meta.level, expected, actual).with_message(format!(
                "refused, but with HTTP {} instead of the required status",
                p.status
            ))
        };
        e.with_evidence([p.exchange.clone()])
    }
}

/// SKIP when a check does not apply to the observed validation mode; ERROR when the mode is unknown.
pub fn mode_gate(obs: &ServerObservations, applies: Applies) -> Option<Evaluation> {
    let mode = match &obs.mode {
        Ok(m) => *m,
        Err(e) => return Some(e.to_evaluation("the validation mode could not be determined")),
    };
    match (applies, mode) {
        (Applies::UrlAudience, _) => {
            let audience = obs.profile.persona().audience_for(&obs.target);
            (!audience.contains("://")).then(|| {
                Evaluation::skip(format!(
                    "the {} persona's tokens name the opaque audience `{audience}`, not the server URL: there is no \
                     scheme or host whose case could vary",
                    obs.profile.persona().name()
                ))
            })
        }
        (Applies::Always, _) | (Applies::JwtOnly, Mode::Jwt) | (Applies::IntrospectionOnly, Mode::Introspection) => None,
        (Applies::JwtOnly, Mode::Introspection) => Some(Evaluation::skip(
            "the server validates tokens by introspection; this row applies to local JWT validation (catalog/README.md §4.7)",
        )),
        (Applies::IntrospectionOnly, Mode::Jwt) => Some(Evaluation::skip(
            "the server validates JWTs locally; this row applies to servers that introspect tokens at the AS",
        )),
    }
}

/// Builds a `CheckMeta` for the server role.
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
        role: Role::Server,
        level,
        spec_refs,
        summary,
    }
}

/// Every server-role check, in report order.
pub fn registry() -> Vec<Box<ServerCheck>> {
    let mut all: Vec<Box<ServerCheck>> = Vec::new();
    all.extend(prm::checks());
    all.extend(www::checks());
    all.extend(tokens::checks());
    all.extend(scope::checks());
    all.extend(sessions::checks());
    all.extend(upstream::checks());
    all.extend(dpop::checks());
    all.extend(rev2026::checks());
    all.extend(machine::checks());
    all.extend(revisions::checks());
    all.extend(stateless::checks());
    all.extend(march::checks());
    all
}

/// ERROR when the token probes had not finished when the run was interrupted: a check judging all of them
/// cannot judge a part.
pub fn probes_pending(o: &ServerObservations) -> Option<Evaluation> {
    o.probes
        .values()
        .filter_map(|p| p.as_ref().err())
        .find(|e| e.is_interrupted())
        .map(|e| e.to_evaluation("the token probes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_auth_reports::Verdict;

    #[test]
    fn no_check_judges_a_part_the_interrupted_run_never_observed() {
        // The record as a signal finds it right after the baseline: every later part pending.
        let o = ServerObservations::pending(
            "http://127.0.0.1:1/mcp".into(),
            crate::profile::Profile::default_profile(),
            Ok(Mode::Jwt),
            Ok("session".into()),
            "http://127.0.0.1:2/jwks".into(),
            "http://127.0.0.1:2/cert".into(),
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
            if e.verdict == Verdict::Error {
                assert!(
                    e.message.contains("interrupted"),
                    "{}: {}",
                    c.meta().id,
                    e.message
                );
            }
        }
    }

    #[rstest::rstest]
    #[case::jwt(Mode::Jwt)]
    #[case::introspection(Mode::Introspection)]
    fn the_compliant_record_gets_the_reference_verdict_from_every_check(#[case] mode: Mode) {
        let o = crate::server::testing::compliant_in(mode);
        let wrong: Vec<String> = registry()
            .iter()
            .filter_map(|c| {
                let id = c.meta().id;
                let e = c.evaluate(&o);
                let want = crate::server::testing::reference_verdict(id, mode);
                (e.verdict != want).then(|| {
                    format!(
                        "{id}: {:?} (want {want:?}) {} {}",
                        e.verdict, e.actual, e.message
                    )
                })
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = registry().iter().map(|c| c.meta().id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn every_check_cites_a_catalog_row_and_a_spec() {
        for c in registry() {
            let m = c.meta();
            assert!(m.id.starts_with("RS-"), "{}", m.id);
            assert!(!m.spec_refs.is_empty(), "{} has no spec refs", m.id);
            assert!(!m.summary.is_empty(), "{} has no summary", m.id);
        }
    }

    #[test]
    fn every_stimulus_is_judged_by_some_check() {
        let src = [
            include_str!("tokens.rs"),
            include_str!("www.rs"),
            include_str!("scope.rs"),
            include_str!("prm.rs"),
            include_str!("sessions.rs"),
        ]
        .concat();
        for s in Stimulus::ALL {
            assert!(
                src.contains(&format!("Stimulus::{s:?}")),
                "{s:?} is probed but never judged"
            );
        }
    }
}
