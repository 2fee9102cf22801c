//! Client ID Metadata Documents and dynamic registration: AS-CIMD-*, AS-DCR-*.

use mcp_auth_reports::Level::{Must, Should};

use super::{
    code_of, happy_precondition, last_exchange, meta, redirected_to, walk_failed, AuthzCheck,
};
use crate::authz::obs::{AuthzObservations, CimdAttempt, CimdCase, CimdObs};
use crate::authz::scenarios::{describe, HTTP_REDIRECT};
use crate::check::{Check, CheckMeta, Evaluation, FnCheck};

const ID_REFS: &[&str] = &["MCP §5.1.1", "CIMD §4.1"];
const DOC_REFS: &[&str] = &["MCP §5.1.1"];

pub fn checks() -> Vec<Box<AuthzCheck>> {
    vec![
        Box::new(AS_CIMD_01),
        Box::new(AS_CIMD_02_TRAILING_SLASH),
        Box::new(AS_CIMD_02_OTHER_PATH),
        Box::new(AS_CIMD_02_UPPERCASE_HOST),
        Box::new(AS_CIMD_02_OTHER_HOST),
        Box::new(AS_CIMD_03),
        Box::new(AS_CIMD_04_INVALID_JSON),
        Box::new(AS_CIMD_04_TOP_LEVEL_ARRAY),
        Box::new(AS_CIMD_04_MISSING_REDIRECT_URIS),
        Box::new(AS_CIMD_04_MISSING_CLIENT_ID),
        Box::new(AS_CIMD_05),
        Box::new(AS_CIMD_06),
        Box::new(AS_CIMD_07),
        Box::new(AS_CIMD_08),
        Box::new(AS_CIMD_09),
        Box::new(AS_CIMD_10),
        Box::new(AS_CIMD_11),
        Box::new(AS_CIMD_12),
        Box::new(AS_CIMD_17),
        Box::new(AS_DCR_01),
        Box::new(AS_DCR_02),
    ]
}

/// AS-CIMD-01: an honest document is fetched and honoured.
const AS_CIMD_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-CIMD-01",
        "A URL client_id's document is fetched and honoured",
        Should,
        &["MCP §5.1.1", "CIMD §4"],
        "The suite hosts an honest document → the AS fetches it and issues a code.",
    ),
    eval: as_cimd_01,
};
fn as_cimd_01(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let c = crate::need!(&o.cimd, "the CIMD probes");
    let a = attempt(c, CimdCase::Honest);
    if let Some(e) = walk_failed(&a.authorized) {
        return e;
    }
    let expected = "the document fetched, then a code";
    let e = match (a.hits, code_of(&a.authorized)) {
        (h, Some(_)) if h > 0 => Evaluation::pass(expected, format!("{h} fetch(es), code issued")),
        (h, _) => Evaluation::violated(
            m.level,
            expected,
            format!("{h} fetch(es); {}", describe(&a.authorized.outcome)),
        ),
    };
    e.with_evidence(last_exchange(&a.authorized))
}

/// A hostile or broken document (AS-CIMD-02/03/04/07): no code, after an honest document got one.
struct CimdRefused {
    meta: CheckMeta,
    case: CimdCase,
}

/// AS-CIMD-02.trailing-slash.
const AS_CIMD_02_TRAILING_SLASH: CimdRefused = CimdRefused {
    meta: meta(
        "AS-CIMD-02.trailing-slash",
        "A document whose client_id adds a trailing slash is refused",
        Must,
        ID_REFS,
        "The document at U declares client_id U + \"/\" → no code.",
    ),
    case: CimdCase::IdTrailingSlash,
};

/// AS-CIMD-02.other-path.
const AS_CIMD_02_OTHER_PATH: CimdRefused = CimdRefused {
    meta: meta(
        "AS-CIMD-02.other-path",
        "A document naming another path is refused",
        Must,
        ID_REFS,
        "The document at U declares a client_id with another path → no code.",
    ),
    case: CimdCase::IdOtherPath,
};

/// AS-CIMD-02.uppercase-host.
const AS_CIMD_02_UPPERCASE_HOST: CimdRefused = CimdRefused {
    meta: meta("AS-CIMD-02.uppercase-host", "A document naming the host in uppercase is refused", Must, ID_REFS,
        "The document at U declares client_id with an uppercase host → no code (simple string comparison)."),
    case: CimdCase::IdUppercaseHost,
};

