//! Verdicts do not depend on how busy the machine is: each role runs against its bundled reference (and one
//! defect) several times while other threads keep every core busy, and every run gives the same verdicts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use mcp_auth_conformance::authz::{self, AuthzOptions};
use mcp_auth_conformance::client::{self, ClientOptions};
use mcp_auth_conformance::server::{self, ServerOptions};
use mcp_auth_reports::{Report, Verdict};
use mcp_auth_targets::client::ClientDefect;
use mcp_auth_targets::{ServerDefect, ValidationMode};

const RUNS: usize = 3;

/// Threads that spin on every core until dropped.
struct Load {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start() -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..cores)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x: u64 = 1;
                    while !stop.load(Ordering::Relaxed) {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                        std::hint::black_box(x);
                    }
                })
            })
            .collect();
        Load { stop, threads }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn verdicts(report: &Report) -> Vec<(String, Verdict)> {
    report
        .checks
        .iter()
        .map(|c| (c.id.clone(), c.verdict))
        .collect()
}

fn assert_same(runs: &[Report]) {
    let first = verdicts(&runs[0]);
    for (i, r) in runs.iter().enumerate().skip(1) {
        let other = verdicts(r);
        let differ: Vec<String> = first
            .iter()
            .zip(&other)
            .filter(|(a, b)| a != b)
            .map(|((id, a), (_, b))| format!("{id}: {a} then {b}"))
            .collect();
        assert!(
            differ.is_empty() && first.len() == other.len(),
            "run {i} differs from run 0 under load: {differ:?}"
        );
    }
}

fn suite_exe() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_mcp-auth-conformance"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_role_verdicts_do_not_depend_on_load() {
    let _load = Load::start();
    for defect in [None, Some(ServerDefect::SkipAudienceCheck)] {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            runs.push(server::run(&ServerOptions::bundled(defect, ValidationMode::Jwt)).await);
        }
        assert_same(&runs);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_role_verdicts_do_not_depend_on_load() {
    let _load = Load::start();
    for defect in [None, Some(ClientDefect::SendTokenToOtherServer)] {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            runs.push(client::run(&ClientOptions::bundled(defect, suite_exe())).await);
        }
        assert_same(&runs);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authz_role_verdicts_do_not_depend_on_load() {
    let _load = Load::start();
    for defect in [None, Some(fake_idp::AsDefect::AcceptMissingVerifier)] {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            runs.push(authz::run(&AuthzOptions::bundled(defect)).await);
        }
        assert_same(&runs);
    }
}
