//! The `outputSchema` of a tool whose answer the OpenAPI document describes with a named schema
//! of its own (not one marked `x-generic`, such as `DataObject`): the answer's documented fields
//! and types, compact (no descriptions: the tool list has a byte budget) and lenient. Undescribed
//! fields stay allowed, so an API that adds fields never breaks a validating client, and the
//! `data` envelope is optional: an answer without it is an object whose fields are not checked.

use serde_json::{Map, Value, json};

use crate::catalog::map::FileSpec;

/// The output schema for an operation's success `response_schema`, or `None` when the document
/// describes it only generically (or not at all).
pub fn schema(response_schema: &Value) -> Option<Map<String, Value>> {
    let s = response_schema.as_object()?;
    if s.get("x-generic") == Some(&Value::Bool(true)) || s.get("type")? != "object" {
        return None;
    }
    let Value::Object(mut m) = compact(response_schema) else {
        return None;
    };
    if let Some(Value::Array(req)) = m.get_mut("required") {
        req.retain(|r| r != "data");
        if req.is_empty() {
            m.remove("required");
        }
    }
    Some(m)
}

/// Types, properties, items and required fields only; `nullable` becomes a `null` type.
fn compact(s: &Value) -> Value {
    let mut out = Map::new();
    if let Some(t) = s.get("type") {
        let nullable = s.get("nullable") == Some(&Value::Bool(true));
        out.insert(
            "type".into(),
            if nullable {
                Value::Array(vec![t.clone(), "null".into()])
            } else {
                t.clone()
            },
        );
    }
    if let Some(Value::Object(props)) = s.get("properties") {
        let p = props.iter().map(|(k, v)| (k.clone(), compact(v))).collect();
        out.insert("properties".into(), Value::Object(p));
    }
    if let Some(items) = s.get("items") {
        out.insert("items".into(), compact(items));
    }
    if let Some(r @ Value::Array(a)) = s.get("required")
        && !a.is_empty()
    {
        out.insert("required".into(), r.clone());
    }
    Value::Object(out)
}

/// Whether `value` fits an output schema made by [`schema`] (types, properties, items, required:
/// the whole subset it emits), or the first misfit, named by its JSON path.
pub fn fits(schema: &Map<String, Value>, value: &Value) -> Result<(), String> {
    fn go(s: &Map<String, Value>, v: &Value, at: &str) -> Result<(), String> {
        let types: Vec<&str> = match s.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let is = |t: &str| match t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => true,
        };
        if !types.is_empty() && !types.iter().any(|t| is(t)) {
            return Err(format!("`{at}` is {v}, not {}", types.join(" or ")));
        }
        if let Value::Object(o) = v {
            for r in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = r.as_str().filter(|r| !o.contains_key(*r)) {
                    return Err(format!("`{at}` has no `{r}`"));
                }
            }
            for (k, ps) in s
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let (Some(x), Some(ps)) = (o.get(k), ps.as_object()) {
                    go(ps, x, &format!("{at}.{k}"))?;
                }
            }
        }
        if let (Value::Array(a), Some(Value::Object(is))) = (v, s.get("items")) {
            for (i, x) in a.iter().enumerate() {
                go(is, x, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }
    go(schema, value, "$")
}

/// The output schema of a file tool: the metadata `File::metadata` (call/files.rs) always gives, and the
/// answer's other documented fields (from the response schema's `data`, bytes, name and type
/// left out), which it passes on.
pub fn file_schema(spec: &FileSpec, response_schema: &Value) -> Map<String, Value> {
    let mut props = Map::new();
    let data = &response_schema["properties"]["data"]["properties"];
    for (k, v) in data.as_object().into_iter().flatten() {
        let skip = [
            Some(&spec.content),
            spec.name.as_ref(),
            spec.media_type.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|f| f == k);
        if !skip && let Some(t) = v.get("type") {
            props.insert(k.clone(), json!({ "type": t }));
        }
    }
    for (k, t) in [
        ("name", "string"),
        ("media_type", "string"),
        ("size", "integer"),
        ("sha256", "string"),
        ("uri", "string"),
    ] {
        props.insert(k.into(), json!({ "type": t }));
    }
    let mut m = Map::new();
    m.insert("type".into(), "object".into());
    m.insert("properties".into(), Value::Object(props));
    m.insert(
        "required".into(),
        json!(["name", "media_type", "size", "sha256", "uri"]),
    );
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generic_schemas_have_none_and_named_ones_are_compact() {
        assert!(schema(&json!({"type": "object", "x-generic": true})).is_none());
        assert!(schema(&Value::Null).is_none());
        let s = schema(&json!({
            "type": "object", "required": ["data"], "description": "d",
            "properties": {"data": {"type": "object", "required": ["id"], "properties": {
                "id": {"type": "integer", "format": "int64", "description": "x"},
                "at": {"type": "string", "nullable": true}}}}
        }));
        assert_eq!(
            Value::Object(s.unwrap_or_default()),
            json!({"type": "object", "properties": {"data": {"type": "object", "required": ["id"],
                "properties": {"id": {"type": "integer"}, "at": {"type": ["string", "null"]}}}}})
        );
    }

    #[test]
    fn fits_names_the_first_misfit() {
        let s = schema(
            &json!({"type": "object", "properties": {"data": {"type": "object",
            "required": ["id"], "properties": {"id": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}}}}}}),
        )
        .unwrap_or_default();
        assert_eq!(fits(&s, &json!({"data": {"id": 7, "more": 1}})), Ok(()));
        assert_eq!(fits(&s, &json!({"id": 7})), Ok(()));
        assert_eq!(
            fits(&s, &json!({"data": {"id": "7"}})),
            Err("`$.data.id` is \"7\", not integer".into())
        );
        assert_eq!(
            fits(&s, &json!({"data": {}})),
            Err("`$.data` has no `id`".into())
        );
        assert_eq!(
            fits(&s, &json!({"data": {"id": 1, "tags": ["a", 2]}})),
            Err("`$.data.tags[1]` is 2, not string".into())
        );
        assert!(fits(&s, &json!([1])).is_err());
    }
}
