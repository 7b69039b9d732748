//! The one `ClientHooks` implementation: request ids, idempotency keys, retries, response
//! normalisation and redacted logging for every generated operation.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Request, Response};

use crate::generated::Client;
use crate::retry::{RetryPolicy, forbids_retry, retry_after, retryable_status};

/// Header carrying the client's request id on every attempt.
pub const REQUEST_ID: &str = "x-request-id";
/// Set on a response by the client: the request id it sent.
pub(crate) const CLIENT_REQUEST_ID: &str = "x-trekmail-client-request-id";
/// Set on a response by the client: how many attempts the call took.
pub(crate) const ATTEMPTS: &str = "x-trekmail-attempts";
/// Set on a 2xx response by the client: the API sent no body (a 204 or an empty 2xx).
pub(crate) const EMPTY_BODY: &str = "x-trekmail-empty-body";
/// Set on an error response by the client: the API's body was not JSON and was wrapped.
pub(crate) const WRAPPED_BODY: &str = "x-trekmail-non-json-body";

tokio::task_local! {
    static CALL_REQUEST_ID: String;
    static EXACT_BODY: Option<Bytes>;
    static CAPTURE: Arc<Mutex<Option<Captured>>>;
}

/// An answer as it came off the wire (after normalisation), kept for [`crate::Client::call_operation`].
pub(crate) struct Captured {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Bytes,
    /// Whether the operation answers JSON (else text).
    pub(crate) json: bool,
}

/// Runs `fut`, sending exactly `body` (JSON bytes) instead of the generated type's serialisation,
/// and returns the raw answer beside its result. typify's optional fields drop an explicit `[]`
/// or `null`, and its structs drop fields the spec does not name: the MCP layer must lose neither.
pub(crate) async fn capturing<F: Future>(
    body: Option<Bytes>,
    fut: F,
) -> (F::Output, Option<Captured>) {
    let slot = Arc::new(Mutex::new(None));
    let out = CAPTURE
        .scope(Arc::clone(&slot), EXACT_BODY.scope(body, fut))
        .await;
    let captured = slot.lock().ok().and_then(|mut s| s.take());
    (out, captured)
}

/// Runs `fut` with `id` as the `X-Request-Id` of every request it makes (the MCP server uses this
/// to name the id in its results). Without it, each call gets a fresh UUID.
pub async fn with_request_id<F: Future>(id: String, fut: F) -> F::Output {
    CALL_REQUEST_ID.scope(id, fut).await
}

/// The request id set by [`with_request_id`] for the current task, if any.
pub fn current_request_id() -> Option<String> {
    CALL_REQUEST_ID.try_with(Clone::clone).ok()
}

/// Per-client settings the hooks read.
#[derive(Debug, Clone, Default)]
pub struct ClientState {
    pub(crate) retry: RetryPolicy,
}

impl ClientHooks<ClientState> for Client {
    async fn pre<E>(&self, request: &mut Request, _info: &OperationInfo) -> Result<(), Error<E>> {
        let headers = request.headers_mut();
        // progenitor sends `api-version: <info.version>` on every request; the API has no such header.
        headers.remove("api-version");
        if !headers.contains_key(REQUEST_ID) {
            let id = current_request_id().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            headers.insert(REQUEST_ID, value(&id)?);
        }
        if request.method() != Method::GET && !request.headers().contains_key("idempotency-key") {
            // A caller that passes no key still gets safe retries: one random key per call.
            let key = format!("trekmail-rs-{}", uuid::Uuid::new_v4().simple());
            request
                .headers_mut()
                .insert("idempotency-key", value(&key)?);
        }
        if request.body().is_some() {
            if let Ok(Some(exact)) = EXACT_BODY.try_with(Clone::clone) {
                *request.body_mut() = Some(exact.into());
            }
        } else {
            request.headers_mut().remove(CONTENT_TYPE);
        }
        Ok(())
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let policy = &self.inner().retry;
        let request_id = request.headers().get(REQUEST_ID).cloned();
        // Only JSON operations set Accept here; the client-wide default covers the rest.
        let wants_json = request.headers().contains_key(ACCEPT);
        let started = Instant::now();
        let mut request = request;
        let mut attempt = 1u32;
        loop {
            // JSON bodies are bytes, so a copy always exists; without one there is no retry.
            let next = (attempt < policy.max_attempts)
                .then(|| request.try_clone())
                .flatten();
            let (result, wait) = match self.client().execute(request).await {
                Err(e) if e.is_timeout() || e.is_connect() => {
                    (Err(e), Some(policy.backoff(attempt)))
                }
                Ok(resp) if retryable_status(resp.status().as_u16()) => {
                    let header = resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let (parts, body) = split(resp).await?;
                    let wait = if forbids_retry(&body) {
                        None
                    } else {
                        match retry_after(header.as_deref(), &body) {
                            // Past the cap the caller gets the answer, which says when to retry.
                            Some(after) => (after <= policy.max_retry_after).then_some(after),
                            None => Some(policy.backoff(attempt)),
                        }
                    };
                    (Ok(rebuild(parts, body)), wait)
                }
                other => (other, None),
            };
            match (wait, next) {
                (Some(delay), Some(next)) => {
                    let why = match &result {
                        Ok(r) => format!("HTTP {}", r.status().as_u16()),
                        Err(e) if e.is_timeout() => "timeout".to_owned(),
                        Err(_) => "connection failed".to_owned(),
                    };
                    tracing::info!(
                        operation = info.operation_id,
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        why,
                        "retrying"
                    );
                    (policy.sleep)(delay).await;
                    attempt += 1;
                    request = next;
                }
                _ => {
                    let mut resp = match result {
                        Ok(resp) => resp,
                        Err(e) => {
                            tracing::warn!(operation = info.operation_id, attempts = attempt, error = %e, "request failed");
                            return Err(e);
                        }
                    };
                    tracing::debug!(
                        operation = info.operation_id,
                        status = resp.status().as_u16(),
                        attempts = attempt,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "answered"
                    );
                    let h = resp.headers_mut();
                    if let Some(id) = request_id {
                        h.insert(CLIENT_REQUEST_ID, id);
                    }
                    h.insert(ATTEMPTS, HeaderValue::from(attempt));
                    let (parts, body) = split(resp).await?;
                    let (parts, body) = normalise(parts, body, wants_json);
                    capture(&parts, &body, wants_json);
                    return Ok(rebuild(parts, body));
                }
            }
        }
    }
}

