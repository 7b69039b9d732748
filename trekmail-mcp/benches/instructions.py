#!/usr/bin/env python3
"""Instruction counts of the release binary under valgrind's callgrind: repeatable whatever else
the machine is doing, unlike wall-clock figures on a shared machine.

    cargo build --release -p trekmail-mcp && python3 trekmail-mcp/benches/instructions.py [BINARY]

Prints the instructions to start and answer `initialize`, for one `tools/list`, and per
`get_domain` call (mean of 200), against a local stub API on loopback.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOMAIN = json.dumps({"id": 7, "name": "example.com", "status": "active"}).encode()
CALLS = 200


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(DOMAIN)))
        self.end_headers()
        self.wfile.write(DOMAIN)

    def log_message(self, *args):
        pass


def instructions(binary, port, scenario):
    env = {
        "TREKMAIL_BASE_URL": f"http://127.0.0.1:{port}",
        "TREKMAIL_API_TOKEN": "tm_live_bench",
        "TREKMAIL_MESSAGE_TOKEN": "tm_msg_bench",
        "TREKMAIL_LOG": "off",
        "PATH": os.environ.get("PATH", ""),
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary],
                             env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        n = 0

        def rpc(method, params):
            nonlocal n
            n += 1
            msg = {"jsonrpc": "2.0", "id": n, "method": method, "params": params}
            p.stdin.write((json.dumps(msg) + "\n").encode())
            p.stdin.flush()
            return p.stdout.readline()

        rpc("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "bench", "version": "1"}})
        p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        p.stdin.flush()
        if scenario == "list":
            rpc("tools/list", {})
        if scenario == "calls":
            for _ in range(CALLS):
                rpc("tools/call", {"name": "get_domain", "arguments": {"domain_id": 7}})
        p.stdin.close()
        err = p.stderr.read().decode(errors="replace")
        p.wait()
    m = re.search(r"Collected : (\d+)", err)
    if not m:
        sys.exit(f"callgrind printed no total:\n{err[-2000:]}")
    return int(m.group(1))


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "release", "trekmail-mcp")
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    port = api.server_address[1]
    init = instructions(binary, port, "init")
    listed = instructions(binary, port, "list")
    calls = instructions(binary, port, "calls")
    print(f"start to initialize answered   {init / 1e6:8.1f} M instructions")
    print(f"tools/list                     {(listed - init) / 1e6:8.2f} M instructions")
    print(f"tools/call get_domain (of {CALLS}) {(calls - init) / CALLS / 1e3:6.0f} k instructions")
    api.shutdown()


if __name__ == "__main__":
    main()
