//! The catalogue the binary reads at start-up (`trekmail-mcp/catalog.jsonl`, written by `cargo
//! xtask generate`) is the map bound to the operations, tool by tool: the same entries, methods,
//! paths, definitions as listed, shapes and input schemas.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use trekmail_mcp::Catalog;
use trekmail_mcp::catalog::data::TOOLS_MAP_FNV1A;
use trekmail_mcp::catalog::data::{self, CATALOG_JSONL};
use trekmail_mcp::catalog::map::{TOOLS_MAP_TOML, ToolsMap};

fn bound() -> Catalog {
    let ops = trekmail_api::model::operations().unwrap();
    Catalog::build(ToolsMap::embedded().unwrap(), ops).unwrap()
}

fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn the_embedded_data_is_the_map_bound_to_the_operations() {
    let tools = data::read(CATALOG_JSONL, TOOLS_MAP_FNV1A).expect(
        "catalog.jsonl was written from another tools-map.toml: run `cargo xtask generate`",
    );
    let bound = bound();
    assert_eq!(tools.len(), bound.tools().len());
    for (d, b) in tools.iter().zip(bound.tools()) {
        let name = &b.entry.name;
        assert_eq!(json(&d.entry), json(&b.entry), "{name}: entry");
        assert_eq!((d.method, &d.path), (b.method, &b.path), "{name}");
        assert_eq!(json(d.tool()), json(b.tool()), "{name}: definition");
        assert_eq!(json(d.shape()), json(b.shape()), "{name}: shape");
        assert_eq!(d.input_schema(), b.input_schema(), "{name}: input schema");
    }
}

#[test]
fn data_written_from_another_map_is_not_read_and_the_map_is_bound_instead() {
    let edited = format!("{TOOLS_MAP_TOML}\n# an edit not yet regenerated\n");
    assert!(data::read(CATALOG_JSONL, data::fnv1a(&edited)).is_none());
    // What the binary serves is the map either way.
    let embedded = Catalog::embedded().unwrap();
    assert_eq!(embedded.tools().len(), bound().tools().len());
}

#[test]
fn data_that_does_not_read_is_not_read() {
    let text: &'static str = Box::leak(
        CATALOG_JSONL
            .replacen("\"lines\":[0,", "\"lines\":[1,", 1)
            .into_boxed_str(),
    );
    assert!(data::read(text, TOOLS_MAP_FNV1A).is_none());
    assert!(data::read("", TOOLS_MAP_FNV1A).is_none());
    assert!(data::read("{}\n[]", TOOLS_MAP_FNV1A).is_none());
}

#[test]
fn written_data_reads_back_as_written() {
    let bound = bound();
    let text = data::write(bound.tools().iter().map(|t| &**t), TOOLS_MAP_TOML).unwrap();
    assert_eq!(
        text, CATALOG_JSONL,
        "catalog.jsonl is stale: run `cargo xtask generate`"
    );
}

#[test]
fn listed_names_and_descriptions_are_borrowed_from_the_data() {
    use std::borrow::Cow;
    let tools = data::read(CATALOG_JSONL, TOOLS_MAP_FNV1A).unwrap();
    // Written as JSON, a text is kept verbatim unless it has a character JSON escapes.
    let verbatim = |s: &str| !s.chars().any(|c| c == '"' || c == '\\' || c.is_control());
    let mut borrowed = 0;
    for d in &tools {
        let t = d.tool();
        assert!(
            matches!(t.name, Cow::Borrowed(_)),
            "{}: name copied",
            t.name
        );
        let desc = t.description.as_ref().unwrap();
        if verbatim(desc) {
            assert!(
                matches!(desc, Cow::Borrowed(_)),
                "{}: description copied",
                t.name
            );
            borrowed += 1;
        }
    }
    // Most descriptions have nothing to unescape.
    assert!(
        borrowed * 10 >= tools.len() * 9,
        "{borrowed} of {} borrowed",
        tools.len()
    );
}

