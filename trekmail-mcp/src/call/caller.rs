//! One tool call: check the arguments, the gates and the confirmation, then the generated
//! operation with its idempotency key, and shape the result.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rmcp::model::CallToolResult;
use serde_json::{Map, Value};
use trekmail_api::{Client, Deadline, Outcome, TokenKind};

use crate::call::audit::{self, Trail};
use crate::call::files;
use crate::call::gates::{self, Switches};
use crate::call::human::Approval;
use crate::call::idempotency::{self, KeyPolicy, Keys};
use crate::call::intents::{Intent, IntentMemory};
use crate::call::metrics::Metrics;
use crate::call::outbound::{self, SendTo};
use crate::call::payments;
use crate::call::progress::Progress;
use crate::call::reissue;
use crate::call::results;
use crate::call::send_rate::SendRateLimit;
use crate::call::shelf::Shelf;
use crate::call::tokens::{TokenSource, TokenVariable as _};
use crate::call::trace::TraceContext;
use crate::call::upload;
use crate::call::verdict::{OutboundRule, Rule, Verdict};
use crate::call::wire;
use crate::catalog::ToolDef;
use crate::catalog::checks;
use crate::catalog::map::FlowKind;
use crate::catalog::schema::{IDEMPOTENCY_ARG, IdempotencyKey, Target};
use crate::catalog::truncate::cut;

/// Everything a call needs.
pub struct Caller {
    /// Client with the ops token, if configured.
    pub ops: Option<Client>,
    /// Client with the message token, if configured.
    pub message: Option<Client>,
    /// Safety switches.
    pub switches: Switches,
    /// Keys digests of secret arguments in idempotency keys, per token.
    pub secret: Keys,
    /// The last write per target and caller: a retry reuses its key, a new intent never does.
    pub intents: Arc<dyn IntentMemory>,
    /// Where the tokens come from, for the refusal that names a missing one.
    pub source: TokenSource,
    /// Files larger than this come as a `resource_link` (`TREKMAIL_MAX_INLINE_BYTES`).
    pub max_inline_bytes: u64,
    /// Linked files waiting for their resources/read, and this caller's key there.
    pub shelf: (Arc<Shelf>, [u8; 32]),
    /// The process's counters (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// `TREKMAIL_SEND_TO`: the only recipients outside the account, when set.
    pub send_to: Option<Arc<SendTo>>,
    /// `TREKMAIL_AUDIT_LOG`, and who this caller is in it.
    pub audit: Option<Trail>,
    /// `TREKMAIL_UPLOAD_DIR` over stdio: where upload flows read from; `None`, they refuse.
    pub upload: Option<Arc<upload::Context>>,
    /// `TREKMAIL_SEND_RATE`: the recipients allowed per hour or day, and where they are counted.
    pub send_rate: Option<Arc<SendRateLimit>>,
    /// `TREKMAIL_TIMEOUT_MS`: the length of each call's [`Deadline`].
    pub timeout: Duration,
}

impl Caller {
    pub(crate) fn client(&self, token: TokenKind) -> Option<&Client> {
        match token {
            TokenKind::Ops => self.ops.as_ref(),
            TokenKind::Message => self.message.as_ref(),
        }
    }

    fn missing(&self, kind: TokenKind) -> String {
        match self.source {
            TokenSource::Environment => format!("{} to be configured", kind.env_var()),
            TokenSource::Request => self.source.how(kind),
        }
    }

