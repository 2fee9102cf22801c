//! AS-PRX-*: the AS as an MCP **OAuth proxy** with one static client at the upstream IdP (issue 15; MCP Security
//! Best Practices §2.1.5, the confused deputy). The suite's IdP plays the third-party AS and logs what it saw, so
//! "the proxy went upstream before consent" is an observation, not a guess. Judged always on the bundled
//! reference, for an `--issuer` AS only with `--proxy` (SKIP naming the flag otherwise); a probe whose walk got no
//! answer, or that never reached what it needs (the consent page, the honest state), is ERROR.

use fake_idp::idp::IdpSeen;
use mcp_auth_reports::Level::Must;

use super::{last_exchange, meta, walk_failed, AuthzCheck};
use crate::authz::agent::consent::{ConsentPage, SetCookieSeen};
use crate::authz::agent::Authorized;
use crate::authz::obs::AuthzObservations;
use crate::authz::scenarios::{describe, ProxyObs, Unapproved};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::spec::TlsProfile;

/// The proxy checks, in report order.
pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_PRX_01_NEW_CLIENT),
        Box::new(AS_PRX_01_PER_CLIENT),
        Box::new(AS_PRX_02_FRAME),
        Box::new(AS_PRX_02_CSRF),
        Box::new(AS_PRX_02_NAMES),
        Box::new(AS_PRX_03),
        Box::new(AS_PRX_04),
        Box::new(AS_PRX_05_REPLAYED),
        Box::new(AS_PRX_05_BEFORE_CONSENT),
    ]
}

const CONSENT_REFS: &[&str] = &["MCP §11.7", "SBP §2.1.5", "SBP §2.1.5.2"];
const PAGE_REFS: &[&str] = &["SBP §2.1.5.2"];

fn proxy(o: &AuthzObservations) -> Result<&ProxyObs, Evaluation> {
    o.proxy
        .as_ref()
        .map_err(|e| e.to_evaluation("the proxy probes"))
}

/// A walk that must stop at the proxy's consent page: FAIL when the IdP saw an authorization request or a code
/// reached the client before any approval, PASS when the proxy's consent page was reached, ERROR otherwise.
fn consent_first(m: &CheckMeta, origin: &str, u: &Unapproved, what: &str) -> Evaluation {
    let expected = format!(
        "{what} → the proxy's own consent page, no request to the upstream IdP before approval"
    );
    let ev = u.authorized.exchanges.clone();
    if u.idp_hop() {
        return Evaluation::violated(
            m.level,
            expected,
            "the proxy sent the browser to the upstream IdP before its consent page was approved",
        )
        .with_evidence(ev);
    }
    if u.authorized.code().is_some() {
        return Evaluation::violated(
            m.level,
            expected,
            "a code reached the client without any approval",
        )
        .with_evidence(ev);
    }
    if let Some(e) = walk_failed(&u.authorized) {
        return e;
    }
    match u.consent_on(origin) {
        Some(page) => Evaluation::pass(
            expected,
            format!(
                "the consent page (HTTP {}), the IdP saw nothing",
                page.status
            ),
        )
        .with_evidence([page.exchange.clone()]),
        None => Evaluation::error(format!(
            "no consent page of the proxy was reached: {}",
            describe(&u.authorized.outcome)
        ))
        .with_evidence(last_exchange(&u.authorized)),
    }
}

/// AS-PRX-01.new-client.
const AS_PRX_01_NEW_CLIENT: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-01.new-client", "A proxy asks its own consent before forwarding a new client upstream", Must, CONSENT_REFS,
        "A freshly registered client's valid /authorize, walked by a fresh browser without approving anything → the proxy's consent page; the suite's IdP sees no authorization request and no code reaches the client."),
    eval: |m, o| {
        let p = match proxy(o) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let u = crate::need!(&p.new_client, "the new client's authorization");
        consent_first(m, &p.origin, u, "a new client's valid authorization request")
    },
};

/// AS-PRX-01.per-client.
const AS_PRX_01_PER_CLIENT: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-01.per-client", "A proxy's remembered consent is per client", Must, CONSENT_REFS,
        "The browser that approved and completed a login for client A authorizes a new client B → the consent page again, no upstream request before approval."),
    eval: |m, o| {
        let p = match proxy(o) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let u = crate::need!(&p.per_client, "the second client's authorization");
        consent_first(m, &p.origin, u, "another client, in the browser that approved client A")
    },
};

