//! The embedded sandbox through the MCP server: every tool once (success or an API-shaped 4xx,
//! never anything else), the answers against the sandbox's response schemas, workflows, and
//! two sandboxes sharing no state. Offline: loopback only. Built with the `sandbox` feature only
//! (a cfg here rather than a `[[test]]` entry: cargo finds every test file by itself).
#![cfg(feature = "sandbox")]
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{
    Harness, Opts, is_error, minimal_args, output_schema, recording_policy, schema_errors, text,
};
use trekmail_mcp::TrekmailServer;

struct Sbx {
    _guard: trekmail_sandbox::Running,
    server: TrekmailServer,
}

async fn start(opts: &Opts) -> Sbx {
    let guard = trekmail_sandbox::Sandbox::new()
        .unwrap()
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let (policy, _) = recording_policy();
    let server = Harness::server_for(&guard.base_url(), opts, policy);
    Sbx {
        _guard: guard,
        server,
    }
}

impl Sbx {
    async fn call(&self, tool: &str, args: Value) -> rmcp::model::CallToolResult {
        let Value::Object(m) = args else {
            panic!("object")
        };
        self.server
            .call(tool, Some(m))
            .await
            .unwrap_or_else(|e| panic!("{tool}: {e:?}"))
    }

    async fn ok(&self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args).await;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
        r.structured_content.unwrap_or(Value::Null)
    }

    /// [`Sbx::ok`] for a tool with an outputSchema: the answer validates against it.
    async fn valid(&self, tool: &str, args: Value) -> Value {
        let answer = self.ok(tool, args).await;
        let schema = output_schema(&self.server, tool);
        let errors = schema_errors(&schema, &answer);
        assert!(
            errors.is_empty(),
            "{tool}: {answer} does not fit {schema}: {errors:?}"
        );
        answer
    }
}

/// Tools with an outputSchema that read what a job started: validated where `workflows` polls
/// them, since there is nothing to read before.
const POLLED: &[&str] = &["get_dns_check", "get_migration"];

/// Seed ids in place of the golden cases' example ids, so most calls reach a real object.
fn seeded(tool: &str, mut args: Value) -> Value {
    let o = args.as_object_mut().unwrap();
    for (k, v) in o.iter_mut() {
        let seed = match k.as_str() {
            "domain_id" => 1,
            "mailbox_id" => 2,
            "uid" if tool == "update_draft" => continue,
            "uid" => 1004,
            "id" | "ticket_id" | "file_id" | "folder_id" | "device_id" | "link_id" => 1,
            "forwarding_address_id" | "profile_id" => 1,
            // White Label member 2 (1 is the owner, which cannot be changed).
            "member_id" if tool == "resend_white_label_invitation" => 4,
            "member_id" if tool.contains("white_label") => 2,
            "app_password_id" => 3,
            "request_id" => {
                *v = json!("req_seeded");
                continue;
            }
            "primary_domain_id" => 2,
            "space" => {
                *v = json!("account");
                continue;
            }
            _ => continue,
        };
        *v = json!(seed);
    }
    if tool == "invite_white_label_member" {
        o.insert("all_domains".into(), json!(true));
        o.insert("role".into(), json!("client"));
    }
    if tool == "create_domain" {
        o.insert("name".into(), json!("sandbox-test.org"));
    }
    args
}

