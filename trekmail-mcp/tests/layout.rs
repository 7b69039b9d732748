//! The crate's layout (docs/maintaining.md, "Layout"): four floors read top to bottom, each
//! importing only from the floors before it. This test reads every module's `crate::…` paths
//! (`use` lines and paths written inline) and fails on one that names a later floor, and on a
//! module that sits in no floor.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The floors, bottom first: a module may name its own floor and the ones before it.
const FLOORS: [&str; 4] = ["catalog", "call", "serve", "config"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules that `text` names through `crate::` (`crate::call::…`, and each
/// branch of `crate::{call::…, catalog::…}`), with their line numbers; comments are skipped.
fn named_floors(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    // Lines joined so that a `use crate::{…}` group spread over lines reads as one.
    let mut code = String::new();
    let mut line_of = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for _ in 0..=line.len() {
            line_of.push(n + 1);
        }
        code.push_str(line);
        code.push('\n');
    }
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut at = 0;
    while let Some(i) = code[at..].find("crate::") {
        let start = at + i + "crate::".len();
        at = start;
        // `$crate::` and `trekmail_crate::` are not this crate's paths.
        let before = code[..start - "crate::".len()].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[start..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut branch_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => branch_start = true,
                    c if c.is_whitespace() => {}
                    _ if branch_start => {
                        branch_start = false;
                        out.push((line_of[start + 1 + j], ident(&group[j..])));
                    }
                    _ => {}
                }
            }
        } else {
            out.push((line_of[start], ident(rest)));
        }
    }
    out
}

/// What is wrong with `text`, a module of floor `floor`: each path to a later floor.
fn violations(floor: &str, text: &str) -> Vec<String> {
    let rank = |f: &str| FLOORS.iter().position(|x| *x == f);
    let Some(own) = rank(floor) else {
        return vec![format!("{floor} is not a floor")];
    };
    named_floors(text)
        .into_iter()
        .filter_map(|(line, named)| match rank(&named) {
            Some(r) if r > own => Some(format!(
                "line {line}: imports from `{named}`, a later floor than `{floor}`"
            )),
            Some(_) => None,
            None => Some(format!(
                "line {line}: names `crate::{named}`, which is no floor"
            )),
        })
        .collect()
}

#[test]
fn every_module_sits_in_a_floor() {
    let mut stray = Vec::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let fine = if path.is_dir() {
            FLOORS.contains(&name.as_str())
        } else {
            name == "lib.rs" || name == "main.rs"
        };
        if !fine {
            stray.push(name);
        }
    }
    assert!(
        stray.is_empty(),
        "src/ holds lib.rs, main.rs and the floors {FLOORS:?} only; move these into a floor: {stray:?}"
    );
}

#[test]
fn no_floor_imports_from_a_later_one() {
    let mut problems = Vec::new();
    let mut modules = 0;
    for floor in FLOORS {
        let mut files = Vec::new();
        rust_files(&src().join(floor), &mut files);
        files.sort();
        for f in files {
            modules += 1;
            let text = std::fs::read_to_string(&f).unwrap();
            for p in violations(floor, &text) {
                problems.push(format!("{}: {p}", f.display()));
            }
        }
    }
    println!("{modules} modules in {} floors", FLOORS.len());
    assert!(modules > FLOORS.len(), "the floors hold modules");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_check_sees_upward_paths_in_every_form() {
    let upward =
        "use crate::catalog::ToolDef;\nuse crate::{\n    call::gates,\n    serve::Config,\n};\n";
    assert_eq!(
        violations("call", upward),
        ["line 4: imports from `serve`, a later floor than `call`"]
    );
    let inline = "fn f() { let _ = crate::config::VARIABLES; }";
    assert_eq!(violations("serve", inline).len(), 1);
    assert_eq!(violations("config", inline), Vec::<String>::new());
    // Comments and other crates' paths are not imports.
    let quiet = "// use crate::config::Config;\nuse trekmail_crate::config;\nmacro_rules! m { () => { $crate::config } }\n";
    assert_eq!(violations("catalog", quiet), Vec::<String>::new());
    assert_eq!(violations("catalog", "use crate::server::X;").len(), 1);
}

/// docs/maintaining.md lists every module with one line: a new module is described where a
/// newcomer looks, and a moved one is not left behind.
#[test]
fn the_layout_page_lists_every_module() {
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/maintaining.md"),
    )
    .unwrap();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut missing = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !page.contains(&format!("| `{rel}` |")) {
            missing.push(rel);
        }
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "docs/maintaining.md (Layout) has no line for: {missing:?}"
    );
}

#[test]
fn each_helper_is_written_once() {
    // One truncation (catalog/truncate.rs): a second copy of its loop is a second rule that can
    // drift. Test modules may do as they like.
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        if !f.ends_with("catalog/truncate.rs") {
            assert!(
                !code.contains("char_indices().nth("),
                "{}: cut text with catalog::truncate::cut",
                f.display()
            );
        }
    }
}

#[test]
fn cargo_finds_every_test_file_itself() {
    // Cargo finds tests/*.rs by itself; hand-written `[[test]]` entries (with `autotests`
    // off) are how a new file gets silently skipped. A feature gate goes in the file (`#![cfg]`).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for krate in [
        "trekmail-mcp",
        "trekmail-api",
        "trekmail-sandbox",
        "trekmail-spec",
        "xtask",
    ] {
        let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml")).unwrap();
        assert!(!manifest.contains("[[test]]"), "{krate}/Cargo.toml");
        assert!(!manifest.contains("autotests"), "{krate}/Cargo.toml");
    }
}
