//! Configuration: one struct, read once from the environment, every problem reported at once,
//! each naming its variable and never echoing a token.

use std::time::Duration;

use trekmail_api::{ClientBuilder, TokenKind};

use crate::call::approvals::{APPROVAL_TTL, StateKeys};
use crate::call::human::HumanConfirm;
use crate::call::outbound::{self, SendTo};
use crate::call::send_rate::{self, SendRate};
use crate::call::state::StateConfig;
use crate::call::tokens::{Secret, TokenVariable as _};
use crate::catalog::map::GateName;
use crate::config::limits;
use crate::serve::Config;
use crate::serve::http_server::settings::{HttpConfig, TokenMode};

/// Every variable the server reads, for documentation, tests and the unknown-variable warning
/// (a setting declared elsewhere by its declaration).
pub const VARIABLES: &[&str] = &[
    "TREKMAIL_BASE_URL",
    "TREKMAIL_API_TOKEN",
    "TREKMAIL_MESSAGE_TOKEN",
    limits::TIMEOUT_MS.var,
    limits::MAX_RESPONSE_BYTES.var,
    limits::MAX_CONCURRENT_CALLS.var,
    limits::MAX_INLINE_BYTES.var,
    limits::USER_AGENT.var,
    limits::ALLOW_DESTRUCTIVE.var,
    limits::ALLOW_SENDING.var,
    limits::ALLOW_MIGRATION.var,
    limits::ALLOW_PAYMENTS.var,
    limits::PAYMENTS_WITHOUT_APPROVAL.var,
    GateName::UploadDir.env_var(),
    limits::TOOLSETS.var,
    "TREKMAIL_TOOLS",
    "TREKMAIL_EXCLUDE_TOOLS",
    limits::READ_ONLY.var,
    limits::HIDE_DISABLED.var,
    outbound::VAR,
    send_rate::VAR,
    limits::DRAFTS_ONLY.var,
    limits::SCOPE_AWARE.var,
    limits::HUMAN_CONFIRM.var,
    limits::LOG.var,
    "TREKMAIL_CA_CERT",
    limits::SANDBOX.var,
    "TREKMAIL_HTTP_LISTEN",
    limits::HTTP_TOKENS.var,
    "TREKMAIL_HTTP_BEARER",
    "TREKMAIL_HTTP_BEARER_FILE",
    limits::HTTP_ALLOWED_HOSTS.var,
    limits::HTTP_ALLOWED_ORIGINS.var,
    limits::HTTP_MAX_BODY_BYTES.var,
    limits::HTTP_MAX_REQUESTS.var,
    "TREKMAIL_STATE_URL",
    limits::STATE_REQUIRED.var,
    "TREKMAIL_STATE_CA_FILE",
    "TREKMAIL_AUDIT_LOG",
    "TREKMAIL_STATE_KEY_FILE",
];

/// The variables among `names` that start with `TREKMAIL_` and that the server does not read:
/// a misspelt switch must not pass silently.
pub fn unknown_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    names
        .into_iter()
        .filter(|n| n.starts_with("TREKMAIL_") && !VARIABLES.contains(n))
        .collect()
}