/// AS-CIMD-02.other-host.
const AS_CIMD_02_OTHER_HOST: CimdRefused = CimdRefused {
    meta: meta(
        "AS-CIMD-02.other-host",
        "A document naming another host is refused",
        Must,
        ID_REFS,
        "The document at U declares a client_id on another host → no code.",
    ),
    case: CimdCase::IdOtherHost,
};

/// AS-CIMD-03.
const AS_CIMD_03: CimdRefused = CimdRefused {
    meta: meta("AS-CIMD-03", "A redirect_uri the document does not list is refused", Must, &["MCP §5.1.1", "CIMD §4.5"],
        "An honest document; the request uses a redirect_uri not in its redirect_uris → no redirect to it, no code."),
    case: CimdCase::UnlistedRedirect,
};

/// AS-CIMD-17.
const AS_CIMD_17: CimdRefused = CimdRefused {
    meta: meta("AS-CIMD-17", "A document's http redirect URI off loopback is refused", Must, &["MCP §11.3", "OAuth 2.1 §2.3.1"],
        "The document lists only http://client.conformance.test/cb (neither https nor loopback) and the request uses it → no redirect to it, no code."),
    case: CimdCase::HttpRedirect,
};

/// AS-CIMD-04.invalid-json.
const AS_CIMD_04_INVALID_JSON: CimdRefused = CimdRefused {
    meta: meta(
        "AS-CIMD-04.invalid-json",
        "A document that is not JSON is refused",
        Must,
        DOC_REFS,
        "The document body is truncated JSON → no code.",
    ),
    case: CimdCase::InvalidJson,
};

/// AS-CIMD-04.top-level-array.
const AS_CIMD_04_TOP_LEVEL_ARRAY: CimdRefused = CimdRefused {
    meta: meta(
        "AS-CIMD-04.top-level-array",
        "A document that is a JSON array is refused",
        Must,
        DOC_REFS,
        "The document is a JSON array → no code.",
    ),
    case: CimdCase::TopLevelArray,
};

/// AS-CIMD-04.missing-redirect-uris.
const AS_CIMD_04_MISSING_REDIRECT_URIS: CimdRefused = CimdRefused {
    meta: meta(
        "AS-CIMD-04.missing-redirect-uris",
        "A document without redirect_uris is refused",
        Must,
        DOC_REFS,
        "The document lacks redirect_uris → no code.",
    ),
    case: CimdCase::MissingRedirectUris,
};

/// AS-CIMD-04.missing-client-id.
const AS_CIMD_04_MISSING_CLIENT_ID: CimdRefused = CimdRefused {
    meta: meta(
        "AS-CIMD-04.missing-client-id",
        "A document without client_id is refused",
        Must,
        DOC_REFS,
        "The document lacks client_id → no code.",
    ),
    case: CimdCase::MissingClientId,
};

impl Check<AuthzObservations> for CimdRefused {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &AuthzObservations) -> Evaluation {
        refused_case(&self.meta, o, self.case)
    }
}

/// AS-CIMD-05: documents are cached per their cache headers.
const AS_CIMD_05: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-CIMD-05",
        "Documents are cached per their cache headers",
        Should,
        &["MCP §5.1.1", "CIMD §4.4"],
        "A document served with Cache-Control: max-age=600, used in two flows → fetched once.",
    ),
    eval: as_cimd_05,
};
fn as_cimd_05(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let c = crate::need!(&o.cimd, "the CIMD probes");
    let Some((hits, ev)) = &c.cache_fetches else {
        return Evaluation::harness_error("the caching probe did not run");
    };
    let expected = "one fetch for two flows within max-age";
    let e = match hits {
        1 => Evaluation::pass(expected, "fetched once"),
        0 => Evaluation::error("the document was never fetched"),
        n => Evaluation::violated(m.level, expected, format!("fetched {n} times")),
    };
    e.with_evidence(ev.clone())
}

