//! How mail leaves: per-domain SMTP routing through profiles (a profile in use cannot go), SMTP
//! tests as jobs, what happened to a sent message, sending limits, deliverability figures.

use serde_json::{Map, Value, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("set_domain_smtp", set_domain_smtp),
    ("set_account_smtp_default", set_domain_smtp),
    ("delete_domain_smtp_profile", delete_profile),
    ("get_domain_smtp_profile_usage", profile_usage),
    ("test_domain_smtp", test_domain_smtp),
    ("get_sending_limits", |s, _| Some(limits(s, None))),
    ("get_mailbox_sending_limits", |s, c| {
        Some(limits(s, Some(c.r.mailbox_id)))
    }),
    ("get_domain_deliverability", deliverability),
];

const PROFILES: &str = "domains/smtp/profiles";

/// `custom` routing must name a profile that exists (of the domain, when there is one).
fn set_domain_smtp(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    if b["smtp_mode"] == "custom" {
        let conn = &b["smtp_connection_id"];
        if conn.is_null() || s.find(PROFILES, conn, &c.scope).is_none() {
            return Some(Answer::field(
                "smtp_connection_id",
                "custom routing needs an existing SMTP profile",
            ));
        }
    }
    None
}

/// The domains whose routing uses `profile`.
fn users(s: &Store, profile: &Value) -> Vec<Value> {
    s.all("@domains/smtp")
        .into_iter()
        .filter(|d| d["smtp_connection_id"] == *profile && d["smtp_mode"] == "custom")
        .map(|d| d["domain_id"].clone())
        .collect()
}

fn delete_profile(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    if !users(s, &c.p("profile_id")).is_empty() {
        return Some(Answer::error(
            409,
            "profile_in_use",
            "a domain routes through this profile; change its routing first",
        ));
    }
    None
}

fn profile_usage(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    s.find(PROFILES, &c.p("profile_id"), &c.scope)?;
    let domains = users(s, &c.p("profile_id"));
    Some(Answer::ok(
        json!({"profile_id": c.p("profile_id"), "in_use": !domains.is_empty(), "domain_ids": domains}),
    ))
}

fn test_domain_smtp(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = format!("00000000-0000-4000-8000-{:012}", s.id());
    let job = json!({"id": id, "job_id": id, "domain_id": c.p("domain_id"), "mode": c.b()["mode"], "status": "running", "progress": 0, "created_at": NOW});
    s.put("domains/smtp:test-status", job.clone());
    Some(Answer::accepted(job))
}

fn limits(s: &Store, mailbox: Option<i64>) -> Answer {
    let sent = s
        .all("messages")
        .iter()
        .filter(|m| m["folder"] == "Sent" && mailbox.is_none_or(|mb| m["mailbox_id"] == mb))
        .count();
    Answer::ok(json!({
        "mailbox_id": mailbox, "per_hour": {"limit": 200, "used": sent, "resets_at": "2026-01-15T10:00:00Z"},
        "per_day": {"limit": 2000, "used": sent, "resets_at": "2026-01-16T00:00:00Z"},
    }))
}

fn deliverability(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let scope: Map<String, Value> = c.scope.clone();
    let bounces = s
        .all("domains/bounces")
        .iter()
        .filter(|b| crate::store::in_scope(b, &scope))
        .count();
    Some(Answer::ok(json!({
        "domain_id": c.p("domain_id"), "days": c.r.query.get("days").cloned().unwrap_or(json!(30)),
        "sent": 1200, "delivered": 1200 - bounces, "bounced": bounces, "complaints": 0,
    })))
}
