//! The regeneration flow on a small fixture spec: each kind of API change shows up where it
//! should (tool schema, generated client, change report, binding error) with no Rust edited.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde_json::{Value, json};
use trekmail_api::model::Operation;
use trekmail_mcp::Catalog;
use trekmail_mcp::catalog::map::ToolsMap;

fn base() -> Value {
    trekmail_spec::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mini.yaml"),
    )
    .unwrap()
}

/// The operations of `doc` as the server reads them: written by trekmail-spec, read back by
/// trekmail-api.
fn ops_of(doc: &Value) -> Vec<Operation> {
    trekmail_api::model::parse(&trekmail_spec::operations_data(doc).unwrap()).unwrap()
}

fn map() -> ToolsMap {
    ToolsMap::parse(include_str!("../fixtures/mini-map.toml")).unwrap()
}

fn surface(doc: &Value) -> Result<(Value, Catalog), Vec<String>> {
    let ops = ops_of(doc);
    let catalog = Catalog::build(map(), &ops)?;
    Ok((
        xtask::surface(&ops, &xtask::toolsnaps(&catalog), &map()),
        catalog,
    ))
}

fn schema_of<'a>(catalog: &'a Catalog, tool: &str) -> &'a Value {
    catalog.get(tool).unwrap().input_schema()
}

/// The generated client of `doc`.
fn client(doc: &Value) -> String {
    trekmail_spec::Generated::from_document(doc).unwrap().client
}

