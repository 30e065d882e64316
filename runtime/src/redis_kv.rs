//! The `default` key-value store on Redis, as Spin's `redis` key-value type keeps it: each key
//! is a Redis key holding the value's bytes, and `get-keys` is `KEYS *`. One multiplexed
//! connection serves every request and reconnects by itself.

use std::time::Duration;

use anyhow::Context;
use redis::{AsyncCommands, Client, aio::ConnectionManager};
use tokio::sync::OnceCell;

use crate::runtime_config::{Secret, redact_url};

/// How long connecting, or one command, may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A Redis server holding the `default` store.
pub struct RedisStore {
    client: Client,
    connection: OnceCell<ConnectionManager>,
    /// The URL without credentials, for messages.
    shown: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisStore({})", self.shown)
    }
}

impl RedisStore {
    /// Checks the URL and that the server answers `PING`: an unreachable server stops
    /// start-up with a message naming it (never its password).
    pub fn open(url: &Secret) -> anyhow::Result<Self> {
        let shown = redact_url(url.expose());
        let client = Client::open(url.expose())
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("the key-value store's Redis URL {shown} is not valid"))?;
        let mut probe = client
            .get_connection_with_timeout(TIMEOUT)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("the key-value store's Redis at {shown} is unreachable"))?;
        redis::cmd("PING")
            .query::<String>(&mut probe)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("the key-value store's Redis at {shown} refused PING"))?;
        Ok(Self {
            client,
            connection: OnceCell::new(),
            shown,
        })
    }

    /// The shared connection, made on first use.
    async fn connection(&self) -> Result<ConnectionManager, String> {
        self.connection
            .get_or_try_init(|| async {
                let config = redis::aio::ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT));
                self.client.get_connection_manager_with_config(config).await
            })
            .await
            .cloned()
            .map_err(|e| self.failed(&e))
    }

    fn failed(&self, e: &redis::RedisError) -> String {
        format!("Redis at {}: {e}", self.shown)
    }

    /// `GET key`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let mut conn = self.connection().await?;
        conn.get(key).await.map_err(|e| self.failed(&e))
    }

    /// `SET key value`.
    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        let mut conn = self.connection().await?;
        conn.set(key, value).await.map_err(|e| self.failed(&e))
    }

    /// `DEL key`.
    pub async fn delete(&self, key: &str) -> Result<(), String> {
        let mut conn = self.connection().await?;
        conn.del(key).await.map_err(|e| self.failed(&e))
    }

    /// `EXISTS key`.
    pub async fn exists(&self, key: &str) -> Result<bool, String> {
        let mut conn = self.connection().await?;
        conn.exists(key).await.map_err(|e| self.failed(&e))
    }

    /// `KEYS *`.
    pub async fn keys(&self) -> Result<Vec<String>, String> {
        let mut conn = self.connection().await?;
        conn.keys("*").await.map_err(|e| self.failed(&e))
    }
}