#[allow(clippy::result_large_err)] // the hook signature dictates progenitor's error type
fn value<E>(s: &str) -> Result<HeaderValue, Error<E>> {
    HeaderValue::from_str(s)
        .map_err(|_| Error::InvalidRequest(format!("header value not allowed: {s:?}")))
}

async fn split(resp: Response) -> reqwest::Result<(http::response::Parts, Bytes)> {
    let mut builder = http::Response::builder()
        .status(resp.status())
        .version(resp.version());
    if let Some(h) = builder.headers_mut() {
        *h = resp.headers().clone();
    }
    let url = resp.url().clone();
    let body = resp.bytes().await?;
    let (mut parts, ()) = builder.body(()).unwrap_or_default().into_parts();
    parts.extensions.insert(url);
    Ok((parts, body))
}

fn rebuild(parts: http::response::Parts, body: Bytes) -> Response {
    Response::from(http::Response::from_parts(parts, body))
}

/// Makes the generated code's job unambiguous: an empty 2xx body becomes `{}` (flagged), and an
/// error answer whose body is not JSON (an HTML page from a proxy) becomes a JSON error envelope
/// (flagged), so callers always learn the status instead of a bare parse failure.
fn normalise(
    parts: http::response::Parts,
    body: Bytes,
    wants_json: bool,
) -> (http::response::Parts, Bytes) {
    let status = parts.status;
    if status.is_success() {
        if body.iter().all(u8::is_ascii_whitespace) && wants_json {
            return as_json(parts, EMPTY_BODY, Bytes::from_static(b"{}"));
        }
        return (parts, body);
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
        return (parts, body);
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type")
        .to_owned();
    let snippet = snippet(&body);
    let envelope = serde_json::json!({
        "error": {
            "code": format!("http_{}", status.as_u16()),
            "message": format!(
                "HTTP {} {} with a non-JSON body ({content_type}, {} bytes){}",
                status.as_u16(),
                status.canonical_reason().unwrap_or(""),
                body.len(),
                if snippet.is_empty() { String::new() } else { format!(": {snippet}") }
            ),
        }
    });
    as_json(parts, WRAPPED_BODY, Bytes::from(envelope.to_string()))
}

/// Keeps the answer (a reference-counted `Bytes`, not a copy of the data) when [`capturing`]
/// asked for it.
fn capture(parts: &http::response::Parts, body: &Bytes, json: bool) {
    let Ok(slot) = CAPTURE.try_with(Arc::clone) else {
        return;
    };
    if let Ok(mut s) = slot.lock() {
        *s = Some(Captured {
            status: parts.status.as_u16(),
            headers: parts.headers.clone(),
            body: body.clone(),
            json,
        });
    }
}

/// A JSON body the client wrote in place of the API's, flagged with `marker`.
fn as_json(
    mut parts: http::response::Parts,
    marker: &'static str,
    body: Bytes,
) -> (http::response::Parts, Bytes) {
    parts
        .headers
        .insert(marker, HeaderValue::from_static("true"));
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    (parts, body)
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
