//! Error shaping and retries: what the agent reads for every kind of failure, and how often
//! the request is tried. No test sleeps: the retry policy records its waits instead.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Harness, Opts, is_error, text};
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

fn structured_error(r: &rmcp::model::CallToolResult) -> Value {
    r.structured_content.as_ref().unwrap()["error"].clone()
}

#[tokio::test]
async fn status_table() {
    let h = Harness::start(Opts::default()).await;
    let cases: [(u16, &str, &[&str]); 8] = [
        (
            400,
            "bad_request",
            &["HTTP 400 bad_request: nope", "hint: fix it"],
        ),
        (
            401,
            "unauthorized",
            &["HTTP 401", "ops token (TREKMAIL_API_TOKEN)", "not revoked"],
        ),
        (
            403,
            "forbidden",
            &[
                "HTTP 403",
                "ops token (TREKMAIL_API_TOKEN) lacks the permission",
            ],
        ),
        (404, "not_found", &["HTTP 404 not_found: nope"]),
        (409, "conflict", &["HTTP 409 conflict"]),
        (
            422,
            "validation_failed",
            &["HTTP 422 validation_failed", "\n- field: name"],
        ),
        (
            500,
            "internal",
            &["HTTP 500 internal", "The TrekMail API had a problem"],
        ),
        (501, "not_implemented", &["HTTP 501"]),
    ];
    for (status, code, needles) in cases {
        let body = json!({"error": {"code": code, "message": "nope", "hint": "fix it", "request_id": "req_api_1", "details": {"field": "name"}}});
        h.answer_json(status, body.clone()).await;
        let r = h.call("get_domain", json!({"domain_id": 1})).await;
        assert!(is_error(&r), "{status}");
        let t = text(&r);
        for n in needles {
            assert!(t.contains(n), "{status}: {t:?} lacks {n:?}");
        }
        // The API's message and hint are said once.
        assert_eq!(t.matches("nope").count(), 1, "{status}: {t}");
        assert_eq!(t.matches("fix it").count(), 1, "{status}: {t}");
        assert!(t.contains("API request id: req_api_1"), "{t}");
        let e = structured_error(&r);
        assert_eq!(e["status"], status);
        assert_eq!(e["code"], code);
        assert_eq!(e["api_request_id"], "req_api_1");
        assert_eq!(e["details"], body, "the whole error body reaches the agent");
        let sent_id = h.requests().await[0]
            .headers
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(e["request_id"], sent_id.as_str());
        assert!(t.contains(&sent_id));
        assert_eq!(h.requests().await.len(), 1, "{status} is not retried");
    }
}

#[tokio::test]
async fn message_token_errors_name_the_message_token() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(
        401,
        json!({"code": "unauthorized", "message": "token revoked"}),
    )
    .await;
    let r = h.call("list_messages", json!({})).await;
    let t = text(&r);
    assert!(
        t.contains("message token (TREKMAIL_MESSAGE_TOKEN)")
            && t.contains("HTTP 401 unauthorized: token revoked"),
        "{t}"
    );
}

#[tokio::test]
async fn an_html_error_page_is_a_clear_error() {
    let h = Harness::start(Opts::default()).await;
    h.answer(ResponseTemplate::new(400).set_body_raw(
        "<html><body><h1>400 Bad Request</h1>nginx</body></html>",
        "text/html",
    ))
    .await;
    let r = h.call("get_account", json!({})).await;
    let t = text(&r);
    assert!(is_error(&r));
    assert!(
        t.contains("HTTP 400")
            && t.contains("non-JSON body (text/html")
            && t.contains("400 Bad Request nginx"),
        "{t}"
    );
    assert_eq!(structured_error(&r)["non_json_body"], true);
}

