//! One port for the whole system: the requests that belong to the hub (the gateway's
//! `/gw/connect` and the browser's `/vps/:id/terminal` WebSocket upgrades) are handed to it,
//! everything else goes to the app.

use std::sync::Arc;

use axum::{
    Router,
    http::{Request, Response},
};
use chatcode_runtime::{Passthrough, server::Body};
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tower::ServiceExt;

/// Whether a request path is one of the hub's WebSocket endpoints.
fn is_hub_path(path: &str) -> bool {
    if path == "/gw/connect" {
        return true;
    }
    let mut parts = path.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(""), Some("vps"), Some(id), Some("terminal"), None) if !id.is_empty()
    )
}

/// Hands the hub's requests to its router.
pub struct HubPassthrough {
    hub: Router,
}

impl HubPassthrough {
    /// A passthrough to `hub`.
    pub fn new(hub: Router) -> Arc<Self> {
        Arc::new(Self { hub })
    }
}

impl Passthrough for HubPassthrough {
    fn takes(&self, req: &Request<Incoming>) -> bool {
        is_hub_path(req.uri().path())
    }

    fn handle(&self, req: Request<Incoming>) -> BoxFuture<'static, Response<Body>> {
        let hub = self.hub.clone();
        Box::pin(async move {
            let response = match hub.oneshot(req.map(axum::body::Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            response.map(|body| -> Body { body.map_err(Into::into).boxed_unsync() })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::is_hub_path;

    #[test]
    fn only_the_hub_endpoints_go_to_the_hub() {
        assert!(is_hub_path("/gw/connect"));
        assert!(is_hub_path("/vps/vps-abc/terminal"));
        assert!(!is_hub_path("/vps/vps-abc"));
        assert!(!is_hub_path("/vps//terminal"));
        assert!(!is_hub_path("/vps/vps-abc/terminal/x"));
        assert!(!is_hub_path("/gw/connect/x"));
        assert!(!is_hub_path("/vps/vps-abc/sessions"));
    }
}
