//! The shared state store (`TREKMAIL_STATE_URL`): Redis or Valkey, for every replica of an
//! HTTP service. [`Store`] is the one connection; [`SharedIntents`] keeps the intent memory in
//! it. Other shared state (a send-rate budget, approval replays) uses [`Store::connection`] and
//! [`Store::key`] the same way: HMACs in key names, a TTL on every key, nothing secret stored.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use trekmail_api::Deadline;

use crate::call::intents::{
    API_IDEMPOTENCY_WINDOW, Decision, Intent, IntentMemory, ProcessMemory, Undecided,
};
use crate::call::metrics::Metrics;
use crate::catalog::schema::IdempotencyKey;

/// Now, in unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Every key this server writes starts with this.
pub const KEY_PREFIX: &str = "trekmail-mcp";

/// The store's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct StateConfig {
    /// `TREKMAIL_STATE_URL`: `redis://` or `rediss://` (TLS), possibly with a password.
    pub url: String,
    /// `TREKMAIL_STATE_REQUIRED` (default true): refuse a write whose intent the store cannot
    /// decide; false falls back to the process's memory.
    pub required: bool,
    /// `TREKMAIL_STATE_CA_FILE`'s content (PEM): with `rediss://`, the only authorities the
    /// store's certificate is checked against; without it, the system's roots.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for StateConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("StateConfig")
            .field("url", &"<redacted>")
            .field("required", &self.required)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<PEM>"))
            .finish()
    }
}

impl StateConfig {
    /// The client for this store: over TLS trusting only `ca_pem` when it is set.
    pub(crate) fn client(&self) -> Result<redis::Client, StoreError> {
        let client = match &self.ca_pem {
            None => redis::Client::open(self.url.as_str()),
            Some(pem) => redis::Client::build_with_tls(
                self.url.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
        };
        // The URL is checked first (`config/state.rs`): with a CA file, what fails is the file.
        client.map_err(|_| {
            StoreError(if self.ca_pem.is_some() {
                "TREKMAIL_STATE_CA_FILE holds a certificate that cannot be parsed".into()
            } else {
                "TREKMAIL_STATE_URL is not a valid URL".into()
            })
        })
    }
}

/// The one connection to the store, made on first use and re-made after a failure; every
/// command ends by the deadline of the call it serves ([`Store::run`]), and every failure is
/// counted in the process's metrics by [`Operation`] and [`Failure`].
pub struct Store {
    client: redis::Client,
    conn: OnceLock<ConnectionManager>,
    deadline: Duration,
    metrics: Arc<Metrics>,
}

/// What a store command was for (the `operation` label of `trekmail_mcp_state_errors_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Deciding a write's intent.
    Intent,
    /// Counting a call's recipients against `TREKMAIL_SEND_RATE`.
    SendRate,
    /// Giving recipients back to the send rate after the API turned the call down.
    SendRateGiveBack,
    /// Marking an input-required approval used.
    Approval,
}

impl Operation {
    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Intent => "intent",
            Self::SendRate => "send_rate",
            Self::SendRateGiveBack => "send_rate_give_back",
            Self::Approval => "approval",
        }
    }
}

/// How a store command failed (the `kind` label of `trekmail_mcp_state_errors_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection: refused, dropped, or another I/O error.
    Unreachable,
    /// The TLS handshake failed (`rediss://`): most often the store's certificate is not
    /// trusted (see `TREKMAIL_STATE_CA_FILE`).
    Tls,
    /// No answer within the deadline.
    Timeout,
    /// The store answered with an error (out of memory under `noeviction`, authentication, …).
    Error,
}

impl Failure {
    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Tls => "tls",
            Self::Timeout => "timeout",
            Self::Error => "error",
        }
    }
}

