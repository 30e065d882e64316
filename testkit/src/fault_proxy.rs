//! A TCP proxy that injects faults between a client and a server, for tests: delay and
//! throttle each direction, stop one direction or both (a partition: nothing is read, so the
//! sender's buffers fill as on a dead link, and a half-open connection when both stop), close
//! every connection (FIN) or reset it (RST), and refuse new ones.
//!
//! Each accepted connection gets two pumps, one per direction, that follow the current
//! [`Faults`] as they change; closing and resetting act on the connections open at that moment.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::watch,
    task::JoinHandle,
};

/// Bytes read at a time.
const CHUNK: usize = 64 * 1024;

/// A direction of traffic through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

/// What happens to one direction's bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Link {
    /// Added before each chunk is passed on.
    pub delay: Duration,
    /// Bytes per second at most; `None` for no limit.
    pub throttle: Option<u64>,
    /// Nothing is read or passed on (the bytes wait in the sender's buffers).
    pub stopped: bool,
}

/// The faults applied to traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Client to server.
    pub to_server: Link,
    /// Server to client.
    pub to_client: Link,
    /// New connections are reset at once.
    pub refuse: bool,
}

impl Faults {
    fn link(&self, direction: Direction) -> Link {
        match direction {
            Direction::ToServer => self.to_server,
            Direction::ToClient => self.to_client,
        }
    }

    fn link_mut(&mut self, direction: Direction) -> &mut Link {
        match direction {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }
}

/// How a connection is ended by the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// FIN both ways.
    Close,
    /// RST both ways.
    Reset,
}

