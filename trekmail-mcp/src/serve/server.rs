//! The MCP server: lists the tools this configuration enables and routes calls to [`Caller`].

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ResourceTemplate,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use tokio_util::sync::CancellationToken;
use trekmail_api::{ClientBuilder, Deadline, OutcomeBody, Pool, RetryPolicy};

use crate::call::approvals::{Approvals, CallerSeal, StateKeys};
use crate::call::audit::{self, AuditLog, Trail};
use crate::call::files::{self, File};
use crate::call::gates::{self, Switches};
use crate::call::human::{self, Approval, Ask, Decision, Human, HumanConfirm, Sealing};
use crate::call::idempotency::Keys;
use crate::call::intents::{IntentMemory, ProcessMemory};
use crate::call::metrics::Metrics;
use crate::call::outbound;
use crate::call::payments;
use crate::call::progress::Progress;
use crate::call::send_rate::{Budget, ProcessBudget, SendRateLimit, SharedBudget};
use crate::call::shelf::Shelf;
use crate::call::state::{SharedIntents, Store};
use crate::call::tokens::Secret;
use crate::call::tokens::{TokenSource, Tokens};
use crate::call::trace::TraceContext;
use crate::call::upload::Context as Upload;
use crate::call::verdict::Rule;
use crate::call::{Caller, Finished, Refused};
use crate::catalog::{Catalog, ToolDef};
use crate::serve::Config;
use crate::serve::scopes::{self, ScopeCache, Scopes};
use crate::serve::{instructions, selection};

/// The server: the tools of one set of tokens, over the process's [`Shared`] state. Cheap to
/// build per request ([`Shared::server`]) and to clone.
#[derive(Clone)]
pub struct TrekmailServer {
    catalog: Arc<Catalog>,
    listing: Arc<Listing>,
    /// `TREKMAIL_HUMAN_CONFIRM`.
    human_confirm: HumanConfirm,
    /// Seals and checks input-required approvals (the process's).
    approvals: Arc<Approvals>,
    /// Who calls, for binding an approval to its caller.
    caller_seal: CallerSeal,
    caller: Arc<Caller>,
    /// Over stdio with scope awareness on: `listing` narrowed by what the tokens grant, learnt
    /// at the first request that depends on it ([`TrekmailServer::learn_scopes_later`]).
    narrowed: Option<Arc<tokio::sync::OnceCell<Arc<Listing>>>>,
    /// Calls in flight at once (`TREKMAIL_MAX_CONCURRENT_CALLS`); the rest wait their turn.
    slots: Arc<tokio::sync::Semaphore>,
    /// Cancelled when the server stops serving (end of input): calls in flight stop at once.
    closing: CancellationToken,
}

/// The tools listed for one combination of tokens, why the others are not, and the
/// instructions generated for them.
struct Listing {
    listed: Vec<Arc<ToolDef>>,
    hidden: HashMap<String, String>,
    /// Generated from the configuration.
    instructions: String,
    /// The configuration it was built for (tokens as stand-ins), to narrow it by scopes.
    config: Config,
}

impl Listing {
    /// The definitions as listed, made for each listing from each tool's (cached) definition: a
    /// second copy kept for the whole session would only save the copies of a few strings.
    fn tools(&self) -> Vec<Tool> {
        self.listed.iter().map(|def| self.tool(def)).collect()
    }

    /// `def`'s definition as listed here: a disabled tool's description says so, and the
    /// outbound policy is named.
    fn tool(&self, def: &ToolDef) -> Tool {
        let switches = self.config.switches();
        let mut tool = def.tool().clone();
        if let Some(g) = selection::disabled_by(def, &switches) {
            let d = tool.description.as_deref().unwrap_or_default();
            tool.description = Some(format!("{d}{}", gates::disabled_note(g, d)).into());
        }
        let policy = outbound::policy_note(
            def,
            self.config.send_to.as_ref(),
            self.config.send_rate.as_ref(),
            self.config.drafts_only,
        );
        if !policy.is_empty() {
            let d = tool.description.as_deref().unwrap_or_default();
            tool.description = Some(format!("{d}{policy}").into());
        }
        tool
    }

