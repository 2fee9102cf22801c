//! Real TLS on loopback (`--tls-profile strict`): a throwaway test CA per run, leaf certificates for the fake
//! parties, and listeners that serve axum routers over TLS.
//!
//! [`TestPki::generate`] makes two CAs: the **test CA**, which the suite hands to the target under test (its PEM
//! goes to `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `NODE_EXTRA_CA_CERTS` or `--ca-out`), and an **untrusted CA**
//! nobody is told about. Leaves:
//!
//! - [`TestPki::leaf`]: signed by the test CA for the names a party answers to (its reserved
//!   `*.conformance.test` names and the IP `127.0.0.1`, which a target outside the suite can reach without
//!   resolving the test names): what an honest party presents;
//! - [`TestPki::wrong_host_leaf`]: signed by the test CA, but only for `wrong-host.invalid`: a client that
//!   checks the chain but not the host name accepts it;
//! - [`TestPki::untrusted_leaf`]: valid names, signed by the untrusted CA: a client that checks the host name
//!   but not the chain accepts it.
//!
//! Keys are ECDSA P-256 (ring), generated per run; nothing is written to disk except by the caller.
//!
//! [`TlsListener`] accepts TCP and runs each handshake in a task of its own, bounded by [`HANDSHAKE_TIMEOUT`],
//! so a client that connects and stalls holds up nobody; a failed handshake is reported to an optional
//! observer ([`HandshakeObserver`]) so "the client refused the certificate" is a recorded event, not an absence.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a client gets to complete a TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The only name a wrong-host leaf is valid for (`.invalid` is reserved, RFC 6761 §6.4: nobody can own it).
pub const WRONG_HOST: &str = "wrong-host.invalid";

/// The names every honest leaf carries besides the party's own: the reserved test domain (one label deep) and
/// the loopback address and name.
pub const LOOPBACK_NAMES: [&str; 4] = [
    "conformance.test",
    "*.conformance.test",
    "localhost",
    "127.0.0.1",
];

/// Why certificates could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration failed: {0}")]
    Config(#[from] tokio_rustls::rustls::Error),
    #[error("PEM: {0}")]
    Pem(String),
}

/// One CA: its certificate (PEM and DER) and what signs with its key.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

impl Ca {
    fn generate(common_name: &str) -> Result<Ca, TlsError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            pem: cert.pem(),
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    fn sign(&self, names: &[&str]) -> Result<ServerCert, TlsError> {
        let key = KeyPair::generate()?;
        let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(owned)?;
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(ServerCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            chain: vec![cert.der().clone(), self.der.clone()],
            key_der: key.serialize_der(),
        })
    }
}

/// The run's certificate authorities: the test CA the target is told to trust, and one it is not.
pub struct TestPki {
    trusted: Ca,
    untrusted: Ca,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

impl TestPki {
    /// Two fresh CAs (a few milliseconds: two P-256 keys).
    pub fn generate() -> Result<TestPki, TlsError> {
        Ok(TestPki {
            trusted: Ca::generate("mcp-auth-conformance test CA (throwaway, one run)")?,
            untrusted: Ca::generate("mcp-auth-conformance UNTRUSTED CA (never handed out)")?,
        })
    }

    /// The test CA's certificate, PEM: what the target must trust.
    pub fn ca_pem(&self) -> &str {
        &self.trusted.pem
    }

    /// The test CA's certificate, DER.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.trusted.der
    }

    /// A leaf for `names` (DNS names or IP addresses) plus [`LOOPBACK_NAMES`], signed by the test CA.
    pub fn leaf(&self, names: &[&str]) -> Result<ServerCert, TlsError> {
        let mut all: Vec<&str> = names.to_vec();
        all.extend(LOOPBACK_NAMES.iter().filter(|n| !names.contains(n)));
        self.trusted.sign(&all)
    }

    /// A leaf signed by the test CA for [`WRONG_HOST`] only.
    pub fn wrong_host_leaf(&self) -> Result<ServerCert, TlsError> {
        self.trusted.sign(&[WRONG_HOST])
    }

    /// A leaf with the honest names, signed by the untrusted CA.
    pub fn untrusted_leaf(&self) -> Result<ServerCert, TlsError> {
        self.untrusted.sign(&LOOPBACK_NAMES)
    }
}

/// A server certificate chain (leaf, then its CA) and its private key.
#[derive(Clone)]
pub struct ServerCert {
    cert_pem: String,
    key_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for ServerCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret of the run: never printed.
        f.debug_struct("ServerCert").finish_non_exhaustive()
    }
}

