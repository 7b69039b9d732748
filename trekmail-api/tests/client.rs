//! The generated client used directly, as a Rust program would: headers, ids, errors, retries.
#![allow(clippy::unwrap_used)]

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
        .list_domains()
        .per_page(50)
        .status(types::ListDomainsStatus::Active)
        .send()
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
    client
        .create_domain()
        .body_map(|b| b.name("example.com"))
        .send()
        .await
        .unwrap();
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
    let err = client.get_domain().domain_id(7).send().await.unwrap_err();
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
    assert_eq!(
        err.to_string(),
        format!("HTTP 404 not_found: No such domain [request id req_9, X-Request-Id {sent}]")
    );
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
    let err = client.get_account().send().await.unwrap_err();
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
    client.list_folders().send().await.unwrap();
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
    let raw: types::RawMessage = client
        .get_raw_message()
        .uid(5)
        .folder("Archive/2024")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(raw.data.raw_base64, "SGk=");
}

/// What `?` into `Box<dyn Error>` shows: one line with the status, the API's code and message and
/// both request ids; the typed error comes back with `downcast_ref`.
#[tokio::test]
async fn question_mark_into_a_boxed_error_reads_as_one_line() {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({"error": {"code": "validation_failed", "message": "name is taken", "request_id": "req_4"}})))
        .mount(&mock)
        .await;
    let client = ClientBuilder::new(mock.uri())
        .token("tm_live_abc")
        .build()
        .unwrap();
    async fn create(client: &trekmail_api::Client) -> Result<(), Box<dyn std::error::Error>> {
        client
            .create_domain()
            .body_map(|b| b.name("example.com"))
            .send()
            .await?;
        Ok(())
    }
    let err = create(&client).await.unwrap_err();
    let line = err.to_string();
    assert!(
        line.starts_with(
            "HTTP 422 validation_failed: name is taken [request id req_4, X-Request-Id "
        ),
        "{line}"
    );
    assert!(
        !line.contains('\n') && !line.contains("tm_live_abc"),
        "{line}"
    );
    let Some(CallError::Api(api)) = err.downcast_ref::<CallError>() else {
        panic!("{err:?}")
    };
    assert_eq!(
        (api.status, api.code.as_deref()),
        (422, Some("validation_failed"))
    );
    assert_eq!(api.body["error"]["message"], "name is taken");
}

/// A required parameter left out is refused before anything is sent, naming it.
#[tokio::test]
async fn a_missing_required_parameter_is_refused_unsent() {
    let mock = MockServer::start().await;
    let client = ClientBuilder::new(mock.uri())
        .token("tm_live_abc")
        .build()
        .unwrap();
    let err = client.get_domain().send().await.unwrap_err();
    assert!(matches!(err, CallError::InvalidRequest(_)), "{err:?}");
    assert!(err.to_string().contains("domain_id"), "{err}");
    let err = client.get_domain().domain_id(0).send().await.unwrap_err();
    assert!(err.to_string().contains("domain_id"), "{err}");
    assert!(mock.received_requests().await.unwrap().is_empty());
}

#[test]
fn the_client_speaks_no_server_vocabulary() {
    // A Rust caller is never told to set one of the MCP server's variables: the server adds
    // those words where it reports.
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(!text.contains("TREKMAIL_"), "{}", path.display());
            }
        }
    }
}
