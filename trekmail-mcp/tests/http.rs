//! The Streamable HTTP transport: an in-process `HttpServer` on a loopback port in front of a
//! wiremock API, driven with plain HTTP requests, plus the real binary for start-up refusals
//! and SIGTERM. Every refusal is checked on both sides: the HTTP status the caller gets, and
//! that nothing reached the API.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::{OPS_TOKEN, Opts, recording_policy};
use tokio_util::sync::CancellationToken;
use trekmail_mcp::Catalog;
use trekmail_mcp::call::intents::ProcessMemory;
use trekmail_mcp::call::tokens::Tokens;
use trekmail_mcp::serve::Shared;
use trekmail_mcp::serve::http_server::{self, HttpServer};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BEARER: &str = "operator-bearer-0123456789";

struct Served {
    mock: MockServer,
    /// The process's intent memory.
    memory: Arc<ProcessMemory>,
    addr: SocketAddr,
    stop: CancellationToken,
    http: reqwest::Client,
}

/// Serves MCP over HTTP for `opts` plus the `TREKMAIL_HTTP_*` settings in `http`.
async fn serve(opts: Opts, http: &[(&'static str, &str)]) -> Served {
    serve_on(MockServer::start().await, opts, http).await
}

/// [`serve`] against `mock`; in operator mode with scope awareness on, the environment's
/// scopes are learnt first, as at start-up.
async fn serve_on(mock: MockServer, opts: Opts, http: &[(&'static str, &str)]) -> Served {
    let mut opts = opts;
    opts.extra
        .push(("TREKMAIL_HTTP_LISTEN", "127.0.0.1:0".into()));
    for (k, v) in http {
        opts.extra.push((k, (*v).to_owned()));
    }
    // The scopes lookup is tested on its own (callers_scopes_are_asked_once_and_narrow_the_list);
    // elsewhere it would add requests to every count.
    if !opts.extra.iter().any(|(k, _)| *k == "TREKMAIL_SCOPE_AWARE") {
        opts.extra.push(("TREKMAIL_SCOPE_AWARE", "false".into()));
    }
    let config = support::config(&mock.uri(), &opts).unwrap();
    let settings = config.http.clone().unwrap();
    let (policy, _) = recording_policy();
    let shared = Shared::new(
        &config,
        Catalog::embedded().unwrap(),
        policy,
        http_server::source(settings.tokens),
    )
    .unwrap();
    let memory = Arc::new(ProcessMemory::default());
    // With a state store, the intents are the store's (see `memory`'s callers otherwise).
    let shared = if config.state.is_some() {
        shared
    } else {
        shared.with_intents(memory.clone())
    };
    let tokens = Tokens {
        ops: config.ops_token.clone(),
        message: config.message_token.clone(),
    };
    let mut server = HttpServer::new(&settings, shared, &tokens).unwrap();
    if config.scope_aware {
        server.learn_operator_scopes().await.unwrap();
    }
    let server = Arc::new(server);
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        server
            .serve(
                listener,
                async move { s.cancelled().await },
                Duration::from_secs(5),
            )
            .await;
    });
    Served {
        mock,
        memory,
        addr,
        stop,
        http: client(),
    }
}

impl Served {
    fn url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// POSTs one JSON-RPC message to /mcp with `headers`; the status and the parsed JSON body
    /// (`Null` when it is not JSON), and the body as text.
    async fn post(&self, msg: &Value, headers: &[(&str, &str)]) -> (u16, Value, String) {
        self.post_raw(msg.to_string(), headers).await
    }

    async fn post_raw(&self, body: String, headers: &[(&str, &str)]) -> (u16, Value, String) {
        let mut req = self
            .http
            .post(self.url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        )
    }

    async fn list(&self, headers: &[(&str, &str)]) -> Vec<String> {
        let (status, body, text) = self.post(&rpc(1, "tools/list", json!({})), headers).await;
        assert_eq!(status, 200, "{text}");
        body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("no tools: {text}"))
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn call(&self, tool: &str, args: Value, headers: &[(&str, &str)]) -> Value {
        let msg = rpc(2, "tools/call", json!({"name": tool, "arguments": args}));
        let (status, body, text) = self.post(&msg, headers).await;
        assert_eq!(status, 200, "{text}");
        body
    }

    async fn api_requests(&self) -> Vec<wiremock::Request> {
        self.mock.received_requests().await.unwrap_or_default()
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

async fn domain_7(mock: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v1/domains/7"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": 7, "name": "example.com"})),
        )
        .mount(mock)
        .await;
}

