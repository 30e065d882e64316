//! The `default` database on a libSQL server, over Hrana 3 over HTTP with JSON (libSQL's
//! published protocol, `docs/HRANA_3_SPEC.md`): `POST {url}/v3/pipeline` with
//! `Authorization: Bearer <token>`.
//!
//! Each guest `connection` is a Hrana stream: the server's baton ties its statements together,
//! so `BEGIN … COMMIT` across `execute` calls stays that guest's transaction, and dropping the
//! connection closes the stream (the server rolls back what was left open).

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use wasmtime_wasi_http::RequestOptions;

use crate::{
    host::bindings::sqlite::{QueryResult, RowResult, Value},
    outbound_client::OutboundClient,
    runtime_config::{Secret, redact_url},
};

/// How long one pipeline request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Largest answer read from the server.
const MAX_ANSWER: usize = 64 << 20;

/// A libSQL server holding the `default` database.
pub struct Libsql {
    pipeline: String,
    token: Secret,
    client: Arc<OutboundClient>,
    /// The URL without credentials, for messages.
    shown: String,
}

impl std::fmt::Debug for Libsql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Libsql({})", self.shown)
    }
}

/// One Hrana stream: the baton of its last answer (none before the first request, and after
/// the server closed it) and where to send the next request.
#[derive(Debug, Default)]
pub struct Stream {
    baton: Option<String>,
    base_url: Option<String>,
}

#[derive(Deserialize)]
struct PipelineAnswer {
    baton: Option<String>,
    base_url: Option<String>,
    results: Vec<StreamResult>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum StreamResult {
    Ok { response: Json },
    Error { error: HranaError },
}

#[derive(Deserialize)]
struct HranaError {
    message: String,
}

#[derive(Deserialize)]
struct StmtResult {
    cols: Vec<Col>,
    rows: Vec<Vec<Json>>,
}

#[derive(Deserialize)]
struct Col {
    name: Option<String>,
}

impl Libsql {
    /// A client for `url` (`https://`, `http://`, or `libsql://` meaning `https://`).
    pub fn new(url: &str, token: Secret, client: Arc<OutboundClient>) -> Self {
        let base = match url.strip_prefix("libsql://") {
            Some(rest) => format!("https://{rest}"),
            None => url.to_owned(),
        };
        Self {
            pipeline: format!("{}/v3/pipeline", base.trim_end_matches('/')),
            token,
            client,
            shown: redact_url(url),
        }
    }

    /// Runs `SELECT 1` on a stream of its own: an unreachable server, or one that refuses the
    /// token, stops start-up with a message naming it (never the token).
    pub async fn check(&self) -> anyhow::Result<()> {
        let mut stream = Stream::default();
        self.execute(&mut stream, "SELECT 1", &[])
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("the libSQL database at {} does not answer", self.shown))?;
        self.close(&mut stream).await;
        Ok(())
    }

