//! The 2025-03-26 discovery: CL-BC-* (rows removed in 2025-06-18, so scored only under
//! `--spec-version 2025-03-26`). In both worlds the MCP origin publishes no protected resource metadata and is
//! itself the authorization server; a check passes when the client completed an authorization through the
//! endpoints the revision points it at and was then served with the token.

use fake_idp::client_world::{LoggedRequest, Origin, RequestKind};
use mcp_auth_reports::Level::Must;

use super::{meta, ClientCheck};
use crate::check::{CheckMeta, Evaluation, FnCheck};
use crate::client::obs::{ClientObservations, ScenarioObs};
use crate::client::scenarios::{MARCH_ENDPOINT_PREFIX, MARCH_FALLBACK, MARCH_METADATA};
use crate::scenario_or_return;

/// Every 2025-03-26 check, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![Box::new(CL_BC_01), Box::new(CL_BC_02)]
}

const ROOT_METADATA: &str = "/.well-known/oauth-authorization-server";

/// CL-BC-01: without PRM, the MCP origin's metadata is used, with the endpoints it advertises.
const CL_BC_01: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-BC-01", "Without PRM, the MCP origin's AS metadata and its advertised endpoints are used (2025-03-26)", Must,
        &["MCP 2025-03-26: Server Metadata Discovery", "MCP 2025-03-26: Authorization Base URL"],
        text!(MARCH_METADATA, ": a bare Bearer 401 and no PRM anywhere; RFC 8414 metadata at the MCP origin's root names endpoints under /oauth → the client fetches that metadata, registers, authorizes and redeems at /oauth/*, and is served with the token.")),
    eval: cl_bc_01,
};
fn cl_bc_01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, MARCH_METADATA);
    let Some(challenge) = got_401(s) else {
        return no_401(s);
    };
    let expected = "root AS metadata fetched, then authorization and token requests at its /oauth endpoints, then an MCP request served with the token";
    let metadata = s
        .log
        .iter()
        .find(|r| r.path == ROOT_METADATA && matches!(r.kind, RequestKind::AsMetadata(_)));
    let default_path = s
        .log
        .iter()
        .find(|r| r.origin == Origin::Mcp && is_default_endpoint_path(&r.path));
    let advertised = |r: &LoggedRequest| r.path.starts_with(&format!("{MARCH_ENDPOINT_PREFIX}/"));
    let mut evidence = vec![s.id(challenge)];
    let e = match (metadata, default_path, served_through(s, advertised)) {
        (_, Some(r), _) => {
            evidence.push(s.id(r));
            Evaluation::violated(
                m.level,
                expected,
                format!(
                    "{} {} (a default path; the metadata names {MARCH_ENDPOINT_PREFIX}{})",
                    r.method, r.path, r.path
                ),
            )
        }
        (None, None, _) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "the MCP origin's {ROOT_METADATA} was never fetched; {}",
                s.progress()
            ),
        ),
        (Some(md), None, Some(flow)) => {
            evidence.push(s.id(md));
            evidence.extend(flow.iter().map(|r| s.id(r)));
            Evaluation::pass(
                expected,
                format!(
                    "metadata at #{}, authorization at #{}, token at #{}, served at #{}",
                    md.seq, flow[0].seq, flow[1].seq, flow[2].seq
                ),
            )
        }
        (Some(md), None, None) => {
            evidence.push(s.id(md));
            Evaluation::violated(
                m.level,
                expected,
                format!(
                    "fetched the metadata at #{} but completed no authorization through its endpoints; {}",
                    md.seq,
                    s.progress()
                ),
            )
        }
    };
    e.with_evidence(evidence).with_scenario(s.def.name)
}