#[test]
fn tools_that_list_the_same_schema_share_it() {
    use std::collections::HashMap;
    use std::sync::Arc;
    let tools = data::read(CATALOG_JSONL, TOOLS_MAP_FNV1A).unwrap();
    let mut first = HashMap::new();
    let mut shared = 0;
    for d in &tools {
        let schema = &d.tool().input_schema;
        let text = serde_json::to_string(schema).unwrap();
        match first.get(&text) {
            Some(seen) => {
                assert!(
                    Arc::ptr_eq(seen, schema),
                    "{}: its schema read twice",
                    d.entry.name
                );
                shared += 1;
            }
            None => {
                first.insert(text, Arc::clone(schema));
            }
        }
    }
    // Many tools take the same arguments (an id, a page).
    assert!(shared > 0);
    println!(
        "{} tools list {} distinct input schemas",
        tools.len(),
        first.len()
    );
}

/// The names of the tools whose whole entry has been read.
fn entries_read(h: &support::Harness) -> Vec<String> {
    h.server
        .catalog()
        .tools()
        .iter()
        .filter(|d| d.entry.is_read())
        .map(|d| d.head.name.to_string())
        .collect()
}

#[tokio::test]
async fn a_start_and_a_listing_read_only_heads_and_a_call_its_own_entry() {
    // Every switch on, both tokens, scopes learnt: the widest listing; then again under each
    // outbound policy, whose notes change descriptions.
    let policies: [&[(&str, &str)]; 4] = [
        &[],
        &[("TREKMAIL_SEND_TO", "someone@example.com")],
        &[("TREKMAIL_DRAFTS_ONLY", "true")],
        &[("TREKMAIL_SEND_RATE", "50/h")],
    ];
    for policy in policies {
        let mut opts = support::Opts::all_gates();
        opts.extra = policy.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let mut h = support::Harness::start(opts).await;
        let scopes: Vec<String> = h
            .server
            .catalog()
            .tools()
            .iter()
            .flat_map(|d| d.head.capabilities.iter())
            .flat_map(|c| c.any_of.iter().chain(&c.all_of).cloned())
            .collect();
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        support::grant_scopes(&h.mock, &scopes).await;
        h.server.learn_scopes().await.unwrap();
        let listed = h.server.tools();
        assert!(listed.len() > 200, "{policy:?}: {} listed", listed.len());
        assert!(!h.server.instructions().is_empty());
        assert_eq!(
            entries_read(&h),
            Vec::<String>::new(),
            "{policy:?}: entries read by a start and a listing"
        );
        h.answer_json(200, json!({"data": {"id": 7, "name": "example.com"}}))
            .await;
        let r = h.call("get_domain", json!({"domain_id": 7})).await;
        assert!(!support::is_error(&r), "{}", support::text(&r));
        assert_eq!(entries_read(&h), ["get_domain"], "{policy:?}");
    }
}

#[test]
fn each_head_is_its_entry_s() {
    use trekmail_mcp::catalog::head::Head;
    let tools = data::read(CATALOG_JSONL, TOOLS_MAP_FNV1A).unwrap();
    for (d, b) in tools.iter().zip(bound().tools()) {
        assert_eq!(d.head, Head::of(&b.entry), "{}", b.head.name);
        assert_eq!(d.head, b.head, "{}", b.head.name);
    }
}

#[test]
fn every_tool_is_found_by_its_name_and_no_other_name_finds_one() {
    for catalog in [Catalog::embedded().unwrap(), bound()] {
        for d in catalog.tools() {
            let found = catalog.get(&d.head.name).unwrap();
            assert!(std::sync::Arc::ptr_eq(found, d), "{}", d.head.name);
        }
        for name in ["", "get_domai", "get_domainx", "zzz", "GET_DOMAIN"] {
            assert!(catalog.get(name).is_none(), "{name}");
        }
    }
}
