//! N concurrent clients over Streamable HTTP (operator tokens, and caller tokens: a server built
//! per request), beside the same load over stdio (N calls in flight
//! on one pipe), against a local wiremock API: calls per second, p50/p99 latency, RSS of the
//! server. Prints figures; asserts nothing. Run: `cargo bench -p trekmail-mcp --bench http`
//! (`BENCH_CLIENTS`, `BENCH_CALLS` set the load; defaults 32 clients, 4000 calls).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, oneshot};
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

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn spawn(base: &str, args: &[&str], stdio: bool, caller: bool) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"));
    if caller {
        cmd.env_clear().env("TREKMAIL_HTTP_TOKENS", "caller");
    } else {
        cmd.env_clear()
            .env("TREKMAIL_API_TOKEN", "tm_live_bench")
            .env("TREKMAIL_MESSAGE_TOKEN", "tm_msg_bench");
    }
    cmd.args(args)
        .env("TREKMAIL_BASE_URL", base)
        .env("TREKMAIL_LOG", "off")
        // The API is local and fast: let every client's call be in flight at once.
        .env("TREKMAIL_MAX_CONCURRENT_CALLS", "256")
        .env("TREKMAIL_HTTP_MAX_REQUESTS", "1024")
        .stdin(if stdio { Stdio::piped() } else { Stdio::null() })
        .stdout(if stdio { Stdio::piped() } else { Stdio::null() })
        .kill_on_drop(true)
        .spawn()
        .expect("spawn trekmail-mcp")
}

fn call_msg(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "get_domain", "arguments": {"domain_id": 7}}})
}

struct Figures {
    calls: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    rss_kb: u64,
    peak_kb: u64,
}

fn report(name: &str, clients: usize, mut f: Figures) {
    f.latencies.sort();
    let pct = |p: f64| {
        let i = ((f.latencies.len() as f64 * p).ceil() as usize).clamp(1, f.latencies.len()) - 1;
        f.latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "{name:<6} {clients:>3} clients  {:>8.0} calls/s  p50 {:>6.2} ms  p99 {:>6.2} ms  RSS {:>6.1} MB (peak {:.1} MB)  [{} calls]",
        f.calls as f64 / f.elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        f.rss_kb as f64 / 1024.0,
        f.peak_kb as f64 / 1024.0,
        f.calls,
    );
}

/// `caller`: the server holds no token and each request brings its own (one per client).
async fn over_http(base: &str, clients: usize, calls: usize, caller: bool) -> Figures {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let addr = format!("127.0.0.1:{port}");
    let child = spawn(base, &["--http", &addr], false, caller);
    let pid = child.id().unwrap_or(0);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/mcp");
    for _ in 0..400 {
        if http
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let per_client = calls / clients;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                let mut req = http.post(&url);
                if caller {
                    req = req.header("authorization", format!("Bearer tm_live_client{c}"));
                }
                let r = req
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-protocol-version", "2025-11-25")
                    .body(call_msg((c * per_client + i) as u64).to_string())
                    .send()
                    .await
                    .expect("send");
                let body: Value = r.json().await.expect("json");
                assert!(body["result"]["structuredContent"]["id"] == 7, "{body}");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let f = gather(tasks, started, pid).await;
    drop(child);
    f
}

/// The figures of a run: every client's latencies, the wall time since `started`, and the
/// server's memory.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<Vec<Duration>>>,
    started: Instant,
    pid: u32,
) -> Figures {
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("client"));
    }
    Figures {
        calls: latencies.len(),
        elapsed: started.elapsed(),
        latencies,
        rss_kb: status_kb(pid, "VmRSS:"),
        peak_kb: status_kb(pid, "VmHWM:"),
    }
}

async fn over_stdio(base: &str, clients: usize, calls: usize) -> Figures {
    let mut child = spawn(base, &[], true, false);
    let pid = child.id().unwrap_or(0);
    let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>> = Arc::default();
    let w = Arc::clone(&waiting);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if let Some(id) = v["id"].as_u64()
                && let Some(tx) = w.lock().await.remove(&id)
            {
                let _ = tx.send(v);
            }
        }
    });
    let send = {
        let (stdin, waiting) = (Arc::clone(&stdin), Arc::clone(&waiting));
        move |msg: Value| {
            let (stdin, waiting) = (Arc::clone(&stdin), Arc::clone(&waiting));
            async move {
                let (tx, rx) = oneshot::channel();
                if let Some(id) = msg["id"].as_u64() {
                    waiting.lock().await.insert(id, tx);
                }
                stdin
                    .lock()
                    .await
                    .write_all(format!("{msg}\n").as_bytes())
                    .await
                    .expect("write");
                rx.await.expect("answer")
            }
        }
    };
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}});
    send(init).await;
    stdin
        .lock()
        .await
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .await
        .expect("write");
    let per_client = calls / clients;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let t = Instant::now();
                let body = send(call_msg((1 + c * per_client + i) as u64)).await;
                assert!(body["result"]["structuredContent"]["id"] == 7, "{body}");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let f = gather(tasks, started, pid).await;
    drop(child);
    f
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
    let calls = env_num("BENCH_CALLS", 4000);
    let max_clients = env_num("BENCH_CLIENTS", 32);
    let mut loads = vec![1, 8, max_clients];
    loads.dedup();
    for n in loads {
        report("http", n, over_http(&mock.uri(), n, calls, false).await);
        report("caller", n, over_http(&mock.uri(), n, calls, true).await);
        report("stdio", n, over_stdio(&mock.uri(), n, calls).await);
    }
}
