//! Optional TLS: a PEM certificate chain and private key loaded from files, and an accept loop
//! that serves the hub's router over rustls, so gateways can dial `wss://` directly.

use std::{
    io,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto::Builder,
    service::TowerToHyperService,
};
use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tokio_rustls::{TlsAcceptor, server::TlsStream};

/// Longest a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a TLS configuration could not be loaded. Each message names the file and says why.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The file is not valid PEM.
    #[error("malformed PEM in {}: {error}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// Why.
        error: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no `CERTIFICATE` section.
    #[error("no certificate in {}", .0.display())]
    NoCertificate(PathBuf),
    /// The key file holds no PKCS#8, PKCS#1 or SEC1 private key.
    #[error("no private key in {}", .0.display())]
    NoPrivateKey(PathBuf),
    /// rustls refused the pair (an unsupported key, or a key that is not the certificate's).
    #[error("{} and {} are not a usable certificate and key: {error}", cert.display(), key.display())]
    Unusable {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        error: rustls::Error,
    },
}

/// Loads a server configuration from a PEM certificate chain (leaf first) and a PEM private key.
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = parse_certs(&read(cert)?, cert)?;
    let private_key = parse_key(&read(key)?, key)?;
    server_config(chain, private_key).map_err(|error| TlsError::Unusable {
        cert: cert.to_owned(),
        key: key.to_owned(),
        error,
    })
}

/// A server configuration on rustls' ring provider with safe default protocol versions. It
/// offers only HTTP/1.1 in ALPN: WebSockets ride HTTP/1.1 upgrades.
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.to_owned(),
        error,
    })
}

/// Every certificate in `pem`, in order; `path` names the file in errors.
fn parse_certs(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::Pem {
            path: path.to_owned(),
            error,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(chain)
}

/// The first private key in `pem`; `path` names the file in errors.
fn parse_key(pem: &[u8], path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey(path.to_owned()),
        error => TlsError::Pem {
            path: path.to_owned(),
            error,
        },
    })
}

/// Accepts TLS connections on `listener` and serves `app` on each until `stop` turns true (or
/// its sender is gone); then lets every open connection finish gracefully, as `axum::serve`
/// does. Upgraded sockets are detached from their connection and do not hold this up.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    app: Router,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    // Each connection holds a receiver; `closed()` resolves when the last one is dropped.
    let (open, held) = watch::channel(());
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let connection = Connection {
            acceptor: acceptor.clone(),
            app: app.clone(),
            stop: stop.clone(),
            _open: held.clone(),
        };
        tokio::spawn(connection.run(tcp, peer));
    }
    drop(listener);
    drop(held);
    open.closed().await;
    Ok(())
}

/// Resolves when `stop` turns true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Per-connection accept errors are the peer's business; others (out of file descriptors)
/// would spin the loop, so wait a little as `axum::serve` does.
async fn accept_failed(e: io::Error) {
    let per_connection = matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    );
    if !per_connection {
        tracing::error!("accepting a connection: {e}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One accepted TCP connection.
struct Connection {
    acceptor: TlsAcceptor,
    app: Router,
    stop: watch::Receiver<bool>,
    _open: watch::Receiver<()>,
}

impl Connection {
    async fn run(mut self, tcp: TcpStream, peer: SocketAddr) {
        // Keystroke echoes are small writes right after other small writes: Nagle's algorithm
        // would hold them for the peer's delayed ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
        let Some(tls) = self.handshake(tcp, peer).await else {
            return;
        };
        let builder = Builder::new(TokioExecutor::new());
        let service = TowerToHyperService::new(self.app.clone());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
        tokio::pin!(conn);
        let mut stopping = false;
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::trace!(%peer, "connection ended: {e}");
                    }
                    return;
                }
                () = stopped(&mut self.stop), if !stopping => {
                    conn.as_mut().graceful_shutdown();
                    stopping = true;
                }
            }
        }
    }

    /// The TLS session, or `None` (logged) when the handshake fails, times out or the hub stops.
    async fn handshake(
        &mut self,
        tcp: TcpStream,
        peer: SocketAddr,
    ) -> Option<TlsStream<TcpStream>> {
        let accepted = tokio::select! {
            accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)) => accepted,
            () = stopped(&mut self.stop) => return None,
        };
        match accepted {
            Ok(Ok(tls)) => Some(tls),
            Ok(Err(e)) => {
                tracing::debug!(%peer, "TLS handshake failed: {e}");
                None
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> PathBuf {
        PathBuf::from("/etc/hub/cert.pem")
    }

    fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap()
    }

    #[test]
    fn a_file_without_a_certificate_is_named() {
        for pem in [&b""[..], b"not PEM at all\n"] {
            let err = parse_certs(pem, &path()).unwrap_err();
            assert_eq!(err.to_string(), "no certificate in /etc/hub/cert.pem");
        }
    }

    #[test]
    fn a_key_is_not_a_certificate_and_back() {
        let generated = self_signed();
        let key_pem = generated.signing_key.serialize_pem();
        let err = parse_certs(key_pem.as_bytes(), &path()).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificate(_)), "{err}");
        let err = parse_key(generated.cert.pem().as_bytes(), Path::new("key.pem")).unwrap_err();
        assert_eq!(err.to_string(), "no private key in key.pem");
    }

    #[test]
    fn malformed_pem_is_not_mistaken_for_an_empty_file() {
        let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n";
        let err = parse_certs(pem, &path()).unwrap_err();
        assert!(matches!(err, TlsError::Pem { .. }), "{err}");
        assert!(err.to_string().contains("/etc/hub/cert.pem"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err =
            load_server_config(Path::new("/nonexistent/cert.pem"), Path::new("k")).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("cannot read /nonexistent/cert.pem"),
            "{err}"
        );
    }

    #[test]
    fn a_generated_pair_loads_and_offers_http1_only() {
        let generated = self_signed();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        let config = load_server_config(&cert, &key).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let (one, other) = (self_signed(), self_signed());
        let chain = parse_certs(one.cert.pem().as_bytes(), &path()).unwrap();
        let key = parse_key(other.signing_key.serialize_pem().as_bytes(), &path()).unwrap();
        assert!(server_config(chain, key).is_err());
    }
}
