//! The stdio transport with guarantees rmcp's does not give on its own: memory stays bounded
//! when the client stops reading (no new request is read while too many requests wait for their
//! answers to be written), and end of input is the client's shutdown, not a cancellation: the
//! requests already read are answered (each within its deadline, all within `drain`), then the
//! input is reported closed and the server exits. rmcp cancels whatever is pending once the
//! transport reports the end of input (#1333), so that report waits for the answers. Only what
//! cannot be answered is cancelled (the `closing` token): everything when stdout is closed, or
//! what is still open when `drain` has passed; `notifications/cancelled` cancels its request.
//! A client that stops reading while reading is paused, and then closes its input, is noticed
//! too, though the end of that input cannot be read: once it has taken no answer for `drain`,
//! the server gives up ([`Hangup`]).
//!
//! Memory: each line is read within [`lines::MAX_LINE_BYTES`] and scanned before it is parsed
//! ([`crate::serve::json_bound`]), so a request may cost at most [`json_bound::COST_FACTOR`] times its
//! size plus a constant ([`json_bound::Scan::cost`]); no new line is read while the requests
//! waiting for their answers may cost [`budget`] or more. All requests at once therefore stay
//! under twice [`budget`] whatever their shape.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{ClientNotification, JsonRpcMessage, RequestId};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::io::AsyncBufRead;
use tokio::sync::Notify;
use tokio::time::Instant;
#[cfg(unix)]
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use crate::serve::json_bound;
use crate::serve::lines::{self, Lines, Read};

/// What the requests waiting for their answers may cost before no new line is read: one
/// request of the longest line.
pub fn budget() -> usize {
    json_bound::Scan::worst(lines::MAX_LINE_BYTES).cost()
}

/// What the server owes and is owed.
#[derive(Default)]
struct Pending {
    /// Requests read whose answer has not been written yet, with what each may cost. Counted by
    /// id, from the moment a request is read: rmcp queues finished answers in its own channel
    /// before handing them to the transport, so counting only answers handed over let dozens
    /// of calls through.
    open: Mutex<HashMap<RequestId, usize>>,
    /// Requests the server sent (elicitation) that the client has not answered: while any is
    /// open, reading never stops, or the answer the calls wait for could not be read.
    asked: AtomicUsize,
    changed: Notify,
}

impl Pending {
    fn open(&self) -> MutexGuard<'_, HashMap<RequestId, usize>> {
        // Nothing panics while holding the lock; a poisoned set is still a valid set.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn close(&self, id: &RequestId) {
        if self.open().remove(id).is_some() {
            self.changed.notify_waiters();
        }
    }

    fn may_read(&self, max_open: usize, budget: usize) -> bool {
        let open = self.open();
        self.asked.load(Ordering::SeqCst) > 0
            || (open.len() < max_open && open.values().sum::<usize>() < budget)
    }

    /// Waits until a new line may be read: true then. False when the client has closed its
    /// input (`hangup`) and taken no answer for `drain` meanwhile: it will take none of the
    /// answers owed, and the rest of its input, which would tell the server so, cannot be read.
    async fn readable(&self, max_open: usize, hangup: &Hangup, drain: Duration) -> bool {
        let budget = budget();
        // Restarted by every answer written: a client slow to read is waited for.
        self.until(
            || self.may_read(max_open, budget),
            || async {
                hangup.closed().await;
                tokio::time::sleep(drain).await;
            },
        )
        .await
    }

    /// Waits until `done()` holds, rechecking whenever an answer is written: true then. False
    /// when `give_up()`, started afresh after each answer, completes first.
    async fn until<G: Future<Output = ()>>(
        &self,
        done: impl Fn() -> bool,
        give_up: impl Fn() -> G,
    ) -> bool {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if done() {
                return true;
            }
            tokio::select! {
                () = changed => {}
                () = give_up() => return false,
            }
        }
    }
}

/// A transport that reads messages from `R` ([`Lines`]) and writes them with `W`; it reads no
/// new message while `max_open` requests (or requests that may cost [`budget`]) wait for their
/// answers to be written, and at the end of input answers what it read before reporting the end.
pub struct Bounded<R, W> {
    lines: Lines<R>,
    /// The input's other end, watched while reading is paused.
    hangup: Hangup,
    inner: W,
    pending: Arc<Pending>,
    max_open: usize,
    closing: CancellationToken,
    /// How long the answers still owed at the end of input may take.
    drain: Duration,
    /// Set at the end of input: until when its answers are awaited.
    ended: Option<Instant>,
}

impl<R: AsyncBufRead + Unpin, W: Transport<RoleServer>> Bounded<R, W> {
    /// Reads from `read`, whose other end `hangup` watches, and writes with `inner` (whose own
    /// reading is never used). `closing` stops every call in flight when cancelled; `drain`
    /// bounds the wait for the answers owed at the end of input (a call's deadline and a little
    /// more).
    pub fn new(
        read: R,
        hangup: Hangup,
        inner: W,
        max_open: usize,
        closing: CancellationToken,
        drain: Duration,
    ) -> Self {
        Self {
            lines: Lines::new(read, lines::MAX_LINE_BYTES),
            hangup,
            inner,
            pending: Arc::default(),
            max_open: max_open.max(1),
            closing,
            drain,
            ended: None,
        }
    }

