//! `cargo xtask generate [--check]`: after an edit of openapi/trekmail-v1.yaml, lints the
//! document, generates the client (`trekmail-api/src/generated.rs`) and the operations data it
//! embeds (`trekmail-api/operations.jsonl`), binds tools-map.toml, prints
//! what changed for agents and Rust callers since the checked-in client and tool snapshots
//! (`tests/toolsnaps/`), and rewrites the derived files (those two, the catalogue data
//! `trekmail-mcp/catalog.jsonl`, the instructions' texts `trekmail-mcp/instructions.json`, and the derived sections of README.md and docs/). With `--check`, writes nothing and fails when anything is stale or wrong.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use trekmail_mcp::Catalog;
use trekmail_mcp::catalog::map::ToolsMap;

/// The catalogue data, from the workspace root.
const CATALOG_DATA: &str = "trekmail-mcp/catalog.jsonl";
const INSTRUCTIONS_DATA: &str = "trekmail-mcp/instructions.json";
/// The operations data the client embeds, from the workspace root.
const OPERATIONS_DATA: &str = "trekmail-api/operations.jsonl";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    match args.first().map(String::as_str) {
        Some("generate") => generate(check),
        _ => {
            eprintln!("usage: cargo xtask generate [--check]");
            ExitCode::from(2)
        }
    }
}

fn generate(check: bool) -> ExitCode {
    let root = root();
    let mut failed = false;
    let spec_path = root.join("openapi/trekmail-v1.yaml");
    let doc = match trekmail_spec::load(&spec_path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("openapi/trekmail-v1.yaml: {e}");
            return ExitCode::FAILURE;
        }
    };
    let lint = trekmail_spec::lint(&doc);
    for l in &lint {
        println!("lint: {l}");
    }
    failed |= !lint.is_empty();
    // The client and the operations the server builds its tools from, as they will be checked in.
    let generated = match trekmail_spec::Generated::from_document(&doc) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("openapi/trekmail-v1.yaml: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Read back as the client will read them: what is written is what is served.
    let ops = match trekmail_api::model::parse(&generated.operations_data) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("the generated operations do not read back: {e}");
            return ExitCode::FAILURE;
        }
    };
    let map = match ToolsMap::embedded() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let catalog = match Catalog::build(map.clone(), &ops) {
        Ok(c) => c,
        Err(problems) => {
            for p in problems {
                println!("binding: {p}");
            }
            return ExitCode::FAILURE;
        }
    };
    // What is checked in now: the operations the client embeds, one snapshot per tool.
    let client_path = root.join("trekmail-api/src/generated.rs");
    let old_client = std::fs::read_to_string(&client_path).unwrap_or_default();
    let old_data = std::fs::read_to_string(root.join(OPERATIONS_DATA)).unwrap_or_default();
    let snaps_dir = root.join(xtask::TOOLSNAPS);
    let old_tools = xtask::read_toolsnaps(&snaps_dir);
    let new_tools = xtask::toolsnaps(&catalog);
    // Operations data in another format (or broken) reads as none: every one shows as new.
    let old_ops = xtask::checked_in_operations(&old_data).unwrap_or_else(|e| {
        println!("the checked-in {OPERATIONS_DATA} does not read ({e}); comparing with none");
        Vec::new()
    });
    let old_surface = xtask::surface(&old_ops, &old_tools, &map);
    let new_surface = xtask::surface(&ops, &new_tools, &map);
    let changes = xtask::report(&old_surface, &new_surface);
    if changes.is_empty() {
        println!("no change for agents or Rust callers");
    } else {
        println!("changes for agents and Rust callers ({}):", changes.len());
        for c in &changes {
            println!("  {c}");
        }
    }
    // The documentation's derived sections: tool counts and tables, the environment variables,
    // the client crate's usage section (doc-tested there, packaged with the crate).
    let read = |file: &str| std::fs::read_to_string(root.join(file)).unwrap_or_default();
    let docs = match xtask::derived_docs(&catalog, read) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // The catalogue as the binary reads it at start-up (trekmail-mcp/src/catalog/data.rs).
    let catalog_data = match trekmail_mcp::catalog::data::write(
        catalog.tools().iter().map(|t| &**t),
        trekmail_mcp::catalog::map::TOOLS_MAP_TOML,
    ) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("the catalogue data: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The instructions' texts as the binary reads them (trekmail-mcp/src/serve/instructions.rs).
    let instructions_data = match trekmail_mcp::serve::instructions::data_json() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("the instructions data: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut files: Vec<(PathBuf, Option<String>, String)> = vec![
        (client_path, Some(generated.client.clone()), old_client),
        (
            root.join(OPERATIONS_DATA),
            Some(generated.operations_data.clone()),
            old_data,
        ),
        (
            root.join(CATALOG_DATA),
            Some(catalog_data),
            read(CATALOG_DATA),
        ),
        (
            root.join(INSTRUCTIONS_DATA),
            Some(instructions_data),
            read(INSTRUCTIONS_DATA),
        ),
    ];
    for (file, text) in docs {
        files.push((root.join(file), Some(text), read(file)));
    }
    for (name, tool) in &new_tools {
        let text = xtask::toolsnap_text(tool);
        let path = snaps_dir.join(format!("{name}.json"));
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        files.push((path, Some(text), old));
    }
    // A snapshot of a tool that is gone is removed.
    for name in old_tools.keys().filter(|n| !new_tools.contains_key(*n)) {
        files.push((snaps_dir.join(format!("{name}.json")), None, String::new()));
    }
    if !check {
        let _ = std::fs::create_dir_all(&snaps_dir);
    }
    for (path, new, old) in files {
        if new.as_ref() == Some(&old) {
            continue;
        }
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let written = match &new {
            _ if check => {
                println!("stale: {name} (run `cargo xtask generate`)");
                failed = true;
                continue;
            }
            Some(text) => std::fs::write(&path, text).map(|()| "wrote"),
            None => std::fs::remove_file(&path).map(|()| "removed"),
        };
        match written {
            Ok(what) => println!("{what} {name}"),
            Err(e) => {
                eprintln!("{name}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
