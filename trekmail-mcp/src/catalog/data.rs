//! The catalogue as build-time data: `cargo xtask generate` binds `tools-map.toml` to the
//! operations once ([`crate::catalog::Catalog::build`], every check made there) and writes the
//! result to `trekmail-mcp/catalog.jsonl`, which the binary embeds. Start-up reads only the
//! tools' heads (what selection, the instructions and a listing need, [`Head`]); each tool's map
//! entry, MCP definition and call data are read from their own lines when first used.
//!
//! The file, one JSON value a line: a header (the FNV-1a hash of the map it was written from, and
//! where each following line starts), the heads with their method and path (one array), each
//! tool's MCP definition (its schemas by number), each tool's map entry, each tool's shape and
//! input schema, then the distinct listed schemas, each once however many tools list it. The map
//! stays the single source of truth: a binary whose map differs from the header's binds the map
//! instead, and `cargo xtask generate --check` fails on a stale file.

use serde::de::{DeserializeSeed, Deserializer, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use trekmail_api::model::Method;

use crate::catalog::ToolDef;
use crate::catalog::head::Head;
use crate::catalog::map::{TOOLS_MAP_TOML, ToolEntry};

/// The data, embedded at build time.
pub const CATALOG_JSONL: &str = include_str!("../../catalog.jsonl");

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    /// FNV-1a (64 bits, hex) of the `tools-map.toml` the data was written from.
    map_fnv1a: String,
    /// Byte offsets, after the header line, of each line and of the end.
    lines: Vec<usize>,
    /// How many of the lines, at the end, are the listed schemas.
    schemas: usize,
}

/// A tool's element of the heads line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    head: Head,
    method: Method,
    #[serde(borrow)]
    path: Cow<'static, str>,
}

/// [`fnv1a`] of [`TOOLS_MAP_TOML`], computed by the compiler: what a start compares with the
/// hash `catalog.jsonl` was written from.
pub const TOOLS_MAP_FNV1A: u64 = fnv1a(TOOLS_MAP_TOML);

/// FNV-1a, 64 bits: stable across builds and toolchains, and a `const fn`, so the embedded
/// map's hash is computed by the compiler ([`TOOLS_MAP_FNV1A`]) and a start
/// does not read the map's ~110 KB.
pub const fn fnv1a(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// How a generated file writes the hash of the source it was written from (`catalog.jsonl`,
/// `instructions.json`).
pub fn hex(hash: u64) -> String {
    format!("{hash:016x}")
}

/// The data for `tools` (bound from `map_toml`), as [`read`] reads it.
pub fn write<'a>(
    tools: impl IntoIterator<Item = &'a ToolDef>,
    map_toml: &str,
) -> Result<String, String> {
    let mut heads = Vec::new();
    let mut listed = Vec::new();
    let mut entries = Vec::new();
    let mut calls = Vec::new();
    let mut schemas = Vec::new();
    for t in tools {
        heads.push(Line {
            head: Head::of(&t.entry),
            method: t.method,
            path: t.path.clone(),
        });
        let (l, c) = t
            .data_lines(&mut schemas)
            .map_err(|e| format!("tool `{}`: {e}", t.entry.name))?;
        listed.push(l);
        entries.push(serde_json::to_string(&lean(&t.entry)?).map_err(|e| e.to_string())?);
        calls.push(c);
    }
    let heads = serde_json::to_string(&heads).map_err(|e| e.to_string())?;
    let mut body = String::new();
    let mut lines = Vec::new();
    for line in std::iter::once(&heads)
        .chain(&listed)
        .chain(&entries)
        .chain(&calls)
        .chain(&schemas)
    {
        lines.push(body.len());
        body.push_str(line);
        body.push('\n');
    }
    lines.push(body.len());
    let header = serde_json::to_string(&Header {
        map_fnv1a: hex(fnv1a(map_toml)),
        lines,
        schemas: schemas.len(),
    })
    .map_err(|e| e.to_string())?;
    Ok(format!("{header}\n{body}"))
}

