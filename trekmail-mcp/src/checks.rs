//! Argument checks before any HTTP call: the input schema, the map's `checks` and the
//! outbound-host guard. Every problem names its argument.

use serde_json::{Map, Value};

use crate::catalog::{Catalog, ToolDef};
use crate::hostguard;
use crate::map::Check;
use crate::validate;

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

/// The field names of a tool's secret arguments (`items[].password` → `password`).
fn secret_fields(def: &ToolDef) -> Vec<&str> {
    def.entry
        .idempotency
        .secret_args
        .iter()
        .map(|s| s.rsplit("[].").next().unwrap_or(s))
        .collect()
}

/// Problems with the arguments: schema, checks and outbound hosts; empty when the call may go on.
pub fn problems(catalog: &Catalog, def: &ToolDef, args: &Map<String, Value>) -> Vec<String> {
    let confirm_missing = def.entry.confirm.as_ref().map(|c| format!("{c}: required"));
    let mut problems: Vec<String> = validate::validate(
        &def.input_schema,
        args,
        &catalog.patterns,
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
    for name in &def.entry.public_host_args {
        if let Some(Value::String(host)) = args.get(name) {
            if host.trim().is_empty() {
                continue;
            }
            if let Some(why) = hostguard::refusal(host) {
                problems.push(format!(
                    "{name}: Cannot connect to private/internal network addresses ({why})."
                ));
            }
        }
    }
    problems
}
