//! Reads the document into the operation model ([`crate::model`]): every operation with its
//! `$ref`s resolved, checked field by field. A malformed document is an error naming the
//! operation and the field, never a silent default.

use serde_json::{Map, Value};

use crate::model::{Location, Method, Operation, Parameter, ResponseKind};

fn location(s: &str) -> Option<Location> {
    [Location::Path, Location::Query, Location::Header]
        .into_iter()
        .find(|l| l.as_str() == s)
}

/// The keys of a parameter object that only document it: read by no one, so left out.
const DOC_ONLY: [&str; 2] = ["example", "examples"];

/// Follows `$ref`s into the document, recursively: the one resolver of this crate. The spec has
/// no cycles (checked by depth).
pub fn resolve(doc: &Value, v: &Value) -> Result<Value, String> {
    fn go(doc: &Value, v: &Value, depth: usize) -> Result<Value, String> {
        if depth > 32 {
            return Err("$ref nesting deeper than 32: a cycle?".into());
        }
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref") {
                    return go(doc, target(doc, r)?, depth + 1);
                }
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), go(doc, v, depth + 1)?)))
                    .collect::<Result<Map<_, _>, String>>()
                    .map(Value::Object)
            }
            Value::Array(a) => a
                .iter()
                .map(|v| go(doc, v, depth + 1))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }
    go(doc, v, 0)
}

/// What a `$ref` points at, one level.
pub fn target<'a>(doc: &'a Value, r: &Value) -> Result<&'a Value, String> {
    let r = r.as_str().ok_or("a $ref that is not a string")?;
    r.strip_prefix("#/")
        .and_then(|p| doc.pointer(&format!("/{p}")))
        .ok_or_else(|| format!("unresolved $ref {r}"))
}

fn text(op: &Value, field: &str, at: &str) -> Result<Option<String>, String> {
    text_of(op.get(field), field, at)
}

fn text_of(v: Option<&Value>, field: &str, at: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{at}: `{field}` must be a string, is {other}")),
    }
}

/// Every operation of `doc`, in document order.
pub fn operations(doc: &Value) -> Result<Vec<Operation>, String> {
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("the document has no `paths` object")?;
    let mut out = Vec::new();
    for (path, item) in paths {
        for method in Method::ALL {
            let Some(op) = item.get(method.openapi_key()) else {
                continue;
            };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{method} {path}: no operationId"))?;
            let at = format!("operation {id} ({method} {path})");
            out.push(operation(doc, op, id, method, path, &at)?);
        }
    }
    crate::model::check(&out).map_err(|e| e.to_string())?;
    Ok(out)
}

fn operation(
    doc: &Value,
    op: &Value,
    id: &str,
    method: Method,
    path: &str,
    at: &str,
) -> Result<Operation, String> {
    let tags = match op.get("tags") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| {
                t.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{at}: `tags` holds {t}, not a string"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("{at}: `tags` must be a list, is {other}")),
    };
    let parameters = match op.get("parameters") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, p)| parameter(doc, p, &format!("{at}: parameters[{i}]")))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("{at}: `parameters` must be a list, is {other}")),
    };
    let request_body = match op.get("requestBody") {
        None => None,
        Some(b) => {
            let b = resolve(doc, b).map_err(|e| format!("{at}: requestBody: {e}"))?;
            match b.pointer("/content/application~1json/schema") {
                Some(s) => Some(s.clone()),
                None => {
                    return Err(format!(
                        "{at}: requestBody has no content.application/json.schema"
                    ));
                }
            }
        }
    };
    let responses = op
        .get("responses")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{at}: no `responses` object"))?;
    let success = responses
        .iter()
        .find(|(code, _)| code.starts_with('2'))
        .map(|(code, r)| resolve(doc, r).map_err(|e| format!("{at}: responses.{code}: {e}")))
        .transpose()?
        .unwrap_or(Value::Null);
    let response = match success.get("content") {
        None | Some(Value::Null) => ResponseKind::Empty,
        Some(Value::Object(c)) if c.contains_key("application/json") => ResponseKind::Json,
        Some(Value::Object(c)) if !c.is_empty() => ResponseKind::Text,
        Some(Value::Object(_)) => ResponseKind::Empty,
        Some(other) => {
            return Err(format!(
                "{at}: the success response's `content` must be an object, is {other}"
            ));
        }
    };
    let security = match op.get("security").or_else(|| doc.get("security")) {
        None => Vec::new(),
        Some(Value::Array(reqs)) => {
            let mut names = Vec::new();
            for r in reqs {
                let r = r.as_object().ok_or_else(|| {
                    format!("{at}: `security` holds {r}, not a requirement object")
                })?;
                names.extend(r.keys().cloned());
            }
            names
        }
        Some(other) => return Err(format!("{at}: `security` must be a list, is {other}")),
    };
    Ok(Operation {
        operation_id: id.to_owned(),
        method,
        path: path.to_owned(),
        tags,
        summary: text(op, "summary", at)?,
        description: text(op, "description", at)?,
        security,
        parameters,
        request_body,
        response,
        response_schema: success
            .pointer("/content/application~1json/schema")
            .cloned(),
        // Bound to the generated method by `Generated::from_document`.
        client_method: String::new(),
    })
}

