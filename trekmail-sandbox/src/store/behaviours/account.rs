//! Who is calling and what the account is: token details, account, billing, credits.

use serde_json::json;

use super::Behaviour;
use crate::store::{Answer, Call, Store};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("whoami", whoami),
    ("get_message_token_info", message_token_info),
    ("get_account", account),
    ("get_billing_status", billing),
    ("verify_credits", credits),
];

fn whoami(_: &mut Store, _: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(json!({
        "token": {"name": "sandbox", "kind": "ops", "expires_at": null},
        "account": {"id": 1, "name": "Sandbox account"},
        "capabilities": {"effective_scopes": ["*"]},
        "sandbox": true,
    })))
}

fn message_token_info(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(json!({
        "mailbox_id": c.r.mailbox_id,
        "email": s.email_of(c.r.mailbox_id),
        "scopes": ["messages:read", "messages:write", "messages:send"],
        "sandbox": true,
    })))
}

fn account(s: &mut Store, _: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(json!({
        "id": 1, "name": "Sandbox account", "plan": "sandbox",
        "domains": s.all("domains").len(), "mailboxes": s.all("mailboxes").len(),
    })))
}

fn billing(_: &mut Store, _: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(
        json!({"status": "active", "plan": "sandbox", "trial": false}),
    ))
}

fn credits(_: &mut Store, _: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(json!({"credits": 1000})))
}
