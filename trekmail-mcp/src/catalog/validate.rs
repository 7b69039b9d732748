//! Argument validation against a tool's input schema, naming every bad argument. rmcp does not
//! validate dynamic tools, so this is the only check. The check itself is the workspace's one
//! (`trekmail_api::validate`, shared with the sandbox); this module decides how values appear to
//! the agent: shortened, and hidden for secret fields.

use crate::catalog::truncate::cut;

use serde_json::{Map, Value};
pub use trekmail_api::validate::Patterns;

/// The value as shown in a message: shortened, or hidden for a field named in `secrets`.
fn show(secrets: &[&str], path: &str, v: &Value) -> String {
    let field = path.rsplit('.').next().unwrap_or(path);
    let field = field.split('[').next().unwrap_or(field);
    if secrets.contains(&field) {
        "(value hidden)".into()
    } else {
        cut(&v.to_string(), 60)
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
    trekmail_api::validate::validate_object(schema, args, patterns, &|path, v| {
        show(secrets, path, v)
    })
    .iter()
    .map(ToString::to_string)
    .collect()
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
