//! Contacts beyond CRUD: CSV import, CSV or vCard export, contact group membership.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::Behaviour;
use crate::store::{Answer, Call, NOW, Store, public};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("import_contacts", import),
    ("export_contacts", export),
    ("add_contact_group_members", |s, c| members(s, c, true)),
    ("remove_contact_group_members", |s, c| members(s, c, false)),
];

fn import(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let bytes = B64
        .decode(c.b()["content_base64"].as_str().unwrap_or_default())
        .unwrap_or_default();
    let text = String::from_utf8(bytes).unwrap_or_default();
    let mut imported = 0;
    for line in text.lines().skip(1) {
        let email = line.split(',').find(|c| c.contains('@')).map(str::trim);
        if let Some(email) = email {
            let id = s.id();
            let name = line.split(',').next().unwrap_or_default();
            s.put("messages/contacts", json!({"id": id, "mailbox_id": c.mailbox(), "email": email, "name": name, "created_at": NOW}));
            imported += 1;
        }
    }
    Some(Answer::ok(json!({"imported": imported, "skipped": 0})))
}

fn export(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let vcard = c.r.query.get("format").is_some_and(|f| f == "vcard");
    let mb = c.mailbox();
    let contacts: Vec<Value> = s
        .all("messages/contacts")
        .into_iter()
        .filter(|c| c["mailbox_id"] == mb)
        .collect();
    let field = |c: &Value, f: &str| c[f].as_str().unwrap_or_default().to_owned();
    let (text, filename, ct) = if vcard {
        let t: String = contacts
            .iter()
            .map(|c| {
                format!(
                    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{}\r\nEMAIL:{}\r\nEND:VCARD\r\n",
                    field(c, "name"),
                    field(c, "email")
                )
            })
            .collect();
        (t, "contacts.vcf", "text/vcard")
    } else {
        let mut t = String::from("name,email\n");
        for c in &contacts {
            t.push_str(&format!("{},{}\n", field(c, "name"), field(c, "email")));
        }
        (t, "contacts.csv", "text/csv")
    };
    Some(Answer::ok(json!({
        "format": if vcard { "vcard" } else { "csv" }, "filename": filename, "content_type": ct,
        "content_base64": B64.encode(text.as_bytes()),
    })))
}

fn members(s: &mut Store, c: &Call<'_>, add: bool) -> Option<Answer> {
    let g = s.find_mut("messages/contact-groups", &c.p("id"), &c.scope)?;
    let mut ids = g["contact_ids"].as_array().cloned().unwrap_or_default();
    for x in c.b()["contact_ids"].as_array().into_iter().flatten() {
        ids.retain(|y| y != x);
        if add {
            ids.push(x.clone());
        }
    }
    g["contact_ids"] = Value::Array(ids);
    Some(Answer::ok(public(g.clone())))
}
