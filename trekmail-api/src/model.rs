//! The operations of the document this client was generated from, typed: method, path,
//! parameters, body and answer of every operation, read from the embedded
//! [`OPERATIONS_JSONL`](crate::OPERATIONS_JSONL) and checked field by field. A caller of one
//! operation ([`operation`], what [`Client::call_operation`](crate::Client::call_operation)
//! uses) parses only that operation's line; a data-driven caller of all of them (the sandbox,
//! the catalogue's binding) reads [`operations`].

mod format;

use std::sync::OnceLock;

pub use format::{
    Index, Location, Method, ModelError, Operation, Parameter, ResponseKind, check, parse, write,
};

/// Every operation of this build's document, in document order; parsed on first use.
pub fn operations() -> Result<&'static [Operation], ModelError> {
    static OPS: OnceLock<Result<Vec<Operation>, ModelError>> = OnceLock::new();
    OPS.get_or_init(|| parse(crate::OPERATIONS_JSONL))
        .as_deref()
        .map_err(Clone::clone)
}

/// The embedded data's index, and each operation once parsed.
struct Embedded {
    index: Index<'static>,
    /// Boxed: one slot per operation of the document, most never filled.
    #[allow(clippy::type_complexity)]
    parsed: Vec<OnceLock<Box<Result<Operation, ModelError>>>>,
}

