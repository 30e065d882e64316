//! Request threads: each serves the connections handed to it on a single-threaded Tokio
//! runtime of its own, so a request's connection, guest and host tasks never hop threads (on a
//! small machine a cross-thread wake-up costs more than running an empty component).

use std::{
    future::Future,
    io,
    sync::atomic::{AtomicUsize, Ordering},
    thread,
    time::Duration,
};

use tokio::{runtime::Handle, sync::oneshot};

/// How long a stopping thread waits for its blocking tasks (SQLite statements) to finish.
const BLOCKING_GRACE: Duration = Duration::from_secs(1);

/// A fixed set of request threads, each with its own runtime.
pub struct Workers {
    runtimes: Vec<Handle>,
    next: AtomicUsize,
    // Dropping these tells each thread to stop.
    _stop: Vec<oneshot::Sender<()>>,
}

impl Workers {
    /// Starts `count` request threads (at least one).
    pub fn start(count: usize) -> io::Result<Self> {
        let count = count.max(1);
        let mut runtimes = Vec::with_capacity(count);
        let mut stop = Vec::with_capacity(count);
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtimes.push(runtime.handle().clone());
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            stop.push(stop_tx);
            thread::Builder::new()
                .name(format!("request-{index}"))
                .spawn(move || {
                    let _ = runtime.block_on(stop_rx);
                    runtime.shutdown_timeout(BLOCKING_GRACE);
                })?;
        }
        Ok(Self {
            runtimes,
            next: AtomicUsize::new(0),
            _stop: stop,
        })
    }

    /// As many threads as the machine has cores.
    pub fn per_core() -> io::Result<Self> {
        Self::start(thread::available_parallelism().map_or(1, usize::from))
    }

    /// Runs `task` on the next thread, round robin.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.runtimes.len();
        self.runtimes[index].spawn(task);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tasks_run_round_robin_on_the_request_threads() {
        let workers = Workers::start(2).unwrap();
        let mut names = Vec::new();
        for _ in 0..4 {
            let (tx, rx) = oneshot::channel();
            workers.spawn(async move {
                let _ = tx.send(thread::current().name().map(str::to_owned));
            });
            names.push(rx.await.unwrap());
        }
        let expected = ["request-0", "request-1", "request-0", "request-1"];
        assert_eq!(names, expected.map(|n| Some(n.to_owned())));
    }

    #[tokio::test]
    async fn dropping_the_workers_stops_their_tasks() {
        let workers = Workers::start(1).unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        workers.spawn(async move {
            std::future::pending::<()>().await;
            drop(tx);
        });
        drop(workers);
        // The pending task is dropped with its runtime, and its sender with it.
        assert!(rx.await.is_err());
    }
}
