//! AS-FED-*: the AS as a relying party of an upstream IdP (issue 15). The suite plays the IdP the AS federates
//! its login to; per probe it answers with one hostile twist, and the AS must not let that login through: no
//! code reaches the MCP client. A refusal counts only when the IdP delivered the twist (the hop was observed) and
//! an honest federated login works; else ERROR. Without an upstream IdP (an `--issuer` run without
//! `--upstream-idp`) every check SKIPs, naming the flag.

use fake_idp::idp::{IdpAnswer, IdpSeen};
use mcp_auth_reports::Level::Must;
use serde_json::Value;

use super::{code_of, last_exchange, meta, walk_failed, AuthzCheck};
use crate::authz::obs::AuthzObservations;
use crate::authz::scenarios::{describe, FedProbe, ResourceUse};
use crate::check::{Check, CheckMeta, Evaluation, FnCheck};

/// The federation checks, in report order.
pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_FED_01_UNSIGNED),
        Box::new(AS_FED_01_UNKNOWN_KEY),
        Box::new(AS_FED_02),
        Box::new(AS_FED_03),
        Box::new(AS_FED_04_MISSING),
        Box::new(AS_FED_04_REPLAYED),
        Box::new(AS_FED_05),
        Box::new(AS_FED_06_FORGED),
        Box::new(AS_FED_06_MISSING),
        Box::new(AS_FED_07),
        Box::new(AS_FED_08),
    ]
}

const ID_TOKEN_REFS: &[&str] = &["OIDC Core §3.1.3.7"];

/// A login through the IdP answering `answer`: the AS must not issue a code to the MCP client.
struct RefusesIdpAnswer {
    meta: CheckMeta,
    answer: IdpAnswer,
}

/// AS-FED-01.unsigned.
const AS_FED_01_UNSIGNED: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta("AS-FED-01.unsigned", "An unsigned upstream ID token does not log the user in", Must,
        &["OIDC Core §3.1.3.7 (6, 7)", "RFC 9700 §2.1"],
        "The suite's IdP answers the AS's code redemption with an `alg: none` ID token → no code reaches the MCP client."),
    answer: IdpAnswer::Unsigned,
};

/// AS-FED-01.unknown-key.
const AS_FED_01_UNKNOWN_KEY: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta("AS-FED-01.unknown-key", "An upstream ID token signed by an unknown key does not log the user in", Must,
        &["OIDC Core §3.1.3.7 (6, 7)", "RFC 9700 §2.1"],
        "The IdP's ID token carries the IdP's kid but is signed by a key outside its JWKS → no code reaches the MCP client."),
    answer: IdpAnswer::UnknownKey,
};

/// AS-FED-02.
const AS_FED_02: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta(
        "AS-FED-02",
        "An upstream ID token from another issuer does not log the user in",
        Must,
        ID_TOKEN_REFS,
        "The IdP's ID token names another `iss` → no code reaches the MCP client.",
    ),
    answer: IdpAnswer::WrongIssuer,
};

/// AS-FED-03.
const AS_FED_03: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta(
        "AS-FED-03",
        "An upstream ID token for another client does not log the user in",
        Must,
        ID_TOKEN_REFS,
        "The IdP's ID token has another client's `aud` → no code reaches the MCP client.",
    ),
    answer: IdpAnswer::WrongAudience,
};

/// AS-FED-04.missing.
const AS_FED_04_MISSING: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta(
        "AS-FED-04.missing",
        "An upstream ID token without the login's nonce does not log the user in",
        Must,
        &["OIDC Core §3.1.3.7 (11)", "OIDC Core §15.5.2"],
        "The IdP's ID token has no `nonce` → no code reaches the MCP client.",
    ),
    answer: IdpAnswer::MissingNonce,
};

/// AS-FED-04.replayed.
const AS_FED_04_REPLAYED: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta("AS-FED-04.replayed", "An upstream ID token with another login's nonce does not log the user in", Must,
        &["OIDC Core §3.1.3.7 (11)", "OIDC Core §15.5.2"],
        "The IdP's ID token carries the nonce of the previous login → no code reaches the MCP client."),
    answer: IdpAnswer::ReplayedNonce,
};

