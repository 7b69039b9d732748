//! Everything derived from the OpenAPI document, in one place, for `cargo xtask generate`: the
//! typed operation model ([`Operation`], `$ref`s resolved, checked field by field), the
//! progenitor client written to `trekmail-api/src/generated.rs`, the operations data written to
//! `trekmail-api/operations.jsonl` (for `call_operation`, the MCP server and the sandbox), and
//! the document's lint.
//!
//! A document that progenitor cannot take, or a malformed operation, fails with a message naming
//! the operation and the field.

// One canonical JSON for the workspace, compiled here too (see its header).
#[path = "../../trekmail-api/src/canonical.rs"]
mod canonical;
mod client;
mod lint;
// The format is written here and read by trekmail-api: one file, compiled by both (see its
// header for why this crate cannot depend on trekmail-api).
#[path = "../../trekmail-api/src/model/format.rs"]
pub mod model;
mod read;
pub use client::MARKER;
pub use lint::lint;
pub use model::{Location, Method, Operation, Parameter, ResponseKind};
pub use read::{operations, resolve};

use std::path::Path;

use serde_json::Value;

/// Reads a YAML (or JSON) OpenAPI document.
pub fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    serde_yaml::from_str(&text).map_err(|e| format!("not valid YAML: {e}"))
}

/// Everything generated from one document.
pub struct Generated {
    /// The checked-in file `trekmail-api/src/generated.rs`: the marker line and the progenitor
    /// client.
    pub client: String,
    /// The operations, `$ref`s resolved, each bound to its generated method.
    pub operations: Vec<Operation>,
    /// The checked-in file `trekmail-api/operations.jsonl`, which the client embeds
    /// (`OPERATIONS_JSONL`): what the client, the MCP server, the sandbox and the xtask read
    /// ([`model::parse`]).
    pub operations_data: String,
}

impl Generated {
    /// Generates the client and the operations of `doc`, each bound to its generated method.
    pub fn from_document(doc: &Value) -> Result<Self, String> {
        let mut operations = operations(doc)?;
        let spec: openapiv3::OpenAPI = serde_json::from_value(strip_extensions(doc.clone()))
            .map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;
        let file = client::generate(&spec)?;
        bind_methods(&client::client_methods(&file), &mut operations)?;
        let operations_data = model::write(&operations).map_err(|e| e.to_string())?;
        let client = client::render(&file)?;
        Ok(Self {
            client,
            operations,
            operations_data,
        })
    }
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

/// The operations of `doc` as the client embeds them, without generating the client (for
/// reports and tests): `client_method` left empty.
pub fn operations_data(doc: &Value) -> Result<String, String> {
    model::write(&operations(doc)?).map_err(|e| e.to_string())
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

/// Binds every operation to the method progenitor generated for it (`client_method`): an
/// operation without its method is an error naming both.
fn bind_methods(
    methods: &std::collections::BTreeSet<String>,
    operations: &mut [Operation],
) -> Result<(), String> {
    for op in operations {
        let method = snake(&op.operation_id);
        if !methods.contains(&method) {
            return Err(format!(
                "operation {}: progenitor generated no method `{method}`",
                op.operation_id
            ));
        }
        op.client_method = method;
    }
    Ok(())
}
