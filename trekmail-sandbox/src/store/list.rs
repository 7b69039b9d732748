//! List answers as the document describes them. Every query parameter of a list operation
//! filters, orders or pages, by what its name says (the table below) and its documented default
//! ("Default 20", "default INBOX"); the order is newest first where the operation's description
//! says so; the envelope follows the answer's schema ([`ListShape`]).

use serde_json::{Map, Value, json};
use trekmail_api::model::Location;

use super::{Answer, NOW_UNIX, key};
use crate::spec::{ListShape, Operation};

/// What a query parameter does to a list.
#[derive(Clone, Copy)]
enum Role {
    /// Page number (1-based).
    Page,
    /// Page size.
    Size,
    /// Items to skip.
    Offset,
    /// An opaque cursor from the previous page's `next_cursor`.
    Cursor,
    /// Only items whose `uid` is lower (newest-first paging).
    BeforeUid,
    /// The field to sort by.
    Sort,
    /// `asc` or `desc`.
    Direction,
    /// A case-insensitive substring of any text of the item.
    Search,
    /// When true, only items whose field has this value.
    Only(&'static str, bool),
    /// Items whose field has this value are hidden unless the parameter is true.
    Include(&'static str, &'static str),
    /// Items whose first present field is at or after the value (ISO 8601 compares as text).
    From(&'static [&'static str]),
    /// Items whose first present field is at or before the value.
    Until(&'static [&'static str]),
    /// Items created within the last N days.
    Days,
    /// Chooses whose data is listed (a connected account), not a filter of the items.
    Selector,
    /// Items whose field of the same name equals the value; `all` keeps every item.
    Field,
}

/// Parameter names with a meaning beyond "a field of the same name".
const ROLES: &[(&str, Role)] = &[
    ("page", Role::Page),
    ("per_page", Role::Size),
    ("limit", Role::Size),
    ("offset", Role::Offset),
    ("cursor", Role::Cursor),
    ("before_uid", Role::BeforeUid),
    ("sort", Role::Sort),
    ("dir", Role::Direction),
    ("order", Role::Direction),
    ("search", Role::Search),
    ("q", Role::Search),
    ("unread_only", Role::Only("seen", false)),
    ("include_removed", Role::Include("status", "revoked")),
    ("since", Role::From(&["date", "created_at"])),
    ("start", Role::From(&["start_at", "date"])),
    ("end", Role::Until(&["start_at", "date"])),
    ("days", Role::Days),
    ("external_account_id", Role::Selector),
];

fn role(name: &str) -> Role {
    ROLES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(Role::Field, |(_, r)| *r)
}

/// The page of `items` that `query` asks for, in the operation's envelope.
pub(super) fn answer(op: &Operation, mut items: Vec<Value>, query: &Map<String, Value>) -> Answer {
    let query = with_defaults(op, query);
    for (name, want) in &query {
        filter(&mut items, role(name), name, want);
    }
    order(op, &mut items, &query);
    let (items, meta) = match page(op, items, &query) {
        Ok(p) => p,
        Err(a) => return a,
    };
    let body = match op.list_shape() {
        Some(ListShape::Inside(name)) => json!({"data": {name: items, "pagination": meta}}),
        _ => json!({"data": items, "meta": meta}),
    };
    Answer {
        status: 200,
        body,
        file: None,
    }
}

/// The query with each absent filter's documented default (`folder`: INBOX); what an
/// `include_…` parameter includes is left out unless asked for.
fn with_defaults(op: &Operation, query: &Map<String, Value>) -> Map<String, Value> {
    let mut q = query.clone();
    for p in &op.parameters {
        if p.location != Location::Query || q.contains_key(&p.name) {
            continue;
        }
        let default = match role(&p.name) {
            Role::Field => documented_default(op, &p.name),
            Role::Include(..) => Some(json!(false)),
            _ => None,
        };
        if let Some(v) = default {
            q.insert(p.name.clone(), v);
        }
    }
    q
}

/// A parameter's default: its schema's `default`, else "default X" in its description.
fn documented_default(op: &Operation, name: &str) -> Option<Value> {
    let p = op.parameter(Location::Query, name)?;
    if let Some(d) = p.schema.get("default") {
        return Some(d.clone());
    }
    let text = p.description.as_deref()?.to_lowercase();
    let at = text.find("default ")? + "default ".len();
    let word = p.description.as_deref()?[at..]
        .split_whitespace()
        .next()?
        .trim_end_matches([',', ';', '.', ')']);
    crate::spec::typed(&p.schema, word).ok()
}

fn filter(items: &mut Vec<Value>, role: Role, name: &str, want: &Value) {
    match role {
        Role::Search => {
            let q = key(want).to_lowercase();
            items.retain(|v| texts(v).iter().any(|t| t.to_lowercase().contains(&q)));
        }
        Role::Only(field, value) if want == &json!(true) => {
            items.retain(|v| v[field] == json!(value));
        }
        Role::Include(field, value) if want != &json!(true) => {
            items.retain(|v| v[field] != json!(value));
        }
        Role::From(fields) => items.retain(|v| first(v, fields).is_none_or(|x| x >= key(want))),
        Role::Until(fields) => items.retain(|v| first(v, fields).is_none_or(|x| x <= key(want))),
        Role::Days => {
            let cutoff = days_before(NOW_UNIX, want.as_i64().unwrap_or(0));
            items.retain(|v| first(v, &["created_at", "date"]).is_none_or(|x| x >= cutoff));
        }
        Role::Field if want == "all" => {}
        Role::Field => items.retain(|v| match (v.get(name), want) {
            (None, _) => false,
            (Some(x), Value::Array(any)) => any.iter().any(|w| key(w) == key(x)),
            (Some(x), w) => key(x) == key(w),
        }),
        _ => {}
    }
}

