//! IMAP folders: special folders are reserved, paths are unique, emptying deletes the messages.

use serde_json::json;

use super::Behaviour;
use super::mailboxes::RESERVED;
use crate::store::{Answer, Call, Store, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("create_folder", create),
    ("rename_folder", rename),
    ("empty_folder", empty),
];

fn create(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    let name = b["name"].as_str().unwrap_or_default().to_owned();
    if RESERVED.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
        return Some(Answer::field("name", "is a reserved folder name"));
    }
    let path = match b["parent"].as_str() {
        Some(parent) => format!("{parent}/{name}"),
        None => name.clone(),
    };
    if s.find("messages/folders", &json!(path), &c.scope).is_some() {
        return Some(Answer::error(409, "conflict", "folder already exists"));
    }
    let f = json!({"id": path, "path": path, "name": name, "mailbox_id": c.mailbox(), "special": false});
    s.put("messages/folders", f.clone());
    Some(Answer::created(public(f)))
}

fn rename(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let new = c.b()["name"].as_str().unwrap_or_default().to_owned();
    if s.find("messages/folders", &json!(new), &c.scope).is_some() {
        return Some(Answer::error(409, "conflict", "folder already exists"));
    }
    let f = s.find_mut("messages/folders", &c.p("path"), &c.scope)?;
    if f["special"] == true {
        return Some(Answer::error(
            422,
            "reserved_folder",
            "special folders cannot be renamed",
        ));
    }
    f["id"] = json!(new);
    f["path"] = json!(new);
    f["name"] = json!(new);
    Some(Answer::ok(public(f.clone())))
}

fn empty(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let folder = c.b()["folder"].clone();
    let mb = c.mailbox();
    let items = s.all_mut("messages");
    let before = items.len();
    items.retain(|m| !(m["folder"] == folder && m["mailbox_id"] == mb));
    let deleted = before - items.len();
    Some(Answer::ok(json!({"folder": folder, "deleted": deleted})))
}
