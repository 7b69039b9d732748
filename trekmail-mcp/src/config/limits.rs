//! Every setting with a default, each stated once: its variable, its default (and a number's
//! range). The parser (`env.rs`, `http.rs`, `state.rs`, `logging.rs`, `sandbox.rs`) reads with
//! them, and `--help` and the generated configuration table (`cargo xtask generate`, from clap)
//! show them from here ([`help`]).

use crate::catalog::map::GateName;
use crate::serve::http_server::settings::{LOOPBACK_HOSTS, LOOPBACK_ORIGINS};

/// One whole-number setting.
#[derive(Debug, Clone, Copy)]
pub struct Number {
    /// The variable (its flag is the same name, lowercased, with dashes).
    pub var: &'static str,
    /// The smallest value taken.
    pub min: u64,
    /// The largest value taken.
    pub max: u64,
    /// The value when unset.
    pub default: u64,
    /// The unit shown after the range (`ms`), or empty.
    pub unit: &'static str,
}

impl Number {
    /// The value of `value` within the range, or the default when unset; a value out of range
    /// or not a number is a problem naming the variable, and the default stands in.
    pub fn read(&self, value: Option<impl AsRef<str>>, problems: &mut Vec<String>) -> u64 {
        let Some(v) = value else {
            return self.default;
        };
        let v = v.as_ref();
        match v.trim().parse::<u64>() {
            Ok(n) if (self.min..=self.max).contains(&n) => n,
            _ => {
                let (var, min, max) = (self.var, self.min, self.max);
                let unit = if self.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", self.unit)
                };
                problems.push(format!(
                    "{var} must be a whole number from {min} to {max}{unit}, got {v:?}"
                ));
                self.default
            }
        }
    }

    /// What `--help` adds to the flag's own words: the range and the default.
    pub fn help(&self, words: &str) -> String {
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        format!(
            "{words}, {} to {}{unit} [default: {}]",
            self.min, self.max, self.default
        )
    }
}

/// One true/false setting: `true`, `false`, `1` or `0`, any case.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// The variable (its flag is the same name, lowercased, with dashes).
    pub var: &'static str,
    /// The value when unset.
    pub default: bool,
}

impl Flag {
    /// The value of `value`, or the default when unset; anything else is a problem naming the
    /// variable, and the default stands in.
    pub fn read(&self, value: Option<impl AsRef<str>>, problems: &mut Vec<String>) -> bool {
        let Some(v) = value else {
            return self.default;
        };
        let v = v.as_ref();
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => {
                problems.push(format!(
                    "{} must be true, false, 1 or 0 (any case), got {v:?}",
                    self.var
                ));
                self.default
            }
        }
    }
}

/// `TREKMAIL_ALLOW_DESTRUCTIVE`: the switch of the [`GateName::Destructive`] gate, named there.
pub const ALLOW_DESTRUCTIVE: Flag = Flag {
    var: GateName::Destructive.env_var(),
    default: false,
};

/// `TREKMAIL_ALLOW_SENDING`: the switch of the [`GateName::Sending`] gate, named there.
pub const ALLOW_SENDING: Flag = Flag {
    var: GateName::Sending.env_var(),
    default: false,
};

/// `TREKMAIL_ALLOW_MIGRATION`: the switch of the [`GateName::Migration`] gate, named there.
pub const ALLOW_MIGRATION: Flag = Flag {
    var: GateName::Migration.env_var(),
    default: false,
};

/// `TREKMAIL_ALLOW_PAYMENTS`: the switch of the [`GateName::Payments`] gate, named there.
pub const ALLOW_PAYMENTS: Flag = Flag {
    var: GateName::Payments.env_var(),
    default: false,
};

/// `TREKMAIL_PAYMENTS_WITHOUT_APPROVAL`.
pub const PAYMENTS_WITHOUT_APPROVAL: Flag = Flag {
    var: "TREKMAIL_PAYMENTS_WITHOUT_APPROVAL",
    default: false,
};

