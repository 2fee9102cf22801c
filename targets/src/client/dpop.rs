//! DPoP in the reference client (RFC 9449, SEP-1932): when the AS advertises ES256 in
//! `dpop_signing_alg_values_supported`, the client holds one fresh P-256 key for the run, sends a proof with every
//! token request, presents a `token_type: DPoP` token with `Authorization: DPoP` and a fresh proof per request, and
//! retries once with the server's nonce on `use_dpop_nonce` (RFC 9449 §8, §9). Proofs are made by
//! [`fake_idp::dpop`].

use std::sync::Mutex;

use fake_idp::dpop::{DpopKey, ProofRequest};

use super::defects::{ClientDefect, DefectExt as _};

/// The client's DPoP state: the key, the last nonce each server sent, and (for `dpop-reuse-proof`) the first
/// resource proof.
#[derive(Debug)]
pub(crate) struct Dpop {
    key: DpopKey,
    defect: Option<ClientDefect>,
    as_nonce: Mutex<Option<String>>,
    rs_nonce: Mutex<Option<String>>,
    reused: Mutex<Option<String>>,
}

/// Which server a nonce belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Party {
    As,
    Rs,
}

impl Dpop {
    /// DPoP for an AS whose metadata lists `algs`: `None` unless ES256 is among them.
    pub(crate) fn for_algs(algs: Option<&[String]>, defect: Option<ClientDefect>) -> Option<Dpop> {
        algs?.iter().any(|a| a == "ES256").then(|| Dpop {
            key: DpopKey::generate(),
            defect,
            as_nonce: Mutex::new(None),
            rs_nonce: Mutex::new(None),
            reused: Mutex::new(None),
        })
    }

    fn slot(&self, party: Party) -> &Mutex<Option<String>> {
        match party {
            Party::As => &self.as_nonce,
            Party::Rs => &self.rs_nonce,
        }
    }

    /// Remembers a server's nonce (from a `DPoP-Nonce` header).
    pub(crate) fn set_nonce(&self, party: Party, nonce: &str) {
        *self.slot(party).lock().unwrap_or_else(|e| e.into_inner()) = Some(nonce.to_owned());
    }

    fn nonce(&self, party: Party) -> Option<String> {
        self.slot(party)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the client answers a `use_dpop_nonce` challenge of `party` (not under its defect).
    pub(crate) fn honours_nonce(&self, party: Party) -> bool {
        !match party {
            Party::As => self.defect.is(ClientDefect::DpopIgnoreAsNonce),
            Party::Rs => self.defect.is(ClientDefect::DpopIgnoreRsNonce),
        }
    }

    /// The proof for a token request, `None` under `dpop-no-token-proof`.
    pub(crate) fn token_proof(&self, token_endpoint: &str) -> Option<String> {
        if self.defect.is(ClientDefect::DpopNoTokenProof) {
            return None;
        }
        let nonce = self.nonce(Party::As);
        Some(self.key.proof(&ProofRequest {
            htm: "POST",
            htu: token_endpoint,
            iat: unix_now(),
            access_token: None,
            nonce: nonce.as_deref(),
        }))
    }

    /// The proof for a POST of `token` to the MCP endpoint (the first one again under `dpop-reuse-proof`).
    pub(crate) fn resource_proof(&self, mcp_url: &str, token: &str) -> String {
        let nonce = self.nonce(Party::Rs);
        let fresh = || {
            self.key.proof(&ProofRequest {
                htm: "POST",
                htu: mcp_url,
                iat: unix_now(),
                access_token: Some(token),
                nonce: nonce.as_deref(),
            })
        };
        if !self.defect.is(ClientDefect::DpopReuseProof) {
            return fresh();
        }
        self.reused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(fresh)
            .clone()
    }

    /// The scheme a DPoP-bound token is presented with (`Bearer` under `dpop-bearer-scheme`).
    pub(crate) fn scheme(&self) -> &'static str {
        if self.defect.is(ClientDefect::DpopBearerScheme) {
            "Bearer"
        } else {
            "DPoP"
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dpop(defect: Option<ClientDefect>) -> Dpop {
        Dpop::for_algs(Some(&["ES256".to_owned()]), defect).unwrap()
    }

    #[test]
    fn dpop_is_used_only_when_the_as_lists_es256() {
        assert!(Dpop::for_algs(None, None).is_none());
        assert!(Dpop::for_algs(Some(&["RS256".to_owned()]), None).is_none());
    }

    #[test]
    fn each_resource_proof_is_fresh_unless_the_defect_reuses_the_first() {
        let d = dpop(None);
        assert_ne!(
            d.resource_proof("http://x/mcp", "t"),
            d.resource_proof("http://x/mcp", "t")
        );
        let d = dpop(Some(ClientDefect::DpopReuseProof));
        assert_eq!(
            d.resource_proof("http://x/mcp", "t"),
            d.resource_proof("http://x/mcp", "t")
        );
    }

    #[test]
    fn the_nonce_a_server_sent_goes_into_the_next_proof() {
        let d = dpop(None);
        d.set_nonce(Party::As, "n1");
        let proof = d.token_proof("http://x/token").unwrap();
        assert_eq!(
            fake_idp::dpop::summary(&proof).unwrap().nonce.as_deref(),
            Some("n1")
        );
    }

    #[test]
    fn the_defects_drop_the_token_proof_and_the_dpop_scheme() {
        assert!(dpop(Some(ClientDefect::DpopNoTokenProof))
            .token_proof("http://x/token")
            .is_none());
        assert_eq!(
            dpop(Some(ClientDefect::DpopBearerScheme)).scheme(),
            "Bearer"
        );
        assert_eq!(dpop(None).scheme(), "DPoP");
    }
}