    /// After the end of input: waits until every request read is answered, stdout is gone
    /// (`closing`), or the drain time is over, then cancels what is left.
    async fn drained(&mut self, until: Instant) {
        let pending = Arc::clone(&self.pending);
        tokio::select! {
            _ = pending.until(|| pending.open().is_empty(), std::future::pending) => {}
            () = self.closing.cancelled() => {}
            () = tokio::time::sleep_until(until) => {
                tracing::warn!(
                    open = pending.open().len(),
                    "input ended and calls are still unanswered after the drain time; cancelling them"
                );
            }
        }
        self.closing.cancel();
    }
}

impl<R, W> Transport<RoleServer> for Bounded<R, W>
where
    R: AsyncBufRead + Unpin + Send + 'static,
    W: Transport<RoleServer>,
{
    type Error = W::Error;

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
        let closing = self.closing.clone();
        async move {
            let result = write.await;
            // stdout is gone: no answer can be written any more, so nothing is worth doing.
            if result.is_err() {
                closing.cancel();
            }
            if let Some(id) = answers {
                pending.close(&id);
            }
            result
        }
    }

    // rmcp calls this in a `select!` and drops the future when another branch wins: every wait
    // here is cancel-safe (the end of input is remembered in `ended`).
    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        if let Some(until) = self.ended {
            self.drained(until).await;
            return None;
        }
        let pending = Arc::clone(&self.pending);
        if !pending
            .readable(self.max_open, &self.hangup, self.drain)
            .await
        {
            tracing::warn!(
                open = self.pending.open().len(),
                "input closed and no answer taken for the drain time: cancelling the calls"
            );
            self.ended = Some(Instant::now());
            self.closing.cancel();
            return None;
        }
        let (message, cost) = loop {
            match self.lines.next().await {
                Read::Message(m, cost) => break (Some(m), cost),
                Read::End => break (None, 0),
                Read::Refused(answer) => {
                    // Written on its own: this future may be dropped, the answer must not be.
                    let write = self.inner.send(answer);
                    tokio::spawn(async move {
                        if write.await.is_err() {
                            tracing::debug!("an error answer could not be written");
                        }
                    });
                }
            }
        };
        match &message {
            None => {
                tracing::info!("end of input: answering the calls already read, then exiting");
                let until = Instant::now() + self.drain;
                self.ended = Some(until);
                self.drained(until).await;
            }
            Some(JsonRpcMessage::Request(r)) => {
                self.pending.open().insert(r.id.clone(), cost);
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

/// Standard input as the transport reads it: a pipe or a socket on the runtime's reactor
/// ([`std_stream`](crate::serve::std_stream)), anything else (a file, a terminal) through
/// tokio's `stdin`, on a blocking thread.
#[cfg(unix)]
pub type Stdin =
    Either<crate::serve::std_stream::OnReactor<tokio::net::unix::pipe::Receiver>, tokio::io::Stdin>;

/// Standard input, read without a thread where the client handed over a pipe or a socket.
#[cfg(unix)]
pub fn stdin() -> Stdin {
    match crate::serve::std_stream::stdin() {
        Some(s) => Either::Left(s),
        None => Either::Right(tokio::io::stdin()),
    }
}

/// Elsewhere: tokio's `stdin`.
#[cfg(not(unix))]
pub fn stdin() -> tokio::io::Stdin {
    tokio::io::stdin()
}

/// The other end of stdin, watched for its closing while reading is paused: a pipe whose writer
/// is gone, a socket shut for writing. Its state is asked of the reactor, on a duplicate of
/// stdin made for each wait: nothing is held, and nothing done at start.
pub struct Hangup(());

impl Hangup {
    /// Stdin's other end.
    pub fn stdin() -> Self {
        Self(())
    }

    /// Completes once the other end is closed; never where that cannot be watched (a regular
    /// file, whose end is reached by reading it).
    async fn closed(&self) {
        #[cfg(unix)]
        if let Some(fd) = on_reactor(&std::io::stdin(), tokio::io::Interest::READABLE) {
            while let Ok(mut ready) = fd.readable().await {
                if ready.ready().is_read_closed() {
                    return;
                }
                // Lines waiting to be read, the writer still there: wait for a change.
                ready.clear_ready();
            }
        }
        std::future::pending().await
    }
}

/// Cancels `closing` when stdout's reader goes away (the write end of a pipe whose reader closed
/// reports an error): no call in flight can be answered any more. Where stdout cannot be watched
/// (a regular file), a failed write still does it.
#[cfg(unix)]
pub fn watch_stdout(closing: CancellationToken) {
    use tokio::io::Interest;
    let Some(fd) = on_reactor(&std::io::stdout(), Interest::ERROR) else {
        return;
    };
    tokio::spawn(async move {
        tokio::select! {
            r = fd.ready(Interest::ERROR) => {
                if r.is_ok() {
                    tracing::info!("stdout closed: cancelling the calls in flight");
                    closing.cancel();
                }
            }
            () = closing.cancelled() => {}
        }
    });
}

/// `stream`'s descriptor, duplicated and registered with the reactor for `interest`, for as long
/// as the result lives; `None` where it cannot be (a regular file).
#[cfg(unix)]
fn on_reactor(
    stream: &impl std::os::fd::AsFd,
    interest: tokio::io::Interest,
) -> Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>> {
    let owned = stream.as_fd().try_clone_to_owned().ok()?;
    // Deprecated because a borrowed descriptor could be closed under the reactor; an `OwnedFd`
    // (a duplicate) lives exactly as long as the registration. The safe successor is `unsafe`,
    // which this crate forbids.
    #[allow(deprecated)]
    tokio::io::unix::AsyncFd::with_interest(owned, interest).ok()
}

/// Elsewhere a failed write is the only sign.
#[cfg(not(unix))]
pub fn watch_stdout(_closing: CancellationToken) {}