impl Config {
    /// Reads the configuration through `get` (the process environment in `main`). An empty value
    /// counts as unset. `toolsets` are the names that `TREKMAIL_TOOLSETS` may use.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        toolsets: &[&str],
    ) -> Result<Self, Vec<String>> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mut problems = Vec::new();
        let base_url = match get("TREKMAIL_BASE_URL") {
            None => {
                problems.push("TREKMAIL_BASE_URL is required: the URL of your TrekMail instance, e.g. https://trekmail.net".into());
                String::new()
            }
            Some(u) => {
                if let Err(e) = ClientBuilder::api_root(&u) {
                    problems.push(format!("TREKMAIL_BASE_URL: {e}"));
                }
                u.trim().to_owned()
            }
        };
        let ops_token = token(get("TREKMAIL_API_TOKEN"), TokenKind::Ops, &mut problems);
        let message_token = token(
            get("TREKMAIL_MESSAGE_TOKEN"),
            TokenKind::Message,
            &mut problems,
        );
        let http = HttpConfig::from_env(&get, &mut problems);
        let state = StateConfig::from_env(&get, &mut problems);
        let caller_tokens = http.as_ref().is_some_and(|h| h.tokens == TokenMode::Caller);
        if caller_tokens {
            for k in ["TREKMAIL_API_TOKEN", "TREKMAIL_MESSAGE_TOKEN"] {
                if get(k).is_some() {
                    problems.push(format!("{k} must not be set with TREKMAIL_HTTP_TOKENS=caller: the server holds no token, each request brings its own"));
                }
            }
        } else if get("TREKMAIL_API_TOKEN").is_none() && get("TREKMAIL_MESSAGE_TOKEN").is_none() {
            problems.push("set at least one token: TREKMAIL_API_TOKEN (tm_live_...) for account tools, TREKMAIL_MESSAGE_TOKEN (tm_msg_...) for message tools".into());
        }
        let timeout = Duration::from_millis(
            limits::TIMEOUT_MS.read(get(limits::TIMEOUT_MS.var), &mut problems),
        );
        let mut number = |n: limits::Number| n.read(get(n.var), &mut problems);
        let max_response_bytes = number(limits::MAX_RESPONSE_BYTES);
        let max_concurrent_calls =
            usize::try_from(number(limits::MAX_CONCURRENT_CALLS)).unwrap_or(usize::MAX);
        let max_inline_bytes = number(limits::MAX_INLINE_BYTES);
        let user_agent = limits::USER_AGENT.read(get(limits::USER_AGENT.var));
        if user_agent.chars().any(|c| c.is_control() || !c.is_ascii()) || user_agent.len() > 256 {
            problems
                .push("TREKMAIL_USER_AGENT must be printable ASCII, at most 256 characters".into());
        }
        let mut flag = |f: limits::Flag| f.read(get(f.var), &mut problems);
        let allow_destructive = flag(limits::ALLOW_DESTRUCTIVE);
        let allow_sending = flag(limits::ALLOW_SENDING);
        let allow_migration = flag(limits::ALLOW_MIGRATION);
        let allow_payments = flag(limits::ALLOW_PAYMENTS);
        let payments_without_approval = flag(limits::PAYMENTS_WITHOUT_APPROVAL);
        let read_only = flag(limits::READ_ONLY);
        let hide_disabled = flag(limits::HIDE_DISABLED);
        let drafts_only = flag(limits::DRAFTS_ONLY);
        let send_to = get(outbound::VAR).map(|v| SendTo::parse(&v));
        let send_rate = get(send_rate::VAR).map(|v| SendRate::parse(&v));
        let scope_aware = flag(limits::SCOPE_AWARE);
        let selected = selected_toolsets(&get, toolsets, &mut problems);
        // Tool names are checked against the catalogue when the server is built.
        let tools = get("TREKMAIL_TOOLS").map(|v| list(&v, false));
        let exclude_tools = get("TREKMAIL_EXCLUDE_TOOLS")
            .map(|v| list(&v, false))
            .unwrap_or_default();
        let human_confirm = human_confirm(&get, &mut problems);
        if let Some(v) = get(limits::LOG.var)
            && super::logging::level(&v).is_none()
        {
            problems.push(format!(
                "TREKMAIL_LOG must be one of error, warn, info, debug, trace, got {v:?}"
            ));
        }
        let ca_cert_pem = get("TREKMAIL_CA_CERT")
            .and_then(|path| pem_file("TREKMAIL_CA_CERT", &path, &mut problems));
        let send_rate = send_rate.and_then(|r| r.map_err(|e| problems.push(e)).ok());
        let send_to = send_to.and_then(|r| r.map_err(|e| problems.push(e)).ok());
        let state_keys = state_keys(&get, &mut problems);
        let upload_dir = get(GateName::UploadDir.env_var()).and_then(|v| {
            crate::call::upload::confine::UploadDirs::parse(&v)
                .map_err(|e| problems.push(e))
                .ok()
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            base_url,
            ops_token,
            message_token,
            timeout,
            max_response_bytes,
            max_concurrent_calls,
            max_inline_bytes,
            user_agent,
            allow_destructive,
            allow_sending,
            allow_migration,
            allow_payments,
            payments_without_approval,
            upload_dir,
            toolsets: selected,
            tools,
            exclude_tools,
            read_only,
            hide_disabled,
            send_to,
            send_rate,
            drafts_only,
            scope_aware,
            human_confirm,
            ca_cert_pem,
            http,
            state,
            audit_log: get("TREKMAIL_AUDIT_LOG")
                .map(|v| crate::call::audit::Destination::parse(&v)),
            state_keys,
            approval_ttl: APPROVAL_TTL,
        })
    }
}

