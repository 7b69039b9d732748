//! The `outputSchema` of a tool whose answer the OpenAPI document describes with a named schema
//! of its own (not one marked `x-generic`, such as `DataObject`): the answer's documented fields
//! and types, compact (no descriptions: the tool list has a byte budget) and lenient. Undescribed
//! fields stay allowed, so an API that adds fields never breaks a validating client, and the
//! `data` envelope is optional: an answer without it is an object whose fields are not checked.

use serde_json::{Map, Value};

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
}
