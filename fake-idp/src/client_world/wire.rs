//! What the world knows about the wire, so that "the client sent this after it had read that" can
//! be decided from what is observable rather than from the order handlers happened to run in.
//!
//! Every listener of a world accepts through a [`TrackedListener`]: each TCP connection gets a
//! world-wide id and the tick of one logical clock ([`WireClock`]) at which it was accepted. Every
//! HTTP/1.x response body is wrapped in a [`TrackedBody`]; when it has ended, the connection's
//! [`TrackedIo`] stamps the tick of the last write of its bytes into the kernel (completed by the
//! next successful flush), and the log records it as
//! [`Wire::response_written_at`](super::log::Wire::response_written_at).
//!
//! The clock is a lock held across the system call it stamps: the (non-blocking) `accept` of a
//! connection and the `write` of a response's bytes each take their tick inside the same critical
//! section as the call, so tick order is the order of the calls themselves, whatever the scheduler
//! does between a call and its bookkeeping. (A connection the kernel completed before a write but
//! the world accepted after it is still counted as newer: that needs the accept task starved for
//! the whole exchange.)
//!
//! Under TLS the tracked stream is the TCP one underneath the TLS session: ticks stamp the writes of TLS
//! records, which carry the response's bytes. Handshakes run off the accept path
//! ([`crate::tls::Handshakes`]); a connection is handed to axum (and can carry a request) only once its
//! handshake completed, and a failed one is recorded in the log ([`super::log::TlsRefusal`]).
//!
//! HTTP/2 responses are not stamped: several streams share one connection and their bytes leave
//! through the connection task, so a flush says nothing about one stream.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use tokio_rustls::TlsAcceptor;

use super::log::{Log, Origin};
use crate::tls::{Handshakes, MaybeTls};

/// One logical clock for every wire event of a world (accepts and completed writes), plus the
/// connection id counter.
#[derive(Debug, Default)]
pub(crate) struct WireClock {
    ticks: Mutex<u64>,
    connections: AtomicU64,
}

/// The clock, held: nothing else ticks until it is dropped.
struct Held<'a>(MutexGuard<'a, u64>);

impl Held<'_> {
    fn tick(&mut self) -> u64 {
        *self.0 += 1;
        *self.0
    }
}

