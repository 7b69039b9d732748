//! The MCP server: lists the tools this configuration enables and routes calls to [`Caller`].

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use tokio_util::sync::CancellationToken;
use trekmail_api::{ClientBuilder, RetryPolicy};

use crate::call::Caller;
use crate::catalog::{Catalog, ToolDef};
use crate::config::Config;
use crate::gates::{self, Switches};
use crate::human::{self, Human, HumanConfirm};
use crate::idempotency::{Keys, Recent};
use crate::{instructions, results, selection};

/// The server.
pub struct TrekmailServer {
    catalog: Arc<Catalog>,
    listed: Vec<Arc<ToolDef>>,
    /// The definitions as listed here (a disabled tool's description says so), in `listed` order.
    listed_tools: Vec<Tool>,
    hidden: HashMap<String, String>,
    /// `TREKMAIL_HUMAN_CONFIRM`.
    human_confirm: HumanConfirm,
    /// Generated from the configuration.
    instructions: String,
    caller: Arc<Caller>,
    /// Calls in flight at once (`TREKMAIL_MAX_CONCURRENT_CALLS`); the rest wait their turn.
    slots: Arc<tokio::sync::Semaphore>,
    /// Cancelled when the server stops serving (end of input): calls in flight stop at once.
    closing: CancellationToken,
}

impl TrekmailServer {
    /// A server for `config`, with the default retry policy. `Err` lists the problems, one a
    /// line (unknown tool names).
    pub fn new(config: &Config, catalog: Catalog) -> Result<Self, String> {
        Self::with_retry(config, catalog, RetryPolicy::default())
    }

