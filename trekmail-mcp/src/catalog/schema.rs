//! Tool arguments and input schemas, derived from an operation of the OpenAPI document.
//!
//! Path, query and body fields become arguments with their wire names, except where the spec
//! says otherwise with `x-mcp-arg` (a nested object whose fields all carry it is flattened) and
//! `x-mcp-send` (how an absent or empty argument reaches the wire).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use trekmail_api::model::{Location, Operation};

/// Where an argument goes on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// A path parameter.
    Path(String),
    /// A query parameter.
    Query(String),
    /// A header parameter (a payment credential).
    Header(String),
    /// Consumed by the tool's flow ([`crate::catalog::map::Flow`]), never sent as is.
    Flow,
    /// A top-level body field.
    Body(String),
    /// A field of a flattened body object.
    Nested {
        /// The body field holding the object.
        parent: String,
        /// The field inside it.
        field: String,
    },
}

/// How an argument reaches the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Send {
    /// Sent exactly when given (an explicit `null` included, where the schema allows it).
    Given,
    /// Sent as given, or as this default when absent.
    Default(Value),
    /// Left out when empty (`""`, `[]`, `{}`).
    NonEmpty,
    /// Sent only as `false`.
    OnlyFalse,
    /// Sent only as `true`.
    OnlyTrue,
}

/// One tool argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArgSpec {
    /// Argument name.
    pub name: String,
    /// Where it goes.
    pub target: Target,
    /// How it goes.
    pub send: Send,
    /// Whether the caller must give it.
    pub required: bool,
    /// Its JSON Schema.
    pub schema: Value,
}

/// A flattened body object and when it is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parent {
    /// The body field.
    pub field: String,
    /// `true`: always sent; `false`: sent only when one of its arguments is a non-empty value.
    pub always: bool,
}

/// A value the tool always sends, not an argument.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixed {
    /// Where.
    pub target: FixedTarget,
    /// What.
    pub value: Value,
}

/// Where a fixed value goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FixedTarget {
    /// A header parameter.
    Header(String),
    /// A query parameter.
    Query(String),
    /// A path parameter.
    Path(String),
    /// A top-level body field.
    Body(String),
}

/// Everything a tool needs to turn arguments into a request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Shape {
    /// Arguments in schema order.
    pub args: Vec<ArgSpec>,
    /// Flattened body objects.
    pub parents: Vec<Parent>,
    /// Values always sent.
    pub fixed: Vec<Fixed>,
    /// Whether the operation takes a JSON body (sent, possibly `{}`, on every call).
    pub has_body: bool,
    /// Whether the operation accepts an `Idempotency-Key` header.
    pub idempotency_header: bool,
}

/// Name of the argument that overrides the derived idempotency key.
pub const IDEMPOTENCY_ARG: &str = "idempotency_key";

