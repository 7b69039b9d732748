//! One tool call: validate, check, gate, confirm, then the generated operation.

use std::time::{SystemTime, UNIX_EPOCH};

use rmcp::model::CallToolResult;
use serde_json::{Map, Value};
use trekmail_api::{Client, TokenKind};

use crate::catalog::{Catalog, ToolDef};
use crate::config::Config;
use crate::hostguard;
use crate::idempotency::{self, SecretKey};
use crate::map::{Check, GateName, TokenName};
use crate::results;
use crate::schema::IDEMPOTENCY_ARG;
use crate::validate;
use crate::wire;

/// The safety switches, as configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Switches {
    /// `TREKMAIL_ALLOW_DESTRUCTIVE`.
    pub destructive: bool,
    /// `TREKMAIL_ALLOW_SENDING`.
    pub sending: bool,
    /// `TREKMAIL_ALLOW_MIGRATION`.
    pub migration: bool,
}

impl Switches {
    fn on(&self, g: GateName) -> bool {
        match g {
            GateName::Destructive => self.destructive,
            GateName::Sending => self.sending,
            GateName::Migration => self.migration,
        }
    }

    /// From the configuration.
    pub fn from_config(c: &Config) -> Self {
        Self {
            destructive: c.allow_destructive,
            sending: c.allow_sending,
            migration: c.allow_migration,
        }
    }
}

/// Everything a call needs.
pub struct Caller {
    /// Client with the ops token, if configured.
    pub ops: Option<Client>,
    /// Client with the message token, if configured.
    pub message: Option<Client>,
    /// Safety switches.
    pub switches: Switches,
    /// Keys digests of secret arguments in idempotency keys.
    pub secret: SecretKey,
}

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// The field names of a tool's secret arguments (`items[].password` → `password`).
fn secret_fields(def: &ToolDef) -> Vec<&str> {
    def.entry
        .idempotency
        .secret_args
        .iter()
        .map(|s| s.rsplit("[].").next().unwrap_or(s))
        .collect()
}

/// Problems with the arguments: schema, checks and outbound hosts; empty when the call may go on.
pub fn argument_problems(
    catalog: &Catalog,
    def: &ToolDef,
    args: &Map<String, Value>,
) -> Vec<String> {
    let confirm_missing = def.entry.confirm.as_ref().map(|c| format!("{c}: required"));
    let mut problems: Vec<String> = validate::validate(
        &def.input_schema,
        args,
        &catalog.patterns,
        &secret_fields(def),
    )
    .into_iter()
    // A missing confirmation is reported after the gates, in its own words.
    .filter(|p| Some(p) != confirm_missing.as_ref())
    .collect();
    for c in &def.entry.checks {
        match c {
            Check::RequireAny { args: names } => {
                if !names.iter().any(|n| non_empty(args.get(n))) {
                    problems.push(format!(
                        "{}: give at least one of these, not empty",
                        names.join(" or ")
                    ));
                }
            }
            Check::MaxTotalItems { args: names, max } => {
                let total: usize = names
                    .iter()
                    .filter_map(|n| args.get(n)?.as_array().map(Vec::len))
                    .sum();
                if total > *max {
                    problems.push(format!(
                        "{}: at most {max} together, got {total}",
                        names.join(" + ")
                    ));
                }
            }
            Check::RequiredWhen {
                arg,
                equals,
                requires,
            } => {
                if args.get(arg) == Some(equals) && !non_empty(args.get(requires)) {
                    problems.push(format!("{requires}: required when {arg} is {equals}"));
                }
            }
        }
    }
    for name in &def.entry.public_host_args {
        if let Some(Value::String(host)) = args.get(name) {
            if host.trim().is_empty() {
                continue;
            }
            if let Some(why) = hostguard::refusal(host) {
                problems.push(format!(
                    "{name}: Cannot connect to private/internal network addresses ({why})."
                ));
            }
        }
    }
    problems
}

impl Caller {
    fn client(&self, token: TokenName) -> Option<&Client> {
        match token {
            TokenName::Ops => self.ops.as_ref(),
            TokenName::Message => self.message.as_ref(),
        }
    }

    /// Runs one call of `def` with `args`; every outcome is a tool result the model can read.
    pub async fn call(
        &self,
        catalog: &Catalog,
        def: &ToolDef,
        args: Map<String, Value>,
    ) -> CallToolResult {
        let name = &def.entry.name;
        let problems = argument_problems(catalog, def, &args);
        if !problems.is_empty() {
            tracing::info!(tool = %name, problems = problems.len(), "invalid arguments");
            return results::refusal(format!(
                "Invalid arguments for {name}; nothing was sent:\n- {}",
                problems.join("\n- ")
            ));
        }
        let closed: Vec<GateName> = def
            .gates_for(&args)
            .into_iter()
            .filter(|g| !self.switches.on(*g))
            .collect();
        if !closed.is_empty() {
            let how = closed
                .iter()
                .map(|g| format!("{}=true (allows {})", g.env_var(), g.what()))
                .collect::<Vec<_>>()
                .join(" and ");
            tracing::info!(tool = %name, "refused by safety gate");
            return results::refusal(format!(
                "{name} is disabled by a safety gate; nothing was sent. The operator must set {how} in the MCP server's environment and restart it."
            ));
        }
        if let Some(c) = &def.entry.confirm
            && args.get(c) != Some(&Value::Bool(true))
        {
            return results::refusal(format!(
                "{name} needs {c}: true on the call to confirm it; nothing was sent. Check the arguments with the user, then call again with {c}: true."
            ));
        }
        let Some(client) = self.client(def.entry.token) else {
            let kind = token_kind(def.entry.token);
            return results::refusal(format!("{name} needs {} to be configured", kind.env_var()));
        };
        let key = (def.method != "GET").then(|| {
            match args.get(IDEMPOTENCY_ARG).and_then(Value::as_str) {
                Some(k) if !k.is_empty() => k.to_owned(),
                _ => {
                    let mut excluded = vec![IDEMPOTENCY_ARG];
                    excluded.extend(def.entry.confirm.as_deref());
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_millis())
                        .unwrap_or(0);
                    idempotency::derive(
                        name,
                        &args,
                        &excluded,
                        &def.entry.idempotency,
                        &self.secret,
                        now,
                    )
                }
            }
        });
        let wire_args = wire::to_wire(&def.shape, &args, key);
        let request_id = uuid::Uuid::new_v4().to_string();
        tracing::info!(tool = %name, request_id = %request_id, "calling the API");
        let outcome = trekmail_api::with_request_id(
            request_id.clone(),
            client.call_operation(&def.entry.operation, &wire_args),
        )
        .await;
        match outcome {
            Ok(o) => results::success(o, def.entry.decode_base64_field.as_deref()),
            Err(e) => {
                tracing::warn!(tool = %name, request_id = %request_id, status = e.status(), "call failed");
                results::failure(
                    name,
                    &e,
                    &request_id,
                    token_kind(def.entry.token),
                    def.method != "GET",
                )
            }
        }
    }
}

/// The client crate's token kind for a map token name.
pub fn token_kind(t: TokenName) -> TokenKind {
    match t {
        TokenName::Ops => TokenKind::Ops,
        TokenName::Message => TokenKind::Message,
    }
}
