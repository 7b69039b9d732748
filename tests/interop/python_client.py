#!/usr/bin/env python3
"""Interoperability: the official Python MCP client (`mcp` on PyPI) drives the built binary.

A stub TrekMail API (http.server on 127.0.0.1) answers two endpoints and records what it
receives. The client initializes, lists the tools and calls some; every check prints a line and
the script ends with "N passed, M failed". Run from the repository root after `cargo build`:

    python3 -m venv .venv && .venv/bin/pip install mcp && .venv/bin/python tests/interop/python_client.py
"""

import asyncio
import base64
import hashlib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from checks import Checks

BINARY = os.environ.get("TREKMAIL_MCP_BIN", os.path.join("target", "debug", "trekmail-mcp"))
SEEN = []
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
BIG = bytes(range(256)) * (32 * 1024)  # 8 MiB
BIG_B64 = base64.b64encode(BIG).decode()
BUSY = 2  # answers 503 before domain 9 answers


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
        global BUSY
        if self.path == "/api/v1/messages/6/attachments/0":
            self._answer(200, {"data": {"filename": "dot.png", "content_type": "image/png", "size": len(PNG),
                                        "content_base64": base64.b64encode(PNG).decode()}})
        elif self.path == "/api/v1/messages/5/attachments/0":
            self._answer(200, {"data": {"filename": "big.bin", "content_type": "application/octet-stream",
                                        "size": len(BIG), "content_base64": BIG_B64}})
        elif self.path == "/api/v1/domains/9" and BUSY > 0:
            BUSY -= 1
            self._answer(503, {"error": {"code": "unavailable", "message": "busy, try again"}})
        elif self.path == "/api/v1/domains/9":
            self._answer(200, {"id": 9, "name": "slow.example"})
        elif self.path == "/api/v1/domains/7":
            self._answer(200, {"id": 7, "name": "example.com", "unlisted_field": [1, 2]})
        else:
            self._answer(404, {"error": {"code": "not_found", "message": "no such thing"}})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        SEEN.append(("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self._answer(201, {"id": 8, "name": json.loads(body).get("name")})

    def log_message(self, *args):
        pass


check = Checks()



async def main():
    api = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {
        "TREKMAIL_BASE_URL": f"http://127.0.0.1:{api.server_address[1]}",
        "TREKMAIL_API_TOKEN": "tm_live_interop",
        "TREKMAIL_MESSAGE_TOKEN": "tm_msg_interop",
        "TREKMAIL_LOG": "warn",
        # The stub API has no /me: the scopes lookup is tested in tests/scopes.rs.
        "TREKMAIL_SCOPE_AWARE": "false",
        "PATH": os.environ.get("PATH", ""),
    }
    params = StdioServerParameters(command=BINARY, args=[], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check("initialize names the server", init.server_info.name == "trekmail-mcp", init.server_info)
            check("protocol negotiated", bool(init.protocol_version), init.protocol_version)

            tools = (await session.list_tools()).tools
            check("272 tools listed", len(tools) == 272, len(tools))
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
            # Files as files: an image is image content; the metadata validates against the
            # tool's outputSchema (the client checks it with jsonschema) and holds no bytes.
            r = await session.call_tool("download_attachment", {"uid": 6, "index": 0})
            images = [c for c in r.content if c.type == "image"]
            check("an image attachment arrives as image content",
                  not r.is_error and images and images[0].mime_type == "image/png"
                  and base64.b64decode(images[0].data) == PNG, r)
            check("its structuredContent is metadata, without the bytes",
                  r.structured_content == {"name": "dot.png", "media_type": "image/png", "size": len(PNG),
                                           "sha256": hashlib.sha256(PNG).hexdigest(),
                                           "uri": "trekmail://messages/6/attachments/0"}, r.structured_content)

            # 8 MB: a resource_link of a few hundred bytes, then resources/read fetches it whole.
            r = await session.call_tool("download_attachment", {"uid": 5, "index": 0})
            links = [c for c in r.content if c.type == "resource_link"]
            size = len(r.model_dump_json())
            check("an 8 MB attachment is a resource_link in a small result",
                  not r.is_error and links and links[0].size == len(BIG) and size < 2000, (size, r.content[:1]))
            if links:
                read = await session.read_resource(links[0].uri)
                blob = base64.b64decode(read.contents[0].blob) if read.contents else b""
                check("resources/read returns the 8 MB file whole",
                      blob == BIG and hashlib.sha256(blob).hexdigest() == r.structured_content["sha256"], len(blob))
            templates = (await session.list_resource_templates()).resource_templates
            check("resource templates name the file tools",
                  sorted(t.name for t in templates) ==
                  ["download_all_attachments", "download_attachment", "export_contacts", "get_raw_message"], templates)

            # Progress while the call waits to try again, for a client that asked.
            told = []

            async def on_progress(progress, total, message):
                told.append((progress, message))

            r = await session.call_tool("get_domain", {"domain_id": 9}, progress_callback=on_progress)
            check("progress is notified before each retry",
                  not r.is_error and len(told) == 2 and "HTTP 503" in (told[0][1] or "")
                  and told[0][0] < told[1][0], (told, r))

            try:
                await session.call_tool("no_such_tool", {})
                check("an unknown tool is a JSON-RPC error", False, "no error raised")
            except Exception as e:  # McpError
                check("an unknown tool is a JSON-RPC error", "no_such_tool" in str(e), e)
    api.shutdown()
    return check.summary()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
