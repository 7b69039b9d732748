//! `tools-map.toml`: what differs between tools, as data.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use trekmail_api::TokenKind;

use crate::catalog::argpath::ArgPath;

/// The map, embedded at build time so the binary and its tests see the same file.
pub const TOOLS_MAP_TOML: &str = include_str!("../../../tools-map.toml");

/// The whole file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolsMap {
    /// One entry per tool, in listing order.
    pub tool: Vec<ToolEntry>,
    /// Operations of the spec deliberately not exposed as tools.
    #[serde(default)]
    pub excluded: Vec<Excluded>,
}

/// An operation left out on purpose, with the reason.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Excluded {
    /// The operationId.
    pub operation: String,
    /// Why it is not a tool.
    pub reason: String,
}

/// One tool. Its list columns are boxed slices: fixed once read, without the spare room a
/// vector keeps (an entry is held for every tool from the start, and most columns are empty).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolEntry {
    /// MCP tool name.
    pub name: String,
    /// The operationId it calls; the map leaves it out when it equals the name (every tool today).
    #[serde(default)]
    pub operation: String,
    /// The toolset (group) it belongs to.
    pub toolset: String,
    /// `ops` or `message`.
    pub token: TokenKind,
    /// The token scopes the tool needs (the `serve::scopes` module decides what a token sees); a catalogue entry without them
    /// is refused.
    pub capabilities: Option<Capabilities>,
    /// Human title.
    pub title: String,
    /// What the agent reads.
    pub description: String,
    /// The environment switch that must be on before the tool touches the API.
    pub gate: Option<GateName>,
    /// Gates that apply only for some argument values.
    #[serde(default)]
    pub gate_when: Box<[GateWhen]>,
    /// A boolean argument that must be `true` on the call itself.
    pub confirm: Option<String>,
    /// A paying two-call flow (`call/payments.rs`).
    pub payment: Option<Payment>,
    /// The answer path (`data.token`) of a new key that replaces the token the call was made
    /// with, which the API revokes (`call/reissue.rs`).
    pub new_token: Option<String>,
    /// Idempotency-key policy of a non-GET tool.
    #[serde(default)]
    pub idempotency: Idempotency,
    /// The four MCP annotation hints, all explicit.
    pub annotations: Annotations,
    /// Checks beyond the schema, made before any HTTP call.
    #[serde(default)]
    pub checks: Box<[Check]>,
    /// Argument paths naming a host TrekMail will connect to: blank, private and internal
    /// destinations are refused.
    #[serde(default)]
    pub public_host_args: Box<[String]>,
    /// Argument paths whose values must each be one plain email address (beyond `format: email`).
    #[serde(default)]
    pub email_args: Box<[String]>,
    /// Fields of array items that must be one plain address when a sibling field says so.
    #[serde(default)]
    pub email_when: Box<[EmailWhen]>,
    /// Argument paths whose values end up in a mail header: CR, LF and NUL are refused.
    #[serde(default)]
    pub header_args: Box<[String]>,
    /// Argument paths of objects whose keys are mail header names: each must be an RFC 7230 token.
    #[serde(default)]
    pub header_name_args: Box<[String]>,
    /// Arguments the product documents but the API ignores: accepted, never sent, and the
    /// result says so.
    #[serde(default)]
    pub ignored_args: Box<[String]>,
    /// CSV text arguments and what some of their columns hold.
    #[serde(default)]
    pub csv_columns: Box<[CsvColumns]>,
    /// Where the answer carries a file (`call/files.rs` reads it).
    pub file: Option<Box<FileSpec>>,
    /// Answer paths (`data.subject`, `data[].from`, `data.attachments[].filename`) whose values
    /// people outside the account wrote: marked for the agent (see `call::outside`).
    #[serde(default)]
    pub outside_text: Box<[String]>,
    /// Argument paths whose values are recipients outside the account mail goes to
    /// (`TREKMAIL_SEND_TO` checks them).
    #[serde(default)]
    pub outbound_args: Box<[String]>,
    /// Item fields that are such a recipient when a sibling field says so (a redirect rule).
    #[serde(default)]
    pub outbound_when: Box<[EmailWhen]>,
    /// Arguments holding a Sieve script whose `redirect`/`notify` targets are such recipients.
    #[serde(default)]
    pub sieve_args: Box<[String]>,
    /// The call mails its outbound recipients now (not a route for later mail): each counts
    /// against `TREKMAIL_SEND_RATE`.
    #[serde(default)]
    pub sends: bool,
    /// Recipients the call mails that no argument names (a stored address): counted by the
    /// rate, and refused under `TREKMAIL_SEND_TO`, which cannot check them.
    #[serde(default)]
    pub unnamed_recipients: u32,
    /// A boolean argument that, sent as `false`, stops the API adding the sender's stored
    /// default Cc/Bcc (addresses no argument names): while `TREKMAIL_SEND_TO` is set the call
    /// needs it `false`, since those addresses cannot be checked.
    pub default_recipients_arg: Option<String>,
    /// The call composes mail for a person to send (a draft, or what goes into one): under
    /// `TREKMAIL_DRAFTS_ONLY` its description says that nothing can be sent.
    #[serde(default)]
    pub composes: bool,
    /// Arguments of the operation this tool always sends with these values, not offered to the
    /// agent: a preset of an operation another tool binds whole (the trashed-mailbox listing).
    #[serde(default)]
    pub fixed: serde_json::Map<String, Value>,
    /// A multi-request flow the MCP layer runs, starting with the operation (issue 19).
    pub flow: Option<Box<Flow>>,
    /// Served over stdio only: over HTTP the tool does not exist (it reads the server's disk,
    /// which a remote caller has no business reading).
    #[serde(default)]
    pub stdio_only: bool,
}

