//! What `cargo xtask generate` derives from the OpenAPI document and tools-map.toml: the
//! per-tool snapshots (`tests/toolsnaps/<tool>.json`, what agents see), the change report
//! between the checked-in and the regenerated surface (for agents and for Rust callers), and the
//! documentation's derived sections (tool counts and tables, the environment variables).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value, json};
use trekmail_api::model::{self, Operation};
use trekmail_mcp::Catalog;
use trekmail_mcp::catalog::map::ToolsMap;

/// Where the per-tool snapshots live, from the workspace root: one file per tool, what
/// `tools/list` shows agents (name, title, description, input schema, annotations).
pub const TOOLSNAPS: &str = "tests/toolsnaps";

/// Every tool's definition as agents see it, by name: the toolsnaps.
pub fn toolsnaps(catalog: &Catalog) -> BTreeMap<String, Value> {
    catalog
        .tools()
        .iter()
        .map(|t| {
            let v = serde_json::to_value(t.tool()).unwrap_or(Value::Null);
            (t.entry.name.clone(), v)
        })
        .collect()
}

/// A toolsnap file's text.
pub fn toolsnap_text(tool: &Value) -> String {
    serde_json::to_string_pretty(tool).unwrap_or_default() + "\n"
}

/// The toolsnaps checked in under `dir`, by tool name (a file that is not JSON reads as null,
/// so it shows as changed).
pub fn read_toolsnaps(dir: &Path) -> BTreeMap<String, Value> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.strip_suffix(".json")?.to_owned();
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((name, serde_json::from_str(&text).unwrap_or(Value::Null)))
        })
        .collect()
}

/// The operations of a checked-in `trekmail-api/operations.jsonl` (what the client embeds): the
/// operations as they were before a regeneration. `Err` says why they cannot be read (a model
/// this build does not read).
pub fn checked_in_operations(operations_jsonl: &str) -> Result<Vec<Operation>, String> {
    model::parse(operations_jsonl).map_err(|e| e.to_string())
}

/// The surface agents and Rust callers see: operations (method, path, parameters, body fields,
/// answer) and tools (operation and token from `map`, the input schema from the definition).
pub fn surface(ops: &[Operation], tools: &BTreeMap<String, Value>, map: &ToolsMap) -> Value {
    let mut operations = Map::new();
    for op in ops {
        let params: Map<String, Value> = op
            .parameters
            .iter()
            .map(|p| {
                (
                    format!("{} {}", p.location.as_str(), p.name),
                    json!({"required": p.required, "schema": p.schema}),
                )
            })
            .collect();
        let body = op.request_body.as_ref().map(|b| {
            let required: BTreeSet<&str> = b["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            keyed(b, "properties")
                .iter()
                .map(|(k, s)| {
                    (
                        k.clone(),
                        json!({"required": required.contains(k.as_str()), "schema": s}),
                    )
                })
                .collect::<Map<String, Value>>()
        });
        operations.insert(
            op.operation_id.clone(),
            json!({
                "method": op.method, "path": op.path, "parameters": params, "body": body,
                "response": op.response, "response_schema": op.response_schema, "security": op.security,
            }),
        );
    }
    let mut out_tools = Map::new();
    for (name, t) in tools {
        let entry = map.tool.iter().find(|e| &e.name == name);
        out_tools.insert(
            name.clone(),
            json!({
                "operation": entry.map(|e| e.operation.clone()),
                "token": entry.map(|e| format!("{:?}", e.token).to_lowercase()),
                "input_schema": t["inputSchema"],
                "definition": t,
            }),
        );
    }
    let excluded: Map<String, Value> = map
        .excluded
        .iter()
        .map(|e| (e.operation.clone(), Value::String(e.reason.clone())))
        .collect();
    json!({"operations": operations, "tools": out_tools, "excluded": excluded})
}

fn type_of(s: &Value) -> String {
    let t = match &s["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("|"),
        _ => "any".into(),
    };
    if t == "array" {
        format!("array of {}", type_of(&s["items"]))
    } else {
        t
    }
}

fn keyed<'a>(v: &'a Value, key: &str) -> &'a Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    v.get(key)
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// Which keywords of a schema changed, e.g. `maxLength 255 → 300, pattern added`.
fn schema_changes(old: &Value, new: &Value) -> String {
    let (o, n) = (old.as_object(), new.as_object());
    let keys: BTreeSet<&String> = o.into_iter().chain(n).flat_map(|m| m.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (a, b) = (o.and_then(|m| m.get(k)), n.and_then(|m| m.get(k)));
        match (a, b) {
            (None, Some(_)) => out.push(format!("{k} added")),
            (Some(_), None) => out.push(format!("{k} removed")),
            (Some(a), Some(b)) if a != b => match (a, b) {
                (Value::Number(_) | Value::Bool(_), Value::Number(_) | Value::Bool(_)) => {
                    out.push(format!("{k} {a} → {b}"))
                }
                _ => out.push(format!("{k} changed")),
            },
            _ => {}
        }
    }
    if out.is_empty() {
        "changed".into()
    } else {
        out.join(", ")
    }
}

