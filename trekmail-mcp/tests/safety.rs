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
async fn alternative_selectors_take_exactly_one_before_anything_is_sent() {
    // The facts: "Choose exactly one of mailbox_ids, domain_id or all", no HTTP call otherwise
    // (`exactly_one` in tools-map.toml); `all` counts only when true, as only then is it sent.
    let h = Harness::start(Opts::all_gates()).await;
    for (tool, base) in [
        (
            "set_mailboxes_drive_access",
            json!({"drive_access": "full"}),
        ),
        (
            "set_mailboxes_login_access",
            json!({"login_suspended": true}),
        ),
    ] {
        let with = |extra: Value| {
            let mut a = base.clone();
            a.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            a
        };
        // Answering anew forgets the requests of the tool before.
        h.answer_json(200, json!({"data": {}})).await;
        let rule = "mailbox_ids, domain_id or all: give exactly one of these, got";
        refused_without_request(&h, tool, with(json!({})), &[&format!("{rule} none")]).await;
        refused_without_request(
            &h,
            tool,
            with(json!({"all": false})),
            &[&format!("{rule} none")],
        )
        .await;
        refused_without_request(
            &h,
            tool,
            with(json!({"mailbox_ids": [1], "all": true})),
            &[&format!("{rule} mailbox_ids and all")],
        )
        .await;
        refused_without_request(
            &h,
            tool,
            with(json!({"mailbox_ids": [1], "domain_id": 2, "all": true})),
            &[&format!("{rule} mailbox_ids and domain_id and all")],
        )
        .await;
        for one in [
            json!({"mailbox_ids": [1]}),
            json!({"domain_id": 2, "all": false}),
            json!({"all": true}),
        ] {
            h.answer_json(200, json!({"data": {}})).await;
            let r = h.call(tool, with(one.clone())).await;
            assert!(!is_error(&r), "{tool} {one}: {}", text(&r));
            assert_eq!(h.requests().await.len(), 1, "{tool} {one}");
        }
    }
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
    use trekmail_mcp::catalog::hostguard::refusal;
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

/// Tools with a string path parameter, with that parameter's name.
fn string_path_params() -> Vec<(String, String)> {
    use trekmail_mcp::catalog::schema::Target;
    let catalog = Catalog::embedded().unwrap();
    let mut out = Vec::new();
    // A flow tool reads a local file before anything is sent (refused here without
    // TREKMAIL_UPLOAD_DIR); its initiate request goes through the same path building.
    for t in catalog.tools().iter().filter(|t| t.entry.flow.is_none()) {
        for a in &t.shape.args {
            if matches!(a.target, Target::Path(_))
                && a.schema["type"] == "string"
                && a.schema.get("enum").is_none()
            {
                out.push((t.entry.name.clone(), a.name.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn path_values_never_change_the_endpoint() {
    let h = Harness::start(Opts::all_gates()).await;
    let args = minimal_args();
    let tools = string_path_params();
    for t in ["delete_folder", "rename_folder", "get_smtp_test_status"] {
        assert!(
            tools.iter().any(|(n, _)| n == t),
            "{t} missing from {tools:?}"
        );
    }
    for (tool, param) in &tools {
        for bad in [".", "..", "a\u{0}b", "x\ny", "tab\there", "\u{7f}"] {
            let mut a = args[tool].clone();
            a[param] = json!(bad);
            refused_without_request(
                &h,
                tool,
                a,
                &["Invalid arguments", "nothing was sent", param],
            )
            .await;
        }
        // Anything else stays one segment: `\`, `/` and `%` are encoded, dots kept inside it.
        h.answer_json(200, json!({"ok": true})).await;
        let mut a = args[tool].clone();
        a[param] = json!("..\\contacts\\7/../%2e%2e");
        let r = h.call(tool, a).await;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
        let reqs = h.requests().await;
        let path = reqs[0].url.path().to_owned();
        assert!(
            path.ends_with("/..%5Ccontacts%5C7%2F..%2F%252e%252e")
                || path.contains("/..%5Ccontacts%5C7%2F..%2F%252e%252e/"),
            "{tool}: {path}"
        );
        h.mock.reset().await;
    }
}

#[tokio::test]
async fn hosts_inside_csv_rows_and_blank_hosts_are_refused() {
    let h = Harness::start(Opts::all_gates()).await;
    for tool in ["preview_bulk_migration", "start_bulk_migration"] {
        // start_bulk_migration needs its confirmation; preview takes none.
        let with_confirm = |mut a: Value| {
            if tool == "start_bulk_migration" {
                a["confirm_start"] = json!(true);
            }
            a
        };
        for row in [
            "a@x.example,pw,b@y.example,127.0.0.1,993,ssl",
            "a@x.example,pw,b@y.example,169.254.169.254,993,ssl",
            "a@x.example,pw,b@y.example,localhost,993,ssl",
            "a@x.example,pw,b@y.example, ,993,ssl",
            "a@x.example,pw,b@y.example",
            // A quoted cell hides the host from one kind of reader, not from the guard.
            "a@x.example,\"pw,10.0.0.1\",b@y.example,imap.example.com,993,ssl",
            "a@x.example,pw,b@y.example,\"127.0.0.1\",993,ssl",
            // A lone CR starts a row for some readers.
            "a@x.example,pw,b@y.example,imap.example.com,993,ssl\rc@x.example,pw,d@y.example,127.0.0.1,993,ssl",
        ] {
            let data = format!("ok@x.example,pw,ok@y.example,imap.example.com,993,ssl\n{row}\n");
            refused_without_request(
                &h,
                tool,
                with_confirm(json!({"data": data, "per_row_server": true})),
                &[
                    "data row ",
                    ", column 4",
                    "Cannot connect to private/internal network addresses",
                ],
            )
            .await;
        }
        h.answer_json(200, json!({"ok": true})).await;
        for args in [
            json!({"data": "a@x.example,pw,b@y.example,imap.example.com,993,ssl\n", "per_row_server": true}),
            // Without per-row servers the rows have no host column.
            json!({"data": "a@x.example,pw,b@y.example\n", "source_host": "imap.example.com"}),
        ] {
            let args = with_confirm(args);
            let r = h.call(tool, args.clone()).await;
            assert!(!is_error(&r), "{tool} {args}: {}", text(&r));
        }
        assert_eq!(h.requests().await.len(), 2);
        h.mock.reset().await;
        // A blank host is refused, not skipped.
        refused_without_request(
            &h,
            tool,
            with_confirm(json!({"data": "a@x.example,pw,b@y.example\n", "source_host": "  "})),
            &["source_host", "the host is blank"],
        )
        .await;
    }
    refused_without_request(
        &h,
        "test_smtp",
        json!({"host": "", "port": 587, "encryption": "tls", "username": "u", "password": "p"}),
        &["host", "the host is blank"],
    )
    .await;
}

#[test]
fn host_guard_refuses_the_forms_it_used_to_miss() {
    use trekmail_mcp::catalog::hostguard::refusal;
    for h in [
        "ip6-localhost",
        "ip6-loopback",
        "localhost6",
        "localhost6.localdomain6",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "::ffff:0:127.0.0.1",
        "::ffff:0:a9fe:a9fe",
        "[::ffff:0:10.1.2.3]",
        "64:ff9b:1::1",
        "64:ff9b:1:ffff::a00:1",
        "2001::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "%31%32%37.0.0.1",
    ] {
        assert!(refusal(h).is_some(), "{h:?} should be refused");
    }
    for h in [
        "64:ff9b::8.8.8.8",
        "2001:4860::8888",
        "kubernetes.example.com",
    ] {
        assert!(refusal(h).is_none(), "{h:?} should pass: {:?}", refusal(h));
    }
}

#[tokio::test]
async fn every_email_value_is_exactly_one_plain_address() {
    let h = Harness::start(Opts::all_gates()).await;
    let list = "a@x.example, b@y.example";
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "send_message",
            json!({"to": [list], "subject": "s", "body_text": "b", "confirm_send": true}),
            "to[0]",
        ),
        (
            "send_message",
            json!({"to": ["a@x.example"], "cc": ["Jane <jane@y.example>"], "subject": "s", "body_text": "b", "confirm_send": true}),
            "cc[0]",
        ),
        (
            "send_message",
            json!({"to": ["a@x.example"], "bcc": ["x@[127.0.0.1]"], "subject": "s", "body_text": "b", "confirm_send": true}),
            "bcc[0]",
        ),
        (
            "set_forwarding",
            json!({"mailbox_id": 7, "enabled": true, "targets": ["ok@y.example", list]}),
            "targets[1]",
        ),
        (
            "update_domain_catch_all",
            json!({"domain_id": 1, "enabled": true, "destination": list}),
            "destination",
        ),
        (
            "create_invite",
            json!({"domain_id": 1, "local_part": "bob", "recipient_email": "\"Bob\" <bob@y.example>"}),
            "recipient_email",
        ),
        (
            "create_invites_bulk",
            json!({"domain_id": 1, "items": [{"local_part": "a", "recipient_email": "a@y.example"}, {"local_part": "b", "recipient_email": list}]}),
            "items[1].recipient_email",
        ),
        (
            "create_mail_rule",
            json!({"mailbox_id": 7, "conditions": [{"field": "subject", "operator": "contains", "value": "x"}],
                "actions": [{"type": "fileinto", "value": "Archive"}, {"type": "redirect", "value": list}]}),
            "actions[1].value",
        ),
    ];
    for (tool, args, at) in cases {
        refused_without_request(&h, tool, args, &["Invalid arguments", at]).await;
    }
    // A folder name in a fileinto action is no address; a plain redirect address passes.
    h.answer_json(200, json!({"ok": true})).await;
    let r = h
        .call(
            "create_mail_rule",
            json!({"mailbox_id": 7, "conditions": [{"field": "subject", "operator": "contains", "value": "x"}],
                "actions": [{"type": "fileinto", "value": "Archive, 2024"}, {"type": "redirect_copy", "value": "boss@y.example"}]}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
}

#[tokio::test]
async fn header_bound_text_refuses_cr_lf_and_nul() {
    let h = Harness::start(Opts::all_gates()).await;
    let send = |extra: Value| {
        let mut a =
            json!({"to": ["a@x.example"], "subject": "Hi", "body_text": "b", "confirm_send": true});
        for (k, v) in extra.as_object().unwrap() {
            a[k] = v.clone();
        }
        a
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "send_message",
            send(json!({"subject": "Hi\r\nBcc: evil@y.example"})),
            "subject",
        ),
        ("send_message", send(json!({"subject": "Hi\0"})), "subject"),
        (
            "send_message",
            send(json!({"headers": {"X-Note": "ok\nBcc: evil@y.example"}})),
            "headers.X-Note",
        ),
        (
            "send_message",
            send(json!({"headers": {"Bcc: evil@y.example\r\nX-A": "v"}})),
            "headers",
        ),
        (
            "send_message",
            send(json!({"headers": {"X Space": "v"}})),
            "not a valid header name",
        ),
        (
            "send_message",
            send(json!({"reply_to_message_id": "<1@x>\r\nBcc: e@y.example"})),
            "reply_to_message_id",
        ),
        (
            "send_message",
            send(
                json!({"attachments": [{"filename": "a.txt\r\nX-Evil: 1", "content_type": "text/plain", "content_base64": "eA=="}]}),
            ),
            "attachments[0].filename",
        ),
        (
            "schedule_message",
            json!({"to": ["a@x.example"], "scheduled_for": "2026-12-01T09:00:00Z", "subject": "a\nb", "body_text": "b", "confirm_send": true}),
            "subject",
        ),
        ("save_draft", json!({"subject": "a\rb"}), "subject"),
        (
            "create_identity",
            json!({"email": "a@x.example", "name": "Jane\r\nBcc: e@y.example"}),
            "name",
        ),
        (
            "create_template",
            json!({"name": "t", "subject": "x\ny", "body_html": "<p>x</p>"}),
            "subject",
        ),
        (
            "create_mail_rule",
            json!({"mailbox_id": 7, "conditions": [{"field": "header", "operator": "is", "header_name": "X-A\nredirect", "value": "v"}],
                "actions": [{"type": "fileinto", "value": "A"}]}),
            "conditions[0].header_name",
        ),
    ];
    for (tool, args, at) in cases {
        refused_without_request(&h, tool, args, &["Invalid arguments", at]).await;
    }
    h.answer_json(202, json!({"message_id": "<1@x>"})).await;
    let r = h
        .call(
            "send_message",
            send(json!({"headers": {"X-Campaign": "spring", "List-Unsubscribe": "<mailto:u@x.example>"}})),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
}

#[tokio::test]
async fn documented_but_ignored_arguments_are_accepted_and_not_sent() {
    let h = Harness::start(Opts::all_gates()).await;
    h.answer_json(201, json!({"id": 1})).await;
    // The product description's own example.
    let r = h
        .call(
            "start_migration",
            json!({"mailbox_id": 10, "provider": "gmail", "source_host": "imap.gmail.com", "source_port": 993,
                "source_security": "ssl", "source_email": "user@gmail.com", "source_password": "app-password",
                "target_password": "mailbox-pass", "confirm_start": true}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert!(
        text(&r).contains("target_password was ignored and not sent"),
        "{}",
        text(&r)
    );
    assert!(!text(&r).contains("mailbox-pass"));
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 1);
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert!(body.get("target_password").is_none(), "{body}");
    assert!(!String::from_utf8_lossy(&reqs[0].body).contains("mailbox-pass"));
    h.mock.reset().await;
    // Other unknown arguments stay refused.
    refused_without_request(
        &h,
        "start_migration",
        json!({"mailbox_id": 10, "provider": "gmail", "source_host": "imap.gmail.com", "source_port": 993,
            "source_security": "ssl", "source_email": "user@gmail.com", "source_password": "app-password",
            "target_pasword": "x", "confirm_start": true}),
        &["target_pasword: unknown argument"],
    )
    .await;
}

#[tokio::test]
async fn mail_leaving_the_account_needs_its_switch() {
    let rule = |action: &str| {
        json!({"mailbox_id": 7, "conditions": [{"field": "subject", "operator": "contains", "value": "x"}],
            "actions": [{"type": "fileinto", "value": "A"}, {"type": action, "value": "boss@y.example"}]})
    };
    let mut update = rule("redirect");
    update["rule_id"] = json!(3);
    let sending: Vec<(&str, Value)> = vec![
        (
            "set_forwarding",
            json!({"mailbox_id": 7, "enabled": true, "targets": ["out@y.example"]}),
        ),
        (
            "update_domain_catch_all",
            json!({"domain_id": 1, "enabled": true, "destination": "out@y.example"}),
        ),
        ("create_mail_rule", rule("redirect")),
        ("create_mail_rule", rule("redirect_copy")),
        ("update_mail_rule", update),
        (
            "upload_sieve_script",
            json!({"mailbox_id": 7, "script": "redirect \"out@y.example\";"}),
        ),
        (
            "create_invite",
            json!({"domain_id": 1, "local_part": "bob", "recipient_email": "bob@y.example"}),
        ),
        (
            "create_invites_bulk",
            json!({"domain_id": 1, "items": [{"local_part": "bob", "recipient_email": "bob@y.example"}]}),
        ),
    ];
    let destructive: Vec<(&str, Value)> = vec![
        ("create_mail_rule", rule("discard")),
        ("create_mail_rule", rule("reject")),
        ("apply_cloudflare_dns", json!({"domain_ids": [1]})),
    ];
    // Every other switch on: only the one named stands in the way.
    let h = Harness::start(Opts {
        destructive: true,
        migration: true,
        ..Opts::default()
    })
    .await;
    for (tool, args) in &sending {
        refused_without_request(
            &h,
            tool,
            args.clone(),
            &["TREKMAIL_ALLOW_SENDING=true", "nothing was sent"],
        )
        .await;
    }
    let h = Harness::start(Opts {
        sending: true,
        migration: true,
        ..Opts::default()
    })
    .await;
    for (tool, args) in &destructive {
        refused_without_request(
            &h,
            tool,
            args.clone(),
            &["TREKMAIL_ALLOW_DESTRUCTIVE=true", "nothing was sent"],
        )
        .await;
    }
    // Turning things off, and rules that keep mail in the mailbox, stay free.
    let h = Harness::start(Opts::default()).await;
    h.answer_json(200, json!({"ok": true})).await;
    for (tool, args) in [
        ("set_forwarding", json!({"mailbox_id": 7, "enabled": false})),
        (
            "update_domain_catch_all",
            json!({"domain_id": 1, "enabled": false}),
        ),
        ("create_mail_rule", rule("fileinto")),
        ("create_mail_rule", rule("addflag")),
    ] {
        let r = h.call(tool, args.clone()).await;
        assert!(!is_error(&r), "{tool} {args}: {}", text(&r));
    }
    assert_eq!(h.requests().await.len(), 4);
    // With both switches on, all of them go out.
    let h = Harness::start(Opts::all_gates()).await;
    h.answer_json(200, json!({"ok": true})).await;
    for (tool, args) in sending.iter().chain(&destructive) {
        let r = h.call(tool, args.clone()).await;
        assert!(!is_error(&r), "{tool} {args}: {}", text(&r));
    }
    assert_eq!(h.requests().await.len(), sending.len() + destructive.len());
}

#[tokio::test]
async fn every_email_typed_argument_in_the_catalogue_takes_one_plain_address() {
    let h = Harness::start(Opts::all_gates()).await;
    let args = minimal_args();
    let catalog = Catalog::embedded().unwrap();
    let is_email = |s: &Value| s["format"] == "email";
    let mut checked = 0;
    for t in catalog.tools() {
        let props = t.input_schema["properties"].as_object().unwrap();
        for (name, s) in props {
            // (where the argument sits, the arguments with a two-address list put there)
            let mut cases: Vec<(String, Value)> = Vec::new();
            let mut put = |at: String, v: Value| {
                let mut a = args[&t.entry.name].clone();
                a[name] = v;
                cases.push((at, a));
            };
            let list = json!("a@x.example, b@y.example");
            if is_email(s) {
                put(name.clone(), list.clone());
            } else if is_email(&s["items"]) {
                put(format!("{name}[0]"), json!([list]));
            } else if let Some(item_props) = s["items"]["properties"].as_object() {
                for (field, fs) in item_props {
                    if is_email(fs) {
                        let mut item = args[&t.entry.name][name][0].clone();
                        item[field] = list.clone();
                        put(format!("{name}[0].{field}"), json!([item]));
                    }
                }
            }
            for (at, a) in cases {
                refused_without_request(&h, &t.entry.name, a, &["Invalid arguments", &at]).await;
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} email arguments");
}

#[test]
fn the_users_confirmation_question_hides_csv_password_columns() {
    let catalog = Catalog::embedded().unwrap();
    let q = trekmail_mcp::call::human::question(
        catalog.get("start_bulk_migration").unwrap(),
        json!({"data": "jane@old.example,Hunter2Hunter2x,jane@example.com\n", "confirm_start": true})
            .as_object()
            .unwrap(),
    );
    assert!(!q.contains("Hunter2"), "{q}");
    assert!(
        q.contains("jane@old.example,(hidden),jane@example.com"),
        "{q}"
    );
}
