//! Shared test harness: a TrekmailServer pointed at a local wiremock API, with a retry policy
//! that records its waits instead of sleeping.
#![allow(dead_code, clippy::unwrap_used)]

pub mod stdio;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ErrorData;
use rmcp::model::{CallToolResult, NumberOrString, ProgressNotificationParam, ProgressToken};
use serde_json::Value;
use trekmail_api::RetryPolicy;
use trekmail_mcp::call::progress::Progress;
use trekmail_mcp::{Catalog, Config, TrekmailServer};
use wiremock::MockServer;
use wiremock::matchers::any;
use wiremock::{Mock, ResponseTemplate};

pub const OPS_TOKEN: &str = "tm_live_testOPS0123456789abcdef";
pub const MSG_TOKEN: &str = "tm_msg_testMSG0123456789abcdef";
pub const USER_AGENT: &str = "trekmail-mcp-tests/1";

/// What the server under test is configured with.
#[derive(Clone)]
pub struct Opts {
    pub ops: bool,
    pub message: bool,
    pub destructive: bool,
    pub sending: bool,
    pub migration: bool,
    pub payments: bool,
    pub extra: Vec<(&'static str, String)>,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            ops: true,
            message: true,
            destructive: false,
            sending: false,
            migration: false,
            payments: false,
            extra: vec![],
        }
    }
}

impl Opts {
    pub fn all_gates() -> Self {
        Self {
            destructive: true,
            sending: true,
            migration: true,
            payments: true,
            ..Self::default()
        }
    }
}

pub struct Harness {
    pub mock: MockServer,
    pub server: TrekmailServer,
    pub sleeps: Arc<Mutex<Vec<Duration>>>,
}

pub fn config(base_url: &str, opts: &Opts) -> Result<Config, Vec<String>> {
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("TREKMAIL_BASE_URL", base_url.to_owned());
    if opts.ops {
        env.insert("TREKMAIL_API_TOKEN", OPS_TOKEN.into());
    }
    if opts.message {
        env.insert("TREKMAIL_MESSAGE_TOKEN", MSG_TOKEN.into());
    }
    env.insert("TREKMAIL_USER_AGENT", USER_AGENT.into());
    env.insert("TREKMAIL_ALLOW_DESTRUCTIVE", opts.destructive.to_string());
    env.insert("TREKMAIL_ALLOW_SENDING", opts.sending.to_string());
    env.insert("TREKMAIL_ALLOW_MIGRATION", opts.migration.to_string());
    env.insert("TREKMAIL_ALLOW_PAYMENTS", opts.payments.to_string());
    for (k, v) in &opts.extra {
        env.insert(k, v.clone());
    }
    let catalog = Catalog::embedded().unwrap();
    Config::from_env(|k| env.get(k).cloned(), &catalog.toolsets())
}

/// A retry policy that records the waits it would make and returns at once.
pub fn recording_policy() -> (RetryPolicy, Arc<Mutex<Vec<Duration>>>) {
    let sleeps = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&sleeps);
    let policy = RetryPolicy {
        sleep: Arc::new(move |d| {
            s.lock().unwrap().push(d);
            Box::pin(async {})
        }),
        ..RetryPolicy::default()
    };
    (policy, sleeps)
}

impl Harness {
    pub async fn start(opts: Opts) -> Self {
        let mock = MockServer::start().await;
        let (policy, sleeps) = recording_policy();
        let server = Self::server_for(&mock.uri(), &opts, policy);
        Self {
            mock,
            server,
            sleeps,
        }
    }

    pub fn server_for(base: &str, opts: &Opts, policy: RetryPolicy) -> TrekmailServer {
        let config = config(base, opts).unwrap();
        TrekmailServer::with_retry(&config, Catalog::embedded().unwrap(), policy).unwrap()
    }

    /// Answers every request with `status` and a JSON body.
    pub async fn answer_json(&self, status: u16, body: Value) {
        self.mock.reset().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.mock)
            .await;
    }

    pub async fn answer(&self, template: ResponseTemplate) {
        self.mock.reset().await;
        Mock::given(any())
            .respond_with(template)
            .mount(&self.mock)
            .await;
    }

    pub async fn call(&self, tool: &str, args: Value) -> CallToolResult {
        self.try_call(tool, args)
            .await
            .unwrap_or_else(|e| panic!("{tool}: JSON-RPC error {e:?}"))
    }

    pub async fn try_call(&self, tool: &str, args: Value) -> Result<CallToolResult, ErrorData> {
        let args = match args {
            Value::Object(m) => Some(m),
            Value::Null => None,
            other => panic!("arguments must be an object, got {other}"),
        };
        self.server.call(tool, args).await
    }

    pub async fn requests(&self) -> Vec<wiremock::Request> {
        self.mock.received_requests().await.unwrap_or_default()
    }
}

/// All text content of a result, joined.
pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first text block: the API's answer (or the refusal); what follows it are notes such
/// as the write's `Idempotency-Key`.
pub fn answer_text(r: &CallToolResult) -> String {
    r.content
        .first()
        .and_then(|c| c.as_text().map(|t| t.text.clone()))
        .unwrap_or_default()
}

/// The text blocks after the answer, joined.
pub fn notes(r: &CallToolResult) -> String {
    r.content
        .iter()
        .skip(1)
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn is_error(r: &CallToolResult) -> bool {
    r.is_error == Some(true)
}

/// Valid minimal arguments of every tool, from the golden wire cases.
pub fn minimal_args() -> HashMap<String, Value> {
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("../../../tests/fixtures/wire-cases.json")).unwrap();
    let mut out = HashMap::new();
    for c in cases {
        if c["case"] == "minimal" {
            out.insert(c["tool"].as_str().unwrap().to_owned(), c["args"].clone());
        }
    }
    out
}

/// The outputSchema `server` lists for `tool`.
pub fn output_schema(server: &TrekmailServer, tool: &str) -> Value {
    let t = server.tools().into_iter().find(|t| t.name == tool).unwrap();
    Value::Object(
        (*t.output_schema
            .unwrap_or_else(|| panic!("{tool}: no outputSchema")))
        .clone(),
    )
}

/// Where `value` does not fit the JSON Schema `schema`, by a real validator (empty: it fits).
pub fn schema_errors(schema: &Value, value: &Value) -> Vec<String> {
    jsonschema::validator_for(schema)
        .unwrap()
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect()
}

/// A redis-server on a free loopback port, killed on drop; `None` when the machine has none
/// (CI installs it for tests/scale before the Rust tests run).
pub struct Redis {
    child: std::process::Child,
    pub url: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn redis() -> Option<Redis> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = std::process::Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let r = Redis {
        child,
        url: format!("redis://127.0.0.1:{port}"),
    };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Some(r);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis-server did not listen on {port}");
}

/// A progress reporter for token 1 that records every notification it is given.
pub fn progress_recorder() -> (Progress, Arc<Mutex<Vec<ProgressNotificationParam>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    let p = Progress::new(
        ProgressToken(NumberOrString::Number(1)),
        Arc::new(move |n| s.lock().unwrap().push(n)),
    );
    (p, seen)
}

/// The API's `GET /me` answering, to any token, that it grants `scopes`.
pub async fn grant_scopes(mock: &MockServer, scopes: &[&str]) {
    Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path("/api/v1/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"data": {"capabilities": {"effective_scopes": scopes}}}),
        ))
        .mount(mock)
        .await;
}
