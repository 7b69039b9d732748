//! outputSchema of the answers the OpenAPI document describes (beyond the file tools): every
//! such tool's structuredContent, for answers shaped as the facts say (with and without the
//! `data` envelope, with fields the document does not name), validates against it by a real JSON
//! Schema validator; an answer that does not fit is passed through whole as an error result,
//! never as structuredContent a validating client would reject.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Harness, Opts, is_error, output_schema, schema_errors, text};

/// The tools whose answers the document describes (not generically, not a file), with an
/// argument set and an answer shaped as the facts and the product description say.
fn cases() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "whoami",
            json!({}),
            json!({"data": {"token": {"name": "ci", "scopes": ["domains:read"], "expires_at": "2027-01-01T00:00:00Z", "prefix": "tm_live_ab"}, "account": {"id": 3, "name": "Acme"}, "capabilities": {"effective_scopes": ["domains:read"]}}}),
        ),
        (
            "dns_recheck",
            json!({"domain_id": 5}),
            json!({"data": {"check_id": 42, "status": "pending"}}),
        ),
        (
            "bulk_create_mailboxes",
            json!({"items": [{"domain_id": 5, "local_part": "a"}]}),
            json!({"data": {"results": [{"status": 201, "result": {"id": 10}}, {"status": 422, "error": {"code": "taken"}}]}}),
        ),
        (
            "create_message_token",
            json!({"mailbox_id": 10, "name": "agent", "scopes": ["messages:read"]}),
            json!({"data": {"id": 9, "token": "tm_msg_plain", "name": "agent", "scopes": ["messages:read"], "expires_at": null}}),
        ),
        (
            "create_delete_intent",
            json!({"mailbox_id": 10}),
            json!({"data": {"id": 7, "expires_at": "2026-01-15T09:10:00Z", "status": "pending"}}),
        ),
        (
            "test_smtp",
            json!({"host": "smtp.example.com", "port": 587, "encryption": "tls", "username": "u", "password": "p4ssword-long"}),
            json!({"data": {"job_id": "5f0c", "status": "queued"}}),
        ),
        (
            "create_mailbox_generated_password",
            json!({"domain_id": 5, "local_part": "alice"}),
            json!({"data": {"id": 10, "email": "alice@example.com", "password": "Gen-3r4t3d-pw"}}),
        ),
        (
            "create_invite",
            json!({"domain_id": 5, "local_part": "bob", "recipient_email": "bob@gmail.com"}),
            json!({"data": {"id": 1, "status": "pending", "invite_url": "https://trekmail.net/i/x"}}),
        ),
        (
            "get_dns_check",
            json!({"check_id": 42}),
            json!({"data": {"id": 42, "status": "complete", "results": {"mx": {"ok": true}}}}),
        ),
        (
            "get_migration",
            json!({"migration_id": 5}),
            json!({"data": {"id": 5, "status": "processing", "progress": 45, "folders": [{"name": "INBOX"}], "imported_messages": 1801}}),
        ),
        // Issue 18: answers that carry what the caller must keep (a secret shown once, a URL, an
        // id to poll), as the newer facts describe them.
        (
            "create_mailbox_app_password",
            json!({"mailbox_id": 10, "name": "Thunderbird"}),
            json!({"data": {"id": 3, "name": "Thunderbird", "password": "abcdefghijklmnop", "created_at": "2026-12-01T00:00:00Z"}}),
        ),
        (
            "rotate_mailbox_app_password",
            json!({"mailbox_id": 10, "app_password_id": 3}),
            json!({"data": {"id": 4, "name": "Thunderbird", "password": "ponmlkjihgfedcba", "replaced_id": 3}}),
        ),
        (
            "drive_device_create",
            json!({"label": "laptop", "scopes": ["drive:account:read"]}),
            json!({"data": {"id": 2, "label": "laptop", "server_url": "https://dav.example.com/", "password": "dsync_abc"}}),
        ),
        (
            "drive_device_rotate",
            json!({"device_id": 2}),
            json!({"data": {"id": 5, "label": "laptop", "server_url": "https://dav.example.com/", "password": "dsync_def"}}),
        ),
        (
            "drive_share_create",
            json!({"file_id": 8}),
            json!({"data": {"id": 1, "token": "raw", "public_url": "https://trekmail.net/s/raw", "expires_at": null}}),
        ),
        (
            "drive_file_download_url",
            json!({"file_id": 8}),
            json!({"data": {"url": "https://storage.example.com/x?sig=1", "expires_at": "2026-12-01T00:05:00Z"}}),
        ),
        (
            "drive_upload_initiate",
            json!({"space": "account", "name": "a.pdf", "size_bytes": 10}),
            json!({"data": {"file_id": 8, "multipart": false, "upload_url": "https://storage.example.com/put", "headers": {"Content-Type": "application/pdf"}}}),
        ),
        (
            "test_domain_smtp",
            json!({"domain_id": 5, "mode": "platform"}),
            json!({"data": {"job_id": "j-1", "status": "queued"}}),
        ),
        (
            "create_branding_preview",
            json!({"domain_id": 5}),
            json!({"data": {"url": "https://trekmail.net/p/once", "expires_in": 300}}),
        ),
        (
            "invite_white_label_member",
            json!({"email": "client@example.com", "role": "client", "all_domains": true}),
            json!({"data": {"member": {"id": 4, "status": "pending"}, "invitation_url": "https://trekmail.net/wl/i", "delivery": {"sent": true}}}),
        ),
        (
            "resend_white_label_invitation",
            json!({"member_id": 4}),
            json!({"data": {"member": {"id": 4}, "invitation_url": "https://trekmail.net/wl/j"}}),
        ),
        (
            "agent_reissue_key",
            json!({}),
            json!({"data": {"token": "tm_live_new", "scopes": ["domains:read"]}}),
        ),
        (
            "get_message_delivery",
            json!({"request_id": "req-1"}),
            json!({"data": {"request_id": "req-1", "status": "sent"}}),
        ),
        (
            "list_messages",
            json!({"folder": "INBOX", "limit": 10, "unread_only": true}),
            json!({"data": {"messages": [{"uid": 50, "subject": "Hi", "seen": false}], "pagination": {"has_more": true, "next_before_uid": 45}}}),
        ),
        (
            "read_message",
            json!({"uid": 50}),
            json!({"data": {"uid": 50, "from": {"email": "a@example.com"}, "subject": "Hi", "body_text": "Hello", "body_html": null, "attachments": [{"filename": "a.pdf"}]}}),
        ),
    ]
}

