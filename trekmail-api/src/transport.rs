//! The one transport core: every request of this crate, from a generated method or from
//! [`crate::Client::call_operation`], is sent here. It owns the request id, the idempotency key,
//! retries and their waits, the call's deadline, the answer size limit, redirects (never
//! followed), the reading and normalisation of answers and the scrubbing of secrets. What it
//! learns about an attempt comes back as typed values ([`Answer`], [`Facts`], [`CallError`]).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER,
};
use reqwest::{Method, Request, Response};
use tokio::time::Instant;

use crate::deadline::Deadline;
use crate::error::{ApiError, CallError, TransportKind, snippet, transport_error};
pub use crate::facts::{Facts, IDEMPOTENCY_KEY, REQUEST_ID};
use crate::retry::{RetryPolicy, forbids_retry, retry_after, retryable_status};

/// Default limit of one answer's body: the API's largest legitimate answer is an attachment of
/// about 25 MB, which travels base64-encoded (a third larger) inside JSON.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 48 * 1024 * 1024;

/// An attempt is not started with less time than this left before the deadline.
const MIN_ATTEMPT: Duration = Duration::from_millis(50);

/// Bounds of one call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The whole call, every attempt and every wait between them included, for a call sent
    /// without a [`Deadline`] of its own.
    pub deadline: Duration,
    /// The largest answer body read, in bytes.
    pub max_response_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(30),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

/// A successful (2xx) answer, read whole within the size limit.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as it came off the wire (configured secrets scrubbed).
    pub body: Bytes,
    /// What the transport learnt.
    pub facts: Facts,
}

impl Answer {
    /// Whether the body is empty or only whitespace (a 204, or an empty 2xx).
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }
}

/// A wait before another attempt, reported to the caller that asked (progress for a person or
/// an agent watching a slow call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retrying {
    /// The attempt that just failed, the first being 1.
    pub attempt: u32,
    /// Attempts the policy allows in all.
    pub max_attempts: u32,
    /// How long the client waits before the next one.
    pub delay: Duration,
    /// Why, in a few words (`HTTP 503`, `timeout`): never a body.
    pub reason: String,
}

/// Called before each wait between attempts of one call.
pub type OnRetry<'a> = &'a (dyn Fn(&Retrying) + Send + Sync);

/// Sends requests: one per client, shared by the generated methods and `call_operation`.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    retry: RetryPolicy,
    limits: Limits,
    /// The token and the secrets to scrub: shared by this client's clones, so a token replaced
    /// on one ([`Transport::replace_token`]) is the token of all.
    keys: Arc<RwLock<Keys>>,
    /// When set, a failed attempt is tried again only if this says the failure proves the API
    /// never received the request (a write that must not happen twice without a key the API
    /// honours, such as a payment).
    retry_only_if: Option<fn(&CallError) -> bool>,
}

/// What a transport sends and what it hides.
#[derive(Clone)]
struct Keys {
    /// Values that must never reach a caller, even when the API echoes them (the tokens).
    secrets: Vec<String>,
    /// The `Authorization` value of this client's token, set on every attempt.
    auth: Option<HeaderValue>,
}

/// Secrets shorter than this are not scrubbed: they would match ordinary text. A server must
/// refuse to send such a secret at all (see `trekmail-mcp`'s payments).
pub const MIN_SECRET_LEN: usize = 8;

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("retry", &self.retry)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// How one attempt ended.
enum Attempt {
    /// An answer, read whole.
    Answered {
        status: u16,
        headers: HeaderMap,
        body: Bytes,
    },
    /// A failure worth another attempt (timeout, refused or reset connection, body cut short).
    Retryable(CallError),
    /// A failure another attempt cannot mend (redirect, answer too large, deadline).
    Final(CallError),
}

impl Transport {
    /// A transport over `http`, which must not follow redirects.
    pub(crate) fn new(
        http: reqwest::Client,
        retry: RetryPolicy,
        limits: Limits,
        secrets: Vec<String>,
        auth: Option<HeaderValue>,
    ) -> Self {
        Self {
            http,
            retry,
            limits,
            keys: Arc::new(RwLock::new(Keys {
                secrets: secrets
                    .into_iter()
                    .filter(|s| s.len() >= MIN_SECRET_LEN)
                    .collect(),
                auth,
            })),
            retry_only_if: None,
        }
    }

    /// A transport of its own for one secret-bearing request: `secret` scrubbed like the token,
    /// and attempts repeated only on failures `retry_only_if` accepts.
    pub(crate) fn for_secret_request(
        &self,
        secret: &str,
        retry_only_if: fn(&CallError) -> bool,
    ) -> Self {
        let mut keys = self.keys().clone();
        if secret.len() >= MIN_SECRET_LEN {
            keys.secrets.push(secret.to_owned());
        }
        Self {
            keys: Arc::new(RwLock::new(keys)),
            retry_only_if: Some(retry_only_if),
            ..self.clone()
        }
    }

