//! Domains beyond CRUD: the DNS records to publish, a DNS check as a job, spam figures, and the
//! Cloudflare connection.

use serde_json::{Map, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("get_dns_requirements", dns_requirements),
    ("dns_recheck", dns_recheck),
    ("get_spam_metrics", spam),
    ("get_spam_summary", spam),
    ("validate_cloudflare_token", validate_cloudflare_token),
    ("list_cloudflare_zones", cloudflare_zones),
    ("connect_cloudflare_domains", connect_cloudflare),
    ("preview_cloudflare_dns", |_, c| cloudflare_dns(c, false)),
    ("apply_cloudflare_dns", |_, c| cloudflare_dns(c, true)),
];

fn dns_requirements(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let d = s.find("domains", &c.p("domain_id"), &Map::new())?;
    let name = d["name"].as_str().unwrap_or("example.com").to_owned();
    Some(Answer::ok(json!({"domain_id": d["id"], "records": [
        {"type": "MX", "host": name, "value": "mx.trekmail.net", "priority": 10},
        {"type": "TXT", "host": name, "value": "v=spf1 include:trekmail.net ~all"},
        {"type": "TXT", "host": format!("trek._domainkey.{name}"), "value": "v=DKIM1; k=rsa; p=MIIB"},
    ]})))
}

fn dns_recheck(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = s.id();
    let check = json!({"id": id, "check_id": id, "domain_id": c.p("domain_id"), "status": "running", "progress": 0, "created_at": NOW});
    s.put("dns-checks", check.clone());
    Some(Answer::accepted(check))
}

fn spam(_: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let days = c.r.query.get("days").cloned().unwrap_or(json!(30));
    Some(Answer::ok(json!({
        "domain_id": c.p("domain_id"), "days": days, "received": 120, "spam": 4,
        "spam_rate": 0.033, "series": [],
    })))
}

fn validate_cloudflare_token(_: &mut Store, _: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(
        json!({"valid": true, "permissions": ["Zone:Read", "DNS:Edit"]}),
    ))
}

fn cloudflare_zones(_: &mut Store, _: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(json!({"zones": [
        {"zone_id": "023e105f4ecef8ad9ca31a8372d0c353", "zone_name": "example.com", "status": "active"},
    ]})))
}

fn connect_cloudflare(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let id = s.id();
    s.put(
        "cloudflare/tokens",
        json!({"id": id, "name": "Cloudflare token", "created_at": NOW}),
    );
    Some(Answer::ok(
        json!({"connected": c.b()["selected"], "token_id": id}),
    ))
}

fn cloudflare_dns(c: &Call<'_>, applied: bool) -> Option<Answer> {
    Some(Answer::ok(json!({
        "domain_ids": c.b()["domain_ids"],
        "records": [{"type": "MX", "value": "mx.trekmail.net", "action": "create"}],
        "applied": applied,
    })))
}