/// `TREKMAIL_READ_ONLY`.
pub const READ_ONLY: Flag = Flag {
    var: "TREKMAIL_READ_ONLY",
    default: false,
};

/// `TREKMAIL_HIDE_DISABLED`.
pub const HIDE_DISABLED: Flag = Flag {
    var: "TREKMAIL_HIDE_DISABLED",
    default: false,
};

/// `TREKMAIL_DRAFTS_ONLY`.
pub const DRAFTS_ONLY: Flag = Flag {
    var: "TREKMAIL_DRAFTS_ONLY",
    default: false,
};

/// `TREKMAIL_SCOPE_AWARE`.
pub const SCOPE_AWARE: Flag = Flag {
    var: "TREKMAIL_SCOPE_AWARE",
    default: true,
};

/// `TREKMAIL_SANDBOX`: read before the configuration, to start the embedded emulation.
pub const SANDBOX: Flag = Flag {
    var: "TREKMAIL_SANDBOX",
    default: false,
};

/// `TREKMAIL_STATE_REQUIRED`.
pub const STATE_REQUIRED: Flag = Flag {
    var: "TREKMAIL_STATE_REQUIRED",
    default: true,
};

/// Every true/false setting the parser reads with a [`Flag`].
pub const FLAGS: [Flag; 11] = [
    ALLOW_DESTRUCTIVE,
    ALLOW_SENDING,
    ALLOW_MIGRATION,
    ALLOW_PAYMENTS,
    PAYMENTS_WITHOUT_APPROVAL,
    READ_ONLY,
    HIDE_DISABLED,
    DRAFTS_ONLY,
    SCOPE_AWARE,
    SANDBOX,
    STATE_REQUIRED,
];

/// `TREKMAIL_TIMEOUT_MS`: the deadline of a whole call, retries included.
pub const TIMEOUT_MS: Number = Number {
    var: "TREKMAIL_TIMEOUT_MS",
    min: 1,
    max: 600_000,
    default: 30_000,
    unit: "ms",
};

/// `TREKMAIL_MAX_RESPONSE_BYTES`: the client's own default, 48 MiB.
pub const MAX_RESPONSE_BYTES: Number = Number {
    var: "TREKMAIL_MAX_RESPONSE_BYTES",
    min: 1024,
    max: 1 << 32,
    default: trekmail_api::DEFAULT_MAX_RESPONSE_BYTES,
    unit: "",
};

/// `TREKMAIL_MAX_CONCURRENT_CALLS`.
pub const MAX_CONCURRENT_CALLS: Number = Number {
    var: "TREKMAIL_MAX_CONCURRENT_CALLS",
    min: 1,
    max: 1024,
    default: 8,
    unit: "",
};

/// `TREKMAIL_MAX_INLINE_BYTES`: 48 KiB. Base64 makes a binary file a third larger, so the
/// largest inline result stays near 66 KB, under the ~70 KB (25k tokens) at which Claude Code
/// refuses a tool result, and far under the 10 MiB an MCP Inspector message may hold.
pub const MAX_INLINE_BYTES: Number = Number {
    var: "TREKMAIL_MAX_INLINE_BYTES",
    min: 0,
    max: 1 << 32,
    default: 48 * 1024,
    unit: "",
};

/// `TREKMAIL_HTTP_MAX_BODY_BYTES`: 4 MiB.
pub const HTTP_MAX_BODY_BYTES: Number = Number {
    var: "TREKMAIL_HTTP_MAX_BODY_BYTES",
    min: 1024,
    max: 64 << 20,
    default: 4 << 20,
    unit: "",
};

/// `TREKMAIL_HTTP_MAX_REQUESTS`.
pub const HTTP_MAX_REQUESTS: Number = Number {
    var: "TREKMAIL_HTTP_MAX_REQUESTS",
    min: 1,
    max: 65_536,
    default: 64,
    unit: "",
};

