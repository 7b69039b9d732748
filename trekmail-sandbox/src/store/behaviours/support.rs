//! Support tickets: a ticket carries its thread.

use serde_json::{Map, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store, list};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("create_ticket", create),
    ("get_ticket_messages", thread),
    ("reply_to_ticket", reply),
];

fn create(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    let id = s.id();
    let t = json!({"id": id, "subject": b["subject"], "category": b["category"], "priority": b.get("priority"), "status": "open", "messages": [{"from": "you", "message": b["message"], "created_at": NOW}], "created_at": NOW});
    s.put("tickets", t.clone());
    Some(Answer::created(t))
}

fn thread(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let t = s.find("tickets", &c.p("ticket_id"), &Map::new())?;
    let items = t["messages"].as_array().cloned().unwrap_or_default();
    Some(list::answer(c.r.op, items, &c.r.query))
}

fn reply(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let t = s.find_mut("tickets", &c.p("ticket_id"), &Map::new())?;
    let m = json!({"from": "you", "message": c.b()["message"], "created_at": NOW});
    if let Some(a) = t["messages"].as_array_mut() {
        a.push(m.clone());
    }
    Some(Answer::created(m))
}