    /// The same transport for one request that must not be repeated blindly: a failed attempt
    /// is tried again only when `retry_only_if` says the failure proves the API never received
    /// it. Shares this transport's token and secrets.
    pub(crate) fn without_blind_retries(&self, retry_only_if: fn(&CallError) -> bool) -> Self {
        Self {
            retry_only_if: Some(retry_only_if),
            ..self.clone()
        }
    }

    /// Scrubs `secret` from every later answer of this transport and its clones (a token another
    /// client was given).
    pub(crate) fn redact_also(&self, secret: &str) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if secret.len() >= MIN_SECRET_LEN && !keys.secrets.iter().any(|s| s == secret) {
            keys.secrets.push(secret.to_owned());
        }
    }

    /// Sends `auth` (a new token's `Authorization`) from now on, on every clone of this
    /// transport; `token` joins the secrets and the old token stays one.
    pub(crate) fn replace_token(&self, token: &str, auth: HeaderValue) {
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        keys.auth = Some(auth);
        if token.len() >= MIN_SECRET_LEN {
            keys.secrets.push(token.to_owned());
        }
    }

    fn keys(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The deadline of a call sent without one of its own (the client's timeout).
    pub(crate) fn default_deadline(&self) -> Duration {
        self.limits.deadline
    }

    /// The HTTP client requests are built with.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `request` until it gets an answer that is final, within the deadline. A 2xx is an
    /// [`Answer`]; anything else is a [`CallError`] (an error status, whatever its body, is
    /// [`CallError::Api`]). Dropping the future stops the call: no attempt or wait follows.
    pub async fn send(&self, request: Request, operation: &str) -> Result<Answer, CallError> {
        self.send_observed(request, operation, None).await
    }

    /// [`Transport::send`], telling `on_retry` before each wait between attempts.
    pub async fn send_observed(
        &self,
        request: Request,
        operation: &str,
        on_retry: Option<OnRetry<'_>>,
    ) -> Result<Answer, CallError> {
        let deadline = Deadline::after(self.limits.deadline);
        self.send_until(request, operation, on_retry, deadline)
            .await
    }

    /// [`Transport::send_observed`] ending by `deadline` (the caller's whole call, of which this
    /// request may be the last step) instead of the client's own timeout.
    pub async fn send_until(
        &self,
        mut request: Request,
        operation: &str,
        on_retry: Option<OnRetry<'_>>,
        deadline: Deadline,
    ) -> Result<Answer, CallError> {
        let facts = self.stamp(&mut request)?;
        let mut attempt = 1u32;
        loop {
            // JSON bodies are bytes, so a copy always exists; without one there is no retry.
            let next = (attempt < self.retry.max_attempts)
                .then(|| request.try_clone())
                .flatten();
            let (error, wait) = match self.attempt(request, deadline).await {
                Attempt::Answered {
                    status,
                    headers,
                    body,
                } => {
                    let facts = Facts {
                        attempts: attempt,
                        ..facts.clone()
                    };
                    if (200..300).contains(&status) {
                        return Ok(Answer {
                            status,
                            headers,
                            body,
                            facts,
                        });
                    }
                    let wait = retryable_status(status)
                        .then(|| self.wait_for(attempt, &headers, &body))
                        .flatten();
                    (api_error(status, &headers, &body, &facts), wait)
                }
                Attempt::Retryable(e) => (e, Some(self.retry.backoff(attempt))),
                Attempt::Final(e) => (e, None),
            };
            let wait = wait.filter(|_| self.retry_only_if.is_none_or(|proves| proves(&error)));
            match (wait, next) {
                (Some(delay), Some(next))
                    if Instant::now() + delay + MIN_ATTEMPT <= deadline.instant() =>
                {
                    tracing::info!(
                        operation,
                        attempt,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        why = %why(&error),
                        "retrying"
                    );
                    if let Some(tell) = on_retry {
                        tell(&Retrying {
                            attempt,
                            max_attempts: self.retry.max_attempts,
                            delay,
                            reason: why(&error),
                        });
                    }
                    (self.retry.sleep)(delay).await;
                    attempt += 1;
                    request = next;
                }
                _ => {
                    tracing::debug!(operation, attempts = attempt, why = %why(&error), "call failed");
                    return Err(error);
                }
            }
        }
    }

    /// Sets the request id and, on a write, the idempotency key, unless the caller did.
    fn stamp(&self, request: &mut Request) -> Result<Facts, CallError> {
        let headers = request.headers_mut();
        if let Some(auth) = &self.keys().auth {
            headers.insert(AUTHORIZATION, auth.clone());
        }
        let request_id = match header_str(headers, REQUEST_ID) {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                headers.insert(REQUEST_ID, header_value(&id)?);
                id
            }
        };
        let idempotency_key = if request.method() == Method::GET {
            None
        } else {
            let headers = request.headers_mut();
            Some(match header_str(headers, IDEMPOTENCY_KEY) {
                Some(k) => k,
                None => {
                    // A caller that passes no key still gets safe retries: one random key per call.
                    let key = format!("trekmail-rs-{}", uuid::Uuid::new_v4().simple());
                    headers.insert(IDEMPOTENCY_KEY, header_value(&key)?);
                    key
                }
            })
        };
        Ok(Facts {
            request_id,
            idempotency_key,
            attempts: 0,
        })
    }

    /// How long to wait before another attempt after a retryable status, or `None` when the API
    /// forbids it or asks for longer than the policy allows (the caller gets the answer, which
    /// says when to retry). `Retry-After: 0` still waits the backoff: no tight loops.
    fn wait_for(&self, attempt: u32, headers: &HeaderMap, body: &[u8]) -> Option<Duration> {
        if forbids_retry(body) {
            return None;
        }
        let backoff = self.retry.backoff(attempt);
        match retry_after(header_str(headers, RETRY_AFTER.as_str()).as_deref(), body) {
            Some(after) if after > self.retry.max_retry_after => None,
            Some(after) => Some(after.max(backoff)),
            None => Some(backoff),
        }
    }

    /// One attempt: send, then read the answer whole, all before the deadline. The first
    /// attempt is not started with too little time left (nothing is sent then); a later one is
    /// never started that way (the wait before it is not taken).
    async fn attempt(&self, request: Request, deadline: Deadline) -> Attempt {
        if deadline.remaining() < MIN_ATTEMPT {
            return Attempt::Final(unsent_error(deadline));
        }
        let url_host = request.url().host_str().unwrap_or("").to_owned();
        let run = async {
            let response = match self.http.execute(request).await {
                Ok(r) => r,
                Err(e) => return Attempt::Retryable(transport_error(&e)),
            };
            self.read(response, &url_host).await
        };
        match tokio::time::timeout_at(deadline.instant(), run).await {
            Ok(a) => a,
            Err(_) => Attempt::Final(deadline_error(deadline)),
        }
    }

    /// Reads an answer within the size limit, counting bytes as they arrive.
    async fn read(&self, mut response: Response, api_host: &str) -> Attempt {
        let status = response.status().as_u16();
        // Header values reach error texts, results and logs (an API or a proxy may echo the token
        // in `X-Request-Id`): scrubbed once, here, like the body.
        let headers = self.scrub_headers(std::mem::take(response.headers_mut()));
        if (300..400).contains(&status) {
            let location = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // Only the host is named: a redirect URL may carry anything.
            let target = response
                .url()
                .join(location)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| api_host.to_owned());
            return Attempt::Final(CallError::Redirect {
                status,
                target_host: target,
            });
        }
        let limit = self.limits.max_response_bytes;
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Attempt::Final(CallError::TooLarge { limit });
        }
        let mut body =
            BytesMut::with_capacity(usize::try_from(declared.unwrap_or(0).min(limit)).unwrap_or(0));
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Attempt::Final(CallError::TooLarge { limit });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Attempt::Retryable(transport_error(&e)),
            }
        }
        Attempt::Answered {
            status,
            headers,
            body: self.scrub(body.freeze()),
        }
    }

    /// Replaces every configured secret in `body` (a token the API echoed back).
    fn scrub(&self, body: Bytes) -> Bytes {
        scrub(&self.keys().secrets, body)
    }

    /// Every header value with the configured secrets replaced; a value that would not stay a
    /// valid header after the replacement is dropped rather than kept in the clear.
    fn scrub_headers(&self, headers: HeaderMap) -> HeaderMap {
        let keys = self.keys();
        let tainted = |v: &HeaderValue| {
            keys.secrets
                .iter()
                .any(|s| memchr::memmem::find(v.as_bytes(), s.as_bytes()).is_some())
        };
        if !headers.values().any(tainted) {
            return headers;
        }
        let mut out = HeaderMap::with_capacity(headers.len());
        let mut name = None;
        for (k, v) in headers {
            // `into_iter` names a header once, before its first value.
            if let Some(k) = k {
                name = Some(k);
            }
            let Some(name) = name.clone() else { continue };
            let v = if tainted(&v) {
                match HeaderValue::from_maybe_shared(scrub(
                    &keys.secrets,
                    Bytes::copy_from_slice(v.as_bytes()),
                )) {
                    Ok(v) => v,
                    Err(_) => continue,
                }
            } else {
                v
            };
            out.append(name, v);
        }
        out
    }

    /// The same for content the API sent encoded (a base64 file), which the scrub of the raw
    /// answer cannot see.
    pub(crate) fn redact(&self, bytes: Vec<u8>) -> Vec<u8> {
        Vec::from(scrub(&self.keys().secrets, Bytes::from(bytes)))
    }
}

