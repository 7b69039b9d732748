//! The hand-written part: an in-memory store and each resource's behaviour. Collections are named
//! by the literal segments of their path (`mailboxes/aliases`); parents are the path parameters
//! before the item's own id. Long-running jobs advance one step each time they are read.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::spec::Operation;

/// An answer: HTTP status and JSON body (or text when `text` is set).
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// A plain-text body instead (CSV download).
    pub text: Option<String>,
}

impl Answer {
    fn ok(data: Value) -> Self {
        Self {
            status: 200,
            body: json!({ "data": data }),
            text: None,
        }
    }
    fn created(data: Value) -> Self {
        Self {
            status: 201,
            body: json!({ "data": data }),
            text: None,
        }
    }
    fn list(items: Vec<Value>) -> Self {
        let n = items.len();
        Self {
            status: 200,
            body: json!({ "data": items, "meta": { "page": 1, "per_page": n.max(1), "total": n } }),
            text: None,
        }
    }
    /// An error in the API's envelope.
    pub fn error(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({ "error": { "code": code, "message": message.into(), "retryable": false } }),
            text: None,
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
    /// The mailbox a message token belongs to.
    pub mailbox_id: i64,
}

/// The whole state of one sandbox.
pub struct Store {
    collections: BTreeMap<String, Vec<Value>>,
    next_id: i64,
    /// Message tokens created through the API: token → mailbox id.
    pub message_tokens: BTreeMap<String, i64>,
}

const NOW: &str = "2026-01-15T09:00:00Z";

fn key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

impl Default for Store {
    fn default() -> Self {
        Self::seeded()
    }
}

impl Store {
    /// The documented seed data.
    pub fn seeded() -> Self {
        let mut s = Self {
            collections: BTreeMap::new(),
            next_id: 100,
            message_tokens: BTreeMap::new(),
        };
        s.put("domains", json!({"id": 1, "name": "example.com", "status": "active", "mail_hosting": true, "note": null, "catch_all": {"enabled": false, "destination": null}, "created_at": NOW}));
        for (id, local) in [(1, "alice"), (2, "bob")] {
            s.put("mailboxes", json!({"id": id, "domain_id": 1, "local_part": local, "email": format!("{local}@example.com"), "status": "active", "imap_enabled": true, "note": null, "created_at": NOW}));
        }
        for f in [
            "INBOX",
            "Sent",
            "Drafts",
            "Junk",
            "Trash",
            "Archive",
            "Scheduled",
        ] {
            for mb in [1, 2] {
                s.put(
                    "messages/folders",
                    json!({"id": f, "path": f, "name": f, "mailbox_id": mb, "special": true}),
                );
            }
        }
        let mails = [
            (
                "carol@example.org",
                "Welcome to TrekMail",
                "Your mailbox is ready.",
                vec![],
            ),
            (
                "dave@example.org",
                "Team photo",
                "See the attached picture.",
                vec![("photo.png", "image/png", PNG)],
            ),
            (
                "billing@example.org",
                "Invoice 2026-001",
                "Your invoice is attached.",
                vec![("invoice.pdf", "application/pdf", PDF)],
            ),
            (
                "erin@example.org",
                "Lunch on Friday?",
                "Are you free on Friday?",
                vec![],
            ),
            (
                "frank@example.org",
                "Quarterly report",
                "The report is due next week.",
                vec![],
            ),
        ];
        for (i, (from, subject, text, files)) in mails.into_iter().enumerate() {
            let uid = 1001 + i as i64;
            let atts: Vec<Value> = files
                .iter()
                .map(|(n, t, b)| json!({"filename": n, "content_type": t, "size": b.len(), "content_base64": B64.encode(b)}))
                .collect();
            s.put(
                "messages",
                message(
                    uid,
                    1,
                    "INBOX",
                    from,
                    &["alice@example.com".into()],
                    subject,
                    text,
                    atts,
                ),
            );
        }
        s.put(
            "messages",
            message(
                2001,
                2,
                "INBOX",
                "carol@example.org",
                &["bob@example.com".into()],
                "Hello Bob",
                "Hi!",
                vec![],
            ),
        );
        s.put("messages/contacts", json!({"id": 1, "mailbox_id": 1, "email": "carol@example.org", "name": "Carol Jones", "created_at": NOW}));
        s.put("messages/contacts", json!({"id": 2, "mailbox_id": 1, "email": "dave@example.org", "name": "Dave Smith", "created_at": NOW}));
        s.put("messages/contact-groups", json!({"id": 1, "mailbox_id": 1, "group_name": "Friends", "contact_ids": [1, 2], "created_at": NOW}));
        s.put("messages/calendar/events", json!({"id": 1, "mailbox_id": 1, "title": "Team meeting", "start_at": "2026-01-20T10:00:00Z", "end_at": "2026-01-20T11:00:00Z", "created_at": NOW}));
        s.put("messages/templates", json!({"id": 1, "mailbox_id": 1, "name": "Thank you", "subject": "Thank you", "body_html": "<p>Thank you!</p>", "created_at": NOW}));
        s.put("messages/identities", json!({"id": 1, "mailbox_id": 1, "email": "alice@example.com", "name": "Alice", "created_at": NOW}));
        s.put("tickets", json!({"id": 1, "subject": "Welcome to support", "category": "general", "status": "open", "messages": [{"from": "support", "message": "How can we help?", "created_at": NOW}], "created_at": NOW}));
        s
    }

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