/// The `impl` block of builder `name` in the generated client, whitespace collapsed.
fn builder(client: &str, name: &str) -> String {
    let start = client
        .find(&format!("impl<'a> {name}<'a> {{"))
        .unwrap_or_else(|| panic!("no builder {name}"));
    let end = client[start + 1..]
        .find("\n    impl")
        .map_or(client.len(), |e| start + 1 + e);
    client[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every public signature of the client: what a Rust caller can name.
fn public_signatures(client: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = client;
    while let Some(i) = rest.find("pub ") {
        let tail = &rest[i..];
        let end = tail.find(['{', ';']).unwrap_or(tail.len());
        out.push(tail[..end].split_whitespace().collect::<Vec<_>>().join(" "));
        rest = &tail[end..];
    }
    out
}

#[test]
fn the_fixture_is_clean() {
    assert_eq!(trekmail_spec::lint(&base()), Vec::<String>::new());
    let (s, _) = surface(&base()).unwrap();
    assert!(xtask::report(&s, &s).is_empty());
}

#[test]
fn an_optional_query_parameter_reaches_schema_client_and_report() {
    let old = base();
    let mut new = base();
    new["paths"]["/things"]["get"]["parameters"].as_array_mut().unwrap().push(json!({
        "name": "color", "in": "query", "required": false, "description": "Only things of this colour",
        "schema": {"type": "string", "enum": ["red", "blue"]}
    }));
    assert!(trekmail_spec::lint(&new).is_empty());
    let (before, _) = surface(&old).unwrap();
    let (after, catalog) = surface(&new).unwrap();
    assert_eq!(
        schema_of(&catalog, "list_things")["properties"]["color"]["enum"],
        json!(["red", "blue"])
    );
    // The builder gains a setter, and nothing a caller could name changes or disappears: the
    // change is not breaking for Rust callers.
    let (old_client, new_client) = (client(&old), client(&new));
    let list = builder(&new_client, "ListThings");
    assert!(
        list.contains("pub fn color<V>(mut self, value: V) -> Self where V: std::convert::TryInto<types::ListThingsColor>,"),
        "{list}"
    );
    let kept = public_signatures(&new_client);
    for sig in public_signatures(&old_client) {
        assert!(kept.contains(&sig), "`{sig}` changed or disappeared");
    }
    assert_eq!(
        xtask::report(&before, &after),
        vec![
            "~ operation list_things (GET /things): parameter `query color` added (optional, string); Rust: not breaking (Client::list_things keeps its builder; new setters are optional)",
            "~ tool list_things: argument `color` added (optional, string)",
        ]
    );
}

#[test]
fn a_new_operation_is_reported_and_fails_until_bound() {
    let mut new = base();
    let mut op = new["paths"]["/things/{thing_id}"]["delete"].clone();
    op["operationId"] = json!("get_thing");
    op["summary"] = json!("Get Thing");
    op["parameters"].as_array_mut().unwrap().pop();
    new["paths"]["/things/{thing_id}"]["get"] = op;
    let ops = ops_of(&new);
    let err = Catalog::build(map(), &ops).err().unwrap();
    assert_eq!(err.len(), 1);
    assert!(
        err[0].starts_with("operation `get_thing` of openapi/trekmail-v1.yaml has no tool"),
        "{err:?}"
    );
    // The report tells the reviewer the same, before any map edit.
    let (before, catalog) = surface(&base()).unwrap();
    let after = xtask::surface(&ops, &xtask::toolsnaps(&catalog), &map());
    assert!(xtask::report(&before, &after).contains(&"+ operation get_thing (GET /things/{thing_id}): new, and no tool is bound to it; bind it in tools-map.toml or list it under [[excluded]]".to_string()));
    assert!(
        builder(&client(&new), "GetThing")
            .contains("V: std::convert::TryInto<::std::num::NonZeroU64>"),
        "{}",
        builder(&client(&new), "GetThing")
    );
}

#[test]
fn a_renamed_field_changes_the_tool_and_breaks_the_map_where_it_is_named() {
    let mut new = base();
    let props = new["components"]["schemas"]["CreateThingRequest"]["properties"]
        .as_object_mut()
        .unwrap();
    let name = props.remove("name").unwrap();
    props.insert("title".into(), name);
    new["components"]["schemas"]["CreateThingRequest"]["required"] = json!(["title"]);
    let ops = ops_of(&new);
    // tools-map.toml's check still names `name`: the binding fails, naming both sides.
    let err = Catalog::build(map(), &ops).err().unwrap();
    assert_eq!(
        err,
        vec![
            "tool `create_thing` / operation `create_thing`: check names `name`, not an argument of the operation"
        ]
    );
    let mut fixed = map();
    fixed.tool[1].checks = Box::default();
    let catalog = Catalog::build(fixed, &ops).unwrap();
    assert_eq!(
        schema_of(&catalog, "create_thing")["required"],
        json!(["title"])
    );
    let (before, _) = surface(&base()).unwrap();
    let report = xtask::report(
        &before,
        &xtask::surface(&ops, &xtask::toolsnaps(&catalog), &map()),
    );
    assert_eq!(
        report,
        vec![
            "~ operation create_thing (POST /things): body field `title` added (required, string); body field `name` removed; Rust: BREAKING for callers of Client::create_thing (body field `title` added (required, string); body field `name` removed)",
            "~ tool create_thing: argument `title` added (required, string); argument `name` removed",
        ]
    );
}

#[test]
fn a_removed_operation_names_the_tools_it_breaks() {
    let mut new = base();
    new["paths"]
        .as_object_mut()
        .unwrap()
        .remove("/things/{thing_id}");
    let ops = ops_of(&new);
    let err = Catalog::build(map(), &ops).err().unwrap();
    assert_eq!(
        err,
        vec![
            "tool `delete_thing` (tools-map.toml) names operation `delete_thing`, which openapi/trekmail-v1.yaml does not have"
        ]
    );
    let (before, catalog) = surface(&base()).unwrap();
    let after = xtask::surface(&ops, &xtask::toolsnaps(&catalog), &map());
    let report = xtask::report(&before, &after);
    assert!(report.contains(&"- operation delete_thing (DELETE /things/{thing_id}): removed; Rust: BREAKING, Client::delete_thing is gone; breaks tools: delete_thing".to_string()), "{report:?}");
}

#[test]
fn the_lint_names_operation_and_field() {
    let mut bad = base();
    let get = &mut bad["paths"]["/things"]["get"];
    // A parameter may go undescribed: its name and schema can say it all.
    get["parameters"][0]["description"] = json!("");
    get["responses"].as_object_mut().unwrap().remove("5XX");
    get["responses"]["default"] = json!({"description": "err"});
    bad["paths"]["/things"]["post"]["requestBody"]["content"]["application/json"]["schema"] =
        bad["components"]["schemas"]["CreateThingRequest"].clone();
    bad["paths"]["/things/{thing_id}"]["delete"]
        .as_object_mut()
        .unwrap()
        .remove("summary");
    let problems = trekmail_spec::lint(&bad);
    assert!(
        !problems.iter().any(|p| p.contains("`page`")),
        "{problems:#?}"
    );
    for want in [
        "GET /things (list_things): a `default` response makes progenitor panic; declare 4XX and 5XX",
        "GET /things (list_things): error response 5XX is not documented",
        "POST /things (create_thing): request body: use a named component, not an inline schema",
        "DELETE /things/{thing_id} (delete_thing): no summary",
    ] {
        assert!(
            problems.iter().any(|p| p == want),
            "missing {want:?} in {problems:#?}"
        );
    }
}

#[test]
fn the_real_document_is_lint_clean_and_what_derives_from_it_is_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = trekmail_spec::load(&root.join("openapi/trekmail-v1.yaml")).unwrap();
    assert_eq!(trekmail_spec::lint(&doc), Vec::<String>::new());
    let ops = ops_of(&doc);
    let map = ToolsMap::embedded().unwrap();
    let catalog = Catalog::build(map.clone(), &ops).unwrap();
    let client = std::fs::read_to_string(root.join("trekmail-api/src/generated.rs")).unwrap();
    assert!(client.starts_with(trekmail_spec::MARKER));
    let data = std::fs::read_to_string(root.join("trekmail-api/operations.jsonl")).unwrap();
    let old = xtask::surface(
        &xtask::checked_in_operations(&data).unwrap(),
        &xtask::read_toolsnaps(&root.join(xtask::TOOLSNAPS)),
        &map,
    );
    let report = xtask::report(
        &old,
        &xtask::surface(&ops, &xtask::toolsnaps(&catalog), &map),
    );
    assert!(
        report.is_empty(),
        "the checked-in client or tests/toolsnaps are stale; run `cargo xtask generate`:\n{}",
        report.join("\n")
    );
}

#[test]
fn the_report_reads_the_surface_back_from_the_checked_in_files() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = std::fs::read_to_string(root.join("trekmail-api/operations.jsonl")).unwrap();
    let ops = xtask::checked_in_operations(&data).unwrap();
    assert_eq!(ops, trekmail_api::model::operations().unwrap());
    assert_eq!(ops.len(), 274);
    let snaps = xtask::read_toolsnaps(&root.join(xtask::TOOLSNAPS));
    assert_eq!(snaps.len(), 272);
}

