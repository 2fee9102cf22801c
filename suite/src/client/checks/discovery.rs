//! Discovery: CL-PRM-*, CL-ASM-*.

use fake_idp::client_world::{LoggedRequest, Origin, PrmLocation, RequestKind};
use mcp_auth_reports::Level::Must;

use super::{completed_or_error, meta, ClientCheck, Every, Refusal};
use crate::check::{Check, CheckMeta, Evaluation, FnCheck};
use crate::client::obs::{is_metadata_fetch, ClientObservations, ScenarioObs};
use crate::client::scenarios::{
    METADATA_DEFAULT, METADATA_ISSUER_MISMATCH, PKCE_METHODS_MISSING, PKCE_METHODS_MISSING_OIDC,
    PKCE_PLAIN_ONLY, RESOURCE_MISMATCH, STATE_TAMPERED, TOKEN_REFRESH,
};
use crate::scenario_or_return;

/// Every discovery check, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        Box::new(CL_PRM_01),
        Box::new(CL_PRM_02),
        Box::new(CL_PRM_03_PATH_FIRST),
        Box::new(CL_PRM_03_ROOT_FALLBACK),
        Box::new(CL_PRM_04),
        Box::new(CL_PRM_05),
        Box::new(super::migration::CL_PRM_06),
        Box::new(CL_ASM_01),
        Box::new(CL_ASM_02_RFC8414_PATH),
        Box::new(CL_ASM_02_OIDC_PATH_INSERTED),
        Box::new(CL_ASM_02_OIDC_PATH_APPENDED),
        Box::new(CL_ASM_03),
        Box::new(CL_ASM_04),
        Box::new(CL_ASM_06),
    ]
}

/// CL-PRM-01: a 401 challenge is parsed and starts discovery.
const CL_PRM_01: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-PRM-01", "A 401 challenge is parsed and starts discovery", Must, &["MCP §4.2", "RFC 9110 §11.6.1"],
        text!(TOKEN_REFRESH, ": two WWW-Authenticate lines (DPoP, then a lowercase `bearer` with realm first and extra params) name a custom PRM URL that nothing else reveals (PRM is also at the path-inserted URL, so a client that misreads the header still gets on) → the client fetches the custom URL.")),
    eval: cl_prm_01,
};
fn cl_prm_01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, TOKEN_REFRESH);
    let Some(challenge) = got_401(s) else {
        return no_401(s);
    };
    let custom = first_seq(s, |r| {
        matches!(&r.kind, RequestKind::Prm(PrmLocation::Custom(_)))
    });
    let expected = "the custom PRM URL named in the challenge is fetched";
    match custom {
        Some(seq) => Evaluation::pass(
            expected,
            format!("fetched at #{seq} after the 401 at #{}", challenge.seq),
        )
        .with_evidence([s.id(challenge), format!("{}#{seq}", s.def.name)]),
        None => Evaluation::violated(
            m.level,
            expected,
            format!("never fetched; {}", s.progress()),
        )
        .with_evidence([s.id(challenge)]),
    }
}

/// CL-PRM-02: the resource_metadata URL from the header is used.
const CL_PRM_02: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-PRM-02", "The resource_metadata URL from the header is used", Must, &["MCP §4.2", "RFC 9728 §5"],
        text!(PKCE_PLAIN_ONLY, " (auth/metadata-var3's discovery): PRM exists only at the custom URL named in the header; the well-known URLs are traps → the custom URL is fetched before any well-known probe.")),
    eval: cl_prm_02,
};
fn cl_prm_02(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, PKCE_PLAIN_ONLY);
    let Some(challenge) = got_401(s) else {
        return no_401(s);
    };
    let custom = first_seq(s, |r| {
        matches!(&r.kind, RequestKind::Prm(PrmLocation::Custom(_)))
    });
    let well_known = s
        .log
        .iter()
        .find(|r| is_prm(r) && !matches!(&r.kind, RequestKind::Prm(PrmLocation::Custom(_))));
    let expected = "the header's resource_metadata URL, before any well-known probe";
    let mut ev = vec![s.id(challenge)];
    ev.extend(well_known.map(|r| s.id(r)));
    match (custom, well_known) {
        (Some(c), None) => Evaluation::pass(
            expected,
            format!("custom PRM fetched at #{c}; no well-known probe"),
        ),
        (Some(c), Some(w)) if c < w.seq => Evaluation::pass(
            expected,
            format!("custom PRM at #{c}, a well-known probe later at #{}", w.seq),
        ),
        (Some(c), Some(w)) => Evaluation::violated(
            m.level,
            expected,
            format!(
                "well-known {} at #{} before the custom URL at #{c}",
                w.path, w.seq
            ),
        ),
        (None, _) => Evaluation::violated(
            m.level,
            expected,
            format!("the custom URL was never fetched; {}", s.progress()),
        ),
    }
    .with_evidence(ev)
}

