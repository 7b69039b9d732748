//! Confirmation by the human at the client: before a call that a safety switch or a
//! confirmation argument guards (or a payment, asked whatever the mode), the server asks the
//! person, not the agent. It runs only after the switch and the confirmation argument passed, so
//! it never replaces either: with the switch off nothing is asked and nothing is sent.
//!
//! How the question travels depends on the protocol the client speaks:
//! - before 2026-07-28, an elicitation request the server sends and waits for (stdio; a stateless
//!   HTTP request cannot wait, so there the client cannot be asked);
//! - from 2026-07-28, on stdio and HTTP alike, the `tools/call` is answered with an
//!   input-required result: the question plus a sealed `requestState`
//!   ([`crate::call::approvals`]); the client calls again with the user's answer and that state,
//!   and the call proceeds only if the state is valid for exactly that call.

use std::collections::BTreeMap;

use rmcp::model::{
    CallToolRequestParams, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationSchema, InputRequest, InputRequiredResult, InputResponses, ProtocolVersion,
};
use rmcp::service::{ElicitationMode, Peer, RequestContext, RoleServer};
use serde_json::{Map, Value};
use trekmail_api::Deadline;

use crate::call::approvals::{Approvals, CallerSeal};
use crate::call::outbound;
use crate::call::verdict::Rule;
use crate::catalog::ToolDef;
use crate::catalog::argpath;
use crate::catalog::schema::IDEMPOTENCY_ARG;
use crate::catalog::truncate::cut;

/// The key of the approval question among an input-required result's `inputRequests`.
pub const QUESTION_KEY: &str = "approval";

/// `TREKMAIL_HUMAN_CONFIRM` (its default: `config/limits.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HumanConfirm {
    /// Ask when the client can; when it cannot, the switch and the argument suffice.
    Auto,
    /// Ask; refuse when the client cannot ask.
    Always,
    /// Never ask.
    Never,
}

impl HumanConfirm {
    /// `auto`, `always` or `never`, any case.
    pub fn parse(v: &str) -> Option<Self> {
        match v.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "always" => Some(Self::Always),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// The person at the client, as far as one call can reach them.
#[derive(Clone)]
pub enum Human {
    /// The client cannot ask: it declared no form elicitation.
    Unreachable,
    /// Before 2026-07-28: the server sends the client an elicitation request and waits.
    Reachable(Peer<RoleServer>),
    /// From 2026-07-28, a client that declared form elicitation: the question goes back as an
    /// input-required result; `Some` is what the client sent with its retry.
    RoundTrip(Option<Answer>),
}

/// What a client sends back after an input-required result.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// The `requestState`, as echoed (untrusted until opened).
    pub state: String,
    /// The `inputResponses`.
    pub responses: InputResponses,
}

impl Human {
    /// Who can be asked during `request`, from what its client declared (at initialize, or in
    /// the request's own metadata from 2026-07-28).
    pub fn of(context: &RequestContext<RoleServer>, request: &CallToolRequestParams) -> Self {
        let inline = context
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        if inline {
            // A client that did not declare form elicitation must not be asked for it.
            let form = context
                .client_capabilities()
                .and_then(|c| c.elicitation)
                .is_some_and(|e| e.form.is_some() || e.url.is_none());
            if !form {
                return Self::Unreachable;
            }
            return Self::RoundTrip(request.request_state.clone().map(|state| Answer {
                state,
                responses: request.input_responses.clone().unwrap_or_default(),
            }));
        }
        if context
            .peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
        {
            Self::Reachable(context.peer.clone())
        } else {
            Self::Unreachable
        }
    }
}

/// How a call's approval was obtained: the audit trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// Nothing guards the call: no approval is asked.
    NotGuarded,
    /// `TREKMAIL_HUMAN_CONFIRM=never`: the switch and the confirmation argument suffice.
    Off,
    /// `TREKMAIL_HUMAN_CONFIRM=auto` and a client that cannot ask its user: the switch and the
    /// confirmation argument suffice.
    ClientCannotAsk,
    /// The user accepted an elicitation request (protocols before 2026-07-28).
    Elicitation,
    /// The user accepted an input-required question, and its sealed state was valid for this
    /// call (2026-07-28).
    InputRequired,
}

impl Approval {
    /// A stable name: `not_guarded`, `off`, `client_cannot_ask`, `elicitation`, `input_required`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotGuarded => "not_guarded",
            Self::Off => "off",
            Self::ClientCannotAsk => "client_cannot_ask",
            Self::Elicitation => "elicitation",
            Self::InputRequired => "input_required",
        }
    }
}

