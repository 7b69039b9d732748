//! `TREKMAIL_SEND_RATE`: at most N recipients in any hour or day, over every call that mails
//! (`sends` in `tools-map.toml`: its `outbound_args`/`outbound_when` recipients and its
//! `unnamed_recipients`). The budget is the operator's: one per server deployment, whoever the
//! caller. It lives in the shared state store when `TREKMAIL_STATE_URL` is set (every replica
//! counts into it), in this process's memory otherwise. A call past it is refused with the time
//! the budget frees, before anything is sent; a call the API turns down (4xx) gives its
//! recipients back.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trekmail_api::Deadline;

use crate::call::state::{OnceAMinute, Operation, Store, StoreError, now_ms};
use crate::call::verdict::OutboundRule;
use crate::catalog::ToolDef;

/// The variable, named in every refusal.
pub const VAR: &str = OutboundRule::SendRate.var();

/// `N/h` or `N/d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendRate {
    /// Recipients allowed in any window.
    pub limit: u32,
    /// The window.
    pub period: Duration,
}

impl SendRate {
    /// Parses `50/h` or `500/d`; `Err` says what is expected.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!("{VAR} must be N/h or N/d (recipients per hour or per day, N >= 1), e.g. 50/h")
        };
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let limit: u32 = n.trim().parse().map_err(|_| bad())?;
        let period = match unit.trim() {
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            _ => return Err(bad()),
        };
        if limit == 0 {
            return Err(bad());
        }
        Ok(Self { limit, period })
    }

    /// `50 recipients per hour`.
    pub fn words(&self) -> String {
        let unit = if self.period.as_secs() == 3600 {
            "hour"
        } else {
            "day"
        };
        format!("{} recipients per {unit}", self.limit)
    }

    fn period_ms(&self) -> u64 {
        u64::try_from(self.period.as_millis()).unwrap_or(u64::MAX)
    }
}

/// What the budget said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Counted; the ticket gives the recipients back if the API turns the call down.
    Granted(String),
    /// Past the budget: it frees at this time (unix ms), or never for a call larger than the
    /// whole budget.
    Refused { used: u32, frees_at_ms: Option<u64> },
}

/// A boxed answer of a budget.
pub type Answer<'a> = Pin<Box<dyn Future<Output = Result<Taken, StoreError>> + Send + 'a>>;

/// Where the count lives.
pub trait Budget: Send + Sync {
    /// Counts `n` recipients at `now_ms` if they fit in `rate`, by `deadline` (the call's).
    fn take<'a>(
        &'a self,
        rate: &'a SendRate,
        n: u32,
        now_ms: u64,
        deadline: Deadline,
    ) -> Answer<'a>;
    /// Gives back what a ticket counted (the API turned the call down: nothing went out), by
    /// `deadline` (the call's; past it the recipients stay counted).
    fn give_back<'a>(
        &'a self,
        ticket: &'a str,
        deadline: Deadline,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// The budget in this process's memory: every call of the last window, oldest first.
#[derive(Default)]
pub struct ProcessBudget {
    sent: Mutex<VecDeque<(u64, u32, String)>>,
}

impl ProcessBudget {
    /// The decision, at once.
    pub fn decide(&self, rate: &SendRate, n: u32, now_ms: u64, ticket: String) -> Taken {
        let Ok(mut sent) = self.sent.lock() else {
            return Taken::Refused {
                used: 0,
                frees_at_ms: None,
            };
        };
        let period = rate.period_ms();
        while sent
            .front()
            .is_some_and(|(t, _, _)| t.saturating_add(period) <= now_ms)
        {
            sent.pop_front();
        }
        let used: u32 = sent.iter().map(|(_, k, _)| *k).sum();
        if used.saturating_add(n) <= rate.limit {
            sent.push_back((now_ms, n, ticket.clone()));
            return Taken::Granted(ticket);
        }
        Taken::Refused {
            used,
            frees_at_ms: frees_at(sent.iter().map(|(t, k, _)| (*t, *k)), used, n, rate),
        }
    }
}

/// When enough of the oldest calls leave the window for `n` more to fit, or `None` when `n`
/// alone is larger than the budget.
fn frees_at(
    oldest_first: impl Iterator<Item = (u64, u32)>,
    used: u32,
    n: u32,
    rate: &SendRate,
) -> Option<u64> {
    if n > rate.limit {
        return None;
    }
    let excess = used.saturating_add(n) - rate.limit;
    let mut freed = 0u32;
    for (t, k) in oldest_first {
        freed = freed.saturating_add(k);
        if freed >= excess {
            return Some(t.saturating_add(rate.period_ms()));
        }
    }
    None
}

impl Budget for ProcessBudget {
    fn take<'a>(&'a self, rate: &'a SendRate, n: u32, now_ms: u64, _: Deadline) -> Answer<'a> {
        let t = self.decide(rate, n, now_ms, uuid::Uuid::new_v4().to_string());
        Box::pin(std::future::ready(Ok(t)))
    }

