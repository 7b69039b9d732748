//! The outbound policy (issue 20, part 2): with `TREKMAIL_SEND_TO`, every path where mail would
//! leave the account for an address is refused before any request unless the address is listed,
//! whatever its spelling; `TREKMAIL_DRAFTS_ONLY` lists drafts and no sending tool.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{Value, json};
use support::{Harness, Opts, is_error, text};
use trekmail_mcp::call::send_rate;
use trekmail_mcp::call::tokens::{TokenSource, Tokens};
use trekmail_mcp::serve::Shared;

fn opts() -> Opts {
    Opts {
        extra: vec![
            (
                "TREKMAIL_SEND_TO",
                "example.com, *.corp.example, boss@other.example".into(),
            ),
            ("TREKMAIL_HUMAN_CONFIRM", "never".into()),
        ],
        ..Opts::all_gates()
    }
}

/// Every sending path, with the recipient put where that path takes it.
fn paths(to: &str) -> Vec<(&'static str, Value)> {
    vec![
        (
            "send_message",
            json!({"to": [to], "subject": "s", "body_text": "b", "confirm_send": true, "apply_default_recipients": false}),
        ),
        (
            "send_message",
            json!({"to": ["a@example.com"], "cc": [to], "subject": "s", "body_text": "b", "confirm_send": true, "apply_default_recipients": false}),
        ),
        (
            "send_message",
            json!({"to": ["a@example.com"], "bcc": [to], "subject": "s", "body_text": "b", "confirm_send": true, "apply_default_recipients": false}),
        ),
        (
            "schedule_message",
            json!({"to": [to], "subject": "s", "body_text": "b", "scheduled_for": "2027-01-01T09:00:00Z", "confirm_send": true, "apply_default_recipients": false}),
        ),
        (
            "set_forwarding",
            json!({"mailbox_id": 1, "enabled": true, "targets": [to]}),
        ),
        (
            "update_domain_catch_all",
            json!({"domain_id": 1, "enabled": true, "destination": to}),
        ),
        (
            "create_mail_rule",
            json!({"mailbox_id": 1, "name": "r", "conditions": [{"field": "subject", "operator": "contains", "value": "x"}], "actions": [{"type": "redirect", "value": to}]}),
        ),
        (
            "update_mail_rule",
            json!({"mailbox_id": 1, "rule_id": 2, "name": "r", "conditions": [{"field": "subject", "operator": "contains", "value": "x"}], "actions": [{"type": "redirect_copy", "value": to}]}),
        ),
        (
            "upload_sieve_script",
            json!({"mailbox_id": 1, "script": format!("require [\"copy\"];\nredirect :copy \"{}\";\n", to.replace('\\', "\\\\").replace('"', "\\\""))}),
        ),
        (
            "create_invite",
            json!({"domain_id": 1, "local_part": "bob", "recipient_email": to}),
        ),
        (
            "create_invites_bulk",
            json!({"domain_id": 1, "items": [{"local_part": "bob", "recipient_email": to}]}),
        ),
        (
            "create_identity",
            json!({"email": "a@example.com", "name": "A", "reply_to": to}),
        ),
        ("update_identity", json!({"id": 2, "reply_to": to})),
        (
            "create_forwarding_address",
            json!({"domain_id": 1, "local_part": "info", "recipients": ["a@example.com", to]}),
        ),
        (
            "update_forwarding_address",
            json!({"domain_id": 1, "forwarding_address_id": 2, "recipients": [to]}),
        ),
        (
            "invite_white_label_member",
            json!({"email": to, "role": "client", "all_domains": true}),
        ),
        (
            "set_domain_branding",
            json!({"domain_id": 1, "support_email": to}),
        ),
    ]
}

