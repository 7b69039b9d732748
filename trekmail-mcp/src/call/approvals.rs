//! The sealed approval of MCP 2026-07-28: with its question the server hands the client a
//! `requestState` sealed by rmcp's [`RequestStateCodec`] (HMAC-SHA256, key ring with rotation),
//! and checks it when the client calls again with the user's answer. Nothing is kept between
//! the two calls but the memory of approvals already used, so any replica holding the same
//! keys can take the answer.
//!
//! A state binds, as authenticated data never stored in it: the tool, the SHA-256 of its
//! canonical arguments ([`canonical_json`], as for idempotency keys) and the caller (a digest of the tokens
//! keyed by the tokens themselves). It carries a random id and expires after [`APPROVAL_TTL`].
//! Each id is accepted once: the memory of used ids is this process's, or the shared store's
//! (`TREKMAIL_STATE_URL`, a key per id with the state's lifetime as TTL).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use rmcp::model::{RequestStateCodec, RequestStateError, SealOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::call::state::{Clock, OnceAMinute, Operation, Store};
use crate::call::tokens::Tokens;
use crate::call::verdict::Rule;
use trekmail_api::Deadline;
use trekmail_api::canonical::canonical_json;

/// How long an approval question stays answerable: five minutes.
pub const APPROVAL_TTL: Duration = Duration::from_secs(300);

/// Used approvals remembered by one process at once (each for its state's lifetime); past it a
/// new approval is refused until older ones expire, so memory stays bounded.
pub const MAX_REMEMBERED: usize = 65_536;

/// The sealing keys (`TREKMAIL_STATE_KEY_FILE`): the first seals, every one opens. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct StateKeys {
    keys: Vec<Vec<u8>>,
    /// Whether the keys came from a file (shared by replicas) or were drawn at start.
    shared: bool,
}

impl std::fmt::Debug for StateKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateKeys(<{} redacted>)", self.keys.len())
    }
}

impl StateKeys {
    /// Shortest key accepted, in bytes.
    pub const MIN_KEY_BYTES: usize = RequestStateCodec::MIN_KEY_LENGTH;
    /// Most keys in a file.
    pub const MAX_KEYS: usize = 8;

    /// The keys of a key file: one key a line (its bytes as written, surrounding blanks
    /// trimmed, at least [`Self::MIN_KEY_BYTES`]), the first sealing, the others only opening
    /// (the previous keys during a rotation); blank lines and lines starting with `#` are
    /// skipped. A problem names the line, never its content.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.len() < Self::MIN_KEY_BYTES {
                return Err(format!(
                    "line {} holds a key shorter than {} bytes (make one with: openssl rand -hex 32)",
                    n + 1,
                    Self::MIN_KEY_BYTES
                ));
            }
            if keys.iter().any(|k| k == line.as_bytes()) {
                return Err(format!("line {} repeats a key", n + 1));
            }
            keys.push(line.as_bytes().to_vec());
        }
        if keys.is_empty() {
            return Err("holds no key (one key a line, the current one first)".into());
        }
        if keys.len() > Self::MAX_KEYS {
            return Err(format!("holds more than {} keys", Self::MAX_KEYS));
        }
        Ok(Self { keys, shared: true })
    }

    /// A random key for this process only.
    pub fn random() -> Self {
        let mut k = Vec::with_capacity(32);
        k.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        k.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self {
            keys: vec![k],
            shared: false,
        }
    }

    /// Whether the keys came from `TREKMAIL_STATE_KEY_FILE`.
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// The codec: rs2 states named by a key id derived from each key (no name to configure).
    fn codec(&self) -> Result<RequestStateCodec, String> {
        let ring: Vec<(String, Vec<u8>)> =
            self.keys.iter().map(|k| (key_id(k), k.clone())).collect();
        let active = ring.first().map(|(id, _)| id.clone()).unwrap_or_default();
        RequestStateCodec::new_with_keyring(active, ring)
            .map_err(|e| format!("the state keys cannot be used: {e}"))
    }
}

/// A key's id in the states it seals: 8 bytes of a labelled SHA-256 of the key, in hex.
fn key_id(key: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(b"trekmail-mcp state key id v1\0");
    h.update(key);
    hex(&h.finalize()[..8])
}

