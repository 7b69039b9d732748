#!/usr/bin/env python3
"""Writes trekmail-mcp/link-order.txt: the functions of the release binary that a start, the
first `tools/list` (272 tools, with the scope lookup) and a few `get_domain` calls run, sorted
by name (the grouping matters, not the order within). build.rs hands the file to the linker
(release, x86_64 Linux), which lays those functions out first and side by side.

    python3 trekmail-mcp/benches/link_order.py

Run it after changes to the start-up, listing or call path, after a dependency or toolchain
update, and before measuring (docs/benchmarks.md): names the binary no longer has are skipped,
so a stale file only costs memory. It builds the release binary (the profile keeps the symbol
table, which is never loaded into memory, so the names are there to read), runs it under valgrind against the stub API
of figures.py, and keeps the names defined in the binary.
"""

import os
import re
import subprocess
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import figures  # noqa: E402


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    subprocess.run(["cargo", "build", "--release", "-p", "trekmail-mcp", "--locked"], cwd=ROOT, check=True)
    binary = os.path.join(target, "release", "trekmail-mcp")
    defined = set()
    for line in subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tT":
            defined.add(parts[2])
    api = ThreadingHTTPServer(("127.0.0.1", 0), figures.Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        s = figures.Session(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
                             "--demangle=no", binary], figures.env(api.server_address[1], None))
        s.initialize()
        s.rpc("tools/list", {})
        for _ in range(3):
            s.rpc("tools/call", {"name": "get_domain", "arguments": {"domain_id": 7}})
        s.close()
        names, seen = [], set()
        with open(out) as f:
            for line in f:
                m = re.match(r"^c?fn=\(\d+\) (.+)$", line)
                if m and m.group(1) not in seen:
                    seen.add(m.group(1))
                    if m.group(1) in defined:
                        names.append(m.group(1))
    api.shutdown()
    path = os.path.join(ROOT, "trekmail-mcp", "link-order.txt")
    with open(path, "w") as f:
        # Sorted: the grouping is what matters, and a sorted file changes little between runs.
        f.write("\n".join(sorted(names)) + "\n")
    print(f"{len(names)} functions written to {os.path.relpath(path, ROOT)}")


if __name__ == "__main__":
    main()