/// An `Idempotency-Key`: 1 to [`IdempotencyKey::MAX_LEN`] printable ASCII characters without
/// spaces, which a header carries as they are. The caller's (`idempotency_key`, whose schema
/// states the same rule from here; an empty one means "derive the key") and every key this
/// server derives ([`IdempotencyKey::derived`]) are one, so every key sent obeys the rule. It
/// becomes text only in the header and in the state store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key taken.
    pub const MAX_LEN: usize = 255;
    /// The characters taken, as the schema's `pattern` (`!` to `~`).
    const PATTERN: &'static str = "^[!-~]*$";

    /// The key, or `None` when `text` is empty or breaks the rule.
    pub fn new(text: &str) -> Option<Self> {
        (!text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text.bytes().all(|b| (b'!'..=b'~').contains(&b)))
        .then(|| Self(text.to_owned()))
    }

    /// A key this server derives: `text` itself when it obeys the rule, else `mcp_` and the
    /// first 32 hex digits of its SHA-256 (the same text, the same key; other text, another
    /// key), so a long tool name or a caller's long key with a step added stays a key.
    pub fn derived(text: String) -> Self {
        match Self::new(&text) {
            Some(k) => k,
            None => {
                let digest = Sha256::digest(text.as_bytes());
                let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
                Self(format!("mcp_{hex}"))
            }
        }
    }

    /// The key of one step of a call made of several requests (an upload's `initiate`,
    /// `complete`, …): this key and the step, so a retry of the step repeats its key.
    pub fn step(&self, step: &str) -> Self {
        Self::derived(format!("{}_{step}", self.0))
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads an operation of the model into a [`Shape`].
pub fn shape(op: &Operation) -> Result<Shape, String> {
    let mut s = Shape::default();
    for p in &op.parameters {
        let name = p.name.clone();
        let schema = &p.schema;
        let mut described = schema.clone();
        if let (Some(d), Some(m)) = (&p.description, described.as_object_mut()) {
            m.insert("description".into(), d.clone().into());
        }
        // The tool argument's name: the wire name unless the spec names it (`lang` → `locale`).
        let arg_name = schema["x-mcp-arg"].as_str().unwrap_or(&name).to_owned();
        match p.location {
            Location::Path => s
                .args
                .push(arg(arg_name, Target::Path(name), &described, true)?),
            Location::Query if schema["x-mcp-send"] == "fixed" => {
                let value = schema
                    .get("default")
                    .cloned()
                    .ok_or_else(|| format!("fixed query {name} has no default"))?;
                s.fixed.push(Fixed {
                    target: FixedTarget::Query(name),
                    value,
                });
            }
            Location::Query => {
                s.args
                    .push(arg(arg_name, Target::Query(name), &described, p.required)?);
            }
            Location::Header if name.eq_ignore_ascii_case("idempotency-key") => {
                s.idempotency_header = true
            }
            Location::Header if schema["x-mcp-send"] == "fixed" => {
                let value = schema
                    .get("default")
                    .cloned()
                    .ok_or_else(|| format!("fixed header {name} has no default"))?;
                s.fixed.push(Fixed {
                    target: FixedTarget::Header(name),
                    value,
                });
            }
            // A header argument must be named for the agent: a wire header name is no argument.
            Location::Header if schema.get("x-mcp-arg").is_some() => {
                s.args
                    .push(arg(arg_name, Target::Header(name), &described, p.required)?);
            }
            Location::Header => {
                return Err(format!(
                    "parameter {name} in header is not supported by the MCP layer: fix its value (x-mcp-send: fixed) or name its argument (x-mcp-arg)"
                ));
            }
        }
    }
    if let Some(body) = &op.request_body {
        s.has_body = true;
        let required = string_set(&body["required"]);
        for (field, prop) in body["properties"].as_object().into_iter().flatten() {
            if prop["x-mcp-send"] == "fixed" {
                let value = prop
                    .get("default")
                    .cloned()
                    .ok_or_else(|| format!("fixed field {field} has no default"))?;
                s.fixed.push(Fixed {
                    target: FixedTarget::Body(field.clone()),
                    value,
                });
                continue;
            }
            let children = prop["properties"].as_object();
            let flatten = children
                .is_some_and(|c| !c.is_empty() && c.values().all(|v| v.get("x-mcp-arg").is_some()));
            if let (true, Some(children)) = (flatten, children) {
                let inner_required = string_set(&prop["required"]);
                s.parents.push(Parent {
                    field: field.clone(),
                    always: prop["x-mcp-send"] == "always",
                });
                for (child, cs) in children {
                    let name = cs["x-mcp-arg"].as_str().unwrap_or(child).to_owned();
                    let target = Target::Nested {
                        parent: field.clone(),
                        field: child.clone(),
                    };
                    // An argument inside an optional object is optional, whatever the object requires.
                    let req = inner_required.contains(child)
                        && required.contains(field)
                        && prop["x-mcp-send"] != "non-empty";
                    s.args.push(arg(name, target, cs, req)?);
                }
            } else {
                let name = prop["x-mcp-arg"].as_str().unwrap_or(field).to_owned();
                s.args.push(arg(
                    name,
                    Target::Body(field.clone()),
                    prop,
                    required.contains(field),
                )?);
            }
        }
    }
    Ok(s)
}

/// A preset: the arguments `fixed` (by argument name) leave the tool and are always sent with
/// those values. An unknown name is an error naming it.
pub fn preset(shape: &mut Shape, fixed: &Map<String, Value>) -> Result<(), String> {
    for (name, value) in fixed {
        let i = shape
            .args
            .iter()
            .position(|a| &a.name == name)
            .ok_or_else(|| {
                format!("fixed argument `{name}` is not an argument of the operation")
            })?;
        let a = shape.args.remove(i);
        let target = match a.target {
            Target::Path(n) => FixedTarget::Path(n),
            Target::Query(n) => FixedTarget::Query(n),
            Target::Header(n) => FixedTarget::Header(n),
            Target::Body(n) => FixedTarget::Body(n),
            Target::Nested { .. } | Target::Flow => {
                return Err(format!(
                    "fixed argument `{name}` must be a top-level parameter or field"
                ));
            }
        };
        shape.fixed.push(Fixed {
            target,
            value: value.clone(),
        });
    }
    Ok(())
}

/// A flow tool's arguments: the operation's path parameters and the flow's own; the body and
/// query of the operation are the flow's to fill.
pub fn flow(shape: &mut Shape, flow: &crate::catalog::map::Flow) -> Result<(), String> {
    shape.args.retain(|a| matches!(a.target, Target::Path(_)));
    shape.parents.clear();
    for (name, schema) in &flow.args {
        shape.args.push(ArgSpec {
            name: name.clone(),
            target: Target::Flow,
            send: Send::Given,
            required: flow.required.contains(name),
            schema: json_schema(schema),
        });
    }
    for r in &flow.required {
        if !flow.args.contains_key(r) {
            return Err(format!("flow requires `{r}`, which is not one of its args"));
        }
    }
    Ok(())
}

fn string_set(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect()
}

fn arg(name: String, target: Target, schema: &Value, required: bool) -> Result<ArgSpec, String> {
    let send = match schema["x-mcp-send"].as_str() {
        None => Send::Given,
        Some("default") => Send::Default(
            schema
                .get("default")
                .cloned()
                .ok_or_else(|| format!("{name}: x-mcp-send default without a default"))?,
        ),
        Some("non-empty") => Send::NonEmpty,
        Some("only-false") => Send::OnlyFalse,
        Some("only-true") => Send::OnlyTrue,
        Some(other) => return Err(format!("{name}: unknown x-mcp-send {other:?}")),
    };
    // A defaulted argument never has to be given.
    let required = required && !matches!(send, Send::Default(_));
    Ok(ArgSpec {
        name,
        target,
        send,
        required,
        schema: json_schema(schema),
    })
}

/// OpenAPI 3.0 schema → JSON Schema: `nullable` becomes a `null` type, `x-mcp-*` and
/// wire-only details go, `default: null` goes.
pub fn json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if k.starts_with("x-mcp-") || k == "nullable" || (k == "default" && v.is_null()) {
                    continue;
                }
                let converted = match k.as_str() {
                    // Keys whose values are maps of schemas or lists of schemas.
                    "properties" => Value::Object(
                        v.as_object()
                            .into_iter()
                            .flatten()
                            .map(|(pk, pv)| (pk.clone(), json_schema(pv)))
                            .collect(),
                    ),
                    "items" | "additionalProperties" => json_schema(v),
                    _ => v.clone(),
                };
                out.insert(k.clone(), converted);
            }
            if m.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(t) = out.get("type").and_then(Value::as_str).map(str::to_owned) {
                    out.insert("type".into(), json!([t, "null"]));
                }
                if let Some(Value::Array(e)) = out.get_mut("enum") {
                    e.push(Value::Null);
                }
            }
            if out
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f == "int64" || f == "int32")
            {
                out.remove("format");
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The full input schema of a tool: its arguments, `idempotency_key` for writes, and the
/// confirmation argument.
pub fn input_schema(shape: &Shape, confirm: Option<&str>) -> Map<String, Value> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for a in &shape.args {
        props.insert(a.name.clone(), a.schema.clone());
        if a.required {
            required.push(Value::String(a.name.clone()));
        }
    }
    if let Some(c) = confirm {
        props.insert(
            c.to_owned(),
            json!({
                "type": "boolean",
                "description": "Set true only after the user approved this specific call.",
            }),
        );
        required.push(Value::String(c.to_owned()));
    }
    if shape.idempotency_header {
        props.insert(
            IDEMPOTENCY_ARG.into(),
            json!({
                "type": "string",
                "maxLength": IdempotencyKey::MAX_LEN,
                "pattern": IdempotencyKey::PATTERN,
                "description": "Optional key that makes a repeated call safe: the API performs the operation once per key. Printable ASCII, no spaces. Leave it out to use a key derived from the arguments.",
            }),
        );
    }
    let mut schema = Map::new();
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        schema.insert("required".into(), Value::Array(required));
    }
    schema.insert("additionalProperties".into(), false.into());
    schema
}

