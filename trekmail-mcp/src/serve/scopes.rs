//! Only the tools the token can use: the scopes a token grants (from `whoami` for the ops token,
//! `GET /messages/_me` for the message token), checked against each tool's `capabilities`
//! (tools-map.toml), and, over HTTP with callers' tokens, a short-lived cache of them keyed by
//! an HMAC of the tokens (never the tokens).
//!
//! This decides what is *listed*; the API still enforces every scope on every request, so a
//! stale entry can only show a tool the API then refuses (or hide one for at most the TTL).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use trekmail_api::{Client, OperationArgs, OutcomeBody};

use trekmail_api::TokenKind;

use crate::call::tokens::TokenVariable as _;
use crate::catalog::map::Capabilities;

/// How every reason a tool is hidden by scopes starts.
pub const HIDDEN_PREFIX: &str = "the token (";

/// The operation that describes the ops token (`GET /me`).
pub const OPS_WHOAMI: &str = "whoami";
/// The operation that describes the message token (`GET /messages/_me`).
pub const MESSAGE_WHOAMI: &str = "get_message_token_info";

/// The scopes one token grants.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Granted(BTreeSet<String>);

impl Granted {
    /// From a list of scope names.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Self {
        Self(scopes.into_iter().map(Into::into).collect())
    }

    /// The scopes of a `whoami`-like answer: `capabilities.effective_scopes` (the token's
    /// scopes narrowed by the plan), else `scopes`, else `token.scopes`, inside `data` or at the
    /// top level. `None` when the answer names none (then nothing can be hidden).
    pub fn from_answer(answer: &Value) -> Option<Self> {
        let data = answer.get("data").unwrap_or(answer);
        [
            &data["capabilities"]["effective_scopes"],
            &data["scopes"],
            &data["token"]["scopes"],
        ]
        .into_iter()
        .find_map(Value::as_array)
        .map(|a| Self::new(a.iter().filter_map(Value::as_str)))
    }

    /// Whether `scope` is granted: named exactly, or covered by `*` or by a `prefix:*` (the
    /// sandbox's tokens grant `*`).
    pub fn has(&self, scope: &str) -> bool {
        self.0.contains(scope)
            || self.0.iter().any(|g| {
                g == "*"
                    || g.strip_suffix('*')
                        .is_some_and(|p| p.ends_with(':') && scope.starts_with(p))
            })
    }

    /// What `caps` needs that this token lacks, in words (`the scope a:b`, `one of the scopes
    /// a, b`), or `None` when it grants them.
    pub fn missing(&self, caps: &Capabilities) -> Option<String> {
        let mut lacks: Vec<String> = caps
            .all_of
            .iter()
            .filter(|s| !self.has(s))
            .map(|s| format!("the scope {s}"))
            .collect();
        if !caps.any_of.is_empty() && !caps.any_of.iter().any(|s| self.has(s)) {
            lacks.push(match caps.any_of.as_slice() {
                [one] => format!("the scope {one}"),
                many => format!("one of the scopes {}", many.join(", ")),
            });
        }
        (!lacks.is_empty()).then(|| lacks.join(" and "))
    }
}

/// What each token of one server grants; `None` where it is unknown (no such token, scope
/// awareness off, or the lookup failed): nothing is hidden for that token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    /// The ops token's.
    pub ops: Option<Granted>,
    /// The message token's.
    pub message: Option<Granted>,
}

impl Scopes {
    /// Why a tool needing `caps` with `token` is hidden, or `None` when it may be listed.
    pub fn hides(&self, token: TokenKind, caps: &Capabilities) -> Option<String> {
        let granted = match token {
            TokenKind::Ops => self.ops.as_ref(),
            TokenKind::Message => self.message.as_ref(),
        }?;
        let lacks = granted.missing(caps)?;
        let var = token.env_var();
        Some(format!(
            "{HIDDEN_PREFIX}{var}) lacks {lacks}; a token with it is needed (TREKMAIL_SCOPE_AWARE=false lists it anyway)"
        ))
    }

    /// Whether anything is known (something may be hidden).
    pub fn known(&self) -> bool {
        self.ops.is_some() || self.message.is_some()
    }
}

