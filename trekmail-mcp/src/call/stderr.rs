//! Standard error, written without ever waiting for its reader. A client that pipes the
//! server's stderr and never reads it fills the pipe (64 KiB: a few hundred calls' log lines at
//! the default level), and a write to a full pipe waits for the reader: the thread that logged,
//! the runtime's own, would wait forever, and every call with it.
//!
//! Where stderr is a pipe (Linux), lines are written through an open file of this process's
//! own, non-blocking: the flag is not set on the file the client handed over, which the client
//! itself (an inherited stderr) may share. A line that finds the pipe full is not written; the
//! count of such lines goes out with the next line that is. Anywhere else (a terminal, a file, a
//! socket) stderr is written as usual.

use std::fs::File;
use std::io::{self, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Standard error as this process writes it.
pub struct Stderr {
    /// The pipe, opened anew in non-blocking mode; `None`: stderr as usual.
    pipe: Option<File>,
    /// Lines not written because the pipe was full, since the last one written.
    dropped: AtomicU64,
}

/// The process's stderr.
pub fn stderr() -> &'static Stderr {
    static STDERR: OnceLock<Stderr> = OnceLock::new();
    STDERR.get_or_init(|| Stderr {
        pipe: open_pipe(),
        dropped: AtomicU64::new(0),
    })
}

impl Stderr {
    /// Writes `line` (which ends with its newline) in one write, or not at all when the pipe is
    /// full: then `Err` of kind `WouldBlock`, and the line is counted as dropped.
    pub fn write_line(&self, line: &[u8]) -> io::Result<()> {
        let Some(pipe) = &self.pipe else {
            return io::stderr().lock().write_all(line);
        };
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let notice = format!(
                "trekmail-mcp: {dropped} line(s) not written to stderr: its reader was behind\n"
            );
            if write_now(pipe, notice.as_bytes()).is_err() {
                self.dropped.fetch_add(dropped + 1, Ordering::Relaxed);
                return Err(io::ErrorKind::WouldBlock.into());
            }
        }
        write_now(pipe, line).inspect_err(|_| {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        })
    }
}

/// Writes all of `bytes` as far as the pipe takes them now. A pipe takes a write of up to
/// 4 KiB whole or not at all; the rest of a longer line that does not fit is dropped, not
/// waited for.
fn write_now(mut pipe: &File, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match pipe.write(bytes)? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => bytes = &bytes[n..],
        }
    }
    Ok(())
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

/// Stderr opened anew, non-blocking, where it is a pipe: `/proc/self/fd/2` opens the same pipe
/// as a new open file, whose flags are this process's alone.
#[cfg(target_os = "linux")]
fn open_pipe() -> Option<File> {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let fd = io::stderr().as_fd().try_clone_to_owned().ok()?;
    if !File::from(fd).metadata().ok()?.file_type().is_fifo() {
        return None;
    }
    // Non-blocking here also means the open itself never waits for a reader: with none, it fails.
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open("/proc/self/fd/2")
        .ok()
}

#[cfg(not(target_os = "linux"))]
fn open_pipe() -> Option<File> {
    None
}