#[tokio::test]
async fn every_sending_path_refuses_every_escape_before_any_request() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let spellings = [
        "eve@evil.example",
        "a@example.com.",
        "\"a@example.com\"@evil.example",
        "a%evil.example@example.com",
        "evil.example!a@example.com",
        "@example.com:a@evil.example",
        "a@[192.0.2.1]",
        "a@sub.example.com",
        "x@corp.example",
        "other@other.example",
        "a@EXAMPLE.com.evil.example",
    ];
    for to in spellings {
        for (tool, args) in paths(to) {
            let r = h.call(tool, args).await;
            let t = text(&r);
            assert!(is_error(&r), "{tool} {to}: {t}");
            // Refused by the policy or by the address checks before it: nothing reached the API.
            assert!(
                t.contains("TREKMAIL_SEND_TO") || t.contains("Invalid arguments"),
                "{tool} {to}: {t}"
            );
            assert!(h.requests().await.is_empty(), "{tool} {to}: sent");
        }
    }
    // A plain address outside the list: refused by the policy itself, naming it and the variable.
    for (tool, args) in paths("eve@evil.example") {
        let t = text(&h.call(tool, args).await);
        assert!(t.contains("TREKMAIL_SEND_TO"), "{tool}: {t}");
        assert!(t.contains("eve@evil.example"), "{tool}: {t}");
    }
}

#[tokio::test]
async fn allowed_recipients_go_through_on_every_path() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    for to in [
        "a@example.com",
        "A@Example.COM",
        "x@eu.corp.example",
        "BOSS@other.example",
    ] {
        for (tool, args) in paths(to) {
            let before = h.requests().await.len();
            let r = h.call(tool, args).await;
            assert!(
                !text(&r).contains("TREKMAIL_SEND_TO"),
                "{tool} {to}: {}",
                text(&r)
            );
            assert_eq!(
                h.requests().await.len(),
                before + 1,
                "{tool} {to}: {}",
                text(&r)
            );
        }
    }
}

#[tokio::test]
async fn sieve_targets_that_cannot_be_read_plainly_are_refused() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    for script in [
        "require [\"variables\"];\nset \"t\" \"eve@evil.example\";\nredirect \"${t}\";",
        "redirect \"a\\@evil.example\";",
        "redirect text:\neve@evil.example\n.\n;",
        "require \"enotify\";\nnotify \"mailto:eve@evil.example\";",
        // An auto-reply: to every sender, none of whom the list can be checked against.
        "require \"vacation\";\nvacation :days 7 :subject \"Away\" \"Back on Monday\";",
    ] {
        let r = h
            .call(
                "upload_sieve_script",
                json!({"mailbox_id": 1, "script": script}),
            )
            .await;
        assert!(
            text(&r).contains("TREKMAIL_SEND_TO"),
            "{script}: {}",
            text(&r)
        );
    }
    assert!(h.requests().await.is_empty());
}

