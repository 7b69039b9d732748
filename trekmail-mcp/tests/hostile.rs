//! A broken or hostile API: redirects, huge and endless answers, resets, deadlines, odd error
//! bodies, concurrency, echoed secrets and huge inputs. Each has a bounded, clear outcome.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Harness, OPS_TOKEN, Opts, is_error, text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn opts(extra: &[(&'static str, &str)]) -> Opts {
    Opts {
        extra: extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        ..Opts::all_gates()
    }
}

async fn server(base: &str, o: &Opts) -> trekmail_mcp::TrekmailServer {
    let (policy, _) = support::recording_policy();
    Harness::server_for(base, o, policy)
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"stolen": true})))
        .mount(&elsewhere)
        .await;
    // The redirect names the other server as `localhost`, so the result can name its host.
    let target = elsewhere.uri().replace("127.0.0.1", "localhost");
    for status in [301, 302, 303, 307, 308] {
        let h = Harness::start(Opts::all_gates()).await;
        h.answer(
            ResponseTemplate::new(status).insert_header("location", format!("{target}/steal")),
        )
        .await;
        let r = h
            .call(
                "validate_cloudflare_token",
                json!({"api_token": "cf_Y3k8s2mT0kenExample4Dns9Edit"}),
            )
            .await;
        let t = text(&r);
        assert!(is_error(&r), "{status}: {t}");
        assert!(
            t.contains(&format!("HTTP {status}"))
                && t.contains("localhost")
                && t.contains("never followed"),
            "{status}: {t}"
        );
        assert_eq!(
            h.requests().await.len(),
            1,
            "{status}: one request, no retry"
        );
    }
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "nothing may reach the redirect's target"
    );
}

#[tokio::test]
async fn an_answer_past_the_limit_is_refused_by_its_length() {
    let h = Harness::start(opts(&[("TREKMAIL_MAX_RESPONSE_BYTES", "100000")])).await;
    h.answer(ResponseTemplate::new(200).set_body_raw(
        format!("{{\"a\":\"{}\"}}", "x".repeat(200_000)),
        "application/json",
    ))
    .await;
    let r = h.call("get_domain", json!({"domain_id": 7})).await;
    let t = text(&r);
    assert!(
        is_error(&r) && t.contains("100000 bytes") && t.contains("TREKMAIL_MAX_RESPONSE_BYTES"),
        "{t}"
    );
    assert_eq!(
        h.requests().await.len(),
        1,
        "a too-large answer is not retried"
    );
}

/// A server that answers every request with an endless chunked body.
async fn endless_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 65536, "a".repeat(65536));
                while sock.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_endless_answer_stops_at_the_limit_and_the_server_keeps_serving() {
    let base = endless_server().await;
    let o = opts(&[("TREKMAIL_MAX_RESPONSE_BYTES", "1048576")]);
    let s = server(&base, &o).await;
    for _ in 0..3 {
        let r = s
            .call("get_domain", json!({"domain_id": 7}).as_object().cloned())
            .await
            .unwrap();
        let t = text(&r);
        assert!(is_error(&r) && t.contains("1048576 bytes"), "{t}");
    }
    // The same server still answers a good API.
    let good = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7})))
        .mount(&good)
        .await;
    let s = server(&good.uri(), &o).await;
    let r = s
        .call("get_domain", json!({"domain_id": 7}).as_object().cloned())
        .await
        .unwrap();
    assert!(!is_error(&r), "{}", text(&r));
}

/// A server whose first connection is closed after the request was read, with no answer; later
/// connections are answered. Records every request head.
async fn reset_once_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut sock, _)) = listener.accept().await {
            n += 1;
            let first = n == 1;
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let Ok(len) = sock.read(&mut buf).await else {
                    return;
                };
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..len]).into_owned());
                if first {
                    return; // dropped: closed before any answer
                }
                let body = r#"{"id":1,"name":"example.com"}"#;
                let answer = format!(
                    "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), heads)
}

