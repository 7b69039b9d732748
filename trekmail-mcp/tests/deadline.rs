//! One deadline per call (`TREKMAIL_TIMEOUT_MS`): the state store's decision and the API
//! request with its retries share it, so a slow store leaves the request only what is left.
//! Outcomes are asserted (what was sent, what the agent reads); the one time bound is wide.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Harness, Opts, is_error, text};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use trekmail_api::RetryPolicy;
use wiremock::ResponseTemplate;

fn forwarding(target: &str) -> Value {
    json!({"mailbox_id": 7, "enabled": true, "targets": [target]})
}

/// A Redis stand-in on loopback that answers every command at once with `+OK`, except the
/// intent decision's script (`EVALSHA`), answered after `delay` with a key to send; `None`
/// never answers anything (a store that accepts connections and hangs).
async fn store(delay: Option<Duration>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            match delay {
                None => held.push(socket),
                Some(delay) => {
                    // Ends with the test's runtime.
                    tokio::spawn(async move {
                        let _ = serve(socket, delay).await;
                    });
                }
            }
        }
    });
    (format!("redis://{addr}"), task)
}

/// Pretends to be one connection of [`store`] (RESP2: each command an array of bulk strings).
async fn serve(socket: tokio::net::TcpStream, delay: Duration) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let n: usize = line.trim().trim_start_matches('*').parse().unwrap_or(0);
        let mut words = Vec::new();
        for _ in 0..n {
            line.clear();
            read.read_line(&mut line).await?;
            let len: usize = line.trim().trim_start_matches('$').parse().unwrap_or(0);
            let mut word = vec![0; len + 2];
            read.read_exact(&mut word).await?;
            word.truncate(len);
            words.push(String::from_utf8_lossy(&word).to_uppercase());
        }
        let answer = if words.first().is_some_and(|w| w == "EVALSHA") {
            tokio::time::sleep(delay).await;
            let key = "mcp_set_forwarding_from_the_store";
            format!("${}\r\n{key}\r\n", key.len())
        } else {
            "+OK\r\n".to_owned()
        };
        write.write_all(answer.as_bytes()).await?;
    }
}

fn opts(url: &str, timeout_ms: u64, required: bool) -> Opts {
    let mut opts = Opts::all_gates();
    opts.extra.push(("TREKMAIL_STATE_URL", url.to_owned()));
    opts.extra
        .push(("TREKMAIL_STATE_REQUIRED", required.to_string()));
    opts.extra
        .push(("TREKMAIL_TIMEOUT_MS", timeout_ms.to_string()));
    opts
}

/// The store decides after 1.5 s of a 2 s deadline; the API would answer after 1 s. The request
/// gets the half second left, not a deadline of its own: the call fails by about one deadline,
/// as a write that may have been received (the same call again is safe).
#[tokio::test]
async fn a_slow_store_leaves_the_api_request_only_what_is_left_of_the_deadline() {
    let (url, task) = store(Some(Duration::from_millis(1500))).await;
    let h = Harness::start(opts(&url, 2000, true)).await;
    h.answer(
        ResponseTemplate::new(200)
            .set_body_json(json!({"ok": true}))
            .set_delay(Duration::from_secs(1)),
    )
    .await;
    let started = Instant::now();
    let r = h.call("set_forwarding", forwarding("a@x.example")).await;
    let took = started.elapsed();
    let t = text(&r);
    assert!(
        is_error(&r) && t.contains("did not answer in time (TREKMAIL_TIMEOUT_MS)"),
        "the API's answer came after the call's deadline: {t}"
    );
    assert!(
        t.contains("calling again with the same arguments is safe"),
        "{t}"
    );
    let sent = h.requests().await;
    assert_eq!(sent.len(), 1, "sent once, never retried past the deadline");
    assert_eq!(
        sent[0].headers["idempotency-key"], "mcp_set_forwarding_from_the_store",
        "the key the store decided"
    );
    assert!(
        took < Duration::from_secs(4),
        "one deadline, not two: {took:?}"
    );
    task.abort();
}

/// The store never answers and the operator allows the fallback: the decision falls back to the
/// process's memory when the call's deadline passed, and then nothing is sent: the agent reads
/// a retryable error that says so.
#[tokio::test]
async fn a_store_that_eats_the_whole_deadline_leaves_nothing_sent() {
    let (url, task) = store(None).await;
    let h = Harness::start(opts(&url, 1000, false)).await;
    h.answer_json(200, json!({"ok": true})).await;
    let started = Instant::now();
    let r = h.call("set_forwarding", forwarding("a@x.example")).await;
    let took = started.elapsed();
    let t = text(&r);
    assert!(
        is_error(&r) && t.contains("did not answer in time") && t.contains("nothing was sent"),
        "{t}"
    );
    assert!(
        h.requests().await.is_empty(),
        "no request after the deadline"
    );
    assert!(
        took < Duration::from_secs(2),
        "one deadline, not two: {took:?}"
    );
    task.abort();
}

/// Retries stop at the call's deadline, the store's time included: after a store that took
/// 2.5 s of 3 s, a 503 asking for a retry in 1 s is not retried (with a deadline of its own,
/// the request would have been tried three times).
#[tokio::test]
async fn retries_stop_at_the_deadline_the_store_shortened() {
    let (url, task) = store(Some(Duration::from_millis(2500))).await;
    let mock = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": {"code": "unavailable", "message": "busy"}})),
        )
        .mount(&mock)
        .await;
    let server = Harness::server_for(&mock.uri(), &opts(&url, 3000, true), RetryPolicy::default());
    let started = Instant::now();
    let r = server
        .call(
            "set_forwarding",
            forwarding("a@x.example").as_object().cloned(),
        )
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(is_error(&r) && text(&r).contains("503"), "{}", text(&r));
    assert_eq!(
        mock.received_requests().await.unwrap().len(),
        1,
        "no retry that could not end by the deadline"
    );
    assert!(
        took < Duration::from_secs(6),
        "one deadline, not two: {took:?}"
    );
    task.abort();
}
