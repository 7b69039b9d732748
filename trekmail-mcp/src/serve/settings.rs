//! The settings the server shell runs with: one typed struct, built by `config/` from the
//! command line and the environment.

use std::time::Duration;

use crate::call::approvals::StateKeys;
use crate::call::gates::Switches;
use crate::call::human::HumanConfirm;
use crate::call::state::StateConfig;
use crate::call::tokens::Secret;
use crate::serve::http_server::settings::HttpConfig;

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TREKMAIL_BASE_URL`: the instance, e.g. `https://trekmail.net`.
    pub base_url: String,
    /// `TREKMAIL_API_TOKEN` (`tm_live_...`): enables the ops tools.
    pub ops_token: Option<Secret>,
    /// `TREKMAIL_MESSAGE_TOKEN` (`tm_msg_...`): enables the message tools.
    pub message_token: Option<Secret>,
    /// `TREKMAIL_TIMEOUT_MS`: deadline of one call, retries and waits included (range and default: `config/limits.rs`).
    pub timeout: Duration,
    /// `TREKMAIL_MAX_RESPONSE_BYTES`: the largest API answer read (range and default: `config/limits.rs`).
    pub max_response_bytes: u64,
    /// `TREKMAIL_MAX_CONCURRENT_CALLS`: tool calls in flight at once; the rest wait (range and default: `config/limits.rs`).
    pub max_concurrent_calls: usize,
    /// `TREKMAIL_MAX_INLINE_BYTES`: the largest file delivered inside a tool result; a larger one
    /// comes as a `resource_link` read with resources/read (range and default: `config/limits.rs`).
    pub max_inline_bytes: u64,
    /// `TREKMAIL_USER_AGENT`. Default `trekmail-mcp/<version>`.
    pub user_agent: String,
    /// `TREKMAIL_ALLOW_DESTRUCTIVE`.
    pub allow_destructive: bool,
    /// `TREKMAIL_ALLOW_SENDING`.
    pub allow_sending: bool,
    /// `TREKMAIL_ALLOW_MIGRATION`.
    pub allow_migration: bool,
    /// `TREKMAIL_ALLOW_PAYMENTS`: tools that spend money.
    pub allow_payments: bool,
    /// `TREKMAIL_PAYMENTS_WITHOUT_APPROVAL`: a payment may proceed when the client cannot ask
    /// the user.
    pub payments_without_approval: bool,
    /// `TREKMAIL_UPLOAD_DIR`: the directories upload tools may read files from; unset, they refuse.
    pub upload_dir: Option<crate::call::upload::confine::UploadDirs>,
    /// `TREKMAIL_TOOLSETS`: the toolsets to list (comma-separated); `None` when unset. `all`
    /// selects every toolset.
    pub toolsets: Option<Vec<String>>,
    /// `TREKMAIL_TOOLS`: tool names to list; alone it lists only these, with
    /// `TREKMAIL_TOOLSETS` it adds them to the selected toolsets. `None` when unset.
    pub tools: Option<Vec<String>>,
    /// `TREKMAIL_EXCLUDE_TOOLS`: tool names never listed, whatever else selects them.
    pub exclude_tools: Vec<String>,
    /// `TREKMAIL_READ_ONLY`: list only tools that change nothing.
    pub read_only: bool,
    /// `TREKMAIL_HIDE_DISABLED`: do not list tools whose safety switch is off.
    pub hide_disabled: bool,
    /// `TREKMAIL_SEND_TO`: the only recipients mail may leave the account for.
    pub send_to: Option<crate::call::outbound::SendTo>,
    /// `TREKMAIL_SEND_RATE`: the recipients allowed per hour or per day, over every call that mails.
    pub send_rate: Option<crate::call::send_rate::SendRate>,
    /// `TREKMAIL_DRAFTS_ONLY`: sending and scheduling tools are not listed; drafts are.
    pub drafts_only: bool,
    /// `TREKMAIL_SCOPE_AWARE` (default true): list only the tools the tokens' scopes allow.
    pub scope_aware: bool,
    /// `TREKMAIL_HUMAN_CONFIRM`: when to ask the human at the client before a guarded call.
    pub human_confirm: HumanConfirm,
    /// `TREKMAIL_CA_CERT`: a PEM file of one more certificate authority to trust.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// `TREKMAIL_HTTP_*`: serve MCP over HTTP instead of stdio when `TREKMAIL_HTTP_LISTEN` is set.
    pub http: Option<HttpConfig>,
    /// `TREKMAIL_STATE_URL`, `TREKMAIL_STATE_REQUIRED`: the shared state store, if any.
    pub state: Option<StateConfig>,
    /// `TREKMAIL_AUDIT_LOG`: where the audit trail goes, if anywhere.
    pub audit_log: Option<crate::call::audit::Destination>,
    /// `TREKMAIL_STATE_KEY_FILE`: the keys sealing approval states, shared by replicas; `None`
    /// seals with a random key of this process.
    pub state_keys: Option<StateKeys>,
    /// How long an approval question stays answerable: [`crate::call::approvals::APPROVAL_TTL`] (no variable sets it;
    /// tests shorten it).
    pub approval_ttl: Duration,
}

impl Config {
    /// The safety switches, as configured.
    pub fn switches(&self) -> Switches {
        Switches {
            destructive: self.allow_destructive,
            sending: self.allow_sending,
            migration: self.allow_migration,
            payments: self.allow_payments,
            upload_dir: self.upload_dir.is_some(),
            payments_without_approval: self.payments_without_approval,
            drafts_only: self.drafts_only,
        }
    }

    /// Whether the base URL is plain http to a host other than this machine.
    pub fn sends_tokens_in_the_clear(&self) -> bool {
        let Some(rest) = self.base_url.strip_prefix("http://") else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(""),
            None => authority.split(':').next().unwrap_or(""),
        };
        !(host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
    }
}
