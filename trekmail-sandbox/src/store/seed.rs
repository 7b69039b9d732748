//! The documented seed data: the domain example.com with alice and bob, alice's inbox with two
//! attachments, and at least two items in every listed collection, so that paging and filters
//! have something to page and filter.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use super::{NOW, Store};

/// A 1x1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0, 0, 0,
    1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89, 0, 0, 0, 0x0d, 0x49, 0x44, 0x41, 0x54,
    0x78, 0x9c, 0x63, 0, 1, 0, 0, 5, 0, 1, 0x0d, 0x0a, 0x2d, 0xb4, 0, 0, 0, 0, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

impl Store {
    /// The documented seed data.
    pub fn seeded() -> Self {
        let mut s = Self {
            collections: BTreeMap::new(),
            next_id: 100,
            message_tokens: BTreeMap::new(),
            blobs: BTreeMap::new(),
            revoked_tokens: Vec::new(),
        };
        s.put("domains", json!({"id": 1, "name": "example.com", "status": "active", "mail_hosting": true, "note": null, "catch_all": {"enabled": false, "destination": null}, "created_at": NOW}));
        for (id, local) in [(1, "alice"), (2, "bob")] {
            s.put("mailboxes", json!({"id": id, "domain_id": 1, "local_part": local, "email": format!("{local}@example.com"), "status": "active", "imap_enabled": true, "note": null, "created_at": NOW}));
        }
        for f in [
            "INBOX",
            "Sent",
            "Drafts",
            "Junk",
            "Trash",
            "Archive",
            "Scheduled",
        ] {
            for mb in [1, 2] {
                s.put(
                    "messages/folders",
                    json!({"id": f, "path": f, "name": f, "mailbox_id": mb, "special": true}),
                );
            }
        }
        let mails = [
            (
                "carol@example.org",
                "Welcome to TrekMail",
                "Your mailbox is ready.",
                vec![],
            ),
            (
                "dave@example.org",
                "Team photo",
                "See the attached picture.",
                vec![("photo.png", "image/png", PNG)],
            ),
            (
                "billing@example.org",
                "Invoice 2026-001",
                "Your invoice is attached.",
                vec![("invoice.pdf", "application/pdf", PDF)],
            ),
            (
                "erin@example.org",
                "Lunch on Friday?",
                "Are you free on Friday?",
                vec![],
            ),
            (
                "frank@example.org",
                "Quarterly report",
                "The report is due next week.",
                vec![],
            ),
        ];
        for (i, (from, subject, text, files)) in mails.into_iter().enumerate() {
            let uid = 1001 + i as i64;
            let atts: Vec<Value> = files
                .iter()
                .map(|(n, t, b)| json!({"filename": n, "content_type": t, "size": b.len(), "content_base64": B64.encode(b)}))
                .collect();
            s.put(
                "messages",
                message(
                    uid,
                    1,
                    "INBOX",
                    from,
                    &["alice@example.com".into()],
                    subject,
                    text,
                    atts,
                ),
            );
        }
        // The welcome message has been read: `unread_only` has something to leave out.
        if let Some(m) = s.find_mut("messages", &json!(1001), &Map::new()) {
            m["seen"] = json!(true);
        }
        s.put(
            "messages",
            message(
                2001,
                2,
                "INBOX",
                "carol@example.org",
                &["bob@example.com".into()],
                "Hello Bob",
                "Hi!",
                vec![],
            ),
        );
        s.put("messages/contacts", json!({"id": 1, "mailbox_id": 1, "email": "carol@example.org", "name": "Carol Jones", "created_at": NOW}));
        s.put("messages/contacts", json!({"id": 2, "mailbox_id": 1, "email": "dave@example.org", "name": "Dave Smith", "created_at": NOW}));
        s.put("messages/contact-groups", json!({"id": 1, "mailbox_id": 1, "group_name": "Friends", "contact_ids": [1, 2], "created_at": NOW}));
        s.put("messages/calendar/events", json!({"id": 1, "mailbox_id": 1, "title": "Team meeting", "start_at": "2026-01-20T10:00:00Z", "end_at": "2026-01-20T11:00:00Z", "created_at": NOW}));
        s.put("messages/templates", json!({"id": 1, "mailbox_id": 1, "name": "Thank you", "subject": "Thank you", "body_html": "<p>Thank you!</p>", "created_at": NOW}));
        s.put("messages/identities", json!({"id": 1, "mailbox_id": 1, "email": "alice@example.com", "name": "Alice", "created_at": NOW}));
        s.put("tickets", json!({"id": 1, "subject": "Welcome to support", "category": "technical", "status": "open", "messages": [{"from": "support", "message": "How can we help?", "created_at": NOW}, {"from": "support", "message": "We are here on weekdays.", "created_at": NOW}], "created_at": NOW}));
        for (coll, item) in more().into_iter().chain(newer()) {
            s.put(coll, item);
        }
        s.blobs.insert((1, 0), README.to_vec());
        s.blobs.insert((2, 0), PDF.to_vec());
        s.blobs.insert((4, 0), README.to_vec());
        s
    }
}