fn result_text(body: &Value) -> String {
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn operator_mode_needs_the_bearer_and_sends_nothing_without_it() {
    let s = serve(Opts::default(), &[("TREKMAIL_HTTP_BEARER", BEARER)]).await;
    domain_7(&s.mock).await;
    let call = rpc(
        1,
        "tools/call",
        json!({"name": "get_domain", "arguments": {"domain_id": 7}}),
    );
    let wrong = auth("operator-bearer-0123456780");
    let short = auth("operator-bearer-012345678");
    for headers in [
        vec![],
        vec![("authorization", wrong.as_str())],
        vec![("authorization", short.as_str())],
        vec![("authorization", "Basic b3BlcmF0b3I6eA==")],
        // The operator's TrekMail token is not the bearer.
        vec![("authorization", "Bearer tm_live_testOPS0123456789abcdef")],
    ] {
        let (status, _, text) = s.post(&call, &headers).await;
        assert_eq!(status, 401, "{headers:?}: {text}");
        assert!(!text.contains(BEARER), "{text}");
    }
    assert!(
        s.api_requests().await.is_empty(),
        "a refused request reached the API"
    );

    let ok = auth(BEARER);
    let body = s
        .call(
            "get_domain",
            json!({"domain_id": 7}),
            &[("authorization", &ok)],
        )
        .await;
    assert_eq!(
        body["result"]["structuredContent"]["name"], "example.com",
        "{body}"
    );
    let sent = s.api_requests().await;
    assert_eq!(sent.len(), 1);
    // The API gets the operator's TrekMail token, never the bearer.
    assert_eq!(
        sent[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        auth(OPS_TOKEN)
    );
    s.stop.cancel();
}

#[tokio::test]
async fn foreign_host_and_origin_are_forbidden_before_any_call() {
    let s = serve(
        Opts::default(),
        &[
            ("TREKMAIL_HTTP_BEARER", BEARER),
            (
                "TREKMAIL_HTTP_ALLOWED_ORIGINS",
                "https://app.example.com:443",
            ),
        ],
    )
    .await;
    domain_7(&s.mock).await;
    let ok = auth(BEARER);
    let call = rpc(
        1,
        "tools/call",
        json!({"name": "get_domain", "arguments": {"domain_id": 7}}),
    );
    for headers in [
        vec![("host", "evil.example")],
        vec![("host", "evil.example:80")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "http://app.example.com")],
        vec![("origin", "null")],
    ] {
        let mut h = headers.clone();
        h.push(("authorization", &ok));
        let (status, _, text) = s.post(&call, &h).await;
        assert_eq!(status, 403, "{headers:?}: {text}");
    }
    assert!(
        s.api_requests().await.is_empty(),
        "a forbidden request reached the API"
    );
    // The configured origin passes.
    let (status, body, _) = s
        .post(
            &call,
            &[
                ("authorization", &ok),
                ("origin", "https://app.example.com"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["structuredContent"]["id"], 7);
    s.stop.cancel();
}

#[tokio::test]
async fn loopback_hosts_and_origins_are_the_default_and_others_are_forbidden() {
    use trekmail_mcp::config::limits;
    let s = serve(Opts::default(), &[]).await;
    domain_7(&s.mock).await;
    let call = rpc(
        1,
        "tools/call",
        json!({"name": "get_domain", "arguments": {"domain_id": 7}}),
    );
    let (status, _, text) = s
        .post(&call, &[("origin", "https://attacker.example")])
        .await;
    assert_eq!(status, 403, "{text}");
    assert!(s.api_requests().await.is_empty());
    let (status, _, text) = s.post(&call, &[("origin", "http://localhost:5173")]).await;
    assert_eq!(status, 200, "{text}");
    // What --help and docs/configuration.md state as the defaults is what the server applies.
    let port = s.addr.port();
    for host in limits::HTTP_ALLOWED_HOSTS.default {
        let host = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let (status, _, text) = s.post(&call, &[("host", &host)]).await;
        assert_eq!(status, 200, "{host}: {text}");
    }
    for origin in limits::HTTP_ALLOWED_ORIGINS.default {
        let origin = origin.replace(":*", ":5173");
        let (status, _, text) = s.post(&call, &[("origin", &origin)]).await;
        assert_eq!(status, 200, "{origin}: {text}");
    }
    let (status, _, text) = s.post(&call, &[("host", "intranet.example")]).await;
    assert_eq!(status, 403, "{text}");
    s.stop.cancel();
}

#[tokio::test]
async fn an_oversized_body_is_413_and_nothing_is_sent() {
    let s = serve(Opts::default(), &[("TREKMAIL_HTTP_MAX_BODY_BYTES", "4096")]).await;
    let name = "a".repeat(5000);
    let call = rpc(
        1,
        "tools/call",
        json!({"name": "create_domain", "arguments": {"name": name}}),
    );
    let (status, _, text) = s.post(&call, &[]).await;
    assert_eq!(status, 413, "{text}");
    assert!(s.api_requests().await.is_empty());
    // Just under the limit is read (and refused by argument validation, not by size).
    let call = rpc(
        1,
        "tools/call",
        json!({"name": "create_domain", "arguments": {"name": "a".repeat(3000)}}),
    );
    let (status, _, text) = s.post(&call, &[]).await;
    assert_eq!(status, 200, "{text}");
    s.stop.cancel();
}

#[tokio::test]
async fn a_body_that_never_arrives_is_408_and_frees_its_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // One request slot: a trickling body must not keep it.
    let s = serve(Opts::default(), &[("TREKMAIL_HTTP_MAX_REQUESTS", "1")]).await;
    domain_7(&s.mock).await;
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:{}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-11-25\r\ncontent-length: 200\r\n\r\n{{\"jsonrpc\":",
        s.addr.port()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(30), tcp.read(&mut buf))
            .await
            .expect("the server answers a stalled body")
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    assert!(s.api_requests().await.is_empty());
    // The slot is free again.
    let body = s.call("get_domain", json!({"domain_id": 7}), &[]).await;
    assert_eq!(body["result"]["structuredContent"]["id"], 7, "{body}");
    s.stop.cancel();
}

#[tokio::test]
async fn health_unknown_paths_and_methods() {
    let s = serve(Opts::default(), &[("TREKMAIL_HTTP_BEARER", BEARER)]).await;
    let base = format!("http://{}", s.addr);
    // The health check needs no bearer and accepts any Host (a load balancer probes by IP).
    let r = s
        .http
        .get(format!("{base}/healthz"))
        .header("host", "10.1.2.3:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "ok\n");
    let r = s.http.get(format!("{base}/other")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // Stateless: no server-initiated stream, no session to delete.
    let ok = auth(BEARER);
    for m in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let r = s
            .http
            .request(m.clone(), s.url())
            .header("authorization", &ok)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{m}");
    }
    s.stop.cancel();
}

#[tokio::test]
async fn stateless_initialize_then_any_request_on_its_own() {
    let s = serve(Opts::default(), &[]).await;
    domain_7(&s.mock).await;
    for version in ["2025-06-18", "2025-11-25"] {
        let init = rpc(
            1,
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        );
        let resp = s
            .http
            .post(s.url())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert!(
            resp.headers().get("mcp-session-id").is_none(),
            "stateless: no session"
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["result"]["protocolVersion"], version, "{body}");
        assert_eq!(body["result"]["serverInfo"]["name"], "trekmail-mcp");
    }
    // 2026-07-28: no handshake; each request carries its protocol version and capabilities.
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}
    });
    let call = rpc(
        3,
        "tools/call",
        json!({"name": "get_domain", "arguments": {"domain_id": 7}, "_meta": meta}),
    );
    let resp = s
        .http
        .post(s.url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "get_domain")
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let body = sse_or_json(&text);
    assert_eq!(body["result"]["structuredContent"]["id"], 7, "{text}");
    s.stop.cancel();
}

/// The JSON-RPC message of a JSON body or of the last `data:` line of an SSE body.
fn sse_or_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .next_back()
            .unwrap_or(Value::Null)
    })
}

