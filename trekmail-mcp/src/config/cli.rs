//! The command line: one flag per variable (clap with its env support), a flag winning over its
//! variable; every value then goes through [`Config::from_env`](crate::Config::from_env), so a
//! flag and its variable are checked alike. The tokens have no flag: a command line is visible
//! to every user of the machine (`ps`, `/proc/PID/cmdline`), the environment is not.

use std::collections::HashMap;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser};

use crate::catalog::map::GateName;
use crate::config::limits;

/// Variables read from the environment only.
pub const ENV_ONLY: [&str; 3] = [
    "TREKMAIL_API_TOKEN",
    "TREKMAIL_MESSAGE_TOKEN",
    "TREKMAIL_HTTP_BEARER",
];

const AFTER_HELP: &str = "\
Every flag can be given as its environment variable instead (shown beside it); the flag wins.
A switch flag alone means true (--read-only), or takes a value (--read-only=false).

Tokens are read from the environment only, never from flags (a command line is visible to
every user of the machine):
  TREKMAIL_API_TOKEN      ops token, tm_live_...: the account tools
  TREKMAIL_MESSAGE_TOKEN  message token, tm_msg_...: the mailbox tools
At least one is required (--sandbox supplies both).

JSON-RPC runs on stdin/stdout, or over HTTP at /mcp with --http; logs go to stderr.
See docs/configuration.md and docs/http.md.";