/// Second items of the listed collections (ids below 100; created ones start at 101).
fn more() -> Vec<(&'static str, Value)> {
    let earlier = "2025-12-01T09:00:00Z";
    vec![
        (
            "domains",
            json!({"id": 2, "name": "example.net", "status": "pending_dns", "mail_hosting": true, "note": null, "catch_all": {"enabled": false, "destination": null}, "created_at": earlier}),
        ),
        (
            "messages/contact-groups",
            json!({"id": 2, "mailbox_id": 1, "group_name": "Work", "contact_ids": [2], "created_at": NOW}),
        ),
        (
            "messages/calendar/events",
            json!({"id": 2, "mailbox_id": 1, "title": "Review", "start_at": "2026-02-03T14:00:00Z", "end_at": "2026-02-03T15:00:00Z", "created_at": NOW}),
        ),
        (
            "messages/templates",
            json!({"id": 2, "mailbox_id": 1, "name": "Meeting", "subject": "Meeting", "body_html": "<p>Shall we meet?</p>", "created_at": NOW}),
        ),
        (
            "messages/identities",
            json!({"id": 2, "mailbox_id": 1, "shared_mailbox_id": 1, "email": "info@example.com", "name": "Info", "created_at": NOW}),
        ),
        (
            "messages/blocked-senders",
            json!({"id": 1, "mailbox_id": 1, "email_or_domain": "spam.example", "created_at": NOW}),
        ),
        (
            "messages/blocked-senders",
            json!({"id": 2, "mailbox_id": 1, "email_or_domain": "junk@example.net", "created_at": NOW}),
        ),
        (
            "messages/scheduled",
            json!({"id": 1, "mailbox_id": 1, "subject": "Reminder", "to": ["carol@example.org"], "send_at": "2026-02-01T08:00:00Z", "status": "pending", "created_at": NOW}),
        ),
        (
            "messages/scheduled",
            json!({"id": 2, "mailbox_id": 1, "subject": "Follow-up", "to": ["dave@example.org"], "send_at": "2026-02-02T08:00:00Z", "status": "pending", "shared_mailbox_id": 1, "created_at": NOW}),
        ),
        (
            "messages/scheduled",
            json!({"id": 3, "mailbox_id": 1, "subject": "Newsletter", "to": ["erin@example.org"], "send_at": "2026-01-15T08:00:00Z", "status": "limit_reached", "created_at": NOW}),
        ),
        (
            "mailboxes/aliases",
            json!({"id": 1, "mailbox_id": 1, "local_part": "hello", "email": "hello@example.com", "active": true, "created_at": NOW}),
        ),
        (
            "mailboxes/aliases",
            json!({"id": 2, "mailbox_id": 1, "local_part": "sales", "email": "sales@example.com", "active": false, "created_at": NOW}),
        ),
        (
            "mailboxes/rules",
            json!({"id": 1, "mailbox_id": 1, "name": "Newsletters", "status": "active", "created_at": NOW}),
        ),
        (
            "mailboxes/rules",
            json!({"id": 2, "mailbox_id": 1, "name": "Invoices", "status": "active", "created_at": NOW}),
        ),
        (
            "mailboxes/message-tokens",
            json!({"id": 1, "mailbox_id": 1, "name": "phone", "prefix": "tm_msg_ph", "scopes": ["messages:read"], "status": "active", "created_at": earlier}),
        ),
        (
            "mailboxes/message-tokens",
            json!({"id": 2, "mailbox_id": 1, "name": "laptop", "prefix": "tm_msg_la", "scopes": ["messages:read", "messages:send"], "status": "active", "created_at": NOW}),
        ),
        (
            "tickets",
            json!({"id": 2, "subject": "Invoice question", "category": "billing", "status": "closed", "messages": [{"from": "you", "message": "Is VAT included?", "created_at": earlier}], "created_at": earlier}),
        ),
        (
            "billing/invoices",
            json!({"id": 1, "number": "INV-2025-12", "amount": 9.0, "currency": "EUR", "status": "paid", "created_at": earlier}),
        ),
        (
            "billing/invoices",
            json!({"id": 2, "number": "INV-2026-01", "amount": 9.0, "currency": "EUR", "status": "open", "created_at": NOW}),
        ),
        (
            "migrations",
            json!({"id": 1, "mailbox_id": 1, "provider": "gmail", "status": "completed", "progress": 100, "created_at": earlier}),
        ),
        (
            "migrations",
            json!({"id": 2, "mailbox_id": 2, "provider": "generic_imap", "status": "failed", "progress": 40, "created_at": NOW}),
        ),
        (
            "migrations/bulk",
            json!({"id": 1, "status": "completed", "progress": 100, "jobs": [], "total": 0, "created_at": earlier}),
        ),
        (
            "migrations/bulk",
            json!({"id": 2, "status": "cancelled", "progress": 10, "jobs": [], "total": 0, "created_at": NOW}),
        ),
        (
            "verify/bulk",
            json!({"id": 1, "status": "completed", "progress": 100, "emails": ["a@example.org"], "created_at": earlier}),
        ),
        (
            "verify/bulk",
            json!({"id": 2, "status": "cancelled", "progress": 0, "emails": ["b@example.org"], "created_at": NOW}),
        ),
        (
            "cloudflare/tokens",
            json!({"id": 1, "name": "Main zone", "domains": 1, "created_at": earlier}),
        ),
        (
            "cloudflare/tokens",
            json!({"id": 2, "name": "Staging", "domains": 0, "created_at": NOW}),
        ),
    ]
}