/// The store could not answer within the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Store {
    /// A store for `config`, connecting and answering within `deadline` (the call deadline)
    /// whatever the call, its failures counted in `metrics`.
    pub fn new(
        config: &StateConfig,
        deadline: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Self, StoreError> {
        let client = config.client()?;
        Ok(Self {
            client,
            conn: OnceLock::new(),
            deadline,
            metrics,
        })
    }

    /// The longest a connection attempt or a command may take, whatever the call's deadline.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The connection (a cheap clone of one multiplexed, reconnecting connection). Call it
    /// inside the Tokio runtime.
    pub fn connection(&self) -> Result<ConnectionManager, StoreError> {
        if let Some(c) = self.conn.get() {
            return Ok(c.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.deadline))
            .set_response_timeout(Some(self.deadline))
            // Reconnection is retried by the next command, not in a loop of its own.
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let c = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|e| StoreError(format!("the state store cannot be set up: {}", what(&e).1)))?;
        Ok(self.conn.get_or_init(|| c).clone())
    }

    /// A key of this server: `trekmail-mcp:<kind>:{<caller>}:<id>` (the braces keep one
    /// caller's keys in one cluster slot). `caller` and `id` must be HMACs.
    pub fn key(kind: &str, caller: &str, id: &str) -> String {
        format!("{KEY_PREFIX}:{kind}:{{{caller}}}:{id}")
    }

    /// Runs `f` (a command for `op`) on the connection, ending by `deadline` (the deadline of
    /// the call it serves: what the command takes is taken from the call's API request); a
    /// failure is counted.
    pub async fn run<T, F, Fut>(
        &self,
        op: Operation,
        deadline: Deadline,
        f: F,
    ) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let answer = match self.connection() {
            Ok(conn) => match tokio::time::timeout_at(deadline.instant(), f(conn)).await {
                Ok(Ok(v)) => Ok(v),
                // The error's kind only: a message could carry the URL.
                Ok(Err(e)) => {
                    let (failure, words) = what(&e);
                    Err((
                        failure,
                        format!("the state store (TREKMAIL_STATE_URL) {words}"),
                    ))
                }
                Err(_) => Err((
                    Failure::Timeout,
                    format!(
                        "the state store (TREKMAIL_STATE_URL) did not answer within the call's deadline of {} ms (TREKMAIL_TIMEOUT_MS)",
                        deadline.length().as_millis()
                    ),
                )),
            },
            Err(e) => Err((Failure::Error, e.0)),
        };
        answer.map_err(|(failure, text)| {
            self.metrics.state_error(op.name(), failure.name());
            StoreError(text)
        })
    }
}

/// What went wrong, in words that never carry the URL (the error's own text may).
fn what(e: &redis::RedisError) -> (Failure, String) {
    if tls_failure(e) {
        (
            Failure::Tls,
            "refused the TLS handshake (is its certificate trusted? see TREKMAIL_STATE_CA_FILE)"
                .into(),
        )
    } else if e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error() {
        (Failure::Unreachable, "could not be reached".into())
    } else if e.is_timeout() {
        (Failure::Timeout, "did not answer in time".into())
    } else {
        (Failure::Error, format!("failed ({:?})", e.kind()))
    }
}

/// Whether `e` is rustls's: the redis crate keeps an I/O error's cause as an `Arc`.
fn tls_failure(e: &redis::RedisError) -> bool {
    use std::error::Error;
    e.source()
        .and_then(|s| s.downcast_ref::<Arc<dyn Error + Send + Sync>>())
        .and_then(|inner| inner.downcast_ref::<std::io::Error>())
        .and_then(std::io::Error::get_ref)
        .is_some_and(|cause| cause.is::<rustls::Error>())
}

/// The decision, atomic in the store: whatever replica runs it, concurrent calls to one target
/// are decided one after the other, by the same rules as [`ProcessMemory`].
/// KEYS[1]: the target's last write (hash: d = derived key, s = key sent, full = the used set is
/// full); KEYS[2]: the derived keys used for the target (set). ARGV: derived key, a fresh key,
/// TTL in seconds, the most used keys kept.
const DECIDE: &str = r"
local d = redis.call('HGET', KEYS[1], 'd')
local m = redis.call('HGET', KEYS[1], 'm')
local t = tonumber(redis.call('HGET', KEYS[1], 't') or '')
local w = tonumber(ARGV[7])
local sent
if d == ARGV[1] or (w > 0 and m == ARGV[5] and t and tonumber(ARGV[6]) - t < w) then
  sent = redis.call('HGET', KEYS[1], 's')
else
  if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 or redis.call('HGET', KEYS[1], 'full') == '1' then
    sent = ARGV[2]
  else
    sent = ARGV[1]
  end
  redis.call('HSET', KEYS[1], 'd', ARGV[1], 's', sent, 'm', ARGV[5], 't', ARGV[6])
  if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then
    redis.call('HSET', KEYS[1], 'full', '1')
  else
    redis.call('SADD', KEYS[2], ARGV[1])
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return sent
";

/// Derived keys remembered per target in the store.
const MAX_KEYS_PER_TARGET: u32 = 64;

/// The intent memory in the store, shared by every replica. Keys: HMACs of the caller and the
/// target; values: idempotency keys (hashes; secret arguments enter them only as HMACs); every
/// key expires [`API_IDEMPOTENCY_WINDOW`] after the target's last write.
pub struct SharedIntents {
    store: Arc<Store>,
    script: redis::Script,
    /// `Some` when `TREKMAIL_STATE_REQUIRED=false`: the memory used while the store fails.
    fallback: Option<ProcessMemory>,
    /// Logs the fallback once a minute.
    logged: OnceAMinute,
    /// The replica's clock.
    clock: Clock,
}

