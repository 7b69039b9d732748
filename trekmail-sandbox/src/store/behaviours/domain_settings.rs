//! Per-domain settings beyond CRUD: a domain answering as an alias of another, mail hosting on
//! or off, forwarding-address logs, Domain Connect, and branding (logos per slot, DNS check,
//! preview link).

use serde_json::{Map, json};

use super::Behaviour;
use crate::store::outside::link;
use crate::store::{Answer, Call, NOW, Store, list, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("set_domain_alias", set_alias),
    ("set_domain_mail_hosting", set_mail_hosting),
    ("get_forwarding_address_log", forwarding_log),
    ("get_domain_connect_setup", domain_connect),
    ("set_domain_brand_logo", set_logo),
    ("remove_domain_brand_logo", remove_logo),
    ("verify_domain_branding_dns", verify_branding),
    ("create_branding_preview", preview),
];

fn set_alias(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let primary = &c.b()["primary_domain_id"];
    if *primary == c.p("domain_id") {
        return Some(Answer::field(
            "primary_domain_id",
            "a domain cannot be an alias of itself",
        ));
    }
    if s.find("domains", primary, &Map::new()).is_none() {
        return Some(Answer::field("primary_domain_id", "no such domain"));
    }
    None
}

fn set_mail_hosting(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let on = c.b()["mail_hosting"].clone();
    let has_mailboxes = s
        .all("mailboxes")
        .iter()
        .any(|m| m["domain_id"] == c.p("domain_id"));
    if on == false && has_mailboxes && c.b()["confirm_mailboxes_stop_receiving"] != true {
        return Some(Answer::field(
            "confirm_mailboxes_stop_receiving",
            "the domain's mailboxes stop receiving mail: confirm it",
        ));
    }
    let d = s.find_mut("domains", &c.p("domain_id"), &Map::new())?;
    d["mail_hosting"] = on;
    d["updated_at"] = json!(NOW);
    Some(Answer::ok(public(d.clone())))
}

fn forwarding_log(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let f = s.find(
        "domains/forwarding-addresses",
        &c.p("forwarding_address_id"),
        &c.scope,
    )?;
    let entries = vec![
        json!({"id": 2, "from": "dave@example.org", "to": f["recipients"], "status": "forwarded", "created_at": NOW}),
        json!({"id": 1, "from": "carol@example.org", "to": f["recipients"], "status": "forwarded", "created_at": "2026-01-14T09:00:00Z"}),
    ];
    let page = list::answer(c.r.op, entries, &c.r.query);
    Some(Answer::ok(
        json!({"forwarding_address_id": f["id"], "entries": page.body["data"], "pagination": page.body["meta"]}),
    ))
}

fn domain_connect(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let d = s.find("domains", &c.p("domain_id"), &Map::new())?;
    Some(Answer::ok(
        json!({"domain_id": d["id"], "supported": true, "provider": "sandbox-dns", "apply_url": link(&c.r.base_url, &format!("domain-connect/{}", d["id"]))}),
    ))
}

fn set_logo(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let data = c.b()["content_base64"].as_str().unwrap_or_default();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
        .unwrap_or_default();
    let image = bytes.starts_with(b"\x89PNG")
        || bytes.starts_with(&[0xff, 0xd8])
        || (c.p("slot") == "favicon" && bytes.starts_with(&[0, 0, 1, 0]));
    if !image {
        return Some(Answer::field(
            "content_base64",
            "must be a PNG or JPEG image (a favicon may be ICO)",
        ));
    }
    let coll = "domains/branding/logo";
    s.remove(coll, &c.p("slot"), &c.scope);
    let row = json!({"id": c.p("slot"), "slot": c.p("slot"), "domain_id": c.p("domain_id"), "size": bytes.len(), "updated_at": NOW});
    s.put(coll, row.clone());
    Some(Answer::ok(row))
}

fn remove_logo(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    Some(
        match s.remove("domains/branding/logo", &c.p("slot"), &c.scope) {
            Some(_) => Answer::ok(json!({"slot": c.p("slot"), "deleted": true})),
            None => Answer::not_found("logo"),
        },
    )
}

fn verify_branding(_: &mut Store, c: &Call<'_>) -> Option<Answer> {
    Some(Answer::ok(
        json!({"domain_id": c.p("domain_id"), "verified": true, "records": [{"type": "CNAME", "host": "mail", "value": "brand.trekmail.net", "ok": true}]}),
    ))
}

fn preview(_: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let url = link(
        &c.r.base_url,
        &format!("branding-preview/{}", c.p("domain_id")),
    );
    Some(Answer::created(json!({"url": url, "expires_in": 600})))
}