/// CL-PRM-03.path-first: without resource_metadata, the path-inserted PRM before the root.
const CL_PRM_03_PATH_FIRST: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-PRM-03.path-first", "Without resource_metadata, the path-inserted PRM is tried before the root", Must, &["MCP §4.2", "RFC 9728 §3.1"],
        text!(PKCE_METHODS_MISSING_OIDC, " (auth/metadata-var1's discovery): no resource_metadata; PRM at the path-inserted URL; the root is a trap → the root is never requested before the path-inserted URL.")),
    eval: cl_prm_03_path_first,
};
fn cl_prm_03_path_first(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, PKCE_METHODS_MISSING_OIDC);
    if got_401(s).is_none() {
        return no_401(s);
    }
    let path = first_seq(s, |r| {
        matches!(r.kind, RequestKind::Prm(PrmLocation::PathInserted))
    });
    let root = s.log.iter().find(|r| {
        r.origin == Origin::Mcp && is_prm(r) && r.path == "/.well-known/oauth-protected-resource"
    });
    let expected = "the path-inserted PRM before the root";
    let e = match (path, root) {
        (Some(p), None) => Evaluation::pass(
            expected,
            format!("path-inserted at #{p}; root never probed"),
        ),
        (Some(p), Some(r)) if p < r.seq => Evaluation::pass(
            expected,
            format!("path-inserted at #{p}, root at #{}", r.seq),
        ),
        (_, Some(r)) => Evaluation::violated(
            m.level,
            expected,
            format!("root probed at #{} first", r.seq),
        ),
        (None, None) => Evaluation::violated(
            m.level,
            expected,
            format!("no PRM probe at all; {}", s.progress()),
        ),
    };
    e.with_evidence(root.map(|r| s.id(r)))
}

/// CL-PRM-03.root-fallback: when the path-inserted PRM is missing, the root.
const CL_PRM_03_ROOT_FALLBACK: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-PRM-03.root-fallback", "When the path-inserted PRM is missing, the root PRM is tried", Must, &["MCP §4.2", "RFC 9728 §3.1"],
        text!(PKCE_METHODS_MISSING, " (auth/metadata-var2's discovery): the path-inserted URL answers 404, the root serves PRM → the client falls back to the root (after the path-inserted probe).")),
    eval: cl_prm_03_root_fallback,
};
fn cl_prm_03_root_fallback(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, PKCE_METHODS_MISSING);
    if got_401(s).is_none() {
        return no_401(s);
    }
    let path = first_seq(s, |r| {
        r.origin == Origin::Mcp
            && is_prm(r)
            && r.path.starts_with("/.well-known/oauth-protected-resource/")
    });
    let root = first_seq(s, |r| matches!(r.kind, RequestKind::Prm(PrmLocation::Root)));
    let expected = "path-inserted probe (404), then the root PRM";
    match (path, root) {
        (Some(p), Some(r)) if p < r => {
            Evaluation::pass(expected, format!("path-inserted #{p} → root #{r}"))
        }
        (_, None) => Evaluation::violated(
            m.level,
            expected,
            format!("the root PRM was never fetched; {}", s.progress()),
        ),
        (None, Some(r)) => Evaluation::violated(
            m.level,
            expected,
            format!("root fetched at #{r} without trying the path-inserted URL first"),
        ),
        (Some(p), Some(r)) => Evaluation::violated(
            m.level,
            expected,
            format!("root #{r} before path-inserted #{p}"),
        ),
    }
}

