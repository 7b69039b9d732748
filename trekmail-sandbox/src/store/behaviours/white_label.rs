//! White Label members and their lifecycle: invited (a one-time invitation link on the sandbox's
//! host; opening it accepts), active, suspended and resumed, removed and restored; the owner row
//! cannot be changed. Every step is recorded in the activity log.

use serde_json::{Map, Value, json};

use super::Behaviour;
use crate::store::outside::link;
use crate::store::{Answer, Call, NOW, Store, list, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("get_white_label", overview),
    ("get_white_label_access_catalog", catalog),
    ("invite_white_label_member", invite),
    ("update_white_label_member", update),
    ("suspend_white_label_member", |s, c| {
        step(s, c, &["active"], "suspended", "member_suspended")
    }),
    ("resume_white_label_member", |s, c| {
        step(s, c, &["suspended"], "active", "member_resumed")
    }),
    ("remove_white_label_member", |s, c| {
        step(
            s,
            c,
            &["pending", "active", "suspended"],
            "revoked",
            "member_removed",
        )
    }),
    ("restore_white_label_member", restore),
    ("resend_white_label_invitation", resend),
    ("get_white_label_member_activity", member_activity),
];

const MEMBERS: &str = "white-label/members";

fn overview(s: &mut Store, _: &Call<'_>) -> Option<Answer> {
    let sub = s.singleton("agent/white-label", &Map::new());
    let members = s
        .all(MEMBERS)
        .iter()
        .filter(|m| m["status"] != "revoked")
        .count();
    Some(Answer::ok(
        json!({"enabled": true, "subscription": sub.get("period").map(|p| json!({"period": p, "status": "active"})), "members": members, "brand_name": "Sandbox Mail"}),
    ))
}

fn catalog(_: &mut Store, _: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(json!({
        "roles": ["client", "webmail_only", "domain_admin", "mailbox_operator", "read_only", "custom"],
        "permissions": ["domains.read", "domains.write", "mailboxes.read", "mailboxes.write", "billing.read", "webmail.use"],
    })))
}

impl Store {
    /// Records one White Label event.
    pub(in crate::store) fn activity(&mut self, action: &str, member: &Value) {
        let id = self.id();
        self.put(
            "white-label/activity",
            json!({"id": id, "action": action, "member_id": member, "created_at": NOW}),
        );
    }
}

fn invitation(c: &Call<'_>, s: &mut Store, member: &Value) -> Value {
    let token = format!(
        "inv_{}",
        crate::store::outside::etag(format!("{member}{}", s.id()).as_bytes())
    );
    if let Some(m) = s.find_mut(MEMBERS, member, &Map::new()) {
        m["_invitation"] = json!(token);
    }
    json!(link(&c.r.base_url, &format!("invitations/{token}")))
}

fn invite(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let b = c.b();
    let email = b["email"].as_str().unwrap_or_default().to_lowercase();
    if s.all(MEMBERS)
        .iter()
        .any(|m| m["email"] == email && m["status"] != "revoked")
    {
        return Some(Answer::error(
            409,
            "conflict",
            "this address is already a member or invited",
        ));
    }
    let scoped = b["all_domains"] != true && b["role"] != "custom";
    if scoped && b["domain_ids"].as_array().is_none_or(Vec::is_empty) {
        return Some(Answer::field(
            "domain_ids",
            "a domain-scoped role needs at least one domain",
        ));
    }
    if b["role"] == "custom" && b["permissions"].as_array().is_none_or(Vec::is_empty) {
        return Some(Answer::field(
            "permissions",
            "role=custom needs permissions",
        ));
    }
    let id = s.id();
    let member = json!({"id": id, "email": email, "role": b["role"], "all_domains": b["all_domains"], "domain_ids": b.get("domain_ids").cloned().unwrap_or(json!([])), "permissions": b.get("permissions").cloned().unwrap_or(json!([])), "note": b.get("note"), "status": "pending", "invited_at": NOW, "created_at": NOW});
    s.put(MEMBERS, member);
    let url = invitation(c, s, &json!(id));
    s.activity("member_invited", &json!(id));
    let shown = public(s.find(MEMBERS, &json!(id), &Map::new())?);
    Some(Answer::created(
        json!({"member": shown, "invitation_url": url, "delivery": {"status": "sent", "to": email, "sandbox": true}}),
    ))
}

/// The member of the request, unless it is the owner (which cannot be changed).
fn changeable(s: &Store, c: &Call<'_>) -> Result<Value, Answer> {
    match s.find(MEMBERS, &c.p("member_id"), &Map::new()) {
        Some(m) if m["role"] == "owner" => Err(Answer::error(
            403,
            "owner_immutable",
            "the owner cannot be changed",
        )),
        Some(m) => Ok(m),
        None => Err(Answer::not_found("member")),
    }
}

fn update(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    if let Err(a) = changeable(s, c) {
        return Some(a);
    }
    s.activity("member_updated", &c.p("member_id"));
    None
}

fn step(s: &mut Store, c: &Call<'_>, from: &[&str], to: &str, action: &str) -> Option<Answer> {
    let m = match changeable(s, c) {
        Ok(m) => m,
        Err(a) => return Some(a),
    };
    let now = m["status"].as_str().unwrap_or_default();
    if !from.contains(&now) {
        return Some(Answer::error(
            409,
            "invalid_transition",
            format!("a {now} member cannot become {to}"),
        ));
    }
    let m = s.find_mut(MEMBERS, &c.p("member_id"), &Map::new())?;
    m["_before"] = json!(now);
    m["status"] = json!(to);
    m["updated_at"] = json!(NOW);
    let shown = public(m.clone());
    s.activity(action, &c.p("member_id"));
    Some(Answer::ok(shown))
}

fn restore(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let m = match changeable(s, c) {
        Ok(m) => m,
        Err(a) => return Some(a),
    };
    if m["status"] != "revoked" {
        return Some(Answer::error(
            409,
            "invalid_transition",
            "only a removed member can be restored",
        ));
    }
    let back = if m["accepted_at"].is_string() {
        "active"
    } else {
        "pending"
    };
    let m = s.find_mut(MEMBERS, &c.p("member_id"), &Map::new())?;
    m["status"] = json!(back);
    let shown = public(m.clone());
    s.activity("member_restored", &c.p("member_id"));
    Some(Answer::ok(shown))
}

fn resend(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let m = match changeable(s, c) {
        Ok(m) => m,
        Err(a) => return Some(a),
    };
    if m["status"] != "pending" {
        return Some(Answer::error(
            409,
            "not_pending",
            "only a pending invitation can be resent",
        ));
    }
    let url = invitation(c, s, &m["id"]);
    s.activity("invitation_resent", &m["id"]);
    Some(Answer::ok(
        json!({"member": public(m.clone()), "invitation_url": url, "delivery": {"status": "sent", "to": m["email"], "sandbox": true}}),
    ))
}

fn member_activity(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let member = c.p("member_id");
    let mut items: Vec<Value> = s
        .all("white-label/activity")
        .into_iter()
        .filter(|a| a["member_id"] == member)
        .collect();
    items.reverse();
    let page = list::answer(c.r.op, items, &c.r.query);
    Some(Answer::ok(
        json!({"member_id": member, "events": page.body["data"], "pagination": page.body["meta"]}),
    ))
}
