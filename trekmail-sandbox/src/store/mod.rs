//! The hand-written part: an in-memory store and each resource's behaviour. Collections are named
//! by the literal segments of their path (`mailboxes/aliases`); parents are the path parameters
//! before the item's own id. An operation with a behaviour of its own ([`behaviours`]) is
//! answered by it; every other by the generic create/list/get/update/delete ([`generic`]);
//! lists are filtered and paged as the document says ([`list`]).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::spec::Operation;

pub(crate) mod behaviours;
mod generic;
mod list;
mod outside;
mod seed;

pub use behaviours::agent::{TEST_PAYMENT_METHOD, TEST_SHARED_PAYMENT_TOKEN};
pub use behaviours::drive_uploads::MULTIPART_FROM;
pub use outside::{OUTSIDE, Outside};

/// An answer: HTTP status and JSON body (or text when `text` is set).
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// A file instead of JSON: content type and bytes (a CSV download, a profile).
    pub file: Option<(&'static str, Vec<u8>)>,
}

impl Answer {
    fn ok(data: Value) -> Self {
        Self::with(200, data)
    }
    fn created(data: Value) -> Self {
        Self::with(201, data)
    }
    fn accepted(data: Value) -> Self {
        Self::with(202, data)
    }
    fn with(status: u16, data: Value) -> Self {
        Self {
            status,
            body: json!({ "data": data }),
            file: None,
        }
    }
    /// An error in the API's envelope.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": { "code": code, "message": message.into(), "retryable": false } }),
            file: None,
        }
    }
    fn not_found(what: &str) -> Self {
        Self::error(404, "not_found", format!("{what} not found"))
    }
    /// 422 with field details.
    pub fn invalid(details: Map<String, Value>) -> Self {
        let mut a = Self::error(422, "validation_failed", "The given data was invalid.");
        a.body["error"]["details"] = Value::Object(details);
        a
    }
    /// 422 naming one field.
    fn field(name: &str, msg: &str) -> Self {
        let mut m = Map::new();
        m.insert(name.into(), json!([msg]));
        Self::invalid(m)
    }
}

/// One request, as the handlers see it.
pub struct Request<'a> {
    /// The operation.
    pub op: &'a Operation,
    /// Path parameters, typed.
    pub path: BTreeMap<String, Value>,
    /// Query parameters, typed.
    pub query: Map<String, Value>,
    /// The JSON body (`Null` when none).
    pub body: Value,
    /// Request headers by lower-case name (`payment-authorization`, …).
    pub headers: BTreeMap<String, String>,
    /// The bearer token.
    pub token: String,
    /// The mailbox a message token belongs to.
    pub mailbox_id: i64,
    /// `http://host:port` of the sandbox itself, for the links it hands out.
    pub base_url: String,
}

/// One request with the parents its path names: what a behaviour sees.
pub(crate) struct Call<'a> {
    /// The request.
    pub r: &'a Request<'a>,
    /// The parents of the item (`mailbox_id` of an alias), and the token's mailbox for messages.
    pub scope: Map<String, Value>,
}

impl Call<'_> {
    /// A path parameter (`Null` when absent).
    fn p(&self, name: &str) -> Value {
        self.r.path.get(name).cloned().unwrap_or(Value::Null)
    }
    /// The JSON body.
    fn b(&self) -> &Value {
        &self.r.body
    }
    /// The token's mailbox.
    fn mailbox(&self) -> Value {
        json!(self.r.mailbox_id)
    }
}

/// The whole state of one sandbox.
pub struct Store {
    collections: BTreeMap<String, Vec<Value>>,
    next_id: i64,
    /// Message tokens created through the API: token → mailbox id.
    pub message_tokens: BTreeMap<String, i64>,
    /// Bytes PUT to presigned upload URLs: (file id, part number) → bytes.
    blobs: BTreeMap<(i64, u64), Vec<u8>>,
    /// Ops tokens replaced by `agent_reissue_key`: they no longer work.
    pub revoked_tokens: Vec<String>,
}

const NOW: &str = "2026-01-15T09:00:00Z";
/// [`NOW`] in Unix seconds, for date arithmetic (a test checks they agree).
const NOW_UNIX: u64 = 1_768_467_600;

/// Collections that paths name in two ways: (as a parent in a path, where they are stored).
const ALIASES: &[(&str, &str)] = &[("drive/spaces/folders", "drive/folders")];

