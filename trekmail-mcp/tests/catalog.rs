//! The binding of tools-map.toml to the OpenAPI document, invariants over the whole catalogue,
//! and a cross-check of every tool against the reference facts
//! (tests/fixtures/trekmail-api-v1.tools.jsonl and, for the 129 operations added since,
//! tests/fixtures/trekmail-api-v1-latest.tools.jsonl: copies of the shared reference).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use trekmail_api::TokenKind;
use trekmail_api::model::{Location, Operation, Parameter};
use trekmail_mcp::Catalog;
use trekmail_mcp::catalog::map::{GateName, ToolsMap};

fn ops() -> Vec<Operation> {
    trekmail_api::model::operations().unwrap().to_vec()
}

/// Every tool's facts: the 143 of the product description, then the 129 added since.
fn facts() -> Vec<Value> {
    include_str!("../../tests/fixtures/trekmail-api-v1.tools.jsonl")
        .lines()
        .chain(include_str!("../../tests/fixtures/trekmail-api-v1-latest.tools.jsonl").lines())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn build_err(map: ToolsMap, ops: &[Operation]) -> Vec<String> {
    match Catalog::build(map, ops) {
        Ok(_) => panic!("expected the binding to fail"),
        Err(p) => p,
    }
}

#[test]
fn the_embedded_catalogue_binds_all_272_tools() {
    let c = Catalog::embedded().unwrap_or_else(|p| panic!("binding problems:\n{}", p.join("\n")));
    let ops = c
        .tools()
        .iter()
        .filter(|t| t.entry.token == TokenKind::Ops)
        .count();
    let msg = c
        .tools()
        .iter()
        .filter(|t| t.entry.token == TokenKind::Message)
        .count();
    assert_eq!((c.tools().len(), ops, msg), (272, 208, 64));
}

#[test]
fn a_tool_naming_a_missing_operation_names_both_sides() {
    let mut map = ToolsMap::embedded().unwrap();
    map.tool[0].operation = "list_domainz".into();
    let p = build_err(map, &ops());
    assert!(
        p.iter().any(|l| l.contains("tool `list_domains`")
            && l.contains("operation `list_domainz`")
            && l.contains("openapi/trekmail-v1.yaml")),
        "{p:?}"
    );
    // …and the operation it used to bind is now unbound.
    assert!(
        p.iter()
            .any(|l| l.contains("operation `list_domains`") && l.contains("has no tool")),
        "{p:?}"
    );
}

#[test]
fn a_broken_entry_gets_every_problem_named_in_order() {
    // One problem of each kind the binding checks (the operation, the argument columns, the
    // listing), each naming both sides, in that order, all at once.
    let mut map = ToolsMap::embedded().unwrap();
    let t = &mut map.tool[0];
    assert_eq!(t.name, "list_domains");
    t.token = TokenKind::Message;
    t.sends = true;
    t.title = String::new();
    let p = build_err(map, &ops());
    let both = "tool `list_domains` / operation `list_domains`: ";
    let (title, description) = (
        trekmail_mcp::catalog::TITLE_LEN,
        trekmail_mcp::catalog::DESCRIPTION_LEN,
    );
    assert_eq!(
        p,
        [
            format!(
                "{both}tools-map.toml says token Message but the spec's security is [\"opsToken\"]"
            ),
            format!(
                "{both}sends = true, but no outbound_args, outbound_when or unnamed_recipients say whom it mails"
            ),
            format!(
                "{both}title must be {}-{} characters and description {}-{}",
                title.start(),
                title.end(),
                description.start(),
                description.end()
            ),
        ]
    );
}

#[test]
fn a_new_operation_fails_until_it_is_bound_or_excluded() {
    let mut ops = ops();
    let mut extra = ops[0].clone();
    extra.operation_id = "list_domain_tags".into();
    ops.push(extra);
    let p = build_err(ToolsMap::embedded().unwrap(), &ops);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("operation `list_domain_tags`") && p[0].contains("[[excluded]]"),
        "{p:?}"
    );
    let mut map = ToolsMap::embedded().unwrap();
    map.excluded.push(trekmail_mcp::catalog::map::Excluded {
        operation: "list_domain_tags".into(),
        reason: "internal".into(),
    });
    assert!(Catalog::build(map, &ops).is_ok());
}

