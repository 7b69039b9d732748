//! The key swap: a call whose answer carries a new ops key that replaces the token the call was
//! made with (map column `new_token`, the answer path; the API revokes the old key at once).
//!
//! The request is never repeated blindly once written (its answer is the only copy of the new
//! key). The key is taken out of the answer before anything reads it: every occurrence becomes
//! [`PLACEHOLDER`], so the text and structured content the model reads, the logs and the audit
//! line never hold it. In operator mode (the environment's token) the server switches to it for
//! the rest of its life and scrubs it from every later answer; in caller mode (an HTTP caller's
//! own token) it goes back to that caller and the server keeps nothing.
//!
//! The key reaches the person once, in a text block annotated `audience: ["user"]`: MCP's content
//! annotations are how a server says whom a block is for, so a client shows it to the user and
//! need not put it in the model's context. Form elicitation is not for secrets (the MCP
//! specification forbids asking for them there, and a message is no better), and a resource would
//! keep the key readable after the call.

use rmcp::model::{Annotations, CallToolResult, ContentBlock, Role, TextContent};
use serde_json::Value;
use trekmail_api::{Client, Outcome, OutcomeBody, TokenKind};

use crate::call::Caller;
use crate::call::tokens::{Secret, TokenSource, TokenVariable as _};
use crate::catalog::argpath::ArgPath;

/// What the model reads where the answer held the new key.
pub const PLACEHOLDER: &str = "[new key: shown to the user only, once]";

/// The client for the request that re-issues the key: the call's own, except that a failed
/// attempt is repeated only when the failure proves the API never received it.
pub fn client(client: &Client) -> Client {
    client.without_blind_retries(crate::call::payments::retry_proves_unsent)
}

/// What a successful answer held at the `new_token` path.
pub enum Taken {
    /// A new ops key.
    New(Secret),
    /// A key this server already holds, which the transport scrubbed (an earlier reissue's
    /// answer replayed for the same `Idempotency-Key`): nothing to switch, nothing to show.
    Held,
    /// No usable key, and why (any string found there is hidden all the same: it may be a key
    /// of a form this server does not know).
    Unusable(String),
}

/// Takes the key at `path` out of a successful answer: every occurrence of it anywhere in the
/// answer becomes [`PLACEHOLDER`].
pub fn take(outcome: &mut Outcome, path: &ArgPath) -> Taken {
    match take_key(outcome, path) {
        Ok(k) if k.expose() == trekmail_api::REDACTED => Taken::Held,
        Ok(k) => Taken::New(k),
        Err(why) => Taken::Unusable(why),
    }
}

fn take_key(outcome: &mut Outcome, path: &ArgPath) -> Result<Secret, String> {
    let OutcomeBody::Json(body) = &mut outcome.body else {
        return Err(format!("the answer is not JSON, so it has no {path}"));
    };
    // The path names the enveloped answer (`data.…`); an answer sent without its envelope is
    // read the same way, as everywhere else: a key missed here would reach the model.
    let bare = (path.root() == "data" && body.get("data").is_none())
        .then(|| path.below_root())
        .flatten();
    let found = match body.as_object() {
        Some(map) => bare
            .as_ref()
            .unwrap_or(path)
            .values(map)
            .into_iter()
            .find_map(|(_, v)| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)),
        _ => None,
    };
    let Some(key) = found else {
        return Err(format!("the answer has no key at {path}"));
    };
    if key == trekmail_api::REDACTED {
        return Ok(Secret::new(&key));
    }
    hide(body, &key);
    if TokenKind::of(&key) != Some(TokenKind::Ops) {
        return Err(format!(
            "the value at {path} is not an ops key ({}…)",
            TokenKind::Ops.prefix()
        ));
    }
    Ok(Secret::new(&key))
}

/// Replaces `key` wherever it occurs in a string of `v` (object keys included).
fn hide(v: &mut Value, key: &str) {
    match v {
        Value::String(s) if s.contains(key) => *s = s.replace(key, PLACEHOLDER),
        Value::Array(items) => items.iter_mut().for_each(|i| hide(i, key)),
        Value::Object(map) if map.keys().any(|k| k.contains(key)) => {
            let old = std::mem::take(map);
            for (k, mut item) in old {
                hide(&mut item, key);
                map.insert(k.replace(key, PLACEHOLDER), item);
            }
        }
        Value::Object(map) => map.values_mut().for_each(|i| hide(i, key)),
        _ => {}
    }
}

/// Who holds the new key after the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// This server (operator mode): it sends the key on every later call.
    Server,
    /// The caller who sent their own token (HTTP caller mode): the server kept nothing.
    Caller,
    /// Nobody but the user: the server could not switch (a key no header can carry).
    Lost,
}

/// Puts `key` in place of the caller's ops token where the server owns that token (operator
/// mode: every clone of the ops client sends it from now on, and both clients scrub it from
/// their answers); a caller's own token is theirs to replace.
pub fn swap(caller: &Caller, key: &Secret) -> Holder {
    if caller.source == TokenSource::Request {
        return Holder::Caller;
    }
    let switched = caller
        .client(TokenKind::Ops)
        .map(|ops| ops.replace_token(key.expose()));
    if !matches!(switched, Some(Ok(()))) {
        tracing::error!("the ops key was re-issued but this server could not switch to it");
        return Holder::Lost;
    }
    if let Some(message) = caller.client(TokenKind::Message) {
        message.redact_also(key.expose());
    }
    tracing::warn!(
        "the ops key was re-issued: this server now uses the new key; the configured {} is revoked and must be replaced",
        TokenKind::Ops.env_var()
    );
    Holder::Server
}

