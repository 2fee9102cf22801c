//! On-behalf-of calls: the server's upstream tools, with the fake upstream API recording what it received
//! (RS-PASS-01, RS-OBO-*).

use fake_idp::UpstreamRequest;

use crate::check::ObsError;
use crate::evidence::Scenario;
use crate::http::{Request, Response};
use crate::server::ctx::{Auth, Ctx, Probe};
use crate::server::obs::{UpstreamCall, UpstreamObs};

/// Calls the profile's upstream tools: the full user reads and writes, the read-only user writes.
pub async fn upstream(ctx: &Ctx<'_>) -> Result<UpstreamObs, ObsError> {
    let (Some(read), Some(_)) = (
        &ctx.profile.tools.upstream_read,
        &ctx.profile.tools.upstream_write,
    ) else {
        return Err(ObsError::NotApplicable(
            "the profile names no upstream tools ([tools.upstream_read] / [tools.upstream_write])"
                .into(),
        ));
    };
    let Some(api) = ctx.upstream else {
        return Err(ObsError::Harness(
            "the fake upstream API is not running".into(),
        ));
    };
    let sc = Scenario::new("upstream");
    let read = read.clone();
    let write = ctx
        .profile
        .tools
        .upstream_write
        .clone()
        .expect("checked above");
    let full = ctx.full_user().to_owned();
    let ro = ctx.read_only_user().to_owned();
    let read_call = call(
        ctx,
        &sc,
        &full,
        &read.name,
        &read.arguments,
        "upstream read tool as the full user",
    )
    .await?;
    let marker = ctx.marker("upstream-write");
    let args = ctx
        .profile
        .upstream_write_arguments(&marker)
        .unwrap_or_default();
    let write_read_only = call(
        ctx,
        &sc,
        &ro,
        &write.name,
        &args,
        "upstream write tool as the read-only user",
    )
    .await?;
    let marker_full = ctx.marker("upstream-write-full");
    let args_full = ctx
        .profile
        .upstream_write_arguments(&marker_full)
        .unwrap_or_default();
    let write_full = call(
        ctx,
        &sc,
        &full,
        &write.name,
        &args_full,
        "upstream write tool as the full user",
    )
    .await?;
    let _ = api;
    Ok(UpstreamObs {
        resource: api.resource(),
        read: read_call,
        write_read_only,
        write_full,
    })
}

/// One tool call, with what the upstream received while it ran.
async fn call(
    ctx: &Ctx<'_>,
    sc: &Scenario,
    user: &str,
    tool: &str,
    arguments: &serde_json::Value,
    purpose: &str,
) -> Result<UpstreamCall, ObsError> {
    let api = ctx.upstream.expect("checked by the caller");
    let token = ctx.token(user)?;
    let session = ctx.open_session(sc, &token).await?;
    let before = api.requests().len();
    let probe: Probe = ctx
        .call_tool(
            sc,
            purpose,
            &Auth::Bearer(token.clone()),
            &session,
            tool,
            arguments,
        )
        .await?;
    if api.overflowed() {
        return Err(ObsError::target(
            format!(
                "the server made more than {} requests to the upstream API; it stopped recording, so nothing after that can be judged",
                fake_idp::upstream::REQUEST_LIMIT
            ),
            [],
        ));
    }
    let received: Vec<UpstreamRequest> = api.requests().into_iter().skip(before).collect();
    let mut exchanges = Vec::new();
    for r in &received {
        let id = format!("upstream-api#{}", r.seq);
        let mut req = Request::method(
            reqwest::Method::from_bytes(r.method.as_bytes()).unwrap_or(reqwest::Method::GET),
            format!(
                "{}{}{}",
                api.resource().trim_end_matches("/api"),
                r.path,
                if r.query.is_empty() {
                    String::new()
                } else {
                    format!("?{}", r.query)
                }
            ),
        );
        req.headers = r.headers.clone();
        req.body = (!r.body.is_empty()).then(|| r.body.clone());
        ctx.http.record_observed(
            &id,
            "received by the fake upstream API",
            &req,
            Response {
                status: r.status,
                headers: Vec::new(),
                body: Vec::new(),
            },
        );
        exchanges.push(id);
    }
    Ok(UpstreamCall {
        user: user.to_owned(),
        client_token: token,
        probe,
        received,
        exchanges,
    })
}
