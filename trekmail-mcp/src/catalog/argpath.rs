//! Paths that address argument values anywhere in a call, as `tools-map.toml` names them:
//! `host` (a top-level argument), `body.subject` (a field of an object), `to[]` (every item
//! of an array), `items[].password` (a field of every item), `headers.*` (every value of an
//! object). A path that meets a missing or differently-typed value addresses nothing there.

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Items,
    Values,
}

/// A parsed path, with the text it was read from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgPath {
    text: String,
    steps: Vec<Step>,
}

impl ArgPath {
    /// Parses `a.b[].c.*`; `Err` names what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut steps = Vec::new();
        for part in text.split('.') {
            let (name, items) = match part.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (part, false),
            };
            match name {
                "*" => steps.push(Step::Values),
                "" => return Err(format!("argument path {text:?} has an empty step")),
                n if n.contains(['[', ']', '*']) => {
                    return Err(format!("argument path {text:?}: bad step {part:?}"));
                }
                n => steps.push(Step::Field(n.to_owned())),
            }
            if items {
                steps.push(Step::Items);
            }
        }
        match steps.first() {
            Some(Step::Field(_)) => Ok(Self {
                text: text.to_owned(),
                steps,
            }),
            _ => Err(format!(
                "argument path {text:?} must start with an argument name"
            )),
        }
    }

    /// The path as `tools-map.toml` writes it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The last field the path names (`items[].password` → `password`, `to[]` → `to`).
    pub fn last_field(&self) -> &str {
        self.steps
            .iter()
            .rev()
            .find_map(|s| match s {
                Step::Field(f) => Some(f.as_str()),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The path below its first step (`data.token` → `token`), when that is a path too.
    pub fn below_root(&self) -> Option<Self> {
        let (_, rest) = self.text.split_once('.')?;
        match self.steps.get(1) {
            Some(Step::Field(_)) => Some(Self {
                text: rest.to_owned(),
                steps: self.steps[1..].to_vec(),
            }),
            _ => None,
        }
    }

    /// The top-level argument the path starts at.
    pub fn root(&self) -> &str {
        match self.steps.first() {
            Some(Step::Field(f)) => f,
            _ => "",
        }
    }

    /// Calls `f` with every value the path addresses and where it sits (`items[2].password`).
    pub fn visit<'a>(&self, args: &'a Map<String, Value>, f: &mut dyn FnMut(String, &'a Value)) {
        let Some(Step::Field(root)) = self.steps.first() else {
            return;
        };
        if let Some(v) = args.get(root) {
            walk(&self.steps[1..], v, root.clone(), f);
        }
    }

    /// Every value the path addresses, with where it sits.
    pub fn values<'a>(&self, args: &'a Map<String, Value>) -> Vec<(String, &'a Value)> {
        let mut out = Vec::new();
        self.visit(args, &mut |at, v| out.push((at, v)));
        out
    }

    /// Replaces every value the path addresses by `f(value)`.
    pub fn replace(&self, args: &mut Map<String, Value>, f: &mut dyn FnMut(&Value) -> Value) {
        let Some(Step::Field(root)) = self.steps.first() else {
            return;
        };
        if let Some(v) = args.get_mut(root) {
            walk_mut(&self.steps[1..], v, f);
        }
    }
}

impl std::fmt::Display for ArgPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn walk<'a>(steps: &[Step], v: &'a Value, at: String, f: &mut dyn FnMut(String, &'a Value)) {
    let Some((step, rest)) = steps.split_first() else {
        f(at, v);
        return;
    };
    match (step, v) {
        (Step::Field(name), Value::Object(m)) => {
            if let Some(child) = m.get(name) {
                walk(rest, child, format!("{at}.{name}"), f);
            }
        }
        (Step::Items, Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                walk(rest, item, format!("{at}[{i}]"), f);
            }
        }
        (Step::Values, Value::Object(m)) => {
            for (k, child) in m {
                walk(rest, child, format!("{at}.{k}"), f);
            }
        }
        _ => {}
    }
}

fn walk_mut(steps: &[Step], v: &mut Value, f: &mut dyn FnMut(&Value) -> Value) {
    let Some((step, rest)) = steps.split_first() else {
        *v = f(v);
        return;
    };
    match (step, v) {
        (Step::Field(name), Value::Object(m)) => {
            if let Some(child) = m.get_mut(name) {
                walk_mut(rest, child, f);
            }
        }
        (Step::Items, Value::Array(items)) => {
            for item in items {
                walk_mut(rest, item, f);
            }
        }
        (Step::Values, Value::Object(m)) => {
            for child in m.values_mut() {
                walk_mut(rest, child, f);
            }
        }
        _ => {}
    }
}