/// Adds a paying tool's confirmation argument: optional (the call that asks the price goes
/// without it), and `true` only when the user agreed to pay.
pub fn payment_confirm(schema: &mut Map<String, Value>, confirm: &str) {
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        props.insert(
            confirm.to_owned(),
            json!({
                "type": "boolean",
                "description": "With the credential: true only if the user wants to buy this; the user then approves the exact amount.",
            }),
        );
    }
}

/// The input schema as listed to agents: the validated schema less what costs bytes and tells
/// an agent nothing. Validation keeps the full schema, so nothing checked is lost:
/// - a property description that only restates the argument's name goes;
/// - `idempotency_key` is listed as a bare string: the server instructions explain it once for
///   all 93 writes, and its length and character bounds are still checked;
/// - the confirmation argument is listed as a bare boolean: the instructions say once what it
///   means (`confirm_arg`), and it stays required;
/// - `additionalProperties: false` goes, at every depth: an unknown argument is refused with its
///   name anyway;
/// - `maxLength` of 255 or more goes: a column-size bound no agent text comes near, still checked;
/// - an array's `items` lose their description: the array's own says what they are.
pub fn listed(schema: &Map<String, Value>, confirm: Option<&str>) -> Map<String, Value> {
    let mut out = schema.clone();
    out.remove("additionalProperties");
    if let Some(Value::Object(props)) = out.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            if name == IDEMPOTENCY_ARG {
                *prop = json!({ "type": "string" });
            } else if Some(name.as_str()) == confirm {
                *prop = json!({ "type": "boolean" });
            } else {
                drop_restating(name, prop);
            }
        }
    }
    out
}