/// AS-FED-05.
const AS_FED_05: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta(
        "AS-FED-05",
        "An expired upstream ID token does not log the user in",
        Must,
        &["OIDC Core §3.1.3.7 (9)"],
        "The IdP's ID token expired an hour ago → no code reaches the MCP client.",
    ),
    answer: IdpAnswer::Expired,
};

/// AS-FED-06.forged.
const AS_FED_06_FORGED: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta("AS-FED-06.forged", "An IdP callback with a forged state does not log the user in", Must,
        &["RFC 9700 §4.7.1", "OAuth 2.1 §7.5.1"],
        "The IdP redirects back to the AS with a `state` the AS did not send → no code reaches the MCP client."),
    answer: IdpAnswer::ForgedState,
};

/// AS-FED-06.missing.
const AS_FED_06_MISSING: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta(
        "AS-FED-06.missing",
        "An IdP callback without state does not log the user in",
        Must,
        &["RFC 9700 §4.7.1", "OAuth 2.1 §7.5.1"],
        "The IdP redirects back to the AS without `state` → no code reaches the MCP client.",
    ),
    answer: IdpAnswer::MissingState,
};

/// AS-FED-07.
const AS_FED_07: RefusesIdpAnswer = RefusesIdpAnswer {
    meta: meta("AS-FED-07", "An unverified upstream e-mail does not log into the account that owns it", Must,
        &["OIDC Core §5.1 (email_verified)", "OIDC Core §5.7"],
        "The IdP's ID token carries alice's `email` with `email_verified: false` and another `sub` → no code reaches the MCP client."),
    answer: IdpAnswer::UnverifiedEmail,
};

impl Check<AuthzObservations> for RefusesIdpAnswer {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &AuthzObservations) -> Evaluation {
        let (m, answer) = (&self.meta, self.answer);
        let fed = crate::need!(&o.federation, "the federated login");
        let Some(probe) = fed.probes.get(&answer) else {
            return Evaluation::harness_error("the hostile IdP answer was not probed");
        };
        if let Some(e) = walk_failed(&probe.authorized) {
            return e;
        }
        if !probe.delivered(answer) {
            let sent = crate::authz::scenarios::hopped(&probe.seen);
            let hop = if !sent {
                "the AS never sent the user to the suite's IdP (is it configured to federate to it?)"
            } else if answer.in_id_token() {
                "the AS never redeemed the IdP's code, so the hostile ID token was never delivered"
            } else {
                "the IdP's redirect back to the AS never happened"
            };
            return Evaluation::error(format!("the IdP hop was not observed: {hop}"))
                .with_evidence(last_exchange(&probe.authorized));
        }
        if matches!(answer, IdpAnswer::MissingNonce | IdpAnswer::ReplayedNonce)
            && probe
                .seen
                .iter()
                .any(|s| matches!(s, IdpSeen::Authorize { nonce: None, .. }))
        {
            let pkce = probe
                .seen
                .iter()
                .any(|s| matches!(s, IdpSeen::Authorize { pkce: true, .. }));
            return Evaluation::skip(format!(
                "the AS sends no nonce to the IdP: OIDC Core §3.1.3.7 (11) checks only a nonce the relying party \
                 sent (its code flow {} PKCE)",
                if pkce { "uses" } else { "does not use" }
            ))
            .with_evidence(last_exchange(&probe.authorized));
        }
        if let Some(honest) = &fed.honest_used {
            return judged_at_resource(m, answer, honest, probe);
        }
        let expected = format!("{} → no code for the MCP client", answer.describe());
        let e = match code_of(&probe.authorized) {
            Some(_) => Evaluation::violated(
                m.level,
                expected,
                "the AS let the login through: a code reached the MCP client",
            ),
            None => Evaluation::pass(expected, describe(&probe.authorized.outcome)),
        };
        e.with_evidence(last_exchange(&probe.authorized))
    }
}