/// Every string inside an item.
fn texts(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().flat_map(texts).collect(),
        Value::Object(o) => o.values().flat_map(texts).collect(),
        _ => vec![],
    }
}

fn first(v: &Value, fields: &[&str]) -> Option<String> {
    fields
        .iter()
        .find_map(|f| v.get(*f).and_then(Value::as_str).map(str::to_owned))
}

/// `now` (Unix seconds) minus `days` (a negative count goes forward), as an ISO 8601 date.
fn days_before(now: u64, days: i64) -> String {
    let secs = now.saturating_add_signed(days.saturating_mul(86_400).saturating_neg());
    let mut date = trekmail_api::utc::utc_seconds(secs);
    date.truncate(10);
    date
}

/// By the `sort` field and direction when asked; newest first where the description says so.
fn order(op: &Operation, items: &mut [Value], query: &Map<String, Value>) {
    if let Some(field) = query.get("sort").and_then(Value::as_str) {
        items.sort_by(|a, b| compare(&a[field], &b[field]));
        let dir = query.get("dir").or(query.get("order"));
        if dir.and_then(Value::as_str) == Some("desc") {
            items.reverse();
        }
    } else if op.description.to_lowercase().contains("newest first") {
        items.sort_by(|a, b| compare(&recency(b), &recency(a)));
    }
}

fn recency(v: &Value) -> Value {
    ["uid", "id", "created_at"]
        .iter()
        .map(|f| v[*f].clone())
        .find(|x| x.is_number())
        .unwrap_or_else(|| v["created_at"].clone())
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => key(a).to_lowercase().cmp(&key(b).to_lowercase()),
    }
}

/// The page and its paging information, by the paging parameters the operation has.
fn page(
    op: &Operation,
    items: Vec<Value>,
    q: &Map<String, Value>,
) -> Result<(Vec<Value>, Value), Answer> {
    let has = |n: &str| op.parameter(Location::Query, n).is_some();
    let size_name = ["per_page", "limit"].into_iter().find(|n| has(n));
    let size = size_name.map(|n| {
        q.get(n)
            .or(documented_default(op, n).as_ref())
            .and_then(Value::as_u64)
            .unwrap_or(20)
            .max(1) as usize
    });
    let total = items.len();
    if has("before_uid") {
        let n = size.unwrap_or(20);
        let below = q.get("before_uid").and_then(Value::as_i64);
        let rest: Vec<Value> = items
            .into_iter()
            .filter(|v| below.is_none_or(|b| v["uid"].as_i64().is_some_and(|u| u < b)))
            .collect();
        let has_more = rest.len() > n;
        let shown: Vec<Value> = rest.into_iter().take(n).collect();
        let next = if has_more {
            shown.last().map(|v| v["uid"].clone())
        } else {
            None
        };
        return Ok((
            shown,
            json!({"has_more": has_more, "next_before_uid": next}),
        ));
    }
    if has("cursor") {
        let n = size.unwrap_or(20);
        let start = match q.get("cursor") {
            None => 0,
            Some(c) => cursor_offset(c).ok_or_else(|| {
                let mut d = Map::new();
                d.insert("cursor".into(), json!(["is not a cursor of this list"]));
                Answer::invalid(d)
            })?,
        };
        let shown: Vec<Value> = items.into_iter().skip(start).take(n).collect();
        let has_more = start + shown.len() < total;
        let next = has_more.then(|| format!("cur_{}", start + shown.len()));
        return Ok((
            shown,
            json!({"per_page": n, "has_more": has_more, "next_cursor": next}),
        ));
    }
    if has("offset") {
        let n = size.unwrap_or(20);
        let skip = q.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
        let shown: Vec<Value> = items.into_iter().skip(skip).take(n).collect();
        let has_more = skip + shown.len() < total;
        let meta = json!({"limit": n, "offset": skip, "total": total, "has_more": has_more});
        return Ok((shown, meta));
    }
    let n = size.unwrap_or(total.max(1));
    let p = q.get("page").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
    let shown: Vec<Value> = items.into_iter().skip((p - 1) * n).take(n).collect();
    let last_page = total.div_ceil(n).max(1);
    let name = size_name.unwrap_or("per_page");
    let meta = json!({"page": p, name: n, "total": total, "last_page": last_page, "has_more": p < last_page});
    Ok((shown, meta))
}

fn cursor_offset(c: &Value) -> Option<usize> {
    c.as_str()?.strip_prefix("cur_")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{NOW_UNIX, days_before};
    use crate::store::NOW;

    #[test]
    fn days_before_crosses_months_and_years() {
        assert_eq!(trekmail_api::utc::utc_seconds(NOW_UNIX), NOW);
        assert_eq!(days_before(NOW_UNIX, 0), "2026-01-15");
        assert_eq!(days_before(NOW_UNIX, 15), "2025-12-31");
        assert_eq!(days_before(1_709_251_200, 1), "2024-02-29");
        assert_eq!(days_before(NOW_UNIX, 90), "2025-10-17");
        assert_eq!(days_before(NOW_UNIX, -17), "2026-02-01");
        // Hostile counts have a bounded outcome.
        assert_eq!(days_before(NOW_UNIX, i64::MAX), "1970-01-01");
        assert!(days_before(NOW_UNIX, i64::MIN).len() >= 10);
    }
}