impl WireClock {
    fn hold(&self) -> Held<'_> {
        Held(self.ticks.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The next tick (strictly increasing, world-wide; the first is 1).
    pub(crate) fn tick(&self) -> u64 {
        self.hold().tick()
    }

    fn next_connection(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// One accepted TCP connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) id: u64,
    pub(crate) accepted_at: u64,
    clock: Arc<WireClock>,
    log: Arc<Log>,
    /// Responses whose body has ended but whose bytes are not known to be written yet: the log
    /// seq, and the tick right after the last write since the body ended.
    pending: Mutex<Vec<(usize, Option<u64>)>>,
}

impl Conn {
    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<(usize, Option<u64>)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The body of the response to `seq` has ended (hyper encodes its last bytes next).
    fn body_ended(&self, seq: usize) {
        self.pending().push((seq, None));
    }

    /// Runs one write system call; when ended responses wait for their bytes, inside the clock's
    /// critical section, stamping them when bytes went into the kernel.
    fn write(&self, call: impl FnOnce() -> Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        let mut pending = self.pending();
        if pending.is_empty() {
            drop(pending);
            return call();
        }
        let mut clock = self.clock.hold();
        let result = call();
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            let now = clock.tick();
            for (_, last) in pending.iter_mut() {
                *last = Some(now);
            }
        }
        result
    }

    /// Hyper's write buffer is empty and the stream is flushed: every ended response is written.
    fn flushed(&self) {
        let done: Vec<(usize, Option<u64>)> = std::mem::take(&mut *self.pending());
        for (seq, last) in done {
            let at = last.unwrap_or_else(|| self.clock.tick());
            self.log.written(seq, at);
        }
    }
}

/// A `TcpListener` that registers every accepted connection (and, with TLS, runs its handshake).
pub(crate) struct TrackedListener {
    inner: TcpListener,
    clock: Arc<WireClock>,
    log: Arc<Log>,
    tls: Option<Handshakes<TrackedIo>>,
}

impl TrackedListener {
    /// `tls`: serve TLS with this acceptor, recording failed handshakes as refusals on `origin`.
    pub(crate) fn new(
        inner: TcpListener,
        clock: Arc<WireClock>,
        log: Arc<Log>,
        origin: Origin,
        tls: Option<TlsAcceptor>,
    ) -> Self {
        let tls = tls.map(|acceptor| {
            let log = log.clone();
            let observer: crate::tls::HandshakeObserver =
                Arc::new(move |_, why: String| log.refused(origin, &why));
            Handshakes::new(acceptor, Some(observer))
        });
        TrackedListener {
            inner,
            clock,
            log,
            tls,
        }
    }
}

/// The next TCP connection, registered (see the module doc for the clock).
async fn accept_tcp(
    inner: &TcpListener,
    clock: &Arc<WireClock>,
    log: &Arc<Log>,
) -> (TrackedIo, std::net::SocketAddr) {
    {
        let (io, addr, accepted_at) = loop {
            // A non-blocking accept inside the clock's critical section (see the module doc).
            let accepted = std::future::poll_fn(|cx| {
                let mut held = clock.hold();
                inner
                    .poll_accept(cx)
                    .map(|r| r.map(|(io, addr)| (io, addr, held.tick())))
            })
            .await;
            match accepted {
                Ok(accepted) => break accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // As axum's own loop: an accept error such as EMFILE is not going away at once;
                    // back off instead of spinning (this waits on no event of the world).
                    tracing::error!(error = %e, "client world accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        };
        let conn = Arc::new(Conn {
            id: clock.next_connection(),
            accepted_at,
            clock: clock.clone(),
            log: log.clone(),
            pending: Mutex::new(Vec::new()),
        });
        (TrackedIo { io, conn }, addr)
    }
}

impl std::fmt::Debug for TrackedListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackedListener")
            .field("inner", &self.inner)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl Listener for TrackedListener {
    type Io = WorldIo;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let TrackedListener {
            inner,
            clock,
            log,
            tls,
        } = self;
        let Some(handshakes) = tls else {
            let (io, addr) = accept_tcp(inner, clock, log).await;
            return (MaybeTls::Plain(io), addr);
        };
        loop {
            // Both branches are cancel-safe: a TCP accept is one non-blocking call, and a finished handshake
            // stays in its join set until taken.
            tokio::select! {
                (stream, addr) = handshakes.next() => return (MaybeTls::Tls(Box::new(stream)), addr),
                (io, addr) = accept_tcp(inner, clock, log) => handshakes.start(io, addr),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A world connection: plain, or TLS over the tracked TCP stream.
pub(crate) type WorldIo = MaybeTls<TrackedIo>;

trait WorldConn {
    fn conn(&self) -> &Arc<Conn>;
}

impl WorldConn for WorldIo {
    fn conn(&self) -> &Arc<Conn> {
        match self {
            MaybeTls::Plain(io) => &io.conn,
            MaybeTls::Tls(tls) => &tls.get_ref().0.conn,
        }
    }
}

/// The stream of one tracked connection: reads pass through; writes and flushes stamp responses.
#[derive(Debug)]
pub(crate) struct TrackedIo {
    io: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.conn
            .write(|| Pin::new(&mut this.io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        this.conn
            .write(|| Pin::new(&mut this.io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_flush(cx);
        if matches!(result, Poll::Ready(Ok(()))) {
            self.conn.flushed();
        }
        result
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_shutdown(cx);
        if matches!(result, Poll::Ready(Ok(()))) {
            self.conn.flushed();
        }
        result
    }
}

/// The connection a request arrived on, handed to the handler as `ConnectInfo<ConnMeta>`.
#[derive(Debug, Clone)]
pub(crate) struct ConnMeta(pub(crate) Arc<Conn>);

impl Connected<IncomingStream<'_, TrackedListener>> for ConnMeta {
    fn connect_info(stream: IncomingStream<'_, TrackedListener>) -> Self {
        ConnMeta(stream.io().conn().clone())
    }
}

/// A response body that tells its connection when it has ended.
pub(crate) struct TrackedBody {
    inner: Body,
    conn: Arc<Conn>,
    seq: usize,
    ended: AtomicBool,
}

impl TrackedBody {
    pub(crate) fn wrap(inner: Body, conn: Arc<Conn>, seq: usize) -> Body {
        Body::new(TrackedBody {
            inner,
            conn,
            seq,
            ended: AtomicBool::new(false),
        })
    }

    fn end(&self) {
        if !self.ended.swap(true, Ordering::SeqCst) {
            self.conn.body_ended(self.seq);
        }
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.end(),
            Poll::Ready(Some(_)) if self.inner.is_end_stream() => self.end(),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.is_end_stream();
        if end {
            self.end();
        }
        end
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
