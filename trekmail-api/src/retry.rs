//! When and how long to wait before trying a request again.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// How the client waits between attempts. Tests swap in a recorder so they never sleep.
pub type Sleep = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Retries of 429, 502, 503, 504, timeouts and refused connections.
///
/// Every attempt of one call carries the same `X-Request-Id` and `Idempotency-Key`, so the API
/// performs a write at most once however often it is sent.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries). Default 3.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each later one, with full jitter. Default 500 ms.
    pub base_delay: Duration,
    /// Upper bound of one backoff. Default 8 s.
    pub max_delay: Duration,
    /// The longest `Retry-After` (header or `retry_after` body field) the client waits for; past
    /// it the call fails at once with the API's answer, which says when to retry. Default 30 s.
    pub max_retry_after: Duration,
    /// How to wait. Default: `tokio::time::sleep`.
    pub sleep: Sleep,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            sleep: Arc::new(|d| Box::pin(tokio::time::sleep(d))),
        }
    }
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("max_retry_after", &self.max_retry_after)
            .finish_non_exhaustive()
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Exponential backoff with full jitter before attempt `attempt + 1` (`attempt` >= 1).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << (attempt - 1).min(16));
        let cap = exp.min(self.max_delay);
        // Full jitter spreads simultaneous clients; never below a tenth so retries are not instant.
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        let floor = millis / 10;
        Duration::from_millis(floor + fastrand::u64(0..=millis - floor))
    }
}

/// Statuses worth another attempt: rate limiting and the gateway/availability family.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Seconds to wait from a `Retry-After` header (delta-seconds form) or a `retry_after` body field
/// (top level or inside `error`).
pub(crate) fn retry_after(header: Option<&str>, body: &[u8]) -> Option<Duration> {
    if let Some(secs) = header.and_then(|h| h.trim().parse::<f64>().ok()) {
        return seconds(secs);
    }
    retry_after_field(&serde_json::from_slice(body).ok()?)
}

/// Seconds to wait from a `retry_after` field of a JSON body (top level or inside `error`).
pub(crate) fn retry_after_field(v: &serde_json::Value) -> Option<Duration> {
    let field = v
        .pointer("/error/retry_after")
        .or_else(|| v.get("retry_after"))?;
    field
        .as_f64()
        .or_else(|| field.as_str()?.parse().ok())
        .and_then(seconds)
}

fn seconds(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// `retryable: false` in the error body (top level or inside `error`) forbids another attempt.
pub(crate) fn forbids_retry(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let flag = v.pointer("/error/retryable").or_else(|| v.get("retryable"));
    flag == Some(&serde_json::Value::Bool(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
            ..Default::default()
        };
        for _ in 0..50 {
            let first = p.backoff(1);
            assert!(
                first >= Duration::from_millis(10) && first <= Duration::from_millis(100),
                "{first:?}"
            );
            assert!(p.backoff(5) <= Duration::from_millis(250));
        }
    }

    #[test]
    fn retry_after_from_header_or_body() {
        assert_eq!(retry_after(Some("2"), b""), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after(None, br#"{"error":{"retry_after":7}}"#),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(None, br#"{"retry_after":"3"}"#),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT"), b"<html>"),
            None
        );
        assert_eq!(retry_after(Some("-1"), b""), None);
    }

    #[test]
    fn retryable_false_is_read_at_both_levels() {
        assert!(forbids_retry(br#"{"error":{"retryable":false}}"#));
        assert!(forbids_retry(br#"{"retryable":false}"#));
        assert!(!forbids_retry(br#"{"error":{"retryable":true}}"#));
        assert!(!forbids_retry(b"<html>busy</html>"));
    }
}