    fn give_back<'a>(
        &'a self,
        ticket: &'a str,
        _: Deadline,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        if let Ok(mut sent) = self.sent.lock() {
            sent.retain(|(_, _, t)| t != ticket);
        }
        Box::pin(std::future::ready(()))
    }
}

/// The decision, atomic in the store, by the same rules as [`ProcessBudget`]. KEYS[1]: a
/// sorted set of the window's calls (score: unix ms; member: `<n>:<ticket>`). ARGV: now (ms),
/// window (ms), limit, n, ticket. Returns {1, used} when counted, {0, used, frees_at or -1}.
const TAKE: &str = r"
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local n = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
local calls = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local used = 0
for i = 1, #calls, 2 do
  used = used + tonumber(string.match(calls[i], '^(%d+):'))
end
if used + n <= limit then
  redis.call('ZADD', KEYS[1], now, n .. ':' .. ARGV[5])
  redis.call('PEXPIRE', KEYS[1], period)
  return {1, used}
end
if n > limit then
  return {0, used, -1}
end
local excess = used + n - limit
local freed = 0
for i = 1, #calls, 2 do
  freed = freed + tonumber(string.match(calls[i], '^(%d+):'))
  if freed >= excess then
    return {0, used, tonumber(calls[i + 1]) + period}
  end
end
return {0, used, -1}
";

/// The budget in the shared store, one for the deployment (every replica, every caller). Its
/// key holds no secret: `trekmail-mcp:send-rate:{deployment}:recipients`, expiring a window
/// after the last call.
pub struct SharedBudget {
    store: Arc<Store>,
    script: redis::Script,
    /// `Some` when `TREKMAIL_STATE_REQUIRED=false`: the budget used while the store fails.
    fallback: Option<ProcessBudget>,
    /// Logs the fallback once a minute.
    logged: OnceAMinute,
}

impl SharedBudget {
    /// The budget in `store`; `required` false falls back to the process's memory.
    pub fn new(store: Arc<Store>, required: bool) -> Self {
        Self {
            store,
            script: redis::Script::new(TAKE),
            fallback: (!required).then(ProcessBudget::default),
            logged: OnceAMinute::default(),
        }
    }

    fn key() -> String {
        Store::key("send-rate", "deployment", "recipients")
    }

    async fn take_in_store(
        &self,
        rate: &SendRate,
        n: u32,
        now_ms: u64,
        ticket: &str,
        deadline: Deadline,
    ) -> Result<Taken, StoreError> {
        let answer: Vec<i64> = self
            .store
            .run(Operation::SendRate, deadline, |mut conn| async move {
                self.script
                    .key(Self::key())
                    .arg(now_ms)
                    .arg(rate.period_ms())
                    .arg(rate.limit)
                    .arg(n)
                    .arg(ticket)
                    .invoke_async::<Vec<i64>>(&mut conn)
                    .await
            })
            .await?;
        let used = |i: usize| {
            answer
                .get(i)
                .and_then(|u| u32::try_from(*u).ok())
                .unwrap_or(0)
        };
        Ok(match answer.first() {
            Some(1) => Taken::Granted(format!("{n}:{ticket}")),
            _ => Taken::Refused {
                used: used(1),
                frees_at_ms: answer.get(2).and_then(|t| u64::try_from(*t).ok()),
            },
        })
    }

    fn log_fallback(&self, why: &StoreError, now_ms: u64) {
        if self.logged.due(now_ms) {
            tracing::warn!(reason = %why, "the state store fails: the send rate is counted in this process's memory (TREKMAIL_STATE_REQUIRED=false); logged at most once a minute");
        }
    }
}

impl Budget for SharedBudget {
    fn take<'a>(
        &'a self,
        rate: &'a SendRate,
        n: u32,
        now_ms: u64,
        deadline: Deadline,
    ) -> Answer<'a> {
        Box::pin(async move {
            let ticket = uuid::Uuid::new_v4().to_string();
            match self.take_in_store(rate, n, now_ms, &ticket, deadline).await {
                Ok(t) => Ok(t),
                Err(e) => match &self.fallback {
                    Some(budget) => {
                        self.log_fallback(&e, now_ms);
                        Ok(budget.decide(rate, n, now_ms, ticket))
                    }
                    None => Err(e),
                },
            }
        })
    }

    fn give_back<'a>(
        &'a self,
        ticket: &'a str,
        deadline: Deadline,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let member = ticket.to_owned();
            let removed = self
                .store
                .run(
                    Operation::SendRateGiveBack,
                    deadline,
                    |mut conn| async move {
                        redis::cmd("ZREM")
                            .arg(Self::key())
                            .arg(member)
                            .query_async::<i64>(&mut conn)
                            .await
                    },
                )
                .await;
            if let Some(f) = &self.fallback {
                // A ticket the fallback counted: "<uuid>"; the store's: "<n>:<uuid>".
                let plain = ticket.split_once(':').map_or(ticket, |(_, t)| t);
                f.give_back(plain, deadline).await;
            }
            if let Err(e) = removed {
                tracing::warn!(reason = %e, "recipients of a call the API turned down could not be given back to the send rate");
            }
        })
    }
}

