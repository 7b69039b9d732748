//! The stdio transport with two guarantees rmcp's does not give on its own: memory stays bounded
//! when the client stops reading (no new request is read while too many requests wait for their
//! answers to be written), and closing stdin stops the calls in flight (the `closing` token is
//! cancelled at end of input, and every call selects on it).

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rmcp::RoleServer;
use rmcp::model::{ClientNotification, JsonRpcMessage, RequestId};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What the server owes and is owed.
#[derive(Default)]
struct Pending {
    /// Requests read whose answer has not been written yet. Counted by id, from the moment a
    /// request is read: rmcp queues finished answers in its own channel before handing them to
    /// the transport, so counting only answers handed over let dozens of calls through.
    open: Mutex<HashSet<RequestId>>,
    /// Requests the server sent (elicitation) that the client has not answered: while any is
    /// open, reading never stops, or the answer the calls wait for could not be read.
    asked: AtomicUsize,
    changed: Notify,
}

impl Pending {
    fn open(&self) -> MutexGuard<'_, HashSet<RequestId>> {
        // Nothing panics while holding the lock; a poisoned set is still a valid set.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn close(&self, id: &RequestId) {
        if self.open().remove(id) {
            self.changed.notify_waiters();
        }
    }

    fn may_read(&self, max_open: usize) -> bool {
        self.asked.load(Ordering::SeqCst) > 0 || self.open().len() < max_open
    }
}

/// A transport that reads no new message while `max_open` requests wait for their answers to be
/// written, and cancels `closing` when the input ends.
pub struct Bounded<T> {
    inner: T,
    pending: Arc<Pending>,
    max_open: usize,
    closing: CancellationToken,
}

impl<T> Bounded<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, max_open: usize, closing: CancellationToken) -> Self {
        Self {
            inner,
            pending: Arc::default(),
            max_open: max_open.max(1),
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
        let answers = match &item {
            JsonRpcMessage::Response(r) => Some(r.id.clone()),
            JsonRpcMessage::Error(e) => e.id.clone(),
            JsonRpcMessage::Request(_) => {
                self.pending.asked.fetch_add(1, Ordering::SeqCst);
                None
            }
            JsonRpcMessage::Notification(_) => None,
        };
        let write = self.inner.send(item);
        let pending = Arc::clone(&self.pending);
        async move {
            let result = write.await;
            if let Some(id) = answers {
                pending.close(&id);
            }
            result
        }
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        loop {
            let changed = self.pending.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.pending.may_read(self.max_open) {
                break;
            }
            changed.await;
        }
        let message = self.inner.receive().await;
        match &message {
            None => self.closing.cancel(),
            Some(JsonRpcMessage::Request(r)) => {
                self.pending.open().insert(r.id.clone());
            }
            // rmcp writes no answer for a cancelled request.
            Some(JsonRpcMessage::Notification(n)) => {
                if let ClientNotification::CancelledNotification(c) = &n.notification
                    && let Some(id) = &c.params.request_id
                {
                    self.pending.close(id);
                }
            }
            Some(JsonRpcMessage::Response(_) | JsonRpcMessage::Error(_)) => {
                let _ = self
                    .pending
                    .asked
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            }
        }
        message
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}
