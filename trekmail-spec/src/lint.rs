//! The document's lint: what progenitor and the MCP layer need, and what a reviewer expects of a
//! described API. Each problem names the operation (or component) and the field.
//!
//! Operations and components need a description; parameters and properties do not: their name
//! and schema often say it all (`mailbox_id`, `page`, an enum), and a required description only
//! forced text that restates them into every agent's tool list.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

use crate::canonical::canonical_json;
use crate::model::Method;
use crate::read::target;

const SEND_RULES: [&str; 6] = [
    "default",
    "non-empty",
    "only-false",
    "only-true",
    "always",
    "fixed",
];

/// Lints `doc`; an empty list means clean.
pub fn lint(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if !doc["openapi"]
        .as_str()
        .is_some_and(|v| v.starts_with("3.0."))
    {
        out.push(format!(
            "openapi: {} is not 3.0.x (progenitor reads 3.0 only)",
            doc["openapi"]
        ));
    }
    let schemes: HashSet<&str> = doc
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let components: BTreeMap<String, String> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, s)| s.get("properties").is_some())
                .map(|(k, s)| (canonical_json(s, &["description"]), k.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in Method::ALL {
            let Some(op) = item.get(method.openapi_key()) else {
                continue;
            };
            let id = op["operationId"].as_str().unwrap_or("");
            let at = format!("{method} {path} ({id})");
            if id.is_empty() {
                out.push(format!("{at}: no operationId"));
            } else if !ids.insert(id.to_owned()) {
                out.push(format!("{at}: operationId used twice"));
            }
            if op["tags"].as_array().is_none_or(Vec::is_empty) {
                out.push(format!("{at}: no tag"));
            }
            for field in ["summary", "description"] {
                if op[field].as_str().is_none_or(|s| s.trim().is_empty()) {
                    out.push(format!("{at}: no {field}"));
                }
            }
            lint_responses(&at, op, &mut out);
            match op["security"].as_array() {
                Some(s) if !s.is_empty() => {
                    for req in s.iter().filter_map(Value::as_object) {
                        for name in req.keys() {
                            if !schemes.contains(name.as_str()) {
                                out.push(format!("{at}: security scheme `{name}` is not declared"));
                            }
                        }
                    }
                }
                _ => out.push(format!("{at}: no security requirement (which token?)")),
            }
            let mut declared = HashSet::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let p = deref(doc, p);
                let name = p["name"].as_str().unwrap_or("?");
                if p["in"] == "path" {
                    declared.insert(name.to_owned());
                }
                lint_schema(
                    &format!("{at}: parameter `{name}`"),
                    &p["schema"],
                    &components,
                    false,
                    &mut out,
                );
            }
            for seg in path.split('/') {
                for placeholder in seg.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                    if !declared.remove(placeholder) {
                        out.push(format!(
                            "{at}: path placeholder `{{{placeholder}}}` has no path parameter"
                        ));
                    }
                }
            }
            for extra in declared {
                out.push(format!("{at}: path parameter `{extra}` is not in the path"));
            }
            if let Some(body) = op.pointer("/requestBody/content") {
                if body
                    .as_object()
                    .is_some_and(|c| c.keys().any(|k| k != "application/json"))
                {
                    out.push(format!("{at}: request bodies are application/json only"));
                }
                if let Some(s) = body.pointer("/application~1json/schema")
                    && s.get("$ref").is_none()
                {
                    out.push(format!(
                        "{at}: request body: use a named component, not an inline schema"
                    ));
                }
            }
        }
    }
    for (name, s) in doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let at = format!("components/schemas/{name}");
        if s["description"]
            .as_str()
            .is_none_or(|d| d.trim().is_empty())
        {
            out.push(format!("{at}: no description"));
        }
        lint_schema(&at, s, &components, true, &mut out);
    }
    out
}

fn lint_responses(at: &str, op: &Value, out: &mut Vec<String>) {
    let Some(responses) = op["responses"].as_object() else {
        out.push(format!("{at}: no responses"));
        return;
    };
    if responses.contains_key("default") {
        out.push(format!(
            "{at}: a `default` response makes progenitor panic; declare 4XX and 5XX"
        ));
    }
    let success: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
    if success.len() != 1 {
        out.push(format!(
            "{at}: needs exactly one success response (2XX), has {success:?}"
        ));
    }
    for code in ["4XX", "5XX"] {
        if !responses.contains_key(code) {
            out.push(format!("{at}: error response {code} is not documented"));
        }
    }
}

/// One level of `$ref`; an unresolvable one is left for [`crate::operations`] to report.
fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    v.get("$ref").and_then(|r| target(doc, r).ok()).unwrap_or(v)
}

fn lint_schema(
    at: &str,
    s: &Value,
    components: &BTreeMap<String, String>,
    is_component: bool,
    out: &mut Vec<String>,
) {
    if s.get("$ref").is_some() {
        return;
    }
    for k in ["oneOf", "anyOf", "allOf", "not"] {
        if s.get(k).is_some() {
            out.push(format!("{at}: `{k}` is not used by this API (keep the document inside what progenitor generates well)"));
        }
    }
    if s.get("type").is_none()
        && s.as_object().is_some_and(|m| !m.is_empty())
        && s.get("additionalProperties").is_none()
    {
        out.push(format!("{at}: no type"));
    }
    if matches!(s["format"].as_str(), Some("date" | "date-time")) {
        out.push(format!("{at}: format {} pulls chrono into the client; use a pattern and say the format in the description", s["format"]));
    }
    if let Some(rule) = s.get("x-mcp-send").and_then(Value::as_str) {
        if !SEND_RULES.contains(&rule) {
            out.push(format!("{at}: unknown x-mcp-send `{rule}`"));
        }
        if matches!(rule, "default" | "fixed") && s.get("default").is_none() {
            out.push(format!("{at}: x-mcp-send `{rule}` needs a default"));
        }
    }
    if !is_component
        && s.get("properties").is_some()
        && let Some(name) = components.get(&canonical_json(s, &["description"]))
    {
        out.push(format!(
            "{at}: inline schema duplicates components/schemas/{name}; use a $ref"
        ));
    }
    for (k, p) in s
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        lint_schema(&format!("{at}.{k}"), p, components, false, out);
    }
    if let Some(items) = s.get("items") {
        lint_schema(&format!("{at}[]"), items, components, false, out);
    }
    if let Some(ap @ Value::Object(_)) = s.get("additionalProperties") {
        lint_schema(&format!("{at}{{*}}"), ap, components, false, out);
    }
}
