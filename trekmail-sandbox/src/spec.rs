//! The one module that reads the OpenAPI document: the typed operations that `trekmail-api`
//! embeds ([`trekmail_api::model::operations`]), turned into routes and request checks.
//! Everything else in the sandbox sees only [`Operation`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use trekmail_api::TokenKind;
use trekmail_api::model::{self, Location, Method, Parameter, ResponseKind};
use trekmail_api::validate::{Patterns, validate};

/// One path segment of a route: `prefix{param}suffix`, or a literal when `param` is `None`.
#[derive(Debug, Clone)]
struct Segment {
    prefix: String,
    param: Option<String>,
    suffix: String,
}

/// One operation of the document.
#[derive(Debug, Clone)]
pub struct Operation {
    /// operationId.
    pub id: String,
    /// `GET`, `POST`, …
    pub method: Method,
    /// The path template, e.g. `/mailboxes/{mailbox_id}:pause`.
    pub path: String,
    /// The token the operation needs.
    pub token: TokenKind,
    /// Parameters, typed.
    pub parameters: Vec<Parameter>,
    /// The JSON request body schema, if the operation takes one.
    pub body: Option<Value>,
    /// The 2xx JSON response schema, if the document describes one.
    pub response_schema: Option<Value>,
    /// What the success answer carries.
    pub response: ResponseKind,
    /// The operation's description in the document (what it promises: "newest first", …).
    pub description: String,
    segments: Vec<Segment>,
}

impl Operation {
    /// The literal parts of the path, e.g. `["mailboxes", "aliases"]`: a resource's collection.
    pub fn literals(&self) -> Vec<String> {
        self.segments
            .iter()
            .map(|s| s.prefix.clone())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// For each path parameter, the collection it names: the literal segments before it.
    pub fn param_collections(&self) -> Vec<(String, String)> {
        let mut lits: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for s in &self.segments {
            if !s.prefix.is_empty() {
                lits.push(s.prefix.clone());
            }
            if let Some(p) = &s.param {
                out.push((p.clone(), lits.join("/")));
            }
        }
        out
    }

    /// The collection the operation acts on: the literal segments, without a final `:action`.
    pub fn collection(&self) -> String {
        let mut lits = self.literals();
        if !self.ends_with_param()
            && let Some(last) = lits.last_mut()
            && let Some((head, _)) = last.split_once(':')
        {
            *last = head.to_owned();
        }
        lits.join("/")
    }

    /// The action suffix after a colon on the last segment (`pause` for `{id}:pause`).
    pub fn action(&self) -> Option<String> {
        let last = self.segments.last()?;
        if last.param.is_some() {
            last.suffix.strip_prefix(':').map(str::to_owned)
        } else {
            last.prefix.split_once(':').map(|(_, a)| a.to_owned())
        }
    }

    /// The path parameter names, in path order.
    pub fn path_params(&self) -> Vec<String> {
        self.segments
            .iter()
            .filter_map(|s| s.param.clone())
            .collect()
    }

    /// Whether the last segment is a parameter (an item route rather than a collection route).
    pub fn ends_with_param(&self) -> bool {
        self.segments.last().is_some_and(|s| s.param.is_some())
    }

    /// Where a list answer puts its items, when the document describes the answer as a list:
    /// `data` itself (`{"data": [...], "meta"}`) or an array inside it (`{"data": {"messages":
    /// [...], "pagination"}}`); `None` for any other answer.
    pub fn list_shape(&self) -> Option<ListShape> {
        let data = &self.response_schema.as_ref()?["properties"]["data"];
        if data["type"] == "array" {
            return Some(ListShape::Data);
        }
        let props = data["properties"].as_object()?;
        props.get("pagination")?;
        props
            .iter()
            .find(|(_, s)| s["type"] == "array")
            .map(|(name, _)| ListShape::Inside(name.clone()))
    }

    /// A path or query parameter.
    pub fn parameter(&self, location: Location, name: &str) -> Option<&Parameter> {
        self.parameters
            .iter()
            .find(|p| p.location == location && p.name == name)
    }

    /// Matches `path` (below `/api/v1`); the path parameters (percent-decoded) and a specificity.
    fn matches(&self, parts: &[&str]) -> Option<(BTreeMap<String, String>, usize)> {
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = BTreeMap::new();
        let mut literal = 0;
        for (seg, part) in self.segments.iter().zip(parts) {
            match &seg.param {
                None => {
                    if seg.prefix != *part {
                        return None;
                    }
                    literal += 1000;
                }
                Some(name) => {
                    let middle = part
                        .strip_prefix(seg.prefix.as_str())?
                        .strip_suffix(seg.suffix.as_str())?;
                    if middle.is_empty() {
                        return None;
                    }
                    // `{file_id}:purge` is more specific than `{file_id}` for `1:purge`.
                    literal += seg.prefix.len() + seg.suffix.len();
                    params.insert(name.clone(), percent_decode(middle));
                }
            }
        }
        Some((params, literal))
    }
}

/// Where a list answer's items go (see [`Operation::list_shape`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListShape {
    /// `{"data": [...], "meta": {...}}`
    Data,
    /// `{"data": {"<name>": [...], "pagination": {...}}}`
    Inside(String),
}