/// CL-PRM-04: the AS comes from PRM authorization_servers, not the MCP origin.
const CL_PRM_04: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-PRM-04", "The AS is taken from PRM authorization_servers, not the MCP origin", Must, &["MCP §3", "MCP §4.1"],
        text!(METADATA_DEFAULT, ": the AS is on another origin and decoy AS metadata sits on the MCP origin → the authorization request goes to the listed AS; the decoy is never used.")),
    eval: cl_prm_04,
};
fn cl_prm_04(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, METADATA_DEFAULT);
    let decoy: Vec<&LoggedRequest> = s
        .requests(|r| {
            matches!(
                r.kind,
                RequestKind::DecoyAsMetadata | RequestKind::DecoyAuthorize
            )
        })
        .collect();
    let listed = s
        .log
        .iter()
        .find(|r| matches!(r.kind, RequestKind::Authorize) && r.origin == Origin::As(0));
    let expected = "authorization at the AS listed in PRM; the decoy on the MCP origin unused";
    if let Some(d) = decoy.first() {
        return Evaluation::violated(
            m.level,
            expected,
            format!("the decoy was used: {} {} (#{})", d.method, d.path, d.seq),
        )
        .with_evidence(decoy.iter().map(|r| s.id(r)));
    }
    match listed {
        Some(a) => Evaluation::pass(
            expected,
            format!("authorization request at the listed AS (#{})", a.seq),
        )
        .with_evidence([s.id(a)]),
        None => Evaluation::error(format!("no authorization request at all; {}", s.progress()))
            .with_scenario(s.def.name),
    }
}

/// CL-PRM-05: PRM whose resource does not match is not used.
const CL_PRM_05: Refusal = Refusal {
    meta: meta("CL-PRM-05", "PRM whose resource does not match is not used", Must, &["RFC 9728 §3.3", "RFC 9728 §7.3"],
        text!(RESOURCE_MISMATCH, ": PRM resource is https://evil.example/mcp → after fetching it, no AS metadata, registration, authorization or token request.")),
    scenario: RESOURCE_MISMATCH,
    decision: "fetching the mismatched PRM",
    reached: |r| matches!(r.kind, RequestKind::Prm(_)) && r.status == 200,
    forbidden_what: "AS request",
    forbidden: |r| matches!(r.origin, Origin::As(_)),
};

/// CL-ASM-01: both RFC 8414 and OpenID Connect discovery are supported.
const CL_ASM_01: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-ASM-01", "Both RFC 8414 and OpenID Connect discovery are supported", Must, &["MCP §3", "MCP §4.3"],
        text!(METADATA_DEFAULT, " serves only RFC 8414 metadata, ", PKCE_METHODS_MISSING_OIDC, " only an OpenID configuration → in both the client fetches the document that is served.")),
    eval: cl_asm_01,
};
fn cl_asm_01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let expected = "the served metadata is fetched with RFC 8414-only and with OpenID-only authorization servers";
    let mut parts = Vec::new();
    let mut failed = Vec::new();
    let mut evidence = Vec::new();
    for (name, what) in [
        (METADATA_DEFAULT, "RFC 8414"),
        (PKCE_METHODS_MISSING_OIDC, "OpenID Connect"),
    ] {
        let s = scenario_or_return!(o, name);
        let probes: Vec<&LoggedRequest> = s
            .requests(|r| {
                matches!(
                    r.kind,
                    RequestKind::AsMetadata(_) | RequestKind::AsMetadataTrap
                )
            })
            .collect();
        if probes.is_empty() {
            return Evaluation::error(format!(
                "{name}: the client never reached AS discovery; {}",
                s.progress()
            ))
            .with_scenario(s.def.name);
        }
        match probes.iter().find(|r| is_metadata_fetch(r)) {
            Some(r) => {
                parts.push(format!("{what}: fetched {}", r.path));
                evidence.push(s.id(r));
            }
            None => {
                let tried: Vec<&str> = probes.iter().map(|r| r.path.as_str()).collect();
                failed.push(format!(
                    "{what}: only probed {tried:?}, never the served document"
                ));
                evidence.extend(probes.iter().map(|r| s.id(r)));
            }
        }
    }
    let e = if failed.is_empty() {
        Evaluation::pass(expected, parts.join("; "))
    } else {
        Evaluation::violated(m.level, expected, failed.join("; "))
    };
    e.with_evidence(evidence)
}