/// AS-CIMD-06: failed fetches are not cached.
const AS_CIMD_06: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-CIMD-06", "Failed fetches and invalid documents are not cached", Must, &["CIMD §4.4"],
        "First fetch answers 500 (the flow fails); the next flow's fetch gets a valid document → the AS re-fetches and issues a code."),
    eval: as_cimd_06,
};
fn as_cimd_06(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let c = crate::need!(&o.cimd, "the CIMD probes");
    let Some((first, second)) = &c.error_then_valid else {
        return Evaluation::harness_error("the error-caching probe did not run");
    };
    if let Some(e) = walk_failed(&first.authorized).or_else(|| walk_failed(&second.authorized)) {
        return e;
    }
    let expected = "the second flow re-fetches and gets a code";
    let e = match (code_of(&second.authorized), second.hits) {
        (Some(_), h) if h >= 2 => {
            Evaluation::pass(expected, format!("re-fetched ({h} fetches), code issued"))
        }
        (_, h) if first.hits == 0 => {
            Evaluation::error(format!("the document was never fetched ({h})"))
        }
        (_, h) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "{h} fetch(es) in total; second flow: {}",
                describe(&second.authorized.outcome)
            ),
        ),
    };
    e.with_evidence(last_exchange(&second.authorized))
}

/// AS-CIMD-07.
const AS_CIMD_07: CimdRefused = CimdRefused {
    meta: meta(
        "AS-CIMD-07",
        "A failed fetch aborts the authorization",
        Should,
        &["CIMD §4.3"],
        "The document URL answers 404 → an error, no code.",
    ),
    case: CimdCase::FetchFails,
};

/// AS-CIMD-08: loopback client_id URLs are not fetched (SSRF).
const AS_CIMD_08: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-CIMD-08", "Loopback client_id URLs are not fetched (SSRF)", Should, &["MCP §11.6.1", "CIMD §6.5"],
        "client_id https://127.0.0.1:<p>/… and https://localhost:<p>/…, served by a probe listener → the listener sees no request and no code."),
    eval: |m, o| {
        let c = crate::need!(&o.cimd, "the CIMD probes");
        probes(m, o, &c.ssrf, "the probe listener saw no request, no code")
    },
};

/// AS-CIMD-09: a non-https client_id is never treated as CIMD.
const AS_CIMD_09: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-CIMD-09",
        "A non-https client_id is never treated as CIMD",
        Must,
        &["CIMD §3", "CIMD §6.5"],
        "client_id http://…, file:///etc/passwd, data:… → refused without a fetch.",
    ),
    eval: |m, o| {
        let c = crate::need!(&o.cimd, "the CIMD probes");
        probes(m, o, &c.schemes, "refused without a fetch")
    },
};

/// AS-CIMD-10: client_id URLs that break CIMD §3 are refused.
const AS_CIMD_10: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-CIMD-10",
        "client_id URLs that break CIMD §3 are refused",
        Must,
        &["CIMD §3"],
        "A fragment, userinfo, dot segments, no path → refused without a fetch.",
    ),
    eval: |m, o| {
        let c = crate::need!(&o.cimd, "the CIMD probes");
        probes(m, o, &c.malformed, "refused without a fetch")
    },
};

/// AS-CIMD-11: oversized documents are refused and the AS stays responsive.
const AS_CIMD_11: FnCheck<AuthzObservations> = FnCheck {
    meta: meta(
        "AS-CIMD-11",
        "Oversized documents are refused and the AS stays responsive",
        Should,
        &["CIMD §6.6"],
        "A 1 MiB document → no code, and the metadata endpoint still answers afterwards.",
    ),
    eval: as_cimd_11,
};
fn as_cimd_11(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let c = crate::need!(&o.cimd, "the CIMD probes");
    let a = attempt(c, CimdCase::Oversized);
    if let Some(e) = happy_precondition(o).or_else(|| walk_failed(&a.authorized)) {
        return e;
    }
    let expected = "no code for a 1 MiB document; the AS still answers";
    let mut ev = last_exchange(&a.authorized);
    let e = match (&c.responsive_after_oversized, code_of(&a.authorized)) {
        (_, Some(_)) => Evaluation::violated(
            m.level,
            expected,
            "a code was issued for the 1 MiB document",
        ),
        (Some((200, x)), None) => {
            ev.push(x.clone());
            Evaluation::pass(
                expected,
                format!("{}; metadata still 200", describe(&a.authorized.outcome)),
            )
        }
        (other, None) => Evaluation::violated(
            m.level,
            expected,
            format!("the AS did not answer normally afterwards: {other:?}"),
        ),
    };
    e.with_evidence(ev)
}