    fn find(&self, coll: &str, id: &Value, scope: &Map<String, Value>) -> Option<Value> {
        self.collections
            .get(coll)?
            .iter()
            .find(|v| key(&v["id"]) == key(id) && in_scope(v, scope))
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
            .find(|v| key(&v["id"]) == key(id) && in_scope(v, scope))
    }

    fn remove(&mut self, coll: &str, id: &Value, scope: &Map<String, Value>) -> Option<Value> {
        let items = self.collections.get_mut(coll)?;
        let i = items
            .iter()
            .position(|v| key(&v["id"]) == key(id) && in_scope(v, scope))?;
        Some(items.remove(i))
    }

    /// The answer to one request.
    pub fn handle(&mut self, r: &Request<'_>) -> Answer {
        let params = r.op.path_params();
        let mut scope = Map::new();
        if r.op.path.starts_with("/messages") {
            scope.insert("mailbox_id".into(), json!(r.mailbox_id));
        }
        let own = if r.op.ends_with_param() {
            params.last().cloned()
        } else {
            None
        };
        // Every parent in the path must exist (`/mailboxes/{mailbox_id}/aliases`).
        let parents = r.op.param_collections();
        for (i, (p, coll)) in parents.iter().enumerate() {
            if own.is_some() && i + 1 == parents.len() {
                break;
            }
            let v = r.path.get(p).cloned().unwrap_or(Value::Null);
            let inner = scope.clone();
            if self.find(coll, &v, &inner).is_none() {
                return Answer::not_found(&singular(coll));
            }
            scope.insert(p.clone(), v);
        }
        let body = scrub(&r.body);
        if let Some(a) = self.special(r, &scope) {
            return a;
        }
        let coll = r.op.collection();
        let action = r.op.action();
        match (r.op.method.as_str(), own, action) {
            ("GET", None, None) => {
                if self.collections.contains_key(&coll) || r.op.id.starts_with("list") {
                    let mut items: Vec<Value> = self
                        .all(&coll)
                        .into_iter()
                        .filter(|v| in_scope(v, &scope))
                        .collect();
                    filter(&mut items, &r.query);
                    Answer::list(items.into_iter().map(public).collect())
                } else {
                    // A singleton below a parent (`/mailboxes/{id}/forwarding`) or the account.
                    Answer::ok(self.singleton(&coll, &scope))
                }
            }
            ("POST", None, None) if !is_setting(&coll) => {
                let mut item = body.as_object().cloned().unwrap_or_default();
                for (k, v) in &scope {
                    item.insert(k.clone(), v.clone());
                }
                if let Some(dup) = self.duplicate(&coll, &item) {
                    return Answer::error(409, "conflict", format!("{dup} already exists"));
                }
                let id = self.id();
                item.insert("id".into(), json!(id));
                item.entry("status").or_insert(json!(initial_status(&coll)));
                item.insert("created_at".into(), json!(NOW));
                let item = Value::Object(item);
                self.put(&coll, item.clone());
                Answer::created(public(item))
            }
            ("POST", None, Some(_)) => {
                let mut data = body.as_object().cloned().unwrap_or_default();
                data.insert("accepted".into(), json!(true));
                Answer::ok(Value::Object(data))
            }
            ("PUT" | "PATCH" | "POST", None, _) => {
                // A setting of a parent or of the account, stored whole.
                let mut v = self.singleton(&coll, &scope);
                if let (Some(o), Some(b)) = (v.as_object_mut(), body.as_object()) {
                    for (k, x) in b {
                        o.insert(k.clone(), x.clone());
                    }
                    o.insert("updated_at".into(), json!(NOW));
                }
                self.set_singleton(&coll, &scope, v.clone());
                Answer::ok(public(v))
            }
            ("GET", Some(p), _) => {
                let id = r.path.get(&p).cloned().unwrap_or(Value::Null);
                match self.find_mut(&coll, &id, &scope) {
                    Some(item) => {
                        advance(item);
                        let v = item.clone();
                        self.after_advance(&coll, &v);
                        Answer::ok(public(v))
                    }
                    None => Answer::not_found(&singular(&coll)),
                }
            }
            ("PUT" | "PATCH", Some(p), None) => {
                let id = r.path.get(&p).cloned().unwrap_or(Value::Null);
                let dup = body
                    .as_object()
                    .and_then(|b| self.duplicate_other(&coll, b, &id));
                if let Some(dup) = dup {
                    return Answer::error(409, "conflict", format!("{dup} already exists"));
                }
                match self.find_mut(&coll, &id, &scope) {
                    Some(item) => {
                        if let (Some(o), Some(b)) = (item.as_object_mut(), body.as_object()) {
                            for (k, x) in b {
                                if k == "flags"
                                    && let Some(f) = x.as_object()
                                {
                                    for (fk, fv) in f {
                                        o.insert(fk.clone(), fv.clone());
                                    }
                                } else {
                                    o.insert(k.clone(), x.clone());
                                }
                            }
                            o.insert("updated_at".into(), json!(NOW));
                        }
                        Answer::ok(public(item.clone()))
                    }
                    None => Answer::not_found(&singular(&coll)),
                }
            }
            ("DELETE", Some(p), None) => {
                let id = r.path.get(&p).cloned().unwrap_or(Value::Null);
                match self.remove(&coll, &id, &scope) {
                    Some(_) => Answer::ok(json!({"id": id, "deleted": true})),
                    None => Answer::not_found(&singular(&coll)),
                }
            }
            (_, Some(p), Some(action)) => {
                let id = r.path.get(&p).cloned().unwrap_or(Value::Null);
                match self.find_mut(&coll, &id, &scope) {
                    Some(item) => {
                        act(item, &action, &body);
                        Answer::ok(public(item.clone()))
                    }
                    None => Answer::not_found(&singular(&coll)),
                }
            }
            _ => {
                // Every remaining shape is an action on a collection: echo what was asked.
                let mut data = body.as_object().cloned().unwrap_or_default();
                data.insert("accepted".into(), json!(true));
                Answer::ok(Value::Object(data))
            }
        }
    }