fn caller_opts() -> Opts {
    Opts {
        ops: false,
        message: false,
        ..Opts::default()
    }
}

const ALICE_OPS: &str = "tm_live_alice0123456789";
const BOB_MSG: &str = "tm_msg_bob0123456789";
const CAROL_OPS: &str = "tm_live_carol0123456789";
const CAROL_MSG: &str = "tm_msg_carol0123456789";

#[tokio::test]
async fn caller_mode_refuses_requests_without_a_trekmail_token() {
    let s = serve(caller_opts(), &[("TREKMAIL_HTTP_TOKENS", "caller")]).await;
    let list = rpc(1, "tools/list", json!({}));
    let alice = auth(ALICE_OPS);
    for (headers, status) in [
        (vec![], 401),
        (vec![("authorization", "Bearer not-a-trekmail-token")], 401),
        (vec![("authorization", "Bearer tm_live_")], 401),
        (vec![("x-trekmail-message-token", BOB_MSG)], 401),
        (
            vec![
                ("authorization", alice.as_str()),
                ("x-trekmail-message-token", ALICE_OPS),
            ],
            401,
        ),
        (
            vec![
                ("authorization", "Bearer tm_msg_x1"),
                ("x-trekmail-message-token", BOB_MSG),
            ],
            400,
        ),
    ] {
        let (got, _, text) = s.post(&list, &headers).await;
        assert_eq!(got, status, "{headers:?}: {text}");
        assert!(
            !text.contains("0123456789"),
            "a refusal echoes a token: {text}"
        );
    }
    assert!(s.api_requests().await.is_empty());
    s.stop.cancel();
}

#[tokio::test]
async fn two_callers_in_parallel_each_see_and_use_only_their_own_tokens() {
    let s = serve(caller_opts(), &[("TREKMAIL_HTTP_TOKENS", "caller")]).await;
    domain_7(&s.mock).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/messages/folders"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"folders": ["INBOX"]})))
        .mount(&s.mock)
        .await;
    let alice = [("authorization", auth(ALICE_OPS))];
    let bob = [("authorization", auth(BOB_MSG))];
    let carol = [
        ("authorization", auth(CAROL_OPS)),
        ("x-trekmail-message-token", CAROL_MSG.to_owned()),
    ];
    let (ha, hb, hc) = (view(&alice), view(&bob), view(&carol));
    let catalog = Catalog::embedded().unwrap();
    // Over HTTP the tools that read the server's disk do not exist.
    let over_http: Vec<_> = catalog
        .tools()
        .iter()
        .filter(|d| !d.entry.stdio_only)
        .collect();
    let ops_tools: Vec<String> = over_http
        .iter()
        .filter(|d| d.entry.token == trekmail_api::TokenKind::Ops)
        .map(|d| d.entry.name.clone())
        .collect();
    let (la, lb, lc) = tokio::join!(s.list(&ha), s.list(&hb), s.list(&hc));
    assert_eq!(la, ops_tools, "the ops token lists exactly the ops tools");
    assert_eq!(lb.len(), over_http.len() - ops_tools.len());
    assert!(lb.iter().all(|t| !ops_tools.contains(t)));
    assert_eq!(lc.len(), over_http.len());
    assert!(lb.contains(&"list_folders".to_owned()));

    // Many calls interleaved: every API request carries the token of the caller that made it.
    let mut calls = Vec::new();
    let server = &s;
    for i in 0..20 {
        let (tool, args, headers) = match i % 3 {
            0 => ("get_domain", json!({"domain_id": 7}), ha.clone()),
            1 => ("list_folders", json!({}), hb.clone()),
            _ => ("list_folders", json!({}), hc.clone()),
        };
        calls.push(async move {
            let body = server.call(tool, args, &headers).await;
            assert_ne!(body["result"]["isError"], true, "{body}");
        });
    }
    futures_join_all(calls).await;
    let sent = s.api_requests().await;
    assert_eq!(sent.len(), 20);
    let mut by_token = std::collections::HashMap::<String, usize>::new();
    for r in &sent {
        let a = r
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let p = r.url.path();
        let allowed: &[&str] = if p == "/api/v1/domains/7" {
            &[ALICE_OPS]
        } else {
            &[BOB_MSG, CAROL_MSG]
        };
        assert!(
            allowed.iter().any(|t| a == auth(t)),
            "{p} sent with the wrong token"
        );
        *by_token.entry(a).or_default() += 1;
    }
    assert_eq!(by_token[&auth(ALICE_OPS)], 7);
    assert_eq!(by_token[&auth(BOB_MSG)], 7);
    assert_eq!(by_token[&auth(CAROL_MSG)], 6);
    assert!(!by_token.contains_key(&auth(CAROL_OPS)));

    // A caller cannot reach a tool its tokens do not cover: a JSON-RPC error naming what is
    // missing, and nothing sent.
    let n = s.api_requests().await.len();
    let body = s.call("get_domain", json!({"domain_id": 7}), &hb).await;
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("tm_live_") && msg.contains("Authorization"),
        "{body}"
    );
    assert_eq!(s.api_requests().await.len(), n);
    s.stop.cancel();
}

#[tokio::test]
async fn operator_mode_lists_what_the_environments_token_grants() {
    let mock = MockServer::start().await;
    support::grant_scopes(&mock, &["domains:read"]).await;
    let mut opts = Opts {
        message: false,
        ..Opts::default()
    };
    opts.extra.push(("TREKMAIL_SCOPE_AWARE", "true".into()));
    opts.extra.push(("TREKMAIL_HTTP_BEARER", BEARER.into()));
    let s = serve_on(mock, opts, &[]).await;
    let bearer = auth(BEARER);
    let listed = s.list(&[("authorization", bearer.as_str())]).await;
    assert!(listed.contains(&"list_domains".to_owned()), "{listed:?}");
    assert!(!listed.contains(&"create_domain".to_owned()), "{listed:?}");
    // Asked once, at start-up: listing asks nothing more.
    assert_eq!(s.api_requests().await.len(), 1);
    s.stop.cancel();
}

