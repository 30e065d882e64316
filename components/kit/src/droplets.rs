//! DigitalOcean API v2 droplet calls on behalf of one user: create, get, list by tag,
//! delete and power actions, over Spin outbound HTTP.
//!
//! A 401 refreshes the user's OAuth token once ([`crate::digitalocean::refresh`]) and
//! retries. Failures become [`DoError`], which maps to what our client sees: 429 → 503
//! with `Retry-After`, 5xx or no answer → 502 with DigitalOcean's message.

use std::time::Duration;

use chatcode_core::{ApiError, ErrorKind, time::now_ms};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spin_sdk::{
    http::{Method, Request, Response},
    sqlite::Connection,
};

use crate::{config, digitalocean, outbound};

/// How long a DigitalOcean call may take unless `do_api_timeout_seconds` says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// `Retry-After` when DigitalOcean rate limits without saying for how long.
const DEFAULT_RETRY_AFTER: u64 = 60;
/// Largest answer read from DigitalOcean into memory.
const MAX_ANSWER: usize = 4 << 20;

/// Why a DigitalOcean call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoError {
    /// No answer within the deadline.
    Timeout,
    /// The connection failed.
    Unreachable(String),
    /// 429: retry after this many seconds.
    RateLimited(u64),
    /// 401 even with a fresh token, or 403: the grant no longer allows this.
    NotAuthorized(String),
    /// 404: no such droplet (or action).
    NotFound,
    /// Another 4xx, with DigitalOcean's message (422 for an invalid request).
    Rejected(u16, String),
    /// 5xx, with DigitalOcean's message.
    Server(u16, String),
    /// A success whose body is not the documented JSON.
    Malformed(String),
}

impl From<DoError> for ApiError {
    fn from(err: DoError) -> Self {
        let upstream = |message: String| {
            ApiError::new(ErrorKind::BadGateway, format!("DigitalOcean: {message}"))
        };
        match err {
            DoError::Timeout => upstream("no answer in time".into()),
            DoError::Unreachable(_) => upstream("unreachable".into()),
            DoError::Server(status, message) => upstream(format!("{message} (HTTP {status})")),
            DoError::Malformed(what) => upstream(format!("unexpected answer: {what}")),
            DoError::RateLimited(seconds) => ApiError::new(
                ErrorKind::ServiceUnavailable,
                "DigitalOcean is rate limiting this account; retry later",
            )
            .with_retry_after(seconds),
            DoError::NotAuthorized(message) => ApiError::new(
                ErrorKind::DoNotConnected,
                format!("DigitalOcean refused the request ({message}); connect DigitalOcean again"),
            ),
            DoError::NotFound => ApiError::not_found("DigitalOcean has no such droplet"),
            DoError::Rejected(422, message) => ApiError::unprocessable(message),
            DoError::Rejected(status, message) => upstream(format!("{message} (HTTP {status})")),
        }
    }
}

/// A droplet as the API describes it (the fields chatcode reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Droplet {
    /// Droplet id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// `new`, `active`, `off` or `archive`.
    pub status: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Addresses.
    #[serde(default)]
    networks: Networks,
}

impl Droplet {
    /// The public IPv4 address, once assigned.
    pub fn public_ipv4(&self) -> Option<&str> {
        self.networks
            .v4
            .iter()
            .find(|n| n.kind == "public")
            .map(|n| n.ip_address.as_str())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct Networks {
    #[serde(default)]
    v4: Vec<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Address {
    ip_address: String,
    #[serde(rename = "type")]
    kind: String,
}

/// The body of `POST /v2/droplets` for one droplet.
#[derive(Debug, Clone, Serialize)]
pub struct CreateDroplet<'a> {
    /// Name (hostname).
    pub name: &'a str,
    /// Region slug.
    pub region: &'a str,
    /// Size slug.
    pub size: &'a str,
    /// Image slug.
    pub image: &'a str,
    /// Cloud-init user data.
    pub user_data: &'a str,
    /// Tags.
    pub tags: Vec<String>,
    /// SSH key ids or fingerprints.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub ssh_keys: &'a [String],
}

/// A droplet action as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Action {
    /// Action id.
    pub id: u64,
    /// `in-progress`, `completed` or `errored`.
    pub status: String,
}

#[derive(Deserialize)]
struct OneDroplet {
    droplet: Droplet,
}

#[derive(Deserialize)]
struct DropletPage {
    droplets: Vec<Droplet>,
}

#[derive(Deserialize)]
struct OneAction {
    action: Action,
}

/// DigitalOcean's error body.
#[derive(Deserialize)]
struct ErrorBody {
    message: String,
}

/// A user's DigitalOcean API session.
pub struct DoClient<'a> {
    conn: &'a Connection,
    user_id: &'a str,
    base: String,
    token: String,
    timeout: Duration,
}

