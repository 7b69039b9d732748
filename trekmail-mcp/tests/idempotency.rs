//! Idempotency on the wire: a retry reuses its key, a new intent never gets an old one, the
//! result names the key, and secrets enter keys only through a digest keyed by the token.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Harness, OPS_TOKEN, Opts, is_error, notes, recording_policy, text};
use trekmail_mcp::Catalog;
use trekmail_mcp::call::idempotency::{KeyPolicy, SecretKey, derive};

fn keys(reqs: &[wiremock::Request]) -> Vec<String> {
    reqs.iter()
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn forwarding(target: &str) -> Value {
    json!({"mailbox_id": 7, "enabled": true, "targets": [target]})
}

#[tokio::test]
async fn a_then_b_then_a_again_reaches_the_api_three_times_with_three_keys() {
    let h = Harness::start(Opts::all_gates()).await;
    h.answer_json(200, json!({"ok": true})).await;
    for t in ["a@x.example", "b@x.example", "a@x.example"] {
        let r = h.call("set_forwarding", forwarding(t)).await;
        assert!(!is_error(&r), "{}", text(&r));
    }
    let k = keys(&h.requests().await);
    assert_eq!(k.len(), 3);
    assert_ne!(k[0], k[1]);
    assert_ne!(
        k[2], k[0],
        "the third call must not replay the first answer"
    );
    assert_ne!(k[2], k[1]);
    assert!(k[2].starts_with("mcp_set_forwarding_") && k[2].len() == k[0].len());
    // The same with a tool whose key has no time window, and a retry of the third call.
    h.mock.reset().await;
    h.answer_json(200, json!({"ok": true})).await;
    for folder in ["A", "B", "A", "A"] {
        h.call("create_mail_rule", rule(1, folder)).await;
    }
    let k = keys(&h.requests().await);
    assert_eq!(k.len(), 4);
    assert_ne!(k[2], k[0]);
    assert_ne!(k[2], k[1]);
    assert_eq!(k[3], k[2], "a retry of the third call keeps its key");
}

fn rule(mailbox_id: u64, folder: &str) -> Value {
    json!({"mailbox_id": mailbox_id, "conditions": [{"field": "subject", "operator": "contains", "value": "x"}],
        "actions": [{"type": "fileinto", "value": folder}]})
}

#[tokio::test]
async fn a_then_a_shares_a_key_and_targets_are_independent() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(201, json!({"id": 1})).await;
    h.call("create_domain", json!({"name": "example.com"}))
        .await;
    h.call("create_domain", json!({"name": "example.com"}))
        .await;
    // Writes to other targets in between do not make the repeat a new intent.
    h.call("create_mail_rule", rule(1, "A")).await;
    h.call("create_mail_rule", rule(2, "B")).await;
    h.call("create_mail_rule", rule(1, "A")).await;
    let k = keys(&h.requests().await);
    assert_eq!(k[0], "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af");
    assert_eq!(k[1], k[0]);
    assert_eq!(k[4], k[2]);
    assert_ne!(k[3], k[2]);
}

#[tokio::test]
async fn a_caller_key_is_sent_as_is_and_a_new_one_repeats_on_purpose() {
    let h = Harness::start(Opts {
        sending: true,
        ..Opts::default()
    })
    .await;
    h.answer_json(202, json!({"message_id": "<1@x>"})).await;
    let send = json!({"to": ["jane@example.com"], "subject": "Hi", "body_text": "Hello", "confirm_send": true});
    h.call("send_message", send.clone()).await;
    h.call("send_message", send.clone()).await;
    let mut again = send.clone();
    again["idempotency_key"] = json!("second-send-on-purpose");
    h.call("send_message", again).await;
    let k = keys(&h.requests().await);
    assert_eq!(k[0], k[1], "an identical repeat is a retry");
    assert_eq!(k[2], "second-send-on-purpose");
}

#[tokio::test]
async fn every_write_result_names_the_key_that_went_on_the_wire() {
    let h = Harness::start(Opts::all_gates()).await;
    h.answer_json(200, json!({"ok": true})).await;
    let r = h.call("set_forwarding", forwarding("a@x.example")).await;
    let sent = keys(&h.requests().await).remove(0);
    assert!(
        notes(&r).contains(&format!("Idempotency-Key: {sent} ")),
        "{}",
        notes(&r)
    );
    assert!(notes(&r).contains("new idempotency_key"));
    let r = h.call("get_domain", json!({"domain_id": 1})).await;
    assert!(!text(&r).contains("Idempotency-Key"));
}

#[test]
fn send_and_schedule_descriptions_explain_retry_and_sending_again() {
    let c = Catalog::embedded().unwrap();
    for tool in ["send_message", "schedule_message"] {
        let d = &c.get(tool).unwrap().entry.description;
        assert!(
            d.contains("repeat is a retry") && d.contains("new idempotency_key"),
            "{tool}: {d}"
        );
    }
}