/// The rate and where it is counted.
pub struct SendRateLimit {
    /// The operator's rate.
    pub rate: SendRate,
    /// Where the count lives.
    pub budget: Arc<dyn Budget>,
}

impl SendRateLimit {
    /// Counts a call's `n` recipients ([`crate::call::outbound::recipient_count`]): `Ok(None)`
    /// when it mails nobody, `Ok(Some(ticket))` when counted, `Err(refusal)` when past the
    /// budget or when the store cannot count it by `deadline` (the call's).
    pub async fn take(
        &self,
        def: &ToolDef,
        n: u32,
        deadline: Deadline,
    ) -> Result<Option<String>, String> {
        if n == 0 {
            return Ok(None);
        }
        let now = now_ms();
        let name = &def.entry.name;
        let rate = self.rate.words();
        match self.budget.take(&self.rate, n, now, deadline).await {
            Ok(Taken::Granted(t)) => Ok(Some(t)),
            Ok(Taken::Refused {
                frees_at_ms: None, ..
            }) => Err(format!(
                "{name} refused by the operator's outbound policy ({VAR}: {rate}): it mails {n} recipients, more than the whole budget. Nothing was sent; send to fewer recipients per call."
            )),
            Ok(Taken::Refused {
                used,
                frees_at_ms: Some(at),
            }) => Err(format!(
                "{name} refused by the operator's outbound policy ({VAR}: {rate}): {used} already counted, {n} more would pass it. Nothing was sent; the budget frees enough at {} (in {}).",
                utc(at),
                wait(at.saturating_sub(now))
            )),
            Err(e) => Err(format!(
                "{name} was not sent: {e}, so its recipients cannot be counted against {VAR}. Nothing was sent; this is temporary, retry the same call shortly."
            )),
        }
    }
}

/// `2026-12-06T16:42:10Z` for unix milliseconds (rounded up to the second).
pub fn utc(ms: u64) -> String {
    trekmail_api::utc::utc_seconds(ms.div_ceil(1000))
}

/// `40 s`, `60 min` (up to an hour and a half), `2 h 5 min`, `23 h`.
fn wait(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    let min = s.div_ceil(60);
    match (s, min % 60) {
        (0..60, _) => format!("{s} s"),
        _ if min <= 90 => format!("{min} min"),
        (_, 0) => format!("{} h", min / 60),
        (_, m) => format!("{} h {m} min", min / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_as_documented() {
        assert_eq!(
            SendRate::parse("50/h"),
            Ok(SendRate {
                limit: 50,
                period: Duration::from_secs(3600)
            })
        );
        assert_eq!(
            SendRate::parse(" 500 / d ").map(|r| r.words()),
            Ok("500 recipients per day".into())
        );
        for bad in [
            "",
            "50",
            "0/h",
            "-1/h",
            "50/m",
            "50/hour",
            "x/h",
            "99999999999/h",
        ] {
            assert!(SendRate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_window_slides_and_the_refusal_names_when_it_frees() {
        let rate = SendRate::parse("5/h").unwrap_or_else(|e| panic!("{e}"));
        let b = ProcessBudget::default();
        let t = |n, at| b.decide(&rate, n, at, format!("t{at}"));
        let h = 3_600_000;
        assert!(matches!(t(2, 1_000), Taken::Granted(_)));
        assert!(matches!(t(3, 2_000), Taken::Granted(_)));
        // 5 used: one more frees when the first call (2) leaves the window.
        assert_eq!(
            t(1, 3_000),
            Taken::Refused {
                used: 5,
                frees_at_ms: Some(1_000 + h)
            }
        );
        // 3 more need both calls gone.
        assert_eq!(
            t(3, 3_000),
            Taken::Refused {
                used: 5,
                frees_at_ms: Some(2_000 + h)
            }
        );
        // Larger than the whole budget: never.
        assert_eq!(
            t(6, 3_000),
            Taken::Refused {
                used: 5,
                frees_at_ms: None
            }
        );
        // An hour after the first call, its 2 recipients are free again.
        assert!(matches!(t(2, 1_000 + h), Taken::Granted(_)));
        // A call given back frees its recipients at once.
        b.give_back_now("t2000");
        assert!(matches!(t(3, 1_001 + h), Taken::Granted(_)));
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_796_560_930_001), "2026-12-06T12:42:11Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(wait(40_000), "40 s");
        assert_eq!(wait(23 * 60_000), "23 min");
        assert_eq!(wait(3_600_000), "60 min");
        assert_eq!(wait(2 * 3_600_000 + 5 * 60_000), "2 h 5 min");
        assert_eq!(wait(23 * 3_600_000 - 1), "23 h");
    }

    impl ProcessBudget {
        fn give_back_now(&self, ticket: &str) {
            if let Ok(mut sent) = self.sent.lock() {
                sent.retain(|(_, _, t)| t != ticket);
            }
        }
    }
}