/// AS-CIMD-12: a document's shared secret is never honoured.
const AS_CIMD_12: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-CIMD-12", "A document's shared secret is never honoured", Must, &["CIMD §4.1"],
        "A document declaring client_secret_basic and a client_secret → refused, or treated as public: a token request authenticated with that secret must not succeed."),
    eval: as_cimd_12,
};
fn as_cimd_12(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let c = crate::need!(&o.cimd, "the CIMD probes");
    let a = attempt(c, CimdCase::SharedSecret);
    if let Some(e) = happy_precondition(o).or_else(|| walk_failed(&a.authorized)) {
        return e;
    }
    if let Some(e) = a
        .token
        .as_ref()
        .and_then(|t| t.unanswered("the token request with the document's secret"))
    {
        return e;
    }
    let expected = "no secret-authenticated client from a document";
    let e = match (&a.token, code_of(&a.authorized)) {
        (_, None) => Evaluation::pass(
            expected,
            format!("refused: {}", describe(&a.authorized.outcome)),
        ),
        (Some(t), Some(_)) if t.ok() => Evaluation::violated(
            m.level,
            expected,
            "the document's secret authenticated a token request",
        )
        .with_evidence([t.exchange.clone()]),
        (Some(t), Some(_)) => Evaluation::pass(
            expected,
            format!("code issued, but the secret was refused: {}", t.describe()),
        )
        .with_evidence([t.exchange.clone()]),
        (None, Some(_)) => {
            Evaluation::harness_error("no token request was made with the document's secret")
        }
    };
    e.with_evidence(last_exchange(&a.authorized))
}

/// AS-DCR-01: dynamic registration answers 201 with a client_id.
const AS_DCR_01: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-DCR-01", "Dynamic registration answers 201 with a client_id", Must, &["MCP §5.3", "RFC 7591 §3.1", "RFC 7591 §3.2.1"],
        "When registration_endpoint is advertised: a public-client registration → 201 with client_id."),
    eval: as_dcr_01,
};
fn as_dcr_01(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let d = crate::need!(&o.dcr, "the DCR probes");
    let (status, body, ex) = &d.public;
    let status = match status {
        Ok(s) => s,
        Err(f) => {
            return f
                .unanswered("the registration request")
                .with_evidence([ex.clone()])
        }
    };
    let expected = "201 with client_id";
    let id = body
        .as_ref()
        .and_then(|b| b.get("client_id"))
        .and_then(|v| v.as_str());
    let e = match (status, id) {
        (201, Some(id)) => Evaluation::pass(expected, format!("201, client_id {id}")),
        _ => Evaluation::violated(
            m.level,
            expected,
            format!("HTTP {status}, client_id {id:?}"),
        ),
    };
    e.with_evidence([ex.clone()])
}

/// AS-DCR-02: dynamic registration refuses unsafe redirect URIs.
const AS_DCR_02: FnCheck<AuthzObservations> = FnCheck {
    meta: meta("AS-DCR-02", "Dynamic registration refuses unsafe redirect URIs", Must, &["RFC 7591 §3.2.2", "MCP §11.3"],
        "Registering javascript:… or http://evil.example/cb → 400 invalid_redirect_uri (or invalid_client_metadata)."),
    eval: as_dcr_02,
};
fn as_dcr_02(m: &CheckMeta, o: &AuthzObservations) -> Evaluation {
    let d = crate::need!(&o.dcr, "the DCR probes");
    if let Some((u, Err(f), _, x)) = d.bad.iter().find(|(_, s, _, _)| s.is_err()) {
        return f
            .unanswered(&format!("the registration of {u}"))
            .with_evidence([x.clone()]);
    }
    let expected = "400 for each unsafe redirect URI";
    let bad: Vec<String> = d
        .bad
        .iter()
        .filter_map(|(u, s, _, _)| match s {
            Ok(400) | Err(_) => None,
            Ok(s) => Some(format!("{u} → HTTP {s}")),
        })
        .collect();
    let ev = d.bad.iter().map(|(_, _, _, x)| x.clone());
    let e = if bad.is_empty() {
        Evaluation::pass(expected, "both refused with 400")
    } else {
        Evaluation::violated(m.level, expected, bad.join("; "))
    };
    e.with_evidence(ev)
}

fn attempt(c: &CimdObs, case: CimdCase) -> &CimdAttempt {
    c.cases.get(&case).expect("every CIMD case is attempted")
}

