//! The whole upload against a local API and storage (wiremock): initiate with the opened file's
//! size, the PUTs compared byte for byte, complete with the parts' ETags; a failed part, a
//! hostile storage URL and a file that changes abort the upload and name the failed step.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use trekmail_api::Deadline;
use trekmail_mcp::call::progress::Progress;
use trekmail_mcp::call::upload::confine::{self, Opened, UploadDirs};
use trekmail_mcp::call::upload::flow::{self, Request, Steps, Uploaded};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The API's three requests over plain HTTP (the server uses the tool's operations).
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn post(&self, p: &str, body: Value) -> Result<Value, String> {
        let r = self
            .http
            .post(format!("{}/api/v1{p}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(v)
        } else {
            Err(format!("HTTP {status}"))
        }
    }
}

impl Steps for Api {
    async fn initiate(&self, body: Value) -> Result<Value, String> {
        self.post("/drive/spaces/account/uploads:initiate", body)
            .await
    }
    async fn complete(&self, file_id: &Value, body: Value) -> Result<Value, String> {
        self.post(&format!("/drive/uploads/{file_id}:complete"), body)
            .await
    }
    async fn abort(&self, file_id: &Value) -> Result<(), String> {
        self.post(&format!("/drive/uploads/{file_id}:abort"), json!({}))
            .await
            .map(|_| ())
    }
    async fn refresh(&self, file_id: &Value, part_numbers: &[u64]) -> Result<Value, String> {
        self.post(
            &format!("/drive/uploads/{file_id}:refresh-parts"),
            json!({ "part_numbers": part_numbers }),
        )
        .await
    }
    async fn status(&self, file_id: &Value) -> Result<Value, String> {
        let r = self
            .http
            .get(format!("{}/api/v1/drive/files/{file_id}", self.base))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("HTTP {}", r.status()));
        }
        r.json().await.map_err(|e| e.to_string())
    }
}

/// The flow on `file` against the API and storage at `base`, as the tool runs it.
async fn upload(
    base: &str,
    file: &Opened,
    progress: Option<&Progress>,
) -> Result<Uploaded, String> {
    let api = Api {
        base: base.to_owned(),
        http: http(),
    };
    let deadline = Deadline::after(Duration::from_secs(10));
    flow::run(&api, &http(), base, file, &request(), deadline, progress).await
}

fn http() -> reqwest::Client {
    trekmail_api::ClientBuilder::new("http://127.0.0.1:9")
        .build_pool()
        .unwrap()
        .http()
        .clone()
}

struct Tmp(PathBuf);
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn upload_dir(bytes: &[u8]) -> (Tmp, UploadDirs) {
    let dir = std::env::temp_dir().join(format!("trekmail-flow-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f.bin"), bytes).unwrap();
    let dirs = UploadDirs::parse(dir.to_str().unwrap()).unwrap();
    (Tmp(dir), dirs)
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 253) as u8).collect()
}

async fn answer(mock: &MockServer, m: &str, p: &str, status: u16, body: Value) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(mock)
        .await;
}

/// The API's answer to the upload's initiate.
async fn initiate(mock: &MockServer, body: Value) {
    let p = "/api/v1/drive/spaces/account/uploads:initiate";
    answer(mock, "POST", p, 201, body).await;
}

/// An initiate answer of `n` parts of 10 bytes, part `k` at `{prefix}/{k}`.
fn multipart(file_id: u64, prefix: &str, n: u64) -> Value {
    let parts: Vec<Value> = (1..=n)
        .map(|k| json!({"part_number": k, "upload_url": format!("{prefix}/{k}")}))
        .collect();
    json!({"file_id": file_id, "multipart": true, "part_size_bytes": 10, "parts": parts})
}

fn request() -> Request {
    Request {
        name: "f.bin".into(),
        folder_id: Value::Null,
        client_mime: Some("application/octet-stream".into()),
    }
}

