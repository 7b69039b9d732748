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
use trekmail_api::{ClientBuilder, Pool, RetryPolicy, TokenKind};

use crate::call::{Caller, token_kind};
use crate::catalog::{Catalog, ToolDef};
use crate::config::{Config, Secret};
use crate::gates::Switches;
use crate::idempotency::SecretKey;
use crate::map::TokenName;

/// The server: the tools of one set of tokens, over the process's [`Shared`] state. Cheap to
/// build per request ([`Shared::server`]) and to clone.
#[derive(Clone)]
pub struct TrekmailServer {
    catalog: Arc<Catalog>,
    listing: Arc<Listing>,
    caller: Arc<Caller>,
    /// Calls in flight at once (`TREKMAIL_MAX_CONCURRENT_CALLS`); the rest wait their turn.
    slots: Arc<tokio::sync::Semaphore>,
    /// Cancelled when the server stops serving (end of input): calls in flight stop at once.
    closing: CancellationToken,
}

/// The tools listed for one combination of tokens, and why the others are not.
struct Listing {
    listed: Vec<Arc<ToolDef>>,
    hidden: HashMap<String, String>,
}

/// The TrekMail tokens of one server: the environment's, or those of one HTTP request.
#[derive(Clone, Default)]
pub struct Tokens {
    /// `tm_live_…`.
    pub ops: Option<Secret>,
    /// `tm_msg_…`.
    pub message: Option<Secret>,
}

/// Where tokens come from, for the messages that say which one is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `TREKMAIL_API_TOKEN` / `TREKMAIL_MESSAGE_TOKEN`.
    Environment,
    /// Each HTTP request's `Authorization` (and `X-TrekMail-Message-Token`) header.
    Request,
}

impl TokenSource {
    /// How to supply a token of `kind`.
    pub fn how(self, kind: TokenKind) -> String {
        match self {
            Self::Environment => kind.env_var().to_owned(),
            Self::Request => format!(
                "a {}… token in this request's Authorization header{}",
                kind.prefix(),
                match kind {
                    TokenKind::Message => " (or X-TrekMail-Message-Token beside an ops token)",
                    TokenKind::Ops => "",
                }
            ),
        }
    }
}

/// What every server of one process shares: the catalogue, the operator's settings, the
/// connection pool to the API and the call slots. Building a [`TrekmailServer`] from it for a
/// set of tokens costs a few small allocations: no connection, no TLS set-up, no catalogue walk.
#[derive(Clone)]
pub struct Shared {
    catalog: Arc<Catalog>,
    pool: Pool,
    switches: Switches,
    source: TokenSource,
    /// Indexed by [`Shared::index`]: one listing per combination of tokens present.
    listings: [Arc<Listing>; 4],
    slots: Arc<tokio::sync::Semaphore>,
    closing: CancellationToken,
}

impl Shared {
    /// The shared state for `config`; `source` says where the tokens will come from.
    pub fn new(
        config: &Config,
        catalog: Catalog,
        retry: RetryPolicy,
        source: TokenSource,
    ) -> Result<Self, String> {
        let mut b = ClientBuilder::new(&config.base_url)
            .user_agent(&config.user_agent)
            .timeout(config.timeout)
            .max_response_bytes(config.max_response_bytes)
            .retry_policy(retry);
        if let Some(pem) = &config.ca_cert_pem {
            b = b.root_certificate_pem(pem.clone());
        }
        let pool = b.build_pool().map_err(|e| e.to_string())?;
        let listings = [0, 1, 2, 3]
            .map(|i| Arc::new(listing(&catalog, config, source, i & 1 != 0, i & 2 != 0)));
        Ok(Self {
            catalog: Arc::new(catalog),
            pool,
            switches: Switches::from_config(config),
            source,
            listings,
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_calls)),
            closing: CancellationToken::new(),
        })
    }

    fn index(ops: bool, message: bool) -> usize {
        usize::from(ops) | (usize::from(message) << 1)
    }

    /// The server for `tokens`: exactly their tools, their clients, their idempotency secret.
    pub fn server(&self, tokens: &Tokens) -> Result<TrekmailServer, String> {
        // Neither token may reach the agent, whichever client's answer echoes it.
        let redact: Vec<String> = [&tokens.ops, &tokens.message]
            .into_iter()
            .flatten()
            .map(|t| t.expose().to_owned())
            .collect();
        let client = |t: &Option<Secret>| {
            t.as_ref()
                .map(|t| self.pool.client(Some(t.expose()), &redact))
                .transpose()
                .map_err(|e| e.to_string())
        };
        let caller = Caller {
            ops: client(&tokens.ops)?,
            message: client(&tokens.message)?,
            switches: self.switches,
            secret: SecretKey::from_tokens(&redact.iter().map(String::as_str).collect::<Vec<_>>()),
            source: self.source,
        };
        Ok(TrekmailServer {
            catalog: Arc::clone(&self.catalog),
            listing: Arc::clone(
                &self.listings[Self::index(tokens.ops.is_some(), tokens.message.is_some())],
            ),
            caller: Arc::new(caller),
            slots: Arc::clone(&self.slots),
            closing: self.closing.clone(),
        })
    }

    /// The token that stops every call in flight when cancelled.
    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }
}

