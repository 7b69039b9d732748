#!/usr/bin/env python3
"""Interoperability over Streamable HTTP: the official Python MCP client (`mcp` on PyPI,
`mcp.client.streamable_http`) drives the built binary started with `--http`, in both token modes.

The stub TrekMail API of python_client.py records what it receives. Every check prints a line;
the script ends with "N passed, M failed". Run from the repository root after `cargo build`:

    .venv/bin/python tests/interop/http_client.py
"""

import asyncio
import base64
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks  # noqa: E402
from python_client import BIG, SEEN, StubApi  # noqa: E402

BINARY = os.environ.get("TREKMAIL_MCP_BIN", os.path.join("target", "debug", "trekmail-mcp"))
BEARER = "interop-operator-bearer-0123"

check = Checks()
NEGOTIATED = set()



def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(api_port, env):
    port = free_port()
    full = {
        "TREKMAIL_BASE_URL": f"http://127.0.0.1:{api_port}",
        "TREKMAIL_LOG": "warn",
        # The stub API has no /me: the scopes lookup is tested in tests/http.rs and tests/scopes.rs.
        "TREKMAIL_SCOPE_AWARE": "false",
        "PATH": os.environ.get("PATH", ""),
        **env,
    }
    proc = subprocess.Popen([BINARY, "--http", f"127.0.0.1:{port}"], env=full, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx2.get(f"{url}/healthz").status_code == 200:
                break
        except Exception:
            time.sleep(0.05)
    return proc, f"{url}/mcp"


def stop(proc):
    proc.terminate()
    code = proc.wait(timeout=20)
    err = proc.stderr.read().decode(errors="replace")
    return code, err




async def file_through_a_link(session, who):
    """download_attachment of the 8 MB file: a resource_link, then resources/read fetches it whole."""
    r = await session.call_tool("download_attachment", {"uid": 5, "index": 0})
    links = [c for c in r.content if c.type == "resource_link"]
    check(f"{who}: an 8 MB attachment is a resource_link in a small result",
          not r.is_error and links and len(r.model_dump_json()) < 2000, r.content[:1])
    if links:
        read = await session.read_resource(links[0].uri)
        blob = base64.b64decode(read.contents[0].blob) if read.contents else b""
        check(f"{who}: resources/read over HTTP returns the file whole", blob == BIG, len(blob))


async def run(url, headers, body):
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as client:
        async with streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                NEGOTIATED.add(init.protocol_version)
                return await body(session)


async def refused(url, headers):
    """Whether the client fails to initialize with these headers (the server answers 401)."""
    try:
        await asyncio.wait_for(run(url, headers, lambda s: asyncio.sleep(0)), timeout=15)
        return False
    except Exception:
        return True


async def operator_mode(api_port):
    proc, url = start(api_port, {
        "TREKMAIL_API_TOKEN": "tm_live_interop",
        "TREKMAIL_MESSAGE_TOKEN": "tm_msg_interop",
        "TREKMAIL_HTTP_BEARER": BEARER,
        # Set, and still no tool reads the server's disk over HTTP.
        "TREKMAIL_UPLOAD_DIR": tempfile.gettempdir(),
    })
    try:
        SEEN.clear()
        check("operator: no bearer is refused", await refused(url, {}))
        check("operator: a wrong bearer is refused", await refused(url, {"Authorization": "Bearer wrong-bearer-0123456789"}))
        check("operator: nothing reached the API for refused requests", not SEEN, SEEN)

        async def body(session):
            tools = (await session.list_tools()).tools
            check("operator: 271 tools listed (drive_file_upload is stdio only)", len(tools) == 271 and "drive_file_upload" not in [t.name for t in tools], len(tools))
            r = await session.call_tool("get_domain", {"domain_id": 7})
            check("operator: a read returns the API's JSON whole",
                  not r.is_error and r.structured_content == {"id": 7, "name": "example.com", "unlisted_field": [1, 2]}, r)
            check("operator: the API sees the operator's token, not the bearer",
                  SEEN and all(s[2].get("authorization") == "Bearer tm_live_interop" for s in SEEN), SEEN)
            n = len(SEEN)
            r = await session.call_tool("delete_domain", {"domain_id": 7, "confirm_delete": True})
            text = r.content[0].text if r.content else ""
            check("operator: a gated tool refuses without a request",
                  r.is_error and "TREKMAIL_ALLOW_DESTRUCTIVE" in text and len(SEEN) == n, text)
            await file_through_a_link(session, "operator")

        await run(url, {"Authorization": f"Bearer {BEARER}"}, body)
    finally:
        code, err = stop(proc)
        check("operator: SIGTERM exits 0", code == 0, (code, err))
        check("operator: no token or bearer in the logs",
              BEARER not in err and "tm_live_interop" not in err, err)


async def caller_mode(api_port):
    proc, url = start(api_port, {"TREKMAIL_HTTP_TOKENS": "caller"})
    try:
        SEEN.clear()
        check("caller: no token is refused", await refused(url, {}))
        check("caller: nothing reached the API", not SEEN, SEEN)

        async def ops_user(session):
            tools = (await session.list_tools()).tools
            check("caller: an ops token lists the 207 ops tools that exist over HTTP", len(tools) == 207, len(tools))
            r = await session.call_tool("get_domain", {"domain_id": 7})
            check("caller: a read works with the caller's token", not r.is_error and r.structured_content["id"] == 7, r)
            r = await session.call_tool("delete_domain", {"domain_id": 7, "confirm_delete": True})
            text = r.content[0].text if r.content else ""
            check("caller: the operator's gates still hold", r.is_error and "TREKMAIL_ALLOW_DESTRUCTIVE" in text, text)
            try:
                await session.call_tool("list_folders", {})
                check("caller: a message tool without a message token is an error", False, "no error")
            except Exception as e:
                check("caller: a message tool without a message token is an error", "tm_msg_" in str(e), e)

        async def msg_user(session):
            tools = (await session.list_tools()).tools
            check("caller: a message token lists the 64 message tools", len(tools) == 64, len(tools))
            await file_through_a_link(session, "caller")

        async def both_user(session):
            tools = (await session.list_tools()).tools
            check("caller: both tokens list the 271 tools that exist over HTTP", len(tools) == 271 and "drive_file_upload" not in [t.name for t in tools], len(tools))

        await asyncio.gather(
            run(url, {"Authorization": "Bearer tm_live_alice"}, ops_user),
            run(url, {"Authorization": "Bearer tm_msg_bob"}, msg_user),
            run(url, {"Authorization": "Bearer tm_live_carol", "X-TrekMail-Message-Token": "tm_msg_carol"}, both_user),
        )
        files = [s for s in SEEN if "/attachments/" in s[1]]
        rest = [s for s in SEEN if "/attachments/" not in s[1]]
        # The call's download serves bob's own resources/read (call/shelf.rs): one fetch.
        check("caller: the file was fetched once (the call; resources/read served from it) with bob's token only",
              len(files) == 1 and all(s[2].get("authorization") == "Bearer tm_msg_bob" for s in files),
              [(s[1], s[2].get("authorization")) for s in files])
        check("caller: every other API request carried alice's token (the only other caller that called)",
              rest and all(s[2].get("authorization") == "Bearer tm_live_alice" for s in rest),
              [(s[1], s[2].get("authorization")) for s in rest])
    finally:
        code, err = stop(proc)
        check("caller: SIGTERM exits 0", code == 0, (code, err))
        check("caller: no caller token in the logs", "tm_live_alice" not in err and "tm_msg_bob" not in err, err)


async def main():
    api = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    await operator_mode(api.server_address[1])
    await caller_mode(api.server_address[1])
    api.shutdown()
    print(f"protocol versions negotiated: {sorted(NEGOTIATED)}")
    return check.summary()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
