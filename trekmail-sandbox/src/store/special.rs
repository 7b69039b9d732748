//! Behaviour that is more than create/list/get/update/delete: mail delivery, two-step deletes,
//! jobs, file answers, bulk actions.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use super::{Answer, NOW, Request, Store, key, message, public};

const RESERVED: [&str; 7] = [
    "INBOX",
    "Sent",
    "Drafts",
    "Junk",
    "Trash",
    "Archive",
    "Scheduled",
];

impl Store {
    /// The answer of an operation with its own behaviour, or `None` for the generic one.
    pub(super) fn special(
        &mut self,
        r: &Request<'_>,
        scope: &Map<String, Value>,
    ) -> Option<Answer> {
        let b = &r.body;
        let p = |name: &str| r.path.get(name).cloned().unwrap_or(Value::Null);
        let mb = json!(r.mailbox_id);
        Some(match r.op.id.as_str() {
            "whoami" => Answer::ok(
                json!({"token": {"name": "sandbox", "kind": "ops", "expires_at": null}, "account": {"id": 1, "name": "Sandbox account"}, "capabilities": {"effective_scopes": ["*"]}, "sandbox": true}),
            ),
            "get_message_token_info" | "messages_me" => Answer::ok(
                json!({"mailbox_id": r.mailbox_id, "email": self.email_of(r.mailbox_id), "scopes": ["messages:read", "messages:write", "messages:send"], "sandbox": true}),
            ),
            "get_account" => Answer::ok(
                json!({"id": 1, "name": "Sandbox account", "plan": "sandbox", "domains": self.all("domains").len(), "mailboxes": self.all("mailboxes").len()}),
            ),
            "get_billing_status" => {
                Answer::ok(json!({"status": "active", "plan": "sandbox", "trial": false}))
            }
            "verify_credits" => Answer::ok(json!({"credits": 1000})),
            "get_dns_requirements" => {
                let d = self.find("domains", &p("domain_id"), &Map::new())?;
                let name = d["name"].as_str().unwrap_or("example.com").to_owned();
                Answer::ok(json!({"domain_id": d["id"], "records": [
                    {"type": "MX", "host": name, "value": "mx.trekmail.net", "priority": 10},
                    {"type": "TXT", "host": name, "value": "v=spf1 include:trekmail.net ~all"},
                    {"type": "TXT", "host": format!("trek._domainkey.{name}"), "value": "v=DKIM1; k=rsa; p=MIIB"},
                ]}))
            }
            "dns_recheck" => {
                let id = self.id();
                let check = json!({"id": id, "check_id": id, "domain_id": p("domain_id"), "status": "running", "progress": 0, "created_at": NOW});
                self.put("dns-checks", check.clone());
                Answer {
                    status: 202,
                    body: json!({"data": check}),
                    text: None,
                }
            }
            "get_spam_metrics" | "get_spam_summary" => Answer::ok(
                json!({"domain_id": p("domain_id"), "days": r.query.get("days").cloned().unwrap_or(json!(30)), "received": 120, "spam": 4, "spam_rate": 0.033, "series": []}),
            ),
            "create_mailbox_generated_password" => {
                let d = self.find("domains", &b["domain_id"], &Map::new());
                let Some(d) = d else {
                    return Some(Answer::invalid(field("domain_id", "no such domain")));
                };
                let email = format!(
                    "{}@{}",
                    b["local_part"].as_str().unwrap_or_default(),
                    d["name"].as_str().unwrap_or_default()
                );
                self.create_mailbox(&b["domain_id"], &b["local_part"], &email)
            }
            "bulk_create_mailboxes" => {
                let mut results = Vec::new();
                for item in b["items"].as_array().into_iter().flatten() {
                    let d = self.find("domains", &item["domain_id"], &Map::new());
                    let a = match d {
                        Some(d) => {
                            let email = format!(
                                "{}@{}",
                                item["local_part"].as_str().unwrap_or_default(),
                                d["name"].as_str().unwrap_or_default()
                            );
                            self.create_mailbox(&item["domain_id"], &item["local_part"], &email)
                        }
                        None => Answer::not_found("domain"),
                    };
                    results.push(json!({"status": a.status, "result": a.body}));
                }
                Answer::ok(json!({"results": results}))
            }
            "create_delete_intent" => {
                let id = self.id();
                let intent = json!({"id": id, "intent_id": id, "mailbox_id": p("mailbox_id"), "expires_at": "2026-01-15T09:15:00Z", "status": "pending"});
                self.put("delete-intents", intent.clone());
                Answer::created(intent)
            }
            "confirm_delete_intent" => {
                let Some(intent) = self.remove("delete-intents", &p("intent_id"), &Map::new())
                else {
                    return Some(Answer::error(
                        404,
                        "not_found",
                        "delete intent not found or expired",
                    ));
                };
                self.remove("mailboxes", &intent["mailbox_id"], &Map::new());
                Answer::ok(json!({"mailbox_id": intent["mailbox_id"], "deleted": true}))
            }
            "create_message_token" => {
                let id = self.id();
                // Not prefixed by the sandbox's own token, which the MCP server redacts from every answer.
                let token = format!("tm_msg_minted{id:06}");
                self.message_tokens
                    .insert(token.clone(), p("mailbox_id").as_i64().unwrap_or(1));
                let item = json!({"id": id, "mailbox_id": p("mailbox_id"), "name": b["name"], "scopes": b["scopes"], "created_at": NOW});
                self.put("mailboxes/message-tokens", item.clone());
                let mut shown = item;
                shown["token"] = json!(token);
                Answer::created(shown)
            }
            "revoke_message_token" => {
                match self.remove("mailboxes/message-tokens", &p("token_id"), &Map::new()) {
                    Some(_) => Answer::ok(json!({"id": p("token_id"), "revoked": true})),
                    None => Answer::not_found("message token"),
                }
            }
            "get_ticket_messages" => {
                let t = self.find("tickets", &p("ticket_id"), &Map::new())?;
                Answer::list(t["messages"].as_array().cloned().unwrap_or_default())
            }
            "reply_to_ticket" => {
                let t = self.find_mut("tickets", &p("ticket_id"), &Map::new())?;
                let m = json!({"from": "you", "message": b["message"], "created_at": NOW});
                if let Some(a) = t["messages"].as_array_mut() {
                    a.push(m.clone());
                }
                Answer::created(m)
            }
            "create_ticket" => {
                let id = self.id();
                let t = json!({"id": id, "subject": b["subject"], "category": b["category"], "priority": b.get("priority"), "status": "open", "messages": [{"from": "you", "message": b["message"], "created_at": NOW}], "created_at": NOW});
                self.put("tickets", t.clone());
                Answer::created(t)
            }
            "test_smtp" => {
                let id = format!("00000000-0000-4000-8000-{:012}", self.id());
                let job = json!({"id": id, "job_id": id, "status": "running", "progress": 0, "host": b["host"], "port": b["port"]});
                self.put("smtp:test-status", job.clone());
                Answer {
                    status: 202,
                    body: json!({"data": job}),
                    text: None,
                }
            }
            "test_migration_connection" => Answer::ok(
                json!({"ok": true, "folders": ["INBOX", "Sent", "Archive"], "message_count": 42}),
            ),
            "preview_bulk_migration" => {
                Answer::ok(json!({"rows": rows(b), "valid": rows(b).len(), "invalid": 0}))
            }
            "start_bulk_migration" => {
                let id = self.id();
                let jobs: Vec<Value> = rows(b)
                    .into_iter()
                    .map(|mut row| {
                        let jid = self.id();
                        row["id"] = json!(jid);
                        row["batch_id"] = json!(id);
                        row["status"] = json!("running");
                        self.put("migrations/bulk/jobs", row.clone());
                        row
                    })
                    .collect();
                let batch = json!({"id": id, "batch_id": id, "status": "running", "progress": 0, "jobs": jobs, "total": jobs.len(), "created_at": NOW});
                self.put("migrations/bulk", batch.clone());
                Answer::created(batch)
            }
            "verify_email" => Answer::ok(
                json!({"email": b["email"], "result": "valid", "score": 0.98, "mode": b.get("mode")}),
            ),
            "verify_job_download" => {
                let job = self.find("verify/bulk", &p("job_id"), &Map::new())?;
                if job["status"] != "completed" {
                    return Some(Answer::error(
                        409,
                        "job_not_ready",
                        "the job has not finished yet; poll verify_job_status",
                    ));
                }
                let mut csv = String::from("email,result\n");
                for e in job["emails"].as_array().into_iter().flatten() {
                    csv.push_str(&format!("{},valid\n", e.as_str().unwrap_or_default()));
                }
                Answer {
                    status: 200,
                    body: Value::Null,
                    text: Some(csv),
                }
            }
            "verify_cancel_job" => {
                let job = self.find_mut("verify/bulk", &p("job_id"), &Map::new())?;
                job["status"] = json!("cancelled");
                Answer::ok(public(job.clone()))
            }
            "validate_cloudflare_token" => {
                Answer::ok(json!({"valid": true, "permissions": ["Zone:Read", "DNS:Edit"]}))
            }
            "list_cloudflare_zones" => Answer::ok(
                json!({"zones": [{"zone_id": "023e105f4ecef8ad9ca31a8372d0c353", "zone_name": "example.com", "status": "active"}]}),
            ),
            "connect_cloudflare_domains" => {
                let id = self.id();
                self.put(
                    "cloudflare/tokens",
                    json!({"id": id, "name": "Cloudflare token", "created_at": NOW}),
                );
                Answer::ok(json!({"connected": b["selected"], "token_id": id}))
            }
            "preview_cloudflare_dns" | "apply_cloudflare_dns" => Answer::ok(
                json!({"domain_ids": b["domain_ids"], "records": [{"type": "MX", "value": "mx.trekmail.net", "action": "create"}], "applied": r.op.id == "apply_cloudflare_dns"}),
            ),
            // Messages
            "send_message" => {
                let uid = self.id();
                let to = b["to"].as_array().cloned().unwrap_or_default();
                let from = self.email_of(r.mailbox_id);
                let text = b["body"]["text"]
                    .as_str()
                    .or(b["text"].as_str())
                    .or(b["body"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                let subject = b["subject"].as_str().unwrap_or_default().to_owned();
                let mut sent = message(
                    uid,
                    r.mailbox_id,
                    "Sent",
                    &from,
                    &to,
                    &subject,
                    &text,
                    vec![],
                );
                sent["seen"] = json!(true);
                self.put("messages", sent);
                let mut delivered = Vec::new();
                let rcpts: Vec<Value> = ["to", "cc", "bcc"]
                    .iter()
                    .flat_map(|k| b[*k].as_array().cloned().unwrap_or_default())
                    .collect();
                for rcpt in rcpts {
                    let addr = rcpt.as_str().unwrap_or_default().to_lowercase();
                    let target = self
                        .all("mailboxes")
                        .into_iter()
                        .find(|m| m["email"] == json!(addr));
                    if let Some(m) = target {
                        let id = self.id();
                        self.put(
                            "messages",
                            message(
                                id,
                                m["id"].as_i64().unwrap_or(0),
                                "INBOX",
                                &from,
                                &to,
                                &subject,
                                &text,
                                vec![],
                            ),
                        );
                        delivered.push(json!(addr));
                    }
                }
                Answer::ok(
                    json!({"uid": uid, "folder": "Sent", "status": "sent", "delivered_to_sandbox": delivered, "message_id": format!("<{uid}@sandbox.trekmail>")}),
                )
            }
            "schedule_message" => {
                let id = self.id();
                let mut item = super::scrub(b);
                item["id"] = json!(id);
                item["mailbox_id"] = mb;
                item["status"] = json!("scheduled");
                self.put("messages/scheduled", item.clone());
                Answer::created(item)
            }
            "save_draft" => {
                let uid = self.id();
                let mut d = message(
                    uid,
                    r.mailbox_id,
                    "Drafts",
                    &self.email_of(r.mailbox_id),
                    &b["to"].as_array().cloned().unwrap_or_default(),
                    b["subject"].as_str().unwrap_or_default(),
                    b["body"]["text"]
                        .as_str()
                        .or(b["text"].as_str())
                        .unwrap_or_default(),
                    vec![],
                );
                d["seen"] = json!(true);
                self.put("messages", d.clone());
                Answer::created(public(d))
            }
            "update_draft" => {
                let d = self.find_mut("messages", &p("uid"), scope)?;
                if d["folder"] != "Drafts" {
                    return Some(Answer::error(
                        422,
                        "not_a_draft",
                        "the message is not a draft",
                    ));
                }
                if let Some(o) = b.as_object() {
                    for (k, v) in o {
                        d[k.as_str()] = v.clone();
                    }
                }
                Answer::ok(public(d.clone()))
            }
            "download_attachment" => {
                let m = self.find("messages", &p("uid"), scope)?;
                let i = p("index").as_u64().unwrap_or(u64::MAX) as usize;
                match m["attachments"].as_array().and_then(|a| a.get(i)) {
                    Some(a) => Answer::ok(a.clone()),
                    None => Answer::not_found("attachment"),
                }
            }
            "download_all_attachments" => {
                let m = self.find("messages", &p("uid"), scope)?;
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
                Answer::ok(
                    json!({"filename": format!("message-{}-attachments.zip", key(&m["uid"])), "content_type": "application/zip", "size": zip.len(), "content_base64": B64.encode(&zip)}),
                )
            }
            "get_raw_message" => {
                let m = self.find("messages", &p("uid"), scope)?;
                let raw = format!(
                    "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: Thu, 15 Jan 2026 09:00:00 +0000\r\nMessage-ID: <{}@sandbox.trekmail>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
                    m["from"].as_str().unwrap_or_default(),
                    m["to"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    m["subject"].as_str().unwrap_or_default(),
                    key(&m["uid"]),
                    m["text"].as_str().unwrap_or_default()
                );
                Answer::ok(json!({"raw_base64": B64.encode(raw.as_bytes()), "size": raw.len()}))
            }
            "prepare_reply" | "prepare_reply_all" | "prepare_forward" => {
                let m = self.find("messages", &p("uid"), scope)?;
                let fwd = r.op.id == "prepare_forward";
                let subject = format!(
                    "{}{}",
                    if fwd { "Fwd: " } else { "Re: " },
                    m["subject"].as_str().unwrap_or_default()
                );
                let to = if fwd { json!([]) } else { json!([m["from"]]) };
                let cc = if r.op.id == "prepare_reply_all" {
                    m["to"].clone()
                } else {
                    json!([])
                };
                Answer::ok(
                    json!({"to": to, "cc": cc, "subject": subject, "in_reply_to": format!("<{}@sandbox.trekmail>", key(&m["uid"])), "quoted_text": format!("> {}", m["text"].as_str().unwrap_or_default())}),
                )
            }
            "bulk_action" => {
                let action = b["action"].as_str().unwrap_or_default().to_owned();
                let mut done = Vec::new();
                for uid in b["uids"].as_array().into_iter().flatten() {
                    if action == "delete" {
                        if self.remove("messages", uid, scope).is_some() {
                            done.push(uid.clone());
                        }
                        continue;
                    }
                    if let Some(m) = self.find_mut("messages", uid, scope) {
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
                Answer::ok(json!({"action": action, "affected": done.len(), "uids": done}))
            }
            "create_folder" => {
                let name = b["name"].as_str().unwrap_or_default().to_owned();
                if RESERVED.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                    return Some(Answer::invalid(field("name", "is a reserved folder name")));
                }
                let path = match b["parent"].as_str() {
                    Some(parent) => format!("{parent}/{name}"),
                    None => name.clone(),
                };
                if self.find("messages/folders", &json!(path), scope).is_some() {
                    return Some(Answer::error(409, "conflict", "folder already exists"));
                }
                let f = json!({"id": path, "path": path, "name": name, "mailbox_id": mb, "special": false});
                self.put("messages/folders", f.clone());
                Answer::created(public(f))
            }
            "rename_folder" => {
                let new = b["name"].as_str().unwrap_or_default().to_owned();
                if self.find("messages/folders", &json!(new), scope).is_some() {
                    return Some(Answer::error(409, "conflict", "folder already exists"));
                }
                let f = self.find_mut("messages/folders", &p("path"), scope)?;
                if f["special"] == true {
                    return Some(Answer::error(
                        422,
                        "reserved_folder",
                        "special folders cannot be renamed",
                    ));
                }
                f["id"] = json!(new);
                f["path"] = json!(new);
                f["name"] = json!(new);
                Answer::ok(public(f.clone()))
            }
            "empty_folder" => {
                let folder = b["folder"].clone();
                let before = self.all("messages").len();
                if let Some(items) = self.collections.get_mut("messages") {
                    items.retain(|m| !(m["folder"] == folder && m["mailbox_id"] == mb));
                }
                Answer::ok(
                    json!({"folder": folder, "deleted": before - self.all("messages").len()}),
                )
            }
            "import_contacts" => {
                let text = String::from_utf8(
                    B64.decode(b["content_base64"].as_str().unwrap_or_default())
                        .unwrap_or_default(),
                )
                .unwrap_or_default();
                let mut imported = 0;
                for line in text.lines().skip(1) {
                    let email = line.split(',').find(|c| c.contains('@')).map(str::trim);
                    if let Some(email) = email {
                        let id = self.id();
                        self.put("messages/contacts", json!({"id": id, "mailbox_id": mb, "email": email, "name": line.split(',').next().unwrap_or_default(), "created_at": NOW}));
                        imported += 1;
                    }
                }
                Answer::ok(json!({"imported": imported, "skipped": 0}))
            }
            "export_contacts" => {
                let vcard = r.query.get("format").is_some_and(|f| f == "vcard");
                let contacts: Vec<Value> = self
                    .all("messages/contacts")
                    .into_iter()
                    .filter(|c| c["mailbox_id"] == mb)
                    .collect();
                let (text, filename, ct) = if vcard {
                    let t: String = contacts
                        .iter()
                        .map(|c| {
                            format!(
                                "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{}\r\nEMAIL:{}\r\nEND:VCARD\r\n",
                                c["name"].as_str().unwrap_or_default(),
                                c["email"].as_str().unwrap_or_default()
                            )
                        })
                        .collect();
                    (t, "contacts.vcf", "text/vcard")
                } else {
                    let mut t = String::from("name,email\n");
                    for c in &contacts {
                        t.push_str(&format!(
                            "{},{}\n",
                            c["name"].as_str().unwrap_or_default(),
                            c["email"].as_str().unwrap_or_default()
                        ));
                    }
                    (t, "contacts.csv", "text/csv")
                };
                Answer::ok(
                    json!({"format": if vcard { "vcard" } else { "csv" }, "filename": filename, "content_type": ct, "content_base64": B64.encode(text.as_bytes())}),
                )
            }
            "add_contact_group_members" | "remove_contact_group_members" => {
                let add = r.op.id.starts_with("add");
                let g = self.find_mut("messages/contact-groups", &p("id"), scope)?;
                let mut ids = g["contact_ids"].as_array().cloned().unwrap_or_default();
                for c in b["contact_ids"].as_array().into_iter().flatten() {
                    ids.retain(|x| x != c);
                    if add {
                        ids.push(c.clone());
                    }
                }
                g["contact_ids"] = Value::Array(ids);
                Answer::ok(public(g.clone()))
            }
            _ => return None,
        })
    }

    fn email_of(&self, mailbox: i64) -> String {
        self.find("mailboxes", &json!(mailbox), &Map::new())
            .and_then(|m| m["email"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "alice@example.com".into())
    }

    fn create_mailbox(&mut self, domain: &Value, local: &Value, email: &str) -> Answer {
        if self
            .all("mailboxes")
            .iter()
            .any(|m| m["email"] == json!(email))
        {
            return Answer::error(409, "conflict", format!("mailbox {email} already exists"));
        }
        let id = self.id();
        let m = json!({"id": id, "domain_id": domain, "local_part": local, "email": email, "status": "active", "imap_enabled": false, "note": null, "created_at": NOW});
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

fn field(name: &str, msg: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(name.into(), json!([msg]));
    m
}

/// `source_email,source_password,target_email` rows; passwords are dropped.
fn rows(b: &Value) -> Vec<Value> {
    b["data"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split(',').map(str::trim).collect();
            json!({"source_email": cols.first(), "target_email": cols.get(2)})
        })
        .collect()
}
