//! The one format of the operations: what `cargo xtask generate` reads from the OpenAPI
//! document and writes to `trekmail-api/operations.jsonl`, which the client embeds
//! (`OPERATIONS_JSONL`), and what the client, the MCP server, the sandbox and the xtask read
//! back. Reading it checks every field: a malformed model is a
//! [`ModelError`] naming the operation and the field, never a default.
//!
//! This file is compiled twice: as `trekmail_api::model` and, through `#[path]`, as
//! `trekmail_spec::model`. The writer (`trekmail-spec`) must build while the client it writes is
//! stale or broken, so it cannot depend on `trekmail-api`; `trekmail-api` must package alone, so
//! the format cannot live in a third, unpublished crate. One file keeps the format stated once.
//! It needs serde, serde_json and serde_path_to_error only.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// An HTTP method of an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Every method, in the order an OpenAPI path item lists them here.
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// `GET`, `POST`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The method a request line names (`GET`, …: exact, as HTTP methods are case-sensitive);
    /// `None` for one no operation has (`HEAD`, `get`, …).
    pub fn parse(text: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// The key of this method in an OpenAPI path item (`get`, `post`, ...).
    pub fn openapi_key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Patch => "patch",
            Method::Delete => "delete",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// A path placeholder.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
}

impl Location {
    /// `path`, `query` or `header`, as the document spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
        }
    }
}

/// One parameter of an operation, `$ref` resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Its wire name.
    pub name: String,
    /// Where it travels.
    #[serde(rename = "in")]
    pub location: Location,
    /// Whether the document requires it (a path parameter always is).
    pub required: bool,
    /// What it means.
    #[serde(deserialize_with = "present")]
    pub description: Option<String>,
    /// Its schema, `$ref`s resolved, `x-mcp-*` annotations kept.
    pub schema: Value,
}

/// What a successful answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseKind {
    /// `application/json`.
    Json,
    /// Any other content type (CSV, bytes).
    Text,
    /// No content.
    Empty,
}

/// One operation of the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// `operationId`.
    pub operation_id: String,
    /// Its HTTP method.
    pub method: Method,
    /// The path template, e.g. `/mailboxes/{mailbox_id}:pause`.
    pub path: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its summary.
    #[serde(deserialize_with = "present")]
    pub summary: Option<String>,
    /// Its description.
    #[serde(deserialize_with = "present")]
    pub description: Option<String>,
    /// The security schemes it accepts (the operation's, or the document's).
    pub security: Vec<String>,
    /// Its parameters, in document order.
    pub parameters: Vec<Parameter>,
    /// The `application/json` request body schema, `$ref`s resolved, if it takes a body.
    #[serde(deserialize_with = "present")]
    pub request_body: Option<Value>,
    /// What its success answer carries.
    pub response: ResponseKind,
    /// The success answer's JSON schema, if the document describes one.
    #[serde(deserialize_with = "present")]
    pub response_schema: Option<Value>,
    /// The name of its method in the generated client (`Client::list_domains`).
    pub client_method: String,
}

impl Operation {
    /// The parameter `name` in `location`.
    pub fn parameter(&self, location: Location, name: &str) -> Option<&Parameter> {
        self.parameters
            .iter()
            .find(|p| p.location == location && p.name == name)
    }

    /// The names of the path template's placeholders, in order.
    pub fn placeholders(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = self.path.as_str();
        while let Some(open) = rest.find('{') {
            let Some(len) = rest[open..].find('}') else {
                break;
            };
            out.push(&rest[open + 1..open + len]);
            rest = &rest[open + len + 1..];
        }
        out
    }
}

/// An `Option` field that must be present (as `null` when empty): serde's derive would read a
/// missing `Option` as `None`, which would hide a truncated model.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    T::deserialize(d)
}

