//! Certificate checks (`--tls-profile strict` only; catalog rows with `tls = "strict"`): CL-PRM-08, CL-ASM-05,
//! CL-TOK-04. In each certificate world one origin presents a certificate the client must refuse; the client
//! must send nothing past the TLS handshake there. PASS needs the refusal itself (a handshake the origin saw
//! fail) and the baseline world completed over https with the same test CA (a client that cannot do TLS at all
//! proves nothing by refusing); any request that reached the origin is a FAIL; a client that never connected to
//! the origin is an ERROR.

use fake_idp::client_world::{LoggedRequest, Origin, RequestKind};
use mcp_auth_reports::Level::Must;

use super::{baseline_or_error, meta, ClientCheck};
use crate::check::{Check, CheckMeta, Evaluation};
use crate::client::obs::ClientObservations;
use crate::client::scenarios::{TLS_UNTRUSTED_AS, TLS_UNTRUSTED_MCP, TLS_WRONG_HOST_MCP};
use crate::scenario_or_return;

/// Every certificate check, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![
        Box::new(CL_PRM_08),
        Box::new(CL_ASM_05),
        Box::new(CL_TOK_04),
    ]
}

/// A certificate the client must refuse: in `scenario`, `origin` presents it.
pub struct CertificateRefused {
    pub meta: CheckMeta,
    pub scenario: &'static str,
    pub origin: Origin,
    /// The certificate, for the texts ("a wrong-host certificate").
    pub certificate: &'static str,
}

/// CL-PRM-08: the PRM origin's certificate is checked (host name).
const CL_PRM_08: CertificateRefused = CertificateRefused {
    meta: meta("CL-PRM-08", "TLS certificate checks when fetching PRM", Must, &["RFC 9728 §7.3"],
        text!(TLS_WRONG_HOST_MCP, ": the MCP origin, which serves the PRM, presents a certificate of the trusted test CA issued for another host name → the client aborts the handshake: nothing reaches that origin (so no PRM is fetched and no AS is contacted).")),
    scenario: TLS_WRONG_HOST_MCP,
    origin: Origin::Mcp,
    certificate: "a wrong-host certificate (trusted CA, another host name)",
};

/// CL-ASM-05: the AS metadata fetch checks the certificate (chain).
const CL_ASM_05: CertificateRefused = CertificateRefused {
    meta: meta("CL-ASM-05", "TLS certificate checks on the AS metadata fetch", Must, &["RFC 8414 §6.2"],
        text!(TLS_UNTRUSTED_AS, ": the MCP origin is honest; the authorization server presents a certificate from a CA the client was never given → after reading the PRM, the client aborts the handshake with the AS: no metadata request (nor any other) reaches it.")),
    scenario: TLS_UNTRUSTED_AS,
    origin: Origin::As(0),
    certificate: "an untrusted certificate (right names, unknown CA)",
};

/// CL-TOK-04: no request (and so no bearer token) goes over a connection whose chain does not validate.
const CL_TOK_04: CertificateRefused = CertificateRefused {
    meta: meta("CL-TOK-04", "TLS with a validated certificate chain on every request carrying a bearer token", Must, &["OAuth 2.1 §7.1.3.2", "OAuth 2.1 §7.1.3.3"],
        text!(TLS_UNTRUSTED_MCP, ": the MCP server presents a certificate with the right names from a CA the client was never given → the client aborts the handshake: no request reaches the MCP server, so no token is ever sent over that connection.")),
    scenario: TLS_UNTRUSTED_MCP,
    origin: Origin::Mcp,
    certificate: "an untrusted certificate (right names, unknown CA)",
};

fn origin_name(o: Origin) -> String {
    match o {
        Origin::Mcp => "the MCP origin".to_owned(),
        Origin::As(i) => format!("authorization server {i}"),
    }
}

fn carries_token(r: &LoggedRequest) -> bool {
    matches!(&r.kind, RequestKind::Mcp { token: Some(_), .. })
        || r.header("authorization").is_some()
}

impl Check<ClientObservations> for CertificateRefused {
    fn meta(&self) -> &CheckMeta {
        &self.meta
    }

