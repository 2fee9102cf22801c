//! MCP responses as JSON or as an SSE stream (suite/src/wire/mcp.rs: `message`, `outcome`).

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{fuzz, hostile_json, hostile_string};
use crate::http::Response;
use crate::wire::mcp::{message, outcome};

/// One SSE event that is not a JSON-RPC response: comments, other fields, notifications, junk data,
/// JSON nested past any limit, unterminated strings.
fn other_event() -> impl Strategy<Value = Vec<String>> {
    let data = prop_oneof![
        hostile_json().prop_map(|v| {
            json!({"jsonrpc": "2.0", "method": "notifications/message", "params": v}).to_string()
        }),
        hostile_string(),
        (1..2_000usize).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        hostile_json().prop_map(|v| v.to_string()),
    ];
    prop::collection::vec(
        prop_oneof![
            data.prop_map(|d| format!("data:{d}")),
            hostile_string().prop_map(|s| format!(": {s}")),
            hostile_string().prop_map(|s| format!("event: {s}")),
            hostile_string().prop_map(|s| format!("id:{s}")),
            Just("retry: 10".to_owned()),
        ],
        1..4,
    )
    .prop_map(|lines| {
        // A line must not end the event early: newlines inside a value are this generator's
        // business only when it means them.
        lines
            .into_iter()
            .map(|l| l.replace(['\r', '\n'], " "))
            .collect()
    })
}

/// The response event: its JSON on one `data:` line or pretty-printed over many, with or without
/// the space after the colon.
fn response_event() -> impl Strategy<Value = (Value, Vec<String>)> {
    (hostile_json(), any::<bool>(), any::<bool>()).prop_map(|(result, space, pretty)| {
        let v = json!({"jsonrpc": "2.0", "id": 1, "result": result});
        let text = if pretty {
            serde_json::to_string_pretty(&v).unwrap()
        } else {
            v.to_string()
        };
        // The expectation is what serde_json reads from that text (it rounds some floats by one ulp).
        let v: Value = serde_json::from_str(&text).unwrap();
        let sp = if space { " " } else { "" };
        let lines = text.lines().map(|l| format!("data:{sp}{l}")).collect();
        (v, lines)
    })
}

fn sse(ct: &str, body: String) -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), ct.into())],
        body: body.into_bytes(),
    }
}

#[test]
fn fuzz_sse_the_response_event_is_found_among_hostile_events_with_any_line_ending() {
    let eol = prop::sample::select(vec!["\n", "\r\n", "\r"]);
    fuzz(
        "sse response among hostile events",
        256,
        (
            prop::collection::vec(other_event(), 0..4),
            response_event(),
            prop::collection::vec(other_event(), 0..2),
            eol,
        ),
        |(before, (expected, response), after, eol)| {
            let events: Vec<Vec<String>> =
                before.into_iter().chain([response]).chain(after).collect();
            let body = events
                .iter()
                .map(|e| format!("{}{eol}{eol}", e.join(eol)))
                .collect::<String>();
            let resp = sse("text/event-stream; charset=utf-8", body.clone());
            let got = message(&resp).map_err(|e| TestCaseError::fail(format!("{e}: {body:?}")))?;
            prop_assert_eq!(got, expected);
            Ok(format!("found (eol {eol:?})"))
        },
    );
}

#[test]
fn fuzz_mcp_message_never_panics_on_hostile_bodies() {
    let body = prop_oneof![
        hostile_string(),
        prop::collection::vec(other_event(), 0..6)
            .prop_map(|e| e.iter().map(|l| l.join("\n") + "\n\n").collect()),
        hostile_json().prop_map(|v| v.to_string()),
    ];
    let ct = prop::sample::select(vec![
        "text/event-stream",
        "application/json",
        "",
        "TEXT/EVENT-STREAM;x=y",
    ]);
    fuzz(
        "mcp message hostile",
        256,
        (
            body,
            ct,
            prop::sample::select(vec![200u16, 200, 202, 401, 500]),
        ),
        |(body, ct, status)| {
            let mut resp = sse(ct, body);
            resp.status = status;
            let kind = match outcome(&resp) {
                crate::wire::mcp::RpcOutcome::Served(_) => "served",
                crate::wire::mcp::RpcOutcome::ToolError(_) => "tool error",
                crate::wire::mcp::RpcOutcome::RpcError(_) => "rpc error",
                crate::wire::mcp::RpcOutcome::Unreadable(_) => "unreadable",
                crate::wire::mcp::RpcOutcome::Refused(_) => "refused",
            };
            Ok(kind.into())
        },
    );
}