/// The operation `id` of this build's document, `None` when the document has none by that id.
/// Only its own line is parsed (on its first use): calling one operation costs the header and
/// that line, not the whole document.
pub fn operation(id: &str) -> Result<Option<&'static Operation>, ModelError> {
    static EMBEDDED: OnceLock<Result<Embedded, ModelError>> = OnceLock::new();
    let embedded = EMBEDDED
        .get_or_init(|| {
            let index = Index::read(crate::OPERATIONS_JSONL)?;
            let parsed = (0..index.len()).map(|_| OnceLock::new()).collect();
            Ok(Embedded { index, parsed })
        })
        .as_ref()
        .map_err(Clone::clone)?;
    let Some(i) = embedded.index.position(id) else {
        return Ok(None);
    };
    embedded.parsed[i]
        .get_or_init(|| Box::new(embedded.index.operation(i)))
        .as_ref()
        .as_ref()
        .map(Some)
        .map_err(Clone::clone)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn op() -> Value {
        json!({
            "operation_id": "get_thing", "method": "GET", "path": "/things/{id}", "tags": [],
            "summary": null, "description": null, "security": ["opsToken"],
            "parameters": [
                {"name": "id", "in": "path", "required": true, "description": null, "schema": {"type": "integer"}},
                {"name": "q", "in": "query", "required": false, "description": "Search", "schema": {}}
            ],
            "request_body": null, "response": "json", "response_schema": null, "client_method": "get_thing"
        })
    }

    /// The operations data of `items`, one a line, as [`write`] lays it out.
    fn data(items: &[Value]) -> String {
        let mut body = String::new();
        let mut lines = vec![];
        for v in items {
            lines.push(body.len());
            body.push_str(&v.to_string());
            body.push('\n');
        }
        lines.push(body.len());
        let ids: Vec<&str> = items
            .iter()
            .map(|v| v["operation_id"].as_str().unwrap_or(""))
            .collect();
        format!("{}\n{body}", json!({"ids": ids, "lines": lines}))
    }

    fn err(edit: impl FnOnce(&mut Value)) -> String {
        let mut v = op();
        edit(&mut v);
        parse(&data(&[v])).unwrap_err().to_string()
    }

    #[test]
    fn the_embedded_operations_read() {
        let ops = operations().unwrap();
        assert_eq!(ops.len(), 274);
        let list = ops
            .iter()
            .find(|o| o.operation_id == "list_domains")
            .unwrap();
        assert_eq!((list.method, list.path.as_str()), (Method::Get, "/domains"));
        assert!(list.parameter(Location::Query, "per_page").is_some());
        // One operation by id reads the same as from the whole list.
        assert_eq!(operation("list_domains").unwrap(), Some(list));
        assert_eq!(operation("no_such_operation").unwrap(), None);
    }

    #[test]
    fn one_operation_is_read_without_reading_the_others() {
        let mut broken = op();
        broken["operation_id"] = json!("other");
        broken["method"] = json!("FETCH");
        let text = data(&[op(), broken]);
        // The whole list fails on the second line; the first reads alone.
        assert!(parse(&text).is_err());
        let index = Index::read(&text).unwrap();
        assert_eq!(index.position("get_thing"), Some(0));
        assert_eq!(index.operation(0).unwrap().path, "/things/{id}");
        assert!(index.operation(1).is_err());
    }

    #[test]
    fn a_line_is_looked_at_only_when_asked_for() {
        // The index checks offsets against the length only (reading it touches no line, so an
        // embedded copy's pages stay out of memory); a line that does not end where the header
        // says is found when that operation is asked for, and the others still read.
        let mut second = op();
        second["operation_id"] = json!("other");
        let text = data(&[op(), second]);
        let (header, body) = text.split_once('\n').unwrap();
        let first_end = body.find('\n').unwrap();
        let joined = format!(
            "{header}\n{} {}",
            &body[..first_end],
            &body[first_end + 1..]
        );
        let index = Index::read(&joined).unwrap();
        assert_eq!(
            index.operation(0).unwrap_err().to_string(),
            format!(
                "operation get_thing: its line (0..{}) is not in the data",
                first_end + 1
            )
        );
        assert_eq!(index.operation(1).unwrap().operation_id, "other");
        assert!(parse(&joined).is_err());
    }

    #[test]
    fn a_header_that_does_not_match_its_lines_is_refused() {
        let text = data(&[op()]);
        let (header, body) = text.split_once('\n').unwrap();
        let short = format!("{header}\n{}", &body[..body.len() - 2]);
        assert!(Index::read(&short).is_err());
        let renamed = text.replacen("\"get_thing\"", "\"got_thing\"", 1);
        assert_eq!(
            parse(&renamed).unwrap_err().to_string(),
            "operation get_thing: `operation_id`: the header names this line `got_thing`"
        );
        assert_eq!(
            Index::read(&renamed)
                .unwrap()
                .operation(0)
                .unwrap_err()
                .to_string(),
            "operation get_thing: `operation_id`: the header names this line `got_thing`"
        );
    }

    #[test]
    fn a_well_formed_operation_reads_back_as_written() {
        let ops = parse(&data(&[op()])).unwrap();
        assert_eq!(ops[0].parameters[1].description.as_deref(), Some("Search"));
        assert_eq!(parse(&write(&ops).unwrap()).unwrap(), ops);
    }

    #[test]
    fn a_malformed_model_names_the_operation_and_the_field() {
        assert_eq!(
            err(|v| v["parameters"][1]["in"] = json!("cookie")),
            "operation get_thing: `parameters[1].in`: unknown variant `cookie`, expected one of `path`, `query`, `header`"
        );
        assert_eq!(
            err(|v| v["method"] = json!("FETCH")),
            "operation get_thing: `method`: unknown variant `FETCH`, expected one of `GET`, `POST`, `PUT`, `PATCH`, `DELETE`"
        );
        assert_eq!(
            err(|v| v["parameters"][1]["required"] = json!("yes")),
            "operation get_thing: `parameters[1].required`: invalid type: string \"yes\", expected a boolean"
        );
        // A missing optional field is an error too, not a silent `None`.
        assert_eq!(
            err(|v| {
                v.as_object_mut().unwrap().remove("request_body");
            }),
            "operation get_thing: missing field `request_body`"
        );
        assert_eq!(
            err(|v| {
                v["parameters"][0].as_object_mut().unwrap().remove("schema");
            }),
            "operation get_thing: `parameters[0]`: missing field `schema`"
        );
        assert_eq!(
            err(|v| v["x-extra"] = json!(1))
                .split(", expected")
                .next()
                .unwrap(),
            "operation get_thing: `x-extra`: unknown field `x-extra`"
        );
        assert_eq!(
            err(|v| v["parameters"][0]["required"] = json!(false)),
            "operation get_thing: `parameters[0].required`: path parameter `id` must be required"
        );
        assert_eq!(
            err(|v| v["path"] = json!("/things/{thing_id}")),
            "operation get_thing: `parameters[0]`: path parameter `id` is not in the path /things/{thing_id}"
        );
        assert_eq!(
            err(|v| v["path"] = json!("/things/{id}/{sub}")),
            "operation get_thing: `path`: placeholder `{sub}` has no path parameter"
        );
        assert_eq!(
            err(|v| {
                v.as_object_mut().unwrap().remove("operation_id");
            }),
            "operation operations[0]: missing field `operation_id`"
        );
        assert_eq!(
            parse(&data(&[op(), op()])).unwrap_err().to_string(),
            "operation get_thing: `operation_id`: appears twice"
        );
        assert!(
            parse("{}")
                .unwrap_err()
                .to_string()
                .starts_with("the operations data has no header line")
        );
    }
}
