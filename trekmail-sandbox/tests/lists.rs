//! Every list operation of the document honours its query parameters: the cases come from the
//! operations themselves (their paging and filter parameters and their descriptions), not from a
//! hand-written list. Paging walks the whole list one item at a time and must give back exactly
//! the unpaged list; each filter, applied with a value taken from the list, must give back exactly
//! the items an independent reading of the parameter selects.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde_json::{Value, json};
use trekmail_api::model::{Location, Method};
use trekmail_sandbox::Sandbox;
use trekmail_sandbox::spec::{ListShape, Operation};

/// Paging and ordering parameters: walked or set, not filters.
const PAGING: &[&str] = &[
    "page",
    "per_page",
    "limit",
    "offset",
    "cursor",
    "before_uid",
    "sort",
    "dir",
    "order",
];
/// Parameters that choose whose data is listed rather than filter it (the connected account, the
/// shared mailbox).
const SELECTORS: &[&str] = &["external_account_id", "shared_mailbox_id"];

/// Values for the required query parameters that select everything (a calendar's window).
fn base(op: &Operation) -> Vec<(String, String)> {
    let wide = |name: &str| match name {
        "end" | "until" => "2100-01-01T00:00:00Z",
        _ => "2000-01-01T00:00:00Z",
    };
    op.parameters
        .iter()
        .filter(|p| p.location == Location::Query && p.required)
        .map(|p| (p.name.clone(), wide(&p.name).to_owned()))
        .collect()
}

