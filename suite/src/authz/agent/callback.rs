//! The callback listener: the suite's loopback redirect URI, where the browser lands in manual login mode (and
//! where auto and form walks point the AS). Callbacks queue until a walk takes the one carrying its `state`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// A redirect the callback listener received.
#[derive(Debug, Clone)]
pub(super) struct Received {
    pub(super) method: String,
    pub(super) path_and_query: String,
    pub(super) params: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Inbox {
    received: Mutex<Vec<Received>>,
    arrived: Notify,
}

/// The suite's loopback redirect URI, `http://127.0.0.1:<port>/callback`, where the browser lands in manual
/// mode. Callbacks queue until taken. Stops when dropped.
#[derive(Debug)]
pub struct CallbackListener {
    pub(super) addr: std::net::SocketAddr,
    inbox: Arc<Inbox>,
    task: JoinHandle<()>,
}

impl CallbackListener {
    /// Binds `127.0.0.1:0`, then serves.
    pub async fn start() -> std::io::Result<CallbackListener> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let inbox = Arc::new(Inbox::default());
        let app = Router::new()
            .route("/callback", axum::routing::any(receive))
            .with_state(inbox.clone());
        let task = tokio::spawn(async move {
            // Ends only with the task (aborted on drop); if serving fails, waits time out.
            let _ = axum::serve(listener, app).await;
        });
        Ok(CallbackListener { addr, inbox, task })
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://{}/callback", self.addr)
    }

    /// The query parameters of the oldest callback not yet taken, waiting for one up to `timeout`.
    pub async fn wait(&self, timeout: Duration) -> Option<Vec<(String, String)>> {
        self.take(None, timeout).await.map(|r| r.params)
    }

    /// Like [`wait`](Self::wait), for the oldest callback whose `state` parameter is `state`; others stay
    /// queued.
    pub async fn wait_for_state(
        &self,
        state: &str,
        timeout: Duration,
    ) -> Option<Vec<(String, String)>> {
        self.take(Some(state), timeout).await.map(|r| r.params)
    }

    /// The oldest callback not yet taken (whose `state` is `state`, when given), waiting for one up to `timeout`.
    /// The manual walk takes the whole request: its path and query become the walk's recorded exchange.
    pub(super) async fn take(&self, state: Option<&str>, timeout: Duration) -> Option<Received> {
        let wanted = |r: &Received| {
            state.is_none_or(|s| r.params.iter().any(|(k, v)| k == "state" && v == s))
        };
        let inbox = &self.inbox;
        tokio::time::timeout(timeout, async {
            loop {
                let arrived = inbox.arrived.notified();
                tokio::pin!(arrived);
                // Registered before looking, so an arrival between the look and the await is not missed.
                arrived.as_mut().enable();
                {
                    let mut received = inbox.received.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(i) = received.iter().position(wanted) {
                        return received.remove(i);
                    }
                }
                arrived.await;
            }
        })
        .await
        .ok()
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    method: axum::http::Method,
    uri: Uri,
) -> Response {
    let params = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    inbox
        .received
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Received {
            method: method.to_string(),
            path_and_query,
            params,
        });
    inbox.arrived.notify_waiters();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><title>Authorization received</title><p>The conformance suite received the \
         authorization response. You can close this window.</p>",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_on_an_idle_callback_listener_times_out() {
        let listener = CallbackListener::start().await.unwrap();
        assert_eq!(listener.wait(Duration::ZERO).await, None);
        assert!(listener.redirect_uri().starts_with("http://127.0.0.1:"));
        assert!(listener.redirect_uri().ends_with("/callback"));
    }
}