#[tokio::test]
async fn every_tool_answers_success_or_an_api_shaped_4xx() {
    // drive_file_upload reads a file of the upload directory: one there, to upload for real.
    let dir = std::env::temp_dir().join(format!("trekmail-sandbox-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.pdf");
    std::fs::write(&file, b"%PDF-1.4 sandbox upload\n").unwrap();
    let s = start(&Opts {
        extra: vec![("TREKMAIL_UPLOAD_DIR", dir.display().to_string())],
        ..Opts::all_gates()
    })
    .await;
    let args = minimal_args();
    let catalog = trekmail_mcp::Catalog::embedded().unwrap();
    let spec = trekmail_sandbox::spec::Spec::embedded().unwrap();
    let mut successes = 0;
    let mut checked = 0;
    let mut validated = Vec::new();
    // Removals last, so that the other tools find the seed objects.
    let mut tools: Vec<_> = catalog.tools().iter().collect();
    // The key reissue at the very end: it revokes the token every other call uses.
    tools.sort_by_key(|d| {
        let n = d.entry.name.as_str();
        let removal = n.starts_with("delete_")
            || n.starts_with("confirm_delete")
            || n == "empty_folder"
            || n.contains("purge")
            || n.contains("revoke")
            || n.starts_with("remove_");
        (n == "agent_reissue_key", removal)
    });
    for def in tools {
        let name = &def.entry.name;
        let mut a = seeded(name, args[name.as_str()].clone());
        if a.get("local_path").is_some() {
            a["local_path"] = json!(file.display().to_string());
        }
        let r = s.call(name, a).await;
        let t = text(&r);
        // The upload flow runs whole: initiate, the PUT to the sandbox's storage, complete.
        if def.entry.flow.is_some() {
            assert!(!is_error(&r), "{name}: {t}");
            assert_eq!(
                r.structured_content.as_ref().unwrap()["data"]["status"],
                "active",
                "{t}"
            );
        }
        if is_error(&r) {
            let status = r
                .structured_content
                .as_ref()
                .map(|v| v["error"]["status"].clone());
            let code = status.and_then(|s| s.as_u64()).unwrap_or(0);
            assert!(
                (400..500).contains(&code) && t.contains("failed: HTTP 4"),
                "{name}: not an API 4xx: {t}"
            );
            eprintln!("{name}: {}", t.lines().next().unwrap_or_default());
        } else {
            successes += 1;
            // A paying tool without its credential answers the price as text: no API answer.
            if def.entry.payment.is_some() && r.structured_content.is_none() {
                assert!(t.contains("Nothing was bought"), "{name}: {t}");
                checked += 1;
                continue;
            }
            // The answer conforms to the operation's response schema in the OpenAPI document.
            // A flow answers with its last request's answer (an upload's complete).
            let last = def
                .entry
                .flow
                .as_ref()
                .map_or(&def.entry.operation, |f| &f.complete);
            let op = spec.get(last).unwrap();
            if let Some(schema) = &def.tool().output_schema {
                // A tool with an outputSchema (a file tool's metadata, or an answer the document
                // describes): its structuredContent validates, checked by a real validator.
                let schema = Value::Object((**schema).clone());
                let answer = r.structured_content.clone().unwrap();
                let errors = schema_errors(&schema, &answer);
                assert!(
                    errors.is_empty(),
                    "{name}: {answer} does not fit {schema}: {errors:?}"
                );
                validated.push(name.clone());
                checked += 1;
            } else if let (Some(schema), Some(answer)) =
                (&op.response_schema, &r.structured_content)
            {
                let mut problems = serde_json::Map::new();
                trekmail_sandbox::spec::check(schema, answer, "", &mut problems);
                assert!(
                    problems.is_empty(),
                    "{name}: answer does not fit its schema: {problems:?}\n{answer}"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked + 1 >= successes,
        "{checked} answers checked of {successes}"
    );
    eprintln!("{successes} of {} tools succeeded", catalog.tools().len());
    assert!(successes >= 200, "only {successes} of 272 tools succeeded");
    // Every tool whose answer the document describes succeeded here and was validated (file
    // tools need seeded attachments: tests/files.rs).
    let described: Vec<&String> = catalog
        .tools()
        .iter()
        .filter(|d| d.tool().output_schema.is_some() && d.entry.file.is_none())
        .map(|d| &d.entry.name)
        .collect();
    let missing: Vec<&&String> = described
        .iter()
        .filter(|n| !POLLED.contains(&n.as_str()) && !validated.contains(n))
        .collect();
    assert!(missing.is_empty(), "not validated: {missing:?}");
    assert!(described.len() >= 5, "{described:?}");
}

#[tokio::test]
async fn two_sandboxes_share_no_state() {
    let a = start(&Opts::default()).await;
    let b = start(&Opts::default()).await;
    a.ok("create_domain", json!({"name": "only-in-a.org"}))
        .await;
    let la = a.ok("list_domains", json!({})).await;
    let lb = b.ok("list_domains", json!({})).await;
    assert!(la.to_string().contains("only-in-a.org"));
    assert!(!lb.to_string().contains("only-in-a.org"));
}

#[tokio::test]
async fn workflows() {
    let s = start(&Opts::all_gates()).await;
    // Verify a domain: create, recheck, poll until the check completes, then it is active.
    let d = s.ok("create_domain", json!({"name": "new.example"})).await;
    let domain_id = d["data"]["id"].clone();
    assert_eq!(d["data"]["status"], "pending_dns");
    let c = s.ok("dns_recheck", json!({"domain_id": domain_id})).await;
    let check_id = c["data"]["id"].clone();
    let mut status = Value::Null;
    for _ in 0..5 {
        status = s
            .valid("get_dns_check", json!({"check_id": check_id}))
            .await["data"]["status"]
            .clone();
        if status == "completed" {
            break;
        }
    }
    assert_eq!(status, "completed");
    let d = s.ok("get_domain", json!({"domain_id": domain_id})).await;
    assert_eq!(d["data"]["status"], "active");
    // A mailbox with forwarding, then the two-step delete.
    let m = s
        .ok(
            "create_mailbox_generated_password",
            json!({"domain_id": domain_id, "local_part": "jane"}),
        )
        .await;
    let mailbox_id = m["data"]["id"].clone();
    s.ok(
        "set_forwarding",
        json!({"mailbox_id": mailbox_id, "enabled": true, "targets": ["jane@example.org"]}),
    )
    .await;
    let f = s
        .ok("get_forwarding", json!({"mailbox_id": mailbox_id}))
        .await;
    assert_eq!(f["data"]["enabled"], true, "{f}");
    let i = s
        .ok("create_delete_intent", json!({"mailbox_id": mailbox_id}))
        .await;
    s.ok(
        "confirm_delete_intent",
        json!({"intent_id": i["data"]["id"], "confirm": true}),
    )
    .await;
    let r = s
        .call("get_mailbox", json!({"mailbox_id": mailbox_id}))
        .await;
    assert!(
        is_error(&r) && text(&r).contains("not_found"),
        "{}",
        text(&r)
    );
    // Inbox and an attachment.
    let l = s.valid("list_messages", json!({"limit": 10})).await;
    assert!(l["data"]["messages"].as_array().unwrap().len() >= 5, "{l}");
    let a = s
        .ok("download_attachment", json!({"uid": 1002, "index": 0}))
        .await;
    // A file as a file: metadata in structuredContent, the PNG as image content.
    assert_eq!(a["media_type"], "image/png");
    assert!(a.get("content_base64").is_none());
    let r = s
        .call("download_attachment", json!({"uid": 1002, "index": 0}))
        .await;
    assert!(
        r.content
            .iter()
            .any(|c| c.as_image().is_some_and(|i| i.mime_type == "image/png")),
        "{:?}",
        r.content
    );
    // Send, then find it in Sent; addressed to bob, it reaches bob's inbox.
    s.ok("send_message", json!({"to": ["bob@example.com"], "subject": "Sandbox hello", "body_text": "Hi Bob", "confirm_send": true}))
        .await;
    let sent = s.ok("list_messages", json!({"folder": "Sent"})).await;
    assert!(sent.to_string().contains("Sandbox hello"));
    // A migration to completion.
    let mg = s
        .ok("start_migration", {
            let mut a = minimal_args()["start_migration"].clone();
            a["mailbox_id"] = json!(1);
            a
        })
        .await;
    let id = mg["data"]["id"].clone();
    let mut status = Value::Null;
    for _ in 0..5 {
        status =
            s.valid("get_migration", json!({"migration_id": id})).await["data"]["status"].clone();
        if status == "completed" {
            break;
        }
    }
    assert_eq!(status, "completed");
    // Bulk verification with a CSV download.
    let j = s
        .ok(
            "verify_email_bulk",
            json!({"emails": ["a@example.org", "b@example.org"]}),
        )
        .await;
    let job = j["data"]["id"].clone();
    for _ in 0..3 {
        s.ok("verify_job_status", json!({"job_id": job})).await;
    }
    let r = s.call("verify_job_download", json!({"job_id": job})).await;
    assert!(
        !is_error(&r) && text(&r).contains("a@example.org,valid"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn a_minted_message_token_reaches_the_agent_whole_with_the_sandbox_tokens() {
    // As `--sandbox` configures it: the sandbox's own tokens are the server's, and the server
    // redacts them from every answer; a minted token must not contain them.
    let s = start(&Opts {
        extra: vec![
            ("TREKMAIL_API_TOKEN", trekmail_sandbox::OPS_TOKEN.into()),
            (
                "TREKMAIL_MESSAGE_TOKEN",
                trekmail_sandbox::MESSAGE_TOKEN.into(),
            ),
        ],
        ..Opts::all_gates()
    })
    .await;
    let t = s
        .ok(
            "create_message_token",
            json!({"mailbox_id": 1, "name": "agent", "scopes": ["messages:read"]}),
        )
        .await;
    let token = t["data"]["token"].as_str().unwrap_or_default().to_owned();
    assert!(
        token.starts_with("tm_msg_") && !token.contains("[redacted]"),
        "{t}"
    );
}