    /// Executes one statement on `stream`.
    pub async fn execute(
        &self,
        stream: &mut Stream,
        sql: &str,
        params: &[Value],
    ) -> Result<QueryResult, String> {
        let request = json!({
            "type": "execute",
            "stmt": { "sql": sql, "args": params.iter().map(to_json).collect::<Vec<_>>(), "want_rows": true },
        });
        let response = self.pipeline(stream, vec![request]).await?;
        let result: StmtResult = serde_json::from_value(
            response
                .get("result")
                .cloned()
                .ok_or_else(|| self.failed("an execute answer has no result"))?,
        )
        .map_err(|e| self.failed(&format!("an execute answer is not Hrana's: {e}")))?;
        let rows = result
            .rows
            .into_iter()
            .map(|row| {
                row.iter()
                    .map(from_json)
                    .collect::<Option<Vec<_>>>()
                    .map(|values| RowResult { values })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| self.failed("a row holds a value that is not Hrana's"))?;
        Ok(QueryResult {
            columns: result
                .cols
                .into_iter()
                .map(|c| c.name.unwrap_or_default())
                .collect(),
            rows,
        })
    }

    /// Closes `stream` on the server, if it is open there; failures only leave it to expire.
    pub async fn close(&self, stream: &mut Stream) {
        if stream.baton.is_none() {
            return;
        }
        if let Err(e) = self
            .pipeline(stream, vec![json!({ "type": "close" })])
            .await
        {
            tracing::debug!("closing a libSQL stream: {e}");
        }
    }

    /// Sends `requests` on `stream` and returns the first one's response.
    async fn pipeline(&self, stream: &mut Stream, requests: Vec<Json>) -> Result<Json, String> {
        let body = json!({ "baton": stream.baton, "requests": requests }).to_string();
        let url = match &stream.base_url {
            Some(base) => format!("{}/v3/pipeline", base.trim_end_matches('/')),
            None => self.pipeline.clone(),
        };
        let mut request = http::Request::post(url)
            .header("content-type", "application/json")
            .header("content-length", body.len());
        if !self.token.expose().is_empty() {
            request = request.header("authorization", format!("Bearer {}", self.token.expose()));
        }
        let request = request
            .body(
                Full::new(Bytes::from(body))
                    .map_err(|never: std::convert::Infallible| match never {})
                    .boxed_unsync(),
            )
            .map_err(|e| self.failed(&e.to_string()))?;
        let options = RequestOptions {
            connect_timeout: Some(TIMEOUT),
            first_byte_timeout: Some(TIMEOUT),
            between_bytes_timeout: Some(TIMEOUT),
        };
        // The stream is spent whatever happens next; a new baton revives it.
        stream.baton = None;
        let response = self
            .client
            .send(request, Some(options))
            .await
            .map_err(|e| self.failed(&format!("{e:?}")))?;
        let status = response.status();
        let bytes = http_body_util::Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| self.failed(&format!("reading the answer: {e}")))?
            .to_bytes();
        if !status.is_success() {
            let message = serde_json::from_slice::<HranaError>(&bytes)
                .map(|e| e.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).chars().take(200).collect());
            return Err(self.failed(&format!("HTTP {status}: {message}")));
        }
        let answer: PipelineAnswer = serde_json::from_slice(&bytes)
            .map_err(|e| self.failed(&format!("the answer is not Hrana's: {e}")))?;
        stream.baton = answer.baton;
        if answer.base_url.is_some() {
            stream.base_url = answer.base_url;
        }
        match answer.results.into_iter().next() {
            Some(StreamResult::Ok { response }) => Ok(response),
            Some(StreamResult::Error { error }) => Err(error.message),
            None => Err(self.failed("the answer has no result")),
        }
    }

    fn failed(&self, why: &str) -> String {
        format!("libSQL at {}: {why}", self.shown)
    }
}

/// A guest value as Hrana's JSON.
fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => json!({ "type": "null" }),
        Value::Integer(i) => json!({ "type": "integer", "value": i.to_string() }),
        Value::Real(f) => json!({ "type": "float", "value": f }),
        Value::Text(s) => json!({ "type": "text", "value": s }),
        Value::Blob(b) => json!({
            "type": "blob",
            "base64": base64::engine::general_purpose::STANDARD.encode(b),
        }),
    }
}

/// Hrana's JSON value as a guest value; `None` for anything else.
fn from_json(value: &Json) -> Option<Value> {
    Some(match value.get("type")?.as_str()? {
        "null" => Value::Null,
        "integer" => Value::Integer(match value.get("value")? {
            Json::String(s) => s.parse().ok()?,
            Json::Number(n) => n.as_i64()?,
            _ => return None,
        }),
        "float" => Value::Real(value.get("value")?.as_f64()?),
        "text" => Value::Text(value.get("value")?.as_str()?.to_owned()),
        "blob" => {
            let text = value.get("base64")?.as_str()?;
            let engine = &base64::engine::general_purpose::STANDARD_NO_PAD;
            Value::Blob(engine.decode(text.trim_end_matches('=')).ok()?)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{from_json, to_json};
    use crate::host::bindings::sqlite::Value;

    #[test]
    fn values_round_trip_through_hrana_json() {
        for value in [
            Value::Null,
            Value::Integer(i64::MIN),
            Value::Integer(42),
            Value::Real(1.5),
            Value::Text("héllo".into()),
            Value::Blob(vec![0, 1, 2, 255]),
            Value::Blob(Vec::new()),
        ] {
            let back = from_json(&to_json(&value)).unwrap();
            assert_eq!(format!("{back:?}"), format!("{value:?}"));
        }
        assert_eq!(
            to_json(&Value::Integer(7)),
            serde_json::json!({"type": "integer", "value": "7"})
        );
        assert!(from_json(&serde_json::json!({"type": "integer", "value": "x"})).is_none());
        assert!(from_json(&serde_json::json!({"type": "date"})).is_none());
    }
}