/// What a change of a parameter or body field does to Rust callers of the builder interface.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    /// A query, path or header parameter: a setter of the operation's builder.
    Parameter,
    /// A request body field: a field of the body type and a setter of its builder.
    Body,
    /// A tool argument: agents only.
    Argument,
}

/// Values of a schema's `enum` that `new` no longer has.
fn removed_values(old: &Value, new: &Value) -> Vec<String> {
    let kept = new["enum"].as_array().cloned().unwrap_or_default();
    old["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| new.get("enum").is_some() && !kept.contains(v))
        .map(Value::to_string)
        .collect()
}

/// Compares two maps of named entries (`{"required", "schema"}`), describing each difference;
/// the description of each change that breaks Rust callers also goes to `breaking`.
fn diff_fields(
    what: &str,
    field: Field,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    out: &mut Vec<String>,
    breaking: &mut Vec<String>,
) {
    let mut note = |text: String, breaks: bool, out: &mut Vec<String>| {
        if breaks && field != Field::Argument {
            breaking.push(text.clone());
        }
        out.push(text);
    };
    for (k, v) in new {
        let required = v["required"] == true;
        match old.get(k) {
            // An optional setter is new; a required one must now be called (or set in the body).
            None => note(
                format!(
                    "{what} `{k}` added ({}, {})",
                    if required { "required" } else { "optional" },
                    type_of(&v["schema"])
                ),
                required,
                out,
            ),
            Some(o) if o != v => {
                let mut how = Vec::new();
                let mut breaks = false;
                if type_of(&o["schema"]) != type_of(&v["schema"]) {
                    how.push(format!(
                        "retyped {} → {}",
                        type_of(&o["schema"]),
                        type_of(&v["schema"])
                    ));
                    breaks = true;
                }
                if o["required"] != v["required"] {
                    how.push(if required {
                        "now required".into()
                    } else {
                        "now optional".into()
                    });
                    // A parameter's setter takes the same value either way; a body field
                    // becomes (or stops being) an Option.
                    breaks |= required || field == Field::Body;
                }
                if how.is_empty() {
                    how.push(schema_changes(&o["schema"], &v["schema"]));
                }
                let gone = removed_values(&o["schema"], &v["schema"]);
                if !gone.is_empty() {
                    how.push(format!("enum value {} removed", gone.join(", ")));
                    breaks = true;
                }
                note(format!("{what} `{k}` {}", how.join(", ")), breaks, out);
            }
            _ => {}
        }
    }
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        note(format!("{what} `{k}` removed"), true, out);
    }
}

/// A schema without the keys that only document it: what the generated types depend on.
fn shape_of(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "description" | "example" | "title"))
                .map(|(k, v)| (k.clone(), shape_of(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(shape_of).collect()),
        o => o.clone(),
    }
}