#[tokio::test]
async fn callers_scopes_are_asked_once_and_narrow_the_list() {
    let mut opts = caller_opts();
    opts.extra.push(("TREKMAIL_SCOPE_AWARE", "true".into()));
    let s = serve(opts, &[("TREKMAIL_HTTP_TOKENS", "caller")]).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/me"))
        .and(wiremock::matchers::header(
            "authorization",
            auth(ALICE_OPS).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": {"capabilities": {"effective_scopes": ["domains:read"]}}}),
        ))
        .mount(&s.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/me"))
        .and(wiremock::matchers::header(
            "authorization",
            auth(CAROL_OPS).as_str(),
        ))
        .respond_with(ResponseTemplate::new(500))
        .mount(&s.mock)
        .await;
    let alice = [("authorization", auth(ALICE_OPS))];
    let carol = [("authorization", auth(CAROL_OPS))];
    let catalog = Catalog::embedded().unwrap();
    for _ in 0..3 {
        let listed = s.list(&view(&alice)).await;
        assert!(listed.contains(&"get_domain".to_owned()), "{listed:?}");
        assert!(!listed.contains(&"create_domain".to_owned()), "{listed:?}");
        assert!(!listed.contains(&"whoami".to_owned()), "{listed:?}");
        // A failed lookup lists every tool of the token.
        let listed = s.list(&view(&carol)).await;
        assert!(listed.contains(&"create_domain".to_owned()));
    }
    let body = s
        .call(
            "create_domain",
            json!({"name": "example.com"}),
            &view(&alice),
        )
        .await;
    let msg = body["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("domains:create"), "{body}");
    // One lookup per caller for seven requests each: the cache answered the rest.
    let sent = s.api_requests().await;
    assert_eq!(
        sent.len(),
        2,
        "{:?}",
        sent.iter()
            .map(|r| r.url.path().to_owned())
            .collect::<Vec<_>>()
    );
    assert!(sent.iter().all(|r| r.url.path() == "/api/v1/me"));
    assert!(catalog.get("create_domain").is_some());
    s.stop.cancel();
}

fn view<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn futures_join_all<F: Future<Output = ()>>(fs: Vec<F>) {
    let set: Vec<_> = fs.into_iter().map(Box::pin).collect();
    let mut set = set;
    // Poll them all together (the calls overlap on the server).
    std::future::poll_fn(move |cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

#[tokio::test]
async fn an_answer_echoing_the_callers_token_is_scrubbed() {
    let s = serve(caller_opts(), &[("TREKMAIL_HTTP_TOKENS", "caller")]).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/domains/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": 7, "name": "example.com", "note": format!("seen {ALICE_OPS}")}),
        ))
        .mount(&s.mock)
        .await;
    let a = auth(ALICE_OPS);
    let (status, _, text) = s
        .post(
            &rpc(
                1,
                "tools/call",
                json!({"name": "get_domain", "arguments": {"domain_id": 7}}),
            ),
            &[("authorization", &a)],
        )
        .await;
    assert_eq!(status, 200);
    assert!(!text.contains(ALICE_OPS), "{text}");
    s.stop.cancel();
}

#[tokio::test]
async fn gates_hold_over_http_in_both_modes() {
    for caller in [false, true] {
        let s = if caller {
            serve(caller_opts(), &[("TREKMAIL_HTTP_TOKENS", "caller")]).await
        } else {
            serve(Opts::default(), &[]).await
        };
        let a = auth(ALICE_OPS);
        let headers: Vec<(&str, &str)> = if caller {
            vec![("authorization", &a)]
        } else {
            vec![]
        };
        let body = s
            .call(
                "delete_domain",
                json!({"domain_id": 7, "confirm_delete": true}),
                &headers,
            )
            .await;
        assert_eq!(body["result"]["isError"], true, "{body}");
        assert!(
            result_text(&body).contains("TREKMAIL_ALLOW_DESTRUCTIVE"),
            "{body}"
        );
        // A request cannot widen the operator's switches.
        let h2: Vec<(&str, &str)> = headers
            .iter()
            .copied()
            .chain([("x-trekmail-allow-destructive", "true")])
            .collect();
        let body = s
            .call(
                "delete_domain",
                json!({"domain_id": 7, "confirm_delete": true}),
                &h2,
            )
            .await;
        assert_eq!(body["result"]["isError"], true, "{body}");
        assert!(s.api_requests().await.is_empty());
        s.stop.cancel();
    }
}

#[tokio::test]
async fn requests_over_the_bound_get_503_at_once() {
    let s = serve(Opts::default(), &[("TREKMAIL_HTTP_MAX_REQUESTS", "1")]).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/domains/7"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": 7}))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&s.mock)
        .await;
    let slow = s.call("get_domain", json!({"domain_id": 7}), &[]);
    let second = async {
        // Let the first request take the only slot.
        while s.api_requests().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        s.post(&rpc(9, "tools/list", json!({})), &[]).await
    };
    let (first, (status, _, text)) = tokio::join!(slow, second);
    assert_eq!(status, 503, "{text}");
    assert_eq!(first["result"]["structuredContent"]["id"], 7);
    // The slot is free again.
    assert!(!s.list(&[]).await.is_empty());
    s.stop.cancel();
}

mod binary {
    use super::*;
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::process::{Child, Command};