fn header_of(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

#[tokio::test]
async fn a_connection_closed_before_the_answer_is_retried_with_the_same_ids() {
    let (base, heads) = reset_once_server().await;
    let s = server(&base, &Opts::default()).await;
    let r = s
        .call(
            "create_domain",
            json!({"name": "example.com"}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert!(!is_error(&r), "{}", text(&r));
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "the write is retried once");
    for h in ["x-request-id", "idempotency-key"] {
        let a = header_of(&heads[0], h);
        assert!(a.is_some(), "{h} missing");
        assert_eq!(
            a,
            header_of(&heads[1], h),
            "{h} must be the same on the retry"
        );
    }
}

#[tokio::test]
async fn no_wait_starts_that_cannot_end_inside_the_deadline() {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "2"))
        .mount(&mock)
        .await;
    let (policy, sleeps) = support::recording_policy();
    let s = Harness::server_for(
        &mock.uri(),
        &opts(&[("TREKMAIL_TIMEOUT_MS", "1000")]),
        policy,
    );
    let r = s
        .call("list_domains", Some(serde_json::Map::new()))
        .await
        .unwrap();
    assert!(is_error(&r));
    assert!(
        sleeps.lock().unwrap().is_empty(),
        "a 2 s wait cannot fit in a 1 s deadline"
    );
    assert_eq!(mock.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn retry_after_zero_still_waits_the_backoff() {
    let h = Harness::start(Opts::default()).await;
    h.answer(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .await;
    let _ = h.call("list_domains", json!({})).await;
    let sleeps = h.sleeps.lock().unwrap().clone();
    assert_eq!(sleeps.len(), 2);
    // The backoff's floor is a tenth of the 500 ms base delay.
    assert!(
        sleeps.iter().all(|d| *d >= Duration::from_millis(50)),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn an_error_status_is_a_failure_whatever_its_json_body() {
    for (status, body) in [
        (500, json!([1, 2])),
        (400, json!("oops")),
        (404, json!(42)),
        (422, json!(null)),
    ] {
        let h = Harness::start(Opts::default()).await;
        h.answer_json(status, body.clone()).await;
        let r = h.call("get_domain", json!({"domain_id": 7})).await;
        assert!(is_error(&r), "{status} {body}: {}", text(&r));
        assert!(text(&r).contains(&format!("HTTP {status}")), "{}", text(&r));
    }
}

/// A server that answers after 200 ms and records the most requests it held at once.
async fn counting_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let now = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let peak = Arc::clone(&max);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (now, max) = (Arc::clone(&now), Arc::clone(&max));
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                loop {
                    let Ok(len) = sock.read(&mut buf).await else {
                        return;
                    };
                    if len == 0 {
                        return;
                    }
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    let body = r#"{"id":7}"#;
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), peak)
}

#[tokio::test]
async fn calls_in_flight_are_bounded() {
    let (base, peak) = counting_server().await;
    let s = Arc::new(server(&base, &opts(&[("TREKMAIL_MAX_CONCURRENT_CALLS", "2")])).await);
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                s.call("get_domain", json!({"domain_id": 7}).as_object().cloned())
                    .await
            })
        })
        .collect();
    for c in calls {
        let r = c.await.unwrap().unwrap();
        assert!(!is_error(&r), "{}", text(&r));
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "at most 2 calls reach the API at once"
    );
}

#[tokio::test]
async fn echoed_tokens_never_reach_the_agent() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(200, json!({"token": OPS_TOKEN, "other": support::MSG_TOKEN, "note": format!("was {OPS_TOKEN}")})).await;
    let r = h.call("get_domain", json!({"domain_id": 7})).await;
    let all = serde_json::to_string(&r).unwrap();
    assert!(
        !all.contains(OPS_TOKEN) && !all.contains(support::MSG_TOKEN),
        "{all}"
    );
    assert!(all.contains("[redacted]"), "{all}");
    h.answer_json(
        500,
        json!({"error": {"code": "x", "message": format!("bad token {OPS_TOKEN}")}}),
    )
    .await;
    let r = h.call("get_domain", json!({"domain_id": 7})).await;
    let all = serde_json::to_string(&r).unwrap();
    assert!(is_error(&r) && !all.contains(OPS_TOKEN), "{all}");
}

#[tokio::test]
async fn tokens_echoed_in_response_headers_never_reach_the_agent() {
    let h = Harness::start(Opts::default()).await;
    let seen = |r: &rmcp::model::CallToolResult| serde_json::to_string(r).unwrap();
    // A proxy that puts the token in X-Request-Id, on a JSON error: the API's request id is
    // shown in the text and in structuredContent.
    h.answer(
        ResponseTemplate::new(404)
            .insert_header("x-request-id", format!("req-{OPS_TOKEN}-1"))
            .set_body_json(json!({"error": {"code": "not_found", "message": "no such domain"}})),
    )
    .await;
    let r = h.call("get_domain", json!({"domain_id": 7})).await;
    let all = seen(&r);
    assert!(is_error(&r) && !all.contains(OPS_TOKEN), "{all}");
    assert!(
        text(&r).contains("API request id: req-[redacted]-1"),
        "{all}"
    );
    assert_eq!(
        r.structured_content.as_ref().unwrap()["error"]["api_request_id"],
        "req-[redacted]-1"
    );
    // A non-JSON error page: its content type is named in the message.
    h.answer(ResponseTemplate::new(502).set_body_raw(
        "<html>bad gateway</html>",
        &format!("text/html; charset=utf-8; token={OPS_TOKEN}"),
    ))
    .await;
    let r = h.call("get_domain", json!({"domain_id": 7})).await;
    let all = seen(&r);
    assert!(is_error(&r) && !all.contains(OPS_TOKEN), "{all}");
    assert!(all.contains("token=[redacted]"), "{all}");
    // A binary success answer: its content type is named in the result.
    h.answer(ResponseTemplate::new(200).set_body_raw(
        vec![0xff, 0xfe, 0x00, 0x80],
        &format!("application/octet-stream; x={OPS_TOKEN}"),
    ))
    .await;
    let r = h.call("verify_job_download", json!({"job_id": 3})).await;
    let all = seen(&r);
    assert!(!is_error(&r) && !all.contains(OPS_TOKEN), "{all}");
    assert!(all.contains("x=[redacted]"), "{all}");
}

#[tokio::test]
async fn a_million_unknown_arguments_get_a_short_refusal() {
    let h = Harness::start(Opts::default()).await;
    let mut args = serde_json::Map::new();
    for i in 0..1_000_000 {
        args.insert(format!("unknown_argument_{i}"), Value::Bool(true));
    }
    args.insert("x".repeat(100_000), Value::Bool(true));
    let r = h.server.call("list_domains", Some(args)).await.unwrap();
    let size = serde_json::to_string(&r).unwrap().len();
    println!("refusal of 1,000,001 unknown arguments: {size} bytes");
    assert!(is_error(&r) && size < 16_384, "{size} bytes");
    assert!(text(&r).contains("more"), "{}", text(&r));
    assert!(h.requests().await.is_empty());
}