/// Says yes at most once a minute (per value): the fallback warnings of the intent memory, the
/// send rate and the approvals would otherwise flood the log while the store is down. The time
/// is the caller's (unix milliseconds), so a test can move it.
#[derive(Debug)]
pub struct OnceAMinute(AtomicU64);

/// [`OnceAMinute`]'s "never said yes".
const NEVER: u64 = u64::MAX;

impl Default for OnceAMinute {
    fn default() -> Self {
        Self(AtomicU64::new(NEVER))
    }
}

impl OnceAMinute {
    /// True at `now_ms` when a minute has passed since the last true (the first call included).
    pub fn due(&self, now_ms: u64) -> bool {
        let last = self.0.load(Ordering::Relaxed);
        (last == NEVER || now_ms.saturating_sub(last) >= 60_000)
            && self
                .0
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// The wall clock, in unix milliseconds: the system's, or one a test moves.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// A clock reading `now`.
    pub fn new(now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// Now, in unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        (self.0)()
    }
}

impl Default for Clock {
    /// The system's clock.
    fn default() -> Self {
        Self::new(now_ms)
    }
}

impl SharedIntents {
    /// The intent memory in `store`; `required` false falls back to the process's memory.
    pub fn new(store: Arc<Store>, required: bool) -> Self {
        Self {
            store,
            script: redis::Script::new(DECIDE),
            fallback: (!required).then(ProcessMemory::default),
            logged: OnceAMinute::default(),
            clock: Clock::default(),
        }
    }

    /// The same memory reading `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    async fn decide_in_store(
        &self,
        intent: &Intent,
        now_ms: u64,
        deadline: Deadline,
    ) -> Result<IdempotencyKey, StoreError> {
        let last = Store::key("intent", &intent.caller, &intent.target);
        let used = format!("{last}:used");
        let fresh = intent.fresh_key(&uuid::Uuid::new_v4().to_string());
        let ttl = API_IDEMPOTENCY_WINDOW.as_secs();
        // The replica's clock (`now_ms`): a retry across a window boundary is told by the time
        // since the target's last key was first sent (see `Intent::window`).
        let window_ms = intent
            .window
            .map_or(0, |w| u64::try_from(w.as_millis()).unwrap_or(u64::MAX));
        self.store
            .run(Operation::Intent, deadline, |mut conn| async move {
                self.script
                    .key(last)
                    .key(used)
                    .arg(intent.derived.as_str())
                    .arg(fresh.as_str())
                    .arg(ttl)
                    .arg(MAX_KEYS_PER_TARGET)
                    .arg(intent.same.as_str())
                    .arg(now_ms)
                    .arg(window_ms)
                    .invoke_async::<String>(&mut conn)
                    .await
            })
            .await
            .and_then(|sent| {
                // The store holds what this server wrote; anything else is not sent.
                IdempotencyKey::new(&sent).ok_or_else(|| {
                    StoreError(
                        "the state store (TREKMAIL_STATE_URL) answered something that is not an idempotency key".into(),
                    )
                })
            })
    }

    fn log_fallback(&self, why: &StoreError, now_ms: u64) {
        if self.logged.due(now_ms) {
            tracing::warn!(reason = %why, "the state store fails: intents are decided in this process's memory (TREKMAIL_STATE_REQUIRED=false); logged at most once a minute");
        }
    }
}

impl IntentMemory for SharedIntents {
    fn decide<'a>(&'a self, intent: &'a Intent, deadline: Deadline) -> Decision<'a> {
        Box::pin(async move {
            let now_ms = self.clock.now_ms();
            match self.decide_in_store(intent, now_ms, deadline).await {
                Ok(k) => Ok(k),
                Err(e) => match &self.fallback {
                    Some(memory) => {
                        self.log_fallback(&e, now_ms);
                        Ok(memory.key(intent))
                    }
                    None => Err(Undecided(e.0)),
                },
            }
        })
    }

