//! Discovery: CL-PRM-*, CL-ASM-*.

use fake_idp::client_world::{LoggedRequest, Origin, PrmLocation, RequestKind};
use mcp_auth_reports::Level::{Must, Should};

use super::{check, completed_or_error, meta, refusal, ClientCheck};
use crate::check::{CheckMeta, Evaluation};
use crate::client::obs::{is_metadata_fetch, ClientObservations, ScenarioObs};
use crate::client::scenarios::{
    METADATA_DEFAULT, METADATA_ISSUER_MISMATCH, PKCE_METHODS_MISSING, PKCE_METHODS_MISSING_OIDC,
    PKCE_PLAIN_ONLY, RESOURCE_MISMATCH, STATE_TAMPERED, TOKEN_REFRESH,
};
use crate::scenario_or_return;

pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        check(
            meta("CL-PRM-01", "A 401 challenge is parsed and starts discovery", Must, &["MCP §4.2", "RFC 9110 §11.6.1"],
                "auth/token-refresh: two WWW-Authenticate lines (DPoP, then a lowercase `bearer` with realm first and extra params) name a custom PRM URL that nothing else reveals (PRM is also at the path-inserted URL, so a client that misreads the header still gets on) → the client fetches the custom URL."),
            prm01,
        ),
        check(
            meta("CL-PRM-02", "The resource_metadata URL from the header is used", Must, &["MCP §4.2", "RFC 9728 §5"],
                "auth/pkce-plain-only (auth/metadata-var3's discovery): PRM exists only at the custom URL named in the header; the well-known URLs are traps → the custom URL is fetched before any well-known probe."),
            prm02,
        ),
        check(
            meta("CL-PRM-03.path-first", "Without resource_metadata, the path-inserted PRM is tried before the root", Must, &["MCP §4.2", "RFC 9728 §3.1"],
                "auth/pkce-methods-missing-oidc (auth/metadata-var1's discovery): no resource_metadata; PRM at the path-inserted URL; the root is a trap → the root is never requested before the path-inserted URL."),
            prm03_path_first,
        ),
        check(
            meta("CL-PRM-03.root-fallback", "When the path-inserted PRM is missing, the root PRM is tried", Must, &["MCP §4.2", "RFC 9728 §3.1"],
                "auth/pkce-methods-missing (auth/metadata-var2's discovery): the path-inserted URL answers 404, the root serves PRM → the client falls back to the root (after the path-inserted probe)."),
            prm03_root_fallback,
        ),
        check(
            meta("CL-PRM-04", "The AS is taken from PRM authorization_servers, not the MCP origin", Must, &["MCP §3", "MCP §4.1"],
                "auth/metadata-default: the AS is on another origin and decoy AS metadata sits on the MCP origin → the authorization request goes to the listed AS; the decoy is never used."),
            prm04,
        ),
        check(
            meta("CL-PRM-05", "PRM whose resource does not match is not used", Must, &["RFC 9728 §3.3", "RFC 9728 §7.3"],
                "auth/resource-mismatch: PRM resource is https://evil.example/mcp → after fetching it, no AS metadata, registration, authorization or token request."),
            |m, o| {
                let s = scenario_or_return!(o, RESOURCE_MISMATCH);
                refusal(m, o, s, "fetching the mismatched PRM", |r| matches!(r.kind, RequestKind::Prm(_)) && r.status == 200,
                    "AS request", |r| matches!(r.origin, Origin::As(_)))
            },
        ),
        check(
            meta("CL-PRM-06", "A changed resource_metadata leads to re-discovery", Should, &["RFC 9728 §5.2"],
                "auth/authorization-server-migration: mid-session the PRM lists a second AS and old tokens get 401 → the client authorizes at the second AS and succeeds."),
            super::migration::prm06,
        ),
        check(
            meta("CL-ASM-01", "Both RFC 8414 and OpenID Connect discovery are supported", Must, &["MCP §3", "MCP §4.3"],
                "auth/metadata-default serves only RFC 8414 metadata, auth/pkce-methods-missing-oidc only an OpenID configuration → in both the client fetches the document that is served."),
            asm01,
        ),
        check(
            meta("CL-ASM-02.rfc8414-path", "Path issuer: RFC 8414 path insertion is tried first", Must, &["MCP §4.3", "RFC 8414 §3.1"],
                "auth/pkce-methods-missing (auth/metadata-var2's discovery): issuer /tenant1, metadata only at /.well-known/oauth-authorization-server/tenant1 → probes are a prefix of the MCP order ending there; the root metadata URL is never requested."),
            |m, o| asm02(m, o, PKCE_METHODS_MISSING, 1),
        ),
        check(
            meta("CL-ASM-02.oidc-path-inserted", "Path issuer: OpenID path insertion is tried second", Must, &["MCP §4.3", "RFC 8414 §5"],
                "auth/state-tampered: issuer /tenant1, metadata only at /.well-known/openid-configuration/tenant1 → probes [RFC 8414 path-inserted, OIDC path-inserted]; no root probe."),
            |m, o| asm02(m, o, STATE_TAMPERED, 2),
        ),
        check(
            meta("CL-ASM-02.oidc-path-appended", "Path issuer: OpenID path appending is tried third", Must, &["MCP §4.3", "OIDC Discovery §4"],
                "auth/pkce-plain-only (auth/metadata-var3's discovery): metadata only at /tenant1/.well-known/openid-configuration → probes [k1, k2, k3] in that order; no root probe."),
            |m, o| asm02(m, o, PKCE_PLAIN_ONLY, 3),
        ),
        check(
            meta("CL-ASM-03", "Root issuer: RFC 8414 before OpenID configuration", Must, &["MCP §4.3"],
                "auth/pkce-methods-missing-oidc (auth/metadata-var1's discovery): the AS serves only OpenID configuration at the root → the RFC 8414 URL is probed first, then the OpenID one."),
            asm03,
        ),
        check(
            meta("CL-ASM-04", "AS metadata whose issuer differs is not used", Must, &["RFC 8414 §3.3", "RFC 8414 §6.2", "OIDC Discovery §4.3"],
                "auth/metadata-issuer-mismatch: the metadata claims issuer https://evil.example → after fetching it, no registration, authorization or token request."),
            |m, o| {
                let s = scenario_or_return!(o, METADATA_ISSUER_MISMATCH);
                refusal(m, o, s, "fetching metadata with a foreign issuer", is_metadata_fetch,
                    "use of its endpoints", |r| matches!(r.kind, RequestKind::Authorize | RequestKind::Token { .. } | RequestKind::Register))
            },
        ),
        check(
            meta("CL-ASM-06", "AS metadata is fetched with GET", Must, &["RFC 8414 §3.1", "OIDC Discovery §4.1"],
                "Every AS metadata request in every scenario uses GET."),
            |m, o| {
                super::every(m, o, "AS metadata request", "GET",
                    |_, r| matches!(r.kind, RequestKind::AsMetadata(_) | RequestKind::AsMetadataTrap),
                    |_, r| (r.method != "GET").then(|| format!("{} {}", r.method, r.path)))
            },
        ),
    ]
}

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

fn prm01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn prm02(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn prm03_path_first(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn prm03_root_fallback(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn prm04(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn asm01(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

fn asm02(m: &CheckMeta, o: &ClientObservations, name: &str, k: u8) -> Evaluation {
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

fn asm03(m: &CheckMeta, o: &ClientObservations) -> Evaluation {
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

#[cfg(test)]
mod tests {
    use super::*;

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
