//! `fermyon:spin/key-value@2.0.0` on the `default` store: Spin's `spin_key_value` table, or a
//! Redis server when the runtime config says so.
//!
//! Spin's key-value has no TTL; values are opaque bytes. A component may open only the stores
//! its manifest entry lists; anything else is `access-denied`.

use wasmtime::component::Resource;

use super::{
    RequestState,
    bindings::key_value::{self, Error},
};
use crate::{
    storage::{run_blocking, run_read, run_write},
    stores::KeyValue,
    timing::HostCall,
};

/// The most stores one request may hold open at once.
const MAX_OPEN_STORES: usize = 256;

/// The host side of an open `store` resource.
#[derive(Debug)]
pub struct StoreHandle {
    label: String,
}

impl key_value::Host for RequestState {}

impl RequestState {
    fn key_value_store(
        &self,
        handle: &Resource<StoreHandle>,
    ) -> wasmtime::Result<(KeyValue, String)> {
        let store = self.table.get(handle)?;
        Ok((self.stores.key_value.clone(), store.label.clone()))
    }
}

impl key_value::HostStore for RequestState {
    fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<StoreHandle>, Error>> {
        if !self.component.key_value_allowed || label != crate::manifest::DEFAULT_LABEL {
            return Ok(Err(Error::AccessDenied));
        }
        if self.open_key_value_stores >= MAX_OPEN_STORES {
            return Ok(Err(Error::StoreTableFull));
        }
        self.open_key_value_stores += 1;
        Ok(Ok(self.table.push(StoreHandle { label })?))
    }

    async fn get(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let since = self.call_began();
        let (backend, label) = self.key_value_store(&store)?;
        let result = match backend {
            KeyValue::Sqlite(pool) => run_read(&pool, |conn| {
                use rusqlite::OptionalExtension;
                conn.prepare_cached(
                    "SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2",
                )?
                .query_row((label, key), |row| row.get(0))
                .optional()
            }),
            KeyValue::Redis(redis) => redis.get(&key).await,
        };
        self.call_ended(HostCall::KeyValue, since);
        Ok(result.map_err(Error::Other))
    }

    async fn set(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let since = self.call_began();
        let (backend, label) = self.key_value_store(&store)?;
        let result = match backend {
            KeyValue::Sqlite(pool) => {
                run_write(pool, move |conn| {
                    conn.prepare_cached(
                        "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                    )?
                    .execute((label, key, value))
                    .map(drop)
                })
                .await
            }
            KeyValue::Redis(redis) => redis.set(&key, &value).await,
        };
        self.call_ended(HostCall::KeyValue, since);
        Ok(result.map_err(Error::Other))
    }

    async fn delete(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let since = self.call_began();
        let (backend, label) = self.key_value_store(&store)?;
        let result = match backend {
            KeyValue::Sqlite(pool) => {
                run_write(pool, move |conn| {
                    conn.prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                        .execute((label, key))
                        .map(drop)
                })
                .await
            }
            KeyValue::Redis(redis) => redis.delete(&key).await,
        };
        self.call_ended(HostCall::KeyValue, since);
        Ok(result.map_err(Error::Other))
    }

    async fn exists(
        &mut self,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let since = self.call_began();
        let (backend, label) = self.key_value_store(&store)?;
        let result = match backend {
            KeyValue::Sqlite(pool) => run_read(&pool, |conn| {
                conn.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2)",
                )?
                .query_row((label, key), |row| row.get(0))
            }),
            KeyValue::Redis(redis) => redis.exists(&key).await,
        };
        self.call_ended(HostCall::KeyValue, since);
        Ok(result.map_err(Error::Other))
    }

    async fn get_keys(
        &mut self,
        store: Resource<StoreHandle>,
    ) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let since = self.call_began();
        let (backend, label) = self.key_value_store(&store)?;
        let result = match backend {
            KeyValue::Sqlite(pool) => {
                run_blocking(pool, move |conn| {
                    let mut stmt =
                        conn.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1")?;
                    let keys = stmt.query_map([label], |row| row.get(0))?;
                    keys.collect()
                })
                .await
            }
            KeyValue::Redis(redis) => redis.keys().await,
        };
        self.call_ended(HostCall::KeyValue, since);
        Ok(result.map_err(Error::Other))
    }

    fn drop(&mut self, store: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        self.open_key_value_stores = self.open_key_value_stores.saturating_sub(1);
        Ok(())
    }
}