/// CL-ASM-02.rfc8414-path: path issuer, RFC 8414 path insertion first.
const CL_ASM_02_RFC8414_PATH: MetadataProbes = MetadataProbes {
    meta: meta("CL-ASM-02.rfc8414-path", "Path issuer: RFC 8414 path insertion is tried first", Must, &["MCP §4.3", "RFC 8414 §3.1"],
        text!(PKCE_METHODS_MISSING, " (auth/metadata-var2's discovery): issuer /tenant1, metadata only at /.well-known/oauth-authorization-server/tenant1 → probes are a prefix of the MCP order ending there; the root metadata URL is never requested.")),
    scenario: PKCE_METHODS_MISSING,
    served: 1,
};

/// CL-ASM-02.oidc-path-inserted: path issuer, OpenID path insertion second.
const CL_ASM_02_OIDC_PATH_INSERTED: MetadataProbes = MetadataProbes {
    meta: meta("CL-ASM-02.oidc-path-inserted", "Path issuer: OpenID path insertion is tried second", Must, &["MCP §4.3", "RFC 8414 §5"],
        text!(STATE_TAMPERED, ": issuer /tenant1, metadata only at /.well-known/openid-configuration/tenant1 → probes [RFC 8414 path-inserted, OIDC path-inserted]; no root probe.")),
    scenario: STATE_TAMPERED,
    served: 2,
};

/// CL-ASM-02.oidc-path-appended: path issuer, OpenID path appending third.
const CL_ASM_02_OIDC_PATH_APPENDED: MetadataProbes = MetadataProbes {
    meta: meta("CL-ASM-02.oidc-path-appended", "Path issuer: OpenID path appending is tried third", Must, &["MCP §4.3", "OIDC Discovery §4"],
        text!(PKCE_PLAIN_ONLY, " (auth/metadata-var3's discovery): metadata only at /tenant1/.well-known/openid-configuration → probes [k1, k2, k3] in that order; no root probe.")),
    scenario: PKCE_PLAIN_ONLY,
    served: 3,
};

/// CL-ASM-03: root issuer, RFC 8414 before OpenID configuration.
const CL_ASM_03: FnCheck<ClientObservations> = FnCheck {
    meta: meta("CL-ASM-03", "Root issuer: RFC 8414 before OpenID configuration", Must, &["MCP §4.3"],
        text!(PKCE_METHODS_MISSING_OIDC, " (auth/metadata-var1's discovery): the AS serves only OpenID configuration at the root → the RFC 8414 URL is probed first, then the OpenID one.")),
    eval: cl_asm_03,
};
fn cl_asm_03(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
    let s = scenario_or_return!(o, PKCE_METHODS_MISSING_OIDC);
    let rfc = first_seq(s, |r| {
        matches!(r.origin, Origin::As(0)) && r.path == "/.well-known/oauth-authorization-server"
    });
    let oidc = first_seq(s, |r| {
        matches!(r.origin, Origin::As(0)) && r.path == "/.well-known/openid-configuration"
    });
    let expected =
        "/.well-known/oauth-authorization-server, then /.well-known/openid-configuration";
    match (rfc, oidc) {
        (Some(a), Some(b)) if a < b => {
            Evaluation::pass(expected, format!("RFC 8414 #{a}, OpenID #{b}"))
        }
        (Some(a), Some(b)) => Evaluation::violated(
            m.level,
            expected,
            format!("OpenID #{b} before RFC 8414 #{a}"),
        ),
        (None, Some(b)) => Evaluation::violated(
            m.level,
            expected,
            format!("OpenID #{b} without trying RFC 8414 first"),
        ),
        (_, None) => match completed_or_error(s) {
            Some(e) if rfc.is_none() => e,
            _ => Evaluation::violated(
                m.level,
                expected,
                format!("never tried the OpenID configuration; {}", s.progress()),
            ),
        },
    }
}

/// CL-ASM-04: AS metadata whose issuer differs is not used.
const CL_ASM_04: Refusal = Refusal {
    meta: meta("CL-ASM-04", "AS metadata whose issuer differs is not used", Must, &["RFC 8414 §3.3", "RFC 8414 §6.2", "OIDC Discovery §4.3"],
        text!(METADATA_ISSUER_MISMATCH, ": the metadata claims issuer https://evil.example → after fetching it, no registration, authorization or token request.")),
    scenario: METADATA_ISSUER_MISMATCH,
    decision: "fetching metadata with a foreign issuer",
    reached: is_metadata_fetch,
    forbidden_what: "use of its endpoints",
    forbidden: |r| matches!(r.kind, RequestKind::Authorize | RequestKind::Token { .. } | RequestKind::Register),
};