    fn spawn(base: &str, env: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"));
        cmd.env_clear()
            .env("TREKMAIL_BASE_URL", base)
            .env("TREKMAIL_API_TOKEN", OPS_TOKEN)
            // These tests count the API's requests; the scopes lookup is tested above.
            .env("TREKMAIL_SCOPE_AWARE", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    #[tokio::test]
    async fn operator_tokens_are_not_served_off_loopback_without_a_bearer() {
        let child = spawn(
            "http://127.0.0.1:9",
            &[("TREKMAIL_HTTP_LISTEN", "0.0.0.0:0")],
        );
        let out = child.wait_with_output().await.unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("TREKMAIL_HTTP_BEARER"), "{err}");
        assert!(!err.contains(OPS_TOKEN));
    }

    #[tokio::test]
    async fn an_upload_directory_over_http_is_said_to_have_no_effect() {
        let dir = std::env::temp_dir().display().to_string();
        let mut child = spawn(
            "http://127.0.0.1:9",
            &[
                ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:0"),
                ("TREKMAIL_UPLOAD_DIR", &dir),
            ],
        );
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut before = Vec::new();
        loop {
            let line = lines.next_line().await.unwrap().expect("a start-up line");
            if line.contains("serving MCP") {
                break;
            }
            before.push(line);
        }
        assert!(
            before
                .iter()
                .any(|l| l.contains("TREKMAIL_UPLOAD_DIR has no effect over HTTP")),
            "{before:?}"
        );
        child.kill().await.unwrap();
    }

    #[tokio::test]
    async fn sigterm_finishes_the_call_in_flight_then_exits_0() {
        let mock = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/domains/7"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": 7}))
                    .set_delay(Duration::from_millis(1000)),
            )
            .mount(&mock)
            .await;
        let mut child = spawn(&mock.uri(), &[("TREKMAIL_HTTP_LISTEN", "127.0.0.1:0")]);
        // The address comes from the start-up log line.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next_line().await.unwrap().expect("a start-up line");
            if let Some(rest) = line.split("http://").nth(1)
                && let Some(a) = rest.split("/mcp").next()
            {
                break a.to_owned();
            }
        };
        let http = client();
        let url = format!("http://{addr}/mcp");
        let call = rpc(
            1,
            "tools/call",
            json!({"name": "get_domain", "arguments": {"domain_id": 7}}),
        );
        let in_flight = tokio::spawn({
            let (http, url) = (http.clone(), url.clone());
            async move {
                http.post(url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .body(call.to_string())
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        });
        while mock
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let pid = child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let answer = in_flight.await.unwrap();
        assert_eq!(answer["result"]["structuredContent"]["id"], 7, "{answer}");
        let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("exits after draining")
            .unwrap();
        assert_eq!(exit.code(), Some(0));
        // Nothing listens any more.
        assert!(
            http.get(format!("http://{addr}/healthz"))
                .send()
                .await
                .is_err()
        );
    }
}

#[test]
fn http_settings_problems_name_their_variable_and_never_the_secret() {
    let problems = |opts: Opts, http: &[(&'static str, &str)]| -> Vec<String> {
        let mut opts = opts;
        for (k, v) in http {
            opts.extra.push((k, (*v).to_owned()));
        }
        support::config("http://127.0.0.1:9", &opts)
            .err()
            .unwrap_or_default()
    };
    type Case = (Opts, Vec<(&'static str, &'static str)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            Opts::default(),
            vec![("TREKMAIL_HTTP_LISTEN", "localhost:8080")],
            "TREKMAIL_HTTP_LISTEN",
        ),
        (
            Opts::default(),
            vec![("TREKMAIL_HTTP_LISTEN", "0.0.0.0:8080")],
            "TREKMAIL_HTTP_BEARER",
        ),
        (
            Opts::default(),
            vec![
                ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:8080"),
                ("TREKMAIL_HTTP_BEARER", "short-secret"),
            ],
            "at least 16",
        ),
        (
            Opts::default(),
            vec![
                ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:8080"),
                ("TREKMAIL_HTTP_TOKENS", "both"),
            ],
            "TREKMAIL_HTTP_TOKENS",
        ),
        // Caller mode holds no token.
        (
            Opts::default(),
            vec![
                ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:8080"),
                ("TREKMAIL_HTTP_TOKENS", "caller"),
            ],
            "TREKMAIL_API_TOKEN must not be set",
        ),
        (
            caller_opts(),
            vec![
                ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:8080"),
                ("TREKMAIL_HTTP_TOKENS", "caller"),
                ("TREKMAIL_HTTP_BEARER", BEARER),
            ],
            "operator mode",
        ),
        (
            Opts::default(),
            vec![
                ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:8080"),
                ("TREKMAIL_HTTP_ALLOWED_ORIGINS", "https://app.example.com"),
            ],
            "TREKMAIL_HTTP_ALLOWED_ORIGINS",
        ),
        (
            Opts::default(),
            vec![
                ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:8080"),
                ("TREKMAIL_HTTP_MAX_BODY_BYTES", "10"),
            ],
            "TREKMAIL_HTTP_MAX_BODY_BYTES",
        ),
    ];
    for (opts, http, expected) in cases {
        let p = problems(opts, &http);
        assert!(p.iter().any(|p| p.contains(expected)), "{http:?}: {p:?}");
        assert!(
            p.iter()
                .all(|p| !p.contains("short-secret") && !p.contains(BEARER)),
            "{p:?}"
        );
    }
    // Caller mode without tokens, and operator mode on loopback without a bearer, are fine.
    assert!(
        problems(
            caller_opts(),
            &[
                ("TREKMAIL_HTTP_LISTEN", "127.0.0.1:0"),
                ("TREKMAIL_HTTP_TOKENS", "caller")
            ]
        )
        .is_empty()
    );
    assert!(problems(Opts::default(), &[("TREKMAIL_HTTP_LISTEN", "[::1]:0")]).is_empty());
    // Without TREKMAIL_HTTP_LISTEN, caller mode does not lift the need for a token (stdio).
    assert!(!problems(caller_opts(), &[("TREKMAIL_HTTP_TOKENS", "caller")]).is_empty());
}

#[tokio::test]
async fn human_confirmation_always_refuses_over_stateless_http() {
    // A stateless request cannot carry the client's answer to a question: with
    // TREKMAIL_HUMAN_CONFIRM=always a guarded call is refused, and nothing is sent.
    let mut opts = Opts::all_gates();
    opts.extra.push(("TREKMAIL_HUMAN_CONFIRM", "always".into()));
    let s = serve(opts, &[]).await;
    let body = s
        .call(
            "delete_domain",
            json!({"domain_id": 7, "confirm_delete": true}),
            &[],
        )
        .await;
    assert_eq!(body["result"]["isError"], true, "{body}");
    assert!(s.api_requests().await.is_empty());
    s.stop.cancel();
}