/// A malformed operation model: which operation, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelError {
    /// The operation's id, or its position (`operations[3]`) when it has none; empty when the
    /// text is not a list at all.
    pub operation: String,
    /// The field, as a path (`parameters[2].in`); empty for the whole operation.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.operation.is_empty() {
            f.write_str(&self.message)
        } else if self.field.is_empty() {
            write!(f, "operation {}: {}", self.operation, self.message)
        } else {
            write!(
                f,
                "operation {}: `{}`: {}",
                self.operation, self.field, self.message
            )
        }
    }
}

impl std::error::Error for ModelError {}

/// The first line of the data: each operation's id, in document order, and where its line
/// starts (byte offsets after this line, one more than the ids: the end).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    ids: Vec<String>,
    lines: Vec<usize>,
}

/// The operations data read up to its index: one operation is parsed when asked for, so a
/// caller of one operation does not pay for all of them. Reading the index checks the offsets
/// against the data's length only; a line's own bytes (where it ends, that it is text) are
/// looked at when that line is asked for, so an embedded copy's pages stay untouched until then.
#[derive(Debug)]
pub struct Index<'a> {
    /// The lines after the header.
    body: &'a str,
    /// `(operation_id, start, end)` of each line (`end` after its newline), in document order.
    lines: Vec<(String, usize, usize)>,
    /// Each id's position.
    by_id: std::collections::HashMap<String, usize>,
}

fn whole(message: String) -> ModelError {
    ModelError {
        operation: String::new(),
        field: String::new(),
        message,
    }
}

impl<'a> Index<'a> {
    /// Reads the header of the operations data ([`write()`]): every id once, every line in the
    /// text.
    pub fn read(text: &'a str) -> Result<Self, ModelError> {
        let (header, body) = text
            .split_once('\n')
            .ok_or_else(|| whole("the operations data has no header line".into()))?;
        let header: Header = serde_json::from_str(header)
            .map_err(|e| whole(format!("the operations data's header does not read: {e}")))?;
        if header.lines.len() != header.ids.len() + 1 {
            return Err(whole(format!(
                "the operations data's header lists {} ids but {} line offsets",
                header.ids.len(),
                header.lines.len()
            )));
        }
        let mut by_id = std::collections::HashMap::with_capacity(header.ids.len());
        let mut lines = Vec::with_capacity(header.ids.len());
        for (i, id) in header.ids.into_iter().enumerate() {
            let (start, end) = (header.lines[i], header.lines[i + 1]);
            if start >= end || end > body.len() {
                return Err(not_in_data(id, start, end));
            }
            if by_id.insert(id.clone(), i).is_some() {
                return Err(ModelError {
                    operation: id,
                    field: "operation_id".into(),
                    message: "appears twice".into(),
                });
            }
            lines.push((id, start, end));
        }
        if header.lines.last().copied() != Some(body.len()) {
            return Err(whole(
                "the operations data has text after its last line".into(),
            ));
        }
        Ok(Self { body, lines, by_id })
    }

    /// How many operations the data holds.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The position of the operation `id`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// The ids and lines, in document order; a line that is not in the data is an error.
    pub fn lines(&self) -> impl Iterator<Item = (&str, Result<&'a str, ModelError>)> {
        (0..self.lines.len()).map(|i| (self.lines[i].0.as_str(), self.line(i)))
    }

    /// The line at `position`, without its newline.
    fn line(&self, position: usize) -> Result<&'a str, ModelError> {
        let (id, start, end) = self
            .lines
            .get(position)
            .ok_or_else(|| whole(format!("the operations data has no operation {position}")))?;
        let (start, end) = (*start, *end);
        let last = end - 1;
        if self.body.as_bytes().get(last) != Some(&b'\n') {
            return Err(not_in_data(id.clone(), start, end));
        }
        self.body
            .get(start..last)
            .ok_or_else(|| not_in_data(id.clone(), start, end))
    }

    /// The line of the operation at `position`, parsed and checked ([`check`]); its id must be
    /// the one the header gives.
    pub fn operation(&self, position: usize) -> Result<Operation, ModelError> {
        let line = self.line(position)?;
        let id = &self.lines[position].0;
        let op = parse_line(line, position)?;
        if op.operation_id != *id {
            return Err(ModelError {
                operation: op.operation_id,
                field: "operation_id".into(),
                message: format!("the header names this line `{id}`"),
            });
        }
        check(std::slice::from_ref(&op))?;
        Ok(op)
    }
}