/// Every numeric setting, for `--help`.
pub const NUMBERS: [Number; 6] = [
    TIMEOUT_MS,
    MAX_RESPONSE_BYTES,
    MAX_CONCURRENT_CALLS,
    MAX_INLINE_BYTES,
    HTTP_MAX_BODY_BYTES,
    HTTP_MAX_REQUESTS,
];

/// One setting read as a word or a list, with the value the parser reads when it is unset.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    /// The variable (its flag is the same name, lowercased, with dashes).
    pub var: &'static str,
    /// The value when unset, as the variable would hold it.
    pub default: &'static str,
}

impl Text {
    /// `value`, or the default when unset.
    pub fn read(&self, value: Option<String>) -> String {
        value.unwrap_or_else(|| self.default.to_owned())
    }
}

/// The word `TREKMAIL_TOOLSETS` takes for every toolset.
pub const ALL_TOOLSETS: &str = "all";

/// `TREKMAIL_TOOLSETS`: unset, every toolset (unless `TREKMAIL_TOOLS` names the tools alone).
pub const TOOLSETS: Text = Text {
    var: "TREKMAIL_TOOLSETS",
    default: ALL_TOOLSETS,
};

/// `TREKMAIL_HUMAN_CONFIRM`.
pub const HUMAN_CONFIRM: Text = Text {
    var: "TREKMAIL_HUMAN_CONFIRM",
    default: "auto",
};

/// `TREKMAIL_LOG`.
pub const LOG: Text = Text {
    var: "TREKMAIL_LOG",
    default: "info",
};

/// `TREKMAIL_USER_AGENT`.
pub const USER_AGENT: Text = Text {
    var: "TREKMAIL_USER_AGENT",
    default: concat!("trekmail-mcp/", env!("CARGO_PKG_VERSION")),
};

/// `TREKMAIL_HTTP_TOKENS`.
pub const HTTP_TOKENS: Text = Text {
    var: "TREKMAIL_HTTP_TOKENS",
    default: "operator",
};

/// Every word setting with a default.
pub const TEXTS: [Text; 5] = [TOOLSETS, HUMAN_CONFIRM, LOG, USER_AGENT, HTTP_TOKENS];

/// A list setting whose default the server applies where it uses the list (unset stays unset
/// in the configuration: the HTTP server's allow-lists).
#[derive(Debug, Clone, Copy)]
pub struct List {
    /// The variable.
    pub var: &'static str,
    /// The items in effect when unset.
    pub default: &'static [&'static str],
}

/// `TREKMAIL_HTTP_ALLOWED_HOSTS`: the loopback names.
pub const HTTP_ALLOWED_HOSTS: List = List {
    var: "TREKMAIL_HTTP_ALLOWED_HOSTS",
    default: &LOOPBACK_HOSTS,
};

/// `TREKMAIL_HTTP_ALLOWED_ORIGINS`: the loopback origins.
pub const HTTP_ALLOWED_ORIGINS: List = List {
    var: "TREKMAIL_HTTP_ALLOWED_ORIGINS",
    default: &LOOPBACK_ORIGINS,
};

/// Every list setting with a default.
pub const LISTS: [List; 2] = [HTTP_ALLOWED_HOSTS, HTTP_ALLOWED_ORIGINS];

/// What `--help` says of `var` after the flag's own `words`: its default (and a number's range)
/// from the declaration above, or `None` for a setting without one declared here.
pub fn help(var: &str, words: &str) -> Option<String> {
    if let Some(n) = NUMBERS.iter().find(|n| n.var == var) {
        return Some(n.help(words));
    }
    let default = if let Some(f) = FLAGS.iter().find(|f| f.var == var) {
        f.default.to_string()
    } else if let Some(t) = TEXTS.iter().find(|t| t.var == var) {
        t.default.to_owned()
    } else {
        LISTS.iter().find(|l| l.var == var)?.default.join(",")
    };
    Some(format!("{words} [default: {default}]"))
}
