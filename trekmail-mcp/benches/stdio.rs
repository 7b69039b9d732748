//! Speed and memory of the real binary over stdio, against a local wiremock API.
//! Prints figures (tools/list bytes per configuration, the 8 MB attachment's result size and
//! time, resources/read of it); asserts nothing. Run: `cargo bench -p trekmail-mcp --bench stdio`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/domains/7"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 7, "name": "example.com", "status": "active"})),
        )
        .mount(&mock)
        .await;
    let big = base64::engine::general_purpose::STANDARD.encode(vec![0xA5u8; 8 * 1024 * 1024]);
    Mock::given(method("GET"))
        .and(path("/api/v1/messages/5/attachments/0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"filename": "big.bin", "content_type": "application/octet-stream", "content_base64": big}}),
        ))
        .mount(&mock)
        .await;

    // tools/list bytes per configuration (the `tools` array as sent, compact JSON).
    for (what, ops, msg) in [
        ("both tokens", true, true),
        ("ops token only", true, false),
        ("message token only", false, true),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"));
        cmd.env_clear()
            .env("TREKMAIL_BASE_URL", mock.uri())
            .env("TREKMAIL_LOG", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if ops {
            cmd.env("TREKMAIL_API_TOKEN", "tm_live_bench");
        }
        if msg {
            cmd.env("TREKMAIL_MESSAGE_TOKEN", "tm_msg_bench");
        }
        let mut child = cmd.spawn().expect("spawn trekmail-mcp");
        let mut stdin = child.stdin.take().expect("stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for (id, m) in [(1, "initialize"), (2, "tools/list")] {
            let params = if m == "initialize" {
                json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
            } else {
                json!({})
            };
            let msg = json!({"jsonrpc": "2.0", "id": id, "method": m, "params": params});
            stdin
                .write_all(format!("{msg}\n").as_bytes())
                .await
                .expect("write");
            let line = lines.next_line().await.expect("read").expect("line");
            if m == "tools/list" {
                let v: Value = serde_json::from_str(&line).expect("json");
                let tools = &v["result"]["tools"];
                println!(
                    "tools/list {what:<19} {:>8} B ({} tools)",
                    serde_json::to_vec(tools).map_or(0, |b| b.len()),
                    tools.as_array().map_or(0, Vec::len)
                );
            }
        }
        drop(child);
    }

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"))
        .env_clear()
        .env("TREKMAIL_BASE_URL", mock.uri())
        .env("TREKMAIL_API_TOKEN", "tm_live_bench")
        .env("TREKMAIL_MESSAGE_TOKEN", "tm_msg_bench")
        .env("TREKMAIL_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn trekmail-mcp");
    let pid = child.id().unwrap_or(0);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut id = 0u64;
    let mut rpc = async |method: &str, params: Value| -> Value {
        id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        stdin
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .expect("write");
        let line = lines.next_line().await.expect("read").expect("line");
        serde_json::from_str(&line).expect("json")
    };
    rpc("initialize", json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})).await;
    let to_initialize = started.elapsed();
    let t = Instant::now();
    let list = rpc("tools/list", json!({})).await;
    let list_time = t.elapsed();
    let tools = list["result"]["tools"].as_array().map_or(0, Vec::len);
    let rss_after_list = status_kb(pid, "VmRSS:");

    let n = 500;
    let t = Instant::now();
    for _ in 0..n {
        rpc(
            "tools/call",
            json!({"name": "get_domain", "arguments": {"domain_id": 7}}),
        )
        .await;
    }
    let per_call = t.elapsed() / n;

    let t = Instant::now();
    let r = rpc(
        "tools/call",
        json!({"name": "download_attachment", "arguments": {"uid": 5, "index": 0}}),
    )
    .await;
    let big_time = t.elapsed();
    let result_bytes = r["result"].to_string().len();
    let uri = r["result"]["structuredContent"]["uri"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let t = Instant::now();
    let read = rpc("resources/read", json!({ "uri": uri })).await;
    let read_time = t.elapsed();
    let got = read["result"]["contents"][0]["blob"]
        .as_str()
        .map_or(0, str::len);
    let peak = status_kb(pid, "VmHWM:");

    println!(
        "start to initialize answered   {:>8.1} ms",
        ms(to_initialize)
    );
    println!(
        "tools/list ({tools} tools)          {:>8.1} ms",
        ms(list_time)
    );
    println!(
        "RSS after tools/list           {:>8.1} MB",
        rss_after_list as f64 / 1024.0
    );
    println!(
        "tools/call get_domain (mean of {n}) {:>6.3} ms",
        ms(per_call)
    );
    println!(
        "8 MB attachment tool result    {:>8.1} ms ({result_bytes} bytes: metadata and a resource_link)",
        ms(big_time)
    );
    println!(
        "8 MB attachment resources/read {:>8.1} ms ({got} bytes of base64 back)",
        ms(read_time)
    );
    println!(
        "peak RSS (after the 8 MB call) {:>8.1} MB",
        peak as f64 / 1024.0
    );
    drop(child);
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
