//! The server's instructions, assembled from `instructions.toml` and the configuration: which
//! tokens, toolsets and switches are active, and guidance only for the workflows whose tools are
//! listed.
//!
//! A start reads the texts from `instructions.json`, which `cargo xtask generate` writes from
//! `instructions.toml` (the file to edit): parsing JSON needs none of the TOML parser's code
//! or time. When the TOML was edited since (the JSON names the TOML it was written from), the
//! TOML is read instead.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::call::human::HumanConfirm;
use crate::catalog::ToolDef;
use crate::catalog::data::{fnv1a, hex};
use crate::catalog::map::GateName;
use crate::serve::Config;
use trekmail_api::TokenKind;

/// The texts, embedded at build time.
pub const INSTRUCTIONS_TOML: &str = include_str!("../../instructions.toml");

/// The same texts as JSON ([`data_json`]), embedded at build time.
pub const INSTRUCTIONS_JSON: &str = include_str!("../../instructions.json");

/// The FNV-1a hash of [`INSTRUCTIONS_TOML`], computed by the compiler.
const TOML_FNV1A: u64 = fnv1a(INSTRUCTIONS_TOML);

/// `instructions.json`: the texts and the hash of the TOML they were read from.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    toml_fnv1a: String,
    texts: Texts,
}

/// What `cargo xtask generate` writes to `trekmail-mcp/instructions.json`.
pub fn data_json() -> Result<String, String> {
    let texts = from_toml()?;
    let data = Data {
        toml_fnv1a: hex(TOML_FNV1A),
        texts,
    };
    serde_json::to_string(&data)
        .map(|j| j + "\n")
        .map_err(|e| e.to_string())
}

fn from_toml() -> Result<Texts, String> {
    parse_toml(INSTRUCTIONS_TOML)
}

fn parse_toml(toml: &str) -> Result<Texts, String> {
    toml::from_str(toml).map_err(|e| format!("instructions.toml: {e}"))
}

/// The texts from `json` when it was written from the TOML whose hash is `toml_fnv1a`, else
/// from `toml`.
fn read_texts(json: &str, toml_fnv1a: u64, toml: &str) -> Result<Texts, String> {
    match serde_json::from_str::<Data>(json) {
        Ok(d) if d.toml_fnv1a == hex(toml_fnv1a) => Ok(d.texts),
        _ => parse_toml(toml),
    }
}

#[derive(Debug, Serialize, Deserialize)]
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

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Guidance {
    tools: Vec<String>,
    text: String,
}

/// The texts, read once.
fn texts() -> Result<&'static Texts, String> {
    static TEXTS: std::sync::OnceLock<Result<Texts, String>> = std::sync::OnceLock::new();
    TEXTS
        .get_or_init(|| read_texts(INSTRUCTIONS_JSON, TOML_FNV1A, INSTRUCTIONS_TOML))
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
    let serves = |token: TokenKind| listed.iter().any(|d| d.head.token == token);
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
            if !sets.contains(&&*d.head.toolset) {
                sets.push(&d.head.toolset);
            }
        }
        parts.push(t.toolsets.replace("{toolsets}", &sets.join(", ")));
    }
    if config.read_only {
        parts.push(t.read_only.clone());
    }
    let switches = config.switches();
    let mut gates: Vec<GateName> = listed.iter().flat_map(|d| d.head.gates()).collect();
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
    if listed.iter().any(|d| d.head.confirms) {
        parts.push(t.confirm_arg.clone());
    }
    let guarded = |d: &Arc<ToolDef>| d.head.confirms || d.head.gates().next().is_some();
    if config.human_confirm != HumanConfirm::Never && listed.iter().any(guarded) {
        parts.push(t.human.clone());
    }
    for g in &t.guidance {
        if listed
            .iter()
            .any(|d| g.tools.iter().any(|n| *n == d.head.name))
        {
            parts.push(g.text.clone());
        }
    }
    parts.push(t.refusal.clone());
    Ok(parts.join(" "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_json_is_the_toml_as_data() {
        assert_eq!(
            INSTRUCTIONS_JSON,
            data_json().unwrap(),
            "instructions.json is stale: run `cargo xtask generate`"
        );
    }

    #[test]
    fn the_json_is_read_without_the_toml_while_it_matches() {
        // The TOML is not even parsed: a start needs none of the TOML parser.
        let t = read_texts(INSTRUCTIONS_JSON, TOML_FNV1A, "not toml = [").unwrap();
        assert_eq!(t.intro, from_toml().unwrap().intro);
    }

    #[test]
    fn an_edited_toml_is_read_until_the_json_is_regenerated() {
        let edited = INSTRUCTIONS_TOML.replacen(
            "intro = \"Tools for the TrekMail email-hosting API.\"",
            "intro = \"Edited.\"",
            1,
        );
        assert_ne!(edited, INSTRUCTIONS_TOML);
        let t = read_texts(INSTRUCTIONS_JSON, fnv1a(&edited), &edited).unwrap();
        assert_eq!(t.intro, "Edited.");
    }
}