fn not_in_data(operation: String, start: usize, end: usize) -> ModelError {
    ModelError {
        operation,
        field: String::new(),
        message: format!("its line ({start}..{end}) is not in the data"),
    }
}

/// One operation from its line, every field checked; `position` names it when it has no id.
fn parse_line(line: &str, position: usize) -> Result<Operation, ModelError> {
    let item: Value = serde_json::from_str(line).map_err(|e| ModelError {
        operation: format!("operations[{position}]"),
        field: String::new(),
        message: format!("not JSON: {e}"),
    })?;
    let operation = item
        .get("operation_id")
        .and_then(Value::as_str)
        .map_or_else(|| format!("operations[{position}]"), str::to_owned);
    serde_path_to_error::deserialize(item).map_err(|e| {
        let field = e.path().to_string();
        ModelError {
            operation,
            field: if field == "." { String::new() } else { field },
            message: e.into_inner().to_string(),
        }
    })
}

/// Reads every operation of the operations data ([`write()`]), checking every field, and then
/// the model as a whole ([`check`]).
pub fn parse(text: &str) -> Result<Vec<Operation>, ModelError> {
    let index = Index::read(text)?;
    let ops = index
        .lines()
        .enumerate()
        .map(|(i, (_, line))| parse_line(line?, i))
        .collect::<Result<Vec<Operation>, _>>()?;
    for (op, (id, _)) in ops.iter().zip(index.lines()) {
        if op.operation_id != id {
            return Err(ModelError {
                operation: op.operation_id.clone(),
                field: "operation_id".into(),
                message: format!("the header names this line `{id}`"),
            });
        }
    }
    check(&ops)?;
    Ok(ops)
}

/// The operations data [`parse`] and [`Index`] read: a header line (the ids and where each
/// operation's line starts), then one operation a line, as compact JSON. One line per
/// operation lets a caller parse only the operation it calls.
pub fn write(ops: &[Operation]) -> Result<String, ModelError> {
    let mut body = String::new();
    let mut lines = Vec::with_capacity(ops.len() + 1);
    for op in ops {
        lines.push(body.len());
        body.push_str(
            &serde_json::to_string(op).map_err(|e| whole(format!("cannot be written: {e}")))?,
        );
        body.push('\n');
    }
    lines.push(body.len());
    let header = serde_json::to_string(&Header {
        ids: ops.iter().map(|o| o.operation_id.clone()).collect(),
        lines,
    })
    .map_err(|e| whole(format!("cannot be written: {e}")))?;
    Ok(format!("{header}\n{body}"))
}

/// What serde cannot see: each operationId once, each path placeholder a required path
/// parameter and each path parameter a placeholder.
pub fn check(ops: &[Operation]) -> Result<(), ModelError> {
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        let bad = |field: String, message: String| ModelError {
            operation: op.operation_id.clone(),
            field,
            message,
        };
        if !seen.insert(op.operation_id.as_str()) {
            return Err(bad("operation_id".into(), "appears twice".into()));
        }
        let placeholders = op.placeholders();
        for (i, p) in op.parameters.iter().enumerate() {
            let field = || format!("parameters[{i}]");
            if p.location == Location::Path && !p.required {
                return Err(bad(
                    format!("{}.required", field()),
                    format!("path parameter `{}` must be required", p.name),
                ));
            }
            if p.location == Location::Path && !placeholders.contains(&p.name.as_str()) {
                return Err(bad(
                    field(),
                    format!("path parameter `{}` is not in the path {}", p.name, op.path),
                ));
            }
        }
        for name in placeholders {
            if op.parameter(Location::Path, name).is_none() {
                return Err(bad(
                    "path".into(),
                    format!("placeholder `{{{name}}}` has no path parameter"),
                ));
            }
        }
    }
    Ok(())
}
