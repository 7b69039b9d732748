//! The numeric and true/false settings, each stated once: its variable, range and default. The
//! parser (`env.rs`, `http.rs`) reads with them, and `--help` and the generated configuration
//! table (`cargo xtask generate`, from clap) show them from here.

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

    /// What `--help` adds to the flag's own words: the default.
    pub fn help(&self, words: &str) -> String {
        format!("{words} [default: {}]", self.default)
    }
}

/// `TREKMAIL_ALLOW_DESTRUCTIVE`.
pub const ALLOW_DESTRUCTIVE: Flag = Flag {
    var: "TREKMAIL_ALLOW_DESTRUCTIVE",
    default: false,
};

/// `TREKMAIL_ALLOW_SENDING`.
pub const ALLOW_SENDING: Flag = Flag {
    var: "TREKMAIL_ALLOW_SENDING",
    default: false,
};

/// `TREKMAIL_ALLOW_MIGRATION`.
pub const ALLOW_MIGRATION: Flag = Flag {
    var: "TREKMAIL_ALLOW_MIGRATION",
    default: false,
};

/// `TREKMAIL_ALLOW_PAYMENTS`.
pub const ALLOW_PAYMENTS: Flag = Flag {
    var: "TREKMAIL_ALLOW_PAYMENTS",
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

/// Every true/false setting the parser reads with a [`Flag`].
pub const FLAGS: [Flag; 9] = [
    ALLOW_DESTRUCTIVE,
    ALLOW_SENDING,
    ALLOW_MIGRATION,
    ALLOW_PAYMENTS,
    PAYMENTS_WITHOUT_APPROVAL,
    READ_ONLY,
    HIDE_DISABLED,
    DRAFTS_ONLY,
    SCOPE_AWARE,
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
