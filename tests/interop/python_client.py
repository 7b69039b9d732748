#!/usr/bin/env python3
"""Interoperability: the official Python MCP client (`mcp` on PyPI) drives the built binary.

A stub TrekMail API (http.server on 127.0.0.1) answers two endpoints and records what it
receives. The client initializes, lists the tools and calls some; every check prints a line and
the script ends with "N passed, M failed". Run from the repository root after `cargo build`:

    python3 -m venv .venv && .venv/bin/pip install mcp && .venv/bin/python tests/interop/python_client.py
"""

import asyncio
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

BINARY = os.environ.get("TREKMAIL_MCP_BIN", os.path.join("target", "debug", "trekmail-mcp"))
SEEN = []


class StubApi(BaseHTTPRequestHandler):
    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        SEEN.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, b""))
        if self.path == "/api/v1/domains/7":
            self._answer(200, {"id": 7, "name": "example.com", "unlisted_field": [1, 2]})
        else:
            self._answer(404, {"error": {"code": "not_found", "message": "no such thing"}})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        SEEN.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self._answer(201, {"id": 8, "name": json.loads(body).get("name")})

    def log_message(self, *args):
        pass


passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what} {detail}")


async def main():
    api = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {
        "TREKMAIL_BASE_URL": f"http://127.0.0.1:{api.server_address[1]}",
        "TREKMAIL_API_TOKEN": "tm_live_interop",
        "TREKMAIL_MESSAGE_TOKEN": "tm_msg_interop",
        "TREKMAIL_LOG": "warn",
        "PATH": os.environ.get("PATH", ""),
    }
    params = StdioServerParameters(command=BINARY, args=[], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check("initialize names the server", init.server_info.name == "trekmail-mcp", init.server_info)
            check("protocol negotiated", bool(init.protocol_version), init.protocol_version)

            tools = (await session.list_tools()).tools
            check("143 tools listed", len(tools) == 143, len(tools))
            by_name = {t.name: t for t in tools}
            d = by_name.get("delete_domain")
            check("annotations reach the client",
                  d is not None and d.annotations.destructive_hint is True and d.annotations.read_only_hint is False, d)
            check("every tool has a title and an object schema",
                  all(t.title and t.input_schema.get("type") == "object" for t in tools))

            r = await session.call_tool("get_domain", {"domain_id": 7})
            check("a read returns the API's JSON whole",
                  not r.is_error and r.structured_content == {"id": 7, "name": "example.com", "unlisted_field": [1, 2]},
                  r)
            r = await session.call_tool("create_domain", {"name": "example.com"})
            post = [s for s in SEEN if s[0] == "POST"]
            check("a write sends the reference idempotency key",
                  not r.is_error and post and post[-1][2].get("idempotency-key") == "mcp_create_domain_aed93f85c7e12b38e66148d3fbf523af",
                  post[-1][2] if post else SEEN)
            check("the ops token authenticates ops tools",
                  all(s[2].get("authorization") == "Bearer tm_live_interop" for s in SEEN), SEEN)

            n = len(SEEN)
            r = await session.call_tool("delete_domain", {"domain_id": 7, "confirm_delete": True})
            text = r.content[0].text if r.content else ""
            check("a gated tool refuses without a request", r.is_error and "TREKMAIL_ALLOW_DESTRUCTIVE" in text and len(SEEN) == n, text)
            r = await session.call_tool("get_domain", {"domain_id": "seven"})
            check("a bad argument is an error the model can read",
                  r.is_error and "domain_id: must be an integer" in (r.content[0].text if r.content else ""), r)
            try:
                await session.call_tool("no_such_tool", {})
                check("an unknown tool is a JSON-RPC error", False, "no error raised")
            except Exception as e:  # McpError
                check("an unknown tool is a JSON-RPC error", "no_such_tool" in str(e), e)
    api.shutdown()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