/// A running proxy; it stops (resetting its connections) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    faults: watch::Sender<Faults>,
    connections: Arc<Mutex<Vec<watch::Sender<Option<End>>>>>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on `127.0.0.1:0` to `target`, passing everything on unchanged.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (faults, _) = watch::channel(Faults::default());
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn(accept(
            listener,
            target,
            faults.clone(),
            connections.clone(),
        ));
        Ok(Self {
            addr,
            faults,
            connections,
            accept,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes the faults with `f`; connections follow at once.
    pub fn update(&self, f: impl FnOnce(&mut Faults)) {
        self.faults.send_modify(f);
    }

    /// Adds `delay` before each chunk in `direction`.
    pub fn delay(&self, direction: Direction, delay: Duration) {
        self.update(|f| f.link_mut(direction).delay = delay);
    }

    /// Limits `direction` to `bytes_per_second` (`None`: no limit).
    pub fn throttle(&self, direction: Direction, bytes_per_second: Option<u64>) {
        self.update(|f| f.link_mut(direction).throttle = bytes_per_second);
    }

    /// Stops `direction`: nothing passes, the sender's buffers fill, nobody is told.
    pub fn stop(&self, direction: Direction) {
        self.update(|f| f.link_mut(direction).stopped = true);
    }

    /// Stops both directions: every connection is half-open, alive to both ends but dead.
    pub fn half_open(&self) {
        self.stop(Direction::ToServer);
        self.stop(Direction::ToClient);
    }

    /// Refuses (resets) new connections, or accepts them again.
    pub fn refuse(&self, refuse: bool) {
        self.update(|f| f.refuse = refuse);
    }

    /// Back to passing everything on unchanged (and accepting connections).
    pub fn heal(&self) {
        self.update(|f| *f = Faults::default());
    }

    /// Closes every open connection both ways (FIN); returns how many.
    pub fn cut(&self) -> usize {
        self.end_all(End::Close)
    }

    /// Resets every open connection both ways (RST); returns how many.
    pub fn reset(&self) -> usize {
        self.end_all(End::Reset)
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        let mut connections = self.lock();
        connections.retain(|c| !c.is_closed());
        connections.len()
    }

    fn end_all(&self, end: End) -> usize {
        let connections = std::mem::take(&mut *self.lock());
        connections
            .into_iter()
            .filter(|c| c.send(Some(end)).is_ok())
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<watch::Sender<Option<End>>>> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.end_all(End::Reset);
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    faults: watch::Sender<Faults>,
    connections: Arc<Mutex<Vec<watch::Sender<Option<End>>>>>,
) {
    while let Ok((client, _)) = listener.accept().await {
        if faults.borrow().refuse {
            let _ = client.set_zero_linger();
            continue;
        }
        let Ok(server) = TcpStream::connect(target).await else {
            let _ = client.set_zero_linger();
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (end_tx, end_rx) = watch::channel(None);
        connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(end_tx);
        let (client_read, client_write) = client.into_split();
        let (server_read, server_write) = server.into_split();
        tokio::spawn(pump(
            client_read,
            server_write,
            Direction::ToServer,
            faults.subscribe(),
            end_rx.clone(),
        ));
        tokio::spawn(pump(
            server_read,
            client_write,
            Direction::ToClient,
            faults.subscribe(),
            end_rx,
        ));
    }
}

/// Moves bytes from `from` to `to` under the faults of `direction` until either end closes
/// or the proxy ends the connection.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    direction: Direction,
    mut faults: watch::Receiver<Faults>,
    mut end: watch::Receiver<Option<End>>,
) {
    let mut buffer = vec![0u8; CHUNK];
    let ended = loop {
        let link = faults.borrow_and_update().link(direction);
        if link.stopped {
            tokio::select! {
                _ = faults.changed() => continue,
                _ = end.changed() => break *end.borrow(),
            }
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            _ = faults.changed() => continue,
            _ = end.changed() => break *end.borrow(),
        };
        let n = match read {
            Ok(0) | Err(_) => break None,
            Ok(n) => n,
        };
        let wait = link.delay
            + link.throttle.map_or(Duration::ZERO, |rate| {
                Duration::from_secs_f64(n as f64 / rate.max(1) as f64)
            });
        let pass = async {
            tokio::time::sleep(wait).await;
            to.write_all(&buffer[..n]).await
        };
        let written = tokio::select! {
            written = pass => written,
            _ = end.changed() => break *end.borrow(),
        };
        if written.is_err() {
            break None;
        }
    };
    match ended {
        Some(End::Reset) => {
            let _ = from.as_ref().set_zero_linger();
            let _ = to.as_ref().set_zero_linger();
            // Dropped, a write half would send a FIN before the reset.
            to.forget();
        }
        Some(End::Close) | None => {
            let _ = to.shutdown().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// An echo server; its address.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        addr
    }

    async fn round_trip(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
        stream.write_all(bytes).await.unwrap();
        let mut back = vec![0u8; bytes.len()];
        stream.read_exact(&mut back).await.unwrap();
        back
    }

    #[tokio::test]
    async fn passes_bytes_exactly_with_delay_and_throttle() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        proxy.delay(Direction::ToServer, Duration::from_millis(5));
        proxy.throttle(Direction::ToClient, Some(4 * 1024 * 1024));
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        let bytes: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        assert!(round_trip(&mut stream, &bytes).await == bytes);
    }

    #[tokio::test]
    async fn a_stopped_link_passes_nothing_until_healed() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut stream, b"before").await, b"before");
        proxy.half_open();
        stream.write_all(b"held").await.unwrap();
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut byte));
        assert!(
            read.await.is_err(),
            "nothing arrives through a half-open link"
        );
        proxy.heal();
        let mut back = [0u8; 4];
        stream.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"held");
    }

    #[tokio::test]
    async fn cut_closes_reset_resets_and_refused_connections_fail() {
        let proxy = FaultProxy::start(echo().await).await.unwrap();
        let mut cut = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut cut, b"x").await, b"x");
        assert_eq!(proxy.cut(), 1);
        let mut rest = Vec::new();
        assert_eq!(cut.read_to_end(&mut rest).await.unwrap(), 0);

        let mut reset = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut reset, b"y").await, b"y");
        assert_eq!(proxy.open_connections(), 1);
        assert_eq!(proxy.reset(), 1);
        let error = reset.read_to_end(&mut rest).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);

        proxy.refuse(true);
        let mut refused = TcpStream::connect(proxy.addr()).await.unwrap();
        let mut byte = [0u8; 1];
        assert!(matches!(refused.read(&mut byte).await, Ok(0) | Err(_)));
        proxy.heal();
        let mut again = TcpStream::connect(proxy.addr()).await.unwrap();
        assert_eq!(round_trip(&mut again, b"z").await, b"z");
    }
}
