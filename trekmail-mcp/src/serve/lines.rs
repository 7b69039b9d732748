//! The messages of the stdio transport, one a line: each line read within [`MAX_LINE_BYTES`]
//! (no more is ever held), scanned by [`json_bound`] on its raw bytes before it is parsed, then
//! parsed once. What cannot be a message is skipped (not JSON: nothing to answer), answered with
//! an error when it names an id (past a bound, or not an MCP message), and logged.

use rmcp::RoleServer;
use rmcp::model::{ErrorData, JsonRpcMessage, RequestId};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

use crate::serve::json_bound;

/// The longest line read: rmcp's own stdio limit (16 MiB), which matches what its HTTP client
/// accepts in one event.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// What one read gives.
pub enum Read {
    /// A message, and what it may cost ([`json_bound::Scan::cost`]).
    Message(RxJsonRpcMessage<RoleServer>, usize),
    /// A line that is no message but names a request: the error that answers it.
    Refused(TxJsonRpcMessage<RoleServer>),
    /// The end of input (or a read error, which ends it too).
    End,
}

/// Reads lines from `R`, never holding more than [`MAX_LINE_BYTES`] of one.
pub struct Lines<R> {
    read: R,
    line: Vec<u8>,
    max: usize,
    /// Dropping the rest of a line past the limit, up to its newline.
    skipping: bool,
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    /// Lines of `read`, each at most `max` bytes.
    pub fn new(read: R, max: usize) -> Self {
        Self {
            read,
            line: Vec::new(),
            max,
            skipping: false,
        }
    }

    /// The next message. Cancel-safe: a line cut short by a dropped future stays in the buffer
    /// and the next call goes on with it.
    pub async fn next(&mut self) -> Read {
        loop {
            if !self.fill().await {
                return Read::End;
            }
            let mut line = self.line.as_slice();
            line = line.strip_suffix(b"\n").unwrap_or(line);
            line = line.strip_suffix(b"\r").unwrap_or(line);
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            let read = (!line.trim_ascii().is_empty()).then(|| message(line));
            self.line.clear();
            match read {
                Some(Some(Ok((m, cost)))) => return Read::Message(m, cost),
                Some(Some(Err(refusal))) => return Read::Refused(refusal),
                _ => {}
            }
        }
    }

    /// Reads up to a whole line into `self.line`; `false` at the end of input. A last line
    /// without a newline (`printf` without `\n`) is a line too.
    async fn fill(&mut self) -> bool {
        loop {
            let available = match self.read.fill_buf().await {
                Ok([]) => return !self.line.is_empty() && !self.skipping,
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "stdin could not be read; treating it as ended");
                    return false;
                }
            };
            let newline = available.iter().position(|b| *b == b'\n');
            let take = newline.map_or(available.len(), |i| i + 1);
            let whole = newline.is_some();
            if self.skipping {
                self.skipping = !whole;
            } else if self.line.len() + take > self.max {
                tracing::warn!(
                    max_bytes = self.max,
                    "a message longer than the line limit was dropped"
                );
                self.line = Vec::new();
                self.skipping = !whole;
            } else {
                self.line.extend_from_slice(&available[..take]);
                if whole {
                    self.read.consume(take);
                    return true;
                }
            }
            self.read.consume(take);
        }
    }
}

/// One line as a message and what it may cost; `Err` is the error answering a line that names
/// a request but is not one this server can take; `None` a line with nothing to answer.
fn message(line: &[u8]) -> Option<Result<(RxJsonRpcMessage<RoleServer>, usize), Answer>> {
    let scan = match json_bound::check(line) {
        Ok(scan) => scan,
        Err(r) => {
            tracing::warn!(bytes = line.len(), why = %r.why, "message refused before parsing");
            let why = format!("the message is refused: {}", r.why);
            return Some(Err(invalid(r.id?, &why)));
        }
    };
    match serde_json::from_slice::<RxJsonRpcMessage<RoleServer>>(line) {
        Ok(m) => Some(Ok((m, scan.cost()))),
        Err(e) if e.is_syntax() || e.is_eof() => {
            // Not JSON: no id to answer, and answering garbage can start an error storm.
            tracing::debug!(error = %e, "a line that is not JSON was ignored");
            None
        }
        Err(e) => {
            // JSON, not an MCP message. Bounded by the scan, so reading its id is cheap; a
            // notification of some other protocol has none and is ignored.
            let id = serde_json::from_slice::<serde_json::Value>(line)
                .ok()?
                .get("id")
                .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok())?;
            Some(Err(invalid(id, &format!("not a valid MCP request: {e}"))))
        }
    }
}

/// An answer the transport writes itself.
type Answer = TxJsonRpcMessage<RoleServer>;

fn invalid(id: RequestId, why: &str) -> Answer {
    JsonRpcMessage::error(ErrorData::invalid_request(why.to_owned(), None), Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn all(input: &[u8], max: usize) -> Vec<String> {
        let mut lines = Lines::new(input, max);
        let mut out = Vec::new();
        loop {
            match lines.next().await {
                Read::Message(m, n) => out.push(format!(
                    "{n}:{}",
                    serde_json::to_string(&m).unwrap_or_default()
                )),
                Read::Refused(e) => out.push(format!(
                    "refused:{}",
                    serde_json::to_string(&e).unwrap_or_default()
                )),
                Read::End => return out,
            }
        }
    }

    #[tokio::test]
    async fn lines_past_the_limit_are_dropped_and_the_next_is_read() {
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        let long = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"ping","x":"{}"}}"#,
            "y".repeat(200)
        );
        let input = format!("{long}\n{ping}\r\n\n  \nnot json\n{ping}");
        let got = all(input.as_bytes(), 100).await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains(r#""method":"ping""#), "{got:?}");
        // The last line needs no newline.
        assert!(got[1].contains("ping"), "{got:?}");
    }

    #[tokio::test]
    async fn a_message_past_a_bound_is_answered_by_its_id_and_never_parsed() {
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let input = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{{\"name\":\"x\",\"arguments\":{{\"a\":{deep}}}}}}}\n{{\"id\":8,\"what\":1}}\n{{\"what\":1}}\n"
        );
        let got = all(input.as_bytes(), 1 << 20).await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].contains("refused")
                && got[0].contains("\"id\":7")
                && got[0].contains("deeper than 64"),
            "{got:?}"
        );
        // JSON that is no MCP message: answered when it has an id, ignored when not.
        assert!(
            got[1].contains("refused") && got[1].contains("\"id\":8"),
            "{got:?}"
        );
    }
}