/// `trekmail-mcp`: MCP server (stdio, or Streamable HTTP with `--http`) for the TrekMail API v1.
#[derive(Debug, Parser)]
#[command(name = "trekmail-mcp", version, after_help = AFTER_HELP)]
#[command(
    about = "MCP server (stdio, or Streamable HTTP with --http) for the TrekMail email-hosting API v1"
)]
pub struct Cli {
    #[arg(
        long,
        help = "Your TrekMail instance, e.g. https://trekmail.net (required unless --sandbox)",
        env = "TREKMAIL_BASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    base_url: Option<String>,
    /// Deadline of a whole call, retries included
    #[arg(
        long,
        env = limits::TIMEOUT_MS.var,
        value_name = "MS",
        hide_env_values = true
    )]
    timeout_ms: Option<String>,
    /// Largest API answer read
    #[arg(
        long,
        env = limits::MAX_RESPONSE_BYTES.var,
        value_name = "BYTES",
        hide_env_values = true
    )]
    max_response_bytes: Option<String>,
    /// Tool calls sent to the API at once
    #[arg(
        long,
        env = limits::MAX_CONCURRENT_CALLS.var,
        value_name = "N",
        hide_env_values = true
    )]
    max_concurrent_calls: Option<String>,
    /// Largest file put inside a tool result; larger ones are resource links
    #[arg(
        long,
        env = limits::MAX_INLINE_BYTES.var,
        value_name = "BYTES",
        hide_env_values = true
    )]
    max_inline_bytes: Option<String>,
    #[arg(
        long,
        help = "User-Agent header",
        env = limits::USER_AGENT.var,
        value_name = "TEXT",
        hide_env_values = true
    )]
    user_agent: Option<String>,
    /// Enable deletions, password changes, pausing, SMTP changes, revocations, Cloudflare DNS
    /// writes, discard/reject filters
    #[arg(long, env = limits::ALLOW_DESTRUCTIVE.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    allow_destructive: Option<String>,
    /// Enable sending and scheduling email, and what sends the account's mail elsewhere:
    /// forwarding, catch-all, redirect filters, Sieve scripts, invites
    #[arg(long, env = limits::ALLOW_SENDING.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    allow_sending: Option<String>,
    /// Enable migration tools that connect out or move mail
    #[arg(long, env = limits::ALLOW_MIGRATION.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    allow_migration: Option<String>,
    /// Enable tools that spend money (machine payments)
    #[arg(long, env = limits::ALLOW_PAYMENTS.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    allow_payments: Option<String>,
    /// Let a payment proceed when the MCP client cannot ask the user to approve it (no
    /// elicitation); a user who declines still stops it
    #[arg(long, env = limits::PAYMENTS_WITHOUT_APPROVAL.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    payments_without_approval: Option<String>,
    /// Directory whose files upload tools may read; unset, they refuse
    #[arg(
        long,
        env = GateName::UploadDir.env_var(),
        value_name = "PATH",
        hide_env_values = true
    )]
    upload_dir: Option<String>,
    /// Toolsets to serve, comma-separated, or all
    #[arg(
        long,
        env = limits::TOOLSETS.var,
        value_name = "LIST",
        hide_env_values = true
    )]
    toolsets: Option<String>,
    /// Tools to serve, comma-separated: alone only these, with --toolsets added to them
    #[arg(
        long,
        env = "TREKMAIL_TOOLS",
        value_name = "LIST",
        hide_env_values = true
    )]
    tools: Option<String>,
    /// Tools never served, comma-separated (wins over every selection)
    #[arg(
        long,
        env = "TREKMAIL_EXCLUDE_TOOLS",
        value_name = "LIST",
        hide_env_values = true
    )]
    exclude_tools: Option<String>,
    /// Serve only tools that change nothing (wins over every selection)
    #[arg(long, env = limits::READ_ONLY.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    read_only: Option<String>,
    /// Do not list tools whose safety switch is off
    #[arg(long, env = limits::HIDE_DISABLED.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    hide_disabled: Option<String>,
    /// The only recipients mail may leave the account for, comma-separated: example.com, *.example.com, a@example.com
    #[arg(
        long,
        env = "TREKMAIL_SEND_TO",
        value_name = "LIST",
        hide_env_values = true
    )]
    send_to: Option<String>,
    /// At most N recipients per hour or per day over every call that mails (50/h, 500/d); shared by
    /// the replicas through TREKMAIL_STATE_URL, per process otherwise
    #[arg(
        long,
        env = "TREKMAIL_SEND_RATE",
        value_name = "N/h|N/d",
        hide_env_values = true
    )]
    send_rate: Option<String>,
    /// The agent drafts, a person sends: sending and scheduling tools are not listed
    #[arg(long, env = limits::DRAFTS_ONLY.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    drafts_only: Option<String>,
    /// List only the tools the tokens' scopes allow (asks the API once, before the first listing)
    #[arg(long, env = limits::SCOPE_AWARE.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    scope_aware: Option<String>,
    /// Ask the user at the client before a guarded call: auto (when the client can), always
    /// (refuse when it cannot), never
    #[arg(
        long,
        env = limits::HUMAN_CONFIRM.var,
        value_name = "MODE",
        hide_env_values = true
    )]
    human_confirm: Option<String>,
    /// Log level on stderr: error, warn, info, debug, trace, off
    #[arg(
        long,
        env = limits::LOG.var,
        value_name = "LEVEL",
        hide_env_values = true
    )]
    log: Option<String>,
    /// PEM file of one more certificate authority to trust (an instance behind a private CA)
    #[arg(
        long,
        env = "TREKMAIL_CA_CERT",
        value_name = "PATH",
        hide_env_values = true
    )]
    ca_cert: Option<String>,
    /// Serve against an in-process emulation of the API: no account needed, nothing real
    /// happens
    #[arg(long, env = limits::SANDBOX.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    sandbox: Option<String>,
    /// Serve MCP Streamable HTTP at /mcp on this address (e.g. 127.0.0.1:8080) instead of stdio
    #[arg(
        long = "http",
        env = "TREKMAIL_HTTP_LISTEN",
        value_name = "ADDR",
        hide_env_values = true
    )]
    http_listen: Option<String>,
    /// HTTP: whose TrekMail tokens serve a request: operator (the environment's) or caller
    /// (each request's own)
    #[arg(
        long,
        env = limits::HTTP_TOKENS.var,
        value_name = "MODE",
        hide_env_values = true
    )]
    http_tokens: Option<String>,
    /// HTTP, operator mode: file whose first line is the bearer callers present (or
    /// TREKMAIL_HTTP_BEARER, environment only)
    #[arg(
        long,
        env = "TREKMAIL_HTTP_BEARER_FILE",
        value_name = "PATH",
        hide_env_values = true
    )]
    http_bearer_file: Option<String>,
    /// HTTP: Host values accepted, comma-separated, or *
    #[arg(
        long,
        env = limits::HTTP_ALLOWED_HOSTS.var,
        value_name = "LIST",
        hide_env_values = true
    )]
    http_allowed_hosts: Option<String>,
    /// HTTP: browser origins accepted (scheme://host:port, :* any port), or *
    #[arg(
        long,
        env = limits::HTTP_ALLOWED_ORIGINS.var,
        value_name = "LIST",
        hide_env_values = true
    )]
    http_allowed_origins: Option<String>,
    /// HTTP: largest request body read
    #[arg(
        long,
        env = limits::HTTP_MAX_BODY_BYTES.var,
        value_name = "BYTES",
        hide_env_values = true
    )]
    http_max_body_bytes: Option<String>,
    /// HTTP: requests handled at once, more are answered 503
    #[arg(
        long,
        env = limits::HTTP_MAX_REQUESTS.var,
        value_name = "N",
        hide_env_values = true
    )]
    http_max_requests: Option<String>,
    /// Shared state for every replica (intent memory): redis:// or rediss:// URL of Redis or
    /// Valkey; put a password in the environment variable, not the flag
    #[arg(
        long,
        env = "TREKMAIL_STATE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    state_url: Option<String>,
    /// With --state-url: refuse a write whose intent the store cannot decide (true), or fall
    /// back to this process's memory (false)
    #[arg(long, env = limits::STATE_REQUIRED.var, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", hide_env_values = true)]
    state_required: Option<String>,
    /// With a rediss:// --state-url: PEM file of the certificate authorities the store's
    /// certificate is checked against, instead of the system's (a store behind a private CA)
    #[arg(
        long,
        env = "TREKMAIL_STATE_CA_FILE",
        value_name = "PATH",
        hide_env_values = true
    )]
    state_ca_file: Option<String>,
    /// Audit trail: one JSON line per write attempted and per refusal, appended to this file
    /// (reopened on SIGHUP) or - for stderr; a write it cannot record is refused
    #[arg(
        long,
        env = "TREKMAIL_AUDIT_LOG",
        value_name = "PATH",
        hide_env_values = true
    )]
    audit_log: Option<String>,
    /// File of the keys sealing approvals (input-required results), one a line, the current
    /// first, then previous ones still accepted; the same file on every replica [default: a
    /// random key per process: an approval must return to the replica that asked]
    #[arg(
        long,
        env = "TREKMAIL_STATE_KEY_FILE",
        value_name = "PATH",
        hide_env_values = true
    )]
    state_key_file: Option<String>,
    /// Print the tools this configuration serves (name, toolset, gate, enabled) and exit,
    /// without contacting the API
    #[arg(long)]
    pub list_tools: bool,
}