/// Asks the API what `client`'s token grants with `operation` (a GET with no argument).
/// `Err` says why not, in words without secrets.
pub async fn lookup(client: &Client, operation: &str) -> Result<Granted, String> {
    let outcome = client
        .call_operation(operation, &OperationArgs::default())
        .await
        .map_err(|e| format!("{operation} failed: {e}"))?;
    match &outcome.body {
        OutcomeBody::Json(v) => Granted::from_answer(v)
            .ok_or_else(|| format!("{operation} answered without a list of scopes")),
        _ => Err(format!("{operation} did not answer JSON")),
    }
}

/// Looks up every token present: the ops token with [`OPS_WHOAMI`], the message token with
/// [`MESSAGE_WHOAMI`], at once. Each failure is named; what succeeded is kept.
pub async fn lookup_all(ops: Option<&Client>, message: Option<&Client>) -> (Scopes, Vec<String>) {
    let ask = |c: Option<&Client>, op: &'static str| {
        let c = c.cloned();
        async move {
            match c {
                Some(c) => Some(lookup(&c, op).await),
                None => None,
            }
        }
    };
    let (o, m) = tokio::join!(ask(ops, OPS_WHOAMI), ask(message, MESSAGE_WHOAMI));
    let mut problems = Vec::new();
    let mut keep = |r: Option<Result<Granted, String>>| match r? {
        Ok(g) => Some(g),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let scopes = Scopes {
        ops: keep(o),
        message: keep(m),
    };
    (scopes, problems)
}

/// Says on stderr, once per lookup, what could not be learnt (every tool of that token stays
/// listed).
pub fn warn_unlearnt(problems: &[String]) {
    for p in problems {
        tracing::warn!(
            "the token's scopes could not be learnt, so every tool is listed (the API still refuses what the token lacks): {p}"
        );
    }
}

/// How long a caller's scopes are kept (HTTP, callers' tokens): one `whoami` per caller per
/// minute at most, and a scope granted or withdrawn shows in the listing within a minute. The
/// API enforces scopes on every call, so the cache decides only what is listed.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Callers kept at once; past it, expired entries go first, then the oldest.
pub const CACHE_MAX_ENTRIES: usize = 4096;

/// An HMAC of a caller's tokens.
type Key = [u8; 32];
/// Cached values by key, each with when it expires.
type Entries<V> = HashMap<Key, (Instant, Arc<V>)>;

/// Callers' scopes, keyed by an HMAC-SHA256 of their tokens under a key drawn at start-up:
/// neither a token nor anything that could be checked against a guessed token outside this
/// process is ever stored.
pub struct ScopeCache<V> {
    key: [u8; 32],
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<Entries<V>>,
}