fn refused_case(m: &CheckMeta, o: &AuthzObservations, case: CimdCase) -> Evaluation {
    let c = crate::need!(&o.cimd, "the CIMD probes");
    if let Some(e) = happy_precondition(o) {
        return e;
    }
    let honest = attempt(c, CimdCase::Honest);
    if code_of(&honest.authorized).is_none() {
        return Evaluation::error(
            "an honest CIMD client gets no code, so a refusal proves nothing (see AS-CIMD-01)",
        )
        .with_evidence(last_exchange(&honest.authorized))
        .after(&["AS-CIMD-01"]);
    }
    let a = attempt(c, case);
    if let Some(e) = walk_failed(&a.authorized) {
        return e;
    }
    let expected = "no code (an error page or an error redirect to the valid URI)";
    let e = match (code_of(&a.authorized), redirected_to(&a.authorized)) {
        (Some(_), _) => Evaluation::violated(
            m.level,
            expected,
            format!("a code was issued ({} fetch(es))", a.hits),
        ),
        (None, Some(loc)) if case == CimdCase::UnlistedRedirect && loc.contains("/unlisted") => {
            Evaluation::violated(
                m.level,
                expected,
                format!("redirected to the unlisted {loc}"),
            )
        }
        (None, Some(loc)) if case == CimdCase::HttpRedirect && loc.starts_with(HTTP_REDIRECT) => {
            Evaluation::violated(
                m.level,
                expected,
                format!("redirected to the http redirect URI {loc}"),
            )
        }
        (None, _) => Evaluation::pass(
            expected,
            format!("{} ({} fetch(es))", describe(&a.authorized.outcome), a.hits),
        ),
    };
    e.with_evidence(last_exchange(&a.authorized))
}

