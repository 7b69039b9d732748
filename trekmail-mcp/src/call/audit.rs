//! The audit trail (`TREKMAIL_AUDIT_LOG`): one JSON line per write attempted and per refusal,
//! appended to a file (reopened on SIGHUP, for log rotation) or written to stderr.
//!
//! A write is recorded before it leaves (`"outcome":"attempted"`), and a write whose line
//! cannot be written is refused: nothing is sent that the trail does not hold. Its outcome
//! follows in a second line with the same `request_id`. A line holds names and typed values
//! only: the tool, the path arguments, keys and ids, an HMAC of the caller's token, never a
//! token, a password, a body or a file.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::call::human::Approval;
use crate::call::verdict::Verdict;
use crate::catalog::ToolDef;
use crate::catalog::schema::{IdempotencyKey, Target};
use crate::catalog::truncate::cut;

/// Where the lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-`: the process's stderr.
    Stderr,
    /// A file, appended to.
    File(PathBuf),
}

impl Destination {
    /// `-` or a path.
    pub fn parse(v: &str) -> Self {
        match v.trim() {
            "-" => Self::Stderr,
            path => Self::File(PathBuf::from(path)),
        }
    }
}

/// The open trail.
pub struct AuditLog {
    destination: Destination,
    /// The open file; `None` after a reopen failed (every write is then refused until a reopen
    /// succeeds).
    file: Mutex<Option<File>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("destination", &self.destination)
            .finish_non_exhaustive()
    }
}

/// Opens the file for appending, never to wait: a named pipe (a log shipper's) that no process
/// reads fails to open instead of waiting for a reader, and a write its reader has no room for
/// fails, and is refused, instead of holding the thread that writes (the runtime's). A regular
/// file is written as ever.
fn open(path: &PathBuf) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path).map_err(|e| {
        #[cfg(target_os = "linux")]
        if e.raw_os_error() == Some(libc::ENXIO) {
            return std::io::Error::new(e.kind(), "a named pipe that no process reads");
        }
        e
    })
}

impl AuditLog {
    /// Opens `destination`; `Err` names the variable and the reason.
    pub fn open(destination: Destination) -> Result<Self, String> {
        let file = match &destination {
            Destination::Stderr => None,
            Destination::File(p) => Some(open(p).map_err(|e| {
                format!(
                    "TREKMAIL_AUDIT_LOG: cannot open {} for appending: {e}",
                    p.display()
                )
            })?),
        };
        Ok(Self {
            destination,
            file: Mutex::new(file),
        })
    }

    fn file(&self) -> std::sync::MutexGuard<'_, Option<File>> {
        self.file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens the file again at its path (after a rotation moved it away). A failure leaves the
    /// trail closed: writes are refused until a reopen succeeds.
    pub fn reopen(&self) {
        let Destination::File(p) = &self.destination else {
            return;
        };
        let mut file = self.file();
        match open(p) {
            Ok(f) => {
                *file = Some(f);
                tracing::info!("audit log reopened");
            }
            Err(e) => {
                *file = None;
                tracing::error!(error = %e, "the audit log cannot be reopened: writes are refused until it can (TREKMAIL_AUDIT_LOG)");
            }
        }
    }

    /// Appends `line` whole, in one write.
    pub fn write(&self, line: &Line<'_>) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(line).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        match &self.destination {
            // Never waits for stderr's reader: a line it cannot take refuses the write.
            Destination::Stderr => crate::call::stderr::stderr().write_line(&bytes),
            Destination::File(_) => match self.file().as_mut() {
                Some(f) => f.write_all(&bytes),
                None => Err(std::io::Error::other("the audit log is closed")),
            },
        }
    }
}

/// The trail as one server writes it: the log, and who the caller is in it (caller mode).
#[derive(Clone)]
pub struct Trail {
    /// The log.
    pub log: std::sync::Arc<AuditLog>,
    /// [`caller_id`] of the request's ops token, in caller mode.
    pub ops: Option<String>,
    /// [`caller_id`] of the request's message token, in caller mode.
    pub message: Option<String>,
}

impl Trail {
    /// The caller's id for a call with a token of `kind`.
    pub fn caller(&self, kind: trekmail_api::TokenKind) -> Option<&str> {
        match kind {
            trekmail_api::TokenKind::Ops => self.ops.as_deref(),
            trekmail_api::TokenKind::Message => self.message.as_deref(),
        }
    }
}

/// One line of the trail.
#[derive(Debug, Serialize)]
pub struct Line<'a> {
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    /// The tool (a catalogue name), or `(unknown)`.
    pub tool: &'a str,
    /// The call's path arguments (what it acts on), long values cut.
    pub target: Map<String, Value>,
    /// What became of it: `attempted`, or its verdict.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The `Idempotency-Key` of a write, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<&'a IdempotencyKey>,
    /// Our `X-Request-Id` of the request, once one was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
    /// How the user's approval was obtained, when the call got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// The agent passed the tool's confirmation argument.
    pub confirmed: bool,
    /// Caller mode: an HMAC of the token the call used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller: Option<&'a str>,
    /// The W3C trace id the client sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<&'a str>,
}

