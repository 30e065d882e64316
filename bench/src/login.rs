//! `POST /auth/dev/login` (development): the app's own write path, one SQLite write and one
//! key-value write per request, each synced, against a native handler that does the same
//! statements on the same files' settings (WAL, `synchronous=FULL`, the runtime's write turns).

use std::{fmt::Write as _, net::SocketAddr, path::Path, sync::Arc, time::Duration};

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::IntoResponse,
};
use chatcode_core::{
    IdKind,
    ids::new_id,
    login::{self, LoginRecord},
};
use chatcode_runtime::storage::{Pool, run_blocking, run_write};
use serde_json::{Value, json};

use crate::load::{self, Measured, Target};

/// The route, on the app and on the baseline.
pub const PATH: &str = "/auth/dev/login";
/// The body every request sends: the same user signs in again and again.
const BODY: &str = r#"{"username":"bench"}"#;

/// The app's schema, applied to the baseline's database as the platform applies it.
const MIGRATIONS: [&str; 2] = [
    include_str!("../../migrations/0001_initial.sql"),
    include_str!("../../migrations/0002_api_keys.sql"),
];

/// The baseline's stores: a database with the app's schema and a key-value file.
#[derive(Clone)]
pub struct Stores {
    /// The database (the app's schema).
    pub database: Pool,
    /// Spin's key-value table.
    pub key_value: Pool,
}

/// Applies the app's migrations to the baseline's database.
pub async fn migrate(database: &Pool) -> anyhow::Result<()> {
    run_blocking(database.clone(), |c| {
        for sql in MIGRATIONS {
            c.execute_batch(sql)?;
        }
        Ok(())
    })
    .await
    .map_err(anyhow::Error::msg)
}

/// The baseline's `POST /auth/dev/login`: the auth component's statements in its order (find
/// the user, record the login, store its key-value record, read the profile), with the
/// reads and writes each on a pooled connection off the async threads.
pub async fn native_login(
    State(stores): State<Arc<Stores>>,
    Json(body): Json<Value>,
) -> impl IntoResponse {
    match sign_in(&stores, body).await {
        Ok((profile, cookie)) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
            if let Ok(cookie) = cookie.parse() {
                headers.insert(header::SET_COOKIE, cookie);
            }
            (StatusCode::OK, headers, Json(profile)).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

async fn sign_in(stores: &Stores, body: Value) -> Result<(Value, String), String> {
    let username = body["username"]
        .as_str()
        .unwrap_or_default()
        .trim()
        .to_owned();
    chatcode_core::accounts::validate_username(&username)?;
    let name = username.clone();
    let found = run_blocking(stores.database.clone(), move |c| {
        use rusqlite::OptionalExtension;
        c.prepare_cached("SELECT id FROM users WHERE username = ? AND deleted_at IS NULL")?
            .query_row([&name], |r| r.get::<_, String>(0))
            .optional()
    })
    .await?;
    let now = now_ms();
    let user_id = match found {
        Some(id) => id,
        None => {
            let id = new_id(IdKind::User);
            let (user, name) = (id.clone(), username.clone());
            run_write(stores.database.clone(), move |c| {
                c.prepare_cached(
                    "INSERT INTO users (id, username, created_at, updated_at) VALUES (?, ?, ?, ?)",
                )?
                .execute((&user, &name, now, now))
                .map(drop)
            })
            .await?;
            id
        }
    };
    let token = login::new_token();
    let hash = login::token_hash(&token);
    let record = LoginRecord::new(&user_id, now);
    let (user, token_hash) = (user_id.clone(), hash.clone());
    run_write(stores.database.clone(), move |c| {
        c.prepare_cached(
            "INSERT INTO persistent_sessions (id, user_id, token_hash, user_agent, ip_address, \
             created_at, expires_at, last_active_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )?
        .execute((
            new_id(IdKind::Login),
            &user,
            &token_hash,
            None::<String>,
            "127.0.0.1",
            record.created_at,
            record.expires_at,
            record.last_active_at,
        ))
        .map(drop)
    })
    .await?;
    let value = serde_json::to_vec(&record).map_err(|e| e.to_string())?;
    let key = login::key_for_hash(&hash);
    run_write(stores.key_value.clone(), move |c| {
        c.prepare_cached(
            "INSERT INTO spin_key_value (store, key, value) VALUES ('default', ?1, ?2)
             ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
        )?
        .execute((key, value))
        .map(drop)
    })
    .await?;
    let user = user_id.clone();
    let profile = run_blocking(stores.database.clone(), move |c| {
        let (id, name, github): (String, Option<String>, Option<String>) = c
            .prepare_cached(
                "SELECT id, username, github_username FROM users WHERE id = ? AND deleted_at IS NULL",
            )?
            .query_row([&user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        let emails: Vec<Value> = c
            .prepare_cached(
                "SELECT email, verified_at FROM email_identities WHERE user_id = ? ORDER BY email",
            )?
            .query_map([&user], |r| {
                Ok(json!({ "email": r.get::<_, String>(0)?,
                           "verified": r.get::<_, Option<i64>>(1)?.is_some() }))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let connected: Option<i64> = {
            use rusqlite::OptionalExtension;
            c.prepare_cached(
                "SELECT team_uuid, do_email, created_at FROM do_connections WHERE user_id = ?",
            )?
            .query_row([&user], |r| r.get(2))
            .optional()?
        };
        Ok(json!({
            "id": id,
            "username": name,
            "emails": emails,
            "providers": {
                "github": github.map(|username| json!({ "username": username })),
                "digitalocean": connected.map(|at| json!({ "connected_at": at })),
            },
        }))
    })
    .await?;
    Ok((profile, login::login_cookie(&token, true)))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The report rows of the development login on the app (`app`) and on the baseline
/// (`native`), at 1 and `connections` connections, and each row's figures.
pub async fn rows(
    app: SocketAddr,
    native: SocketAddr,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<(String, Vec<(usize, Measured, Measured)>)> {
    let mut rows = String::new();
    let mut figures = Vec::new();
    for connections in [1, connections] {
        let target = |addr| Target {
            addr,
            method: "POST",
            path: PATH.into(),
            body: Some(BODY),
        };
        let (ours, base) = load::compare(&target(app), &target(native), connections, duration)
            .await
            .map_err(|e| e.context("the development login"))?;
        writeln!(
            rows,
            "| `POST {PATH}` (1 SQLite write + 1 key-value write, both synced) | {connections} | {} |",
            crate::row_figures(&ours, &base)
        )?;
        figures.push((connections, ours, base));
    }
    Ok((rows, figures))
}

/// Where the baseline keeps its files in `dir`.
pub fn open_stores(dir: &Path) -> anyhow::Result<Stores> {
    Ok(Stores {
        database: Pool::open(&dir.join("native_app.db"))?,
        key_value: Pool::open_key_value(&dir.join("native_app_kv.db"))?,
    })
}
