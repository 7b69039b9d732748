//! `tools-map.toml`: what differs between tools, as data.

use serde::Deserialize;
use serde_json::Value;

/// The map, embedded at build time so the binary and its tests see the same file.
pub const TOOLS_MAP_TOML: &str = include_str!("../../tools-map.toml");

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsMap {
    /// One entry per tool, in listing order.
    pub tool: Vec<ToolEntry>,
    /// Operations of the spec deliberately not exposed as tools.
    #[serde(default)]
    pub excluded: Vec<Excluded>,
}

/// An operation left out on purpose, with the reason.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Excluded {
    /// The operationId.
    pub operation: String,
    /// Why it is not a tool.
    pub reason: String,
}

/// One tool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolEntry {
    /// MCP tool name.
    pub name: String,
    /// The operationId it calls.
    pub operation: String,
    /// The toolset (group) it belongs to.
    pub toolset: String,
    /// `ops` or `message`.
    pub token: TokenName,
    /// Human title.
    pub title: String,
    /// What the agent reads.
    pub description: String,
    /// The environment switch that must be on before the tool touches the API.
    pub gate: Option<GateName>,
    /// Gates that apply only for some argument values.
    #[serde(default)]
    pub gate_when: Vec<GateWhen>,
    /// A boolean argument that must be `true` on the call itself.
    pub confirm: Option<String>,
    /// Idempotency-key policy of a non-GET tool.
    #[serde(default)]
    pub idempotency: Idempotency,
    /// The four MCP annotation hints, all explicit.
    pub annotations: Annotations,
    /// Checks beyond the schema, made before any HTTP call.
    #[serde(default)]
    pub checks: Vec<Check>,
    /// Arguments naming a host TrekMail will connect to: private and internal destinations are refused.
    #[serde(default)]
    pub public_host_args: Vec<String>,
    /// Where the answer carries a file (see [`crate::files`]).
    pub file: Option<FileSpec>,
}

/// Which fields of a JSON answer (inside `data` or at the top level) hold a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// The field holding the bytes, base64-encoded.
    pub content: String,
    /// The field holding the file name.
    pub name: Option<String>,
    /// The field holding the MIME type.
    pub media_type: Option<String>,
    /// The name when the answer gives none.
    pub default_name: Option<String>,
    /// The MIME type when neither the answer nor the name's extension says it.
    pub default_media_type: Option<String>,
}

/// Which token a tool needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenName {
    /// `TREKMAIL_API_TOKEN`.
    Ops,
    /// `TREKMAIL_MESSAGE_TOKEN`.
    Message,
}

/// The safety switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateName {
    /// `TREKMAIL_ALLOW_DESTRUCTIVE`.
    Destructive,
    /// `TREKMAIL_ALLOW_SENDING`.
    Sending,
    /// `TREKMAIL_ALLOW_MIGRATION`.
    Migration,
}

impl GateName {
    /// The environment variable that turns the switch on.
    pub fn env_var(self) -> &'static str {
        match self {
            GateName::Destructive => "TREKMAIL_ALLOW_DESTRUCTIVE",
            GateName::Sending => "TREKMAIL_ALLOW_SENDING",
            GateName::Migration => "TREKMAIL_ALLOW_MIGRATION",
        }
    }

    /// What the switch guards, in words.
    pub fn what(self) -> &'static str {
        match self {
            GateName::Destructive => "destructive operations",
            GateName::Sending => "sending email",
            GateName::Migration => "mailbox migrations",
        }
    }
}

/// A gate that applies when an argument equals a value or (for arrays) contains it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateWhen {
    /// The argument.
    pub arg: String,
    /// Applies when the argument equals this.
    pub equals: Option<Value>,
    /// Applies when the argument (an array) contains this.
    pub contains: Option<Value>,
    /// The gate.
    pub gate: GateName,
}

impl GateWhen {
    /// Whether the condition holds for these arguments.
    pub fn applies(&self, args: &serde_json::Map<String, Value>) -> bool {
        let Some(v) = args.get(&self.arg) else {
            return false;
        };
        self.equals.as_ref().is_some_and(|e| e == v)
            || self
                .contains
                .as_ref()
                .is_some_and(|c| v.as_array().is_some_and(|a| a.contains(c)))
    }
}

/// The idempotency-key policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idempotency {
    /// The key also changes every `window_s` seconds (for actions a user may repeat later).
    pub window_s: Option<u64>,
    /// Arguments that enter the key only as a keyed digest (`items[].password` for array items).
    #[serde(default)]
    pub secret_args: Vec<String>,
}

/// MCP tool annotations.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    /// readOnlyHint.
    pub read_only: bool,
    /// destructiveHint.
    pub destructive: bool,
    /// idempotentHint.
    pub idempotent: bool,
    /// openWorldHint.
    pub open_world: bool,
}

/// A check on the arguments beyond what a JSON Schema says.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// At least one of `args` is given and not empty.
    RequireAny {
        /// The arguments.
        args: Vec<String>,
    },
    /// The arrays `args` hold at most `max` items together.
    MaxTotalItems {
        /// The arrays.
        args: Vec<String>,
        /// The limit.
        max: usize,
    },
    /// When `arg` equals `equals`, `requires` must be given and not empty.
    RequiredWhen {
        /// The condition's argument.
        arg: String,
        /// The condition's value.
        equals: Value,
        /// The argument then required.
        requires: String,
    },
}

impl ToolsMap {
    /// Parses the embedded map.
    pub fn embedded() -> Result<Self, String> {
        Self::parse(TOOLS_MAP_TOML)
    }

    /// Parses a map.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| format!("tools-map.toml: {e}"))
    }
}