#[test]
fn a_removed_operation_breaks_its_tool_by_name() {
    let ops: Vec<Operation> = ops()
        .into_iter()
        .filter(|o| o.operation_id != "get_domain")
        .collect();
    let p = build_err(ToolsMap::embedded().unwrap(), &ops);
    assert_eq!(
        p,
        vec![
            "tool `get_domain` (tools-map.toml) names operation `get_domain`, which openapi/trekmail-v1.yaml does not have"
        ]
    );
}

#[test]
fn duplicate_and_invalid_names_are_refused() {
    let mut map = ToolsMap::embedded().unwrap();
    let mut dup = map.tool[1].clone();
    dup.operation = map.tool[1].operation.clone();
    map.tool.push(dup);
    map.tool[0].name = "list domains!".into();
    let p = build_err(map, &ops());
    assert!(
        p.iter()
            .any(|l| l.contains("tool `get_domain` is defined twice")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|l| l.contains("tool `list domains!`: name must match")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|l| l.contains("operation `get_domain` is bound twice")),
        "{p:?}"
    );
}

#[test]
fn token_and_policy_mismatches_name_both_sides() {
    let mut map = ToolsMap::embedded().unwrap();
    let i = map
        .tool
        .iter()
        .position(|t| t.name == "list_messages")
        .unwrap();
    map.tool[i].token = TokenKind::Ops;
    let j = map
        .tool
        .iter()
        .position(|t| t.name == "change_mailbox_password")
        .unwrap();
    map.tool[j].idempotency.secret_args = vec!["passwd".into()];
    let k = map
        .tool
        .iter()
        .position(|t| t.name == "delete_domain")
        .unwrap();
    map.tool[k].annotations.destructive = false;
    let p = build_err(map, &ops());
    assert!(
        p.iter().any(
            |l| l.contains("tool `list_messages` / operation `list_messages`")
                && l.contains("messageToken")
        ),
        "{p:?}"
    );
    assert!(
        p.iter().any(|l| l.contains("secret argument `passwd`")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|l| l.contains("tool `delete_domain`") && l.contains("destructive")),
        "{p:?}"
    );
}

fn walk_properties(schema: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let p = format!("{path}.{k}");
            walk_properties(v, &p, out);
            if let Some(items) = v.get("items") {
                walk_properties(items, &format!("{p}[]"), out);
            }
        }
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for r in required {
            if !props.contains_key(r.as_str().unwrap()) {
                out.push(format!("{path}: required `{r}` is not a property"));
            }
        }
    }
}