#[test]
fn a_tightened_bound_names_the_keyword() {
    let mut new = base();
    new["components"]["schemas"]["CreateThingRequest"]["properties"]["name"]["maxLength"] =
        json!(60);
    let (before, _) = surface(&base()).unwrap();
    let (after, catalog) = surface(&new).unwrap();
    assert_eq!(
        schema_of(&catalog, "create_thing")["properties"]["name"]["maxLength"],
        60
    );
    assert_eq!(
        xtask::report(&before, &after),
        vec![
            "~ operation create_thing (POST /things): body field `name` maxLength 50 → 60; Rust: not breaking (Client::create_thing keeps its builder; new setters are optional)",
            "~ tool create_thing: argument `name` maxLength 50 → 60",
        ]
    );
}

#[test]
fn the_report_says_which_changes_break_rust_callers() {
    let (before, _) = surface(&base()).unwrap();
    let report = |edit: &dyn Fn(&mut Value)| {
        let mut new = base();
        edit(&mut new);
        let ops = ops_of(&new);
        let mut fixed = map();
        fixed.tool[1].checks = Box::default();
        let catalog = Catalog::build(fixed.clone(), &ops).unwrap();
        xtask::report(
            &before,
            &xtask::surface(&ops, &xtask::toolsnaps(&catalog), &fixed),
        )
        .into_iter()
        .find(|l| l.starts_with("~ operation"))
        .unwrap()
    };
    // A parameter that becomes required: existing calls fail until they set it.
    let required =
        report(&|d| d["paths"]["/things"]["get"]["parameters"][0]["required"] = json!(true));
    assert!(required.ends_with("Rust: BREAKING for callers of Client::list_things (parameter `query page` now required)"), "{required}");
    // A body field that becomes optional turns into an Option.
    let optional =
        report(&|d| d["components"]["schemas"]["CreateThingRequest"]["required"] = json!([]));
    assert!(
        optional.ends_with(
            "Rust: BREAKING for callers of Client::create_thing (body field `name` now optional)"
        ),
        "{optional}"
    );
    // A removed enum value is a removed variant; an added one is not breaking.
    let fewer = report(&|d| {
        d["components"]["schemas"]["CreateThingRequest"]["properties"]["color"]["enum"] =
            json!(["red"])
    });
    assert!(
        fewer.contains("Rust: BREAKING") && fewer.contains("enum value \"blue\" removed"),
        "{fewer}"
    );
    let more = report(&|d| {
        d["components"]["schemas"]["CreateThingRequest"]["properties"]["color"]["enum"] =
            json!(["red", "blue", "green"])
    });
    assert!(
        more.ends_with(
            "Rust: not breaking (Client::create_thing keeps its builder; new setters are optional)"
        ),
        "{more}"
    );
    // A retyped parameter.
    let retyped = report(&|d| {
        d["paths"]["/things"]["get"]["parameters"][0]["schema"] = json!({"type": "string"})
    });
    assert!(
        retyped.contains("retyped integer → string") && retyped.contains("Rust: BREAKING"),
        "{retyped}"
    );
}

