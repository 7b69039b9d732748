//! The stdio transport's writer: each message serialized straight into stdout, one line at a
//! time. rmcp's own writer builds the whole line first, beside the message it comes from: for
//! the resources/read of a 25 MB file, 33 MB of JSON held twice.
//!
//! Where stdout is a pipe or a socket (what MCP clients give), an answer that fits in
//! a small buffer (`SMALL`) is serialized into it and written on the runtime's reactor: answering
//! `initialize` starts no thread. A larger answer is serialized as it is written, on a blocking
//! thread, through a small buffer; that thread waits for room through the runtime, so a client
//! that stops reading cannot keep the process alive once its input has ended (a blocking write
//! would wait for it forever). Anything else (a file, a terminal) is written on a blocking
//! thread every time.

use std::io::{self, Write};
use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The buffer between the serializer and the output: each write fills a quarter of a pipe's
/// 64 KiB; a larger buffer made no transfer faster and kept its pages resident after the first
/// large answer (the tool list).
const BUFFER: usize = 16 * 1024;

/// The largest line written from a buffer on the reactor, which is kept for the next line:
/// `initialize`, a call's result and most other answers fit; the tool list does not.
const SMALL: usize = 16 * 1024;

/// Writes messages to stdout, in the order their sends began, one a line.
pub struct Lines {
    out: Out,
}

/// Where lines go. Each behind a lock, fair: lines go out in the order their sends began.
#[derive(Clone)]
enum Out {
    /// A pipe or a socket, written on the reactor.
    Ready(Arc<Mutex<Reactor>>),
    /// Anything else, written on a blocking thread.
    Blocking(Arc<Mutex<Box<dyn Write + Send>>>),
}

impl Lines {
    /// Messages written to `out` on a blocking thread.
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Self {
            out: Out::Blocking(Arc::new(Mutex::new(Box::new(out)))),
        }
    }

    /// Messages written to stdout: on the reactor where the client handed over a pipe or a
    /// socket ([`std_stream`](crate::serve::std_stream)), through [`Lines::new`] otherwise.
    pub fn stdout() -> Self {
        match ready_stdout() {
            Some(out) => Self {
                out: Out::Ready(Arc::new(Mutex::new(Reactor {
                    out,
                    line: Vec::new(),
                }))),
            },
            None => Self::new(io::stdout()),
        }
    }
}

impl Transport<RoleServer> for Lines {
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = self.out.clone();
        async move {
            // The lock moves into the task that writes, so a dropped send never leaves half a
            // line for the next one.
            let written = match out {
                Out::Ready(reactor) => {
                    let mut reactor = reactor.lock_owned().await;
                    if reactor.fill(&item) {
                        return write_ready(reactor).await;
                    }
                    let handle = tokio::runtime::Handle::current();
                    tokio::task::spawn_blocking(move || {
                        write_line(&mut reactor.out.blocking(handle), &item)
                    })
                }
                Out::Blocking(w) => {
                    let mut w = w.lock_owned().await;
                    tokio::task::spawn_blocking(move || write_line(&mut *w, &item))
                }
            };
            written.await.map_err(io::Error::other)?
        }
    }

    /// Never called: [`crate::serve::stdio::Bounded`] reads the input itself.
    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        None
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let out = self.out.clone();
        async move {
            match out {
                // Each line was written whole before its send returned.
                Out::Ready(_) => Ok(()),
                // A line still being written flushes itself when done; waiting for its lock
                // would wait forever for a client that stopped reading.
                Out::Blocking(w) => w.try_lock().map_or(Ok(()), |mut w| w.flush()),
            }
        }
    }
}

/// Stdout on the reactor, and the buffer its small lines are serialized into.
struct Reactor {
    out: Ready,
    line: Vec<u8>,
}

impl Reactor {
    /// Serializes `item` and its newline into `line`; false when they do not fit in [`SMALL`]
    /// bytes.
    fn fill(&mut self, item: &TxJsonRpcMessage<RoleServer>) -> bool {
        self.line.clear();
        // Allocated once, at the first answer, and kept.
        self.line.reserve_exact(SMALL);
        let mut sink = Sink::Capped(&mut self.line);
        serialize(&mut sink, item).is_ok() && sink.write_all(b"\n").is_ok()
    }
}

/// What a message is serialized into. One type, so that the serializer's code, a copy per
/// writer type of every message type's, exists once for both ways a line is written.
enum Sink<'a> {
    /// A buffer that refuses to grow past [`SMALL`] bytes.
    Capped(&'a mut Vec<u8>),
    /// A small buffer in front of the output.
    Buffered(io::BufWriter<&'a mut dyn Write>),
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    // Inlined into the serializer, as BufWriter's own is: it is called once per token.
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::Capped(line) => {
                if line.len() + buf.len() > SMALL {
                    return Err(io::ErrorKind::FileTooLarge.into());
                }
                line.extend_from_slice(buf);
                Ok(())
            }
            Self::Buffered(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Capped(_) => Ok(()),
            Self::Buffered(w) => w.flush(),
        }
    }
}

/// Writes the reactor's line: at once when the pipe has room (the usual case), otherwise in a
/// task of its own that holds the lock until the line is out, so a dropped send never leaves
/// half a line.
async fn write_ready(reactor: OwnedMutexGuard<Reactor>) -> io::Result<()> {
    let written = match reactor.out.try_write(&reactor.line) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e),
    };
    if written == reactor.line.len() {
        return Ok(());
    }
    tokio::spawn(async move { reactor.out.write_all(&reactor.line[written..]).await })
        .await
        .map_err(io::Error::other)?
}

/// One message and its newline, serialized as it is written.
pub fn write_line(out: &mut dyn Write, item: &TxJsonRpcMessage<RoleServer>) -> io::Result<()> {
    let mut sink = Sink::Buffered(io::BufWriter::with_capacity(BUFFER, out));
    // Serializing these types does not fail; if it ever did, the newline still ends the line.
    let serialized = serialize(&mut sink, item);
    sink.write_all(b"\n")?;
    sink.flush()?;
    serialized
}

fn serialize(sink: &mut Sink<'_>, item: &TxJsonRpcMessage<RoleServer>) -> io::Result<()> {
    serde_json::to_writer(sink, item).map_err(io::Error::from)
}

/// Stdout on the reactor.
#[cfg(unix)]
type Ready = crate::serve::std_stream::OnReactor<tokio::net::unix::pipe::Sender>;

#[cfg(unix)]
fn ready_stdout() -> Option<Ready> {
    crate::serve::std_stream::stdout()
}

/// Elsewhere stdout is always written on a blocking thread.
#[cfg(not(unix))]
enum Ready {}

#[cfg(not(unix))]
fn ready_stdout() -> Option<Ready> {
    None
}

#[cfg(not(unix))]
impl Ready {
    fn try_write(&self, _: &[u8]) -> io::Result<usize> {
        match *self {}
    }
    async fn write_all(&self, _: &[u8]) -> io::Result<()> {
        match *self {}
    }
    fn blocking(&self, _: tokio::runtime::Handle) -> io::Sink {
        match *self {}
    }
}
