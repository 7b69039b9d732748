//! One error type for every way a call can fail, with what a person needs to act on it.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::hooks::{ATTEMPTS, CLIENT_REQUEST_ID, WRAPPED_BODY};

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
    /// Builds the error from a status, the response headers and the JSON body.
    pub fn new(status: u16, headers: &reqwest::header::HeaderMap, body: Value) -> Self {
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
            .or_else(|| crate::retry::retry_after(None, body.to_string().as_bytes()));
        Self {
            status,
            code: text("code"),
            message: text("message"),
            hint: text("hint"),
            request_id: text("request_id").or_else(|| {
                header("x-request-id").filter(|h| Some(h) != header(CLIENT_REQUEST_ID).as_ref())
            }),
            client_request_id: header(CLIENT_REQUEST_ID),
            retryable: fields.get("retryable").and_then(Value::as_bool),
            retry_after,
            attempts: header(ATTEMPTS).and_then(|a| a.parse().ok()).unwrap_or(1),
            non_json_body: headers.contains_key(WRAPPED_BODY),
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

/// Every way a call through this crate can fail.
#[derive(Debug)]
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
            CallError::Api(e) => e.fmt(f),
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
    fn from(e: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error as G;
        match e {
            G::ErrorResponse(rv) => {
                let status = rv.status().as_u16();
                let headers = rv.headers().clone();
                let body = serde_json::to_value(rv.into_inner()).unwrap_or(Value::Null);
                CallError::Api(Box::new(ApiError::new(status, &headers, body)))
            }
            G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
                transport(&e)
            }
            G::InvalidResponsePayload(bytes, err) => CallError::InvalidResponse(format!(
                "{err}; body starts: {:?}",
                crate::hooks::snippet(&bytes)
            )),
            G::UnexpectedResponse(resp) => {
                CallError::InvalidResponse(format!("unexpected HTTP {}", resp.status()))
            }
            G::InvalidRequest(m) | G::Custom(m) => CallError::InvalidRequest(m),
        }
    }
}

pub(crate) fn transport(e: &reqwest::Error) -> CallError {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    // reqwest's message names the URL (no secrets: tokens travel in headers) and the cause chain.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    CallError::Transport { kind, message }
}