/// The cells of one CSV row. Quoted cells (`"a,b"`) are read as RFC 4180 says; callers that
/// guard a column check both this reading and a plain split on commas, so a receiver that
/// parses either way sees nothing the guard did not.
pub fn csv_cells(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// Both readings of a row's cell `col`, each trimmed, duplicates once.
pub fn csv_cell_readings(line: &str, col: usize) -> Vec<String> {
    let mut out = Vec::new();
    let quoted = csv_cells(line);
    if let Some(c) = quoted.get(col) {
        out.push(c.trim().to_owned());
    }
    if let Some(c) = line.split(',').nth(col) {
        let c = c.trim().to_owned();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The CSV text with the cells of `columns` shown as `(hidden)` (for showing rows to a person;
/// the cells of a row are joined again without quotes).
pub fn csv_hide_columns(text: &str, columns: &[usize]) -> String {
    text.lines()
        .map(|line| {
            let mut cells = csv_cells(line);
            for &c in columns {
                if let Some(cell) = cells.get_mut(c) {
                    *cell = "(hidden)".into();
                }
            }
            cells.join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(path: &str, args: Value) -> Vec<String> {
        let args = args.as_object().cloned().unwrap_or_default();
        ArgPath::parse(path)
            .map(|p| {
                p.values(&args)
                    .into_iter()
                    .map(|(at, v)| format!("{at}={v}"))
                    .collect()
            })
            .unwrap_or_else(|e| vec![e])
    }

    #[test]
    fn paths_reach_every_position() {
        let args = json!({"host": "a", "to": ["x", "y"], "items": [{"pw": 1}, {"other": 2}, {"pw": 3}],
            "headers": {"X-A": "1", "X-B": "2"}, "o": {"in": {"deep": true}}});
        assert_eq!(at("host", args.clone()), ["host=\"a\""]);
        assert_eq!(at("to[]", args.clone()), ["to[0]=\"x\"", "to[1]=\"y\""]);
        assert_eq!(
            at("items[].pw", args.clone()),
            ["items[0].pw=1", "items[2].pw=3"]
        );
        assert_eq!(
            at("headers.*", args.clone()),
            ["headers.X-A=\"1\"", "headers.X-B=\"2\""]
        );
        assert_eq!(at("o.in.deep", args.clone()), ["o.in.deep=true"]);
        // A path through the wrong type addresses nothing, it does not panic.
        assert!(at("host[]", args.clone()).is_empty());
        assert!(at("to.x", args.clone()).is_empty());
        assert!(at("missing[].x", args).is_empty());
    }

    #[test]
    fn a_path_keeps_its_text_and_names_its_last_field() {
        let p = |t: &str| ArgPath::parse(t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p("items[].password").as_str(), "items[].password");
        assert_eq!(p("items[].password").last_field(), "password");
        assert_eq!(p("password").last_field(), "password");
        assert_eq!(p("to[]").last_field(), "to");
        assert_eq!(p("headers.*").last_field(), "headers");
    }

    #[test]
    fn below_the_root_is_the_rest_of_the_path() {
        let p = |t: &str| ArgPath::parse(t).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p("data.token").below_root(), Some(p("token")));
        assert_eq!(p("data.items[].id").below_root(), Some(p("items[].id")));
        assert_eq!(p("data").below_root(), None);
        assert_eq!(p("data[].id").below_root(), None);
    }

    #[test]
    fn bad_paths_are_refused() {
        for bad in ["", ".a", "a..b", "[]", "*", "a[0]", "a]"] {
            assert!(ArgPath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn replace_touches_only_the_addressed_values() {
        let mut args = json!({"items": [{"pw": "s1", "n": 1}, {"pw": "s2"}], "pw": "top"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        ArgPath::parse("items[].pw")
            .unwrap_or_else(|e| panic!("{e}"))
            .replace(&mut args, &mut |_| json!("masked"));
        assert_eq!(
            Value::Object(args),
            json!({"items": [{"pw": "masked", "n": 1}, {"pw": "masked"}], "pw": "top"})
        );
    }

    #[test]
    fn hidden_columns_hide_quoted_cells_whole() {
        assert_eq!(
            csv_hide_columns("a@x.com,\"p,w\",b@y.com\nc@x.com,pw2,d@y.com", &[1]),
            "a@x.com,(hidden),b@y.com\nc@x.com,(hidden),d@y.com"
        );
    }

    #[test]
    fn csv_cells_read_quotes_and_both_readings_are_kept() {
        assert_eq!(csv_cells("a,\"b,c\",d"), ["a", "b,c", "d"]);
        assert_eq!(csv_cells("a,\"x\"\"y\""), ["a", "x\"y"]);
        assert_eq!(
            csv_cell_readings("a@x.com,\"p,w\",b@y.com,imap.x.com", 3),
            ["imap.x.com", "b@y.com"]
        );
    }
}
