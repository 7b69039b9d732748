//! Tool arguments → the wire arguments of the generated operation, as the spec's `x-mcp-*`
//! annotations say. Nothing here knows a tool by name.

use serde_json::{Map, Value};
use trekmail_api::OperationArgs;

use crate::catalog::schema::{FixedTarget, IdempotencyKey, Send, Shape, Target};

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Builds the request arguments. `idempotency_key` is the header value for writes.
pub fn to_wire(
    shape: &Shape,
    args: &Map<String, Value>,
    idempotency_key: Option<&IdempotencyKey>,
) -> OperationArgs {
    let mut out = OperationArgs::default();
    let mut body = Map::new();
    let mut nested: Map<String, Value> = Map::new();
    // A conditional parent object is sent when one of its own arguments carries a value.
    let mut parent_has_value: Vec<&str> = Vec::new();
    for a in &shape.args {
        let given = args.get(&a.name);
        let value = match &a.send {
            Send::Given => given.cloned(),
            Send::Default(d) => Some(given.cloned().unwrap_or_else(|| d.clone())),
            Send::NonEmpty => given.filter(|v| !is_empty(v)).cloned(),
            Send::OnlyFalse => given.filter(|v| **v == Value::Bool(false)).cloned(),
            Send::OnlyTrue => given.filter(|v| **v == Value::Bool(true)).cloned(),
        };
        let Some(value) = value else { continue };
        match &a.target {
            Target::Path(n) => {
                out.path.insert(n.clone(), value);
            }
            Target::Query(n) => {
                out.query.insert(n.clone(), value);
            }
            Target::Header(n) => {
                out.header.insert(n.clone(), value);
            }
            Target::Flow => {}
            Target::Body(n) => {
                body.insert(n.clone(), value);
            }
            Target::Nested { parent, field } => {
                if given.is_some_and(|v| !is_empty(v)) {
                    parent_has_value.push(parent);
                }
                if let Value::Object(m) = nested
                    .entry(parent.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                {
                    m.insert(field.clone(), value);
                }
            }
        }
    }
    for p in &shape.parents {
        let send = p.always || parent_has_value.contains(&p.field.as_str());
        if send {
            let v = nested
                .remove(&p.field)
                .unwrap_or_else(|| Value::Object(Map::new()));
            body.insert(p.field.clone(), v);
        }
    }
    for f in &shape.fixed {
        match &f.target {
            FixedTarget::Header(n) => {
                out.header.insert(n.clone(), f.value.clone());
            }
            FixedTarget::Query(n) => {
                out.query.insert(n.clone(), f.value.clone());
            }
            FixedTarget::Path(n) => {
                out.path.insert(n.clone(), f.value.clone());
            }
            FixedTarget::Body(n) => {
                body.insert(n.clone(), f.value.clone());
            }
        }
    }
    if let Some(k) = idempotency_key {
        out.header.insert(
            trekmail_api::IDEMPOTENCY_KEY.into(),
            Value::String(k.as_str().to_owned()),
        );
    }
    if shape.has_body {
        out.body = Some(Value::Object(body));
    }
    out
}