/// Removes descriptions that restate the name they describe and column-size bounds, at every depth.
fn drop_restating(name: &str, schema: &mut Value) {
    let Some(m) = schema.as_object_mut() else {
        return;
    };
    if m.get("description")
        .and_then(Value::as_str)
        .is_some_and(|d| letters(d) == letters(name))
    {
        m.remove("description");
    }
    if m.get("additionalProperties") == Some(&Value::Bool(false)) {
        m.remove("additionalProperties");
    }
    if m.get("maxLength")
        .and_then(Value::as_u64)
        .is_some_and(|n| n >= 255)
    {
        m.remove("maxLength");
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        for (k, v) in props.iter_mut() {
            drop_restating(k, v);
        }
    }
    if let Some(items) = m.get_mut("items") {
        // The array's own description covers its items.
        if let Some(i) = items.as_object_mut() {
            i.remove("description");
        }
        drop_restating(name, items);
    }
}

/// Lowercase letters and digits only: `Domain ID` and `domain_id` compare equal.
fn letters(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::IdempotencyKey;

    #[test]
    fn an_idempotency_key_is_printable_ascii_without_spaces_up_to_255() {
        for good in ["k", "order-42_!~", &"k".repeat(IdempotencyKey::MAX_LEN)] {
            assert_eq!(
                IdempotencyKey::new(good).map(|k| k.as_str().to_owned()),
                Some(good.to_owned())
            );
        }
        for bad in ["", "a b", "tab\t", "é", "line\n", &"k".repeat(256)] {
            assert_eq!(IdempotencyKey::new(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_derived_key_obeys_the_same_rule_and_stays_one_key_per_text() {
        let plain = "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af";
        assert_eq!(IdempotencyKey::derived(plain.into()).as_str(), plain);
        let longest = IdempotencyKey::new(&"k".repeat(IdempotencyKey::MAX_LEN)).unwrap();
        for text in [
            format!("mcp_{}_{}", "t".repeat(300), "0".repeat(32)),
            format!("{longest}_initiate"),
            "mcp_tool with spaces_1".to_owned(),
            String::new(),
        ] {
            let k = IdempotencyKey::derived(text.clone());
            assert_eq!(
                IdempotencyKey::new(k.as_str()).as_ref(),
                Some(&k),
                "{text:?}"
            );
            assert_eq!(
                IdempotencyKey::derived(text.clone()),
                k,
                "the same text, the same key"
            );
        }
        // Steps of one long key stay apart.
        assert_ne!(longest.step("initiate"), longest.step("complete"));
        assert_eq!(
            IdempotencyKey::new("order-42")
                .unwrap()
                .step("complete")
                .as_str(),
            "order-42_complete"
        );
    }
}
