//! Generates the client from `openapi/trekmail-v1.yaml` on every build, so it can never be stale.
//! The work is in the `trekmail-spec` crate (shared with `cargo xtask`).

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    // TREKMAIL_SPEC builds the client from another document (fixture specs, API previews).
    let spec = std::env::var("TREKMAIL_SPEC")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("../openapi/trekmail-v1.yaml"));
    println!("cargo:rerun-if-changed={}", spec.display());
    println!("cargo:rerun-if-env-changed=TREKMAIL_SPEC");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let result = trekmail_spec::load(&spec)
        .and_then(|doc| trekmail_spec::Generated::from_document(&doc))
        .and_then(|g| g.write_to(&out));
    if let Err(e) = result {
        eprintln!("error: {}: {e}", spec.display());
        std::process::exit(1);
    }
}
