//! Outbound HTTP over kept-alive connections, as Spin does by default: one client for the
//! whole runtime, whose pools every request shares, so a component that calls the same API on
//! each request pays for TCP and TLS set-up once, not every time.
//!
//! Each request thread has a pool of its own: a pooled connection is driven by a task on the
//! runtime that opened it, so a request sent on another thread's connection would cross
//! threads twice (there and back), each a wake-up of a parked thread when the machine is not
//! busy — more than the rest of a local request costs.

use std::{
    collections::HashMap,
    error::Error as StdError,
    fmt,
    io::IoSlice,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll, ready},
    thread::{self, ThreadId},
    time::Duration,
};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::{
    client::legacy::{
        Client,
        connect::{Connected, Connection},
    },
    rt::{TokioExecutor, TokioIo, TokioTimer},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    time::{Interval, timeout},
};
use tokio_rustls::client::TlsStream;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// What `wasi:http` allows when a request sets no timeout of its own (wasmtime's default).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// How long an unused connection stays open.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

tokio::task_local! {
    /// The connect timeout of the request being sent: the pool's connectors cannot take it
    /// as an argument.
    static CONNECT_TIMEOUT: Duration;
}

/// The runtime's outbound HTTP client.
pub struct OutboundClient {
    tls: Arc<rustls::ClientConfig>,
    /// Each thread's pools, made on its first request.
    pools: Mutex<HashMap<ThreadId, Pools>>,
}

/// One thread's kept-alive connections.
#[derive(Clone)]
struct Pools {
    http: Client<TcpConnector, WasiBody>,
    https: Client<TlsConnector, WasiBody>,
}

impl Pools {
    fn new(tls: &Arc<rustls::ClientConfig>) -> Self {
        let builder = || {
            let mut builder = Client::builder(TokioExecutor::new());
            builder
                .pool_idle_timeout(IDLE_TIMEOUT)
                .pool_timer(TokioTimer::new());
            builder
        };
        Self {
            http: builder().build(TcpConnector),
            https: builder().build(TlsConnector {
                config: tls.clone(),
            }),
        }
    }
}

impl fmt::Debug for OutboundClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutboundClient")
    }
}

impl Default for OutboundClient {
    fn default() -> Self {
        Self::new()
    }
}

impl OutboundClient {
    /// A client trusting the Mozilla roots (webpki-roots), speaking HTTP/1.1.
    pub fn new() -> Self {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        let mut tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            tls: Arc::new(tls),
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// The calling thread's pools.
    fn pools(&self) -> Pools {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        pools
            .entry(thread::current().id())
            .or_insert_with(|| Pools::new(&self.tls))
            .clone()
    }

    /// Sends `request` (absolute URI) within `options`' timeouts: connecting, the response
    /// head, and the gap between two pieces of its body.
    pub async fn send(
        &self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> Result<Response<WasiBody>, Error> {
        let limit = |pick: fn(&RequestOptions) -> Option<Duration>| {
            options.as_ref().and_then(pick).unwrap_or(DEFAULT_TIMEOUT)
        };
        let connect_timeout = limit(|o| o.connect_timeout);
        let first_byte_timeout = limit(|o| o.first_byte_timeout);
        let between_bytes_timeout = limit(|o| o.between_bytes_timeout);
        let https = request.uri().scheme() == Some(&http::uri::Scheme::HTTPS);
        let pools = self.pools();
        let sent = CONNECT_TIMEOUT.scope(connect_timeout, async {
            if https {
                pools.https.request(request).await
            } else {
                pools.http.request(request).await
            }
        });
        let response = timeout(first_byte_timeout, sent)
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(|e| request_error(&e))?;
        Ok(response.map(|body| TimedBody::new(body, between_bytes_timeout).boxed_unsync()))
    }
}

/// Why a connection could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectFailure {
    /// The URI has no host.
    NoHost,
    /// The host name did not resolve.
    Dns,
    /// Nobody accepted the connection.
    Refused,
    /// Connecting took longer than the request allows.
    Timeout,
    /// The host is not a valid TLS server name.
    BadServerName,
    /// The TLS handshake failed.
    Tls,
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoHost => "the URI has no host",
            Self::Dns => "the host name did not resolve",
            Self::Refused => "connection refused",
            Self::Timeout => "connection timed out",
            Self::BadServerName => "not a valid TLS server name",
            Self::Tls => "TLS handshake failed",
        })
    }
}

impl StdError for ConnectFailure {}

impl From<ConnectFailure> for Error {
    fn from(failure: ConnectFailure) -> Self {
        match failure {
            ConnectFailure::NoHost => Error::HttpRequestUriInvalid,
            ConnectFailure::Dns | ConnectFailure::BadServerName => Error::DnsError {
                rcode: Some("address not available".into()),
                info_code: Some(0),
            },
            ConnectFailure::Refused => Error::ConnectionRefused,
            ConnectFailure::Timeout => Error::ConnectionTimeout,
            ConnectFailure::Tls => Error::TlsProtocolError,
        }
    }
}

/// The `wasi:http` error for a failed request: the connector's reason if it failed there.
fn request_error(error: &hyper_util::client::legacy::Error) -> Error {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(failure) = current.downcast_ref::<ConnectFailure>() {
            return (*failure).into();
        }
        cause = current.source();
    }
    tracing::debug!("outbound request failed: {error:?}");
    Error::HttpProtocolError
}

