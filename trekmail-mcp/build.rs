//! Release builds on x86_64 Linux (glibc) lay out the functions a start, the first `tools/list`
//! and a call run side by side (`link-order.txt`, written by `benches/link_order.py`), so those
//! pages of code are few and together: the kernel maps a binary's code 64 KiB at a time around
//! each page used, so hot code scattered among cold code keeps most of the binary resident
//! (about 4.6 MB of 5.2 MB after `initialize` + `tools/list`, against 1.7 MB ordered). A name the
//! binary no longer has is skipped by the linker; a stale file costs memory, never correctness.
//! Only with the toolchain's own linker (rust-lld, the default for this target), which knows
//! `--symbol-ordering-file`: a configured linker or linker flags turn it off.
//!
//! With the same linker, and when the C library it links against reads packed relative
//! relocations (glibc 2.36 and later define the version `GLIBC_ABI_DT_RELR`), the relocations are
//! packed (`-z pack-relative-relocs`): the loader reads a few kilobytes instead of ~390 KB of
//! relocation entries at every start. The linker then records that the binary needs that
//! version, so an older C library refuses it at start with a clear message.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=link-order.txt");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |k: &str| env::var(k).unwrap_or_default();
    let release = var("PROFILE") == "release";
    let target = var("CARGO_CFG_TARGET_ARCH") == "x86_64"
        && var("CARGO_CFG_TARGET_OS") == "linux"
        && var("CARGO_CFG_TARGET_ENV") == "gnu";
    let own_linker =
        env::var_os("RUSTC_LINKER").is_none() && !var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("link-order.txt");
    if release && target && own_linker && order.is_file() {
        println!(
            "cargo:rustc-link-arg-bin=trekmail-mcp=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=trekmail-mcp=-Wl,--no-warn-symbol-ordering");
    }
    if release && target && own_linker && libc_reads_relr() {
        println!("cargo:rustc-link-arg-bin=trekmail-mcp=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the C library found where Linux distributions keep it defines `GLIBC_ABI_DT_RELR`.
fn libc_reads_relr() -> bool {
    const NEEDLE: &[u8] = b"GLIBC_ABI_DT_RELR";
    [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
        "/usr/lib64/libc.so.6",
    ]
    .iter()
    .find_map(|p| std::fs::read(p).ok())
    .is_some_and(|bytes| bytes.windows(NEEDLE.len()).any(|w| w == NEEDLE))
}