/// CL-BC-02: without any metadata, the default endpoints, after trying the metadata first.
const CL_BC_02: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-BC-02", "Without any metadata, the default endpoints are used after the metadata was tried (2025-03-26)", Must,
        &["MCP 2025-03-26: Fallbacks for Servers without Metadata Discovery"],
        text!(MARCH_FALLBACK, ": a bare Bearer 401, no PRM and no AS metadata anywhere → the client requests the MCP origin's root metadata first, then authorizes at /authorize and redeems at /token there, and is served with the token.")),
    eval: cl_bc_02,
};
fn cl_bc_02(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, MARCH_FALLBACK);
    let Some(challenge) = got_401(s) else {
        return no_401(s);
    };
    let expected = "the root AS metadata tried first, then /authorize and /token on the MCP origin, then an MCP request served with the token";
    let probe = s.log.iter().find(|r| r.path == ROOT_METADATA);
    let first_default = s.log.iter().find(|r| is_default_endpoint_path(&r.path));
    let mut evidence = vec![s.id(challenge)];
    let e = match (
        probe,
        first_default,
        served_through(s, |r| is_default_endpoint_path(&r.path)),
    ) {
        (_, None, _) => Evaluation::violated(
            m.level,
            expected,
            format!("no request to a default endpoint; {}", s.progress()),
        ),
        (None, Some(d), _) => {
            evidence.push(s.id(d));
            Evaluation::violated(
                m.level,
                expected,
                format!(
                    "{} {} at #{} without trying {ROOT_METADATA} first",
                    d.method, d.path, d.seq
                ),
            )
        }
        (Some(p), Some(d), _) if d.seq < p.seq => {
            evidence.extend([s.id(d), s.id(p)]);
            Evaluation::violated(
                m.level,
                expected,
                format!(
                    "{} {} at #{} before the metadata at #{}",
                    d.method, d.path, d.seq, p.seq
                ),
            )
        }
        (Some(p), Some(_), Some(flow)) => {
            evidence.push(s.id(p));
            evidence.extend(flow.iter().map(|r| s.id(r)));
            Evaluation::pass(
                expected,
                format!(
                    "metadata tried at #{}, authorization at #{}, token at #{}, served at #{}",
                    p.seq, flow[0].seq, flow[1].seq, flow[2].seq
                ),
            )
        }
        (Some(p), Some(_), None) => {
            evidence.push(s.id(p));
            Evaluation::violated(
                m.level,
                expected,
                format!(
                    "tried the metadata at #{} but completed no authorization through the default endpoints; {}",
                    p.seq,
                    s.progress()
                ),
            )
        }
    };
    e.with_evidence(evidence).with_scenario(s.def.name)
}

/// `/authorize`, `/token` or `/register`: the 2025-03-26 default endpoints.
fn is_default_endpoint_path(path: &str) -> bool {
    matches!(path, "/authorize" | "/token" | "/register")
}

/// An authorization request and a successful code redemption at paths `at` picks, followed by an MCP request
/// served with a valid token: `[authorize, token, served]`.
fn served_through(
    s: &ScenarioObs,
    at: impl Fn(&LoggedRequest) -> bool,
) -> Option<[&LoggedRequest; 3]> {
    let authorize = s
        .log
        .iter()
        .find(|r| matches!(r.kind, RequestKind::Authorize) && r.status < 400 && at(r))?;
    let token = s.log.iter().find(|r| {
        r.seq > authorize.seq
            && matches!(&r.kind, RequestKind::Token { grant_type } if grant_type == "authorization_code")
            && r.status == 200
            && at(r)
    })?;
    let served = s.log.iter().find(|r| {
        r.seq > token.seq
            && matches!(
                r.kind,
                RequestKind::Mcp {
                    token_valid: true,
                    ..
                }
            )
            && r.status == 200
    })?;
    Some([authorize, token, served])
}

fn got_401(s: &ScenarioObs) -> Option<&LoggedRequest> {
    s.log
        .iter()
        .find(|r| r.origin == Origin::Mcp && r.status == 401)
}

