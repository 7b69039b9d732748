#!/usr/bin/env python3
"""The user's approval over Streamable HTTP, driven by the official Python MCP client (`mcp` on
PyPI), which speaks protocol 2026-07-28 and fulfils input-required results inside `call_tool`.
Two binaries started with `--http` share one TREKMAIL_STATE_KEY_FILE, a third has its own random
key. A stub TrekMail API records every request, so "nothing was sent" is checked, not assumed.
Prints one line per check and ends with "N passed, M failed". Run from the repository root after
`cargo build`:

    target/interop-venv/bin/python tests/interop/approval_http.py
"""

import asyncio
import os
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer

from mcp import Client, types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import Checks  # noqa: E402
from controls import SEEN, Human, StubApi, text  # noqa: E402
from http_client import start, stop  # noqa: E402

check = Checks()
DELETE = {"domain_id": 7, "confirm_delete": True}
KEY = "interop-approval-key-0123456789abcdef-0123"


def deletes(since):
    return [s for s in SEEN[since:] if s[:2] == ("DELETE", "/api/v1/domains/7")]


async def main():
    api = ThreadingHTTPServer(("127.0.0.1", 0), StubApi)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    port = api.server_address[1]
    keys = tempfile.NamedTemporaryFile("w", suffix=".keys", delete=False)
    keys.write(f"# the current key first\n{KEY}\n")
    keys.close()
    env = {
        "TREKMAIL_API_TOKEN": "tm_live_interop",
        "TREKMAIL_ALLOW_DESTRUCTIVE": "true",
        "TREKMAIL_HUMAN_CONFIRM": "always",
    }
    shared = {**env, "TREKMAIL_STATE_KEY_FILE": keys.name}
    replicas = [start(port, shared), start(port, shared), start(port, env)]
    (p1, url1), (p2, url2), (p3, url3) = replicas
    try:
        # The whole round inside call_tool: the question is shown, the answer goes back, the call is sent.
        human = Human("accept")
        async with Client(url1, elicitation_callback=human) as c:
            n = len(SEEN)
            r = await c.call_tool("delete_domain", DELETE)
            asked = human.asked[-1].message if human.asked else ""
            check("accepted over HTTP: the user is asked once, the call is sent once",
                  not r.is_error and len(human.asked) == 1 and len(deletes(n)) == 1 and len(SEEN) == n + 1,
                  (text(r), SEEN[n:]))
            check("the question names the tool, the method and the target",
                  "delete_domain" in asked and "DELETE /domains/7" in asked and "confirm_delete" not in asked, asked)
            check("the client negotiated 2026-07-28", c.session.protocol_version == "2026-07-28",
                  c.session.protocol_version)

        for action, word in [("decline", "declined"), ("cancel", "cancelled")]:
            human = Human(action)
            async with Client(url1, elicitation_callback=human) as c:
                n = len(SEEN)
                r = await c.call_tool("delete_domain", DELETE)
                check(f"{action} over HTTP: refused, saying the user {word}, nothing sent",
                      r.is_error and word in text(r) and len(human.asked) == 1 and len(SEEN) == n, (text(r), SEEN[n:]))

        # The question from replica 1, the answer to replica 2: they share the key file.
        async with Client(url1, elicitation_callback=Human("accept")) as c1:
            q = await c1.session.call_tool("delete_domain", DELETE, allow_input_required=True)
        got_question = isinstance(q, types.InputRequiredResult) and q.request_state and "approval" in (q.input_requests or {})
        check("replica 1 answers with an input-required result", got_question, q)
        if got_question:
            accept = {"approval": types.ElicitResult(action="accept", content={})}
            async with Client(url2, elicitation_callback=Human("decline")) as c2:
                n = len(SEEN)
                r = await c2.call_tool("delete_domain", DELETE, input_responses=accept, request_state=q.request_state)
                check("replica 2 takes replica 1's approval (one key file): sent once",
                      not r.is_error and len(deletes(n)) == 1, (text(r), SEEN[n:]))
                n = len(SEEN)
                r = await c2.call_tool("delete_domain", DELETE, input_responses=accept, request_state=q.request_state)
                check("the same approval again: refused as used, nothing sent",
                      r.is_error and "already used" in text(r) and len(SEEN) == n, text(r))
                n = len(SEEN)
                other = {"domain_id": 8, "confirm_delete": True}
                q2 = await c2.session.call_tool("delete_domain", DELETE, allow_input_required=True)
                r = await c2.call_tool("delete_domain", other, input_responses=accept, request_state=q2.request_state)
                check("an approval for domain 7 presented for domain 8: refused, nothing sent",
                      r.is_error and "not valid" in text(r) and len(SEEN) == n, text(r))
            async with Client(url1, elicitation_callback=Human("accept")) as c1:
                q3 = await c1.session.call_tool("delete_domain", DELETE, allow_input_required=True)
            async with Client(url3, elicitation_callback=Human("decline")) as c3:
                n = len(SEEN)
                r = await c3.call_tool("delete_domain", DELETE, input_responses=accept, request_state=q3.request_state)
                check("a replica without the shared key refuses it, saying the approval must come back",
                      r.is_error and "must come back to the server that asked" in text(r) and len(SEEN) == n, text(r))
    finally:
        for proc, _ in replicas:
            code, err = stop(proc)
            check("SIGTERM exits 0; neither the key nor the token is logged",
                  code == 0 and KEY not in err and "tm_live_interop" not in err, (code, err))
        os.unlink(keys.name)
        api.shutdown()
    return check.summary()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
