#!/usr/bin/env python3
"""The README workflows end to end: the official Python MCP client drives `trekmail-mcp --sandbox`.

Verify a domain, create a mailbox with forwarding, the safe (two-step) delete, monitor an inbox
and download an attachment, send with confirmation then find it in Sent, a migration to
completion. Offline (the sandbox is in-process, on loopback). Ends with "N passed, M failed".
Run from the repository root after `cargo build -p trekmail-mcp`:

    target/interop-venv/bin/python tests/interop/sandbox_workflows.py
"""

import asyncio
import base64
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from checks import Checks

BINARY = os.environ.get("TREKMAIL_MCP_BIN", os.path.join("target", "debug", "trekmail-mcp"))
check = Checks()



async def main():
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TREKMAIL_ALLOW_DESTRUCTIVE": "true",
        "TREKMAIL_ALLOW_SENDING": "true",
        "TREKMAIL_ALLOW_MIGRATION": "true",
        "TREKMAIL_LOG": "warn",
    }
    params = StdioServerParameters(command=BINARY, args=["--sandbox"], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as s:
            await s.initialize()
            tools = await s.list_tools()
            check("all 272 tools listed on the sandbox", len(tools.tools) == 272, len(tools.tools))

            async def ok(tool, args):
                r = await s.call_tool(tool, args)
                check(tool, not r.is_error, r.content[0].text[:300] if r.content else "")
                return r.structured_content or {}

            # Answers the document describes carry an outputSchema; the client validates their
            # structuredContent against it on every call (and raises on a mismatch).
            schemas = {t.name: t.output_schema for t in tools.tools if t.output_schema}
            for name in ["whoami", "dns_recheck", "bulk_create_mailboxes", "create_message_token", "create_delete_intent",
                         "test_smtp", "create_mailbox_generated_password", "create_invite",
                         "get_dns_check", "get_migration", "read_message", "list_messages"]:
                check(f"{name} lists an outputSchema", name in schemas, sorted(schemas))
            w = await ok("whoami", {})
            check("whoami: capabilities.effective_scopes", isinstance(w["data"]["capabilities"]["effective_scopes"], list), w)

            # Verify a domain.
            d = await ok("create_domain", {"name": "workflow.example"})
            domain_id = d["data"]["id"]
            await ok("get_dns_requirements", {"domain_id": domain_id})
            c = await ok("dns_recheck", {"domain_id": domain_id})
            status = None
            for _ in range(5):
                status = (await ok("get_dns_check", {"check_id": c["data"]["id"]}))["data"]["status"]
                if status == "completed":
                    break
            check("DNS check completes within a few polls", status == "completed", status)
            d = await ok("get_domain", {"domain_id": domain_id})
            check("the domain is active", d["data"]["status"] == "active", d)

            # A mailbox with forwarding.
            m = await ok("create_mailbox_generated_password", {"domain_id": domain_id, "local_part": "jane"})
            mailbox_id = m["data"]["id"]
            await ok("set_forwarding", {"mailbox_id": mailbox_id, "enabled": True, "targets": ["jane@example.org"]})
            f = await ok("get_forwarding", {"mailbox_id": mailbox_id})
            check("forwarding is on", f["data"].get("enabled") is True, f)

            b = await ok("bulk_create_mailboxes", {"items": [{"domain_id": domain_id, "local_part": "bulk1"}]})
            check("bulk_create_mailboxes: one result per item", len(b["data"]["results"]) == 1, b)
            t = await ok("create_message_token", {"mailbox_id": mailbox_id, "name": "workflow", "scopes": ["messages:read"]})
            check("create_message_token: the token, a string", isinstance(t["data"]["token"], str), t)

            # Safe delete: intent, then confirmation.
            i = await ok("create_delete_intent", {"mailbox_id": mailbox_id})
            await ok("confirm_delete_intent", {"intent_id": i["data"]["id"], "confirm": True})
            r = await s.call_tool("get_mailbox", {"mailbox_id": mailbox_id})
            check("the deleted mailbox is gone (404)", r.is_error and "not_found" in r.content[0].text)

            # Monitor an inbox and download an attachment.
            inbox = await ok("list_messages", {"folder": "INBOX", "limit": 10})
            messages = inbox["data"]["messages"]
            check("INBOX has at least 5 messages", len(messages) >= 5, len(messages))
            uids = [x["uid"] for x in messages]
            check("newest first", uids == sorted(uids, reverse=True), uids)
            page = await ok("list_messages", {"limit": 2})
            more = page["data"]["pagination"]
            check("a page of 2 says where the next starts", more["has_more"] and more["next_before_uid"] == page["data"]["messages"][-1]["uid"], more)
            unread = await ok("list_messages", {"unread_only": True, "limit": 50})
            check("unread_only leaves read messages out", all(not x["seen"] for x in unread["data"]["messages"]) and len(unread["data"]["messages"]) < len(messages), unread)
            with_png = [x for x in messages if x.get("has_attachments") and x["subject"] == "Team photo"]
            uid = with_png[0]["uid"]
            m = await ok("read_message", {"uid": uid})
            check("read_message: from, subject, body_text, body_html, attachments",
                  all(k in m["data"] for k in ["from", "subject", "body_text", "body_html", "attachments"]), m)
            await ok("update_message_flags", {"uid": uid, "seen": True})
            r = await s.call_tool("download_attachment", {"uid": uid, "index": 0})
            images = [c for c in r.content if c.type == "image"]
            data = base64.b64decode(images[0].data) if images else b""
            check("the attachment arrives as a PNG image", not r.is_error and data.startswith(b"\x89PNG"), r.structured_content)

            # Send with confirmation, then find it in Sent.
            r = await s.call_tool("send_message", {"to": ["bob@example.com"], "subject": "Workflow", "body_text": "Hi"})
            check("send_message without confirm_send is refused", r.is_error)
            await ok("send_message", {"to": ["bob@example.com"], "subject": "Workflow hello", "body_text": "Hi Bob", "confirm_send": True})
            sent = await ok("list_messages", {"folder": "Sent"})
            check("the message is in Sent", any(x["subject"] == "Workflow hello" for x in sent["data"]["messages"]))

            # A migration to completion.
            mg = await ok("start_migration", {
                "mailbox_id": 1, "provider": "generic_imap", "source_host": "imap.example.com",
                "source_port": 993, "source_security": "ssl", "source_email": "jane@example.net",
                "source_password": "app-password-1", "confirm_start": True,
            })
            status = None
            for _ in range(5):
                status = (await ok("get_migration", {"migration_id": mg["data"]["id"]}))["data"]["status"]
                if status == "completed":
                    break
            check("the migration completes within a few polls", status == "completed", status)

    return check.summary()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