    fn forget(&self) {
        if let Some(m) = &self.fallback {
            m.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deadline no test step comes near.
    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    /// The log lines written while `f` runs on this thread.
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A store on a loopback port nothing listens on, not required: every decision falls back.
    fn failing_store(metrics: &Arc<Metrics>) -> Arc<Store> {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let config = StateConfig {
            url: format!("redis://{addr}"),
            required: false,
            ca_pem: None,
        };
        Arc::new(
            Store::new(&config, Duration::from_millis(300), Arc::clone(metrics)).expect("store"),
        )
    }

    /// `TREKMAIL_STATE_REQUIRED=false`: while the store fails, the intent memory's, the send
    /// rate's and the approvals' fallback warnings are each written once a minute, by the clock
    /// each is given, however many calls fall back; every failure is still counted in the
    /// metrics.
    #[tokio::test]
    async fn the_fallbacks_are_logged_at_most_once_a_minute() {
        use crate::call::approvals::{APPROVAL_TTL, Approvals, CallerSeal, StateKeys};
        use crate::call::intents::Scope;
        use crate::call::send_rate::{Budget, SendRate, SharedBudget};
        use crate::call::tokens::{Secret, Tokens};

        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Captured(Arc::clone(&sink)))
            .with_ansi(false)
            .finish();
        // This thread's only: the test's runtime runs every task on it.
        let _guard = tracing::subscriber::set_default(subscriber);
        let count = |what: &str| {
            String::from_utf8_lossy(
                &lines
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
            .matches(what)
            .count()
        };
        let intents_line = "intents are decided in this process's memory";
        let rate_line = "the send rate is counted in this process's memory";
        let approval_line = "approval replays are checked in this process only";

        let metrics = Arc::new(Metrics::default());
        let store = failing_store(&metrics);
        let now = Arc::new(AtomicU64::new(1_800_000_000_000));
        let clock = {
            let now = Arc::clone(&now);
            Clock::new(move || now.load(Ordering::Relaxed))
        };
        let intents = SharedIntents::new(Arc::clone(&store), false).with_clock(clock.clone());
        let approvals = Approvals::new(
            &StateKeys::random(),
            APPROVAL_TTL,
            Some(Arc::clone(&store)),
            true,
        )
        .expect("approvals")
        .with_clock(clock);
        let caller = CallerSeal::of(&Tokens {
            ops: Some(Secret::new("tm_live_clock0123456789")),
            message: None,
        });
        let call = serde_json::Map::new();
        let budget = SharedBudget::new(Arc::clone(&store), false);
        let rate = SendRate {
            limit: 1000,
            period: Duration::from_secs(3600),
        };
        let scope = Scope::for_token("tm_live_clock0123456789");
        let mut n = 0;
        // Each step: move the clock by `by` ms, make one intent decision and take one
        // recipient, then expect `logged` warnings of each in all.
        for (by, logged) in [
            (0, 1),
            (0, 1),
            (1_000, 1),
            (58_999, 1),
            (1, 2),
            (30_000, 2),
            (30_000, 3),
        ] {
            let at = now.fetch_add(by, Ordering::Relaxed) + by;
            n += 1;
            let intent = scope.intent(
                "set_forwarding",
                "mailbox/1",
                IdempotencyKey::derived(format!("key-{n}")),
            );
            assert!(intents.decide(&intent, soon()).await.is_ok(), "falls back");
            assert!(
                budget.take(&rate, 1, at, soon()).await.is_ok(),
                "falls back"
            );
            let sealed = approvals.seal("delete_domain", &call, &caller);
            let redeemed = approvals.redeem(&sealed, "delete_domain", &call, &caller, soon());
            assert!(redeemed.await.is_ok(), "falls back");
            assert_eq!(count(approval_line), logged, "after {n} calls at +{by} ms");
            assert_eq!(count(intents_line), logged, "after {n} calls at +{by} ms");
            assert_eq!(count(rate_line), logged, "after {n} calls at +{by} ms");
        }
        let exposition = metrics.render();
        for line in [
            "trekmail_mcp_state_errors_total{operation=\"intent\",kind=\"unreachable\"} 7\n",
            "trekmail_mcp_state_errors_total{operation=\"send_rate\",kind=\"unreachable\"} 7\n",
            "trekmail_mcp_state_errors_total{operation=\"approval\",kind=\"unreachable\"} 7\n",
        ] {
            assert!(exposition.contains(line), "{line} not in:\n{exposition}");
        }
    }

    #[test]
    fn once_a_minute_says_yes_first_then_after_sixty_seconds() {
        let gate = OnceAMinute::default();
        assert!(gate.due(0), "the first time, whatever the time");
        assert!(!gate.due(59_999));
        assert!(gate.due(60_000));
        assert!(!gate.due(1_000), "a clock stepping back does not open it");
        assert!(gate.due(120_000));
    }

    #[test]
    fn keys_carry_hmacs_under_one_prefix() {
        let k = Store::key("intent", "c0ffee", "beef");
        assert_eq!(k, "trekmail-mcp:intent:{c0ffee}:beef");
    }
}
