//! Argument validation against a tool's input schema (the JSON Schema subset the spec uses),
//! naming every bad argument. rmcp does not validate dynamic tools, so this is the only check.

use std::collections::HashMap;

use crate::catalog::truncate::cut;
use trekmail_api::email::is_email;

use serde_json::{Map, Value};

/// Compiled `pattern`s, shared by all tools.
#[derive(Default)]
pub struct Patterns(HashMap<String, regress::Regex>);

impl Patterns {
    /// Compiles every `pattern` found in `schema`.
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
}

/// What the checks need besides the schema.
struct Ctx<'a> {
    patterns: &'a Patterns,
    /// Field names whose values are never echoed (passwords, API tokens).
    secrets: &'a [&'a str],
}

impl Ctx<'_> {
    /// The value as shown in a message: shortened, or hidden for a secret field.
    fn show(&self, path: &str, v: &Value) -> String {
        let field = path.rsplit('.').next().unwrap_or(path);
        let field = field.split('[').next().unwrap_or(field);
        if self.secrets.contains(&field) {
            "(value hidden)".into()
        } else {
            short(v)
        }
    }
}

/// Validates `args` against `schema`; returns one line per problem, each naming its argument.
/// Values of `secrets` fields are never echoed.
pub fn validate(
    schema: &Value,
    args: &Map<String, Value>,
    patterns: &Patterns,
    secrets: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    check_object(schema, args, "", &Ctx { patterns, secrets }, &mut problems);
    problems
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

fn short(v: &Value) -> String {
    cut(&v.to_string(), 60)
}

fn check_object(
    schema: &Value,
    obj: &Map<String, Value>,
    path: &str,
    ctx: &Ctx<'_>,
    out: &mut Vec<String>,
) {
    let props = schema.get("properties").and_then(Value::as_object);
    for r in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !obj.contains_key(r) {
            out.push(format!("{}: required", join(path, r)));
        }
    }
    for (k, v) in obj {
        let p = join(path, k);
        match props.and_then(|m| m.get(k)) {
            Some(s) => check(s, v, &p, ctx, out),
            None => match schema.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    let known: Vec<&str> = props
                        .map(|m| m.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    out.push(format!(
                        "{p}: unknown argument (expected one of: {})",
                        known.join(", ")
                    ));
                }
                Some(s @ Value::Object(_)) => check(s, v, &p, ctx, out),
                _ => {}
            },
        }
    }
}