fn parameter(doc: &Value, p: &Value, at: &str) -> Result<Parameter, String> {
    let resolved = resolve(doc, p).map_err(|e| format!("{at}: {e}"))?;
    let Value::Object(object) = resolved else {
        return Err(format!("{at}: not an object"));
    };
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}: no `name`"))?
        .to_owned();
    let at = format!("{at} (`{name}`)");
    let location = object
        .get("in")
        .and_then(Value::as_str)
        .and_then(location)
        .ok_or_else(|| {
            format!(
                "{at}: `in` must be path, query or header, is {}",
                object.get("in").unwrap_or(&Value::Null)
            )
        })?;
    let required = match object.get("required") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "{at}: `required` must be true or false, is {other}"
            ));
        }
    };
    if location == Location::Path && !required {
        return Err(format!("{at}: a path parameter must be `required: true`"));
    }
    let schema = object
        .get("schema")
        .cloned()
        .ok_or_else(|| format!("{at}: no `schema`"))?;
    let description = text_of(object.get("description"), "description", &at)?;
    if let Some(key) = object.keys().find(|k| {
        !matches!(
            k.as_str(),
            "name" | "in" | "required" | "description" | "schema"
        ) && !DOC_ONLY.contains(&k.as_str())
    }) {
        return Err(format!(
            "{at}: `{key}` is not read by the operation model (trekmail-api/src/model/format.rs): model it there or leave it out"
        ));
    }
    Ok(Parameter {
        name,
        location,
        required,
        description,
        schema,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(op: Value) -> Value {
        json!({"paths": {"/things/{id}": {"get": op}}, "components": {"parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}}}})
    }

    fn err(op: Value) -> String {
        operations(&doc(op)).expect_err("malformed")
    }

    #[test]
    fn a_malformed_operation_names_the_operation_and_the_field() {
        let base = json!({"operationId": "get_thing", "responses": {"200": {"description": "ok"}}});
        let with = |k: &str, v: Value| {
            let mut o = base.clone();
            o[k] = v;
            o
        };
        assert_eq!(
            err(with(
                "parameters",
                json!([{"$ref": "#/components/parameters/Id"}, {"in": "query", "schema": {}}])
            )),
            "operation get_thing (GET /things/{id}): parameters[1]: no `name`"
        );
        assert_eq!(
            err(with(
                "parameters",
                json!([{"name": "q", "in": "cookie", "schema": {}}])
            )),
            "operation get_thing (GET /things/{id}): parameters[0] (`q`): `in` must be path, query or header, is \"cookie\""
        );
        assert_eq!(
            err(with(
                "parameters",
                json!([{"$ref": "#/components/parameters/Nope"}])
            )),
            "operation get_thing (GET /things/{id}): parameters[0]: unresolved $ref #/components/parameters/Nope"
        );
        assert_eq!(
            err(with(
                "parameters",
                json!([{"name": "q", "in": "query", "style": "form", "schema": {}}])
            )),
            "operation get_thing (GET /things/{id}): parameters[0] (`q`): `style` is not read by the operation model (trekmail-api/src/model/format.rs): model it there or leave it out"
        );
        assert_eq!(
            err(with("tags", json!("Things"))),
            "operation get_thing (GET /things/{id}): `tags` must be a list, is \"Things\""
        );
        assert_eq!(
            err(with("summary", json!(3))),
            "operation get_thing (GET /things/{id}): `summary` must be a string, is 3"
        );
        assert_eq!(
            err(with("requestBody", json!({"content": {"text/plain": {}}}))),
            "operation get_thing (GET /things/{id}): requestBody has no content.application/json.schema"
        );
        assert_eq!(
            err(json!({"responses": {}})),
            "GET /things/{id}: no operationId"
        );
        assert_eq!(
            err(json!({"operationId": "get_thing"})),
            "operation get_thing (GET /things/{id}): no `responses` object"
        );
    }

    #[test]
    fn a_well_formed_operation_is_read_whole() {
        let ops = operations(&doc(json!({
            "operationId": "get_thing", "tags": ["Things"],
            "parameters": [{"$ref": "#/components/parameters/Id"}, {"name": "x", "in": "query", "description": "Ex", "example": "y", "schema": {"type": "string", "x-mcp-arg": "ex"}}],
            "responses": {"200": {"description": "ok", "content": {"text/csv": {}}}},
            "security": [{"opsToken": []}]
        })))
        .unwrap();
        let op = &ops[0];
        assert_eq!(
            (op.method.as_str(), op.response),
            ("GET", ResponseKind::Text)
        );
        assert_eq!(op.security, ["opsToken"]);
        assert_eq!(
            op.parameters
                .iter()
                .map(|p| (p.name.as_str(), p.location, p.required))
                .collect::<Vec<_>>(),
            [("id", Location::Path, true), ("x", Location::Query, false)]
        );
        assert_eq!(op.parameters[1].description.as_deref(), Some("Ex"));
        assert_eq!(op.parameters[1].schema["x-mcp-arg"], "ex");
    }
}