/// What a scrubbed secret reads as.
pub const REDACTED: &str = "[redacted]";

/// Replaces every occurrence of every secret in `body` with [`REDACTED`].
fn scrub(secrets: &[String], body: Bytes) -> Bytes {
    let mut body = body;
    for secret in secrets {
        // memmem (SIMD) rather than comparing every window: answers can be tens of megabytes.
        let finder = memchr::memmem::Finder::new(secret.as_bytes());
        if finder.find(&body).is_none() {
            continue;
        }
        let mut out = Vec::with_capacity(body.len());
        let mut last = 0;
        for i in finder.find_iter(&body) {
            out.extend_from_slice(&body[last..i]);
            out.extend_from_slice(REDACTED.as_bytes());
            last = i + secret.len();
        }
        out.extend_from_slice(&body[last..]);
        body = Bytes::from(out);
    }
    body
}

/// A short reason for the logs: never a body.
fn why(error: &CallError) -> String {
    match error {
        CallError::Api(e) => format!("HTTP {}", e.status),
        CallError::Transport {
            kind: TransportKind::Timeout,
            ..
        } => "timeout".into(),
        CallError::Transport { .. } => "connection failed".into(),
        e => e.to_string(),
    }
}

fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn header_value(s: &str) -> Result<HeaderValue, CallError> {
    HeaderValue::from_str(s)
        .map_err(|_| CallError::InvalidRequest("a header value has characters not allowed".into()))
}

