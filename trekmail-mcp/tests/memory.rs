//! Memory bounded whatever the input's shape (issue 22, part 3): the real binary, over HTTP and
//! over stdio, given many keys, deep nesting, long arrays, long strings and many requests at
//! once. Each shape's outcome is asserted (refused before parsing, or accepted), and that nothing
//! reached the API; the peak RSS each costs is printed (`--nocapture`) and checked against the
//! documented budget, which the unbounded parse exceeded many times over.
#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "tm_live_memory0123456789";
const MIB: f64 = 1024.0 * 1024.0;

fn status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Peak RSS of `pid` in bytes.
fn peak(pid: u32) -> u64 {
    status_kb(pid, "VmHWM:") * 1024
}

fn spawn(base: &str, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"));
    cmd.env_clear()
        .env("TREKMAIL_BASE_URL", base)
        .env("TREKMAIL_API_TOKEN", TOKEN)
        .env("TREKMAIL_LOG", "info")
        // No look-up of the token's scopes: nothing but the shapes' calls could reach the API.
        .env("TREKMAIL_SCOPE_AWARE", "false")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// An API that must not be reached: every shape here is refused before any call.
async fn untouched_api() -> MockServer {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7})))
        .mount(&mock)
        .await;
    mock
}

/// `n` members `"k<i>":1` (the 330,000-key body of the issue is `keys(330_000)`, 3 MB).
fn keys(n: usize) -> String {
    let members: Vec<String> = (0..n).map(|i| format!("\"k{i}\":1")).collect();
    format!("{{{}}}", members.join(","))
}

/// `n` members of 64 bytes, `"k0000000001":"000…0001"`: 32 bytes a value, the densest shape
/// accepted.
fn padded_keys(n: usize) -> String {
    let members: Vec<String> = (0..n)
        .map(|i| format!("\"k{i:010}\":\"{i:049}\""))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// A `tools/call` of `get_domain` whose arguments are `args` (raw JSON).
fn call(id: u64, args: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"get_domain","arguments":{args}}}}}"#
    )
}

/// The shapes: name, arguments, whether the transport refuses them before parsing.
fn shapes() -> Vec<(&'static str, String, bool)> {
    vec![
        ("many keys", keys(330_000), true),
        (
            "deep nesting",
            format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000)),
            true,
        ),
        (
            "long array",
            format!("{{\"a\":[{}]}}", vec!["0"; 1_000_000].join(",")),
            true,
        ),
        (
            "many small objects",
            format!(
                "{{\"a\":[{}]}}",
                vec![r#"{"b":[1,2,3]}"#; 100_000].join(",")
            ),
            true,
        ),
        // Accepted by the transport; the tool refuses the unknown argument.
        (
            "long string",
            format!("{{\"domain_id\":7,\"note\":\"{}\"}}", "x".repeat(3_000_000)),
            false,
        ),
        // The densest shape the scan accepts: what a request may cost.
        (
            "keys within the bounds",
            format!(
                "{{\"domain_id\":7,\"a\":[{}]}}",
                vec![padded_keys(9_000); 5].join(",")
            ),
            false,
        ),
    ]
}

struct Http {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Http {
    async fn start(base: &str) -> Self {
        Self::start_with(base, &[]).await
    }