#[test]
fn every_tool_is_fully_described() {
    let c = Catalog::embedded().unwrap();
    let mut problems = Vec::new();
    for t in c.tools() {
        let json = serde_json::to_value(t.tool()).unwrap();
        let name = &t.entry.name;
        let ann = &json["annotations"];
        for hint in [
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        ] {
            if !ann[hint].is_boolean() {
                problems.push(format!("{name}: {hint} not set"));
            }
        }
        let title = json["title"].as_str().unwrap_or("");
        let desc = json["description"].as_str().unwrap_or("");
        if !trekmail_mcp::catalog::TITLE_LEN.contains(&title.len())
            || !trekmail_mcp::catalog::DESCRIPTION_LEN.contains(&desc.len())
        {
            problems.push(format!("{name}: title or description out of bounds"));
        }
        walk_properties(t.input_schema(), name, &mut problems);
        if t.input_schema()["additionalProperties"] != false {
            problems.push(format!("{name}: unknown arguments must be refused"));
        }
        let props = json["inputSchema"]["properties"].as_object().unwrap();
        if t.writes() != props.contains_key("idempotency_key") {
            problems.push(format!(
                "{name}: idempotency_key must be offered exactly on non-GET tools"
            ));
        }
        // A conditional gate is the description's to explain; a whole-tool gate is data, and
        // the listing's note names its switch while it is off (tests/controls.rs).
        for g in t.entry.gate_when.iter().map(|g| &g.gate) {
            if !desc.contains(g.env_var()) {
                problems.push(format!("{name}: description does not name {}", g.env_var()));
            }
        }
        // The instructions say once what a confirmation argument means; the schema requires it.
        if let Some(c) = &t.entry.confirm
            && (json["inputSchema"]["properties"][c] != serde_json::json!({"type": "boolean"})
                || !json["inputSchema"]["required"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::String(c.clone())))
        {
            problems.push(format!("{name}: confirmation {c} not a required boolean"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Tool argument names of a facts record: path, query and body fields (`arg` where given, nested
/// objects flattened where their fields carry `arg`), confirmation, idempotency key.
fn fact_args(f: &Value) -> (BTreeSet<String>, BTreeSet<String>, HashMap<String, Value>) {
    let mut names = BTreeSet::new();
    let mut required = BTreeSet::new();
    let mut fields = HashMap::new();
    let mut add = |field: &Value, req: bool| {
        let name = field
            .get("arg")
            .and_then(Value::as_str)
            .unwrap_or_else(|| field["name"].as_str().unwrap())
            .to_owned();
        if req {
            required.insert(name.clone());
        }
        fields.insert(name.clone(), field.clone());
        names.insert(name);
    };
    for p in f["path_params"].as_array().unwrap() {
        add(p, true);
    }
    for q in f["query"].as_array().unwrap() {
        if q.get("fixed_value").is_some() {
            continue;
        }
        add(q, q["required"] == true && q.get("default").is_none());
    }
    for b in f["body"]["fields"].as_array().into_iter().flatten() {
        if b.get("fixed_value").is_some() {
            continue;
        }
        match b.get("properties").and_then(Value::as_array) {
            Some(children) if children.iter().all(|c| c.get("arg").is_some()) => {
                for c in children {
                    add(c, false);
                }
            }
            _ => add(b, b["required"] == true),
        }
    }
    // Tool-only arguments are confirmations (required) unless the facts say otherwise.
    for t in f["tool_only_args"].as_array().unwrap() {
        add(t, t.get("required").is_none_or(|r| r == true));
    }
    if f["method"] != "GET" {
        names.insert("idempotency_key".into());
    }
    (names, required, fields)
}

/// How the catalogue `c` differs from the facts: problems, and notes. The facts are a floor for
/// optional arguments: an optional argument of the spec that the facts do not list (added to
/// the spec since the facts were written) is a note; a missing, renamed or newly required
/// argument is a problem.
fn fact_differences(c: &Catalog) -> (Vec<String>, Vec<String>) {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let facts = facts();
    assert_eq!(facts.len(), 272);
    for f in &facts {
        let name = f["tool"].as_str().unwrap();
        let Some(t) = c.get(name) else {
            problems.push(format!("{name}: not in the catalogue"));
            continue;
        };
        let mut p = |m: String| problems.push(format!("{name}: {m}"));
        let token = if t.entry.token == TokenKind::Ops {
            "ops"
        } else {
            "message"
        };
        if f["token"] != token {
            p(format!("token {token} != {}", f["token"]));
        }
        if t.method.as_str() != f["method"].as_str().unwrap()
            || t.path != f["path"].as_str().unwrap()
        {
            p(format!(
                "{} {} != {} {}",
                t.method, t.path, f["method"], f["path"]
            ));
        }
        let gate = t.entry.gate.map(GateName::as_str);
        // The map may gate more than the facts (issue 9's mail-flow gates), never less.
        if f["gate_when"].is_null() && !f["gate"].is_null() && gate != f["gate"].as_str() {
            p(format!("gate {gate:?} != {}", f["gate"]));
        }
        // The newer facts' gate_when is a note (on a deliberately ungated tool), not a condition.
        let latest = f.get("gate_reason").is_some();
        if !latest && !f["gate_when"].is_null() && t.entry.gate_when.is_empty() {
            p("facts give a conditional gate; the map has none".into());
        }
        // A tool the facts serve over stdio only does not exist over HTTP here either.
        if let Some(tr) = f["transports"].as_array()
            && t.entry.stdio_only == tr.iter().any(|t| t == "http")
        {
            p(format!(
                "stdio_only {} but transports {tr:?}",
                t.entry.stdio_only
            ));
        }
        if t.entry.confirm.as_deref() != f["confirm_arg"].as_str() {
            p(format!(
                "confirm {:?} != {}",
                t.entry.confirm, f["confirm_arg"]
            ));
        }
        if t.entry.annotations.read_only != (f["read_only"] == true) {
            p("read_only annotation differs".into());
        }
        match f["idempotency"].as_object() {
            None => {
                if t.entry.idempotency.window_s.is_some() || t.writes() {
                    p("facts say no idempotency".into());
                }
            }
            Some(i) => {
                if t.entry.idempotency.window_s != i["window_s"].as_u64() {
                    p(format!(
                        "window {:?} != {}",
                        t.entry.idempotency.window_s, i["window_s"]
                    ));
                }
                let secrets: Vec<&str> = i["secret_args"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                if t.entry.idempotency.secret_args != secrets {
                    p(format!(
                        "secret args {:?} != {secrets:?}",
                        t.entry.idempotency.secret_args
                    ));
                }
            }
        }
        let schema = t.input_schema();
        let props = schema["properties"].as_object().unwrap();
        let have: BTreeSet<String> = props.keys().cloned().collect();
        let (want, want_required, fields) = fact_args(f);
        let required: BTreeSet<String> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        let missing: Vec<&String> = want.difference(&have).collect();
        if !missing.is_empty() {
            p(format!("arguments {missing:?} of the facts are missing"));
        }
        for extra in have.difference(&want) {
            if required.contains(extra) {
                p(format!(
                    "argument `{extra}` is required but not in the facts"
                ));
            } else {
                notes.push(format!(
                    "{name}: optional argument `{extra}` is in the spec, not in the facts"
                ));
            }
        }
        // Defaulted facts fields are optional arguments (the default is sent).
        // So are fields "always sent, null when absent": required and nullable at once, which
        // the API most plausibly reads as optional (the tool sends null for them).
        let want_required: BTreeSet<String> = want_required
            .into_iter()
            .filter(|a| fields[a].get("default").is_none())
            .filter(|a| {
                !(fields[a]["nullable"] == true
                    && fields[a]["description"]
                        .as_str()
                        .is_some_and(|d| d.contains("null when absent")))
            })
            .collect();
        if required != want_required {
            p(format!("required {required:?} != facts {want_required:?}"));
        }
        for (arg, field) in &fields {
            let Some(s) = props.get(arg) else { continue };
            for (fk, sk) in [
                ("min", "minimum"),
                ("max", "maximum"),
                ("min_length", "minLength"),
                ("max_length", "maxLength"),
                ("min_items", "minItems"),
                ("max_items", "maxItems"),
                ("pattern", "pattern"),
            ] {
                // A pattern the facts qualify in words is ours to write (see the spec).
                let fv = field
                    .get(fk)
                    .filter(|v| !v.as_str().is_some_and(|p| p.contains("(case-insensitive)")));
                let target = if field["type"] == "array"
                    && matches!(fk, "min" | "max" | "max_length" | "pattern")
                    && !field["items"].is_object()
                {
                    &s["items"]
                } else {
                    s
                };
                if let Some(fv) = fv
                    && target.get(sk).and_then(Value::as_f64) != fv.as_f64()
                    && target.get(sk) != Some(fv)
                {
                    p(format!(
                        "{arg}: {sk} {:?} != facts {fk} {fv}",
                        target.get(sk)
                    ));
                }
            }
            if let Some(e) = field.get("enum") {
                let target = if field["type"] == "array" {
                    &s["items"]
                } else {
                    s
                };
                let mut have_enum = target["enum"].clone();
                if let Value::Array(a) = &mut have_enum {
                    a.retain(|v| !v.is_null());
                }
                if &have_enum != e {
                    p(format!("{arg}: enum {have_enum} != facts {e}"));
                }
            }
        }
    }
    (problems, notes)
}

#[test]
fn every_tool_matches_the_reference_facts() {
    let (problems, notes) = fact_differences(&Catalog::embedded().unwrap());
    // Seen with `--nocapture`, and in the change report of `cargo xtask generate`.
    for n in &notes {
        eprintln!("note: {n}");
    }
    assert!(
        problems.is_empty(),
        "{} differences from the facts:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Both halves of the floor, on the real catalogue with `list_domains` edited in memory as a
/// spec edit would change it.
#[test]
fn the_facts_are_a_floor_for_optional_arguments_only() {
    let with = |edit: &dyn Fn(&mut Operation)| {
        let mut ops = ops();
        edit(
            ops.iter_mut()
                .find(|o| o.operation_id == "list_domains")
                .unwrap(),
        );
        let (problems, notes) =
            fact_differences(&Catalog::build(ToolsMap::embedded().unwrap(), &ops).unwrap());
        (problems, notes.into_iter().collect::<BTreeSet<String>>())
    };
    let (problems, base) = with(&|_| {});
    assert_eq!(problems, Vec::<String>::new());
    let noted = |more: &[&str]| {
        let mut n = base.clone();
        n.extend(more.iter().map(|s| s.to_string()));
        n
    };
    let tld = |required: bool| Parameter {
        name: "tld".into(),
        location: Location::Query,
        required,
        description: Some("Only domains under this top-level domain".into()),
        schema: serde_json::json!({"type": "string", "maxLength": 63}),
    };
    // A new optional parameter: noted, not a failure.
    assert_eq!(
        with(&|o| o.parameters.push(tld(false))),
        (
            vec![],
            noted(&["list_domains: optional argument `tld` is in the spec, not in the facts"])
        )
    );
    // A new required one fails.
    let (problems, _) = with(&|o| o.parameters.push(tld(true)));
    assert!(
        problems.contains(&"list_domains: argument `tld` is required but not in the facts".into()),
        "{problems:?}"
    );
    // A renamed one fails: the facts' name is missing.
    let (problems, notes) = with(&|o| {
        let p = o
            .parameters
            .iter_mut()
            .find(|p| p.name == "per_page")
            .unwrap();
        p.name = "page_size".into();
    });
    assert!(
        problems
            .contains(&"list_domains: arguments [\"per_page\"] of the facts are missing".into()),
        "{problems:?}"
    );
    assert_eq!(
        notes,
        noted(&["list_domains: optional argument `page_size` is in the spec, not in the facts"])
    );
    // An optional one made required fails.
    let (problems, _) = with(&|o| {
        o.parameters
            .iter_mut()
            .find(|p| p.name == "per_page")
            .unwrap()
            .required = true;
    });
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("list_domains: required {") && p.contains("per_page")),
        "{problems:?}"
    );
}

/// The annotation rule (docs/tools.md, "Annotations"), checked on what agents receive for all 272
/// tools: the hints as listed, against the method, the name, the idempotency policy, the gates
/// and the hosts each tool connects to.
#[test]
fn annotations_follow_the_rule_over_all_272_tools() {
    let c = Catalog::embedded().unwrap();
    assert_eq!(c.tools().len(), 272);
    let mut problems = Vec::new();
    for t in c.tools() {
        let json = serde_json::to_value(t.tool()).unwrap();
        let a = &json["annotations"];
        let hint = |k: &str| a[k].as_bool().unwrap();
        let (ro, de, id, ow) = (
            hint("readOnlyHint"),
            hint("destructiveHint"),
            hint("idempotentHint"),
            hint("openWorldHint"),
        );
        let e = &t.entry;
        let m = t.method.as_str();
        let mut fail = |what: &str| problems.push(format!("{}: {what}", e.name));
        if (m == "GET" || e.name.starts_with("list_") || e.name.starts_with("get_")) && !ro {
            fail("a GET or list_/get_ tool must be read-only");
        }
        if ro && (de || !id) {
            fail("a read-only tool is idempotent and not destructive");
        }
        if matches!(m, "DELETE" | "PUT" | "PATCH") && !de {
            fail("a DELETE, PUT or PATCH is destructive");
        }
        if e.name.starts_with("create_") && de {
            fail("a create_ tool is additive");
        }
        if !ro && id && e.idempotency.window_s.is_none() {
            fail("an idempotent write re-keys after a window");
        }
        if (e.gate == Some(GateName::Sending) || !e.public_host_args.is_empty()) && !ow {
            fail("sending or connecting out is open-world");
        }
        if m == "GET" && ow {
            fail("a read of the account's data is not open-world");
        }
        if json["annotations"].get("title").is_some() {
            fail("the title is the tool's own field, not repeated in the annotations");
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The hints carry information: each takes both values somewhere.
    for k in [
        "readOnlyHint",
        "destructiveHint",
        "idempotentHint",
        "openWorldHint",
    ] {
        let values: BTreeSet<bool> = c
            .tools()
            .iter()
            .map(|t| serde_json::to_value(t.tool()).unwrap()["annotations"][k] == true)
            .collect();
        assert_eq!(values.len(), 2, "{k} is the same on every tool");
    }
}

#[test]
fn argument_paths_and_columns_of_the_map_are_checked_at_start_up() {
    let mut map = ToolsMap::embedded().unwrap();
    let at = |map: &ToolsMap, name: &str| map.tool.iter().position(|t| t.name == name).unwrap();
    let i = at(&map, "send_message");
    // A column is fixed once read: add to a copy.
    let with = |column: &[String], arg: &str| [column, &[arg.to_owned()]].concat().into();
    map.tool[i].header_args = with(&map.tool[i].header_args, "subjct");
    map.tool[i].header_name_args = with(&map.tool[i].header_name_args, "headers[");
    let j = at(&map, "create_mail_rule");
    map.tool[j].gate_when[0].truthy = true;
    let k = at(&map, "start_migration");
    map.tool[k].ignored_args = with(&map.tool[k].ignored_args, "source_host");
    let l = at(&map, "start_bulk_migration");
    map.tool[l].csv_columns[0].host_when = Some("per_row".into());
    let p = build_err(map, &ops());
    for needle in [
        "tool `send_message` / operation `send_message`: header_args `subjct` is not an argument",
        "tool `send_message` / operation `send_message`: header_name_args: argument path \"headers[\"",
        "tool `create_mail_rule` / operation `create_mail_rule`: gate_when on `actions[].type` needs exactly one of",
        "ignored argument `source_host` clashes",
        "csv_columns names `per_row`",
    ] {
        assert!(p.iter().any(|l| l.contains(needle)), "{needle}: {p:?}");
    }
}

#[test]
fn a_map_entry_breaking_the_annotation_rule_is_refused() {
    type Change = fn(&mut trekmail_mcp::catalog::map::Annotations);
    let cases: [(&str, Change, &str); 4] = [
        ("list_domains", |a| a.read_only = false, "read-only"),
        ("create_contact", |a| a.destructive = true, "additive"),
        ("create_contact", |a| a.idempotent = true, "window"),
        ("send_message", |a| a.open_world = false, "open-world"),
    ];
    for (tool, change, words) in cases {
        let mut map = ToolsMap::embedded().unwrap();
        let i = map.tool.iter().position(|t| t.name == tool).unwrap();
        change(&mut map.tool[i].annotations);
        let p = build_err(map, &ops());
        assert!(
            p.iter()
                .any(|l| l.contains(&format!("tool `{tool}`")) && l.contains(words)),
            "{tool}: {p:?}"
        );
    }
}

#[test]
fn mail_flow_gates_live_in_the_map() {
    // Issue 9: the data, not code, decides; the behaviour is tested in tests/safety.rs.
    let c = Catalog::embedded().unwrap();
    let args = |v: Value| v.as_object().cloned().unwrap();
    let gates = |tool: &str, a: Value| c.get(tool).unwrap().gates_for(&args(a));
    assert_eq!(
        gates("set_forwarding", serde_json::json!({"enabled": true})),
        [GateName::Sending]
    );
    assert!(gates("set_forwarding", serde_json::json!({"enabled": false})).is_empty());
    assert_eq!(
        gates(
            "update_mail_rule",
            serde_json::json!({"actions": [{"type": "discard"}, {"type": "redirect"}]})
        ),
        [GateName::Destructive, GateName::Sending]
    );
    for (tool, gate) in [
        ("upload_sieve_script", GateName::Sending),
        ("create_invite", GateName::Sending),
        ("create_invites_bulk", GateName::Sending),
        ("apply_cloudflare_dns", GateName::Destructive),
    ] {
        assert_eq!(c.get(tool).unwrap().entry.gate, Some(gate), "{tool}");
    }
}

/// Values of every type, and at every bound and option `s` names.
fn candidates(s: &Value) -> Vec<Value> {
    use serde_json::json;
    let mut out = vec![
        json!(null),
        json!(true),
        json!(0),
        json!(1),
        json!(-1),
        json!(2.5),
        json!(""),
        json!("a"),
        json!(" "),
        json!([]),
        json!([1]),
        json!(["a"]),
        json!([{}]),
        json!({}),
        json!({"zz_unknown": 1}),
    ];
    out.extend(s["enum"].as_array().into_iter().flatten().cloned());
    for k in ["minimum", "maximum"] {
        if let Some(n) = s[k].as_i64() {
            out.extend([json!(n - 1), json!(n), json!(n + 1)]);
        } else if let Some(x) = s[k].as_f64() {
            out.extend([json!(x - 0.5), json!(x), json!(x + 0.5)]);
        }
    }
    for k in ["minLength", "maxLength"] {
        if let Some(n) = s[k].as_u64().and_then(|n| usize::try_from(n).ok()) {
            for len in [n.saturating_sub(1), n, n + 1] {
                out.push(json!("a".repeat(len)));
            }
        }
    }
    let item = candidates_item(&s["items"]);
    for k in ["minItems", "maxItems"] {
        if let Some(n) = s[k].as_u64().and_then(|n| usize::try_from(n).ok()) {
            for len in [n.saturating_sub(1), n, n + 1] {
                out.push(Value::Array(vec![item.clone(); len]));
            }
        }
    }
    if s["items"].is_object() {
        out.extend(candidates(&s["items"]).into_iter().map(|v| json!([v])));
    }
    for (name, p) in s["properties"].as_object().into_iter().flatten() {
        out.extend(
            candidates(p)
                .into_iter()
                .map(|v| json!({ name.as_str(): v })),
        );
    }
    out
}

/// One value an array's items schema takes, when it names one.
fn candidates_item(s: &Value) -> Value {
    if let Some(first) = s["enum"].get(0) {
        return first.clone();
    }
    match s["type"].as_str() {
        Some("string") => Value::from("a"),
        Some("object") => Value::Object(serde_json::Map::new()),
        _ => Value::from(s["minimum"].as_i64().unwrap_or(1)),
    }
}

fn has_email_format(s: &Value) -> bool {
    match s {
        Value::Object(m) => {
            m.get("format").and_then(Value::as_str) == Some("email")
                || m.values().any(has_email_format)
        }
        Value::Array(a) => a.iter().any(has_email_format),
        _ => false,
    }
}

#[test]
fn the_argument_check_agrees_with_a_real_json_schema_validator() {
    // The one hand-written check (trekmail_api::validate, see its header for why hand-written)
    // against jsonschema, on every argument schema of all 272 tools, over values of every type,
    // at and past every bound, every enum value, nested items and properties. `format: email`
    // is left out: the workspace's address check is stricter than JSON Schema's by design
    // (trekmail-api/src/email.rs tests it).
    let c = Catalog::embedded().unwrap();
    let (mut compared, mut differ) = (0, Vec::new());
    for def in c.tools() {
        for (name, s) in def.input_schema()["properties"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if has_email_format(s) {
                continue;
            }
            let real = jsonschema::validator_for(s).unwrap();
            for v in candidates(s) {
                let ours =
                    trekmail_api::validate::validate(s, &v, name, def.patterns(), &|_, v| {
                        v.to_string()
                    });
                compared += 1;
                if ours.is_empty() != real.is_valid(&v) {
                    differ.push(format!("{}.{name} = {v}: ours {ours:?}", def.tool().name));
                }
            }
        }
    }
    println!("argument check vs jsonschema: {compared} values compared");
    assert!(compared > 10_000, "{compared}");
    assert!(
        differ.is_empty(),
        "{} differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}
