//! Key-value: the `default` store, and values that expire. Spin's key-value has no TTL, so an
//! expiring value carries its deadline and counts as absent (and is deleted) once past it.

use chatcode_core::ApiError;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use spin_sdk::key_value::Store;

/// Opens the `default` store; a failure is logged and answered as 503.
pub fn store() -> Result<Store, ApiError> {
    Store::open_default().map_err(|e| {
        eprintln!("opening the key-value store: {e:?}");
        ApiError::service_unavailable()
    })
}

/// Logs a key-value failure and answers 503.
pub fn failed(e: impl std::fmt::Debug) -> ApiError {
    eprintln!("key-value failed: {e:?}");
    ApiError::service_unavailable()
}

/// A value with its deadline (Unix milliseconds).
#[derive(Serialize, Deserialize)]
struct Expiring<T> {
    expires_at: i64,
    value: T,
}

/// The value under `key` while `now` is before its deadline; an expired or unreadable one is
/// deleted and counts as absent.
pub fn get_fresh<T: DeserializeOwned>(
    store: &Store,
    key: &str,
    now: i64,
) -> Result<Option<T>, ApiError> {
    let Some(bytes) = store.get(key).map_err(failed)? else {
        return Ok(None);
    };
    match serde_json::from_slice::<Expiring<T>>(&bytes) {
        Ok(entry) if now < entry.expires_at => Ok(Some(entry.value)),
        _ => {
            store.delete(key).map_err(failed)?;
            Ok(None)
        }
    }
}

/// Stores `value` under `key` until `expires_at` (Unix milliseconds).
pub fn set_expiring<T: Serialize>(
    store: &Store,
    key: &str,
    value: &T,
    expires_at: i64,
) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec(&Expiring { expires_at, value }).map_err(|e| {
        eprintln!("serializing {key}: {e}");
        ApiError::internal()
    })?;
    store.set(key, &bytes).map_err(failed)
}
