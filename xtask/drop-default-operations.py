#!/usr/bin/env python3
"""Drops `operation = "X"` from each [[tool]] of tools-map.toml whose name is X: the map defaults
`operation` to `name`. Safe to re-run (after appending tools, say)."""
import re, sys
path = sys.argv[1] if len(sys.argv) > 1 else "tools-map.toml"
lines = open(path).read().split("\n")
out, name, dropped = [], None, 0
for line in lines:
    if line.startswith("[["):
        name = None
    m = re.match(r'name = "([^"]*)"\s*$', line)
    if m:
        name = m.group(1)
    m = re.match(r'operation = "([^"]*)"\s*$', line)
    if m and name is not None and m.group(1) == name:
        dropped += 1
        continue
    out.append(line)
open(path, "w").write("\n".join(out))
print(f"{path}: dropped {dropped} operation lines equal to the name")
