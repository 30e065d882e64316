//! Serving HTTP: one fresh instance per request, as `spin up` does for WASI 0.2.
//!
//! Each request is routed, bounded (body size, concurrent instances, time),
//! handed to the component on its own task, and logged with its outcome. A
//! trap answers 500 to that request only.

use std::{
    convert::Infallible,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http::{
    HeaderValue, Request, Response, StatusCode, Uri,
    uri::{Authority, PathAndQuery},
};
use http_body_util::{BodyExt, Full, Limited, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use tokio::sync::{Semaphore, oneshot};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi_http::{WasiHttpView, p2::bindings::http::types::Scheme};

use crate::{
    app::{App, ReadyInstance},
    engine::EPOCH_TICK,
    guest_body::{self, Guest, GuestBody},
    host::RequestState,
    router::ClientAddr,
    timing::Timeline,
};

/// Boxed error carried by response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Response body: either ours or the component's stream.
pub type Body = UnsyncBoxBody<Bytes, BoxError>;

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest a component may take to produce its response.
    pub request_timeout: Duration,
}

/// Everything a request needs, shared by all connections.
pub struct Server {
    engine: Engine,
    app: App,
    limits: Limits,
    instances: Arc<Semaphore>,
    max_instances: usize,
}

impl Server {
    /// Wraps a loaded app.
    pub fn new(engine: Engine, app: App, limits: Limits, max_instances: usize) -> Self {
        Self {
            engine,
            app,
            limits,
            instances: Arc::new(Semaphore::new(max_instances)),
            max_instances,
        }
    }

    /// The loaded app.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Handles one request and logs it.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        client: ClientAddr,
    ) -> Result<Response<Body>, Infallible> {
        let started = Instant::now();
        // The log line's method and path, copied only when the request log is on.
        let logged = tracing::enabled!(target: "request", tracing::Level::INFO)
            .then(|| (req.method().clone(), req.uri().path().to_owned()));
        let (component, response) = self.dispatch(req, client, started).await;
        if let Some((method, path)) = logged {
            tracing::info!(
                target: "request",
                %method,
                path,
                component = component.as_deref().unwrap_or("-"),
                status = response.status().as_u16(),
                micros = started.elapsed().as_micros() as u64,
            );
        }
        Ok(response)
    }

    async fn dispatch(
        self: &Arc<Self>,
        req: Request<Incoming>,
        client: ClientAddr,
        arrived: Instant,
    ) -> (Option<Arc<str>>, Response<Body>) {
        let path = req.uri().path();
        if path == "/.well-known/spin/health" {
            return (None, text(StatusCode::OK, "OK"));
        }
        if path == "/.well-known/spin/info" {
            let mut info = serde_json::json!({ "name": self.app.name });
            if let Some(version) = &self.app.version {
                info["version"] = version.clone().into();
            }
            return (None, json(StatusCode::OK, &info));
        }
        let Some(route) = self.app.router.route(path) else {
            return (None, empty(StatusCode::NOT_FOUND));
        };
        let component = route.component.clone();
        let response = self.run(req, client, route, arrived).await;
        (Some(component), response)
    }

    async fn run(
        self: &Arc<Self>,
        req: Request<Incoming>,
        client: ClientAddr,
        route: crate::router::RouteMatch,
        arrived: Instant,
    ) -> Response<Body> {
        let Some(loaded) = self.app.components.get(&*route.component) else {
            return text(StatusCode::INTERNAL_SERVER_ERROR, "component not loaded");
        };
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.limits.max_body_bytes as u64) {
            return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
        }
        let Ok(permit) = self.instances.clone().try_acquire_owned() else {
            tracing::warn!(max = self.max_instances, "instance limit reached");
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many concurrent requests",
            );
        };

        // Only when the log asks for timings; then with the path they are logged under.
        let timeline = Timeline::start(arrived).map(|t| (t, req.uri().path().to_owned()));
        let (mut parts, body) = req.into_parts();
        let body = match Limited::new(body, self.limits.max_body_bytes)
            .collect()
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return text(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
            }
            Err(_) => return text(StatusCode::BAD_REQUEST, "could not read the request body"),
        };
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
            .to_string();
        let path_and_query = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let full_url = format!("http://{host}{path_and_query}");
        route.add_spin_headers(&mut parts.headers, full_url, &client);
        // wasi:http wants an absolute URI.
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(http::uri::Scheme::HTTP);
        uri.authority = Authority::try_from(host).ok();
        uri.path_and_query = Some(path_and_query);
        if let Ok(uri) = Uri::from_parts(uri) {
            parts.uri = uri;
        }
        let req = Request::from_parts(
            parts,
            Full::new(body).map_err(|e| -> wasmtime_wasi_http::Error { match e {} }),
        );

        // A spare instance was made after an earlier request; otherwise make one now.
        let making = timeline.as_ref().map(|_| Instant::now());
        let (mut store, proxy) = match loaded.spare.take() {
            Some(ready) => (ready.store, Some(ready.proxy)),
            None => (loaded.new_store(&self.engine, &self.app.stores), None),
        };
        arm_deadline(&mut store, self.limits.request_timeout);
        if let Some((timeline, _)) = &timeline {
            store.data_mut().set_timeline(timeline.clone());
        }

        let (sender, receiver) = oneshot::channel();
        let prepared = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, req)
            .and_then(|req| Ok((req, store.data_mut().http().new_response_outparam(sender)?)));
        let (incoming, outparam) = match prepared {
            Ok(pair) => pair,
            Err(e) => {
                tracing::error!(component = %route.component, "preparing the request: {e:?}");
                return text(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
            }
        };
        let server = Arc::clone(self);
        let pre = loaded.pre.clone();
        let component = route.component.clone();
        let guest_timeline = timeline.clone();
        let mut guest: Guest = Box::pin(async move {
            let handled = async {
                let (proxy, made) = match proxy {
                    Some(proxy) => (proxy, false),
                    None => (pre.instantiate_async(&mut store).await?, true),
                };
                if let Some((timeline, _)) = &guest_timeline {
                    timeline.instance_ready(making.filter(|_| made));
                }
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            }
            .await;
            if let Some((timeline, path)) = &guest_timeline {
                timeline.guest_returned(&route.component, path);
            }
            // Freeing the instance resets its memory, and the next request's instance can
            // be made while the connection is idle: the response waits for neither.
            tokio::spawn(async move {
                drop((store, permit));
                server.make_spare(&route.component).await;
            });
            handled
        });
        let mut receiver = receiver;
        let limit = tokio::time::sleep(self.limits.request_timeout + EPOCH_TICK * 10);
        // The guest runs on this task until it sets its response; then the
        // response body drives it (see `guest_body`).
        let (answer, guest) = tokio::select! {
            biased;
            answer = &mut receiver => (answer.ok(), Some(guest)),
            finished = &mut guest => {
                if let Err(trap) = &finished {
                    tracing::error!(%component, "guest trapped: {trap:?}");
                }
                (receiver.try_recv().ok(), None)
            }
            () = limit => {
                tracing::error!(%component, "no response within {:?}", self.limits.request_timeout);
                return text(StatusCode::INTERNAL_SERVER_ERROR, "request timed out");
            }
        };
        if let Some((timeline, path)) = &timeline {
            timeline.answered(&component, path);
        }
        match answer {
            Some(Ok(response)) => {
                let (parts, body) = response.into_parts();
                let body = guest_body::settle(GuestBody::new(body, guest, component)).await;
                Response::from_parts(parts, body)
            }
            Some(Err(code)) => {
                tracing::warn!(%component, "component answered with error {code:?}");
                text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
            None => {
                tracing::error!(%component, "guest never set a response");
                text(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
            }
        }
    }

    /// Makes `component`'s spare instance, unless one is ready or being made.
    async fn make_spare(&self, component: &str) {
        let Some(loaded) = self.app.components.get(component) else {
            return;
        };
        if !loaded.spare.claim() {
            return;
        }
        let mut store = loaded.new_store(&self.engine, &self.app.stores);
        arm_deadline(&mut store, self.limits.request_timeout);
        let made = match loaded.pre.instantiate_async(&mut store).await {
            Ok(proxy) => Some(ReadyInstance { store, proxy }),
            Err(e) => {
                tracing::warn!(component, "making a spare instance: {e:?}");
                None
            }
        };
        loaded.spare.fill(made);
    }
}

/// Yields to the scheduler every epoch tick so a busy guest never starves other requests,
/// and interrupts it once `timeout` from now has passed.
fn arm_deadline(store: &mut Store<RequestState>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
}

fn full(status: StatusCode, content_type: Option<&'static str>, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body).map_err(|e| match e {}).boxed_unsync());
    *response.status_mut() = status;
    if let Some(ct) = content_type {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    response
}

fn empty(status: StatusCode) -> Response<Body> {
    full(status, None, Bytes::new())
}

fn text(status: StatusCode, message: &'static str) -> Response<Body> {
    full(
        status,
        Some("text/plain; charset=utf-8"),
        Bytes::from_static(message.as_bytes()),
    )
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    full(
        status,
        Some("application/json"),
        Bytes::from(value.to_string()),
    )
}
