//! What operators watch (`GET /metrics` over HTTP, Prometheus text format 0.0.4): calls by tool
//! and outcome, their latency, retries, refusals by rule, calls in flight, the API's status
//! codes and the state store's failures. Hand-rolled: a few counters behind one lock and a text writer, where a metrics crate
//! would add a registry, its macros and their dependencies for the same dozen lines of output.
//!
//! Labels carry only names this server chose (catalogue tool names, fixed rule, outcome,
//! operation and failure words, status numbers): never a caller, an argument, a key or a token.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use crate::call::verdict::Rule;

/// Upper bounds of the latency histogram's buckets, in seconds (the call deadline defaults to
/// 30 s).
const BUCKETS: [f64; 10] = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The counters of one process.
#[derive(Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
    in_flight: AtomicI64,
    retries: AtomicU64,
}

#[derive(Default)]
struct Counts {
    /// (tool, outcome) → calls.
    calls: BTreeMap<(String, &'static str), u64>,
    /// Rule (its name) → refusals.
    refusals: BTreeMap<&'static str, u64>,
    /// API status (or `none`) → answers.
    statuses: BTreeMap<String, u64>,
    /// (operation, failure) → state store commands that failed.
    state_errors: BTreeMap<(&'static str, &'static str), u64>,
    /// Calls per bucket (not cumulative), the last past every bound; sum of seconds.
    latency: [u64; BUCKETS.len() + 1],
    latency_sum: f64,
}

/// A call in flight: counted until dropped.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Nothing panics while holding the lock; poisoned counters are still counters.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts a call in flight until the guard is dropped.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// A finished call of `tool` (a catalogue name) with `outcome` (`ok`, `error`), and how
    /// long it took.
    pub fn call(&self, tool: &str, outcome: &'static str, took: Duration) {
        let secs = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        let mut c = self.counts();
        *c.calls.entry((tool.to_owned(), outcome)).or_default() += 1;
        c.latency[bucket] += 1;
        c.latency_sum += secs;
    }

    /// A call or request refused by `rule` before anything was sent.
    pub fn refused(&self, rule: Rule) {
        *self.counts().refusals.entry(rule.name()).or_default() += 1;
    }

    /// An answer of the API: its status, or `None` when none came (transport failure, redirect, answer too large).
    pub fn api_status(&self, status: Option<u16>) {
        let key = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
        *self.counts().statuses.entry(key).or_default() += 1;
    }

    /// A state store command for `operation` that failed with `kind` (fixed words: see
    /// `state::Operation` and `state::Failure`).
    pub fn state_error(&self, operation: &'static str, kind: &'static str) {
        *self
            .counts()
            .state_errors
            .entry((operation, kind))
            .or_default() += 1;
    }

    /// A wait before another attempt.
    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let c = self.counts();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP trekmail_mcp_calls_total Tool calls by tool and outcome (ok, error).\n# TYPE trekmail_mcp_calls_total counter"
        );
        let mut lines = String::new();
        for ((tool, outcome), n) in &c.calls {
            let _ = writeln!(
                lines,
                "trekmail_mcp_calls_total{{tool=\"{tool}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = write!(out, "{lines}");
        let _ = writeln!(
            out,
            "# HELP trekmail_mcp_call_duration_seconds Tool call latency.\n# TYPE trekmail_mcp_call_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, n) in c.latency.iter().enumerate() {
            cumulative += n;
            let le = BUCKETS
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
            let _ = writeln!(
                out,
                "trekmail_mcp_call_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "trekmail_mcp_call_duration_seconds_sum {}\ntrekmail_mcp_call_duration_seconds_count {cumulative}",
            c.latency_sum
        );
        let _ = writeln!(
            out,
            "# HELP trekmail_mcp_calls_in_flight Tool calls being served.\n# TYPE trekmail_mcp_calls_in_flight gauge\ntrekmail_mcp_calls_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP trekmail_mcp_retries_total Waits before another attempt of an API request.\n# TYPE trekmail_mcp_retries_total counter\ntrekmail_mcp_retries_total {}",
            self.retries.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP trekmail_mcp_refusals_total Calls and requests refused before anything was sent, by rule.\n# TYPE trekmail_mcp_refusals_total counter"
        );
        for (rule, n) in &c.refusals {
            let _ = writeln!(out, "trekmail_mcp_refusals_total{{rule=\"{rule}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP trekmail_mcp_api_responses_total Answers of the TrekMail API by HTTP status (none: no answer read, e.g. a transport failure).\n# TYPE trekmail_mcp_api_responses_total counter"
        );
        for (status, n) in &c.statuses {
            let _ = writeln!(
                out,
                "trekmail_mcp_api_responses_total{{status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP trekmail_mcp_state_errors_total State store (TREKMAIL_STATE_URL) commands that failed, by operation and kind (unreachable, timeout, error).\n# TYPE trekmail_mcp_state_errors_total counter"
        );
        for ((operation, kind), n) in &c.state_errors {
            let _ = writeln!(
                out,
                "trekmail_mcp_state_errors_total{{operation=\"{operation}\",kind=\"{kind}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_and_accumulates_buckets() {
        let m = Metrics::default();
        {
            let _a = m.start();
            assert!(m.render().contains("trekmail_mcp_calls_in_flight 1\n"));
        }
        m.call("get_domain", "ok", Duration::from_millis(30));
        m.call("get_domain", "ok", Duration::from_secs(60));
        m.refused(Rule::SafetyGate);
        m.api_status(Some(200));
        m.api_status(None);
        m.retry();
        m.state_error("intent", "timeout");
        m.state_error("intent", "timeout");
        m.state_error("send_rate", "unreachable");
        let t = m.render();
        for line in [
            "trekmail_mcp_calls_total{tool=\"get_domain\",outcome=\"ok\"} 2\n",
            "trekmail_mcp_call_duration_seconds_bucket{le=\"0.01\"} 0\n",
            "trekmail_mcp_call_duration_seconds_bucket{le=\"0.05\"} 1\n",
            "trekmail_mcp_call_duration_seconds_bucket{le=\"30\"} 1\n",
            "trekmail_mcp_call_duration_seconds_bucket{le=\"+Inf\"} 2\n",
            "trekmail_mcp_call_duration_seconds_count 2\n",
            "trekmail_mcp_calls_in_flight 0\n",
            "trekmail_mcp_retries_total 1\n",
            "trekmail_mcp_refusals_total{rule=\"safety_gate\"} 1\n",
            "trekmail_mcp_api_responses_total{status=\"200\"} 1\n",
            "trekmail_mcp_api_responses_total{status=\"none\"} 1\n",
            "trekmail_mcp_state_errors_total{operation=\"intent\",kind=\"timeout\"} 2\n",
            "trekmail_mcp_state_errors_total{operation=\"send_rate\",kind=\"unreachable\"} 1\n",
        ] {
            assert!(t.contains(line), "{line} not in:\n{t}");
        }
    }
}
