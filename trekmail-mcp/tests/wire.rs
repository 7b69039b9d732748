//! The exact HTTP request every tool sends, for every golden case in tests/fixtures/wire-cases.json
//! (made from the reference facts by tests/oracle/make_wire_cases.py, independently of this code),
//! and the result the agent gets back.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;

use serde_json::{Value, json};
use support::{Harness, MSG_TOKEN, OPS_TOKEN, Opts, USER_AGENT};
use trekmail_api::model::{Operation, ResponseKind};
use trekmail_mcp::call::idempotency::{KeyPolicy, SecretKey, derive};
use wiremock::ResponseTemplate;

fn operations() -> HashMap<&'static str, &'static Operation> {
    trekmail_api::model::operations()
        .unwrap()
        .iter()
        .map(|o| (o.operation_id.as_str(), o))
        .collect()
}

fn header<'a>(r: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_hex_key(key: &str, tool: &str) -> bool {
    key.strip_prefix(&format!("mcp_{tool}_")).is_some_and(|h| {
        h.len() == 32
            && h.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

#[tokio::test]
async fn every_tool_sends_exactly_the_expected_request() {
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../../tests/fixtures/wire-cases.json")).unwrap();
    let ops = operations();
    let h = Harness::start(Opts::all_gates()).await;
    let catalog = trekmail_mcp::Catalog::embedded().unwrap();
    let mut failures = Vec::new();
    let mut tools_seen = std::collections::HashSet::new();
    for case in &cases {
        let tool = case["tool"].as_str().unwrap();
        let label = format!("{tool}/{}", case["case"].as_str().unwrap());
        tools_seen.insert(tool.to_owned());
        let def = catalog
            .get(tool)
            .unwrap_or_else(|| panic!("{label}: no such tool"));
        let text_answer = ops[def.entry.operation.as_str()].response == ResponseKind::Text;
        let answer = json!({"id": 42, "case": label, "nested": {"keep": [1, {"deep": true}]}, "field_the_spec_does_not_name": "kept"});
        if text_answer {
            h.answer(
                ResponseTemplate::new(200)
                    .set_body_raw("email,result\njane@example.com,safe\n", "text/csv"),
            )
            .await;
        } else {
            h.answer_json(200, answer.clone()).await;
        }
        // A paying call is two requests and the user's approval (the price, then the payment):
        // its wire, credential header included, is checked in tests/payments.rs.
        if def
            .entry
            .payment
            .as_ref()
            .is_some_and(|p| case["args"].get(&p.credential).is_some())
        {
            continue;
        }
        // Each case is its own scenario: no earlier write to the same target.
        h.server.forget_recent_writes();
        let result = h.call(tool, case["args"].clone()).await;
        let mut fail = |what: String| failures.push(format!("{label}: {what}"));
        // A tool that sends nothing in this configuration (drive_file_upload without
        // TREKMAIL_UPLOAD_DIR): refused, naming its gate, and no request.
        if case["request"].is_null() {
            let gates: Vec<&str> = def
                .entry
                .gate
                .iter()
                .map(|g: &trekmail_mcp::catalog::map::GateName| g.env_var())
                .collect();
            if result.is_error != Some(true)
                || gates.is_empty()
                || !gates.iter().all(|g| support::text(&result).contains(g))
                || !h.requests().await.is_empty()
            {
                fail(format!(
                    "expected a refusal naming {gates:?} and no request, got {}",
                    support::text(&result)
                ));
            }
            continue;
        }
        // A file tool given an answer without its file passes it through as an error (checked
        // below); so does a key swap given an answer without its key (tests/reissue.rs).
        if result.is_error == Some(true)
            && def.entry.file.is_none()
            && def.entry.new_token.is_none()
        {
            fail(format!("tool error: {}", support::text(&result)));
            continue;
        }
        let reqs = h.requests().await;
        if reqs.len() != 1 {
            fail(format!("expected 1 request, got {}", reqs.len()));
            continue;
        }
        let r = &reqs[0];
        let want = &case["request"];
        if r.method.as_str() != want["method"].as_str().unwrap() {
            fail(format!("method {} != {}", r.method, want["method"]));
        }
        if r.url.path() != want["path"].as_str().unwrap() {
            fail(format!("path {} != {}", r.url.path(), want["path"]));
        }
        let mut query: Vec<(String, String)> = r
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        query.sort();
        let want_query: Vec<(String, String)> = want["query"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_owned(),
                    p[1].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        if query != want_query {
            fail(format!("query {query:?} != {want_query:?}"));
        }
        let body: Option<Value> = if r.body.is_empty() {
            None
        } else {
            serde_json::from_slice(&r.body).ok()
        };
        let want_body = if want["body"].is_null() {
            None
        } else {
            Some(want["body"].clone())
        };
        if body != want_body {
            fail(format!(
                "body {} != {}",
                body.unwrap_or(Value::Null),
                want["body"]
            ));
        }
        let content_type = header(r, "content-type");
        match (&want_body, content_type) {
            (Some(_), Some("application/json")) | (None, None) => {}
            (_, ct) => fail(format!("content-type {ct:?} with body {want_body:?}")),
        }
        let token = if case["token"] == "ops" {
            OPS_TOKEN
        } else {
            MSG_TOKEN
        };
        if header(r, "authorization") != Some(&format!("Bearer {token}")) {
            fail(format!("authorization is not the {} token", case["token"]));
        }
        // JSON unless the case names the media types the operation answers.
        if want["headers"].get("accept").is_none()
            && header(r, "accept") != Some("application/json")
        {
            fail(format!("accept {:?}", header(r, "accept")));
        }
        if header(r, "user-agent") != Some(USER_AGENT) {
            fail(format!("user-agent {:?}", header(r, "user-agent")));
        }
        if header(r, "x-request-id")
            .and_then(|v| uuid::Uuid::parse_str(v).ok())
            .is_none()
        {
            fail("x-request-id is not a UUID".into());
        }
        if r.headers.contains_key("api-version") {
            fail("api-version header leaked".into());
        }
        for (k, v) in want["headers"].as_object().unwrap() {
            if header(r, k) != v.as_str() {
                fail(format!("header {k}: {:?} != {v}", header(r, k)));
            }
        }
        let key = header(r, "idempotency-key");
        match &want["idempotency_key"] {
            Value::Null => {
                if key.is_some() {
                    fail("a GET carries an Idempotency-Key".into());
                }
            }
            Value::String(k) if k == "windowed" || k == "secret" => {
                if !key.is_some_and(|key| is_hex_key(key, tool)) {
                    fail(format!(
                        "idempotency key {key:?} is not mcp_{tool}_<32 hex>"
                    ));
                }
                let args = case["args"].as_object().unwrap();
                let secret_given =
                    def.entry
                        .idempotency
                        .secret_args
                        .iter()
                        .any(|s| match s.split_once("[].") {
                            Some((arr, field)) => args
                                .get(arr)
                                .and_then(Value::as_array)
                                .is_some_and(|a| a.iter().any(|i| i.get(field).is_some())),
                            None => args.contains_key(s),
                        })
                        || def
                            .entry
                            .csv_columns
                            .iter()
                            .any(|c| !c.secret.is_empty() && args.contains_key(&c.arg));
                if secret_given {
                    // The plain hash of the arguments would let anyone confirm a guessed secret.
                    let args = case["args"].as_object().unwrap();
                    let confirm: Vec<&str> = def.entry.confirm.iter().map(String::as_str).collect();
                    let plain = derive(
                        tool,
                        args,
                        &confirm,
                        &KeyPolicy::default(),
                        &SecretKey::random(),
                        0,
                    );
                    if key == Some(plain.as_str()) {
                        fail("secret arguments entered the idempotency key in the clear".into());
                    }
                }
            }
            Value::String(k) => {
                if key != Some(k.as_str()) {
                    fail(format!("idempotency key {key:?} != {k}"));
                }
            }
            other => fail(format!("bad fixture idempotency_key {other}")),
        }
        // What the agent receives: the API's answer, whole (file answers: tests/files.rs).
        if def.entry.file.is_some() {
            if !(support::is_error(&result)
                && support::text(&result).contains("\"field_the_spec_does_not_name\":\"kept\""))
            {
                fail("an answer without the file is not passed through whole".into());
            }
        } else if text_answer {
            if support::answer_text(&result) != "email,result\njane@example.com,safe\n" {
                fail(format!(
                    "text answer not passed whole: {:?}",
                    support::answer_text(&result)
                ));
            }
        } else if result.structured_content.as_ref() != Some(&answer) {
            fail(format!(
                "structuredContent {:?} != {answer}",
                result.structured_content
            ));
        } else if serde_json::from_str::<Value>(&support::answer_text(&result)).ok()
            != Some(answer.clone())
        {
            fail("text content is not the answer as JSON".into());
        }
        // A write's result names the key it was sent with; a read names none.
        let notes = support::notes(&result);
        match key {
            Some(k) if !notes.contains(&format!("Idempotency-Key: {k} ")) => fail(format!(
                "the result does not name its Idempotency-Key: {notes:?}"
            )),
            None if notes.contains("Idempotency-Key") => {
                fail("a read's result names an Idempotency-Key".into())
            }
            _ => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let all: Vec<String> = catalog
        .tools()
        .iter()
        .map(|t| t.entry.name.clone())
        .collect();
    let missing: Vec<&String> = all.iter().filter(|t| !tools_seen.contains(*t)).collect();
    assert!(missing.is_empty(), "tools without a wire case: {missing:?}");
}

#[tokio::test]
async fn the_reference_idempotency_vector_goes_on_the_wire() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(201, json!({"id": 1, "name": "example.com"}))
        .await;
    let r = h
        .call("create_domain", json!({"name": "example.com"}))
        .await;
    assert!(!support::is_error(&r), "{}", support::text(&r));
    let reqs = h.requests().await;
    assert_eq!(
        header(&reqs[0], "idempotency-key"),
        Some("mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af")
    );
    // The same call again sends the same key; a caller's own key is sent as is.
    h.call("create_domain", json!({"name": "example.com"}))
        .await;
    h.call(
        "create_domain",
        json!({"name": "example.com", "idempotency_key": "my-key-1"}),
    )
    .await;
    h.call(
        "create_domain",
        json!({"name": "example.com", "idempotency_key": ""}),
    )
    .await;
    let keys: Vec<String> = h
        .requests()
        .await
        .iter()
        .map(|r| header(r, "idempotency-key").unwrap().to_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af",
            "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af",
            "my-key-1",
            "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af",
        ]
    );
}

#[tokio::test]
async fn each_call_gets_a_fresh_request_id() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(200, json!({"data": []})).await;
    h.call("list_domains", json!({})).await;
    h.call("list_domains", json!({})).await;
    let ids: Vec<String> = h
        .requests()
        .await
        .iter()
        .map(|r| header(r, "x-request-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn an_empty_answer_is_a_clear_success() {
    let h = Harness::start(Opts::all_gates()).await;
    h.answer(ResponseTemplate::new(204)).await;
    let r = h
        .call("delete_alias", json!({"mailbox_id": 3, "alias_id": 9}))
        .await;
    assert!(!support::is_error(&r));
    assert_eq!(support::answer_text(&r), "Done: HTTP 204 with no content.");
    assert!(support::notes(&r).starts_with("Idempotency-Key: mcp_delete_alias_"));
    assert_eq!(
        r.structured_content,
        Some(json!({"ok": true, "status": 204}))
    );
    h.answer(ResponseTemplate::new(200)).await;
    let r = h.call("get_domain", json!({"domain_id": 3})).await;
    assert_eq!(support::text(&r), "Done: HTTP 200 with no content.");
}

#[tokio::test]
async fn unknown_fields_and_key_order_reach_the_agent() {
    let h = Harness::start(Opts::default()).await;
    let raw =
        r#"{"zeta":1,"alpha":{"b":2,"a":[3,{"z":null}]},"big":12345678901234,"unicode":"Grüße ✓"}"#;
    h.answer(ResponseTemplate::new(200).set_body_raw(raw, "application/json"))
        .await;
    let r = h.call("get_account", json!({})).await;
    assert_eq!(support::text(&r), raw);
}
