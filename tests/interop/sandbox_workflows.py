#!/usr/bin/env python3
"""The README workflows end to end: the official Python MCP client drives `trekmail-mcp --sandbox`.

Verify a domain, create a mailbox with forwarding, the safe (two-step) delete, monitor an inbox
and download an attachment, send with confirmation then find it in Sent, a migration to
completion; a Drive upload (initiate, PUT the bytes to the presigned URL, complete) that
downloads back intact, shared, trashed, restored and purged; `drive_file_upload` of a file of
the upload directory (`--upload-dir`) in one call, downloaded back intact, and a path outside it
refused; a White Label member from
invitation (the link opened) to suspension, removal and restore. Offline (the sandbox is in-process, on loopback). Ends with "N passed, M failed".
Run from the repository root after `cargo build -p trekmail-mcp`:

    target/interop-venv/bin/python tests/interop/sandbox_workflows.py
"""

import asyncio
import base64
import json
import os
import sys
import tempfile
import urllib.request

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
    updir = tempfile.mkdtemp(prefix="trekmail-interop-")
    params = StdioServerParameters(command=BINARY, args=["--sandbox", "--upload-dir", updir], env=env)
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

            await drive(s, ok)
            await upload_from_disk(s, updir)
            await white_label(s, ok)

    return check.summary()


def http(method, url, data=None):
    """The sandbox's own links (presigned storage, share and invitation links), on loopback."""
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read(), r.headers.get("ETag")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), None


async def drive(s, ok):
    folder = await ok("drive_folder_create", {"space": "account", "name": "Workflow", "parent_id": None})
    folder_id = folder["data"]["id"]
    payload = b"Quarterly figures\n" * 1000
    up = await ok("drive_upload_initiate", {"space": "account", "name": "figures.txt", "size_bytes": len(payload),
                                            "folder_id": folder_id, "client_mime": "text/plain"})
    up = up["data"]
    status, _, etag = http("PUT", up["upload_url"], payload)
    check("the bytes PUT to the presigned URL", status == 200 and etag, status)
    done = await ok("drive_upload_complete", {"file_id": up["file_id"]})
    check("the upload completes", done["data"]["status"] == "active", done)
    listing = await ok("drive_browse_folder", {"space": "account", "folder_id": folder_id})
    check("the folder lists the file", [x["name"] for x in listing["data"]] == ["figures.txt"], listing)
    url = (await ok("drive_file_download_url", {"file_id": up["file_id"]}))["data"]["url"]
    status, body, _ = http("GET", url)
    check("the file downloads back intact", status == 200 and body == payload, (status, len(body)))
    link = await ok("drive_share_create", {"file_id": up["file_id"]})
    status, body, _ = http("GET", link["data"]["public_url"])
    check("the share link serves the file", status == 200 and body == payload, status)
    await ok("drive_file_trash", {"file_id": up["file_id"]})
    trash = await ok("drive_trash_list", {"space": "account"})
    check("the file is in the trash", any(x["id"] == up["file_id"] for x in trash["data"]), trash)
    status, _, _ = http("GET", link["data"]["public_url"])
    check("trashing revoked the share link", status == 404, status)
    await ok("drive_file_restore", {"file_id": up["file_id"]})
    listing = await ok("drive_browse_folder", {"space": "account", "folder_id": folder_id})
    check("restored into its folder", len(listing["data"]) == 1, listing)
    # The same arguments again: a new intent after the restore, said by a key of its own.
    await ok("drive_file_trash", {"file_id": up["file_id"], "idempotency_key": "workflow-trash-again"})
    await ok("drive_file_purge", {"file_id": up["file_id"]})
    r = await s.call_tool("drive_file_get", {"file_id": up["file_id"]})
    check("the purged file is gone (404)", r.is_error and "not_found" in r.content[0].text)


async def upload_from_disk(s, updir):
    """drive_file_upload: the server reads the file itself and runs initiate, PUT, complete."""
    payload = bytes(i * 7 % 251 for i in range(40_000))
    with open(os.path.join(updir, "scan.bin"), "wb") as f:
        f.write(payload)
    told = []

    async def progress(done, total, message):
        told.append(message)

    r = await s.call_tool("drive_file_upload", {"space": "account", "local_path": "scan.bin"},
                          progress_callback=progress)
    check("drive_file_upload from the upload directory", not r.is_error, r.content[0].text[:300])
    f = (r.structured_content or {}).get("data", {})
    check("the uploaded file is active, its size the file's", f.get("status") == "active" and f.get("size_bytes") == len(payload), f)
    check("progress per part", told == ["sent part 1 of 1"], told)
    r = await s.call_tool("drive_file_download_url", {"file_id": f.get("id")})
    status, body, _ = http("GET", r.structured_content["data"]["url"])
    check("the uploaded file downloads back intact", status == 200 and body == payload, (status, len(body)))
    r = await s.call_tool("drive_file_upload", {"space": "account", "local_path": "../../etc/passwd"})
    text = r.content[0].text
    check("a path outside the upload directory is refused, nothing sent",
          r.is_error and "TREKMAIL_UPLOAD_DIR" in text and "nothing was sent" in text and "root:" not in text, text)


async def white_label(s, ok):
    inv = await ok("invite_white_label_member", {"email": "jo@example.org", "role": "client", "all_domains": True})
    member = inv["data"]["member"]["id"]
    check("invited: pending", inv["data"]["member"]["status"] == "pending", inv)
    status, body, _ = http("GET", inv["data"]["invitation_url"])
    check("the invitation link accepts", status == 200 and json.loads(body)["accepted"] is True, body)

    async def state():
        return (await ok("get_white_label_member", {"member_id": member}))["data"]["status"]

    check("accepted: active", await state() == "active")
    await ok("suspend_white_label_member", {"member_id": member})
    check("suspended", await state() == "suspended")
    await ok("resume_white_label_member", {"member_id": member})
    check("resumed", await state() == "active")
    await ok("remove_white_label_member", {"member_id": member, "confirm_remove": True})
    listed = await ok("list_white_label_members", {})
    with_removed = await ok("list_white_label_members", {"include_removed": True})
    check("a removed member is listed only on request",
          all(m["id"] != member for m in listed["data"]) and any(m["id"] == member for m in with_removed["data"]))
    await ok("restore_white_label_member", {"member_id": member})
    check("restored: active", await state() == "active")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