async fn paths(mock: &MockServer) -> Vec<String> {
    mock.received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[tokio::test]
async fn a_single_put_then_complete() {
    let mock = MockServer::start().await;
    let base = mock.uri();
    let data = pattern(1000);
    let (_t, dirs) = upload_dir(&data);
    initiate(&mock, json!({"data": {"file_id": 9, "multipart": false, "upload_url": format!("{base}/_sandbox/u/9/1"), "headers": {"Content-Type": "application/octet-stream"}, "parts": []}})).await;
    answer(&mock, "PUT", "/_sandbox/u/9/1", 200, json!({})).await;
    answer(
        &mock,
        "POST",
        "/api/v1/drive/uploads/9:complete",
        200,
        json!({"data": {"id": 9, "status": "active"}}),
    )
    .await;
    let file = confine::open(&dirs, "f.bin").unwrap();
    let done = upload(&base, &file, None).await.unwrap();
    assert_eq!(done.answer["data"]["status"], "active");
    assert!(!done.earlier);
    let reqs = mock.received_requests().await.unwrap();
    let init: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(
        init,
        json!({"name": "f.bin", "size_bytes": 1000, "folder_id": null, "client_mime": "application/octet-stream"})
    );
    assert_eq!(reqs[1].body, data);
    assert!(reqs[1].headers.get("authorization").is_none());
    assert_eq!(reqs[2].body, b"{}");
}

#[tokio::test]
async fn parts_then_complete_with_their_etags_and_progress_per_part() {
    let mock = MockServer::start().await;
    let base = mock.uri();
    let data = pattern(25);
    let (_t, dirs) = upload_dir(&data);
    initiate(&mock, multipart(4, &format!("{base}/_sandbox/u/4"), 3)).await;
    for n in 1..=3 {
        Mock::given(method("PUT"))
            .and(path(format!("/_sandbox/u/4/{n}")))
            .respond_with(ResponseTemplate::new(200).insert_header("etag", format!("\"e{n}\"")))
            .mount(&mock)
            .await;
    }
    answer(
        &mock,
        "POST",
        "/api/v1/drive/uploads/4:complete",
        200,
        json!({"id": 4}),
    )
    .await;
    let file = confine::open(&dirs, "f.bin").unwrap();
    let (progress, seen) = support::progress_recorder();
    upload(&base, &file, Some(&progress)).await.unwrap();
    let reqs = mock.received_requests().await.unwrap();
    let joined: Vec<u8> = reqs
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .flat_map(|r| r.body.clone())
        .collect();
    assert_eq!(joined, data);
    let complete: Value = serde_json::from_slice(&reqs.last().unwrap().body).unwrap();
    assert_eq!(
        complete,
        json!({"parts": [{"part_number": 1, "etag": "e1"}, {"part_number": 2, "etag": "e2"}, {"part_number": 3, "etag": "e3"}]})
    );
    let messages: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| p.message.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        messages,
        ["sent part 1 of 3", "sent part 2 of 3", "sent part 3 of 3"]
    );
}

#[tokio::test]
async fn a_failed_part_aborts_and_names_the_step() {
    let mock = MockServer::start().await;
    let base = mock.uri();
    let (_t, dirs) = upload_dir(&pattern(25));
    initiate(&mock, multipart(4, &format!("{base}/_sandbox/u/4"), 3)).await;
    Mock::given(method("PUT"))
        .and(path("/_sandbox/u/4/1"))
        .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"e1\""))
        .mount(&mock)
        .await;
    answer(&mock, "PUT", "/_sandbox/u/4/2", 403, json!({})).await;
    answer(
        &mock,
        "POST",
        "/api/v1/drive/uploads/4:abort",
        200,
        json!({}),
    )
    .await;
    let file = confine::open(&dirs, "f.bin").unwrap();
    let e = upload(&base, &file, None).await.unwrap_err();
    assert!(
        e.contains("part 2 of 3") && e.contains("403") && e.contains("aborted"),
        "{e}"
    );
    let p = paths(&mock).await;
    assert!(
        p.contains(&"POST /api/v1/drive/uploads/4:abort".to_owned()),
        "{p:?}"
    );
    assert!(
        !p.iter()
            .any(|x| x.contains(":complete") || x.ends_with("/4/3")),
        "{p:?}"
    );
}