/// The URI's host, an IPv6 literal without the brackets `Uri::host` keeps.
fn bare_host(uri: &Uri) -> Result<&str, ConnectFailure> {
    let host = uri.host().ok_or(ConnectFailure::NoHost)?;
    Ok(host.trim_start_matches('[').trim_end_matches(']'))
}

async fn connect_tcp(uri: &Uri, default_port: u16) -> Result<TcpStream, ConnectFailure> {
    let host = bare_host(uri)?;
    let port = uri.port_u16().unwrap_or(default_port);
    let connect_timeout = CONNECT_TIMEOUT
        .try_with(|limit| *limit)
        .unwrap_or(DEFAULT_TIMEOUT);
    let connecting = async {
        let addrs: Vec<_> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| ConnectFailure::Dns)?
            .collect();
        if addrs.is_empty() {
            return Err(ConnectFailure::Dns);
        }
        TcpStream::connect(&*addrs)
            .await
            .map_err(|_| ConnectFailure::Refused)
    };
    let stream = timeout(connect_timeout, connecting)
        .await
        .map_err(|_| ConnectFailure::Timeout)??;
    // Requests are small and answered at once: do not hold them for Nagle.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, ConnectFailure>> + Send>>;

/// Plain TCP connections for `http://` URIs.
#[derive(Clone)]
struct TcpConnector;

impl tower_service::Service<Uri> for TcpConnector {
    type Response = TokioIo<TcpStream>;
    type Error = ConnectFailure;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(async move { Ok(TokioIo::new(connect_tcp(&uri, 80).await?)) })
    }
}

/// TLS connections for `https://` URIs.
#[derive(Clone)]
struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
}

impl tower_service::Service<Uri> for TlsConnector {
    type Response = TokioIo<TlsConnection>;
    type Error = ConnectFailure;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        Box::pin(async move {
            let host = bare_host(&uri)?;
            let name = rustls::pki_types::ServerName::try_from(host.to_owned())
                .map_err(|_| ConnectFailure::BadServerName)?;
            let tcp = connect_tcp(&uri, 443).await?;
            let tls = connector.connect(name, tcp).await.map_err(|e| {
                tracing::warn!("TLS handshake with {host} failed: {e}");
                ConnectFailure::Tls
            })?;
            Ok(TokioIo::new(TlsConnection(tls)))
        })
    }
}

/// A TLS stream the pool can hold.
struct TlsConnection(TlsStream<TcpStream>);

impl Connection for TlsConnection {
    fn connected(&self) -> Connected {
        self.0.get_ref().0.connected()
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// A response body that fails once no piece of it has come for `between_bytes_timeout`.
struct TimedBody {
    incoming: Incoming,
    idle: Interval,
}

impl TimedBody {
    fn new(incoming: Incoming, between_bytes_timeout: Duration) -> Self {
        // Tokio panics on a zero interval.
        let period = between_bytes_timeout.max(Duration::from_nanos(1));
        let mut idle = tokio::time::interval(period);
        idle.reset();
        Self { incoming, idle }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                self.idle.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) if e.is_timeout() => {
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::Hyper(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                ready!(self.idle.poll_tick(cx));
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::Empty;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    use super::*;

    fn get(url: &str) -> Request<WasiBody> {
        let body = Empty::new().map_err(|never| match never {}).boxed_unsync();
        Request::get(url).body(body).unwrap()
    }

    fn within(first_byte: Duration, between_bytes: Duration) -> Option<RequestOptions> {
        Some(RequestOptions {
            connect_timeout: None,
            first_byte_timeout: Some(first_byte),
            between_bytes_timeout: Some(between_bytes),
        })
    }

    #[test]
    fn an_ipv6_host_loses_its_brackets() {
        let uri: Uri = "http://[::1]:8080/x".parse().unwrap();
        assert_eq!(bare_host(&uri), Ok("::1"));
        let uri: Uri = "http://example.com/x".parse().unwrap();
        assert_eq!(bare_host(&uri), Ok("example.com"));
    }

    #[tokio::test]
    async fn a_closed_port_is_connection_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let sent = OutboundClient::new()
            .send(get(&format!("http://127.0.0.1:{port}/")), None)
            .await;
        assert!(matches!(sent, Err(Error::ConnectionRefused)), "{sent:?}");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_before_the_response_head() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(stream);
        });
        let limits = within(Duration::from_millis(100), DEFAULT_TIMEOUT);
        let sent = OutboundClient::new()
            .send(get(&format!("http://127.0.0.1:{port}/")), limits)
            .await;
        assert!(
            matches!(sent, Err(Error::ConnectionReadTimeout)),
            "{sent:?}"
        );
        silent.abort();
    }

    #[tokio::test]
    async fn a_body_that_stops_coming_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stalling = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await.unwrap();
            let head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab";
            stream.write_all(head).await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let limits = within(DEFAULT_TIMEOUT, Duration::from_millis(100));
        let response = OutboundClient::new()
            .send(get(&format!("http://127.0.0.1:{port}/")), limits)
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let read = response.into_body().collect().await;
        assert!(
            matches!(read, Err(Error::ConnectionReadTimeout)),
            "{:?}",
            read.map(|body| body.to_bytes())
        );
        stalling.abort();
    }
}
