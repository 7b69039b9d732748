//! The outbound policy (issue 20, part 2): with `TREKMAIL_SEND_TO`, every path where mail would
//! leave the account for an address is refused before any request unless the address is listed,
//! whatever its spelling; `TREKMAIL_DRAFTS_ONLY` lists drafts and no sending tool.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Harness, Opts, is_error, text};

fn opts() -> Opts {
    Opts {
        extra: vec![
            (
                "TREKMAIL_SEND_TO",
                "example.com, *.corp.example, boss@other.example".into(),
            ),
            ("TREKMAIL_HUMAN_CONFIRM", "never".into()),
        ],
        ..Opts::all_gates()
    }
}

/// Every sending path, with the recipient put where that path takes it.
fn paths(to: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            "send_message",
            json!({"to": [to], "subject": "s", "body_text": "b", "confirm_send": true}),
        ),
        (
            "send_message",
            json!({"to": ["a@example.com"], "cc": [to], "subject": "s", "body_text": "b", "confirm_send": true}),
        ),
        (
            "send_message",
            json!({"to": ["a@example.com"], "bcc": [to], "subject": "s", "body_text": "b", "confirm_send": true}),
        ),
        (
            "schedule_message",
            json!({"to": [to], "subject": "s", "body_text": "b", "scheduled_for": "2027-01-01T09:00:00Z", "confirm_send": true}),
        ),
        (
            "set_forwarding",
            json!({"mailbox_id": 1, "enabled": true, "targets": [to]}),
        ),
        (
            "update_domain_catch_all",
            json!({"domain_id": 1, "enabled": true, "destination": to}),
        ),
        (
            "create_mail_rule",
            json!({"mailbox_id": 1, "name": "r", "conditions": [{"field": "subject", "operator": "contains", "value": "x"}], "actions": [{"type": "redirect", "value": to}]}),
        ),
        (
            "update_mail_rule",
            json!({"mailbox_id": 1, "rule_id": 2, "name": "r", "conditions": [{"field": "subject", "operator": "contains", "value": "x"}], "actions": [{"type": "redirect_copy", "value": to}]}),
        ),
        (
            "upload_sieve_script",
            json!({"mailbox_id": 1, "script": format!("require [\"copy\"];\nredirect :copy \"{}\";\n", to.replace('\\', "\\\\").replace('"', "\\\""))}),
        ),
        (
            "create_invite",
            json!({"domain_id": 1, "local_part": "bob", "recipient_email": to}),
        ),
        (
            "create_invites_bulk",
            json!({"domain_id": 1, "items": [{"local_part": "bob", "recipient_email": to}]}),
        ),
        (
            "create_identity",
            json!({"email": "a@example.com", "name": "A", "reply_to": to}),
        ),
        ("update_identity", json!({"id": 2, "reply_to": to})),
        (
            "create_forwarding_address",
            json!({"domain_id": 1, "local_part": "info", "recipients": ["a@example.com", to]}),
        ),
        (
            "update_forwarding_address",
            json!({"domain_id": 1, "forwarding_address_id": 2, "recipients": [to]}),
        ),
        (
            "invite_white_label_member",
            json!({"email": to, "role": "client", "all_domains": true}),
        ),
        (
            "set_domain_branding",
            json!({"domain_id": 1, "support_email": to}),
        ),
    ]
}

#[tokio::test]
async fn every_sending_path_refuses_every_escape_before_any_request() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let spellings = [
        "eve@evil.example",
        "a@example.com.",
        "\"a@example.com\"@evil.example",
        "a%evil.example@example.com",
        "evil.example!a@example.com",
        "@example.com:a@evil.example",
        "a@[192.0.2.1]",
        "a@sub.example.com",
        "x@corp.example",
        "other@other.example",
        "a@EXAMPLE.com.evil.example",
    ];
    for to in spellings {
        for (tool, args) in paths(to) {
            let r = h.call(tool, args).await;
            let t = text(&r);
            assert!(is_error(&r), "{tool} {to}: {t}");
            // Refused by the policy or by the address checks before it: nothing reached the API.
            assert!(
                t.contains("TREKMAIL_SEND_TO") || t.contains("Invalid arguments"),
                "{tool} {to}: {t}"
            );
            assert!(h.requests().await.is_empty(), "{tool} {to}: sent");
        }
    }
    // A plain address outside the list: refused by the policy itself, naming it and the variable.
    for (tool, args) in paths("eve@evil.example") {
        let t = text(&h.call(tool, args).await);
        assert!(t.contains("TREKMAIL_SEND_TO"), "{tool}: {t}");
        assert!(t.contains("eve@evil.example"), "{tool}: {t}");
    }
}

#[tokio::test]
async fn allowed_recipients_go_through_on_every_path() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    for to in [
        "a@example.com",
        "A@Example.COM",
        "x@eu.corp.example",
        "BOSS@other.example",
    ] {
        for (tool, args) in paths(to) {
            let before = h.requests().await.len();
            let r = h.call(tool, args).await;
            assert!(
                !text(&r).contains("TREKMAIL_SEND_TO"),
                "{tool} {to}: {}",
                text(&r)
            );
            assert_eq!(
                h.requests().await.len(),
                before + 1,
                "{tool} {to}: {}",
                text(&r)
            );
        }
    }
}

#[tokio::test]
async fn sieve_targets_that_cannot_be_read_plainly_are_refused() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    for script in [
        "require [\"variables\"];\nset \"t\" \"eve@evil.example\";\nredirect \"${t}\";",
        "redirect \"a\\@evil.example\";",
        "redirect text:\neve@evil.example\n.\n;",
        "require \"enotify\";\nnotify \"mailto:eve@evil.example\";",
    ] {
        let r = h
            .call(
                "upload_sieve_script",
                json!({"mailbox_id": 1, "script": script}),
            )
            .await;
        assert!(
            text(&r).contains("TREKMAIL_SEND_TO"),
            "{script}: {}",
            text(&r)
        );
    }
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn drafts_only_lists_drafts_and_no_sending_tool() {
    let mut o = Opts::all_gates();
    o.extra.push(("TREKMAIL_DRAFTS_ONLY", "true".into()));
    let h = Harness::start(o).await;
    let names: Vec<String> = h
        .server
        .tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for hidden in [
        "send_message",
        "schedule_message",
        "upload_sieve_script",
        "create_invite",
    ] {
        assert!(!names.contains(&hidden.to_owned()), "{hidden} listed");
        let e = h.try_call(hidden, json!({})).await.unwrap_err();
        assert!(e.message.contains("TREKMAIL_DRAFTS_ONLY"), "{e:?}");
    }
    for listed in ["save_draft", "update_draft", "read_message"] {
        assert!(names.contains(&listed.to_owned()), "{listed} not listed");
    }
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn a_call_that_mails_a_stored_address_is_refused_under_send_to() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h
        .call("resend_white_label_invitation", json!({"member_id": 4}))
        .await;
    let t = text(&r);
    assert!(is_error(&r), "{t}");
    assert!(
        t.contains("TREKMAIL_SEND_TO") && t.contains("stored address"),
        "{t}"
    );
    assert!(h.requests().await.is_empty());
    // Without the policy it goes through.
    let h = Harness::start(Opts {
        extra: vec![("TREKMAIL_HUMAN_CONFIRM", "never".into())],
        ..Opts::all_gates()
    })
    .await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h
        .call("resend_white_label_invitation", json!({"member_id": 4}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 1);
}