fn deadline_error(deadline: Deadline) -> CallError {
    CallError::Transport {
        kind: TransportKind::Timeout,
        message: format!(
            "no answer within the call's deadline of {} ms, retries included",
            deadline.length().as_millis()
        ),
    }
}

/// The deadline left too little time to send the request at all: nothing was sent.
fn unsent_error(deadline: Deadline) -> CallError {
    CallError::Transport {
        kind: TransportKind::Timeout,
        message: format!(
            "the call's deadline of {} ms passed before the request could be sent; nothing was sent",
            deadline.length().as_millis()
        ),
    }
}

/// An error answer as a [`CallError::Api`]: any JSON body is kept whole (object or not); a body
/// that is not JSON (an HTML page from a proxy) is described, not parsed.
fn api_error(status: u16, headers: &HeaderMap, body: &[u8], facts: &Facts) -> CallError {
    let (value, non_json_body) = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => (v, false),
        Err(_) => (non_json_envelope(status, headers, body), true),
    };
    CallError::Api(Box::new(ApiError::new(
        status,
        headers,
        value,
        facts,
        non_json_body,
    )))
}

fn non_json_envelope(status: u16, headers: &HeaderMap, body: &[u8]) -> serde_json::Value {
    let content_type =
        header_str(headers, CONTENT_TYPE.as_str()).unwrap_or_else(|| "no content type".to_owned());
    let snippet = snippet(body);
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    serde_json::json!({
        "error": {
            "code": format!("http_{status}"),
            "message": format!(
                "HTTP {status} {reason} with a non-JSON body ({content_type}, {} bytes){}",
                body.len(),
                if snippet.is_empty() { String::new() } else { format!(": {snippet}") }
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scrub_replaces_every_occurrence_of_every_secret() {
        let body = Bytes::from_static(
            b"{\"a\":\"tm_live_secret1tm_live_secret1\",\"b\":\"x tm_msg_secret22 y\",\"c\":\"tm_live_secre\"}",
        );
        assert_eq!(
            &scrub(&secrets(&["tm_live_secret1", "tm_msg_secret22"]), body)[..],
            &b"{\"a\":\"[redacted][redacted]\",\"b\":\"x [redacted] y\",\"c\":\"tm_live_secre\"}"[..]
        );
    }

    #[test]
    fn scrub_leaves_a_clean_body_untouched() {
        let body = Bytes::from_static(b"{\"id\":7}");
        assert_eq!(
            &scrub(&secrets(&["tm_live_secret1"]), body)[..],
            b"{\"id\":7}"
        );
    }
}