/// What the human is asked.
#[derive(Debug, Clone)]
pub struct Ask {
    /// The question, in words a person checks.
    pub question: String,
    /// Asked whatever `TREKMAIL_HUMAN_CONFIRM` says (a payment); refused when nobody can be asked.
    pub forced: bool,
}

impl Ask {
    /// The question for a guarded call ([`question`]), asked as `TREKMAIL_HUMAN_CONFIRM` says.
    pub fn guarded(def: &ToolDef, args: &Map<String, Value>) -> Self {
        Self {
            question: question(def, args),
            forced: false,
        }
    }
}

/// What comes of asking.
#[derive(Debug)]
pub enum Decision {
    /// Go on and send.
    Proceed(Approval),
    /// Refused: nothing is sent. `why` is what the agent reads, `rule` names the refusal
    /// in metrics and the audit trail.
    Refuse { why: String, rule: Rule },
    /// Answer the call with this input-required result: the question and the sealed state.
    InputRequired(InputRequiredResult),
}

/// The sealing side of an input-required approval: the process's [`Approvals`] and who calls.
#[derive(Clone, Copy)]
pub struct Sealing<'a> {
    /// Seals and checks states.
    pub approvals: &'a Approvals,
    /// The caller the state is bound to.
    pub caller: &'a CallerSeal,
}

/// Asks the human when `mode`, `ask` and the client say so; an answer that comes back with
/// the call is checked by `deadline` (the call's). Waiting for an elicitation's answer is not
/// bounded by it: the caller starts its deadline again after such a wait.
pub async fn confirm(
    mode: HumanConfirm,
    human: &Human,
    sealing: Sealing<'_>,
    def: &ToolDef,
    args: &Map<String, Value>,
    ask: &Ask,
    deadline: Deadline,
) -> Decision {
    let name = &def.entry.name;
    if mode == HumanConfirm::Never && !ask.forced {
        return Decision::Proceed(Approval::Off);
    }
    match human {
        Human::Unreachable if mode == HumanConfirm::Auto && !ask.forced => {
            Decision::Proceed(Approval::ClientCannotAsk)
        }
        Human::Unreachable => {
            let why = if ask.forced {
                "it always needs the user's approval".to_owned()
            } else {
                "TREKMAIL_HUMAN_CONFIRM=always".to_owned()
            };
            refuse(
                format!(
                    "{name} needs the user's approval ({why}), but this MCP client cannot ask the user (it did not declare form elicitation, or its requests cannot wait for an answer: over HTTP, a client of protocol 2026-07-28 can); nothing was sent."
                ),
                Rule::ApprovalUnavailable,
            )
        }
        Human::Reachable(peer) => elicit(peer, name, &ask.question).await,
        Human::RoundTrip(None) => {
            let state = sealing.approvals.seal(name, args, sealing.caller);
            let mut requests = BTreeMap::new();
            requests.insert(
                QUESTION_KEY.to_owned(),
                InputRequest::Elicitation(ElicitRequest::new(form(&ask.question))),
            );
            tracing::info!(tool = %name, "asking the user (input required)");
            Decision::InputRequired(InputRequiredResult::new(Some(requests), Some(state)))
        }
        Human::RoundTrip(Some(answer)) => {
            if let Err(r) = sealing
                .approvals
                .redeem(&answer.state, name, args, sealing.caller, deadline)
                .await
            {
                tracing::info!(tool = %name, rule = r.rule().name(), "approval refused");
                return refuse(r.message(name, sealing.approvals.shared()), r.rule());
            }
            let action = answer
                .responses
                .get(QUESTION_KEY)
                .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok())
                .map(|r| r.action);
            match action {
                Some(ElicitationAction::Accept) => {
                    tracing::info!(tool = %name, "approved by the user (input required)");
                    Decision::Proceed(Approval::InputRequired)
                }
                Some(a) => answered(name, a),
                None => refuse(
                    format!(
                        "The call to {name} came back without the user's answer to the approval question (inputResponses.{QUESTION_KEY}); nothing was sent. Call {name} again to ask the user."
                    ),
                    Rule::ApprovalUnanswered,
                ),
            }
        }
    }
}

fn refuse(why: String, rule: Rule) -> Decision {
    Decision::Refuse { why, rule }
}