#[tokio::test]
async fn malformed_json_on_success_is_a_clear_error() {
    let h = Harness::start(Opts::default()).await;
    h.answer(ResponseTemplate::new(200).set_body_raw("{\"id\": 1,", "application/json"))
        .await;
    let r = h.call("get_account", json!({})).await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("not what the spec says") && text(&r).contains("EOF"),
        "{}",
        text(&r)
    );
    h.answer(ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html"))
        .await;
    let r = h.call("get_account", json!({})).await;
    assert!(
        is_error(&r) && text(&r).contains("maintenance"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn gateway_errors_are_retried_with_the_same_ids() {
    let h = Harness::start(Opts::default()).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&h.mock)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(502).set_body_raw("<html>bad gateway</html>", "text/html"),
        )
        .up_to_n_times(1)
        .mount(&h.mock)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": 9})))
        .mount(&h.mock)
        .await;
    let r = h
        .call("create_domain", json!({"name": "example.com"}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(r.structured_content, Some(json!({"id": 9})));
    let reqs = h.requests().await;
    assert_eq!(reqs.len(), 3);
    let ids: Vec<_> = reqs
        .iter()
        .map(|r| r.headers.get("x-request-id").unwrap().clone())
        .collect();
    let keys: Vec<_> = reqs
        .iter()
        .map(|r| r.headers.get("idempotency-key").unwrap().clone())
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]) && keys.iter().all(|k| *k == keys[0]));
    let bodies: Vec<_> = reqs.iter().map(|r| r.body.clone()).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    let sleeps = h.sleeps.lock().unwrap().clone();
    assert_eq!(sleeps.len(), 2);
    assert!(
        sleeps[0] <= Duration::from_millis(500) && sleeps[1] <= Duration::from_secs(1),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn at_most_three_attempts() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(
        504,
        json!({"error": {"code": "gateway_timeout", "message": "upstream"}}),
    )
    .await;
    let r = h.call("list_domains", json!({})).await;
    assert_eq!(h.requests().await.len(), 3);
    assert!(
        text(&r).contains("HTTP 504 gateway_timeout"),
        "{}",
        text(&r)
    );
    assert_eq!(structured_error(&r)["attempts"], 3);
}

#[tokio::test]
async fn retry_after_is_honoured_from_header_or_body() {
    let h = Harness::start(Opts::default()).await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .mount(&h.mock)
        .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"error": {"code": "rate_limited", "retry_after": 5}})),
        )
        .up_to_n_times(1)
        .mount(&h.mock)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&h.mock)
        .await;
    let r = h.call("list_domains", json!({})).await;
    assert!(!is_error(&r));
    assert_eq!(
        *h.sleeps.lock().unwrap(),
        vec![Duration::from_secs(2), Duration::from_secs(5)]
    );
}

#[tokio::test]
async fn a_retry_after_past_the_cap_fails_at_once_and_says_when() {
    let h = Harness::start(Opts::default()).await;
    h.answer(
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "120")
            .set_body_json(json!({"error": {"code": "rate_limited", "message": "slow down"}})),
    )
    .await;
    let r = h.call("list_domains", json!({})).await;
    assert_eq!(h.requests().await.len(), 1);
    assert!(h.sleeps.lock().unwrap().is_empty());
    let t = text(&r);
    assert!(
        t.contains("HTTP 429 rate_limited: slow down") && t.contains("retry after 120 s"),
        "{t}"
    );
    assert_eq!(structured_error(&r)["retry_after_s"], 120.0);
}

#[tokio::test]
async fn retryable_false_stops_retrying() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(503, json!({"error": {"code": "maintenance", "message": "down for upgrade", "retryable": false}})).await;
    let r = h.call("list_domains", json!({})).await;
    assert_eq!(h.requests().await.len(), 1);
    assert_eq!(structured_error(&r)["retryable"], false);
}