/// The consent page of the new-client probe, or why there is none to judge.
fn new_client_page(o: &AuthzObservations) -> Result<(&ProxyObs, &ConsentPage), Evaluation> {
    let p = proxy(o)?;
    let u = p
        .new_client
        .as_ref()
        .map_err(|e| e.to_evaluation("the new client's authorization"))?;
    if let Some(e) = walk_failed(&u.authorized) {
        return Err(e);
    }
    u.consent_on(&p.origin)
        .map(|page| (p, page))
        .ok_or_else(|| {
            Evaluation::error(format!(
                "no consent page of the proxy was reached: {}",
                describe(&u.authorized.outcome)
            ))
            .with_evidence(last_exchange(&u.authorized))
        })
}

/// AS-PRX-02.frame.
const AS_PRX_02_FRAME: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-02.frame", "The proxy's consent page forbids framing", Must, PAGE_REFS,
        "The consent page carries `X-Frame-Options: DENY` (or SAMEORIGIN) or CSP `frame-ancestors 'none'` (or 'self'): no other site can frame it to click-jack the approval."),
    eval: as_prx_02_frame,
};
fn as_prx_02_frame(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let page = match new_client_page(o) {
        Ok((_, page)) => page,
        Err(e) => return e,
    };
    let expected = "X-Frame-Options DENY/SAMEORIGIN or CSP frame-ancestors 'none'/'self'";
    let e = match frame_protection(page) {
        Some(how) => Evaluation::pass(expected, how),
        None => Evaluation::violated(
            m.level,
            expected,
            format!(
                "X-Frame-Options {:?}, frame-ancestors {:?}: another site can frame the consent page",
                page.x_frame_options, page.frame_ancestors
            ),
        ),
    };
    e.with_evidence([page.exchange.clone()])
}

/// What forbids framing the page, if anything. SAMEORIGIN and `'self'` count: they let only the proxy's own
/// pages frame it, and the click-jacking attacker is another site.
pub fn frame_protection(page: &ConsentPage) -> Option<String> {
    if let Some(fa) = &page.frame_ancestors {
        let sources: Vec<String> = fa.split_whitespace().map(str::to_ascii_lowercase).collect();
        if !sources.is_empty() && sources.iter().all(|s| s == "'none'" || s == "'self'") {
            return Some(format!("CSP frame-ancestors {fa}"));
        }
    }
    let xfo = page.x_frame_options.as_deref()?.trim().to_ascii_uppercase();
    (xfo == "DENY" || xfo == "SAMEORIGIN").then(|| format!("X-Frame-Options: {xfo}"))
}

/// AS-PRX-02.csrf.
const AS_PRX_02_CSRF: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-02.csrf", "The proxy's consent cannot be approved from another browser", Must, PAGE_REFS,
        "Browser X (the attacker) opens the consent page of a client; a fresh browser Y (the victim) submits X's approve form → no redirect to the upstream IdP, no code."),
    eval: as_prx_02_csrf,
};
fn as_prx_02_csrf(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let p = match proxy(o) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let c = crate::need!(&p.csrf, "the consent-forgery probe");
    if c.attacker.idp_hop() || c.attacker.authorized.code().is_some() {
        return Evaluation::error(
            "the attacker's browser never stopped at a consent page (the proxy went upstream at once; AS-PRX-01 judges that)",
        )
        .with_evidence(c.attacker.authorized.exchanges.clone());
    }
    let Some(victim) = &c.victim else {
        if let Some(e) = walk_failed(&c.attacker.authorized) {
            return e;
        }
        return Evaluation::error(format!(
            "the attacker's browser reached no consent form to forge: {}",
            describe(&c.attacker.authorized.outcome)
        ))
        .with_evidence(last_exchange(&c.attacker.authorized));
    };
    let expected =
        "another browser's approval of X's consent form → refused: no upstream request, no code";
    let ev = victim.authorized.exchanges.clone();
    if victim.idp_hop() {
        return Evaluation::violated(
            m.level,
            expected,
            "the proxy accepted the forged approval and sent the victim's browser to the upstream IdP",
        )
        .with_evidence(ev);
    }
    if victim.authorized.code().is_some() {
        return Evaluation::violated(m.level, expected, "the forged approval yielded a code")
            .with_evidence(ev);
    }
    if let Some(e) = walk_failed(&victim.authorized) {
        return e;
    }
    Evaluation::pass(expected, describe(&victim.authorized.outcome)).with_evidence(ev)
}