impl ServerCert {
    /// A chain and key read from PEM text (what [`ServerCert::cert_pem`] and [`ServerCert::key_pem`] wrote, or any
    /// chain with a PKCS#8 key): for a server handed its certificate as files (`MCP_CONFORMANCE_TLS_CERT_FILE`).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<ServerCert, TlsError> {
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Pem(format!("certificate: {e}")))?;
        if chain.is_empty() {
            return Err(TlsError::Pem("no CERTIFICATE block".into()));
        }
        let key = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|_| TlsError::Pem("no PKCS#8 PRIVATE KEY block".into()))?;
        Ok(ServerCert {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            chain,
            key_der: key.secret_pkcs8_der().to_vec(),
        })
    }

    /// The leaf certificate, PEM (for a target that serves https with the suite's certificate).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The leaf's private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// A rustls server configuration presenting this chain (HTTP/1.1 only, as every fake party speaks).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut config = ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(self.chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A TLS acceptor presenting this chain.
    pub fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        Ok(TlsAcceptor::from(self.server_config()?))
    }
}

/// Told of every TLS handshake that did not complete: the peer and why (the client's alert, a timeout, a
/// connection closed mid-handshake).
pub type HandshakeObserver = Arc<dyn Fn(SocketAddr, String) + Send + Sync>;

/// Runs the server side of a handshake on `io`, bounded by [`HANDSHAKE_TIMEOUT`].
pub async fn handshake<IO>(acceptor: &TlsAcceptor, io: IO) -> Result<TlsStream<IO>, String>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no complete handshake within {HANDSHAKE_TIMEOUT:?}"
        )),
    }
}

/// Handshakes in flight, off the accept path: `accept` hands out the next completed one.
pub struct Handshakes<IO> {
    acceptor: TlsAcceptor,
    observer: Option<HandshakeObserver>,
    running: JoinSet<Option<(TlsStream<IO>, SocketAddr)>>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin + Send + 'static> Handshakes<IO> {
    pub fn new(acceptor: TlsAcceptor, observer: Option<HandshakeObserver>) -> Self {
        Handshakes {
            acceptor,
            observer,
            running: JoinSet::new(),
        }
    }

    /// Starts the handshake of a freshly accepted connection.
    pub fn start(&mut self, io: IO, addr: SocketAddr) {
        let acceptor = self.acceptor.clone();
        let observer = self.observer.clone();
        self.running.spawn(async move {
            match handshake(&acceptor, io).await {
                Ok(stream) => Some((stream, addr)),
                Err(why) => {
                    tracing::debug!(%addr, %why, "TLS handshake failed");
                    if let Some(observe) = observer {
                        observe(addr, why);
                    }
                    None
                }
            }
        });
    }

    /// The next completed handshake; pending forever while none is in flight (cancel-safe).
    pub async fn next(&mut self) -> (TlsStream<IO>, SocketAddr) {
        loop {
            match self.running.join_next().await {
                Some(Ok(Some(done))) => return done,
                Some(_) => continue,
                None => std::future::pending::<()>().await,
            }
        }
    }
}

/// A TCP listener that serves TLS: see the module doc.
pub struct TlsListener {
    inner: TcpListener,
    handshakes: Handshakes<TcpStream>,
}

impl TlsListener {
    pub fn new(inner: TcpListener, acceptor: TlsAcceptor) -> Self {
        Self::observed(inner, acceptor, None)
    }

