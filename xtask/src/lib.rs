//! What `cargo xtask generate` derives from the OpenAPI document and tools-map.toml: the reviewed
//! tool surface (`openapi/surface.json`), the change report between two surfaces, and the README
//! tool table.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};
use trekmail_mcp::Catalog;
use trekmail_mcp::map::ToolsMap;

/// The surface agents and Rust callers see: operations (method, path, parameters, body fields)
/// and tools (operation, token, input schema).
pub fn surface(ops: &[Value], catalog: &Catalog, map: &ToolsMap) -> Value {
    let mut operations = Map::new();
    for op in ops {
        let id = op["operation_id"].as_str().unwrap_or_default().to_owned();
        let mut params = Map::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = format!(
                "{} {}",
                p["in"].as_str().unwrap_or("?"),
                p["name"].as_str().unwrap_or("?")
            );
            params.insert(
                name,
                json!({"required": p["required"], "schema": p["schema"]}),
            );
        }
        let mut body = Map::new();
        let required: BTreeSet<&str> = op["request_body"]["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        for (k, s) in op["request_body"]["properties"]
            .as_object()
            .into_iter()
            .flatten()
        {
            body.insert(
                k.clone(),
                json!({"required": required.contains(k.as_str()), "schema": s}),
            );
        }
        operations.insert(
            id,
            json!({
                "method": op["method"], "path": op["path"], "parameters": params,
                "body": if op["request_body"].is_object() { Value::Object(body) } else { Value::Null },
                "response": op["response"], "response_schema": op["response_schema"], "security": op["security"],
            }),
        );
    }
    let mut tools = Map::new();
    for t in catalog.tools() {
        tools.insert(
            t.entry.name.clone(),
            json!({"operation": t.entry.operation, "token": format!("{:?}", t.entry.token).to_lowercase(), "input_schema": t.input_schema}),
        );
    }
    let excluded: Map<String, Value> = map
        .excluded
        .iter()
        .map(|e| (e.operation.clone(), Value::String(e.reason.clone())))
        .collect();
    json!({"operations": operations, "tools": tools, "excluded": excluded})
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

/// Compares two maps of named entries (`{"required", "schema"}`), describing each difference.
fn diff_fields(
    what: &str,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    out: &mut Vec<String>,
) {
    for (k, v) in new {
        match old.get(k) {
            None => out.push(format!(
                "{what} `{k}` added ({}, {})",
                if v["required"] == true {
                    "required"
                } else {
                    "optional"
                },
                type_of(&v["schema"])
            )),
            Some(o) if o != v => {
                let mut how = Vec::new();
                if type_of(&o["schema"]) != type_of(&v["schema"]) {
                    how.push(format!(
                        "retyped {} → {}",
                        type_of(&o["schema"]),
                        type_of(&v["schema"])
                    ));
                }
                if o["required"] != v["required"] {
                    how.push(if v["required"] == true {
                        "now required".into()
                    } else {
                        "now optional".into()
                    });
                }
                if how.is_empty() {
                    how.push(schema_changes(&o["schema"], &v["schema"]));
                }
                out.push(format!("{what} `{k}` {}", how.join(", ")));
            }
            _ => {}
        }
    }
    for k in old.keys().filter(|k| !new.contains_key(*k)) {
        out.push(format!("{what} `{k}` removed"));
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
                    format!("+ operation {id} ({sig}): new; Rust gains Client::{id}; not a tool (excluded: {})", reason.as_str().unwrap_or(""))
                } else if bound.is_empty() {
                    format!("+ operation {id} ({sig}): new, and no tool is bound to it; bind it in tools-map.toml or list it under [[excluded]]")
                } else {
                    format!("+ operation {id} ({sig}): new; Rust gains Client::{id}; tools: {}", bound.join(", "))
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
                diff_fields(
                    "parameter",
                    keyed(o, "parameters"),
                    keyed(op, "parameters"),
                    &mut changes,
                );
                diff_fields(
                    "body field",
                    keyed(o, "body"),
                    keyed(op, "body"),
                    &mut changes,
                );
                if o["response"] != op["response"] {
                    changes.push(format!("answer {} → {}", o["response"], op["response"]));
                } else if o["response_schema"] != op["response_schema"] {
                    changes.push("answer schema changed (the method's return type follows; agents still get the answer whole)".into());
                }
                if o["security"] != op["security"] {
                    changes.push(format!("token {} → {}", o["security"], op["security"]));
                }
                out.push(format!(
                    "~ operation {id} ({sig}): {}; Rust: the signature or types of Client::{id} may change",
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
                "- operation {id} ({} {}): removed; Rust loses Client::{id}{}",
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
                diff_fields("argument", &args(o), &args(t), &mut changes);
                if o["operation"] != t["operation"] || o["token"] != t["token"] {
                    changes.push("operation or token changed".into());
                }
                out.push(format!(
                    "~ tool {name}: input schema changes: {}",
                    changes.join("; ")
                ));
            }
            _ => {}
        }
    }
    for name in old_tools.keys().filter(|n| !new_tools.contains_key(*n)) {
        out.push(format!("- tool {name}: removed"));
    }
    out
}

/// The README's tool table, one section per toolset.
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
            let token = if e.token == trekmail_mcp::map::TokenName::Ops {
                "ops"
            } else {
                "message"
            };
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

fn letter(g: trekmail_mcp::map::GateName) -> &'static str {
    match g {
        trekmail_mcp::map::GateName::Destructive => "D",
        trekmail_mcp::map::GateName::Sending => "S",
        trekmail_mcp::map::GateName::Migration => "M",
    }
}

/// Replaces the text between `<!-- tools-table:start -->` and `<!-- tools-table:end -->`.
pub fn splice_table(readme: &str, table: &str) -> Option<String> {
    let (start, end) = ("<!-- tools-table:start -->", "<!-- tools-table:end -->");
    let a = readme.find(start)? + start.len();
    let b = readme.find(end)?;
    (a <= b).then(|| format!("{}\n{}\n{}", &readme[..a], table.trim(), &readme[b..]))
}
