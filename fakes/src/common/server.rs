//! A fake's HTTP server: its own thread and tokio runtime, stopped on drop.
//!
//! Each fake runs on a runtime of its own so that synchronous tests (and
//! async tests that make blocking calls) can use it without sharing, or
//! starving, the test's runtime.

use std::{
    net::SocketAddr,
    thread::{self, JoinHandle},
};

use anyhow::Context;
use axum::Router;
use tokio::sync::oneshot;

/// A running fake. Dropping it stops the server and aborts requests in flight.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeServer {
    /// Binds `addr` (port 0 picks a free port) without serving yet.
    pub(crate) fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
        let listener =
            std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
        listener
            .set_nonblocking(true)
            .context("making the listener non-blocking")?;
        Ok(listener)
    }

    /// Serves `app` on `listener` from a new thread.
    pub(crate) fn serve(listener: std::net::TcpListener, app: Router) -> anyhow::Result<Self> {
        let addr = listener.local_addr().context("reading the bound address")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the fake's runtime")?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)
        };
        let listener = match listener {
            Ok(l) => l,
            Err(e) => {
                runtime.shutdown_background();
                return Err(e).context("registering the listener");
            }
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name(format!("fake-{addr}"))
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        result = axum::serve(listener, app) => {
                            if let Err(e) = result {
                                eprintln!("fake server on {addr} stopped: {e}");
                            }
                        }
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_background();
            })
            .context("spawning the fake's thread")?;
        Ok(Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