/// A form with nothing to fill in: accepting it is the approval.
fn form(question: &str) -> ElicitRequestParams {
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: question.to_owned(),
        requested_schema: ElicitationSchema::new(BTreeMap::new()),
    }
}

/// The refusal for a declined or cancelled question.
fn answered(name: &str, action: ElicitationAction) -> Decision {
    match action {
        ElicitationAction::Accept => Decision::Proceed(Approval::Elicitation),
        ElicitationAction::Decline => {
            tracing::info!(tool = %name, "declined by the user");
            refuse(
                format!(
                    "The user declined {name}; nothing was sent. Do not call it again unless the user asks."
                ),
                Rule::ApprovalDeclined,
            )
        }
        _ => {
            tracing::info!(tool = %name, "cancelled by the user");
            refuse(
                format!("The user cancelled the approval of {name}; nothing was sent."),
                Rule::ApprovalCancelled,
            )
        }
    }
}

/// Asks over an elicitation request and waits (protocols before 2026-07-28).
async fn elicit(peer: &Peer<RoleServer>, name: &str, question: &str) -> Decision {
    match peer.create_elicitation(form(question)).await {
        Ok(answer) => {
            if answer.action == ElicitationAction::Accept {
                tracing::info!(tool = %name, "approved by the user");
            }
            answered(name, answer.action)
        }
        Err(e) => {
            tracing::warn!(tool = %name, "asking the user failed: {e}");
            refuse(
                format!("{name} could not get the user's approval ({e}); nothing was sent."),
                Rule::ApprovalFailed,
            )
        }
    }
}

/// Longest argument value shown, in characters.
const MAX_VALUE_CHARS: usize = 200;
/// Most arguments shown.
const MAX_ARGS: usize = 20;

/// What the human reads: the tool, its target (the path with its arguments), where mail would
/// go (the map's outbound columns), and every argument as JSON (so no value can fake a line of
/// the question), secrets hidden, long values cut.
pub fn question(def: &ToolDef, args: &Map<String, Value>) -> String {
    let mut shown = args.clone();
    shown.remove(IDEMPOTENCY_ARG);
    if let Some(c) = &def.entry.confirm {
        shown.remove(c);
    }
    for path in &def.paths().secret_args {
        path.replace(&mut shown, &mut |_| Value::String("(hidden)".into()));
    }
    for c in def
        .entry
        .csv_columns
        .iter()
        .filter(|c| !c.secret.is_empty())
    {
        if let Some(Value::String(text)) = shown.get_mut(&c.arg) {
            *text = argpath::csv_hide_columns(text, &c.secret);
        }
    }
    let mut target = def.path.to_string();
    for (k, v) in &shown {
        let placeholder = format!("{{{k}}}");
        if target.contains(&placeholder) {
            // Control characters escaped: a path value cannot start a line of its own.
            let v = v
                .as_str()
                .map_or_else(|| v.to_string(), |s| s.escape_debug().to_string());
            target = target.replace(&placeholder, &cut(&v, MAX_VALUE_CHARS));
        }
    }
    let mut text = format!(
        "The agent asks to run {} ({}): {} {target}.",
        def.entry.title, def.entry.name, def.method
    );
    // Where mail would leave the account (the map's outbound columns), said first and in full.
    let (to, unreadable) = outbound::recipients(def, &shown);
    if !to.is_empty() {
        let to: Vec<String> = to
            .iter()
            .map(|a| format!("{:?}", cut(a, MAX_VALUE_CHARS)))
            .collect();
        text.push_str(&format!("\nMail will go to: {}", to.join(", ")));
    }
    if !unreadable.is_empty() {
        text.push_str(&format!(
            "\nMail may also go to targets that cannot be read plainly: {}",
            unreadable.len()
        ));
    }
    // The API adds the sender's stored default Cc/Bcc unless this argument is false.
    if let Some(a) = &def.entry.default_recipients_arg
        && shown.get(a) != Some(&Value::Bool(false))
    {
        text.push_str(&format!(
            "\nMail also goes to the sender's default Cc/Bcc, if any ({a} is not false)."
        ));
    }
    for (k, v) in shown.iter().take(MAX_ARGS) {
        text.push_str(&format!("\n{k}: {}", cut(&v.to_string(), MAX_VALUE_CHARS)));
    }
    if shown.len() > MAX_ARGS {
        text.push_str(&format!("\n… and {} more", shown.len() - MAX_ARGS));
    }
    text.push_str("\nApprove this call?");
    text
}
