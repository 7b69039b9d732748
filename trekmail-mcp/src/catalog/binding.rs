//! The tool catalogue: `tools-map.toml` bound to the operations of the OpenAPI document.
//! Building it checks the binding both ways and fails with every mismatch named.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use rmcp::model::{Tool, ToolAnnotations};
use serde_json::{Map, Value};
use trekmail_api::model::{Method, Operation};

use crate::catalog::argpath::ArgPath;
use crate::catalog::data::Embedded;
use crate::catalog::entry::{DATA_DEFECT, Entry};
use crate::catalog::head::Head;
use crate::catalog::map::{Check, FlowKind, GateName, ToolEntry, ToolsMap, UPLOAD_PATH_ARG};
use crate::catalog::schema::{self, IDEMPOTENCY_ARG, Shape};
use crate::catalog::validate::Patterns;

/// Bounds of a tool's title, in bytes.
pub const TITLE_LEN: std::ops::RangeInclusive<usize> = 1..=60;
/// Bounds of a tool's description, in bytes: long enough to say what the tool does, short
/// enough for the tool list's byte budget.
pub const DESCRIPTION_LEN: std::ops::RangeInclusive<usize> = 20..=600;

/// One tool, ready to list and call. What selection, the instructions and a listing read (the
/// head, method and path) is there from the start; the whole map entry, the MCP definition and
/// what a call needs (shape, input schema, compiled patterns) are read from the embedded
/// catalogue data when first used ([`crate::catalog::data`]), so a start-up reads only the heads.
pub struct ToolDef {
    /// What a start and a listing read of its entry.
    pub head: Head,
    /// Its entry in `tools-map.toml`.
    pub entry: Entry,
    /// The operation's HTTP method.
    pub method: Method,
    /// The operation's path template (borrowed from the embedded data when read from it).
    pub path: Cow<'static, str>,
    // Boxed: a definition is held for every tool from the start, its MCP definition and call
    // data only once listed or called; inline they would make each definition ~1 KB larger.
    listed: OnceLock<Box<Tool>>,
    call: OnceLock<Box<CallData>>,
    /// The embedded data's lines for `listed` and `call`, when built from it.
    source: Option<Source>,
}

/// A definition's lines of the embedded data (which all definitions share), read only when the
/// definition is first listed or called, as [`Entry`] keeps its own.
struct Source {
    listed: &'static str,
    call: &'static str,
    data: Arc<Embedded>,
}

/// A tool's MCP definition as [`ToolDef::data_lines`] writes it, read with its name and
/// description borrowed from the embedded data wherever they need no unescaping: neither the
/// cached definition nor each listing's copy of it allocates them.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Listed {
    #[serde(borrow)]
    name: Cow<'static, str>,
    title: Option<String>,
    description: Option<Text>,
    /// Its input schema's number in the data ([`Embedded::schema`]).
    input_schema: usize,
    output_schema: Option<usize>,
    annotations: Option<ToolAnnotations>,
}

