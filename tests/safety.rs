//! Safety: gates, confirmations, checks and the outbound-host guard refuse before any HTTP
//! request, each naming what is wrong.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Harness, Opts, is_error, minimal_args, text};
use trekmail_mcp::Catalog;

async fn refused_without_request(h: &Harness, tool: &str, args: Value, must_contain: &[&str]) {
    let r = h.call(tool, args.clone()).await;
    assert!(
        is_error(&r),
        "{tool} {args}: expected a refusal, got {}",
        text(&r)
    );
    for m in must_contain {
        assert!(
            text(&r).contains(m),
            "{tool}: refusal {:?} does not name {m:?}",
            text(&r)
        );
    }
    assert!(
        h.requests().await.is_empty(),
        "{tool}: a refused call reached the API"
    );
}

#[tokio::test]
async fn every_gated_tool_refuses_with_its_switch_off() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(200, json!({})).await;
    let args = minimal_args();
    let catalog = Catalog::embedded().unwrap();
    let mut checked = 0;
    for t in catalog.tools() {
        let Some(gate) = t.entry.gate else { continue };
        let a = args
            .get(&t.entry.name)
            .unwrap_or_else(|| panic!("no minimal args for {}", t.entry.name))
            .clone();
        refused_without_request(&h, &t.entry.name, a, &[gate.env_var(), "nothing was sent"]).await;
        checked += 1;
    }
    // Destructive, sending and migration gates over the whole surface.
    assert!(checked >= 30, "only {checked} gated tools");
}

#[tokio::test]
async fn every_confirmation_is_required_and_must_be_true() {
    let h = Harness::start(Opts::all_gates()).await;
    h.answer_json(200, json!({})).await;
    let args = minimal_args();
    let catalog = Catalog::embedded().unwrap();
    for t in catalog.tools() {
        let Some(c) = &t.entry.confirm else { continue };
        let mut a = args[&t.entry.name].as_object().unwrap().clone();
        a.insert(c.clone(), Value::Bool(false));
        refused_without_request(
            &h,
            &t.entry.name,
            Value::Object(a.clone()),
            &[c, "nothing was sent"],
        )
        .await;
        a.remove(c);
        refused_without_request(&h, &t.entry.name, Value::Object(a.clone()), &[c]).await;
        a.insert(c.clone(), json!("true"));
        refused_without_request(&h, &t.entry.name, Value::Object(a), &[c, "must be boolean"]).await;
    }
}

#[tokio::test]
async fn the_gate_is_checked_before_the_confirmation() {
    let h = Harness::start(Opts::default()).await;
    refused_without_request(
        &h,
        "delete_domain",
        json!({"domain_id": 5}),
        &["TREKMAIL_ALLOW_DESTRUCTIVE"],
    )
    .await;
    let h = Harness::start(Opts {
        destructive: true,
        ..Opts::default()
    })
    .await;
    refused_without_request(
        &h,
        "delete_domain",
        json!({"domain_id": 5}),
        &["confirm_delete: true"],
    )
    .await;
}

#[tokio::test]
async fn cancel_and_resume_need_only_their_confirmation() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(200, json!({"status": "cancelled"})).await;
    for (tool, args) in [
        (
            "cancel_migration",
            json!({"migration_id": 3, "confirm_cancel": true}),
        ),
        (
            "cancel_bulk_migration",
            json!({"batch_id": 3, "confirm_cancel": true}),
        ),
        (
            "resume_bulk_migration",
            json!({"batch_id": 3, "confirm_resume": true}),
        ),
    ] {
        let r = h.call(tool, args).await;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
    }
    assert_eq!(h.requests().await.len(), 3);
}

#[tokio::test]
async fn sending_needs_both_the_switch_and_the_confirmation() {
    let send = json!({"to": ["jane@example.com"], "subject": "Hi", "body_text": "Hello", "confirm_send": true});
    let h = Harness::start(Opts {
        destructive: true,
        migration: true,
        ..Opts::default()
    })
    .await;
    refused_without_request(
        &h,
        "send_message",
        send.clone(),
        &["TREKMAIL_ALLOW_SENDING"],
    )
    .await;
    let h = Harness::start(Opts {
        sending: true,
        ..Opts::default()
    })
    .await;
    let mut unconfirmed = send.clone();
    unconfirmed["confirm_send"] = json!(false);
    refused_without_request(&h, "send_message", unconfirmed, &["confirm_send"]).await;
    h.answer_json(202, json!({"message_id": "<1@x>"})).await;
    let r = h.call("send_message", send).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 1);
}