    pub fn observed(
        inner: TcpListener,
        acceptor: TlsAcceptor,
        observer: Option<HandshakeObserver>,
    ) -> Self {
        TlsListener {
            inner,
            handshakes: Handshakes::new(acceptor, observer),
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.inner.accept() => match accepted {
                    Ok((io, addr)) => self.handshakes.start(io, addr),
                    Err(e) => {
                        // As axum's own loop: an accept error (EMFILE) does not go away at once.
                        tracing::error!(error = %e, "TLS listener accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                done = self.handshakes.next() => return done,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A listener that serves plain http or TLS, chosen at start: what every fake party binds, so that
/// `--tls-profile` changes one argument, not the serving code.
pub enum AnyListener {
    Plain(TcpListener),
    Tls(Box<TlsListener>),
}

impl AnyListener {
    /// `tls: None` serves plain http.
    pub fn new(inner: TcpListener, tls: Option<TlsAcceptor>) -> Self {
        match tls {
            None => AnyListener::Plain(inner),
            Some(acceptor) => AnyListener::Tls(Box::new(TlsListener::new(inner, acceptor))),
        }
    }
}

impl Listener for AnyListener {
    type Io = AnyIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self {
            AnyListener::Plain(l) => {
                let (io, addr) = Listener::accept(l).await;
                (MaybeTls::Plain(io), addr)
            }
            AnyListener::Tls(l) => {
                let (io, addr) = l.accept().await;
                (MaybeTls::Tls(Box::new(io)), addr)
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        match self {
            AnyListener::Plain(l) => l.local_addr(),
            AnyListener::Tls(l) => l.local_addr(),
        }
    }
}

/// The stream of an [`AnyListener`] connection.
pub type AnyIo = MaybeTls<TcpStream>;

/// A connection served plain or over TLS: one stream type for listeners that do either.
#[derive(Debug)]
pub enum MaybeTls<S> {
    Plain(S),
    Tls(Box<TlsStream<S>>),
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            MaybeTls::Plain(s) => s.is_write_vectored(),
            MaybeTls::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_shutdown(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::Router;
    use tokio::sync::mpsc;

    /// Serves "hello" over TLS with `cert`; returns the port and the handshake failures as they happen.
    async fn serve(cert: &ServerCert) -> (u16, mpsc::UnboundedReceiver<String>) {
        let (tx, failures) = mpsc::unbounded_channel();
        let observer: HandshakeObserver = Arc::new(move |_, why| {
            let _ = tx.send(why);
        });
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tls = TlsListener::observed(listener, cert.acceptor().unwrap(), Some(observer));
        let app = Router::new().route("/", get(|| async { "hello" }));
        tokio::spawn(async move { axum::serve(tls, app).await });
        (port, failures)
    }

    fn client(pki: &TestPki) -> reqwest::Client {
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem().as_bytes()).unwrap())
            .resolve("as.conformance.test", SocketAddr::from(([127, 0, 0, 1], 0)))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }

    /// `GET https://127.0.0.1:{port}/` by a client trusting the test CA alone: the body.
    async fn hello(pki: &TestPki, port: u16) -> String {
        let url = format!("https://127.0.0.1:{port}/");
        let response = client(pki).get(url).send().await.unwrap();
        response.text().await.unwrap()
    }

    #[tokio::test]
    async fn a_client_trusting_the_test_ca_reaches_an_honest_leaf_by_ip_and_by_test_name() {
        let pki = TestPki::generate().unwrap();
        let (port, _) = serve(&pki.leaf(&["as.conformance.test"]).unwrap()).await;
        let c = client(&pki);
        for url in [
            format!("https://127.0.0.1:{port}/"),
            format!("https://as.conformance.test:{port}/"),
        ] {
            let body = c.get(&url).send().await.unwrap().text().await.unwrap();
            assert_eq!(body, "hello", "{url}");
        }
    }

    #[tokio::test]
    async fn a_leaf_read_back_from_its_pem_files_serves_https_trusted_by_the_test_ca() {
        let pki = TestPki::generate().unwrap();
        let leaf = pki.leaf(&[]).unwrap();
        let read = ServerCert::from_pem(leaf.cert_pem(), leaf.key_pem()).unwrap();
        let (port, _) = serve(&read).await;
        assert_eq!(hello(&pki, port).await, "hello");
    }

    #[test]
    fn pem_text_without_a_key_is_refused_naming_what_is_missing() {
        let pki = TestPki::generate().unwrap();
        let leaf = pki.leaf(&[]).unwrap();
        let e = ServerCert::from_pem(leaf.cert_pem(), leaf.cert_pem()).unwrap_err();
        assert!(e.to_string().contains("PRIVATE KEY"), "{e}");
    }

    #[tokio::test]
    async fn a_wrong_host_leaf_is_refused_by_a_checking_client_and_the_refusal_is_observed() {
        let pki = TestPki::generate().unwrap();
        let (port, mut failures) = serve(&pki.wrong_host_leaf().unwrap()).await;
        let r = client(&pki)
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await;
        assert!(r.is_err());
        wait_for_failure(&mut failures).await;
    }

    #[tokio::test]
    async fn an_untrusted_leaf_is_refused_by_a_checking_client_and_accepted_by_a_careless_one() {
        let pki = TestPki::generate().unwrap();
        let (port, mut failures) = serve(&pki.untrusted_leaf().unwrap()).await;
        let url = format!("https://127.0.0.1:{port}/");
        assert!(client(&pki).get(&url).send().await.is_err());
        wait_for_failure(&mut failures).await;
        let careless = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        let body = careless
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hello");
    }

    #[tokio::test]
    async fn a_stalled_handshake_does_not_hold_up_the_next_client() {
        let pki = TestPki::generate().unwrap();
        let (port, _) = serve(&pki.leaf(&[]).unwrap()).await;
        // Connects and sends nothing: its handshake waits in a task of its own.
        let _stalled = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        assert_eq!(hello(&pki, port).await, "hello");
    }

    #[test]
    fn the_private_key_never_shows_in_debug_output() {
        let pki = TestPki::generate().unwrap();
        let leaf = pki.leaf(&[]).unwrap();
        let shown = format!("{leaf:?} {pki:?}");
        assert!(!shown.contains("PRIVATE KEY"));
        assert!(leaf.key_pem().contains("PRIVATE KEY"));
    }

    /// The server learns of the refusal when its side of the handshake ends: wait for it (bounded).
    async fn wait_for_failure(failures: &mut mpsc::UnboundedReceiver<String>) {
        let why = tokio::time::timeout(Duration::from_secs(5), failures.recv())
            .await
            .expect("the server observed the failed handshake in time");
        assert!(why.is_some());
    }
}