    /// A server for `config` with a given retry policy (tests use one that does not sleep).
    pub fn with_retry(
        config: &Config,
        catalog: Catalog,
        retry: RetryPolicy,
    ) -> Result<Self, String> {
        let client = |token: &Option<crate::config::Secret>| -> Result<Option<trekmail_api::Client>, String> {
            token
                .as_ref()
                .map(|t| {
                    let mut b = ClientBuilder::new(&config.base_url)
                        .token(t.expose())
                        .user_agent(&config.user_agent)
                        .timeout(config.timeout)
                        .max_response_bytes(config.max_response_bytes)
                        .retry_policy(retry.clone());
                    // Neither token may reach the agent, whichever client's answer echoes it.
                    for other in [&config.ops_token, &config.message_token].into_iter().flatten() {
                        b = b.redact(other.expose());
                    }
                    if let Some(pem) = &config.ca_cert_pem {
                        b = b.root_certificate_pem(pem.clone());
                    }
                    b.build().map_err(|e| e.to_string())
                })
                .transpose()
        };
        let caller = Caller {
            ops: client(&config.ops_token)?,
            message: client(&config.message_token)?,
            switches: Switches::from_config(config),
            secret: Keys::for_tokens(
                config.ops_token.as_ref().map(|t| t.expose()),
                config.message_token.as_ref().map(|t| t.expose()),
            ),
            recent: Recent::default(),
        };
        let mut problems = selection::unknown_tool_names(config, &catalog);
        match instructions::unknown_tools(|n| catalog.get(n).is_some()) {
            Ok(unknown) if unknown.is_empty() => {}
            Ok(unknown) => problems.push(format!(
                "instructions.toml names unknown tools: {}",
                unknown.join(", ")
            )),
            Err(e) => problems.push(e),
        }
        if !problems.is_empty() {
            return Err(problems.join("\n"));
        }
        let mut listed = Vec::new();
        let mut listed_tools = Vec::new();
        let mut hidden = HashMap::new();
        for def in catalog.tools() {
            match selection::hidden_because(def, config) {
                Some(w) => {
                    hidden.insert(def.entry.name.clone(), w);
                }
                None => {
                    let mut tool = def.tool.clone();
                    if let Some(g) = selection::disabled_by(def, &caller.switches) {
                        let d = tool.description.as_deref().unwrap_or_default();
                        tool.description = Some(format!("{d}{}", gates::disabled_note(g)).into());
                    }
                    listed.push(Arc::clone(def));
                    listed_tools.push(tool);
                }
            }
        }
        let instructions = instructions::build(config, &listed)?;
        Ok(Self {
            catalog: Arc::new(catalog),
            listed,
            listed_tools,
            hidden,
            human_confirm: config.human_confirm,
            instructions,
            caller: Arc::new(caller),
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_calls)),
            closing: CancellationToken::new(),
        })
    }

    /// The token that stops every call in flight when cancelled (the stdio transport cancels
    /// it at end of input).
    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// Forgets the writes remembered for telling retries from new intents, as a restart would.
    pub fn forget_recent_writes(&self) {
        self.caller.recent.forget();
    }

    /// The tools this configuration lists, in order.
    pub fn tools(&self) -> Vec<Tool> {
        self.listed_tools.clone()
    }

    /// The definitions this configuration lists, in order.
    pub fn listed(&self) -> &[Arc<ToolDef>] {
        &self.listed
    }

    /// The whole catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The server's instructions for the agent.
    pub fn instructions(&self) -> &str {
        &self.instructions
    }

    fn find(&self, name: &str) -> Option<(&Arc<ToolDef>, &Tool)> {
        let i = self.listed.iter().position(|d| d.entry.name == name)?;
        Some((&self.listed[i], &self.listed_tools[i]))
    }

    /// Calls a tool by name for a client that cannot ask its user: `Err` only for a tool that
    /// is not listed.
    pub async fn call(
        &self,
        name: &str,
        args: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<rmcp::model::CallToolResult, ErrorData> {
        self.call_with(name, args, &Human::Unreachable).await
    }

    /// Calls a tool by name; a guarded call may first ask `human` (`TREKMAIL_HUMAN_CONFIRM`).
    pub async fn call_with(
        &self,
        name: &str,
        args: Option<serde_json::Map<String, serde_json::Value>>,
        human: &Human,
    ) -> Result<rmcp::model::CallToolResult, ErrorData> {
        let Some((def, _)) = self.find(name) else {
            let msg = match self.hidden.get(name) {
                Some(why) => format!("tool `{name}` is not available: {why}"),
                None => format!("unknown tool `{name}`"),
            };
            return Err(ErrorData::invalid_params(msg, None));
        };
        // Switches and confirmation first: a refused call asks nobody.
        let prepared = match self
            .caller
            .prepare(&self.catalog, def, args.unwrap_or_default())
        {
            Ok(p) => p,
            Err(refusal) => return Ok(refusal),
        };
        if prepared.guarded()
            && let Err(why) = human::confirm(self.human_confirm, human, def, &prepared.args).await
        {
            return Ok(results::refusal(why));
        }
        // Waiting for a slot is part of the call: a cancellation ends the wait too. The human
        // was asked before: a pending question holds no slot.
        let Ok(_slot) = self.slots.acquire().await else {
            return Err(ErrorData::internal_error(
                "the server is shutting down",
                None,
            ));
        };
        Ok(self.caller.execute(prepared).await)
    }
}

fn cancelled() -> ErrorData {
    tracing::info!("call cancelled; nothing more is sent for it");
    ErrorData::internal_error("the call was cancelled", None)
}

impl ServerHandler for TrekmailServer {
    fn get_info(&self) -> ServerConfig {
        let mut info = Implementation::new("trekmail-mcp", env!("CARGO_PKG_VERSION"));
        info.title = Some("TrekMail".into());
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(info)
            .with_instructions(self.instructions.clone())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // A cancelled call (notifications/cancelled, or the end of input) is dropped here: its
        // HTTP request is aborted and no retry or wait of it follows.
        let human = Human::of(&context.peer, context.protocol_version().as_ref());
        tokio::select! {
            r = self.call_with(&request.name, request.arguments, &human) => r.map(Into::into),
            () = context.ct.cancelled() => Err(cancelled()),
            () = self.closing.cancelled() => Err(cancelled()),
        }
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.find(name).map(|(_, t)| t.clone())
    }
}
