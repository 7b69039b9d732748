//! Standard error, written without ever waiting for its reader. A client that pipes the
//! server's stderr and never reads it fills the pipe (64 KiB: a few hundred calls' log lines at
//! the default level), and a write to a full pipe waits for the reader: the thread that logged,
//! the runtime's own, would wait forever, and every call with it.
//!
//! On Linux, the file the client handed over keeps its flags (the client itself, an inherited
//! stderr, may share it), and each write still never waits:
//! - a pipe is written through an open file of this process's own, non-blocking;
//! - a socket (a service manager's journal stream, inetd's connection) is written with `send`
//!   and `MSG_DONTWAIT`, non-blocking for that one call.
//!
//! A line that finds no room is not written; the count of such lines goes out with the next line
//! that is. Anywhere else (a terminal, a file) stderr is written as usual.

use std::fs::File;
use std::io::{self, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Standard error as this process writes it.
pub struct Stderr {
    /// How a write avoids waiting; `None`: stderr as usual.
    now: Option<Now>,
    /// Lines not written because there was no room, since the last one written.
    dropped: AtomicU64,
    /// Whether the last line was cut short: the notice then starts on a line of its own.
    cut: AtomicBool,
}

/// A stderr written without waiting.
enum Now {
    /// A pipe, opened anew in non-blocking mode.
    Pipe(File),
    /// A socket, written with `MSG_DONTWAIT`.
    #[cfg(target_os = "linux")]
    Socket(std::os::fd::OwnedFd),
}

/// The process's stderr.
pub fn stderr() -> &'static Stderr {
    static STDERR: OnceLock<Stderr> = OnceLock::new();
    STDERR.get_or_init(|| Stderr::new(open_now()))
}

impl Stderr {
    fn new(now: Option<Now>) -> Self {
        Self {
            now,
            dropped: AtomicU64::new(0),
            cut: AtomicBool::new(false),
        }
    }

    /// Writes `line` (which ends with its newline) as far as there is room now: when there is
    /// none, `Err` of kind `WouldBlock`, and the line is counted as dropped.
    pub fn write_line(&self, line: &[u8]) -> io::Result<()> {
        let Some(now) = &self.now else {
            return io::stderr().lock().write_all(line);
        };
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let newline = if self.cut.load(Ordering::Relaxed) {
                "\n"
            } else {
                ""
            };
            let notice = format!(
                "{newline}trekmail-mcp: {dropped} line(s) not written to stderr: its reader was behind\n"
            );
            self.put(now, notice.as_bytes(), dropped + 1)?;
        }
        self.put(now, line, 1)
    }

    /// Writes `bytes` whole, or counts `lines` as dropped, remembering a line cut short.
    fn put(&self, now: &Now, bytes: &[u8], lines: u64) -> io::Result<()> {
        match now.write_all(bytes) {
            Written::Whole => {
                self.cut.store(false, Ordering::Relaxed);
                Ok(())
            }
            partly => {
                if partly == Written::Cut {
                    self.cut.store(true, Ordering::Relaxed);
                }
                self.dropped.fetch_add(lines, Ordering::Relaxed);
                Err(io::ErrorKind::WouldBlock.into())
            }
        }
    }
}

/// How much of a line went out.
#[derive(PartialEq, Eq)]
enum Written {
    Whole,
    /// Its start: the next line would continue it.
    Cut,
    Nothing,
}

impl Now {
    /// Writes `bytes` as far as there is room now. A pipe takes a write of up to 4 KiB whole or
    /// not at all; a socket, and a pipe past 4 KiB, may take part of it.
    fn write_all(&self, mut bytes: &[u8]) -> Written {
        let mut any = false;
        while !bytes.is_empty() {
            match self.write(bytes) {
                Ok(n) if n > 0 => {
                    bytes = &bytes[n..];
                    any = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ if any => return Written::Cut,
                _ => return Written::Nothing,
            }
        }
        Written::Whole
    }

    fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        match self {
            Self::Pipe(pipe) => {
                let mut pipe: &File = pipe;
                pipe.write(bytes)
            }
            #[cfg(target_os = "linux")]
            Self::Socket(fd) => socket2::SockRef::from(fd)
                .send_with_flags(bytes, libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL),
        }
    }
}

/// Log lines for `tracing`: each event is formatted whole and written with one `write_all`.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A line dropped is counted, not an error the logger should report.
        match stderr().write_line(buf) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How stderr is written without waiting, where it is a pipe or a socket. A pipe: `/proc/self/fd/2`
/// opens the same pipe as a new open file, whose flags are this process's alone. A socket
/// cannot be opened so, but `send` takes the flag per call.
#[cfg(target_os = "linux")]
fn open_now() -> Option<Now> {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let file = File::from(io::stderr().as_fd().try_clone_to_owned().ok()?);
    let kind = file.metadata().ok()?.file_type();
    if kind.is_socket() {
        return Some(Now::Socket(file.into()));
    }
    if !kind.is_fifo() {
        return None;
    }
    // Non-blocking here also means the open itself never waits for a reader: with none, it fails.
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/proc/self/fd/2")
        .ok()
        .map(Now::Pipe)
}

#[cfg(not(target_os = "linux"))]
fn open_now() -> Option<Now> {
    None
}

#[cfg(all(test, target_os = "linux"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::os::unix::net::UnixStream;

    /// A socket nobody reads takes lines until it is full, then drops them; a line cut short
    /// is ended by the notice that follows it, which counts it.
    #[test]
    fn a_full_socket_drops_lines_and_a_cut_line_is_ended_by_the_notice() {
        let (ours, mut reader) = UnixStream::pair().unwrap();
        let err = Stderr::new(Some(Now::Socket(ours.into())));
        let line = b"a log line of some length, as tracing writes them at the debug level\n";
        let mut written = 0;
        while err.write_line(line).is_ok() {
            written += 1;
        }
        assert!(written > 10, "{written}");
        // Room for the notice of that line and part of a long line only: the long line is cut.
        let mut some = vec![0u8; 4096];
        reader.read_exact(&mut some).unwrap();
        let long = [vec![b'x'; 256 * 1024], b"\n".to_vec()].concat();
        assert!(err.write_line(&long).is_err());
        assert!(err.cut.load(Ordering::Relaxed), "the long line was not cut");
        // The reader catches up: the next line goes out after the notice.
        reader.set_nonblocking(true).unwrap();
        let mut out = some;
        let _ = reader.read_to_end(&mut out);
        err.write_line(b"the next line\n").unwrap();
        let _ = reader.read_to_end(&mut out);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains(
            "\ntrekmail-mcp: 1 line(s) not written to stderr: its reader was behind\nxxx"
        ));
        let notice = out.rfind("trekmail-mcp: 1 line(s) not written").unwrap();
        assert_eq!(
            &out[notice - 2..notice],
            "x\n",
            "the notice starts a line of its own after the cut line"
        );
        assert!(
            out.ends_with("its reader was behind\nthe next line\n"),
            "{}",
            &out[notice..]
        );
    }
}