impl<'a> DoClient<'a> {
    /// A client for `user_id`; 409 `do_not_connected` if they have no connection.
    pub fn for_user(conn: &'a Connection, user_id: &'a str) -> Result<Self, ApiError> {
        let token =
            digitalocean::access_token(conn, user_id)?.ok_or_else(digitalocean::not_connected)?;
        let base = config::required("do_api_base")?
            .trim_end_matches('/')
            .to_owned();
        let timeout = config::optional("do_api_timeout_seconds")
            .and_then(|s| s.parse::<u64>().ok())
            .filter(|&s| s > 0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        Ok(Self {
            conn,
            user_id,
            base,
            token,
            timeout,
        })
    }

    /// `POST /v2/droplets` (202): the new droplet, not yet running.
    pub async fn create_droplet(&mut self, body: &CreateDroplet<'_>) -> Result<Droplet, DoError> {
        let body = serde_json::to_vec(body).map_err(|e| DoError::Malformed(e.to_string()))?;
        let answer = self.call(Method::Post, "/v2/droplets", Some(body)).await?;
        Ok(parse::<OneDroplet>(&answer)?.droplet)
    }

    /// `GET /v2/droplets/{id}`: `None` if it no longer exists.
    pub async fn droplet(&mut self, id: u64) -> Result<Option<Droplet>, DoError> {
        match self
            .call(Method::Get, &format!("/v2/droplets/{id}"), None)
            .await
        {
            Ok(answer) => Ok(Some(parse::<OneDroplet>(&answer)?.droplet)),
            Err(DoError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /v2/droplets?tag_name=…`: the droplets carrying `tag` (first 200).
    pub async fn droplets_tagged(&mut self, tag: &str) -> Result<Vec<Droplet>, DoError> {
        let path = format!(
            "/v2/droplets?tag_name={}&per_page=200",
            urlencoding::encode(tag)
        );
        let answer = self.call(Method::Get, &path, None).await?;
        Ok(parse::<DropletPage>(&answer)?.droplets)
    }

    /// `DELETE /v2/droplets/{id}` (204). A droplet that is already gone counts as deleted.
    pub async fn delete_droplet(&mut self, id: u64) -> Result<(), DoError> {
        match self
            .call(Method::Delete, &format!("/v2/droplets/{id}"), None)
            .await
        {
            Ok(_) | Err(DoError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `POST /v2/droplets/{id}/actions` (201) with `{"type": kind}`.
    pub async fn droplet_action(&mut self, id: u64, kind: &str) -> Result<Action, DoError> {
        let body = serde_json::json!({ "type": kind }).to_string().into_bytes();
        let answer = self
            .call(
                Method::Post,
                &format!("/v2/droplets/{id}/actions"),
                Some(body),
            )
            .await?;
        Ok(parse::<OneAction>(&answer)?.action)
    }

    /// `GET {path}` (a path below the API base, query included), its answer parsed as `T`.
    pub async fn get<T: serde::de::DeserializeOwned>(&mut self, path: &str) -> Result<T, DoError> {
        let answer = self.call(Method::Get, path, None).await?;
        parse(&answer)
    }

    /// Sends one call; on 401 refreshes the token once and sends it again.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, DoError> {
        let first = self.send(method.clone(), path, body.clone()).await?;
        if *first.status() != 401 {
            return check(first);
        }
        self.token = digitalocean::refresh(self.conn, self.user_id)
            .await
            .map_err(|e| DoError::NotAuthorized(e.message.into_owned()))?;
        check(self.send(method, path, body).await?)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Response, DoError> {
        let mut builder = Request::builder();
        builder
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {}", self.token))
            .header("accept", "application/json");
        if body.is_some() {
            builder.header("content-type", "application/json");
        }
        let request = builder.body(body.unwrap_or_default()).build();
        outbound::send(request, self.timeout)
            .await
            .map_err(|e| match e {
                outbound::OutboundError::Timeout => DoError::Timeout,
                outbound::OutboundError::Failed(why) => {
                    eprintln!("DigitalOcean {path}: {why}");
                    DoError::Unreachable(why)
                }
            })
    }
}

/// Keeps a 2xx answer; turns any other into a [`DoError`].
fn check(response: Response) -> Result<Response, DoError> {
    let status = *response.status();
    if (200..300).contains(&status) {
        return Ok(response);
    }
    let message = serde_json::from_slice::<ErrorBody>(response.body())
        .map(|e| e.message)
        .unwrap_or_else(|_| format!("HTTP {status}"));
    eprintln!("DigitalOcean answered {status}: {message}");
    Err(match status {
        401 | 403 => DoError::NotAuthorized(message),
        404 => DoError::NotFound,
        429 => DoError::RateLimited(retry_after(&response)),
        500.. => DoError::Server(status, message),
        _ => DoError::Rejected(status, message),
    })
}

/// Seconds to wait after a 429: `retry-after`, else until `ratelimit-reset`, else a minute.
fn retry_after(response: &Response) -> u64 {
    let header = |name: &str| {
        response
            .header(name)
            .and_then(|v| v.as_str())
            .and_then(|s| s.trim().parse::<u64>().ok())
    };
    if let Some(seconds) = header("retry-after") {
        return seconds.clamp(1, 3600);
    }
    let now = u64::try_from(now_ms() / 1000).unwrap_or(0);
    header("ratelimit-reset")
        .map(|reset| reset.saturating_sub(now).clamp(1, 3600))
        .unwrap_or(DEFAULT_RETRY_AFTER)
}

fn parse<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, DoError> {
    let body = response.body();
    if body.len() > MAX_ANSWER {
        return Err(DoError::Malformed("answer too large".into()));
    }
    serde_json::from_slice::<T>(body).map_err(|e| {
        let shape = serde_json::from_slice::<Value>(body).map_or("not JSON", |_| "wrong shape");
        eprintln!("DigitalOcean answer {shape}: {e}");
        DoError::Malformed(shape.into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_map_to_what_the_client_should_do() {
        let cases = [
            (DoError::Timeout, 502, "bad_gateway"),
            (DoError::Unreachable("refused".into()), 502, "bad_gateway"),
            (
                DoError::Server(500, "Server Error".into()),
                502,
                "bad_gateway",
            ),
            (DoError::Malformed("wrong shape".into()), 502, "bad_gateway"),
            (DoError::RateLimited(42), 503, "service_unavailable"),
            (
                DoError::NotAuthorized("Unable to authenticate you.".into()),
                409,
                "do_not_connected",
            ),
            (DoError::NotFound, 404, "not_found"),
            (
                DoError::Rejected(422, "invalid size".into()),
                422,
                "unprocessable",
            ),
            (DoError::Rejected(400, "bad".into()), 502, "bad_gateway"),
        ];
        for (error, status, code) in cases {
            let api = ApiError::from(error.clone());
            assert_eq!((api.status(), api.code()), (status, code), "{error:?}");
        }
        assert_eq!(
            ApiError::from(DoError::RateLimited(42)).retry_after,
            Some(42)
        );
        assert_eq!(
            ApiError::from(DoError::Server(503, "Service Unavailable".into())).message,
            "DigitalOcean: Service Unavailable (HTTP 503)"
        );
        assert_eq!(
            ApiError::from(DoError::Rejected(422, "invalid size".into())).message,
            "invalid size"
        );
    }
}