    /// Everything before the API: arguments, gates, confirmation, token and idempotency key.
    /// `Err` is the refusal the agent gets, with its rule; nothing was sent.
    #[allow(clippy::result_large_err)] // the refusal is the tool result itself, returned once per call
    pub fn prepare<'a>(
        &self,
        def: &'a ToolDef,
        mut args: Map<String, Value>,
    ) -> Result<Prepared<'a>, Refused> {
        let name = &def.entry.name;
        // Documented arguments the API ignores: accepted, never sent, and said so.
        let notes: Vec<String> = def
            .entry
            .ignored_args
            .iter()
            .filter(|a| args.remove(a.as_str()).is_some())
            .map(|a| format!("{a} was ignored and not sent: the API does not use it."))
            .collect();
        let problems = checks::problems(def, &args);
        if !problems.is_empty() {
            tracing::info!(tool = %name, problems = problems.len(), "invalid arguments");
            return Err(Refused::new(
                Rule::InvalidArguments,
                format!(
                    "Invalid arguments for {name}; nothing was sent:\n- {}",
                    listing(&problems)
                ),
            ));
        }
        if let Some(refusal) = gates::refusal(def, &args, &self.switches) {
            tracing::info!(tool = %name, "refused by safety gate");
            return Err(Refused::new(Rule::SafetyGate, refusal));
        }
        if let Some(policy) = &self.send_to
            && let Some(refusal) = outbound::refusal(policy, def, &args)
        {
            tracing::info!(tool = %name, rule = ?OutboundRule::SendTo, "refused by the outbound policy");
            return Err(Refused::new(Rule::Outbound(OutboundRule::SendTo), refusal));
        }
        if let Some(refusal) = payments::too_short(def, &args) {
            return Err(Refused::new(Rule::InvalidArguments, refusal));
        }
        if let Some(refusal) = payments::unconfirmed(def, &args) {
            return Err(Refused::new(Rule::PaymentConfirmation, refusal));
        }
        if let Some(c) = &def.entry.confirm
            && args.get(c) != Some(&Value::Bool(true))
        {
            return Err(Refused::new(
                Rule::ConfirmationArgument,
                format!(
                    "{name} needs {c}: true on the call to confirm it; nothing was sent. Check the arguments with the user, then call again with {c}: true."
                ),
            ));
        }
        if self.client(def.entry.token).is_none() {
            let kind = def.entry.token;
            return Err(Refused::new(
                Rule::TokenMissing,
                format!("{name} needs {}", self.missing(kind)),
            ));
        }
        // A flow's local file is opened and checked before anything is sent.
        let opened = match def.entry.flow.as_ref().map(|f| f.kind) {
            Some(FlowKind::Upload) => match upload::open(self.upload.as_deref(), name, &args) {
                Ok(o) => Some(o),
                Err(why) => {
                    tracing::info!(tool = %name, "upload refused: the path is not allowed");
                    return Err(Refused::new(Rule::UploadPath, why));
                }
            },
            None => None,
        };
        // An upload's intent is the file as it is now: a changed file is a new upload, not a
        // retry of the last one (which would replay its answer).
        let file_args = opened.as_ref().map(|o| upload::intent_args(&args, o));
        let key_args = file_args.as_ref().unwrap_or(&args);
        let (key, intent) = match def.writes().then(|| self.key(def, key_args)) {
            Some(Key::Given(k)) => (Some(k), None),
            Some(Key::Decide(i)) => (None, Some(i)),
            None => (None, None),
        };
        Ok(Prepared {
            def,
            args,
            key,
            intent,
            notes,
            request_id: uuid::Uuid::new_v4().to_string(),
            approval: None,
            trace: None,
            opened,
        })
    }

    /// The `Idempotency-Key` of a write: the caller's, or the intent the memory decides
    /// (a retry's key or a new intent's).
    fn key(&self, def: &ToolDef, args: &Map<String, Value>) -> Key {
        let name = &def.entry.name;
        // The caller's own key is sent as is and not remembered (the caller manages its keys).
        if let Some(given) = args
            .get(IDEMPOTENCY_ARG)
            .and_then(Value::as_str)
            .and_then(IdempotencyKey::new)
        {
            return Key::Given(given);
        }
        let mut excluded = vec![IDEMPOTENCY_ARG];
        excluded.extend(def.entry.confirm.as_deref());
        excluded.extend(def.entry.payment.as_ref().map(|p| p.confirm.as_str()));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let csv_secrets: Vec<&str> = def
            .entry
            .csv_columns
            .iter()
            .filter(|c| !c.secret.is_empty())
            .map(|c| c.arg.as_str())
            .collect();
        let policy = &KeyPolicy::of(def);
        let derived = idempotency::derive_masked(
            name,
            args,
            &excluded,
            policy,
            &csv_secrets,
            self.secret.get(def.entry.token),
            now,
        );
        let path_args: Map<String, Value> = def
            .shape()
            .args
            .iter()
            .filter(|a| matches!(a.target, Target::Path(_)))
            .filter_map(|a| Some((a.name.clone(), args.get(&a.name)?.clone())))
            .collect();
        let target = idempotency::target(name, path_args);
        let intent = self
            .secret
            .scope(def.entry.token)
            .intent(name, &target, derived);
        // A windowed key: the same arguments without `_t` tell a retry across a window boundary.
        Key::Decide(match policy.window_s() {
            Some(w) => {
                let windowless = policy.windowless();
                let same = idempotency::derive_masked(
                    name,
                    args,
                    &excluded,
                    &windowless,
                    &csv_secrets,
                    self.secret.get(def.entry.token),
                    now,
                );
                intent.windowed(same, Duration::from_secs(w))
            }
            None => intent,
        })
    }

    /// Records a write about to leave in the audit trail; `Err` is the refusal when the trail
    /// cannot record it (nothing may be sent). Reads and calls without a trail pass.
    #[allow(clippy::result_large_err)] // the refusal is the tool result itself, returned once per call
    pub fn record_attempt(&self, prepared: &Prepared<'_>) -> Result<(), Refused> {
        let def = prepared.def;
        let Some(trail) = self.audit.as_ref().filter(|_| def.writes()) else {
            return Ok(());
        };
        trail
            .log
            .write(&prepared.line(trail, audit::Outcome::ATTEMPTED))
            .map_err(|e| {
                tracing::error!(tool = %def.entry.name, error = %e, "write refused: the audit log cannot record it");
                Refused::new(
                    Rule::AuditUnavailable,
                    format!(
                        "{} was not sent: the audit log (TREKMAIL_AUDIT_LOG) cannot record it. Nothing was sent; the operator must fix the audit log.",
                        def.entry.name
                    ),
                )
            })
    }

    /// Decides a write's `Idempotency-Key` from its intent (a retry's key or a new one) by the
    /// call's `deadline`. `Err` is the refusal when the memory cannot tell in time: nothing was
    /// sent (its rule: [`Rule::IntentUndecided`]).
    #[allow(clippy::result_large_err)] // the refusal is the tool result itself, returned once per call
    pub async fn decide_key(
        &self,
        prepared: &mut Prepared<'_>,
        deadline: Deadline,
    ) -> Result<(), CallToolResult> {
        let Some(intent) = prepared.intent.take() else {
            return Ok(());
        };
        let name = &prepared.def.entry.name;
        match self.intents.decide(&intent, deadline).await {
            Ok(k) => {
                prepared.key = Some(k);
                Ok(())
            }
            Err(why) => {
                tracing::warn!(tool = %name, reason = %why.0, "write refused: its intent could not be decided");
                Err(results::refusal(format!(
                    "{name} was not sent: {}. Nothing was sent; this is temporary, retry the same call shortly.",
                    why.0
                )))
            }
        }
    }

    /// Sends a prepared call and shapes the answer; a write is recorded in the audit trail
    /// before it leaves, or refused. Every step, the state store's decisions and the API
    /// request with its retries, ends by `deadline`: the call's, counted from its start.
    pub async fn execute(
        &self,
        prepared: Prepared<'_>,
        progress: Option<&Progress>,
        deadline: Deadline,
    ) -> Finished {
        let mut prepared = prepared;
        let def = prepared.def;
        if let Err(result) = self.decide_key(&mut prepared, deadline).await {
            let refused = Refused {
                rule: Rule::IntentUndecided,
                result,
            };
            return prepared.refused(refused);
        }
        // Counted last, once every other check passed: a refusal before costs no budget.
        let ticket = match &self.send_rate {
            Some(limit) => match limit
                .take(
                    def,
                    outbound::recipient_count(def, &prepared.args),
                    deadline,
                )
                .await
            {
                Ok(t) => t,
                Err(refusal) => {
                    tracing::info!(tool = %def.entry.name, rule = ?OutboundRule::SendRate, "refused by the outbound policy");
                    return prepared.refused(Refused::new(
                        Rule::Outbound(OutboundRule::SendRate),
                        refusal,
                    ));
                }
            },
            None => None,
        };
        if let Err(refused) = self.record_attempt(&prepared) {
            if let (Some(limit), Some(t)) = (&self.send_rate, &ticket) {
                limit.budget.give_back(t, deadline).await;
            }
            return prepared.refused(refused);
        }
        if let Some(opened) = prepared.opened.take() {
            // Several requests (initiate, the parts, complete or abort): the line says whether
            // the upload completed.
            let result = self.upload(&prepared, &opened, progress, deadline).await;
            return Finished {
                verdict: Verdict::Flow {
                    completed: result.is_error != Some(true),
                },
                result: results::annotate(result, prepared.key.as_ref(), &prepared.notes),
                approval: prepared.approval,
                confirmed: prepared.confirmed(),
                key: prepared.key,
                request_id: Some(prepared.request_id),
            };
        }
        let uri = files::uri(&def.path, def.shape(), &prepared.args);
        let key = prepared.key.clone();
        let request_id = prepared.request_id.clone();
        let approval = prepared.approval;
        let confirmed = prepared.confirmed();
        let notes = prepared.notes.clone();
        let new_token = def.paths().new_token.as_ref();
        let (mut sent, verdict) = self.send(prepared, progress, deadline).await;
        // A re-issued key leaves the answer before anything reads it.
        let reissued = match (new_token, sent.as_mut()) {
            (Some(path), Ok(outcome)) => Some(reissue::take(outcome, path)),
            _ => None,
        };
        // The API turned the call down: nothing went out, its recipients are given back.
        if let (Verdict::Sent { status: 400..=499 }, Some(limit), Some(t)) =
            (verdict, &self.send_rate, &ticket)
        {
            limit.budget.give_back(t, deadline).await;
        }
        let result = match sent {
            Ok(o) => results::success(
                def,
                o,
                def.entry
                    .file
                    .as_ref()
                    .zip(self.client(def.entry.token))
                    .map(|(spec, client)| results::FileAnswer {
                        tool: &def.entry.name,
                        spec,
                        uri: &uri,
                        max_inline: self.max_inline_bytes,
                        client,
                        shelf: (&self.shelf.0, self.shelf.1),
                    }),
            ),
            Err(failure) => failure,
        };
        let result = match reissued {
            Some(reissue::Taken::New(k)) => reissue::hand_over(result, &k, reissue::swap(self, &k)),
            Some(reissue::Taken::Held) => reissue::held(result),
            Some(reissue::Taken::Unusable(why)) => reissue::no_key(result, &why),
            None => result,
        };
        Finished {
            result: results::annotate(result, key.as_ref(), &notes),
            verdict,
            key,
            request_id: Some(request_id),
            approval,
            confirmed,
        }
    }

    /// Counts a call's verdict and records it in the audit trail when it is a write or a
    /// refusal: the one place every call's outcome passes. `def` is `None` for a tool that is
    /// not listed; `target` are its path arguments ([`audit::target`]).
    pub fn finish(
        &self,
        def: Option<&ToolDef>,
        target: Map<String, Value>,
        finished: &Finished,
        trace: Option<&TraceContext>,
    ) {
        let refused = match finished.verdict {
            Verdict::Refused { rule } => {
                self.metrics.refused(rule);
                true
            }
            _ => false,
        };
        let Some(trail) = &self.audit else {
            return;
        };
        if !(refused || def.is_some_and(ToolDef::writes)) {
            return;
        }
        let line = audit::Line {
            time: audit::rfc3339(SystemTime::now()),
            tool: def.map_or("(unknown)", |d| d.entry.name.as_str()),
            target,
            outcome: audit::Outcome::Done(finished.verdict),
            idempotency_key: finished.key.as_ref(),
            request_id: finished.request_id.as_deref(),
            approval: finished.approval,
            confirmed: finished.confirmed,
            caller: def.and_then(|d| trail.caller(d.entry.token)),
            trace_id: trace.map(TraceContext::trace_id),
        };
        if let Err(e) = trail.log.write(&line) {
            tracing::error!(error = %e, "the audit log cannot record a call's outcome (TREKMAIL_AUDIT_LOG)");
        }
    }

    /// Runs a prepared upload flow of `opened`: initiate on the tool's operation, then the
    /// flow's complete or abort (tools-map.toml names them); its deadline is the call's,
    /// extended for the file's size ([`upload::plan::deadline`]).
    async fn upload(
        &self,
        prepared: &Prepared<'_>,
        opened: &upload::confine::Opened,
        progress: Option<&Progress>,
        deadline: Deadline,
    ) -> CallToolResult {
        let def = prepared.def;
        let (Some(ctx), Some(flow), Some(client)) = (
            self.upload.as_deref(),
            def.entry.flow.as_ref(),
            self.client(def.entry.token),
        ) else {
            return results::refusal(format!(
                "{} cannot run here; nothing was sent.",
                def.entry.name
            ));
        };
        let path = wire::to_wire(def.shape(), &prepared.args, None).path;
        // A write always has its key by now; the fallback keeps two uploads apart regardless.
        let key = prepared.key.clone().unwrap_or_else(|| {
            IdempotencyKey::derived(format!("mcp_upload_{}", uuid::Uuid::new_v4().simple()))
        });
        let ops = upload::Operations {
            initiate: &def.entry.operation,
            complete: &flow.complete,
            abort: &flow.abort,
            refresh: &flow.refresh,
            status: &flow.status,
        };
        upload::call(
            ctx,
            client,
            &ops,
            path,
            &prepared.args,
            opened,
            (key, prepared.request_id.clone()),
            progress,
            deadline,
        )
        .await
    }

    /// Sends a prepared call, ending by `deadline`: the API's success answer, or the failure
    /// shaped for the agent; and its verdict.
    pub async fn send(
        &self,
        prepared: Prepared<'_>,
        progress: Option<&Progress>,
        deadline: Deadline,
    ) -> (Result<Outcome, CallToolResult>, Verdict) {
        let def = prepared.def;
        let name = &def.entry.name;
        let Some(client) = self.client(def.entry.token) else {
            let kind = def.entry.token;
            let refused = Refused::new(
                Rule::TokenMissing,
                format!("{name} needs {}", self.missing(kind)),
            );
            let verdict = refused.verdict();
            return (Err(refused.result), verdict);
        };
        // A request whose answer is the only copy of a new key is never repeated blindly.
        let once = def
            .entry
            .new_token
            .is_some()
            .then(|| reissue::client(client));
        let answer = self
            .request(
                &prepared,
                once.as_ref().unwrap_or(client),
                progress,
                deadline,
            )
            .await;
        let verdict = Verdict::of(answer.as_ref().map_err(|(e, _)| e));
        let answer = answer.map_err(|(e, request_id)| {
            // A paying tool called without its credential: the price, not an error.
            if let Some(p) = &def.entry.payment
                && let Some(challenge) = payments::Challenge::from_error(&e)
            {
                return payments::quote(def, p, &challenge);
            }
            results::failure(name, &e, &request_id, def.entry.token, def.writes())
        });
        (answer, verdict)
    }

    /// One request of a prepared call through `client`, retries included, ending by `deadline`
    /// (the call's): the API's success answer, or the failure with the call's request id.
    pub async fn request(
        &self,
        prepared: &Prepared<'_>,
        client: &Client,
        progress: Option<&Progress>,
        deadline: Deadline,
    ) -> Result<Outcome, (trekmail_api::CallError, String)> {
        let Prepared {
            def,
            args,
            key,
            request_id,
            trace,
            ..
        } = prepared;
        let name = &def.entry.name;
        let mut wire_args = wire::to_wire(def.shape(), args, key.as_ref());
        // Our id travels as the real X-Request-Id header: the transport keeps it on every attempt.
        wire_args.header.insert(
            trekmail_api::REQUEST_ID.into(),
            Value::String(request_id.clone()),
        );
        for (name, value) in trace.iter().flat_map(TraceContext::headers) {
            wire_args
                .header
                .insert(name.into(), Value::String(value.to_owned()));
        }
        tracing::info!(tool = %name, request_id = %request_id, "calling the API");
        let tell = |r: &trekmail_api::Retrying| {
            self.metrics.retry();
            if let Some(p) = progress {
                p.retrying(r);
            }
        };
        let answer = client
            .call_operation_until(&def.entry.operation, &wire_args, Some(&tell), deadline)
            .await;
        self.metrics.api_status(match &answer {
            Ok(o) => Some(o.status),
            Err(e) => e.status(),
        });
        answer.map_err(|e| {
            tracing::warn!(tool = %name, request_id = %request_id, status = e.status(), "call failed");
            (e, request_id.clone())
        })
    }
}

