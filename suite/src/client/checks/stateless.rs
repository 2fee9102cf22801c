//! Stateless MCP (2026-07-28, SEP-2575) as the client speaks it: CL-SL-*. The worlds' MCP endpoint is dual-era and
//! lenient (it serves either shape), so these checks judge what the client sent, from the log.

use fake_idp::client_world::{LoggedRequest, RequestKind};
use mcp_auth_reports::Level::Must;
use serde_json::Value;

use super::{meta, ClientCheck, Every};
use crate::client::obs::ScenarioObs;
use crate::spec::SpecVersion;
use crate::wire::stateless::request_problem;

/// Every stateless-MCP check, in report order.
pub fn checks() -> Vec<Box<ClientCheck>> {
    vec![Box::new(CL_SL_01), Box::new(CL_SL_02)]
}

/// The JSON-RPC request (with `method` and `id`, not a notification) a request to the MCP endpoint carried.
fn rpc_request(r: &LoggedRequest) -> Option<Value> {
    if !matches!(r.kind, RequestKind::Mcp { .. }) || r.method != "POST" {
        return None;
    }
    let body: Value = serde_json::from_str(&r.body).ok()?;
    (body.get("method").is_some_and(Value::is_string) && body.get("id").is_some()).then_some(body)
}

/// CL-SL-01: every MCP request carries the per-request `_meta` and the standard headers.
const CL_SL_01: Every = Every {
    meta: meta(
        "CL-SL-01",
        "Every MCP request carries the per-request _meta and the standard headers (stateless MCP)",
        Must,
        &["SEP-2575 (per-request _meta)", "SEP-2243 (MCP-Protocol-Version, Mcp-Method)"],
        "At 2026-07-28, in every world, each JSON-RPC request to the MCP endpoint (before and after authorization) carries params._meta with io.modelcontextprotocol/protocolVersion = 2026-07-28 and clientCapabilities, the MCP-Protocol-Version header equal to it, and Mcp-Method equal to the method.",
    ),
    what: "MCP request",
    expected: "params._meta {protocolVersion: 2026-07-28, clientCapabilities}, MCP-Protocol-Version and Mcp-Method headers",
    select: |_: &ScenarioObs, r: &LoggedRequest| rpc_request(r).is_some(),
    problem: |_: &ScenarioObs, r: &LoggedRequest| {
        let body = rpc_request(r)?;
        request_problem(&r.headers, &body, SpecVersion::V2026_07_28.as_str())
    },
};

/// CL-SL-02: no `initialize` at a stateless revision.
const CL_SL_02: Every = Every {
    meta: meta(
        "CL-SL-02",
        "No initialize handshake under stateless MCP",
        Must,
        &["SEP-2575 (no initialize)"],
        "At 2026-07-28, in every world, no JSON-RPC request to the MCP endpoint is `initialize`: the revision has no handshake, and a modern-only server rejects it.",
    ),
    what: "MCP request",
    expected: "no initialize (per-request metadata instead)",
    select: |_: &ScenarioObs, r: &LoggedRequest| rpc_request(r).is_some(),
    problem: |_: &ScenarioObs, r: &LoggedRequest| {
        let body = rpc_request(r)?;
        (body["method"] == "initialize").then(|| {
            "initialize sent: a legacy handshake where 2026-07-28 has none".to_owned()
        })
    },
};

#[cfg(test)]
mod tests {
    use mcp_auth_reports::Verdict;
    use serde_json::json;

    use super::*;
    use crate::check::Check;
    use crate::client::obs::testing::{compliant, world};
    use crate::client::obs::ClientObservations;
    use crate::client::scenarios::METADATA_DEFAULT;
    use crate::wire::stateless::{headers, with_meta};

    const V: &str = "2026-07-28";

    /// The compliant record as a stateless client makes it: `server/discover` instead of `initialize`, `_meta`
    /// and the standard headers on every request.
    fn stateless() -> ClientObservations {
        let mut o = compliant();
        for s in o.scenarios.values_mut().flatten() {
            for r in s.log.iter_mut() {
                let Some(mut body) = rpc_request(r) else {
                    continue;
                };
                if body["method"] == "initialize" {
                    body["method"] = json!("server/discover");
                }
                let body = with_meta(body, V, &json!({"name": "c"}));
                for (k, v) in headers(&body, V) {
                    r.headers.push((k.to_owned(), v));
                }
                r.body = body.to_string();
            }
        }
        o
    }

    fn first_rpc(o: &mut ClientObservations) -> &mut LoggedRequest {
        world(o, METADATA_DEFAULT)
            .log
            .iter_mut()
            .find(|r| rpc_request(r).is_some())
            .expect("an MCP request")
    }

    #[test]
    fn cl_sl_01_passes_when_every_request_carries_meta_and_headers() {
        let e = CL_SL_01.evaluate(&stateless());
        assert_eq!(e.verdict, Verdict::Pass, "{e:?}");
    }

    #[test]
    fn cl_sl_01_fails_on_a_request_without_meta() {
        let mut o = stateless();
        let r = first_rpc(&mut o);
        let mut body: Value = serde_json::from_str(&r.body).unwrap();
        body["params"].as_object_mut().unwrap().remove("_meta");
        r.body = body.to_string();
        let e = CL_SL_01.evaluate(&o);
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains("without params._meta"), "{}", e.actual);
    }

    #[test]
    fn cl_sl_01_fails_when_the_version_header_is_missing() {
        let mut o = stateless();
        first_rpc(&mut o)
            .headers
            .retain(|(k, _)| k != "mcp-protocol-version");
        assert_eq!(CL_SL_01.evaluate(&o).verdict, Verdict::Fail);
    }

    #[test]
    fn cl_sl_01_is_an_error_when_no_mcp_request_was_made() {
        let mut o = stateless();
        for s in o.scenarios.values_mut().flatten() {
            s.log.retain(|r| rpc_request(r).is_none());
        }
        assert_eq!(CL_SL_01.evaluate(&o).verdict, Verdict::Error);
    }

    #[test]
    fn cl_sl_02_passes_without_initialize() {
        assert_eq!(CL_SL_02.evaluate(&stateless()).verdict, Verdict::Pass);
    }

    #[test]
    fn cl_sl_02_fails_on_an_initialize() {
        let e = CL_SL_02.evaluate(&compliant());
        assert_eq!(e.verdict, Verdict::Fail, "{e:?}");
        assert!(e.actual.contains("initialize sent"), "{}", e.actual);
    }
}
