//! Dialing the control plane: the upgrade request with the gateway's headers, over TCP or TLS,
//! offering no compression.

use std::sync::Arc;
use std::time::Duration;

use chatcode_core::protocol::MAX_TEXT_BYTES;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::{AUTHORIZATION, USER_AGENT};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream, tungstenite};

use crate::config::SimConfig;

/// A connected socket.
pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one dial, TLS and upgrade included, may take.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest message the socket reads (2 MiB). The connection's own checks close the socket with
/// 1009 at the protocol's smaller limits; this only bounds memory.
const SOCKET_MAX_MESSAGE_BYTES: usize = 2 * MAX_TEXT_BYTES;
/// The gateway's id header.
pub const GATEWAY_ID_HEADER: &str = "X-Gateway-Id";

/// Why a dial failed. Every one is retried after the back-off.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DialError {
    /// The control plane answered 401: a bad token.
    #[error("the control plane refused the token (HTTP 401)")]
    Unauthorized,
    /// The control plane answered another non-101 status.
    #[error("the control plane answered HTTP {0}")]
    Status(u16),
    /// The URL, token or id cannot form a request.
    #[error("cannot build the upgrade request: {0}")]
    Request(String),
    /// TLS could not be set up.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// The dial took longer than 10 s.
    #[error("the dial timed out")]
    Timeout,
    /// TCP, TLS or the WebSocket handshake failed.
    #[error("the dial failed: {0}")]
    Connect(tungstenite::Error),
}

/// Opens a WebSocket to `config.cp_url` with `Authorization: Bearer <token>` and
/// `X-Gateway-Id: <gateway_id>`.
pub(crate) async fn dial(config: &SimConfig) -> Result<Socket, DialError> {
    let mut request = config
        .cp_url
        .as_str()
        .into_client_request()
        .map_err(|e| DialError::Request(e.to_string()))?;
    let header = |value: String| {
        HeaderValue::from_str(&value).map_err(|_| DialError::Request("bad header value".into()))
    };
    let headers = request.headers_mut();
    headers.insert(AUTHORIZATION, header(format!("Bearer {}", config.token))?);
    headers.insert(GATEWAY_ID_HEADER, header(config.gateway_id.clone())?);
    headers.insert(
        USER_AGENT,
        header(format!("chatcode-gateway-sim/{}", config.version))?,
    );
    let connector = if config.cp_url.starts_with("wss://") {
        Connector::Rustls(tls_config()?)
    } else {
        Connector::Plain
    };
    let socket_config = WebSocketConfig::default()
        .max_message_size(Some(SOCKET_MAX_MESSAGE_BYTES))
        .max_frame_size(Some(SOCKET_MAX_MESSAGE_BYTES));
    let dial = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(socket_config),
        true,
        Some(connector),
    );
    match tokio::time::timeout(DIAL_TIMEOUT, dial).await {
        Err(_) => Err(DialError::Timeout),
        Ok(Ok((socket, _response))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) => match response.status().as_u16() {
            401 => Err(DialError::Unauthorized),
            status => Err(DialError::Status(status)),
        },
        Ok(Err(err)) => Err(DialError::Connect(err)),
    }
}

/// TLS with the webpki roots and the `ring` provider, set per connection rather than as the
/// process default.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, DialError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DialError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_set_up_without_a_process_default() {
        assert!(tls_config().is_ok());
    }

    #[tokio::test]
    async fn failures_are_errors_not_panics() {
        // Port 1 on loopback is closed: the dial fails at TCP, after TLS was configured.
        for url in [
            "wss://127.0.0.1:1/gw/connect",
            "ws://127.0.0.1:1/gw/connect",
        ] {
            let config = SimConfig::new(url, "gw-1", "t");
            assert!(matches!(dial(&config).await, Err(DialError::Connect(_))));
        }
        let config = SimConfig::new("not a url", "gw-1", "t");
        assert!(dial(&config).await.is_err());
        let config = SimConfig::new("ws://127.0.0.1:1/gw/connect", "gw-1", "bad\ntoken");
        assert!(matches!(dial(&config).await, Err(DialError::Request(_))));
    }
}
