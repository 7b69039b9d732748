//! `--sandbox` / `TREKMAIL_SANDBOX=true`: the server runs against an in-process
//! [`trekmail_sandbox`] emulation on a loopback port, through the real client pipeline (HTTP,
//! headers, retries, idempotency keys, errors). Only the base URL and the two tokens are
//! replaced; every other variable (switches, toolsets, …) applies as usual.

use trekmail_sandbox::{MESSAGE_TOKEN, OPS_TOKEN, Running, Sandbox};

/// The variables a sandbox replaces; set alongside, they are ignored with a warning.
pub const REPLACED: [&str; 3] = [
    "TREKMAIL_BASE_URL",
    "TREKMAIL_API_TOKEN",
    "TREKMAIL_MESSAGE_TOKEN",
];

/// A running embedded sandbox; dropping it stops the emulation.
pub struct Embedded {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The ops token it accepts.
    pub ops_token: &'static str,
    /// The message token it accepts (mailbox alice@example.com).
    pub message_token: &'static str,
    /// Keeps the emulation running.
    pub guard: Running,
}

impl Embedded {
    /// The environment as the configuration should see it: the sandbox's URL and tokens in place
    /// of the replaced variables, everything else from `get`.
    pub fn env(&self, key: &str, get: impl Fn(&str) -> Option<String>) -> Option<String> {
        match key {
            "TREKMAIL_BASE_URL" => Some(self.base_url.clone()),
            "TREKMAIL_API_TOKEN" => Some(self.ops_token.to_owned()),
            "TREKMAIL_MESSAGE_TOKEN" => Some(self.message_token.to_owned()),
            other => get(other),
        }
    }
}

/// The replaced variables that are set (and will be ignored).
pub fn ignored(get: impl Fn(&str) -> Option<String>) -> Vec<&'static str> {
    REPLACED
        .into_iter()
        .filter(|k| get(k).is_some_and(|v| !v.trim().is_empty()))
        .collect()
}

/// Starts a fresh emulation on a free loopback port.
pub async fn start() -> Result<Embedded, String> {
    let guard = Sandbox::new()?.start("127.0.0.1:0").await?;
    Ok(Embedded {
        base_url: guard.base_url(),
        ops_token: OPS_TOKEN,
        message_token: MESSAGE_TOKEN,
        guard,
    })
}