#[tokio::test]
async fn a_busy_storage_is_tried_again_within_the_deadline() {
    let mock = MockServer::start().await;
    let base = mock.uri();
    let data = pattern(10);
    let (_t, dirs) = upload_dir(&data);
    initiate(
        &mock,
        json!({"file_id": 5, "multipart": false, "upload_url": format!("{base}/s/5")}),
    )
    .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&mock)
        .await;
    answer(&mock, "PUT", "/s/5", 200, json!({})).await;
    answer(
        &mock,
        "POST",
        "/api/v1/drive/uploads/5:complete",
        200,
        json!({"id": 5}),
    )
    .await;
    let file = confine::open(&dirs, "f.bin").unwrap();
    upload(&base, &file, None).await.unwrap();
    let puts: Vec<_> = mock
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[1].body, data);
}

#[tokio::test]
async fn a_hostile_storage_url_gets_nothing_and_the_upload_is_aborted() {
    let foreign = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&foreign)
        .await;
    let mock = MockServer::start().await;
    let base = mock.uri();
    let (_t, dirs) = upload_dir(b"local secret bytes");
    // Plain http to another origin.
    initiate(
        &mock,
        json!({"file_id": 6, "multipart": false, "upload_url": format!("{}/steal", foreign.uri())}),
    )
    .await;
    Mock::given(method("POST"))
        .and(path_regex(":abort$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&mock)
        .await;
    let file = confine::open(&dirs, "f.bin").unwrap();
    let e = upload(&base, &file, None).await.unwrap_err();
    assert!(e.contains("not https") && e.contains("aborted"), "{e}");
    assert!(foreign.received_requests().await.unwrap().is_empty());
    assert!(!e.contains("local secret bytes"));
}

#[tokio::test]
async fn a_file_that_grows_while_it_is_sent_aborts_the_upload() {
    let mock = MockServer::start().await;
    let base = mock.uri();
    let (t, dirs) = upload_dir(&pattern(20));
    initiate(&mock, multipart(8, &format!("{base}/p"), 2)).await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"e\""))
        .mount(&mock)
        .await;
    answer(
        &mock,
        "POST",
        "/api/v1/drive/uploads/8:abort",
        200,
        json!({}),
    )
    .await;
    let file = confine::open(&dirs, "f.bin").unwrap();
    // The file grows after it was opened (its size was taken) and before its bytes are sent.
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(t.0.join("f.bin"))
        .unwrap()
        .write_all(b"appended")
        .unwrap();
    let e = upload(&base, &file, None).await.unwrap_err();
    assert!(e.contains("changed") && e.contains("aborted"), "{e}");
    assert!(!paths(&mock).await.iter().any(|p| p.contains(":complete")));
}