/// CL-ASM-06: AS metadata is fetched with GET.
const CL_ASM_06: Every = Every {
    meta: meta(
        "CL-ASM-06",
        "AS metadata is fetched with GET",
        Must,
        &["RFC 8414 §3.1", "OIDC Discovery §4.1"],
        "Every AS metadata request in every scenario uses GET.",
    ),
    what: "AS metadata request",
    expected: "GET",
    select: |_, r| {
        matches!(
            r.kind,
            RequestKind::AsMetadata(_) | RequestKind::AsMetadataTrap
        )
    },
    problem: |_, r| (r.method != "GET").then(|| format!("{} {}", r.method, r.path)),
};

fn is_prm(r: &LoggedRequest) -> bool {
    matches!(r.kind, RequestKind::Prm(_) | RequestKind::PrmTrap)
}

fn first_seq(s: &ScenarioObs, pred: impl Fn(&LoggedRequest) -> bool) -> Option<usize> {
    s.log.iter().find(|r| pred(r)).map(|r| r.seq)
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

/// The AS metadata probe a path names, for an issuer with path `p`: 1..3 per MCP §4.3, 0 for a root probe.
fn probe_kind(path: &str, issuer_path: &str) -> Option<u8> {
    if path == format!("/.well-known/oauth-authorization-server{issuer_path}") {
        Some(1)
    } else if path == format!("/.well-known/openid-configuration{issuer_path}") {
        Some(2)
    } else if path == format!("{issuer_path}/.well-known/openid-configuration") {
        Some(3)
    } else if path == "/.well-known/oauth-authorization-server"
        || path == "/.well-known/openid-configuration"
    {
        Some(0)
    } else {
        None
    }
}

fn metadata_probes<'a>(s: &'a ScenarioObs, issuer_path: &str) -> Vec<(u8, &'a LoggedRequest)> {
    s.log
        .iter()
        .filter(|r| matches!(r.origin, Origin::As(0)))
        .filter_map(|r| probe_kind(&r.path, issuer_path).map(|k| (k, r)))
        .collect()
}

/// CL-ASM-02's family: for the path issuer `/tenant1` of `scenario`, whose metadata is served only at the probe
/// `served` of the MCP order (1 RFC 8414 path-inserted, 2 OpenID path-inserted, 3 OpenID path-appended), the probes
/// are a prefix of that order ending there, and the root is never probed.
struct MetadataProbes {
    meta: CheckMeta,
    scenario: &'static str,
    served: u8,
}

impl Check<ClientObservations> for MetadataProbes {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        let (m, name, k) = (&self.meta, self.scenario, self.served);
        let s = scenario_or_return!(o, name);
        let probes = metadata_probes(s, "/tenant1");
        if probes.is_empty() {
            return Evaluation::error(format!(
                "{name}: the client never probed AS metadata; {}",
                s.progress()
            ))
            .with_scenario(s.def.name);
        }
        let seq: Vec<u8> = probes.iter().map(|(p, _)| *p).collect();
        let expected = format!(
            "probes {:?} (a prefix of [1, 2, 3] ending at {k}); never the root",
            (1..=k).collect::<Vec<_>>()
        );
        let actual = format!("probes {seq:?} (0 = root)");
        let ev = probes.iter().map(|(_, r)| s.id(r)).take(5);
        if let Some((_, root)) = probes.iter().find(|(p, _)| *p == 0) {
            return Evaluation::violated(
                m.level,
                expected,
                format!(
                    "{actual}: the root {} was probed for a path issuer",
                    root.path
                ),
            )
            .with_evidence(ev);
        }
        let want: Vec<u8> = (1..=k).collect();
        if seq.len() >= want.len() && seq[..want.len()] == want[..] {
            Evaluation::pass(expected, actual).with_evidence(ev)
        } else {
            Evaluation::violated(m.level, expected, actual).with_evidence(ev)
        }
    }
}

#[cfg(test)]
mod tests {
    use fake_idp::client_world::MetadataLocation;
    use mcp_auth_reports::Verdict;
    use rstest::rstest;

    use super::*;
    use crate::client::obs::testing::{
        all_requests, append, compliant, first, missing, stop_before, target_failure, world,
    };

    fn is_custom_prm(r: &LoggedRequest) -> bool {
        matches!(r.kind, RequestKind::Prm(PrmLocation::Custom(_)))
    }

