//! Intent memory: tells a retry from a new intent, per caller.
//!
//! A write repeats the last write to its target (same tool, same path arguments) and gets that
//! write's key, or it is new; a new write whose derived key was already sent to that target (A,
//! B, then A again) gets a fresh key, so the API does not replay an old answer. The memory is
//! kept per caller ([`Scope`]: an HMAC of the caller's token, never the token) behind the
//! [`IntentMemory`] trait: [`ProcessMemory`] in this process, or a shared store
//! ([`crate::call::state`], Redis) for many replicas.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use trekmail_api::Deadline;

use crate::catalog::schema::IdempotencyKey;

/// How long the API keeps a key's answer, assumed: the reference does not say, and 24 hours is
/// the common practice of idempotency caches. The memory keeps a target's last write this long
/// after its last use: forgetting it sooner could let the API replay an old answer to a new
/// intent; keeping it longer only costs room.
pub const API_IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Whose memory a write belongs to: keyed by an HMAC of the caller's token, so the memory (and
/// the store) holds no token, and two callers never share a memory.
#[derive(Clone)]
pub struct Scope([u8; 32]);

impl Scope {
    /// The scope of a token: HMAC-SHA256 keyed by the token, the same in every replica.
    pub fn for_token(token: &str) -> Self {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
            return Self::random();
        };
        mac.update(b"trekmail-mcp intent memory: caller v1");
        Self(mac.finalize().into_bytes().into())
    }

    /// A scope nobody else has (a token that is not configured: its tools cannot be called).
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        k[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        k[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self(k)
    }

    fn mac(&self, what: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(what.as_bytes());
        hex(&mac.finalize().into_bytes()[..16])
    }

    /// The intent of a write with key `derived` to `target` (see [`crate::call::idempotency::target`]):
    /// the target enters only as an HMAC under this scope.
    pub fn intent(&self, tool: &str, target: &str, derived: IdempotencyKey) -> Intent {
        Intent {
            caller: self.mac("caller"),
            target: self.mac(&format!("target:{target}")),
            tool: tool.to_owned(),
            same: derived.clone(),
            window: None,
            derived,
        }
    }
}

/// One write to decide: who, which target, and the key derived from its arguments.
#[derive(Debug, Clone)]
pub struct Intent {
    /// The caller's id: an HMAC, 32 hex digits.
    pub caller: String,
    /// The target's id under the caller's scope: an HMAC, 32 hex digits.
    pub target: String,
    /// The tool (names the fresh key: `mcp_<tool>_…`).
    pub tool: String,
    /// The key derived from the arguments.
    pub derived: IdempotencyKey,
    /// The key derived from the arguments without the window's `_t`: equal to `derived` for a
    /// tool without a window.
    pub same: IdempotencyKey,
    /// The tool's window: a repeat of the same arguments within it, nothing different in between,
    /// is a retry even when `_t` has moved on (a retry across a window boundary must not write
    /// twice); after it, a new intent.
    pub window: Option<Duration>,
}

impl Intent {
    /// This intent for a tool whose key changes every `window`: `same` is its key derived
    /// without the window.
    pub fn windowed(self, same: IdempotencyKey, window: Duration) -> Self {
        Self {
            same,
            window: Some(window),
            ..self
        }
    }

    /// Whether a write that sent its key `since` ago is repeated by this one: the same
    /// arguments, within the window.
    fn repeats_within_window(&self, same: &IdempotencyKey, since: Duration) -> bool {
        self.window.is_some_and(|w| self.same == *same && since < w)
    }

    /// A fresh key for a new intent whose derived key this target already used: chained to
    /// `after` (the key sent before it, or anything unique), so it is new.
    pub fn fresh_key(&self, after: &str) -> IdempotencyKey {
        let h = Sha256::digest(format!("{}>{after}", self.derived).as_bytes());
        IdempotencyKey::derived(format!("mcp_{}_{}", self.tool, &hex(&h)[..32]))
    }
}

