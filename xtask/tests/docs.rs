//! The documents' derived sections: the tool counts and tables and the environment-variable table
//! are regenerated from their sources, and a stale section is found (`cargo xtask generate
//! --check` fails on it).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use trekmail_mcp::Catalog;
use trekmail_mcp::config::{self, cli};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn checked_in(file: &str) -> String {
    std::fs::read_to_string(root().join(file)).unwrap()
}

fn catalog() -> Catalog {
    Catalog::embedded().unwrap()
}

/// The regenerated text of `file` when the checked-in files are read through `edit`.
fn regenerated(file: &str, edit: impl Fn(&str, String) -> String) -> Result<String, String> {
    let docs = xtask::derived_docs(&catalog(), |f| edit(f, checked_in(f)))?;
    Ok(docs.into_iter().find(|(f, _)| *f == file).unwrap().1)
}

#[test]
fn the_derived_sections_of_the_documents_are_current() {
    let docs = xtask::derived_docs(&catalog(), checked_in).unwrap();
    let files: Vec<&str> = docs.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        files,
        [
            xtask::README,
            xtask::TOOLS_DOC,
            xtask::CONFIG_DOC,
            xtask::RUST_DOC
        ]
    );
    for (file, text) in docs {
        assert!(
            text == checked_in(file),
            "{file} is stale; run `cargo xtask generate`"
        );
    }
}

#[test]
fn every_flag_is_a_row_with_its_variable_and_default() {
    let table = xtask::env_table();
    let flags = cli::flags();
    // A header, a rule, one row per flag bound to a variable.
    assert_eq!(table.lines().count(), 2 + flags.len());
    for (flag, var) in &flags {
        assert!(
            table.contains(&format!("| `{var}` | `{flag}` |")),
            "{var} {flag}:\n{table}"
        );
    }
    // The default comes from the help and leaves the meaning.
    assert!(
        table.contains("| `TREKMAIL_TIMEOUT_MS` | `--timeout-ms` | `30000` | Deadline of a whole call, retries included, 1 to 600000 ms |"),
        "{table}"
    );
    assert!(
        table.contains("| `TREKMAIL_TOOLS` | `--tools` |  | "),
        "{table}"
    );
    // A word default comes from its declaration (config::limits), as the parser reads it.
    assert!(
        table.contains(&format!(
            "| `TREKMAIL_USER_AGENT` | `--user-agent` | `{}` |",
            trekmail_mcp::config::limits::USER_AGENT.default
        )),
        "{table}"
    );
    // Text that Markdown would read as markup stays text.
    assert!(
        table.contains(r"accepted, comma-separated, or \* |"),
        "{table}"
    );
}

#[test]
fn the_variables_without_a_flag_are_described_by_hand() {
    let page = checked_in(xtask::CONFIG_DOC);
    let table = xtask::env_table();
    for var in cli::ENV_ONLY {
        assert!(
            !table.contains(&format!("| `{var}` |")),
            "{var} has no flag"
        );
        assert!(
            page.contains(&format!("| `{var}` |")),
            "{} does not describe {var}",
            xtask::CONFIG_DOC
        );
    }
    // With the generated rows, every variable the server reads is on the page.
    for var in config::VARIABLES {
        assert!(page.contains(&format!("`{var}`")), "{var}");
    }
}

#[test]
fn a_stale_section_is_rewritten_and_missing_markers_are_named() {
    let stale = |f: &str, text: String| {
        if f == xtask::CONFIG_DOC {
            text.replace("| `30000` |", "| `20000` |")
        } else if f == xtask::README {
            text.replace("**272 tools**", "**271 tools**")
        } else {
            text
        }
    };
    for file in [xtask::CONFIG_DOC, xtask::README] {
        let edited = stale(file, checked_in(file));
        assert_ne!(edited, checked_in(file), "the edit must change {file}");
        assert_eq!(regenerated(file, stale).unwrap(), checked_in(file));
    }
    let unmarked = |f: &str, text: String| {
        if f == xtask::TOOLS_DOC {
            text.replace("<!-- tools-table:end -->", "")
        } else {
            text
        }
    };
    assert_eq!(
        regenerated(xtask::TOOLS_DOC, unmarked).unwrap_err(),
        "docs/tools.md: the tools-table markers are missing"
    );
}

#[test]
fn the_toolset_summary_adds_up_to_the_counts() {
    let catalog = catalog();
    let summary = xtask::toolsets_summary(&catalog);
    let rows: Vec<Vec<&str>> = summary
        .lines()
        .skip(2)
        .map(|l| l.split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), catalog.toolsets().len());
    let total: usize = rows.iter().map(|r| r[2].parse::<usize>().unwrap()).sum();
    assert_eq!(total, catalog.tools().len());
    assert!(
        xtask::tool_counts(&catalog).starts_with(&format!("**{total} tools**: ")),
        "{}",
        xtask::tool_counts(&catalog)
    );
    // A switch that guards every call of some tool, and one that guards some values only.
    let filters = rows.iter().find(|r| r[1] == "`mail_filters`").unwrap();
    assert_eq!(filters[5], "D S?");
}

/// The documents: the README and every page under docs/.
fn documents() -> Vec<PathBuf> {
    let mut out = vec![root().join("README.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    out.extend(pages);
    out
}

/// Text outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|l| {
            if l.starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The anchors of a Markdown file's headings, as GitHub spells them.
fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .into_iter()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            l.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

/// `line` with its inline code spans (`` `…` ``) left out: a pattern quoted in code is not a link.
fn without_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect()
}

/// The relative links of `text` (the document at `doc`) whose file or heading does not exist.
fn broken_links(doc: &Path, text: &str) -> Vec<String> {
    let dir = doc.parent().unwrap();
    let mut broken = Vec::new();
    for line in prose(text) {
        let line = without_code_spans(line);
        for (i, _) in line.match_indices("](") {
            let link = line[i + 2..].split([')', ' ']).next().unwrap_or("");
            if link.is_empty() || link.contains("://") || link.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = link.split_once('#').unwrap_or((link, ""));
            // The text whose headings the fragment names: this document's, or the target's.
            let target_text = if path.is_empty() {
                Some(text.to_owned())
            } else {
                let target = dir.join(path);
                if !target.exists() {
                    broken.push(format!("{link}: no such file"));
                    continue;
                }
                let markdown = target.extension().is_some_and(|x| x == "md");
                markdown.then(|| std::fs::read_to_string(&target).unwrap())
            };
            if let Some(t) = target_text.filter(|_| !fragment.is_empty())
                && !anchors(&t).iter().any(|a| a == fragment)
            {
                broken.push(format!("{link}: no such heading"));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_in_the_documents_resolves() {
    let mut broken = Vec::new();
    for doc in documents() {
        let name = doc.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&doc).unwrap();
        broken.extend(
            broken_links(&doc, &text)
                .into_iter()
                .map(|b| format!("{name}: {b}")),
        );
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn a_missing_file_or_heading_is_a_broken_link() {
    let text = "# Here\n\
        [ok](http.md#token-modes), [ok](#here), [ok](../README.md), [ok](https://x.example/#y)\n\
        [gone](gone.md) and [moved](http.md#token-mode) and [here](#there)\n\
        ```\n[in code](gone.md)\n```\n\
        a pattern in code: `\\[out (x)\\](.*?)\\[/out \\1\\]`\n";
    assert_eq!(
        broken_links(&root().join("docs/page.md"), text),
        [
            "gone.md: no such file",
            "http.md#token-mode: no such heading",
            "#there: no such heading"
        ]
    );
}
