//! Argument checks before any HTTP call: the input schema, the map's `checks`, path values,
//! outbound hosts, email addresses and header-bound text, wherever they sit. Every problem
//! names its argument.

use serde_json::{Map, Value};

use crate::catalog::ToolDef;
use crate::catalog::argpath::{self, ArgPath};
use crate::catalog::hostguard;
use crate::catalog::map::{Check, truthy};
use crate::catalog::schema::Target;
use crate::catalog::validate;
use trekmail_api::email::is_email;

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// `a, b or c`.
fn alternatives(names: &[String]) -> String {
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// The field names of a tool's secret arguments (`items[].password` → `password`).
fn secret_fields(def: &ToolDef) -> Vec<&str> {
    def.paths()
        .secret_args
        .iter()
        .map(ArgPath::last_field)
        .collect()
}

/// Every value at a map path.
fn at<'a>(path: &ArgPath, args: &'a Map<String, Value>) -> Vec<(String, &'a Value)> {
    path.values(args)
}

/// Problems with the arguments (schema, checks, path values, hosts, addresses, header-bound
/// text); empty when the call may go on.
pub fn problems(def: &ToolDef, args: &Map<String, Value>) -> Vec<String> {
    let confirm_missing = def.entry.confirm.as_ref().map(|c| format!("{c}: required"));
    let mut problems: Vec<String> = validate::validate(
        def.input_schema(),
        args,
        def.patterns(),
        &secret_fields(def),
    )
    .into_iter()
    // A missing confirmation is reported after the gates, in its own words.
    .filter(|p| Some(p) != confirm_missing.as_ref())
    .collect();
    for c in &def.entry.checks {
        match c {
            Check::RequireAny { args: names } => {
                if !names.iter().any(|n| non_empty(args.get(n))) {
                    problems.push(format!(
                        "{}: give at least one of these, not empty",
                        names.join(" or ")
                    ));
                }
            }
            Check::ExactlyOne { args: names } => {
                let given: Vec<&str> = names
                    .iter()
                    .filter(|n| args.get(*n).is_some_and(truthy))
                    .map(String::as_str)
                    .collect();
                if given.len() != 1 {
                    let got = if given.is_empty() {
                        "none".to_owned()
                    } else {
                        given.join(" and ")
                    };
                    problems.push(format!(
                        "{}: give exactly one of these, got {got}",
                        alternatives(names)
                    ));
                }
            }
            Check::MaxTotalItems { args: names, max } => {
                let total: usize = names
                    .iter()
                    .filter_map(|n| args.get(n)?.as_array().map(Vec::len))
                    .sum();
                if total > *max {
                    problems.push(format!(
                        "{}: at most {max} together, got {total}",
                        names.join(" + ")
                    ));
                }
            }
            Check::RequiredWhen {
                arg,
                equals,
                requires,
            } => {
                if args.get(arg) == Some(equals) && !non_empty(args.get(requires)) {
                    problems.push(format!("{requires}: required when {arg} is {equals}"));
                }
            }
        }
    }
    path_values(def, args, &mut problems);
    hosts(def, args, &mut problems);
    emails(def, args, &mut problems);
    headers(def, args, &mut problems);
    problems
}

/// A path value is one segment: `.`, `..` and control characters would change the endpoint.
fn path_values(def: &ToolDef, args: &Map<String, Value>, out: &mut Vec<String>) {
    for a in &def.shape().args {
        if !matches!(a.target, Target::Path(_)) {
            continue;
        }
        let Some(Value::String(s)) = args.get(&a.name) else {
            continue;
        };
        if s == "." || s == ".." {
            out.push(format!(
                "{}: {s:?} cannot be a path value (it would name another endpoint)",
                a.name
            ));
        } else if s.chars().any(char::is_control) {
            out.push(format!(
                "{}: control characters are not allowed in a path value",
                a.name
            ));
        }
    }
}

fn host_problem(at: &str, host: &str) -> Option<String> {
    let why = if host.trim().is_empty() {
        "the host is blank".to_owned()
    } else {
        hostguard::refusal(host)?
    };
    Some(format!(
        "{at}: Cannot connect to private/internal network addresses ({why})."
    ))
}

fn hosts(def: &ToolDef, args: &Map<String, Value>, out: &mut Vec<String>) {
    for path in &def.paths().public_host_args {
        for (at, v) in at(path, args) {
            if let Value::String(host) = v {
                out.extend(host_problem(&at, host));
            }
        }
    }
    for csv in &def.entry.csv_columns {
        if csv.host.is_empty()
            || csv
                .host_when
                .as_ref()
                .is_some_and(|w| !args.get(w).is_some_and(truthy))
        {
            continue;
        }
        let Some(Value::String(text)) = args.get(&csv.arg) else {
            continue;
        };
        // A lone CR ends a row for some CSV readers: split on it too, so no row hides in a cell.
        let rows = text.split(['\n', '\r']).filter(|l| !l.trim().is_empty());
        for (row, line) in rows.enumerate() {
            for &col in &csv.host {
                let readings = argpath::csv_cell_readings(line, col);
                let at = format!("{} row {}, column {}", csv.arg, row + 1, col + 1);
                if readings.is_empty() {
                    out.extend(host_problem(&at, ""));
                }
                // Checked as a quoting CSV reader and as a plain comma split would read it.
                for r in readings {
                    if let Some(p) = host_problem(&at, &r) {
                        out.push(p);
                        break;
                    }
                }
            }
        }
    }
}

fn emails(def: &ToolDef, args: &Map<String, Value>, out: &mut Vec<String>) {
    let bad = |at: &str| {
        format!(
            "{at}: must be exactly one plain email address (no lists, display names or address literals)"
        )
    };
    for path in &def.paths().email_args {
        for (at, v) in at(path, args) {
            if let Value::String(s) = v
                && !is_email(s)
            {
                out.push(bad(&at));
            }
        }
    }
    for (w, each) in def.entry.email_when.iter().zip(&def.paths().email_when) {
        for (at, item) in at(each, args) {
            let Value::Object(m) = item else { continue };
            if m.get(&w.when).is_some_and(|v| w.one_of.contains(v))
                && let Some(Value::String(s)) = m.get(&w.field)
                && !is_email(s)
            {
                out.push(bad(&format!("{at}.{}", w.field)));
            }
        }
    }
}

/// RFC 7230 `token`: what a header name may be.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

fn headers(def: &ToolDef, args: &Map<String, Value>, out: &mut Vec<String>) {
    for path in &def.paths().header_args {
        for (at, v) in at(path, args) {
            if let Value::String(s) = v
                && s.contains(['\r', '\n', '\0'])
            {
                out.push(format!(
                    "{at}: CR, LF and NUL are not allowed (the value goes into a mail header)"
                ));
            }
        }
    }
    for path in &def.paths().header_name_args {
        for (at, v) in at(path, args) {
            let Value::Object(m) = v else { continue };
            for name in m.keys().filter(|k| !is_token(k)) {
                out.push(format!(
                    "{at}: {:?} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)",
                    name.chars().take(60).collect::<String>()
                ));
            }
        }
    }
}
