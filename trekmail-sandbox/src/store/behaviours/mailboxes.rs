//! Mailboxes beyond CRUD: created with a generated password (one or many), the two-step delete,
//! and message tokens (the secret shown once).

use serde_json::{Map, Value, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("create_mailbox_generated_password", create_generated),
    ("bulk_create_mailboxes", bulk_create),
    ("create_delete_intent", create_delete_intent),
    ("confirm_delete_intent", confirm_delete_intent),
    ("create_message_token", create_message_token),
    ("revoke_message_token", revoke_message_token),
];

/// The special folders every mailbox has.
pub(super) const RESERVED: [&str; 7] = [
    "INBOX",
    "Sent",
    "Drafts",
    "Junk",
    "Trash",
    "Archive",
    "Scheduled",
];

fn create_generated(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    Some(match s.find("domains", &b["domain_id"], &Map::new()) {
        Some(d) => s.create_mailbox(&d, &b["local_part"]),
        None => Answer::field("domain_id", "no such domain"),
    })
}

fn bulk_create(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let mut results = Vec::new();
    for item in c.b()["items"].as_array().into_iter().flatten() {
        let a = match s.find("domains", &item["domain_id"], &Map::new()) {
            Some(d) => s.create_mailbox(&d, &item["local_part"]),
            None => Answer::not_found("domain"),
        };
        results.push(json!({"status": a.status, "result": a.body}));
    }
    Some(Answer::ok(json!({"results": results})))
}

fn create_delete_intent(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = s.id();
    let intent = json!({"id": id, "intent_id": id, "mailbox_id": c.p("mailbox_id"), "expires_at": "2026-01-15T09:15:00Z", "status": "pending"});
    s.put("delete-intents", intent.clone());
    Some(Answer::created(intent))
}

fn confirm_delete_intent(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let Some(intent) = s.remove("delete-intents", &c.p("intent_id"), &Map::new()) else {
        return Some(Answer::error(
            404,
            "not_found",
            "delete intent not found or expired",
        ));
    };
    s.remove("mailboxes", &intent["mailbox_id"], &Map::new());
    Some(Answer::ok(
        json!({"mailbox_id": intent["mailbox_id"], "deleted": true}),
    ))
}

fn create_message_token(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = s.id();
    // Not prefixed by the sandbox's own token, which the MCP server redacts from every answer.
    let token = format!("tm_msg_minted{id:06}");
    s.message_tokens
        .insert(token.clone(), c.p("mailbox_id").as_i64().unwrap_or(1));
    let b = c.b();
    let item = json!({"id": id, "mailbox_id": c.p("mailbox_id"), "name": b["name"], "scopes": b["scopes"], "status": "active", "created_at": NOW});
    s.put("mailboxes/message-tokens", item.clone());
    let mut shown = item;
    shown["token"] = json!(token);
    Some(Answer::created(shown))
}

fn revoke_message_token(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    Some(
        match s.remove("mailboxes/message-tokens", &c.p("token_id"), &Map::new()) {
            Some(_) => Answer::ok(json!({"id": c.p("token_id"), "revoked": true})),
            None => Answer::not_found("message token"),
        },
    )
}

impl Store {
    pub(in crate::store) fn email_of(&self, mailbox: i64) -> String {
        self.find("mailboxes", &json!(mailbox), &Map::new())
            .and_then(|m| m["email"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "alice@example.com".into())
    }

    /// A mailbox `local@domain` with its special folders; the generated password shown once.
    fn create_mailbox(&mut self, domain: &Value, local: &Value) -> Answer {
        let email = format!(
            "{}@{}",
            local.as_str().unwrap_or_default(),
            domain["name"].as_str().unwrap_or_default()
        );
        if self
            .all("mailboxes")
            .iter()
            .any(|m| m["email"] == json!(email))
        {
            return Answer::error(409, "conflict", format!("mailbox {email} already exists"));
        }
        let id = self.id();
        let m = json!({"id": id, "domain_id": domain["id"], "local_part": local, "email": email, "status": "active", "imap_enabled": false, "note": null, "created_at": NOW});
        self.put("mailboxes", m.clone());
        for f in RESERVED {
            self.put(
                "messages/folders",
                json!({"id": f, "path": f, "name": f, "mailbox_id": id, "special": true}),
            );
        }
        let mut shown = m;
        shown["generated_password"] = json!(format!("Sandbox-{id}-Pw!"));
        Answer::created(shown)
    }
}