#[tokio::test]
async fn described_answers_validate_with_and_without_the_envelope() {
    let h = Harness::start(Opts::all_gates()).await;
    let described: Vec<String> = h
        .server
        .catalog()
        .tools()
        .iter()
        .filter(|d| d.tool().output_schema.is_some() && d.entry.file.is_none())
        .map(|d| d.entry.name.clone())
        .collect();
    let mut names: Vec<String> = cases().iter().map(|c| c.0.to_owned()).collect();
    names.sort();
    let mut listed = described.clone();
    listed.sort();
    assert_eq!(listed, names, "every described tool has a case here");
    for (tool, args, answer) in cases() {
        let schema = output_schema(&h.server, tool);
        assert!(jsonschema::meta::is_valid(&schema), "{tool}: {schema}");
        let bare = answer["data"].clone();
        // A re-issued key is the one thing replaced (tests/reissue.rs): by the placeholder,
        // then, once the server holds it, by the transport's scrub.
        let hidden = [
            trekmail_mcp::call::reissue::PLACEHOLDER,
            trekmail_api::REDACTED,
        ];
        for (a, hidden) in [answer.clone(), bare].into_iter().zip(hidden) {
            h.answer_json(200, a.clone()).await;
            let r = h.call(tool, args.clone()).await;
            assert!(!is_error(&r), "{tool}: {}", text(&r));
            let s = r.structured_content.clone().unwrap();
            // Whole: structuredContent is the answer as sent, undocumented fields included.
            let sent: Value = serde_json::from_str(
                &a.to_string()
                    .replace("\"tm_live_new\"", &format!("\"{hidden}\"")),
            )
            .unwrap();
            assert_eq!(s, sent, "{tool}");
            assert_eq!(
                schema_errors(&schema, &s),
                Vec::<String>::new(),
                "{tool}: {s}"
            );
        }
    }
}

#[tokio::test]
async fn an_answer_that_does_not_fit_is_passed_through_as_an_error_once() {
    let h = Harness::start(Opts::all_gates()).await;
    // (tool, arguments, an answer that does not fit, whether the tool writes)
    for (tool, args, bad, write) in [
        (
            "dns_recheck",
            json!({"domain_id": 5}),
            json!({"data": {"check_id": "42"}}),
            true,
        ),
        (
            "whoami",
            json!({}),
            json!({"data": {"token": {"name": "ci"}}}),
            false,
        ),
        (
            "get_migration",
            json!({"migration_id": 3}),
            json!({"data": {"id": "3"}}),
            false,
        ),
        (
            "create_delete_intent",
            json!({"mailbox_id": 10}),
            json!({"data": {"id": 7, "expires_at": 600}}),
            true,
        ),
    ] {
        // A real validator agrees that the answer does not fit.
        assert!(
            !schema_errors(&output_schema(&h.server, tool), &bad).is_empty(),
            "{tool}"
        );
        h.answer_json(200, bad.clone()).await;
        let r = h.call(tool, args).await;
        assert!(is_error(&r), "{tool}: {}", text(&r));
        assert!(r.structured_content.is_none(), "{tool}");
        let t = text(&r);
        // Only a write is told not to repeat itself: a read changed nothing.
        assert!(t.contains("the TrekMail API answered success"), "{t}");
        assert_eq!(t.contains("a write took effect"), write, "{tool}: {t}");
        assert_eq!(t.matches(&bad.to_string()).count(), 1, "{t}");
    }
}