    fn singleton(&self, coll: &str, scope: &Map<String, Value>) -> Value {
        let found = self
            .collections
            .get(&format!("@{coll}"))
            .and_then(|v| v.iter().find(|x| in_scope(x, scope)).cloned());
        found.unwrap_or_else(|| {
            let mut o = scope.clone();
            o.insert("enabled".into(), json!(false));
            Value::Object(o)
        })
    }

    fn set_singleton(&mut self, coll: &str, scope: &Map<String, Value>, v: Value) {
        let items = self.collections.entry(format!("@{coll}")).or_default();
        items.retain(|x| !in_scope(x, scope));
        items.push(v);
    }

    fn duplicate(&self, coll: &str, item: &Map<String, Value>) -> Option<String> {
        let fields: &[&str] = match coll {
            "domains" => &["name"],
            "mailboxes" => &["domain_id", "local_part"],
            "messages/folders" => &["mailbox_id", "name"],
            "messages/contacts" => &["mailbox_id", "email"],
            "messages/blocked-senders" => &["mailbox_id", "email_or_domain"],
            "mailboxes/aliases" => &["mailbox_id", "local_part"],
            _ => return None,
        };
        let hit = self.all(coll).into_iter().any(|v| {
            fields
                .iter()
                .all(|f| item.get(*f).is_some_and(|x| v.get(*f) == Some(x)))
        });
        hit.then(|| singular(coll))
    }