/// Who calls: a digest of the caller's tokens, keyed by the tokens themselves (only who holds a
/// token can compute it), the same on every replica.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CallerSeal([u8; 32]);

impl CallerSeal {
    /// The seal of `tokens`.
    pub fn of(tokens: &Tokens) -> Self {
        let mut h = Sha256::new();
        h.update(b"trekmail-mcp approval caller v1\0");
        for t in [&tokens.ops, &tokens.message] {
            match t {
                Some(t) => {
                    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(t.expose().as_bytes()) else {
                        continue;
                    };
                    mac.update(b"trekmail-mcp approval caller v1");
                    h.update([1]);
                    h.update(mac.finalize().into_bytes());
                }
                None => h.update([0]),
            }
        }
        Self(h.finalize().into())
    }
}

/// The sealed part: an id, nothing else (the binding is authenticated, not stored).
#[derive(Serialize, Deserialize)]
struct Sealed {
    id: String,
}

/// Why a presented approval is not accepted. The agent reads [`Rejected::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// Not sealed by our keys, changed, or sealed for another tool, other arguments or another
    /// caller: these are one answer, so no attempt learns which.
    Invalid,
    /// Authentic but past its lifetime.
    Expired,
    /// Authentic, but already used once.
    Replayed,
    /// The memory of used approvals cannot answer (the store failed, or the process memory is
    /// full): refused, since a replay could not be told.
    Unchecked(String),
}

impl Rejected {
    /// The refusal the agent reads, for `tool`; `shared` says whether replicas share the key.
    pub fn message(&self, tool: &str, shared: bool) -> String {
        match self {
            Self::Invalid => {
                let replicas = if shared {
                    ""
                } else {
                    " (this server seals with a key of its own process: an approval must come back to the server that asked)"
                };
                format!(
                    "The approval sent with this {tool} call is not valid for it: it was changed, sealed by another server, or given for another tool, other arguments or another caller{replicas}. Nothing was sent. Call {tool} again without requestState to ask the user."
                )
            }
            Self::Expired => format!(
                "The user's approval of {tool} expired (an approval is valid for {} minutes). Nothing was sent. Call {tool} again to ask the user anew.",
                APPROVAL_TTL.as_secs() / 60
            ),
            Self::Replayed => format!(
                "This approval of {tool} was already used: each approval is valid for one call. Nothing was sent. Call {tool} again to ask the user anew."
            ),
            Self::Unchecked(why) => format!(
                "The approval of {tool} could not be checked ({why}). Nothing was sent; retry shortly."
            ),
        }
    }

    /// The rule that refuses the call, in metrics and the audit trail.
    pub fn rule(&self) -> Rule {
        match self {
            Self::Invalid => Rule::ApprovalInvalid,
            Self::Expired => Rule::ApprovalExpired,
            Self::Replayed => Rule::ApprovalReplayed,
            Self::Unchecked(_) => Rule::ApprovalUnchecked,
        }
    }
}

/// Seals approval questions and checks the answers: one per process, shared by every server it
/// builds.
pub struct Approvals {
    codec: RequestStateCodec,
    shared: bool,
    ttl: Duration,
    used: Used,
}

impl Approvals {
    /// Sealing with `keys`; each approval valid for `ttl`; used ids remembered in `store` when
    /// there is one (with `fallback`, the process memory when the store fails).
    pub fn new(
        keys: &StateKeys,
        ttl: Duration,
        store: Option<Arc<Store>>,
        fallback: bool,
    ) -> Result<Self, String> {
        Ok(Self {
            codec: keys.codec()?,
            shared: keys.shared(),
            ttl,
            used: Used {
                store,
                fallback,
                process: Mutex::new(HashMap::new()),
                logged: OnceAMinute::default(),
                clock: Clock::default(),
            },
        })
    }

