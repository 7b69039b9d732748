//! Progress notifications while a call waits (for its turn, or to try again), sent only to a
//! client that asked with a `progressToken`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rmcp::model::{ProgressNotificationParam, ProgressToken};
use trekmail_api::Retrying;

/// Where notifications go: the client's peer in the server, a recorder in tests.
pub type Sink = Arc<dyn Fn(ProgressNotificationParam) + Send + Sync>;

/// The progress of one call.
pub struct Progress {
    token: ProgressToken,
    sink: Sink,
    step: AtomicU32,
}

impl Progress {
    /// Progress for the request that carried `token`.
    pub fn new(token: ProgressToken, sink: Sink) -> Self {
        Self {
            token,
            sink,
            step: AtomicU32::new(0),
        }
    }

    /// Sends one notification; `progress` grows by one each time, as the protocol wants.
    pub fn tell(&self, message: String, total: Option<u32>) {
        let step = self.step.fetch_add(1, Ordering::Relaxed) + 1;
        let mut p = ProgressNotificationParam::new(self.token.clone(), f64::from(step))
            .with_message(message);
        if let Some(t) = total {
            p = p.with_total(f64::from(t));
        }
        (self.sink)(p);
    }

    /// A wait before another attempt.
    pub fn retrying(&self, r: &Retrying) {
        self.tell(
            format!(
                "attempt {} of {} failed ({}); trying again in {} ms",
                r.attempt,
                r.max_attempts,
                r.reason,
                r.delay.as_millis()
            ),
            None,
        );
    }
}