/// A borrowed-where-possible text: serde borrows a `Cow` field, not one inside an `Option`.
#[derive(serde::Deserialize)]
struct Text(#[serde(borrow)] Cow<'static, str>);

impl Listed {
    #[allow(clippy::expect_used)] // the data is this build's (DATA_DEFECT)
    fn tool(self, data: &Embedded) -> Tool {
        let mut tool = Tool::new_with_raw(
            self.name,
            self.description.map(|d| d.0),
            data.schema(self.input_schema).expect(DATA_DEFECT),
        );
        tool.title = self.title;
        tool.output_schema = self
            .output_schema
            .map(|i| data.schema(i).expect(DATA_DEFECT));
        tool.annotations = self.annotations;
        tool
    }
}

/// What a call needs beyond the entry.
pub(crate) struct CallData {
    /// The entry's argument paths, parsed.
    pub(crate) paths: Paths,
    /// Arguments and their wire mapping.
    pub(crate) shape: Shape,
    /// The input schema, as JSON.
    pub(crate) input_schema: Value,
    /// Its compiled `pattern`s.
    pub(crate) patterns: Patterns,
}

/// The argument paths of a tool's map entry, parsed once when its call data is loaded (at its
/// first call, or when the map is bound): what the pipeline walks, so nothing downstream parses
/// a path string. Each `*_when` column's paths are in the entry's order.
#[derive(Debug, Default)]
pub(crate) struct Paths {
    /// `gate_when[].arg`.
    pub(crate) gate_when: Vec<ArgPath>,
    /// `public_host_args`.
    pub(crate) public_host_args: Vec<ArgPath>,
    /// `email_args`.
    pub(crate) email_args: Vec<ArgPath>,
    /// `email_when[].each`.
    pub(crate) email_when: Vec<ArgPath>,
    /// `header_args`.
    pub(crate) header_args: Vec<ArgPath>,
    /// `header_name_args`.
    pub(crate) header_name_args: Vec<ArgPath>,
    /// `outbound_args`.
    pub(crate) outbound_args: Vec<ArgPath>,
    /// `outbound_when[].each`.
    pub(crate) outbound_when: Vec<ArgPath>,
    /// `sieve_args`.
    pub(crate) sieve_args: Vec<ArgPath>,
    /// `idempotency.secret_args`.
    pub(crate) secret_args: Vec<ArgPath>,
    /// `outside_text` (paths into the answer, not the arguments).
    pub(crate) outside_text: Vec<ArgPath>,
    /// `new_token` (a path into the answer).
    pub(crate) new_token: Option<ArgPath>,
}

impl Paths {
    /// Parses every path column of `entry`; `Err` lists each bad path as `column: why`.
    pub(crate) fn of(entry: &ToolEntry) -> Result<Self, Vec<String>> {
        let (paths, problems) = Self::read(entry);
        if problems.is_empty() {
            Ok(paths)
        } else {
            Err(problems)
        }
    }

    /// The paths of `entry` that parse, and a problem (`column: why`) for each that does not.
    fn read(entry: &ToolEntry) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut column = |name: &str, texts: &mut dyn Iterator<Item = &String>| -> Vec<ArgPath> {
            texts
                .filter_map(|t| {
                    ArgPath::parse(t)
                        .map_err(|e| problems.push(format!("{name}: {e}")))
                        .ok()
                })
                .collect()
        };
        let paths = Self {
            gate_when: column("gate_when", &mut entry.gate_when.iter().map(|g| &g.arg)),
            public_host_args: column("public_host_args", &mut entry.public_host_args.iter()),
            email_args: column("email_args", &mut entry.email_args.iter()),
            email_when: column("email_when", &mut entry.email_when.iter().map(|w| &w.each)),
            header_args: column("header_args", &mut entry.header_args.iter()),
            header_name_args: column("header_name_args", &mut entry.header_name_args.iter()),
            outbound_args: column("outbound_args", &mut entry.outbound_args.iter()),
            outbound_when: column(
                "outbound_when",
                &mut entry.outbound_when.iter().map(|w| &w.each),
            ),
            sieve_args: column("sieve_args", &mut entry.sieve_args.iter()),
            secret_args: column("secret argument", &mut entry.idempotency.secret_args.iter()),
            outside_text: column("outside_text", &mut entry.outside_text.iter()),
            new_token: column("new_token", &mut entry.new_token.iter()).pop(),
        };
        (paths, problems)
    }

    /// The argument paths with their column (every column but `outside_text`, which reads the
    /// answer).
    fn of_arguments(&self) -> Vec<(&'static str, &ArgPath)> {
        let mut out = Vec::new();
        for (name, column) in [
            ("gate_when", &self.gate_when),
            ("public_host_args", &self.public_host_args),
            ("email_args", &self.email_args),
            ("email_when", &self.email_when),
            ("outbound_args", &self.outbound_args),
            ("outbound_when", &self.outbound_when),
            ("sieve_args", &self.sieve_args),
            ("header_args", &self.header_args),
            ("header_name_args", &self.header_name_args),
            ("secret argument", &self.secret_args),
        ] {
            out.extend(column.iter().map(|p| (name, p)));
        }
        out
    }
}

