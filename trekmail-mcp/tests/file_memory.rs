//! An 8 MB attachment above the inline limit, call + resources/read + the answer written as
//! stdio writes it: downloaded from the API once, and its bytes held once. Measures this
//! process's peak resident set from just before the call (its own test binary, so that no other
//! test runs beside it), prints it, and fails when it reaches two copies of the file's base64
//! text: the figure moves by a page or two between runs, two copies would be 11 MB more.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead as _, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use rmcp::model::{JsonRpcMessage, RequestId, ResourceContents, ServerResult};
use serde_json::json;
use sha2::{Digest, Sha256};
use support::{Harness, Opts, is_error, text};

/// A field of /proc/self/status, in bytes.
fn status(field: &str) -> usize {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: usize = s
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// Starts a new high-water mark of the resident set at what is resident now (Linux 4.0 on).
fn reset_peak() -> usize {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    status("VmRSS:")
}

/// An API that answers every request with `body` (allocated before the measure starts) and
/// counts the requests.
fn api(body: Arc<Vec<u8>>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let (body, head, counted) = (Arc::clone(&body), head.clone(), Arc::clone(&counted));
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                loop {
                    // A request: its head up to the empty line (GETs carry no body).
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    while line.trim_end() != "" {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                    }
                    counted.fetch_add(1, Ordering::SeqCst);
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(&body).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (base, requests)
}

/// A writer that keeps only a hash of what it is given, like a pipe to the client.
struct Hashing(Sha256, usize);

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        self.1 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_8_mb_attachment_is_downloaded_once_and_held_once() {
    const SIZE: usize = 8 * 1024 * 1024;
    let file: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&file);
    let text_len = encoded.len();
    let body = Arc::new(
        serde_json::to_vec(&json!({"data": {
            "filename": "big.bin", "content_type": "application/octet-stream",
            "content_base64": encoded}}))
        .unwrap(),
    );
    let (base, requests) = api(Arc::clone(&body));
    let (policy, _) = support::recording_policy();
    let server = Harness::server_for(&base, &Opts::default(), policy);
    let args = json!({"uid": 5, "index": 0}).as_object().cloned();

    // What every first call builds once (the operations' description, the connection pool) is
    // built before the measure: a call to a closed port.
    let (policy, _) = support::recording_policy();
    let warm = Harness::server_for("http://127.0.0.1:9", &Opts::default(), policy);
    let _ = warm
        .call("get_domain", json!({"domain_id": 7}).as_object().cloned())
        .await;
    let before = reset_peak();
    let r = server.call("download_attachment", args).await.unwrap();
    let after_call = status("VmHWM:") - before;
    assert!(!is_error(&r), "{}", text(&r));
    let uri = r.structured_content.as_ref().unwrap()["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = server.read(&uri).await.unwrap();
    // What stdio writes: the answer serialized into the pipe as it goes.
    let answer =
        JsonRpcMessage::response(ServerResult::ReadResourceResult(read), RequestId::Number(2));
    let mut out = Hashing(Sha256::new(), 0);
    trekmail_mcp::serve::stdout::write_line(&mut out, &answer).unwrap();
    let peak = status("VmHWM:") - before;

    println!(
        "{SIZE} B file ({text_len} B of base64 in a {} B answer): peak resident set above the start {peak} B \
         ({:.2}x the base64 text; the tool call alone {after_call} B), {} B written, {} download(s)",
        body.len(),
        peak as f64 / text_len as f64,
        out.1,
        requests.load(Ordering::SeqCst)
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1, "downloads from the API");
    assert!(
        peak < text_len * 3 / 2,
        "{peak} B allocated at the peak for {text_len} B of base64: more than one copy"
    );
    // What the client receives is the file, whole.
    let expected = {
        let mut line = serde_json::to_vec(&answer).unwrap();
        line.push(b'\n');
        line
    };
    assert_eq!(out.1, expected.len());
    assert_eq!(out.0.finalize(), Sha256::digest(&expected));
    let JsonRpcMessage::Response(response) = answer else {
        panic!("a response")
    };
    let ServerResult::ReadResourceResult(read) = response.result else {
        panic!("a read result")
    };
    let [ResourceContents::BlobResourceContents { blob, .. }] = &read.contents[..] else {
        panic!("one blob")
    };
    assert!(
        base64::engine::general_purpose::STANDARD
            .decode(blob)
            .unwrap()
            == file,
        "the bytes read back differ"
    );
}
