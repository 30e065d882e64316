//! One writer per SQLite file: the runtime's writes to a file run on a thread of their own, one
//! after another, in the order they came.
//!
//! SQLite lets one connection write at a time. The others wait in its busy handler, which
//! sleeps and retries (1, 2, 5, 10, … 100 ms) and lets in whoever retries at the right moment,
//! not whoever came first: under contention a write can wait hundreds of milliseconds while
//! later ones pass it, and the lock sits idle while the waiters sleep. Here every write (and
//! every statement of a transaction) is a job in the file's queue, and the writer thread runs
//! them back to back, so SQLite's lock is never contended by the runtime and never idle while
//! writes wait. SQLite's own busy timeout still covers writers outside the runtime.
//!
//! A job runs on its requester's own connection, so a transaction, `changes()` and
//! `last_insert_rowid()` stay that guest's. A job that leaves its connection inside a
//! transaction gives that connection the writer until the transaction ends (a later job of
//! the same connection leaves it in autocommit, or the connection is released): other jobs
//! wait, in order, as they would for SQLite's lock.
//!
//! The queue is bounded: past [`MAX_WAITING`] jobs a write is refused at once, and a job that
//! waited [`WAIT_LIMIT`] without starting is refused, both as SQLite refuses a write when busy
//! (`database is locked`). Durability is unchanged: a job answers only once its statement has
//! committed (and synced), so a write the guest saw succeed is on disk.

use std::{
    collections::VecDeque,
    io,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
        mpsc::{self, Receiver, RecvTimeoutError, Sender},
    },
    thread,
    time::{Duration, Instant},
};

use tokio::sync::oneshot;

/// Most jobs that may wait for one file's writer. At a millisecond or so per synced commit,
/// that many drain in a fraction of a second; a longer queue means the disk cannot keep up,
/// and refusing at once (as SQLite does when busy) sheds the load instead of holding
/// instances for seconds.
pub const MAX_WAITING: usize = 256;

/// Longest a job waits to start: SQLite's busy timeout in this runtime.
pub const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// The message of a write refused as busy: SQLite's own for `SQLITE_BUSY`.
pub const BUSY: &str = "database is locked";

/// The writer of one SQLite file, shared by every connection to it.
#[derive(Debug, Clone)]
pub struct Writer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    jobs: Sender<Message>,
    queue: Arc<Queue>,
    owners: AtomicU64,
}

/// What the requesters and the thread both see.
#[derive(Debug)]
struct Queue {
    waiting: AtomicUsize,
    max_waiting: usize,
    wait_limit: Duration,
}

/// The connection a job runs on, as far as transactions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner(u64);

/// A write refused: too many jobs waiting, or this one waited too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{BUSY}")]
pub struct Busy;

/// Whether a job is to run or to be refused.
enum Go {
    Run,
    Refuse,
}

/// A job: answers its requester either way; `true` when it left its connection in a
/// transaction.
type Task = Box<dyn FnOnce(Go) -> bool + Send>;

enum Message {
    Job {
        owner: Option<Owner>,
        deadline: Instant,
        task: Task,
    },
    /// `owner`'s connection is going away: `finish` rolls back what it left open, and the
    /// writer is free for the others.
    Release {
        owner: Owner,
        finish: Box<dyn FnOnce() + Send>,
    },
}

impl Writer {
    /// Starts the writer thread of the file `name` (for the thread's name).
    pub fn start(name: &str) -> io::Result<Self> {
        Self::start_with_limits(name, MAX_WAITING, WAIT_LIMIT)
    }

    /// A writer whose queue holds at most `max_waiting` jobs, each for at most `wait_limit`.
    pub fn start_with_limits(
        name: &str,
        max_waiting: usize,
        wait_limit: Duration,
    ) -> io::Result<Self> {
        let (jobs, incoming) = mpsc::channel();
        let queue = Arc::new(Queue {
            waiting: AtomicUsize::new(0),
            max_waiting,
            wait_limit,
        });
        let thread_queue = queue.clone();
        thread::Builder::new()
            .name(format!("write {name}"))
            .spawn(move || serve(&incoming, &thread_queue))?;
        Ok(Self {
            shared: Arc::new(Shared {
                jobs,
                queue,
                owners: AtomicU64::new(1),
            }),
        })
    }