/// AS-PRX-02.names.
const AS_PRX_02_NAMES: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-02.names", "The proxy's consent page names the client, the redirect URI and the scopes", Must, PAGE_REFS,
        "The consent page's text contains the request's client_id, its redirect_uri (HTML-escaped or not) and each requested scope."),
    eval: as_prx_02_names,
};
fn as_prx_02_names(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let page = match new_client_page(o) {
        Ok((_, page)) => page,
        Err(e) => return e,
    };
    let expected = "the client id, the redirect URI and every requested scope on the page";
    let mut missing = Vec::new();
    if page.names_client_id == Some(false) {
        missing.push("the client id".to_owned());
    }
    if page.names_redirect_uri == Some(false) {
        missing.push("the redirect URI".to_owned());
    }
    for (scope, named) in &page.names_scopes {
        if !named {
            missing.push(format!("the scope {scope:?}"));
        }
    }
    let e = if page.names_client_id.is_none() || page.names_redirect_uri.is_none() {
        Evaluation::harness_error(
            "the authorization request had no client_id or redirect_uri to look for",
        )
    } else if missing.is_empty() {
        Evaluation::pass(expected, "all named")
    } else {
        Evaluation::violated(
            m.level,
            expected,
            format!("the page does not show {}", missing.join(", ")),
        )
    };
    e.with_evidence([page.exchange.clone()])
}

