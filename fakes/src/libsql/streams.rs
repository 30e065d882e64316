//! The server's streams: one SQLite connection each, found by the baton of its last answer.
//! A request takes its stream's connection out of the table while it runs, so streams run side
//! by side; a baton is spent once used, and an idle stream expires (rolled back).

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::http::StatusCode;
use rusqlite::Connection;
use serde_json::Value;

use super::hrana;
use crate::common::random;

/// Why a pipeline was refused as a whole (an HTTP error, the stream no longer valid).
pub(super) struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

struct Idle {
    conn: Connection,
    since: Instant,
}

/// The streams of one server.
pub(super) struct Streams {
    path: PathBuf,
    expiry: Duration,
    max: usize,
    idle: Mutex<HashMap<String, Idle>>,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Streams({})", self.path.display())
    }
}

impl Streams {
    pub(super) fn new(path: PathBuf, expiry: Duration, max: usize) -> Self {
        Self {
            path,
            expiry,
            max,
            idle: Mutex::new(HashMap::new()),
        }
    }

    /// Streams waiting for their next request.
    pub(super) fn len(&self) -> usize {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Runs `requests` on the stream `baton` names (a new one for `None`): the next baton
    /// (`None` once closed) and one result per request.
    pub(super) fn run(
        &self,
        baton: Option<&str>,
        requests: &[Value],
    ) -> Result<(Option<String>, Vec<Value>), Refusal> {
        let conn = match baton {
            Some(baton) => self.take(baton)?,
            None => self.open()?,
        };
        let mut conn = Some(conn);
        let mut results = Vec::with_capacity(requests.len());
        for request in requests {
            let result = match &conn {
                Some(_) if request.get("type").and_then(Value::as_str) == Some("close") => {
                    conn = None;
                    hrana::ok(serde_json::json!({ "type": "close" }))
                }
                Some(c) => hrana::handle(c, request),
                None => hrana::error("the stream is closed", "STREAM_CLOSED"),
            };
            results.push(result);
        }
        let Some(conn) = conn else {
            return Ok((None, results));
        };
        let baton = random::alphanumeric(32);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.insert(
            baton.clone(),
            Idle {
                conn,
                since: Instant::now(),
            },
        );
        Ok((Some(baton), results))
    }

    /// The connection of a stream, taken out of the table (its baton is spent).
    fn take(&self, baton: &str) -> Result<Connection, Refusal> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        self.expire(&mut idle);
        idle.remove(baton).map(|i| i.conn).ok_or_else(|| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "The baton is invalid: the stream expired, was closed, or never existed",
            )
        })
    }

    /// A new stream's connection.
    fn open(&self) -> Result<Connection, Refusal> {
        {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            self.expire(&mut idle);
            if idle.len() >= self.max {
                return Err(Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Too many open streams",
                ));
            }
        }
        let conn = Connection::open(&self.path).map_err(|e| {
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("opening the database: {e}"),
            )
        })?;
        conn.busy_timeout(Duration::from_secs(5))
            .and_then(|()| {
                conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            })
            .map_err(|e| {
                Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("opening the database: {e}"),
                )
            })?;
        Ok(conn)
    }

    /// Drops streams idle past the expiry; dropping a connection rolls back its transaction.
    fn expire(&self, idle: &mut HashMap<String, Idle>) {
        idle.retain(|_, stream| stream.since.elapsed() < self.expiry);
    }
}
