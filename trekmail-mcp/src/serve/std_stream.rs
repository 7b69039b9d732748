//! Standard input and output on the runtime's reactor where the client handed over a pipe or a
//! socket (Python's `subprocess` makes pipes, Node's `child_process` socket pairs): read and
//! written without a thread of their own. tokio's `stdin` and `stdout` each use a blocking
//! thread, which a start would create before answering `initialize`.
//!
//! Non-blocking is a flag of the open file, which every process holding it shares. It is set
//! only where stderr does not share the file (`2>&1`, or one socket for all three as inetd
//! gives): what writes stderr as usual (start-up failures; every log line where
//! `call::stderr` cannot avoid waiting) would otherwise fail, not wait. And it is
//! cleared again when the stream is dropped, so a process that inherited the same file and goes
//! on after this one (`{ trekmail-mcp; cat; } < requests`) finds it as it was.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::UnixStream;
use tokio::net::unix::pipe;

/// A standard stream in non-blocking mode, on the reactor; blocking again once dropped.
pub struct OnReactor<P: IntoBlocking> {
    /// `None` only while being dropped.
    stream: Option<Stream<P>>,
}

enum Stream<P> {
    Pipe(P),
    Socket(UnixStream),
}

/// A pipe end that can be put back in blocking mode.
pub trait IntoBlocking {
    fn into_blocking(self);
}

impl IntoBlocking for pipe::Receiver {
    fn into_blocking(self) {
        let _ = self.into_blocking_fd();
    }
}

impl IntoBlocking for pipe::Sender {
    fn into_blocking(self) {
        let _ = self.into_blocking_fd();
    }
}

impl<P: IntoBlocking> Drop for OnReactor<P> {
    fn drop(&mut self) {
        match self.stream.take() {
            Some(Stream::Pipe(p)) => p.into_blocking(),
            Some(Stream::Socket(s)) => {
                let _ = s.into_std().and_then(|s| s.set_nonblocking(false));
            }
            None => {}
        }
    }
}

/// Standard input on the reactor, or `None` where it is not a pipe or a socket of its own.
pub fn stdin() -> Option<OnReactor<pipe::Receiver>> {
    // tokio checks that it is a pipe open for reading.
    open(io::stdin().as_fd(), pipe::Receiver::from_file)
}

/// Standard output on the reactor, or `None` where it is not a pipe or a socket of its own.
pub fn stdout() -> Option<OnReactor<pipe::Sender>> {
    // tokio checks that it is a pipe open for writing.
    open(io::stdout().as_fd(), pipe::Sender::from_file)
}

/// A duplicate of `fd`, made non-blocking, as a socket or (through `pipe`) a pipe.
fn open<P: IntoBlocking>(
    fd: BorrowedFd<'_>,
    pipe: impl FnOnce(File) -> io::Result<P>,
) -> Option<OnReactor<P>> {
    let file = File::from(fd.try_clone_to_owned().ok()?);
    if shares_stderr(&file) {
        return None;
    }
    let stream = if file.metadata().ok()?.file_type().is_socket() {
        let socket = std::os::unix::net::UnixStream::from(OwnedFd::from(file));
        socket.set_nonblocking(true).ok()?;
        // tokio takes a duplicate, so that this one can clear the flag if tokio refuses it.
        match socket.try_clone().map(UnixStream::from_std) {
            Ok(Ok(s)) => Stream::Socket(s),
            _ => {
                let _ = socket.set_nonblocking(false);
                return None;
            }
        }
    } else {
        Stream::Pipe(pipe(file).ok()?)
    };
    Some(OnReactor {
        stream: Some(stream),
    })
}

/// Whether `file` is the pipe or socket stderr writes to.
fn shares_stderr(file: &File) -> bool {
    let Ok(this) = file.metadata() else {
        return true;
    };
    io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(File::from)
        .and_then(|err| err.metadata())
        .is_ok_and(|err| err.dev() == this.dev() && err.ino() == this.ino())
}

impl AsyncRead for OnReactor<pipe::Receiver> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Some(Stream::Pipe(p)) => Pin::new(p).poll_read(cx, buf),
            Some(Stream::Socket(s)) => Pin::new(s).poll_read(cx, buf),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl OnReactor<pipe::Sender> {
    /// Writes what fits now, without waiting.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match &self.stream {
            Some(Stream::Pipe(p)) => p.try_write(buf),
            Some(Stream::Socket(s)) => s.try_write(buf),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// Waits until there is room to write.
    pub async fn writable(&self) -> io::Result<()> {
        match &self.stream {
            Some(Stream::Pipe(p)) => p.writable().await,
            Some(Stream::Socket(s)) => s.writable().await,
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }

    /// A writer for a blocking thread: it waits for room on the reactor, which the runtime's
    /// own thread (`handle`'s) drives, so the wait ends when the runtime does.
    pub fn blocking(&self, handle: tokio::runtime::Handle) -> impl Write + '_ {
        Waiting(self, handle)
    }

    /// Writes all of `buf`, waiting for room as needed.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            self.writable().await?;
            match self.try_write(buf) {
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// [`OnReactor::blocking`]'s writer.
struct Waiting<'a>(&'a OnReactor<pipe::Sender>, tokio::runtime::Handle);

impl Write for Waiting<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            match self.0.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.1.block_on(self.0.writable())?;
                }
                r => return r,
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
