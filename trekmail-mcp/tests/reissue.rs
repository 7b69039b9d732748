//! `agent_reissue_key` (map column `new_token`): the API revokes the key a call was made with
//! and answers a new one once. In operator mode the server sends the new key on every later call
//! and never the old one again; the key reaches the user once, in a block annotated for the
//! user, and nowhere else (structured content, the other text, the audit line, stderr at debug
//! level); a request that was written is never repeated; the stdio binary does it all against
//! the sandbox, which refuses the old key afterwards.
#![allow(clippy::unwrap_used)]

mod support;

use rmcp::model::{CallToolResult, Role};
use serde_json::{Value, json};
use support::stdio::{Logs, Peer};
use support::{Harness, MSG_TOKEN, OPS_TOKEN, Opts};
use tokio::io::AsyncWriteExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const NEW_KEY: &str = "tm_live_NEWreissued0123456789xyz";
const PLACEHOLDER: &str = trekmail_mcp::call::reissue::PLACEHOLDER;

fn bearer(r: &wiremock::Request) -> String {
    r.headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The text blocks of `r` that hold `needle`, with their audience.
fn blocks_with(r: &CallToolResult, needle: &str) -> Vec<Option<Vec<Role>>> {
    r.content
        .iter()
        .filter_map(|c| c.as_text())
        .filter(|t| t.text.contains(needle))
        .map(|t| t.annotations.as_ref().and_then(|a| a.audience.clone()))
        .collect()
}

async fn mount_reissue(h: &Harness) {
    Mock::given(method("POST"))
        .and(path("/api/v1/agent/key/reissue"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "data": {"status": "reissued", "token": NEW_KEY, "api_token": NEW_KEY,
                     "scopes": ["*"], "revoked_previous": true}
        })))
        .mount(&h.mock)
        .await;
}

#[tokio::test]
async fn after_the_reissue_every_call_carries_the_new_key_and_the_old_one_is_never_sent_again() {
    let dir = std::env::temp_dir().join(format!("trekmail-reissue-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let audit = dir.join("audit.jsonl");
    let h = Harness::start(Opts {
        destructive: true,
        extra: vec![("TREKMAIL_AUDIT_LOG", audit.display().to_string())],
        ..Opts::default()
    })
    .await;
    mount_reissue(&h).await;
    // Later answers that echo the new key: the ops client and the message client scrub it.
    Mock::given(method("GET"))
        .and(path("/api/v1/account"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"id": 1, "note": format!("key {NEW_KEY}")}})),
        )
        .mount(&h.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [], "note": format!("key {NEW_KEY}")})),
        )
        .mount(&h.mock)
        .await;

    let r = h.call("agent_reissue_key", json!({})).await;
    assert!(!support::is_error(&r), "{r:?}");
    // The key: once, in the one block for the user alone.
    assert_eq!(blocks_with(&r, NEW_KEY), vec![Some(vec![Role::User])]);
    let structured = r.structured_content.clone().unwrap();
    assert!(!structured.to_string().contains(NEW_KEY), "{structured}");
    assert_eq!(structured["data"]["token"], PLACEHOLDER);
    assert_eq!(structured["data"]["api_token"], PLACEHOLDER);
    let all = support::text(&r);
    assert!(
        all.contains("TREKMAIL_API_TOKEN is now revoked and must be replaced with the new key"),
        "{all}"
    );

    for _ in 0..2 {
        let r = h.call("get_account", json!({})).await;
        assert!(!support::is_error(&r), "{r:?}");
        assert!(!format!("{r:?}").contains(NEW_KEY), "{r:?}");
    }
    let r = h.call("list_messages", json!({})).await;
    assert!(!format!("{r:?}").contains(NEW_KEY), "{r:?}");

    let requests = h.requests().await;
    let ops: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.url.path().to_owned(), bearer(r)))
        .filter(|(_, b)| !b.contains(MSG_TOKEN))
        .collect();
    assert_eq!(
        ops,
        vec![
            (
                "/api/v1/agent/key/reissue".into(),
                format!("Bearer {OPS_TOKEN}")
            ),
            ("/api/v1/account".into(), format!("Bearer {NEW_KEY}")),
            ("/api/v1/account".into(), format!("Bearer {NEW_KEY}")),
        ]
    );
    // The audit line names the call, never a key.
    let lines = std::fs::read_to_string(&audit).unwrap();
    assert!(lines.contains("agent_reissue_key"), "{lines}");
    assert!(
        !lines.contains(NEW_KEY) && !lines.contains(OPS_TOKEN),
        "{lines}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_written_reissue_is_never_repeated() {
    let h = Harness::start(Opts {
        destructive: true,
        ..Opts::default()
    })
    .await;
    h.answer_json(
        503,
        json!({"error": {"code": "unavailable", "message": "try later"}}),
    )
    .await;
    let r = h.call("agent_reissue_key", json!({})).await;
    assert!(support::is_error(&r), "{r:?}");
    assert_eq!(h.requests().await.len(), 1);
    assert!(h.sleeps.lock().unwrap().is_empty());
    // Nothing was switched: the next call still carries the configured key.
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    h.call("get_account", json!({})).await;
    let requests = h.requests().await;
    assert_eq!(bearer(&requests[0]), format!("Bearer {OPS_TOKEN}"));
}

