//! The emulation over its request → answer path: tokens, errors, idempotency, the one operation
//! without a tool (`GET /messages/_me`), and a real HTTP round trip on loopback.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use trekmail_sandbox::Sandbox;
use trekmail_sandbox::spec::check;

fn call(
    s: &Sandbox,
    method: &str,
    path: &str,
    token: &str,
    key: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let bytes = if body.is_null() {
        vec![]
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("authorization".to_owned(), format!("Bearer {token}"));
    if let Some(k) = key {
        headers.insert("idempotency-key".to_owned(), k.to_owned());
    }
    let (status, out, _) = s.respond(method, &format!("/api/v1{path}"), "", &headers, &bytes);
    (status, serde_json::from_slice(&out).unwrap_or(Value::Null))
}

#[test]
fn tokens_errors_and_the_message_token_info() {
    let s = Sandbox::new().unwrap();
    let (st, v) = call(&s, "GET", "/domains", "", None, Value::Null);
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (st, _) = call(&s, "GET", "/domains", "tm_msg_x", None, Value::Null);
    assert_eq!(st, 403);
    let (st, v) = call(&s, "GET", "/domains/999", "tm_live_x", None, Value::Null);
    assert_eq!((st, v["error"]["code"].as_str()), (404, Some("not_found")));
    let (st, _) = call(&s, "GET", "/no/such/route", "tm_live_x", None, Value::Null);
    assert_eq!(st, 404);
    // A method is read once, exactly (HTTP methods are case-sensitive): one no operation has
    // is refused on a path that exists, and the path is still unknown where it does not.
    for other in ["HEAD", "OPTIONS", "get", "Post", "BREW", ""] {
        let (st, v) = call(&s, other, "/domains", "tm_live_x", None, Value::Null);
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (405, Some("method_not_allowed")),
            "{other:?}"
        );
        let (st, _) = call(&s, other, "/no/such/route", "tm_live_x", None, Value::Null);
        assert_eq!(st, 404, "{other:?}");
    }
    let (st, _) = call(&s, "PUT", "/domains", "tm_live_x", None, Value::Null);
    assert_eq!(st, 405, "a method of the spec, not on this path");
    let (st, v) = call(
        &s,
        "POST",
        "/domains",
        "tm_live_x",
        None,
        json!({"name": 5}),
    );
    assert_eq!(st, 422);
    assert!(v["error"]["details"]["name"].is_array(), "{v}");
    let (st, v) = call(&s, "GET", "/messages/_me", "tm_msg_x", None, Value::Null);
    assert_eq!(st, 200);
    let op = s.spec().get("get_message_token_info").unwrap();
    let mut problems = serde_json::Map::new();
    check(op.response_schema.as_ref().unwrap(), &v, "", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(s.spec().operations.len(), 274);
}

#[test]
fn every_operation_routes_to_itself() {
    let s = Sandbox::new().unwrap();
    for op in &s.spec().operations {
        let path: String = op
            .path
            .split('/')
            .map(|seg| match (seg.find('{'), seg.find('}')) {
                (Some(a), Some(b)) => format!("{}7{}", &seg[..a], &seg[b + 1..]),
                _ => seg.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        match s.spec().route(Some(op.method), &path) {
            trekmail_sandbox::spec::Route::Found(found, params) => {
                assert_eq!(found.id, op.id, "{} {path}", op.method);
                assert!(params.values().all(|v| v == "7"), "{path}: {params:?}");
            }
            _ => panic!("{} {path}: not routed", op.id),
        }
    }
}

#[test]
fn idempotency_keys_replay_or_refuse() {
    let s = Sandbox::new().unwrap();
    let body = json!({"name": "once.example"});
    let first = call(
        &s,
        "POST",
        "/domains",
        "tm_live_x",
        Some("k1"),
        body.clone(),
    );
    let again = call(
        &s,
        "POST",
        "/domains",
        "tm_live_x",
        Some("k1"),
        body.clone(),
    );
    assert_eq!(first, again, "same key and body: the first answer again");
    assert_eq!(first.0, 201);
    let (st, _) = call(
        &s,
        "POST",
        "/domains",
        "tm_live_x",
        Some("k1"),
        json!({"name": "other.example"}),
    );
    assert_eq!(st, 422, "same key, other body");
    let (st, _) = call(&s, "POST", "/domains", "tm_live_x", Some("k2"), body);
    assert_eq!(st, 409, "a new key for the same name is a duplicate");
    let (_, list) = call(&s, "GET", "/domains", "tm_live_x", None, Value::Null);
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        3,
        "the two seeded and one created"
    );
}

#[tokio::test]
async fn serves_http_on_loopback() {
    let running = Sandbox::new().unwrap().start("127.0.0.1:0").await.unwrap();
    let client = trekmail_api::ClientBuilder::new(running.base_url())
        .token("tm_live_sandbox")
        .build()
        .unwrap();
    let r = client.list_domains().send().await.unwrap();
    let v = serde_json::to_value(r.into_inner()).unwrap();
    assert_eq!(v["data"][0]["name"], "example.com", "{v}");
}