impl<V> ScopeCache<V> {
    /// An empty cache with a fresh random key.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            key: crate::call::tokens::random_key(),
            ttl,
            max_entries: max_entries.max(1),
            entries: Mutex::default(),
        }
    }

    /// The key of a set of tokens (see [`crate::call::tokens::caller_hmac`]).
    pub fn key_of(&self, ops: Option<&str>, message: Option<&str>) -> [u8; 32] {
        crate::call::tokens::caller_hmac(&self.key, ops, message)
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value kept for `key` at `now`, if not expired.
    pub fn get(&self, key: &[u8; 32], now: Instant) -> Option<Arc<V>> {
        let mut entries = self.entries();
        match entries.get(key) {
            Some((expires, v)) if *expires > now => Some(Arc::clone(v)),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `value` for `key` until `now` + TTL.
    pub fn put(&self, key: [u8; 32], value: Arc<V>, now: Instant) {
        let mut entries = self.entries();
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, (expires, _)| *expires > now);
            if entries.len() >= self.max_entries
                && let Some(oldest) = entries.iter().min_by_key(|(_, (e, _))| *e).map(|(k, _)| *k)
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (now + self.ttl, value));
    }

    /// Entries held (expired ones included until touched).
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether any stored key contains `bytes` (tests: a token never is a key).
    pub fn any_key_contains(&self, bytes: &[u8]) -> bool {
        !bytes.is_empty()
            && self
                .entries()
                .keys()
                .any(|k| k.windows(bytes.len()).any(|w| w == bytes))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn caps(any: &[&str], all: &[&str]) -> Capabilities {
        Capabilities {
            any_of: any.iter().map(|s| (*s).to_owned()).collect(),
            all_of: all.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn any_of_needs_one_and_all_of_needs_every_one() {
        let g = Granted::new(["activity:read"]);
        assert_eq!(g.missing(&caps(&["activity:read"], &[])), None);
        assert_eq!(
            g.missing(&caps(&["activity:read"], &["members:read"]))
                .as_deref(),
            Some("the scope members:read")
        );
        assert_eq!(
            g.missing(&caps(&["drive:account:write", "drive:mailbox:write"], &[]))
                .as_deref(),
            Some("one of the scopes drive:account:write, drive:mailbox:write")
        );
        let both = Granted::new(["drive:mailbox:write"]);
        assert_eq!(
            both.missing(&caps(&["drive:account:write", "drive:mailbox:write"], &[])),
            None
        );
    }

    #[test]
    fn wildcards_grant_what_they_cover_only() {
        assert!(Granted::new(["*"]).has("billing:autopay"));
        let g = Granted::new(["drive:*"]);
        assert!(g.has("drive:account:write"));
        assert!(!g.has("domains:read"));
        assert!(!Granted::new(["drive*"]).has("drivex:read"));
    }

    #[test]
    fn scopes_are_read_from_each_answer_shape() {
        let whoami = json!({"data": {"capabilities": {"effective_scopes": ["a:b"]}, "token": {"scopes": ["x:y"]}}});
        assert_eq!(Granted::from_answer(&whoami), Some(Granted::new(["a:b"])));
        let me = json!({"data": {"scopes": ["messages:read"]}});
        assert_eq!(
            Granted::from_answer(&me),
            Some(Granted::new(["messages:read"]))
        );
        assert_eq!(Granted::from_answer(&json!({"data": {}})), None);
    }

    #[test]
    fn unknown_scopes_hide_nothing() {
        let s = Scopes::default();
        assert_eq!(s.hides(TokenKind::Ops, &caps(&["a:b"], &[])), None);
        let s = Scopes {
            ops: Some(Granted::new(["x:y"])),
            message: None,
        };
        assert!(
            s.hides(TokenKind::Ops, &caps(&["a:b"], &[]))
                .unwrap()
                .contains("TREKMAIL_API_TOKEN")
        );
        assert_eq!(s.hides(TokenKind::Message, &caps(&["a:b"], &[])), None);
    }

    #[test]
    fn the_cache_is_keyed_by_hmacs_never_by_tokens() {
        let cache: ScopeCache<u32> = ScopeCache::new(CACHE_TTL, 8);
        let token = "tm_live_0123456789abcdef";
        let k = cache.key_of(Some(token), None);
        cache.put(k, Arc::new(1), Instant::now());
        assert!(!cache.any_key_contains(token.as_bytes()));
        assert!(!cache.any_key_contains(&token.as_bytes()[..8]));
        // Same tokens, same key; another token, a kind swapped or a token added: another key.
        assert_eq!(k, cache.key_of(Some(token), None));
        assert_ne!(k, cache.key_of(Some("tm_live_0123456789abcdeg"), None));
        assert_ne!(k, cache.key_of(None, Some(token)));
        assert_ne!(k, cache.key_of(Some(token), Some("tm_msg_x")));
        // Another process (another key) cannot recognise the token from the key.
        let other: ScopeCache<u32> = ScopeCache::new(CACHE_TTL, 8);
        assert_ne!(k, other.key_of(Some(token), None));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache: ScopeCache<u32> = ScopeCache::new(Duration::from_secs(60), 8);
        let t0 = Instant::now();
        let k = cache.key_of(Some("tm_live_a"), None);
        cache.put(k, Arc::new(7), t0);
        assert_eq!(
            cache.get(&k, t0 + Duration::from_secs(59)).as_deref(),
            Some(&7)
        );
        assert_eq!(cache.get(&k, t0 + Duration::from_secs(60)), None);
        assert!(cache.is_empty(), "an expired entry is dropped when touched");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache: ScopeCache<u32> = ScopeCache::new(Duration::from_secs(60), 3);
        let t0 = Instant::now();
        for i in 0..10u32 {
            let k = cache.key_of(Some(&format!("tm_live_{i}")), None);
            cache.put(k, Arc::new(i), t0 + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(cache.len(), 3);
        let newest = cache.key_of(Some("tm_live_9"), None);
        assert_eq!(cache.get(&newest, t0).as_deref(), Some(&9));
        let oldest = cache.key_of(Some("tm_live_0"), None);
        assert_eq!(cache.get(&oldest, t0), None);
    }
}