    async fn start_with(base: &str, env: &[(&str, &str)]) -> Self {
        let mut env = env.to_vec();
        env.push(("TREKMAIL_HTTP_LISTEN", "127.0.0.1:0"));
        let mut child = spawn(base, &env);
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next_line().await.unwrap().expect("a start-up line");
            if let Some(rest) = line.split("http://").nth(1)
                && let Some(a) = rest.split("/mcp").next()
            {
                break a.to_owned();
            }
        };
        // Keep reading the log, or a full pipe would stall the server.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            child,
            url: format!("http://{addr}/mcp"),
            http: reqwest::Client::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// The status and the body, parsed when it is JSON (`Null` when not), and as text.
    async fn post(&self, body: String) -> (u16, Value) {
        let (status, text) = self.post_text(body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post_text(&self, body: String) -> (u16, String) {
        let resp = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap())
    }
}

fn print_row(transport: &str, shape: &str, bytes: usize, outcome: &str, before: u64, after: u64) {
    println!(
        "{transport:<5} {shape:<24} {:>7.1} MB  {outcome:<9} peak RSS {:>7.1} MB (+{:>6.1} MB, {:>5.1}x the input)",
        bytes as f64 / MIB,
        after as f64 / MIB,
        after.saturating_sub(before) as f64 / MIB,
        after.saturating_sub(before) as f64 / bytes as f64,
    );
}

/// Each shape in a fresh process (peak RSS only grows), over HTTP.
#[tokio::test]
async fn every_shape_over_http_is_refused_or_bounded_and_nothing_reaches_the_api() {
    let mock = untouched_api().await;
    for (name, args, refused) in shapes() {
        let server = Http::start(&mock.uri()).await;
        let before = peak(server.pid());
        let body = call(9, &args);
        let bytes = body.len();
        let (status, answer) = server.post(body).await;
        let after = peak(server.pid());
        if refused {
            assert_eq!(status, 400, "{name}: {answer}");
            assert_eq!(
                answer["id"], 9,
                "{name}: the refusal answers the request: {answer}"
            );
            assert!(
                answer["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("refused")),
                "{name}: {answer}"
            );
        } else {
            assert_eq!(status, 200, "{name}: {answer}");
            assert_eq!(answer["result"]["isError"], true, "{name}: {answer}");
        }
        print_row(
            "http",
            name,
            bytes,
            if refused { "refused" } else { "accepted" },
            before,
            after,
        );
        // At most a small multiple of the input (the scan's figure, with room for the
        // allocator); the unbounded parse took 70 times the input for many keys.
        let grown = after.saturating_sub(before);
        assert!(
            grown <= 12 * bytes as u64 + 16 * 1024 * 1024,
            "{name}: {grown} bytes for a {bytes}-byte request"
        );
    }
    assert!(
        mock.received_requests().await.unwrap().is_empty(),
        "nothing reaches the API"
    );
}

/// 64 requests of 330,000 keys at once (2.1 GB before), then 64 small ones that pass the scan:
/// the peak stays within the documented budget (twice body limit × request bound).
#[tokio::test]
async fn many_requests_at_once_over_http_stay_within_the_budget() {
    let mock = untouched_api().await;
    let server = Http::start(&mock.uri()).await;
    let before = peak(server.pid());
    for (name, args, refused) in [
        ("64 x many keys", keys(330_000), true),
        (
            "64 x 5,000 keys",
            format!("{{\"domain_id\":7,\"a\":{}}}", keys(5_000)),
            false,
        ),
    ] {
        let body = call(3, &args);
        let sends: Vec<_> = (0..64).map(|_| server.post(body.clone())).collect();
        let answers = futures_join_all(sends).await;
        for (status, answer) in &answers {
            let expected = if refused { 400 } else { 200 };
            // Past the memory budget a request is told to retry.
            assert!(
                *status == expected || *status == 503,
                "{name}: {status} {answer}"
            );
        }
        let busy = answers.iter().filter(|(s, _)| *s == 503).count();
        let after = peak(server.pid());
        print_row(
            "http",
            name,
            body.len() * 64,
            &format!("{busy} busy"),
            before,
            after,
        );
        // TREKMAIL_HTTP_MAX_BODY_BYTES (4 MiB) × TREKMAIL_HTTP_MAX_REQUESTS (64), twice.
        let budget = 2 * 4 * 1024 * 1024 * 64;
        assert!(
            after.saturating_sub(before) <= budget,
            "{name}: {} MB",
            after.saturating_sub(before) as f64 / MIB
        );
    }
    assert!(mock.received_requests().await.unwrap().is_empty());
}

/// What an accepted request may cost is held from the budget (body limit × request bound) while
/// it is served: past it a request gets 503 at once, and nothing of it reaches the API.
#[tokio::test]
async fn past_the_memory_budget_a_request_is_told_to_retry_and_sends_nothing() {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(1500))
                .set_body_json(json!({"id": 7})),
        )
        .mount(&mock)
        .await;
    // 1 MiB × 2 requests: a budget of 2 MiB. Each request below is 400 KB (whitespace is
    // JSON), which may cost 4 bytes a byte: 1.6 MB, so two do not fit at once.
    let server = Http::start_with(
        &mock.uri(),
        &[
            ("TREKMAIL_HTTP_MAX_BODY_BYTES", "1048576"),
            ("TREKMAIL_HTTP_MAX_REQUESTS", "2"),
        ],
    )
    .await;
    let padded = call(1, &format!("{{\"domain_id\":7{}}}", " ".repeat(400_000)));
    let first = {
        let (http, url, body) = (server.http.clone(), server.url.clone(), padded.clone());
        tokio::spawn(async move {
            let resp = http
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .header("mcp-protocol-version", "2025-11-25")
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
    };
    while mock.received_requests().await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, text) = server.post_text(padded.clone()).await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("memory budget"), "{text}");
    let (status, text) = first.await.unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        mock.received_requests().await.unwrap().len(),
        1,
        "the refused request sent nothing"
    );
    // Its answer written, the first request's share is free again.
    let (status, text) = server.post_text(padded).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(mock.received_requests().await.unwrap().len(), 2);
}