/// The change report from `old` to `new` surface; empty when nothing changed.
pub fn report(old: &Value, new: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let (old_ops, new_ops) = (keyed(old, "operations"), keyed(new, "operations"));
    let (old_tools, new_tools) = (keyed(old, "tools"), keyed(new, "tools"));
    let tools_of = |tools: &Map<String, Value>, op: &str| -> Vec<String> {
        tools
            .iter()
            .filter(|(_, t)| t["operation"] == op)
            .map(|(n, _)| n.clone())
            .collect()
    };
    for (id, op) in new_ops {
        let sig = format!(
            "{} {}",
            op["method"].as_str().unwrap_or(""),
            op["path"].as_str().unwrap_or("")
        );
        match old_ops.get(id) {
            None => {
                let bound = tools_of(new_tools, id);
                let excluded = keyed(new, "excluded").get(id);
                out.push(if let Some(reason) = excluded {
                    format!("+ operation {id} ({sig}): new; Rust gains Client::{id} (not breaking); not a tool (excluded: {})", reason.as_str().unwrap_or(""))
                } else if bound.is_empty() {
                    format!("+ operation {id} ({sig}): new, and no tool is bound to it; bind it in tools-map.toml or list it under [[excluded]]")
                } else {
                    format!("+ operation {id} ({sig}): new; Rust gains Client::{id} (not breaking); tools: {}", bound.join(", "))
                });
            }
            Some(o) if o != op => {
                let mut changes = Vec::new();
                let old_sig = format!(
                    "{} {}",
                    o["method"].as_str().unwrap_or(""),
                    o["path"].as_str().unwrap_or("")
                );
                if old_sig != sig {
                    changes.push(format!("moved from {old_sig}"));
                }
                let mut breaking = Vec::new();
                diff_fields(
                    "parameter",
                    Field::Parameter,
                    keyed(o, "parameters"),
                    keyed(op, "parameters"),
                    &mut changes,
                    &mut breaking,
                );
                diff_fields(
                    "body field",
                    Field::Body,
                    keyed(o, "body"),
                    keyed(op, "body"),
                    &mut changes,
                    &mut breaking,
                );
                if o["body"].is_null() != op["body"].is_null() {
                    let text = if op["body"].is_null() {
                        "body removed"
                    } else {
                        "body added"
                    };
                    changes.push(text.into());
                    breaking.push(text.into());
                }
                if o["response"] != op["response"] {
                    let text = format!("answer {} → {}", o["response"], op["response"]);
                    breaking.push(text.clone());
                    changes.push(text);
                } else if shape_of(&o["response_schema"]) != shape_of(&op["response_schema"]) {
                    changes
                        .push("answer schema changed (agents still get the answer whole)".into());
                    breaking.push("the answer type changed".into());
                } else if o["response_schema"] != op["response_schema"] {
                    changes.push("answer schema descriptions changed".into());
                }
                if o["security"] != op["security"] {
                    changes.push(format!("token {} → {}", o["security"], op["security"]));
                }
                let rust = if breaking.is_empty() {
                    format!(
                        "Rust: not breaking (Client::{id} keeps its builder; new setters are optional)"
                    )
                } else {
                    format!(
                        "Rust: BREAKING for callers of Client::{id} ({})",
                        breaking.join("; ")
                    )
                };
                out.push(format!(
                    "~ operation {id} ({sig}): {}; {rust}",
                    changes.join("; ")
                ));
            }
            _ => {}
        }
    }
    for (id, o) in old_ops {
        if !new_ops.contains_key(id) {
            let broken = tools_of(old_tools, id);
            out.push(format!(
                "- operation {id} ({} {}): removed; Rust: BREAKING, Client::{id} is gone{}",
                o["method"].as_str().unwrap_or(""),
                o["path"].as_str().unwrap_or(""),
                if broken.is_empty() {
                    String::new()
                } else {
                    format!("; breaks tools: {}", broken.join(", "))
                }
            ));
        }
    }
    for (name, t) in new_tools {
        match old_tools.get(name) {
            None => out.push(format!(
                "+ tool {name} (operation {})",
                t["operation"].as_str().unwrap_or("")
            )),
            Some(o) if o != t => {
                let mut changes = Vec::new();
                let args = |v: &Value| -> Map<String, Value> {
                    let req: BTreeSet<String> = v["input_schema"]["required"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect();
                    keyed(&v["input_schema"], "properties")
                        .iter()
                        .map(|(k, s)| {
                            (k.clone(), json!({"required": req.contains(k), "schema": s}))
                        })
                        .collect()
                };
                diff_fields(
                    "argument",
                    Field::Argument,
                    &args(o),
                    &args(t),
                    &mut changes,
                    &mut Vec::new(),
                );
                if o["operation"] != t["operation"] || o["token"] != t["token"] {
                    changes.push("operation or token changed".into());
                }
                for key in ["title", "description", "annotations"] {
                    if o["definition"][key] != t["definition"][key] {
                        changes.push(format!("{key} changed"));
                    }
                }
                if changes.is_empty() && o["input_schema"] != t["input_schema"] {
                    changes.push("input schema descriptions changed".into());
                }
                out.push(format!("~ tool {name}: {}", changes.join("; ")));
            }
            _ => {}
        }
    }
    for name in old_tools.keys().filter(|n| !new_tools.contains_key(*n)) {
        out.push(format!("- tool {name}: removed"));
    }
    out
}

/// The documentation files with derived sections, from the workspace root.
pub const README: &str = "README.md";
/// The full tool table.
pub const TOOLS_DOC: &str = "docs/tools.md";
/// The environment-variable table.
pub const CONFIG_DOC: &str = "docs/configuration.md";
/// The copy of the client crate's usage section.
pub const RUST_DOC: &str = "docs/rust-client.md";
/// The client crate's README, where the usage section is written (and doc-tested).
pub const CRATE_README: &str = "trekmail-api/README.md";

/// Every documentation file with derived sections, regenerated: `(file, text)`, where `read`
/// gives a file's checked-in text by its path from the workspace root. `Err` names a file whose
/// markers are missing.
pub fn derived_docs(
    catalog: &Catalog,
    read: impl Fn(&str) -> String,
) -> Result<Vec<(&'static str, String)>, String> {
    let crate_readme = read(CRATE_README);
    let usage = section(&crate_readme, "rust-usage")
        .ok_or_else(|| format!("{CRATE_README}: the rust-usage markers are missing"))?;
    let sections: [(&'static str, &str, String); 5] = [
        (README, "tool-counts", tool_counts(catalog)),
        (README, "toolsets", toolsets_summary(catalog)),
        (TOOLS_DOC, "tools-table", tools_table(catalog)),
        (CONFIG_DOC, "env-table", env_table()),
        (RUST_DOC, "rust-usage", usage.to_owned()),
    ];
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (file, marker, body) in sections {
        let text = match out.iter().position(|(f, _)| *f == file) {
            Some(i) => out.remove(i).1,
            None => read(file),
        };
        let spliced = splice(&text, marker, &body)
            .ok_or_else(|| format!("{file}: the {marker} markers are missing"))?;
        out.push((file, spliced));
    }
    Ok(out)
}

fn token_word(t: trekmail_api::TokenKind) -> &'static str {
    if t == trekmail_api::TokenKind::Ops {
        "ops"
    } else {
        "message"
    }
}

/// The total and per-token tool counts, one line.
pub fn tool_counts(catalog: &Catalog) -> String {
    let tools = catalog.tools();
    let ops = tools
        .iter()
        .filter(|t| t.entry.token == trekmail_api::TokenKind::Ops)
        .count();
    format!(
        "**{} tools**: {ops} with the ops token (`TREKMAIL_API_TOKEN`), {} with the message token (`TREKMAIL_MESSAGE_TOKEN`).",
        tools.len(),
        tools.len() - ops
    )
}

/// One row per toolset: its tools, token, how many are read-only, and the switches that guard
/// some of them (`D?` when only for some argument values).
pub fn toolsets_summary(catalog: &Catalog) -> String {
    let mut out =
        String::from("| Toolset | Tools | Token | Read-only | Switches |\n|---|---|---|---|---|\n");
    for set in catalog.toolsets() {
        let tools: Vec<_> = catalog
            .tools()
            .iter()
            .filter(|t| t.entry.toolset == set)
            .collect();
        let read_only = tools
            .iter()
            .filter(|t| t.entry.annotations.read_only)
            .count();
        let always: BTreeSet<&str> = tools
            .iter()
            .filter_map(|t| t.entry.gate)
            .map(letter)
            .collect();
        let mut gates: Vec<String> = always.iter().map(|g| (*g).to_owned()).collect();
        let sometimes: BTreeSet<&str> = tools
            .iter()
            .flat_map(|t| t.entry.gate_when.iter().map(|g| letter(g.gate)))
            .filter(|g| !always.contains(g))
            .collect();
        gates.extend(sometimes.iter().map(|g| format!("{g}?")));
        let token = tools.first().map_or("", |t| token_word(t.entry.token));
        let _ = writeln!(
            out,
            "| `{set}` | {} | {token} | {read_only} | {} |",
            tools.len(),
            gates.join(" ")
        );
    }
    out
}

/// The full tool table, one section per toolset.
pub fn tools_table(catalog: &Catalog) -> String {
    let mut out = String::new();
    let mut current = String::new();
    for t in catalog.tools() {
        let e = &t.entry;
        if e.toolset != current {
            current = e.toolset.clone();
            let n = catalog
                .tools()
                .iter()
                .filter(|x| x.entry.toolset == current)
                .count();
            let token = token_word(e.token);
            let _ = write!(
                out,
                "\n**`{current}`** ({n}, {token} token)\n\n| Tool | Title | Gate | Confirm |\n|---|---|---|---|\n"
            );
        }
        let mut gate: Vec<String> = e.gate.iter().map(|g| letter(*g).to_owned()).collect();
        gate.extend(e.gate_when.iter().map(|g| format!("{}?", letter(g.gate))));
        gate.dedup();
        let confirm = e
            .confirm
            .as_deref()
            .map(|c| format!("`{c}`"))
            .unwrap_or_default();
        let ro = if e.annotations.read_only {
            " (read-only)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "| `{}` | {}{ro} | {} | {confirm} |",
            e.name,
            e.title,
            gate.join(" ")
        );
    }
    out
}

/// The environment-variable table, from the command line's definition: every flag bound to a
/// variable, with its default (clap's, or the `[default: …]` its help ends with) and its help.
/// The variables without a flag (the tokens) are not clap arguments: docs/configuration.md
/// describes them by hand.
pub fn env_table() -> String {
    let mut out = String::from("| Variable | Flag | Default | Meaning |\n|---|---|---|---|\n");
    for arg in trekmail_mcp::config::cli::command().get_arguments() {
        let (Some(var), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        let (meaning, default) = match help.rsplit_once(" [default: ") {
            Some((m, d)) if d.ends_with(']') => (m.to_owned(), d.trim_end_matches(']').to_owned()),
            _ => (help.clone(), String::new()),
        };
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        let default = if defaults.is_empty() {
            default
        } else {
            defaults.join(",")
        };
        let default = if default.is_empty() {
            String::new()
        } else {
            format!("`{default}`")
        };
        let _ = writeln!(
            out,
            "| `{}` | `--{long}` | {default} | {} |",
            var.to_string_lossy(),
            cell(&meaning)
        );
    }
    out
}

fn letter(g: trekmail_mcp::catalog::map::GateName) -> &'static str {
    match g {
        trekmail_mcp::catalog::map::GateName::Destructive => "D",
        trekmail_mcp::catalog::map::GateName::Sending => "S",
        trekmail_mcp::catalog::map::GateName::Migration => "M",
        trekmail_mcp::catalog::map::GateName::Payments => "P",
        trekmail_mcp::catalog::map::GateName::UploadDir => "U",
    }
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
        .replace('*', "\\*")
        .replace('<', "&lt;")
}

/// Replaces the text between `<!-- {name}:start -->` and `<!-- {name}:end -->` with `body`.
pub fn splice(text: &str, name: &str, body: &str) -> Option<String> {
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let a = text.find(&start)? + start.len();
    let b = text.find(&end)?;
    (a <= b).then(|| format!("{}\n{}\n{}", &text[..a], body.trim(), &text[b..]))
}

/// The text between `<!-- {name}:start -->` and `<!-- {name}:end -->`.
pub fn section<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let (start, end) = (
        format!("<!-- {name}:start -->"),
        format!("<!-- {name}:end -->"),
    );
    let a = text.find(&start)? + start.len();
    let b = text.find(&end)?;
    text.get(a..b)
}
