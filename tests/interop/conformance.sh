#!/usr/bin/env bash
# The MCP conformance suite (@modelcontextprotocol/conformance, npm) against `--http`.
# Needs Node 22 (`npm install node@22` provides one) and network access to the npm registry.
# Usage: tests/interop/conformance.sh [path/to/trekmail-mcp]; results in target/conformance/.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-target/debug/trekmail-mcp}
work=target/conformance
mkdir -p "$work"
if [[ ! -x $work/node_modules/.bin/conformance ]]; then
  (cd "$work" && npm install --no-audit --no-fund node@22 @modelcontextprotocol/conformance@0.1.16)
fi
export PATH="$PWD/$work/node_modules/node/bin:$PATH"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# No API is needed: the suite lists tools and calls its own fixtures, which this server lacks.
TREKMAIL_BASE_URL=http://127.0.0.1:9 TREKMAIL_API_TOKEN=tm_live_conformance \
  TREKMAIL_MESSAGE_TOKEN=tm_msg_conformance TREKMAIL_LOG=warn \
  "$bin" --http "127.0.0.1:$port" &
server=$!
trap 'kill "$server"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
"$work/node_modules/.bin/conformance" server --url "http://127.0.0.1:$port/mcp" -o "$work/out" | tee "$work/summary.txt" || true
