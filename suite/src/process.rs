//! Every process the suite starts lives in its own process group and dies with the whole group: SIGTERM to
//! the group, a short grace while the leader's exit is awaited, then SIGKILL to the group, always (the leader
//! may have exited and left children behind in the group). Dropping a [`ProcessGroup`] that was not stopped
//! (panic, early return, a cancelled run) kills the group synchronously. [`stop_all`] stops every live group
//! the same way, for a suite interrupted by a signal.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// How long a group gets between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_millis(500);

/// The groups spawned and not yet killed, by process group id.
static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn live() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Stops every live group at once: SIGTERM to each, up to [`GRACE`] for their leaders to exit (awaited with
/// `waitid(WNOWAIT)`, which leaves the reaping to the owner), then SIGKILL to each. The owners' guards still
/// run when they are dropped.
pub async fn stop_all() {
    let groups: Vec<i32> = live().iter().copied().collect();
    stop_groups(&groups).await;
}

async fn stop_groups(groups: &[i32]) {
    for g in groups {
        let _ = killpg(Pid::from_raw(*g), Signal::SIGTERM);
    }
    let exits = groups.iter().map(|g| {
        let leader = Pid::from_raw(*g);
        tokio::task::spawn_blocking(move || {
            use nix::sys::wait::{waitid, Id, WaitPidFlag};
            // Returns when the leader has exited (or was already reaped: ECHILD).
            let _ = waitid(Id::Pid(leader), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
        })
    });
    let _ = tokio::time::timeout(GRACE, futures::future::join_all(exits)).await;
    for g in groups {
        let _ = killpg(Pid::from_raw(*g), Signal::SIGKILL);
    }
}

/// A spawned child leading its own process group; the group is killed when stopped or dropped.
pub struct ProcessGroup {
    child: tokio::process::Child,
    /// `None` once the group has been killed.
    pgid: Option<Pid>,
}

impl ProcessGroup {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut tokio::process::Command) -> std::io::Result<ProcessGroup> {
        cmd.process_group(0).kill_on_drop(true);
        let child = cmd.spawn()?;
        let pgid = child.id().map(|p| Pid::from_raw(p as i32));
        if let Some(p) = pgid {
            live().insert(p.as_raw());
        }
        Ok(ProcessGroup { child, pgid })
    }

    /// The process group id (the leader's pid) while the group has not been killed.
    pub fn pgid(&self) -> Option<i32> {
        self.pgid.map(Pid::as_raw)
    }

    /// The leader, to take its pipes or await its exit.
    pub fn child(&mut self) -> &mut tokio::process::Child {
        &mut self.child
    }

    /// The leader's exit status, if it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops the whole group: SIGTERM, up to [`GRACE`] for the leader to exit, SIGKILL, and reaps the leader.
    pub async fn stop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = killpg(pgid, Signal::SIGTERM);
            let _ = tokio::time::timeout(GRACE, self.child.wait()).await;
            // Whatever the leader did, the rest of the group may still live (or ignore SIGTERM).
            let _ = killpg(pgid, Signal::SIGKILL);
            live().remove(&pgid.as_raw());
        }
        let _ = self.child.kill().await;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            let _ = killpg(pgid, Signal::SIGTERM);
            let _ = killpg(pgid, Signal::SIGKILL);
            live().remove(&pgid.as_raw());
        }
        // kill_on_drop: tokio reaps the leader in the background.
    }
}

/// Test support: a FIFO that a spawned shell opens as fd 3 and keeps open (its background children inherit
/// it), and on which it reports its pids. EOF on the FIFO means every process that held it has exited: the
/// processes' end is awaited as an event, not polled. Linux/Unix; needs `mkfifo`.
#[doc(hidden)]
pub mod witness {
    use std::io::{BufRead, BufReader, Read};
    use std::path::{Path, PathBuf};
    use std::sync::mpsc::{channel, Receiver};
    use std::time::Duration;

