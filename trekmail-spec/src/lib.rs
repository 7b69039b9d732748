//! Everything derived from the OpenAPI document, in one place: the progenitor client, the
//! operations catalogue (`$ref`s resolved) that the MCP server builds tools from, the dispatch
//! table that calls a generated method by operationId, and the document's lint.
//!
//! `trekmail-api/build.rs` calls it on every build; `cargo xtask generate` uses it to report and
//! check. A document that progenitor cannot take fails with a message naming the problem.

mod lint;
pub use lint::lint;

use std::collections::BTreeMap;
use std::fmt::Write as _;
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
    /// The progenitor client, formatted.
    pub client: String,
    /// The dispatch table (operationId → generated method).
    pub dispatch: String,
    /// The operations, `$ref`s resolved.
    pub operations: Vec<Value>,
}

impl Generated {
    /// Generates the client, dispatch table and operations of `doc`.
    pub fn from_document(doc: &Value) -> Result<Self, String> {
        let operations = operations(doc)?;
        let spec: openapiv3::OpenAPI = serde_json::from_value(strip_extensions(doc.clone()))
            .map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;
        let mut settings = progenitor::GenerationSettings::default();
        settings
            .with_interface(progenitor::InterfaceStyle::Positional)
            .with_inner_type(quote::quote!(crate::hooks::ClientState))
            .with_hooks(progenitor::HooksMode::Expected)
            .with_derive("PartialEq");
        let mut generator = progenitor::Generator::new(&settings);
        let tokens = std::panic::catch_unwind(move || generator.generate_tokens(&spec))
            .map_err(|_| {
                "progenitor panicked (a `default` response next to a typed 2xx, or two success types?)".to_string()
            })?
            .map_err(|e| format!("progenitor: {e}"))?;
        let file: syn::File =
            syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
        let client = prettyplease::unparse(&file);
        let dispatch = dispatch(&file, &operations)?;
        Ok(Self {
            client,
            dispatch,
            operations,
        })
    }

    /// Writes `client.rs`, `dispatch.rs` and `operations.json` into `dir`.
    pub fn write_to(&self, dir: &Path) -> Result<(), String> {
        write(dir, "client.rs", &self.client)?;
        write(dir, "dispatch.rs", &self.dispatch)?;
        let ops = serde_json::to_string(&self.operations).map_err(|e| e.to_string())?;
        write(dir, "operations.json", &ops)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    std::fs::write(dir.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))
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

/// How an owned argument is lent to a generated method parameter.
enum Pass {
    Value,
    Ref,
    OptionRef,
    OptionStr,
    Str,
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

/// Reads the generated methods' signatures and writes one match arm per operation, so that the MCP
/// server calls the generated client without a line of per-tool Rust.
fn dispatch(file: &syn::File, operations: &[Value]) -> Result<String, String> {
    use quote::ToTokens;
    let mut methods = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || imp.self_ty.to_token_stream().to_string() != "Client" {
            continue;
        }
        for it in &imp.items {
            if let syn::ImplItem::Fn(f) = it
                && f.sig.asyncness.is_some()
            {
                methods.insert(f.sig.ident.to_string(), f.sig.clone());
            }
        }
    }
    let mut arms = String::new();
    let mut fns = String::new();
    for op in operations {
        let id = op["operation_id"].as_str().unwrap_or_default();
        let method = methods.get(&snake(id)).ok_or_else(|| {
            format!(
                "operation {id}: progenitor generated no method `{}`",
                snake(id)
            )
        })?;
        let mut wire = BTreeMap::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default();
            let location = p["in"].as_str().unwrap_or_default();
            wire.insert(snake(name), (name.to_string(), location.to_string()));
        }
        let mut lets = String::new();
        let mut call = Vec::new();
        for input in method.inputs.iter().skip(1) {
            let syn::FnArg::Typed(pt) = input else {
                continue;
            };
            let ident = pt.pat.to_token_stream().to_string();
            let ty = &*pt.ty;
            let (owned, pass) = owned_type(ty);
            let source = if ident == "body" {
                "args.body()".to_string()
            } else {
                let (name, location) = wire.get(&ident).ok_or_else(|| {
                    format!(
                        "operation {id}: generated parameter `{ident}` matches no spec parameter"
                    )
                })?;
                let optional = matches!(pass, Pass::OptionRef | Pass::OptionStr)
                    || owned.starts_with("Option <");
                let getter = if optional { "optional" } else { "required" };
                format!("args.{getter}({location:?}, {name:?})")
            };
            let var = format!("a_{ident}");
            let _ = writeln!(lets, "    let {var}: {owned} = {source}?;");
            call.push(match pass {
                Pass::Value => var,
                Pass::Ref | Pass::Str => format!("&{var}"),
                Pass::OptionRef => format!("{var}.as_ref()"),
                Pass::OptionStr => format!("{var}.as_deref()"),
            });
        }
        // One small function per operation, boxed at the call site: a 143-arm async match with the
        // futures inline has a stack frame (in debug builds) larger than a tokio worker's stack.
        let _ = writeln!(
            fns,
            "async fn op_{id}(client: &Client, {}: &OperationArgs) -> Result<(), CallError> {{\n{lets}    finish(client.{}({}).await).await\n}}\n",
            if lets.is_empty() { "_args" } else { "args" },
            snake(id),
            call.join(", ")
        );
        let _ = writeln!(
            arms,
            "        {id:?} => Box::pin(op_{id}(client, args)).await,"
        );
    }
    Ok(format!(
        "// Generated by build.rs from the OpenAPI document; do not edit.\n{fns}\
         /// Calls the generated method of `operation_id` with arguments taken from `args`; the answer is captured by the hooks.\n\
         pub(crate) async fn dispatch_generated(client: &Client, operation_id: &str, args: &OperationArgs) -> Result<(), CallError> {{\n\
         \x20   match operation_id {{\n{arms}        other => Err(CallError::UnknownOperation(other.to_string())),\n    }}\n}}\n"
    ))
}

/// The owned type to deserialise an argument into, and how to lend it to the method.
fn owned_type(ty: &syn::Type) -> (String, Pass) {
    use quote::ToTokens;
    let text = ty.to_token_stream().to_string();
    if let syn::Type::Reference(r) = ty {
        let inner = r.elem.to_token_stream().to_string();
        if inner == "str" {
            return ("String".into(), Pass::Str);
        }
        return (inner, Pass::Ref);
    }
    if let syn::Type::Path(p) = ty
        && let Some(seg) = p.path.segments.last()
        && seg.ident == "Option"
        && let syn::PathArguments::AngleBracketed(a) = &seg.arguments
        && let Some(syn::GenericArgument::Type(syn::Type::Reference(r))) = a.args.first()
    {
        let inner = r.elem.to_token_stream().to_string();
        if inner == "str" {
            return ("Option<String>".into(), Pass::OptionStr);
        }
        return (format!("Option<{inner}>"), Pass::OptionRef);
    }
    (text, Pass::Value)
}
