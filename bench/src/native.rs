//! The baseline: the benchmarked handlers' logic served natively by axum and
//! rusqlite, with the runtime's SQLite settings (WAL, synchronous=FULL) and, for writes, its
//! write turns ([`chatcode_runtime::storage::run_write`]).

use std::{net::SocketAddr, path::Path, sync::Arc};

use axum::{
    Json, Router,
    extract::{Path as UrlPath, State},
    routing::{get, post},
};
use chatcode_runtime::storage::{Pool, run_blocking, run_write};
use serde_json::{Value, json};

#[derive(Clone)]
struct Stores {
    database: Pool,
    key_value: Pool,
}

/// Serves the baseline on a port-0 listener, on a multi-threaded runtime of its own (as
/// `#[tokio::main]` would run it) that lives as long as the process; returns its address.
pub async fn serve(dir: &Path) -> anyhow::Result<SocketAddr> {
    let dir = dir.to_owned();
    let (ready, answer) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("native-main".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(e.into()));
                    return;
                }
            };
            runtime.block_on(async move {
                let served = start(&dir).await;
                let _ = ready.send(served);
                std::future::pending::<()>().await;
            });
        })?;
    answer.await?
}

async fn start(dir: &Path) -> anyhow::Result<SocketAddr> {
    let stores = Arc::new(Stores {
        database: Pool::open(&dir.join("native.db"))?,
        key_value: Pool::open_key_value(&dir.join("native_kv.db"))?,
    });
    run_blocking(stores.database.clone(), |c| {
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, n INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                 checksum TEXT NOT NULL, applied_at INTEGER NOT NULL);",
        )
    })
    .await
    .map_err(anyhow::Error::msg)?;
    let login_stores = crate::login::open_stores(dir)?;
    crate::login::migrate(&login_stores.database).await?;
    let login = Router::new()
        .route(crate::login::PATH, post(crate::login::native_login))
        .with_state(Arc::new(login_stores));
    let app = Router::new()
        .route("/probe/ok", get(|| async { "ok" }))
        .route("/probe/bench/{key}", post(bench))
        .route("/healthz", get(healthz))
        .with_state(stores)
        .merge(login);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// Same SQL as the probe's `/probe/bench/:key`: one read, one write.
async fn bench(State(stores): State<Arc<Stores>>, UrlPath(key): UrlPath<String>) -> Json<Value> {
    let k = key.clone();
    let previous = run_write(stores.database.clone(), move |c| {
        use rusqlite::OptionalExtension;
        let previous: Option<i64> = c
            .prepare_cached("SELECT n FROM counters WHERE key = ?")?
            .query_row([&k], |r| r.get(0))
            .optional()?;
        c.prepare_cached(
            "INSERT INTO counters(key, n) VALUES (?, 1) ON CONFLICT(key) DO UPDATE SET n = n + 1",
        )?
        .execute([&k])?;
        Ok(previous)
    })
    .await
    .ok()
    .flatten();
    Json(json!({ "key": key, "previous": previous }))
}

/// Same checks as the platform's `/healthz`: schema version and a key-value read.
async fn healthz(State(stores): State<Arc<Stores>>) -> Json<Value> {
    let version = run_blocking(stores.database.clone(), |c| {
        c.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get::<_, i64>(0),
        )
    })
    .await;
    let kv = run_blocking(stores.key_value.clone(), |c| {
        c.query_row(
            "SELECT EXISTS (SELECT 1 FROM spin_key_value WHERE store = 'default' AND key = 'healthz')",
            [],
            |r| r.get::<_, bool>(0),
        )
    })
    .await;
    Json(json!({
        "app": "chatcode",
        "schema_version": version.unwrap_or(0),
        "sqlite": "ok",
        "key_value": if kv.is_ok() { "ok" } else { "error" },
    }))
}
