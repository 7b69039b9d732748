//! Only the tools the token can use: capabilities as data (checked against the facts), the
//! listing narrowed by what `whoami` grants, refusals naming the missing scope, the start-up
//! behaviour of the binary when the lookup fails, and `--list-tools`.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use support::{Harness, MSG_TOKEN, OPS_TOKEN, Opts};
use trekmail_mcp::Catalog;
use trekmail_mcp::serve::scopes::Granted;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn facts() -> Value {
    serde_json::from_str(include_str!("../../tests/fixtures/latest-scopes.json")).unwrap()
}

/// The tools the facts grant a token of `token` kind holding `scopes`.
fn granted_by_facts(token: &str, scopes: &[&str]) -> BTreeSet<String> {
    let g = Granted::new(scopes.iter().copied());
    let facts = facts();
    let catalog = Catalog::embedded().unwrap();
    facts["tools"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, t)| catalog.get(name).is_some() && t["token"] == token)
        .filter(|(_, t)| {
            let list = |k: &str| -> Vec<String> {
                t[k].as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect()
            };
            let any = list("anyOf");
            (any.is_empty() || any.iter().any(|s| g.has(s)))
                && list("allOf").iter().all(|s| g.has(s))
        })
        .map(|(n, _)| n.clone())
        .collect()
}

#[test]
fn every_tool_needs_the_scopes_the_facts_give_it() {
    let facts = facts();
    let catalog = Catalog::embedded().unwrap();
    for t in catalog.tools() {
        let f = &facts["tools"][&t.entry.name];
        assert!(f.is_object(), "{} is not in the facts", t.entry.name);
        let caps = t.entry.capabilities.as_ref().unwrap();
        let list = |k: &str| -> Vec<String> {
            f[k].as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(caps.any_of, list("anyOf"), "{} anyOf", t.entry.name);
        assert_eq!(caps.all_of, list("allOf"), "{} allOf", t.entry.name);
    }
}

#[tokio::test]
async fn a_message_token_with_messages_read_lists_exactly_what_the_facts_grant() {
    let opts = Opts {
        ops: false,
        ..Opts::default()
    };
    let mut h = Harness::start(opts).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/messages/_me"))
        .and(header(
            "authorization",
            format!("Bearer {MSG_TOKEN}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"mailbox_id": 5, "scopes": ["messages:read"]}})),
        )
        .mount(&h.mock)
        .await;
    let before = h.server.tools().len();
    let problems = h.server.learn_scopes().await.unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let listed: BTreeSet<String> = h
        .server
        .tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    let expected = granted_by_facts("message", &["messages:read"]);
    assert_eq!(listed, expected);
    assert!(listed.contains("list_messages"));
    assert!(!listed.contains("send_message"));
    assert!(listed.len() < before, "nothing was hidden");
    // A call to a hidden tool is refused naming the scope, and nothing is sent.
    h.mock.reset().await;
    let e = h
        .try_call("send_message", json!({"to": ["a@example.com"]}))
        .await
        .unwrap_err();
    assert!(e.message.contains("messages:send"), "{}", e.message);
    assert!(e.message.contains("TREKMAIL_SCOPE_AWARE"), "{}", e.message);
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn the_ops_token_is_narrowed_by_whoami_and_all_of_counts() {
    let opts = Opts {
        message: false,
        ..Opts::default()
    };
    let mut h = Harness::start(opts).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/me"))
        .and(header("authorization", format!("Bearer {OPS_TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"token": {"scopes": ["*"]}, "capabilities": {"effective_scopes": ["account:read", "domains:read", "activity:read"]}}}),
        ))
        .mount(&h.mock)
        .await;
    h.server.learn_scopes().await.unwrap();
    let listed: BTreeSet<String> = h
        .server
        .tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert_eq!(
        listed,
        granted_by_facts("ops", &["account:read", "domains:read", "activity:read"])
    );
    assert!(listed.contains("whoami") && listed.contains("list_domains"));
    assert!(!listed.contains("create_domain"));
}

#[tokio::test]
async fn a_failed_lookup_hides_nothing_and_says_why() {
    let mut h = Harness::start(Opts::default()).await;
    h.answer_json(
        503,
        json!({"error": {"code": "unavailable", "message": "down"}}),
    )
    .await;
    let before = h.server.tools().len();
    let problems = h.server.learn_scopes().await.unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains("whoami")),
        "{problems:?}"
    );
    assert_eq!(h.server.tools().len(), before);
}

// The binary.

fn run(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"));
    c.env_clear().args(args).stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[tokio::test]
async fn list_tools_shows_what_the_scopes_hide() {
    let mock = MockServer::start().await;
    support::grant_scopes(&mock, &["domains:read"]).await;
    let base = mock.uri();
    let env = [
        ("TREKMAIL_BASE_URL", base.clone()),
        ("TREKMAIL_API_TOKEN", "tm_live_x1234567".to_owned()),
        ("TREKMAIL_TOOLSETS", "domains".to_owned()),
    ];
    let o = tokio::task::spawn_blocking(move || run(&["--list-tools"], &env))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(text.contains("Hidden by the token's scopes"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("create_domain") && l.contains("domains:create")),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("get_domain  ") && l.contains("lacks")),
        "{text}"
    );
    // Switched off: nothing is asked, nothing hidden.
    let base = mock.uri();
    mock.reset().await;
    let env = [
        ("TREKMAIL_BASE_URL", base.clone()),
        ("TREKMAIL_API_TOKEN", "tm_live_x1234567".to_owned()),
        ("TREKMAIL_SCOPE_AWARE", "false".to_owned()),
    ];
    let o = tokio::task::spawn_blocking(move || run(&["--list-tools"], &env))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Hidden by"));
    assert!(mock.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_whoami_at_start_up_lists_everything_and_says_so_once() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&mock)
        .await;
    let base = mock.uri();
    let env = [
        ("TREKMAIL_BASE_URL", base.clone()),
        ("TREKMAIL_API_TOKEN", "tm_live_x1234567".to_owned()),
        ("TREKMAIL_TIMEOUT_MS", "3000".to_owned()),
    ];
    let o = tokio::task::spawn_blocking(move || run(&["--list-tools"], &env))
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("scopes could not be learnt").count(),
        1,
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Hidden by"));
}