#[tokio::test]
async fn files_over_http_are_links_that_resources_read_fetches_with_the_readers_token() {
    let s = serve(
        Opts {
            extra: vec![("TREKMAIL_MAX_INLINE_BYTES", "1000".into())],
            ..caller_opts()
        },
        &[("TREKMAIL_HTTP_TOKENS", "caller")],
    )
    .await;
    let b64 = attachment_2_of_message_5(&s.mock, 5000, "report.pdf", "application/pdf").await;
    // Carol downloads: above the inline budget she gets a link, not the bytes.
    let (carol, carol_msg) = (auth(CAROL_OPS), CAROL_MSG);
    let carol_headers = [
        ("authorization", carol.as_str()),
        ("x-trekmail-message-token", carol_msg),
    ];
    let body = s
        .call(
            "download_attachment",
            json!({"uid": 5, "index": 2}),
            &carol_headers,
        )
        .await;
    let uri = "trekmail://messages/5/attachments/2";
    let link = body["result"]["content"]
        .as_array()
        .and_then(|c| c.iter().find(|b| b["type"] == "resource_link"))
        .unwrap_or_else(|| panic!("no resource_link: {body}"));
    assert_eq!(link["uri"], uri, "{body}");
    assert!(
        !body.to_string().contains(&b64[..64]),
        "the bytes travel in the tool result"
    );
    // Bob reads the link with his own message token: the API sees Bob's token, and the file
    // comes back whole.
    let bob = auth(BOB_MSG);
    let (status, read, text) = s
        .post(
            &rpc(3, "resources/read", json!({"uri": uri})),
            &[("authorization", &bob)],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        read["result"]["contents"][0]["blob"],
        b64.as_str(),
        "{text}"
    );
    assert_eq!(read["result"]["contents"][0]["mimeType"], "application/pdf");
    // Alice has no message token: her read is refused and sends nothing.
    let before = s.api_requests().await.len();
    let alice = auth(ALICE_OPS);
    let (status, refused, text) = s
        .post(
            &rpc(4, "resources/read", json!({"uri": uri})),
            &[("authorization", &alice)],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(refused.get("error").is_some(), "{text}");
    assert!(!text.contains("0123456789"), "{text}");
    let requests = s.api_requests().await;
    assert_eq!(requests.len(), before, "a refused read reached the API");
    let tokens: Vec<String> = requests
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        tokens,
        [format!("Bearer {CAROL_MSG}"), format!("Bearer {BOB_MSG}")],
        "each API request carries the token of the request that made it"
    );
    s.stop.cancel();
}

/// Mounts on `mock` attachment 2 of message 5: `size` bytes named `name`, of type `media_type`.
/// Returns its base64.
async fn attachment_2_of_message_5(
    mock: &MockServer,
    size: u32,
    name: &str,
    media_type: &str,
) -> String {
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &bytes);
    Mock::given(method("GET"))
        .and(path("/api/v1/messages/5/attachments/2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "filename": name, "content_type": media_type,
            "size": size, "content_base64": b64}})))
        .mount(mock)
        .await;
    b64
}

/// Caller mode keeps each caller's intent memory across requests (a server is built per
/// request): A, B, A reaches the API three times with three keys, A, A shares one, and two
/// callers never share a memory.
#[tokio::test]
async fn caller_mode_remembers_each_callers_intents_across_requests() {
    let s = serve(
        Opts {
            sending: true,
            ..caller_opts()
        },
        &[("TREKMAIL_HTTP_TOKENS", "caller")],
    )
    .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&s.mock)
        .await;
    let alice = auth(ALICE_OPS);
    let carol = auth(CAROL_OPS);
    let forward = |to: &str| json!({"mailbox_id": 7, "enabled": true, "targets": [to]});
    let call = |who: &str, to: &str| {
        let headers = [("authorization", who.to_owned())];
        let args = forward(to);
        let s = &s;
        async move {
            let body = s.call("set_forwarding", args, &view(&headers)).await;
            assert_ne!(body["result"]["isError"], true, "{body}");
        }
    };
    // Alice: A, B, A, then a retry of the third.
    for to in ["a@x.example", "b@x.example", "a@x.example", "a@x.example"] {
        call(&alice, to).await;
    }
    // Carol, to the same mailbox id with her own token: A, then A again.
    for to in ["a@x.example", "a@x.example"] {
        call(&carol, to).await;
    }
    let sent = s.api_requests().await;
    assert_eq!(sent.len(), 6);
    let key = |i: usize| {
        sent[i]
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(key(0), key(1));
    assert_ne!(
        key(2),
        key(0),
        "A, B, A: the third must not replay the first"
    );
    assert_ne!(key(2), key(1));
    assert_eq!(key(3), key(2), "a retry of the third keeps its key");
    // Carol's A is her first: the key derived from the arguments (Alice's first A had it too,
    // under her token; the API keeps keys per account).
    assert_eq!(key(4), key(0));
    assert_eq!(key(5), key(4), "Carol's repeat is a retry");
    // The memory holds one target per caller, keyed by HMACs: no token, no argument.
    let ids = s.memory.ids();
    assert_eq!(ids.len(), 4, "{ids:?}");
    for id in &ids {
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert!(!id.contains("0123456789") && !id.contains("tm_live"));
    }
    s.stop.cancel();
}