/// A multipart upload whose part 2 URL the storage refuses (403): the API's refresh is asked
/// once for part 2 (`{"part_numbers": [2]}`), and the PUT goes to the fresh URL.
async fn refused_part_2(refreshed_put: u16) -> (MockServer, Result<flow::Uploaded, String>) {
    let mock = MockServer::start().await;
    let base = mock.uri();
    let (_t, dirs) = upload_dir(&pattern(25));
    initiate(&mock, multipart(4, &format!("{base}/_sandbox/u/4"), 3)).await;
    for (p, status) in [("1", 200), ("2", 403), ("2b", refreshed_put), ("3", 200)] {
        Mock::given(method("PUT"))
            .and(path(format!("/_sandbox/u/4/{p}")))
            .respond_with(ResponseTemplate::new(status).insert_header("etag", format!("\"e{p}\"")))
            .mount(&mock)
            .await;
    }
    let fresh = json!({"data": {"file_id": 4, "parts": [{"part_number": 2, "upload_url": format!("{base}/_sandbox/u/4/2b")}]}});
    answer(
        &mock,
        "POST",
        "/api/v1/drive/uploads/4:refresh-parts",
        200,
        fresh,
    )
    .await;
    answer(
        &mock,
        "POST",
        "/api/v1/drive/uploads/4:complete",
        200,
        json!({"id": 4}),
    )
    .await;
    answer(
        &mock,
        "GET",
        "/api/v1/drive/files/4",
        200,
        json!({"data": {"id": 4, "status": "uploading"}}),
    )
    .await;
    answer(
        &mock,
        "POST",
        "/api/v1/drive/uploads/4:abort",
        200,
        json!({}),
    )
    .await;
    let file = confine::open(&dirs, "f.bin").unwrap();
    let r = upload(&base, &file, None).await;
    (mock, r)
}

#[tokio::test]
async fn a_refused_part_url_is_refreshed_once_and_the_part_sent_there() {
    let (mock, r) = refused_part_2(200).await;
    let done = r.unwrap();
    assert_eq!(done.answer, json!({"id": 4}));
    let reqs = mock.received_requests().await.unwrap();
    let refresh: Vec<Value> = reqs
        .iter()
        .filter(|r| r.url.path().ends_with(":refresh-parts"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(refresh, vec![json!({"part_numbers": [2]})]);
    let complete = reqs
        .iter()
        .find(|r| r.url.path().ends_with(":complete"))
        .unwrap();
    let body: Value = serde_json::from_slice(&complete.body).unwrap();
    assert_eq!(body["parts"][1], json!({"part_number": 2, "etag": "e2b"}));
    assert!(!paths(&mock).await.iter().any(|p| p.contains(":abort")));
}

#[tokio::test]
async fn a_part_refused_again_after_its_refresh_aborts() {
    let (mock, r) = refused_part_2(403).await;
    let e = r.unwrap_err();
    assert!(e.contains("part 2 of 3") && e.contains("aborted"), "{e}");
    let p = paths(&mock).await;
    assert_eq!(
        p.iter().filter(|x| x.contains(":refresh-parts")).count(),
        1,
        "{p:?}"
    );
    assert_eq!(
        p.iter().filter(|x| x.ends_with("/4/2b")).count(),
        1,
        "{p:?}"
    );
    assert!(p.iter().any(|x| x.contains(":abort")), "{p:?}");
}

#[tokio::test]
async fn a_failure_on_an_upload_the_api_already_completed_never_aborts_it() {
    // An earlier identical call completed file 6; this call's key replays its initiate, so the
    // storage no longer takes the bytes. The file is the answer; nothing is aborted.
    let mock = MockServer::start().await;
    let base = mock.uri();
    let (_t, dirs) = upload_dir(&pattern(10));
    initiate(&mock, json!({"data": {"file_id": 6, "multipart": false, "upload_url": format!("{base}/_sandbox/u/6/1")}})).await;
    answer(&mock, "PUT", "/_sandbox/u/6/1", 404, json!({})).await;
    let file_6 = json!({"data": {"id": 6, "status": "active", "name": "f.bin"}});
    answer(&mock, "GET", "/api/v1/drive/files/6", 200, file_6.clone()).await;
    let file = confine::open(&dirs, "f.bin").unwrap();
    let done = upload(&base, &file, None).await.unwrap();
    assert_eq!(
        done,
        flow::Uploaded {
            answer: file_6,
            earlier: true
        }
    );
    assert!(
        !paths(&mock)
            .await
            .iter()
            .any(|p| p.contains(":abort") || p.contains(":complete"))
    );
}