    /// The 401 of a world answered 200 instead.
    fn no_challenge(o: &mut ClientObservations, name: &str) {
        first(o, name, |r| r.origin == Origin::Mcp && r.status == 401).status = 200;
    }

    #[rstest]
    #[case::cl_prm_01(&CL_PRM_01, "after the 401 at #0")]
    #[case::cl_prm_02(&CL_PRM_02, "no well-known probe")]
    #[case::cl_prm_03_path_first(&CL_PRM_03_PATH_FIRST, "root never probed")]
    #[case::cl_prm_03_root_fallback(&CL_PRM_03_ROOT_FALLBACK, "path-inserted #1 → root #2")]
    #[case::cl_prm_04(&CL_PRM_04, "authorization request at the listed AS")]
    #[case::cl_prm_05(&CL_PRM_05, "fetching the mismatched PRM at #1")]
    #[case::cl_asm_01(&CL_ASM_01, "OpenID Connect: fetched /.well-known/openid-configuration")]
    #[case::cl_asm_02_rfc8414_path(&CL_ASM_02_RFC8414_PATH, "probes [1]")]
    #[case::cl_asm_02_oidc_path_inserted(&CL_ASM_02_OIDC_PATH_INSERTED, "probes [1, 2]")]
    #[case::cl_asm_02_oidc_path_appended(&CL_ASM_02_OIDC_PATH_APPENDED, "probes [1, 2, 3]")]
    #[case::cl_asm_03(&CL_ASM_03, "RFC 8414 #2, OpenID #3")]
    #[case::cl_asm_04(&CL_ASM_04, "fetching metadata with a foreign issuer at #2")]
    #[case::cl_asm_06(&CL_ASM_06, "all conform")]
    fn passes_on_the_compliant_record(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] actual: &str,
    ) {
        let e = check.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
        assert!(e.actual.contains(actual), "{}", e.actual);
    }

    #[test]
    fn cl_prm_01_fails_when_the_custom_prm_url_is_never_fetched() {
        let mut o = compliant();
        first(&mut o, TOKEN_REFRESH, is_custom_prm).kind =
            RequestKind::Prm(PrmLocation::PathInserted);
        let e = CL_PRM_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.starts_with("never fetched"), "{}", e.actual);
    }

    #[test]
    fn cl_prm_01_is_error_without_a_401() {
        let mut o = compliant();
        no_challenge(&mut o, TOKEN_REFRESH);
        let e = CL_PRM_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(e.message.contains("never received a 401"), "{}", e.message);
    }

    #[test]
    fn cl_prm_01_is_error_when_its_world_failed() {
        let mut o = compliant();
        missing(&mut o, TOKEN_REFRESH, target_failure());
        let e = CL_PRM_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(e.message.contains("the client timed out"), "{}", e.message);
        assert_eq!(e.scenarios(), [TOKEN_REFRESH]);
    }

    #[test]
    fn cl_prm_02_fails_when_a_well_known_probe_comes_before_the_custom_url() {
        let mut o = compliant();
        let r = first(&mut o, PKCE_PLAIN_ONLY, is_custom_prm);
        r.kind = RequestKind::PrmTrap;
        r.path = PrmLocation::Root.path("/mcp");
        r.status = 404;
        let s = world(&mut o, PKCE_PLAIN_ONLY);
        append(
            s,
            Origin::Mcp,
            "GET",
            crate::client::scenarios::CUSTOM_PRM_PATH,
            RequestKind::Prm(PrmLocation::Custom(
                crate::client::scenarios::CUSTOM_PRM_PATH.into(),
            )),
        );
        let e = CL_PRM_02.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains("before the custom URL"), "{}", e.actual);
    }

    #[test]
    fn cl_prm_02_is_error_without_a_401() {
        let mut o = compliant();
        no_challenge(&mut o, PKCE_PLAIN_ONLY);
        assert_eq!(CL_PRM_02.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn cl_prm_03_path_first_fails_when_the_root_is_probed_first() {
        let mut o = compliant();
        let r = first(&mut o, PKCE_METHODS_MISSING_OIDC, |r| {
            matches!(r.kind, RequestKind::Prm(_))
        });
        r.kind = RequestKind::Prm(PrmLocation::Root);
        r.path = PrmLocation::Root.path("/mcp");
        let e = CL_PRM_03_PATH_FIRST.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains("root probed at #1 first"), "{}", e.actual);
    }

    #[test]
    fn cl_prm_03_path_first_is_error_without_a_401() {
        let mut o = compliant();
        no_challenge(&mut o, PKCE_METHODS_MISSING_OIDC);
        assert_eq!(CL_PRM_03_PATH_FIRST.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn cl_prm_03_root_fallback_fails_when_the_root_is_fetched_without_the_path_inserted_probe() {
        let mut o = compliant();
        first(&mut o, PKCE_METHODS_MISSING, |r| {
            matches!(r.kind, RequestKind::PrmTrap)
        })
        .path = "/favicon.ico".into();
        let e = CL_PRM_03_ROOT_FALLBACK.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("without trying the path-inserted URL first"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_prm_03_root_fallback_fails_when_the_root_is_never_fetched() {
        let mut o = compliant();
        stop_before(&mut o, PKCE_METHODS_MISSING, |r| {
            matches!(r.kind, RequestKind::Prm(PrmLocation::Root))
        });
        let e = CL_PRM_03_ROOT_FALLBACK.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("the root PRM was never fetched"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_prm_03_root_fallback_is_error_without_a_401() {
        let mut o = compliant();
        no_challenge(&mut o, PKCE_METHODS_MISSING);
        assert_eq!(CL_PRM_03_ROOT_FALLBACK.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn cl_prm_04_fails_when_the_decoy_on_the_mcp_origin_is_used() {
        let mut o = compliant();
        let s = world(&mut o, METADATA_DEFAULT);
        append(
            s,
            Origin::Mcp,
            "GET",
            "/.well-known/oauth-authorization-server",
            RequestKind::DecoyAsMetadata,
        );
        let e = CL_PRM_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("the decoy was used: GET /.well-known/oauth-authorization-server"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_prm_04_is_error_without_an_authorization_request() {
        let mut o = compliant();
        stop_before(&mut o, METADATA_DEFAULT, |r| {
            matches!(r.kind, RequestKind::Authorize)
        });
        let e = CL_PRM_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("no authorization request at all"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_prm_05_fails_when_the_as_is_contacted_after_the_mismatched_prm() {
        let mut o = compliant();
        let s = world(&mut o, RESOURCE_MISMATCH);
        append(
            s,
            Origin::As(0),
            "GET",
            "/.well-known/oauth-authorization-server",
            RequestKind::AsMetadata(MetadataLocation::Rfc8414Root),
        );
        let e = CL_PRM_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("then GET /.well-known/oauth-authorization-server AS request (#2)"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_prm_05_is_error_when_the_client_never_fetched_the_prm() {
        let mut o = compliant();
        stop_before(&mut o, RESOURCE_MISMATCH, |r| {
            matches!(r.kind, RequestKind::Prm(_))
        });
        let e = CL_PRM_05.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("never reached the decision point"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_asm_01_fails_when_the_openid_configuration_is_never_fetched() {
        let mut o = compliant();
        first(&mut o, PKCE_METHODS_MISSING_OIDC, |r| {
            matches!(r.kind, RequestKind::AsMetadata(_))
        })
        .status = 404;
        let e = CL_ASM_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("OpenID Connect: only probed"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_asm_01_is_error_when_the_client_never_reached_as_discovery() {
        let mut o = compliant();
        stop_before(&mut o, METADATA_DEFAULT, |r| {
            matches!(r.kind, RequestKind::AsMetadata(_))
        });
        let e = CL_ASM_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("never reached AS discovery"),
            "{}",
            e.message
        );
    }

    #[rstest]
    #[case::cl_asm_02_rfc8414_path(&CL_ASM_02_RFC8414_PATH, PKCE_METHODS_MISSING)]
    #[case::cl_asm_02_oidc_path_inserted(&CL_ASM_02_OIDC_PATH_INSERTED, STATE_TAMPERED)]
    #[case::cl_asm_02_oidc_path_appended(&CL_ASM_02_OIDC_PATH_APPENDED, PKCE_PLAIN_ONLY)]
    fn cl_asm_02_fails_when_the_root_is_probed_for_a_path_issuer(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
    ) {
        let mut o = compliant();
        append(
            world(&mut o, name),
            Origin::As(0),
            "GET",
            "/.well-known/openid-configuration",
            RequestKind::AsMetadataTrap,
        );
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains(
                "the root /.well-known/openid-configuration was probed for a path issuer"
            ),
            "{}",
            e.actual
        );
    }

    #[rstest]
    #[case::cl_asm_02_rfc8414_path(&CL_ASM_02_RFC8414_PATH, PKCE_METHODS_MISSING)]
    #[case::cl_asm_02_oidc_path_inserted(&CL_ASM_02_OIDC_PATH_INSERTED, STATE_TAMPERED)]
    #[case::cl_asm_02_oidc_path_appended(&CL_ASM_02_OIDC_PATH_APPENDED, PKCE_PLAIN_ONLY)]
    fn cl_asm_02_is_error_when_the_client_never_probed_as_metadata(
        #[case] check: &dyn Check<ClientObservations>,
        #[case] name: &str,
    ) {
        let mut o = compliant();
        stop_before(&mut o, name, |r| matches!(r.origin, Origin::As(_)));
        let e = check.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("never probed AS metadata"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_asm_02_oidc_path_appended_fails_when_the_probes_are_out_of_order() {
        let mut o = compliant();
        let s = world(&mut o, PKCE_PLAIN_ONLY);
        let (a, b) = (s.log[2].path.clone(), s.log[3].path.clone());
        (s.log[2].path, s.log[3].path) = (b, a);
        let e = CL_ASM_02_OIDC_PATH_APPENDED.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains("probes [2, 1, 3]"), "{}", e.actual);
    }

    #[test]
    fn cl_asm_03_fails_when_openid_is_tried_without_rfc_8414_first() {
        let mut o = compliant();
        first(&mut o, PKCE_METHODS_MISSING_OIDC, |r| {
            matches!(r.kind, RequestKind::AsMetadataTrap)
        })
        .path = "/elsewhere".into();
        let e = CL_ASM_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("without trying RFC 8414 first"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_asm_03_is_error_when_the_client_stopped_before_as_discovery() {
        let mut o = compliant();
        stop_before(&mut o, PKCE_METHODS_MISSING_OIDC, |r| {
            matches!(r.origin, Origin::As(_))
        });
        let e = CL_ASM_03.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("did not complete its task"),
            "{}",
            e.message
        );
    }

    #[test]
    fn cl_asm_04_fails_when_the_client_registers_at_a_foreign_issuer() {
        let mut o = compliant();
        append(
            world(&mut o, METADATA_ISSUER_MISMATCH),
            Origin::As(0),
            "POST",
            "/register",
            RequestKind::Register,
        );
        let e = CL_ASM_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("POST /register use of its endpoints"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_asm_04_is_error_when_the_client_never_fetched_the_metadata() {
        let mut o = compliant();
        stop_before(&mut o, METADATA_ISSUER_MISMATCH, |r| {
            matches!(r.kind, RequestKind::AsMetadata(_))
        });
        assert_eq!(CL_ASM_04.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn cl_asm_06_fails_when_metadata_is_posted() {
        let mut o = compliant();
        first(&mut o, METADATA_DEFAULT, |r| {
            matches!(r.kind, RequestKind::AsMetadata(_))
        })
        .method = "POST".into();
        let e = CL_ASM_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual
                .contains("POST /.well-known/oauth-authorization-server"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_asm_06_is_error_when_no_metadata_request_was_made() {
        let mut o = compliant();
        for r in all_requests(&mut o, |r| {
            matches!(
                r.kind,
                RequestKind::AsMetadata(_) | RequestKind::AsMetadataTrap
            )
        }) {
            r.kind = RequestKind::Other;
        }
        let e = CL_ASM_06.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Error, "{e:?}");
        assert!(
            e.message.contains("no AS metadata request was observed"),
            "{}",
            e.message
        );
    }

    #[test]
    fn probes_are_classified_by_the_mcp_order() {
        assert_eq!(
            probe_kind(
                "/.well-known/oauth-authorization-server/tenant1",
                "/tenant1"
            ),
            Some(1)
        );
        assert_eq!(
            probe_kind("/.well-known/openid-configuration/tenant1", "/tenant1"),
            Some(2)
        );
        assert_eq!(
            probe_kind("/tenant1/.well-known/openid-configuration", "/tenant1"),
            Some(3)
        );
        assert_eq!(
            probe_kind("/.well-known/oauth-authorization-server", "/tenant1"),
            Some(0)
        );
        assert_eq!(probe_kind("/tenant1/token", "/tenant1"), None);
    }
}
