//! Accepting connections: TLS with the terminal's key, deadlines for slow
//! clients, and a bound on how many connections are served at once.
//!
//! Every connection is served by hyper's HTTP/1 server with:
//! - a **connection limit** ([`Limits::max_connections`]): one over it is
//!   closed at once, so a flood of sockets cannot grow the registry's memory
//!   or starve its threads;
//! - a **TLS handshake deadline** and a **header deadline** (a client that
//!   has not sent its whole request head in time, or that sits idle between
//!   requests, is cut off: the slow-loris attack);
//! - a **request deadline** covering the body and the handler: a body sent a
//!   byte at a time is answered 408 and dropped.
//!
//! With TLS, the client may present a certificate. Any well-formed
//! certificate is accepted at the handshake (the handshake proves the client
//! holds its private key); what it may do is decided per request from the
//! SHA-256 of its public key ([`PeerKey`]), which the terminal API looks up
//! among enrolled terminals. So a terminal is recognised by its key, not by a
//! certificate authority, and revoking it is a row in the database.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tower::ServiceExt as _;

/// How long and how many: the registry's defences against slow and many clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; one more is closed at once.
    pub max_connections: usize,
    /// Time for the TLS handshake.
    pub handshake_timeout: Duration,
    /// Time for a request's head to arrive, and the longest a connection may
    /// sit idle between requests.
    pub header_timeout: Duration,
    /// Time for one request: its body and the answer.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            handshake_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(15),
            // A full page body (MAX_BODY_BYTES) over a slow hall uplink.
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// The SHA-256 of the SubjectPublicKeyInfo of the certificate the client
/// presented in the TLS handshake: who is calling, as far as keys go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerKey(pub [u8; 32]);

impl PeerKey {
    /// The key of a DER certificate, if it parses.
    pub fn of_certificate(der: &CertificateDer<'_>) -> Option<PeerKey> {
        let cert = webpki::EndEntityCert::try_from(der).ok()?;
        Some(PeerKey(
            Sha256::digest(cert.subject_public_key_info().as_ref()).into(),
        ))
    }

    /// Lower-case hex, as stored and shown to staff.
    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }
}

/// Accepts any well-formed client certificate whose holder proves its key in
/// the handshake; authorisation happens per request on the [`PeerKey`].
/// A client without a certificate is let through too (staff, health checks).
#[derive(Debug)]
pub(crate) struct AnyKeyVerifier {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl AnyKeyVerifier {
    pub fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> AnyKeyVerifier {
        AnyKeyVerifier { provider }
    }
}

impl ClientCertVerifier for AnyKeyVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Validity dates and issuers do not matter: the key is what is pinned.
        PeerKey::of_certificate(end_entity)
            .map(|_| ClientCertVerified::assertion())
            .ok_or(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadEncoding,
            ))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Serves `app` on `listener` until `stop` fires (or its sender is dropped),
/// then lets open requests finish for at most `grace`.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: Limits,
    stop: oneshot::Receiver<()>,
    grace: Duration,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(conn) => conn,
            Err(err) => {
                // Out of file descriptors and the like: wait, do not spin.
                log::warn!("cannot accept a connection: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            log::warn!(
                "{} connections open: closing a new one from {}",
                limits.max_connections,
                peer.ip()
            );
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                None => {
                    let conn = connection(TokioIo::new(tcp), app, None, limits);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(err)) => {
                                log::debug!("tls handshake with {} failed: {err}", peer.ip());
                                return;
                            }
                            Err(_) => {
                                log::debug!("tls handshake with {} timed out", peer.ip());
                                return;
                            }
                        };
                    let key = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|certs| certs.first())
                        .and_then(PeerKey::of_certificate);
                    let conn = connection(TokioIo::new(stream), app, key, limits);
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        log::warn!("requests still open after {grace:?}; dropping them");
    }
}

/// One HTTP/1 connection: the peer's key put on every request, the header
/// deadline on the connection and the request deadline on each request.
fn connection<I>(
    io: I,
    app: Router,
    key: Option<PeerKey>,
    limits: Limits,
) -> impl hyper_util::server::graceful::GracefulConnection
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let handler = move |mut req: Request<hyper::body::Incoming>| {
        if let Some(key) = key {
            req.extensions_mut().insert(key);
        }
        let app = app.clone();
        async move {
            let req = req.map(Body::new);
            match tokio::time::timeout(limits.request_timeout, app.oneshot(req)).await {
                Ok(Ok(res)) => Ok::<_, std::convert::Infallible>(res),
                Ok(Err(never)) => match never {},
                Err(_) => Ok(timed_out()),
            }
        }
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    builder.serve_connection(io, hyper::service::service_fn(handler))
}

/// 408 with the API's JSON error body; the connection is closed after it.
fn timed_out() -> Response<Body> {
    let body = serde_json::to_string(&registry_api::ApiError {
        code: "request_timeout".into(),
        message: "the request took too long to arrive".into(),
    })
    .unwrap_or_default();
    Response::builder()
        .status(StatusCode::REQUEST_TIMEOUT)
        .header("content-type", "application/json")
        .header("connection", "close")
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