fn check(schema: &Value, v: &Value, path: &str, ctx: &Ctx<'_>, out: &mut Vec<String>) {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() && !types.iter().any(|t| is_type(v, t)) {
        let want = types
            .iter()
            .map(|t| if *t == "integer" { "an integer" } else { t })
            .collect::<Vec<_>>()
            .join(" or ");
        out.push(format!(
            "{path}: must be {want}, got {} {}",
            type_name(v),
            ctx.show(path, v)
        ));
        return;
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(v)
    {
        let list = options
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        out.push(format!(
            "{path}: {} is not one of {list}",
            ctx.show(path, v)
        ));
        return;
    }
    match v {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                out.push(format!("{path}: {n} is below the minimum {min}"));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                out.push(format!("{path}: {n} is above the maximum {max}"));
            }
        }
        Value::String(s) => {
            let len = s.chars().count();
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && (len as u64) < min
            {
                out.push(format!(
                    "{path}: must be at least {min} characters, got {len}"
                ));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len as u64 > max
            {
                out.push(format!(
                    "{path}: must be at most {max} characters, got {len}"
                ));
            }
            if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                && let Some(re) = ctx.patterns.0.get(p)
                && re.find(s).is_none()
            {
                out.push(format!(
                    "{path}: {} does not match the pattern {p}",
                    ctx.show(path, v)
                ));
            }
            if schema.get("format").and_then(Value::as_str) == Some("email") && !is_email(s) {
                out.push(format!(
                    "{path}: {} is not an email address",
                    ctx.show(path, v)
                ));
            }
        }
        Value::Array(items) => {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                out.push(format!(
                    "{path}: needs at least {min} items, got {}",
                    items.len()
                ));
            }
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                out.push(format!(
                    "{path}: takes at most {max} items, got {}",
                    items.len()
                ));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), ctx, out);
                }
            }
        }
        Value::Object(m) => check_object(schema, m, path, ctx, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(schema: Value, args: Value) -> Vec<String> {
        let mut p = Patterns::default();
        p.add_from(&schema).expect("patterns compile");
        validate(
            &schema,
            args.as_object().expect("object"),
            &p,
            &["password"],
        )
    }

    #[test]
    fn names_every_bad_argument() {
        let schema = json!({"type": "object", "additionalProperties": false, "required": ["name"],
            "properties": {"name": {"type": "string", "maxLength": 3}, "n": {"type": "integer", "minimum": 1, "maximum": 5},
            "kind": {"type": "string", "enum": ["a", "b"]}, "to": {"type": "array", "maxItems": 1, "items": {"type": "string", "format": "email"}}}});
        let problems = run(
            schema,
            json!({"n": 9, "kind": "c", "to": ["x", "a@b.co"], "extra": 1}),
        );
        assert_eq!(
            problems,
            vec![
                "name: required",
                "n: 9 is above the maximum 5",
                "kind: \"c\" is not one of \"a\", \"b\"",
                "to: takes at most 1 items, got 2",
                "to[0]: \"x\" is not an email address",
                "extra: unknown argument (expected one of: name, n, kind, to)",
            ]
        );
    }

    #[test]
    fn types_are_strict_and_null_needs_nullable() {
        let schema = json!({"type": "object", "properties": {"id": {"type": "integer"}, "note": {"type": ["string", "null"]}, "flag": {"type": "boolean"}}});
        assert_eq!(
            run(
                schema.clone(),
                json!({"id": "5", "note": null, "flag": "true"})
            ),
            vec![
                "id: must be an integer, got a string \"5\"",
                "flag: must be boolean, got a string \"true\"",
            ]
        );
        assert_eq!(
            run(schema, json!({"id": 1.5})),
            vec!["id: must be an integer, got a number 1.5"]
        );
    }

    #[test]
    fn patterns_with_lookahead_work() {
        let schema = json!({"type": "object", "properties": {"local_part": {"type": "string",
            "pattern": "^(?!.*_archived_[0-9]{8}_[0-9]{6}(?:_[0-9]+_[0-9]+)?$)[a-z0-9_][a-z0-9_-]*(?:\\.[a-z0-9_-]+)*$"}}});
        assert!(run(schema.clone(), json!({"local_part": "jane.doe"})).is_empty());
        assert_eq!(run(schema.clone(), json!({"local_part": "Jane"})).len(), 1);
        assert_eq!(
            run(schema, json!({"local_part": "x_archived_20240101_120000"})).len(),
            1
        );
    }

    #[test]
    fn nested_items_report_their_path() {
        let schema = json!({"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object",
            "required": ["domain_id"], "additionalProperties": false, "properties": {"domain_id": {"type": "integer", "minimum": 1}}}}}});
        assert_eq!(
            run(schema, json!({"items": [{"domain_id": 0}, {}]})),
            vec![
                "items[0].domain_id: 0 is below the minimum 1",
                "items[1].domain_id: required",
            ]
        );
    }

    #[test]
    fn secret_values_are_never_echoed() {
        let schema = json!({"type": "object", "properties": {"password": {"type": "string", "minLength": 12},
            "items": {"type": "array", "items": {"type": "object", "properties": {"password": {"type": "string"}}}}}});
        let problems = run(
            schema,
            json!({"password": 123456789, "items": [{"password": ["hunter2"]}]}),
        );
        assert_eq!(
            problems,
            vec![
                "password: must be string, got an integer (value hidden)",
                "items[0].password: must be string, got an array (value hidden)",
            ]
        );
    }
}
