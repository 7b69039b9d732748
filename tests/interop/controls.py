#!/usr/bin/env python3
"""The operator's controls through the official Python MCP client (`mcp` on PyPI): confirmation
by the human (elicitation: accept, decline, cancel; a client without the capability; `always`
and `never`), and the instructions the agent gets. A stub TrekMail API on 127.0.0.1 records
every request, so "nothing was sent" is checked, not assumed. Prints one line per check and ends
with "N passed, M failed". Run from the repository root after `cargo build`:

    target/interop-venv/bin/python tests/interop/controls.py
"""

import asyncio
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from checks import Checks

BINARY = os.environ.get("TREKMAIL_MCP_BIN", os.path.join("target", "debug", "trekmail-mcp"))
SEEN = []
PASSWORD = "Sup3rSecretPassw0rd"


class StubApi(BaseHTTPRequestHandler):
    def _record_and_answer(self):
        n = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(n) if n else b""
        # The server's own scope lookup (whoami, made once at the first call) is not a tool's
        # request: record only what the calls sent.
        if (self.command, self.path) != ("GET", "/api/v1/me"):
            SEEN.append((self.command, self.path, body))
        data = json.dumps({"data": {"ok": True}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _record_and_answer

    def log_message(self, *args):
        pass


check = Checks()


def text(result):
    return result.content[0].text if result.content else ""


class Human:
    """An elicitation callback that answers `action` and remembers what it was asked."""

    def __init__(self, action):
        self.action = action
        self.asked = []

    async def __call__(self, context, params):
        self.asked.append(params)
        return types.ElicitResult(action=self.action, content={} if self.action == "accept" else None)


async def run(base_url, extra_env, human, body):
    env = {
        "TREKMAIL_BASE_URL": base_url,
        "TREKMAIL_API_TOKEN": "tm_live_interop",
        "TREKMAIL_ALLOW_DESTRUCTIVE": "true",
        "TREKMAIL_LOG": "warn",
        "PATH": os.environ.get("PATH", ""),
        **extra_env,
    }
    params = StdioServerParameters(command=BINARY, args=[], env=env)
    async with stdio_client(params) as (read, write):
        kwargs = {"elicitation_callback": human} if human else {}
        async with ClientSession(read, write, **kwargs) as s:
            init = await s.initialize()
            await body(s, init)


DELETE = {"domain_id": 7, "confirm_delete": True}


async def main():
    api = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{api.server_address[1]}"

    # accept: the human is asked once, with the tool, its target and its arguments; the call goes out
    human = Human("accept")

    async def accepted(s, init):
        n = len(SEEN)
        r = await s.call_tool("delete_domain", DELETE)
        check("accept: the call is sent", not r.is_error and len(SEEN) == n + 1 and SEEN[-1][:2] == ("DELETE", "/api/v1/domains/7"), (r, SEEN[n:]))
        asked = human.asked[-1].message if human.asked else ""
        check("accept: the human was asked once, naming the tool and its target",
              len(human.asked) == 1 and "delete_domain" in asked and "/domains/7" in asked and "confirm_delete" not in asked, asked)
        n = len(SEEN)
        r = await s.call_tool("change_mailbox_password", {"mailbox_id": 3, "password": PASSWORD})
        asked = human.asked[-1].message if human.asked else ""
        check("accept: a secret argument is hidden from the question",
              not r.is_error and len(SEEN) == n + 1 and PASSWORD not in asked and "(hidden)" in asked, asked)
        asks = len(human.asked)
        n = len(SEEN)
        r = await s.call_tool("delete_domain", {"domain_id": 7})
        check("a missing confirmation refuses first, asking nobody",
              r.is_error and "confirm_delete" in text(r) and len(SEEN) == n and len(human.asked) == asks, text(r))
        r = await s.call_tool("get_domain", {"domain_id": 7})
        check("an unguarded call asks nobody", not r.is_error and len(human.asked) == asks, r)
        instructions = init.instructions or ""
        check("instructions name the active token and switch, without message-tool guidance",
              "ops" in instructions and "TREKMAIL_ALLOW_DESTRUCTIVE" in instructions
              and "message token" not in instructions and "before_uid" not in instructions, instructions)

    await run(base, {}, human, accepted)

    for action, word in [("decline", "declined"), ("cancel", "cancelled")]:
        human = Human(action)

        async def refused(s, init, human=human, action=action, word=word):
            n = len(SEEN)
            r = await s.call_tool("delete_domain", DELETE)
            check(f"{action}: refused with nothing sent, saying the user {word}",
                  r.is_error and word in text(r) and "nothing was sent" in text(r) and len(SEEN) == n and len(human.asked) == 1,
                  (text(r), SEEN[n:]))

        await run(base, {}, human, refused)

    # the switch comes first: with it off nothing is asked and nothing is sent
    human = Human("accept")

    async def switch_off(s, init):
        tools = {t.name: t for t in (await s.list_tools()).tools}
        d = tools["delete_domain"].description or ""
        check("switch off: the tool's description says it is disabled here",
              d.endswith(" Disabled: TREKMAIL_ALLOW_DESTRUCTIVE is off.")
              and "Disabled" not in (tools["get_domain"].description or ""), d)
        n = len(SEEN)
        r = await s.call_tool("delete_domain", DELETE)
        check("switch off: refused naming it, nobody asked, nothing sent",
              r.is_error and "TREKMAIL_ALLOW_DESTRUCTIVE" in text(r) and not human.asked and len(SEEN) == n, text(r))

    await run(base, {"TREKMAIL_ALLOW_DESTRUCTIVE": "false"}, human, switch_off)

    async def no_capability(s, init):
        n = len(SEEN)
        r = await s.call_tool("delete_domain", DELETE)
        check("auto, client without elicitation: proceeds as before", not r.is_error and len(SEEN) == n + 1, (r, SEEN[n:]))

    await run(base, {}, None, no_capability)

    async def always_without(s, init):
        n = len(SEEN)
        r = await s.call_tool("delete_domain", DELETE)
        check("always, client without elicitation: refused naming TREKMAIL_HUMAN_CONFIRM, nothing sent",
              r.is_error and "TREKMAIL_HUMAN_CONFIRM" in text(r) and len(SEEN) == n, text(r))

    await run(base, {"TREKMAIL_HUMAN_CONFIRM": "always"}, None, always_without)

    human = Human("accept")

    async def always_with(s, init):
        n = len(SEEN)
        r = await s.call_tool("delete_domain", DELETE)
        check("always, client with elicitation: asks, then sends", not r.is_error and len(human.asked) == 1 and len(SEEN) == n + 1, r)

    await run(base, {"TREKMAIL_HUMAN_CONFIRM": "always"}, human, always_with)

    human = Human("decline")

    async def never(s, init):
        n = len(SEEN)
        r = await s.call_tool("delete_domain", DELETE)
        check("never: nobody asked, the call is sent", not r.is_error and not human.asked and len(SEEN) == n + 1, r)

    await run(base, {"TREKMAIL_HUMAN_CONFIRM": "never"}, human, never)

    api.shutdown()
    return check.summary()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