/// What a line says became of the call.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// About to be sent.
    Attempted {
        /// Always `attempted`.
        outcome: Attempted,
    },
    /// Sent, failed or refused.
    Done(Verdict),
}

/// The word of a write about to be sent.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Attempted {
    /// The only value.
    Attempted,
}

impl Outcome {
    /// A write about to be sent.
    pub const ATTEMPTED: Self = Self::Attempted {
        outcome: Attempted::Attempted,
    };
}

impl Serialize for Approval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Longest path argument value kept, in characters.
pub const MAX_TARGET_CHARS: usize = 200;

/// The path arguments of a call to `def`, each value cut to [`MAX_TARGET_CHARS`].
pub fn target(def: &ToolDef, args: &Map<String, Value>) -> Map<String, Value> {
    def.shape()
        .args
        .iter()
        .filter(|a| matches!(a.target, Target::Path(_)))
        .filter_map(|a| {
            let v = match args.get(&a.name)? {
                Value::String(s) => Value::String(cut(s, MAX_TARGET_CHARS)),
                v @ (Value::Number(_) | Value::Bool(_) | Value::Null) => v.clone(),
                other => Value::String(cut(&other.to_string(), MAX_TARGET_CHARS)),
            };
            Some((a.name.clone(), v))
        })
        .collect()
}

/// The caller's id in the trail: HMAC-SHA256 keyed by the token, of a fixed label, in hex.
/// The same in every replica and across restarts; whoever holds a token can find its lines
/// (`printf 'trekmail-mcp audit caller v1' | openssl dgst -sha256 -hmac "$TOKEN"`), nobody
/// can get the token back from it.
pub fn caller_id(token: &str) -> String {
    use hmac::{Hmac, Mac as _};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()) else {
        return String::new();
    };
    mac.update(CALLER_LABEL);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What [`caller_id`] authenticates.
pub const CALLER_LABEL: &[u8] = b"trekmail-mcp audit caller v1";

/// `time` as RFC 3339 in UTC with milliseconds: `2026-12-06T15:23:53.123Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let d = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = utc_seconds(d.as_secs());
    let date_time = whole.strip_suffix('Z').unwrap_or(&whole);
    format!("{date_time}.{:03}Z", d.subsec_millis())
}

/// Unix seconds as RFC 3339 in UTC: `2026-12-06T15:23:53Z` (the audit's times and the send
/// rate's refusals share it; the sandbox too, hence its home in the client crate).
pub use trekmail_api::utc::utc_seconds;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::verdict::Rule;
    use std::time::Duration;

    #[test]
    fn times_are_rfc3339_utc() {
        let at = |s: u64, ms: u64| {
            rfc3339(UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_796_573_033, 123), "2026-12-06T16:03:53.123Z");
        assert_eq!(at(4_107_542_399, 999), "2100-02-28T23:59:59.999Z");
    }

    #[test]
    fn a_line_is_one_json_object_with_typed_values() {
        let line = Line {
            time: rfc3339(UNIX_EPOCH),
            tool: "delete_domain",
            target: [("domain_id".to_owned(), Value::from(7))]
                .into_iter()
                .collect(),
            outcome: Outcome::Done(Verdict::refused(Rule::SafetyGate)),
            idempotency_key: None,
            request_id: None,
            approval: Some(Approval::ClientCannotAsk),
            confirmed: true,
            caller: Some("ab"),
            trace_id: None,
        };
        let v = serde_json::to_value(&line).expect("serialises");
        assert_eq!(
            v,
            serde_json::json!({
                "time": "1970-01-01T00:00:00.000Z", "tool": "delete_domain",
                "target": {"domain_id": 7}, "outcome": "refused", "rule": "safety_gate",
                "approval": "client_cannot_ask", "confirmed": true, "caller": "ab"
            })
        );
        let attempted = Line {
            outcome: Outcome::ATTEMPTED,
            ..line
        };
        let v = serde_json::to_value(&attempted).expect("serialises");
        assert_eq!(v["outcome"], "attempted");
        assert_eq!(
            serde_json::to_value(Outcome::Done(Verdict::Sent { status: 201 })).expect("json"),
            serde_json::json!({"outcome": "sent", "status": 201})
        );
    }

    #[test]
    fn the_caller_id_is_the_documented_hmac() {
        // printf 'trekmail-mcp audit caller v1' | openssl dgst -sha256 -hmac tm_live_x
        assert_eq!(
            caller_id("tm_live_x"),
            "74d35cfdb464c5abc57377ebf827ccc6c778cef9233a5cd1a75f42094fec2c7e"
        );
        assert_ne!(caller_id("tm_live_x"), caller_id("tm_live_y"));
    }
}
