//! What agents see: the whole tools/list, snapshotted and reviewed like an API.
//! `cargo insta review` (or INSTA_UPDATE=always) accepts a deliberate change.
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

#[test]
fn tools_list_with_both_tokens() {
    let all = listing(&Opts::default());
    assert_eq!(all.len(), 143);
    insta::assert_snapshot!(
        "tools_list_all",
        serde_json::to_string_pretty(&all).unwrap()
    );
}

#[test]
fn ops_token_alone_lists_the_91_ops_tools_and_message_token_alone_the_52_message_tools() {
    let all = listing(&Opts::default());
    let ops = listing(&Opts {
        message: false,
        ..Opts::default()
    });
    let msg = listing(&Opts {
        ops: false,
        ..Opts::default()
    });
    assert_eq!((ops.len(), msg.len()), (91, 52));
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
#[test]
fn tools_list_stays_within_its_byte_budget() {
    let configs = [
        ("both tokens, default switches", Opts::default(), 92_806),
        (
            "ops token only",
            Opts {
                message: false,
                ..Opts::default()
            },
            66_326,
        ),
        (
            "message token only",
            Opts {
                ops: false,
                ..Opts::default()
            },
            31_365,
        ),
    ];
    let mut over = Vec::new();
    for (what, opts, limit) in configs {
        let bytes = serde_json::to_vec(&listing(&opts)).unwrap().len();
        println!("tools/list {what}: {bytes} B (budget {limit} B)");
        if bytes > limit {
            over.push(format!("{what}: {bytes} B > {limit} B"));
        }
    }
    assert!(over.is_empty(), "over budget: {over:?}");
}
