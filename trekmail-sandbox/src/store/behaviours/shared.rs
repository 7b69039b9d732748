//! Shared mailboxes: created with their members, converted from and back to a regular mailbox
//! (the members go with it), a trashed mailbox restored, and the contact-group and message-token
//! reads that live under other paths.

use serde_json::{Map, Value, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store, list, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("create_shared_mailbox", create),
    ("convert_mailbox_to_shared", to_shared),
    ("convert_shared_mailbox_to_regular", to_regular),
    ("add_shared_mailbox_member", add_member),
    ("restore_mailbox", restore),
    ("list_contact_group_members", group_members),
    ("update_message_token", update_message_token),
];

const MEMBERS: &str = "mailboxes/members";

fn add_members(s: &mut Store, mailbox: &Value, ids: &[Value]) -> Result<(), Answer> {
    for id in ids {
        if s.find("mailboxes", id, &Map::new()).is_none() {
            return Err(Answer::field(
                "member_mailbox_ids",
                "names a mailbox that does not exist",
            ));
        }
    }
    for id in ids {
        let row = s.id();
        s.put(MEMBERS, json!({"id": row, "mailbox_id": mailbox, "member_mailbox_id": id, "can_send": true, "custom_label": null, "status": "active", "created_at": NOW}));
    }
    Ok(())
}

fn create(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    let Some(d) = s.find("domains", &b["domain_id"], &Map::new()) else {
        return Some(Answer::field("domain_id", "no such domain"));
    };
    let email = format!(
        "{}@{}",
        b["local_part"].as_str().unwrap_or_default(),
        d["name"].as_str().unwrap_or_default()
    );
    if s.all("mailboxes").iter().any(|m| m["email"] == email) {
        return Some(Answer::error(
            409,
            "conflict",
            format!("mailbox {email} already exists"),
        ));
    }
    let id = s.id();
    let ids = b["member_mailbox_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Err(a) = add_members(s, &json!(id), &ids) {
        return Some(a);
    }
    let m = json!({"id": id, "domain_id": d["id"], "local_part": b["local_part"], "email": email, "display_name": b["display_name"], "kind": "shared", "status": "active", "imap_enabled": false, "note": null, "created_at": NOW});
    s.put("mailboxes", m.clone());
    Some(Answer::created(
        json!({"mailbox": m, "member_mailbox_ids": ids}),
    ))
}

fn to_shared(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = c.p("mailbox_id");
    if s.find("mailboxes", &id, &Map::new())?["kind"] == "shared" {
        return Some(Answer::error(
            409,
            "already_shared",
            "the mailbox is already shared",
        ));
    }
    let ids = c.b()["member_mailbox_ids"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Err(a) = add_members(s, &id, &ids) {
        return Some(a);
    }
    let m = s.find_mut("mailboxes", &id, &Map::new())?;
    m["kind"] = json!("shared");
    Some(Answer::ok(public(m.clone())))
}

fn to_regular(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = c.p("mailbox_id");
    if s.find("mailboxes", &id, &Map::new())?["kind"] != "shared" {
        return Some(Answer::error(
            409,
            "not_shared",
            "the mailbox is not shared",
        ));
    }
    s.all_mut(MEMBERS).retain(|m| m["mailbox_id"] != id);
    let m = s.find_mut("mailboxes", &id, &Map::new())?;
    m["kind"] = json!("regular");
    Some(Answer::ok(public(m.clone())))
}

fn add_member(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let member = &c.b()["member_mailbox_id"];
    if s.find("mailboxes", member, &Map::new()).is_none() {
        return Some(Answer::field("member_mailbox_id", "no such mailbox"));
    }
    if *member == c.p("mailbox_id") {
        return Some(Answer::field(
            "member_mailbox_id",
            "a mailbox cannot be its own member",
        ));
    }
    None
}

fn restore(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let m = s.find_mut("mailboxes", &c.p("mailbox_id"), &Map::new())?;
    if m["status"] != "trashed" {
        return Some(Answer::error(
            409,
            "not_trashed",
            "only a trashed mailbox can be restored",
        ));
    }
    m["status"] = json!("active");
    Some(Answer::ok(public(m.clone())))
}

fn group_members(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let g = s.find("messages/contact-groups", &c.p("id"), &c.scope)?;
    let ids = g["contact_ids"].as_array().cloned().unwrap_or_default();
    let items: Vec<Value> = s
        .all("messages/contacts")
        .into_iter()
        .filter(|x| ids.contains(&x["id"]))
        .collect();
    Some(list::answer(c.r.op, items, &c.r.query))
}

fn update_message_token(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let t = s.find_mut("mailboxes/message-tokens", &c.p("token_id"), &Map::new());
    let Some(t) = t else {
        return Some(Answer::not_found("message token"));
    };
    for (k, v) in c.b().as_object().into_iter().flatten() {
        t[k.as_str()] = v.clone();
    }
    t["updated_at"] = json!(NOW);
    Some(Answer::ok(public(t.clone())))
}