/// The real client: an optional query parameter added to `list_domains` keeps every public
/// signature a Rust caller can name (existing calls compile unchanged) and adds its setter.
#[test]
fn an_optional_parameter_on_the_real_document_breaks_no_rust_caller() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = trekmail_spec::load(&root.join("openapi/trekmail-v1.yaml")).unwrap();
    let old = std::fs::read_to_string(root.join("trekmail-api/src/generated.rs")).unwrap();
    let old_data = std::fs::read_to_string(root.join("trekmail-api/operations.jsonl")).unwrap();
    let mut new = doc.clone();
    new["paths"]["/domains"]["get"]["parameters"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "tld", "in": "query", "required": false, "description": "Only domains under this top-level domain", "schema": {"type": "string", "maxLength": 63}}));
    let new_client = client(&new);
    let kept = public_signatures(&new_client);
    for sig in public_signatures(&old) {
        assert!(kept.contains(&sig), "`{sig}` changed or disappeared");
    }
    assert!(
        builder(&new_client, "ListDomains").contains("pub fn tld<V>(mut self, value: V) -> Self")
    );
    let report = xtask::report(
        &xtask::surface(
            &xtask::checked_in_operations(&old_data).unwrap(),
            &BTreeMap::new(),
            &ToolsMap::embedded().unwrap(),
        ),
        &xtask::surface(
            &ops_of(&new),
            &BTreeMap::new(),
            &ToolsMap::embedded().unwrap(),
        ),
    );
    assert_eq!(
        report,
        vec![
            "~ operation list_domains (GET /domains): parameter `query tld` added (optional, string); Rust: not breaking (Client::list_domains keeps its builder; new setters are optional)"
        ]
    );
}
