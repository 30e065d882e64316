//! The body of a component's response, and the guest behind it.
//!
//! The response body drives the guest itself, so a streamed body needs no
//! task of its own; a body already complete when the response head arrives is
//! sent in one piece with a `content-length`. A guest still working when its
//! body ends (or the client goes away) finishes on a task of its own: it is
//! never cancelled half way.

use std::{
    collections::VecDeque,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::server::{Body, BoxError};

/// The guest's run: instantiate, handle, return.
pub type Guest = Pin<Box<dyn Future<Output = wasmtime::Result<()>> + Send>>;

/// Bodies up to this size that are complete quickly go out in one piece.
const MAX_INLINE: usize = 1 << 20;
/// How long a body may take to complete and still go out in one piece.
const SETTLE: Duration = Duration::from_millis(2);

/// A component's body, driving its guest until both are done.
pub struct GuestBody {
    body: HyperOutgoingBody,
    guest: Option<Guest>,
    component: Arc<str>,
}

impl GuestBody {
    /// Wraps `body`; `guest` (if still running) is driven as the body is read.
    pub fn new(body: HyperOutgoingBody, guest: Option<Guest>, component: Arc<str>) -> Self {
        Self {
            body,
            guest,
            component,
        }
    }

    fn drive_guest(&mut self, cx: &mut Context<'_>) {
        if let Some(guest) = self.guest.as_mut()
            && let Poll::Ready(result) = guest.as_mut().poll(cx)
        {
            if let Err(trap) = result {
                tracing::error!(component = %self.component, "guest trapped after responding: {trap:?}");
            }
            self.guest = None;
        }
    }
}

impl HttpBody for GuestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.drive_guest(cx);
        Pin::new(&mut self.body)
            .poll_frame(cx)
            .map_err(|e| BoxError::from(format!("{e:?}")))
    }
}

impl Drop for GuestBody {
    fn drop(&mut self) {
        if let Some(guest) = self.guest.take() {
            let component = self.component.clone();
            tokio::spawn(async move {
                if let Err(trap) = guest.await {
                    tracing::error!(%component, "guest trapped after responding: {trap:?}");
                }
            });
        }
    }
}

/// Reads the body for up to [`SETTLE`]: a small body complete by then comes
/// back whole (so it gets a `content-length`), anything else streams on.
pub async fn settle(mut body: GuestBody) -> Body {
    let deadline = tokio::time::Instant::now() + SETTLE;
    let mut frames = VecDeque::new();
    let mut size = 0;
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await.ok() {
            Some(Some(Ok(frame))) => {
                size += frame.data_ref().map_or(0, Bytes::len);
                frames.push_back(frame);
                if size > MAX_INLINE {
                    return Prefixed {
                        frames,
                        error: None,
                        rest: Some(body),
                    }
                    .boxed_unsync();
                }
            }
            Some(Some(Err(error))) => {
                return Prefixed {
                    frames,
                    error: Some(error),
                    rest: None,
                }
                .boxed_unsync();
            }
            Some(None) if frames.iter().all(Frame::is_data) => {
                let mut whole = BytesMut::with_capacity(size);
                for frame in frames {
                    if let Ok(data) = frame.into_data() {
                        whole.extend_from_slice(&data);
                    }
                }
                drop(body);
                return Full::new(whole.freeze())
                    .map_err(|e| match e {})
                    .boxed_unsync();
            }
            Some(None) => {
                return Prefixed {
                    frames,
                    error: None,
                    rest: None,
                }
                .boxed_unsync();
            }
            None => {
                return Prefixed {
                    frames,
                    error: None,
                    rest: Some(body),
                }
                .boxed_unsync();
            }
        }
    }
}

/// Frames already read, then an error or the rest of the body.
struct Prefixed {
    frames: VecDeque<Frame<Bytes>>,
    error: Option<BoxError>,
    rest: Option<GuestBody>,
}

impl HttpBody for Prefixed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if let Some(error) = self.error.take() {
            return Poll::Ready(Some(Err(error)));
        }
        match self.rest.as_mut() {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }
}