/// The result of a successful call with its key handed over: what the key now does, for
/// everyone, and the key itself once, for the user alone.
pub fn hand_over(mut r: CallToolResult, key: &Secret, holder: Holder) -> CallToolResult {
    let var = TokenKind::Ops.env_var();
    let (said, told) = match holder {
        Holder::Server => (
            format!(
                "The API issued a new ops key and revoked the old one. This server uses the new key for every call from now on. The configured {var} is now revoked and must be replaced with the new key before this server restarts, or it will not authenticate. The key is shown once, to the user only, not here: it is not kept anywhere else."
            ),
            format!(
                "New TrekMail ops key (shown once; store it now as a secret):\n{}\nThe configured {var} is now revoked: replace it with this key.",
                key.expose()
            ),
        ),
        Holder::Lost => (
            format!(
                "The API issued a new ops key and revoked the old one, but this server could not switch to it: its calls will fail until {var} is replaced with the new key and the server restarted. The key is shown once, to the user only, not here."
            ),
            format!(
                "New TrekMail ops key (shown once; store it now as a secret):\n{}\nThe configured {var} is now revoked: replace it with this key and restart the server.",
                key.expose()
            ),
        ),
        Holder::Caller => (
            "The API issued a new ops key and revoked the token this request carried: use the new key in Authorization from now on. The key is shown once, to the user only, not here; this server kept nothing of it.".to_owned(),
            format!(
                "New TrekMail ops key (shown once; store it now as a secret):\n{}\nThe token you sent is now revoked: use this key in its place.",
                key.expose()
            ),
        ),
    };
    r.content.push(ContentBlock::text(said));
    r.content.push(ContentBlock::Text(
        TextContent::new(told).with_annotations(
            Annotations::default()
                .with_audience(vec![Role::User])
                .with_priority(1.0),
        ),
    ));
    r
}

/// The result when the answer's key is one this server already holds: a replayed answer.
pub fn held(mut r: CallToolResult) -> CallToolResult {
    r.content.push(ContentBlock::text(
        "The API answered with a key this server already holds (an earlier reissue's answer, replayed for the same Idempotency-Key): nothing was switched, and no new key was issued by this call.",
    ));
    r
}

/// The result when the answer held no usable key: the API said yes, so the old key may be
/// revoked already; the server keeps it, and says so.
pub fn no_key(mut r: CallToolResult, why: &str) -> CallToolResult {
    tracing::warn!("a key reissue answered without a usable new key: {why}");
    r.content.push(ContentBlock::text(format!(
        "The API accepted the reissue, but {why}: this server keeps its current ops key, which the API may have revoked already. Ask the account owner to check the account's API keys in TrekMail."
    )));
    r.is_error = Some(true);
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn token_path() -> ArgPath {
        ArgPath::parse("data.token").unwrap()
    }

    fn outcome(body: Value) -> Outcome {
        Outcome {
            status: 201,
            headers: Default::default(),
            body: OutcomeBody::Json(body),
            facts: trekmail_api::Facts {
                request_id: "r".into(),
                idempotency_key: None,
                attempts: 1,
            },
        }
    }

    #[test]
    fn the_key_is_taken_out_wherever_it_occurs() {
        let key = "tm_live_NEWkey0123456789";
        let mut o = outcome(json!({"data": {"token": key, "api_token": key,
            "note": format!("use {key} now"), "nested": [{key: 1}]}}));
        let Taken::New(got) = take(&mut o, &token_path()) else {
            panic!()
        };
        assert_eq!(got.expose(), key);
        let OutcomeBody::Json(v) = &o.body else {
            panic!()
        };
        assert!(!v.to_string().contains(key), "{v}");
        assert_eq!(v["data"]["token"], PLACEHOLDER);
        assert_eq!(v["data"]["note"], format!("use {PLACEHOLDER} now"));
    }

    #[test]
    fn an_answer_without_its_envelope_is_read_the_same_way() {
        let key = "tm_live_NEWkey0123456789";
        let mut o = outcome(json!({"token": key, "scopes": []}));
        assert!(matches!(take(&mut o, &token_path()), Taken::New(k) if k.expose() == key));
        let OutcomeBody::Json(v) = &o.body else {
            panic!()
        };
        assert_eq!(v["token"], PLACEHOLDER);
    }

    #[test]
    fn no_key_or_another_kind_of_value_is_said_and_still_hidden() {
        let mut o = outcome(json!({"data": {"scopes": []}}));
        assert!(matches!(take(&mut o, &token_path()), Taken::Unusable(w) if w.contains("no key")));
        let mut o = outcome(json!({"data": {"token": "[redacted]"}}));
        assert!(matches!(take(&mut o, &token_path()), Taken::Held));
        let mut o = outcome(json!({"data": {"token": "tm_msg_notAnOpsKey1"}}));
        assert!(
            matches!(take(&mut o, &token_path()), Taken::Unusable(w) if w.contains("not an ops key"))
        );
        let OutcomeBody::Json(v) = &o.body else {
            panic!()
        };
        assert_eq!(v["data"]["token"], PLACEHOLDER);
    }
}
