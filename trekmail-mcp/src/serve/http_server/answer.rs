//! An answer's body as hyper writes it: in slices of at most [`SLICE`] bytes, holding what its
//! request holds (its slot, its memory reservation) until the last slice is taken. rmcp hands a
//! JSON answer over as one frame, which hyper takes at once into its own buffer: the request's
//! bounds then ended while its client was still reading, or had stopped.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// The most hyper is handed at a time: hyper asks for more as it writes.
pub const SLICE: usize = 64 * 1024;

/// `inner`, sliced, holding `held` until its end.
pub struct Held<B, H> {
    inner: B,
    /// What is left of the frame being sliced.
    rest: Bytes,
    _held: H,
}

impl<B, H> Held<B, H> {
    /// `inner` holding `held`.
    pub fn new(inner: B, held: H) -> Self {
        Self {
            inner,
            rest: Bytes::new(),
            _held: held,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin, H: Unpin> Body for Held<B, H> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        while this.rest.is_empty() {
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.rest = data,
                    Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                },
                other => return Poll::Ready(other),
            }
        }
        let n = this.rest.len().min(SLICE);
        Poll::Ready(Some(Ok(Frame::data(this.rest.split_to(n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty() && self.inner.is_end_stream()
    }

    /// The inner body's, plus what is left of the frame being sliced: an answer of known
    /// length keeps its `Content-Length`.
    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        let rest = self.rest.len() as u64;
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(rest));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(rest));
        }
        hint
    }
}
