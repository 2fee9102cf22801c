//! DPoP at the authorization server (RFC 9449, SEP-1932; `--extension dpop`): when the AS advertises
//! `dpop_signing_alg_values_supported` with ES256, the suite redeems a code with an honest proof (answering a
//! `use_dpop_nonce` demand once), then refreshes the grant with one defective proof at a time (each with the
//! current nonce, so that the defect is the only reason to refuse it), and last with an honest proof.

use std::collections::BTreeMap;

use fake_idp::dpop::{self, DpopKey, ProofRequest};
use serde_json::{json, Value};

use super::{not_applicable, Ctx};
use crate::authz::oauth::{self, Client, TokenResult};
use crate::check::ObsError;
use crate::evidence::Scenario;

mcp_auth_defects::variants! {
    /// The refresh requests of the DPoP probes, in the order they are sent.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum ProofProbe {
        BadSignature = "a proof signed by another key than its jwk",
        WrongHtm = "a proof with htm GET",
        WrongHtu = "a proof whose htu is the authorization endpoint",
        StaleIat = "a proof made an hour ago",
        Replay = "the redemption's proof sent again (same jti)",
        PrivateKey = "a proof whose jwk carries a private member `d`",
        AlgNone = "a proof with alg none",
        Hs256 = "a proof with alg HS256 (symmetric)",
        OtherKey = "a refresh of the bound refresh token with a proof by another key",
        NoNonce = "a proof without the nonce the AS demanded",
        WrongNonce = "a proof with a nonce the AS never issued",
        Honest = "an honest proof with the current nonce",
    }
}

/// What the DPoP probes saw.
#[derive(Debug, Clone)]
pub struct DpopObs {
    /// The thumbprint of the suite's proof key.
    pub jkt: String,
    /// The first redemption (its proof carried no nonce), when the AS answered it with `use_dpop_nonce`.
    pub nonce_demand: Option<TokenResult>,
    /// The redemption with an honest proof (the retry with the nonce, when one was demanded).
    pub valid: TokenResult,
    /// Whether the client is public (RFC 9449 §5 binds public clients' refresh tokens).
    pub public_client: bool,
    /// The refresh probes; `Err` when they could not run (no refresh token).
    pub probes: Result<BTreeMap<ProofProbe, TokenResult>, ObsError>,
}

impl DpopObs {
    /// The nonce the AS demanded, if it demanded one.
    pub fn demanded_nonce(&self) -> Option<&str> {
        self.nonce_demand
            .as_ref()
            .filter(|t| t.oauth_error() == Some("use_dpop_nonce"))
            .and_then(|t| t.header("dpop-nonce"))
    }
}

/// Whether the metadata advertises DPoP with ES256 (the suite's proof algorithm).
fn advertised(ctx: &Ctx) -> Result<(), ObsError> {
    let Some(algs) = ctx
        .endpoints
        .metadata
        .get("dpop_signing_alg_values_supported")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return Err(not_applicable(
            "the AS metadata does not advertise dpop_signing_alg_values_supported",
        ));
    };
    if !algs.iter().any(|a| a == "ES256") {
        return Err(not_applicable(
            "the AS's dpop_signing_alg_values_supported does not list ES256, the suite's proof algorithm",
        ));
    }
    Ok(())
}

