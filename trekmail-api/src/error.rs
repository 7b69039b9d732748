//! One error type for every way a call can fail, with what a person needs to act on it.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::facts::{Facts, REQUEST_ID};

/// An HTTP error answer of the API (4xx/5xx), parsed from the error envelope
/// `{"error": {"code", "message", "hint", "request_id", "retryable", "retry_after", ...}}`
/// or the same fields at the top level.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The API's machine-readable error code.
    pub code: Option<String>,
    /// The API's message.
    pub message: Option<String>,
    /// The API's hint on how to fix the request.
    pub hint: Option<String>,
    /// The API's own request id.
    pub request_id: Option<String>,
    /// The `X-Request-Id` this client sent.
    pub client_request_id: Option<String>,
    /// Whether the API says a retry may succeed.
    pub retryable: Option<bool>,
    /// How long the API asks to wait (`Retry-After` header or `retry_after` field).
    pub retry_after: Option<Duration>,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Whether the API's body was not JSON (an HTML page from a proxy, say) and `body` wraps it.
    pub non_json_body: bool,
    /// The whole error body, every field kept.
    pub body: Value,
}

impl ApiError {
    /// Builds the error from a status, the response headers, the JSON body (any JSON value: an
    /// error status is an error whatever its body), what the transport learnt, and whether the
    /// body was not JSON and `body` describes it.
    pub fn new(
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: Value,
        facts: &Facts,
        non_json_body: bool,
    ) -> Self {
        let fields = body.get("error").filter(|e| e.is_object()).unwrap_or(&body);
        let text = |k: &str| match fields.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let header = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = crate::retry::retry_after(header("retry-after").as_deref(), b"")
            .or_else(|| crate::retry::retry_after_field(&body));
        Self {
            status,
            code: text("code"),
            message: text("message"),
            hint: text("hint"),
            // The API's own id: its envelope's, or a response X-Request-Id that is not ours echoed.
            request_id: text("request_id")
                .or_else(|| header(REQUEST_ID).filter(|h| *h != facts.request_id)),
            client_request_id: Some(facts.request_id.clone()),
            retryable: fields.get("retryable").and_then(Value::as_bool),
            retry_after,
            attempts: facts.attempts.max(1),
            non_json_body,
            body,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        if let Some(after) = self.retry_after {
            write!(f, "; retry after {} s", after.as_secs_f64().ceil())?;
        }
        Ok(())
    }
}

/// What kind of transport failure ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made (refused, DNS, TLS).
    Connect,
    /// Anything else on the wire, such as a body cut short.
    Other,
}

/// Every way a call through this crate can fail: what every generated `send()` and
/// [`Client::call_operation`](crate::Client::call_operation) return.
///
/// Its `Display` is one line, so `?` into `Box<dyn Error>` or `anyhow::Error` prints
/// `HTTP 404 not_found: No such domain [request id req_9, X-Request-Id 0c5b…]`. To act on the
/// error, match on it, or get it back from a boxed error with
/// `err.downcast_ref::<trekmail_api::CallError>()`; [`CallError::Api`] carries the status, the
/// API's code, message, hint, retry facts and its whole error body.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The API answered with an error status.
    Api(Box<ApiError>),
    /// The request never got an answer.
    Transport {
        /// What happened.
        kind: TransportKind,
        /// Description, without secrets.
        message: String,
    },
    /// The API answered with a redirect, which is never followed (a redirect could send the
    /// request, body and credentials included, to another host).
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The host the redirect points at (only the host: the URL may carry anything).
        target_host: String,
    },
    /// The answer was larger than the limit ([`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)).
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The API answered success but the body could not be read as the spec says.
    InvalidResponse(String),
    /// An argument could not be turned into the generated type.
    InvalidArgument {
        /// The argument's wire name.
        name: String,
        /// Why.
        message: String,
    },
    /// The request could not be built.
    InvalidRequest(String),
    /// No operation has this operationId.
    UnknownOperation(String),
}

impl CallError {
    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            CallError::Api(e) => Some(e.status),
            _ => None,
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Api(e) => {
                e.fmt(f)?;
                // The ids a support request needs, on the same line (the MCP server shows them
                // separately, so `ApiError`'s own `Display` leaves them out).
                let ids: Vec<String> = [
                    e.request_id.as_ref().map(|id| format!("request id {id}")),
                    e.client_request_id
                        .as_ref()
                        .filter(|id| !id.is_empty())
                        .map(|id| format!("X-Request-Id {id}")),
                ]
                .into_iter()
                .flatten()
                .collect();
                if !ids.is_empty() {
                    write!(f, " [{}]", ids.join(", "))?;
                }
                Ok(())
            }
            CallError::Transport {
                kind: TransportKind::Timeout,
                message,
            } => write!(f, "timed out: {message}"),
            CallError::Transport {
                kind: TransportKind::Connect,
                message,
            } => write!(f, "cannot connect: {message}"),
            CallError::Transport {
                kind: TransportKind::Other,
                message,
            } => write!(f, "transport error: {message}"),
            CallError::Redirect {
                status,
                target_host,
            } => write!(
                f,
                "the API answered HTTP {status}, a redirect to host {target_host}; redirects are never followed, so nothing was sent there"
            ),
            CallError::TooLarge { limit } => write!(
                f,
                "the answer is larger than the limit of {limit} bytes; it was not read"
            ),
            CallError::InvalidResponse(m) => write!(f, "invalid response from the API: {m}"),
            CallError::InvalidArgument { name, message } => {
                write!(f, "invalid argument `{name}`: {message}")
            }
            CallError::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            CallError::UnknownOperation(op) => write!(f, "unknown operation `{op}`"),
        }
    }
}

impl std::error::Error for CallError {}

impl<E: serde::Serialize> From<progenitor_client::Error<E>> for CallError {
    /// The readable error of a generated method's failure. Failures of the transport core reach
    /// the generated code as an `UnexpectedResponse` carrying the typed [`CallError`].
    fn from(e: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error as G;
        match e {
            G::UnexpectedResponse(resp) => match resp.extensions().get::<Failed>() {
                Some(Failed(e)) => e.clone(),
                None => CallError::InvalidResponse(format!("unexpected HTTP {}", resp.status())),
            },
            G::ErrorResponse(rv) => {
                // Only reachable when the hooks are bypassed: the core reports error statuses.
                let status = rv.status().as_u16();
                let headers = rv.headers().clone();
                let body = serde_json::to_value(rv.into_inner()).unwrap_or(Value::Null);
                let facts = Facts {
                    request_id: String::new(),
                    idempotency_key: None,
                    attempts: 1,
                };
                CallError::Api(Box::new(ApiError::new(
                    status, &headers, body, &facts, false,
                )))
            }
            G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
                transport_error(&e)
            }
            G::InvalidResponsePayload(bytes, err) => {
                CallError::InvalidResponse(format!("{err}; body starts: {:?}", snippet(&bytes)))
            }
            G::InvalidRequest(m) | G::Custom(m) => CallError::InvalidRequest(m),
        }
    }
}

/// A failure of the transport core, carried to [`CallError::from`] as a typed response
/// extension (the generated code's only way to pass a response through unchanged).
#[derive(Debug, Clone)]
pub(crate) struct Failed(pub(crate) CallError);

/// A reqwest failure as a transport error, described without secrets (tokens travel in headers,
/// which reqwest never prints).
pub(crate) fn transport_error(e: &reqwest::Error) -> CallError {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    CallError::Transport { kind, message }
}

/// The first 200 characters of a body as one line of text, tags stripped.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(if c.is_whitespace() { ' ' } else { c }),
            _ => {}
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(200).collect()
}
