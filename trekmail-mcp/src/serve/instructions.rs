//! The server's instructions, assembled from `instructions.toml` and the configuration: which
//! tokens, toolsets and switches are active, and guidance only for the workflows whose tools are
//! listed.

use std::sync::Arc;

use serde::Deserialize;

use crate::call::human::HumanConfirm;
use crate::catalog::ToolDef;
use crate::catalog::map::GateName;
use crate::serve::Config;
use trekmail_api::TokenKind;

/// The texts, embedded at build time.
pub const INSTRUCTIONS_TOML: &str = include_str!("../../instructions.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Texts {
    intro: String,
    ops: String,
    message: String,
    toolsets: String,
    read_only: String,
    switches_on: String,
    switches_off: String,
    confirm_arg: String,
    human: String,
    refusal: String,
    guidance: Vec<Guidance>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Guidance {
    tools: Vec<String>,
    text: String,
}

/// The texts, read once.
fn texts() -> Result<&'static Texts, String> {
    static TEXTS: std::sync::OnceLock<Result<Texts, String>> = std::sync::OnceLock::new();
    TEXTS
        .get_or_init(|| {
            toml::from_str(INSTRUCTIONS_TOML).map_err(|e| format!("instructions.toml: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Guidance naming a tool the catalogue does not have: a typo must not silently drop a workflow.
pub fn unknown_tools(known: impl Fn(&str) -> bool) -> Result<Vec<String>, String> {
    let t = texts()?;
    Ok(t.guidance
        .iter()
        .flat_map(|g| g.tools.iter())
        .filter(|n| !known(n))
        .cloned()
        .collect())
}

/// The instructions for `config` serving `listed`.
pub fn build(config: &Config, listed: &[Arc<ToolDef>]) -> Result<String, String> {
    let t = texts()?;
    let serves = |token: TokenKind| listed.iter().any(|d| d.entry.token == token);
    let mut parts = vec![t.intro.clone()];
    if serves(TokenKind::Ops) {
        parts.push(t.ops.clone());
    }
    if serves(TokenKind::Message) {
        parts.push(t.message.clone());
    }
    if config.toolsets.is_some() || config.tools.is_some() || !config.exclude_tools.is_empty() {
        let mut sets: Vec<&str> = Vec::new();
        for d in listed {
            if !sets.contains(&d.entry.toolset.as_str()) {
                sets.push(&d.entry.toolset);
            }
        }
        parts.push(t.toolsets.replace("{toolsets}", &sets.join(", ")));
    }
    if config.read_only {
        parts.push(t.read_only.clone());
    }
    let switches = config.switches();
    let mut gates: Vec<GateName> = listed
        .iter()
        .flat_map(|d| {
            d.entry
                .gate
                .into_iter()
                .chain(d.entry.gate_when.iter().map(|g| g.gate))
        })
        .collect();
    gates.sort();
    gates.dedup();
    let named = |on: bool| {
        gates
            .iter()
            .filter(|g| switches.on(**g) == on)
            .map(|g| format!("{} ({})", g.env_var(), g.what()))
            .collect::<Vec<_>>()
    };
    for (on, text) in [(true, &t.switches_on), (false, &t.switches_off)] {
        let names = named(on);
        if !names.is_empty() {
            parts.push(text.replace("{switches}", &names.join(", ")));
        }
    }
    if listed.iter().any(|d| d.entry.confirm.is_some()) {
        parts.push(t.confirm_arg.clone());
    }
    let guarded = |d: &Arc<ToolDef>| {
        d.entry.confirm.is_some() || d.entry.gate.is_some() || !d.entry.gate_when.is_empty()
    };
    if config.human_confirm != HumanConfirm::Never && listed.iter().any(guarded) {
        parts.push(t.human.clone());
    }
    for g in &t.guidance {
        if listed.iter().any(|d| g.tools.contains(&d.entry.name)) {
            parts.push(g.text.clone());
        }
    }
    parts.push(t.refusal.clone());
    Ok(parts.join(" "))
}