    fn evaluate(&self, o: &ClientObservations) -> Evaluation {
        let s = scenario_or_return!(o, self.scenario);
        let at = origin_name(self.origin);
        let expected = format!(
            "{at} presents {}: the client refuses the handshake and sends it nothing",
            self.certificate
        );
        let reached: Vec<&LoggedRequest> =
            s.log.iter().filter(|r| r.origin == self.origin).collect();
        if let Some(first) = reached.first() {
            let tokens = reached.iter().filter(|r| carries_token(r)).count();
            let token_note = match tokens {
                0 => String::new(),
                n => format!(", {n} of them carrying a token"),
            };
            return Evaluation::violated(
                self.meta.level,
                expected,
                format!(
                    "the client accepted {} and sent {at} {} request(s){token_note}; the first: {} {} (#{})",
                    self.certificate,
                    reached.len(),
                    first.method,
                    first.path,
                    first.seq
                ),
            )
            .with_evidence(reached.iter().take(3).map(|r| s.id(r)))
            .with_scenario(s.def.name);
        }
        let refusals: Vec<_> = s
            .tls_refusals
            .iter()
            .filter(|r| r.origin == self.origin)
            .collect();
        let Some(refusal) = refusals.first() else {
            return Evaluation::error(format!(
                "{}: the client never opened a connection to {at}, so it never met the certificate; {}",
                s.def.name,
                s.progress()
            ))
            .with_evidence(s.log.last().map(|r| s.id(r)))
            .with_scenario(s.def.name);
        };
        if let Some(e) = baseline_or_error(o, s.def.name) {
            return e;
        }
        Evaluation::pass(
            expected,
            format!(
                "{} handshake(s) with {at} refused ({}); no request reached it; {}",
                refusals.len(),
                refusal.reason,
                s.run.exit.describe()
            ),
        )
        .with_evidence(s.log.last().map(|r| s.id(r)))
        .with_scenario(s.def.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::obs::testing::{append, compliant, target_failure, world};
    use fake_idp::client_world::TlsRefusal;
    use mcp_auth_reports::Verdict;

    const ALL: [&CertificateRefused; 3] = [&CL_PRM_08, &CL_ASM_05, &CL_TOK_04];

    #[test]
    fn a_client_refusing_every_bad_certificate_passes_all_three() {
        let o = compliant();
        for c in ALL {
            let e = c.evaluate(&o);
            assert_eq!(e.verdict, Verdict::Pass, "{}: {e:?}", c.meta.id);
            assert!(e.actual.contains("refused"), "{}", e.actual);
        }
    }

    #[test]
    fn cl_prm_08_fails_when_the_wrong_host_origin_receives_a_request() {
        let mut o = compliant();
        let s = world(&mut o, TLS_WRONG_HOST_MCP);
        s.tls_refusals.clear();
        append(
            s,
            Origin::Mcp,
            "GET",
            "/.well-known/oauth-protected-resource/mcp",
            RequestKind::PrmTrap,
        );
        let e = CL_PRM_08.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("accepted a wrong-host certificate"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn cl_asm_05_fails_when_the_untrusted_as_receives_a_metadata_request() {
        let mut o = compliant();
        let s = world(&mut o, TLS_UNTRUSTED_AS);
        append(
            s,
            Origin::As(0),
            "GET",
            "/.well-known/oauth-authorization-server",
            RequestKind::AsMetadataTrap,
        );
        assert_eq!(CL_ASM_05.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn cl_tok_04_fails_and_counts_the_tokens_sent_to_the_untrusted_mcp_server() {
        let mut o = compliant();
        let s = world(&mut o, TLS_UNTRUSTED_MCP);
        let r = append(
            s,
            Origin::Mcp,
            "POST",
            "/mcp",
            RequestKind::Mcp {
                method: Some("initialize".into()),
                token: Some("tok".into()),
                token_issuer: Some(0),
                token_valid: true,
            },
        );
        r.headers
            .push(("authorization".into(), "Bearer tok".into()));
        let e = CL_TOK_04.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(
            e.actual.contains("1 of them carrying a token"),
            "{}",
            e.actual
        );
    }

    #[test]
    fn a_client_that_never_connected_to_the_bad_origin_is_error_not_pass() {
        let mut o = compliant();
        for c in ALL {
            world(&mut o, c.scenario).tls_refusals.clear();
            assert_eq!(c.evaluate(&o).verdict, Verdict::Error, "{}", c.meta.id);
        }
    }

    #[test]
    fn a_refusal_proves_nothing_when_the_client_cannot_complete_the_baseline_over_tls() {
        let mut o = compliant();
        o.scenarios
            .insert(crate::client::checks::BASELINE, Err(target_failure()));
        for c in ALL {
            assert_eq!(c.evaluate(&o).verdict, Verdict::Error, "{}", c.meta.id);
        }
    }

    #[test]
    fn a_missing_certificate_world_is_error() {
        let mut o = compliant();
        o.scenarios.insert(TLS_UNTRUSTED_AS, Err(target_failure()));
        assert_eq!(CL_ASM_05.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn the_refusal_reason_is_reported_as_recorded() {
        let mut o = compliant();
        world(&mut o, TLS_UNTRUSTED_MCP).tls_refusals = vec![TlsRefusal {
            origin: Origin::Mcp,
            reason: "received fatal alert: UnknownCA".into(),
        }];
        let e = CL_TOK_04.evaluate(&o);
        assert!(e.actual.contains("UnknownCA"), "{}", e.actual);
    }
}