/// Which tools `config` lists when the given tokens are present, and why the rest are not.
fn listing(
    catalog: &Catalog,
    config: &Config,
    source: TokenSource,
    ops: bool,
    message: bool,
) -> Listing {
    let mut listed = Vec::new();
    let mut hidden = HashMap::new();
    for def in catalog.tools() {
        let e = &def.entry;
        let has_token = match e.token {
            TokenName::Ops => ops,
            TokenName::Message => message,
        };
        let why = if !has_token {
            Some(format!("needs {}", source.how(token_kind(e.token))))
        } else if config
            .toolsets
            .as_ref()
            .is_some_and(|t| !t.contains(&e.toolset))
        {
            Some(format!(
                "its toolset `{}` is not in TREKMAIL_TOOLSETS",
                e.toolset
            ))
        } else if config.read_only && !e.annotations.read_only {
            Some("TREKMAIL_READ_ONLY is on and this tool changes data".into())
        } else {
            None
        };
        match why {
            Some(w) => {
                hidden.insert(e.name.clone(), w);
            }
            None => listed.push(Arc::clone(def)),
        }
    }
    Listing { listed, hidden }
}

const INSTRUCTIONS: &str = "Tools for the TrekMail email-hosting API. Ops tools (domains, DNS, mailboxes, aliases, filters, migrations, SMTP, billing...) use the account token; message tools (messages, folders, contacts, calendar...) act on one mailbox with its message token. Destructive, sending and migration tools only work when the operator has enabled them, and some also need a confirmation argument set to true: check with the user before setting it. Writes are idempotent: repeating a call with the same arguments does not repeat its effect.";

impl TrekmailServer {
    /// A server for `config`, with the default retry policy.
    pub fn new(config: &Config, catalog: Catalog) -> Result<Self, String> {
        Self::with_retry(config, catalog, RetryPolicy::default())
    }

    /// A server for `config` with a given retry policy (tests use one that does not sleep).
    pub fn with_retry(
        config: &Config,
        catalog: Catalog,
        retry: RetryPolicy,
    ) -> Result<Self, String> {
        Shared::new(config, catalog, retry, TokenSource::Environment)?.server(&Tokens {
            ops: config.ops_token.clone(),
            message: config.message_token.clone(),
        })
    }

    /// The token that stops every call in flight when cancelled (the stdio transport cancels
    /// it at end of input).
    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// The tools this configuration lists, in order.
    pub fn tools(&self) -> Vec<Tool> {
        self.listing.listed.iter().map(|d| d.tool.clone()).collect()
    }

    fn find(&self, name: &str) -> Option<&Arc<ToolDef>> {
        self.listing.listed.iter().find(|d| d.entry.name == name)
    }

    /// Calls a tool by name: `Err` only for a tool that is not listed.
    pub async fn call(
        &self,
        name: &str,
        args: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<rmcp::model::CallToolResult, ErrorData> {
        let Some(def) = self.find(name) else {
            let msg = match self.listing.hidden.get(name) {
                Some(why) => format!("tool `{name}` is not available: {why}"),
                None => format!("unknown tool `{name}`"),
            };
            return Err(ErrorData::invalid_params(msg, None));
        };
        // Waiting for a slot is part of the call: a cancellation ends the wait too.
        let Ok(_slot) = self.slots.acquire().await else {
            return Err(ErrorData::internal_error(
                "the server is shutting down",
                None,
            ));
        };
        Ok(self
            .caller
            .call(&self.catalog, def, args.unwrap_or_default())
            .await)
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
            .with_instructions(INSTRUCTIONS)
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
        tokio::select! {
            r = self.call(&request.name, request.arguments) => r.map(Into::into),
            () = context.ct.cancelled() => Err(cancelled()),
            () = self.closing.cancelled() => Err(cancelled()),
        }
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.find(name).map(|d| d.tool.clone())
    }
}
