//! Confirmation by the human at the client (MCP elicitation): before a call that a safety switch
//! or a confirmation argument guards, the server asks the person, not the agent. It runs only
//! after the switch and the confirmation argument passed, so it never replaces either: with the
//! switch off nothing is asked and nothing is sent.

use std::collections::BTreeMap;

use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema, ProtocolVersion};
use rmcp::service::{ElicitationMode, Peer, RoleServer};
use serde_json::{Map, Value};

use crate::call::Refused;
use crate::call::idempotency;
use crate::call::verdict::{Approval, Rule};
use crate::catalog::ToolDef;
use crate::catalog::argpath;
use crate::catalog::schema::IDEMPOTENCY_ARG;
use crate::catalog::truncate::cut;

/// `TREKMAIL_HUMAN_CONFIRM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HumanConfirm {
    /// Ask when the client can; when it cannot, the switch and the argument suffice.
    #[default]
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
    /// The client cannot ask: it declared no form elicitation, or the protocol (2026-07-28 and
    /// later) forbids requests from the server.
    Unreachable,
    /// The client can show a form.
    Reachable(Peer<RoleServer>),
}

impl Human {
    /// What the client declared at initialize, for a request made on `protocol`.
    pub fn of(peer: &Peer<RoleServer>, protocol: Option<&ProtocolVersion>) -> Self {
        let server_requests_allowed = protocol.is_none_or(|v| *v < ProtocolVersion::V_2026_07_28);
        if server_requests_allowed
            && peer
                .supported_elicitation_modes()
                .contains(&ElicitationMode::Form)
        {
            Self::Reachable(peer.clone())
        } else {
            Self::Unreachable
        }
    }
}

/// Asks the human when `mode` and the client say so: `Ok` says how the call was approved
/// (`None`: nobody was asked). `Err` is the refusal the agent gets: nothing was sent.
pub async fn confirm(
    mode: HumanConfirm,
    human: &Human,
    def: &ToolDef,
    args: &Map<String, Value>,
) -> Result<Option<Approval>, Refused> {
    let name = &def.entry.name;
    let peer = match (mode, human) {
        (HumanConfirm::Never, _) | (HumanConfirm::Auto, Human::Unreachable) => return Ok(None),
        (HumanConfirm::Always, Human::Unreachable) => {
            return Err(Refused::new(
                Rule::ApprovalUnavailable,
                format!(
                    "{name} needs the user's approval (TREKMAIL_HUMAN_CONFIRM=always), but this MCP client cannot ask the user (it did not declare elicitation); nothing was sent."
                ),
            ));
        }
        (_, Human::Reachable(peer)) => peer,
    };
    let request = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: question(def, args),
        // Nothing to fill in: accepting the form is the approval.
        requested_schema: ElicitationSchema::new(BTreeMap::new()),
    };
    match peer.create_elicitation(request).await {
        Ok(answer) => match answer.action {
            ElicitationAction::Accept => {
                tracing::info!(tool = %name, "approved by the user");
                Ok(Some(Approval::Elicitation))
            }
            ElicitationAction::Decline => {
                tracing::info!(tool = %name, "declined by the user");
                Err(Refused::new(
                    Rule::ApprovalDeclined,
                    format!(
                        "The user declined {name}; nothing was sent. Do not call it again unless the user asks."
                    ),
                ))
            }
            _ => {
                tracing::info!(tool = %name, "cancelled by the user");
                Err(Refused::new(
                    Rule::ApprovalDeclined,
                    format!("The user cancelled the approval of {name}; nothing was sent."),
                ))
            }
        },
        Err(e) => {
            tracing::warn!(tool = %name, "asking the user failed: {e}");
            Err(Refused::new(
                Rule::ApprovalUnavailable,
                format!("{name} could not get the user's approval ({e}); nothing was sent."),
            ))
        }
    }
}

/// Longest argument value shown, in characters.
const MAX_VALUE_CHARS: usize = 200;
/// Most arguments shown.
const MAX_ARGS: usize = 20;

/// What the human reads: the tool, its target (the path with its arguments) and every argument
/// as JSON (so no value can fake a line of the question), secrets hidden, long values cut.
pub fn question(def: &ToolDef, args: &Map<String, Value>) -> String {
    let mut shown = args.clone();
    shown.remove(IDEMPOTENCY_ARG);
    if let Some(c) = &def.entry.confirm {
        shown.remove(c);
    }
    for path in &def.entry.idempotency.secret_args {
        idempotency::replace_at(&mut shown, path, &|_| Value::String("(hidden)".into()));
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
    let mut target = def.path.clone();
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
    for (k, v) in shown.iter().take(MAX_ARGS) {
        text.push_str(&format!("\n{k}: {}", cut(&v.to_string(), MAX_VALUE_CHARS)));
    }
    if shown.len() > MAX_ARGS {
        text.push_str(&format!("\n… and {} more", shown.len() - MAX_ARGS));
    }
    text.push_str("\nApprove this call?");
    text
}
