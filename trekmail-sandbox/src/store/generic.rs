//! The behaviour every operation without one of its own gets, by the shape of its route: list,
//! create, get, update, delete an item of the collection the path names; an action (`:pause`)
//! on an item; a setting of a parent or of the account stored whole. Jobs advance one step each
//! time they are read.

use serde_json::{Map, Value, json};
use trekmail_api::model::Method::{Delete, Get, Patch, Post, Put};

use super::{Answer, Call, NOW, Store, in_scope, key, list, public, scrub, singular};

/// The generic answer of `c`'s operation.
pub(super) fn answer(s: &mut Store, c: &Call<'_>) -> Answer {
    let op = c.r.op;
    let coll = op.collection();
    let own = op
        .ends_with_param()
        .then(|| op.path_params().last().map(|p| c.p(p)))
        .flatten();
    match (op.method, own, op.action()) {
        (Get, None, None) if op.list_shape().is_some() => {
            let items = s
                .all(&coll)
                .into_iter()
                .filter(|v| in_scope(v, &c.scope))
                .map(public)
                .collect();
            list::answer(op, items, &c.r.query)
        }
        (Get, None, None) => Answer::ok(s.singleton(&coll, &c.scope)),
        (Post, None, None) if !is_setting(&coll) => create(s, c, &coll),
        (Post, None, Some(_)) => echo(c),
        (Put | Patch | Post, None, _) => set(s, c, &coll),
        (Delete, None, None) => {
            // A setting of a parent removed: back to its default.
            let gone = s.singleton(&coll, &c.scope);
            s.all_mut(&format!("@{coll}"))
                .retain(|x| !in_scope(x, &c.scope));
            Answer::ok(json!({"deleted": true, "was": public(gone)}))
        }
        (Get, Some(id), _) => get(s, c, &coll, &id),
        (Put | Patch, Some(id), None) => update(s, c, &coll, &id),
        (Delete, Some(id), None) => match s.remove(&coll, &id, &c.scope) {
            Some(_) => Answer::ok(json!({"id": id, "deleted": true})),
            None => Answer::not_found(&singular(&coll)),
        },
        (_, Some(id), Some(action)) => match s.find_mut(&coll, &id, &c.scope) {
            Some(item) => {
                act(item, &action, c.b());
                Answer::ok(public(item.clone()))
            }
            None => Answer::not_found(&singular(&coll)),
        },
        // Every remaining shape is an action on a collection.
        _ => echo(c),
    }
}

/// An action on a collection: what was asked, accepted.
fn echo(c: &Call<'_>) -> Answer {
    let mut data = scrub(c.b()).as_object().cloned().unwrap_or_default();
    data.insert("accepted".into(), json!(true));
    Answer::ok(Value::Object(data))
}

fn create(s: &mut Store, c: &Call<'_>, coll: &str) -> Answer {
    let mut item = scrub(c.b()).as_object().cloned().unwrap_or_default();
    for (k, v) in &c.scope {
        item.insert(k.clone(), v.clone());
    }
    if let Some(dup) = s.duplicate(coll, &item) {
        return Answer::error(409, "conflict", format!("{dup} already exists"));
    }
    let id = s.id();
    item.insert("id".into(), json!(id));
    item.entry("status").or_insert(json!(initial_status(coll)));
    item.insert("created_at".into(), json!(NOW));
    let item = Value::Object(item);
    s.put(coll, item.clone());
    Answer::created(public(item))
}

/// A setting of a parent or of the account, stored whole.
fn set(s: &mut Store, c: &Call<'_>, coll: &str) -> Answer {
    let mut v = s.singleton(coll, &c.scope);
    if let (Some(o), Some(b)) = (v.as_object_mut(), scrub(c.b()).as_object()) {
        for (k, x) in b {
            o.insert(k.clone(), x.clone());
        }
        o.insert("updated_at".into(), json!(NOW));
    }
    s.set_singleton(coll, &c.scope, v.clone());
    Answer::ok(public(v))
}

fn get(s: &mut Store, c: &Call<'_>, coll: &str, id: &Value) -> Answer {
    match s.find_mut(coll, id, &c.scope) {
        Some(item) => {
            advance(item);
            let v = item.clone();
            s.after_advance(coll, &v);
            Answer::ok(public(v))
        }
        None => Answer::not_found(&singular(coll)),
    }
}

fn update(s: &mut Store, c: &Call<'_>, coll: &str, id: &Value) -> Answer {
    let body = scrub(c.b());
    let dup = body
        .as_object()
        .and_then(|b| s.duplicate_other(coll, b, id));
    if let Some(dup) = dup {
        return Answer::error(409, "conflict", format!("{dup} already exists"));
    }
    let Some(item) = s.find_mut(coll, id, &c.scope) else {
        return Answer::not_found(&singular(coll));
    };
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

impl Store {
    pub(super) fn singleton(&self, coll: &str, scope: &Map<String, Value>) -> Value {
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

    pub(super) fn set_singleton(&mut self, coll: &str, scope: &Map<String, Value>, v: Value) {
        let items = self.all_mut(&format!("@{coll}"));
        items.retain(|x| !in_scope(x, scope));
        items.push(v);
    }

    fn duplicate(&self, coll: &str, item: &Map<String, Value>) -> Option<String> {
        let fields = UNIQUE.iter().find(|(c, _)| *c == coll)?.1;
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

/// The fields that make an item unique in its collection (a second one is a 409).
const UNIQUE: &[(&str, &[&str])] = &[
    ("domains", &["name"]),
    ("mailboxes", &["domain_id", "local_part"]),
    ("messages/folders", &["mailbox_id", "name"]),
    ("messages/contacts", &["mailbox_id", "email"]),
    (
        "messages/blocked-senders",
        &["mailbox_id", "email_or_domain"],
    ),
    ("mailboxes/aliases", &["mailbox_id", "local_part"]),
    ("mailboxes/members", &["mailbox_id", "member_mailbox_id"]),
    ("domains/forwarding-addresses", &["domain_id", "local_part"]),
    ("messages/external-accounts", &["mailbox_id", "email"]),
];

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