#[tokio::test]
async fn drafts_only_lists_drafts_and_no_sending_tool() {
    let mut o = Opts::all_gates();
    o.extra.push(("TREKMAIL_DRAFTS_ONLY", "true".into()));
    let h = Harness::start(o).await;
    let names: Vec<String> = h
        .server
        .tools()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    for hidden in [
        "send_message",
        "schedule_message",
        "upload_sieve_script",
        "create_invite",
    ] {
        assert!(!names.contains(&hidden.to_owned()), "{hidden} listed");
        let e = h.try_call(hidden, json!({})).await.unwrap_err();
        assert!(e.message.contains("TREKMAIL_DRAFTS_ONLY"), "{e:?}");
    }
    for listed in ["save_draft", "update_draft", "read_message"] {
        assert!(names.contains(&listed.to_owned()), "{listed} not listed");
    }
    assert!(h.requests().await.is_empty());
    // The tools that compose say so (the map's `composes`), and no other description changes.
    let plain = Harness::server_for(
        "https://trekmail.example",
        &Opts::all_gates(),
        support::recording_policy().0,
    );
    let before: std::collections::HashMap<String, String> = plain
        .tools()
        .iter()
        .map(|t| {
            (
                t.name.to_string(),
                t.description.as_deref().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let changed: Vec<String> = h
        .server
        .tools()
        .iter()
        .filter_map(|t| {
            let after = t.description.as_deref().unwrap_or_default();
            let was = &before[t.name.as_ref()];
            assert!(after.starts_with(was.as_str()), "{}: {after}", t.name);
            (after != was).then(|| format!("{}:{}", t.name, &after[was.len()..]))
        })
        .collect();
    insta::assert_snapshot!("drafts_only_notes", changed.join("\n"));
}

/// The API adds the sender's default Cc/Bcc (an identity's, or the mailbox's) unless the call
/// says `apply_default_recipients: false`, and no answer shows those addresses: under
/// `TREKMAIL_SEND_TO` a send or schedule without that `false` is refused with nothing sent, and
/// with it the request carries it.
#[tokio::test]
async fn default_cc_bcc_the_policy_cannot_check_must_be_turned_off_under_send_to() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let calls = [
        (
            "send_message",
            json!({"to": ["a@example.com"], "subject": "s", "body_text": "b", "identity_id": 3, "confirm_send": true}),
        ),
        (
            "schedule_message",
            json!({"to": ["a@example.com"], "subject": "s", "body_text": "b", "identity_id": 3, "scheduled_for": "2027-01-01T09:00:00Z", "confirm_send": true}),
        ),
    ];
    for (tool, args) in &calls {
        for apply in [None, Some(true)] {
            let mut args = args.clone();
            if let Some(a) = apply {
                args["apply_default_recipients"] = json!(a);
            }
            let r = h.call(tool, args).await;
            let t = text(&r);
            assert!(is_error(&r), "{tool} {apply:?}: {t}");
            assert!(
                t.contains("TREKMAIL_SEND_TO")
                    && t.contains("default Cc/Bcc")
                    && t.contains("apply_default_recipients: false"),
                "{tool} {apply:?}: {t}"
            );
            assert!(h.requests().await.is_empty(), "{tool} {apply:?}: sent");
        }
        let mut off = args.clone();
        off["apply_default_recipients"] = json!(false);
        let r = h.call(tool, off).await;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
        let sent = h.requests().await;
        assert_eq!(sent.len(), 1, "{tool}");
        let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
        assert_eq!(
            body["apply_default_recipients"],
            json!(false),
            "{tool}: {body}"
        );
        assert_eq!(body["identity_id"], json!(3), "{tool}: {body}");
        assert_eq!(body["to"], json!(["a@example.com"]), "{tool}: {body}");
        h.mock.reset().await;
        h.answer_json(200, json!({"data": {"id": 1}})).await;
    }
    // Without the policy the sender's defaults apply, as the API documents: the argument is not sent.
    let mut plain = opts();
    plain.extra.retain(|(k, _)| *k != "TREKMAIL_SEND_TO");
    let h = Harness::start(plain).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h.call(calls[0].0, calls[0].1.clone()).await;
    assert!(!is_error(&r), "{}", text(&r));
    let sent = h.requests().await;
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert!(body.get("apply_default_recipients").is_none(), "{body}");
}

#[tokio::test]
async fn a_call_that_mails_a_stored_address_is_refused_under_send_to() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h
        .call("resend_white_label_invitation", json!({"member_id": 4}))
        .await;
    let t = text(&r);
    assert!(is_error(&r), "{t}");
    assert!(
        t.contains("TREKMAIL_SEND_TO") && t.contains("stored address"),
        "{t}"
    );
    assert!(h.requests().await.is_empty());
    // Without the policy it goes through.
    let h = Harness::start(Opts {
        extra: vec![("TREKMAIL_HUMAN_CONFIRM", "never".into())],
        ..Opts::all_gates()
    })
    .await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h
        .call("resend_white_label_invitation", json!({"member_id": 4}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 1);
}

fn rate_opts(rate: &str) -> Opts {
    Opts {
        extra: vec![
            ("TREKMAIL_SEND_RATE", rate.into()),
            ("TREKMAIL_HUMAN_CONFIRM", "never".into()),
        ],
        ..Opts::all_gates()
    }
}

fn send(to: &[&str]) -> Value {
    json!({"to": to, "subject": "s", "body_text": "b", "confirm_send": true, "apply_default_recipients": false})
}

/// The times a refusal may name for a budget that frees `after` the calls made between
/// `before` and now, one a second.
fn frees_between(before: u64, after: u64) -> Vec<String> {
    let now = trekmail_mcp::call::state::now_ms();
    (before / 1000..=now / 1000 + 1)
        .map(|s| send_rate::utc(s * 1000 + after))
        .collect()
}

#[tokio::test]
async fn the_send_rate_counts_every_sending_path_and_refuses_past_it_saying_when_it_frees() {
    let h = Harness::start(rate_opts("6/h")).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let before = trekmail_mcp::call::state::now_ms();
    for (tool, args) in [
        // Two distinct recipients (the same one twice counts once).
        (
            "send_message",
            json!({"to": ["a@x.example"], "cc": ["b@x.example", "A@x.example"], "subject": "s", "body_text": "b", "confirm_send": true, "apply_default_recipients": false}),
        ),
        (
            "schedule_message",
            json!({"to": ["c@x.example"], "subject": "s", "body_text": "b", "scheduled_for": "2027-01-01T09:00:00Z", "confirm_send": true, "apply_default_recipients": false}),
        ),
        (
            "create_invite",
            json!({"domain_id": 1, "local_part": "bob", "recipient_email": "d@x.example"}),
        ),
        (
            "create_invites_bulk",
            json!({"domain_id": 1, "items": [{"local_part": "eve", "recipient_email": "e@x.example"}]}),
        ),
        (
            "invite_white_label_member",
            json!({"email": "f@x.example", "role": "client", "all_domains": true}),
        ),
        // Routes for later mail are not sends: never counted.
        (
            "set_forwarding",
            json!({"mailbox_id": 1, "enabled": true, "targets": ["g@x.example"]}),
        ),
        (
            "create_forwarding_address",
            json!({"domain_id": 1, "local_part": "info", "recipients": ["h@x.example"]}),
        ),
    ] {
        let r = h.call(tool, args).await;
        assert!(!is_error(&r), "{tool}: {}", text(&r));
    }
    let sent = h.requests().await.len();
    assert_eq!(sent, 7);
    // Six recipients counted: every further one is refused, whatever the path, nothing sent.
    for (tool, args) in [
        ("resend_white_label_invitation", json!({"member_id": 4})),
        ("send_message", send(&["i@x.example"])),
        (
            "create_invite",
            json!({"domain_id": 1, "local_part": "zed", "recipient_email": "j@x.example"}),
        ),
    ] {
        let r = h.call(tool, args).await;
        let t = text(&r);
        assert!(is_error(&r), "{tool}: {t}");
        assert!(
            t.contains("TREKMAIL_SEND_RATE: 6 recipients per hour")
                && t.contains("6 already counted")
                && t.contains("Nothing was sent"),
            "{tool}: {t}"
        );
        // The first call's recipients leave the window an hour after it.
        assert!(
            frees_between(before, 3_600_000).iter().any(|at| t
                .contains(&format!("frees enough at {at} (in 60 min)"))
                || t.contains(&format!("frees enough at {at} (in 59 min)"))),
            "{tool}: {t}"
        );
        assert_eq!(h.requests().await.len(), sent, "{tool}: sent");
    }
    // Reading is never counted.
    let r = h.call("get_domain", json!({"domain_id": 1})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(h.requests().await.len(), sent + 1);
}

#[tokio::test]
async fn a_call_the_api_turns_down_gives_its_recipients_back() {
    let h = Harness::start(rate_opts("2/d")).await;
    h.answer_json(
        422,
        json!({"error": {"code": "validation_failed", "message": "bad"}}),
    )
    .await;
    let r = h
        .call("send_message", send(&["a@x.example", "b@x.example"]))
        .await;
    assert!(is_error(&r) && !text(&r).contains("TREKMAIL_SEND_RATE"));
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h
        .call("send_message", send(&["a@x.example", "b@x.example"]))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let r = h.call("send_message", send(&["c@x.example"])).await;
    assert!(text(&r).contains("2 recipients per day"), "{}", text(&r));
    // A call larger than the whole budget can never go: it says so.
    let h = Harness::start(rate_opts("2/d")).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h
        .call(
            "send_message",
            send(&["a@x.example", "b@x.example", "c@x.example"]),
        )
        .await;
    assert!(
        is_error(&r) && text(&r).contains("more than the whole budget"),
        "{}",
        text(&r)
    );
    assert!(h.requests().await.is_empty());
}

/// The budget is the operator's: callers with their own tokens (HTTP caller mode) count into
/// one budget, not one each.
#[tokio::test]
async fn every_caller_counts_into_one_budget() {
    let h = Harness::start(Opts::default()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let config = |token: &str| {
        let mut o = rate_opts("1/h");
        o.extra.push(("TREKMAIL_MESSAGE_TOKEN", token.into()));
        support::config(&h.mock.uri(), &o).unwrap()
    };
    let (a, b) = (
        config(support::MSG_TOKEN),
        config("tm_msg_other_caller_token"),
    );
    let tokens = |c: &trekmail_mcp::Config| Tokens {
        ops: c.ops_token.clone(),
        message: c.message_token.clone(),
    };
    let (policy, _) = support::recording_policy();
    let shared = Shared::new(
        &a,
        trekmail_mcp::Catalog::embedded().unwrap(),
        policy,
        TokenSource::Request,
    )
    .unwrap();
    let args = send(&["a@x.example"]).as_object().cloned();
    let r = shared
        .server(&tokens(&a))
        .unwrap()
        .call("send_message", args.clone())
        .await
        .unwrap();
    assert!(!is_error(&r), "{}", text(&r));
    let r = shared
        .server(&tokens(&b))
        .unwrap()
        .call("send_message", args)
        .await
        .unwrap();
    assert!(text(&r).contains("TREKMAIL_SEND_RATE"), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 1);
}

/// With the policies set, the tools they hold for say so in their descriptions (derived from
/// the configuration and the map, nothing written per tool); every other tool is unchanged.
#[test]
fn descriptions_say_which_policies_hold() {
    let listed = |extra: Vec<(&'static str, String)>| {
        let (policy, _) = support::recording_policy();
        let opts = Opts {
            extra,
            ..Opts::all_gates()
        };
        Harness::server_for("https://trekmail.example", &opts, policy)
            .tools()
            .iter()
            .map(|t| {
                (
                    t.name.to_string(),
                    t.description.as_deref().unwrap_or_default().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let plain = listed(vec![]);
    let policed = listed(vec![
        (
            "TREKMAIL_SEND_TO",
            "Example.com, *.corp.example, boss@other.example".into(),
        ),
        ("TREKMAIL_SEND_RATE", "50/h".into()),
    ]);
    assert_eq!(plain.len(), policed.len());
    let mut changed = Vec::new();
    let mut added = 0;
    for ((name, before), (_, after)) in plain.iter().zip(&policed) {
        if before != after {
            assert!(after.starts_with(before.as_str()), "{name}: {after}");
            added += after.len() - before.len();
            changed.push(format!("{name}:{}", &after[before.len()..]));
        }
    }
    println!(
        "policy notes: {} tools, +{added} B of descriptions",
        changed.len()
    );
    insta::assert_snapshot!("policy_notes", changed.join("\n"));
    // A long list is not spelled out.
    let long: Vec<String> = (0..20).map(|i| format!("d{i}.example")).collect();
    let policed = listed(vec![("TREKMAIL_SEND_TO", long.join(","))]);
    let send = policed.iter().find(|(n, _)| n == "send_message").unwrap();
    assert!(
        send.1
            .contains(" Recipients only: the 20 entries the operator listed (TREKMAIL_SEND_TO)."),
        "{}",
        send.1
    );
}

/// The budget in a store that cannot answer: the call is refused, nothing sent (fail closed),
/// unless `TREKMAIL_STATE_REQUIRED=false`, which counts in the process's memory meanwhile.
#[tokio::test]
async fn a_store_that_cannot_count_refuses_unless_the_operator_allows_the_fallback() {
    let opts = |required: &str| {
        let mut o = rate_opts("1/h");
        o.extra.extend([
            // Nothing listens on port 1 of loopback: every command fails at once.
            ("TREKMAIL_STATE_URL", "redis://127.0.0.1:1".into()),
            ("TREKMAIL_STATE_REQUIRED", required.into()),
        ]);
        o
    };
    // A caller's own idempotency key needs no intent decision: only the rate asks the store.
    let keyed = |k: &str| {
        let mut a = send(&["a@x.example"]);
        a["idempotency_key"] = json!(k);
        a
    };
    let h = Harness::start(opts("true")).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h.call("send_message", keyed("k1")).await;
    let t = text(&r);
    assert!(
        is_error(&r) && t.contains("cannot be counted against TREKMAIL_SEND_RATE"),
        "{t}"
    );
    assert!(!t.contains("127.0.0.1"), "{t}");
    assert!(h.requests().await.is_empty());
    let h = Harness::start(opts("false")).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = h.call("send_message", keyed("k1")).await;
    assert!(!is_error(&r), "{}", text(&r));
    let r = h.call("send_message", keyed("k2")).await;
    assert!(text(&r).contains("1 already counted"), "{}", text(&r));
    assert_eq!(h.requests().await.len(), 1);
}

/// With the state store, replicas count into one budget (and a call the API turns down gives
/// its recipients back there). Runs against a real redis-server when the machine has one (CI
/// installs it for tests/scale); tests/scale/drive.py checks the same across three processes.
#[tokio::test]
async fn replicas_sharing_the_state_store_count_into_one_budget() {
    let Some(store) = support::redis().await else {
        eprintln!("redis-server is not installed: the shared send rate is not checked here");
        return;
    };
    let mut opts = rate_opts("3/h");
    opts.extra.push(("TREKMAIL_STATE_URL", store.url.clone()));
    let one = Harness::start(opts.clone()).await;
    let (policy, _) = support::recording_policy();
    let two = Harness::server_for(&one.mock.uri(), &opts, policy);
    let call = |server: &trekmail_mcp::TrekmailServer, to: &[&str]| {
        let args = send(to).as_object().cloned();
        let server = server.clone();
        async move { server.call("send_message", args).await.unwrap() }
    };
    one.answer_json(
        422,
        json!({"error": {"code": "validation_failed", "message": "bad"}}),
    )
    .await;
    let r = call(&one.server, &["a@x.example", "b@x.example"]).await;
    assert!(is_error(&r) && !text(&r).contains("TREKMAIL_SEND_RATE"));
    one.answer_json(200, json!({"data": {"id": 1}})).await;
    let r = call(&one.server, &["a@x.example", "b@x.example"]).await;
    assert!(!is_error(&r), "{}", text(&r));
    let r = call(&two, &["c@x.example"]).await;
    assert!(!is_error(&r), "{}", text(&r));
    for server in [&one.server, &two] {
        let r = call(server, &["d@x.example"]).await;
        let t = text(&r);
        assert!(
            t.contains("3 already counted") && t.contains("frees enough at"),
            "{t}"
        );
    }
    assert_eq!(one.requests().await.len(), 2);
}

/// An auto-reply mails whoever writes in, with text the agent chose: turning one on needs
/// `TREKMAIL_ALLOW_SENDING` (nothing sent without it); turning it off needs no switch and sends
/// the exact request.
#[tokio::test]
async fn turning_an_auto_reply_on_needs_the_sending_switch() {
    let h = Harness::start(Opts {
        sending: false,
        extra: vec![("TREKMAIL_HUMAN_CONFIRM", "never".into())],
        ..Opts::all_gates()
    })
    .await;
    h.answer_json(200, json!({"data": {"enabled": false}}))
        .await;
    let on = json!({"mailbox_id": 1, "enabled": true, "subject": "Away", "body": "secret"});
    let r = h.call("set_auto_reply", on).await;
    assert!(is_error(&r), "{}", text(&r));
    assert!(text(&r).contains("TREKMAIL_ALLOW_SENDING"), "{}", text(&r));
    assert!(h.requests().await.is_empty());
    let r = h
        .call("set_auto_reply", json!({"mailbox_id": 1, "enabled": false}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let sent = h.requests().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method.as_str(), "PUT");
    assert_eq!(sent[0].url.path(), "/api/v1/mailboxes/1/auto-reply");
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body, json!({"enabled": false, "skip_lists": true}));
}

/// Under `TREKMAIL_SEND_TO`, values that need the sending switch on a tool that names no
/// recipient (an auto-reply answers every sender; a token with `messages:send` sends anywhere)
/// are refused with nothing sent, like a Sieve `vacation`; turning the auto-reply off goes through.
#[tokio::test]
async fn send_to_refuses_an_auto_reply_and_a_sending_token() {
    let h = Harness::start(opts()).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    for (tool, args) in [
        (
            "set_auto_reply",
            json!({"mailbox_id": 1, "enabled": true, "subject": "Away", "body": "Back Monday"}),
        ),
        (
            "create_message_token",
            json!({"mailbox_id": 1, "name": "t", "scopes": ["messages:read", "messages:send"]}),
        ),
    ] {
        refused_unsent(&h, tool, args, "TREKMAIL_SEND_TO").await;
    }
    let r = h
        .call("set_auto_reply", json!({"mailbox_id": 1, "enabled": false}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let r = h
        .call(
            "create_message_token",
            json!({"mailbox_id": 1, "name": "t", "scopes": ["messages:read"]}),
        )
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let sent = h.requests().await;
    assert_eq!(sent.len(), 2);
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body, json!({"enabled": false, "skip_lists": true}));
    let body: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(body, json!({"name": "t", "scopes": ["messages:read"]}));
    // The descriptions say so up front.
    let tools = h.server.tools();
    for name in ["set_auto_reply", "create_message_token"] {
        let d = tools
            .iter()
            .find(|t| t.name == name)
            .and_then(|t| t.description.as_deref())
            .unwrap_or_default()
            .to_owned();
        assert!(
            d.ends_with(
                "What needs TREKMAIL_ALLOW_SENDING is refused while TREKMAIL_SEND_TO is set."
            ),
            "{name}: {d}"
        );
    }
}

/// Drafts-only closes the sending switch for every value that needs it, not only for the
/// sending tools it hides: each such call is refused naming `TREKMAIL_DRAFTS_ONLY` with nothing
/// sent, even with `TREKMAIL_ALLOW_SENDING` on; the other values go through.
#[tokio::test]
async fn drafts_only_refuses_every_value_that_needs_the_sending_switch() {
    let mut o = Opts::all_gates();
    o.extra.push(("TREKMAIL_DRAFTS_ONLY", "true".into()));
    o.extra.push(("TREKMAIL_HUMAN_CONFIRM", "never".into()));
    let h = Harness::start(o).await;
    h.answer_json(200, json!({"data": {"id": 1}})).await;
    let rule = |t: &str| json!({"mailbox_id": 1, "name": "r", "conditions": [{"field": "subject", "operator": "contains", "value": "x"}], "actions": [{"type": t, "value": "a@example.com"}]});
    let mut update = rule("redirect_copy");
    update["rule_id"] = json!(2);
    for (tool, args) in [
        (
            "set_forwarding",
            json!({"mailbox_id": 1, "enabled": true, "targets": ["a@example.com"]}),
        ),
        (
            "update_domain_catch_all",
            json!({"domain_id": 1, "enabled": true, "destination": "a@example.com"}),
        ),
        ("create_mail_rule", rule("redirect")),
        ("update_mail_rule", update),
        (
            "create_message_token",
            json!({"mailbox_id": 1, "name": "t", "scopes": ["messages:send"]}),
        ),
        (
            "set_auto_reply",
            json!({"mailbox_id": 1, "enabled": true, "subject": "Away", "body": "Back Monday"}),
        ),
    ] {
        refused_unsent(&h, tool, args, "TREKMAIL_DRAFTS_ONLY").await;
    }
    let r = h
        .call("set_auto_reply", json!({"mailbox_id": 1, "enabled": false}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let r = h
        .call("set_forwarding", json!({"mailbox_id": 1, "enabled": false}))
        .await;
    assert!(!is_error(&r), "{}", text(&r));
    let sent = h.requests().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].url.path(), "/api/v1/mailboxes/1/forwarding");
    let body: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(body, json!({"enabled": false, "keep_copy": true}));
}

/// `tool` called with `args` is refused naming `switch`, with nothing sent.
async fn refused_unsent(h: &Harness, tool: &str, args: Value, switch: &str) {
    let r = h.call(tool, args).await;
    assert!(is_error(&r), "{tool}: {}", text(&r));
    assert!(text(&r).contains(switch), "{tool}: {}", text(&r));
    assert!(h.requests().await.is_empty(), "{tool}: sent");
}
