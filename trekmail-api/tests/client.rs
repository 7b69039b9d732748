//! The generated client used directly, as a Rust program would: headers, ids, errors, retries.
#![allow(clippy::unwrap_used)]

use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use trekmail_api::{CallError, ClientBuilder, RetryPolicy, types};
use wiremock::matchers::{any, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn quick_retries() -> (RetryPolicy, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let w = Arc::clone(&waits);
    let policy = RetryPolicy {
        sleep: Arc::new(move |d| {
            w.lock().unwrap().push(d);
            Box::pin(async {})
        }),
        ..RetryPolicy::default()
    };
    (policy, waits)
}

#[tokio::test]
async fn typed_calls_send_the_standard_headers() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/domains"))
        .and(query_param("per_page", "50"))
        .and(query_param("status", "active"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": 1, "extra": true}]})),
        )
        .mount(&mock)
        .await;
    let client = ClientBuilder::new(format!("{}/", mock.uri()))
        .token("tm_live_abc")
        .user_agent("ua-test/1")
        .build()
        .unwrap();
    let r = client
        .list_domains(
            None,
            NonZeroU64::new(50),
            None,
            Some(types::ListDomainsStatus::Active),
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(r.into_inner()).unwrap(),
        json!({"data": [{"id": 1, "extra": true}]})
    );
    let req = &mock.received_requests().await.unwrap()[0];
    let h = |n: &str| req.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(h("authorization").as_deref(), Some("Bearer tm_live_abc"));
    assert_eq!(h("accept").as_deref(), Some("application/json"));
    assert_eq!(h("user-agent").as_deref(), Some("ua-test/1"));
    assert!(uuid::Uuid::parse_str(&h("x-request-id").unwrap()).is_ok());
    assert_eq!(h("api-version"), None);
    assert_eq!(h("idempotency-key"), None, "GET carries no key");
}

#[tokio::test]
async fn writes_without_a_key_get_a_random_one_kept_across_retries() {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"data": {"id": 5}})))
        .mount(&mock)
        .await;
    let (policy, waits) = quick_retries();
    let client = ClientBuilder::new(mock.uri())
        .token("tm_live_abc")
        .retry_policy(policy)
        .build()
        .unwrap();
    let body: types::CreateDomainRequest =
        serde_json::from_value(json!({"name": "example.com"})).unwrap();
    client.create_domain(None, &body).await.unwrap();
    let reqs = mock.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    let key = |i: usize| {
        reqs[i]
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert!(key(0).starts_with("trekmail-rs-"));
    assert_eq!(key(0), key(1));
    assert_eq!(
        reqs[0].headers.get("x-request-id"),
        reqs[1].headers.get("x-request-id")
    );
    assert_eq!(waits.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn errors_carry_status_code_message_and_request_ids() {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "not_found", "message": "No such domain", "request_id": "req_9"}})))
        .mount(&mock)
        .await;
    let client = ClientBuilder::new(mock.uri())
        .token("tm_live_abc")
        .build()
        .unwrap();
    let err = CallError::from(
        client
            .get_domain(NonZeroU64::new(7).unwrap())
            .await
            .unwrap_err(),
    );
    let CallError::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (
            api.status,
            api.code.as_deref(),
            api.message.as_deref(),
            api.request_id.as_deref()
        ),
        (
            404,
            Some("not_found"),
            Some("No such domain"),
            Some("req_9")
        )
    );
    let sent = mock.received_requests().await.unwrap()[0]
        .headers
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.client_request_id.as_deref(), Some(sent.as_str()));
    assert_eq!(err.to_string(), "HTTP 404 not_found: No such domain");
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&mock)
        .await;
    let client = ClientBuilder::new(mock.uri())
        .token("tm_live_abc")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = CallError::from(client.get_account().await.unwrap_err());
    assert_eq!(err.status(), Some(503));
    assert_eq!(mock.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_message_token_works_the_same_way() {
    let mock = MockServer::start().await;
    Mock::given(path("/api/v1/messages/folders"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&mock)
        .await;
    let client = ClientBuilder::new(mock.uri())
        .token("tm_msg_xyz")
        .build()
        .unwrap();
    client.list_folders(None).await.unwrap();
    let req = &mock.received_requests().await.unwrap()[0];
    assert_eq!(
        req.headers.get("authorization").unwrap(),
        "Bearer tm_msg_xyz"
    );
}

#[tokio::test]
async fn described_answers_come_back_typed() {
    let mock = MockServer::start().await;
    Mock::given(path("/api/v1/messages/5/raw"))
        .and(query_param("folder", "Archive/2024"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"raw_base64": "SGk=", "size": 2, "uid": 5}})),
        )
        .mount(&mock)
        .await;
    let client = ClientBuilder::new(mock.uri())
        .token("tm_msg_xyz")
        .build()
        .unwrap();
    let folder: types::GetRawMessageFolder = "Archive/2024".parse().unwrap();
    let raw: types::RawMessage = client
        .get_raw_message(NonZeroU64::new(5).unwrap(), None, Some(&folder))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(raw.data.raw_base64, "SGk=");
}