    /// A name for one connection's jobs.
    pub fn new_owner(&self) -> Owner {
        Owner(self.shared.owners.fetch_add(1, Ordering::Relaxed))
    }

    /// Runs `f` on the writer thread behind every job queued before it; `f` returns its value
    /// and whether it left `owner`'s connection inside a transaction (always `false` without
    /// an owner).
    pub async fn run<T, F>(&self, owner: Option<Owner>, f: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> (T, bool) + Send + 'static,
    {
        self.submit(owner, true, f).await
    }

    /// Runs the next statement of `owner`'s open transaction, which holds the writer: it
    /// waits for nobody, so the queue's bound does not apply to it.
    pub async fn run_in_transaction<T, F>(&self, owner: Owner, f: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> (T, bool) + Send + 'static,
    {
        self.submit(Some(owner), false, f).await
    }

    async fn submit<T, F>(&self, owner: Option<Owner>, bounded: bool, f: F) -> Result<T, Busy>
    where
        T: Send + 'static,
        F: FnOnce() -> (T, bool) + Send + 'static,
    {
        let queue = &self.shared.queue;
        if queue.waiting.fetch_add(1, Ordering::AcqRel) >= queue.max_waiting && bounded {
            queue.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let (answer, answered) = oneshot::channel();
        let task: Task = Box::new(move |go| match go {
            Go::Run => {
                let (value, in_transaction) = f();
                let _ = answer.send(Ok(value));
                in_transaction && owner.is_some()
            }
            Go::Refuse => {
                let _ = answer.send(Err(Busy));
                false
            }
        });
        let job = Message::Job {
            owner,
            deadline: Instant::now() + queue.wait_limit,
            task,
        };
        if self.shared.jobs.send(job).is_err() {
            queue.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        // A job whose requester stopped waiting still runs: it may have begun a transaction.
        answered.await.unwrap_or(Err(Busy))
    }

    /// Runs `finish` on the writer thread once `owner`'s connection is done with (it rolls
    /// back what the connection left open), freeing the writer for the other connections.
    pub fn release(&self, owner: Owner, finish: impl FnOnce() + Send + 'static) {
        let finish = Box::new(finish);
        if let Err(mpsc::SendError(Message::Release { finish, .. })) =
            self.shared.jobs.send(Message::Release { owner, finish })
        {
            finish();
        }
    }
}

/// The writer thread: runs jobs in order until every [`Writer`] handle is gone.
fn serve(incoming: &Receiver<Message>, queue: &Queue) {
    // Jobs of other connections that came while one connection's transaction held the writer.
    let mut deferred: VecDeque<(Option<Owner>, Instant, Task)> = VecDeque::new();
    let mut holder: Option<Owner> = None;
    loop {
        let (owner, deadline, task) = match holder {
            None => match deferred.pop_front() {
                Some(job) => job,
                None => match incoming.recv() {
                    Ok(Message::Job {
                        owner,
                        deadline,
                        task,
                    }) => (owner, deadline, task),
                    Ok(Message::Release { finish, .. }) => {
                        finish_safely(finish);
                        continue;
                    }
                    Err(_) => return,
                },
            },
            Some(holding) => {
                refuse_expired(&mut deferred, queue);
                let wait = deferred.front().map_or(Duration::from_secs(3600), |job| {
                    job.1.saturating_duration_since(Instant::now())
                });
                match incoming.recv_timeout(wait) {
                    Ok(Message::Job {
                        owner,
                        deadline,
                        task,
                    }) if owner == Some(holding) => (owner, deadline, task),
                    Ok(Message::Job {
                        owner,
                        deadline,
                        task,
                    }) => {
                        deferred.push_back((owner, deadline, task));
                        continue;
                    }
                    Ok(Message::Release { owner, finish }) => {
                        finish_safely(finish);
                        if owner == holding {
                            holder = None;
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        };
        queue.waiting.fetch_sub(1, Ordering::AcqRel);
        // The holder's own statements never wait behind the others.
        let go = if holder.is_none() && Instant::now() >= deadline {
            Go::Refuse
        } else {
            Go::Run
        };
        let in_transaction = catch_unwind(AssertUnwindSafe(|| task(go))).unwrap_or_else(|_| {
            tracing::error!("a SQLite write panicked");
            false
        });
        holder = if in_transaction { owner } else { None };
    }
}

fn refuse_expired(deferred: &mut VecDeque<(Option<Owner>, Instant, Task)>, queue: &Queue) {
    let now = Instant::now();
    while deferred.front().is_some_and(|job| job.1 <= now) {
        if let Some((_, _, task)) = deferred.pop_front() {
            queue.waiting.fetch_sub(1, Ordering::AcqRel);
            let _ = catch_unwind(AssertUnwindSafe(|| task(Go::Refuse)));
        }
    }
}

fn finish_safely(finish: Box<dyn FnOnce() + Send>) {
    if catch_unwind(AssertUnwindSafe(finish)).is_err() {
        tracing::error!("releasing a SQLite connection panicked");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn jobs_run_in_the_order_they_came() {
        let writer = Writer::start("test").unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut jobs = Vec::new();
        for n in 0..32 {
            let order = order.clone();
            jobs.push(writer.run(None, move || {
                order.lock().unwrap().push(n);
                ((), false)
            }));
        }
        for job in jobs {
            job.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..32).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_transaction_holds_the_writer_until_it_ends() {
        let writer = Writer::start("test").unwrap();
        let (a, b) = (writer.new_owner(), writer.new_owner());
        let order = Arc::new(Mutex::new(Vec::new()));
        let log = |what: &'static str, in_transaction: bool| {
            let order = order.clone();
            move || {
                order.lock().unwrap().push(what);
                ((), in_transaction)
            }
        };
        writer.run(Some(a), log("a begins", true)).await.unwrap();
        let other = tokio::spawn({
            let writer = writer.clone();
            let job = log("b writes", false);
            async move { writer.run(Some(b), job).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        writer.run(Some(a), log("a writes", true)).await.unwrap();
        writer.run(Some(a), log("a commits", false)).await.unwrap();
        other.await.unwrap().unwrap();
        assert_eq!(
            *order.lock().unwrap(),
            ["a begins", "a writes", "a commits", "b writes"]
        );
    }

    #[tokio::test]
    async fn releasing_a_transaction_frees_the_writer() {
        let writer = Writer::start("test").unwrap();
        let (a, b) = (writer.new_owner(), writer.new_owner());
        writer.run(Some(a), || ((), true)).await.unwrap();
        let other = tokio::spawn({
            let writer = writer.clone();
            async move { writer.run(Some(b), || ("b", false)).await }
        });
        let (released, was_released) = oneshot::channel();
        writer.release(a, move || {
            let _ = released.send(());
        });
        was_released.await.unwrap();
        assert_eq!(other.await.unwrap(), Ok("b"));
    }

    #[tokio::test]
    async fn past_the_bound_a_write_is_refused_at_once() {
        let writer = Writer::start_with_limits("test", 2, Duration::from_secs(60)).unwrap();
        let (a, b) = (writer.new_owner(), writer.new_owner());
        writer.run(Some(a), || ((), true)).await.unwrap();
        let queued: Vec<_> = (0..2)
            .map(|_| {
                let writer = writer.clone();
                tokio::spawn(async move { writer.run(Some(b), || ((), false)).await })
            })
            .collect();
        while writer.shared.queue.waiting.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(writer.run(Some(b), || ((), false)).await, Err(Busy));
        // The transaction still ends.
        writer.run_in_transaction(a, || ((), false)).await.unwrap();
        for job in queued {
            assert_eq!(job.await.unwrap(), Ok(()));
        }
    }

    #[tokio::test]
    async fn a_write_waits_at_most_the_limit() {
        let limit = Duration::from_millis(50);
        let writer = Writer::start_with_limits("test", 8, limit).unwrap();
        let (a, b) = (writer.new_owner(), writer.new_owner());
        writer.run(Some(a), || ((), true)).await.unwrap();
        let started = Instant::now();
        assert_eq!(writer.run(Some(b), || ((), false)).await, Err(Busy));
        assert!(started.elapsed() >= limit);
        // The holder still writes.
        writer.run_in_transaction(a, || ((), false)).await.unwrap();
        assert_eq!(writer.shared.queue.waiting.load(Ordering::Acquire), 0);
    }
}