impl ToolDef {
    pub(crate) fn from_data(
        head: Head,
        entry: &'static str,
        method: Method,
        path: Cow<'static, str>,
        (listed, call): (&'static str, &'static str),
        data: Arc<Embedded>,
    ) -> Self {
        Self {
            head,
            entry: Entry::at(entry),
            method,
            path,
            listed: OnceLock::new(),
            call: OnceLock::new(),
            source: Some(Source { listed, call, data }),
        }
    }

    /// The MCP definition.
    pub fn tool(&self) -> &Tool {
        self.listed.get_or_init(|| {
            // Built from the map, a definition has its MCP definition from the start.
            #[allow(clippy::expect_used)]
            let source = self.source.as_ref().expect(DATA_DEFECT);
            #[allow(clippy::expect_used)]
            let listed: Listed = serde_json::from_str(source.listed).expect(DATA_DEFECT);
            Box::new(listed.tool(&source.data))
        })
    }

    fn call_data(&self) -> &CallData {
        self.call.get_or_init(|| {
            let line = self.source.as_ref().map_or("", |s| s.call);
            #[allow(clippy::expect_used)]
            let (shape, input_schema): (Shape, Value) =
                serde_json::from_str(line).expect(DATA_DEFECT);
            let mut patterns = Patterns::default();
            #[allow(clippy::expect_used)]
            patterns.add_from(&input_schema).expect(DATA_DEFECT);
            // The data was written from a map whose paths the binding parsed.
            #[allow(clippy::expect_used)]
            let paths = Paths::of(&self.entry).expect(DATA_DEFECT);
            Box::new(CallData {
                paths,
                shape,
                input_schema,
                patterns,
            })
        })
    }

    /// The entry's argument paths, parsed.
    pub(crate) fn paths(&self) -> &Paths {
        &self.call_data().paths
    }

    /// Arguments and their wire mapping.
    pub fn shape(&self) -> &Shape {
        &self.call_data().shape
    }

    /// The input schema, as JSON.
    pub fn input_schema(&self) -> &Value {
        &self.call_data().input_schema
    }

    /// The compiled `pattern`s of the input schema.
    pub fn patterns(&self) -> &Patterns {
        &self.call_data().patterns
    }

    /// The lines [`ToolDef::from_data`] reads: the MCP definition, its schemas named by their
    /// number in `schemas` (each distinct schema's JSON, added when not there yet), and the
    /// shape with the input schema.
    pub(crate) fn data_lines(
        &self,
        schemas: &mut Vec<String>,
    ) -> Result<(String, String), serde_json::Error> {
        let mut listed = serde_json::to_value(self.tool())?;
        for key in ["inputSchema", "outputSchema"] {
            if let Some(schema) = listed.get_mut(key) {
                let text = serde_json::to_string(schema)?;
                let i = schemas.iter().position(|s| *s == text).unwrap_or_else(|| {
                    schemas.push(text);
                    schemas.len() - 1
                });
                *schema = Value::from(i);
            }
        }
        Ok((
            serde_json::to_string(&listed)?,
            serde_json::to_string(&(self.shape(), self.input_schema()))?,
        ))
    }

    /// Whether a call may change something (anything but a GET): it carries an idempotency key.
    pub fn writes(&self) -> bool {
        self.method != Method::Get
    }

    /// Whether this tool needs `gate` for these arguments.
    pub fn gates_for(&self, args: &Map<String, Value>) -> Vec<GateName> {
        let mut gates: Vec<GateName> = self.entry.gate.into_iter().collect();
        gates.extend(
            self.entry
                .gate_when
                .iter()
                .zip(&self.paths().gate_when)
                .filter(|(g, at)| g.applies(at, args))
                .map(|(g, _)| g.gate),
        );
        gates.sort();
        gates.dedup();
        gates
    }
}

/// All tools, in map order.
pub struct Catalog {
    tools: Vec<Arc<ToolDef>>,
    /// Positions in `tools`, in the order of the tools' names: a lookup is a binary search over
    /// the names the heads already hold, so building it copies no name.
    by_name: Box<[usize]>,
}