fn get(s: &Sandbox, op: &Operation, query: &[(String, String)]) -> (u16, Value) {
    let mut all = base(op);
    all.retain(|(k, _)| query.iter().all(|(q, _)| q != k));
    all.extend(query.iter().cloned());
    let query = &all;
    let path: String = op
        .path
        .split('/')
        .map(|seg| match (seg.find('{'), seg.find('}')) {
            (Some(a), Some(b)) => format!("{}1{}", &seg[..a], &seg[b + 1..]),
            _ => seg.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/");
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "%20")))
        .collect();
    let token = if op.token == trekmail_api::TokenKind::Ops {
        "tm_live_x"
    } else {
        "tm_msg_x"
    };
    let mut headers = BTreeMap::new();
    headers.insert("authorization".to_owned(), format!("Bearer {token}"));
    let (st, body, _) = s.respond(
        "GET",
        &format!("/api/v1{path}"),
        &q.join("&"),
        &headers,
        &[],
    );
    (st, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The items and the paging information of a list answer, by the operation's described shape.
fn split(op: &Operation, v: &Value) -> (Vec<Value>, Value) {
    match op.list_shape().unwrap() {
        ListShape::Data => (v["data"].as_array().unwrap().clone(), v["meta"].clone()),
        ListShape::Inside(name) => (
            v["data"][name.as_str()].as_array().unwrap().clone(),
            v["data"]["pagination"].clone(),
        ),
    }
}

fn has(op: &Operation, name: &str) -> bool {
    op.parameter(Location::Query, name).is_some()
}

fn lists(s: &Sandbox) -> Vec<Operation> {
    s.spec()
        .operations
        .iter()
        .filter(|o| o.method == Method::Get && o.list_shape().is_some())
        .cloned()
        .collect()
}

/// The whole list: one call with the largest page the document allows.
fn everything(s: &Sandbox, op: &Operation) -> Vec<Value> {
    let mut q = vec![];
    for n in ["per_page", "limit"] {
        if let Some(p) = op.parameter(Location::Query, n) {
            let max = p.schema["maximum"].as_u64().unwrap_or(100);
            q.push((n.to_owned(), max.to_string()));
        }
    }
    let (st, v) = get(s, op, &q);
    assert_eq!(st, 200, "{}: {v}", op.id);
    let (items, meta) = split(op, &v);
    assert_ne!(
        meta["has_more"], true,
        "{}: more than one page: {meta}",
        op.id
    );
    items
}

/// The list one item per page, following the operation's own cursor.
fn walk(s: &Sandbox, op: &Operation) -> Vec<Value> {
    let size = ["per_page", "limit"]
        .into_iter()
        .find(|n| has(op, n))
        .unwrap();
    let mut out = vec![];
    let mut next: Vec<(String, String)> = vec![];
    for round in 1..=100 {
        let mut q = vec![(size.to_owned(), "1".to_owned())];
        q.extend(next.clone());
        let (st, v) = get(s, op, &q);
        assert_eq!(st, 200, "{} page {round}: {v}", op.id);
        let (items, meta) = split(op, &v);
        assert!(items.len() <= 1, "{}: page size 1 gave {items:?}", op.id);
        out.extend(items);
        if meta["has_more"] != true {
            return out;
        }
        next = if has(op, "before_uid") {
            vec![("before_uid".into(), meta["next_before_uid"].to_string())]
        } else if has(op, "cursor") {
            vec![(
                "cursor".into(),
                meta["next_cursor"].as_str().unwrap().to_owned(),
            )]
        } else if has(op, "offset") {
            vec![("offset".into(), round.to_string())]
        } else if has(op, "page") {
            vec![("page".into(), (round + 1).to_string())]
        } else {
            // A size without a cursor (the document gives no way on): the first page only.
            return out;
        };
    }
    panic!("{}: no end after 100 pages", op.id)
}

#[test]
fn every_list_pages_through_exactly_its_items() {
    let s = Sandbox::new().unwrap();
    let mut paged = vec![];
    for op in lists(&s) {
        let all = everything(&s, &op);
        assert!(
            all.len() >= 2,
            "{}: seed at least two items: {all:?}",
            op.id
        );
        if op.description.to_lowercase().contains("newest first") {
            let keys: Vec<i64> = all
                .iter()
                .map(|v| v["uid"].as_i64().or(v["id"].as_i64()).unwrap())
                .collect();
            assert!(keys.windows(2).all(|w| w[0] >= w[1]), "{}: {keys:?}", op.id);
        }
        if ["per_page", "limit"].iter().any(|n| has(&op, n)) {
            let walked = walk(&s, &op);
            let whole = ["page", "offset", "cursor", "before_uid"]
                .iter()
                .any(|n| has(&op, n));
            let want = if whole { &all[..] } else { &all[..1] };
            assert_eq!(walked, want, "{}: paging one by one", op.id);
            paged.push(op.id.clone());
        }
    }
    eprintln!("paged one item at a time: {paged:?}");
    assert!(paged.len() >= 10, "{paged:?}");
}

/// What an independent reading of `name=want` keeps of `all`.
fn expected(name: &str, want: &Value, all: &[Value]) -> Vec<Value> {
    let text = |v: &Value| v.to_string().to_lowercase();
    all.iter()
        .filter(|v| match name {
            "search" | "q" => {
                let w = want.as_str().unwrap().to_lowercase();
                v.as_object()
                    .unwrap()
                    .values()
                    .any(|x| text(x).contains(&w))
            }
            "unread_only" => v["seen"] == false,
            "since" | "start" => {
                v["date"].as_str().or(v["start_at"].as_str()).unwrap() >= want.as_str().unwrap()
            }
            "end" => v["start_at"].as_str().unwrap() <= want.as_str().unwrap(),
            "days" => v["created_at"].as_str().unwrap() >= "2025-12-16",
            _ => v.get(name) == Some(want),
        })
        .cloned()
        .collect()
}

/// A value of `name` that selects some but not all of `all`, where the list allows one.
fn pick(op: &Operation, name: &str, all: &[Value]) -> Option<Value> {
    let schema = &op.parameter(Location::Query, name)?.schema;
    match name {
        "search" | "q" => {
            let v = &all[0];
            let word = ["subject", "name", "email", "group_name", "title", "message"]
                .iter()
                .find_map(|f| v[*f].as_str())?;
            Some(json!(word.split_whitespace().next()?))
        }
        "unread_only" => Some(json!(true)),
        // 30 days before the sandbox's today (2026-01-15): 2025-12-16.
        "days" => Some(json!(30)),
        "since" | "start" | "end" => {
            let mut dates: Vec<&str> = all
                .iter()
                .filter_map(|v| v["date"].as_str().or(v["start_at"].as_str()))
                .collect();
            dates.sort_unstable();
            Some(json!(dates.last()?))
        }
        _ => {
            let allowed = |v: &&Value| schema["enum"].as_array().is_none_or(|e| e.contains(v));
            let values: Vec<&Value> = all
                .iter()
                .filter_map(|v| v.get(name))
                .filter(allowed)
                .collect();
            let rare = values
                .iter()
                .min_by_key(|x| values.iter().filter(|y| y == x).count())?;
            (schema["type"] != "array").then(|| (*rare).clone())
        }
    }
}

#[test]
fn every_filter_of_every_list_selects_what_it_says() {
    let s = Sandbox::new().unwrap();
    let mut checked = vec![];
    for op in lists(&s) {
        let all = everything(&s, &op);
        for p in op
            .parameters
            .iter()
            .filter(|p| p.location == Location::Query)
        {
            let name = p.name.as_str();
            if PAGING.contains(&name) || SELECTORS.contains(&name) || name == "folder" {
                continue;
            }
            if name == "include_removed" {
                // Removed items are hidden by default and listed on request.
                let (_, v) = get(&s, &op, &[("include_removed".into(), "true".into())]);
                let (got, _) = split(&op, &v);
                let extra: Vec<&Value> = got.iter().filter(|x| !all.contains(x)).collect();
                assert!(
                    !extra.is_empty() && extra.iter().all(|x| x["status"] == "revoked"),
                    "{}: {extra:?}",
                    op.id
                );
                checked.push(format!("{}.{name}", op.id));
                continue;
            }
            let want = pick(&op, name, &all)
                .unwrap_or_else(|| panic!("{}: no item to filter by {name}: {all:?}", op.id));
            let raw = want
                .as_str()
                .map_or_else(|| want.to_string(), str::to_owned);
            let mut q = vec![(name.to_owned(), raw)];
            for n in ["per_page", "limit"] {
                if let Some(p) = op.parameter(Location::Query, n) {
                    q.push((
                        n.to_owned(),
                        p.schema["maximum"].as_u64().unwrap_or(100).to_string(),
                    ));
                }
            }
            let (st, v) = get(&s, &op, &q);
            assert_eq!(st, 200, "{} {name}={want}: {v}", op.id);
            let (got, _) = split(&op, &v);
            let exp = expected(name, &want, &all);
            assert_eq!(got, exp, "{} {name}={want}", op.id);
            assert!(!got.is_empty(), "{} {name}={want}: selects nothing", op.id);
            checked.push(format!("{}.{name}", op.id));
        }
    }
    eprintln!("filters checked: {checked:?}");
    assert!(checked.len() >= 12, "{checked:?}");
}

#[test]
fn a_folder_lists_newest_first_paged_by_before_uid() {
    let s = Sandbox::new().unwrap();
    let op = s.spec().get("list_messages").unwrap().clone();
    let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    // INBOX by default, as the parameter documents.
    let (_, v) = get(&s, &op, &q(&[("limit", "2")]));
    let uids: Vec<i64> = v["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["uid"].as_i64().unwrap())
        .collect();
    assert_eq!(uids, [1005, 1004]);
    assert_eq!(
        v["data"]["pagination"],
        json!({"has_more": true, "next_before_uid": 1004})
    );
    let (_, v) = get(&s, &op, &q(&[("limit", "2"), ("before_uid", "1002")]));
    assert_eq!(v["data"]["messages"][0]["uid"], 1001);
    assert_eq!(
        v["data"]["pagination"],
        json!({"has_more": false, "next_before_uid": null})
    );
    let (_, v) = get(&s, &op, &q(&[("unread_only", "true")]));
    assert_eq!(v["data"]["messages"].as_array().unwrap().len(), 4, "{v}");
    let (_, v) = get(&s, &op, &q(&[("folder", "Sent")]));
    assert_eq!(v["data"]["messages"], json!([]));
    // A cursor that this list did not hand out is refused, not read as the first page.
    let sched = s.spec().get("list_scheduled").unwrap().clone();
    let (st, v) = get(&s, &sched, &q(&[("cursor", "bogus")]));
    assert_eq!(
        (st, v["error"]["details"]["cursor"].is_array()),
        (422, true),
        "{v}"
    );
}

#[test]
fn scheduled_messages_list_pending_unless_status_says_otherwise() {
    // list_scheduled's `status` (the newer facts: pending|limit_reached|all, pending by default).
    let s = Sandbox::new().unwrap();
    let op = s.spec().get("list_scheduled").unwrap().clone();
    let ids = |status: Option<&str>| -> Vec<(i64, String)> {
        let q: Vec<(String, String)> = status
            .map(|v| ("status".to_owned(), v.to_owned()))
            .into_iter()
            .collect();
        let (st, v) = get(&s, &op, &q);
        assert_eq!(st, 200, "{v}");
        split(&op, &v)
            .0
            .iter()
            .map(|m| {
                (
                    m["id"].as_i64().unwrap(),
                    m["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pending = ids(None);
    assert!(!pending.is_empty() && pending.iter().all(|(_, st)| st == "pending"));
    assert_eq!(ids(Some("pending")), pending);
    let held = ids(Some("limit_reached"));
    assert!(!held.is_empty() && held.iter().all(|(_, st)| st == "limit_reached"));
    assert_eq!(ids(Some("all")).len(), pending.len() + held.len());
    let (st, v) = get(&s, &op, &[("status".into(), "sent".into())]);
    assert_eq!(
        (st, v["error"]["details"]["status"].is_array()),
        (422, true),
        "{v}"
    );
}

#[test]
fn a_message_reads_with_the_names_of_the_product_description() {
    let s = Sandbox::new().unwrap();
    let mut headers = BTreeMap::new();
    headers.insert("authorization".to_owned(), "Bearer tm_msg_x".to_owned());
    let (st, body, _) = s.respond("GET", "/api/v1/messages/1002", "", &headers, &[]);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(st, 200);
    for field in ["from", "subject", "body_text", "body_html", "attachments"] {
        assert!(v["data"].get(field).is_some(), "{field}: {v}");
    }
    assert!(v["data"].get("text").is_none(), "{v}");
    assert_eq!(v["data"]["body_text"], "See the attached picture.");
}