/// `--proxy`: the proxy checks the upstream's tokens when its own are used at its MCP endpoint, so a code is not
/// yet a login: the login went through when its token is accepted there. Meaningful only when the honest
/// login's token is accepted.
fn judged_at_resource(
    m: &CheckMeta,
    answer: IdpAnswer,
    honest: &ResourceUse,
    probe: &FedProbe,
) -> Evaluation {
    match honest {
        ResourceUse::Used {
            status: Ok(s),
            ..
        } if (200..300).contains(s) => {}
        other => {
            return Evaluation::error(format!(
                "the honest federated login's token is not accepted at the resource ({}): a refusal after a \
                 hostile login would prove nothing",
                use_outcome(other)
            ))
            .with_evidence(other.exchanges())
        }
    }
    if answer == IdpAnswer::UnverifiedEmail {
        return Evaluation::skip(
            "judged at the resource (--proxy): the login yields the IdP's identity (another sub, email_verified \
             false); which account the MCP server serves it as is its tools' choice, not observable here",
        );
    }
    let expected = format!(
        "{} (the IdP's access token carries the same twist where it applies) → no code, or a token the \
         resource refuses",
        answer.describe()
    );
    let Some(_) = code_of(&probe.authorized) else {
        return Evaluation::pass(expected, describe(&probe.authorized.outcome))
            .with_evidence(last_exchange(&probe.authorized));
    };
    let Some(used) = &probe.used else {
        return Evaluation::harness_error("the probe's code was not used at the resource");
    };
    let e = match used {
        ResourceUse::NoToken(t) if t.error.is_some() => Evaluation::error(format!(
            "the code's redemption got no answer: {}",
            use_outcome(used)
        )),
        ResourceUse::NoToken(_) => Evaluation::pass(expected, use_outcome(used)),
        ResourceUse::Used { status: Ok(s), .. } if (200..300).contains(s) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "the login went through: its token is accepted at the resource (HTTP {s}), although the IdP's \
                 {} carried the twist",
                if answer.in_access_token() {
                    "ID and access tokens"
                } else if answer.in_id_token() {
                    "ID token"
                } else {
                    "callback to the AS"
                }
            ),
        ),
        ResourceUse::Used {
            status: Ok(401 | 403),
            ..
        } => Evaluation::pass(expected, use_outcome(used)),
        ResourceUse::Used { status: Ok(s), .. } => Evaluation::error(format!(
            "the resource answered the token with HTTP {s}: neither accepted nor refused"
        )),
        ResourceUse::Used { status: Err(f), .. } => f.unanswered("the token's use at the resource"),
    };
    e.with_evidence(used.exchanges())
}

/// What came of a token's use, in a few words.
fn use_outcome(u: &ResourceUse) -> String {
    match u {
        ResourceUse::NoToken(t) => match &t.error {
            Some(f) => format!("the code's redemption got no answer: {f}"),
            None => format!("the AS refused to redeem the code: HTTP {}", t.status),
        },
        ResourceUse::Used { status: Ok(s), .. } => format!("the resource answered HTTP {s}"),
        ResourceUse::Used { status: Err(f), .. } => format!("the resource did not answer: {f}"),
    }
}

/// AS-FED-08: the token response holds none of the IdP's tokens.
const AS_FED_08: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-FED-08", "The AS never passes the upstream IdP's tokens to MCP clients", Must, &["MCP §11.8", "SBP §2.2"],
        "An honest federated login, its code redeemed at the AS: no value of the token response is an ID or access token the IdP issued."),
    eval: as_fed_08,
};
fn as_fed_08(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let fed = crate::need!(&o.federation, "the federated login");
    let Some(token) = &fed.honest.token else {
        return Evaluation::error("the honest federated login's code was not redeemed");
    };
    if fed.idp_tokens.is_empty() {
        return Evaluation::error(
            "the IdP issued no token during the honest login: the AS never redeemed the IdP's code",
        )
        .with_evidence([token.exchange.clone()]);
    }
    let expected = "the AS's own tokens, none of the IdP's";
    let leaked: Vec<&str> = token
        .json
        .as_ref()
        .and_then(Value::as_object)
        .map(|body| {
            body.iter()
                .filter(|(_, v)| {
                    v.as_str()
                        .is_some_and(|s| fed.idp_tokens.iter().any(|t| t == s))
                })
                .map(|(k, _)| k.as_str())
                .collect()
        })
        .unwrap_or_default();
    let e = if leaked.is_empty() {
        Evaluation::pass(
            expected,
            "no value of the token response is one of the IdP's tokens",
        )
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!(
                "the token response's {} is the IdP's token",
                leaked.join(", ")
            ),
        )
    };
    e.with_evidence([token.exchange.clone()])
}

