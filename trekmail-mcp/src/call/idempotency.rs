//! Idempotency keys: `mcp_<tool>_` + the first 32 hex digits of
//! `sha256("<tool>:" + canonical JSON of the arguments)`.
//!
//! The canonical JSON leaves out `idempotency_key` and the confirmation argument, sorts object
//! keys at every depth and has no spaces. A windowed tool adds `_t` = unix_ms / (window_s * 1000),
//! so the same call an hour later is a new operation. Secret arguments (and CSV texts with
//! secret columns) enter only as an HMAC under a key derived from the configured token: stable
//! across restarts, never in the clear, and no guess can be confirmed from the key.
//!
//! Which key a write finally sends (a retry's, or a new intent's) is [`crate::call::intents`]'s call.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::call::intents::Scope;
use crate::catalog::ToolDef;
use crate::catalog::argpath::ArgPath;
use crate::catalog::schema::IdempotencyKey;
use trekmail_api::TokenKind;
use trekmail_api::canonical::canonical_json;

/// The key that keys digests of secret arguments.
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A fresh random key (for tests, and for a token that is not configured).
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        k[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        k[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self(k)
    }

    /// The key for a configured token: HMAC-SHA256 keyed by the token, so it is the same after
    /// a restart, and only who holds the token can compute it.
    pub fn for_token(token: &str) -> Self {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(token.as_bytes()) else {
            return Self::random();
        };
        mac.update(b"trekmail-mcp idempotency: secret arguments v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn digest(&self, v: &Value) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(canonical_json(v, &[]).as_bytes());
        format!("hmac:{}", hex(&mac.finalize().into_bytes()))
    }
}

/// One [`SecretKey`] and one intent memory [`Scope`] per token.
pub struct Keys {
    ops: SecretKey,
    message: SecretKey,
    ops_scope: Scope,
    message_scope: Scope,
}

impl Keys {
    /// Keys derived from the configured tokens (random for one that is not configured: its
    /// tools cannot be called anyway).
    pub fn for_tokens(ops: Option<&str>, message: Option<&str>) -> Self {
        let key = |t: Option<&str>| t.map_or_else(SecretKey::random, SecretKey::for_token);
        let scope = |t: Option<&str>| t.map_or_else(Scope::random, Scope::for_token);
        Self {
            ops: key(ops),
            message: key(message),
            ops_scope: scope(ops),
            message_scope: scope(message),
        }
    }

    /// Whose intent memory a write with a tool's token belongs to.
    pub fn scope(&self, token: TokenKind) -> &Scope {
        match token {
            TokenKind::Ops => &self.ops_scope,
            TokenKind::Message => &self.message_scope,
        }
    }

    /// The key for a tool's token.
    pub fn get(&self, token: TokenKind) -> &SecretKey {
        match token {
            TokenKind::Ops => &self.ops,
            TokenKind::Message => &self.message,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A tool's idempotency-key policy (`idempotency` in `tools-map.toml`), its secret argument
/// paths parsed.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyPolicy<'a> {
    window_s: Option<u64>,
    secret_args: &'a [ArgPath],
}

impl<'a> KeyPolicy<'a> {
    /// The policy of `def`.
    pub fn of(def: &'a ToolDef) -> Self {
        Self::new(def.entry.idempotency.window_s, &def.paths().secret_args)
    }

    pub(crate) fn new(window_s: Option<u64>, secret_args: &'a [ArgPath]) -> Self {
        Self {
            window_s,
            secret_args,
        }
    }

    /// The key window in seconds, if the key also changes with time.
    pub fn window_s(&self) -> Option<u64> {
        self.window_s.filter(|w| *w > 0)
    }

    /// The same policy without the window.
    pub fn windowless(self) -> Self {
        Self {
            window_s: None,
            ..self
        }
    }
}

/// The key for one call. `excluded` are the arguments that never enter it (the caller's key and
/// the confirmation); `unix_ms` is the current time.
pub fn derive(
    tool: &str,
    args: &Map<String, Value>,
    excluded: &[&str],
    policy: &KeyPolicy<'_>,
    secret: &SecretKey,
    unix_ms: u128,
) -> IdempotencyKey {
    derive_masked(tool, args, excluded, policy, &[], secret, unix_ms)
}

/// [`derive()`] with more secret arguments (`also_secret`, top-level names): CSV texts with
/// secret columns.
pub fn derive_masked(
    tool: &str,
    args: &Map<String, Value>,
    excluded: &[&str],
    policy: &KeyPolicy<'_>,
    also_secret: &[&str],
    secret: &SecretKey,
    unix_ms: u128,
) -> IdempotencyKey {
    let mut hashed: Map<String, Value> = args
        .iter()
        .filter(|(k, _)| !excluded.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for path in policy.secret_args {
        mask(&mut hashed, path, secret);
    }
    for name in also_secret {
        if let Some(v) = hashed.get_mut(*name) {
            *v = Value::String(secret.digest(v));
        }
    }
    if let Some(w) = policy.window_s() {
        let bucket = unix_ms / (u128::from(w) * 1000);
        hashed.insert(
            "_t".into(),
            Value::from(u64::try_from(bucket).unwrap_or(u64::MAX)),
        );
    }
    let input = format!("{tool}:{}", canonical_json(&Value::Object(hashed), &[]));
    let digest = Sha256::digest(input.as_bytes());
    IdempotencyKey::derived(format!("mcp_{tool}_{}", &hex(&digest)[..32]))
}

/// Replaces the values at `path` (`password`, `items[].password`, anywhere) by their digest.
fn mask(args: &mut Map<String, Value>, path: &ArgPath, secret: &SecretKey) {
    path.replace(args, &mut |v| Value::String(secret.digest(v)));
}

/// The target of a write: the tool and its path arguments.
pub fn target(tool: &str, path_args: Map<String, Value>) -> String {
    format!("{tool}:{}", canonical_json(&Value::Object(path_args), &[]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> ArgPath {
        ArgPath::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn reference_vector_holds() {
        let key = derive(
            "create_domain",
            &obj(json!({"name": "example.com"})),
            &[],
            &KeyPolicy::default(),
            &SecretKey::random(),
            0,
        );
        assert_eq!(
            key.as_str(),
            "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af"
        );
    }

    #[test]
    fn a_derived_key_obeys_the_rule_of_a_callers_key_whatever_the_tool_name() {
        // A name the catalogue would refuse still gives a key a header may carry.
        for tool in ["t".repeat(300), "a tool".to_owned()] {
            let k = derive(
                &tool,
                &obj(json!({"name": "example.com"})),
                &[],
                &KeyPolicy::default(),
                &SecretKey::random(),
                0,
            );
            assert_eq!(
                IdempotencyKey::new(k.as_str()).as_ref(),
                Some(&k),
                "{tool}: {k}"
            );
        }
    }

    #[test]
    fn key_ignores_order_the_caller_key_and_confirmation() {
        let p = KeyPolicy::default();
        let s = SecretKey::random();
        let a = derive(
            "t",
            &obj(json!({"b": {"y": 1, "x": [2, {"d": 1, "c": 2}]}, "a": 1})),
            &[],
            &p,
            &s,
            0,
        );
        let b = derive(
            "t",
            &obj(
                json!({"a": 1, "b": {"x": [2, {"c": 2, "d": 1}], "y": 1}, "idempotency_key": "", "confirm": true}),
            ),
            &["idempotency_key", "confirm"],
            &p,
            &s,
            0,
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            derive(
                "t",
                &obj(json!({"a": 2, "b": {"y": 1, "x": [2, {"d": 1, "c": 2}]}})),
                &[],
                &p,
                &s,
                0
            )
        );
    }

    #[test]
    fn window_changes_the_key_every_window() {
        let p = KeyPolicy::new(Some(300), &[]);
        let s = SecretKey::random();
        let args = obj(json!({"domain_id": 7}));
        let k1 = derive("dns_recheck", &args, &[], &p, &s, 1_000);
        assert_eq!(k1, derive("dns_recheck", &args, &[], &p, &s, 299_999));
        assert_ne!(k1, derive("dns_recheck", &args, &[], &p, &s, 300_000));
        // The window joins the hash as `_t`.
        let expected = format!(
            "mcp_dns_recheck_{}",
            &hex(&Sha256::digest(br#"dns_recheck:{"_t":1,"domain_id":7}"#))[..32]
        );
        assert_eq!(
            derive("dns_recheck", &args, &[], &p, &s, 300_000).as_str(),
            expected
        );
    }

    #[test]
    fn secrets_are_keyed_and_never_hashed_in_the_clear() {
        let paths = [path("password"), path("items[].password")];
        let p = KeyPolicy::new(None, &paths);
        let args = obj(
            json!({"password": "hunter2hunter2", "items": [{"password": "p1p1p1p1p1p1", "local_part": "a"}]}),
        );
        let s1 = SecretKey::random();
        let k1 = derive("t", &args, &[], &p, &s1, 0);
        // Deterministic within a process, different across processes.
        assert_eq!(k1, derive("t", &args, &[], &p, &s1, 0));
        assert_ne!(k1, derive("t", &args, &[], &p, &SecretKey::random(), 0));
        // Not the plain hash of the arguments: nobody can confirm a guessed password from the key.
        assert_ne!(k1, derive("t", &args, &[], &KeyPolicy::default(), &s1, 0));
        let mut masked = args.clone();
        mask(&mut masked, &path("items[].password"), &s1);
        assert!(!canonical_json(&Value::Object(masked), &[]).contains("p1p1p1p1p1p1"));
    }

    #[test]
    fn secret_keys_are_stable_per_token_and_differ_between_tokens() {
        let paths = [path("source_password")];
        let p = KeyPolicy::new(None, &paths);
        let args = obj(json!({"source_password": "guessable-password"}));
        let a = derive("t", &args, &[], &p, &SecretKey::for_token("tm_live_a"), 0);
        assert_eq!(
            a,
            derive("t", &args, &[], &p, &SecretKey::for_token("tm_live_a"), 0)
        );
        assert_ne!(
            a,
            derive("t", &args, &[], &p, &SecretKey::for_token("tm_live_b"), 0)
        );
    }

    #[test]
    fn a_csv_text_with_secret_columns_enters_only_as_a_digest() {
        let args = obj(json!({"data": "a@x.com,hunter2hunter2,b@y.com"}));
        let k = SecretKey::for_token("tm_live_a");
        let masked = derive_masked("t", &args, &[], &KeyPolicy::default(), &["data"], &k, 0);
        assert_ne!(
            masked,
            derive("t", &args, &[], &KeyPolicy::default(), &k, 0)
        );
        let mut m = args.clone();
        mask(&mut m, &path("data"), &k);
        assert!(!canonical_json(&Value::Object(m), &[]).contains("hunter2"));
    }
}
