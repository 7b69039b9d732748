//! Reading mail beyond the message itself: attachments (one, or all as a ZIP), the raw source,
//! reply and forward drafts, and bulk actions on many messages.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::Behaviour;
use crate::store::{Answer, Call, Store, key};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("download_attachment", attachment),
    ("download_all_attachments", all_attachments),
    ("get_raw_message", raw),
    ("prepare_reply", |s, c| prepare(s, c, Prepare::Reply)),
    ("prepare_reply_all", |s, c| prepare(s, c, Prepare::ReplyAll)),
    ("prepare_forward", |s, c| prepare(s, c, Prepare::Forward)),
    ("bulk_action", bulk_action),
];

fn attachment(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let m = s.find("messages", &c.p("uid"), &c.scope)?;
    let i = c.p("index").as_u64().unwrap_or(u64::MAX) as usize;
    Some(match m["attachments"].as_array().and_then(|a| a.get(i)) {
        Some(a) => Answer::ok(a.clone()),
        None => Answer::not_found("attachment"),
    })
}

fn all_attachments(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let m = s.find("messages", &c.p("uid"), &c.scope)?;
    let files: Vec<(String, Vec<u8>)> = m["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            (
                a["filename"].as_str().unwrap_or("file").to_owned(),
                B64.decode(a["content_base64"].as_str().unwrap_or_default())
                    .unwrap_or_default(),
            )
        })
        .collect();
    if files.is_empty() {
        return Some(Answer::not_found("attachment"));
    }
    let zip = crate::zip::stored(&files);
    Some(Answer::ok(json!({
        "filename": format!("message-{}-attachments.zip", key(&m["uid"])),
        "content_type": "application/zip", "size": zip.len(), "content_base64": B64.encode(&zip),
    })))
}

fn raw(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let m = s.find("messages", &c.p("uid"), &c.scope)?;
    let to: Vec<&str> = m["to"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let raw = format!(
        "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: Thu, 15 Jan 2026 09:00:00 +0000\r\nMessage-ID: <{}@sandbox.trekmail>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        m["from"].as_str().unwrap_or_default(),
        to.join(", "),
        m["subject"].as_str().unwrap_or_default(),
        key(&m["uid"]),
        m["body_text"].as_str().unwrap_or_default()
    );
    Some(Answer::ok(
        json!({"raw_base64": B64.encode(raw.as_bytes()), "size": raw.len()}),
    ))
}

#[derive(Clone, Copy, PartialEq)]
enum Prepare {
    Reply,
    ReplyAll,
    Forward,
}

fn prepare(s: &mut Store, c: &Call<'_>, how: Prepare) -> Option<Answer> {
    let m = s.find("messages", &c.p("uid"), &c.scope)?;
    let fwd = how == Prepare::Forward;
    let prefix = if fwd { "Fwd: " } else { "Re: " };
    let subject = format!("{prefix}{}", m["subject"].as_str().unwrap_or_default());
    let to = if fwd { json!([]) } else { json!([m["from"]]) };
    let cc = if how == Prepare::ReplyAll {
        m["to"].clone()
    } else {
        json!([])
    };
    Some(Answer::ok(json!({
        "to": to, "cc": cc, "subject": subject,
        "in_reply_to": format!("<{}@sandbox.trekmail>", key(&m["uid"])),
        "quoted_text": format!("> {}", m["body_text"].as_str().unwrap_or_default()),
    })))
}

fn bulk_action(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    let action = b["action"].as_str().unwrap_or_default().to_owned();
    let mut done = Vec::new();
    for uid in b["uids"].as_array().into_iter().flatten() {
        if action == "delete" {
            if s.remove("messages", uid, &c.scope).is_some() {
                done.push(uid.clone());
            }
            continue;
        }
        if let Some(m) = s.find_mut("messages", uid, &c.scope) {
            match action.as_str() {
                "read" => m["seen"] = json!(true),
                "unread" => m["seen"] = json!(false),
                "flag" => m["flagged"] = json!(true),
                "unflag" => m["flagged"] = json!(false),
                "spam" => m["folder"] = json!("Junk"),
                "move" => m["folder"] = b["destination"].clone(),
                _ => {}
            }
            done.push(uid.clone());
        }
    }
    Some(Answer::ok(
        json!({"action": action, "affected": done.len(), "uids": done}),
    ))
}