    /// This listing without the tools `scopes` say the tokens cannot use, each hidden with the
    /// scope it lacks; the instructions follow what stays listed.
    fn narrowed(&self, scopes: &Scopes) -> Result<Listing, String> {
        let mut listed = Vec::new();
        let mut hidden = self.hidden.clone();
        for def in &self.listed {
            let why = def
                .head
                .capabilities
                .as_ref()
                .and_then(|c| scopes.hides(def.head.token, c));
            match why {
                Some(w) => {
                    hidden.insert(def.head.name.to_string(), w);
                }
                None => listed.push(Arc::clone(def)),
            }
        }
        let instructions = instructions::build(&self.config, &listed)?;
        Ok(Listing {
            listed,
            hidden,
            instructions,
            config: self.config.clone(),
        })
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
    /// `TREKMAIL_MAX_INLINE_BYTES`.
    max_inline_bytes: u64,
    /// `TREKMAIL_SEND_TO`.
    send_to: Option<Arc<crate::call::outbound::SendTo>>,
    /// `TREKMAIL_SEND_RATE` and its budget: one per deployment (the shared store's) or process.
    send_rate: Option<Arc<SendRateLimit>>,
    human_confirm: HumanConfirm,
    /// Indexed by [`Shared::index`]: one listing per combination of tokens present, made when
    /// a server for that combination is first built.
    listings: Arc<[std::sync::OnceLock<Arc<Listing>>; 4]>,
    /// The configuration the listings are made for.
    config: Arc<Config>,
    slots: Arc<tokio::sync::Semaphore>,
    closing: CancellationToken,
    /// Callers' listings narrowed by their tokens' scopes (callers' tokens over HTTP, with
    /// `TREKMAIL_SCOPE_AWARE` on).
    scope_cache: Option<Arc<ScopeCache<Listing>>>,
    /// Linked files waiting for their resources/read, per caller.
    shelf: Arc<Shelf>,
    /// Every caller's memory of recent writes: it outlives the servers built per request.
    intents: Arc<dyn IntentMemory>,
    /// The process's counters (`GET /metrics`).
    metrics: Arc<Metrics>,
    /// `TREKMAIL_STATE_URL`.
    store: Option<Arc<Store>>,
    /// `TREKMAIL_AUDIT_LOG`.
    audit: Option<Arc<AuditLog>>,
    /// `TREKMAIL_UPLOAD_DIR` over stdio: where uploads read from and how their bytes travel.
    upload: Option<Arc<Upload>>,
    /// Input-required approvals: sealed with `TREKMAIL_STATE_KEY_FILE`'s keys (or a random key
    /// of this process), used ids remembered in the store when there is one.
    approvals: Arc<Approvals>,
}

impl Shared {
    /// The shared state for `config`; `source` says where the tokens will come from. `Err`
    /// lists the problems, one a line (unknown tool names).
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
        let switches = config.switches();
        let audit = match &config.audit_log {
            Some(d) => Some(Arc::new(AuditLog::open(d.clone())?)),
            None => None,
        };
        let metrics: Arc<Metrics> = Arc::default();
        let store = match &config.state {
            Some(state) => Some(Arc::new(
                Store::new(state, config.timeout, Arc::clone(&metrics)).map_err(|e| e.0)?,
            )),
            None => None,
        };
        let intents: Arc<dyn IntentMemory> = match (&store, &config.state) {
            (Some(store), Some(state)) => {
                Arc::new(SharedIntents::new(Arc::clone(store), state.required))
            }
            _ => Arc::new(ProcessMemory::default()),
        };
        let keys = config.state_keys.clone().unwrap_or_else(StateKeys::random);
        let approvals = Arc::new(Approvals::new(
            &keys,
            config.approval_ttl,
            store.clone(),
            config.state.as_ref().is_some_and(|s| !s.required),
        )?);
        // Over HTTP no tool reads the server's disk (`stdio_only`): no context, whatever is set.
        let upload = config
            .upload_dir
            .clone()
            .filter(|_| config.http.is_none())
            .map(|dirs| {
                Arc::new(Upload {
                    dirs,
                    http: pool.http().clone(),
                    base_url: config.base_url.clone(),
                })
            });
        Ok(Self {
            catalog: Arc::new(catalog),
            pool,
            switches,
            source,
            max_inline_bytes: config.max_inline_bytes,
            shelf: Arc::default(),
            send_to: config.send_to.clone().map(Arc::new),
            send_rate: config.send_rate.map(|rate| {
                let budget: Arc<dyn Budget> = match (&store, &config.state) {
                    (Some(store), Some(state)) => {
                        Arc::new(SharedBudget::new(Arc::clone(store), state.required))
                    }
                    _ => Arc::new(ProcessBudget::default()),
                };
                Arc::new(SendRateLimit { rate, budget })
            }),
            human_confirm: config.human_confirm,
            listings: Arc::default(),
            config: Arc::new(config.clone()),
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_calls)),
            closing: CancellationToken::new(),
            scope_cache: (config.scope_aware && source == TokenSource::Request).then(|| {
                Arc::new(ScopeCache::new(
                    scopes::CACHE_TTL,
                    scopes::CACHE_MAX_ENTRIES,
                ))
            }),
            metrics,
            intents,
            store,
            upload,
            approvals,
            audit,
        })
    }

    /// The audit trail (`TREKMAIL_AUDIT_LOG`), to reopen on SIGHUP.
    pub fn audit_log(&self) -> Option<Arc<AuditLog>> {
        self.audit.clone()
    }

    /// The shared state store (`TREKMAIL_STATE_URL`), for other shared state to use.
    pub fn store(&self) -> Option<&Arc<Store>> {
        self.store.as_ref()
    }

    /// [`Shared::server`] for one caller's tokens, listing only what their scopes allow: the
    /// scopes are asked once per caller and kept for [`scopes::CACHE_TTL`] under an HMAC of the
    /// tokens. A failed lookup lists everything (the API still refuses what a token lacks) and
    /// is kept as long, so a caller costs at most one lookup per TTL.
    pub async fn caller_server(&self, tokens: &Tokens) -> Result<TrekmailServer, String> {
        let mut server = self.server(tokens)?;
        let Some(cache) = &self.scope_cache else {
            return Ok(server);
        };
        let key = cache.key_of(
            tokens.ops.as_ref().map(Secret::expose),
            tokens.message.as_ref().map(Secret::expose),
        );
        if let Some(listing) = cache.get(&key, std::time::Instant::now()) {
            server.listing = listing;
            return Ok(server);
        }
        let problems = server.learn_scopes().await?;
        for p in problems {
            tracing::warn!("a caller's token scopes are unknown, every tool is listed: {p}");
        }
        cache.put(key, Arc::clone(&server.listing), std::time::Instant::now());
        Ok(server)
    }

    /// The same state with its intent memory in `intents` (a shared store).
    #[must_use]
    pub fn with_intents(mut self, intents: Arc<dyn IntentMemory>) -> Self {
        self.intents = intents;
        self
    }

    fn index(ops: bool, message: bool) -> usize {
        usize::from(ops) | (usize::from(message) << 1)
    }

    /// The server for `tokens`: exactly their tools, their clients, their idempotency secrets.
    /// Its memory of recent writes is the process's (or the shared store's), per token.
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
            secret: Keys::for_tokens(
                tokens.ops.as_ref().map(Secret::expose),
                tokens.message.as_ref().map(Secret::expose),
            ),
            intents: Arc::clone(&self.intents),
            source: self.source,
            max_inline_bytes: self.max_inline_bytes,
            shelf: (
                Arc::clone(&self.shelf),
                self.shelf.caller(
                    tokens.ops.as_ref().map(Secret::expose),
                    tokens.message.as_ref().map(Secret::expose),
                ),
            ),
            metrics: Arc::clone(&self.metrics),
            send_to: self.send_to.clone(),
            // A caller's own token is named in the trail by an HMAC; the operator's tokens are
            // the same for every line and not named.
            audit: self.audit.as_ref().map(|log| {
                let id = |t: &Option<Secret>| {
                    (self.source == TokenSource::Request)
                        .then(|| t.as_ref().map(|t| audit::caller_id(t.expose())))
                        .flatten()
                };
                Trail {
                    log: Arc::clone(log),
                    ops: id(&tokens.ops),
                    message: id(&tokens.message),
                }
            }),
            upload: self.upload.clone(),
            send_rate: self.send_rate.clone(),
            timeout: self.config.timeout,
        };
        let (ops, message) = (tokens.ops.is_some(), tokens.message.is_some());
        let slot = &self.listings[Self::index(ops, message)];
        let listing = match slot.get() {
            Some(l) => Arc::clone(l),
            None => {
                let l = Arc::new(listing(
                    &self.catalog,
                    &self.config,
                    self.source,
                    ops,
                    message,
                )?);
                Arc::clone(slot.get_or_init(|| l))
            }
        };
        Ok(TrekmailServer {
            catalog: Arc::clone(&self.catalog),
            listing,
            human_confirm: self.human_confirm,
            approvals: Arc::clone(&self.approvals),
            caller_seal: CallerSeal::of(tokens),
            caller: Arc::new(caller),
            narrowed: None,
            slots: Arc::clone(&self.slots),
            closing: self.closing.clone(),
        })
    }

    /// The token that stops every call in flight when cancelled.
    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// The process's counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }
}