impl ToolEntry {
    /// Whether an argument holds a recipient outside the account (`outbound_args`,
    /// `outbound_when`, `sieve_args`): what `TREKMAIL_SEND_TO` can check.
    pub fn names_recipients(&self) -> bool {
        !(self.outbound_args.is_empty()
            && self.outbound_when.is_empty()
            && self.sieve_args.is_empty())
    }
}

/// A tool that runs several requests, the first being its operation. Its arguments are the
/// operation's path parameters and `args`; nothing else of the operation is offered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Which flow.
    pub kind: FlowKind,
    /// The flow's own arguments, as JSON Schemas by name (every one described).
    pub args: serde_json::Map<String, Value>,
    /// Those of `args` the caller must give.
    #[serde(default)]
    pub required: Vec<String>,
    /// The operation that finishes the flow (an upload's complete).
    pub complete: String,
    /// The operation that drops it after a failure (an upload's abort).
    pub abort: String,
    /// The operation that re-presigns parts whose storage URL was refused (403).
    pub refresh: String,
    /// The operation that reads what the flow made (the file and its `status`), asked before
    /// an abort so that a completed upload is never aborted.
    pub status: String,
}

/// The argument naming an upload flow's local file.
pub const UPLOAD_PATH_ARG: &str = "local_path";

/// The flows the MCP layer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// Upload a file of the MCP host: initiate, PUT the bytes to the presigned URL(s), complete.
    /// Its arguments: `local_path` (required), `name`, `folder_id`, `client_mime`.
    Upload,
}

/// Which fields of a JSON answer (inside `data` or at the top level) hold a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// The token scopes a tool needs: at least one of `any_of` (when not empty) and every one of
/// `all_of`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// At least one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<String>,
    /// Every one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all_of: Vec<String>,
}

/// The safety switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateName {
    /// `TREKMAIL_ALLOW_DESTRUCTIVE`.
    Destructive,
    /// `TREKMAIL_ALLOW_SENDING`.
    Sending,
    /// `TREKMAIL_ALLOW_MIGRATION`.
    Migration,
    /// `TREKMAIL_ALLOW_PAYMENTS`.
    Payments,
    /// `TREKMAIL_UPLOAD_DIR`: open when the operator names a directory the tool may read from.
    UploadDir,
}

impl GateName {
    /// Its name in tools-map.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            GateName::Destructive => "destructive",
            GateName::Sending => "sending",
            GateName::Migration => "migration",
            GateName::Payments => "payments",
            GateName::UploadDir => "upload_dir",
        }
    }

    /// The environment variable that turns the switch on: stated here only (the configuration's
    /// switches take their names from it).
    pub const fn env_var(self) -> &'static str {
        match self {
            GateName::Destructive => "TREKMAIL_ALLOW_DESTRUCTIVE",
            GateName::Sending => "TREKMAIL_ALLOW_SENDING",
            GateName::Migration => "TREKMAIL_ALLOW_MIGRATION",
            GateName::Payments => "TREKMAIL_ALLOW_PAYMENTS",
            GateName::UploadDir => "TREKMAIL_UPLOAD_DIR",
        }
    }

    /// What the operator sets to open the switch.
    pub fn setting(self) -> String {
        match self {
            GateName::UploadDir => format!("{} to a directory", self.env_var()),
            _ => format!("{}=true", self.env_var()),
        }
    }

    /// What the switch guards, in words.
    pub fn what(self) -> &'static str {
        match self {
            GateName::Destructive => "destructive operations",
            GateName::Sending => "sending email",
            GateName::Migration => "mailbox migrations",
            GateName::Payments => "payments",
            GateName::UploadDir => "uploading files from that directory",
        }
    }
}

