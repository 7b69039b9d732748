//! Machine payments end to end: the built binary over stdio, a client that answers elicitation
//! requests, logs at debug level. The user's approval shows the price and the item and never the
//! credential; a declined approval sends nothing with the credential; an approved one buys
//! credits and a subscription on the sandbox, and the following reads show them.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::stdio::{Logs, Peer};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CREDENTIAL: &str = "spt_live_SECRETcredential42";

/// The binary with the ops token `token`, payments on, logs at debug level kept.
fn spawn(base: &str, token: &str, extra: &[(&str, &str)]) -> Peer {
    let mut env = vec![
        ("TREKMAIL_BASE_URL", base),
        ("TREKMAIL_API_TOKEN", token),
        ("TREKMAIL_LOG", "debug"),
        ("RUST_LOG", "debug"),
        ("TREKMAIL_SCOPE_AWARE", "false"),
        ("TREKMAIL_ALLOW_PAYMENTS", "true"),
    ];
    env.extend_from_slice(extra);
    Peer::spawn(&env, Logs::Kept)
}

/// What this client adds: it answers elicitation requests.
impl Peer {
    /// Calls `tool`; every elicitation request on the way is answered `action` and its message
    /// kept. Returns the tool's result and the questions asked.
    async fn call(
        &mut self,
        id: u64,
        tool: &str,
        args: Value,
        action: &str,
    ) -> (Value, Vec<String>) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": args}}))
            .await;
        let mut asked = Vec::new();
        loop {
            let m = self.recv().await;
            if m["method"] == "elicitation/create" {
                asked.push(m["params"]["message"].as_str().unwrap().to_owned());
                let result = if action == "accept" {
                    json!({"action": "accept", "content": {}})
                } else {
                    json!({"action": action})
                };
                self.send(json!({"jsonrpc": "2.0", "id": m["id"], "result": result}))
                    .await;
            } else if m["id"] == id {
                return (m["result"].clone(), asked);
            }
        }
    }
}

/// The audit lines among the server's stderr (`TREKMAIL_AUDIT_LOG=-`): tool, outcome, and the
/// rule of a refusal or the approval of a write.
fn audit(err: &str) -> Vec<(String, String, String)> {
    err.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("outcome").is_some() && v.get("tool").is_some())
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            let why = if v["outcome"] == "refused" {
                s("rule")
            } else {
                s("approval")
            };
            (s("tool"), s("outcome"), why)
        })
        .collect()
}

fn lines(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

fn text(r: &Value) -> String {
    r["content"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_declined_approval_sends_nothing_with_the_credential() {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agent/subscription"))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({"error": {
            "code": "payment_required", "message": "the subscription costs 2900 cents (EUR)",
            "amount": 2900, "currency": "EUR"
        }})))
        .mount(&api)
        .await;
    // TREKMAIL_HUMAN_CONFIRM=never does not spare a payment the question.
    let mut peer = spawn(
        &api.uri(),
        "tm_live_testOPS0123456789abcdef",
        &[
            ("TREKMAIL_HUMAN_CONFIRM", "never"),
            ("TREKMAIL_AUDIT_LOG", "-"),
        ],
    );
    peer.initialize(json!({"elicitation": {"form": {}}})).await;
    let args = json!({"plan": "agency", "period": "monthly", "credential": CREDENTIAL, "confirm_payment": true});
    for (id, action) in [(1, "decline"), (2, "cancel")] {
        let (r, asked) = peer
            .call(id, "agent_subscribe_mail_plan", args.clone(), action)
            .await;
        assert_eq!(r["isError"], true, "{r}");
        assert!(text(&r).contains("Nothing was paid"), "{r}");
        assert_eq!(asked.len(), 1, "{asked:?}");
        let q = &asked[0];
        assert!(
            q.contains("2900 EUR") && q.contains("agency") && q.contains("monthly"),
            "{q}"
        );
        assert!(!q.contains(CREDENTIAL), "{q}");
    }
    let requests = api.received_requests().await.unwrap();
    assert!(
        requests
            .iter()
            .all(|r| r.headers.get("payment-authorization").is_none()),
        "a request carried the credential"
    );
    let err = peer.stderr().await;
    assert!(
        err.contains("DEBUG") || err.contains("debug"),
        "not at debug level: {err}"
    );
    assert!(!err.contains(CREDENTIAL), "the credential reached the log");
    let tool = "agent_subscribe_mail_plan";
    assert_eq!(
        audit(&err),
        lines(&[
            (tool, "refused", "approval_declined"),
            (tool, "refused", "approval_cancelled"),
        ]),
        "{err}"
    );
}