    /// The same approvals reading `clock` (when to log the store's fallback).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.used.clock = clock;
        self
    }

    /// Whether replicas share the sealing keys.
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// The sealed state for a question about `tool` with `args`, asked by `caller`.
    pub fn seal(&self, tool: &str, args: &Map<String, Value>, caller: &CallerSeal) -> String {
        let id = hex(uuid::Uuid::new_v4().as_bytes());
        let bound = binding(tool, args, caller);
        // A struct of one string cannot fail to serialise.
        let payload = serde_json::to_vec(&Sealed { id }).unwrap_or_default();
        self.codec.seal_with(
            &payload,
            &SealOptions::new().associated_data(&bound).ttl(self.ttl),
        )
    }

    /// Checks `state` for exactly this call and uses it up. `Ok` means it was sealed here (or by
    /// a replica with the same key) for this tool, these arguments and this caller, within its
    /// lifetime, and never used before; checked by `deadline` (the call's) or not at all.
    pub async fn redeem(
        &self,
        state: &str,
        tool: &str,
        args: &Map<String, Value>,
        caller: &CallerSeal,
        deadline: Deadline,
    ) -> Result<(), Rejected> {
        let bound = binding(tool, args, caller);
        let sealed: Sealed = match self.codec.open_json_with(state, &bound) {
            Ok(s) => s,
            Err(RequestStateError::Expired) => return Err(Rejected::Expired),
            Err(e) => {
                tracing::debug!(tool, reason = %e, "approval state refused");
                return Err(Rejected::Invalid);
            }
        };
        self.used
            .first_use(&sealed.id, caller, self.ttl, deadline)
            .await
    }
}

/// What the seal binds: tool, arguments and caller, each length-prefixed.
fn binding(tool: &str, args: &Map<String, Value>, caller: &CallerSeal) -> Vec<u8> {
    let args = Sha256::digest(canonical_json(&Value::Object(args.clone()), &[]).as_bytes());
    let mut out = Vec::with_capacity(96 + tool.len());
    out.extend_from_slice(b"trekmail-mcp approval v1\0");
    out.extend_from_slice(&(tool.len() as u64).to_be_bytes());
    out.extend_from_slice(tool.as_bytes());
    out.extend_from_slice(&args);
    out.extend_from_slice(&caller.0);
    out
}

/// The ids already used: in the store when there is one, else in this process.
struct Used {
    store: Option<Arc<Store>>,
    /// With a store: use the process memory when the store fails (`TREKMAIL_STATE_REQUIRED=false`).
    fallback: bool,
    /// Digest of the id → when its state expires.
    process: Mutex<HashMap<[u8; 32], Instant>>,
    /// Logs the fallback once a minute.
    logged: OnceAMinute,
    /// The replica's clock.
    clock: Clock,
}

