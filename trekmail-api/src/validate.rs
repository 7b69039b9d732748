//! The one JSON-schema check of the workspace: a value against a schema of the document (the
//! subset the spec lint lets in: `type` (with `null` or `nullable`), `enum`, `minimum`/`maximum`,
//! `minLength`/`maxLength`, `pattern`, `format: email`, `items`, `minItems`/`maxItems`,
//! `required`, `properties`, `additionalProperties`; the lint refuses `oneOf`, `anyOf`, `allOf`
//! and `not`, so the check knows none of them). The MCP server
//! checks a tool's arguments with it before anything is sent; the sandbox checks requests, and its
//! tests check answers against the described schemas.
//!
//! Hand-written, not `jsonschema`, on purpose: every problem names its argument by path
//! (`items[1].domain_id`) in a sentence an agent can act on, and the caller decides how a value is
//! shown (the server hides secret fields and shortens long values); the check runs on the
//! schema as it is, with nothing compiled per tool at start-up, and costs one walk of the
//! arguments per call. `jsonschema` stays a dev-dependency that cross-checks this one over every
//! tool's schema (`trekmail-mcp/tests/catalog.rs`).

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::email::is_email;

/// Compiled `pattern`s. A pattern not added beforehand is compiled when met (so a check is
/// never skipped); adding them once at start-up keeps that off the per-call path.
#[derive(Debug, Clone, Default)]
pub struct Patterns(HashMap<String, regress::Regex>);

impl Patterns {
    /// Compiles every `pattern` found in `schema`; `Err` names the one that does not compile.
    pub fn add_from(&mut self, schema: &Value) -> Result<(), String> {
        match schema {
            Value::Object(m) => {
                if let Some(Value::String(p)) = m.get("pattern")
                    && !self.0.contains_key(p)
                {
                    let re = regress::Regex::new(p).map_err(|e| format!("pattern {p:?}: {e}"))?;
                    self.0.insert(p.clone(), re);
                }
                m.values().try_for_each(|v| self.add_from(v))
            }
            Value::Array(a) => a.iter().try_for_each(|v| self.add_from(v)),
            _ => Ok(()),
        }
    }

    /// Whether `s` matches `p`; `None` when `p` does not compile.
    fn matches(&self, p: &str, s: &str) -> Option<bool> {
        match self.0.get(p) {
            Some(re) => Some(re.find(s).is_some()),
            None => regress::Regex::new(p).ok().map(|re| re.find(s).is_some()),
        }
    }
}

/// One problem: where (`name`, `items[0].id`; empty for the whole value) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The value's path.
    pub path: String,
    /// What is wrong, as a sentence after the path.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// How a value appears in a message, given its path: the caller hides secrets and shortens.
pub type Show<'a> = &'a dyn Fn(&str, &Value) -> String;

/// Checks `v` (at path `at`) against `schema`; one [`Problem`] per problem, in the value's order.
pub fn validate(
    schema: &Value,
    v: &Value,
    at: &str,
    patterns: &Patterns,
    show: Show<'_>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    Walk { patterns, show }.check(schema, v, at, &mut out);
    out
}

/// [`validate`] of an object at the root, without wrapping it in a [`Value`].
pub fn validate_object(
    schema: &Value,
    obj: &Map<String, Value>,
    patterns: &Patterns,
    show: Show<'_>,
) -> Vec<Problem> {
    let mut out = Vec::new();
    Walk { patterns, show }.object(schema, obj, "", &mut out);
    out
}

struct Walk<'a> {
    patterns: &'a Patterns,
    show: Show<'a>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

