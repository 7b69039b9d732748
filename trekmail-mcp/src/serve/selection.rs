//! Which tools a configuration serves: tokens, toolsets, the allow- and deny-lists, read-only
//! mode and hidden disabled tools. The exclusions and read-only mode always win.

use std::sync::Arc;

use crate::call::gates::Switches;
use crate::call::tokens::TokenVariable as _;
use crate::catalog::map::GateName;
use crate::catalog::{Catalog, ToolDef};
use crate::serve::Config;
use trekmail_api::TokenKind;

/// Whether a configuration has the token a tool needs.
pub fn has_token(config: &Config, token: TokenKind) -> bool {
    match token {
        TokenKind::Ops => config.ops_token.is_some(),
        TokenKind::Message => config.message_token.is_some(),
    }
}

/// The switch that is off and disables this tool for every argument, if any (a gate that
/// applies only to some argument values leaves the tool usable).
pub fn disabled_by(def: &ToolDef, switches: &Switches) -> Option<GateName> {
    def.head.gate.filter(|g| !switches.on(*g))
}

/// Whether `def` exists at all under `config`: a `stdio_only` tool (it reads the server's disk)
/// does not over HTTP, in any mode: not listed, and a call to it is a call to an unknown tool.
pub fn exists(def: &ToolDef, config: &Config) -> bool {
    !(def.head.stdio_only && config.http.is_some())
}

/// Why `def` is not listed under `config`, or `None` when it is.
pub fn hidden_because(def: &ToolDef, config: &Config) -> Option<String> {
    let e = &def.head;
    let name = &*e.name;
    if !has_token(config, e.token) {
        return Some(format!("needs {}", e.token.env_var()));
    }
    if config.exclude_tools.iter().any(|t| t == name) {
        return Some("it is in TREKMAIL_EXCLUDE_TOOLS".into());
    }
    if config.read_only && !e.read_only {
        return Some("TREKMAIL_READ_ONLY is on and this tool changes data".into());
    }
    let in_toolsets = |t: &[String]| t.iter().any(|s| *s == e.toolset);
    let in_tools = |t: &[String]| t.iter().any(|n| n == name);
    let selected = match (&config.toolsets, &config.tools) {
        (None, None) => true,
        (Some(sets), None) => in_toolsets(sets),
        (None, Some(tools)) => in_tools(tools),
        (Some(sets), Some(tools)) => in_toolsets(sets) || in_tools(tools),
    };
    if !selected {
        return Some(match (&config.toolsets, &config.tools) {
            (Some(_), None) => format!("its toolset `{}` is not in TREKMAIL_TOOLSETS", e.toolset),
            (None, Some(_)) => "it is not in TREKMAIL_TOOLS".into(),
            _ => format!(
                "it is not in TREKMAIL_TOOLS and its toolset `{}` is not in TREKMAIL_TOOLSETS",
                e.toolset
            ),
        });
    }
    if config.drafts_only && e.gate == Some(GateName::Sending) {
        return Some("TREKMAIL_DRAFTS_ONLY is on: the agent drafts, a person sends".into());
    }
    if config.hide_disabled
        && let Some(g) = disabled_by(def, &config.switches())
    {
        return Some(format!(
            "TREKMAIL_HIDE_DISABLED is on and {} is off",
            g.env_var()
        ));
    }
    None
}

/// Tool names in `TREKMAIL_TOOLS` and `TREKMAIL_EXCLUDE_TOOLS` that the catalogue does not have:
/// one problem per variable, naming them.
pub fn unknown_tool_names(config: &Config, catalog: &Catalog) -> Vec<String> {
    let mut problems = Vec::new();
    for (var, names) in [
        (
            "TREKMAIL_TOOLS",
            config.tools.as_deref().unwrap_or_default(),
        ),
        ("TREKMAIL_EXCLUDE_TOOLS", &config.exclude_tools[..]),
    ] {
        let unknown: Vec<&str> = names
            .iter()
            .filter(|n| catalog.get(n).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            problems.push(format!(
                "{var}: unknown tool name{} {} (see --list-tools)",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", ")
            ));
        }
    }
    problems
}

/// Warnings about a configuration that starts but may not do what the operator meant: a
/// selection that lists no tool, and toolsets or tools selected by name whose token is not set.
pub fn warnings(config: &Config, catalog: &Catalog, listed: usize) -> Vec<String> {
    let mut out = Vec::new();
    let all_toolsets = config
        .toolsets
        .as_ref()
        .is_some_and(|t| catalog.toolsets().iter().all(|s| t.iter().any(|n| n == s)));
    for token in [TokenKind::Ops, TokenKind::Message] {
        if has_token(config, token) {
            continue;
        }
        let var = token.env_var();
        let mut named: Vec<String> = Vec::new();
        if let Some(sets) = config.toolsets.as_ref().filter(|_| !all_toolsets) {
            for s in sets {
                let needs = catalog
                    .tools()
                    .iter()
                    .any(|d| d.head.toolset == **s && d.head.token == token);
                if needs && !named.contains(s) {
                    named.push(s.clone());
                }
            }
        }
        for t in config.tools.iter().flatten() {
            if catalog.get(t).is_some_and(|d| d.head.token == token) {
                named.push(t.clone());
            }
        }
        if !named.is_empty() {
            out.push(format!(
                "selected by name but not listed: {} need{} {var}, which is not set",
                named.join(", "),
                if named.len() == 1 { "s" } else { "" }
            ));
        }
    }
    if listed == 0 {
        out.push("this configuration lists no tool: check the tokens, TREKMAIL_TOOLSETS, TREKMAIL_TOOLS, TREKMAIL_EXCLUDE_TOOLS, TREKMAIL_READ_ONLY and TREKMAIL_HIDE_DISABLED (--list-tools shows the result)".into());
    }
    out
}

/// The `--list-tools` table: one line per listed tool with its toolset, its gate (`by ARG` when
/// only some values of an argument need it) and whether its switch lets it run here.
pub fn table(listed: &[Arc<ToolDef>], switches: &Switches) -> String {
    let rows: Vec<[String; 4]> = listed
        .iter()
        .map(|d| {
            let e = &d.entry;
            let mut gates: Vec<String> = e.gate.iter().map(|g| gate_name(*g).to_owned()).collect();
            gates.extend(
                e.gate_when
                    .iter()
                    .map(|g| format!("{} by {}", gate_name(g.gate), g.arg)),
            );
            let enabled = match disabled_by(d, switches) {
                Some(g) => format!("no: {} is off", g.env_var()),
                None => "yes".into(),
            };
            [
                e.name.clone(),
                e.toolset.clone(),
                if gates.is_empty() {
                    "-".into()
                } else {
                    gates.join(", ")
                },
                enabled,
            ]
        })
        .collect();
    let header = ["TOOL", "TOOLSET", "GATE", "ENABLED"].map(String::from);
    let mut widths = [0usize; 3];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        out.push_str(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {}\n",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        ));
    }
    out
}

fn gate_name(g: GateName) -> &'static str {
    g.as_str()
}

/// The tools the tokens' scopes hide, one line each with the scope lacking, for `--list-tools`.
pub fn scope_hidden(hidden: &std::collections::HashMap<String, String>) -> String {
    let mut rows: Vec<(&String, &String)> = hidden
        .iter()
        .filter(|(_, why)| why.starts_with(crate::serve::scopes::HIDDEN_PREFIX))
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    rows.sort();
    let mut out = format!("\nHidden by the token's scopes ({}):\n", rows.len());
    for (name, why) in rows {
        out.push_str(&format!("{name}  {why}\n"));
    }
    out
}
