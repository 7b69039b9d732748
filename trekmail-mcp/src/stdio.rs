//! The stdio transport with two guarantees rmcp's does not give on its own: memory stays bounded
//! when the client stops reading (no new request is read while too many answers wait to be
//! written), and closing stdin stops the calls in flight (the `closing` token is cancelled at
//! end of input, and every call selects on it).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Answers handed to the transport and not yet written.
#[derive(Default)]
struct Pending {
    count: AtomicUsize,
    written: Notify,
}

/// A transport that reads no new message while `max_pending` answers wait to be written, and
/// cancels `closing` when the input ends.
pub struct Bounded<T> {
    inner: T,
    pending: Arc<Pending>,
    max_pending: usize,
    closing: CancellationToken,
}

impl<T> Bounded<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, max_pending: usize, closing: CancellationToken) -> Self {
        Self {
            inner,
            pending: Arc::default(),
            max_pending: max_pending.max(1),
            closing,
        }
    }
}

impl<T: Transport<RoleServer>> Transport<RoleServer> for Bounded<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.pending.count.fetch_add(1, Ordering::SeqCst);
        let write = self.inner.send(item);
        let pending = Arc::clone(&self.pending);
        async move {
            let result = write.await;
            pending.count.fetch_sub(1, Ordering::SeqCst);
            pending.written.notify_waiters();
            result
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let written = self.pending.written.notified();
            tokio::pin!(written);
            written.as_mut().enable();
            if self.pending.count.load(Ordering::SeqCst) < self.max_pending {
                break;
            }
            written.await;
        }
        let message = self.inner.receive().await;
        if message.is_none() {
            self.closing.cancel();
        }
        message
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}
