//! Peak memory while a 200 MB file is PUT to a local storage server: the bytes are streamed
//! from disk, never held whole. Prints the figure; fails above 64 MB. Its own test binary, so
//! that no other test's allocations count (the figure is the process's peak resident set).
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

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http_body_util::BodyExt as _;
use trekmail_mcp::call::upload::storage;

/// VmHWM (peak resident set) of this process, in KiB; `None` off Linux.
fn peak_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A storage server that counts the bytes it receives and keeps none.
async fn counting_server() -> (String, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let c = Arc::clone(&count);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let c = Arc::clone(&c);
                        async move {
                            let mut body = req.into_body();
                            while let Some(frame) = body.frame().await {
                                if let Ok(data) = frame.unwrap().into_data() {
                                    c.fetch_add(data.len() as u64, Ordering::Relaxed);
                                }
                            }
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(
                                http_body_util::Full::new(bytes::Bytes::new()),
                            ))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_memory_uploading_200_mb_stays_under_64_mb() {
    const SIZE: u64 = 200 * 1024 * 1024;
    let dir = std::env::temp_dir().join(format!("trekmail-mem-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("big.bin");
    // Sparse: 200 MB of zeros that take no disk, read like any file.
    std::fs::File::create(&p).unwrap().set_len(SIZE).unwrap();
    let file = std::fs::File::open(&p).unwrap();
    let (base, count) = counting_server().await;
    let before = peak_kib();
    let url = storage::allowed(&format!("{base}/store"), &base).unwrap();
    let http = http();
    // In parts of 100 MB, as the API says for large files.
    let part = 100 * 1024 * 1024;
    let mut at = 0;
    while at < SIZE {
        let len = part.min(SIZE - at);
        storage::put(&http, &url, &[], &file, (at, len), Duration::from_secs(120))
            .await
            .unwrap();
        at += len;
    }
    let after = peak_kib();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(count.load(Ordering::Relaxed), SIZE, "every byte arrived");
    match (before, after) {
        (Some(b), Some(a)) => {
            println!(
                "peak resident set uploading 200 MB: {} MiB (before the upload: {} MiB)",
                a / 1024,
                b / 1024
            );
            assert!(a < 64 * 1024, "peak {a} KiB is over 64 MiB");
        }
        _ => println!("peak resident set: not available on this system"),
    }
}
