//! The operations of the document this client was generated from, typed: method, path,
//! parameters, body and answer of every operation, read once from the embedded
//! [`OPERATIONS_JSON`](crate::OPERATIONS_JSON) and checked field by field. A data-driven caller
//! (the MCP server, the sandbox) builds on [`operations`].

mod format;

use std::sync::OnceLock;

pub use format::{
    Location, Method, ModelError, Operation, Parameter, ResponseKind, check, parse, write,
};

/// Every operation of this build's document, in document order; parsed on first use.
pub fn operations() -> Result<&'static [Operation], ModelError> {
    static OPS: OnceLock<Result<Vec<Operation>, ModelError>> = OnceLock::new();
    OPS.get_or_init(|| parse(crate::OPERATIONS_JSON))
        .as_deref()
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

    fn err(edit: impl FnOnce(&mut Value)) -> String {
        let mut v = op();
        edit(&mut v);
        parse(&json!([v]).to_string()).unwrap_err().to_string()
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
    }

    #[test]
    fn a_well_formed_operation_reads_back_as_written() {
        let ops = parse(&json!([op()]).to_string()).unwrap();
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
            parse(&json!([op(), op()]).to_string())
                .unwrap_err()
                .to_string(),
            "operation get_thing: `operation_id`: appears twice"
        );
        assert!(
            parse("{}")
                .unwrap_err()
                .to_string()
                .starts_with("the operations are not a JSON list")
        );
    }
}