/// `GET /metrics`: Prometheus text, without the bearer, counting calls by tool and outcome,
/// refusals by rule and the API's statuses, and naming no caller, argument or token.
#[tokio::test]
async fn metrics_count_calls_refusals_and_statuses_and_reveal_nothing() {
    let s = serve(Opts::default(), &[("TREKMAIL_HTTP_BEARER", BEARER)]).await;
    domain_7(&s.mock).await;
    let ok = auth(BEARER);
    let h = [("authorization", ok.as_str())];
    let body = s.call("get_domain", json!({"domain_id": 7}), &h).await;
    assert_eq!(body["result"]["isError"], false, "{body}");
    // Refused by the safety switch: nothing sent.
    let args = json!({"domain_id": 8675309, "confirm_delete": true});
    let body = s.call("delete_domain", args, &h).await;
    assert_eq!(body["result"]["isError"], true, "{body}");
    // Refused before parsing, and without the bearer.
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let (status, _, _) = s.post_raw(deep, &h).await;
    assert_eq!(status, 400);
    let (status, _, _) = s.post(&rpc(1, "tools/list", json!({})), &[]).await;
    assert_eq!(status, 401);

    let r = s
        .http
        .get(format!("http://{}/metrics", s.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.unwrap();
    for line in [
        "trekmail_mcp_calls_total{tool=\"get_domain\",outcome=\"ok\"} 1\n",
        "trekmail_mcp_calls_total{tool=\"delete_domain\",outcome=\"error\"} 1\n",
        "trekmail_mcp_call_duration_seconds_count 2\n",
        "trekmail_mcp_calls_in_flight 0\n",
        "trekmail_mcp_refusals_total{rule=\"safety_gate\"} 1\n",
        "trekmail_mcp_refusals_total{rule=\"http_body_shape\"} 1\n",
        "trekmail_mcp_refusals_total{rule=\"http_unauthorized\"} 1\n",
        "trekmail_mcp_api_responses_total{status=\"200\"} 1\n",
        "trekmail_mcp_retries_total 0\n",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
    for secret in [BEARER, OPS_TOKEN, "8675309"] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
    assert_eq!(s.api_requests().await.len(), 1);
    s.stop.cancel();
}

/// A state store that fails is counted in `/metrics` by operation and kind: unreachable (a
/// closed port), timeout (a store that accepts connections and never answers) and tls (a
/// `rediss://` store whose handshake fails: here it answers in plain text), once per failed
/// command, naming no key, caller, token or the store's password.
#[tokio::test]
async fn state_store_failures_are_counted_by_operation_and_kind() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            held.push(c);
        }
    });
    let plain = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let plain_addr = plain.local_addr().unwrap();
    let answers = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut c, _)) = plain.accept().await {
            let _ = c.write_all(b"-ERR this is not TLS\r\n").await;
        }
    });
    // Only the silent store needs a short deadline; the others get a long one so that a loaded
    // machine cannot turn a refused connection or a failed handshake into a timeout.
    for (scheme, addr, kind, timeout_ms) in [
        ("redis", closed, "unreachable", "10000"),
        ("redis", silent_addr, "timeout", "400"),
        ("rediss", plain_addr, "tls", "10000"),
    ] {
        let url = format!("{scheme}://:storepass-0123@{addr}");
        let s = serve(
            caller_opts(),
            &[
                ("TREKMAIL_HTTP_TOKENS", "caller"),
                ("TREKMAIL_STATE_URL", &url),
                ("TREKMAIL_TIMEOUT_MS", timeout_ms),
            ],
        )
        .await;
        domain_7(&s.mock).await;
        let alice = auth(ALICE_OPS);
        let h = [("authorization", alice.as_str())];
        let metric =
            format!("trekmail_mcp_state_errors_total{{operation=\"intent\",kind=\"{kind}\"}} 2\n");
        for _ in 0..2 {
            let args = json!({"mailbox_id": 1, "note": "n"});
            let body = s.call("update_mailbox_note", args, &h).await;
            assert_eq!(body["result"]["isError"], true, "{body}");
            assert!(
                result_text(&body).contains("retry the same call shortly"),
                "{body}"
            );
        }
        // A read does not consult the store.
        let body = s.call("get_domain", json!({"domain_id": 7}), &h).await;
        assert_eq!(body["result"]["isError"], false, "{body}");
        let text = s
            .http
            .get(format!("http://{}/metrics", s.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains(&metric), "{metric} not in:\n{text}");
        assert_eq!(
            text.matches("trekmail_mcp_state_errors_total{").count(),
            1,
            "one series, for the intents only:\n{text}"
        );
        for secret in [ALICE_OPS, "storepass", "trekmail-mcp:", "127.0.0.1"] {
            assert!(!text.contains(secret), "{secret} in:\n{text}");
        }
        assert_eq!(s.api_requests().await.len(), 1, "only the read was sent");
        s.stop.cancel();
    }
    held.abort();
    answers.abort();
}