/// A gate that applies when a value at an argument path meets a condition (exactly one of
/// `equals`, `contains`, `one_of`, `truthy`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateWhen {
    /// The argument path (`action`, `actions[].type`).
    pub arg: String,
    /// Applies when a value equals this.
    pub equals: Option<Value>,
    /// Applies when a value (an array) contains this.
    pub contains: Option<Value>,
    /// Applies when a value is one of these.
    #[serde(default)]
    pub one_of: Vec<Value>,
    /// Applies when a value is truthy (not null, false, 0, "", [] or {}).
    #[serde(default)]
    pub truthy: bool,
    /// The gate.
    pub gate: GateName,
}

impl GateWhen {
    /// How many conditions the entry sets (exactly one is valid).
    pub fn conditions(&self) -> usize {
        usize::from(self.equals.is_some())
            + usize::from(self.contains.is_some())
            + usize::from(!self.one_of.is_empty())
            + usize::from(self.truthy)
    }

    /// Whether the condition holds for these arguments; `arg` is [`GateWhen::arg`], parsed.
    pub fn applies(&self, arg: &ArgPath, args: &serde_json::Map<String, Value>) -> bool {
        arg.values(args).into_iter().any(|(_, v)| {
            self.equals.as_ref().is_some_and(|e| e == v)
                || self
                    .contains
                    .as_ref()
                    .is_some_and(|c| v.as_array().is_some_and(|a| a.contains(c)))
                || self.one_of.contains(v)
                || (self.truthy && truthy(v))
        })
    }
}

/// Whether a value counts as given and on.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// For every object at `each`, `field` must be one plain address when `when` is one of `one_of`
/// (a mail rule's `value` when its `type` is a redirect).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailWhen {
    /// Path of the objects (`actions[]`).
    pub each: String,
    /// Their field holding the address.
    pub field: String,
    /// Their field deciding whether it is an address.
    pub when: String,
    /// The values of `when` that make `field` an address.
    pub one_of: Vec<Value>,
}

/// What columns of a CSV text argument hold (0-based).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvColumns {
    /// The argument holding the CSV text.
    pub arg: String,
    /// Columns naming a host TrekMail connects to: each must be a public host, not blank.
    #[serde(default)]
    pub host: Vec<usize>,
    /// An argument that must be truthy for the rows to carry `host` columns (`per_row_server`).
    pub host_when: Option<String>,
    /// Columns holding secrets: the whole text then enters idempotency keys only as a keyed digest.
    #[serde(default)]
    pub secret: Vec<usize>,
}

/// A paying tool: without `credential` the API answers 402 with the price; with it, the call
/// pays, which needs `confirm: true` and the user's approval of that price.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// The argument holding the payment credential (a secret argument of the operation).
    pub credential: String,
    /// The boolean argument the paying call must set `true` (the tool's own, never sent).
    pub confirm: String,
}

/// The idempotency-key policy.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idempotency {
    /// The key also changes every `window_s` seconds (for actions a user may repeat later).
    pub window_s: Option<u64>,
    /// Arguments that enter the key only as a keyed digest (`items[].password` for array items).
    #[serde(default)]
    pub secret_args: Vec<String>,
}

/// MCP tool annotations.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// At least one of `args` is given and not empty.
    RequireAny {
        /// The arguments.
        args: Vec<String>,
    },
    /// Exactly one of `args` is given (a boolean counts when true): alternative selectors.
    ExactlyOne {
        /// The alternatives.
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
        let mut map: Self = toml::from_str(text).map_err(|e| format!("tools-map.toml: {e}"))?;
        for t in &mut map.tool {
            if t.operation.is_empty() {
                t.operation.clone_from(&t.name);
            }
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::ToolsMap;

    const ENTRY: &str = r#"
toolset = "t"
token = "ops"
title = "T"
description = "Does one thing well."
annotations = { read_only = true, destructive = false, idempotent = true, open_world = false }
"#;

    #[test]
    fn operation_defaults_to_the_name_and_is_kept_where_given() {
        let text = format!(
            "[[tool]]\nname = \"list_a\"{ENTRY}\n[[tool]]\nname = \"list_b\"\noperation = \"listB\"{ENTRY}"
        );
        let map = ToolsMap::parse(&text).expect("parses");
        let ops: Vec<&str> = map.tool.iter().map(|t| t.operation.as_str()).collect();
        assert_eq!(ops, ["list_a", "listB"]);
    }
}
