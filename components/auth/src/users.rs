//! Users in SQLite: find, create, and the profile `/api/me` shows.

use chatcode_core::{ApiError, IdKind, ids::new_id, time::now_ms};
use chatcode_kit::db;
use serde::Serialize;
use spin_sdk::sqlite::{Connection, Value};

const SQL_BY_USERNAME: &str = "SELECT id FROM users WHERE username = ? AND deleted_at IS NULL";
const SQL_INSERT: &str =
    "INSERT INTO users (id, username, created_at, updated_at) VALUES (?, ?, ?, ?)";
const SQL_PROFILE: &str =
    "SELECT id, username, github_username FROM users WHERE id = ? AND deleted_at IS NULL";
const SQL_EMAILS: &str =
    "SELECT email, verified_at FROM email_identities WHERE user_id = ? ORDER BY email";
const SQL_DO: &str = "SELECT team_uuid, do_email, created_at FROM do_connections WHERE user_id = ?";
const SQL_USER_OF_DO: &str = "SELECT user_id FROM do_connections WHERE do_account_uuid = ?";
const SQL_SAVE_DO: &str = "INSERT INTO do_connections (user_id, do_account_uuid, do_email, \
    access_token_encrypted, refresh_token_encrypted, team_uuid, expires_at, created_at, updated_at) \
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
    ON CONFLICT (user_id) DO UPDATE SET do_account_uuid = excluded.do_account_uuid, \
    do_email = excluded.do_email, access_token_encrypted = excluded.access_token_encrypted, \
    refresh_token_encrypted = excluded.refresh_token_encrypted, team_uuid = excluded.team_uuid, \
    expires_at = excluded.expires_at, updated_at = excluded.updated_at";
const SQL_USER_OF_GITHUB: &str = "SELECT id FROM users WHERE github_id = ? AND deleted_at IS NULL";
const SQL_USERNAME_TAKEN: &str = "SELECT 1 FROM users WHERE username = ?";
const SQL_SAVE_GITHUB: &str = "UPDATE users SET github_id = ?, github_username = ?, \
    github_access_token_encrypted = ?, updated_at = ? WHERE id = ?";
const SQL_ADD_EMAIL: &str = "INSERT INTO email_identities (user_id, email, verified_at) VALUES (?, ?, ?) \
    ON CONFLICT (email) DO NOTHING";

/// What `/api/me` shows: never a token.
#[derive(Debug, Serialize)]
pub struct Profile {
    id: String,
    username: Option<String>,
    emails: Vec<Email>,
    providers: Providers,
}

#[derive(Debug, Serialize)]
struct Email {
    email: String,
    verified: bool,
}

#[derive(Debug, Serialize)]
struct Providers {
    github: Option<GithubLink>,
    digitalocean: Option<DigitalOceanLink>,
}

#[derive(Debug, Serialize)]
struct GithubLink {
    username: String,
}

#[derive(Debug, Serialize)]
struct DigitalOceanLink {
    team_uuid: Option<String>,
    email: Option<String>,
    connected_at: i64,
}

/// A DigitalOcean connection about to be stored (tokens already sealed).
pub struct DoConnection<'a> {
    /// Owner.
    pub user_id: &'a str,
    /// DigitalOcean's account uuid (`info.uuid`).
    pub account_uuid: &'a str,
    /// The account's e-mail, if DigitalOcean sent one.
    pub email: Option<&'a str>,
    /// The team the token belongs to.
    pub team_uuid: Option<&'a str>,
    /// Sealed access token.
    pub access_token: String,
    /// Sealed refresh token.
    pub refresh_token: String,
    /// When the access token expires (unix ms).
    pub expires_at: i64,
    /// Now (unix ms).
    pub now: i64,
}

/// A new user, optionally named.
pub fn create(conn: &Connection, username: Option<&str>) -> Result<String, ApiError> {
    let id = new_id(IdKind::User);
    let now = now_ms();
    db::run(
        conn,
        SQL_INSERT,
        &[
            db::t(&id),
            db::opt(username),
            Value::Integer(now),
            Value::Integer(now),
        ],
    )?;
    Ok(id)
}

/// The user a DigitalOcean account is connected to.
pub fn user_of_do_account(
    conn: &Connection,
    account_uuid: &str,
) -> Result<Option<String>, ApiError> {
    Ok(db::text(
        &db::run(conn, SQL_USER_OF_DO, &[db::t(account_uuid)])?,
        0,
        0,
    ))
}