/// The audit trail over HTTP in caller mode: each line names its caller by the documented HMAC
/// of the token the call used, never the token; the request's `_meta.traceparent` reaches the
/// API and the line.
#[tokio::test]
async fn caller_mode_audit_lines_name_the_caller_by_an_hmac_only() {
    let dir = std::env::temp_dir().join(format!("trekmail-http-audit-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("audit.log");
    let log_var = log.display().to_string();
    let s = serve(
        caller_opts(),
        &[
            ("TREKMAIL_HTTP_TOKENS", "caller"),
            ("TREKMAIL_AUDIT_LOG", &log_var),
        ],
    )
    .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": 7}})))
        .mount(&s.mock)
        .await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    for (i, token) in [ALICE_OPS, CAROL_OPS].into_iter().enumerate() {
        let msg = rpc(
            2,
            "tools/call",
            json!({"name": "update_mailbox_note", "arguments": {"mailbox_id": i + 1, "note": "n"},
                   "_meta": {"traceparent": traceparent}}),
        );
        let (status, body, text) = s.post(&msg, &[("authorization", &auth(token))]).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(body["result"]["isError"], false, "{body}");
    }
    // Refused by the destructive switch: one line, with the caller.
    let body = s
        .call(
            "delete_domain",
            json!({"domain_id": 9, "confirm_delete": true}),
            &[("authorization", &auth(ALICE_OPS))],
        )
        .await;
    assert_eq!(body["result"]["isError"], true, "{body}");
    let sent = s.api_requests().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].headers["traceparent"], traceparent);
    let all = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = all
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{all}");
    let alice = trekmail_mcp::call::audit::caller_id(ALICE_OPS);
    let carol = trekmail_mcp::call::audit::caller_id(CAROL_OPS);
    let callers: Vec<&str> = lines
        .iter()
        .map(|l| l["caller"].as_str().unwrap())
        .collect();
    assert_eq!(callers, [&alice, &alice, &carol, &carol, &alice]);
    assert_eq!(lines[4]["rule"], "safety_gate");
    assert_eq!(lines[0]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    for secret in [ALICE_OPS, CAROL_OPS, "alice0123456789"] {
        assert!(!all.contains(secret), "{secret} in:\n{all}");
    }
    s.stop.cancel();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_upload_tool_does_not_exist_over_http_in_either_mode() {
    // A directory and a file the tool could read over stdio.
    let dir = std::env::temp_dir().join(format!("trekmail-http-upload-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.pdf"), b"local bytes").unwrap();
    for caller in [false, true] {
        let mut opts = if caller {
            caller_opts()
        } else {
            Opts::default()
        };
        opts.extra
            .push(("TREKMAIL_UPLOAD_DIR", dir.display().to_string()));
        let s = if caller {
            serve(opts, &[("TREKMAIL_HTTP_TOKENS", "caller")]).await
        } else {
            serve(opts, &[]).await
        };
        let a = auth(ALICE_OPS);
        let headers: Vec<(&str, &str)> = if caller {
            vec![("authorization", &a)]
        } else {
            vec![]
        };
        let listed = s.list(&headers).await;
        assert!(listed.iter().any(|t| t == "drive_upload_initiate"));
        assert!(
            !listed.iter().any(|t| t == "drive_file_upload"),
            "caller={caller}"
        );
        // Called anyway: the answer to a tool that does not exist, nothing sent.
        let args = json!({"space": "account", "local_path": "report.pdf"});
        let body = s.call("drive_file_upload", args.clone(), &headers).await;
        let unknown = s.call("no_such_tool", args, &headers).await;
        assert_eq!(body["error"]["code"], -32602, "{body}");
        assert_eq!(
            body["error"]["message"],
            unknown["error"]["message"]
                .as_str()
                .unwrap()
                .replace("no_such_tool", "drive_file_upload"),
            "{body}"
        );
        assert!(s.api_requests().await.is_empty());
        s.stop.cancel();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_callers_reissued_key_goes_back_to_that_caller_and_the_server_keeps_nothing() {
    const NEW: &str = "tm_live_aliceNEW0123456789";
    let s = serve(
        Opts {
            destructive: true,
            ..caller_opts()
        },
        &[("TREKMAIL_HTTP_TOKENS", "caller")],
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/agent/key/reissue"))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(
                json!({"data": {"status": "reissued", "token": NEW, "scopes": ["*"]}}),
            ),
        )
        .mount(&s.mock)
        .await;
    domain_7(&s.mock).await;
    let a = auth(ALICE_OPS);
    let body = s
        .call("agent_reissue_key", json!({}), &[("authorization", &a)])
        .await;
    let result = &body["result"];
    let for_user: Vec<&Value> = result["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["text"].as_str().unwrap_or_default().contains(NEW))
        .collect();
    assert_eq!(for_user.len(), 1, "{body}");
    assert_eq!(for_user[0]["annotations"]["audience"], json!(["user"]));
    assert!(!result["structuredContent"].to_string().contains(NEW));
    assert!(
        body.to_string()
            .contains("use the new key in Authorization")
    );
    // Alice's next request carries her own token as before: nothing was switched for her, and
    // nothing was kept for anyone.
    s.call(
        "get_domain",
        json!({"domain_id": 7}),
        &[("authorization", &a)],
    )
    .await;
    let sent: Vec<String> = s
        .api_requests()
        .await
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, vec![auth(ALICE_OPS), auth(ALICE_OPS)]);
    s.stop.cancel();
}

/// A client that asks for a large answer and stops reading it holds its request slot (and its
/// answer's memory) only until it has taken no byte for [`http_server::WRITE_TIMEOUT`]: then its
/// connection is closed, and the next request is served. Before, the slot was given back as
/// soon as hyper took the answer's one frame, and the connection kept the 32 MB of JSON for as
/// long as the client kept it open.
#[tokio::test]
async fn a_client_that_stops_reading_an_answer_holds_its_slot_until_it_is_disconnected() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let s = serve(
        Opts {
            extra: vec![("TREKMAIL_MAX_INLINE_BYTES", (64u32 << 20).to_string())],
            ..Opts::default()
        },
        &[("TREKMAIL_HTTP_MAX_REQUESTS", "1")],
    )
    .await;
    // 24 MB: 32 MB of base64, more than loopback's buffers take.
    let size = 24_000_000u32;
    attachment_2_of_message_5(&s.mock, size, "big.bin", "application/octet-stream").await;
    let body = rpc(
        2,
        "tools/call",
        json!({"name": "download_attachment", "arguments": {"uid": 5, "index": 2}}),
    )
    .to_string();
    let mut stalled = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nmcp-protocol-version: 2025-11-25\r\ncontent-length: {}\r\n\r\n",
        s.addr,
        body.len()
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(body.as_bytes()).await.unwrap();
    // The answer starts, then the client reads no more.
    let mut first = [0u8; 12];
    stalled.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    let (status, _, text) = s.post(&rpc(3, "ping", json!({})), &[]).await;
    assert_eq!(
        status, 503,
        "the answer being written gave its slot back: {text}"
    );
    tokio::time::sleep(http_server::WRITE_TIMEOUT + Duration::from_secs(2)).await;
    // What the kernel had taken still arrives; then the connection ends, short of the answer.
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(10), stalled.read_to_end(&mut rest)).await;
    assert!(
        ended.is_ok(),
        "the connection is still open, {} bytes read",
        rest.len()
    );
    assert!(
        rest.len() < size as usize,
        "the whole answer was kept for the client: {} bytes",
        rest.len()
    );
    let (status, _, text) = s.post(&rpc(4, "ping", json!({})), &[]).await;
    assert_eq!(status, 200, "the slot was not given back: {text}");
    s.stop.cancel();
}
