//! The MCP server: lists the tools this configuration enables and routes calls to [`Caller`].

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, ResourceTemplate, ServerCapabilities, ServerConfig,
    Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use tokio_util::sync::CancellationToken;
use trekmail_api::{ClientBuilder, OutcomeBody, RetryPolicy};

use crate::call::Caller;
use crate::catalog::{Catalog, ToolDef};
use crate::config::Config;
use crate::files::{self, File};
use crate::gates::{self, Switches};
use crate::human::{self, Human, HumanConfirm};
use crate::idempotency::{Keys, Recent};
use crate::progress::Progress;
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
            max_inline_bytes: config.max_inline_bytes,
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
        self.call_with(name, args, &Human::Unreachable, None).await
    }

    /// [`TrekmailServer::call`], telling `progress` while the call waits for a free slot or
    /// before it tries again.
    pub async fn call_with_progress(
        &self,
        name: &str,
        args: Option<serde_json::Map<String, serde_json::Value>>,
        progress: Option<&Progress>,
    ) -> Result<rmcp::model::CallToolResult, ErrorData> {
        self.call_with(name, args, &Human::Unreachable, progress)
            .await
    }

    /// Calls a tool by name; a guarded call may first ask `human` (`TREKMAIL_HUMAN_CONFIRM`),
    /// and `progress` hears of waits (for a slot, before a retry).
    pub async fn call_with(
        &self,
        name: &str,
        args: Option<serde_json::Map<String, serde_json::Value>>,
        human: &Human,
        progress: Option<&Progress>,
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
        let slot = match self.slots.try_acquire() {
            Ok(s) => Ok(s),
            Err(_) => {
                if let Some(p) = progress {
                    p.tell(
                        "waiting for a free call slot (TREKMAIL_MAX_CONCURRENT_CALLS)".into(),
                        None,
                    );
                }
                self.slots.acquire().await
            }
        };
        let Ok(_slot) = slot else {
            return Err(ErrorData::internal_error(
                "the server is shutting down",
                None,
            ));
        };
        Ok(self.caller.execute(prepared, progress).await)
    }
}

impl TrekmailServer {
    /// resources/read of a `trekmail://` URI: the file tool whose path the URI names is called
    /// with the URI's arguments (through every check and gate of a tool call, with this server's
    /// tokens) and the file comes back whole, whatever the inline limit.
    pub async fn read(&self, uri: &str) -> Result<ReadResourceResult, ErrorData> {
        let found = self.listed.iter().find_map(|d| {
            let spec = d.entry.file.as_ref()?;
            Some((d, spec, files::args_of(uri, &d.path, &d.shape)?))
        });
        let Some((def, spec, args)) = found else {
            return Err(ErrorData::resource_not_found(
                format!("no file of this server has the URI {uri}"),
                None,
            ));
        };
        let text_of = |r: &rmcp::model::CallToolResult| {
            r.content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let prepared = self
            .caller
            .prepare(&self.catalog, def, args)
            .map_err(|r| ErrorData::invalid_params(text_of(&r), None))?;
        let Ok(_slot) = self.slots.acquire().await else {
            return Err(ErrorData::internal_error(
                "the server is shutting down",
                None,
            ));
        };
        let outcome = self
            .caller
            .send(prepared, None)
            .await
            .map_err(|r| ErrorData::internal_error(text_of(&r), None))?;
        let file = match &outcome.body {
            OutcomeBody::Json(v) => File::from_answer(v, spec),
            _ => None,
        };
        let file = file.ok_or_else(|| {
            ErrorData::internal_error(
                format!(
                    "the TrekMail API answered {uri} without a file in `{}`",
                    spec.content
                ),
                None,
            )
        })?;
        Ok(ReadResourceResult::new(vec![file.contents(uri)]))
    }

    /// The URI templates of the listed file tools (RFC 6570), e.g.
    /// `trekmail://messages/{uid}/attachments/{index}{?folder,external_account_id}`.
    pub fn resource_templates(&self) -> Vec<ResourceTemplate> {
        self.listed
            .iter()
            .filter(|d| d.entry.file.is_some())
            .map(|d| {
                let query: Vec<&str> = d
                    .shape
                    .args
                    .iter()
                    .filter_map(|a| match &a.target {
                        crate::schema::Target::Query(q) => Some(q.as_str()),
                        _ => None,
                    })
                    .collect();
                let q = if query.is_empty() {
                    String::new()
                } else {
                    format!("{{?{}}}", query.join(","))
                };
                let template = format!("{}{}{q}", files::SCHEME, d.path.trim_start_matches('/'));
                ResourceTemplate::new(template, d.entry.name.clone())
                    .with_title(d.entry.title.clone())
            })
            .collect()
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
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
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
        // Progress goes to the client only when it asked, with a progressToken.
        let progress = context.meta.get_progress_token().map(|token| {
            let peer = context.peer.clone();
            let sink: crate::progress::Sink = Arc::new(move |p| {
                let peer = peer.clone();
                tokio::spawn(async move {
                    if let Err(e) = peer.notify_progress(p).await {
                        tracing::debug!(error = %e, "progress notification not sent");
                    }
                });
            });
            Progress::new(token, sink)
        });
        let human = Human::of(&context.peer, context.protocol_version().as_ref());
        tokio::select! {
            r = self.call_with(&request.name, request.arguments, &human, progress.as_ref()) => r.map(Into::into),
            () = context.ct.cancelled() => Err(cancelled()),
            () = self.closing.cancelled() => Err(cancelled()),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        // Files are reached through tool results and the templates; there is nothing to list.
        Ok(ListResourcesResult::with_all_items(Vec::new()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            self.resource_templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        tokio::select! {
            r = self.read(&request.uri) => r.map(Into::into),
            () = context.ct.cancelled() => Err(cancelled()),
            () = self.closing.cancelled() => Err(cancelled()),
        }
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.find(name).map(|(_, t)| t.clone())
    }
}