impl Walk<'_> {
    fn bad(&self, path: &str, message: String, out: &mut Vec<Problem>) {
        out.push(Problem {
            path: path.to_owned(),
            message,
        });
    }

    fn object(&self, schema: &Value, obj: &Map<String, Value>, path: &str, out: &mut Vec<Problem>) {
        let props = schema.get("properties").and_then(Value::as_object);
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !obj.contains_key(r) {
                self.bad(&join(path, r), "required".into(), out);
            }
        }
        for (k, v) in obj {
            let p = join(path, k);
            match props.and_then(|m| m.get(k)) {
                Some(s) => self.check(s, v, &p, out),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        let known: Vec<&str> = props
                            .map(|m| m.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        self.bad(
                            &p,
                            format!("unknown argument (expected one of: {})", known.join(", ")),
                            out,
                        );
                    }
                    Some(s @ Value::Object(_)) => self.check(s, v, &p, out),
                    _ => {}
                },
            }
        }
    }

    fn check(&self, schema: &Value, v: &Value, path: &str, out: &mut Vec<Problem>) {
        let types: Vec<&str> = match schema.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        // OpenAPI 3.0 writes a nullable type as `nullable: true`, JSON Schema as `[t, "null"]`.
        let null_ok = v.is_null() && schema.get("nullable") == Some(&Value::Bool(true));
        if !null_ok && !types.is_empty() && !types.iter().any(|t| is_type(v, t)) {
            let want = types
                .iter()
                .map(|t| if *t == "integer" { "an integer" } else { t })
                .collect::<Vec<_>>()
                .join(" or ");
            self.bad(
                path,
                format!(
                    "must be {want}, got {} {}",
                    type_name(v),
                    (self.show)(path, v)
                ),
                out,
            );
            return;
        }
        if let Some(Value::Array(options)) = schema.get("enum")
            && !options.contains(v)
            && !null_ok
        {
            let list = options
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            self.bad(
                path,
                format!("{} is not one of {list}", (self.show)(path, v)),
                out,
            );
            return;
        }
        match v {
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                    && x < min
                {
                    self.bad(path, format!("{n} is below the minimum {min}"), out);
                }
                if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                    && x > max
                {
                    self.bad(path, format!("{n} is above the maximum {max}"), out);
                }
            }
            Value::String(s) => self.string(schema, s, v, path, out),
            Value::Array(items) => {
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && (items.len() as u64) < min
                {
                    self.bad(
                        path,
                        format!("needs at least {min} items, got {}", items.len()),
                        out,
                    );
                }
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && items.len() as u64 > max
                {
                    self.bad(
                        path,
                        format!("takes at most {max} items, got {}", items.len()),
                        out,
                    );
                }
                if let Some(item_schema) = schema.get("items") {
                    for (i, item) in items.iter().enumerate() {
                        self.check(item_schema, item, &format!("{path}[{i}]"), out);
                    }
                }
            }
            Value::Object(m) => self.object(schema, m, path, out),
            _ => {}
        }
    }

    fn string(&self, schema: &Value, s: &str, v: &Value, path: &str, out: &mut Vec<Problem>) {
        let len = s.chars().count();
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && (len as u64) < min
        {
            self.bad(
                path,
                format!("must be at least {min} characters, got {len}"),
                out,
            );
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len as u64 > max
        {
            self.bad(
                path,
                format!("must be at most {max} characters, got {len}"),
                out,
            );
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            match self.patterns.matches(p, s) {
                Some(true) => {}
                Some(false) => self.bad(
                    path,
                    format!("{} does not match the pattern {p}", (self.show)(path, v)),
                    out,
                ),
                None => self.bad(
                    path,
                    format!("cannot be checked: the pattern {p} does not compile"),
                    out,
                ),
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("email") && !is_email(s) {
            self.bad(
                path,
                format!("{} is not an email address", (self.show)(path, v)),
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(schema: Value, v: Value) -> Vec<String> {
        validate(&schema, &v, "", &Patterns::default(), &|_, v| v.to_string())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn openapi_nullable_and_json_schema_null_both_admit_null() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "string", "nullable": true}, "b": {"type": ["string", "null"]},
            "c": {"type": "string"}, "d": {"type": "string", "enum": ["x"], "nullable": true}}});
        assert_eq!(
            run(schema, json!({"a": null, "b": null, "c": null, "d": null})),
            vec!["c: must be string, got null null"]
        );
    }

    #[test]
    fn a_pattern_not_added_is_still_checked() {
        let schema = json!({"type": "string", "pattern": "^[a-z]+$"});
        assert_eq!(
            run(schema, json!("A")),
            vec![": \"A\" does not match the pattern ^[a-z]+$"]
        );
        let broken = json!({"type": "string", "pattern": "(["});
        assert_eq!(
            run(broken, json!("A")),
            vec![": cannot be checked: the pattern ([ does not compile"]
        );
    }
}