/// A call refused before anything was sent: the rule and what the agent reads.
pub struct Refused {
    /// Which rule refused it.
    pub rule: Rule,
    /// The refusal the agent gets.
    pub result: CallToolResult,
}

impl Refused {
    /// A refusal by `rule` that says `text`.
    pub fn new(rule: Rule, text: impl Into<String>) -> Self {
        Self {
            rule,
            result: results::refusal(text),
        }
    }

    /// Its verdict.
    pub fn verdict(&self) -> Verdict {
        Verdict::refused(self.rule)
    }

    /// As a finished call, with nothing known beyond the refusal.
    pub fn finished(self) -> Finished {
        Finished {
            verdict: self.verdict(),
            result: self.result,
            key: None,
            request_id: None,
            approval: None,
            confirmed: false,
        }
    }
}

/// A call at its end: what the agent gets, what became of it, and the facts the audit trail
/// records.
pub struct Finished {
    /// What the agent gets.
    pub result: CallToolResult,
    /// Sent, failed or refused.
    pub verdict: Verdict,
    /// The write's `Idempotency-Key`, once known.
    pub key: Option<IdempotencyKey>,
    /// Our `X-Request-Id`, once the call got that far.
    pub request_id: Option<String>,
    /// How the user's approval was obtained, once the call got that far.
    pub approval: Option<Approval>,
    /// The agent passed the tool's confirmation argument.
    pub confirmed: bool,
}