#[tokio::test]
async fn a_hanging_api_is_bounded_by_the_call_deadline() {
    let mock = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&mock)
        .await;
    let (policy, sleeps) = support::recording_policy();
    let opts = Opts {
        extra: vec![("TREKMAIL_TIMEOUT_MS", "150".into())],
        ..Opts::default()
    };
    let server = Harness::server_for(&mock.uri(), &opts, policy);
    let started = std::time::Instant::now();
    let r = server
        .call(
            "create_domain",
            json!({"name": "example.com"}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "a timed-out call must not hang"
    );
    // TREKMAIL_TIMEOUT_MS bounds the whole call: the one attempt used it up, so no retry.
    assert_eq!(mock.received_requests().await.unwrap().len(), 1);
    assert!(sleeps.lock().unwrap().is_empty());
    let t = text(&r);
    assert!(
        is_error(&r)
            && t.contains("did not answer in time (TREKMAIL_TIMEOUT_MS)")
            && t.contains("deadline of 150 ms")
            && t.contains("calling again with the same arguments is safe"),
        "{t}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (policy, sleeps) = support::recording_policy();
    let server = Harness::server_for(
        &format!("http://127.0.0.1:{port}"),
        &Opts::default(),
        policy,
    );
    let r = server.call("get_account", None).await.unwrap();
    let t = text(&r);
    assert!(
        is_error(&r)
            && t.contains("cannot connect to the TrekMail API")
            && t.contains("Connection refused"),
        "{t}"
    );
    assert_eq!(
        sleeps.lock().unwrap().len(),
        2,
        "connection failures are retried"
    );
    assert!(!t.contains(support::OPS_TOKEN));
}

#[tokio::test]
async fn no_token_in_any_output() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(
        401,
        json!({"error": {"code": "unauthorized", "message": "bad token"}}),
    )
    .await;
    let r = h.call("whoami", json!({})).await;
    let all = serde_json::to_string(&r).unwrap();
    assert!(!all.contains(support::OPS_TOKEN) && !all.contains(support::MSG_TOKEN));
}

#[tokio::test]
async fn an_unknown_tool_is_a_json_rpc_error() {
    let h = Harness::start(Opts {
        message: false,
        ..Opts::default()
    })
    .await;
    let e = h.try_call("no_such_tool", json!({})).await.unwrap_err();
    assert_eq!(e.code.0, -32602);
    let e = h.try_call("list_messages", json!({})).await.unwrap_err();
    assert_eq!(e.code.0, -32602);
    assert!(
        e.message.contains("TREKMAIL_MESSAGE_TOKEN"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn an_answer_that_does_not_fit_the_spec_type_still_arrives_whole() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(200, json!([{"id": 1}, {"id": 2}])).await;
    let r = h.call("list_domains", json!({})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(text(&r), r#"[{"id":1},{"id":2}]"#);
    assert_eq!(
        r.structured_content,
        Some(json!({"result": [{"id": 1}, {"id": 2}]}))
    );
}

#[tokio::test]
async fn progress_is_notified_before_each_retry_when_asked() {
    let h = Harness::start(Opts::default()).await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(json!({"error": {"code": "unavailable", "message": "busy"}})),
        )
        .up_to_n_times(2)
        .mount(&h.mock)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 7})))
        .mount(&h.mock)
        .await;
    let (progress, seen) = recorder(9);
    let args = json!({"domain_id": 7}).as_object().cloned();
    let r = h
        .server
        .call_with_progress("get_domain", args.clone(), Some(&progress))
        .await
        .unwrap();
    assert!(!is_error(&r), "{}", text(&r));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen.iter().map(|p| p.progress).collect::<Vec<_>>(),
        [1.0, 2.0]
    );
    assert!(
        seen[0]
            .message
            .as_deref()
            .unwrap()
            .contains("attempt 1 of 3 failed (HTTP 503)")
    );
    assert!(
        seen[1]
            .message
            .as_deref()
            .unwrap()
            .contains("attempt 2 of 3")
    );
    // Without a progressToken nothing is told, and the call is the same.
    h.mock.reset().await;
    h.answer_json(200, json!({"id": 7})).await;
    assert!(!is_error(&h.server.call("get_domain", args).await.unwrap()));
}

