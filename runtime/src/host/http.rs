//! Outbound `wasi:http`: every request is checked against the component's
//! `allowed_outbound_hosts` before anything touches the network, then sent through the
//! runtime's pooled client.

use std::sync::Arc;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::ComponentContext;
use crate::{outbound::default_port, timing::Timeline};

type ResponseFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

/// The `wasi:http` hooks of one request.
pub struct OutboundHooks {
    component: Arc<ComponentContext>,
    /// Where the request's outbound calls are timed, if it is.
    pub(super) timeline: Option<Timeline>,
}

impl OutboundHooks {
    /// Hooks enforcing `component`'s outbound policy.
    pub fn new(component: Arc<ComponentContext>) -> Self {
        Self {
            component,
            timeline: None,
        }
    }
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        drop(fut);
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_string();
        let host = uri.host().unwrap_or_default().to_string();
        let port = uri
            .port_u16()
            .or_else(|| default_port(&scheme))
            .unwrap_or(0);
        if !self.component.outbound.allows(&scheme, &host, port) {
            tracing::warn!(
                component = %self.component.id,
                "outbound request to {scheme}://{host}:{port} denied: not in allowed_outbound_hosts"
            );
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        let client = self.component.client.clone();
        let timed = self
            .timeline
            .clone()
            .map(|timeline| (timeline, std::time::Instant::now()));
        Box::new(async move {
            let response = client.send(request, options).await;
            if let Some((timeline, sent)) = timed {
                timeline.outbound(sent);
            }
            let response = response?;
            // The pool drives the connection: nothing is left for the caller to run.
            let io: Box<dyn Future<Output = Result<(), Error>> + Send> = Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}
