//! What agents see: the whole tools/list, one reviewed snapshot per tool in tests/toolsnaps/
//! (`cargo xtask generate` rewrites them), and the names each token lists (`insta`).
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::{Harness, Opts};

fn listing(opts: &Opts) -> Vec<Value> {
    let (policy, _) = support::recording_policy();
    let server = Harness::server_for("https://trekmail.example", opts, policy);
    server
        .tools()
        .iter()
        .map(|t| serde_json::to_value(t).unwrap())
        .collect()
}

/// Every switch on, the upload directory named: every tool as its snapshot says.
fn open_opts() -> Opts {
    Opts {
        extra: vec![(
            "TREKMAIL_UPLOAD_DIR",
            std::env::temp_dir().display().to_string(),
        )],
        ..Opts::all_gates()
    }
}

/// Every tool's definition is exactly its snapshot in tests/toolsnaps/ (one file per tool,
/// written by `cargo xtask generate`), and every snapshot is a listed tool: a change of what
/// agents see shows up as the diff of that tool's file. With every switch on, the server lists
/// the definitions as they are; with a switch off, a gated tool's description only gains the
/// note that says so.
#[test]
fn tools_list_with_both_tokens_matches_the_toolsnaps() {
    let open = listing(&open_opts());
    assert_eq!(open.len(), 272);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/toolsnaps");
    let mut snapped: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    snapped.sort();
    let mut listed: Vec<String> = open
        .iter()
        .map(|t| format!("{}.json", t["name"].as_str().unwrap()))
        .collect();
    listed.sort();
    assert_eq!(
        listed, snapped,
        "run `cargo xtask generate` and review tests/toolsnaps"
    );
    let snap = |name: &str| -> Value {
        let file = dir.join(format!("{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    };
    for tool in &open {
        let name = tool["name"].as_str().unwrap();
        assert_eq!(
            tool,
            &snap(name),
            "tests/toolsnaps/{name}.json differs from what the server lists; run `cargo xtask generate` and review the diff"
        );
    }
    let mut noted = 0;
    for tool in listing(&Opts::default()) {
        let name = tool["name"].as_str().unwrap();
        let mut want = snap(name);
        let (got, base) = (
            tool["description"].as_str().unwrap(),
            want["description"].as_str().unwrap(),
        );
        if got != base {
            assert!(
                got.starts_with(base) && got[base.len()..].starts_with(" Disabled"),
                "{name}: {got}"
            );
            want["description"] = got.into();
            noted += 1;
        }
        assert_eq!(tool, want, "{name}");
    }
    assert!(noted > 0, "no gated tool says it is disabled");
}

#[test]
fn ops_token_alone_lists_the_208_ops_tools_and_message_token_alone_the_64_message_tools() {
    let all = listing(&Opts::default());
    let ops = listing(&Opts {
        message: false,
        ..Opts::default()
    });
    let msg = listing(&Opts {
        ops: false,
        ..Opts::default()
    });
    assert_eq!((all.len(), ops.len(), msg.len()), (272, 208, 64));
    // Each listing is the matching part of the full one, definitions identical.
    let mut joined = ops.clone();
    joined.extend(msg.iter().cloned());
    let key = |v: &Value| v["name"].as_str().unwrap().to_owned();
    let mut a: Vec<Value> = all.clone();
    a.sort_by_key(key);
    joined.sort_by_key(key);
    assert_eq!(a, joined);
    let names = |l: &[Value]| {
        l.iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    insta::assert_snapshot!("tools_list_ops_names", names(&ops));
    insta::assert_snapshot!("tools_list_message_names", names(&msg));
}

#[test]
fn read_only_mode_and_toolsets_filter_by_data() {
    let ro = listing(&Opts {
        extra: vec![("TREKMAIL_READ_ONLY", "true".into())],
        ..Opts::default()
    });
    assert!(!ro.is_empty());
    assert!(ro.iter().all(|t| t["annotations"]["readOnlyHint"] == true));
    let dns = listing(&Opts {
        extra: vec![("TREKMAIL_TOOLSETS", "dns, aliases".into())],
        ..Opts::default()
    });
    let names: Vec<&str> = dns.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "get_dns_requirements",
            "dns_recheck",
            "get_dns_check",
            "list_aliases",
            "create_alias",
            "update_alias",
            "delete_alias"
        ]
    );
}

/// The byte budget of tools/list: the `tools` array as sent (compact JSON), per configuration.
/// This test is the one place that states the limits; it prints the figures (`--nocapture`).
/// Issue 18's budgets: all 272 tools with both tokens at most 160,000 B, the 143 tools of the
/// product description alone (TREKMAIL_TOOLS naming them) at most 83,000 B (0.85x the reference
/// server's 97,690 B for them), so the 129 added since have 77,000 B.
#[test]
fn tools_list_stays_within_its_byte_budget() {
    let seed: Vec<String> = include_str!("../../tests/fixtures/trekmail-api-v1.tools.jsonl")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["tool"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(seed.len(), 143);
    let seed_only = Opts {
        extra: vec![("TREKMAIL_TOOLS", seed.join(","))],
        ..Opts::default()
    };
    let configs = [
        ("all 272 tools, both tokens", Opts::default(), 272, 160_000),
        ("the 143 of the product description", seed_only, 143, 83_000),
        (
            "ops token only",
            Opts {
                message: false,
                ..Opts::default()
            },
            208,
            121_000,
        ),
        (
            "message token only",
            Opts {
                ops: false,
                ..Opts::default()
            },
            64,
            40_000,
        ),
    ];
    let mut over = Vec::new();
    let mut figures = Vec::new();
    for (what, opts, count, limit) in configs {
        let tools = listing(&opts);
        assert_eq!(tools.len(), count, "{what}");
        let bytes = serde_json::to_vec(&tools).unwrap().len();
        println!("tools/list {what}: {count} tools, {bytes} B (budget {limit} B)");
        println!("  {}", breakdown(&tools));
        figures.push(bytes);
        if bytes > limit {
            over.push(format!("{what}: {bytes} B > {limit} B"));
        }
    }
    let added = figures[0] - figures[1];
    println!("tools/list the 129 added since: {added} B (budget 77000 B)");
    if added > 77_000 {
        over.push(format!("the 129 added: {added} B > 77000 B"));
    }
    assert!(over.is_empty(), "over budget: {over:?}");
}

/// Where a listing's bytes go: each field of the tools, and inside the input schemas the
/// descriptions apart from the rest (compact JSON, key and punctuation included).
fn breakdown(tools: &[Value]) -> String {
    fn len(v: &Value) -> usize {
        serde_json::to_vec(v).unwrap().len()
    }
    fn descriptions(v: &Value) -> usize {
        match v {
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    // `"description":"…",`
                    ("description", Value::String(_)) => len(v) + 15,
                    _ => descriptions(v),
                })
                .sum(),
            Value::Array(a) => a.iter().map(descriptions).sum(),
            _ => 0,
        }
    }
    let mut parts: Vec<(String, usize)> = Vec::new();
    let mut add = |k: &str, n: usize| match parts.iter_mut().find(|(p, _)| p == k) {
        Some((_, m)) => *m += n,
        None => parts.push((k.to_owned(), n)),
    };
    for t in tools {
        for (k, v) in t.as_object().unwrap() {
            let n = len(v) + k.len() + 4;
            if k == "inputSchema" {
                let d = descriptions(v);
                add("inputSchema descriptions", d);
                add("inputSchema rest", n - d);
            } else {
                add(k, n);
            }
        }
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.1));
    parts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Several clients do not resolve `$ref`: every listed input schema is self-contained.
#[test]
fn listed_input_schemas_have_no_ref() {
    fn refs(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    if k == "$ref" {
                        out.push(at.to_owned());
                    }
                    refs(v, &format!("{at}.{k}"), out);
                }
            }
            Value::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, v)| refs(v, &format!("{at}[{i}]"), out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for t in listing(&Opts::all_gates()) {
        refs(&t["inputSchema"], t["name"].as_str().unwrap(), &mut found);
    }
    assert!(found.is_empty(), "{found:?}");
}