#[tokio::test]
async fn send_message_checks_recipients_and_body_before_anything_else() {
    let h = Harness::start(Opts {
        sending: true,
        ..Opts::default()
    })
    .await;
    let addrs = |n: usize, p: &str| {
        (0..n)
            .map(|i| format!("{p}{i}@example.com"))
            .collect::<Vec<_>>()
    };
    refused_without_request(
        &h,
        "send_message",
        json!({"to": addrs(4, "t"), "cc": addrs(4, "c"), "bcc": addrs(3, "b"), "subject": "x", "body_text": "y", "confirm_send": true}),
        &["to + cc + bcc: at most 10 together, got 11"],
    )
    .await;
    refused_without_request(
        &h,
        "send_message",
        json!({"to": ["a@example.com"], "subject": "x", "body_text": "", "confirm_send": true}),
        &["body_text or body_html"],
    )
    .await;
    refused_without_request(
        &h,
        "send_message",
        json!({"to": ["not-an-address"], "subject": "", "body_html": "<p>x</p>", "confirm_send": true}),
        &["to[0]: \"not-an-address\" is not an email address", "subject: must be at least 1 characters"],
    )
    .await;
    // Exactly 10 is fine.
    h.answer_json(200, json!({"ok": true})).await;
    let r = h
        .call("send_message", json!({"to": addrs(5, "t"), "cc": addrs(5, "c"), "subject": "x", "body_html": "<b>y</b>", "confirm_send": true}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
}

#[tokio::test]
async fn schedule_message_has_the_same_two_gates() {
    let args = json!({"to": ["jane@example.com"], "scheduled_for": "2026-12-01T09:00:00Z", "body_text": "Hi", "confirm_send": true});
    let h = Harness::start(Opts::default()).await;
    refused_without_request(
        &h,
        "schedule_message",
        args.clone(),
        &["TREKMAIL_ALLOW_SENDING"],
    )
    .await;
}

#[tokio::test]
async fn bulk_action_needs_the_destructive_switch_only_to_delete() {
    let h = Harness::start(Opts::default()).await;
    refused_without_request(
        &h,
        "bulk_action",
        json!({"folder": "INBOX", "uids": [1, 2], "action": "delete"}),
        &["TREKMAIL_ALLOW_DESTRUCTIVE"],
    )
    .await;
    h.answer_json(200, json!({"updated": 2})).await;
    let r = h
        .call(
            "bulk_action",
            json!({"folder": "INBOX", "uids": [1, 2], "action": "read"}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
}

#[tokio::test]
async fn message_token_scopes_choose_their_gates() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(201, json!({"token": "tm_msg_new"})).await;
    let r = h
        .call(
            "create_message_token",
            json!({"mailbox_id": 1, "name": "reader", "scopes": ["messages:read"]}),
        )
        .await;
    assert!(!is_error(&r), "read-only scopes always pass: {}", text(&r));
    h.mock.reset().await;
    refused_without_request(
        &h,
        "create_message_token",
        json!({"mailbox_id": 1, "name": "w", "scopes": ["messages:read", "messages:write"]}),
        &["TREKMAIL_ALLOW_DESTRUCTIVE"],
    )
    .await;
    refused_without_request(
        &h,
        "create_message_token",
        json!({"mailbox_id": 1, "name": "s", "scopes": ["messages:send"]}),
        &["TREKMAIL_ALLOW_SENDING"],
    )
    .await;
    refused_without_request(
        &h,
        "create_message_token",
        json!({"mailbox_id": 1, "name": "all", "scopes": ["messages:send", "messages:write"]}),
        &["TREKMAIL_ALLOW_SENDING", "TREKMAIL_ALLOW_DESTRUCTIVE"],
    )
    .await;
    let h = Harness::start(Opts {
        sending: true,
        ..Opts::default()
    })
    .await;
    h.answer_json(201, json!({"token": "tm_msg_new"})).await;
    let r = h
        .call(
            "create_message_token",
            json!({"mailbox_id": 1, "name": "s", "scopes": ["messages:send"]}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
}

#[tokio::test]
async fn argument_checks_beyond_the_schema() {
    let h = Harness::start(Opts::default()).await;
    refused_without_request(
        &h,
        "update_domain_catch_all",
        json!({"domain_id": 1, "enabled": true}),
        &["destination: required when enabled is true"],
    )
    .await;
    refused_without_request(
        &h,
        "update_message_flags",
        json!({"uid": 4}),
        &["seen or flagged"],
    )
    .await;
    h.answer_json(200, json!({})).await;
    let r = h
        .call(
            "update_domain_catch_all",
            json!({"domain_id": 1, "enabled": false}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
}

#[tokio::test]
async fn validation_names_every_bad_argument_and_sends_nothing() {
    let h = Harness::start(Opts::default()).await;
    refused_without_request(
        &h,
        "list_domains",
        json!({"status": "gone", "per_page": 500, "page": 0, "serch": "x"}),
        &[
            "status: \"gone\" is not one of",
            "per_page: 500 is above the maximum 100",
            "page: 0 is below the minimum 1",
            "serch: unknown argument",
        ],
    )
    .await;
    refused_without_request(
        &h,
        "get_domain",
        json!({"domain_id": "7"}),
        &["domain_id: must be an integer, got a string"],
    )
    .await;
    refused_without_request(&h, "get_domain", json!({}), &["domain_id: required"]).await;
    refused_without_request(
        &h,
        "bulk_create_mailboxes",
        json!({"items": [{"domain_id": 1, "local_part": "Bad Name"}, {"local_part": "ok", "domain_id": 1, "password": "short"}]}),
        &["items[0].local_part", "items[1].password: must be at least 12 characters"],
    )
    .await;
}

#[tokio::test]
async fn outbound_hosts_must_be_public() {
    let h = Harness::start(Opts::all_gates()).await;
    let tools: [(&str, &str, Value); 6] = [
        (
            "test_smtp",
            "host",
            json!({"host": "x", "port": 587, "encryption": "tls", "username": "u", "password": "p"}),
        ),
        (
            "update_smtp_config",
            "host",
            json!({"mode": "custom", "host": "x", "port": 587, "encryption": "tls", "username": "u", "password": "p"}),
        ),
        (
            "test_migration_connection",
            "source_host",
            json!({"provider": "generic_imap", "source_host": "x", "source_port": 993, "source_security": "ssl", "source_email": "a@example.com", "source_password": "p"}),
        ),
        (
            "start_migration",
            "source_host",
            json!({"mailbox_id": 1, "provider": "generic_imap", "source_host": "x", "source_port": 993, "source_security": "ssl", "source_email": "a@example.com", "source_password": "p", "confirm_start": true}),
        ),
        (
            "preview_bulk_migration",
            "source_host",
            json!({"data": "a@x.com,p,b@y.com", "source_host": "x"}),
        ),
        (
            "start_bulk_migration",
            "source_host",
            json!({"data": "a@x.com,p,b@y.com", "source_host": "x", "confirm_start": true}),
        ),
    ];
    let args = minimal_args();
    for (tool, arg, template) in tools {
        let mut a = args.get(tool).cloned().unwrap_or(template);
        for host in [
            "127.0.0.1",
            "0x7f000001",
            "[::ffff:10.0.0.1]",
            "metadata.google.internal",
            "localhost",
        ] {
            a[arg] = json!(host);
            refused_without_request(
                &h,
                tool,
                a.clone(),
                &[arg, "Cannot connect to private/internal network addresses"],
            )
            .await;
        }
        a[arg] = json!("imap.example.com");
        h.answer_json(200, json!({"ok": true})).await;
        let r = h.call(tool, a).await;
        assert!(!is_error(&r), "{tool} with a public host: {}", text(&r));
        h.mock.reset().await;
    }
}

#[test]
fn host_guard_table() {
    use trekmail_mcp::hostguard::refusal;
    let refused = [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "api.localhost",
        "localhost.localdomain",
        "metadata",
        "metadata.google.internal",
        "metadata.azure.internal",
        "instance-data",
        "100-100-100-200.aliyuncs.com",
        "printer.local",
        "db.internal",
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "2130706433",
        "0x7f000001",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "017700000001",
        "0",
        "0.0.0.0",
        "10.1.2.3",
        "012.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "0xa9fea9fe",
        "2852039166",
        "100.64.0.1",
        "100.127.255.254",
        "100.100.100.200",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.10",
        "198.18.0.1",
        "::",
        "::1",
        "[::1]",
        "0:0:0:0:0:0:0:1",
        "0:0:0:0:0:0:0:0",
        "fe80::1",
        "[fe80::1%eth0]",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "[::ffff:192.168.0.1]",
        "::ffff:7f00:1",
        "::127.0.0.1",
        "64:ff9b::10.0.0.1",
        "2002:c0a8:0101::1",
        "2001:db8::1",
        "fd00:ec2::254",
        "999.1.1.1",
        "1.2.3.4.5",
        "http://example.com",
        "example.com:993",
        " 127.0.0.1 ",
        "",
        "exa mple.com",
        "bücher.example",
    ];
    for h in refused {
        assert!(refusal(h).is_some(), "{h:?} should be refused");
    }
    let allowed = [
        "imap.gmail.com",
        "smtp.example.com",
        "Mail.Example.COM",
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.1",
        "172.15.0.1",
        "172.32.0.1",
        "192.169.0.1",
        "2606:4700:4700::1111",
        "[2001:4860:4860::8888]",
        "::ffff:8.8.8.8",
        "xn--bcher-kva.example",
        "metadatafoo.com",
        "localhost-mail.example.com",
        "my.localhost.example.com",
    ];
    for h in allowed {
        assert!(refusal(h).is_none(), "{h:?} should pass: {:?}", refusal(h));
    }
    assert!(refused.len() + allowed.len() >= 30);
}