/// AS-PRX-03.
const AS_PRX_03: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-03", "The proxy's consent cookies are __Host-, Secure, HttpOnly, SameSite=Lax", Must, PAGE_REFS,
        "Under --tls-profile strict: every cookie set with the consent page and with the approval's answer is `__Host-` prefixed, `Secure`, `HttpOnly` and `SameSite=Lax` (Strict accepted)."),
    eval: as_prx_03,
};
fn as_prx_03(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    // The probes first: a dead target is ERROR and an undeclared proxy SKIPs naming --proxy, under any profile.
    let p = match proxy(o) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if o.tls != TlsProfile::Strict {
        return Evaluation::skip(
            "judged only under --tls-profile strict: over plain http a cookie cannot be __Host- or Secure",
        );
    }
    if let Some(e) = walk_failed(&p.first) {
        return e;
    }
    let (cookies, evidence) = consent_cookies(&p.first);
    if evidence.is_empty() {
        return Evaluation::error(
            "the honest login's consent page and its approval were not observed",
        )
        .with_evidence(last_exchange(&p.first));
    }
    if cookies.is_empty() {
        return Evaluation::skip(
            "no consent cookie set: the proxy set no cookie with its consent page or the approval",
        )
        .with_evidence(evidence);
    }
    let expected = "every cookie __Host- prefixed, Secure, HttpOnly, SameSite=Lax (or Strict)";
    let weak: Vec<String> = cookies
        .iter()
        .filter_map(|c| cookie_weakness(c).map(|w| format!("{} ({w})", c.name)))
        .collect();
    let e = if weak.is_empty() {
        Evaluation::pass(
            expected,
            format!(
                "{} cookie(s): {}",
                cookies.len(),
                cookies
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else {
        Evaluation::violated(m.level, expected, weak.join("; "))
    };
    e.with_evidence(evidence)
}

/// The cookies set with the consent pages of a walk and with their approvals; the exchanges that set them. A
/// deletion (empty value, `Max-Age=0`) sets nothing and is left out.
fn consent_cookies(a: &Authorized) -> (Vec<&SetCookieSeen>, Vec<String>) {
    let mut cookies = Vec::new();
    let mut evidence = Vec::new();
    let set = |c: &&SetCookieSeen| !(c.value_len == 0 && c.max_age.as_deref() == Some("0"));
    for page in &a.consent {
        cookies.extend(page.set_cookies.iter().filter(set));
        evidence.push(page.exchange.clone());
        if let Some(approval) = &page.approval {
            cookies.extend(approval.set_cookies.iter().filter(set));
            evidence.push(approval.exchange.clone());
        }
    }
    (cookies, evidence)
}

/// What a consent cookie lacks, if anything. `SameSite=Strict` is accepted: it withholds the cookie from more
/// cross-site requests than Lax; a proxy whose binding cookie must come back with the IdP's redirect would
/// break its own login with it, which the honest flow shows.
pub fn cookie_weakness(c: &SetCookieSeen) -> Option<String> {
    let mut lacks = Vec::new();
    if !c.host_prefixed() {
        lacks.push("no __Host- prefix");
    }
    if !c.secure {
        lacks.push("not Secure");
    }
    if !c.http_only {
        lacks.push("not HttpOnly");
    }
    let same_site = c.same_site.as_deref().map(str::to_ascii_lowercase);
    if !matches!(same_site.as_deref(), Some("lax") | Some("strict")) {
        lacks.push("SameSite not Lax or Strict");
    }
    (!lacks.is_empty()).then(|| lacks.join(", "))
}

/// AS-PRX-04.
const AS_PRX_04: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-04", "The proxy refuses a changed redirect URI before consent and upstream", Must, PAGE_REFS,
        "A registered client's valid /authorize with its redirect URI changed (same host, another path; another host) → no consent page offering it, no upstream request, no redirect to it."),
    eval: as_prx_04,
};
fn as_prx_04(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let p = match proxy(o) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let changes = crate::need!(&p.redirects, "the changed redirect URIs");
    if changes.is_empty() {
        return Evaluation::harness_error("the registered redirect URI could not be changed");
    }
    let expected = "a changed redirect URI → an error, no consent page, no upstream request, no redirect to it";
    let mut evidence = Vec::new();
    let mut actual = Vec::new();
    for c in changes {
        let a = &c.walk.authorized;
        evidence.extend(a.exchanges.iter().cloned());
        let went_there = super::redirected_to(a).is_some_and(|l| l.starts_with(&c.redirect_uri));
        let fault = if c.walk.idp_hop() {
            Some("the proxy sent the browser to the upstream IdP")
        } else if c.walk.consent_on(&p.origin).is_some() {
            Some("the proxy offered a consent page for it")
        } else if went_there {
            Some("the proxy redirected to it")
        } else {
            None
        };
        if let Some(f) = fault {
            return Evaluation::violated(m.level, expected, format!("{}: {f}", c.label))
                .with_evidence(a.exchanges.clone());
        }
        if let Some(e) = walk_failed(a) {
            return e;
        }
        actual.push(format!("{}: {}", c.label, describe(&a.outcome)));
    }
    Evaluation::pass(expected, actual.join("; ")).with_evidence(evidence)
}

/// AS-PRX-05.replayed.
const AS_PRX_05_REPLAYED: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-05.replayed", "The proxy's upstream state is single-use", Must, PAGE_REFS,
        "A completed login's IdP→proxy callback URL requested again by the same browser, the suite's IdP lenient (its code redeemable twice) → no second code reaches the client."),
    eval: as_prx_05_replayed,
};
fn as_prx_05_replayed(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let p = match proxy(o) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let r = crate::need!(&p.replayed, "the callback replay");
    if let Some(e) = walk_failed(&r.first) {
        return e;
    }
    if r.first.code().is_none() {
        return Evaluation::error(format!(
            "the login to replay yielded no code: {}",
            describe(&r.first.outcome)
        ))
        .with_evidence(last_exchange(&r.first));
    }
    let Some(replay) = r.replay.as_ref().filter(|_| r.callback_found) else {
        return Evaluation::error(
            "the IdP's redirect back to the proxy was not found in the login, so there was nothing to replay",
        )
        .with_evidence(last_exchange(&r.first));
    };
    let expected = "the replayed IdP callback → no second code";
    let e = if replay.code().is_some() {
        Evaluation::violated(
            m.level,
            expected,
            "the replayed callback yielded a second code",
        )
    } else if let Some(e) = walk_failed(replay) {
        return e;
    } else {
        Evaluation::pass(expected, describe(&replay.outcome))
    };
    e.with_evidence(replay.exchanges.clone())
}