#[tokio::test]
async fn approved_purchases_on_the_sandbox_show_in_the_following_reads() {
    let sandbox = trekmail_sandbox::Sandbox::new()
        .unwrap()
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let credits_credential = trekmail_sandbox::TEST_SHARED_PAYMENT_TOKEN;
    let card = trekmail_sandbox::TEST_PAYMENT_METHOD;
    let mut peer = spawn(
        &sandbox.base_url(),
        trekmail_sandbox::OPS_TOKEN,
        &[("TREKMAIL_AUDIT_LOG", "-")],
    );
    peer.initialize(json!({"elicitation": {"form": {}}})).await;

    // The price first: an answer, not an error, and nothing asked.
    let (r, asked) = peer
        .call(
            1,
            "agent_buy_verifier_credits",
            json!({"quantity": 5000}),
            "accept",
        )
        .await;
    assert_ne!(r["isError"], true, "{r}");
    assert!(asked.is_empty());
    assert!(text(&r).contains("3900 EUR"), "{r}");

    let (r, asked) = peer
        .call(
            2,
            "agent_buy_verifier_credits",
            json!({"quantity": 5000, "credential": credits_credential, "confirm_payment": true}),
            "accept",
        )
        .await;
    assert_ne!(r["isError"], true, "{r}");
    assert_eq!(asked.len(), 1);
    assert!(
        asked[0].contains("3900 EUR") && asked[0].contains("quantity: 5000"),
        "{}",
        asked[0]
    );
    let (r, _) = peer.call(3, "verify_credits", json!({}), "accept").await;
    assert_eq!(r["structuredContent"]["data"]["purchased"], 5000, "{r}");

    let (r, asked) = peer
        .call(
            4,
            "agent_subscribe_mail_plan",
            json!({"plan": "pro", "period": "yearly", "credential": card, "confirm_payment": true}),
            "accept",
        )
        .await;
    assert_ne!(r["isError"], true, "{r}");
    assert!(asked[0].contains("9000 EUR"), "{}", asked[0]);
    let (r, _) = peer
        .call(5, "get_billing_status", json!({}), "accept")
        .await;
    assert_eq!(r["structuredContent"]["data"]["plan"], "pro", "{r}");
    assert_eq!(r["structuredContent"]["data"]["period"], "yearly", "{r}");

    let seen = peer.seen.clone();
    let err = peer.stderr().await;
    for secret in [credits_credential, card] {
        assert!(!err.contains(secret), "{secret} reached the log");
        assert!(!seen.contains(secret), "{secret} reached the client");
    }
    // The audit trail (on stderr, scanned above): the price call is a write like any other; a
    // payment is announced after the user's yes (elicitation), just before the credential leaves.
    let (credits, plan) = ("agent_buy_verifier_credits", "agent_subscribe_mail_plan");
    assert_eq!(
        audit(&err),
        lines(&[
            (credits, "attempted", "not_guarded"),
            (credits, "sent", "not_guarded"),
            (credits, "attempted", "elicitation"),
            (credits, "sent", "elicitation"),
            (plan, "attempted", "elicitation"),
            (plan, "sent", "elicitation"),
        ]),
        "{err}"
    );
}