/// The DPoP probes (`--extension dpop`).
pub async fn dpop_probes(ctx: &Ctx) -> Result<DpopObs, ObsError> {
    advertised(ctx)?;
    let sc = Scenario::new("dpop");
    let client = ctx.client_a.clone();
    let key = DpopKey::generate();
    let other = DpopKey::generate();
    let token_url = ctx.endpoints.token.clone();
    let honest = |nonce: Option<&str>| {
        key.proof(&ProofRequest {
            htm: "POST",
            htu: &token_url,
            iat: dpop::unix_now(),
            nonce,
            ..ProofRequest::default()
        })
    };
    let flow = ctx.flow(&sc, &client, &ctx.scope, &[], false).await?;
    let code = flow.code().unwrap_or_default().to_owned();
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code),
        ("redirect_uri", client.redirect_uri.clone()),
        ("resource", ctx.resource.clone()),
        ("code_verifier", flow.pkce.verifier.clone()),
    ];
    let first_proof = honest(None);
    let first = send(
        ctx,
        &sc,
        "redeem the code with a DPoP proof",
        &client,
        form.clone(),
        &first_proof,
    )
    .await;
    let (nonce_demand, valid, redeemed_proof) = match first.header("dpop-nonce") {
        Some(n) if first.oauth_error() == Some("use_dpop_nonce") => {
            // RFC 9449 §8: the retry carries the nonce; the code was not consumed by the demand.
            let p = honest(Some(n));
            let retry = send(
                ctx,
                &sc,
                "redeem the code with a DPoP proof and the AS's nonce",
                &client,
                form,
                &p,
            )
            .await;
            (Some(first), retry, p)
        }
        _ => (None, first, first_proof),
    };
    if !valid.ok() {
        return Err(ObsError::target_because(
            format!(
                "a code redemption with a valid DPoP proof failed: {}",
                valid.describe()
            ),
            [valid.exchange.clone()],
            valid.cause(),
        ));
    }
    let mut nonce = latest_nonce(&valid).or(nonce_demand
        .as_ref()
        .and_then(|t| t.header("dpop-nonce").map(str::to_owned)));
    let probes = match valid.refresh_token() {
        None => Err(not_applicable(
            "the AS issued no refresh token under DPoP; the proof probes ride on refresh requests",
        )),
        Some(rt) => {
            let mut rt = rt.to_owned();
            let mut seen = BTreeMap::new();
            for probe in ProofProbe::ALL.iter().copied() {
                let demanded = nonce_demand.is_some();
                if matches!(probe, ProofProbe::NoNonce | ProofProbe::WrongNonce) && !demanded {
                    continue;
                }
                let n = nonce.clone();
                let proof = forge(
                    probe,
                    &key,
                    &other,
                    &token_url,
                    n.as_deref(),
                    &redeemed_proof,
                );
                let form = vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", rt.clone()),
                ];
                let t = send(ctx, &sc, probe.describe(), &client, form, &proof).await;
                if let Some(n) = latest_nonce(&t) {
                    nonce = Some(n);
                }
                if let Some(next) = t.refresh_token().filter(|_| t.ok()) {
                    rt = next.to_owned();
                }
                seen.insert(probe, t);
            }
            Ok(seen)
        }
    };
    Ok(DpopObs {
        jkt: key.thumbprint(),
        nonce_demand,
        valid,
        public_client: client.secret.is_none(),
        probes,
    })
}

fn latest_nonce(t: &TokenResult) -> Option<String> {
    t.header("dpop-nonce").map(str::to_owned)
}

async fn send(
    ctx: &Ctx,
    sc: &Scenario,
    purpose: &str,
    client: &Client,
    form: Vec<(&'static str, String)>,
    proof: &str,
) -> TokenResult {
    oauth::dpop_token_request(
        &ctx.http,
        sc,
        purpose,
        &ctx.endpoints.token,
        client,
        form,
        proof,
    )
    .await
}

/// The proof of one probe: honest in every respect but the probe's defect.
fn forge(
    probe: ProofProbe,
    key: &DpopKey,
    other: &DpopKey,
    token_url: &str,
    nonce: Option<&str>,
    redeemed: &str,
) -> String {
    let now = dpop::unix_now();
    let request = |htm, htu, iat, nonce| ProofRequest {
        htm,
        htu,
        iat,
        nonce,
        ..ProofRequest::default()
    };
    let claims = request("POST", token_url, now, nonce).claims();
    match probe {
        ProofProbe::BadSignature => other.sign(&key.proof_header(), &claims),
        ProofProbe::WrongHtm => key.proof(&request("GET", token_url, now, nonce)),
        ProofProbe::WrongHtu => {
            let elsewhere = format!("{}/elsewhere", token_url.trim_end_matches('/'));
            key.proof(&request("POST", &elsewhere, now, nonce))
        }
        ProofProbe::StaleIat => key.proof(&request("POST", token_url, now - 3600, nonce)),
        ProofProbe::Replay => redeemed.to_owned(),
        ProofProbe::PrivateKey => {
            let mut header = key.proof_header();
            header["jwk"]["d"] = json!(dpop::new_jti());
            key.sign(&header, &claims)
        }
        ProofProbe::AlgNone => dpop::unsigned_proof(&key.proof_header(), &claims),
        ProofProbe::Hs256 => {
            dpop::hs256_proof(b"conformance-shared-secret", &key.proof_header(), &claims)
        }
        ProofProbe::OtherKey => other.proof(&request("POST", token_url, now, nonce)),
        ProofProbe::NoNonce => key.proof(&request("POST", token_url, now, None)),
        ProofProbe::WrongNonce => key.proof(&request(
            "POST",
            token_url,
            now,
            Some("conformance-unissued-nonce"),
        )),
        ProofProbe::Honest => key.proof(&request("POST", token_url, now, nonce)),
    }
}
