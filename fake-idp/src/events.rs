//! What the fake world saw, shared with the suite; waiters block on a channel, never a sleep.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// A cheap, shared handle on the fake world's event record.
#[derive(Clone, Debug)]
pub struct Events {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    introspections: AtomicUsize,
    token_requests: AtomicUsize,
    token_exchanges: AtomicUsize,
    authorize_requests: AtomicUsize,
    attacker_fetches: Mutex<Vec<String>>,
    cimd_fetches: Mutex<Vec<String>>,
    /// Bumped on every recorded event; waiters subscribe to it.
    changed: watch::Sender<u64>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            inner: Arc::new(Inner {
                introspections: AtomicUsize::new(0),
                token_requests: AtomicUsize::new(0),
                token_exchanges: AtomicUsize::new(0),
                authorize_requests: AtomicUsize::new(0),
                attacker_fetches: Mutex::new(Vec::new()),
                cimd_fetches: Mutex::new(Vec::new()),
                changed: watch::Sender::new(0),
            }),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Waits until `condition` holds, at most `timeout`; true when it held. Re-evaluates the
/// condition each time `changed` is bumped, never polls on a timer.
pub(crate) async fn wait_for_change(
    changed: &watch::Sender<u64>,
    timeout: Duration,
    condition: impl Fn() -> bool,
) -> bool {
    let mut rx = changed.subscribe();
    let wait = async {
        loop {
            if condition() {
                return true;
            }
            if rx.changed().await.is_err() {
                return condition();
            }
        }
    };
    tokio::time::timeout(timeout, wait).await.unwrap_or(false)
}

impl Events {
    fn bump(&self) {
        self.inner.changed.send_modify(|n| *n += 1);
    }

    pub(crate) fn record_introspection(&self) {
        self.inner.introspections.fetch_add(1, Ordering::SeqCst);
        self.bump();
    }

    pub(crate) fn record_token_request(&self) {
        self.inner.token_requests.fetch_add(1, Ordering::SeqCst);
        self.bump();
    }

    pub(crate) fn record_token_exchange(&self) {
        self.inner.token_exchanges.fetch_add(1, Ordering::SeqCst);
        self.bump();
    }

    pub(crate) fn record_authorize_request(&self) {
        self.inner.authorize_requests.fetch_add(1, Ordering::SeqCst);
        self.bump();
    }

    pub(crate) fn record_attacker_fetch(&self, path: &str) {
        lock(&self.inner.attacker_fetches).push(path.to_owned());
        self.bump();
    }

    pub(crate) fn record_cimd_fetch(&self, url: &str) {
        lock(&self.inner.cimd_fetches).push(url.to_owned());
        self.bump();
    }

    /// Calls to `/introspect` (authenticated or not).
    pub fn introspection_count(&self) -> usize {
        self.inner.introspections.load(Ordering::SeqCst)
    }

    /// Requests to `/token`.
    pub fn token_requests(&self) -> usize {
        self.inner.token_requests.load(Ordering::SeqCst)
    }

    /// RFC 8693 token exchanges answered with a token.
    pub fn token_exchanges(&self) -> usize {
        self.inner.token_exchanges.load(Ordering::SeqCst)
    }

    /// Requests to `/authorize`.
    pub fn authorize_requests(&self) -> usize {
        self.inner.authorize_requests.load(Ordering::SeqCst)
    }

    /// Request paths the attacker listener served, in order.
    pub fn attacker_fetches(&self) -> Vec<String> {
        lock(&self.inner.attacker_fetches).clone()
    }

    /// CIMD URLs the authorization server fetched, in order.
    pub fn cimd_fetches(&self) -> Vec<String> {
        lock(&self.inner.cimd_fetches).clone()
    }

    /// Waits until `condition` holds, at most `timeout`; true when it held.
    /// Wakes on every recorded event, never polls on a timer.
    pub async fn wait_until(&self, timeout: Duration, condition: impl Fn(&Events) -> bool) -> bool {
        wait_for_change(&self.inner.changed, timeout, || condition(self)).await
    }

    /// Waits until the attacker listener has served at least one request.
    pub async fn wait_for_attacker_fetch(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |e| !e.attacker_fetches().is_empty())
            .await
    }

    /// Waits until `/introspect` has been called at least `n` times.
    pub async fn wait_for_introspections(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |e| e.introspection_count() >= n)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_returns_false_when_nothing_happens() {
        let events = Events::default();
        assert!(
            !events
                .wait_for_attacker_fetch(Duration::from_millis(10))
                .await
        );
    }

    #[tokio::test]
    async fn wait_wakes_on_a_recorded_fetch() {
        let events = Events::default();
        let recorder = events.clone();
        let task = tokio::spawn(async move { recorder.record_attacker_fetch("/jwks.json") });
        assert!(events.wait_for_attacker_fetch(Duration::from_secs(5)).await);
        task.await.unwrap();
        assert_eq!(events.attacker_fetches(), ["/jwks.json"]);
    }
}
