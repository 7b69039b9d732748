//! The stdio transport's writer: each message serialized straight into stdout through a small
//! buffer, one line at a time. rmcp's own writer builds the whole line first, beside the
//! message it comes from: for the resources/read of a 25 MB file, 33 MB of JSON held twice.

use std::io::{self, Write};
use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;

/// The buffer between the serializer and the output: each write fills a quarter of a pipe's
/// 64 KiB; a larger buffer made no transfer faster and kept its pages resident after the first
/// large answer (the tool list).
const BUFFER: usize = 16 * 1024;

/// Writes messages to `W` (stdout), in the order their sends began, one a line.
pub struct Lines<W> {
    out: Arc<tokio::sync::Mutex<W>>,
}

impl<W> Lines<W> {
    /// Messages written to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: Arc::new(tokio::sync::Mutex::new(out)),
        }
    }
}

impl<W: Write + Send + 'static> Transport<RoleServer> for Lines<W> {
    type Error = io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let out = Arc::clone(&self.out);
        async move {
            // The lock is fair: lines go out in the order their sends began. It moves into the
            // blocking write, so a dropped send never leaves half a line for the next one.
            let mut out = out.lock_owned().await;
            tokio::task::spawn_blocking(move || write_line(&mut *out, &item))
                .await
                .map_err(io::Error::other)?
        }
    }

    /// Never called: [`crate::serve::stdio::Bounded`] reads the input itself.
    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        None
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let out = Arc::clone(&self.out);
        async move { out.lock().await.flush() }
    }
}

/// One message and its newline, serialized as it is written.
pub fn write_line(out: &mut impl Write, item: &TxJsonRpcMessage<RoleServer>) -> io::Result<()> {
    let mut w = io::BufWriter::with_capacity(BUFFER, out);
    // Serializing these types does not fail; if it ever did, the newline still ends the line.
    let serialized = serde_json::to_writer(&mut w, item).map_err(io::Error::from);
    w.write_all(b"\n")?;
    w.flush()?;
    serialized
}
