//! `list --spec-version V` lists the checks whose catalog rows that revision states: one revision per test, each
//! pinned by rows whose revisions differ (catalog/README.md §2.3-2.5).

use std::collections::BTreeSet;
use std::process::Command;

/// The check ids `list --spec-version <revision>` prints.
fn listed(revision: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
        .args(["list", "--spec-version", revision, "--json"])
        .output()
        .expect("run the CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    rows.iter()
        .map(|r| r["id"].as_str().expect("an id").to_owned())
        .collect()
}

fn assert_in(ids: &BTreeSet<String>, revision: &str, id: &str) {
    assert!(ids.contains(id), "{id} missing at {revision}");
}

fn assert_out(ids: &BTreeSet<String>, revision: &str, id: &str) {
    assert!(!ids.contains(id), "{id} listed at {revision}");
}

#[test]
fn at_2025_03_26_the_server_is_its_own_as_and_there_is_no_prm() {
    let ids = listed("2025-03-26");
    // The 401, OAuth 2.1 token validation and PKCE are already there; the 2025-03-26 discovery too.
    for id in [
        "RS-WWW-01.post",
        "RS-TOK-07.no-token",
        "CL-PKCE-04",
        "CL-BC-01",
        "CL-BC-02",
        "RS-BC-01",
        "RS-BC-02",
        "AS-RT-01",
    ] {
        assert_in(&ids, "2025-03-26", id);
    }
    // Protected resource metadata, resource indicators, SBP's session rules and CIMD are not.
    for id in [
        "RS-PRM-02",
        "RS-WWW-07",
        "RS-TOK-09",
        "CL-RES-01",
        "CL-PKCE-02",
        "CL-CIMD-01",
    ] {
        assert_out(&ids, "2025-03-26", id);
    }
}

#[test]
fn at_2025_06_18_the_401_must_name_the_prm_and_the_2025_03_26_fallbacks_are_gone() {
    let ids = listed("2025-06-18");
    for id in ["RS-PRM-02", "RS-WWW-07", "RS-AUD-01.missing", "CL-RES-01"] {
        assert_in(&ids, "2025-06-18", id);
    }
    for id in [
        "CL-BC-01",
        "CL-BC-02",
        "RS-BC-01",
        "RS-BC-02",
        "CL-PKCE-02",
        "CL-CIMD-01",
        "AS-CIMD-02.other-host",
    ] {
        assert_out(&ids, "2025-06-18", id);
    }
}

#[test]
fn at_2025_11_25_cimd_and_pkce_verification_arrive_and_the_header_is_optional() {
    let ids = listed("2025-11-25");
    for id in [
        "CL-PKCE-02",
        "CL-CIMD-01",
        "AS-CIMD-02.other-host",
        "RS-TOK-09",
    ] {
        assert_in(&ids, "2025-11-25", id);
    }
    for id in ["RS-WWW-07", "CL-BC-01"] {
        assert_out(&ids, "2025-11-25", id);
    }
}

#[test]
fn at_2026_07_28_session_ids_are_gone_and_every_request_is_still_verified() {
    let ids = listed("2026-07-28");
    // Every request is still verified (RS-WWW-01, RS-SL-01/02); the session rows (RS-TOK-07 and the GET stream and
    // DELETE of RS-WWW-08) leave the set with the sessions.
    for id in [
        "RS-WWW-01.post",
        "RS-SL-01",
        "RS-SL-02",
        "CL-PKCE-02",
        "CL-CIMD-01",
    ] {
        assert_in(&ids, "2026-07-28", id);
    }
    for id in [
        "RS-TOK-07.no-token",
        "RS-WWW-08.get",
        "RS-TOK-08",
        "RS-TOK-09",
        "RS-WWW-07",
        "CL-BC-01",
    ] {
        assert_out(&ids, "2026-07-28", id);
    }
}