impl Used {
    /// `Ok` the first time `id` is presented within `ttl`.
    async fn first_use(
        &self,
        id: &str,
        caller: &CallerSeal,
        ttl: Duration,
        deadline: Deadline,
    ) -> Result<(), Rejected> {
        let digest: [u8; 32] = Sha256::digest(format!("trekmail-mcp approval id v1\0{id}")).into();
        if let Some(store) = &self.store {
            let key = Store::key("approval", &hex(&caller.0[..16]), &hex(&digest));
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let set = store
                .run(Operation::Approval, deadline, |mut c| async move {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg(1)
                        .arg("NX")
                        .arg("PX")
                        .arg(ms)
                        .query_async::<Option<String>>(&mut c)
                        .await
                })
                .await;
            match set {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => return Err(Rejected::Replayed),
                Err(e) if !self.fallback => return Err(Rejected::Unchecked(e.0)),
                Err(e) => {
                    if self.logged.due(self.clock.now_ms()) {
                        tracing::warn!(reason = %e, "the state store fails: approval replays are checked in this process only (TREKMAIL_STATE_REQUIRED=false); logged at most once a minute");
                    }
                }
            }
        }
        let now = Instant::now();
        let mut used = self
            .process
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if used.get(&digest).is_some_and(|until| *until > now) {
            return Err(Rejected::Replayed);
        }
        if used.len() >= MAX_REMEMBERED {
            used.retain(|_, until| *until > now);
            if used.len() >= MAX_REMEMBERED {
                return Err(Rejected::Unchecked(
                    "too many approvals in the last minutes".into(),
                ));
            }
        }
        used.insert(digest, now + ttl);
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::call::tokens::Secret;

    /// A deadline no test step comes near.
    fn soon() -> Deadline {
        Deadline::after(Duration::from_secs(5))
    }

    fn tokens(ops: &str) -> Tokens {
        Tokens {
            ops: Some(Secret::new(ops)),
            message: None,
        }
    }

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[tokio::test]
    async fn a_state_opens_once_for_its_call_and_caller_only() {
        let keys = StateKeys::parse(&format!("# current\n{}\n", "k".repeat(40))).unwrap();
        let a = Approvals::new(&keys, APPROVAL_TTL, None, false).unwrap();
        let alice = CallerSeal::of(&tokens("tm_live_alice"));
        let bob = CallerSeal::of(&tokens("tm_live_bob"));
        let call = args(serde_json::json!({"domain_id": 7, "confirm_delete": true}));
        let s = a.seal("delete_domain", &call, &alice);
        let other = args(serde_json::json!({"domain_id": 8, "confirm_delete": true}));
        assert_eq!(
            a.redeem(&s, "delete_domain", &other, &alice, soon()).await,
            Err(Rejected::Invalid)
        );
        assert_eq!(
            a.redeem(&s, "delete_mailbox", &call, &alice, soon()).await,
            Err(Rejected::Invalid)
        );
        assert_eq!(
            a.redeem(&s, "delete_domain", &call, &bob, soon()).await,
            Err(Rejected::Invalid)
        );
        assert_eq!(
            a.redeem(&s, "delete_domain", &call, &alice, soon()).await,
            Ok(())
        );
        assert_eq!(
            a.redeem(&s, "delete_domain", &call, &alice, soon()).await,
            Err(Rejected::Replayed)
        );
        // Key order does not matter: the arguments are compared canonically.
        let s = a.seal("delete_domain", &call, &alice);
        let reordered = args(serde_json::json!({"confirm_delete": true, "domain_id": 7}));
        assert_eq!(
            a.redeem(&s, "delete_domain", &reordered, &alice, soon())
                .await,
            Ok(())
        );
    }

    #[tokio::test]
    async fn rotation_opens_states_of_the_previous_key_and_a_foreign_key_opens_nothing() {
        let (old, new) = ("o".repeat(32), "n".repeat(32));
        let before =
            Approvals::new(&StateKeys::parse(&old).unwrap(), APPROVAL_TTL, None, false).unwrap();
        let during = Approvals::new(
            &StateKeys::parse(&format!("{new}\n{old}\n")).unwrap(),
            APPROVAL_TTL,
            None,
            false,
        )
        .unwrap();
        let foreign = Approvals::new(&StateKeys::random(), APPROVAL_TTL, None, false).unwrap();
        let me = CallerSeal::of(&tokens("tm_live_me"));
        let call = args(serde_json::json!({"x": 1}));
        let s = before.seal("t", &call, &me);
        assert_eq!(
            foreign.redeem(&s, "t", &call, &me, soon()).await,
            Err(Rejected::Invalid)
        );
        assert_eq!(during.redeem(&s, "t", &call, &me, soon()).await, Ok(()));
        let s = during.seal("t", &call, &me);
        assert_eq!(
            before.redeem(&s, "t", &call, &me, soon()).await,
            Err(Rejected::Invalid)
        );
    }

    #[tokio::test]
    async fn an_expired_state_is_refused_as_expired() {
        let a =
            Approvals::new(&StateKeys::random(), Duration::from_millis(1), None, false).unwrap();
        let me = CallerSeal::of(&tokens("tm_live_me"));
        let call = args(serde_json::json!({"x": 1}));
        let s = a.seal("t", &call, &me);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            a.redeem(&s, "t", &call, &me, soon()).await,
            Err(Rejected::Expired)
        );
    }

    #[test]
    fn key_files_are_checked_without_echoing_keys() {
        let short = "short-secret-key";
        for (text, expected) in [
            ("", "holds no key"),
            ("# only a comment\n\n", "holds no key"),
            (short, "line 1 holds a key shorter than 32 bytes"),
        ] {
            let e = StateKeys::parse(text).unwrap_err();
            assert!(e.contains(expected), "{e}");
            assert!(!e.contains(short), "{e}");
        }
        let k = "k".repeat(32);
        assert!(
            StateKeys::parse(&format!("{k}\n{k}"))
                .unwrap_err()
                .contains("line 2 repeats a key")
        );
        let keys = StateKeys::parse(&format!("  {k}  \n")).unwrap();
        assert!(!format!("{keys:?}").contains(&k));
        assert!(keys.shared() && !StateKeys::random().shared());
    }
}
