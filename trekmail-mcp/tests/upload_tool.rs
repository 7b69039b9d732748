//! `drive_file_upload` as a tool: disabled (or hidden) without TREKMAIL_UPLOAD_DIR, refusing
//! naming it; every path that is not a regular file inside it refused before any request and
//! without its contents; inside it, the whole flow through the server against a local API and
//! storage (wiremock): the exact requests, the bytes compared, no token to storage, progress per
//! part, abort naming the failed step, storage elsewhere refused; and end to end over stdio
//! against the sandbox, the bytes downloaded back through the tools.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Harness, OPS_TOKEN, Opts, is_error, text};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOOL: &str = "drive_file_upload";
const SECRET: &[u8] = b"TOP-SECRET-CONTENT";

struct Tmp(PathBuf);
impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `root/up` (the upload directory) holding `report.pdf` with `bytes`, and `root/secret.txt`
/// outside it.
fn dir_with(bytes: &[u8]) -> Tmp {
    let root = std::env::temp_dir().join(format!("trekmail-tool-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(root.join("up/sub")).unwrap();
    std::fs::write(root.join("up/report.pdf"), bytes).unwrap();
    std::fs::write(root.join("secret.txt"), SECRET).unwrap();
    Tmp(root)
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

fn opts(upload_dir: Option<&Path>, more: &[(&'static str, &str)]) -> Opts {
    let mut o = Opts::default();
    if let Some(d) = upload_dir {
        o.extra
            .push(("TREKMAIL_UPLOAD_DIR", d.display().to_string()));
    }
    for (k, v) in more {
        o.extra.push((k, (*v).to_owned()));
    }
    o
}

async fn mount(mock: &MockServer, m: &str, p: &str, r: ResponseTemplate) {
    Mock::given(method(m))
        .and(path(p))
        .respond_with(r)
        .mount(mock)
        .await;
}

fn json_answer(status: u16, v: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(v)
}

async fn initiate_answers(mock: &MockServer, answer: Value) {
    let p = "/api/v1/drive/spaces/account/uploads:initiate";
    mount(mock, "POST", p, json_answer(201, answer)).await;
}

/// A one-PUT upload of file 3: `initiate` answers the initiate, the storage takes the PUT at
/// `/_storage/3`, and the completion answers `completed`.
async fn one_put(mock: &MockServer, initiate: Value, completed: Value) {
    initiate_answers(mock, initiate).await;
    mount(mock, "PUT", "/_storage/3", ResponseTemplate::new(200)).await;
    let p = "/api/v1/drive/uploads/3:complete";
    mount(mock, "POST", p, json_answer(200, completed)).await;
}

/// An initiate answer of `n` parts of 10 bytes, part `k` at `{prefix}/{k}`.
fn multipart(file_id: u64, prefix: &str, n: u64) -> Value {
    let parts: Vec<Value> = (1..=n)
        .map(|k| json!({"part_number": k, "upload_url": format!("{prefix}/{k}")}))
        .collect();
    json!({"data": {"file_id": file_id, "multipart": true, "part_size_bytes": 10, "headers": {"Content-Type": "application/pdf"}, "parts": parts}})
}

fn lines(reqs: &[wiremock::Request]) -> Vec<String> {
    reqs.iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[tokio::test]
async fn without_the_directory_it_is_disabled_or_hidden_and_refuses_naming_the_variable() {
    let h = Harness::start(opts(None, &[])).await;
    let tool = h
        .server
        .tools()
        .into_iter()
        .find(|t| t.name == TOOL)
        .unwrap();
    let description = tool.description.unwrap();
    assert!(description.contains("Disabled"), "{description}");
    let r = h
        .call(
            TOOL,
            json!({"space": "account", "local_path": "/etc/passwd"}),
        )
        .await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("TREKMAIL_UPLOAD_DIR") && text(&r).contains("nothing was sent"),
        "{}",
        text(&r)
    );
    assert!(!text(&r).contains("root:"), "{}", text(&r));
    assert!(h.requests().await.is_empty());

    // Hidden with TREKMAIL_HIDE_DISABLED: not listed, and a call is refused as not available.
    let h = Harness::start(opts(None, &[("TREKMAIL_HIDE_DISABLED", "true")])).await;
    assert!(h.server.tools().iter().all(|t| t.name != TOOL));
    let e = h
        .try_call(TOOL, json!({"space": "account", "local_path": "a"}))
        .await
        .unwrap_err();
    assert!(e.message.contains("TREKMAIL_UPLOAD_DIR"), "{e:?}");
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn anything_but_a_regular_file_inside_is_refused_before_any_request() {
    let t = dir_with(b"pdf bytes");
    let up = t.0.join("up");
    std::os::unix::fs::symlink(t.0.join("secret.txt"), up.join("link.pdf")).unwrap();
    std::os::unix::fs::symlink(&t.0, up.join("rootlink")).unwrap();
    let fifo = up.join("pipe");
    let fifo_made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let h = Harness::start(opts(Some(&up), &[])).await;
    let outside = t.0.join("secret.txt").display().to_string();
    let mut cases = vec![
        ("../secret.txt".to_owned(), "outside"),
        ("sub/../../secret.txt".to_owned(), "outside"),
        (outside, "outside"),
        ("/etc/passwd".to_owned(), "outside"),
        ("link.pdf".to_owned(), "outside"),
        ("rootlink/secret.txt".to_owned(), "outside"),
        ("sub".to_owned(), "a directory"),
        (".".to_owned(), "outside"),
        ("missing.pdf".to_owned(), "does not exist"),
    ];
    if fifo_made {
        cases.push(("pipe".to_owned(), "a FIFO"));
    } else {
        eprintln!("mkfifo not available: FIFO case not run");
    }
    for (p, why) in cases {
        // A FIFO is never opened (that would wait for a writer): the answer comes at once.
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            h.call(TOOL, json!({"space": "account", "local_path": p})),
        )
        .await
        .unwrap_or_else(|_| panic!("{p}: no answer"));
        let t = text(&r);
        assert!(is_error(&r), "{p}: {t}");
        assert!(t.contains(why), "{p}: {t}");
        assert!(
            t.contains("TREKMAIL_UPLOAD_DIR") && t.contains("nothing was sent"),
            "{p}: {t}"
        );
        assert!(
            !t.contains("TOP-SECRET") && !t.contains("root:"),
            "{p}: {t}"
        );
    }
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn a_small_file_goes_in_one_put_without_the_token() {
    let data = pattern(5000);
    let t = dir_with(&data);
    let h = Harness::start(opts(Some(&t.0.join("up")), &[])).await;
    let base = h.mock.uri();
    one_put(&h.mock, json!({"data": {"file_id": 3, "multipart": false, "upload_url": format!("{base}/_storage/3?sig=abc"), "headers": {"Content-Type": "application/pdf", "Authorization": "Bearer stolen"}, "parts": []}}), json!({"data": {"id": 3, "name": "report.pdf", "status": "active"}})).await;
    let r = h
        .call(
            TOOL,
            json!({"space": "account", "local_path": "report.pdf"}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(
        r.structured_content.as_ref().unwrap()["data"]["status"],
        "active"
    );
    let reqs = h.requests().await;
    assert_eq!(
        lines(&reqs),
        [
            "POST /api/v1/drive/spaces/account/uploads:initiate",
            "PUT /_storage/3",
            "POST /api/v1/drive/uploads/3:complete"
        ]
    );
    let init: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(
        init,
        json!({"name": "report.pdf", "size_bytes": 5000, "folder_id": null})
    );
    let auth = |r: &wiremock::Request| {
        r.headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let key = |r: &wiremock::Request| {
        r.headers
            .get("idempotency-key")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(auth(&reqs[0]), Some(format!("Bearer {OPS_TOKEN}")));
    assert_eq!(auth(&reqs[2]), Some(format!("Bearer {OPS_TOKEN}")));
    // Storage gets the bytes and the API's headers, never TrekMail's token (nor one the API
    // slips into its headers), and no idempotency key.
    assert_eq!(reqs[1].body, data);
    assert_eq!(auth(&reqs[1]), None);
    assert_eq!(key(&reqs[1]), None);
    assert_eq!(reqs[1].url.query(), Some("sig=abc"));
    assert_eq!(
        reqs[1].headers.get("content-type").unwrap(),
        "application/pdf"
    );
    assert_eq!(reqs[1].headers.get("content-length").unwrap(), "5000");
    // initiate and complete carry one key stem, one step each.
    let (k0, k2) = (key(&reqs[0]).unwrap(), key(&reqs[2]).unwrap());
    assert!(
        k0.ends_with("_initiate") && k2.ends_with("_complete"),
        "{k0} {k2}"
    );
    assert_eq!(
        k0.trim_end_matches("_initiate"),
        k2.trim_end_matches("_complete")
    );
    assert_eq!(reqs[2].body, b"{}");
}

#[tokio::test]
async fn a_callers_longest_key_still_gives_each_step_a_key_within_the_bound() {
    // The caller's key may be 255 characters: a step's key (the key and the step) is derived
    // through the same type, so it stays a key a header may carry, one per step, the same on
    // a retry.
    let data = pattern(5000);
    let t = dir_with(&data);
    let h = Harness::start(opts(Some(&t.0.join("up")), &[])).await;
    let base = h.mock.uri();
    one_put(&h.mock, json!({"data": {"file_id": 3, "multipart": false, "upload_url": format!("{base}/_storage/3?sig=abc"), "headers": {}, "parts": []}}), json!({"data": {"id": 3, "status": "active"}})).await;
    let args =
        json!({"space": "account", "local_path": "report.pdf", "idempotency_key": "k".repeat(255)});
    for _ in 0..2 {
        let r = h.call(TOOL, args.clone()).await;
        assert!(!is_error(&r), "{}", text(&r));
    }
    let keys: Vec<String> = h
        .requests()
        .await
        .iter()
        .filter(|r| r.url.path().starts_with("/api/v1/"))
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap()
        })
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    for k in &keys {
        assert!(
            (1..=255).contains(&k.len()) && k.bytes().all(|b| (b'!'..=b'~').contains(&b)),
            "{k}"
        );
    }
    assert_ne!(
        keys[0], keys[1],
        "initiate and complete have their own keys"
    );
    assert_eq!(keys[..2], keys[2..], "a retry repeats them");
}

#[tokio::test]
async fn a_larger_file_goes_in_parts_with_progress_per_part() {
    let data = pattern(25);
    let t = dir_with(&data);
    let h = Harness::start(opts(Some(&t.0.join("up")), &[])).await;
    let base = h.mock.uri();
    initiate_answers(&h.mock, multipart(4, &format!("{base}/_storage/4"), 3)).await;
    for n in 1..=3 {
        let r = ResponseTemplate::new(200).insert_header("etag", format!("\"e{n}\""));
        mount(&h.mock, "PUT", &format!("/_storage/4/{n}"), r).await;
    }
    mount(
        &h.mock,
        "POST",
        "/api/v1/drive/uploads/4:complete",
        json_answer(200, json!({"data": {"id": 4, "status": "active"}})),
    )
    .await;
    let (progress, seen) = support::progress_recorder();
    let args = json!({"space": "account", "local_path": "report.pdf", "name": "Q3.pdf", "folder_id": 12, "client_mime": "application/pdf"});
    let r = h
        .server
        .call_with_progress(TOOL, args.as_object().cloned(), Some(&progress))
        .await
        .unwrap();
    assert!(!is_error(&r), "{}", text(&r));
    let reqs = h.requests().await;
    let init: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(
        init,
        json!({"name": "Q3.pdf", "size_bytes": 25, "folder_id": 12, "client_mime": "application/pdf"})
    );
    let puts: Vec<&wiremock::Request> =
        reqs.iter().filter(|r| r.method.as_str() == "PUT").collect();
    assert_eq!(puts.len(), 3);
    for (i, p) in puts.iter().enumerate() {
        assert_eq!(p.url.path(), format!("/_storage/4/{}", i + 1));
        assert_eq!(p.body, data[i * 10..(i * 10 + 10).min(25)]);
        assert!(p.headers.get("authorization").is_none());
    }
    let complete: Value = serde_json::from_slice(&reqs.last().unwrap().body).unwrap();
    assert_eq!(
        complete,
        json!({"parts": [{"part_number": 1, "etag": "e1"}, {"part_number": 2, "etag": "e2"}, {"part_number": 3, "etag": "e3"}]})
    );
    let told: Vec<(String, Option<f64>)> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|p| (p.message.clone().unwrap_or_default(), p.total))
        .collect();
    assert_eq!(
        told,
        [
            ("sent part 1 of 3".to_owned(), Some(3.0)),
            ("sent part 2 of 3".to_owned(), Some(3.0)),
            ("sent part 3 of 3".to_owned(), Some(3.0))
        ]
    );
}

#[tokio::test]
async fn a_failed_part_aborts_the_upload_and_names_the_step() {
    let t = dir_with(&pattern(25));
    let h = Harness::start(opts(Some(&t.0.join("up")), &[])).await;
    let base = h.mock.uri();
    initiate_answers(&h.mock, multipart(4, &format!("{base}/_storage/4"), 3)).await;
    let ok = ResponseTemplate::new(200).insert_header("etag", "\"e1\"");
    mount(&h.mock, "PUT", "/_storage/4/1", ok).await;
    // A busy storage is tried again; a refusal is not.
    Mock::given(method("PUT"))
        .and(path("/_storage/4/2"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.mock)
        .await;
    mount(&h.mock, "PUT", "/_storage/4/2", ResponseTemplate::new(403)).await;
    mount(
        &h.mock,
        "POST",
        "/api/v1/drive/uploads/4:abort",
        json_answer(200, json!({"data": {"file_id": 4, "aborted": true}})),
    )
    .await;
    let r = h
        .call(
            TOOL,
            json!({"space": "account", "local_path": "report.pdf"}),
        )
        .await;
    let t = text(&r);
    assert!(is_error(&r), "{t}");
    assert!(
        t.contains("failed at the PUT of part 2 of 3")
            && t.contains("403")
            && t.contains("the upload was aborted"),
        "{t}"
    );
    assert_eq!(
        lines(&h.requests().await),
        [
            "POST /api/v1/drive/spaces/account/uploads:initiate",
            "PUT /_storage/4/1",
            "PUT /_storage/4/2",
            "PUT /_storage/4/2",
            // A 403 asks the API once for a fresh URL (refused here: not mounted); the file's
            // status is read before the abort (not complete: unknown here).
            "POST /api/v1/drive/uploads/4:refresh-parts",
            "GET /api/v1/drive/files/4",
            "POST /api/v1/drive/uploads/4:abort"
        ]
    );
}

#[tokio::test]
async fn storage_anywhere_else_gets_nothing_of_the_file() {
    let data = b"local secret bytes".to_vec();
    let t = dir_with(&data);
    let elsewhere = MockServer::start().await;
    mount(&elsewhere, "PUT", "/x", ResponseTemplate::new(200)).await;
    let h = Harness::start(opts(Some(&t.0.join("up")), &[])).await;
    let base = h.mock.uri();
    for (url, why) in [
        // Another port of this host: not the API's origin, and plain http.
        (format!("{}/x", elsewhere.uri()), "not https"),
        ("http://storage.example.com/x".to_owned(), "not https"),
        ("https://169.254.169.254/latest".to_owned(), "refused"),
        ("https://localhost/x".to_owned(), "refused"),
        (format!("{base}/_storage/redirect"), "redirect"),
    ] {
        h.mock.reset().await;
        initiate_answers(
            &h.mock,
            json!({"data": {"file_id": 8, "multipart": false, "upload_url": url}}),
        )
        .await;
        let redirect =
            ResponseTemplate::new(307).insert_header("location", format!("{}/x", elsewhere.uri()));
        mount(&h.mock, "PUT", "/_storage/redirect", redirect).await;
        mount(
            &h.mock,
            "POST",
            "/api/v1/drive/uploads/8:abort",
            json_answer(200, json!({})),
        )
        .await;
        let r = h
            .call(
                TOOL,
                json!({"space": "account", "local_path": "report.pdf"}),
            )
            .await;
        let t = text(&r);
        assert!(is_error(&r), "{url}: {t}");
        assert!(
            t.contains(why) && t.contains("the upload was aborted"),
            "{url}: {t}"
        );
        assert!(!t.contains("local secret"), "{t}");
        let seen = lines(&h.requests().await);
        assert_eq!(
            seen.last().unwrap(),
            "POST /api/v1/drive/uploads/8:abort",
            "{url}"
        );
        assert!(!seen.iter().any(|l| l.contains(":complete")), "{seen:?}");
    }
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the file reached another host"
    );
}

/// End to end over stdio: the built binary with `--sandbox --upload-dir`, a small file (one
/// PUT) and one of several parts, each downloaded back through the tools and compared.
#[cfg(feature = "sandbox")]
#[tokio::test]
async fn over_stdio_against_the_sandbox_files_download_back_intact() {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::process::Command;

    let small = pattern(3000);
    // The sandbox goes multipart from 8 MiB, in parts of 5 MiB: three parts.
    let large = pattern(11 * 1024 * 1024 + 5);
    let t = dir_with(&small);
    let up = t.0.join("up");
    std::fs::write(up.join("sub/large.bin"), &large).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"))
        .env_clear()
        .args(["--sandbox", "--upload-dir"])
        .arg(&up)
        .env("TREKMAIL_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut id = 0;
    let mut progress = Vec::new();
    let mut rpc = async |method: &str, params: Value| -> Value {
        id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        stdin
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
        loop {
            let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["method"] == "notifications/progress" {
                progress.push(
                    v["params"]["message"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            if v["id"] == id {
                return v;
            }
        }
    };
    rpc(
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}),
    )
    .await;
    let call = |name: &str, args: Value| json!({"name": name, "arguments": args, "_meta": {"progressToken": "up"}});
    let mut got = Vec::new();
    for (local, bytes) in [("report.pdf", &small), ("sub/large.bin", &large)] {
        let r = rpc(
            "tools/call",
            call(TOOL, json!({"space": "account", "local_path": local})),
        )
        .await;
        let result = &r["result"];
        assert_eq!(result["isError"], false, "{local}: {r}");
        let file = &result["structuredContent"]["data"];
        assert_eq!(file["status"], "active", "{r}");
        assert_eq!(file["size_bytes"], bytes.len(), "{r}");
        let r = rpc(
            "tools/call",
            call("drive_file_download_url", json!({"file_id": file["id"]})),
        )
        .await;
        let url = r["result"]["structuredContent"]["data"]["url"]
            .as_str()
            .unwrap_or_else(|| panic!("{r}"))
            .to_owned();
        got.push((url, bytes.clone()));
    }
    assert_eq!(
        progress,
        [
            "sent part 1 of 1",
            "sent part 1 of 3",
            "sent part 2 of 3",
            "sent part 3 of 3"
        ]
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    for (url, bytes) in got {
        let back = http.get(&url).send().await.unwrap().bytes().await.unwrap();
        assert!(back.as_ref() == bytes.as_slice(), "{url}: the bytes differ");
    }
}

#[tokio::test]
async fn uploading_the_same_path_again_after_a_change_is_a_new_intent() {
    let t = dir_with(&pattern(100));
    let file = t.0.join("up/report.pdf");
    let h = Harness::start(opts(Some(&t.0.join("up")), &[])).await;
    let base = h.mock.uri();
    one_put(&h.mock, json!({"data": {"file_id": 3, "multipart": false, "upload_url": format!("{base}/_storage/3")}}), json!({"data": {"id": 3, "status": "active"}})).await;
    let args = json!({"space": "account", "local_path": "report.pdf"});
    let initiate_key = |reqs: &[wiremock::Request]| {
        reqs.iter()
            .rev()
            .find(|r| r.url.path().ends_with("uploads:initiate"))
            .and_then(|r| r.headers.get("idempotency-key"))
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap()
    };
    assert!(!is_error(&h.call(TOOL, args.clone()).await));
    let first = initiate_key(&h.requests().await);
    // The same call again, the file untouched: a retry, with the same key.
    assert!(!is_error(&h.call(TOOL, args.clone()).await));
    assert_eq!(initiate_key(&h.requests().await), first);
    // The file changed (same size, a later modification time): a new upload, a new key.
    std::fs::write(
        &file,
        pattern(100).iter().rev().copied().collect::<Vec<u8>>(),
    )
    .unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert!(!is_error(&h.call(TOOL, args).await));
    assert_ne!(initiate_key(&h.requests().await), first);
}

#[tokio::test]
async fn the_same_unchanged_file_again_is_a_retry_answered_with_the_earlier_upload() {
    // On the sandbox: the second call's key replays the first initiate (file already
    // complete), so the storage refuses the bytes; the answer is the earlier upload, said so,
    // with nothing aborted and no second file.
    let t = dir_with(&pattern(3000));
    let sandbox = trekmail_sandbox::Sandbox::new()
        .unwrap()
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let (policy, _) = support::recording_policy();
    let server = Harness::server_for(
        &sandbox.base_url(),
        &opts(Some(&t.0.join("up")), &[]),
        policy,
    );
    let args = json!({"space": "account", "local_path": "report.pdf"});
    let call = |a: Value| server.call("drive_file_upload", a.as_object().cloned());
    let first = call(args.clone()).await.unwrap();
    assert!(!is_error(&first), "{}", text(&first));
    let id = first.structured_content.as_ref().unwrap()["data"]["id"].clone();
    let again = call(args).await.unwrap();
    let said = text(&again);
    assert!(!is_error(&again), "{said}");
    assert!(
        said.contains("repeated an earlier upload") && said.contains("new idempotency_key"),
        "{said}"
    );
    let again = again.structured_content.unwrap();
    assert_eq!(again["data"]["id"], id);
    assert_eq!(again["data"]["status"], "active");
    // Still one file, still active: nothing was aborted or uploaded twice.
    let listed = server
        .call(
            "drive_file_get",
            json!({"file_id": id}).as_object().cloned(),
        )
        .await
        .unwrap();
    assert_eq!(
        listed.structured_content.unwrap()["data"]["status"],
        "active"
    );
}