#[tokio::test]
async fn an_answer_without_a_usable_key_keeps_the_old_one_and_says_so() {
    let h = Harness::start(Opts {
        destructive: true,
        ..Opts::default()
    })
    .await;
    h.answer_json(
        201,
        json!({"data": {"status": "reissued", "token": "tm_msg_notAnOpsKey01"}}),
    )
    .await;
    let r = h.call("agent_reissue_key", json!({})).await;
    assert!(support::is_error(&r), "{r:?}");
    let t = support::text(&r);
    assert!(
        t.contains("not an ops key") && t.contains("keeps its current ops key"),
        "{t}"
    );
    assert!(!format!("{r:?}").contains("tm_msg_notAnOpsKey01"), "{r:?}");
    h.call("get_account", json!({})).await;
    let requests = h.requests().await;
    assert_eq!(bearer(&requests[1]), format!("Bearer {OPS_TOKEN}"));
}

/// The stdio binary against the sandbox, logs at debug level and the audit trail on stderr:
/// the reissue, then a call with the new key succeeds; the sandbox refuses the old key; stderr
/// never holds the new key.
#[tokio::test]
async fn end_to_end_on_the_sandbox_the_new_key_works_and_the_old_one_is_refused() {
    let sandbox = trekmail_sandbox::Sandbox::new()
        .unwrap()
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let base = sandbox.base_url();
    let old = trekmail_sandbox::OPS_TOKEN;
    let mut peer = Peer::spawn(
        &[
            ("TREKMAIL_BASE_URL", base.as_str()),
            ("TREKMAIL_API_TOKEN", old),
            ("TREKMAIL_LOG", "debug"),
            ("TREKMAIL_SCOPE_AWARE", "false"),
            ("TREKMAIL_ALLOW_DESTRUCTIVE", "true"),
            ("TREKMAIL_AUDIT_LOG", "-"),
        ],
        Logs::Kept,
    );
    // A line that is not JSON is logged at debug level: proof that the level is on.
    peer.stdin.write_all(b"not json\n").await.unwrap();
    peer.initialize(json!({})).await;
    // One call after the other: a call in flight during the swap would still carry the old key.
    let mut results = std::collections::HashMap::new();
    for (id, tool) in [(1u64, "agent_reissue_key"), (2, "get_account")] {
        let r = peer
            .request(id, "tools/call", json!({"name": tool, "arguments": {}}))
            .await;
        results.insert(id, r["result"].clone());
    }
    let reissued = &results[&1];
    assert_ne!(reissued["isError"], true, "{reissued}");
    // The key, from the block for the user.
    let for_user: Vec<&Value> = reissued["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["annotations"]["audience"] == json!(["user"]))
        .collect();
    assert_eq!(for_user.len(), 1, "{reissued}");
    let new = for_user[0]["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|w| w.starts_with("tm_live_"))
        .unwrap()
        .to_owned();
    assert_ne!(new, old);
    assert_eq!(
        reissued.to_string().matches(&new).count(),
        1,
        "the key is in the answer once: {reissued}"
    );
    assert!(
        !reissued["structuredContent"].to_string().contains(&new),
        "{reissued}"
    );
    let account = &results[&2];
    assert_ne!(
        account["isError"], true,
        "the call after the reissue: {account}"
    );

    // The sandbox takes the new key and refuses the old one.
    let http = reqwest::Client::new();
    let with = |t: &str| {
        http.get(format!("{base}/api/v1/account"))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(with(&new).await.unwrap().status().as_u16(), 200);
    let refused = with(old).await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    assert!(refused.text().await.unwrap().contains("token_revoked"));

    let err = peer.stderr().await;
    assert!(err.contains("DEBUG"), "not at debug level: {err}");
    assert!(err.contains("agent_reissue_key"), "no audit line: {err}");
    assert!(!err.contains(&new), "the new key reached stderr");
    assert!(!err.contains(old), "the old key reached stderr");
}
