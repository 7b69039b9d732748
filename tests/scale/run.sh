#!/usr/bin/env bash
# Scale-out harness (issue 22): Redis with its append-only file, three replicas in HTTP caller
# mode behind HAProxy, an API stand-in; see tests/scale/drive.py and docs/scale-out.md.
# Usage: tests/scale/run.sh [BINARY]   (default: target/debug/trekmail-mcp, built if missing)
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install ${missing[*]} (Debian: apt-get install -y ${missing[*]}) and run again" >&2
    exit 1
  fi
  echo "installing ${missing[*]} from the distribution's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

bin=${1:-target/debug/trekmail-mcp}
if [[ ! -x $bin ]]; then
  cargo build -p trekmail-mcp --locked --quiet
fi
exec timeout 170 python3 tests/scale/drive.py "$bin"