/// Every operation, and the router over them.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The operations, in document order.
    pub operations: Vec<Operation>,
    /// The request schemas' patterns, compiled once.
    patterns: Patterns,
}

/// What a request path found.
pub enum Route<'a> {
    /// An operation, with its path parameters.
    Found(&'a Operation, BTreeMap<String, String>),
    /// The path exists with other methods.
    WrongMethod,
    /// No such path.
    NotFound,
}

impl Spec {
    /// The document embedded in `trekmail-api`; a malformed model is an error naming the
    /// operation and the field.
    pub fn embedded() -> Result<Self, String> {
        let ops = model::operations().map_err(|e| e.to_string())?;
        Ok(Self::from_operations(ops))
    }

    /// The sandbox of `ops`.
    pub fn from_operations(ops: &[model::Operation]) -> Self {
        let operations = ops
            .iter()
            .map(|op| Operation {
                id: op.operation_id.clone(),
                method: op.method,
                path: op.path.clone(),
                token: if op
                    .security
                    .iter()
                    .any(|t| TokenKind::from_scheme(t) == Some(TokenKind::Message))
                {
                    TokenKind::Message
                } else {
                    TokenKind::Ops
                },
                parameters: op.parameters.clone(),
                body: op.request_body.clone(),
                response_schema: op.response_schema.clone(),
                response: op.response,
                description: [op.summary.as_deref(), op.description.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                segments: op
                    .path
                    .trim_start_matches('/')
                    .split('/')
                    .map(parse_segment)
                    .collect(),
            })
            .collect::<Vec<Operation>>();
        let mut patterns = Patterns::default();
        for op in &operations {
            let params = op.parameters.iter().map(|p| &p.schema);
            for schema in params.chain(op.body.as_ref()) {
                // One that does not compile is reported by every check that meets it.
                let _ = patterns.add_from(schema);
            }
        }
        Self {
            operations,
            patterns,
        }
    }

    /// [`check`] with the document's patterns compiled once.
    pub fn check(&self, schema: &Value, v: &Value, at: &str, out: &mut Map<String, Value>) {
        check_with(&self.patterns, schema, v, at, out);
    }

    /// Finds the operation of `method path` (path below `/api/v1`); literal segments win over
    /// parameters (`/messages/folders` before `/messages/{uid}`), then literal text around a
    /// parameter (`{file_id}:purge` before `{file_id}`). `method` is `None` for a request
    /// method no operation has ([`Method::parse`]): the path's other methods make it
    /// [`Route::WrongMethod`].
    pub fn route(&self, method: Option<Method>, path: &str) -> Route<'_> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(&Operation, BTreeMap<String, String>, usize)> = None;
        let mut other_method = false;
        for op in &self.operations {
            if let Some((params, score)) = op.matches(&parts) {
                if Some(op.method) != method {
                    other_method = true;
                    continue;
                }
                if best.as_ref().is_none_or(|b| score > b.2) {
                    best = Some((op, params, score));
                }
            }
        }
        match best {
            Some((op, params, _)) => Route::Found(op, params),
            None if other_method => Route::WrongMethod,
            None => Route::NotFound,
        }
    }

    /// The operation called `id`.
    pub fn get(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.id == id)
    }
}

fn parse_segment(s: &str) -> Segment {
    if let (Some(open), Some(close)) = (s.find('{'), s.find('}')) {
        Segment {
            prefix: s[..open].to_owned(),
            param: Some(s[open + 1..close].to_owned()),
            suffix: s[close + 1..].to_owned(),
        }
    } else {
        Segment {
            prefix: s.to_owned(),
            param: None,
            suffix: String::new(),
        }
    }
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        if b[i] == b'+' {
            out.push(b' ');
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Converts a path or query string to the parameter's schema type; `Err` names the expected type.
pub fn typed(schema: &Value, raw: &str) -> Result<Value, String> {
    match schema["type"].as_str() {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "must be an integer".into()),
        Some("number") => raw
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| "must be a number".into()),
        Some("boolean") => match raw {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err("must be true or false".into()),
        },
        _ => Ok(Value::String(raw.to_owned())),
    }
}

/// Request checks against a schema of the document (the workspace's one check,
/// `trekmail_api::validate`), collected per field path (`body` for the whole body). Values appear
/// in messages only when short; patterns not compiled beforehand are compiled when met.
pub fn check(schema: &Value, v: &Value, at: &str, out: &mut Map<String, Value>) {
    check_with(&Patterns::default(), schema, v, at, out);
}

fn check_with(
    patterns: &Patterns,
    schema: &Value,
    v: &Value,
    at: &str,
    out: &mut Map<String, Value>,
) {
    let show = |_: &str, v: &Value| {
        let text = v.to_string();
        if text.chars().count() <= 60 {
            text
        } else {
            "(a long value)".to_owned()
        }
    };
    for p in validate(schema, v, at, patterns, &show) {
        let key = if p.path.is_empty() {
            "body".to_owned()
        } else {
            p.path
        };
        let e = out.entry(key).or_insert_with(|| Value::Array(vec![]));
        if let Value::Array(a) = e {
            a.push(Value::String(p.message));
        }
    }
}