/// A call that passed every check and may be sent.
pub struct Prepared<'a> {
    /// The tool.
    pub def: &'a ToolDef,
    /// Its arguments, as given.
    pub args: Map<String, Value>,
    /// The `Idempotency-Key` of a write, once known.
    pub key: Option<IdempotencyKey>,
    /// A write's intent, for the memory to decide its key before it is sent.
    pub intent: Option<Intent>,
    /// What the result must also say (arguments that were ignored).
    pub notes: Vec<String>,
    /// Our `X-Request-Id` for the request.
    pub request_id: String,
    /// How the user's approval was obtained, once asked (or known not to be needed).
    pub approval: Option<Approval>,
    /// The client's W3C trace context, passed on to the API.
    pub trace: Option<TraceContext>,
    /// A flow's local file, opened and checked (`TREKMAIL_UPLOAD_DIR`).
    pub opened: Option<upload::confine::Opened>,
}

impl Prepared<'_> {
    /// The call, refused before it was sent.
    pub fn refused(self, refused: Refused) -> Finished {
        let confirmed = self.confirmed();
        Finished {
            verdict: refused.verdict(),
            result: refused.result,
            key: self.key,
            request_id: None,
            approval: self.approval,
            confirmed,
        }
    }

    /// Whether the agent passed the tool's confirmation argument, or a paying call's (both
    /// checked by `prepare`).
    pub fn confirmed(&self) -> bool {
        self.def.entry.confirm.is_some() || payments::credential(self.def, &self.args).is_some()
    }

    /// Its audit line with `outcome`.
    fn line<'t>(&'t self, trail: &'t Trail, outcome: audit::Outcome) -> audit::Line<'t> {
        audit::Line {
            time: audit::rfc3339(SystemTime::now()),
            tool: &self.def.entry.name,
            target: audit::target(self.def, &self.args),
            outcome,
            idempotency_key: self.key.as_ref(),
            request_id: Some(&self.request_id),
            approval: self.approval,
            confirmed: self.confirmed(),
            caller: trail.caller(self.def.entry.token),
            trace_id: self.trace.as_ref().map(TraceContext::trace_id),
        }
    }

    /// Whether a safety switch or a confirmation argument guards this call.
    pub fn guarded(&self) -> bool {
        self.def.entry.confirm.is_some() || !self.def.gates_for(&self.args).is_empty()
    }
}

/// Where a write's key comes from.
enum Key {
    /// The caller's `idempotency_key`.
    Given(IdempotencyKey),
    /// The intent memory's decision.
    Decide(Intent),
}

/// Problems listed for the agent: the first [`MAX_PROBLEMS`], each cut to [`MAX_PROBLEM_CHARS`],
/// then how many more, so that a call with a million bad arguments gets a short answer.
fn listing(problems: &[String]) -> String {
    let mut lines: Vec<String> = problems
        .iter()
        .take(MAX_PROBLEMS)
        .map(|p| cut(p, MAX_PROBLEM_CHARS))
        .collect();
    if problems.len() > MAX_PROBLEMS {
        lines.push(format!("… and {} more", problems.len() - MAX_PROBLEMS));
    }
    lines.join("\n- ")
}

/// Problems listed in one refusal.
pub const MAX_PROBLEMS: usize = 20;
/// Characters of one listed problem.
pub const MAX_PROBLEM_CHARS: usize = 300;
