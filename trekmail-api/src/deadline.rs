//! The instant by which a whole call must end: computed once, when the call starts, and passed
//! to every step of it (a caller's own bookkeeping before the request, then the request with its
//! retries and waits), so the steps share one budget rather than each getting a full one.

use std::time::Duration;

use tokio::time::Instant;

/// When a call must be over, and how long it was given (for the error that says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    length: Duration,
}

impl Deadline {
    /// `length` from now.
    pub fn after(length: Duration) -> Self {
        Self {
            at: Instant::now() + length,
            length,
        }
    }

    /// The instant it passes.
    pub fn instant(self) -> Instant {
        self.at
    }

    /// How long the call was given in all.
    pub fn length(self) -> Duration {
        self.length
    }

    /// The time left (zero once it passed).
    pub fn remaining(self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether it passed.
    pub fn passed(self) -> bool {
        self.remaining().is_zero()
    }

    /// A deadline as long as this one, from now: for a call that waited for a person, a wait
    /// that is not the call's own work.
    #[must_use]
    pub fn restarted(self) -> Self {
        Self::after(self.length)
    }

    /// The same deadline `more` later: a step that is known to need longer (a big upload).
    #[must_use]
    pub fn extended(self, more: Duration) -> Self {
        Self {
            at: self.at + more,
            length: self.length + more,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_time_left_shrinks_to_zero_and_stays_there() {
        let d = Deadline::after(Duration::from_millis(30));
        assert!(d.remaining() <= Duration::from_millis(30));
        assert!(!d.passed());
        tokio::time::sleep_until(d.instant()).await;
        assert!(d.passed());
        assert_eq!(d.remaining(), Duration::ZERO);
        let later = d.extended(Duration::from_secs(60));
        assert!(later.remaining() > Duration::from_secs(50));
        assert_eq!(later.length(), Duration::from_millis(60_030));
    }
}
