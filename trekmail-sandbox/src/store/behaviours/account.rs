//! Who is calling and what the account is: token details, account, billing, credits.

use serde_json::{Map, json};

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

/// The plan the account holds: `sandbox`, or what the agent subscribed to.
fn plan(s: &Store) -> serde_json::Value {
    let sub = s.singleton("agent/subscription", &Map::new());
    sub.get("plan").cloned().unwrap_or(json!("sandbox"))
}

fn account(s: &mut Store, _: &Call<'_>) -> Option<Answer> {
    // Settings changed by update_account are kept with the account.
    let mut a = s.singleton("account", &Map::new());
    a.as_object_mut()?.remove("enabled");
    a["id"] = json!(1);
    a["name"] = json!("Sandbox account");
    a["plan"] = plan(s);
    a["domains"] = json!(s.all("domains").len());
    a["mailboxes"] = json!(s.all("mailboxes").len());
    Some(Answer::ok(a))
}

fn billing(s: &mut Store, _: &Call<'_>) -> Option<Answer> {
    let sub = s.singleton("agent/subscription", &Map::new());
    Some(Answer::ok(json!({
        "status": "active", "plan": plan(s), "period": sub.get("period"), "trial": false,
        "purchases": s.all("agent/purchases").len(),
    })))
}

fn credits(s: &mut Store, _: &Call<'_>) -> Option<Answer> {
    let bought: u64 = s
        .all("agent/purchases")
        .iter()
        .filter_map(|p| p["detail"]["quantity"].as_u64())
        .sum();
    Some(Answer::ok(json!({
        "credits": 1000 + bought, "monthly_remaining": 1000, "purchased": bought,
        "total_available": 1000 + bought,
    })))
}