fn no_401(s: &ScenarioObs) -> Evaluation {
    Evaluation::error(format!(
        "{}: the client never received a 401 from the MCP server; {}",
        s.def.name,
        s.progress()
    ))
    .with_scenario(s.def.name)
}

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;

    use super::*;
    use crate::check::Check;
    use crate::client::obs::testing::{
        append, compliant, is_authorize, missing, stop_before, target_failure, world,
    };

    #[test]
    fn cl_bc_01_passes_on_the_compliant_record() {
        let e = CL_BC_01.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{} {}", e.actual, e.message);
        assert!(
            e.actual.starts_with("metadata at #3, authorization at #"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_bc_01_fails_when_the_client_uses_a_default_path_instead_of_the_advertised_one() {
        let mut o = compliant();
        let s = world(&mut o, MARCH_METADATA);
        let r = s
            .log
            .iter_mut()
            .find(|r| r.path == "/oauth/authorize")
            .expect("authorize");
        r.origin = Origin::Mcp;
        r.path = "/authorize".into();
        r.kind = RequestKind::Other;
        r.status = 404;
        let e = CL_BC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.starts_with("GET /authorize (a default path"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_bc_01_fails_when_the_client_never_fetches_the_origin_metadata() {
        let mut o = compliant();
        stop_before(&mut o, MARCH_METADATA, |r| r.path == ROOT_METADATA);
        let e = CL_BC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("was never fetched"), "{}", e.actual);
    }

    #[test]
    fn cl_bc_01_fails_when_the_client_stops_after_the_metadata() {
        let mut o = compliant();
        stop_before(&mut o, MARCH_METADATA, is_authorize);
        let e = CL_BC_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.starts_with("fetched the metadata at #3 but"),
            "{}",
            e.actual
        );
    }

    #[rstest::rstest]
    #[case::bc_01(CL_BC_01, MARCH_METADATA)]
    #[case::bc_02(CL_BC_02, MARCH_FALLBACK)]
    fn errors_when_the_client_never_got_its_401(
        #[case] c: FnCheck<ClientObservations>,
        #[case] name: &'static str,
    ) {
        let mut o = compliant();
        world(&mut o, name).log.clear();
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert!(e.message.contains("never received a 401"), "{}", e.message);
        assert_eq!(e.scenarios(), [name]);
    }

    #[rstest::rstest]
    #[case::bc_01(CL_BC_01, MARCH_METADATA)]
    #[case::bc_02(CL_BC_02, MARCH_FALLBACK)]
    fn errors_when_the_world_gave_no_record(
        #[case] c: FnCheck<ClientObservations>,
        #[case] name: &'static str,
    ) {
        let mut o = compliant();
        missing(&mut o, name, target_failure());
        let e = c.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error);
        assert_eq!(e.scenarios(), [name]);
    }

    #[test]
    fn cl_bc_02_passes_on_the_compliant_record() {
        let e = CL_BC_02.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{} {}", e.actual, e.message);
        assert!(
            e.actual
                .starts_with("metadata tried at #3, authorization at #"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_bc_02_fails_when_the_client_gives_up_without_the_default_endpoints() {
        let mut o = compliant();
        stop_before(&mut o, MARCH_FALLBACK, |r| r.path == "/register");
        let e = CL_BC_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.starts_with("no request to a default endpoint"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_bc_02_fails_when_the_default_endpoints_come_without_trying_the_metadata() {
        let mut o = compliant();
        world(&mut o, MARCH_FALLBACK)
            .log
            .retain(|r| r.path != ROOT_METADATA);
        let e = CL_BC_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("without trying"), "{}", e.actual);
    }

    #[test]
    fn cl_bc_02_fails_when_the_metadata_is_tried_only_after_a_default_endpoint() {
        let mut o = compliant();
        let s = world(&mut o, MARCH_FALLBACK);
        s.log.retain(|r| r.path != ROOT_METADATA);
        append(
            s,
            Origin::As(0),
            "GET",
            ROOT_METADATA,
            RequestKind::AsMetadataTrap,
        )
        .status = 404;
        let e = CL_BC_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(e.actual.contains("before the metadata"), "{}", e.actual);
    }

    #[test]
    fn cl_bc_02_fails_when_no_token_was_obtained_at_the_default_endpoints() {
        let mut o = compliant();
        let s = world(&mut o, MARCH_FALLBACK);
        for r in s.log.iter_mut().filter(|r| r.path == "/token") {
            r.status = 400;
        }
        let e = CL_BC_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail);
        assert!(
            e.actual.contains("completed no authorization"),
            "{}",
            e.actual
        );
    }
}