/// A write whose intent could not be decided (the shared store unreachable or slow): nothing
/// may be sent for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided(pub String);

/// A boxed decision.
pub type Decision<'a> =
    Pin<Box<dyn Future<Output = Result<IdempotencyKey, Undecided>> + Send + 'a>>;

/// Where the memory lives.
pub trait IntentMemory: Send + Sync {
    /// The key to send for `intent`: the last write's key for a retry, the derived key or a
    /// fresh one for a new intent; decided by `deadline` (the call's) or undecided.
    fn decide<'a>(&'a self, intent: &'a Intent, deadline: Deadline) -> Decision<'a>;

    /// Forgets every write this process can forget (as a restart would).
    fn forget(&self);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a target's writes were.
struct Last {
    /// The derived key of the last write.
    derived: IdempotencyKey,
    /// The key it was sent with.
    sent: IdempotencyKey,
    /// The windowless key of the last write, and when its key was first sent.
    same: IdempotencyKey,
    sent_at: Instant,
    /// Fingerprints of the derived keys already sent to this target (bounded; `saturated` once
    /// full, and then every new intent gets a fresh key). A fingerprint collision only makes a
    /// new intent's key fresh, which is always safe.
    used: HashSet<u64>,
    saturated: bool,
    /// For evicting the stalest target first.
    seq: u64,
    touched: Instant,
}

/// One caller's targets.
#[derive(Default)]
struct Targets {
    map: HashMap<String, Last>,
    seq: u64,
}

/// Targets remembered per caller, derived keys per target, and targets in all.
pub const MAX_TARGETS_PER_CALLER: usize = 1024;
const MAX_KEYS_PER_TARGET: usize = 64;
/// At most about 1.3 KB each: the whole memory stays under about 20 MB.
pub const MAX_TARGETS: usize = 16_384;

#[derive(Default)]
struct Callers {
    by_caller: HashMap<String, Targets>,
    /// Targets in all callers.
    entries: usize,
    seq: u64,
}

/// The memory of this process: per caller, least recently used first out, each target
/// forgotten [`API_IDEMPOTENCY_WINDOW`] after its last write.
pub struct ProcessMemory {
    callers: Mutex<Callers>,
    ttl: Duration,
}

impl Default for ProcessMemory {
    fn default() -> Self {
        Self::with_ttl(API_IDEMPOTENCY_WINDOW)
    }
}

fn fingerprint(key: &IdempotencyKey) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl ProcessMemory {
    /// A memory that forgets a target `ttl` after its last write.
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            callers: Mutex::new(Callers::default()),
            ttl,
        }
    }

    /// The decision, at once.
    pub fn key(&self, intent: &Intent) -> IdempotencyKey {
        let Ok(mut guard) = self.callers.lock() else {
            // A poisoned lock: fall back to the derived key (the behaviour without memory).
            return intent.derived.clone();
        };
        let c = &mut *guard;
        c.seq += 1;
        let seq = c.seq;
        let now = Instant::now();
        let derived = &intent.derived;
        let targets = c.by_caller.entry(intent.caller.clone()).or_default();
        targets.seq = seq;
        if targets
            .map
            .get(&intent.target)
            .is_some_and(|l| now.duration_since(l.touched) > self.ttl)
        {
            targets.map.remove(&intent.target);
            c.entries -= 1;
        }
        if let Some(last) = targets.map.get_mut(&intent.target) {
            last.seq = seq;
            last.touched = now;
            // The same write again, nothing different in between: a retry.
            if last.derived == *derived
                || intent.repeats_within_window(&last.same, now.duration_since(last.sent_at))
            {
                return last.sent.clone();
            }
            let fp = fingerprint(derived);
            // A new intent whose key this target already used: chain it to the last write.
            let sent = if last.saturated || last.used.contains(&fp) {
                intent.fresh_key(last.sent.as_str())
            } else {
                derived.clone()
            };
            if last.used.len() >= MAX_KEYS_PER_TARGET {
                last.saturated = true;
            } else {
                last.used.insert(fp);
            }
            last.derived.clone_from(derived);
            last.sent.clone_from(&sent);
            last.same.clone_from(&intent.same);
            last.sent_at = now;
            return sent;
        }
        if targets.map.len() >= MAX_TARGETS_PER_CALLER
            && let Some(stalest) = targets
                .map
                .iter()
                .min_by_key(|(_, l)| l.seq)
                .map(|(k, _)| k.clone())
        {
            targets.map.remove(&stalest);
            c.entries -= 1;
        }
        targets.map.insert(
            intent.target.clone(),
            Last {
                used: HashSet::from([fingerprint(derived)]),
                derived: derived.clone(),
                sent: derived.clone(),
                same: intent.same.clone(),
                sent_at: now,
                saturated: false,
                seq,
                touched: now,
            },
        );
        c.entries += 1;
        // Over the bound: the least recently active callers go first, whole.
        while c.entries > MAX_TARGETS {
            let Some(stalest) = c
                .by_caller
                .iter()
                .filter(|(k, _)| **k != intent.caller)
                .min_by_key(|(_, t)| t.seq)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(t) = c.by_caller.remove(&stalest) {
                c.entries -= t.map.len();
            }
        }
        derived.clone()
    }

    /// The ids the memory is keyed by (callers, then their targets): HMACs only.
    pub fn ids(&self) -> Vec<String> {
        let Ok(c) = self.callers.lock() else {
            return Vec::new();
        };
        c.by_caller
            .iter()
            .flat_map(|(caller, t)| std::iter::once(caller.clone()).chain(t.map.keys().cloned()))
            .collect()
    }

    /// Targets remembered in all.
    pub fn len(&self) -> usize {
        self.callers.lock().map(|c| c.entries).unwrap_or(0)
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl IntentMemory for ProcessMemory {
    fn decide<'a>(&'a self, intent: &'a Intent, _: Deadline) -> Decision<'a> {
        let key = self.key(intent);
        Box::pin(std::future::ready(Ok(key)))
    }

    fn forget(&self) {
        if let Ok(mut c) = self.callers.lock() {
            *c = Callers::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> IdempotencyKey {
        IdempotencyKey::new(text).unwrap_or_else(|| panic!("{text:?} is no key"))
    }

    fn decide(m: &ProcessMemory, s: &Scope, target: &str, derived: &str) -> String {
        m.key(&s.intent("set_forwarding", target, key(derived)))
            .as_str()
            .to_owned()
    }

    #[test]
    fn a_retry_keeps_its_key_and_a_new_intent_never_reuses_one() {
        let m = ProcessMemory::default();
        let s = Scope::for_token("tm_live_a");
        let k = |t: &str, d: &str| decide(&m, &s, t, d);
        let a1 = k("m1", "mcp_set_forwarding_a");
        assert_eq!(a1, "mcp_set_forwarding_a");
        assert_eq!(k("m1", "mcp_set_forwarding_a"), a1, "A then A is a retry");
        let b = k("m1", "mcp_set_forwarding_b");
        assert_eq!(b, "mcp_set_forwarding_b", "a first B keeps its derived key");
        let a2 = k("m1", "mcp_set_forwarding_a");
        assert_ne!(a2, a1, "A, B, A: the third is a new intent");
        assert!(
            a2.starts_with("mcp_set_forwarding_") && a2.len() == "mcp_set_forwarding_".len() + 32
        );
        assert_eq!(
            k("m1", "mcp_set_forwarding_a"),
            a2,
            "and its retry keeps its key"
        );
        // Another target is independent.
        assert_eq!(k("m2", "mcp_set_forwarding_a"), "mcp_set_forwarding_a");
        m.forget();
        assert_eq!(k("m1", "mcp_set_forwarding_a"), a1);
    }

    #[test]
    fn callers_do_not_share_and_their_ids_hold_no_token() {
        let m = ProcessMemory::default();
        let (a, b) = (
            Scope::for_token("tm_live_alice0123456789"),
            Scope::for_token("tm_live_bob0123456789"),
        );
        decide(&m, &a, "m1", "mcp_set_forwarding_a");
        decide(&m, &a, "m1", "mcp_set_forwarding_b");
        // Bob's first A is his first: the derived key.
        assert_eq!(
            decide(&m, &b, "m1", "mcp_set_forwarding_a"),
            "mcp_set_forwarding_a"
        );
        assert_ne!(
            decide(&m, &a, "m1", "mcp_set_forwarding_a"),
            "mcp_set_forwarding_a"
        );
        let ids = m.ids();
        assert_eq!(ids.len(), 4, "{ids:?}");
        assert!(
            ids.iter()
                .all(|i| i.len() == 32 && !i.contains("0123456789") && !i.contains("m1")),
            "{ids:?}"
        );
        // The same token gives the same scope (another replica, a restart).
        assert_eq!(
            Scope::for_token("tm_live_alice0123456789")
                .intent("t", "m1", key("k"))
                .caller,
            a.intent("t", "m1", key("k")).caller
        );
    }

    #[test]
    fn a_retry_across_a_window_boundary_keeps_its_key_and_a_repeat_after_the_window_is_new() {
        let m = ProcessMemory::default();
        let s = Scope::for_token("tm_live_a");
        let window = Duration::from_millis(80);
        // `_t` moved on between the call and its retry: the derived keys differ.
        let k = |derived: &str, same: &str| {
            m.key(
                &s.intent("dns_recheck", "d1", key(derived))
                    .windowed(key(same), window),
            )
            .as_str()
            .to_owned()
        };
        let first = k("mcp_dns_recheck_t1", "mcp_dns_recheck_x");
        assert_eq!(first, "mcp_dns_recheck_t1");
        assert_eq!(
            k("mcp_dns_recheck_t2", "mcp_dns_recheck_x"),
            first,
            "a retry"
        );
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(
            k("mcp_dns_recheck_t3", "mcp_dns_recheck_x"),
            "mcp_dns_recheck_t3",
            "a repeat after the window is a new intent"
        );
        // Other arguments within the window are a new intent too.
        assert_eq!(
            k("mcp_dns_recheck_t3y", "mcp_dns_recheck_y"),
            "mcp_dns_recheck_t3y"
        );
    }

    #[test]
    fn a_target_is_forgotten_after_the_window() {
        let m = ProcessMemory::with_ttl(Duration::from_millis(30));
        let s = Scope::for_token("tm_live_a");
        decide(&m, &s, "m1", "mcp_set_forwarding_a");
        decide(&m, &s, "m1", "mcp_set_forwarding_b");
        std::thread::sleep(Duration::from_millis(60));
        // The API has forgotten A's key too: A is sent with it again.
        assert_eq!(
            decide(&m, &s, "m1", "mcp_set_forwarding_a"),
            "mcp_set_forwarding_a"
        );
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn the_memory_is_bounded_per_caller_and_in_all() {
        let m = ProcessMemory::default();
        let s = Scope::for_token("tm_live_a");
        for i in 0..MAX_TARGETS_PER_CALLER + 10 {
            decide(&m, &s, &format!("m{i}"), "mcp_set_forwarding_a");
        }
        assert_eq!(m.len(), MAX_TARGETS_PER_CALLER);
        // The stalest target went first; the most recent is still remembered.
        let last = format!("m{}", MAX_TARGETS_PER_CALLER + 9);
        decide(&m, &s, &last, "mcp_set_forwarding_b");
        assert_ne!(
            decide(&m, &s, &last, "mcp_set_forwarding_a"),
            "mcp_set_forwarding_a"
        );
        for c in 0..(MAX_TARGETS / MAX_TARGETS_PER_CALLER) + 3 {
            let s = Scope::for_token(&format!("tm_live_{c}"));
            for i in 0..MAX_TARGETS_PER_CALLER {
                decide(&m, &s, &format!("m{i}"), "mcp_set_forwarding_a");
            }
        }
        assert!(m.len() <= MAX_TARGETS, "{}", m.len());
    }
}