/// Tool names MCP clients accept.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl Catalog {
    /// The catalogue of this build: the data `cargo xtask generate` wrote from the map and the
    /// operations ([`crate::catalog::data`]), read as it is. When the map was edited since (the
    /// data names the map it was written from), it is bound from the map as [`Catalog::build`]
    /// does, at the cost of a slower start.
    pub fn embedded() -> Result<Self, Vec<String>> {
        if let Some(tools) = crate::catalog::data::read(
            crate::catalog::data::CATALOG_JSONL,
            crate::catalog::data::TOOLS_MAP_FNV1A,
        ) {
            return Ok(Self::of(tools));
        }
        tracing::debug!(
            "trekmail-mcp/catalog.jsonl was written from another tools-map.toml: binding the map (run `cargo xtask generate`)"
        );
        let map = ToolsMap::embedded().map_err(|e| vec![e])?;
        let ops = trekmail_api::model::operations().map_err(|e| vec![e.to_string()])?;
        Self::build(map, ops)
    }

    /// Binds `map` to `ops`; every problem found is returned, each naming both sides.
    pub fn build(map: ToolsMap, ops: &[Operation]) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let by_id: BTreeMap<&str, &Operation> =
            ops.iter().map(|o| (o.operation_id.as_str(), o)).collect();
        let mut bound: HashSet<String> = HashSet::new();
        let mut names = HashSet::new();
        for e in &map.excluded {
            if !by_id.contains_key(e.operation.as_str()) {
                problems.push(format!("tools-map.toml excludes operation `{}`, which openapi/trekmail-v1.yaml does not have", e.operation));
            }
            if e.reason.trim().is_empty() {
                problems.push(format!(
                    "tools-map.toml excludes `{}` without a reason",
                    e.operation
                ));
            }
            bound.insert(e.operation.clone());
        }
        let mut tools = Vec::new();
        for entry in map.tool {
            let name = entry.name.clone();
            if !valid_name(&name) {
                problems.push(format!(
                    "tool `{name}`: name must match ^[A-Za-z0-9_.-]{{1,64}}$"
                ));
            }
            if !names.insert(name.clone()) {
                problems.push(format!("tool `{name}` is defined twice in tools-map.toml"));
            }
            let Some(op) = by_id.get(entry.operation.as_str()) else {
                problems.push(format!(
                    "tool `{name}` (tools-map.toml) names operation `{}`, which openapi/trekmail-v1.yaml does not have",
                    entry.operation
                ));
                continue;
            };
            if let Some(f) = &entry.flow {
                for step in [&f.complete, &f.abort, &f.refresh, &f.status] {
                    if !by_id.contains_key(step.as_str()) {
                        problems.push(format!(
                            "tool `{name}`: its flow names operation `{step}`, which openapi/trekmail-v1.yaml does not have"
                        ));
                    }
                }
                if f.kind == FlowKind::Upload && !f.required.iter().any(|a| a == UPLOAD_PATH_ARG) {
                    problems.push(format!(
                        "tool `{name}`: an upload flow reads the file named by a required `{UPLOAD_PATH_ARG}`"
                    ));
                }
            }
            // A preset or a flow builds on an operation that a plain tool binds whole.
            let derived = !entry.fixed.is_empty() || entry.flow.is_some();
            if !bound.insert(entry.operation.clone()) && !derived {
                problems.push(format!(
                    "operation `{}` is bound twice (again by tool `{name}`)",
                    entry.operation
                ));
            }
            match Self::tool(entry, op) {
                Ok(def) => tools.push(Arc::new(def)),
                Err(mut e) => problems.append(&mut e),
            }
        }
        for id in by_id.keys() {
            if !bound.contains(*id) {
                problems.push(format!(
                    "operation `{id}` of openapi/trekmail-v1.yaml has no tool: bind it in tools-map.toml ([[tool]] operation = \"{id}\") or list it under [[excluded]] with a reason"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self::of(tools))
    }

    fn of(tools: Vec<Arc<ToolDef>>) -> Self {
        let mut by_name: Box<[usize]> = (0..tools.len()).collect();
        by_name.sort_unstable_by(|a, b| tools[*a].head.name.cmp(&tools[*b].head.name));
        Self { tools, by_name }
    }

    fn tool(entry: ToolEntry, op: &Operation) -> Result<ToolDef, Vec<String>> {
        let name = entry.name.clone();
        let both = format!("tool `{name}` / operation `{}`", entry.operation);
        let mut shape = schema::shape(op).map_err(|e| vec![format!("{both}: {e}")])?;
        schema::preset(&mut shape, &entry.fixed).map_err(|e| vec![format!("{both}: {e}")])?;
        if let Some(f) = &entry.flow {
            schema::flow(&mut shape, f).map_err(|e| vec![format!("{both}: {e}")])?;
        }
        let (paths, problems) = Self::problems(&entry, op, &shape);
        let problems: Vec<String> = problems
            .into_iter()
            .map(|p| format!("{both}: {p}"))
            .collect();
        let method = op.method;
        let response_schema = op.response_schema.as_ref().unwrap_or(&Value::Null);
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut input = schema::input_schema(&shape, entry.confirm.as_deref());
        if let Some(p) = &entry.payment {
            schema::payment_confirm(&mut input, &p.confirm);
        }
        let ann = entry.annotations;
        // The title is the tool's own field; repeating it inside the annotations costs bytes only.
        let annotations = ToolAnnotations::new()
            .read_only(ann.read_only)
            .destructive(ann.destructive)
            .idempotent(ann.idempotent)
            .open_world(ann.open_world);
        let tool = Tool::new(
            entry.name.clone(),
            entry.description.clone(),
            Arc::new(schema::listed(&input, entry.confirm.as_deref())),
        )
        .with_title(entry.title.clone())
        .annotate(annotations);
        // A flow answers with its last request's answer, not its operation's.
        let output = match (&entry.file, &entry.flow) {
            (_, Some(_)) => None,
            (Some(f), None) => Some(crate::catalog::output::file_schema(f, response_schema)),
            (None, None) => crate::catalog::output::schema(response_schema),
        };
        let tool = match output {
            Some(s) => tool.with_raw_output_schema(Arc::new(s)),
            None => tool,
        };
        let input_schema = Value::Object(input);
        let mut patterns = Patterns::default();
        patterns
            .add_from(&input_schema)
            .map_err(|e| vec![format!("tool `{name}`: {e}")])?;
        Ok(ToolDef {
            method,
            path: Cow::Owned(op.path.clone()),
            listed: OnceLock::from(Box::new(tool)),
            call: OnceLock::from(Box::new(CallData {
                paths,
                shape,
                input_schema,
                patterns,
            })),
            source: None,
            head: Head::of(&entry),
            entry: Entry::bound(entry),
        })
    }

    /// What is wrong in binding `entry` to `op` (whose arguments are `shape`), in the map's
    /// order of concerns: the operation, the argument columns, the answer and the listing.
    /// Also the entry's argument paths, parsed.
    fn problems(entry: &ToolEntry, op: &Operation, shape: &Shape) -> (Paths, Vec<String>) {
        let mut problems = Self::operation_problems(entry, op, shape);
        let (paths, bad_paths) = Paths::read(entry);
        problems.extend(bad_paths);
        problems.extend(Self::column_problems(entry, shape, &paths));
        problems.extend(Self::answer_problems(entry, op));
        (paths, problems)
    }

    /// The token, argument names, confirmation and payment arguments, and the idempotency
    /// policy against the operation.
    fn operation_problems(entry: &ToolEntry, op: &Operation, shape: &Shape) -> Vec<String> {
        let method = op.method;
        let mut problems = Vec::new();
        let security: Vec<&str> = op.security.iter().map(String::as_str).collect();
        if security != [entry.token.scheme()] {
            problems.push(format!(
                "tools-map.toml says token {:?} but the spec's security is {security:?}",
                entry.token
            ));
        }
        let arg_names: HashSet<&str> = shape.args.iter().map(|a| a.name.as_str()).collect();
        if arg_names.len() != shape.args.len() {
            problems.push("two arguments share a name".to_owned());
        }
        let known = |a: &str| arg_names.contains(a);
        if let Some(c) = &entry.confirm
            && (known(c) || c == IDEMPOTENCY_ARG)
        {
            problems.push(format!(
                "confirmation argument `{c}` clashes with an argument of the operation"
            ));
        }
        if let Some(p) = &entry.payment {
            if !known(&p.credential) || !entry.idempotency.secret_args.contains(&p.credential) {
                problems.push(format!(
                    "payment credential `{}` must be an argument of the operation and a secret argument",
                    p.credential
                ));
            }
            if known(&p.confirm)
                || p.confirm == IDEMPOTENCY_ARG
                || entry.confirm.as_ref() == Some(&p.confirm)
            {
                problems.push(format!(
                    "payment confirmation `{}` clashes with an argument of the tool",
                    p.confirm
                ));
            }
        }
        if method == Method::Get
            && (entry.idempotency.window_s.is_some()
                || !entry.idempotency.secret_args.is_empty()
                || entry.csv_columns.iter().any(|c| !c.secret.is_empty()))
        {
            problems
                .push("a GET has no idempotency key, but tools-map.toml sets a policy".to_owned());
        }
        if method != Method::Get && !shape.idempotency_header {
            problems.push(format!(
                "a {method} must accept the Idempotency-Key header in the spec"
            ));
        }
        problems
    }

    /// The map's columns that name arguments (paths, outbound, gates, CSV, ignored, checks).
    fn column_problems(entry: &ToolEntry, shape: &Shape, paths: &Paths) -> Vec<String> {
        let mut problems = Vec::new();
        let known = |a: &str| shape.args.iter().any(|x| x.name == a);
        for (column, p) in paths.of_arguments() {
            if !known(p.root()) {
                problems.push(format!(
                    "{column} `{}` is not an argument of the operation",
                    p.as_str()
                ));
            }
        }
        if entry.sends
            && entry.outbound_args.is_empty()
            && entry.outbound_when.is_empty()
            && entry.unnamed_recipients == 0
        {
            problems.push("sends = true, but no outbound_args, outbound_when or unnamed_recipients say whom it mails".to_owned());
        }
        for g in &entry.gate_when {
            if g.conditions() != 1 {
                problems.push(format!(
                    "gate_when on `{}` needs exactly one of equals/contains/one_of/truthy",
                    g.arg
                ));
            }
        }
        for c in &entry.csv_columns {
            for a in std::iter::once(&c.arg).chain(c.host_when.iter()) {
                if !known(a) {
                    problems.push(format!(
                        "csv_columns names `{a}`, not an argument of the operation"
                    ));
                }
            }
        }
        for a in &entry.ignored_args {
            if known(a) || a == IDEMPOTENCY_ARG || entry.confirm.as_ref() == Some(a) {
                problems.push(format!(
                    "ignored argument `{a}` clashes with an argument of the tool"
                ));
            }
        }
        for c in &entry.checks {
            let args: Vec<&String> = match c {
                Check::RequireAny { args }
                | Check::ExactlyOne { args }
                | Check::MaxTotalItems { args, .. } => args.iter().collect(),
                Check::RequiredWhen { arg, requires, .. } => vec![arg, requires],
            };
            for a in args {
                if !known(a) {
                    problems.push(format!(
                        "check names `{a}`, not an argument of the operation"
                    ));
                }
            }
        }
        problems
    }

    /// The answer (a file tool's fields), the annotations, capabilities and listing lengths.
    fn answer_problems(entry: &ToolEntry, op: &Operation) -> Vec<String> {
        let mut problems = Vec::new();
        let method = op.method;
        // No described answer has no fields: a file tool on it is refused below.
        let response_schema = op.response_schema.as_ref().unwrap_or(&Value::Null);
        if let Some(f) = &entry.file {
            let data = &response_schema["properties"]["data"]["properties"];
            if method != Method::Get {
                problems.push("only a GET can answer a file".to_owned());
            }
            for field in [Some(&f.content), f.name.as_ref(), f.media_type.as_ref()]
                .into_iter()
                .flatten()
            {
                if data.get(field).is_none() {
                    problems.push(format!(
                        "file field `{field}` is not a field of the answer's data in the spec"
                    ));
                }
            }
        }
        problems.extend(annotation_problems(entry, method));
        match &entry.capabilities {
            None => problems.push(
                "tools-map.toml gives no capabilities (the token scopes it needs, from the facts)"
                    .to_owned(),
            ),
            Some(c) if c.any_of.is_empty() && c.all_of.is_empty() => {
                problems.push("capabilities name no scope".to_owned())
            }
            Some(_) => {}
        }
        if !TITLE_LEN.contains(&entry.title.len())
            || !DESCRIPTION_LEN.contains(&entry.description.len())
        {
            problems.push(format!(
                "title must be {}-{} characters and description {}-{}",
                TITLE_LEN.start(),
                TITLE_LEN.end(),
                DESCRIPTION_LEN.start(),
                DESCRIPTION_LEN.end()
            ));
        }
        problems
    }

    /// Every tool, in map order.
    pub fn tools(&self) -> &[Arc<ToolDef>] {
        &self.tools
    }

    /// The toolset names, in catalogue order, each once.
    pub fn toolsets(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for t in &self.tools {
            if !names.contains(&&*t.head.toolset) {
                names.push(&t.head.toolset);
            }
        }
        names
    }

    /// A tool by name.
    pub fn get(&self, name: &str) -> Option<&Arc<ToolDef>> {
        let i = self
            .by_name
            .binary_search_by(|&i| (*self.tools[i].head.name).cmp(name))
            .ok()?;
        Some(&self.tools[self.by_name[i]])
    }
}

/// The annotation rule (docs/tools.md, "Annotations"): the four hints in `tools-map.toml` follow from
/// what the tool does, and whatever the other columns already say must agree with them.
/// - readOnlyHint: the tool changes nothing. Every GET and every `list_`/`get_` tool is read-only.
/// - destructiveHint: data can be lost or overwritten: every DELETE, PUT and PATCH, never a
///   read and never a `create_` (additive).
/// - idempotentHint: a repeat later has no further effect. Reads are; a write is only if its
///   idempotency key re-derives after a window (`window_s`): a key from the arguments alone is
///   the policy of calls that add something each time (creates, sends, new jobs).
/// - openWorldHint: the tool reaches parties outside the account (sending, invitations,
///   outbound connections, the email verifier, Cloudflare): every `sending`-gated tool and every
///   tool naming a host to connect to; never a GET, which reads the account's own data.
pub fn annotation_problems(entry: &ToolEntry, method: Method) -> Vec<String> {
    let a = entry.annotations;
    let name = entry.name.as_str();
    let mut p = Vec::new();
    let mut rule = |broken: bool, what: &str| {
        if broken {
            p.push(format!("annotations break the rule: {what}"));
        }
    };
    let listing = name.starts_with("list_") || name.starts_with("get_");
    rule(
        (method == Method::Get || listing) && !a.read_only,
        "a GET or list_/get_ tool is read-only",
    );
    rule(
        a.read_only && !matches!(method, Method::Get | Method::Post),
        "only a GET or POST can be read-only",
    );
    rule(
        a.read_only && (a.destructive || !a.idempotent),
        "a read-only tool is idempotent and not destructive",
    );
    rule(
        matches!(method, Method::Delete | Method::Put | Method::Patch) && !a.destructive,
        "a DELETE, PUT or PATCH is destructive",
    );
    rule(
        name.starts_with("create_") && a.destructive,
        "a create_ tool is additive, not destructive",
    );
    rule(
        !a.read_only && a.idempotent && entry.idempotency.window_s.is_none(),
        "an idempotent write has a key window (window_s); a key from the arguments alone is for calls that add something each time",
    );
    rule(
        (entry.gate == Some(GateName::Sending) || !entry.public_host_args.is_empty())
            && !a.open_world,
        "a sending tool or one naming a host to connect to is open-world",
    );
    rule(
        method == Method::Get && a.open_world,
        "a GET is not open-world",
    );
    p
}
