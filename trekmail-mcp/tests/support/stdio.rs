//! The built binary over stdio, as an MCP client sees it: one harness for every test that runs
//! `trekmail-mcp` as a process.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Where the server's log lines (stderr) go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logs {
    /// To the test's own stderr (shown when a test fails).
    Shown,
    /// Kept for the test to read ([`Peer::stderr`]).
    Kept,
}

/// The server process and the client's ends of its pipes.
pub struct Peer {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: tokio::io::Lines<BufReader<ChildStdout>>,
    /// Every line read from stdout: what the agent and the user saw.
    pub seen: String,
}

impl Peer {
    /// Starts the binary with exactly `env` (nothing inherited).
    pub fn spawn(env: &[(&str, &str)], logs: Logs) -> Self {
        Self::spawn_with_stderr(
            env,
            match logs {
                Logs::Shown => Stdio::inherit(),
                Logs::Kept => Stdio::piped(),
            },
        )
    }

    /// Starts the binary with exactly `env` and `stderr`.
    pub fn spawn_with_stderr(env: &[(&str, &str)], stderr: Stdio) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_trekmail-mcp"));
        cmd.env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Self {
            child,
            stdin,
            stdout,
            seen: String::new(),
        }
    }

    /// Writes one message, newline-terminated.
    pub async fn send(&mut self, msg: Value) {
        self.stdin
            .write_all(format!("{msg}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// The next line of stdout, which must be one JSON message.
    pub async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(30), self.stdout.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        self.seen.push_str(&line);
        self.seen.push('\n');
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carried non-JSON {line:?}: {e}"))
    }

    /// Sends a request and reads the next message, which must be its answer.
    pub async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let r = self.recv().await;
        assert_eq!(r["id"], id, "{r}");
        r
    }

    /// `initialize` (id 0) with the client's `capabilities`, then `notifications/initialized`;
    /// returns the answer, which must be a result.
    pub async fn initialize(&mut self, capabilities: Value) -> Value {
        let r = self
            .request(0, "initialize", json!({"protocolVersion": "2025-11-25", "capabilities": capabilities, "clientInfo": {"name": "e2e", "version": "1"}}))
            .await;
        assert!(r.get("result").is_some(), "{r}");
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        r
    }

    /// Ends the input and returns everything the server wrote to stderr ([`Logs::Kept`]).
    pub async fn stderr(mut self) -> String {
        drop(self.stdin);
        let mut err = String::new();
        let mut pipe = self.child.stderr.take().unwrap();
        tokio::time::timeout(Duration::from_secs(20), pipe.read_to_string(&mut err))
            .await
            .unwrap()
            .unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        err
    }
}
