//! Mail that goes out: a sent message lands in Sent and in the inbox of every sandbox mailbox it
//! is addressed to; scheduled messages and drafts.

use serde_json::{Value, json};

use super::Behaviour;
use crate::store::seed::message;
use crate::store::{Answer, Call, Store, public, scrub};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("send_message", send),
    ("schedule_message", schedule),
    ("save_draft", save_draft),
    ("update_draft", update_draft),
];

/// The plain-text body, wherever the request put it.
fn body_text(b: &Value) -> &str {
    b["body"]["text"]
        .as_str()
        .or(b["text"].as_str())
        .or(b["body"].as_str())
        .unwrap_or_default()
}

fn send(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    let uid = s.id();
    let to = b["to"].as_array().cloned().unwrap_or_default();
    let from = s.email_of(c.r.mailbox_id);
    let subject = b["subject"].as_str().unwrap_or_default();
    let text = body_text(b);
    let mut sent = message(
        uid,
        c.r.mailbox_id,
        "Sent",
        &from,
        &to,
        subject,
        text,
        vec![],
    );
    sent["seen"] = json!(true);
    s.put("messages", sent);
    let mut delivered = Vec::new();
    let rcpts: Vec<Value> = ["to", "cc", "bcc"]
        .iter()
        .flat_map(|k| b[*k].as_array().cloned().unwrap_or_default())
        .collect();
    for rcpt in rcpts {
        let addr = rcpt.as_str().unwrap_or_default().to_lowercase();
        let target = s
            .all("mailboxes")
            .into_iter()
            .find(|m| m["email"] == json!(addr));
        if let Some(m) = target {
            let id = s.id();
            let mailbox = m["id"].as_i64().unwrap_or(0);
            let copy = message(id, mailbox, "INBOX", &from, &to, subject, text, vec![]);
            s.put("messages", copy);
            delivered.push(json!(addr));
        }
    }
    // What happened to it, for get_message_delivery.
    let request_id = format!("req_{uid:08}");
    s.put("messages/deliveries", json!({"id": request_id, "request_id": request_id, "mailbox_id": c.r.mailbox_id, "uid": uid, "status": "sent", "recipients": delivered.len(), "created_at": crate::store::NOW}));
    Some(Answer::ok(json!({
        "uid": uid, "folder": "Sent", "status": "sent", "delivered_to_sandbox": delivered,
        "message_id": format!("<{uid}@sandbox.trekmail>"), "request_id": request_id,
    })))
}

fn schedule(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = s.id();
    let mut item = scrub(c.b());
    item["id"] = json!(id);
    item["mailbox_id"] = c.mailbox();
    item["status"] = json!("pending");
    s.put("messages/scheduled", item.clone());
    Some(Answer::created(item))
}

fn save_draft(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    let uid = s.id();
    let to = b["to"].as_array().cloned().unwrap_or_default();
    let subject = b["subject"].as_str().unwrap_or_default();
    let text = b["body"]["text"]
        .as_str()
        .or(b["text"].as_str())
        .unwrap_or_default();
    let from = s.email_of(c.r.mailbox_id);
    let mut d = message(
        uid,
        c.r.mailbox_id,
        "Drafts",
        &from,
        &to,
        subject,
        text,
        vec![],
    );
    d["seen"] = json!(true);
    s.put("messages", d.clone());
    Some(Answer::created(public(d)))
}

fn update_draft(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let d = s.find_mut("messages", &c.p("uid"), &c.scope)?;
    if d["folder"] != "Drafts" {
        return Some(Answer::error(
            422,
            "not_a_draft",
            "the message is not a draft",
        ));
    }
    if let Some(o) = c.b().as_object() {
        for (k, v) in o {
            d[k.as_str()] = v.clone();
        }
    }
    Some(Answer::ok(public(d.clone())))
}
