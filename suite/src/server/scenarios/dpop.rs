//! DPoP at the MCP server (RFC 9449 §7, SEP-1932), run only with `--extension dpop`: the suite mints a token
//! bound to a fresh key (`cnf.jkt`) and presents it at `initialize` once honestly (DPoP scheme, valid proof), then
//! once per way a proof or its use can be wrong. The replay resends the honest request's proof, so it runs after
//! it; the other probes run concurrently.

use std::collections::BTreeMap;

use fake_idp::dpop::{DpopKey, ProofRequest};

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::server::ctx::{Auth, Ctx, Probe};

mcp_auth_defects::variants! {
    /// Every DPoP presentation the suite makes (`ALL` and `describe()` are generated).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum DpopStimulus {
        Honest = "a DPoP-bound token with `Authorization: DPoP` and a valid proof",
        AsBearer = "a DPoP-bound token presented as `Bearer` without a proof",
        NoProof = "a DPoP-bound token with `Authorization: DPoP` and no DPoP proof header",
        BadSignature = "a proof whose signature does not verify with the key in its header",
        WrongAth = "a proof whose ath is the hash of another access token",
        WrongHtm = "a proof made for GET, sent with a POST",
        WrongHtu = "a proof made for another URI on the same server",
        OtherKey = "a valid proof signed by a key other than the token's cnf.jkt",
        StaleIat = "a proof whose iat is an hour in the past",
        Replay = "the honest request's proof sent again with a second request",
    }
}

/// How old the stale proof is.
pub const STALE_SECS: i64 = 3600;

/// What the DPoP probes saw.
#[derive(Debug, Clone)]
pub struct DpopObs {
    /// The thumbprint the bound token names.
    pub jkt: String,
    pub probes: BTreeMap<DpopStimulus, Result<Probe, ObsError>>,
}

impl DpopObs {
    /// The probe of a stimulus (every stimulus is probed; a missing one is a suite bug).
    pub fn probe(&self, s: DpopStimulus) -> &Result<Probe, ObsError> {
        static MISSING: std::sync::LazyLock<Result<Probe, ObsError>> =
            std::sync::LazyLock::new(|| {
                Err(ObsError::Harness("no DPoP probe was recorded".into()))
            });
        self.probes.get(&s).unwrap_or(&MISSING)
    }
}

/// Runs every DPoP probe.
pub async fn probe_all(ctx: &Ctx<'_>) -> Result<DpopObs, ObsError> {
    let scenario = Scenario::new("dpop");
    let sc = &scenario;
    let key = DpopKey::generate();
    let jkt = key.thumbprint();
    let token = ctx.bound_token(ctx.full_user(), &jkt)?;
    let honest_proof = proof(ctx, &key, &token, |_| {});
    let honest = Auth::Dpop {
        token: token.clone(),
        proof: Some(honest_proof),
    };
    let mut probes = BTreeMap::new();
    let first = ctx
        .initialize(sc, DpopStimulus::Honest.describe(), &honest)
        .await;
    probes.insert(DpopStimulus::Honest, first);
    let replay = ctx
        .initialize(sc, DpopStimulus::Replay.describe(), &honest)
        .await;
    probes.insert(DpopStimulus::Replay, replay);
    let others = DpopStimulus::ALL
        .into_iter()
        .filter(|s| !matches!(s, DpopStimulus::Honest | DpopStimulus::Replay))
        .map(|s| {
            let auth = credential(ctx, s, &key, &token);
            async move { (s, ctx.initialize(sc, s.describe(), &auth).await) }
        });
    probes.extend(futures::future::join_all(others).await);
    Ok(DpopObs { jkt, probes })
}

/// The credential of a stimulus other than the honest request and its replay.
fn credential(ctx: &Ctx<'_>, s: DpopStimulus, key: &DpopKey, token: &str) -> Auth {
    let with = |proof: String| Auth::Dpop {
        token: token.to_owned(),
        proof: Some(proof),
    };
    match s {
        DpopStimulus::AsBearer => Auth::Bearer(token.to_owned()),
        DpopStimulus::NoProof => Auth::Dpop {
            token: token.to_owned(),
            proof: None,
        },
        DpopStimulus::BadSignature => {
            // Signed by another key, but the header names the bound key: the signature cannot verify.
            let other = DpopKey::generate();
            let claims = request(ctx, token).claims();
            let forged = other.sign(&key.proof_header(), &claims);
            ctx.http.register_secret(&forged);
            with(forged)
        }
        DpopStimulus::WrongAth => with(proof(ctx, key, "another-access-token", |_| {})),
        DpopStimulus::WrongHtm => with(proof(ctx, key, token, |r| r.htm = "GET")),
        DpopStimulus::WrongHtu => {
            let other = format!("{}/other", ctx.target.trim_end_matches('/'));
            let p = {
                let mut r = request(ctx, token);
                r.htu = &other;
                key.proof(&r)
            };
            ctx.http.register_secret(&p);
            with(p)
        }
        DpopStimulus::OtherKey => with(proof(ctx, &DpopKey::generate(), token, |_| {})),
        DpopStimulus::StaleIat => with(proof(ctx, key, token, |r| r.iat -= STALE_SECS)),
        DpopStimulus::Honest | DpopStimulus::Replay => with(proof(ctx, key, token, |_| {})),
    }
}

/// The honest proof request for a POST to the MCP endpoint with `token`.
fn request<'a>(ctx: &'a Ctx<'_>, token: &'a str) -> ProofRequest<'a> {
    ProofRequest {
        htm: "POST",
        htu: &ctx.target,
        iat: unix_now(),
        access_token: Some(token),
        nonce: None,
    }
}

/// A proof by `key` for a POST with `token`, after `change` edits the request; registered as a secret (a proof
/// is a credential for its lifetime, so reports show it only redacted).
fn proof(
    ctx: &Ctx<'_>,
    key: &DpopKey,
    token: &str,
    change: impl FnOnce(&mut ProofRequest<'_>),
) -> String {
    let mut r = request(ctx, token);
    change(&mut r);
    let p = key.proof(&r);
    ctx.http.register_secret(&p);
    p
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