#[tokio::test]
async fn validation_errors_list_their_fields_in_the_text() {
    let h = Harness::start(Opts::default()).await;
    let shapes = [
        json!({"error": {"code": "validation_failed", "message": "The given data was invalid.", "details": {"name": ["has already been taken"], "mail_hosting": "must be trekmail or external"}}}),
        json!({"message": "The given data was invalid.", "errors": {"name": ["has already been taken"], "mail_hosting": ["must be trekmail or external"]}}),
        json!({"error": {"code": "validation_failed", "message": "The given data was invalid.", "errors": [{"field": "name", "message": "has already been taken"}, {"path": "mail_hosting", "message": "must be trekmail or external"}]}, "trace_id": "t-1"}),
    ];
    for body in shapes {
        h.answer_json(422, body.clone()).await;
        let r = h
            .call("create_domain", json!({"name": "example.com"}))
            .await;
        let t = text(&r);
        assert!(is_error(&r));
        assert!(t.contains("\n- name: has already been taken"), "{t}");
        assert!(
            t.contains("\n- mail_hosting: must be trekmail or external"),
            "{t}"
        );
        assert_eq!(t.matches("The given data was invalid.").count(), 1, "{t}");
        assert_eq!(t.matches("has already been taken").count(), 1, "{t}");
        // Nothing the API said is lost: what the text does not list, it adds once.
        if body.get("trace_id").is_some() {
            assert!(
                t.contains("The API also said: {\"trace_id\":\"t-1\"}"),
                "{t}"
            );
        }
        assert_eq!(structured_error(&r)["details"], body);
    }
}

#[tokio::test]
async fn plan_errors_point_at_the_plan_not_the_token() {
    let h = Harness::start(Opts::default()).await;
    for code in trekmail_mcp::call::results::PLAN_ERROR_CODES {
        h.answer_json(
            403,
            json!({"error": {"code": code, "message": "not on this plan"}}),
        )
        .await;
        let r = h.call("get_domain", json!({"domain_id": 1})).await;
        let t = text(&r);
        assert!(is_error(&r));
        assert!(t.contains(&format!("HTTP 403 {code}")), "{t}");
        assert!(t.contains("plan does not allow this"), "{code}: {t}");
        assert!(!t.contains("lacks the permission"), "{code}: {t}");
        assert_eq!(structured_error(&r)["code"], *code);
    }
    // A permission problem is still one.
    h.answer_json(
        403,
        json!({"error": {"code": "insufficient_scope", "message": "no"}}),
    )
    .await;
    let r = h.call("get_domain", json!({"domain_id": 1})).await;
    assert!(
        text(&r).contains("lacks the permission or scope"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn a_failed_write_names_the_key_a_retry_will_reuse() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(
        503,
        json!({"error": {"code": "unavailable", "message": "later"}}),
    )
    .await;
    let r = h
        .call("create_domain", json!({"name": "example.com"}))
        .await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("Idempotency-Key: mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn progress_is_notified_while_a_call_waits_for_a_free_slot() {
    let h = Harness::start(Opts {
        extra: vec![("TREKMAIL_MAX_CONCURRENT_CALLS", "1".into())],
        ..Opts::default()
    })
    .await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 7}))
                .set_delay(std::time::Duration::from_millis(300)),
        )
        .mount(&h.mock)
        .await;
    let (progress, seen) = recorder(3);
    let args = json!({"domain_id": 7}).as_object().cloned();
    // The first call holds the only slot; the second waits for it and says so.
    let (first, second) = tokio::join!(h.server.call("get_domain", args.clone()), async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        h.server
            .call_with_progress("get_domain", args.clone(), Some(&progress))
            .await
    });
    assert!(!is_error(&first.unwrap()));
    assert!(!is_error(&second.unwrap()));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("waiting for a free call slot"),
        "{seen:?}"
    );
    // A call that finds a free slot says nothing.
    let (progress, quiet) = recorder(4);
    h.server
        .call_with_progress("get_domain", args, Some(&progress))
        .await
        .unwrap();
    assert!(quiet.lock().unwrap().is_empty());
}

/// A progress recorder for calls made with `call_with_progress`: the notifications it heard.
fn recorder(
    token: i64,
) -> (
    trekmail_mcp::call::progress::Progress,
    std::sync::Arc<std::sync::Mutex<Vec<rmcp::model::ProgressNotificationParam>>>,
) {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let sink: trekmail_mcp::call::progress::Sink = Arc::new(move |p| s.lock().unwrap().push(p));
    let progress = trekmail_mcp::call::progress::Progress::new(
        rmcp::model::ProgressToken(rmcp::model::NumberOrString::Number(token)),
        sink,
    );
    (progress, seen)
}
