//! Everything derived from the OpenAPI document, in one place: the progenitor client, the
//! operations catalogue (`$ref`s resolved, each bound to its generated method) that the MCP
//! server builds tools from and `call_operation` sends by operationId, and the document's lint.
//!
//! `trekmail-api/build.rs` calls it on every build; `cargo xtask generate` uses it to report and
//! check. A document that progenitor cannot take fails with a message naming the problem.

mod client;
mod lint;
pub use client::MARKER;
pub use lint::lint;

use std::path::Path;

use serde_json::{Map, Value, json};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Reads a YAML (or JSON) OpenAPI document.
pub fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_yaml::from_str(&text).map_err(|e| format!("not valid YAML: {e}"))
}

/// Everything generated from one document.
pub struct Generated {
    /// The checked-in file `trekmail-api/src/generated.rs`: the marker line, the progenitor
    /// client and the operations.
    pub client: String,
    /// The operations, `$ref`s resolved.
    pub operations: Vec<Value>,
}

impl Generated {
    /// Generates the client and the operations of `doc`, each bound to its generated method.
    pub fn from_document(doc: &Value) -> Result<Self, String> {
        let mut operations = operations(doc)?;
        let spec: openapiv3::OpenAPI = serde_json::from_value(strip_extensions(doc.clone()))
            .map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;
        let file = client::generate(&spec)?;
        bind_methods(&client::client_methods(&file), &mut operations)?;
        let json = serde_json::to_string_pretty(&operations).map_err(|e| e.to_string())?;
        let client = client::render(&file, &json)?;
        Ok(Self { client, operations })
    }
}

/// progenitor has no use for our `x-mcp-*` annotations; typify would otherwise see `default: null`.
pub fn strip_extensions(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| !k.starts_with("x-mcp-"))
                .map(|(k, v)| (k, strip_extensions(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_extensions).collect()),
        other => other,
    }
}

/// Follows `$ref`s into `components`, recursively; the spec has no cycles (checked by depth).
fn resolve(doc: &Value, v: &Value, depth: usize) -> Result<Value, String> {
    if depth > 32 {
        return Err("$ref nesting deeper than 32: a cycle?".into());
    }
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                let target = r
                    .strip_prefix("#/")
                    .and_then(|p| doc.pointer(&format!("/{p}")))
                    .ok_or_else(|| format!("unresolved $ref {r}"))?;
                return resolve(doc, target, depth + 1);
            }
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k.clone(), resolve(doc, v, depth + 1)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(a) => a
            .iter()
            .map(|v| resolve(doc, v, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// The operations of the document in a flat, resolved form that the MCP server builds tools from.
pub fn operations(doc: &Value) -> Result<Vec<Value>, String> {
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("no paths")?;
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{} {path}: no operationId", method.to_uppercase()))?;
            let mut params = Vec::new();
            for p in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                params.push(resolve(doc, p, 0)?);
            }
            let body = match op.pointer("/requestBody/content/application~1json/schema") {
                Some(s) => resolve(doc, s, 0)?,
                None => Value::Null,
            };
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("{id}: no responses"))?;
            let success = responses
                .iter()
                .find(|(code, _)| code.starts_with('2'))
                .map(|(_, r)| resolve(doc, r, 0))
                .transpose()?
                .unwrap_or(Value::Null);
            let response = match success.get("content").and_then(Value::as_object) {
                Some(c) if c.contains_key("application/json") => "json",
                Some(c) if !c.is_empty() => "text",
                _ => "empty",
            };
            let security: Vec<String> = op
                .get("security")
                .or_else(|| doc.get("security"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .flat_map(|m| m.keys().cloned())
                .collect();
            out.push(json!({
                "operation_id": id,
                "method": method.to_uppercase(),
                "path": path,
                "tags": op.get("tags").cloned().unwrap_or(json!([])),
                "summary": op.get("summary").cloned().unwrap_or(Value::Null),
                "description": op.get("description").cloned().unwrap_or(Value::Null),
                "security": security,
                "parameters": params,
                "request_body": body,
                "response": response,
                "response_schema": success.pointer("/content/application~1json/schema").cloned().unwrap_or(Value::Null),
            }));
        }
    }
    Ok(out)
}

fn snake(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Binds every operation to the method progenitor generated for it, by reading the generated
/// code: an operation without its method is an error naming both, and each operation records
/// its method's name (`client_method`) for the callers that dispatch by operationId.
fn bind_methods(
    methods: &std::collections::BTreeSet<String>,
    operations: &mut [Value],
) -> Result<(), String> {
    for op in operations {
        let id = op["operation_id"]
            .as_str()
            .ok_or("an operation has no operation_id")?
            .to_owned();
        let method = snake(&id);
        if !methods.contains(&method) {
            return Err(format!(
                "operation {id}: progenitor generated no method `{method}`"
            ));
        }
        if let Some(o) = op.as_object_mut() {
            o.insert("client_method".into(), Value::String(method));
        }
    }
    Ok(())
}