#[cfg(test)]
mod tests {
    use fake_idp::idp::IdpSeen;
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::authz::testing::{self, code_callback, compliant, edit_json, unanswered_walk};
    use crate::check::ObsError;

    const REFUSALS: [&RefusesIdpAnswer; 10] = [
        &AS_FED_01_UNSIGNED,
        &AS_FED_01_UNKNOWN_KEY,
        &AS_FED_02,
        &AS_FED_03,
        &AS_FED_04_MISSING,
        &AS_FED_04_REPLAYED,
        &AS_FED_05,
        &AS_FED_06_FORGED,
        &AS_FED_06_MISSING,
        &AS_FED_07,
    ];

    #[test]
    fn every_federation_check_passes_on_the_compliant_record() {
        let o = compliant();
        for check in checks() {
            let e = check.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Pass, "{}: {e:?}", check.meta().id);
        }
    }

    #[test]
    fn a_code_after_a_hostile_idp_answer_fails_exactly_that_check() {
        for check in REFUSALS {
            let mut o = compliant();
            testing::federation_mut(&mut o)
                .probes
                .get_mut(&check.answer)
                .unwrap()
                .authorized = code_callback("fed#1", "c");
            for other in REFUSALS {
                let e = other.evaluate(&o);
                let want = if other.answer == check.answer {
                    Verdict::Fail
                } else {
                    Verdict::Pass
                };
                assert_eq!(
                    e.verdict, want,
                    "{} with {:?}: {e:?}",
                    other.meta.id, check.answer
                );
            }
        }
    }

    #[test]
    fn a_refusal_without_the_idp_hop_is_an_error() {
        for check in REFUSALS {
            let mut o = compliant();
            let probe = testing::federation_mut(&mut o)
                .probes
                .get_mut(&check.answer)
                .unwrap();
            probe
                .seen
                .retain(|s| matches!(s, IdpSeen::Authorize { .. }));
            let e = check.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}: {e:?}", check.meta.id);
        }
    }

    #[test]
    fn an_as_that_never_sends_the_user_to_the_idp_gets_an_error_naming_that() {
        let mut o = compliant();
        testing::federation_mut(&mut o)
            .probes
            .get_mut(&IdpAnswer::ForgedState)
            .unwrap()
            .seen
            .clear();
        let e = AS_FED_06_FORGED.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("never sent the user"), "{e:?}");
    }

    #[test]
    fn a_dead_as_during_the_probe_is_an_error() {
        let mut o = compliant();
        testing::federation_mut(&mut o)
            .probes
            .get_mut(&IdpAnswer::Expired)
            .unwrap()
            .authorized = unanswered_walk("fed#1");
        assert_eq!(AS_FED_05.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn without_an_upstream_idp_every_federation_check_skips() {
        let mut o = compliant();
        o.federation = Err(ObsError::NotApplicable(
            "no upstream IdP: run with --upstream-idp".into(),
        ));
        for check in checks() {
            let e = check.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Skip, "{}: {e:?}", check.meta().id);
        }
    }

    fn used(status: Result<u16, crate::http::HttpFailure>) -> ResourceUse {
        ResourceUse::Used {
            token_exchange: "fed#token".into(),
            exchange: "fed#mcp".into(),
            status,
        }
    }

    /// A record judged at the resource (`--proxy`): the honest token works; every hostile login's code is
    /// redeemed and its token used, with `status` at the resource.
    fn at_resource(status: u16) -> AuthzObservations {
        let mut o = compliant();
        let fed = testing::federation_mut(&mut o);
        fed.honest_used = Some(used(Ok(200)));
        for probe in fed.probes.values_mut() {
            probe.authorized = code_callback("fed#1", "c");
            probe.used = Some(used(Ok(status)));
        }
        o
    }

    #[test]
    fn the_nonce_rows_skip_when_the_as_sends_no_nonce() {
        let mut o = compliant();
        for probe in testing::federation_mut(&mut o).probes.values_mut() {
            probe.authorized = code_callback("fed#1", "c");
            for s in &mut probe.seen {
                if let IdpSeen::Authorize { nonce, .. } = s {
                    *nonce = None;
                }
            }
        }
        for check in [&AS_FED_04_MISSING, &AS_FED_04_REPLAYED] {
            let e = check.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Skip, "{}: {e:?}", check.meta.id);
            assert!(e.message.contains("uses PKCE"), "{e:?}");
        }
        assert_eq!(AS_FED_05.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn at_the_resource_a_hostile_logins_accepted_token_fails() {
        let o = at_resource(200);
        for check in REFUSALS
            .iter()
            .filter(|c| c.answer != IdpAnswer::UnverifiedEmail)
        {
            let e = check.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Fail, "{}: {e:?}", check.meta.id);
            assert_eq!(
                e.evidence,
                vec!["fed#token".to_owned(), "fed#mcp".to_owned()]
            );
        }
    }

    #[test]
    fn at_the_resource_a_refused_token_passes() {
        for status in [401, 403] {
            let o = at_resource(status);
            for check in REFUSALS
                .iter()
                .filter(|c| c.answer != IdpAnswer::UnverifiedEmail)
            {
                let e = check.evaluate(&o);
                assert_eq!(
                    e.verdict,
                    Verdict::Pass,
                    "{} at {status}: {e:?}",
                    check.meta.id
                );
            }
        }
    }

    #[test]
    fn at_the_resource_a_login_refused_before_any_code_passes() {
        let mut o = at_resource(200);
        let probe = testing::federation_mut(&mut o)
            .probes
            .get_mut(&IdpAnswer::Expired)
            .unwrap();
        probe.authorized = testing::error_callback("fed#1", "access_denied");
        probe.used = None;
        assert_eq!(AS_FED_05.evaluate(&o).verdict, Verdict::Pass);
    }

    #[test]
    fn at_the_resource_an_unverified_email_skips() {
        let e = AS_FED_07.evaluate(&at_resource(200));
        assert_eq!(e.verdict, Verdict::Skip, "{e:?}");
    }

    #[test]
    fn at_the_resource_a_refused_honest_token_makes_every_refusal_an_error() {
        let mut o = at_resource(401);
        testing::federation_mut(&mut o).honest_used = Some(used(Ok(401)));
        for check in REFUSALS {
            let e = check.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}: {e:?}", check.meta.id);
        }
    }

    #[test]
    fn at_the_resource_silence_or_an_odd_status_is_an_error() {
        let mut o = at_resource(500);
        assert_eq!(AS_FED_05.evaluate(&o).verdict, Verdict::Error);
        testing::federation_mut(&mut o)
            .probes
            .get_mut(&IdpAnswer::Expired)
            .unwrap()
            .used = Some(used(Err(crate::http::HttpFailure::Timeout(
            std::time::Duration::from_secs(5),
        ))));
        assert_eq!(AS_FED_05.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn at_the_resource_a_refused_redemption_passes_and_an_unanswered_one_is_an_error() {
        let mut o = at_resource(200);
        let probe = testing::federation_mut(&mut o)
            .probes
            .get_mut(&IdpAnswer::Expired)
            .unwrap();
        probe.used = Some(ResourceUse::NoToken(testing::refusal(
            "fed#token",
            400,
            "invalid_grant",
        )));
        assert_eq!(AS_FED_05.evaluate(&o).verdict, Verdict::Pass);
        testing::federation_mut(&mut o)
            .probes
            .get_mut(&IdpAnswer::Expired)
            .unwrap()
            .used = Some(ResourceUse::NoToken(testing::unanswered_token("fed#token")));
        assert_eq!(AS_FED_05.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn the_idps_id_token_in_the_token_response_fails_as_fed_08() {
        let mut o = compliant();
        let fed = testing::federation_mut(&mut o);
        let idp_token = fed.idp_tokens[1].clone();
        edit_json(fed.honest.token.as_mut().unwrap(), |b| {
            b.insert("id_token".into(), Value::String(idp_token));
        });
        let e = AS_FED_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            !e.actual.contains("idp-id-token"),
            "the token is never quoted: {e:?}"
        );
    }

    #[test]
    fn as_fed_08_is_an_error_when_the_idp_issued_nothing() {
        let mut o = compliant();
        testing::federation_mut(&mut o).idp_tokens.clear();
        assert_eq!(AS_FED_08.evaluate(&o).verdict, Verdict::Error);
    }
}
