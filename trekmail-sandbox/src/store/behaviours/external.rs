//! Connected external accounts (Gmail, Outlook, any IMAP): detection by address, connection
//! tests before and after saving. Saving, listing and removing are the generic ones (passwords
//! are never stored).

use serde_json::{Map, json};

use super::Behaviour;
use crate::store::{Answer, Call, Store};

pub(super) const TABLE: &[(&str, Behaviour)] = &[
    ("detect_external_account", detect),
    ("test_external_account", |_, c| {
        Some(tested(&c.b()["imap_host"], &c.b()["smtp_host"]))
    }),
    ("test_saved_external_account", test_saved),
];

/// Known providers by the address's domain: (domain, provider, IMAP host, SMTP host).
const PROVIDERS: &[(&str, &str, &str, &str)] = &[
    ("gmail.com", "gmail", "imap.gmail.com", "smtp.gmail.com"),
    (
        "outlook.com",
        "outlook",
        "outlook.office365.com",
        "smtp.office365.com",
    ),
    (
        "hotmail.com",
        "outlook",
        "outlook.office365.com",
        "smtp.office365.com",
    ),
];

fn detect(_: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let email = c.b()["email"].as_str().unwrap_or_default().to_lowercase();
    let domain = email.rsplit('@').next().unwrap_or_default().to_owned();
    let found = PROVIDERS.iter().find(|p| p.0 == domain);
    let (provider, imap, smtp) = match found {
        Some((_, p, i, s)) => (*p, (*i).to_owned(), (*s).to_owned()),
        None => ("imap", format!("imap.{domain}"), format!("smtp.{domain}")),
    };
    Some(Answer::ok(json!({
        "email": email, "provider": provider,
        "imap": {"host": imap, "port": 993, "encryption": "ssl"},
        "smtp": {"host": smtp, "port": 465, "encryption": "ssl"},
    })))
}

fn tested(imap: &serde_json::Value, smtp: &serde_json::Value) -> Answer {
    Answer::ok(
        json!({"success": true, "imap": {"host": imap, "ok": true}, "smtp": {"host": smtp, "ok": true}, "folders": ["INBOX", "Sent"]}),
    )
}

fn test_saved(s: &mut Store, c: &Call<'_>) -> Option<Answer> {
    let scope: Map<String, serde_json::Value> = c.scope.clone();
    let a = s.find("messages/external-accounts", &c.p("id"), &scope)?;
    Some(tested(&a["imap_host"], &a["smtp_host"]))
}