    pub struct Witness {
        path: PathBuf,
        reported: Receiver<Vec<i32>>,
        gone: Receiver<()>,
    }

    impl Witness {
        /// A FIFO `witness` in `dir`, read by a thread from now on.
        pub fn new(dir: &Path) -> Witness {
            let path = dir.join("witness");
            let _ = std::fs::remove_file(&path);
            let made = std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .expect("mkfifo");
            assert!(made.success(), "mkfifo {}", path.display());
            let (report, reported) = channel();
            let (done, gone) = channel();
            let fifo = path.clone();
            std::thread::spawn(move || {
                // Opening blocks until the shell opens its end.
                let mut r = BufReader::new(std::fs::File::open(fifo).expect("open the FIFO"));
                let mut line = String::new();
                let _ = r.read_line(&mut line);
                let _ = report.send(
                    line.split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect(),
                );
                let _ = r.read_to_end(&mut Vec::new());
                let _ = done.send(());
            });
            Witness {
                path,
                reported,
                gone,
            }
        }

        /// A shell script that ignores SIGTERM, holds the FIFO as fd 3, starts a grandchild (`sleep`, output to
        /// /dev/null) that ignores SIGTERM and holds it too, reports `$$ $! $PORT`, then runs `tail`.
        pub fn stubborn_script(&self, tail: &str) -> String {
            format!(
                "exec 3>'{}'; trap '' TERM; sleep 1000 >/dev/null 2>&1 & echo $$ $! $PORT >&3; {tail}",
                self.path.display()
            )
        }

        /// What the script reported (leader pid = process group, grandchild pid, `$PORT` when set).
        pub fn reported(&self) -> Vec<i32> {
            self.reported
                .recv_timeout(Duration::from_secs(30))
                .expect("the script never reported its pids")
        }

        /// Whether every process holding the FIFO has exited within `timeout`.
        pub fn all_gone_within(&self, timeout: Duration) -> bool {
            self.gone.recv_timeout(timeout).is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::witness::Witness;
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mcp-proc-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn stubborn(w: &Witness, tail: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-c").arg(w.stubborn_script(tail));
        cmd
    }

    #[tokio::test]
    async fn stop_kills_a_group_that_ignores_sigterm_grandchild_included() {
        let w = Witness::new(&scratch("stop"));
        let mut g = ProcessGroup::spawn(&mut stubborn(&w, "wait")).unwrap();
        w.reported();
        let started = std::time::Instant::now();
        g.stop().await;
        assert!(started.elapsed() < GRACE + Duration::from_secs(2));
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn stop_kills_the_group_also_when_the_leader_already_exited() {
        let w = Witness::new(&scratch("leader-gone"));
        let mut g = ProcessGroup::spawn(&mut stubborn(&w, "exit 0")).unwrap();
        w.reported();
        g.child().wait().await.unwrap();
        assert!(
            !w.all_gone_within(Duration::ZERO),
            "the grandchild lives on after its leader"
        );
        g.stop().await;
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn stopping_live_groups_by_id_gives_them_the_grace_then_kills_them() {
        let w = Witness::new(&scratch("stop-all"));
        let g = ProcessGroup::spawn(&mut stubborn(&w, "wait")).unwrap();
        w.reported();
        assert!(live().contains(&g.pgid().unwrap()));
        let started = std::time::Instant::now();
        // What stop_all does to every live group (here only this one: other tests' groups live in this process).
        stop_groups(&[g.pgid().unwrap()]).await;
        assert!(started.elapsed() >= GRACE, "SIGKILL came before the grace");
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }

    #[tokio::test]
    async fn dropping_an_unstopped_group_kills_it() {
        let w = Witness::new(&scratch("drop"));
        let g = ProcessGroup::spawn(&mut stubborn(&w, "wait")).unwrap();
        w.reported();
        drop(g);
        assert!(w.all_gone_within(Duration::from_secs(5)));
    }
}