/// AS-PRX-05.before-consent.
const AS_PRX_05_BEFORE_CONSENT: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-PRX-05.before-consent", "The proxy's upstream state is no use before consent", Must, PAGE_REFS,
        "The upstream state of an honest login must not be visible before the approval (query values, hidden fields). If it is: an attacker opens its client's consent page, a fresh victim browser brings that value to the IdP as state, logs in and follows the redirect back → no code reaches the attacker's client."),
    eval: as_prx_05_before_consent,
};
fn as_prx_05_before_consent(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let p = match proxy(o) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let b = crate::need!(&p.before_consent, "the pre-consent state probe");
    if let Some(e) = walk_failed(&b.honest.authorized) {
        return e;
    }
    let Some(approved) = &b.approved else {
        return Evaluation::error(format!(
            "the honest login reached no consent page: {}",
            describe(&b.honest.authorized.outcome)
        ))
        .with_evidence(last_exchange(&b.honest.authorized));
    };
    if !b.upstream_state_seen {
        if let Some(e) = walk_failed(approved) {
            return e;
        }
        return Evaluation::error(
            "the IdP saw no authorization request with a state after the approval (AS-FED-06 judges a missing state)",
        )
        .with_evidence(approved.exchanges.clone());
    }
    let expected =
        "the upstream state first appears at the approval, or is useless to another browser";
    let Some(place) = &b.exposed_as else {
        return Evaluation::pass(
            expected,
            "the upstream state was not visible before the approval",
        )
        .with_evidence(approved.exchanges.clone());
    };
    let Some(attack) = &b.attack else {
        return Evaluation::error(format!(
            "the upstream state was {place} before consent, but the attack could not run (the IdP's authorization endpoint was not seen)"
        ));
    };
    let Some(victim) = attack.victim.as_ref().filter(|_| attack.value_found) else {
        if let Some(e) = walk_failed(&attack.attacker.authorized) {
            return e;
        }
        return Evaluation::error(format!(
            "the upstream state was {place} before consent, but the attacker's walk showed no such value"
        ))
        .with_evidence(attack.attacker.authorized.exchanges.clone());
    };
    if !attack
        .seen
        .iter()
        .any(|s| matches!(s, IdpSeen::Redirected { .. }))
    {
        if let Some(e) = walk_failed(victim) {
            return e;
        }
        return Evaluation::error(
            "the victim's login at the IdP did not happen, so the IdP never redirected back to the proxy",
        )
        .with_evidence(victim.exchanges.clone());
    }
    let e = if victim.code().is_some() {
        Evaluation::violated(
            m.level,
            expected,
            format!("the state was {place} before consent; a victim browser bringing it to the IdP gave the attacker's client a code"),
        )
    } else if let Some(e) = walk_failed(victim) {
        return e;
    } else {
        Evaluation::pass(
            expected,
            format!(
                "the state was {place} before consent, but the proxy refused the victim's callback: {}",
                describe(&victim.outcome)
            ),
        )
    };
    e.with_evidence(victim.exchanges.clone())
}

#[cfg(test)]
mod tests {
    use fake_idp::idp::IdpSeen;
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::authz::agent::consent::SetCookieSeen;
    use crate::authz::scenarios::{CsrfProbe, StateAttack};
    use crate::authz::testing::{
        self, at_consent, code_callback, compliant, page, proxy_mut, unanswered_walk, unapproved,
    };
    use crate::check::{Check, ObsError};

    fn idp_authorize() -> IdpSeen {
        IdpSeen::Authorize {
            client_id: "upstream".into(),
            nonce: None,
            state_sent: true,
            pkce: true,
            state: Some("s".into()),
            redirect_uri: Some("http://127.0.0.1:8400/idp/callback".into()),
        }
    }

    fn verdict(check: &dyn Check<AuthzObservations>, o: &AuthzObservations) -> Verdict {
        check.evaluate(o).verdict
    }