/// Whether `v` is the item `id` names: by its id, or by its slug (a Drive space is `account`,
/// `mailbox:1` or its number).
fn is(v: &Value, id: &Value) -> bool {
    key(&v["id"]) == key(id) || v.get("slug").is_some_and(|s| key(s) == key(id))
}

fn key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::seeded()
    }
}

impl Store {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    fn put(&mut self, coll: &str, v: Value) {
        self.collections.entry(coll.to_owned()).or_default().push(v);
    }

    fn all(&self, coll: &str) -> Vec<Value> {
        self.collections.get(coll).cloned().unwrap_or_default()
    }

    fn all_mut(&mut self, coll: &str) -> &mut Vec<Value> {
        self.collections.entry(coll.to_owned()).or_default()
    }

    fn find(&self, coll: &str, id: &Value, scope: &Map<String, Value>) -> Option<Value> {
        self.collections
            .get(coll)?
            .iter()
            .find(|v| is(v, id) && in_scope(v, scope))
            .cloned()
    }

    fn find_mut(
        &mut self,
        coll: &str,
        id: &Value,
        scope: &Map<String, Value>,
    ) -> Option<&mut Value> {
        self.collections
            .get_mut(coll)?
            .iter_mut()
            .find(|v| is(v, id) && in_scope(v, scope))
    }

    fn remove(&mut self, coll: &str, id: &Value, scope: &Map<String, Value>) -> Option<Value> {
        let items = self.collections.get_mut(coll)?;
        let i = items.iter().position(|v| is(v, id) && in_scope(v, scope))?;
        Some(items.remove(i))
    }

    /// The answer to one request: its parents must exist, then its own behaviour or the
    /// generic one.
    pub fn handle(&mut self, r: &Request<'_>) -> Answer {
        let call = match self.parents(r) {
            Ok(scope) => Call { r, scope },
            Err(a) => return a,
        };
        if let Some(behaviour) = behaviours::of(&r.op.id)
            && let Some(a) = behaviour(self, &call)
        {
            return a;
        }
        generic::answer(self, &call)
    }

    /// Every parent in the path must exist (`/mailboxes/{mailbox_id}/aliases`): the scope of
    /// the item, or a 404 naming the missing parent.
    fn parents(&self, r: &Request<'_>) -> Result<Map<String, Value>, Answer> {
        let mut scope = Map::new();
        if r.op.path.starts_with("/messages") {
            scope.insert("mailbox_id".into(), json!(r.mailbox_id));
        }
        let parents = r.op.param_collections();
        let own = usize::from(r.op.ends_with_param());
        for (p, coll) in parents.iter().take(parents.len().saturating_sub(own)) {
            let v = r.path.get(p).cloned().unwrap_or(Value::Null);
            let coll = ALIASES
                .iter()
                .find(|(path, _)| path == coll)
                .map_or(coll.as_str(), |(_, stored)| stored);
            if self.find(coll, &v, &scope).is_none() {
                return Err(Answer::not_found(&singular(coll)));
            }
            scope.insert(p.clone(), v);
        }
        Ok(scope)
    }
}

/// Secrets are never stored or echoed: passwords, API tokens, CSV rows with passwords.
fn scrub(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !(k.contains("password") || k.contains("api_token") || k.as_str() == "data")
                })
                .map(|(k, x)| (k.clone(), scrub(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(scrub).collect()),
        other => other.clone(),
    }
}

fn in_scope(v: &Value, scope: &Map<String, Value>) -> bool {
    scope.iter().all(|(k, x)| match v.get(k) {
        Some(y) => key(y) == key(x),
        None => true,
    })
}

/// Hides internal fields (attachment bytes in listings stay: they are the message's data).
fn public(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !k.starts_with('_'));
        if let Some(Value::Array(atts)) = o.get_mut("attachments") {
            for a in atts {
                if let Some(a) = a.as_object_mut() {
                    a.remove("content_base64");
                }
            }
        }
    }
    v
}

fn singular(coll: &str) -> String {
    let last = coll.rsplit('/').next().unwrap_or(coll);
    let last = last.rsplit(':').next().unwrap_or(last);
    let one = last
        .strip_suffix("es")
        .filter(|s| s.ends_with("ss") || s.ends_with('x'))
        .map(str::to_owned);
    one.unwrap_or_else(|| last.strip_suffix('s').unwrap_or(last).to_owned())
        .replace('-', " ")
}