#[tokio::test]
async fn secret_keys_survive_a_restart_and_cannot_be_confirmed_offline() {
    let h = Harness::start(Opts::all_gates()).await;
    h.answer_json(201, json!({"id": 1})).await;
    let migration = json!({"mailbox_id": 7, "provider": "generic_imap", "source_host": "imap.example.com",
        "source_port": 993, "source_security": "ssl", "source_email": "jane@example.net",
        "source_password": "app-password-123", "confirm_start": true});
    let bulk = json!({"data": "jane@old.example,app-pass-jane-1,jane@example.com\n", "confirm_start": true});
    h.call("start_migration", migration.clone()).await;
    h.call("start_bulk_migration", bulk.clone()).await;
    // A restart: a new server with the same token.
    let (policy, _) = recording_policy();
    let restarted = Harness::server_for(&h.mock.uri(), &Opts::all_gates(), policy);
    for (tool, args) in [
        ("start_migration", &migration),
        ("start_bulk_migration", &bulk),
    ] {
        restarted
            .call(tool, args.as_object().cloned())
            .await
            .unwrap();
    }
    let k = keys(&h.requests().await);
    assert_eq!(k[2], k[0], "a retry after a restart sends the same key");
    assert_eq!(k[3], k[1], "and so does a bulk migration's");
    // The plain hash of the arguments would let anyone confirm a guessed password.
    let catalog = Catalog::embedded().unwrap();
    for (i, (tool, args)) in [
        ("start_migration", &migration),
        ("start_bulk_migration", &bulk),
    ]
    .into_iter()
    .enumerate()
    {
        let plain = derive(
            tool,
            args.as_object().unwrap(),
            &[catalog.get(tool).unwrap().entry.confirm.as_deref().unwrap()],
            &KeyPolicy::default(),
            &SecretKey::random(),
            0,
        );
        assert_ne!(
            k[i],
            plain.as_str(),
            "{tool}: secret entered the key in the clear"
        );
    }
    // Another password gives another key; another token keys the digest differently.
    let mut other = bulk.clone();
    other["data"] = json!("jane@old.example,another-password,jane@example.com\n");
    h.call("start_bulk_migration", other).await;
    assert_ne!(keys(&h.requests().await)[4], k[1]);
    let (policy, _) = recording_policy();
    let other_token = Harness::server_for(
        &h.mock.uri(),
        &Opts {
            extra: vec![("TREKMAIL_API_TOKEN", format!("{OPS_TOKEN}x"))],
            ..Opts::all_gates()
        },
        policy,
    );
    other_token
        .call("start_migration", migration.as_object().cloned())
        .await
        .unwrap();
    assert_ne!(keys(&h.requests().await)[5], k[0]);
}

/// A state store that never answers: it accepts connections and reads nothing back.
async fn silent_store() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    (format!("redis://:storepass-0123@{addr}"), task)
}

/// A loopback port nothing listens on.
fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("redis://:storepass-0123@{addr}")
}

fn with_store(url: String, required: Option<&str>) -> Opts {
    let mut opts = Opts::all_gates();
    opts.extra.push(("TREKMAIL_STATE_URL", url));
    opts.extra.push(("TREKMAIL_TIMEOUT_MS", "400".into()));
    if let Some(r) = required {
        opts.extra.push(("TREKMAIL_STATE_REQUIRED", r.into()));
    }
    opts
}

#[tokio::test]
async fn a_write_whose_intent_the_store_cannot_decide_is_refused_and_nothing_is_sent() {
    let (silent, task) = silent_store().await;
    for url in [closed_port_url(), silent] {
        let h = Harness::start(with_store(url, None)).await;
        h.answer_json(200, json!({"ok": true})).await;
        let started = std::time::Instant::now();
        let r = h.call("set_forwarding", forwarding("a@x.example")).await;
        // Bounded by the call deadline (400 ms), with room for a loaded machine.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(is_error(&r));
        let t = text(&r);
        assert!(
            t.contains("set_forwarding was not sent")
                && t.contains("TREKMAIL_STATE_URL")
                && t.contains("retry the same call shortly"),
            "{t}"
        );
        assert!(!t.contains("storepass"), "the store's password leaked: {t}");
        // Reads go on.
        let r = h.call("get_domain", json!({"domain_id": 7})).await;
        assert!(!is_error(&r), "{}", text(&r));
        let sent = h.requests().await;
        assert_eq!(sent.len(), 1, "only the read reached the API");
        assert_eq!(sent[0].method.as_str(), "GET");
    }
    task.abort();
}

#[tokio::test]
async fn with_the_store_not_required_a_write_falls_back_to_the_process_memory() {
    let h = Harness::start(with_store(closed_port_url(), Some("false"))).await;
    h.answer_json(200, json!({"ok": true})).await;
    for t in ["a@x.example", "b@x.example", "a@x.example", "a@x.example"] {
        let r = h.call("set_forwarding", forwarding(t)).await;
        assert!(!is_error(&r), "{}", text(&r));
    }
    let k = keys(&h.requests().await);
    assert_eq!(k.len(), 4);
    assert_ne!(k[2], k[0], "A, B, A still told apart, in this process");
    assert_eq!(k[3], k[2]);
}