fn probes(
    m: &CheckMeta,
    o: &AuthzObservations,
    list: &[(String, crate::authz::agent::Authorized, usize)],
    expected: &str,
) -> Evaluation {
    if let Some(e) = happy_precondition(o) {
        return e;
    }
    let mut bad = Vec::new();
    let mut ev = Vec::new();
    for (id, a, hits) in list {
        if let Some(e) = walk_failed(a) {
            let message = format!("{id}: {}", e.message);
            return e.with_message(message);
        }
        ev.extend(last_exchange(a));
        if *hits > 0 {
            bad.push(format!("{id}: fetched {hits} time(s)"));
        } else if code_of(a).is_some() {
            bad.push(format!("{id}: a code was issued"));
        }
    }
    let e = if bad.is_empty() {
        Evaluation::pass(
            expected,
            format!("{} client ids refused without a fetch", list.len()),
        )
    } else {
        Evaluation::violated(m.level, expected, bad.join("; "))
    };
    e.with_evidence(ev)
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::authz::agent::Authorized;
    use crate::authz::oauth::TokenResult;
    use crate::authz::testing::{
        self, cimd_attempt, cimd_mut, code_callback, compliant, elsewhere, no_answer, page,
        refusal, tokens, unanswered_token, unanswered_walk,
    };

    fn set_case(o: &mut AuthzObservations, case: CimdCase, authorized: Authorized, hits: usize) {
        cimd_mut(o)
            .cases
            .insert(case, cimd_attempt(authorized, hits));
    }

    #[rstest]
    #[case::as_cimd_01(&AS_CIMD_01, "1 fetch(es), code issued")]
    #[case::as_cimd_05(&AS_CIMD_05, "fetched once")]
    #[case::as_cimd_06(&AS_CIMD_06, "re-fetched (2 fetches), code issued")]
    #[case::as_cimd_08(&AS_CIMD_08, "2 client ids refused without a fetch")]
    #[case::as_cimd_09(&AS_CIMD_09, "3 client ids refused without a fetch")]
    #[case::as_cimd_10(&AS_CIMD_10, "4 client ids refused without a fetch")]
    #[case::as_cimd_11(&AS_CIMD_11, "a page (HTTP 400); metadata still 200")]
    #[case::as_cimd_12(&AS_CIMD_12, "refused: a page (HTTP 400)")]
    #[case::as_dcr_01(&AS_DCR_01, "201, client_id client-dcr")]
    #[case::as_dcr_02(&AS_DCR_02, "both refused with 400")]
    fn passes_on_the_compliant_record(
        #[case] c: &FnCheck<AuthzObservations>,
        #[case] actual: &str,
    ) {
        let e = c.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{}: {}", c.meta.id, e.message);
        assert_eq!(e.actual, actual, "{}", c.meta.id);
        assert!(!e.evidence.is_empty(), "{}", c.meta.id);
    }

    #[test]
    fn as_cimd_01_warns_when_the_honest_document_gets_no_code() {
        let mut o = compliant();
        set_case(&mut o, CimdCase::Honest, page("cimd#1", 400), 0);
        let e = AS_CIMD_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "0 fetch(es); a page (HTTP 400)");
    }

    #[test]
    fn as_cimd_01_is_error_when_the_walk_got_no_answer() {
        let mut o = compliant();
        set_case(&mut o, CimdCase::Honest, unanswered_walk("cimd#1"), 0);
        let e = AS_CIMD_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("no HTTP answer"), "{}", e.message);
    }

    #[test]
    fn every_cimd_check_is_error_without_the_cimd_probes() {
        let mut o = compliant();
        o.cimd = Err(no_answer("the CIMD host could not bind"));
        for c in checks()
            .iter()
            .filter(|c| c.meta().id.starts_with("AS-CIMD"))
        {
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta().id);
            assert_eq!(e.message, "the CIMD probes: the CIMD host could not bind");
        }
    }

    const REFUSALS: [&CimdRefused; 11] = [
        &AS_CIMD_02_TRAILING_SLASH,
        &AS_CIMD_02_OTHER_PATH,
        &AS_CIMD_02_UPPERCASE_HOST,
        &AS_CIMD_02_OTHER_HOST,
        &AS_CIMD_03,
        &AS_CIMD_04_INVALID_JSON,
        &AS_CIMD_04_TOP_LEVEL_ARRAY,
        &AS_CIMD_04_MISSING_REDIRECT_URIS,
        &AS_CIMD_04_MISSING_CLIENT_ID,
        &AS_CIMD_07,
        &AS_CIMD_17,
    ];

    fn violation(c: &CimdRefused) -> Verdict {
        if c.meta.level == Should {
            Verdict::Warn
        } else {
            Verdict::Fail
        }
    }

    #[test]
    fn a_cimd_refusal_passes_on_an_error_page() {
        for c in REFUSALS {
            let e = c.evaluate(&compliant());
            assert_eq!(e.verdict, Verdict::Pass, "{}", c.meta.id);
            assert_eq!(e.actual, "a page (HTTP 400) (1 fetch(es))");
        }
    }

    #[test]
    fn a_cimd_refusal_is_violated_when_a_code_is_issued() {
        for c in REFUSALS {
            let mut o = compliant();
            set_case(&mut o, c.case, code_callback("cimd-bad#1", "c"), 1);
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, violation(c), "{}", c.meta.id);
            assert_eq!(e.actual, "a code was issued (1 fetch(es))");
            assert_eq!(e.evidence, vec!["cimd-bad#1"]);
        }
    }

    #[test]
    fn a_cimd_refusal_is_error_when_an_honest_document_gets_no_code() {
        for c in REFUSALS {
            let mut o = compliant();
            set_case(&mut o, CimdCase::Honest, page("cimd#honest", 400), 1);
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert!(e.message.contains("see AS-CIMD-01"), "{}", e.message);
        }
    }

    #[test]
    fn a_cimd_refusal_is_error_without_a_happy_flow_or_an_answer() {
        for c in REFUSALS {
            let mut o = compliant();
            o.happy = Err(no_answer("timed out"));
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert!(
                e.message.contains("a refusal proves nothing"),
                "{}",
                e.message
            );

            let mut o = compliant();
            set_case(&mut o, c.case, unanswered_walk("cimd-bad#1"), 1);
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
            assert!(e.message.contains("no HTTP answer"), "{}", e.message);
        }
    }

    #[test]
    fn as_cimd_03_fails_on_an_error_redirect_to_the_unlisted_uri() {
        let mut o = compliant();
        let to = "http://127.0.0.1:8401/unlisted?error=invalid_request";
        set_case(
            &mut o,
            CimdCase::UnlistedRedirect,
            elsewhere("cimd-unlisted#1", to),
            1,
        );
        let e = AS_CIMD_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, format!("redirected to the unlisted {to}"));
    }

    #[test]
    fn as_cimd_17_fails_on_a_redirect_to_the_http_uri_even_without_a_code() {
        let mut o = compliant();
        let to = "http://client.conformance.test/cb?error=access_denied";
        set_case(
            &mut o,
            CimdCase::HttpRedirect,
            elsewhere("cimd-http-redirect#1", to),
            1,
        );
        let e = AS_CIMD_17.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(
            e.actual,
            format!("redirected to the http redirect URI {to}")
        );
        assert_eq!(e.evidence, vec!["cimd-http-redirect#1"]);
    }

    #[test]
    fn as_cimd_05_warns_when_the_document_is_fetched_per_flow() {
        let mut o = compliant();
        cimd_mut(&mut o).cache_fetches = Some((2, vec!["cimd-cache#1".into()]));
        let e = AS_CIMD_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "fetched 2 times");
    }

    #[test]
    fn as_cimd_05_is_error_when_the_document_was_never_fetched() {
        let mut o = compliant();
        cimd_mut(&mut o).cache_fetches = Some((0, Vec::new()));
        let e = AS_CIMD_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert_eq!(e.message, "the document was never fetched");
    }

    #[test]
    fn as_cimd_06_fails_when_a_failed_fetch_is_cached() {
        let mut o = compliant();
        let (_, second) = cimd_mut(&mut o).error_then_valid.as_mut().unwrap();
        *second = cimd_attempt(page("cimd-valid#authorize", 400), 1);
        let e = AS_CIMD_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(
            e.actual,
            "1 fetch(es) in total; second flow: a page (HTTP 400)"
        );
    }

    #[test]
    fn as_cimd_06_is_error_when_the_document_was_never_fetched() {
        let mut o = compliant();
        let (first, second) = cimd_mut(&mut o).error_then_valid.as_mut().unwrap();
        first.hits = 0;
        *second = cimd_attempt(page("cimd-valid#authorize", 400), 0);
        let e = AS_CIMD_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert_eq!(e.message, "the document was never fetched (0)");
    }

    fn probe_list<'a>(
        c: &FnCheck<AuthzObservations>,
        x: &'a mut CimdObs,
    ) -> &'a mut Vec<(String, Authorized, usize)> {
        match c.meta.id {
            "AS-CIMD-08" => &mut x.ssrf,
            "AS-CIMD-09" => &mut x.schemes,
            "AS-CIMD-10" => &mut x.malformed,
            other => panic!("{other}"),
        }
    }

    #[rstest]
    #[case::as_cimd_08(&AS_CIMD_08, Verdict::Warn)]
    #[case::as_cimd_09(&AS_CIMD_09, Verdict::Fail)]
    #[case::as_cimd_10(&AS_CIMD_10, Verdict::Fail)]
    fn a_probe_check_is_violated_when_a_client_id_is_fetched(
        #[case] c: &FnCheck<AuthzObservations>,
        #[case] verdict: Verdict,
    ) {
        let mut o = compliant();
        let list = probe_list(c, cimd_mut(&mut o));
        list[0].2 = 1;
        let id = list[0].0.clone();
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, verdict, "{}", c.meta.id);
        assert_eq!(e.actual, format!("{id}: fetched 1 time(s)"));
    }

    #[rstest]
    #[case::as_cimd_08(&AS_CIMD_08, Verdict::Warn)]
    #[case::as_cimd_09(&AS_CIMD_09, Verdict::Fail)]
    #[case::as_cimd_10(&AS_CIMD_10, Verdict::Fail)]
    fn a_probe_check_is_violated_when_a_code_is_issued(
        #[case] c: &FnCheck<AuthzObservations>,
        #[case] verdict: Verdict,
    ) {
        let mut o = compliant();
        let list = probe_list(c, cimd_mut(&mut o));
        let last = list.len() - 1;
        list[last].1 = code_callback("probe#1", "c");
        let id = list[last].0.clone();
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, verdict, "{}", c.meta.id);
        assert_eq!(e.actual, format!("{id}: a code was issued"));
    }

    #[rstest]
    #[case::as_cimd_08(&AS_CIMD_08)]
    #[case::as_cimd_09(&AS_CIMD_09)]
    #[case::as_cimd_10(&AS_CIMD_10)]
    fn a_probe_check_is_error_when_a_probe_got_no_answer(#[case] c: &FnCheck<AuthzObservations>) {
        let mut o = compliant();
        let list = probe_list(c, cimd_mut(&mut o));
        list[0].1 = unanswered_walk("probe#1");
        let id = list[0].0.clone();
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{}", c.meta.id);
        assert!(e.message.starts_with(&format!("{id}: ")), "{}", e.message);

        let mut o = compliant();
        o.happy = Err(no_answer("timed out"));
        assert_eq!(c.evaluate(&o).verdict, Verdict::Error, "{}", c.meta.id);
    }

    #[test]
    fn as_cimd_11_warns_when_an_oversized_document_gets_a_code() {
        let mut o = compliant();
        set_case(
            &mut o,
            CimdCase::Oversized,
            code_callback("cimd-big#1", "c"),
            1,
        );
        let e = AS_CIMD_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "a code was issued for the 1 MiB document");
    }

    #[test]
    fn as_cimd_11_warns_when_the_as_stops_answering() {
        let mut o = compliant();
        cimd_mut(&mut o).responsive_after_oversized = None;
        let e = AS_CIMD_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Warn);
        assert_eq!(e.actual, "the AS did not answer normally afterwards: None");
    }

    #[test]
    fn as_cimd_11_is_error_when_the_oversized_walk_got_no_answer() {
        let mut o = compliant();
        set_case(
            &mut o,
            CimdCase::Oversized,
            unanswered_walk("cimd-big#1"),
            1,
        );
        let e = AS_CIMD_11.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("no HTTP answer"), "{}", e.message);
    }

    fn shared_secret_code(o: &mut AuthzObservations, token: Option<TokenResult>) {
        let mut a = cimd_attempt(code_callback("cimd-secret#1", "c"), 1);
        a.token = token;
        cimd_mut(o).cases.insert(CimdCase::SharedSecret, a);
    }

    #[test]
    fn as_cimd_12_fails_when_the_documents_secret_authenticates() {
        let mut o = compliant();
        shared_secret_code(&mut o, Some(tokens("cimd-secret#token", "rt")));
        let e = AS_CIMD_12.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(
            e.actual,
            "the document's secret authenticated a token request"
        );
        assert_eq!(e.evidence, vec!["cimd-secret#token", "cimd-secret#1"]);
    }

    #[test]
    fn as_cimd_12_passes_when_the_secret_is_refused() {
        let mut o = compliant();
        shared_secret_code(
            &mut o,
            Some(refusal("cimd-secret#token", 401, "invalid_client")),
        );
        let e = AS_CIMD_12.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Pass);
        assert_eq!(
            e.actual,
            "code issued, but the secret was refused: HTTP 401 error=invalid_client"
        );
    }

    #[test]
    fn as_cimd_12_is_error_when_the_token_request_got_no_answer() {
        let mut o = compliant();
        shared_secret_code(&mut o, Some(unanswered_token("cimd-secret#token")));
        let e = AS_CIMD_12.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("the token request with the document's secret"),
            "{}",
            e.message
        );
    }

    #[test]
    fn as_cimd_12_is_a_harness_error_when_no_token_request_was_made() {
        let mut o = compliant();
        shared_secret_code(&mut o, None);
        assert_eq!(AS_CIMD_12.evaluate(&o).verdict, Verdict::HarnessError);
    }

    #[test]
    fn as_dcr_01_fails_without_a_client_id() {
        let mut o = compliant();
        o.dcr.as_mut().unwrap().public = (Ok(200), Some(json!({})), "dcr#1".into());
        let e = AS_DCR_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "HTTP 200, client_id None");
    }

    #[test]
    fn as_dcr_01_is_error_when_the_registration_got_no_answer() {
        let mut o = compliant();
        o.dcr.as_mut().unwrap().public = (
            Err(crate::http::HttpFailure::Transport("reset".into())),
            None,
            "dcr#1".into(),
        );
        let e = AS_DCR_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("the registration request: no HTTP answer"),
            "{}",
            e.message
        );
        assert_eq!(e.evidence, vec!["dcr#1"]);
    }

    #[test]
    fn as_dcr_02_fails_when_an_unsafe_redirect_uri_is_registered() {
        let mut o = compliant();
        o.dcr.as_mut().unwrap().bad[0].1 = Ok(201);
        let e = AS_DCR_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert_eq!(e.actual, "javascript:alert(1) → HTTP 201");
    }

    #[test]
    fn as_dcr_02_is_error_when_a_registration_got_no_answer() {
        let mut o = compliant();
        o.dcr.as_mut().unwrap().bad[1].1 = Err(crate::http::HttpFailure::Transport("reset".into()));
        let e = AS_DCR_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(
            e.message
                .contains("the registration of http://evil.example/cb"),
            "{}",
            e.message
        );
    }

    #[rstest]
    #[case::as_dcr_01(&AS_DCR_01)]
    #[case::as_dcr_02(&AS_DCR_02)]
    fn a_dcr_check_is_error_without_the_probes(#[case] c: &FnCheck<AuthzObservations>) {
        let mut o = compliant();
        o.dcr = Err(no_answer("timed out"));
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert_eq!(e.message, "the DCR probes: timed out");
    }

    #[test]
    fn the_compliant_shared_secret_case_is_refused() {
        let a = testing::cimd_case(CimdCase::SharedSecret);
        assert!(a.code().is_none());
    }
}