const README: &[u8] = b"Hello from the sandbox Drive.\n";

/// Seeds of the operations added after the product description: Drive, White Label, delivery,
/// shared mailboxes, app passwords, external accounts.
fn newer() -> Vec<(&'static str, Value)> {
    let earlier = "2025-11-01T09:00:00Z";
    let file = |id: i64, folder: Value, name: &str, size: usize, mime: &str, status: &str| json!({"id": id, "space_id": 1, "folder_id": folder, "name": name, "size_bytes": size, "mime_type": mime, "status": status, "scan_status": "clean", "has_share_link": false, "created_at": NOW});
    let member = |id: i64, email: &str, role: &str, status: &str| json!({"id": id, "email": email, "role": role, "status": status, "all_domains": true, "domain_ids": [], "permissions": [], "note": null, "accepted_at": (status != "pending").then_some(NOW), "created_at": NOW});
    vec![
        (
            "messages/deliveries",
            json!({"id": "req_seeded", "request_id": "req_seeded", "mailbox_id": 1, "uid": 1001, "status": "sent", "recipients": 1, "created_at": NOW}),
        ),
        (
            "mailboxes/app-passwords",
            json!({"id": 3, "mailbox_id": 2, "name": "Bob's phone", "status": "active", "last_used_at": null, "created_at": NOW}),
        ),
        (
            "mailboxes",
            json!({"id": 3, "domain_id": 1, "local_part": "old", "email": "old@example.com", "status": "trashed", "imap_enabled": false, "note": null, "created_at": earlier}),
        ),
        (
            "drive/spaces",
            json!({"id": 1, "slug": "account", "kind": "account", "name": "Account drive"}),
        ),
        (
            "drive/spaces",
            json!({"id": 2, "slug": "mailbox:1", "kind": "mailbox", "mailbox_id": 1, "name": "alice@example.com"}),
        ),
        (
            "drive/spaces",
            json!({"id": 3, "slug": "mailbox:2", "kind": "mailbox", "mailbox_id": 2, "name": "bob@example.com"}),
        ),
        (
            "drive/folders",
            json!({"id": 1, "space_id": 1, "parent_id": null, "name": "Documents", "color": null, "is_shared": false, "status": "active", "created_at": NOW}),
        ),
        (
            "drive/folders",
            json!({"id": 2, "space_id": 1, "parent_id": 1, "name": "Invoices", "color": null, "is_shared": false, "status": "active", "created_at": NOW}),
        ),
        (
            "drive/folders",
            json!({"id": 3, "space_id": 1, "parent_id": null, "name": "Old", "color": null, "is_shared": false, "status": "trashed", "created_at": earlier}),
        ),
        (
            "drive/files",
            file(
                1,
                json!(1),
                "readme.txt",
                README.len(),
                "text/plain",
                "active",
            ),
        ),
        (
            "drive/files",
            file(
                2,
                json!(1),
                "plan.pdf",
                PDF.len(),
                "application/pdf",
                "active",
            ),
        ),
        (
            "drive/files",
            file(3, json!(3), "old-notes.txt", 0, "text/plain", "trashed"),
        ),
        (
            "drive/files",
            file(
                4,
                Value::Null,
                "welcome.txt",
                README.len(),
                "text/plain",
                "active",
            ),
        ),
        (
            "drive/files/share-links",
            json!({"id": 1, "file_id": 1, "expires_at": null, "max_downloads": null, "downloads": 0, "status": "active", "created_at": earlier, "_token": "shr_seeded1"}),
        ),
        (
            "drive/files/share-links",
            json!({"id": 2, "file_id": 1, "expires_at": "2026-02-01T00:00:00Z", "max_downloads": 5, "downloads": 1, "status": "active", "created_at": NOW, "_token": "shr_seeded2"}),
        ),
        (
            "drive/devices",
            json!({"id": 1, "label": "Laptop", "scopes": ["drive:read", "drive:write"], "mailbox_id": 1, "status": "active", "created_at": earlier}),
        ),
        (
            "drive/devices",
            json!({"id": 2, "label": "Phone", "scopes": ["drive:read"], "mailbox_id": 1, "status": "active", "created_at": NOW}),
        ),
        (
            "white-label/members",
            member(1, "owner@example.com", "owner", "active"),
        ),
        (
            "white-label/members",
            member(2, "carol@example.org", "client", "active"),
        ),
        (
            "white-label/members",
            member(3, "dave@example.org", "read_only", "revoked"),
        ),
        (
            "white-label/members",
            member(4, "erin@example.org", "domain_admin", "pending"),
        ),
        (
            "white-label/activity",
            json!({"id": 1, "action": "member_invited", "member_id": 2, "created_at": earlier}),
        ),
        (
            "white-label/activity",
            json!({"id": 2, "action": "member_removed", "member_id": 3, "created_at": NOW}),
        ),
        (
            "domains/bounces",
            json!({"id": 1, "domain_id": 1, "mailbox_id": 1, "recipient": "gone@example.net", "type": "hard", "reason": "550 no such user", "created_at": NOW}),
        ),
        (
            "domains/bounces",
            json!({"id": 2, "domain_id": 1, "mailbox_id": 1, "recipient": "full@example.net", "type": "soft", "reason": "452 mailbox full", "created_at": earlier}),
        ),
        (
            "mailboxes/bounces",
            json!({"id": 1, "domain_id": 1, "mailbox_id": 1, "recipient": "gone@example.net", "type": "hard", "reason": "550 no such user", "created_at": NOW}),
        ),
        (
            "mailboxes/bounces",
            json!({"id": 2, "domain_id": 1, "mailbox_id": 1, "recipient": "full@example.net", "type": "soft", "reason": "452 mailbox full", "created_at": earlier}),
        ),
        (
            "domains/forwarding-addresses",
            json!({"id": 1, "domain_id": 1, "local_part": "info", "recipients": ["carol@example.org"], "is_active": true, "created_at": NOW}),
        ),
        (
            "domains/forwarding-addresses",
            json!({"id": 2, "domain_id": 1, "local_part": "press", "recipients": ["dave@example.org"], "is_active": false, "created_at": NOW}),
        ),
        (
            "domains/smtp/profiles",
            json!({"id": 1, "domain_id": 1, "name": "Relay", "host": "smtp.relay.example", "port": 587, "encryption": "tls", "username": "relay", "created_at": NOW}),
        ),
        (
            "domains/smtp/profiles",
            json!({"id": 2, "domain_id": 1, "name": "Backup", "host": "smtp.backup.example", "port": 465, "encryption": "ssl", "username": "backup", "created_at": NOW}),
        ),
        (
            "messages/external-accounts",
            json!({"id": 1, "mailbox_id": 1, "email": "alice@gmail.com", "provider": "gmail", "imap_host": "imap.gmail.com", "smtp_host": "smtp.gmail.com", "label": "Gmail", "status": "active", "created_at": NOW}),
        ),
        (
            "messages/external-accounts",
            json!({"id": 2, "mailbox_id": 1, "email": "alice@outlook.com", "provider": "outlook", "imap_host": "outlook.office365.com", "smtp_host": "smtp.office365.com", "label": "Outlook", "status": "active", "created_at": NOW}),
        ),
        (
            "mailboxes/app-passwords",
            json!({"id": 1, "mailbox_id": 1, "name": "Thunderbird", "status": "active", "last_used_at": null, "created_at": earlier}),
        ),
        (
            "mailboxes/app-passwords",
            json!({"id": 2, "mailbox_id": 1, "name": "Phone", "status": "active", "last_used_at": NOW, "created_at": NOW}),
        ),
        (
            "mailboxes/members",
            json!({"id": 1, "mailbox_id": 1, "member_mailbox_id": 2, "can_send": true, "custom_label": null, "status": "active", "created_at": NOW}),
        ),
        (
            "mailboxes/members",
            json!({"id": 2, "mailbox_id": 1, "member_mailbox_id": 3, "can_send": false, "custom_label": "Archive", "status": "active", "created_at": NOW}),
        ),
    ]
}

#[allow(clippy::too_many_arguments)]
pub(super) fn message(
    uid: i64,
    mailbox: i64,
    folder: &str,
    from: &str,
    to: &[Value],
    subject: &str,
    text: &str,
    attachments: Vec<Value>,
) -> Value {
    let html = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    json!({
        "id": uid, "uid": uid, "mailbox_id": mailbox, "folder": folder, "from": from, "to": to,
        "subject": subject, "body_text": text, "body_html": format!("<p>{html}</p>"), "date": NOW,
        "seen": false, "flagged": false, "has_attachments": !attachments.is_empty(),
        "attachments": attachments,
    })
}
