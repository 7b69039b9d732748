//! How mail apps and people sign in to a mailbox: app passwords (16 lowercase letters, shown
//! once; at most 25 active), the client sign-in mode, login suspension one by one or in bulk,
//! Drive access in bulk, and the mail-app setup (settings, Apple profile).

use serde_json::{Map, Value, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("list_mailbox_app_passwords", list_app_passwords),
    ("create_mailbox_app_password", create_app_password),
    ("rotate_mailbox_app_password", rotate_app_password),
    ("set_mailbox_client_auth_mode", |s, c| {
        set_on_mailbox(s, c, "client_auth_mode", c.b()["mode"].clone())
    }),
    ("suspend_mailbox_login", |s, c| {
        set_on_mailbox(s, c, "login_suspended", json!(true))
    }),
    ("resume_mailbox_login", |s, c| {
        set_on_mailbox(s, c, "login_suspended", json!(false))
    }),
    ("set_mailboxes_login_access", |s, c| {
        in_bulk(s, c, "login_suspended", "login_suspended")
    }),
    ("set_mailboxes_drive_access", |s, c| {
        in_bulk(s, c, "drive_access", "drive_access")
    }),
    ("set_mailboxes_client_auth_mode", |s, c| {
        in_bulk(s, c, "mode", "client_auth_mode")
    }),
    ("get_mail_client_setup", client_setup),
    ("get_apple_mail_profile", apple_profile),
];

const APP_PASSWORDS: &str = "mailboxes/app-passwords";
const MAX_ACTIVE: usize = 25;

fn list_app_passwords(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let items: Vec<Value> = s
        .all(APP_PASSWORDS)
        .into_iter()
        .filter(|p| p["mailbox_id"] == c.p("mailbox_id") && p["status"] == "active")
        .map(public)
        .collect();
    Some(Answer::ok(
        json!({"active": items.len(), "limit": MAX_ACTIVE, "app_passwords": items}),
    ))
}

/// 16 lowercase letters derived from the row id.
fn letters(id: i64) -> String {
    let digest = crate::store::outside::etag(format!("app-password:{id}").as_bytes());
    digest
        .bytes()
        .take(16)
        .map(|b| char::from(b'a' + b % 26))
        .collect()
}

fn issue(s: &mut Store, mailbox: &Value, name: &Value, replaced: Option<&Value>) -> Answer {
    let id = s.id();
    let row = json!({"id": id, "mailbox_id": mailbox, "name": name, "status": "active", "last_used_at": null, "created_at": NOW});
    s.put(APP_PASSWORDS, row.clone());
    let mut shown = row;
    shown["password"] = json!(letters(id));
    if let Some(r) = replaced {
        shown["replaced_id"] = r.clone();
    }
    Answer::created(shown)
}

fn create_app_password(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let mailbox = c.p("mailbox_id");
    let m = s.find("mailboxes", &mailbox, &Map::new())?;
    if m["kind"] == "shared" {
        return Some(Answer::error(
            422,
            "mailbox_not_eligible",
            "a shared mailbox has no sign-in of its own",
        ));
    }
    let active = s
        .all(APP_PASSWORDS)
        .iter()
        .filter(|p| p["mailbox_id"] == mailbox && p["status"] == "active")
        .count();
    if active >= MAX_ACTIVE {
        return Some(Answer::error(
            422,
            "app_password_limit_reached",
            "25 app passwords are active; revoke one first",
        ));
    }
    Some(issue(s, &mailbox, &c.b()["name"], None))
}

fn rotate_app_password(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let scope: Map<String, Value> = c.scope.clone();
    let old = s.find_mut(APP_PASSWORDS, &c.p("app_password_id"), &scope)?;
    if old["status"] != "active" {
        return Some(Answer::not_found("app password"));
    }
    old["status"] = json!("revoked");
    let name = old["name"].clone();
    Some(issue(
        s,
        &c.p("mailbox_id"),
        &name,
        Some(&c.p("app_password_id")),
    ))
}

fn set_on_mailbox(s: &mut Store, c: &Call<'_>, field: &str, value: Value) -> Option<Answer> {
    let reason = c.b().get("reason").cloned();
    let m = s.find_mut("mailboxes", &c.p("mailbox_id"), &Map::new())?;
    m[field] = value;
    if field == "login_suspended" {
        m["login_suspended_reason"] = reason.unwrap_or(Value::Null);
    }
    m["updated_at"] = json!(NOW);
    Some(Answer::ok(public(m.clone())))
}

/// A bulk setting (the body's `from`, the mailbox's `field`) over `mailbox_ids`, a domain's
/// mailboxes, or all of them.
fn in_bulk(s: &mut Store, c: &Call<'_>, from: &str, field: &str) -> Option<Answer> {
    let b = c.b();
    let value = b[from].clone();
    let ids = b["mailbox_ids"].as_array().cloned().unwrap_or_default();
    if ids.is_empty() && b["domain_id"].is_null() && b["all"] != true {
        return Some(Answer::field(
            "mailbox_ids",
            "name mailbox_ids, a domain_id or all=true",
        ));
    }
    let mut affected = Vec::new();
    for m in s.all_mut("mailboxes") {
        let chosen = b["all"] == true
            || ids.contains(&m["id"])
            || (!b["domain_id"].is_null() && m["domain_id"] == b["domain_id"]);
        if chosen {
            m[field] = value.clone();
            affected.push(m["id"].clone());
        }
    }
    Some(Answer::ok(
        json!({field: value, "affected": affected.len(), "mailbox_ids": affected}),
    ))
}

fn client_setup(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let m = s.find("mailboxes", &c.p("mailbox_id"), &Map::new())?;
    Some(Answer::ok(json!({
        "email": m["email"], "username": m["email"], "lang": c.r.query.get("lang").cloned().unwrap_or(json!("en")),
        "imap": {"host": "imap.trekmail.net", "port": 993, "security": "ssl"},
        "smtp": {"host": "smtp.trekmail.net", "port": 465, "security": "ssl"},
        "password": "an app password (create_mailbox_app_password)",
    })))
}

fn apple_profile(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let m = s.find("mailboxes", &c.p("mailbox_id"), &Map::new())?;
    let email = m["email"].as_str().unwrap_or_default();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict><key>PayloadType</key><string>Configuration</string><key>EmailAddress</key><string>{email}</string><key>IncomingMailServerHostName</key><string>imap.trekmail.net</string></dict></plist>\n"
    );
    Some(Answer {
        status: 200,
        body: Value::Null,
        file: Some(("application/x-apple-aspen-config", xml.into_bytes())),
    })
}