/// `TREKMAIL_TOOLSETS`: unset stays unset (every toolset, unless `TREKMAIL_TOOLS` names the
/// tools alone); `all` is every one of `toolsets`; an unknown name is a problem.
fn selected_toolsets(
    get: &impl Fn(&str) -> Option<String>,
    toolsets: &[&str],
    problems: &mut Vec<String>,
) -> Option<Vec<String>> {
    let names = list(&get(limits::TOOLSETS.var)?, true);
    if names.iter().any(|n| n == limits::ALL_TOOLSETS) {
        return Some(toolsets.iter().map(|t| (*t).to_owned()).collect());
    }
    for n in &names {
        if !toolsets.contains(&n.as_str()) {
            problems.push(format!(
                "TREKMAIL_TOOLSETS: unknown toolset {n:?}; known: {}, {}",
                limits::ALL_TOOLSETS,
                toolsets.join(", ")
            ));
        }
    }
    Some(names)
}

/// `TREKMAIL_HUMAN_CONFIRM`, its declared default when unset.
fn human_confirm(
    get: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> HumanConfirm {
    let confirm = limits::HUMAN_CONFIRM.read(get(limits::HUMAN_CONFIRM.var));
    HumanConfirm::parse(&confirm).unwrap_or_else(|| {
        problems.push(format!(
            "TREKMAIL_HUMAN_CONFIRM must be auto, always or never, got {confirm:?}"
        ));
        // Any value: the configuration is refused.
        HumanConfirm::Always
    })
}

/// The PEM certificates of the file `path` that `var` names; a file that cannot be read or
/// holds no certificate is a problem naming `var` and the path, never the content.
pub(super) fn pem_file(var: &str, path: &str, problems: &mut Vec<String>) -> Option<Vec<u8>> {
    let path = path.trim();
    match std::fs::read(path) {
        Ok(pem) if pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => Some(pem),
        Ok(_) => {
            problems.push(format!("{var}: {path:?} holds no PEM certificate"));
            None
        }
        Err(e) => {
            problems.push(format!("{var}: cannot read {path:?}: {e}"));
            None
        }
    }
}

/// `TREKMAIL_STATE_KEY_FILE`'s keys. The file's content is never echoed: a problem names the
/// path and the line.
fn state_keys(
    get: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> Option<StateKeys> {
    let path = get("TREKMAIL_STATE_KEY_FILE")?;
    let path = path.trim();
    match std::fs::read_to_string(path) {
        Ok(text) => StateKeys::parse(&text)
            .map_err(|e| problems.push(format!("TREKMAIL_STATE_KEY_FILE: {path:?} {e}")))
            .ok(),
        Err(e) => {
            problems.push(format!(
                "TREKMAIL_STATE_KEY_FILE: cannot read {path:?}: {e}"
            ));
            None
        }
    }
}

/// A comma-separated list, items trimmed, empty items dropped; toolset names are lowercased.
fn list(v: &str, lowercase: bool) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            if lowercase {
                s.to_ascii_lowercase()
            } else {
                s.to_owned()
            }
        })
        .collect()
}

fn token(value: Option<String>, kind: TokenKind, problems: &mut Vec<String>) -> Option<Secret> {
    let v = value?;
    let v = v.trim();
    let prefix = kind.prefix();
    if !v.starts_with(prefix) || v.len() == prefix.len() {
        // Never echo the value: say only what is wrong with it.
        let hint = match kind {
            TokenKind::Ops if v.starts_with(TokenKind::Message.prefix()) => {
                " (this looks like a message token: use TREKMAIL_MESSAGE_TOKEN)"
            }
            TokenKind::Message if v.starts_with(TokenKind::Ops.prefix()) => {
                " (this looks like an ops token: use TREKMAIL_API_TOKEN)"
            }
            _ => "",
        };
        problems.push(format!(
            "{} must start with {prefix} and carry the token after it{hint}",
            kind.env_var()
        ));
        return None;
    }
    if TokenKind::of(v) != Some(kind) {
        problems.push(format!(
            "{} contains spaces or characters a token cannot have",
            kind.env_var()
        ));
        return None;
    }
    Some(Secret::new(v))
}