    #[test]
    fn every_proxy_check_passes_on_the_compliant_record_under_strict_tls() {
        let mut o = compliant();
        o.tls = TlsProfile::Strict;
        for check in checks() {
            let e = check.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Pass, "{}: {e:?}", check.meta().id);
        }
    }

    #[test]
    fn without_the_proxy_declaration_every_proxy_check_skips_naming_the_flag() {
        let mut o = compliant();
        o.tls = TlsProfile::Strict;
        o.proxy = Err(ObsError::NotApplicable(
            "the AS is not declared an OAuth proxy: run with --proxy".into(),
        ));
        for check in checks() {
            let e = check.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Skip, "{}", check.meta().id);
            assert!(e.message.contains("--proxy"), "{e:?}");
        }
    }

    #[test]
    fn a_dead_target_makes_every_proxy_check_an_error() {
        let mut o = compliant();
        o.tls = TlsProfile::Strict;
        o.proxy = Err(ObsError::target("no answer from the issuer", []));
        for check in checks() {
            assert_eq!(
                verdict(check.as_ref(), &o),
                Verdict::Error,
                "{}",
                check.meta().id
            );
        }
    }

    #[test]
    fn an_upstream_request_before_approval_fails_the_new_client_check() {
        let mut o = compliant();
        proxy_mut(&mut o).new_client = Ok(Unapproved {
            authorized: code_callback("new#3", "c"),
            seen: vec![idp_authorize()],
        });
        assert_eq!(verdict(&AS_PRX_01_NEW_CLIENT, &o), Verdict::Fail);
        assert_eq!(verdict(&AS_PRX_01_PER_CLIENT, &o), Verdict::Pass);
    }

    #[test]
    fn a_code_without_any_approval_fails_even_when_the_idp_saw_nothing() {
        let mut o = compliant();
        proxy_mut(&mut o).new_client = Ok(Unapproved {
            authorized: code_callback("new#1", "c"),
            seen: Vec::new(),
        });
        assert_eq!(verdict(&AS_PRX_01_NEW_CLIENT, &o), Verdict::Fail);
    }

    #[test]
    fn a_walk_that_reached_neither_consent_nor_idp_is_an_error_not_a_pass() {
        let mut o = compliant();
        proxy_mut(&mut o).new_client = Ok(Unapproved {
            authorized: page("new#1", 400),
            seen: Vec::new(),
        });
        assert_eq!(verdict(&AS_PRX_01_NEW_CLIENT, &o), Verdict::Error);
        assert_eq!(verdict(&AS_PRX_02_FRAME, &o), Verdict::Error);
        assert_eq!(verdict(&AS_PRX_02_NAMES, &o), Verdict::Error);
    }

    #[test]
    fn a_dead_proxy_during_the_walk_is_an_error() {
        let mut o = compliant();
        proxy_mut(&mut o).per_client = Ok(Unapproved {
            authorized: unanswered_walk("per#1"),
            seen: Vec::new(),
        });
        assert_eq!(verdict(&AS_PRX_01_PER_CLIENT, &o), Verdict::Error);
    }

    #[test]
    fn a_consent_page_on_another_origin_does_not_count() {
        let mut o = compliant();
        let mut a = at_consent("new#1");
        a.consent[0].url = "http://elsewhere.example/consent".into();
        proxy_mut(&mut o).new_client = Ok(Unapproved {
            authorized: a,
            seen: Vec::new(),
        });
        assert_eq!(verdict(&AS_PRX_01_NEW_CLIENT, &o), Verdict::Error);
    }

    #[test]
    fn a_remembered_consent_that_skips_another_client_fails_per_client() {
        let mut o = compliant();
        proxy_mut(&mut o).per_client = Ok(Unapproved {
            authorized: page("per#2", 200),
            seen: vec![idp_authorize()],
        });
        assert_eq!(verdict(&AS_PRX_01_PER_CLIENT, &o), Verdict::Fail);
    }

    #[test]
    fn framing_is_forbidden_by_deny_sameorigin_none_or_self_and_nothing_else() {
        let mut p = testing::consent_page("p#1");
        assert!(frame_protection(&p).is_some());
        p.frame_ancestors = None;
        p.x_frame_options = Some("sameorigin".into());
        assert!(frame_protection(&p).is_some());
        p.x_frame_options = Some("ALLOW-FROM https://evil.example".into());
        assert!(frame_protection(&p).is_none());
        p.x_frame_options = None;
        p.frame_ancestors = Some("'self'".into());
        assert!(frame_protection(&p).is_some());
        p.frame_ancestors = Some("'self' https://evil.example".into());
        assert!(frame_protection(&p).is_none());
        p.frame_ancestors = Some("*".into());
        assert!(frame_protection(&p).is_none());
    }

    #[test]
    fn a_frameable_consent_page_fails_the_frame_check_only() {
        let mut o = compliant();
        let mut a = at_consent("new#1");
        a.consent[0].x_frame_options = None;
        a.consent[0].frame_ancestors = None;
        proxy_mut(&mut o).new_client = Ok(Unapproved {
            authorized: a,
            seen: Vec::new(),
        });
        assert_eq!(verdict(&AS_PRX_02_FRAME, &o), Verdict::Fail);
        assert_eq!(verdict(&AS_PRX_02_NAMES, &o), Verdict::Pass);
        assert_eq!(verdict(&AS_PRX_01_NEW_CLIENT, &o), Verdict::Pass);
    }

    #[test]
    fn a_forged_approval_that_goes_upstream_fails_the_csrf_check() {
        let mut o = compliant();
        proxy_mut(&mut o).csrf = Ok(CsrfProbe {
            attacker: unapproved("x#1"),
            victim: Some(Unapproved {
                authorized: code_callback("y#4", "c"),
                seen: vec![idp_authorize()],
            }),
        });
        assert_eq!(verdict(&AS_PRX_02_CSRF, &o), Verdict::Fail);
    }

    #[test]
    fn a_csrf_probe_without_the_attackers_form_or_with_a_dead_victim_walk_is_an_error() {
        let mut o = compliant();
        proxy_mut(&mut o).csrf = Ok(CsrfProbe {
            attacker: Unapproved {
                authorized: page("x#1", 400),
                seen: Vec::new(),
            },
            victim: None,
        });
        assert_eq!(verdict(&AS_PRX_02_CSRF, &o), Verdict::Error);
        proxy_mut(&mut o).csrf = Ok(CsrfProbe {
            attacker: unapproved("x#1"),
            victim: Some(Unapproved {
                authorized: unanswered_walk("y#1"),
                seen: Vec::new(),
            }),
        });
        assert_eq!(verdict(&AS_PRX_02_CSRF, &o), Verdict::Error);
    }

    #[test]
    fn a_page_without_the_redirect_uri_or_a_scope_fails_the_names_check() {
        let mut o = compliant();
        let mut a = at_consent("new#1");
        a.consent[0].names_redirect_uri = Some(false);
        proxy_mut(&mut o).new_client = Ok(Unapproved {
            authorized: a.clone(),
            seen: Vec::new(),
        });
        let e = AS_PRX_02_NAMES.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("redirect URI"), "{e:?}");
        a.consent[0].names_redirect_uri = Some(true);
        a.consent[0].names_scopes = vec![("todo:write".into(), false)];
        proxy_mut(&mut o).new_client = Ok(Unapproved {
            authorized: a,
            seen: Vec::new(),
        });
        assert_eq!(verdict(&AS_PRX_02_NAMES, &o), Verdict::Fail);
    }

    /// The `Set-Cookie` lines of the honest login's consent approval.
    fn approval_cookies(o: &mut AuthzObservations) -> &mut Vec<SetCookieSeen> {
        let approval = proxy_mut(o).first.consent[0].approval.as_mut();
        &mut approval
            .expect("the record approves its consent")
            .set_cookies
    }

    #[test]
    fn consent_cookies_are_judged_only_under_strict_tls() {
        let o = compliant();
        let e = AS_PRX_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("--tls-profile strict"), "{e:?}");
    }

    #[test]
    fn a_weak_consent_cookie_fails_and_strict_samesite_is_accepted() {
        let weak =
            SetCookieSeen::parse("fake_idp_consent=v; Path=/; Secure; SameSite=Lax").unwrap();
        let w = cookie_weakness(&weak).unwrap();
        assert!(w.contains("__Host-") && w.contains("HttpOnly"), "{w}");
        let strict =
            SetCookieSeen::parse("__Host-c=v; Path=/; Secure; HttpOnly; SameSite=Strict").unwrap();
        assert_eq!(cookie_weakness(&strict), None);
        let none =
            SetCookieSeen::parse("__Host-c=v; Path=/; Secure; HttpOnly; SameSite=None").unwrap();
        assert!(cookie_weakness(&none).is_some());
        let mut o = compliant();
        o.tls = TlsProfile::Strict;
        approval_cookies(&mut o).push(weak);
        assert_eq!(verdict(&AS_PRX_03, &o), Verdict::Fail);
    }

    #[test]
    fn a_cookie_deletion_is_not_judged_as_a_cookie() {
        let mut o = compliant();
        o.tls = TlsProfile::Strict;
        let deletion = SetCookieSeen::parse("state=; Max-Age=0; Path=/").unwrap();
        approval_cookies(&mut o).push(deletion);
        assert_eq!(verdict(&AS_PRX_03, &o), Verdict::Pass);
    }

    #[test]
    fn no_cookie_at_all_skips_and_an_unobserved_consent_is_an_error() {
        let mut o = compliant();
        o.tls = TlsProfile::Strict;
        proxy_mut(&mut o).first.consent[0].set_cookies.clear();
        approval_cookies(&mut o).clear();
        let e = AS_PRX_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Skip);
        assert!(e.message.contains("no consent cookie"), "{e:?}");
        proxy_mut(&mut o).first.consent.clear();
        assert_eq!(verdict(&AS_PRX_03, &o), Verdict::Error);
    }

    #[test]
    fn a_changed_redirect_uri_offered_consent_upstream_or_a_redirect_fails() {
        for walk in [
            unapproved("path#1"),
            Unapproved {
                authorized: page("path#1", 200),
                seen: vec![idp_authorize()],
            },
            Unapproved {
                authorized: testing::error_callback("path#1", "access_denied"),
                seen: Vec::new(),
            },
        ] {
            let mut o = compliant();
            let changes = proxy_mut(&mut o).redirects.as_mut().unwrap();
            changes[0].redirect_uri = testing::REDIRECT_URI.into();
            changes[0].walk = walk;
            assert_eq!(verdict(&AS_PRX_04, &o), Verdict::Fail);
        }
    }

    #[test]
    fn a_changed_redirect_probe_without_an_answer_is_an_error() {
        let mut o = compliant();
        proxy_mut(&mut o).redirects.as_mut().unwrap()[1].walk = Unapproved {
            authorized: unanswered_walk("host#1"),
            seen: Vec::new(),
        };
        assert_eq!(verdict(&AS_PRX_04, &o), Verdict::Error);
    }

    #[test]
    fn a_second_code_from_a_replayed_callback_fails_and_no_replay_is_an_error() {
        let mut o = compliant();
        let r = proxy_mut(&mut o).replayed.as_mut().unwrap();
        r.replay = Some(code_callback("replay#6", "c2"));
        assert_eq!(verdict(&AS_PRX_05_REPLAYED, &o), Verdict::Fail);
        let r = proxy_mut(&mut o).replayed.as_mut().unwrap();
        r.callback_found = false;
        assert_eq!(verdict(&AS_PRX_05_REPLAYED, &o), Verdict::Error);
        let r = proxy_mut(&mut o).replayed.as_mut().unwrap();
        r.callback_found = true;
        r.first = page("replay#1", 400);
        assert_eq!(verdict(&AS_PRX_05_REPLAYED, &o), Verdict::Error);
    }

    fn exposed(victim: Authorized) -> BeforeConsentAttack {
        BeforeConsentAttack(StateAttack {
            attacker: unapproved("x#1"),
            value_found: true,
            victim: Some(victim),
            seen: vec![
                idp_authorize(),
                IdpSeen::Redirected {
                    answer: fake_idp::idp::IdpAnswer::Honest,
                },
            ],
        })
    }

    struct BeforeConsentAttack(StateAttack);

    fn with_attack(attack: BeforeConsentAttack) -> AuthzObservations {
        let mut o = compliant();
        let b = proxy_mut(&mut o).before_consent.as_mut().unwrap();
        b.exposed_as = Some("the consent form's hidden field \"txn_id\"".into());
        b.attack = Some(attack.0);
        o
    }

    #[test]
    fn a_state_visible_before_consent_passes_only_if_the_victims_callback_is_refused() {
        let refused = with_attack(exposed(page("y#3", 403)));
        assert_eq!(verdict(&AS_PRX_05_BEFORE_CONSENT, &refused), Verdict::Pass);
        let let_through = with_attack(exposed(code_callback("y#3", "c")));
        assert_eq!(
            verdict(&AS_PRX_05_BEFORE_CONSENT, &let_through),
            Verdict::Fail
        );
    }

    #[test]
    fn a_state_attack_that_could_not_be_run_is_an_error() {
        let mut attack = exposed(page("y#3", 403));
        attack.0.value_found = false;
        assert_eq!(
            verdict(&AS_PRX_05_BEFORE_CONSENT, &with_attack(attack)),
            Verdict::Error
        );
        let mut attack = exposed(page("y#3", 403));
        attack.0.seen.clear();
        assert_eq!(
            verdict(&AS_PRX_05_BEFORE_CONSENT, &with_attack(attack)),
            Verdict::Error
        );
        let mut o = compliant();
        proxy_mut(&mut o)
            .before_consent
            .as_mut()
            .unwrap()
            .upstream_state_seen = false;
        assert_eq!(verdict(&AS_PRX_05_BEFORE_CONSENT, &o), Verdict::Error);
        let mut o = compliant();
        proxy_mut(&mut o).before_consent.as_mut().unwrap().approved = None;
        assert_eq!(verdict(&AS_PRX_05_BEFORE_CONSENT, &o), Verdict::Error);
    }
}