/// Stores (or replaces) a user's DigitalOcean connection in one statement.
pub fn save_do_connection(conn: &Connection, c: &DoConnection<'_>) -> Result<(), ApiError> {
    db::run(
        conn,
        SQL_SAVE_DO,
        &[
            db::t(c.user_id),
            db::t(c.account_uuid),
            db::opt(c.email),
            db::t(&c.access_token),
            db::t(&c.refresh_token),
            db::opt(c.team_uuid),
            Value::Integer(c.expires_at),
            Value::Integer(c.now),
            Value::Integer(c.now),
        ],
    )?;
    Ok(())
}

/// The user with this GitHub id.
pub fn user_of_github(conn: &Connection, github_id: &str) -> Result<Option<String>, ApiError> {
    Ok(db::text(
        &db::run(conn, SQL_USER_OF_GITHUB, &[db::t(github_id)])?,
        0,
        0,
    ))
}

/// A free username for a new user signing in as provider login `login`, if any.
pub fn free_username(
    conn: &Connection,
    login: &str,
    account_id: &str,
) -> Result<Option<String>, ApiError> {
    for candidate in chatcode_core::accounts::username_candidates(login, account_id) {
        if db::run(conn, SQL_USERNAME_TAKEN, &[db::t(&candidate)])?
            .rows
            .is_empty()
        {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// Links GitHub to a user, stores the sealed token and the verified primary e-mail.
pub fn save_github(
    conn: &Connection,
    user_id: &str,
    github_id: &str,
    login: &str,
    sealed_token: &str,
    primary_email: Option<&str>,
) -> Result<(), ApiError> {
    db::transaction(conn, |conn| {
        let now = now_ms();
        db::run(
            conn,
            SQL_SAVE_GITHUB,
            &[
                db::t(github_id),
                db::t(login),
                db::t(sealed_token),
                Value::Integer(now),
                db::t(user_id),
            ],
        )?;
        if let Some(email) = primary_email {
            db::run(
                conn,
                SQL_ADD_EMAIL,
                &[db::t(user_id), db::t(email), Value::Integer(now)],
            )?;
        }
        Ok(())
    })
}

/// The user named `username`, created if new.
///
/// An existing user is found with a plain read: the transaction (`BEGIN IMMEDIATE`) holds
/// the database's write lock until it ends, even when it only reads, and every other writer
/// waits for it; so it is opened only to create the user.
pub fn find_or_create_by_username(conn: &Connection, username: &str) -> Result<String, ApiError> {
    let find = |conn: &Connection| -> Result<Option<String>, ApiError> {
        Ok(db::text(
            &db::run(conn, SQL_BY_USERNAME, &[db::t(username)])?,
            0,
            0,
        ))
    };
    if let Some(id) = find(conn)? {
        return Ok(id);
    }
    db::transaction(conn, |conn| match find(conn)? {
        Some(id) => Ok(id),
        None => create(conn, Some(username)),
    })
}

/// The profile of `user_id`, if the user exists.
pub fn profile(conn: &Connection, user_id: &str) -> Result<Option<Profile>, ApiError> {
    let user = db::run(conn, SQL_PROFILE, &[db::t(user_id)])?;
    let Some(id) = db::text(&user, 0, 0) else {
        return Ok(None);
    };
    let emails = db::run(conn, SQL_EMAILS, &[db::t(user_id)])?;
    let emails = (0..emails.rows.len())
        .filter_map(|row| {
            Some(Email {
                email: db::text(&emails, row, 0)?,
                verified: db::integer(&emails, row, 1).is_some(),
            })
        })
        .collect();
    let connection = db::run(conn, SQL_DO, &[db::t(user_id)])?;
    let digitalocean = db::integer(&connection, 0, 2).map(|connected_at| DigitalOceanLink {
        team_uuid: db::text(&connection, 0, 0),
        email: db::text(&connection, 0, 1),
        connected_at,
    });
    Ok(Some(Profile {
        id,
        username: db::text(&user, 0, 1),
        emails,
        providers: Providers {
            github: db::text(&user, 0, 2).map(|username| GithubLink { username }),
            digitalocean,
        },
    }))
}