    fn duplicate_other(&self, coll: &str, body: &Map<String, Value>, id: &Value) -> Option<String> {
        if coll != "messages/folders" && coll != "domains" {
            return None;
        }
        let name = body.get("name")?;
        self.all(coll)
            .into_iter()
            .any(|v| v.get("name") == Some(name) && key(&v["id"]) != key(id))
            .then(|| singular(coll))
    }

    fn after_advance(&mut self, coll: &str, v: &Value) {
        if coll == "dns-checks"
            && v["status"] == "completed"
            && let Some(d) = self.find_mut("domains", &v["domain_id"], &Map::new())
        {
            d["status"] = json!("active");
        }
    }
}

fn is_setting(coll: &str) -> bool {
    coll.ends_with("password")
        || coll.ends_with("enable-imap")
        || coll == "verify"
        || coll.starts_with("cloudflare/") && coll != "cloudflare/tokens"
}

fn initial_status(coll: &str) -> &'static str {
    match coll {
        "domains" => "pending_dns",
        "migrations" | "migrations/bulk" | "verify/bulk" => "running",
        "tickets" => "open",
        _ => "active",
    }
}

/// Jobs advance one step per read and finish on the third.
fn advance(item: &mut Value) {
    let running = matches!(
        item["status"].as_str(),
        Some("pending" | "running" | "queued")
    );
    if !running {
        return;
    }
    let polls = item["progress"].as_u64().unwrap_or(0) + 50;
    if polls >= 100 {
        item["progress"] = json!(100);
        item["status"] = json!("completed");
        item["completed_at"] = json!(NOW);
    } else {
        item["progress"] = json!(polls);
        item["status"] = json!("running");
    }
}

fn act(item: &mut Value, action: &str, body: &Value) {
    let status = match action {
        "pause" => Some("paused"),
        "resume" => Some(if item.get("progress").is_some() {
            "running"
        } else {
            "active"
        }),
        "cancel" => Some("cancelled"),
        "retry" => Some("running"),
        "close" => Some("closed"),
        _ => None,
    };
    if let Some(s) = status {
        item["status"] = json!(s);
        if action == "retry" {
            item["progress"] = json!(0);
        }
    }
    match action {
        "move" => item["folder"] = body["destination"].clone(),
        "spam" => item["folder"] = json!("Junk"),
        "ham" => item["folder"] = json!("INBOX"),
        _ => {}
    }
    item["updated_at"] = json!(NOW);
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

/// Query filters: a field of the same name, `folder` (INBOX by default for messages), `search`/`q`.
fn filter(items: &mut Vec<Value>, query: &Map<String, Value>) {
    for (k, want) in query {
        match k.as_str() {
            "page"
            | "per_page"
            | "limit"
            | "offset"
            | "days"
            | "external_account_id"
            | "sort"
            | "order" => {}
            "search" | "q" => {
                let q = key(want).to_lowercase();
                items.retain(|v| v.to_string().to_lowercase().contains(&q));
            }
            _ => items.retain(|v| v.get(k).is_none_or(|x| key(x) == key(want))),
        }
    }
    if items.first().is_some_and(|v| v.get("uid").is_some()) && !query.contains_key("folder") {
        items.retain(|v| v["folder"] == "INBOX");
    }
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

#[allow(clippy::too_many_arguments)]
fn message(
    uid: i64,
    mailbox: i64,
    folder: &str,
    from: &str,
    to: &[Value],
    subject: &str,
    text: &str,
    attachments: Vec<Value>,
) -> Value {
    json!({
        "id": uid, "uid": uid, "mailbox_id": mailbox, "folder": folder, "from": from, "to": to,
        "subject": subject, "text": text, "date": NOW, "seen": false, "flagged": false,
        "has_attachments": !attachments.is_empty(), "attachments": attachments,
    })
}

mod special;
