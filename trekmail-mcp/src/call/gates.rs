//! Safety gates: the operator's switches (`TREKMAIL_ALLOW_*`) and the refusal that names them.

use serde_json::{Map, Value};

use crate::catalog::ToolDef;
use crate::catalog::map::GateName;

/// The safety switches, as configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct Switches {
    /// `TREKMAIL_ALLOW_DESTRUCTIVE`.
    pub destructive: bool,
    /// `TREKMAIL_ALLOW_SENDING`.
    pub sending: bool,
    /// `TREKMAIL_ALLOW_MIGRATION`.
    pub migration: bool,
    /// `TREKMAIL_ALLOW_PAYMENTS`.
    pub payments: bool,
    /// `TREKMAIL_UPLOAD_DIR` is set.
    pub upload_dir: bool,
    /// `TREKMAIL_PAYMENTS_WITHOUT_APPROVAL`: a payment may proceed when the client cannot ask
    /// the user (never when the user declines).
    pub payments_without_approval: bool,
    /// `TREKMAIL_DRAFTS_ONLY`: the sending gate stays closed whatever `sending` says, for the
    /// sending tools and for the argument values of other tools that need it alike.
    pub drafts_only: bool,
}

impl Switches {
    /// Whether `g` is open.
    pub fn on(&self, g: GateName) -> bool {
        match g {
            GateName::Destructive => self.destructive,
            GateName::Sending => self.sending && !self.drafts_only,
            GateName::Migration => self.migration,
            GateName::Payments => self.payments,
            GateName::UploadDir => self.upload_dir,
        }
    }
}

/// The refusal for a call whose gates are not all open, or `None` when it may proceed.
pub fn refusal(def: &ToolDef, args: &Map<String, Value>, switches: &Switches) -> Option<String> {
    let closed: Vec<GateName> = def
        .gates_for(args)
        .into_iter()
        .filter(|g| !switches.on(*g))
        .collect();
    if closed.is_empty() {
        return None;
    }
    if switches.drafts_only && closed.contains(&GateName::Sending) {
        return Some(format!(
            "{} is refused: {} is on (the agent drafts, a person sends); nothing was sent.",
            def.entry.name,
            crate::call::outbound::DRAFTS_ONLY_VAR
        ));
    }
    let how = closed
        .iter()
        .map(|g| format!("{} (allows {})", g.setting(), g.what()))
        .collect::<Vec<_>>()
        .join(" and ");
    Some(format!(
        "{} is disabled by a safety gate; nothing was sent. The operator must set {how} in the MCP server's environment and restart it.",
        def.entry.name
    ))
}

/// What the description of a tool disabled by `g` adds: the agent learns it without calling.
/// Short on purpose: every disabled tool carries it in tools/list. The switch of a tool's `gate`
/// is data (tools-map.toml), so descriptions do not name it and this note does; a description
/// that names it anyway does not get it twice.
pub fn disabled_note(g: GateName, description: &str) -> String {
    if description.contains(g.env_var()) {
        " Disabled here.".into()
    } else {
        format!(" Disabled: {} is off.", g.env_var())
    }
}