/// The parsed command line with the environment: each variable's value, from its flag or from
/// the environment.
/// No `Debug`: the values hold the tokens.
pub struct Settings {
    /// Typed flags that are not variables.
    pub cli: Cli,
    values: HashMap<String, String>,
}

impl Settings {
    /// Parses `args` (the first is the program name) with the process environment; `Err` is
    /// clap's answer (help, version or a usage error) to print with [`clap::Error::exit`].
    pub fn parse<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = command().try_get_matches_from(args)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let mut values = variables(&matches);
        for k in ENV_ONLY {
            if let Ok(v) = std::env::var(k) {
                values.insert(k.to_owned(), v);
            }
        }
        Ok(Self { cli, values })
    }

    /// The value of a variable: its flag, else the environment.
    pub fn get(&self, var: &str) -> Option<String> {
        self.values.get(var).cloned()
    }
}

/// The command line as clap defines it: what `--help` prints, and what `cargo xtask generate`
/// writes into docs/configuration.md (variable, flag, default, meaning).
pub fn command() -> clap::Command {
    // A setting's default (and a number's range) comes from `limits`, where the parser reads it.
    Cli::command().mut_args(|a| {
        let (Some(var), Some(words)) = (a.get_env(), a.get_help().map(ToString::to_string)) else {
            return a;
        };
        match limits::help(&var.to_string_lossy(), &words) {
            Some(help) => a.help(help),
            None => a,
        }
    })
}

/// Each flag's variable, as `(flag, variable)`, in `--help` order.
pub fn flags() -> Vec<(String, String)> {
    Cli::command()
        .get_arguments()
        .filter_map(|a| {
            Some((
                format!("--{}", a.get_long()?),
                a.get_env()?.to_string_lossy().into_owned(),
            ))
        })
        .collect()
}

fn variables(m: &ArgMatches) -> HashMap<String, String> {
    Cli::command()
        .get_arguments()
        .filter_map(|a| {
            let var = a.get_env()?.to_string_lossy().into_owned();
            let value = m.get_one::<String>(a.get_id().as_str())?;
            Some((var, value.clone()))
        })
        .collect()
}