/// What `config` lists when the given tokens are present (the selection reads only whether a
/// token is set, so a stand-in marks it), and why the rest are not.
fn listing(
    catalog: &Catalog,
    config: &Config,
    source: TokenSource,
    ops: bool,
    message: bool,
) -> Result<Listing, String> {
    let mut config = config.clone();
    config.ops_token = ops.then(|| Secret::new("tm_live_present"));
    config.message_token = message.then(|| Secret::new("tm_msg_present"));
    let mut listed = Vec::new();
    let mut hidden = HashMap::new();
    for def in catalog
        .tools()
        .iter()
        .filter(|d| selection::exists(d, &config))
    {
        let why = if selection::has_token(&config, def.head.token) {
            selection::hidden_because(def, &config)
        } else {
            Some(format!("needs {}", source.how(def.head.token)))
        };
        match why {
            Some(w) => {
                hidden.insert(def.head.name.to_string(), w);
            }
            None => listed.push(Arc::clone(def)),
        }
    }
    let instructions = instructions::build(&config, &listed)?;
    Ok(Listing {
        listed,
        hidden,
        instructions,
        config,
    })
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

    /// Asks the API what the tokens grant and lists only the tools they can use. Returns what
    /// could not be learnt (one line per token whose lookup failed: for that token every tool
    /// stays listed); `Err` only if the instructions cannot be built.
    pub async fn learn_scopes(&mut self) -> Result<Vec<String>, String> {
        let (scopes, problems) =
            scopes::lookup_all(self.caller.ops.as_ref(), self.caller.message.as_ref()).await;
        if scopes.known() {
            self.listing = Arc::new(self.listing.narrowed(&scopes)?);
        }
        Ok(problems)
    }

    /// [`TrekmailServer::learn_scopes`] at the first `tools/list`, call or resource request
    /// instead of now: `initialize` is answered without waiting for the API (its instructions
    /// follow the configuration's selection), and a session that only starts asks nothing.
    /// What could not be learnt is logged once.
    pub fn learn_scopes_later(&mut self) {
        self.narrowed = Some(Arc::default());
    }

    /// Waits for [`TrekmailServer::learn_scopes_later`]'s lookup (the first caller makes it).
    async fn scopes_learnt(&self) {
        let Some(cell) = &self.narrowed else {
            return;
        };
        if cell.initialized() {
            return;
        }
        // Boxed: rmcp moves every request's handler future, sized for the largest, into a task.
        Box::pin(self.learn_into(cell)).await;
    }

    async fn learn_into(&self, cell: &tokio::sync::OnceCell<Arc<Listing>>) {
        cell.get_or_init(|| async {
            let mut server = self.clone();
            server.narrowed = None;
            match server.learn_scopes().await {
                Ok(problems) => scopes::warn_unlearnt(&problems),
                Err(e) => tracing::warn!("the listing could not be narrowed by scopes: {e}"),
            }
            server.listing
        })
        .await;
    }

    /// The listing requests see: narrowed by scopes once they are learnt.
    fn current(&self) -> &Listing {
        self.narrowed
            .as_deref()
            .and_then(tokio::sync::OnceCell::get)
            .unwrap_or(&self.listing)
    }

    /// The tools not listed and why, by name.
    pub fn hidden(&self) -> &HashMap<String, String> {
        &self.current().hidden
    }

    /// The audit trail (`TREKMAIL_AUDIT_LOG`), to reopen on SIGHUP.
    pub fn audit_log(&self) -> Option<Arc<AuditLog>> {
        self.caller.audit.as_ref().map(|t| Arc::clone(&t.log))
    }

    /// Forgets the writes remembered for telling retries from new intents, as a restart would.
    pub fn forget_recent_writes(&self) {
        self.caller.intents.forget();
    }

    /// The tools this configuration lists, in order.
    pub fn tools(&self) -> Vec<Tool> {
        self.current().tools()
    }

    /// The definitions this configuration lists, in order.
    pub fn listed(&self) -> &[Arc<ToolDef>] {
        &self.current().listed
    }

    /// The whole catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The server's instructions for the agent.
    pub fn instructions(&self) -> &str {
        &self.listing.instructions
    }

    /// The listed tool `name` and its position in the listing.
    fn find(&self, name: &str) -> Option<(usize, &Arc<ToolDef>)> {
        let l = self.current();
        let i = l.listed.iter().position(|d| d.head.name == name)?;
        Some((i, &l.listed[i]))
    }

    /// Calls a tool by name for a client that cannot ask its user: `Err` only for a tool that
    /// is not listed.
    pub async fn call(
        &self,
        name: &str,
        args: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<CallToolResult, ErrorData> {
        complete(
            self.call_with(name, args, &Human::Unreachable, None, None)
                .await,
        )
    }

    /// [`TrekmailServer::call`], telling `progress` while the call waits for a free slot or
    /// before it tries again.
    pub async fn call_with_progress(
        &self,
        name: &str,
        args: Option<serde_json::Map<String, serde_json::Value>>,
        progress: Option<&Progress>,
    ) -> Result<CallToolResult, ErrorData> {
        complete(
            self.call_with(name, args, &Human::Unreachable, progress, None)
                .await,
        )
    }

    /// Calls a tool by name; a guarded call may first ask `human` (`TREKMAIL_HUMAN_CONFIRM`):
    /// over a 2026-07-28 client the answer can be the question itself (input required),
    /// `progress` hears of waits (for a slot, before a retry), and `trace` (the client's W3C
    /// trace context) goes on to the API and into the call's log lines. Every call's outcome
    /// passes [`Caller::finish`] here: the metrics and the audit trail.
    pub async fn call_with(
        &self,
        name: &str,
        args: Option<serde_json::Map<String, serde_json::Value>>,
        human: &Human,
        progress: Option<&Progress>,
        trace: Option<&TraceContext>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = args.unwrap_or_default();
        let Some((_, def)) = self.find(name) else {
            let msg = match self.current().hidden.get(name) {
                Some(why) => format!("tool `{name}` is not available: {why}"),
                None => format!("unknown tool `{name}`"),
            };
            let def = self.catalog.get(name).map(|d| &**d);
            let target = def.map(|d| audit::target(d, &args)).unwrap_or_default();
            let refused = Refused::new(Rule::ToolNotListed, msg.clone());
            self.caller.finish(def, target, &refused.finished(), trace);
            return Err(ErrorData::invalid_params(msg, None));
        };
        let metrics = &self.caller.metrics;
        let _in_flight = metrics.start();
        let started = std::time::Instant::now();
        let target = match &self.caller.audit {
            Some(_) => audit::target(def, &args),
            None => serde_json::Map::new(),
        };
        // The call's log lines carry the client's trace id.
        let span = trace.map_or_else(
            tracing::Span::none,
            |t| tracing::info_span!("call", trace_id = %t.trace_id()),
        );
        let step = tracing::Instrument::instrument(
            self.call_listed(def, args, human, progress, trace),
            span,
        )
        .await;
        let outcome = match &step {
            Ok(Step::Asking(_)) => "input_required",
            Ok(Step::Finished(f)) if f.result.is_error != Some(true) => "ok",
            _ => "error",
        };
        metrics.call(&def.entry.name, outcome, started.elapsed());
        match step {
            // A question is no outcome yet: the call comes back with the answer.
            Ok(Step::Asking(question)) => Ok(question.into()),
            Ok(Step::Finished(f)) => {
                self.caller.finish(Some(def), target, &f, trace);
                Ok(f.result.into())
            }
            Err(e) => {
                let refused = Refused::new(Rule::ShuttingDown, e.message.to_string());
                self.caller
                    .finish(Some(def), target, &refused.finished(), trace);
                Err(e)
            }
        }
    }

    async fn call_listed(
        &self,
        def: &ToolDef,
        args: serde_json::Map<String, serde_json::Value>,
        human: &Human,
        progress: Option<&Progress>,
        trace: Option<&TraceContext>,
    ) -> Result<Step, ErrorData> {
        // The call's one deadline, from its start: the state store's decisions and the API
        // request with its retries share it. Only waiting for a person (an elicitation) or for
        // a free slot, not the call's own work, starts it again.
        let mut deadline = Deadline::after(self.caller.timeout);
        // Switches and confirmation first: a refused call asks nobody.
        let mut prepared = match self.caller.prepare(def, args) {
            Ok(p) => p,
            Err(refused) => return Ok(Step::Finished(refused.finished())),
        };
        prepared.trace = trace.cloned();
        // A payment asks the user itself, whatever TREKMAIL_HUMAN_CONFIRM says, with the price;
        // its call without the credential only asks the price.
        let pays = payments::credential(def, &prepared.args).is_some();
        prepared.approval = if pays {
            // Asked by the payment itself, once the price is known.
            None
        } else if prepared.guarded() && def.entry.payment.is_none() {
            let sealing = Sealing {
                approvals: &self.approvals,
                caller: &self.caller_seal,
            };
            let ask = Ask::guarded(def, &prepared.args);
            Some(
                match human::confirm(
                    self.human_confirm,
                    human,
                    sealing,
                    def,
                    &prepared.args,
                    &ask,
                    deadline,
                )
                .await
                {
                    Decision::Proceed(a) => {
                        if a == Approval::Elicitation {
                            deadline = deadline.restarted();
                        }
                        a
                    }
                    Decision::Refuse { why, rule } => {
                        return Ok(Step::Finished(prepared.refused(Refused::new(rule, why))));
                    }
                    Decision::InputRequired(question) => return Ok(Step::Asking(question)),
                },
            )
        } else {
            Some(Approval::NotGuarded)
        };
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
                let slot = self.slots.acquire().await;
                deadline = deadline.restarted();
                slot
            }
        };
        let Ok(_slot) = slot else {
            return Err(ErrorData::internal_error(
                "the server is shutting down",
                None,
            ));
        };
        if pays {
            let sealing = Sealing {
                approvals: &self.approvals,
                caller: &self.caller_seal,
            };
            return Ok(
                match payments::pay(&self.caller, prepared, human, sealing, progress, deadline)
                    .await
                {
                    payments::Paid::Finished(f) => Step::Finished(f),
                    payments::Paid::Asking(q) => Step::Asking(q),
                },
            );
        }
        Ok(Step::Finished(
            self.caller.execute(prepared, progress, deadline).await,
        ))
    }
}