async fn futures_join_all<F: Future>(fs: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = fs.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    let mut pending: Vec<_> = handles.into_iter().map(Some).collect();
    // Poll all at once: each request is in flight together with the others.
    std::future::poll_fn(|cx| {
        let mut done = true;
        for f in pending.iter_mut() {
            if let Some(fut) = f {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        out.push(v);
                        *f = None;
                    }
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out
}

/// The same shapes as stdio lines (a million keys took 652 MB before), one process: each
/// refused line is answered by its id and the server goes on serving.
#[tokio::test]
async fn every_shape_over_stdio_is_refused_or_bounded_and_nothing_reaches_the_api() {
    let mock = untouched_api().await;
    let mut shapes = shapes();
    shapes.insert(0, ("a million keys", keys(1_000_000), true));
    for (name, args, refused) in shapes {
        let mut child = spawn(&mock.uri(), &[]);
        let pid = child.id().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "memory", "version": "1"}}});
        stdin
            .write_all(format!("{init}\n").as_bytes())
            .await
            .unwrap();
        let _ = stdout.next_line().await.unwrap();
        stdin
            .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
            .await
            .unwrap();
        let before = peak(pid);
        let line = call(5, &args);
        let bytes = line.len();
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let answer: Value = serde_json::from_str(
            &tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
                .await
                .unwrap()
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let after = peak(pid);
        assert_eq!(answer["id"], 5, "{name}: {answer}");
        if refused {
            assert_eq!(answer["error"]["code"], -32600, "{name}: {answer}");
        } else {
            assert_eq!(answer["result"]["isError"], true, "{name}: {answer}");
        }
        // The server goes on serving.
        stdin
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}\n")
            .await
            .unwrap();
        let pong: Value =
            serde_json::from_str(&stdout.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!(pong["id"], 6, "{name}: {pong}");
        print_row(
            "stdio",
            name,
            bytes,
            if refused { "refused" } else { "accepted" },
            before,
            after,
        );
        let grown = after.saturating_sub(before);
        assert!(
            grown <= 12 * bytes as u64 + 16 * 1024 * 1024,
            "{name}: {grown} bytes for a {bytes}-byte line"
        );
    }
    assert!(mock.received_requests().await.unwrap().is_empty());
}
