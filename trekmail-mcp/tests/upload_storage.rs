//! The storage side of an upload: file bytes streamed from disk to a local storage server,
//! compared byte for byte; redirects, foreign hosts and plain http refused with nothing of the
//! file sent; TrekMail's Authorization never sent.
#![allow(clippy::unwrap_used)]

/// The server's HTTP client for storage: the API pool's, which carries no token and follows no
/// redirect.
fn http() -> reqwest::Client {
    trekmail_api::ClientBuilder::new("http://127.0.0.1:9")
        .build_pool()
        .unwrap()
        .http()
        .clone()
}

use std::path::PathBuf;
use std::time::Duration;

use trekmail_mcp::call::upload::storage::{self, PutError};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Tmp(PathBuf);
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn file_of(bytes: &[u8]) -> (Tmp, std::fs::File) {
    let dir = std::env::temp_dir().join(format!("trekmail-store-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("f.bin");
    std::fs::write(&p, bytes).unwrap();
    let f = std::fs::File::open(&p).unwrap();
    (Tmp(dir), f)
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn single_and_multipart_puts_arrive_intact() {
    let mock = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).insert_header("etag", "\"abc\""))
        .mount(&mock)
        .await;
    let data = pattern(storage::CHUNK * 3 + 1234);
    let (_t, f) = file_of(&data);
    let http = http();
    let base = mock.uri();
    // One PUT of the whole file.
    let url = storage::allowed(&format!("{base}/store/one"), &base).unwrap();
    let etag = storage::put(
        &http,
        &url,
        &[("x-amz-meta-a".into(), "1".into())],
        &f,
        (0, data.len() as u64),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert_eq!(etag.as_deref(), Some("abc"), "quotes stripped");
    // Three parts of the size the API says, the last one shorter.
    let part = (storage::CHUNK + 7) as u64;
    let len = data.len() as u64;
    let mut n = 0;
    let mut at = 0;
    while at < len {
        n += 1;
        let url = storage::allowed(&format!("{base}/store/part/{n}"), &base).unwrap();
        let this = part.min(len - at);
        storage::put(&http, &url, &[], &f, (at, this), Duration::from_secs(10))
            .await
            .unwrap();
        at += this;
    }
    let reqs = mock.received_requests().await.unwrap();
    let one = reqs.iter().find(|r| r.url.path() == "/store/one").unwrap();
    assert_eq!(one.body, data);
    assert_eq!(one.headers.get("x-amz-meta-a").unwrap(), "1");
    assert_eq!(
        one.headers.get("content-length").unwrap().to_str().unwrap(),
        data.len().to_string()
    );
    let mut joined = Vec::new();
    for i in 1..=n {
        let r = reqs
            .iter()
            .find(|r| r.url.path() == format!("/store/part/{i}"))
            .unwrap();
        joined.extend_from_slice(&r.body);
    }
    assert_eq!(joined, data);
    assert!(
        reqs.iter()
            .all(|r| r.headers.get("authorization").is_none()),
        "TrekMail's Authorization reached the storage"
    );
}

#[tokio::test]
async fn the_api_cannot_smuggle_an_authorization_header() {
    let mock = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&mock)
        .await;
    let (_t, f) = file_of(b"hello");
    let base = mock.uri();
    let url = storage::allowed(&format!("{base}/s"), &base).unwrap();
    storage::put(
        &http(),
        &url,
        &[("Authorization".into(), "Bearer tm_live_x".into())],
        &f,
        (0, 5),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let reqs = mock.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_target_gets_nothing() {
    let target = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&target)
        .await;
    let mock = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/s"))
        .respond_with(
            ResponseTemplate::new(307).insert_header("location", format!("{}/x", target.uri())),
        )
        .mount(&mock)
        .await;
    let (_t, f) = file_of(b"secret file bytes");
    let base = mock.uri();
    let url = storage::allowed(&format!("{base}/s"), &base).unwrap();
    let http = http();
    let e = storage::put(&http, &url, &[], &f, (0, 17), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(e, PutError::Final(_)), "{e:?}");
    assert!(e.reason().contains("redirect"), "{e:?}");
    assert!(target.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn foreign_hosts_and_plain_http_are_refused_before_any_request() {
    let foreign = MockServer::start().await;
    let api = MockServer::start().await;
    // Plain http to another origin (another port of this machine), a private address over
    // https, a metadata endpoint: refused by the policy, so nothing is ever sent.
    for raw in [
        format!("{}/s", foreign.uri()),
        "http://storage.example.com/k".to_owned(),
        "https://10.0.0.5/k".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
    ] {
        assert!(storage::allowed(&raw, &api.uri()).is_err(), "{raw}");
    }
    assert!(foreign.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn storage_failures_say_whether_another_attempt_may_help() {
    let mock = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&mock)
        .await;
    Mock::given(method("PUT"))
        .and(path("/expired"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&mock)
        .await;
    let (_t, f) = file_of(b"abc");
    let base = mock.uri();
    let http = http();
    let busy = storage::allowed(&format!("{base}/busy"), &base).unwrap();
    let e = storage::put(&http, &busy, &[], &f, (0, 3), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(e, PutError::Retryable(_)), "{e:?}");
    let expired = storage::allowed(&format!("{base}/expired"), &base).unwrap();
    let e = storage::put(&http, &expired, &[], &f, (0, 3), Duration::from_secs(5))
        .await
        .unwrap_err();
    // An expired URL: not retried as is, but worth one fresh URL from the API (flow.rs).
    assert!(matches!(e, PutError::Refused(_)), "{e:?}");
}
