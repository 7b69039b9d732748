#!/usr/bin/env python3
"""Writes trekmail-mcp/link-order.txt: the functions of the release binary that a start, the
first `tools/list` (272 tools, with the scope lookup) and a few `get_domain` calls run: those of
the start first, then those the listing adds, then those the calls add, each group sorted by
name (a sorted file changes little between runs; the order within a group does not matter).
build.rs hands the file to the linker (release, x86_64 Linux), which lays those functions out
first and side by side.

    python3 trekmail-mcp/benches/link_order.py [BINARY]

Run it after changes to the start-up, listing or call path, after a dependency or toolchain
update, and before measuring (docs/benchmarks.md): names the binary no longer has are skipped,
so a stale file only costs memory. It builds the release binary (the profile keeps the symbol
table, which is never loaded into memory, so the names are there to read), runs it under
valgrind against the stub API of figures.py, and keeps the names defined in the binary. Given a
BINARY, it reads that one instead of building (it must be a release build of the same sources).
figures.py reports whether the file is current for the binary it measures.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import figures  # noqa: E402


def scenario(phase):
    """What `phase` runs after `initialize`: whether the first `tools/list`, and how many
    `get_domain` calls (the start; then the listing; then three calls)."""
    return phase in ("list", "call"), 3 if phase == "call" else 0


def run(binary, environ, phase):
    """The names of the functions `binary` runs for `phase` ([`scenario`])."""
    listing, calls = scenario(phase)
    _, out = figures.callgrind(binary, environ, listing=listing, calls=calls,
                               flags=("--dump-instr=no", "--demangle=no"))
    return {m.group(1) for m in re.finditer(r"^c?fn=\(\d+\) (.+)$", out, re.M)}


def faulted(binary, environ, phase):
    """The functions of `binary` whose code faults in when it runs `phase` outside valgrind
    (perf's page-fault events; none where perf is missing or not permitted). Valgrind hides some
    CPU features (SHA-NI, AVX-512), so crates that pick their code by them run other functions
    under it: left out of the order, each such function keeps its own 64 KiB window of code
    resident, wherever the linker happened to put it. Only the first function to touch a window
    faults, so this finds such functions, not necessarily all."""
    if shutil.which("perf") is None:
        return set()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        s = figures.Session(["perf", "record", "-q", "-e", "page-faults", "-c", "1", "-d", "-o", data, binary],
                            environ)
        figures.drive(s, *scenario(phase))
        s.close()
        out = subprocess.run(["perf", "script", "-i", data, "-F", "addr,ip,sym,dso", "--no-demangle"],
                             capture_output=True, text=True).stdout
    name = os.path.basename(binary)
    names = set()
    for line in out.splitlines():
        m = re.match(r"^\s*([0-9a-f]+) .*\s([0-9a-f]+) (\S+) \(([^()]*)\)\s*$", line)
        # An instruction fetch: the faulting address is on the page of the instruction.
        if m and int(m.group(1), 16) >> 12 == int(m.group(2), 16) >> 12 and os.path.basename(m.group(4)) == name:
            names.add(m.group(3))
    return names


def functions(binary):
    """The functions `binary` defines (its symbol table), each with its code size in bytes (names
    defined more than once, local functions of different objects, add up)."""
    sizes = {}
    out = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT":
            sizes[parts[3]] = sizes.get(parts[3], 0) + int(parts[1], 16)
        elif len(parts) == 3 and parts[1] in "tT":
            sizes.setdefault(parts[2], 0)
    return sizes


def main():
    if len(sys.argv) > 1:
        binary = sys.argv[1]
    else:
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
        subprocess.run(["cargo", "build", "--release", "-p", "trekmail-mcp", "--locked"], cwd=ROOT, check=True)
        binary = os.path.join(target, "release", "trekmail-mcp")
    defined = functions(binary)
    api = ThreadingHTTPServer(("127.0.0.1", 0), figures.Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    environ = figures.env(api.server_address[1], None)
    # Phase by phase, so the code a start and a listing use is not interleaved with code only a
    # call uses: a session that has only listed keeps the call path's pages out of memory.
    # Three runs a phase: some functions run or not by the threads' timing (a contended lock).
    names, seen = [], set()
    for phase in ("start", "list", "call"):
        ran = set().union(*(run(binary, environ, phase) | faulted(binary, environ, phase) for _ in range(3)))
        names.extend(sorted(n for n in ran if n in defined and n not in seen))
        seen.update(ran)
    api.shutdown()
    path = os.path.join(ROOT, "trekmail-mcp", "link-order.txt")
    with open(path, "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"{len(names)} functions written to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