/// Where a call stands when its handler returns: finished (sent, failed or refused), or asking
/// the user (an input-required result; the call comes back with the answer).
enum Step {
    Finished(Finished),
    Asking(rmcp::model::InputRequiredResult),
}

/// The complete result of a call made without a client to ask: such a call is never answered
/// with a question.
fn complete(r: Result<CallToolResponse, ErrorData>) -> Result<CallToolResult, ErrorData> {
    match r? {
        CallToolResponse::Complete(r) => Ok(r),
        _ => Err(ErrorData::internal_error(
            "the call asked for input from a client that cannot give it",
            None,
        )),
    }
}

impl TrekmailServer {
    /// resources/read of a `trekmail://` URI: the file tool whose path the URI names is called
    /// with the URI's arguments (through every check and gate of a tool call, with this server's
    /// tokens) and the file comes back whole, whatever the inline limit.
    pub async fn read(&self, uri: &str) -> Result<ReadResourceResult, ErrorData> {
        let found = self.listed().iter().find_map(|d| {
            let spec = d.entry.file.as_ref()?;
            Some((d, spec, files::args_of(uri, &d.path, d.shape())?))
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
        let target = audit::target(def, &args);
        let prepared = match self.caller.prepare(def, args) {
            Ok(p) => p,
            Err(refused) => {
                let finished = refused.finished();
                self.caller.finish(Some(def), target, &finished, None);
                return Err(ErrorData::invalid_params(text_of(&finished.result), None));
            }
        };
        let (shelf, caller) = &self.caller.shelf;
        if let Some(file) = shelf.take(caller, uri, std::time::Instant::now()) {
            return Ok(ReadResourceResult::new(vec![file.into_contents(uri)]));
        }
        let Ok(_slot) = self.slots.acquire().await else {
            return Err(ErrorData::internal_error(
                "the server is shutting down",
                None,
            ));
        };
        let deadline = Deadline::after(self.caller.timeout);
        let outcome = self
            .caller
            .send(prepared, None, deadline)
            .await
            .0
            .map_err(|r| ErrorData::internal_error(text_of(&r), None))?;
        let file = match (outcome.body, self.caller.client(def.entry.token)) {
            (OutcomeBody::Json(v), Some(client)) => File::from_answer(v, spec, client).ok(),
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
        Ok(ReadResourceResult::new(vec![file.into_contents(uri)]))
    }

    /// The URI templates of the listed file tools (RFC 6570), e.g.
    /// `trekmail://messages/{uid}/attachments/{index}{?folder,external_account_id}`.
    pub fn resource_templates(&self) -> Vec<ResourceTemplate> {
        self.listed()
            .iter()
            .filter(|d| d.entry.file.is_some())
            .map(|d| {
                let query: Vec<&str> = d
                    .shape()
                    .args
                    .iter()
                    .filter_map(|a| match &a.target {
                        crate::catalog::schema::Target::Query(q) => Some(q.as_str()),
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
        .with_instructions(self.listing.instructions.clone())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.scopes_learnt().await;
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
            let sink: crate::call::progress::Sink = Arc::new(move |p| {
                let peer = peer.clone();
                tokio::spawn(async move {
                    if let Err(e) = peer.notify_progress(p).await {
                        tracing::debug!(error = %e, "progress notification not sent");
                    }
                });
            });
            Progress::new(token, sink)
        });
        self.scopes_learnt().await;
        let human = Human::of(&context, &request);
        let trace = TraceContext::parse(
            context.meta.get_traceparent(),
            context.meta.get_tracestate(),
        );
        tokio::select! {
            // Boxed: the call future is large and rmcp moves the handler future into a task per
            // request; boxing cut a call's instruction count by a quarter (callgrind).
            r = Box::pin(self.call_with(&request.name, request.arguments, &human, progress.as_ref(), trace.as_ref())) => r,
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
        self.scopes_learnt().await;
        Ok(ListResourceTemplatesResult::with_all_items(
            self.resource_templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.scopes_learnt().await;
        tokio::select! {
            // Boxed, as a call is: rmcp moves every request's handler future, sized for the
            // largest, into a task (callgrind: most of a call's memcpy).
            r = Box::pin(self.read(&request.uri)) => r.map(Into::into),
            () = context.ct.cancelled() => Err(cancelled()),
            () = self.closing.cancelled() => Err(cancelled()),
        }
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.find(name).map(|(_, def)| self.current().tool(def))
    }
}