/// A map entry as JSON without the `null`s, `[]`s and `{}`s that read back as the same value (an
/// absent optional column): most columns are empty for most tools. Whatever does not read back
/// the same is kept whole.
fn lean(entry: &ToolEntry) -> Result<Value, String> {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|_, v| {
                    !(v.is_null()
                        || v.as_array().is_some_and(Vec::is_empty)
                        || v.as_object().is_some_and(serde_json::Map::is_empty))
                });
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let whole = serde_json::to_value(entry).map_err(|e| e.to_string())?;
    let same = |v: &Value| {
        serde_json::from_value::<ToolEntry>(v.clone())
            .ok()
            .and_then(|h| serde_json::to_value(&h).ok())
            .is_some_and(|back| back == whole)
    };
    let mut lean = whole.clone();
    strip(&mut lean);
    if !same(&lean) {
        return Ok(whole);
    }
    // Then each column that is `false` or `0`, where leaving it out reads back the same (a
    // column with that default; a required one stays).
    let columns: Vec<String> = lean
        .as_object()
        .map(|e| {
            e.iter()
                .filter(|(_, v)| *v == &Value::Bool(false) || *v == &Value::from(0))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    for column in columns {
        let mut without = lean.clone();
        if let Some(e) = without.as_object_mut() {
            e.remove(&column);
        }
        if same(&without) {
            lean = without;
        }
    }
    Ok(lean)
}

/// The embedded data as the definitions read it: its text, sliced when a tool is first listed
/// or called, and its distinct listed schemas, each read once and shared by every tool that
/// lists it (a tool's listed line names its schemas by number: many tools take the same
/// arguments, and parsed schemas are most of a listing's memory).
pub(crate) struct Embedded {
    text: &'static str,
    /// Each schema's byte range in `text`, and the schema once read.
    schemas: Vec<((usize, usize), OnceLock<Schema>)>,
}

/// A listed schema, shared.
type Schema = Arc<Map<String, Value>>;

impl Embedded {
    /// `text`, whose schemas are at these byte ranges.
    pub(crate) fn new(text: &'static str, schemas: Vec<(usize, usize)>) -> Self {
        let schemas = schemas.into_iter().map(|r| (r, OnceLock::new())).collect();
        Self { text, schemas }
    }

    /// The line at this byte range, `None` when it is not in the text.
    pub(crate) fn line(&self, (start, end): (usize, usize)) -> Option<&'static str> {
        self.text.get(start..end)
    }

    /// Schema `i`, read (and compacted) when first asked for; `None` when it is not in the
    /// data or does not read.
    pub(crate) fn schema(&self, i: usize) -> Option<Schema> {
        let (range, slot) = self.schemas.get(i)?;
        if let Some(schema) = slot.get() {
            return Some(Arc::clone(schema));
        }
        let mut schema: Map<String, Value> = serde_json::from_str(self.line(*range)?).ok()?;
        compact(&mut schema);
        Some(Arc::clone(slot.get_or_init(|| Arc::new(schema))))
    }
}

/// `map` and everything in it without spare room: parsing leaves each object with room for more
/// entries (one entry takes the room of three), and the listed schemas, held for the session,
/// are most of the server's heap.
fn compact(map: &mut Map<String, Value>) {
    let mut tight = Map::with_capacity(map.len());
    for (k, mut v) in std::mem::take(map) {
        compact_value(&mut v);
        tight.insert(k, v);
    }
    *map = tight;
}

fn compact_value(v: &mut Value) {
    match v {
        Value::Object(m) => compact(m),
        Value::Array(a) => {
            a.iter_mut().for_each(compact_value);
            a.shrink_to_fit();
        }
        _ => {}
    }
}

/// The tools of `text` when it was written from the map whose [`fnv1a`] is `map_fnv1a`; `None`
/// when it was written from another map or its header or heads do not read. Only the header
/// and the heads are read here: each tool's other lines are kept as offsets (checked against
/// the length only, which reads nothing of them) and parsed when first needed, so the pages of
/// lines no one asks for are never touched.
pub fn read(text: &'static str, map_fnv1a: u64) -> Option<Vec<Arc<ToolDef>>> {
    let (header, body) = text.split_once('\n')?;
    let header: Header = serde_json::from_str(header).ok()?;
    if header.map_fnv1a != hex(map_fnv1a) {
        return None;
    }
    // Where line `i` starts and ends (without its newline), as long as it is in `body`: checking
    // that reads nothing of the line.
    let range = |i: usize| -> Option<(usize, usize)> {
        let (start, end) = (
            *header.lines.get(i)?,
            header.lines.get(i + 1)?.checked_sub(1)?,
        );
        (start <= end && end <= body.len()).then_some((start, end))
    };
    // The heads line, then three lines a tool, then the schemas.
    let k = header.schemas;
    let n = header.lines.len().checked_sub(2 + k)? / 3;
    if header.lines.len() != 3 * n + 2 + k {
        return None;
    }
    let schemas = (0..k)
        .map(|j| range(1 + 3 * n + j))
        .collect::<Option<Vec<_>>>()?;
    let data = Arc::new(Embedded::new(body, schemas));
    let make = |i: usize, l: Line| -> Option<Arc<ToolDef>> {
        Some(Arc::new(ToolDef::from_data(
            l.head,
            data.line(range(1 + n + i)?)?,
            l.method,
            l.path,
            (data.line(range(1 + i)?)?, data.line(range(1 + 2 * n + i)?)?),
            Arc::clone(&data),
        )))
    };
    let (start, end) = range(0)?;
    let mut de = serde_json::Deserializer::from_str(body.get(start..end)?);
    let tools = Heads { n, make: &make }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    if tools.len() != n {
        return None;
    }
    Some(tools)
}

/// The heads line read head by head straight into definitions (each into its `Arc`): no vector
/// of heads is held beside the definitions, and no head is moved twice.
struct Heads<'m> {
    /// How many the header says there are.
    n: usize,
    /// The definition of tool `i`, `None` when its lines are not in the data.
    make: &'m dyn Fn(usize, Line) -> Option<Arc<ToolDef>>,
}

// 'static: the heads borrow their names from the embedded data.
impl DeserializeSeed<'static> for Heads<'_> {
    type Value = Vec<Arc<ToolDef>>;

    fn deserialize<D: Deserializer<'static>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl Visitor<'static> for Heads<'_> {
    type Value = Vec<Arc<ToolDef>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the tools' heads")
    }

    fn visit_seq<A: SeqAccess<'static>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut tools = Vec::with_capacity(self.n);
        while let Some(h) = seq.next_element::<Line>()? {
            let def = (self.make)(tools.len(), h)
                .ok_or_else(|| A::Error::custom("a tool's lines are not in the data"))?;
            tools.push(def);
        }
        Ok(tools)
    }
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors of the FNV reference (draft-eastlake-fnv).
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a("foobar"), 0x8594_4171_f739_67e8);
    }
}
